"""Hearing about files changed outside the editor.

The client's watcher is preferred: when it supports dynamic registration of
``workspace/didChangeWatchedFiles``, the server registers one watcher for ``**/*`` and
the client reports changes. Otherwise (or when registration fails) the server watches
the root itself with :mod:`watchfiles`, dropping ignored paths (``.gitignore``, the
always-ignored folders, ``.phasegate/``) before they reach the scheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from phasegate.lsp.diagnostics import rel_for
from phasegate.workspace import PathOutsideWorkspace

if TYPE_CHECKING:
    from phasegate.lsp.core import PhasegateServer

log = logging.getLogger(__name__)
REGISTRATION_ID = "phasegate-watched-files"


class Watcher:
    def __init__(self, server: PhasegateServer) -> None:
        self.server = server
        self.kind: str = "off"  # "client" | "server" | "off"
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None

    async def start(self) -> str:
        """Set up watching as the settings and the client allow; returns the kind used."""
        mode = self.server.settings.watch
        if mode == "off":
            self.kind = "off"
            return self.kind
        caps = self.server.client_capabilities.workspace
        dynamic = bool(
            caps is not None
            and caps.did_change_watched_files is not None
            and caps.did_change_watched_files.dynamic_registration
        )
        if mode in ("auto", "client") and dynamic and await self._register():
            self.kind = "client"
            return self.kind
        if mode == "client":
            self.kind = "off"
            self.server.log("the client cannot watch files; changes are seen on save only")
            return self.kind
        self._start_watchfiles()
        return self.kind

    async def _register(self) -> bool:
        options = types.DidChangeWatchedFilesRegistrationOptions(
            watchers=[types.FileSystemWatcher(glob_pattern="**/*")]
        )
        params = types.RegistrationParams(
            registrations=[
                types.Registration(
                    id=REGISTRATION_ID,
                    method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                    register_options=options,
                )
            ]
        )
        try:
            await asyncio.wait_for(self.server.client_register_capability_async(params), 10)
        except Exception as exc:
            self.server.log(f"file watcher registration refused ({exc}); using watchfiles")
            return False
        return True

    def _start_watchfiles(self) -> None:
        try:
            import watchfiles  # noqa: F401
        except ImportError:  # pragma: no cover - a declared dependency
            self.kind = "off"
            return
        self.kind = "server"
        self._stop = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        import watchfiles

        eng = self.server.engine
        assert eng is not None and self._stop is not None
        root = eng.root

        def keep(_change: watchfiles.Change, path: str) -> bool:
            try:
                rel = eng.workspace.relpath(path)
            except PathOutsideWorkspace:
                return False
            return self.server.scheduler.relevant(rel)

        try:
            async for changes in watchfiles.awatch(
                root,
                watch_filter=keep,
                debounce=50,
                step=10,
                stop_event=self._stop,
                recursive=True,
                ignore_permission_denied=True,
            ):
                rels = set()
                for _change, path in changes:
                    with contextlib.suppress(PathOutsideWorkspace):
                        rels.add(eng.workspace.relpath(path))
                if rels:
                    self.server.scheduler.paths_changed(rels, "watchfiles")
        except Exception as exc:  # the watcher must not take the server down
            self.server.log(f"file watcher stopped: {exc}")

    def client_changes(self, params: types.DidChangeWatchedFilesParams) -> None:
        eng = self.server.engine
        if eng is None:
            return
        rels = set()
        for ev in params.changes:
            rel = rel_for(eng.root, ev.uri)
            if rel is not None:
                rels.add(rel)
        if rels:
            self.server.scheduler.paths_changed(rels, "watched-files")

    async def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
