"""Code actions on phasegate diagnostics: every diagnostic has at least one, with or
without a session.

* ``Apply fix: <title>`` (quickfix): the finding's own fix (``data.fix`` of the
  diagnostic) as a WorkspaceEdit — nothing is recomputed, so the edit is exactly what
  the check proposed and the client can undo it. A configuration error that says "did
  you mean" carries its replacement as such a fix.
* ``Create <file>`` (quickfix): a finding about a file that does not exist — the file,
  created with what the scaffold persona would write there
  (:mod:`phasegate.personas.drafts`).
* ``Rework with <persona>`` (quickfix, when a session exists): command
  ``phasegate.rework`` — one action per persona (and phase) of the request's diagnostics,
  carrying the ids of all their findings.
* ``Suppress <ID> on this line`` / ``Suppress <ID> in this file`` (quickfix): the
  suppression comment (:mod:`phasegate.suppress`) in the file's own comment syntax; the
  CLI, the hooks and the editor all honour it. Not for a missing file, nor for checks
  that cannot be silenced (GATE-INTEGRITY).
* ``Show documentation of <ID>`` (quickfix): command ``phasegate.showDocumentation``,
  which asks the client to open the check's documentation (``window/showDocument``;
  the address is :meth:`phasegate.checks.base.Check.docs_url`, the same as the
  diagnostic's ``codeDescription``).
* ``Rework phase <title>`` (``source.phasegate.rework``): the phases with findings in
  this file.
* ``source.fixAll.phasegate``: every fix of the file's findings, overlapping edits left
  out.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from lsprotocol import types

from phasegate import suppress
from phasegate.lsp.core import PhasegateServer  # resolved at run time: pygls reads the hints
from phasegate.lsp.diagnostics import (
    CONFIG_CODE,
    INHERITED_SUFFIX,
    SOURCE,
    LineMap,
    docs_url,
    rel_for,
    shown,
    uri_for,
)
from phasegate.model import Finding, Fix, Range, TextEdit
from phasegate.runner import INTEGRITY_ID

if TYPE_CHECKING:
    from phasegate.personas.base import Persona
    from phasegate.runner import ResolvedCheck

FIX_ALL = "source.fixAll.phasegate"
REWORK_PHASE = "source.phasegate.rework"
SHOW_DOCUMENTATION = "phasegate.showDocumentation"
Edits = dict[str, list[types.TextEdit]]
MAX_CREATE = 3  # "Create <file>" actions offered for one finding at most


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


def _finding_of(
    server: PhasegateServer, rel: str, d: types.Diagnostic
) -> tuple[ResolvedCheck | None, Finding]:
    """The finding a diagnostic shows (and its check, when the live results have it): by
    ``data.findingId``, else by check, line and message; else one rebuilt from the
    diagnostic (a diagnostic the client kept from an earlier server, before the checks
    ran): on ``rel`` at its line, or on the file its message names (a missing file shown
    on the anchor, "docs/design.md: No design document…")."""
    eng = server.engine
    data = d.data if isinstance(d.data, dict) else {}
    fid = data.get("findingId")
    message = d.message.removesuffix(INHERITED_SUFFIX)
    if eng is not None and eng.live is not None:
        found = eng.live.findings_for(rel)
        for rc, f in found:
            if isinstance(fid, str) and f.id == fid:
                return rc, f
        for rc, f in found:
            same = rc.config.id == d.code and message.endswith(f.message)
            if same and (f.range.start.line == d.range.start.line or f.path != rel):
                return rc, f
    path, missing = rel, False
    m = re.match(r"([^\s:][^:]*): ", message)
    if m and m.group(1) != rel and eng is not None:
        other = m.group(1)
        try:
            missing = not eng.workspace.abspath(other).is_file()
        except ValueError:
            missing = False
        if missing:
            path, message = other, message[m.end() :]
    rng = Range.lines(0) if missing else Range.lines(d.range.start.line)
    return None, Finding(
        path=path, range=rng, code=str(d.code), message=message, missing_file=missing
    )


def _is_file(server: PhasegateServer, path: str) -> bool:
    eng = server.engine
    if eng is None:
        return False
    try:
        return eng.workspace.abspath(path).is_file()
    except ValueError:
        return False


def _edit_action(
    server: PhasegateServer,
    title: str,
    edits: list[TextEdit],
    d: types.Diagnostic,
    *,
    preferred: bool = False,
) -> types.CodeAction | None:
    eb = EditBuilder(server)
    if not eb.add(Fix(title=title, edits=edits)):
        return None
    return types.CodeAction(
        title=title,
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[d],
        edit=eb.build(),
        is_preferred=preferred or None,
    )


def _suppress_actions(
    server: PhasegateServer, rc: ResolvedCheck | None, f: Finding, d: types.Diagnostic
) -> list[types.CodeAction]:
    """The actions "Suppress <ID> on this line" and "... in <file>", in the comment syntax
    of the finding's file; none for a file that does not exist or a check that cannot be
    silenced."""
    eng = server.engine
    if eng is None or f.missing_file or not _is_file(server, f.path):
        return []
    if rc is not None and not suppress.suppressible(rc.cls):
        return []
    if rc is None and f.code == INTEGRITY_ID:  # its class is not at hand: never silenced
        return []
    text = eng.workspace.read_text(f.path)
    if text is None:
        return []
    cid = f.code
    out: list[types.CodeAction] = []
    line = suppress.line_edit(f.path, text, f.range.start.line, cid)
    if line is not None:
        a = _edit_action(server, f"Suppress {cid} on this line", [line], d)
        if a is not None:
            out.append(a)
    whole = suppress.file_edit(f.path, text, cid)
    if whole is not None:
        name = Path(f.path).name
        a = _edit_action(server, f"Suppress {cid} in {name}", [whole], d)
        if a is not None:
            out.append(a)
    return out


def _create_actions(
    server: PhasegateServer, rc: ResolvedCheck | None, f: Finding, d: types.Diagnostic
) -> list[types.CodeAction]:
    """The action "Create <file>" for a finding about a file that does not exist, with
    what the scaffold persona would write there."""
    eng = server.engine
    if eng is None or eng.config is None or rc is None or _is_file(server, f.path):
        return []
    from phasegate.personas.drafts import draft_for

    try:
        found = draft_for(eng.workspace, eng.config, rc.phase, f.path, inputs=rc.ctx.inputs)
    except Exception:  # a draft is a convenience: never an error for the client
        return []
    out: list[types.CodeAction] = []
    for path, content in sorted(found.items())[:MAX_CREATE]:
        if _is_file(server, path):
            continue
        edit = TextEdit(path=path, range=Range.lines(0, 0, 0), new_text=content)
        a = _edit_action(server, f"Create {path}", [edit], d, preferred=f.fix is None)
        if a is not None:
            out.append(a)
    return out


def _docs_action(check_id: str, d: types.Diagnostic) -> types.CodeAction:
    what = "the configuration reference" if check_id == CONFIG_CODE else check_id
    title = f"Show documentation of {what}"
    return types.CodeAction(
        title=title,
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[d],
        command=types.Command(
            title=title, command=SHOW_DOCUMENTATION, arguments=[{"check": check_id}]
        ),
    )


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
        what = _persona_says(server, owner)
        if what:
            title += f" — {what}"
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


def _persona(server: PhasegateServer, name: str) -> Persona | None:
    """The configured persona ``name`` (None when it cannot be made: an unknown kind,
    invalid options — the configuration's diagnostics say why)."""
    eng = server.engine
    if eng is None or eng.config is None:
        return None
    from phasegate.personas.base import make_persona

    try:
        return make_persona(name, eng.config)
    except Exception:
        return None


def _persona_says(server: PhasegateServer, name: str) -> str:
    persona = _persona(server, name)
    return persona.describe() if persona is not None else ""


def _can_rework(server: PhasegateServer, owner: str, f: Finding | None) -> bool:
    """A "Rework with <owner>" is offered only when the persona can act on the finding
    (the scaffold persona only writes missing files: it cannot implement a stub)."""
    persona = _persona(server, owner)
    if persona is None:
        return False
    return f is None or persona.can_act_on(f)


def code_actions(
    server: PhasegateServer, params: types.CodeActionParams
) -> list[types.CodeAction | types.Command]:
    eng = server.engine
    if eng is None:
        return []
    rel = rel_for(eng.root, params.text_document.uri)
    if rel is None:
        return []
    only = [str(k) for k in params.context.only] if params.context.only else None
    has_session = server.sessions.active_id() is not None
    quickfix = _wanted("quickfix", only)
    actions: list[types.CodeAction | types.Command] = []
    # after the fixes and reworks: suppressions, then documentation (one of each title)
    later: dict[str, types.CodeAction] = {}
    docs: dict[str, types.CodeAction] = {}
    # (owner, phase) -> the diagnostics and finding ids one "Rework with" action covers
    rework: dict[tuple[str, str], tuple[list[types.Diagnostic], list[str]]] = {}
    for d in params.context.diagnostics:
        if d.source != SOURCE or d.code is None:
            continue
        data: dict[str, Any] = d.data if isinstance(d.data, dict) else {}
        fix = _fix_of(d) or _lookup_fix(server, rel, d)
        if fix is not None and quickfix:
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
        found: Finding | None = None
        if quickfix:
            code = str(d.code)
            if code != CONFIG_CODE:
                rc, f = _finding_of(server, rel, d)
                found = f
                titles = {a.title for a in actions if isinstance(a, types.CodeAction)}
                actions += [a for a in _create_actions(server, rc, f, d) if a.title not in titles]
                for a in _suppress_actions(server, rc, f, d):
                    _merge(later, a, d)
            _merge(docs, _docs_action(code, d), d)
        owner, phase, fid = data.get("owner"), data.get("phase"), data.get("findingId")
        if (
            has_session
            and isinstance(owner, str)
            and owner
            and isinstance(phase, str)
            and phase
            and _can_rework(server, owner, found)
        ):
            diags, ids = rework.setdefault((owner, phase), ([], []))
            diags.append(d)
            if not isinstance(fid, str) or not fid:
                ids.append("")  # a finding without an id: rework all of the persona's
            elif fid not in ids:
                ids.append(fid)
    if rework and quickfix:
        actions += _rework_actions(server, rework)
    actions += [*later.values(), *docs.values()]
    if eng.live is None:  # an invalid configuration: only its errors have actions
        return actions
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


def _merge(into: dict[str, types.CodeAction], a: types.CodeAction, d: types.Diagnostic) -> None:
    """Keep one action per title (several diagnostics of a check on one line share their
    "Suppress" and documentation actions), listing every diagnostic it answers."""
    have = into.get(a.title)
    if have is None:
        into[a.title] = a
    elif have.diagnostics is not None and d not in have.diagnostics:
        have.diagnostics = [*have.diagnostics, d]


def _anchor_line(path: Path, anchor: str) -> int | None:
    """0-based line of the heading after ``<a id="anchor">`` in a Markdown file."""
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except OSError:
        return None
    mark = f'<a id="{anchor}"></a>'
    for i, line in enumerate(lines):
        if line.strip() == mark:
            for k in range(i + 1, min(i + 4, len(lines))):
                if lines[k].startswith("#"):
                    return k
            return i
    return None


async def show_documentation(server: PhasegateServer, check_id: str) -> dict[str, Any]:
    """Ask the client to show the documentation of ``check_id`` (``"config"``: the
    configuration reference): ``window/showDocument`` when the client supports it, else
    a message with the address. Answers ``{"uri": ..., "shown": bool}``."""
    uri = docs_url(server.engine, check_id)
    parsed = urlparse(uri)
    # a web page, or a rendered local one (the reference installed with phasegate,
    # checks.html#<id>): shown by the browser, at the check's section
    params = types.ShowDocumentParams(uri=uri, external=True)
    if parsed.scheme == "file" and not parsed.path.endswith((".html", ".htm")):
        # a local source page (Markdown): opened in the editor, at the check's section
        page = Path(unquote(parsed.path))
        params = types.ShowDocumentParams(uri=page.as_uri(), take_focus=True)
        line = _anchor_line(page, parsed.fragment) if parsed.fragment else None
        if line is not None:
            at = types.Position(line=line, character=0)
            params.selection = types.Range(start=at, end=at)
    caps = server.client_capabilities.window
    supported = bool(caps and caps.show_document and caps.show_document.support)
    if supported:
        result = await server.window_show_document_async(params)
        return {"uri": uri, "shown": bool(result and result.success)}
    server.window_show_message(
        types.ShowMessageParams(
            type=types.MessageType.Info, message=f"phasegate: documentation of {check_id}: {uri}"
        )
    )
    return {"uri": uri, "shown": False}


def register(server: PhasegateServer) -> None:
    options = types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, REWORK_PHASE, FIX_ALL],
        resolve_provider=False,
    )

    @server.command(SHOW_DOCUMENTATION)
    async def on_show_documentation(ls: PhasegateServer, *args: Any) -> dict[str, Any]:
        arg = args[0] if args and isinstance(args[0], dict) else {}
        check = arg.get("check")
        if not isinstance(check, str) or not check:
            from pygls.exceptions import JsonRpcInvalidParams

            raise JsonRpcInvalidParams('phasegate.showDocumentation takes {"check": ID}')
        await ls.wait_loaded()
        return await show_documentation(ls, check)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, options)
    async def on_code_action(
        ls: PhasegateServer, params: types.CodeActionParams
    ) -> list[types.CodeAction | types.Command]:
        await ls.wait_loaded()  # a request right after startup waits for the config
        return code_actions(ls, params)
