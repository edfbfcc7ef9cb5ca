"""Code actions on phasegate diagnostics.

* ``Apply fix: <title>`` (quickfix): the finding's own fix (``data.fix`` of the
  diagnostic) as a WorkspaceEdit — nothing is recomputed, so the edit is exactly what
  the check proposed and the client can undo it.
* ``Rework with <persona>`` (quickfix, when a session exists): command
  ``phasegate.rework`` — one action per persona (and phase) of the request's diagnostics,
  carrying the ids of all their findings.
* ``Rework phase <title>`` (``source.phasegate.rework``): the phases with findings in
  this file.
* ``source.fixAll.phasegate``: every fix of the file's findings, overlapping edits left
  out.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from phasegate.lsp.diagnostics import INHERITED_SUFFIX, SOURCE, LineMap, rel_for, shown, uri_for
from phasegate.model import Fix

if TYPE_CHECKING:
    from phasegate.lsp.core import PhasegateServer

FIX_ALL = "source.fixAll.phasegate"
REWORK_PHASE = "source.phasegate.rework"
Edits = dict[str, list[types.TextEdit]]


def _wanted(kind: str, only: list[str] | None) -> bool:
    if not only:
        return True
    return any(kind == o or kind.startswith(o + ".") for o in only)


def _overlaps(a: types.Range, b: types.Range) -> bool:
    a0, a1 = (a.start.line, a.start.character), (a.end.line, a.end.character)
    b0, b1 = (b.start.line, b.start.character), (b.end.line, b.end.character)
    if a0 == a1 and b0 == b1:
        return False  # two insertions: applied in order (the LSP spec says so)
    return (a0 < b1 and b0 < a1) or (a0 == b0 and a1 != a0 and b1 != b0)


class EditBuilder:
    """Collects fixes into one WorkspaceEdit (files that do not exist are created)."""

    def __init__(self, server: PhasegateServer) -> None:
        self.server = server
        self.edits: Edits = {}
        self.create: list[str] = []
        self.count = 0

    def add(self, fix: Fix, *, skip_overlaps: bool = False) -> bool:
        eng = self.server.engine
        assert eng is not None
        staged: Edits = {}
        for e in fix.edits:
            try:
                path = eng.workspace.abspath(e.path)
            except ValueError:
                return False  # a fix may never touch anything outside the workspace
            uri = uri_for(eng.root, e.path)
            text = eng.workspace.read_text(e.path)
            if text is None and not path.exists() and uri not in self.create:
                self.create.append(uri)
            lm = LineMap(text, self._codec())
            rng = lm.range(e.range)
            if skip_overlaps and any(
                _overlaps(rng, other.range)
                for other in [*self.edits.get(uri, []), *staged.get(uri, [])]
            ):
                return False
            staged.setdefault(uri, []).append(types.TextEdit(range=rng, new_text=e.new_text))
        for uri, edits in staged.items():
            self.edits.setdefault(uri, []).extend(edits)
        self.count += 1
        return True

    def _codec(self) -> Any:
        try:
            return self.server.workspace.position_codec
        except RuntimeError:
            return None

    def build(self) -> types.WorkspaceEdit:
        caps = self.server.client_capabilities.workspace
        we = caps.workspace_edit if caps is not None else None
        doc_changes = bool(we and we.document_changes)
        can_create = bool(
            we
            and we.resource_operations
            and types.ResourceOperationKind.Create in we.resource_operations
        )
        if not doc_changes or (self.create and not can_create):
            return types.WorkspaceEdit(changes=dict(self.edits))
        changes: list[Any] = []
        for uri in self.create:
            changes.append(
                types.CreateFile(
                    uri=uri, options=types.CreateFileOptions(overwrite=False, ignore_if_exists=True)
                )
            )
        for uri, edits in self.edits.items():
            changes.append(
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(
                        uri=uri, version=None
                    ),
                    edits=list(edits),
                )
            )
        return types.WorkspaceEdit(document_changes=changes)


def _fix_of(d: types.Diagnostic) -> Fix | None:
    data = d.data if isinstance(d.data, dict) else None
    raw = data.get("fix") if data else None
    if not raw:
        return None
    try:
        return Fix.model_validate(raw)
    except ValueError:
        return None


def _lookup_fix(server: PhasegateServer, rel: str, d: types.Diagnostic) -> Fix | None:
    """For clients that do not send ``data`` back: the fix of the same finding."""
    eng = server.engine
    if eng is None or eng.live is None:
        return None
    message = d.message.removesuffix(INHERITED_SUFFIX)  # newCodeFocus "quiet"
    for rc, f in eng.live.findings_for(rel):
        same = f.fix is not None and rc.config.id == d.code and message.endswith(f.message)
        if same and (f.range.start.line == d.range.start.line or f.path != rel):
            return f.fix
    return None


def _rework_actions(
    server: PhasegateServer,
    groups: dict[tuple[str, str], tuple[list[types.Diagnostic], list[str]]],
) -> list[types.CodeAction | types.Command]:
    """One "Rework with <persona>" per (persona, phase), carrying all its finding ids; the
    phase is named in the title only when the persona owns findings of several phases."""
    eng = server.engine
    titles = {p.name: p.display for p in eng.config.phases} if eng and eng.config else {}
    phases_of: dict[str, int] = {}
    for owner, _phase in groups:
        phases_of[owner] = phases_of.get(owner, 0) + 1
    out: list[types.CodeAction | types.Command] = []
    for (owner, phase), (diags, ids) in groups.items():
        title = f"Rework with {owner}"
        if phases_of[owner] > 1:
            title += f" ({titles.get(phase, phase)})"
        arg: dict[str, Any] = {"phase": phase, "persona": owner}
        if ids and all(ids):
            arg["findingIds"] = list(ids)
        out.append(
            types.CodeAction(
                title=title,
                kind=types.CodeActionKind.QuickFix,
                diagnostics=list(diags),
                command=types.Command(title=title, command="phasegate.rework", arguments=[arg]),
            )
        )
    return out


def code_actions(
    server: PhasegateServer, params: types.CodeActionParams
) -> list[types.CodeAction | types.Command]:
    eng = server.engine
    if eng is None or eng.live is None:
        return []
    rel = rel_for(eng.root, params.text_document.uri)
    if rel is None:
        return []
    only = [str(k) for k in params.context.only] if params.context.only else None
    has_session = server.sessions.active_id() is not None
    actions: list[types.CodeAction | types.Command] = []
    # (owner, phase) -> the diagnostics and finding ids one "Rework with" action covers
    rework: dict[tuple[str, str], tuple[list[types.Diagnostic], list[str]]] = {}
    for d in params.context.diagnostics:
        if d.source != SOURCE or d.code is None:
            continue
        data: dict[str, Any] = d.data if isinstance(d.data, dict) else {}
        fix = _fix_of(d) or _lookup_fix(server, rel, d)
        if fix is not None and _wanted("quickfix", only):
            eb = EditBuilder(server)
            if eb.add(fix):
                actions.append(
                    types.CodeAction(
                        title=f"Apply fix: {fix.title}",
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[d],
                        edit=eb.build(),
                        is_preferred=True,
                    )
                )
        owner, phase, fid = data.get("owner"), data.get("phase"), data.get("findingId")
        if has_session and isinstance(owner, str) and owner and isinstance(phase, str) and phase:
            diags, ids = rework.setdefault((owner, phase), ([], []))
            diags.append(d)
            if not isinstance(fid, str) or not fid:
                ids.append("")  # a finding without an id: rework all of the persona's
            elif fid not in ids:
                ids.append(fid)
    if rework and _wanted("quickfix", only):
        actions += _rework_actions(server, rework)
    # the findings shown (newCodeFocus "hide" leaves inherited ones out)
    focus = server.settings.new_code_focus
    findings = [(rc, f) for rc, f in eng.live.findings_for(rel) if shown(f, focus)]
    if has_session and _wanted(REWORK_PHASE, only):
        assert eng.config is not None
        phases = {rc.phase for rc, _f in findings}
        for pc in eng.config.phases:
            if pc.name in phases:
                title = f"Rework phase {pc.display}"
                actions.append(
                    types.CodeAction(
                        title=title,
                        kind=REWORK_PHASE,
                        command=types.Command(
                            title=title, command="phasegate.rework", arguments=[{"phase": pc.name}]
                        ),
                    )
                )
    if _wanted(FIX_ALL, only) and (only is not None or params.context.diagnostics):
        eb = EditBuilder(server)
        for _rc, f in findings:
            if f.fix is not None:
                eb.add(f.fix, skip_overlaps=True)
        if eb.count:
            actions.append(
                types.CodeAction(
                    title=f"Apply all phasegate fixes in {Path(rel).name} ({eb.count})",
                    kind=FIX_ALL,
                    edit=eb.build(),
                )
            )
    return actions


def register(server: PhasegateServer) -> None:
    options = types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, REWORK_PHASE, FIX_ALL],
        resolve_provider=False,
    )

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, options)
    async def on_code_action(
        ls: PhasegateServer, params: types.CodeActionParams
    ) -> list[types.CodeAction | types.Command]:
        await ls.wait_loaded()  # a request right after startup waits for the config
        return code_actions(ls, params)
