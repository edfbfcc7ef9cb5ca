"""The phasegate language server (pygls 2): a thin registry of the feature modules.

=======================  ==============================================================
module                   feature
=======================  ==============================================================
``core``                 the server object, workspace lifecycle, status notification
``transport``            reading messages: strict framing, every request answered
``settings``             ``initializationOptions`` (the live core's options and the editor's)
``diagnostics``          findings -> diagnostics, push or pull
``watch``                client file watcher (dynamic registration), else the engine's
``commands``             ``workspace/executeCommand`` (docs/lsp-protocol.md)
``sessions``             long commands: executor, progress, cancellation
``agents``               the first session's offer of an installed coding agent
``progress``             work-done progress
``code_actions``         apply fix / fix all / rework
``hover``/``definition`` requirement traceability (``traceability``)
``status``               the status object
``trust``                untrusted workspaces
``stats``                event-loop lag and memory (request ``phasegate/stats``)
=======================  ==============================================================

The workspace itself — config, runner, cache, live results, the scheduler that re-runs
exactly the checks a change concerns — is the engine's live core (:mod:`phasegate.live`),
which ``phasegate watch`` shares.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from phasegate.lsp import agents, code_actions, commands, definition, hover
from phasegate.lsp.core import STATS_REQUEST, PhasegateServer
from phasegate.lsp.diagnostics import rel_for

__all__ = ["PhasegateServer", "create_server"]


def _register_lifecycle(server: PhasegateServer) -> None:
    @server.feature(types.INITIALIZE)
    def on_initialize(ls: PhasegateServer, params: types.InitializeParams) -> None:
        ls.open_workspace(params)

    @server.feature(types.INITIALIZED)
    async def on_initialized(ls: PhasegateServer, params: types.InitializedParams) -> None:
        await ls.start()

    @server.feature(types.SHUTDOWN)
    async def on_shutdown(ls: PhasegateServer, params: None) -> None:
        await ls.stop_all()

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def on_save(ls: PhasegateServer, params: types.DidSaveTextDocumentParams) -> None:
        eng = ls.engine
        rel = rel_for(eng.root, params.text_document.uri) if eng else None
        if rel is not None:
            ls.scheduler.paths_changed({rel}, "save")

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def on_open(ls: PhasegateServer, params: types.DidOpenTextDocumentParams) -> None:
        eng = ls.engine
        rel = rel_for(eng.root, params.text_document.uri) if eng else None
        if rel is not None:
            ls.documents_opened([rel])

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def on_close(ls: PhasegateServer, params: types.DidCloseTextDocumentParams) -> None:
        eng = ls.engine
        rel = rel_for(eng.root, params.text_document.uri) if eng else None
        if rel is not None:
            ls.documents_closed([rel])

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def on_watched(ls: PhasegateServer, params: types.DidChangeWatchedFilesParams) -> None:
        ls.watcher.client_changes(params)

    @server.feature(STATS_REQUEST)
    def on_stats(ls: PhasegateServer, params: Any) -> dict[str, Any]:
        return ls.stats()


def create_server() -> PhasegateServer:
    server = PhasegateServer()
    _register_lifecycle(server)
    commands.register(server)
    agents.register(server)
    code_actions.register(server)
    hover.register(server)
    definition.register(server)
    return server
