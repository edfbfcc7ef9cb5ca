"""REQ-IDS: requirements carry ids (``REQ-001``, ``FR-001``...), each defined once.

An id is unique within its document. Across documents, a repeat is reported only
between documents in phasegate's own format: Spec Kit and Kiro number the requirements
of each feature from 1, so ``FR-001`` in two features is two different requirements.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from phasegate.checks._documents import no_documents
from phasegate.checks.base import CheckContext, CheckOutcome
from phasegate.checks.requirements.exists import RequirementsCheck
from phasegate.documents import Requirement, id_prefixes, parse_requirements
from phasegate.model import Finding, Range


class IdsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_ids: int = Field(1, ge=0, description="Fewest requirement ids a document must define.")


def _where(r: Requirement) -> str:
    title = f" ({r.title})" if r.title else ""
    return f"{r.path} line {r.line + 1}{title}"


class RequirementIds(RequirementsCheck):
    id = "REQ-IDS"
    title = "Requirement ids"
    description = (
        "Every requirements document defines at least one requirement id (prefixes "
        "`REQ`, `FR`, `NFR`, `US` by default, see `artifacts.requirement_id_prefixes`; "
        "Kiro's `Requirement N` is `REQ-N`) and no id is defined twice. A repeated id is "
        "reported on its second definition, naming the first. Score: per document, the "
        "share of unique definitions (0 without ids), averaged."
    )
    default_weight = 1.0
    Options = IdsOptions

    def run(self, ctx: CheckContext) -> CheckOutcome:
        empty = no_documents(ctx)
        if empty is not None:
            return empty
        opts = ctx.options
        assert isinstance(opts, IdsOptions)
        prefixes = id_prefixes(ctx.config)
        example = f"{prefixes[0]}-001" if prefixes else "REQ-001"
        findings: list[Finding] = []
        scores: list[float] = []
        first_own: dict[str, Requirement] = {}  # across phasegate-format documents
        for path in ctx.input_files():
            text = ctx.workspace.read_text(path)
            if text is None or not text.strip():
                continue
            doc = parse_requirements(text, path, prefixes)
            reqs = doc.requirements
            top = doc.sections[0].line if doc.sections else 0
            if len(reqs) < max(1, opts.min_ids):
                msg = (
                    f"No requirement ids: give each requirement an id such as {example} "
                    f"(a heading '### {example}: Title' or a list item '- **{example}**: ...')."
                    if not reqs
                    else f"Only {len(reqs)} requirement id(s); at least {opts.min_ids} expected."
                )
                findings.append(ctx.finding(path, msg, line=top))
                if not reqs:
                    scores.append(0.0)
                    continue
            repeats = 0
            for first, again in doc.duplicates():
                repeats += 1
                findings.append(self._dup(ctx, first, again))
            if doc.format == "phasegate":
                seen_here: set[str] = set()
                for r in reqs:
                    if r.id in seen_here:
                        continue
                    seen_here.add(r.id)
                    other = first_own.get(r.id)
                    if other is None:
                        first_own[r.id] = r
                    else:
                        repeats += 1
                        findings.append(self._dup(ctx, other, r))
            scores.append(max(0.0, 1.0 - repeats / len(reqs)))
        score = sum(scores) / len(scores) if scores else 0.0
        return CheckOutcome(findings=findings, score=score)

    @staticmethod
    def _dup(ctx: CheckContext, first: Requirement, again: Requirement) -> Finding:
        return ctx.finding(
            again.path,
            f"{again.id} is defined twice: first at {_where(first)}. Give this one a new id.",
            Range.lines(again.line, again.character, again.end_character),
        )
