"""What the MCP tools answer, computed from the engine as the CLI computes it.

Nothing here imports the MCP SDK: :mod:`phasegate.mcp_server.server` wraps these
functions as tools and resources. Every error a client must hear about is a
:class:`ToolFailure` carrying one sentence; the server turns it into an MCP tool error.

* ``validate`` scores the gates with :func:`phasegate.commands.validate.run_validation`,
  one phase at a time so that progress can be reported between phases, and returns
  :func:`phasegate.commands._output.gates_to_json` plus the ``new_code`` summary: the
  document of ``phasegate validate --format json``.
* ``findings`` flattens that document's findings, with each finding's phase, check and
  id (the id ``rework`` takes).
* sessions run :class:`phasegate.executor.Executor` as ``phasegate run``/``resume`` do
  (state folder checked, leftovers of a killed phasegate stopped, trust passed on).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, cast

from phasegate.config import Config
from phasegate.config_loader import ConfigError, LoadedConfig, load
from phasegate.mcp_server.models import (
    CheckExplanation,
    CheckOption,
    CheckPlacement,
    FindingItem,
    FindingJson,
    FindingsResult,
    LastResult,
    PhaseSummary,
    ReportAnswer,
    SessionSummary,
    TraceAnswer,
    TraceMatch,
    ValidateDocument,
)
from phasegate.model import CheckResult, Event, GateResult, PhaseStatus, SessionState
from phasegate.statedir import StateDirError, check_state_dir

if TYPE_CHECKING:
    from phasegate.cache import ResultCache
    from phasegate.executor import Executor
    from phasegate.recheck import Recheck
    from phasegate.runner import GateRunner, ResolvedCheck

MAX_OPEN_FINDINGS = 50
MAX_TOP_FINDINGS = 10
MAX_LIMIT = 10_000
_CONFIG_ISSUES_SHOWN = 5


class ToolFailure(Exception):
    """A question the tool cannot answer; ``str(exc)`` is the sentence to give back."""


# -- the workspace and its configuration ---------------------------------------------------
def check_workspace(root: Path, session_id: str | None = None) -> None:
    """The workspace folder exists and its state folder may be used."""
    if not root.is_dir():
        raise ToolFailure(f"the workspace {root} is not a folder (any more)")
    try:
        check_state_dir(root, session_id)
    except StateDirError as exc:
        raise ToolFailure(str(exc)) from None


def load_workspace(root: Path) -> LoadedConfig:
    """The workspace's configuration (the built-in defaults without one, as the CLI)."""
    check_workspace(root)
    try:
        return load(root)
    except ConfigError as exc:
        raise ToolFailure(config_error_sentence(exc)) from None


def config_error_sentence(exc: ConfigError) -> str:
    shown = [str(i) for i in exc.issues[:_CONFIG_ISSUES_SHOWN]]
    more = len(exc.issues) - len(shown)
    text = "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
    return f"the configuration is invalid: {text}. Fix it, then call the tool again."


# -- validate --------------------------------------------------------------------------------
def phases_to_validate(config: Config, phase: str | None) -> list[str]:
    names = [p.name for p in config.phases]
    if not names:
        raise ToolFailure("the configuration has no phase: there is no gate to score")
    if phase is None:
        return names
    if phase not in names:
        raise ToolFailure(f"unknown phase {phase!r} (phases: {', '.join(names) or 'none'})")
    return [phase]


def prepare_validation(
    root: Path,
    config: Config,
    names: list[str],
    *,
    since: str | None,
    baseline: str | None,
    all_code: bool,
) -> None:
    """Refuse what ``phasegate validate`` refuses before anything runs: options that do
    not go together, and configured checks that cannot be resolved."""
    from phasegate.checks.base import UnknownCheck
    from phasegate.runner import GateRunner
    from phasegate.workspace import Workspace

    if all_code and (since is not None or baseline is not None):
        raise ToolFailure("all_code cannot be combined with since or baseline")
    runner = GateRunner(Workspace(root), config)
    try:
        for name in names:
            runner.checks(name)
    except UnknownCheck as exc:
        raise ToolFailure(str(exc)) from None
    except ValueError as exc:  # options rejected by the check's Options model
        raise ToolFailure(f"invalid check options: {exc}") from None


def baseline_path(root: Path, baseline: str | None) -> Path | None:
    """A baseline file, relative to the workspace unless absolute."""
    if baseline is None:
        return None
    path = Path(baseline).expanduser()
    return path if path.is_absolute() else root / path


def validate_phase(
    root: Path,
    config: Config,
    phase: str,
    *,
    trusted: bool,
    iteration: int | None = None,
    since: str | None = None,
    baseline: str | None = None,
    all_code: bool = False,
    cache: ResultCache | None = None,
) -> GateResult:
    """One phase's exit gate, exactly as ``phasegate validate --phase PHASE`` scores it
    (``cache``: the live core's result cache, kept in memory)."""
    from phasegate.commands.validate import ValidationSetupError, run_validation

    try:
        gates = run_validation(
            root,
            config,
            phase=phase,
            iteration=iteration,
            trusted=trusted,
            since=since,
            baseline=baseline_path(root, baseline),
            all_code=all_code,
            cache=cache,
        )
    except ValidationSetupError as exc:
        raise ToolFailure(str(exc)) from None
    return gates[0]


def validate_document(root: Path, gates: list[GateResult]) -> ValidateDocument:
    """The document ``phasegate validate --format json`` writes for ``gates``."""
    from phasegate.commands._newcode_output import new_code_json
    from phasegate.commands._output import gates_to_json

    doc = gates_to_json(root, gates)
    summary = new_code_json(gates)
    if summary is not None:
        doc["new_code"] = summary
    return cast(ValidateDocument, doc)


def gate_line(gate: GateResult) -> str:
    verdict = "passed" if gate.passed else "failed"
    line = f"{gate.phase}: gate {verdict} ({gate.score:.2f} / threshold {gate.threshold:.2f})"
    if gate.failed_checks:
        line += "; failing: " + ", ".join(c.id for c in gate.failed_checks)
    return line


# -- findings ----------------------------------------------------------------------------------
def _finding_items(
    gate: GateResult, check: CheckResult, findings_json: list[FindingJson]
) -> list[FindingItem]:
    out: list[FindingItem] = []
    for finding, fj in zip(check.findings, findings_json, strict=True):
        item: dict[str, Any] = {"phase": gate.phase, "check": check.id, "id": finding.id}
        item.update(fj)
        out.append(cast(FindingItem, item))
    return out


def finding_items(root: Path, gates: Iterable[GateResult]) -> list[FindingItem]:
    """Every open finding of ``gates`` as the validate document writes it, with its
    phase, check and id, in the document's order."""
    from phasegate.commands._output import check_to_json

    out: list[FindingItem] = []
    for gate in gates:
        for check in gate.checks:
            if check.findings:
                findings_json = check_to_json(check, root)["findings"]
                out += _finding_items(gate, check, findings_json)
    return out


def relative_filter(root: Path, path: str | None) -> str | None:
    """``path`` (a file or folder, relative to the workspace or absolute inside it) as a
    workspace-relative POSIX path; None for the whole workspace."""
    if path is None or path.strip() in ("", ".", "./"):
        return None
    raw = Path(path.strip()).expanduser()
    if raw.is_absolute():
        try:
            rel = raw.resolve().relative_to(root)
        except ValueError:
            raise ToolFailure(f"{path} is outside the workspace {root}") from None
        text = rel.as_posix()
    else:
        text = PurePosixPath(path.strip().replace("\\", "/")).as_posix()
    while text.startswith("./"):
        text = text[2:]
    return None if text in ("", ".") else text.rstrip("/")


NEW_ONLY_NEEDS = (
    "new_only needs new-code mode: pass since (a git reference) or baseline (a baseline "
    "file), or set [new_code] in the configuration"
)


def require_new_code(config: Config) -> None:
    """Refuse ``new_only`` before anything runs when nothing asks for new-code mode."""
    if not config.new_code.enabled:
        raise ToolFailure(NEW_ONLY_NEEDS)


def select_findings(
    root: Path,
    gates: list[GateResult],
    *,
    path: str | None = None,
    new_only: bool = False,
    limit: int = 100,
) -> FindingsResult:
    """The open findings of ``gates``, in the validate document's order: those in
    ``path`` (a file, or a folder and everything under it), only the new ones with
    ``new_only`` (new-code mode), at most ``limit``."""
    reference = next((g.new_code for g in gates if g.new_code), None)
    if new_only and reference is None:
        raise ToolFailure(NEW_ONLY_NEEDS)
    where = relative_filter(root, path)
    items = finding_items(root, gates)
    if where is not None:
        items = [i for i in items if i["path"] == where or i["path"].startswith(where + "/")]
    if new_only:
        items = [i for i in items if i.get("baseline_state") == "new"]
    limit = max(0, min(limit, MAX_LIMIT))
    shown = items[:limit]
    return {
        "workspace": str(root),
        "new_code": reference,
        "total": len(items),
        "returned": len(shown),
        "truncated": len(shown) < len(items),
        "findings": shown,
    }


# -- the session -------------------------------------------------------------------------------
def active_session(root: Path) -> tuple[SessionState | None, str]:
    """The active session's checkpoint (read only), or None and why there is none."""
    from phasegate.store import SessionStore, StoreError

    store = SessionStore(root)
    try:
        sid = store.get_active()
        if sid is None:
            return None, "no session"
        state = store.peek(sid)
    except (StoreError, OSError) as exc:
        return None, f"no readable session ({exc})"
    if state is None:
        return None, f"no readable session (the checkpoint of {sid} cannot be read)"
    return state, ""


def session_summary(
    root: Path,
    state: SessionState,
    gates: dict[str, GateResult],
    config: Config | None,
    *,
    rechecks: dict[str, Recheck] | None = None,
    skipped_personas: list[str] | None = None,
) -> SessionSummary:
    """Phases, statuses, scores and open findings of ``state``; ``gates`` are the last
    gates to show (the checkpoint's, or those a drive just scored)."""
    from phasegate.recheck import shown_status

    checks = rechecks or {}
    titles = {p.name: p.display for p in config.phases} if config is not None else {}
    gates = {**gates, **{n: r.gate for n, r in checks.items() if r.gate is not None}}
    phases: list[PhaseSummary] = []
    open_gates: list[GateResult] = []
    for ps in state.phases:
        gate = gates.get(ps.name)
        recheck = checks.get(ps.name)
        status = shown_status(ps.status, recheck)
        phases.append(
            PhaseSummary(
                name=ps.name,
                title=titles.get(ps.name, ps.name),
                status=status,
                recorded_status=ps.status.value,
                iterations=ps.persona_iterations,
                score=gate.score if gate is not None else ps.last_score,
                threshold=gate.threshold if gate is not None else ps.last_threshold,
                gate=None if gate is None else ("passed" if gate.passed else "failed"),
                failed_checks=[c.id for c in gate.failed_checks] if gate is not None else [],
                findings=len(gate.findings) if gate is not None else 0,
                note=recheck.note if recheck is not None else ps.message,
            )
        )
        if gate is not None and status != PhaseStatus.COMPLETED.value:
            failing = [c for c in gate.checks if not c.passed]
            if failing:
                open_gates.append(gate.model_copy(update={"checks": failing}))
    items = finding_items(root, open_gates)
    return SessionSummary(
        workspace=str(root),
        session=state.id,
        status=state.status.value,
        requirement=state.requirement,
        current_phase=state.current_phase,
        new_code_since=state.new_code_since,
        phases=phases,
        open_findings=items[:MAX_OPEN_FINDINGS],
        open_findings_total=len(items),
        skipped_personas=skipped_personas or [],
        message=session_message(state, phases),
    )


def session_message(state: SessionState, phases: list[PhaseSummary]) -> str:
    sid = state.id
    regressed = [
        p.name for p in phases if p.status == "regressed" and p.recorded_status != p.status
    ]
    if regressed:
        return (
            f"session {sid}: {', '.join(regressed)} completed earlier and fails now (not "
            f"recorded yet); fix the findings, then resume_session"
        )
    if state.status.value == "completed":
        return f"session {sid} completed: every phase passed its gate"
    waiting = [p for p in phases if p.status in ("stalled", "blocked", "regressed")]
    if state.status.value == "waiting" and waiting:
        names = ", ".join(f"{p.name} ({p.status})" for p in waiting)
        return (
            f"session {sid} waits for a person: {names}; fix the open findings (or call "
            f"rework), then resume_session"
        )
    if state.status.value == "stopped":
        return f"session {sid} stopped; resume_session continues it"
    return f"session {sid} is {state.status.value}; resume_session continues it"


def gate_status(root: Path, *, trusted: bool) -> SessionSummary:
    """The active session's phases, statuses and scores from its checkpoint (completed
    phases checked against the result cache, as ``phasegate status``); nothing runs."""
    from phasegate.query import QueryError, workspace_summary
    from phasegate.recheck import recheck_completed

    check_workspace(root)
    config: Config | None
    config_note = ""
    try:
        config = load(root).config
    except ConfigError as exc:
        config, config_note = None, config_error_sentence(exc)
    state, why = active_session(root)
    if state is None:
        if config is None:
            raise ToolFailure(config_note)
        try:
            summary = workspace_summary(root, trusted=trusted, config=config)
        except QueryError as exc:
            raise ToolFailure(str(exc)) from None
        cached = summary.cached_findings
        held = "nothing cached yet" if cached is None else f"{cached} finding(s) in the cache"
        return SessionSummary(
            workspace=str(root),
            cached_findings=cached,
            message=(
                f"{why}: start one with start_session, or call validate to score every "
                f"gate ({held}; phases: {', '.join(summary.phases)})"
            ),
        )
    gates = {p.name: p.last_gate for p in state.phases if p.last_gate is not None}
    rechecks = recheck_completed(root, state, config)
    out = session_summary(root, state, gates, config, rechecks=rechecks)
    if config_note:
        out.message += f" ({config_note})"
    return out


def describe_event(ev: Event) -> str:
    """A one-line progress message for an executor event ("" for events not shown)."""
    d = ev.data
    phase = ev.phase or ""
    kind = ev.kind
    if kind == "session_started":
        return f"session {ev.session} started"
    if kind == "session_resumed":
        return f"session {ev.session} resumed"
    if kind == "phase_started":
        return f"{phase}: started"
    if kind == "entry_gate":
        return f"{phase}: entry gate " + ("passed" if d.get("passed") else "not met")
    if kind == "iteration_started":
        names = ", ".join(str(n) for n in d.get("planned", [])) or "no persona"
        return f"{phase}: iteration {d.get('iteration')}: {names}"
    if kind == "persona_started":
        return f"{phase}: {d.get('persona', '')} working"
    if kind == "persona_finished":
        if d.get("skipped"):
            return f"{phase}: {d.get('persona', '')} skipped: {d.get('skipped')}"
        return f"{phase}: {d.get('persona', '')} " + ("done" if d.get("ok") else "failed")
    if kind == "gate_scored":
        score, thr = d.get("score"), d.get("threshold")
        verdict = "passed" if d.get("passed") else "failed"
        if isinstance(score, (int, float)) and isinstance(thr, (int, float)):
            return f"{phase}: gate {verdict} ({score:.2f} / threshold {thr:.2f})"
        return f"{phase}: gate {verdict}"
    if kind.startswith("phase_"):
        return f"{phase}: {kind.removeprefix('phase_')}"
    if kind in ("session_finished", "session_stopped"):
        return f"session {ev.session}: {d.get('status', kind.removeprefix('session_'))}"
    return ""


async def drive(
    root: Path,
    *,
    trusted: bool,
    action: Callable[[Executor], Awaitable[SessionState]],
    on_message: Callable[[str], None],
    session_id: str | None = None,
) -> SessionSummary:
    """Run ``action`` (start, resume or rework) on an :class:`Executor`, as
    ``phasegate run``/``resume`` do, and summarise the session it leaves."""
    from phasegate.executor import Executor, ExecutorError
    from phasegate.proc import CancelToken, cancel_scope, kill_leftovers
    from phasegate.store import CheckpointRecovered, SessionStore, StoreError
    from phasegate.workspace import Workspace

    check_workspace(root, session_id)
    loaded = load_workspace(root)
    stopped = await asyncio.to_thread(kill_leftovers, root)
    if stopped:
        on_message(f"stopped {len(stopped)} process(es) an earlier phasegate left running")
    skipped: list[str] = []

    def on_event(ev: Event) -> None:
        if ev.kind == "persona_finished" and ev.data.get("skipped"):
            skipped.append(f"{ev.data.get('persona')}: {ev.data.get('skipped')}")
        message = describe_event(ev)
        if message:
            on_message(message)

    executor = Executor(
        Workspace(root), loaded.config, SessionStore(root), trusted=trusted, on_event=on_event
    )
    token = CancelToken()
    try:
        with cancel_scope(token):
            state = await action(executor)
    except CheckpointRecovered as exc:
        raise ToolFailure(str(exc)) from None
    except (StoreError, ExecutorError) as exc:
        raise ToolFailure(str(exc)) from None
    except BaseException:
        executor.stop()
        token.cancel()  # kill what it started: the client cancelled, or the server stops
        raise
    finally:
        executor.close()
    gates = {**{p.name: p.last_gate for p in state.phases if p.last_gate}, **executor.last_gates}
    return session_summary(root, state, gates, loaded.config, skipped_personas=skipped)


def known_personas(root: Path, config: Config) -> set[str]:
    """Every persona name the configuration knows: configured, run by a phase, or owning
    a check."""
    from phasegate.runner import GateRunner
    from phasegate.workspace import Workspace

    names = set(config.personas)
    for pc in config.phases:
        names.update(pc.personas)
        names.update(c.owner for c in [*pc.checks, *pc.entry_checks] if c.owner)
    # a check that cannot be resolved: the executor's preflight says what is wrong
    with contextlib.suppress(Exception):
        names.update(rc.ctx.owner for rc in GateRunner(Workspace(root), config).all_checks())
    names.discard("")
    return names


def check_personas(root: Path, config: Config, personas: Iterable[str]) -> None:
    known = known_personas(root, config)
    unknown = [p for p in personas if p not in known]
    if unknown:
        listed = ", ".join(sorted(known)) or "none"
        raise ToolFailure(f"unknown persona(s) {', '.join(unknown)} (personas: {listed})")


# -- explain_check -------------------------------------------------------------------------------
def _json_value(value: Any) -> Any:
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(value, fallback=str)


def _options(cls: type[Any]) -> list[CheckOption]:
    from phasegate.docgen import type_name

    out: list[CheckOption] = []
    for name, field in cls.Options.model_fields.items():
        required = field.is_required()
        out.append(
            CheckOption(
                name=name,
                type=type_name(field.annotation),
                required=required,
                default=None
                if required
                else _json_value(field.get_default(call_default_factory=True)),
                description=field.description or "",
            )
        )
    return out


def _last_result(root: Path, runner: GateRunner, rc: ResolvedCheck) -> LastResult | None:
    from phasegate.commands._output import check_to_json
    from phasegate.recheck import cached_outcome
    from phasegate.runner import result_of

    if rc.cls.runs_workspace_code and not runner.trusted:
        return None  # this server would not run it: no result to show
    outcome = cached_outcome(runner, rc)
    result: CheckResult | None
    if outcome is not None:
        result, current = result_of(rc, outcome, cached=True), True
    else:
        result, current = runner.peek_check(rc), False
    if result is None:
        return None
    findings = check_to_json(result, root)["findings"]
    return LastResult(
        status=cast(Any, result.status),
        passed=result.passed,
        score=result.score,
        findings=len(result.findings),
        current=current,
        top_findings=findings[:MAX_TOP_FINDINGS],
    )


def _find_kind(check_id: str) -> type[Any] | None:
    from phasegate.checks.base import UnknownCheck, get_check_class, registered_checks

    try:
        return get_check_class(check_id)
    except UnknownCheck:
        pass
    wanted = check_id.upper()
    for name in sorted(registered_checks()):
        if name.upper() == wanted:
            return get_check_class(name)
    return None


def explain_check(root: Path, check_id: str, *, trusted: bool) -> CheckExplanation:
    """What a check is (title, description, options, documentation) and, in this
    workspace, where it is configured, how it weighs and its last cached result."""
    from phasegate.cache import ResultCache
    from phasegate.checks.base import UnknownCheck, registered_checks
    from phasegate.runner import GateRunner
    from phasegate.workspace import STATE_DIR, Workspace

    wanted = check_id.strip()
    if not wanted:
        raise ToolFailure("give a check id, e.g. IMPL-STUB")
    config = load_workspace(root).config
    entries = [
        (pc, cc, entry)
        for pc in config.phases
        for entry, ccs in ((False, pc.checks), (True, pc.entry_checks))
        for cc in ccs
    ]
    mine = [e for e in entries if e[1].id.upper() == wanted.upper()]
    if not mine:
        mine = [e for e in entries if e[1].kind_name.upper() == wanted.upper()]
    kind = mine[0][1].kind_name if mine else wanted
    cls = _find_kind(kind)
    if cls is None:
        configured = sorted({cc.id for _pc, cc, _e in entries})
        known = sorted(registered_checks())
        if mine:
            raise ToolFailure(
                f"check {wanted} is configured with kind {kind!r}, which is not installed "
                f"(installed: {', '.join(known)})"
            )
        raise ToolFailure(
            f"unknown check {wanted!r}: no check of this workspace has that id and no "
            f"installed check has that name (configured: {', '.join(configured) or 'none'}; "
            f"installed: {', '.join(known)})"
        )
    runner = GateRunner(
        Workspace(root), config, trusted=trusted, cache=ResultCache(root / STATE_DIR / "cache")
    )
    placements: list[CheckPlacement] = []
    for pc, cc, entry in mine:
        place = CheckPlacement(
            phase=pc.name,
            gate="entry" if entry else "exit",
            id=cc.id,
            kind=cc.kind_name,
            enabled=cc.enabled,
            options=_json_value(cc.options),
        )
        try:
            rc = runner.resolve(pc, cc, entry=entry)
        except (UnknownCheck, ValueError) as exc:
            place.error = str(exc)
            placements.append(place)
            continue
        place.weight = rc.weight
        place.blocking = rc.blocking
        place.owner = rc.ctx.owner
        place.severity = cast(Any, rc.ctx.severity.name.lower())
        place.inputs = list(rc.ctx.inputs)
        place.exclude = list(rc.ctx.exclude)
        if cc.enabled:
            place.last_result = _last_result(root, runner, rc)
        placements.append(place)
    if not placements:
        note = "not configured in this workspace: add it to a phase's checks to use it"
    elif cls.runs_workspace_code and not trusted:
        note = "runs workspace code: skipped by this server (--untrusted)"
    else:
        note = ""
    cid = mine[0][1].id if mine else getattr(cls, "id", wanted)
    return CheckExplanation(
        id=cid,
        kind=kind if mine else getattr(cls, "id", wanted),
        title=cls.title,
        description=cls.description.strip(),
        docs_url=cls.docs_url(cid),
        scope=cls.scope,
        runs_workspace_code=cls.runs_workspace_code,
        default_owner=cls.default_owner,
        default_weight=float(cls.default_weight),
        default_blocking=cls.default_blocking,
        default_severity=cast(Any, cls.default_severity.name.lower()),
        options=_options(cls),
        configured=placements,
        note=note,
    )


# -- trace_requirement ---------------------------------------------------------------------------
def trace_requirement(root: Path, requirement_id: str) -> TraceAnswer:
    """Where a requirement is defined, designed, implemented and tested, and its gaps
    (the rows of the report's traceability matrix for that id)."""
    from phasegate.report.trace import build_traceability

    wanted = requirement_id.strip()
    if not wanted:
        raise ToolFailure("give a requirement id, e.g. REQ-001")
    config = load_workspace(root).config
    trace = build_traceability(root, config)
    key = wanted.upper()
    rows = [r for r in trace.rows if r.id.upper() == key or r.id.upper().endswith("/" + key)]
    if not rows:
        where = ", ".join(trace.requirements_files) or (
            "the requirements documents (" + ", ".join(config.artifacts.requirements) + ")"
        )
        known = [r.id for r in trace.rows]
        listed = ", ".join(known[:20]) + (" …" if len(known) > 20 else "")
        raise ToolFailure(
            f"requirement {wanted} is not defined in {where}"
            + (f" (defined: {listed})" if known else "")
        )
    return TraceAnswer(
        id=wanted,
        matches=[TraceMatch.model_validate(r.model_dump()) for r in rows],
        requirements_files=trace.requirements_files,
        design_files=trace.design_files,
        note=trace.note,
    )


# -- report_path -------------------------------------------------------------------------------
def write_report(root: Path, session_id: str | None, fmt: str) -> ReportAnswer:
    """Write the session's report (default: the active session's) into its folder."""
    from phasegate.report import ReportError
    from phasegate.report import write_report as write

    check_workspace(root, session_id)
    try:
        path = write(root, session_id, fmt)
    except ReportError as exc:
        raise ToolFailure(str(exc)) from None
    return ReportAnswer(
        path=str(path), uri=path.as_uri(), session=path.parent.name, format=cast(Any, fmt)
    )


# -- resources -----------------------------------------------------------------------------------
def requirements_text(root: Path) -> str:
    """The text of the workspace's requirements documents; with several, each begins
    with a comment naming its path."""
    from phasegate.workspace import Workspace

    config = load_workspace(root).config
    workspace = Workspace(root)
    paths = workspace.glob(config.artifacts.requirements)
    texts = [(p, workspace.read_text(p)) for p in paths]
    found = [(p, t) for p, t in texts if t is not None]
    if not found:
        patterns = ", ".join(config.artifacts.requirements)
        raise ToolFailure(f"no requirements document in this workspace (looked for {patterns})")
    if len(found) == 1:
        return found[0][1]
    return "\n\n".join(f"<!-- phasegate: {p} -->\n{t}" for p, t in found)
