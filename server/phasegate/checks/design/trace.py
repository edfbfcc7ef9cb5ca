"""DES-TRACE: every requirement id is traced into the design.

Spec Kit and Kiro requirements are scoped by feature folder (:mod:`phasegate.features`):
``FR-001`` of ``specs/001-auth`` is traced when a design text *resolves* a mention to it —
``specs/001-auth/plan.md`` saying ``FR-001``, a Kiro ``design.md`` saying
``Validates: Requirements 1.1``, a feature's other design artefacts (Spec Kit's
``data-model.md``, ``research.md``, ``quickstart.md``, ``contracts/``), a task of the
feature's ``tasks.md`` that cites it (the plan of work, :mod:`phasegate.tasks`), or any
design document writing ``001-auth/FR-001``. A feature without a plan is never traced by
another feature's plan.

phasegate's own (global) requirements documents are traced per folder as before:
``docs/requirements.md`` by ``docs/design.md``, a document with no design in its folder
by all design documents outside feature folders (else all of them).

Untraced ids are reported on the requirement's definition, naming its feature; a
requirement its document marks as removed (``**FR-013** *(Removed)*``) is not asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from phasegate.checks.base import CheckContext, CheckOutcome
from phasegate.checks.design.exists import DesignCheck
from phasegate.documents import (
    designs_for,
    id_prefixes,
    id_regex,
    parse_design,
    parse_requirements,
)
from phasegate.features import (
    GLOBAL,
    ScopedRef,
    feature_of,
    requirement_scopes,
    scoped_references,
    withdrawn,
)
from phasegate.model import Finding, Range
from phasegate.tasks import TASKS_GLOBS, parse_tasks
from phasegate.workspace import matches

if TYPE_CHECKING:
    from phasegate.config import Config
    from phasegate.features import RequirementScopes

# Spec Kit's other Phase 0/1 design outputs of a feature (see its plan template).
# Spec Kit's other Phase 0/1 design outputs of a feature (see its plan template), and the
# plans, designs and architecture notes a feature keeps beside them.
DESIGN_ARTIFACTS: tuple[str, ...] = (
    "specs/*/data-model.md",
    "specs/*/research.md",
    "specs/*/quickstart.md",
    "specs/*/contracts/**",
    "specs/*/**/*plan*.md",
    "specs/*/**/*design*.md",
    "specs/*/**/*architecture*.md",
    ".kiro/specs/*/**/*design*.md",
)


class TraceOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requirements: list[str] | None = Field(
        None, description="Globs of the requirements documents; default: `artifacts.requirements`."
    )
    design: list[str] | None = Field(
        None, description="Globs of the design documents; default: `artifacts.design`."
    )
    tasks: list[str] = Field(
        default_factory=lambda: list(TASKS_GLOBS),
        description="Globs of the task lists (Spec Kit, Kiro) whose tasks trace the "
        "requirements they cite.",
    )
    design_artifacts: list[str] = Field(
        default_factory=lambda: list(DESIGN_ARTIFACTS),
        description="Globs of a feature's other design artefacts that trace the ids they "
        "mention (Spec Kit's data-model.md, research.md, quickstart.md, contracts/, and "
        "plans, designs or architecture notes a feature keeps beside them).",
    )


class DesignTrace(DesignCheck):
    id = "DES-TRACE"
    title = "Requirements traced into the design"
    description = (
        "Every requirement id of the requirements documents appears in the design. Spec "
        "Kit and Kiro ids are scoped by feature folder: a feature's requirement is traced "
        "by its own plan.md or design.md, its other design artefacts (data-model.md, "
        "research.md, quickstart.md, contracts/), a task of its tasks.md that cites it, or "
        "a qualified mention (`001-auth/FR-001`) in any design document; never by another "
        "feature's plan. phasegate's own documents are traced by the design documents of "
        "their folder. Each untraced id is a finding on its definition, naming its feature "
        "(requirements marked removed are skipped). Score: the traced share."
    )
    default_weight = 2.0
    Options = TraceOptions

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return [
            *config.artifacts.requirements,
            *config.artifacts.design,
            *TASKS_GLOBS,
            *DESIGN_ARTIFACTS,
        ]

    def run(self, ctx: CheckContext) -> CheckOutcome:
        opts = ctx.options
        assert isinstance(opts, TraceOptions)
        ws = ctx.workspace
        req_globs = opts.requirements or ctx.config.artifacts.requirements
        des_globs = opts.design or ctx.config.artifacts.design
        prefixes = id_prefixes(ctx.config)
        pattern = id_regex(prefixes)
        files = ctx.input_files()
        req_files = [f for f in files if matches(f, req_globs)]
        req_docs = []
        for path in req_files:
            text = ws.read_text(path)
            if text is not None:
                req_docs.append(parse_requirements(text, path, prefixes))
        scopes = requirement_scopes(req_docs)
        designs = []
        traced: set[tuple[str, str]] = set()
        ambiguous: dict[tuple[str, str], list[str]] = {}

        def count(path: str, text: str, refs: list[ScopedRef]) -> None:
            if not refs:
                return
            fscope = scopes.file_scope(path, text)
            for ref in refs:
                res = scopes.resolve(ref, fscope)
                if res.key is not None:
                    traced.add(res.key)
                for c in res.candidates:
                    ambiguous.setdefault((c, ref.id), []).append(
                        f"{path}:{ref.line + 1} mentions {ref.id}, but "
                        + scopes.hint(ref.id, res.candidates)
                    )

        feature_designs: dict[str, list[str]] = {}
        for f in files:
            if f in req_files:
                continue
            text = ws.read_text(f)
            if text is None:
                continue
            if matches(f, des_globs):
                designs.append(parse_design(text, f, prefixes))
                feat = feature_of(f)
                if feat is not None:
                    feature_designs.setdefault(feat.name, []).append(f)
                count(f, text, scoped_references(text, pattern))
            elif matches(f, opts.tasks):
                count(f, text, list(parse_tasks(text, f, prefixes).planned))
            elif matches(f, opts.design_artifacts):
                count(f, text, scoped_references(text, pattern))
        findings: list[Finding] = []
        total = done = 0
        for doc in req_docs:
            scope = scopes.doc_scope.get(doc.path, GLOBAL)
            targets = designs_for(doc.path, designs) if scope == GLOBAL else []
            ids: set[str] = set().union(*(d.ids for d in targets)) if targets else set()
            where = ", ".join(d.path for d in targets) or "a design document"
            seen: set[str] = set()
            for r in doc.requirements:
                if r.id in seen or withdrawn(r):
                    continue
                seen.add(r.id)
                total += 1
                name = f"{r.id} ({r.title})" if r.title else r.id
                rng = Range.lines(r.line, r.character, r.end_character)
                if scope == GLOBAL:
                    if r.id in ids:
                        done += 1
                        continue
                    msg = (
                        f"{name} is not traced into the design: mention {r.id} in {where} "
                        "where it is designed."
                    )
                else:
                    if (scope, r.id) in traced:
                        done += 1
                        continue
                    msg = _feature_message(scopes, scope, r.id, r.title, feature_designs)
                    notes = ambiguous.get((scope, r.id))
                    if notes:
                        more = f" (and {len(notes) - 1} more)" if len(notes) > 1 else ""
                        msg += f" {notes[0]}{more}."
                findings.append(ctx.finding(doc.path, msg, rng))
        if total == 0:
            return CheckOutcome(findings=[], score=1.0, passed=True)
        return CheckOutcome(findings=findings, score=done / total)


def _feature_message(
    scopes: RequirementScopes,
    scope: str,
    rid: str,
    title: str,
    feature_designs: dict[str, list[str]],
) -> str:
    feature = scopes.features[scope]
    designs = feature_designs.get(scope)
    kiro = feature.folder.startswith(".kiro/")
    if designs:
        where = ", ".join(designs)
    else:
        where = f"{feature.folder}/{'design.md' if kiro else 'plan.md'} (there is none yet)"
    name = f"{rid} of feature {scope}" + (f" ({title})" if title else "")
    return (
        f"{name} is not traced into the design: mention {rid} in "
        f"{where} where it is designed, or cite it in a task of {feature.folder}/tasks.md."
    )
