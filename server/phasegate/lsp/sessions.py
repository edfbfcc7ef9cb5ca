"""Long-running work on behalf of the client: sessions, rework, remediation, gate runs.

One long command runs at a time. It runs on the event loop as a task (the executor is
async; its checks and personas run in threads), reports work-done progress with a
message per executor event, and stops on ``$/cancelRequest``, on
``window/workDoneProgress/cancel`` or on ``phasegate.stopSession``: the executor is asked
to stop, the subprocesses it started are killed (:class:`phasegate.proc.CancelToken`)
and the task is cancelled, which leaves a resumable checkpoint. Afterwards every check
is verified against the cache and the diagnostics and status are republished.

Every step is also logged in words (``window/logMessage``: the editor's output), a
persona that fails as a warning with its reason; when the command ends, its outcome
(:func:`phasegate.lsp.status.last_run`) becomes the status object's ``lastRun``.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from phasegate.lsp.progress import WorkDone
from phasegate.lsp.status import finding_ids, last_run
from phasegate.lsp.trust import RequestFailed
from phasegate.model import Event, PersonaRun, SessionState
from phasegate.proc import CancelToken, cancel_scope

STOP_GRACE = 2.0  # seconds a stopped command gets to reach a checkpoint by itself

if TYPE_CHECKING:
    from phasegate.executor import Executor
    from phasegate.live.results import LiveResults
    from phasegate.live.scheduler import Progress
    from phasegate.lsp.core import PhasegateServer
    from phasegate.store import SessionStore

# What the long commands are called in the log (the server's command names otherwise).
COMMAND_WORDS = {
    "startSession": "session",
    "resumeSession": "resumed session",
    "validate": "validate",
    "runGates": "run gates",
    "remediate": "remediation",
    "rework": "rework",
}


def first_line(text: str, limit: int = 200) -> str:
    """The first non-empty line of ``text``, shortened to ``limit`` characters."""
    line = next((x.strip() for x in text.splitlines() if x.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def persona_reason(error: str, persona: str = "") -> str:
    """A persona's error in one line: its first line, and the program's last words
    ("python3 exited with code 1: No module named ruff"); the persona's name in front,
    which the error may carry, is left out."""
    lines = [x.strip() for x in error.splitlines() if x.strip()]
    if not lines:
        return "failed"
    head = lines[0].rstrip(":")
    if persona and head.startswith(f"{persona}: "):
        head = head[len(persona) + 2 :]
    if len(lines) > 1:
        head = f"{head}: {lines[-1]}"
    return first_line(head, 300)


def describe(ev: Event) -> str:
    """A one-line progress message for an executor event."""
    d = ev.data
    phase = ev.phase or ""
    kind = ev.kind
    if kind == "persona_started":
        return f"{phase}: {d.get('persona', '')} working (iteration {d.get('iteration', '?')})"
    if kind == "persona_finished":
        persona = d.get("persona", "")
        if d.get("skipped"):
            return f"{phase}: {persona} not run: {d.get('skipped')}"
        if d.get("ok") is False:
            reason = persona_reason(str(d.get("error") or ""), persona)
            return f"{phase}: {persona} failed: {reason}"
        changed = d.get("files_changed") or []
        what = f"{len(changed)} file(s) changed" if changed else "no file changed"
        return f"{phase}: {persona} finished ({what})"
    if kind == "gate_scored":
        score, thr = d.get("score"), d.get("threshold")
        if isinstance(score, (int, float)) and isinstance(thr, (int, float)):
            verdict = "passed" if d.get("passed") else "failed"
            return f"{phase}: gate {verdict} ({score:.2f} / {thr:.2f})"
        return f"{phase}: gate scored"
    if kind == "agent_waiting":
        gates = ", ".join(str(g) for g in d.get("gates") or []) or "the"
        return (
            f"{phase or gates}: the coding agent ({d.get('agent', '?')}) was let stop after "
            f"{d.get('blocks', '?')} refused stops while the {gates} gate failed; "
            "the work waits for a person"
        )
    if kind == "phase_started":
        return f"{phase}: started"
    if kind == "entry_gate":
        return f"{phase}: entry gate " + ("passed" if d.get("passed") else "not met")
    if kind in ("phase_stalled", "phase_blocked", "phase_completed", "phase_regressed"):
        message = d.get("message")
        return f"{phase}: {kind.removeprefix('phase_')}" + (f": {message}" if message else "")
    if kind.startswith("phase_"):
        return f"{phase}: {kind.removeprefix('phase_')}"
    if kind == "iteration_started":
        reason = str(d.get("reason") or "")
        if reason.startswith("iteration "):
            return f"{phase}: {reason}"
        return f"{phase}: iteration {d.get('iteration', '?')}" + (f": {reason}" if reason else "")
    if kind in ("session_started", "session_resumed"):
        return f"session {ev.session} {kind.removeprefix('session_')}"
    if kind in ("session_finished", "session_stopped"):
        waiting = d.get("waiting") or []
        tail = f" (waiting: {', '.join(waiting)})" if waiting else ""
        return f"session {ev.session} {d.get('status', kind.removeprefix('session_'))}{tail}"
    return kind.replace("_", " ")


class Sessions:
    def __init__(self, server: PhasegateServer) -> None:
        self.server = server
        self.running: str | None = None
        self._task: asyncio.Task[Any] | None = None
        self._msg_id: object = None
        self._token: CancelToken | None = None
        self._executor: Executor | None = None
        self._stopped_by_user = False
        self._progress: WorkDone | None = None
        self._peek: tuple[str, int, int, SessionState | None] | None = None
        # the outcome of the last long command (the status object's ``lastRun``)
        self.last_run: dict[str, Any] | None = None
        self._run_seq = 0
        self._failures: list[dict[str, Any]] = []

    # -- state ----------------------------------------------------------------------------
    def store(self) -> SessionStore:
        from phasegate.store import SessionStore

        eng = self.server.engine
        assert eng is not None
        return SessionStore(eng.root)

    def active_id(self) -> str | None:
        if self.server.engine is None:
            return None
        try:
            return self.store().get_active()
        except Exception:
            return None

    def state(self) -> SessionState | None:
        """The active session's state: the running executor's, else its checkpoint."""
        ex = self._executor
        sid = self.active_id()
        if ex is not None and ex.state is not None and (sid is None or ex.state.id == sid):
            return ex.state
        if sid is None:
            return None
        store = self.store()
        try:
            st = os.stat(store.checkpoint_path(sid))
        except (OSError, ValueError):
            return None
        if self._peek is not None and self._peek[:3] == (sid, st.st_mtime_ns, st.st_size):
            return self._peek[3]
        state = store.peek(sid)
        self._peek = (sid, st.st_mtime_ns, st.st_size, state)
        return state

    def executor(self) -> Executor:
        from phasegate.executor import Executor

        eng = self.server.engine
        assert eng is not None and eng.config is not None and eng.runner is not None
        self._executor = Executor(
            eng.workspace,
            eng.config,
            self.store(),
            trusted=self.server.settings.trusted,
            runner=eng.runner,
            on_event=self._on_event,
        )
        return self._executor

    def _on_event(self, ev: Event) -> None:
        # Called on the event loop by the executor (possibly from a thread: be safe).
        loop = self.server.loop
        if loop is None:
            return
        loop.call_soon_threadsafe(self._event_on_loop, ev)

    def _event_on_loop(self, ev: Event) -> None:
        msg = describe(ev)
        if self._progress is not None:
            self._progress.report(msg)
        failed = ev.kind == "persona_finished" and (
            ev.data.get("ok") is False or bool(ev.data.get("skipped"))
        )
        if failed:
            d = ev.data
            error = str(d.get("error") or "")
            self.persona_failed(
                ev.phase or "",
                str(d.get("persona", "")),
                d.get("iteration") if isinstance(d.get("iteration"), int) else None,
                error,
                skipped=str(d.get("skipped") or "") or None,
            )
        elif ev.kind != "checks_ran":
            self._log(msg)
        self.server.status_changed()

    def persona_failed(
        self,
        phase: str,
        persona: str,
        iteration: int | None,
        error: str,
        *,
        skipped: str | None = None,
        log: bool = True,
    ) -> None:
        """Record a persona run of the running command that failed (or was not run), and
        log it as a warning with its whole reason (unless ``log`` is false: said already)."""
        reason = f"not run: {skipped}" if skipped else persona_reason(error, persona)
        self._failures.append(
            {
                "phase": phase,
                "persona": persona,
                "iteration": iteration,
                "reason": reason,
                "error": skipped or error or "failed",
                "skipped": skipped is not None,
            }
        )
        detail = skipped or error or "failed"
        if log:
            self._log(
                f"{phase}: {persona} {'not run' if skipped else 'failed'}: {detail}", warn=True
            )

    def personas_failed(self, phase: str, iterations: Iterable[Iterable[PersonaRun]]) -> None:
        """Record the failed persona runs of a remediation's phase (iterations from 1);
        its progress messages logged them already."""
        for k, runs in enumerate(iterations, start=1):
            for run in runs:
                if run.skipped or not run.ok:
                    self.persona_failed(phase, run.persona, k, run.error or "", skipped=run.skipped)

    def _log(self, message: str, *, warn: bool = False) -> None:
        word = COMMAND_WORDS.get(self.running or "", self.running or "phasegate")
        kind = types.MessageType.Warning if warn else types.MessageType.Info
        self.server.log(f"{word}: {message}", kind)

    def report(self, message: str) -> None:
        """Progress message from any thread (also logged)."""
        loop = self.server.loop
        if loop is None:
            return
        loop.call_soon_threadsafe(self._report_on_loop, message)

    def _report_on_loop(self, message: str) -> None:
        if self._progress is not None:
            self._progress.report(message.strip())
        if self.running is not None:
            self._log(message.strip())

    # -- running --------------------------------------------------------------------------
    async def run(
        self,
        name: str,
        title: str,
        body: Callable[[WorkDone], Awaitable[None]],
        *,
        refresh_after: bool = True,
        phase: str | None = None,
    ) -> None:
        """Run ``body`` as the one long command; refresh the results afterwards (after a
        stop, only the in-process checks, without waiting). An engine error raised by
        ``body`` is answered as a RequestFailed carrying its message. Its outcome
        becomes :attr:`last_run` (``phase``: the phase the command is limited to)."""
        if self.running is not None:
            raise RequestFailed(
                f"{self.running} is still running; wait for it or stop it (phasegate.stopSession)"
            )
        self.running = name
        self._task = asyncio.current_task()
        self._msg_id = self.server.protocol.msg_id
        self._token = CancelToken()
        self._stopped_by_user = False
        self._failures = []
        started = time.time()
        before = self._finding_ids()
        result, error = "failed", None
        self._log("started" + (f" ({phase})" if phase else ""))
        self.server.status_changed()
        try:
            async with WorkDone(self.server, title, on_cancel=self._cancel_from_client) as progress:
                self._progress = progress
                try:
                    with cancel_scope(self._token):
                        await body(progress)
                except JsonRpcException as exc:
                    error = str(exc)
                    raise
                except asyncio.CancelledError:
                    if not self._stopped_by_user:  # the client cancelled its request
                        result = "stopped"
                        self.server.refresh_soon(workspace_code=False)
                        raise
                    task = asyncio.current_task()
                    if task is not None and hasattr(task, "uncancel"):
                        task.uncancel()
                except Exception as exc:  # the engine's errors reach the client as such
                    error = str(exc) or type(exc).__name__
                    raise RequestFailed(error) from None
                if self._stopped_by_user:
                    result = "stopped"
                    self.server.refresh_soon(workspace_code=False)
                else:
                    if refresh_after:
                        progress.report("updating diagnostics")
                        running = RunningChecks(self.server, progress)
                        try:
                            await self.server.core.refresh(None, running)
                        finally:
                            running.close()
                    result = "done"
        finally:
            if self._executor is not None:
                self._executor.close()
            self._finished(name, result, error, started, before, phase)
            self.running = None
            self._task = None
            self._msg_id = None
            self._token = None
            self._progress = None
            self.server.status_changed()

    def _finding_ids(self) -> set[str] | None:
        eng = self.server.engine
        if eng is None or eng.live is None:
            return None
        return finding_ids(eng.live)

    def _finished(
        self,
        name: str,
        result: str,
        error: str | None,
        started: float,
        before: set[str] | None,
        phase: str | None,
    ) -> None:
        """Record the command's outcome as :attr:`last_run` and log it."""
        self._run_seq += 1
        try:
            outcome = last_run(
                self.server,
                run_id=self._run_seq,
                command=name,
                result=result,
                error=error,
                started=started,
                before=before,
                failures=list(self._failures),
                phase=phase,
            )
        except Exception as exc:  # the outcome must never hide the command's own result
            outcome = {
                "id": self._run_seq,
                "command": name,
                "result": "failed" if error else result,
                "error": error or f"no outcome: {exc}",
                "summary": f"failed: {error}" if error else result,
                "personaFailures": list(self._failures),
            }
        self.last_run = outcome
        self._log(str(outcome.get("summary", result)), warn=result == "failed")

    def stop(self) -> bool:
        """Stop the running long command (True if there was one)."""
        if self.running is None:
            return False
        self._stopped_by_user = True
        self.server.scheduler.cancel_all()  # gate runs it started (validate, runGates)
        if self._executor is not None:
            self._executor.stop()  # cooperative: it checkpoints after the current step
        if self._token is not None:
            self._token.cancel()  # kills the programs it started
        task = self._task
        loop = self.server.loop
        if task is not None and loop is not None:
            # A step that does not end by itself (a network call) is cancelled after a grace.
            loop.call_later(STOP_GRACE, lambda: None if task.done() else task.cancel())
        return True

    def _cancel_from_client(self) -> None:
        """``window/workDoneProgress/cancel``: like stopSession."""
        self.stop()

    def cancel_request(self, msg_id: object) -> None:
        """``$/cancelRequest`` for the running command's request."""
        if self.running is not None and msg_id is not None and msg_id == self._msg_id:
            self.stop()
            self._stopped_by_user = False  # the client asked: the reply is "cancelled"
            if self._task is not None:
                self._task.cancel()

    def close(self) -> None:
        self.stop()
        if self._executor is not None:
            self._executor.close()

    # -- reports --------------------------------------------------------------------------
    async def write_report(self, fmt: str) -> Path:
        from phasegate.report import ReportError, write_report

        eng = self.server.engine
        assert eng is not None
        try:
            return await asyncio.to_thread(write_report, eng.root, None, fmt)
        except ReportError as exc:
            raise RequestFailed(str(exc)) from None


class RunningChecks:
    """Progress of a gate run that names what still runs ("TEST-PYTEST running") instead
    of counting checks: a count reaches its end long before the tests finish, because
    the tests run last and alone. Wraps the progress shown (a :class:`WorkDone`, or
    any :class:`~phasegate.live.scheduler.Progress`) and is given to the scheduler.

    The scheduler reports when results come in, but not for every job (a whole-workspace
    run of the per-file checks reports files, not results): while the scheduler is busy,
    what runs is also looked at every :data:`TICK` seconds. :meth:`close` stops that
    (call it when the progress ends)."""

    TICK = 0.25

    def __init__(
        self, server: PhasegateServer, progress: Progress, phases: list[str] | None = None
    ) -> None:
        self.progress = progress
        self.server = server
        self.phases = phases
        self.files = ""  # the scheduler's "n/total files" while per-file checks run whole
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        eng = server.engine
        self.live: LiveResults | None = None
        self._follow(eng.live if eng is not None else None, fresh=False)

    def _follow(self, live: LiveResults | None, *, fresh: bool) -> None:
        """Watch ``live``'s results; ``fresh``: rebuilt since the run started (a new
        new-code reference), so every result it gets is one of this run."""
        self.live = live
        checks = live.checks if live is not None else {}
        self.keys = [
            k for k, rc in checks.items() if self.phases is None or rc.phase in self.phases
        ]
        self.ids = {k: checks[k].config.id for k in self.keys}
        self.per_file = {k for k in self.keys if checks[k].cls.scope == "file"}
        results = live.results if live is not None and not fresh else {}
        self.start = {k: results.get(k) for k in self.keys}

    def report(self, message: str, percentage: int | None = None) -> None:
        if self._closed:
            return
        if message.endswith(" files"):
            self.files = message
        if not self._update():
            self.progress.report(message, percentage)
        self._arm()

    def _update(self) -> bool:
        """Report what still runs; False when it cannot be told (no live results)."""
        eng = self.server.engine
        if eng is not None and eng.live is not self.live:
            self._follow(eng.live, fresh=True)
        live = self.live
        if live is None or not self.keys:
            return False
        waiting = [k for k in self.keys if live.results.get(k) is self.start[k]]
        done = len(self.keys) - len(waiting)
        pct = int(100 * done / len(self.keys))
        if not waiting:
            self.progress.report(f"{done}/{len(self.keys)} checks done", pct)
            return True
        names = list(dict.fromkeys(self.ids[k] for k in waiting))
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        files = f", {self.files}" if self.files and self.per_file.intersection(waiting) else ""
        self.progress.report(f"{shown} running ({done}/{len(self.keys)} done{files})", pct)
        return True

    def _arm(self) -> None:
        loop = self.server.loop
        if self._timer is None and not self._closed and loop is not None:
            self._timer = loop.call_later(self.TICK, self._tick)

    def _tick(self) -> None:
        self._timer = None
        if self._closed:
            return
        self._update()
        if self.server.scheduler.busy:
            self._arm()

    def close(self) -> None:
        """The progress ends: report no more."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
