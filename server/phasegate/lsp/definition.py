"""Go to definition on a requirement id: its line in the requirements document. Where ids
are scoped by feature folder (Spec Kit, Kiro), the definition the mention resolves to;
an ambiguous mention goes to each feature's definition."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from phasegate.lsp.diagnostics import LineMap, rel_for, uri_for
from phasegate.lsp.hover import doc_text, engine_position
from phasegate.model import Range

if TYPE_CHECKING:
    from phasegate.documents import Requirement
    from phasegate.lsp.core import PhasegateServer


def definition(
    server: PhasegateServer, params: types.DefinitionParams
) -> types.Location | list[types.Location] | None:
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
    reqs: list[Requirement] = []
    res = server.trace.resolve(rel_for(eng.root, params.text_document.uri), text, ref)
    scopes = server.trace.scopes()
    if res is not None and scopes is not None and (scopes.multi or scopes.features):
        if res.requirement is not None:
            reqs = [res.requirement]
        else:
            reqs = [scopes.defs[c][ref.id] for c in res.candidates]
    else:
        req = server.trace.requirement(ref.id)
        reqs = [req] if req is not None else []
    if not reqs:
        return None
    try:
        codec = server.workspace.position_codec
    except RuntimeError:
        codec = None
    locs = []
    for req in reqs:
        lm = LineMap(eng.workspace.read_text(req.path), codec)
        rng = lm.range(Range.span(req.line, req.character, req.line, req.end_character))
        locs.append(types.Location(uri=uri_for(eng.root, req.path), range=rng))
    return locs[0] if len(locs) == 1 else locs


def register(server: PhasegateServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    async def on_definition(
        ls: PhasegateServer, params: types.DefinitionParams
    ) -> types.Location | list[types.Location] | None:
        await ls.wait_loaded()  # a request right after startup waits for the config
        return definition(ls, params)
