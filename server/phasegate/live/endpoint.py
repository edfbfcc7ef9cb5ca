"""A live workspace answers short-lived processes on its local socket.

The agent hook runs after every edit an agent makes; starting Python, importing the
engine and reading the result cache from disk cost far more than judging one file. While
a process keeps the workspace live (the language server, ``phasegate watch``), it
listens on the workspace's socket (:mod:`phasegate.localsock`) and answers there, with
its engine already imported and its result cache in memory.

Requests (one JSON line each, see :mod:`phasegate.localsock`):

* ``{"op": "ping"}`` — ``{"pid", "root", "trusted", "answered", "busy"}``
  (``findings`` requests answered so far; whether the live process is checking);
* ``{"op": "findings", "paths": [...], "checks": [...] | null, "trusted": bool}`` —
  :func:`phasegate.query.findings_for_files` over the live engine's result cache, as
  :func:`phasegate.query.plain_findings`: exactly what the asker would compute alone.

The answer is computed from the workspace's configuration as it is on disk now (read
again when ``phasegate.toml``, ``pyproject.toml`` or ``.gitignore`` changed), not from
the configuration the live results were built with, so that it never differs from the
asker's own. A request is refused (the asker then answers alone) when it comes from
other code (a ``code`` stamp that differs: phasegate was upgraded), for another root, or
with another trust than this process's. One request is answered at a time, in a worker
thread: the event loop (diagnostics, the editor) never waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phasegate import localsock

if TYPE_CHECKING:
    from phasegate.config import Config
    from phasegate.live.engine import Engine

log = logging.getLogger(__name__)

READ_TIMEOUT = 5.0  # seconds a client has to send its request
CONFIG_FILES = ("phasegate.toml", "pyproject.toml", ".gitignore")


class Refused(Exception):
    """The request is not answered here: ``str(exc)`` says why."""


class Endpoint:
    """The socket of one live workspace."""

    def __init__(self, engine: Engine, busy: Callable[[], bool] | None = None) -> None:
        self.engine = engine
        self._busy = busy  # whether the live process is checking (said by ping)
        self.path: Path | None = None
        self.answered = 0  # requests answered (for tests and statistics)
        self._server: asyncio.AbstractServer | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="phasegate-endpoint")
        self._stamp: str | None = None
        self._config: tuple[str, Config] | None = None  # (digest of the files, config)
        self._lock = threading.Lock()

    async def start(self) -> Path | None:
        """Listen on the workspace's socket; None when it cannot be (no Unix sockets, no
        private folder for them, or another live process answers this workspace)."""
        if not localsock.supported():
            return None
        loop = asyncio.get_running_loop()
        self._stamp = await loop.run_in_executor(self._pool, localsock.code_stamp)
        path = localsock.socket_path(self.engine.root, create=True)
        if path is None:
            log.info("no private folder for the workspace's socket: not listening")
            return None
        free = await loop.run_in_executor(self._pool, localsock.remove_stale, path)
        if not free:
            log.info("another live process answers %s", self.engine.root)
            return None
        try:
            self._server = await asyncio.start_unix_server(self._client, path=str(path))
            os.chmod(path, 0o600)
        except OSError as exc:
            log.info("cannot listen on %s: %s", path, exc)
            return None
        self.path = path
        return path

    def close(self) -> None:
        """Stop listening and remove the socket (if it is still ours)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        path, self.path = self.path, None
        if path is not None:
            with contextlib.suppress(OSError):
                os.unlink(path)
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), READ_TIMEOUT)
            doc = localsock.decode(line) if line else None
            if doc is None:
                return  # a probe (a connect without a request), or garbage
            loop = asyncio.get_running_loop()
            try:
                answer = await loop.run_in_executor(self._pool, self._answer, doc)
                reply: dict[str, Any] = {"ok": True, "answer": answer}
            except Refused as exc:
                reply = {"ok": False, "reason": str(exc)}
            except Exception as exc:  # never take the live process down
                log.exception("answering on the workspace's socket failed")
                reply = {"ok": False, "reason": f"{type(exc).__name__}: {exc}"}
            writer.write(localsock.encode(reply))
            await writer.drain()
        except (asyncio.TimeoutError, OSError, ValueError, asyncio.LimitOverrunError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    # -- answering (in the worker thread) ---------------------------------------------------
    def _answer(self, doc: dict[str, Any]) -> dict[str, Any]:
        eng = self.engine
        if doc.get("protocol") != localsock.PROTOCOL:
            raise Refused("another protocol")
        if doc.get("code") != self._stamp:
            raise Refused("other phasegate code")
        if doc.get("root") != str(eng.root):
            raise Refused("another workspace")
        op = doc.get("op")
        if op == "ping":
            return {
                "pid": os.getpid(),
                "root": str(eng.root),
                "trusted": eng.trusted,
                "answered": self.answered,
                "busy": bool(self._busy()) if self._busy is not None else None,
            }
        if op == "findings":
            return self._findings(doc)
        raise Refused(f"unknown request {op!r}")

    def _findings(self, doc: dict[str, Any]) -> dict[str, Any]:
        from phasegate.query import QueryError, findings_for_files, plain_findings

        eng = self.engine
        if doc.get("trusted") is not eng.trusted:
            raise Refused("another trust")
        paths = doc.get("paths")
        checks = doc.get("checks")
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise Refused("paths must be a list of strings")
        if checks is not None and (
            not isinstance(checks, list) or not all(isinstance(c, str) for c in checks)
        ):
            raise Refused("checks must be a list of strings")
        try:
            found = findings_for_files(
                eng.root,
                paths,
                trusted=eng.trusted,
                config=self._current_config(),
                checks=checks,
                cache=eng.cache,
            )
        except QueryError as exc:
            raise Refused(str(exc)) from None
        self.answered += 1
        return plain_findings(found)

    def _current_config(self) -> Config:
        """The workspace's configuration as it is on disk now (read again when one of
        :data:`CONFIG_FILES` changed)."""
        from phasegate.query import load_config

        h = hashlib.sha1()
        for name in CONFIG_FILES:
            try:
                data = (self.engine.root / name).read_bytes()
            except OSError:
                data = b"-"
            h.update(name.encode() + b"\0" + data + b"\0")
        digest = h.hexdigest()
        with self._lock:
            kept = self._config
        if kept is not None and kept[0] == digest:
            return kept[1]
        config = load_config(self.engine.root)
        with self._lock:
            self._config = (digest, config)
        return config
