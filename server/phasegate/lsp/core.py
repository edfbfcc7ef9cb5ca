"""The server object: its state and the workspace lifecycle (open, refresh, reload).

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
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, BinaryIO

from lsprotocol import types
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from phasegate import __version__
from phasegate.lsp.diagnostics import Diagnostics, register_pull
from phasegate.lsp.engine import Engine
from phasegate.lsp.incremental import Scheduler, WorkItem
from phasegate.lsp.progress import WorkDone
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


class PhasegateServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("phasegate", __version__, protocol_cls=PhasegateProtocol, max_workers=4)
        self.settings = Settings()
        self.engine: Engine | None = None
        self.diagnostics = Diagnostics(self)
        self.scheduler = Scheduler(self)
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
        self._reload_lock: asyncio.Lock | None = None  # one configuration reload at a time
        self._tasks: set[asyncio.Task[None]] = set()

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
        if root:
            self.engine = Engine(Path(root), self.settings)
            self.trace = TraceIndex(self.engine)
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
            await asyncio.to_thread(eng.load_config)
            self._report_config()
            await self._initial_results()
        except Exception as exc:  # keep serving: commands and later saves can still work
            log.exception("starting up failed")
            self.log(f"phasegate could not start up: {exc}", types.MessageType.Error)
        finally:
            self._set_loaded()
        self.push_status()
        kind = await self.watcher.start()
        self.log(f"phasegate {__version__}: diagnostics {self.diagnostics.mode}, watching: {kind}")

    def _set_loaded(self) -> None:
        self.ready = True
        self._loaded.set()

    def _report_config(self) -> None:
        eng = self.engine
        if eng is None:
            return
        paths = {p.path for p in eng.problems if p.path}
        if eng.config_path:
            paths.add(eng.config_path)
        if eng.config_problems:
            self.log(f"{eng.config_path or 'configuration'} has errors", types.MessageType.Error)
        self._report_new_code()
        self.diagnostics.update(paths)

    def _report_new_code(self) -> None:
        """Log what new code is judged against, or why new-code mode is off."""
        eng = self.engine
        if eng is None:
            return
        for p in eng.new_code_problems:
            self.log(f"phasegate: {p.message}", types.MessageType.Warning)
        nc = eng.new_code
        if nc is not None:
            self.log(f"new code {nc.label}: inherited findings never block")

    async def _initial_results(self) -> None:
        """Republish the last findings from the cache at once, then verify what changed."""
        eng = self.engine
        assert eng is not None
        live = eng.live
        if live is None:
            return
        checks = list(live.checks.values())
        peeked = await asyncio.to_thread(lambda: [live.peek(rc) for rc in checks])
        dirty: set[str] = set()
        for c in peeked:
            if c is not None:
                dirty |= live.commit(c)
        self.diagnostics.update(dirty)
        if dirty:
            self.first_publish_s = time.monotonic() - self._started
        has_session = self.sessions.active_id() is not None
        if not has_session and not self.settings.run_on_open:
            return
        items: dict[str, WorkItem] = {}
        for rc in checks:
            if rc.cls.runs_workspace_code and not has_session:
                items[rc.key] = WorkItem(rc.key, "cached")
            else:
                items[rc.key] = WorkItem(rc.key, "full")
        self.scheduler.submit(items, "open")

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
        self._adopt_new_code()
        items = {
            k: WorkItem(k, "full")
            for k, rc in eng.live.checks.items()
            if phases is None or rc.phase in phases
        }
        if title is not None:
            async with WorkDone(self, title, cancellable=False) as wd:
                self.scheduler.submit(items, "refresh", progress=wd)
                await self.scheduler.idle()
            return
        self.scheduler.submit(items, "refresh", progress=progress)
        await self.scheduler.idle()

    def refresh_soon(self, *, workspace_code: bool = True) -> None:
        """Verify every check in the background (without the checks that run workspace
        code when ``workspace_code`` is false, e.g. after a stop)."""
        eng = self.engine
        if eng is None or eng.live is None:
            return
        rebuilt = self._adopt_new_code()
        items = {
            k: WorkItem(k, "full" if workspace_code or not rc.cls.runs_workspace_code else "cached")
            for k, rc in eng.live.checks.items()
            if rebuilt or workspace_code or not rc.cls.runs_workspace_code
        }
        self.scheduler.submit(items, "refresh")

    def _adopt_new_code(self) -> bool:
        """After a long command: the session executor (which shares the engine's runner)
        may have set a new-code reference of its own (a session started or resumed).
        When it is a different one, the live results are rebuilt for it; the files whose
        findings they showed are republished once the new results are in. True when
        rebuilt: every check must be run (or looked up) again."""
        eng = self.engine
        old_live = eng.live if eng is not None else None
        if eng is None or old_live is None:
            return False
        warned = {p.path for p in eng.new_code_problems if p.path}
        if not eng.adopt_new_code():
            return False
        nc = eng.new_code
        self.log(f"new code {nc.label}" if nc is not None else "new-code mode off")
        self.scheduler.cancel_all()
        stale = set(old_live.display_paths()) | warned
        self.trace.reset()
        self._after_idle(lambda: self.diagnostics.update(stale))
        self.status_changed()
        return True

    def _after_idle(self, then: Callable[[], None]) -> None:
        async def wait() -> None:
            await self.scheduler.idle()
            then()

        self._spawn(wait())

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def config_changed(self) -> None:
        """The config file changed on disk: reload it (in a thread: resolving new code
        runs git) and recompute everything if it is new. The scheduler counts as busy
        until the reload is done."""
        if self.engine is None:
            return
        self.scheduler.hold()

        async def reload() -> None:
            try:
                await self._reload_config()
            except Exception as exc:  # keep serving with the configuration in force
                log.exception("reloading the configuration failed")
                self.log(
                    f"phasegate could not reload the configuration: {exc}", types.MessageType.Error
                )
            finally:
                self.scheduler.release()
                self.status_changed()

        self._spawn(reload())

    async def _reload_config(self) -> None:
        if self._reload_lock is None:
            self._reload_lock = asyncio.Lock()
        async with self._reload_lock:  # a second change waits for the first reload
            eng = self.engine
            if eng is None:
                return
            before = {p.path for p in eng.problems if p.path}
            old_live = eng.live
            old_anchor = eng.anchor()
            old_new_code = eng.new_code_problems
            changed = await asyncio.to_thread(eng.load_config)
            after = {p.path for p in eng.problems if p.path}
            config = {eng.config_path} if eng.config_path else set()
            self.diagnostics.update(before | after | config)
            if not changed and eng.anchor() != old_anchor and eng.live is not None:
                changed = True  # findings about missing files move to the new config file
            if not changed:
                return
            self.log("configuration changed: re-running every check")
            if eng.new_code_problems != old_new_code or eng.new_code is not None:
                self._report_new_code()
            self.scheduler.cancel_all()
            stale = old_live.forget_all() if old_live is not None else set()
            self.diagnostics.update(stale)
            self.trace.reset()
            assert eng.live is not None
            self.scheduler.submit({k: WorkItem(k, "full") for k in eng.live.checks}, "config")
            self.status_changed()

    def paths_changed_hook(self, paths: set[str]) -> None:
        self.trace.update(paths)

    def stats(self) -> dict[str, Any]:
        eng = self.engine
        live = eng.live if eng else None
        return {
            **self.scheduler.stats(),
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
            "rssBytes": rss_bytes(),
            "firstPublishS": self.first_publish_s,
            "ready": self.ready,
        }

    async def stop_all(self) -> None:
        self.sessions.close()
        self.scheduler.close()
        self.monitor.stop()
        await self.watcher.stop()
        eng = self.engine
        if eng is not None:
            with contextlib.suppress(Exception):
                eng.cache.flush()
