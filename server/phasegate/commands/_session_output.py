"""What ``run``, ``resume``, ``status`` and ``sessions`` share: loading the workspace,
driving the executor with Ctrl-C handling, the live progress display and the final
rendering (text or JSON).

Exit codes: 0 the session completed (every gate that ran passed); 1 a gate failed or the
session waits for a person (stalled, blocked, regressed); 2 a usage, configuration or
state error (bad id, corrupt checkpoint, locked session, a state folder that is a link
or not a folder...); 130 interrupted by Ctrl-C (a checkpoint was written first,
``phasegate resume`` continues).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from phasegate import cli
from phasegate.commands._state import check_state as check_state  # for the commands
from phasegate.commands._state import print_warnings
from phasegate.commands._workspace import workspace_params
from phasegate.model_plain import PhaseStatus, SessionStatus

# Imports stay light: ``status`` and ``sessions`` must start fast (see
# tests/test_startup_imports.py). The executor, and asyncio with it, is imported by
# :func:`execute` only, rich when text is rendered, the models (pydantic) by whatever
# reads a state; the enumerations come from ``model_plain``, which needs no pydantic.
if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status

    from phasegate.commands._progress import ToolProbe
    from phasegate.config import Config
    from phasegate.executor import Executor
    from phasegate.model import CheckResult, Event, GateResult, SessionState
    from phasegate.recheck import Recheck
    from phasegate.runner import ResolvedCheck
    from phasegate.store import SessionInfo

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

_STATUS_STYLE = {
    "completed": "green",
    "in_progress": "cyan",
    "pending": "dim",
    "stalled": "yellow",
    "blocked": "red",
    "regressed": "red",
    "running": "cyan",
    "waiting": "yellow",
    "stopped": "yellow",
    "unreadable": "red",
}

# -w/--workspace DIR and the positional [DIR]: the command gets the project root
workspace_option = workspace_params()
format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format (JSON goes to stdout, progress to stderr).",
)
max_phase_option = click.option(
    "--max-phase-iterations",
    type=click.IntRange(min=1, max=1000),
    default=None,
    help="Persona iterations per phase (overrides the configuration).",
)
max_global_option = click.option(
    "--max-global-iterations",
    type=click.IntRange(min=1, max=1000),
    default=None,
    help="Persona iterations per session (overrides the configuration).",
)
untrusted_option = click.option(
    "--untrusted",
    is_flag=True,
    help="Treat the workspace as untrusted: run no persona or check that runs workspace "
    "code (they are reported as skipped).",
)


def load_workspace_config(root: Path) -> Config:
    """The workspace's configuration (built-in defaults when it has none)."""
    from phasegate.config_loader import load_config

    return load_config(root)


def error(message: str) -> int:
    """``phasegate: error: <message>`` on stderr; returns the exit code 2."""
    cli.error(message)
    return EXIT_ERROR


def exit_code(state: SessionState) -> int:
    if state.status is SessionStatus.COMPLETED:
        return EXIT_OK
    if state.status is SessionStatus.STOPPED:
        return EXIT_INTERRUPTED
    return EXIT_FAILED


# -- live progress --------------------------------------------------------------------
@dataclass
class Progress:
    """Turns executor events into a log of steps on stderr and, when ``live`` (stderr is
    a terminal, see :func:`phasegate.commands._progress.progress_wanted`), a status line
    naming what runs: the persona at work, or the check being run and its tool
    (``implementation · IMPL-LINT (ruff)``, told by an observed gate runner)."""

    console: Console
    live: bool = False
    _status: Status | None = None
    _probe: ToolProbe | None = None

    def __enter__(self) -> Progress:
        if self.live:
            from phasegate.commands._progress import ToolProbe

            self._probe = ToolProbe()
            self._status = self.console.status("starting…")
            self._status.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def _line(self, text: str) -> None:
        self.console.print(text, highlight=False, soft_wrap=True)

    def _spin(self, text: str) -> None:
        if self._status is not None and self._probe is not None:
            from phasegate.commands._progress import DoingText

            self._status.update(DoingText(text, self._probe))

    # the gate runner's observer (phasegate.commands._progress.CheckObserver)
    def planned(self, total: int | None) -> None:
        pass

    def check_started(self, rc: ResolvedCheck) -> None:
        import threading

        from rich.markup import escape

        from phasegate.commands._progress import check_label

        if self._probe is not None:
            self._probe.follow(threading.get_native_id())
        self._spin(escape(check_label(rc)))

    def check_finished(self, rc: ResolvedCheck, result: CheckResult) -> None:
        if self._probe is not None:
            self._probe.follow(None)

    def on_event(self, ev: Event) -> None:
        from rich.markup import escape

        d = ev.data
        ph = escape(ev.phase or "")
        k = ev.kind
        if k == "session_started":
            self._line(f"[bold]session {escape(ev.session)}[/]: {escape(d.get('requirement', ''))}")
        elif k == "session_resumed":
            self._line(f"[bold]session {escape(ev.session)}[/] resumed")
        elif k == "phase_started":
            self._line(f"[bold cyan]▶ {ph}[/]" + (" (continuing)" if d.get("resumed") else ""))
            self._spin(f"{ph}: evaluating the gate")
        elif k == "entry_gate" and not d.get("passed", True):
            self._line(
                f"[red]{ph or 'session'}: entry gate failed: {escape(d.get('message', ''))}[/]"
            )
        elif k == "iteration_started":
            reasons: dict[str, str] = d.get("reasons") or {}
            names = list(d.get("planned", []))
            if not names:
                who = "no persona"
            elif len(set(reasons.values())) <= 1:
                why = next(iter(reasons.values()), "")
                who = ", ".join(names) + (f" ({why})" if why else "")
            else:
                who = ", ".join(f"{n} ({reasons.get(n, '')})" for n in names)
            self._line(
                f"{ph}: iteration {d.get('iteration')} (threshold {d.get('threshold', 0):.2f}): "
                f"{escape(who)}"
            )
        elif k == "persona_started":
            who = escape(str(d.get("persona")))
            self._spin(f"{ph}: {who} working — {escape(str(d.get('reason', '')))}")
        elif k == "persona_finished":
            name = escape(str(d.get("persona")))
            files = d.get("files_changed") or []
            took = f"{d.get('duration_s', 0.0):.1f}s"
            if d.get("skipped"):
                self._line(f"  [dim]{name}: skipped: {escape(str(d['skipped']))}[/]")
            elif d.get("ok"):
                self._line(f"  {name}: done in {took}, {len(files)} file(s) changed")
            else:
                self._line(f"  [red]{name}: failed after {took}: {escape(str(d.get('error')))}[/]")
            self._spin(f"{ph}: working")
        elif k == "gate_scored" and d.get("source") != "run_gates":
            verdict = "[green]passed[/]" if d.get("passed") else "[red]failed[/]"
            what = "re-evaluated: gate" if d.get("reevaluation") else "gate"
            self._line(
                f"{ph}: {what} {d.get('score', 0):.2f} / threshold {d.get('threshold', 0):.2f} "
                f"{verdict}, {d.get('findings_count', 0)} finding(s)"
            )
        elif k in ("phase_completed", "phase_stalled", "phase_blocked", "phase_regressed"):
            status = str(d.get("status", ""))
            style = _STATUS_STYLE.get(status, "")
            msg = escape(str(d.get("message", "")))
            self._line(
                f"[{style}]{ph}: {status}[/] — {msg}" if msg else f"[{style}]{ph}: {status}[/]"
            )
        elif k == "checkpoint_recovered":
            self._line(f"[yellow]checkpoint recovered from {escape(str(d.get('source')))}[/]")


# -- driving the executor -------------------------------------------------------------
def _run_with_signals(
    executor: Executor, action: Callable[[Executor], Awaitable[SessionState]], err: Console
) -> SessionState | None:
    """Run ``action`` on a fresh event loop. First Ctrl-C: stop after the current step;
    second Ctrl-C or SIGTERM: cancel now (the executor still writes a checkpoint).
    Returns None when the run was cancelled."""
    import asyncio
    import signal

    async def main() -> SessionState:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        hits = 0

        def on_sigint() -> None:
            nonlocal hits
            hits += 1
            if hits == 1:
                executor.stop()
                err.print(
                    "[yellow]stopping after the current step (Ctrl-C again to stop now)[/]",
                    highlight=False,
                )
            else:
                task.cancel()

        installed = []
        for sig, handler in ((signal.SIGINT, on_sigint), (signal.SIGTERM, task.cancel)):
            try:
                loop.add_signal_handler(sig, handler)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread, or no signal support: Ctrl-C raises instead
        try:
            return await action(executor)
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    try:
        return asyncio.run(main())
    except (asyncio.CancelledError, KeyboardInterrupt):
        return None


def execute(
    workspace: Path,
    fmt: str,
    action: Callable[[Executor], Awaitable[SessionState]] | None,
    *,
    max_phase_iterations: int | None = None,
    max_global_iterations: int | None = None,
    trusted: bool = True,
    session_id: str | None = None,
    requirement: str | None = None,
) -> int:
    """Check the state folder, load the workspace, run ``action`` (resume...) and print
    the outcome; with a ``requirement`` instead, start a session for it (``session_id``
    names it): the session begins (its checkpoint written) before the engine is loaded.
    ``trusted=False`` runs no persona or check that runs workspace code. Returns the exit
    code."""
    from phasegate.proc import kill_leftovers
    from phasegate.statedir import StateDirError, check_state_dir
    from phasegate.store import CheckpointRecovered, SessionStore, StoreError

    root = workspace.resolve()
    try:
        check_state_dir(root, session_id)
    except StateDirError as exc:
        return error(str(exc))
    stopped = kill_leftovers(root)
    if stopped:
        click.echo(
            f"stopped {len(stopped)} process(es) an earlier phasegate left running in this "
            f"workspace (pids {', '.join(map(str, stopped))})",
            err=True,
        )
    store = SessionStore(root)
    begun = None
    if requirement is not None:
        # The session exists (listed, resumable) before the configuration models, the
        # executor, the runner and the check plugins are even imported; an invalid
        # configuration found right after removes it again.
        from phasegate.session_begin import BeginError, begin_session, read_settings

        settings = read_settings(root)
        if settings is not None:
            try:
                begun = begin_session(store, settings, requirement, session_id)
            except (BeginError, StoreError) as exc:
                return error(str(exc))
    from phasegate.config_loader import ConfigError, load

    try:
        loaded = load(root)
    except ConfigError as exc:
        if begun is not None:
            from phasegate.session_begin import discard_begun

            discard_begun(store, begun)
        for issue in exc.issues:
            click.echo(str(issue), err=True)
        return error(f"{len(exc.issues)} configuration error(s)")
    print_warnings(loaded.warnings)
    config = loaded.config
    updates: dict[str, Any] = {}
    if max_phase_iterations is not None:
        updates["max_phase_iterations"] = max_phase_iterations
    if max_global_iterations is not None:
        updates["max_global_iterations"] = max_global_iterations
    if updates:
        config = config.model_copy(update=updates)
    if requirement is not None:
        if begun is None:  # a configuration plain TOML could not read, and yet valid
            from phasegate.session_begin import SessionSettings

            try:
                begun = begin_session(store, SessionSettings.of(config), requirement, session_id)
            except (BeginError, StoreError) as exc:
                return error(str(exc))
        began = begun
        action = lambda ex: ex.start_begun(began)  # noqa: E731
    assert action is not None
    from rich.console import Console

    from phasegate.commands._progress import progress_wanted
    from phasegate.executor import Executor, ExecutorError
    from phasegate.workspace import Workspace

    err = Console(stderr=True, highlight=False)
    progress = Progress(err, live=progress_wanted())
    workspace_ = Workspace(root)
    runner = None
    if progress.live:  # a runner that says which check runs, for the status line
        from phasegate.cache import ResultCache
        from phasegate.commands._progress import ObservedRunner

        runner = ObservedRunner(
            workspace_, config, trusted, cache=ResultCache(workspace_.state_dir / "cache")
        )
        runner.observer = progress
    executor = Executor(
        workspace_, config, store, trusted=trusted, runner=runner, on_event=progress.on_event
    )
    try:
        with progress:
            state = _run_with_signals(executor, action, err)
    except CheckpointRecovered as exc:
        return error(str(exc))
    except (StoreError, ExecutorError) as exc:
        return error(str(exc))
    finally:
        executor.close()
    if state is None:
        state = executor.state or (begun.state if begun is not None else None)
        if state is None:
            return error("interrupted before the session started")
        state.status = SessionStatus.STOPPED
    gates = {**{p.name: p.last_gate for p in state.phases if p.last_gate}, **executor.last_gates}
    emit(state, gates, root, fmt, config)
    if state.status is SessionStatus.STOPPED:
        click.echo(
            f"stopped; the checkpoint is saved: `phasegate resume {state.id}` continues", err=True
        )
    return exit_code(state)


# -- rendering ------------------------------------------------------------------------
def _titles(config: Config | None) -> dict[str, str]:
    return {p.name: p.display for p in config.phases} if config else {}


def render_session(
    console: Console,
    state: SessionState,
    gates: dict[str, GateResult],
    root: Path,
    config: Config | None = None,
    rechecks: dict[str, Recheck] | None = None,
) -> None:
    """The phase table, the failing checks' findings and a summary line. ``rechecks``
    (``status`` only) override the recorded gate and status of completed phases that
    fail now, and add a note to those the cache cannot tell about."""
    from rich.markup import escape

    from phasegate.commands._output import render_findings
    from phasegate.commands._table import print_table
    from phasegate.recheck import shown_status

    titles = _titles(config)
    rechecks = rechecks or {}
    gates = {**gates, **{n: r.gate for n, r in rechecks.items() if r.gate is not None}}
    rows = []
    for ps in state.phases:
        gate = gates.get(ps.name)
        score = gate.score if gate else ps.last_score
        thr = gate.threshold if gate else ps.last_threshold
        recheck = rechecks.get(ps.name)
        note = recheck.note if recheck is not None else ps.message
        rows.append(
            [
                titles.get(ps.name, ps.name),
                shown_status(ps.status, recheck),
                "-" if score is None else f"{score:.2f}",
                "-" if thr is None else f"{thr:.2f}",
                str(ps.persona_iterations),
                note,
            ]
        )
    print_table(
        console,
        ["Phase", "Status", "Score", "Threshold", "Iterations", "Note"],
        rows,
        title=f"session {state.id} — {state.status.value}",
        right={2, 3, 4},
        no_wrap=2,
        styles={1: _STATUS_STYLE},
    )
    labels = {g.new_code for g in gates.values() if g.new_code}
    if labels:
        console.print(
            f"new code {escape(', '.join(sorted(labels)))}: findings there before are "
            "marked (unchanged) and never block",
            highlight=False,
        )
    elif state.new_code_since:
        console.print(f"new code since the session's start ({state.new_code_since[:10]})")
    failing = []
    for ps in state.phases:
        gate = gates.get(ps.name)
        if gate is None:
            continue
        checks = [c for c in gate.checks if not c.passed or c.error or c.skipped]
        if checks:
            failing.append(gate.model_copy(update={"checks": checks}))
    if failing:
        console.print()
        render_findings(console, failing, root)
    console.print()
    console.print(summary_line(state, rechecks), highlight=False, soft_wrap=True)


def summary_line(state: SessionState, rechecks: dict[str, Recheck] | None = None) -> str:
    from rich.markup import escape

    st = state.status
    rechecks = rechecks or {}
    regressed = [n for n, r in rechecks.items() if r.status == "regressed"]
    if regressed:
        return (
            f"[yellow]session {state.id}: {escape(', '.join(regressed))} completed earlier and "
            f"fails now (not recorded yet); fix the findings and run "
            f"`phasegate resume {state.id}`[/]"
        )
    if st is SessionStatus.COMPLETED:
        line = f"[green]session {state.id} completed: every phase passed its gate[/]"
        for name, r in rechecks.items():
            line += f"\n{escape(name)}: {escape(r.note)}"
            if r.changed:
                line += (
                    f"; run `phasegate validate` or `phasegate resume {state.id}` to know "
                    "whether it still passes"
                )
        return line
    waiting = [p for p in state.phases if p.status.value in ("stalled", "blocked", "regressed")]
    if st is SessionStatus.WAITING and waiting:
        names = ", ".join(f"{p.name} ({p.status.value})" for p in waiting)
        return (
            f"[yellow]session {state.id} waits for a person: {escape(names)}; fix the findings "
            f"and run `phasegate resume {state.id}`[/]"
        )
    return f"session {state.id} {st.value}; `phasegate resume {state.id}` continues"


def session_to_json(
    state: SessionState,
    gates: dict[str, GateResult],
    root: Path,
    rechecks: dict[str, Recheck] | None = None,
) -> dict[str, Any]:
    """``{"workspace", "session", "gates"}``. Each gate carries ``gate`` (passed/failed),
    ``status`` (the status shown: ``regressed`` for a completed phase that fails now),
    ``recorded_status`` (the checkpoint's) and ``changed`` (the checks whose inputs
    changed since the cache last saw them, for completed phases; ``status`` only)."""
    from phasegate.commands._output import gates_to_json
    from phasegate.recheck import shown_status

    rechecks = rechecks or {}
    gates = {**gates, **{n: r.gate for n, r in rechecks.items() if r.gate is not None}}
    session = state.model_dump(mode="json", exclude={"phases": {"__all__": {"last_gate"}}})
    ordered = [gates[p.name] for p in state.phases if p.name in gates]
    phases = gates_to_json(root, ordered)["phases"]
    by_name = {p.name: p for p in state.phases}
    for ph in phases:
        ph["gate"] = ph.pop("status")
        ps = by_name.get(ph["name"])
        recheck = rechecks.get(ph["name"])
        ph["status"] = shown_status(ps.status, recheck) if ps is not None else ""
        ph["recorded_status"] = ps.status.value if ps is not None else ""
        ph["changed"] = list(recheck.changed) if recheck is not None else []
        if recheck is not None:
            ph["note"] = recheck.note
    return {"workspace": str(root), "session": session, "gates": phases}


def emit(
    state: SessionState,
    gates: dict[str, GateResult],
    root: Path,
    fmt: str,
    config: Config | None = None,
    rechecks: dict[str, Recheck] | None = None,
) -> None:
    if fmt == "json":
        click.echo(json.dumps(session_to_json(state, gates, root, rechecks), indent=2))
    else:
        from rich.console import Console

        render_session(Console(highlight=False), state, gates, root, config, rechecks)


def render_sessions(console: Console, infos: list[SessionInfo]) -> None:
    from phasegate.commands._table import plain_output, print_table

    if not infos:
        console.print("no sessions; start one with `phasegate run --requirement TEXT`")
        return
    plain = plain_output(console)  # off a terminal, a requirement is never shortened
    rows = []
    for s in infos:
        req = s.requirement
        if not plain and len(req) > 60:
            req = req[:57] + "..."
        rows.append(
            [
                "*" if s.active else "",
                s.id,
                s.status,
                s.current_phase or "-",
                time.strftime("%Y-%m-%d %H:%M", time.localtime(s.updated_at)),
                s.error or req,
            ]
        )
    print_table(
        console,
        ["", "Session", "Status", "Phase", "Updated", "Requirement"],
        rows,
        no_wrap=5,
        styles={2: _STATUS_STYLE},
    )


def is_waiting(status: PhaseStatus) -> bool:
    return status in (PhaseStatus.STALLED, PhaseStatus.BLOCKED, PhaseStatus.REGRESSED)
