"""The server object: its state, and the editor face of the live core.

The workspace's lifecycle (load, verify, follow changes, reload the configuration) is
:class:`phasegate.live.core.LiveCore`'s; the server tells it about the workspace and the
changes the client reports, and turns what it hears back (:class:`_EditorListener`) into
diagnostics, log messages, the status notification and the traceability index.

The features are registered on it by :mod:`phasegate.lsp.server`.

Custom messages: notification ``phasegate/status`` (server -> client) and request
``phasegate/stats`` (client -> server: run counts, latency of the loop, memory).

The server reads its input with :mod:`phasegate.lsp.transport`, not with pygls' loop:
every request is answered, also a malformed one, and an input that can no longer be
read as messages ends the server with exit code 2 (docs/lsp-protocol.md, "Malformed
input").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from lsprotocol import types
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from phasegate import __version__
from phasegate.live.core import Level, LiveCore
from phasegate.live.engine import Engine
from phasegate.live.scheduler import Scheduler
from phasegate.lsp.diagnostics import Diagnostics, register_pull
from phasegate.lsp.progress import BackgroundProgress, WorkDone
from phasegate.lsp.sessions import Sessions
from phasegate.lsp.settings import Settings, parse_settings
from phasegate.lsp.stats import LoopMonitor, rss_bytes
from phasegate.lsp.status import build_status
from phasegate.lsp.traceability import TraceIndex
from phasegate.lsp.transport import (
    EXIT_CORRUPT_INPUT,
    ByteReader,
    StdioReader,
    StreamByteReader,
    StrictProtocol,
    serve_stream,
)
from phasegate.lsp.watch import Watcher

log = logging.getLogger(__name__)

STATUS_NOTIFICATION = "phasegate/status"
STATS_REQUEST = "phasegate/stats"
STATUS_THROTTLE = 0.05  # seconds between two status notifications at most
# Requests that need the workspace (commands, code actions, hover…) arriving before the
# initial load wait for it this long at most.
STARTUP_WAIT = 60.0
# After a framing error, how long the server's work gets to stop before it exits.
STOP_WAIT = 5.0


class PhasegateProtocol(StrictProtocol):
    """Answers every request (see :mod:`phasegate.lsp.transport`); also stops the long
    command whose request the client cancels."""

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        super()._handle_cancel_notification(msg_id)
        server = self._server
        if isinstance(server, PhasegateServer):
            server.sessions.cancel_request(msg_id)


_LEVELS = {
    "info": types.MessageType.Info,
    "warning": types.MessageType.Warning,
    "error": types.MessageType.Error,
}


class _EditorListener:
    """What the live core says, as the editor shows it."""

    def __init__(self, server: PhasegateServer) -> None:
        self.server = server

    def show(self, paths: set[str]) -> None:
        if self.server.first_publish_s is None:
            self.server.first_publish_s = time.monotonic() - self.server._started
        self.server.diagnostics.update(paths)

    def status_changed(self) -> None:
        self.server.status_changed()

    def message(self, text: str, level: Level) -> None:
        self.server.log(text, _LEVELS[level])

    def files_changed(self, paths: set[str]) -> None:
        self.server.trace.update(paths)

    def results_reset(self) -> None:
        self.server.trace.reset()


class PhasegateServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("phasegate", __version__, protocol_cls=PhasegateProtocol, max_workers=4)
        self.settings = Settings()
        self.core = LiveCore(_EditorListener(self), self.settings)
        self.diagnostics = Diagnostics(self)
        self.sessions = Sessions(self)
        self.watcher = Watcher(self)
        self.trace: TraceIndex = TraceIndex(Engine(Path.cwd(), self.settings))
        self.loop: asyncio.AbstractEventLoop | None = None
        self.monitor = LoopMonitor()
        self._status_last: str | None = None
        self._status_timer: asyncio.TimerHandle | None = None
        self.status_count = 0
        self.ready = False
        self._loaded = asyncio.Event()  # set once the initial load is over (ok or not)
        self.first_publish_s: float | None = None
        self._started = time.monotonic()
        self.input_problem: str | None = None  # why the input could not be read
        self._background: set[asyncio.Task[None]] = set()  # progress of background work

    @property
    def engine(self) -> Engine | None:
        """The workspace's engine objects (None without a workspace folder)."""
        return self.core.engine

    @property
    def scheduler(self) -> Scheduler:
        return self.core.scheduler

    # -- transport ------------------------------------------------------------------------
    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve on stdin/stdout until the input ends or ``exit``. Exits the process
        (``SystemExit``) with the LSP's code for ``exit`` (0 after ``shutdown``, else 1),
        or :data:`~phasegate.lsp.transport.EXIT_CORRUPT_INPUT` when the input could not
        be read as messages."""
        self._stop_event = threading.Event()
        reader = StdioReader(stdin or sys.stdin.buffer, self.thread_pool)
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        self._finish(lambda: asyncio.run(self._serve(reader)))

    def start_tcp(self, host: str, port: int) -> None:
        """Serve one client on a TCP port (see :meth:`start_io` for how it ends)."""
        self._stop_event = threading.Event()

        async def connection(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            self.protocol.set_writer(w)
            await self._serve(StreamByteReader(r))
            self.shutdown()  # type: ignore[no-untyped-call]  # pygls

        async def main() -> None:
            server = await asyncio.start_server(connection, host, port)
            self._server = server
            log.info("serving on %s:%s", host, port)
            async with server:
                await server.serve_forever()

        self._finish(lambda: asyncio.run(main()))

    async def _serve(self, reader: ByteReader) -> None:
        assert self._stop_event is not None
        assert isinstance(self.protocol, StrictProtocol)
        problem = await serve_stream(reader, self.protocol, self._stop_event)
        if problem is None:
            return
        self.input_problem = problem
        message = (
            f"phasegate: unreadable input from the client ({problem}); the server exits "
            f"with code {EXIT_CORRUPT_INPUT} so that the client can restart it"
        )
        log.error(message)
        self.log(message, types.MessageType.Error)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.stop_all(), STOP_WAIT)

    def _finish(self, run: Callable[[], object]) -> None:
        code: int | str | None = 0
        try:
            run()
        except BrokenPipeError:
            log.error("the connection to the client is lost: shutting down")
        except asyncio.CancelledError:
            pass  # the TCP server was closed
        except KeyboardInterrupt:
            pass
        except SystemExit as exc:  # ``exit`` (pygls swallows its code)
            code = exc.code
        finally:
            self.shutdown()  # type: ignore[no-untyped-call]  # pygls
        if self.input_problem is not None:
            code = EXIT_CORRUPT_INPUT
        if code:
            raise SystemExit(code)

    # -- helpers --------------------------------------------------------------------------
    def log(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        log.info(message)
        with contextlib.suppress(Exception):
            self.window_log_message(types.LogMessageParams(type=kind, message=message))

    def warn_user(self, message: str) -> None:
        with contextlib.suppress(Exception):
            self.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Warning, message=message)
            )

    async def wait_loaded(self, timeout: float = STARTUP_WAIT) -> bool:
        """Wait until the workspace's initial load (config, cached results) is over.

        Requests can arrive right after ``initialized``, while the config is still being
        read: they wait for it (at most ``timeout`` seconds) instead of failing. True when
        loaded."""
        if self.ready:
            return True
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._loaded.wait(), timeout)
        return self.ready

    def status_changed(self) -> None:
        """Something the status shows may have changed: push it soon (throttled)."""
        if self.loop is None or self._status_timer is not None or not self.ready:
            return
        self._status_timer = self.loop.call_later(STATUS_THROTTLE, self.push_status)

    def push_status(self) -> None:
        self._status_timer = None
        status = build_status(self)
        raw = json.dumps(status, sort_keys=True)
        if raw == self._status_last:
            return
        self._status_last = raw
        self.status_count += 1
        self.protocol.notify(STATUS_NOTIFICATION, status)

    # -- workspace lifecycle ----------------------------------------------------------------
    def open_workspace(self, params: types.InitializeParams) -> None:
        self.settings = parse_settings(params.initialization_options)
        root: str | None = None
        if params.workspace_folders:
            root = to_fs_path(params.workspace_folders[0].uri)
        elif params.root_uri:
            root = to_fs_path(params.root_uri)
        elif params.root_path:
            root = params.root_path
        self.core.options = self.settings
        if root:
            self.trace = TraceIndex(self.core.open(Path(root), self.settings))
        mode = self.diagnostics.choose_mode(params.capabilities, self.settings.diagnostics_mode)
        if mode == "pull":
            register_pull(self)

    async def start(self) -> None:
        """After ``initialized``: load the config, republish, watch, verify."""
        self.loop = asyncio.get_running_loop()
        self.monitor.start()
        for w in self.settings.warnings:
            self.log(w, types.MessageType.Warning)
        eng = self.engine
        if eng is None:
            self.log("no workspace folder: phasegate has nothing to check")
            self._set_loaded()
            return
        if not self.settings.trusted:
            self.log(
                "untrusted workspace: checks that run workspace code are skipped; "
                "in-process checks run"
            )
        try:
            await self.core.load()
            await self._initial_results()
        except Exception as exc:  # keep serving: commands and later saves can still work
            log.exception("starting up failed")
            self.log(f"phasegate could not start up: {exc}", types.MessageType.Error)
        finally:
            self._set_loaded()
        self.push_status()
        kind = await self.watcher.start()
        sock = await self.core.serve_local()  # the agent hook asks here rather than alone
        self.log(
            f"phasegate {__version__}: diagnostics {self.diagnostics.mode}, watching: {kind}"
            + (f", answering agent hooks on {sock}" if sock is not None else "")
        )

    def _set_loaded(self) -> None:
        self.ready = True
        self._loaded.set()

    async def _initial_results(self) -> None:
        """Open fast, then fill in: the in-process findings of the documents the editor
        shows first; then the last findings of everything from the cache; then every
        check verified in the background (with work-done progress), the per-file checks
        across all cores, the project checks after them."""
        docs = list(self.core.documents)
        jobs = self.core.focus(docs)
        if jobs:  # the first: the per-file checks of the documents shown
            await self.scheduler.wait_jobs(jobs[:1])
        await self.core.republish_cached(keep=set(docs))
        # the project checks that judged the documents alone (ruff on those files), before
        # the whole runs that would supersede them
        await self.scheduler.wait_jobs(jobs[1:])
        progress = BackgroundProgress(self, "phasegate: analysing the workspace")
        await self.core.verify_on_open(progress)
        if self.scheduler.busy and self.loop is not None:
            task = self.loop.create_task(progress.show_until(self.core.idle()))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    def documents_opened(self, rels: list[str]) -> None:
        """The editor shows these documents: their findings first (see
        :meth:`LiveCore.open_documents`)."""
        self.core.open_documents(rels)

    def documents_closed(self, rels: list[str]) -> None:
        self.core.close_documents(rels)

    async def refresh(
        self,
        phases: list[str] | None = None,
        progress: WorkDone | None = None,
        title: str | None = None,
    ) -> None:
        """Verify every check (of ``phases``) against its inputs and wait for the results."""
        eng = self.engine
        if eng is None or eng.live is None:
            return
        if title is not None:
            async with WorkDone(self, title, cancellable=False) as wd:
                await self.core.refresh(phases, wd)
            return
        await self.core.refresh(phases, progress)

    def refresh_soon(self, *, workspace_code: bool = True) -> None:
        """Verify every check in the background (without the checks that run workspace
        code when ``workspace_code`` is false, e.g. after a stop)."""
        self.core.refresh_soon(workspace_code=workspace_code)

    def stats(self) -> dict[str, Any]:
        eng = self.engine
        live = eng.live if eng else None
        return {
            **self.scheduler.stats(),
            # busy until the diagnostics of what ran are pushed too
            "busy": self.scheduler.busy or self.diagnostics.pending,
            "checkExecutions": live.check_executions if live else 0,
            "resultsVersion": live.version if live else 0,
            "publishCount": self.diagnostics.publish_count,
            "statusCount": self.status_count,
            "diagnosticsMode": self.diagnostics.mode,
            "watch": self.watcher.kind,
            "trusted": self.settings.trusted,
            "files": len(eng.workspace.files())
            if eng and eng.workspace._files is not None
            else None,
            "loopLagMaxMs": round(self.monitor.max_lag * 1000, 3),
            "loopLagP99Ms": round(self.monitor.p99() * 1000, 3),
            # where the loop's thread was in its worst stall (longer than stats.STALL)
            "loopStallStack": self.monitor.worst_stack,
            "rssBytes": rss_bytes(),
            "firstPublishS": self.first_publish_s,
            "ready": self.ready,
            # whole-workspace analysis: False over maxEagerFiles until asked
            "wholeWorkspace": self.core.whole_workspace,
            "checkWorkers": len(self.scheduler.processes.pids()),
            "checkWorkerBatches": self.scheduler.processes.batches,
        }

    async def stop_all(self) -> None:
        self.sessions.close()
        self.core.close()  # stops the checks, writes the result cache
        self.monitor.stop()
        await self.watcher.stop()
