"""REQ-ACCEPTANCE: every requirement has acceptance criteria.

A requirement's criteria are the items under an acceptance label or heading inside it
(``Acceptance criteria:``, ``#### Acceptance Criteria``, ``**Acceptance Scenarios**:``;
an item with sub-items is one criterion), its Given/When/Then lines and its EARS lines
(``WHEN ... THEN ... SHALL ...``), plus document-level criteria that name its id. Items
that hold a placeholder (``- [ ] TODO: ...``, ``**Given** [initial state]``) do not count.
A requirement whose own statement carries a measurable target (``p95 latency <= 200 ms``,
``at least 99.9% uptime``) is its own criterion. In a Spec Kit spec, functional
requirements are covered by the spec's acceptance scenarios (Spec Kit states them per user
story). Requirements marked as no longer wanted (``— DESCOPED``, ``(withdrawn)``,
``**Status**: Deprecated``) are not counted.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from phasegate.checks._documents import no_documents
from phasegate.checks.base import CheckContext, CheckOutcome
from phasegate.checks.requirements.exists import RequirementsCheck
from phasegate.documents import id_prefixes, parse_requirements
from phasegate.model import Finding, Range


class AcceptanceOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spec_kit_scenarios: bool = Field(
        True,
        description="In Spec Kit specs, the acceptance scenarios of the user stories cover "
        "the functional requirements that have no criteria of their own.",
    )


class AcceptanceCriteria(RequirementsCheck):
    id = "REQ-ACCEPTANCE"
    title = "Acceptance criteria"
    description = (
        "Each requirement has acceptance criteria: a list under an 'Acceptance criteria' "
        "label or heading (an item with sub-items counts once), Given/When/Then lines or "
        "EARS lines. Items holding a placeholder (`TODO: ...`, `**Given** [initial state]`) "
        "do not count; a statement with a measurable target (`p95 latency <= 200 ms`, "
        "`at least 99.9% uptime`) is its own criterion. Descoped, withdrawn or deprecated "
        "requirements are not counted. The finding sits on the requirement's id. Score: the "
        "share of requirements with criteria."
    )
    default_weight = 2.0
    Options = AcceptanceOptions

    def run(self, ctx: CheckContext) -> CheckOutcome:
        empty = no_documents(ctx)
        if empty is not None:
            return empty
        opts = ctx.options
        assert isinstance(opts, AcceptanceOptions)
        prefixes = id_prefixes(ctx.config)
        findings: list[Finding] = []
        total = covered = 0
        for path in ctx.input_files():
            text = ctx.workspace.read_text(path)
            if text is None:
                continue
            doc = parse_requirements(text, path, prefixes)
            shared_ok = (
                opts.spec_kit_scenarios
                and doc.format == "spec-kit"
                and any(not a.placeholder for a in doc.shared_acceptance)
            )
            for r in doc.requirements:
                if r.retired:
                    continue  # descoped, withdrawn, deprecated: no criteria expected
                total += 1
                if r.real_acceptance or shared_ok:
                    covered += 1
                    continue
                name = f"{r.id} ({r.title})" if r.title else r.id
                if r.acceptance:
                    lines = ", ".join(str(a.line + 1) for a in r.acceptance)
                    msg = (
                        f"{name} has only placeholder acceptance criteria (line {lines}): "
                        "write testable criteria."
                    )
                else:
                    msg = (
                        f"{name} has no acceptance criteria: add an 'Acceptance criteria:' "
                        "list or Given/When/Then lines under it."
                    )
                findings.append(
                    ctx.finding(path, msg, Range.lines(r.line, r.character, r.end_character))
                )
        if total == 0:
            return CheckOutcome(findings=findings, score=0.0, passed=False)
        return CheckOutcome(findings=findings, score=covered / total)
