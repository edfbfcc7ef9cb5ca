"""Hearing about files changed outside the editor.

The client's watcher is preferred: when it supports dynamic registration of
``workspace/didChangeWatchedFiles``, the server registers one watcher for ``**/*`` and
the client reports changes. Otherwise (or when registration fails) the server watches
the root itself with the engine's :class:`phasegate.live.watch.FileWatcher`
(:mod:`watchfiles`, polling if that cannot be used), dropping ignored paths
(``.gitignore``, the always-ignored folders, ``.phasegate/``) before they reach the
scheduler.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from phasegate.live.watch import FileWatcher
from phasegate.lsp.diagnostics import rel_for

if TYPE_CHECKING:
    from phasegate.lsp.core import PhasegateServer

log = logging.getLogger(__name__)
REGISTRATION_ID = "phasegate-watched-files"


class Watcher:
    def __init__(self, server: PhasegateServer) -> None:
        self.server = server
        self.kind: str = "off"  # "client" | "server" | "off"
        self._files: FileWatcher | None = None  # the server's own watcher

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
        await self._start_server_watcher()
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

    async def _start_server_watcher(self) -> None:
        eng = self.server.engine
        assert eng is not None
        scheduler = self.server.scheduler
        files = FileWatcher(
            eng.root,
            keep=scheduler.relevant,
            on_paths=lambda rels: scheduler.paths_changed(rels, "watchfiles"),
            on_message=self.server.log,
        )
        self._files = files
        self.kind = "server" if await files.start() != "off" else "off"

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
        if self._files is not None:
            await self._files.stop()
            self._files = None
