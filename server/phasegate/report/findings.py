"""The open findings, grouped by phase and check, for the report.

For a phase the session has scored, the findings are those of its gate as last scored
(``PhaseState.last_gate`` in the checkpoint). For a phase it has not scored yet, the
phase's gate is evaluated now with the workspace's result cache, so unchanged inputs are
not re-analysed; making a report never runs the workspace's own code: a check that would
(its tests, a configured command) is taken from the cache when its inputs are unchanged
since it last ran, and is otherwise shown as not evaluated.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Literal

from phasegate.cache import ResultCache
from phasegate.config import Config
from phasegate.evidence import evidence_of
from phasegate.model import CheckResult, SessionState
from phasegate.recheck import Recheck
from phasegate.report.data import FindingGroup, OpenFinding, OpenFindings
from phasegate.runner import GateRunner, ResolvedCheck, result_of
from phasegate.workspace import Workspace

NOT_CACHED = (
    "not evaluated: this check runs the workspace's code and has no cached result for the "
    "current files (run `phasegate validate` to refresh)"
)


def _cached_only(runner: GateRunner, rc: ResolvedCheck) -> CheckResult:
    hit = None
    if runner.cache is not None and rc.cls.scope == "project":
        hit = runner.cache.get_project(rc.key, runner.inputs_hash(rc))
    common = dict(id=rc.config.id, phase=rc.phase, weight=rc.weight, blocking=rc.blocking)
    if hit is None:
        result = CheckResult(
            **common, owner=rc.ctx.owner, passed=True, score=1.0, skipped=NOT_CACHED
        )
        result.evidence = evidence_of(result, None, None)
        return result
    return result_of(rc, hit, cached=True)


def _group(result: CheckResult, source: Literal["session", "evaluated"]) -> FindingGroup:
    ordered = sorted(
        result.findings, key=lambda f: (f.path, f.range.start.line, f.range.start.character)
    )
    return FindingGroup(
        phase=result.phase,
        check=result.id,
        source=source,
        passed=result.passed,
        score=result.score,
        blocking=result.blocking,
        error=result.error,
        skipped=result.skipped
        or (f"not applicable: {result.not_applicable}" if result.not_applicable else None),
        cached=result.cached,
        evidence=result.evidence,
        findings=[
            OpenFinding(
                path=f.path,
                line=f.range.start.line + 1,
                character=f.range.start.character + 1,
                severity=f.severity.label,
                message=f.message,
                owner=f.owner,
                missing_file=f.missing_file,
            )
            for f in ordered
        ],
    )


def _open(result: CheckResult) -> bool:
    return bool(result.findings) or not result.passed or result.reason is not None


def _evaluate(
    runner: GateRunner, config: Config, phase_name: str, problems: list[str]
) -> list[FindingGroup]:
    phase = config.phase(phase_name)
    groups: list[FindingGroup] = []
    for cc in phase.checks:
        if not cc.enabled:
            continue
        try:
            rc = runner.resolve(phase, cc)
        except Exception as exc:
            msg = traceback.format_exception_only(type(exc), exc)[-1].strip()
            problems.append(f"{phase.name}:{cc.id}")
            groups.append(
                FindingGroup(
                    phase=phase.name,
                    check=cc.id,
                    source="evaluated",
                    passed=False,
                    score=0.0,
                    error=f"check unavailable: {msg}",
                )
            )
            continue
        result = _cached_only(runner, rc) if rc.cls.runs_workspace_code else runner.run_check(rc)
        result.phase = phase.name
        if _open(result):
            groups.append(_group(result, "evaluated"))
    return groups


def collect_open_findings(
    root: Path,
    config: Config,
    state: SessionState,
    rechecks: dict[str, Recheck] | None = None,
) -> OpenFindings:
    """Open findings of every configured phase (and any other phase the session scored).
    A completed phase that ``rechecks`` finds regressed shows its gate as it is now."""
    scored = {ps.name: ps.last_gate for ps in state.phases if ps.last_gate is not None}
    now = {n: r.gate for n, r in (rechecks or {}).items() if r.gate is not None}
    names = [p.name for p in config.phases] + [
        n for n in scored if n not in {p.name for p in config.phases}
    ]
    runner: GateRunner | None = None
    cache: ResultCache | None = None
    groups: list[FindingGroup] = []
    problems: list[str] = []
    for name in names:
        if name in now:
            for check in now[name].checks:
                if _open(check):
                    check.phase = check.phase or name
                    groups.append(_group(check, "evaluated"))
            continue
        gate = scored.get(name)
        if gate is not None:
            for check in gate.checks:
                if _open(check):
                    check.phase = check.phase or name
                    groups.append(_group(check, "session"))
            continue
        if runner is None:
            workspace = Workspace(root)
            cache = ResultCache(workspace.state_dir / "cache")
            runner = GateRunner(workspace, config, trusted=True, cache=cache)
        groups += _evaluate(runner, config, name, problems)
    if cache is not None:
        cache.flush()
    note = ""
    if problems:
        note = f"{len(problems)} check(s) could not be loaded: {', '.join(problems)}"
    return OpenFindings(note=note, total=sum(len(g.findings) for g in groups), groups=groups)
