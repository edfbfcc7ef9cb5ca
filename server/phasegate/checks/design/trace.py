"""DES-TRACE: every requirement id is traced into the design.

A requirements document is traced by the design documents in its own folder when there
are any (Spec Kit ``specs/<f>/spec.md`` -> ``specs/<f>/plan.md``, Kiro
``.kiro/specs/<f>/requirements.md`` -> ``design.md``, ``docs/requirements.md`` ->
``docs/design.md``), else by all design documents. A requirement is traced when its id
appears in one of them (Kiro's ``Requirement 1`` / ``Requirements 1.2`` count for
``REQ-1``). Untraced ids are reported on the requirement's definition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from phasegate.checks.base import CheckContext, CheckOutcome
from phasegate.checks.design.exists import DesignCheck
from phasegate.documents import designs_for, id_prefixes, parse_design, parse_requirements
from phasegate.model import Finding, Range
from phasegate.workspace import matches

if TYPE_CHECKING:
    from phasegate.config import Config


class TraceOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requirements: list[str] | None = Field(
        None, description="Globs of the requirements documents; default: `artifacts.requirements`."
    )
    design: list[str] | None = Field(
        None, description="Globs of the design documents; default: `artifacts.design`."
    )


class DesignTrace(DesignCheck):
    id = "DES-TRACE"
    title = "Requirements traced into the design"
    description = (
        "Every requirement id of the requirements documents appears in the design (the "
        "design documents of the same folder when there are any). Each untraced id is a "
        "finding on its definition in the requirements document. Score: the traced share."
    )
    default_weight = 2.0
    Options = TraceOptions

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return [*config.artifacts.requirements, *config.artifacts.design]

    def run(self, ctx: CheckContext) -> CheckOutcome:
        opts = ctx.options
        assert isinstance(opts, TraceOptions)
        req_globs = opts.requirements or ctx.config.artifacts.requirements
        des_globs = opts.design or ctx.config.artifacts.design
        prefixes = id_prefixes(ctx.config)
        files = ctx.input_files()
        req_files = [f for f in files if matches(f, req_globs)]
        designs = []
        for f in files:
            if f in req_files or not matches(f, des_globs):
                continue
            text = ctx.workspace.read_text(f)
            if text is not None:
                designs.append(parse_design(text, f, prefixes))
        findings: list[Finding] = []
        total = traced = 0
        for path in req_files:
            text = ctx.workspace.read_text(path)
            if text is None:
                continue
            doc = parse_requirements(text, path, prefixes)
            targets = designs_for(path, designs)
            ids = set().union(*(d.ids for d in targets)) if targets else set()
            where = ", ".join(d.path for d in targets) or "a design document"
            seen: set[str] = set()
            for r in doc.requirements:
                if r.id in seen:
                    continue
                seen.add(r.id)
                total += 1
                if r.id in ids:
                    traced += 1
                    continue
                name = f"{r.id} ({r.title})" if r.title else r.id
                findings.append(
                    ctx.finding(
                        path,
                        f"{name} is not traced into the design: mention {r.id} in {where} "
                        "where it is designed.",
                        Range.lines(r.line, r.character, r.end_character),
                    )
                )
        if total == 0:
            return CheckOutcome(findings=[], score=1.0, passed=True)
        return CheckOutcome(findings=findings, score=traced / total)
