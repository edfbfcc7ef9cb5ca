"""Go to definition on a requirement id: its line in the requirements document."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from phasegate.lsp.diagnostics import LineMap, uri_for
from phasegate.lsp.hover import doc_text, engine_position
from phasegate.model import Range

if TYPE_CHECKING:
    from phasegate.lsp.core import PhasegateServer


def definition(server: PhasegateServer, params: types.DefinitionParams) -> types.Location | None:
    eng = server.engine
    if eng is None or eng.config is None:
        return None
    text = doc_text(server, params.text_document.uri)
    if text is None:
        return None
    line, ch = engine_position(server, text, params.position)
    ref = server.trace.id_at(text, line, ch)
    if ref is None:
        return None
    req = server.trace.requirement(ref.id)
    if req is None:
        return None
    try:
        codec = server.workspace.position_codec
    except RuntimeError:
        codec = None
    lm = LineMap(eng.workspace.read_text(req.path), codec)
    rng = lm.range(Range.span(req.line, req.character, req.line, req.end_character))
    return types.Location(uri=uri_for(eng.root, req.path), range=rng)


def register(server: PhasegateServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    async def on_definition(
        ls: PhasegateServer, params: types.DefinitionParams
    ) -> types.Location | None:
        await ls.wait_loaded()  # a request right after startup waits for the config
        return definition(ls, params)
