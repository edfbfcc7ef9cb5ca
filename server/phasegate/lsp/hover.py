"""Hover on a requirement id (any file): its title and where it is defined, designed,
implemented and tested, each a link to the place. Where ids are scoped by feature folder
(Spec Kit, Kiro), the hover names the requirement's feature, or says why the mention
resolves to none (ambiguous between features, or not defined in its scope)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from phasegate.lsp.diagnostics import rel_for, uri_for

if TYPE_CHECKING:
    from phasegate.documents import IdRef
    from phasegate.features import RequirementScopes, Resolution
    from phasegate.lsp.core import PhasegateServer

MAX_LINKS = 8


def _link(server: PhasegateServer, path: str, line: int, label: str | None = None) -> str:
    eng = server.engine
    assert eng is not None
    uri = uri_for(eng.root, path)
    text = label or f"{path}:{line + 1}"
    return f"[{text}]({uri}#L{line + 1})"


def _links(server: PhasegateServer, items: list[tuple[str, int, str | None]]) -> str:
    shown = [_link(server, p, line, label) for p, line, label in items[:MAX_LINKS]]
    more = len(items) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def doc_text(server: PhasegateServer, uri: str) -> str | None:
    """The document as the editor has it (unsaved edits included), else from disk."""
    try:
        return server.workspace.get_text_document(uri).source
    except Exception:
        eng = server.engine
        rel = rel_for(eng.root, uri) if eng else None
        return eng.workspace.read_text(rel) if eng and rel else None


def engine_position(server: PhasegateServer, text: str, pos: types.Position) -> tuple[int, int]:
    """Client position -> (line, code point)."""
    lines = text.split("\n")
    try:
        p = server.workspace.position_codec.position_from_client_units(lines, pos)
        return p.line, p.character
    except Exception:
        return pos.line, pos.character


async def hover(server: PhasegateServer, params: types.HoverParams) -> types.Hover | None:
    eng = server.engine
    if eng is None or eng.config is None:
        return None
    text = doc_text(server, params.text_document.uri)
    if text is None:
        return None
    line, ch = engine_position(server, text, params.position)
    trace = server.trace
    ref = trace.id_at(text, line, ch)
    if ref is None:
        return None
    await trace.ensure()
    rel = rel_for(eng.root, params.text_document.uri)
    res = trace.resolve(rel, text, ref)
    scopes = trace.scopes()
    out: list[str] = []
    if res is not None and scopes is not None and (scopes.multi or scopes.features):
        out = _scoped_hover(server, ref.id, res, scopes)
        if res.requirement is None:
            return _hover(server, params, text, line, ref, out)
        key = (res.scope, res.requirement.id)
        design = trace.scoped_design(key)
        impl, tested = trace.scoped_mentions(key)
    else:
        first = trace.requirement(ref.id)
        if first is None:
            out.append(f"**{ref.id}** is not defined in any requirements document")
        else:
            title = f" — {first.title}" if first.title else ""
            out.append(f"**{ref.id}**{title}")
            out.append("")
            out.append(f"- Defined: {_links(server, [(first.path, first.line, None)])}")
        design = trace.design(ref.id)
        impl, tested = trace.mentions(ref.id)
    if design:
        items = [(d.path, d.line, f"{d.path} § {d.section}" if d.section else None) for d in design]
        out.append(f"- Designed: {_links(server, items)}")
    else:
        out.append("- Designed: not in any design document")
    out.append(
        "- Implemented: "
        + (_links(server, [(m.path, m.line, None) for m in impl]) if impl else "no source file")
    )
    out.append(
        "- Tested: "
        + (_links(server, [(m.path, m.line, None) for m in tested]) if tested else "no test")
    )
    return _hover(server, params, text, line, ref, out)


def _scoped_hover(
    server: PhasegateServer, rid: str, res: Resolution, scopes: RequirementScopes
) -> list[str]:
    """The first lines of a hover where ids are scoped by feature: the requirement and its
    feature, or why the mention resolves to none."""
    req = res.requirement
    if req is not None:
        scope = f" · feature `{res.scope}`" if res.scope else ""
        title = f" — {req.title}" if req.title else ""
        return [
            f"**{rid}**{scope}{title}",
            "",
            f"- Defined: {_links(server, [(req.path, req.line, None)])}",
        ]
    if res.candidates:
        defs = [scopes.defs[c][rid] for c in res.candidates]
        return [
            f"**{rid}** is ambiguous: {scopes.hint(rid, res.candidates)}",
            "",
            f"- Defined: {_links(server, [(d.path, d.line, None) for d in defs])}",
        ]
    where = scopes.defined_in(rid)
    if where:
        named = ", ".join(f"`{w}`" if w else "phasegate's own documents" for w in where)
        return [f"**{rid}** is not defined in this scope (defined in: {named})"]
    return [f"**{rid}** is not defined in any requirements document"]


def _hover(
    server: PhasegateServer,
    params: types.HoverParams,
    text: str,
    line: int,
    ref: IdRef,
    out: list[str],
) -> types.Hover:
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value="\n".join(out)),
        range=types.Range(
            start=types.Position(
                line=params.position.line, character=_units(server, text, line, ref.start)
            ),
            end=types.Position(
                line=params.position.line, character=_units(server, text, line, ref.end)
            ),
        ),
    )


def _units(server: PhasegateServer, text: str, line: int, ch: int) -> int:
    lines = text.split("\n")
    src = lines[line] if line < len(lines) else ""
    try:
        return int(server.workspace.position_codec.client_num_units(src[:ch]))
    except Exception:
        return ch


def register(server: PhasegateServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def on_hover(ls: PhasegateServer, params: types.HoverParams) -> types.Hover | None:
        await ls.wait_loaded()  # a request right after startup waits for the config
        return await hover(ls, params)
