"""Long-running work on behalf of the client: sessions, rework, remediation, gate runs.

One long command runs at a time. It runs on the event loop as a task (the executor is
async; its checks and personas run in threads), reports work-done progress with a
message per executor event, and stops on ``$/cancelRequest``, on
``window/workDoneProgress/cancel`` or on ``phasegate.stopSession``: the executor is asked
to stop, the subprocesses it started are killed (:class:`phasegate.proc.CancelToken`)
and the task is cancelled, which leaves a resumable checkpoint. Afterwards every check
is verified against the cache and the diagnostics and status are republished.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pygls.exceptions import JsonRpcException

from phasegate.lsp.progress import WorkDone
from phasegate.lsp.trust import RequestFailed
from phasegate.model import Event, SessionState
from phasegate.proc import CancelToken, cancel_scope

STOP_GRACE = 2.0  # seconds a stopped command gets to reach a checkpoint by itself

if TYPE_CHECKING:
    from phasegate.executor import Executor
    from phasegate.lsp.core import PhasegateServer
    from phasegate.store import SessionStore


def describe(ev: Event) -> str:
    """A one-line progress message for an executor event."""
    d = ev.data
    phase = ev.phase or ""
    kind = ev.kind
    if kind == "persona_started":
        return f"{phase}: {d.get('persona', '')} working (iteration {d.get('iteration', '?')})"
    if kind == "persona_finished":
        return f"{phase}: {d.get('persona', '')} finished"
    if kind == "gate_scored":
        score, thr = d.get("score"), d.get("threshold")
        if isinstance(score, (int, float)) and isinstance(thr, (int, float)):
            verdict = "passed" if d.get("passed") else "failed"
            return f"{phase}: gate {verdict} ({score:.2f} / {thr:.2f})"
        return f"{phase}: gate scored"
    if kind == "phase_started":
        return f"{phase}: started"
    if kind == "entry_gate":
        return f"{phase}: entry gate " + ("passed" if d.get("passed") else "not met")
    if kind.startswith("phase_"):
        return f"{phase}: {kind.removeprefix('phase_')}"
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
        self.server.status_changed()

    def report(self, message: str) -> None:
        """Progress message from any thread."""
        loop = self.server.loop
        if loop is not None and self._progress is not None:
            progress = self._progress
            loop.call_soon_threadsafe(progress.report, message)

    # -- running --------------------------------------------------------------------------
    async def run(
        self,
        name: str,
        title: str,
        body: Callable[[WorkDone], Awaitable[None]],
        *,
        refresh_after: bool = True,
    ) -> None:
        """Run ``body`` as the one long command; refresh the results afterwards (after a
        stop, only the in-process checks, without waiting). An engine error raised by
        ``body`` is answered as a RequestFailed carrying its message."""
        if self.running is not None:
            raise RequestFailed(
                f"{self.running} is still running; wait for it or stop it (phasegate.stopSession)"
            )
        self.running = name
        self._task = asyncio.current_task()
        self._msg_id = self.server.protocol.msg_id
        self._token = CancelToken()
        self._stopped_by_user = False
        self.server.status_changed()
        try:
            async with WorkDone(self.server, title, on_cancel=self._cancel_from_client) as progress:
                self._progress = progress
                try:
                    with cancel_scope(self._token):
                        await body(progress)
                except JsonRpcException:
                    raise
                except asyncio.CancelledError:
                    if not self._stopped_by_user:
                        self.server.refresh_soon(workspace_code=False)
                        raise
                    task = asyncio.current_task()
                    if task is not None and hasattr(task, "uncancel"):
                        task.uncancel()
                except Exception as exc:  # the engine's errors reach the client as such
                    raise RequestFailed(str(exc) or type(exc).__name__) from None
                if self._stopped_by_user:
                    self.server.refresh_soon(workspace_code=False)
                elif refresh_after:
                    progress.report("updating diagnostics")
                    await self.server.refresh(title=None)
        finally:
            if self._executor is not None:
                self._executor.close()
            self.running = None
            self._task = None
            self._msg_id = None
            self._token = None
            self._progress = None
            self.server.status_changed()

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
