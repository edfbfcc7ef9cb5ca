"""REQ-PLACEHOLDER: no placeholders left in the requirements documents."""

from __future__ import annotations

from phasegate.checks._documents import placeholders_outcome
from phasegate.checks._placeholders import PlaceholderOptions
from phasegate.checks.base import CheckContext, CheckOutcome
from phasegate.checks.requirements.exists import RequirementsCheck

PLACEHOLDER_DESCRIPTION = (
    "No placeholders: `TBD`, `TODO`, `FIXME`, `XXX`, `[NEEDS CLARIFICATION: ...]`, "
    "`lorem ipsum`, template slots (`<project name>`, `[FEATURE NAME]`) or a line that is "
    "only `...`. Code blocks and inline code are ignored. Each finding covers the "
    "placeholder's exact characters. Score: the share of sections without a placeholder, "
    "times `decay ** count` (0.98 by default)."
)


class RequirementsPlaceholders(RequirementsCheck):
    id = "REQ-PLACEHOLDER"
    title = "No placeholders in the requirements"
    description = PLACEHOLDER_DESCRIPTION
    default_weight = 2.0
    Options = PlaceholderOptions

    def run(self, ctx: CheckContext) -> CheckOutcome:
        return placeholders_outcome(ctx)
