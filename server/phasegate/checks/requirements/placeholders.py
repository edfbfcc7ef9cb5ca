"""REQ-PLACEHOLDER: no placeholders left in the requirements documents."""

from __future__ import annotations

from phasegate.checks._documents import placeholders_outcome
from phasegate.checks._placeholders import PlaceholderOptions
from phasegate.checks.base import CheckContext, CheckOutcome
from phasegate.checks.requirements.exists import RequirementsCheck

PLACEHOLDER_DESCRIPTION = (
    "No placeholders: `TBD`, a `TODO`/`FIXME`/`XXX` marker (`TODO: ...`, `TODO(name)`, "
    "or the word starting a line, list item, cell or label value; not the word in a "
    "sentence such as 'the TODO list', nor `doc/TODO.md` or a number mask like "
    "`XXX-XXX`), `[NEEDS CLARIFICATION: ...]`, `lorem ipsum`, template slots "
    "(`<project name>`, `[FEATURE NAME]`, Spec Kit's `[Brief Title]`, "
    "`**Given** [initial state]`, `[e.g., ...]`, `$ARGUMENTS`) or a line that is only "
    "`...`. Links, task boxes, tags such as `[P]` or `[US1]`, code blocks, inline code "
    "and HTML comments are ignored. Each finding covers the placeholder's exact "
    "characters. Score: the share of sections without a placeholder, times "
    "`decay ** count` (0.98 by default)."
)


class RequirementsPlaceholders(RequirementsCheck):
    id = "REQ-PLACEHOLDER"
    title = "No placeholders in the requirements"
    description = PLACEHOLDER_DESCRIPTION
    default_weight = 2.0
    Options = PlaceholderOptions

    def run(self, ctx: CheckContext) -> CheckOutcome:
        return placeholders_outcome(ctx)
