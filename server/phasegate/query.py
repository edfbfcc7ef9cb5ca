"""Engine queries for faces that ask one question and exit: agent hooks now, MCP later.

Three questions, answered from the workspace's configuration, its active session and the
result cache (``.phasegate/cache``), so that an unchanged file is never analysed again:

* :func:`findings_for_files` — the findings a few files have now, from the checks whose
  inputs match them. With ``fast_only`` (the default) only checks that judge without
  running workspace code: file-scope checks analyse just those files, IMPL-LINT lints
  just those Python files (one ruff process), other in-process project checks run as a
  gate would (from the cache when their inputs are unchanged) and keep their findings
  on those files. Tests, coverage, type checks and ``command`` checks are left out (they
  are listed in :attr:`FileFindings.left_out`).
* :func:`gate_now` — the gate(s) that decide whether the work is done: the active
  session's current phase at its current threshold, else every phase at the last
  threshold of the schedule, as ``phasegate validate`` scores them.
* :func:`workspace_summary` — what a newcomer should know: the active session, its
  phase, threshold and open findings, from the checkpoint and the cache (nothing runs).

New-code mode applies as it would in a gate: when the configuration asks for it
(``[new_code] since``/``baseline``), or when the active session records the commit it
started from (``new_code_since``), exactly as :class:`phasegate.executor.Executor` does.
Findings then carry ``baseline_state`` ``new`` or ``unchanged``. When new-code mode
cannot be set up (git gone, baseline unreadable) the whole code is judged and
``new_code_note`` says why.

Nothing here knows about terminals or agents; errors a face must report are
:class:`QueryError` with one sentence.
"""

from __future__ import annotations

import hashlib
import sys
import traceback
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from phasegate.cache import ResultCache
from phasegate.checks.base import UnknownCheck
from phasegate.config import Config
from phasegate.config_loader import ConfigError, load
from phasegate.model import Finding, GateResult, SessionState, SessionStatus, Severity
from phasegate.newcode import NewCode, NewCodeError, resolve_new_code
from phasegate.runner import GateRunner, ResolvedCheck
from phasegate.store import SessionStore, StoreError
from phasegate.workspace import STATE_DIR, PathOutsideWorkspace, Workspace

if TYPE_CHECKING:
    from phasegate.checks.base import CheckOutcome

LINT_MODULE = "phasegate.checks.implementation.lint"
# Where IMPL-LINT's per-file results are kept in the result cache (beside the check's own
# project outcome, which is for the whole workspace).
PER_FILE_SUFFIX = "#per-file"
# ruff reads these beside a file and in every folder above it; the repository-level files
# decide which ruff runs and with which arguments.
_RUFF_CONFIGS = ("pyproject.toml", "ruff.toml", ".ruff.toml")
_RUFF_ROOT_FILES = (".pre-commit-config.yaml", "uv.lock", "poetry.lock", "pdm.lock")


class QueryError(Exception):
    """The question cannot be answered (configuration errors, an unknown phase, a check
    that is not installed); ``str(exc)`` is what to tell the user."""


# -- describing the checks -----------------------------------------------------------------
@dataclass(frozen=True)
class CheckSpec:
    """A configured check as plain data: what a face needs to decide, without importing
    any check, whether a path is one of its inputs."""

    phase: str
    id: str
    scope: Literal["file", "project"]
    inputs: tuple[str, ...]
    exclude: tuple[str, ...]
    # judged without running workspace code (what findings_for_files runs by default)
    fast: bool
    runs_workspace_code: bool
    module: str  # the module of the check's class

    @property
    def key(self) -> str:
        return f"{self.phase}:{self.id}"


def check_specs(root: Path, config: Config | None = None) -> list[CheckSpec]:
    """Every configured check (entry and exit checks of every phase), once per key.
    Raises :class:`QueryError` when the configuration is invalid."""
    root = Path(root).resolve()
    if config is None:
        config = _load_config(root)
    runner = GateRunner(Workspace(root), config)
    out: dict[str, CheckSpec] = {}
    for rc in _all_checks(runner):
        out.setdefault(
            rc.key,
            CheckSpec(
                phase=rc.phase,
                id=rc.config.id,
                scope=rc.cls.scope,
                inputs=tuple(rc.ctx.inputs),
                exclude=tuple(rc.ctx.exclude),
                fast=_is_fast(rc),
                runs_workspace_code=rc.cls.runs_workspace_code,
                module=rc.cls.__module__,
            ),
        )
    return list(out.values())


def _is_fast(rc: ResolvedCheck) -> bool:
    return not rc.cls.runs_workspace_code and not rc.cls.uses_history


# -- findings of a few files ---------------------------------------------------------------
@dataclass
class PathResult:
    """One check's findings on the asked files (never on other files)."""

    phase: str
    check: str
    blocking: bool
    findings: list[Finding] = field(default_factory=list)
    cached: bool = False  # nothing was analysed: every finding came from the cache
    error: str | None = None  # the check could not run: its findings are unknown
    skipped: str | None = None  # not run on purpose (an untrusted workspace)


@dataclass
class FileFindings:
    """The answer of :func:`findings_for_files`."""

    root: Path
    paths: list[str]  # the asked paths (workspace-relative) that some check reads
    results: list[PathResult] = field(default_factory=list)
    # matched checks that were not run, as "phase:ID (why)"
    left_out: list[str] = field(default_factory=list)
    new_code: str | None = None  # what new code is judged against, when it is
    new_code_note: str | None = None  # why new-code mode was asked for but not applied
    # new-code mode: severities of which one new finding fails its gate
    blocking: frozenset[Severity] = frozenset()
    session: str | None = None  # the active session, if any

    def findings(self) -> list[tuple[PathResult, Finding]]:
        return [(r, f) for r in self.results for f in r.findings]


def findings_for_files(
    root: Path,
    paths: list[str],
    *,
    trusted: bool,
    fast_only: bool = True,
    config: Config | None = None,
    checks: Collection[str] | None = None,
    cache: ResultCache | None = None,
) -> FileFindings:
    """The findings ``paths`` (absolute, or relative to ``root``) have now, per check
    whose inputs match them (see the module). Paths outside the workspace, ignored,
    missing or matched by no check are left out. Writes only the result cache.
    ``config``: the workspace's, when the caller loaded it already; ``checks``: only
    these checks (``phase:ID`` keys, as :func:`check_specs` names them), so that no other
    check is even imported; ``cache``: a result cache the caller keeps (and writes), else
    the workspace's is read and written. Raises :class:`QueryError` when the
    configuration is invalid."""
    root = Path(root).resolve()
    if config is None:
        config = _load_config(root)
    workspace = Workspace(root)
    rels = _relative_files(workspace, paths)
    owned = cache is None
    if cache is None:
        cache = ResultCache(root / STATE_DIR / "cache")
    runner = GateRunner(workspace, config, trusted=trusted, cache=cache)
    matched = _checks_for(runner, rels, checks)
    answer = FileFindings(
        root=root, paths=[p for p in rels if any(rc.matches(p) for rc in matched)]
    )
    if not matched:
        return answer
    session = _active_session(root)
    answer.session = session.id if session is not None else None
    new_code, answer.new_code_note = _new_code(workspace, config, session)
    if new_code is not None:
        answer.new_code = new_code.label
        answer.blocking = new_code.blocking
    lint_cls = _lint_class()
    for rc in matched:
        mine = [p for p in rels if rc.matches(p)]
        if rc.cls.uses_history:
            answer.left_out.append(f"{rc.key} (judges history: only in a gate)")
            continue
        if fast_only and rc.cls.runs_workspace_code:
            answer.left_out.append(f"{rc.key} (runs workspace code: only in a gate)")
            continue
        result = PathResult(rc.phase, rc.config.id, rc.blocking)
        if rc.cls.runs_workspace_code and not trusted:
            result.skipped = "untrusted workspace: this check runs workspace code"
            answer.results.append(result)
            continue
        try:
            if rc.cls.scope == "file":
                result.findings, result.cached = _file_check(runner, rc, mine)
            elif lint_cls is not None and issubclass(rc.cls, lint_cls):
                python = [p for p in mine if p.endswith((".py", ".pyi"))]
                if not python:
                    answer.left_out.append(f"{rc.key} (configuration input: only in a gate)")
                    continue
                result.findings, result.cached, result.error = _lint_files(runner, rc, python)
            else:
                whole = runner.run_check(rc)
                wanted = set(mine)
                result.findings = [f for f in whole.findings if f.path in wanted]
                result.cached = whole.cached
                result.error = whole.error
                result.skipped = whole.skipped
        except Exception as exc:  # a check bug must not take the answer down
            result.findings = []
            result.error = f"check crashed: {_one_line(exc)}"
        if new_code is not None and result.findings:
            rule = getattr(rc.cls, "new_code_rule", "lines")
            result.findings = new_code.classify(rc.phase, rc.config.id, result.findings, rule)[0]
        answer.results.append(result)
    if owned:
        cache.flush()
    return answer


def plain_findings(found: FileFindings) -> dict[str, Any]:
    """The answer of :func:`findings_for_files` as JSON-ready data: ``items`` (one per
    finding: path, 1-based line/col/end_line, code, message, severity label,
    baseline state, and ``blocking`` when it is new and of a severity that fails its
    gate), the asked ``files``, ``new_code`` and ``new_code_note``."""
    items = [
        {
            "path": f.path,
            "line": f.range.start.line + 1,
            "col": f.range.start.character + 1,
            "end_line": f.range.end.line + 1,
            "code": f.code,
            "message": f.message,
            "severity": f.severity.label,
            "state": f.baseline_state,
            "blocking": f.baseline_state == "new" and f.severity in found.blocking,
        }
        for _result, f in found.findings()
    ]
    return {
        "items": items,
        "files": found.paths,
        "new_code": found.new_code,
        "new_code_note": found.new_code_note,
    }


def _one_line(exc: BaseException) -> str:
    return traceback.format_exception_only(type(exc), exc)[-1].strip()


def _relative_files(workspace: Workspace, paths: list[str]) -> list[str]:
    out: list[str] = []
    for p in paths:
        try:
            rel = workspace.relpath(p)
        except (PathOutsideWorkspace, OSError, ValueError):
            continue
        if rel in ("", ".") or rel in out or workspace.is_ignored(rel):
            continue
        if (workspace.root / rel).is_file():
            out.append(rel)
    return out


def _checks_for(
    runner: GateRunner, rels: list[str], only: Collection[str] | None
) -> list[ResolvedCheck]:
    if not rels:
        return []
    candidates = _all_checks(runner) if only is None else _some_checks(runner, set(only))
    seen: set[str] = set()
    out: list[ResolvedCheck] = []
    for rc in candidates:
        if rc.key not in seen and any(rc.matches(p) for p in rels):
            seen.add(rc.key)
            out.append(rc)
    return out


def _some_checks(runner: GateRunner, keys: set[str]) -> list[ResolvedCheck]:
    """The configured checks named by ``keys``, resolved one by one: the modules of the
    others are not imported."""
    out: list[ResolvedCheck] = []
    try:
        for pc in runner.config.phases:
            for entry, ccs in ((True, pc.entry_checks), (False, pc.checks)):
                out += [
                    runner.resolve(pc, cc, entry=entry)
                    for cc in ccs
                    if cc.enabled and f"{pc.name}:{cc.id}" in keys
                ]
    except UnknownCheck as exc:
        raise QueryError(str(exc)) from None
    except ValueError as exc:
        raise QueryError(f"invalid check options: {exc}") from None
    return out


def _all_checks(runner: GateRunner) -> list[ResolvedCheck]:
    try:
        return runner.all_checks()
    except UnknownCheck as exc:
        raise QueryError(str(exc)) from None
    except ValueError as exc:  # options rejected by the check's Options model
        raise QueryError(f"invalid check options: {exc}") from None


def _lint_class() -> type | None:
    """IMPL-LINT's class when it was imported (a configured check resolved to it), so a
    workspace that does not lint never imports it."""
    module = sys.modules.get(LINT_MODULE)
    cls = getattr(module, "Lint", None) if module is not None else None
    return cls if isinstance(cls, type) else None


def _file_check(
    runner: GateRunner, rc: ResolvedCheck, rels: list[str]
) -> tuple[list[Finding], bool]:
    """A file-scope check on ``rels`` only, through the check's per-file cache (the
    entries a gate uses, so the gate that follows finds them)."""
    cache = runner.cache
    fp = rc.config_fingerprint()
    findings: list[Finding] = []
    all_cached = True
    for rel in rels:
        h = runner.content_hash(rel)
        hit = cache.get_file(rc.key, fp, rel, h) if cache is not None else None
        if hit is None:
            all_cached = False
            hit = rc.check.check_file(rc.ctx, rel)
            if cache is not None:
                cache.put_file(rc.key, fp, rel, h, hit)
        findings += hit
    return findings, all_cached


def _lint_files(
    runner: GateRunner, rc: ResolvedCheck, rels: list[str]
) -> tuple[list[Finding], bool, str | None]:
    """IMPL-LINT on ``rels`` only (one ruff process for the files not cached). Cached per
    file by the file's content and the ruff configuration files that apply to it.

    The workspace-wide run remains the authority: without any ruff configuration it
    leaves out an undefined name repeated in three files or more (a global the scripts'
    runtime provides), which a one-file run cannot know."""
    cache = runner.cache
    key = rc.key + PER_FILE_SUFFIX
    fp = hashlib.sha1(f"{rc.config_fingerprint()}|trusted={runner.trusted}".encode()).hexdigest()
    findings: list[Finding] = []
    todo: dict[str, str] = {}
    for rel in rels:
        h = _lint_key(runner.workspace, rel)
        hit = cache.get_file(key, fp, rel, h) if cache is not None else None
        if hit is None:
            todo[rel] = h
        else:
            findings += hit
    if not todo:
        return findings, True, None
    lint = getattr(rc.check, "lint", None)
    if not callable(lint):
        return findings, False, "this lint check cannot judge single files"
    outcome: CheckOutcome = lint(rc.ctx, sorted(todo))
    if outcome.error is not None:
        return findings, False, outcome.error
    by_path: dict[str, list[Finding]] = {rel: [] for rel in todo}
    for f in outcome.findings:
        if f.path in by_path:
            by_path[f.path].append(f)
    for rel, fs in by_path.items():
        findings += fs
        if cache is not None:
            cache.put_file(key, fp, rel, todo[rel], fs)
    return findings, False, None


def _lint_key(workspace: Workspace, rel: str) -> str:
    """The file's content hash together with the ruff configuration that applies to it:
    the configuration files in its folder and every folder above it, and the
    repository-level files that choose the ruff and its arguments."""
    h = hashlib.sha1(workspace.content_hash(rel).encode())
    parts = rel.split("/")[:-1]
    folders = ["/".join(parts[:i]) for i in range(len(parts), -1, -1)]
    names = [f"{d}/{n}" if d else n for d in folders for n in _RUFF_CONFIGS]
    for name in [*names, *_RUFF_ROOT_FILES]:
        if (workspace.root / name).is_file():
            h.update(f"|{name}={workspace.content_hash(name)}".encode())
    return h.hexdigest()


# -- the gate now ----------------------------------------------------------------------------
@dataclass
class GateNow:
    """The answer of :func:`gate_now`."""

    gates: list[GateResult]
    session: str | None = None  # the active session
    phase: str | None = None  # its current phase, when the gate is that phase's
    iteration: int | None = None  # the phase's persona iterations (threshold(k), k >= 1)
    new_code: str | None = None
    new_code_note: str | None = None

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)


def gate_now(
    root: Path,
    phase: str | None = None,
    *,
    trusted: bool,
    every_phase: bool = False,
    config: Config | None = None,
) -> GateNow:
    """Score the gate(s) that say whether the work is done now (writes only the cache):

    * ``phase`` given: that phase's exit gate, at the session's threshold for it when a
      session is active, else at the last threshold of the schedule;
    * else, with an active session (not completed) and without ``every_phase``: its
      current phase at ``threshold(k)``, k its persona iterations (at least 1);
    * else every phase at the last threshold, as ``phasegate validate`` scores them.

    Raises :class:`QueryError` (configuration, unknown phase, check not installed)."""
    root = Path(root).resolve()
    if config is None:
        config = _load_config(root)
    names = [p.name for p in config.phases]
    session = _active_session(root)
    answer = GateNow(gates=[], session=session.id if session is not None else None)
    last = config.thresholds[-1]
    plan: list[tuple[str, float]]
    if phase is not None:
        if phase not in names:
            known = ", ".join(names) or "none"
            raise QueryError(f"unknown phase {phase!r} (phases: {known})")
        k = _iterations(session, phase)
        plan = [(phase, config.threshold(k) if k is not None else last)]
        answer.iteration = k
    elif (
        session is not None
        and not every_phase
        and session.current_phase is not None
        and session.current_phase in names
    ):
        k = _iterations(session, session.current_phase) or 1
        plan = [(session.current_phase, config.threshold(k))]
        answer.phase = session.current_phase
        answer.iteration = k
    else:
        plan = [(name, last) for name in names]
    workspace = Workspace(root)
    new_code, answer.new_code_note = _new_code(workspace, config, session)
    cache = ResultCache(root / STATE_DIR / "cache")
    runner = GateRunner(workspace, config, trusted=trusted, cache=cache, new_code=new_code)
    if new_code is not None:
        new_code.auto_refresh = False  # read just now; nothing changes the files meanwhile
        answer.new_code = new_code.label
    try:
        for name, _threshold in plan:  # resolve everything first: a setup error runs nothing
            runner.checks(name)
    except UnknownCheck as exc:
        raise QueryError(str(exc)) from None
    except ValueError as exc:
        raise QueryError(f"invalid check options: {exc}") from None
    answer.gates = [runner.evaluate(name, threshold) for name, threshold in plan]
    return answer


def _iterations(session: SessionState | None, phase: str) -> int | None:
    if session is None:
        return None
    try:
        return max(1, session.phase(phase).persona_iterations)
    except KeyError:
        return None


# -- what a newcomer should know --------------------------------------------------------------
@dataclass
class Summary:
    """The answer of :func:`workspace_summary`: nothing was run to give it."""

    phases: list[str]
    last_threshold: float
    session: str | None = None
    status: str | None = None  # the session's status
    phase: str | None = None  # its current phase
    iteration: int | None = None
    threshold: float | None = None  # the current phase's threshold now
    score: float | None = None  # its gate's last score
    passed: bool | None = None
    findings: int | None = None  # open findings of the current phase's last gate
    new_findings: int | None = None  # of which new (new-code mode)
    cached_findings: int | None = None  # without a session: findings the cache holds
    new_code_since: str | None = None


def workspace_summary(root: Path, *, trusted: bool = True, config: Config | None = None) -> Summary:
    """The active session and its current phase from the checkpoint, or without a
    session the findings the result cache holds for every check (nothing runs, nothing
    is written). Raises :class:`QueryError` when the configuration is invalid."""
    root = Path(root).resolve()
    if config is None:
        config = _load_config(root)
    out = Summary(phases=[p.name for p in config.phases], last_threshold=config.thresholds[-1])
    session = _active_session(root)
    if session is None:
        out.cached_findings = _cached_findings(root, config, trusted)
        return out
    out.session = session.id
    out.status = session.status.value
    out.new_code_since = session.new_code_since
    name = session.current_phase
    if name is None:
        return out
    out.phase = name
    try:
        ps = session.phase(name)
    except KeyError:
        return out
    out.iteration = max(1, ps.persona_iterations)
    out.threshold = config.threshold(out.iteration)
    out.score = ps.last_score
    gate = ps.last_gate
    if gate is not None:
        out.passed = gate.passed
        out.findings = len(gate.findings)
        out.new_findings = sum(1 for f in gate.findings if f.baseline_state == "new")
    return out


def _cached_findings(root: Path, config: Config, trusted: bool) -> int | None:
    """Findings of every check's last cached result (None when nothing is cached)."""
    runner = GateRunner(
        Workspace(root), config, trusted=trusted, cache=ResultCache(root / STATE_DIR / "cache")
    )
    total: int | None = None
    for rc in _all_checks(runner):
        result = runner.peek_check(rc)
        if result is not None:
            total = (total or 0) + len(result.findings)
    return total


# -- shared ------------------------------------------------------------------------------------
def load_config(root: Path) -> Config:
    """The workspace's configuration; :class:`QueryError` with the first problem (and how
    many more) when it is invalid."""
    return _load_config(root)


def _load_config(root: Path) -> Config:
    try:
        return load(root).config
    except ConfigError as exc:
        first = exc.issues[0] if exc.issues else None
        more = f" (and {len(exc.issues) - 1} more)" if len(exc.issues) > 1 else ""
        raise QueryError(f"configuration error: {first}{more}") from None


def _active_session(root: Path) -> SessionState | None:
    """The active session when it reads cleanly and is not completed."""
    store = SessionStore(root)
    try:
        sid = store.get_active()
        state = store.peek(sid) if sid is not None else None
    except (StoreError, OSError):
        return None
    if state is None or state.status is SessionStatus.COMPLETED:
        return None
    return state


def _new_code(
    workspace: Workspace, config: Config, session: SessionState | None
) -> tuple[NewCode | None, str | None]:
    """New-code mode as a gate applies it: the configuration's reference, else the
    session's start (:meth:`phasegate.executor.Executor._use_new_code`). Returns the
    reference, or None and why it could not be set up."""
    since = None
    if session is not None and not config.new_code.enabled:
        since = session.new_code_since
    try:
        nc = resolve_new_code(workspace, config, since=since)
    except NewCodeError as exc:
        return None, f"new code cannot be judged ({exc}); the whole code is"
    if nc is not None and since is not None and nc.changes is not None:
        nc.changes.ref = "the session's start"
    return nc, None
