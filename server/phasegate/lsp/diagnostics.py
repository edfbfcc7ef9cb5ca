"""Findings and config errors as LSP diagnostics, pushed or pulled.

Mode ("auto" by default): pull (``textDocument/diagnostic`` + ``workspace/diagnostic``)
when the client supports pull *and* ``workspace/diagnostic/refresh`` — the server's
results change on their own (file watcher, long test runs), so a client that cannot be
told to pull again gets pushed diagnostics instead. The pull handlers are registered in
``initialize`` only in pull mode, so a push-mode client never pulls as well.

Push order: the documents the editor shows first, then the files of a small update (a
save's) before what is left of a big one; a big update goes out
:data:`PUBLISH_CHUNK` files per turn of the event loop, so that thousands of a tool's
findings never hold up the publish of a save.

Every diagnostic carries ``source="phasegate"``, ``code`` = check id,
``codeDescription.href`` = the check's docs, and ``data`` = {findingId, phase, check,
owner, fix} (the code actions use ``data.fix`` as is). A configuration error has
``code="config"``, ``codeDescription`` = the configuration reference and, when it says
"did you mean 'x'?", ``data.fix`` = the replacement (:func:`config_fix`).

In new-code mode ``data`` also has ``baselineState`` ("new" or "unchanged"), and the
``newCodeFocus`` setting says how inherited ("unchanged") findings are shown: ``quiet``
(default) as hints with " (inherited)" appended, ``hide`` not at all, ``off`` as they are.

Lines the tests do not run (TEST-COVERAGE's and TEST-JSCOVERAGE's "lines 4-7 not
covered by the tests") are coverage, not problems: they are hints with
``data.coverage = true``, which a client may draw as coverage instead (the VS Code
extension marks them in the gutter and leaves them out of the Problems panel). The
checks' other findings (coverage below its target) keep their severity;
``phasegate validate`` is unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.uris import from_fs_path, to_fs_path

from phasegate.checks.testing.coverage import Coverage
from phasegate.docs_links import check_docs_uri, configuration_docs_uri
from phasegate.lsp.settings import NewCodeFocus
from phasegate.model import Finding, Fix, Range, TextEdit
from phasegate.runner import ResolvedCheck

if TYPE_CHECKING:
    from phasegate.live.engine import ConfigProblem, Engine
    from phasegate.lsp.core import PhasegateServer

SOURCE = "phasegate"
CONFIG_CODE = "config"
EOL = 10_000  # Range.lines(end_char=None) means "to the end of the line"
FIRST_PULL_WAIT = 10.0  # seconds a first workspace pull waits for the running checks
PUBLISH_CHUNK = 64  # files pushed per turn of the event loop, at most
# ... and for at most this long (s): building a file's diagnostics reads it, and a read
# waits for the interpreter lock a busy analysis thread holds (some milliseconds each),
# so 64 files could hold the loop half a second
PUBLISH_SLICE = 0.02


def docs_url(eng: Engine | None, check_id: str) -> str:
    """Where the documentation of ``check_id`` is: the one address the diagnostics'
    ``codeDescription`` and the "Show documentation" action use. A configured check's
    class says (:meth:`phasegate.checks.base.Check.docs_url`: a plugin may point at its
    own pages); ``"config"`` is the configuration reference; anything else, its section
    of the checks reference (:mod:`phasegate.docs_links`: the documentation site when
    one is configured, else the rendered copy installed with phasegate)."""
    if check_id == CONFIG_CODE:
        return configuration_docs_uri()
    runner = eng.runner if eng is not None else None
    if runner is not None:
        for rc in runner.all_checks():
            if rc.config.id == check_id:
                return rc.cls.docs_url(check_id)
    return check_docs_uri(check_id)


_SUGGESTION = re.compile(r"\(did you mean '([^'\n]+)'\?\)")
_UNKNOWN = re.compile(r"^unknown (key|check kind|persona kind|persona) '([^'\n]+)'")


def config_fix(p: ConfigProblem, text: str | None) -> Fix | None:
    """The replacement a configuration error suggests ("unknown key 'ownr' (did you mean
    'owner'?)"): the unknown name, found on the error's line from its column on (a key
    as written, a value between quotes), replaced by the suggestion. None when the error
    suggests nothing or the name is not found there."""
    m, u = _SUGGESTION.search(p.message), _UNKNOWN.match(p.message)
    if m is None or u is None or text is None:
        return None
    lines = text.split("\n")
    if not 0 <= p.line < len(lines):
        return None
    line, wrong, right = lines[p.line], u.group(2), m.group(1)
    if u.group(1) == "key":
        rx = re.compile(rf"(?<![\w-]){re.escape(wrong)}(?![\w-])")
    else:
        rx = re.compile(rf"(?<=[\"']){re.escape(wrong)}(?=[\"'])")
    hit = rx.search(line, p.column) or rx.search(line)
    if hit is None:
        return None
    edit = TextEdit(path=p.path, range=Range.lines(p.line, hit.start(), hit.end()), new_text=right)
    return Fix(title=f"Replace '{wrong}' with '{right}'", edits=[edit])


def uri_for(root: Path, rel: str) -> str:
    uri: str | None = from_fs_path(str(root / rel))
    assert uri is not None
    return uri


def rel_for(root: Path, uri: str) -> str | None:
    """Workspace-relative path of a ``file:`` URI, or None when outside the workspace."""
    path = to_fs_path(uri)
    if path is None:
        return None
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except (ValueError, OSError):
        return None


class LineMap:
    """Converts engine positions (code points; EOL = end of line) to the client's units,
    clamped to the file's real lines so every client accepts them."""

    def __init__(self, text: str | None, codec: Any) -> None:
        self.lines = (text or "").split("\n")
        self.codec = codec

    def position(self, line: int, character: int) -> types.Position:
        if line >= len(self.lines):
            line = max(0, len(self.lines) - 1)
            character = EOL
        text = self.lines[line].rstrip("\r") if self.lines else ""
        character = min(max(0, character), len(text))
        units = self.codec.client_num_units(text[:character]) if self.codec else character
        return types.Position(line=max(0, line), character=units)

    def range(self, r: Range) -> types.Range:
        start = self.position(r.start.line, r.start.character)
        end = self.position(r.end.line, r.end.character)
        if (end.line, end.character) < (start.line, start.character):
            end = start
        return types.Range(start=start, end=end)


INHERITED = "unchanged"  # Finding.baseline_state of an inherited finding (new-code mode)
INHERITED_SUFFIX = " (inherited)"


# The coverage checks' findings on lines the tests do not run ("line 4 not covered by
# the tests", "new lines 4-7 not covered by the tests"), not their summary ("coverage
# 61.0% is below the target 80%"); TEST-JSCOVERAGE is a Coverage too
_UNCOVERED = re.compile(r"(?:new )?lines? \d+(?:-\d+)? not covered by the tests")


def is_uncovered_lines(rc: ResolvedCheck, f: Finding) -> bool:
    """Whether ``f`` marks lines the tests do not run: coverage, shown as coverage."""
    return issubclass(rc.cls, Coverage) and _UNCOVERED.fullmatch(f.message) is not None


def finding_data(rc: ResolvedCheck, f: Finding) -> dict[str, Any]:
    data: dict[str, Any] = {
        "findingId": f.id,
        "phase": rc.phase,
        "check": rc.config.id,
        "owner": f.owner or rc.ctx.owner,
        "fix": f.fix.model_dump(mode="json") if f.fix is not None else None,
    }
    if f.baseline_state is not None:  # new-code mode only
        data["baselineState"] = f.baseline_state
    if is_uncovered_lines(rc, f):
        data["coverage"] = True
    return data


def shown(f: Finding, focus: NewCodeFocus) -> bool:
    """Whether ``f`` is shown at all (``hide`` leaves inherited findings out)."""
    return not (focus == "hide" and f.baseline_state == INHERITED)


def to_diagnostic(
    rc: ResolvedCheck, f: Finding, lm: LineMap, shown_on: str, focus: NewCodeFocus = "off"
) -> types.Diagnostic:
    message = f.message
    rng = f.range
    severity = types.DiagnosticSeverity(int(f.severity))
    if shown_on != f.path:
        # A finding about a missing file, shown on the anchor file: say where it belongs.
        message = f"{f.path}: {message}"
        rng = Range.lines(0)
    if focus == "quiet" and f.baseline_state == INHERITED:
        # inherited: never blocks in new-code mode, so it should not look like it does
        message += INHERITED_SUFFIX
        severity = types.DiagnosticSeverity.Hint
    if is_uncovered_lines(rc, f):
        severity = types.DiagnosticSeverity.Hint  # coverage, not a problem to fix here
    return types.Diagnostic(
        range=lm.range(rng),
        message=message,
        severity=severity,
        code=rc.config.id,
        code_description=types.CodeDescription(href=rc.cls.docs_url(rc.config.id)),
        source=SOURCE,
        data=finding_data(rc, f),
    )


class Diagnostics:
    """Builds, publishes and serves the diagnostics of one server."""

    def __init__(self, server: PhasegateServer) -> None:
        self.server = server
        self.mode: str = "push"
        self.refresh_support = False
        self._published: set[str] = set()  # uris with a non-empty pushed list
        self.publish_count = 0
        self._queue: list[str] = []  # files still to push, in order
        self._drain: asyncio.Handle | None = None  # the next chunk's turn
        self._changed: asyncio.Event | None = None

    # -- setup ---------------------------------------------------------------------------
    def choose_mode(self, caps: types.ClientCapabilities, wanted: str) -> str:
        td = caps.text_document
        pull = td is not None and td.diagnostic is not None
        ws = caps.workspace
        self.refresh_support = bool(
            ws is not None and ws.diagnostics is not None and ws.diagnostics.refresh_support
        )
        if wanted == "push":
            self.mode = "push"
        elif wanted == "pull":
            self.mode = "pull" if pull else "push"
        else:
            self.mode = "pull" if pull and self.refresh_support else "push"
        return self.mode

    # -- building -------------------------------------------------------------------------
    def _codec(self) -> Any:
        try:
            return self.server.workspace.position_codec
        except RuntimeError:
            return None

    def build(self, rel: str) -> list[types.Diagnostic]:
        """Every diagnostic shown on ``rel`` (config errors first, then findings)."""
        eng = self.server.engine
        if eng is None:
            return []
        out: list[types.Diagnostic] = []
        lm: LineMap | None = None
        problems = [p for p in eng.problems if p.path == rel]
        focus = self.server.settings.new_code_focus
        items = eng.live.findings_for(rel) if eng.live is not None else []
        items = [(rc, f) for rc, f in items if shown(f, focus)]
        if problems or items:
            lm = LineMap(eng.workspace.read_text(rel), self._codec())
        text = eng.workspace.read_text(rel) if problems else None
        for p in problems:
            assert lm is not None
            pos = lm.position(p.line, p.column)
            end = lm.position(p.line, EOL)
            fix = config_fix(p, text)
            out.append(
                types.Diagnostic(
                    range=types.Range(start=pos, end=end if end.character > pos.character else pos),
                    message=f"{p.key}: {p.message}" if p.key else p.message,
                    severity=types.DiagnosticSeverity.Warning
                    if p.severity == "warning"
                    else types.DiagnosticSeverity.Error,
                    code=CONFIG_CODE,
                    code_description=types.CodeDescription(href=configuration_docs_uri()),
                    source=SOURCE,
                    data={"fix": fix.model_dump(mode="json")} if fix is not None else None,
                )
            )
        for rc, f in items:
            assert lm is not None
            out.append(to_diagnostic(rc, f, lm, rel, focus))
        return out

    def all_paths(self) -> set[str]:
        eng = self.server.engine
        if eng is None:
            return set()
        paths = {p.path for p in eng.problems if p.path}
        if eng.live is not None:
            paths |= set(eng.live.display_paths())
        return paths

    # -- push -----------------------------------------------------------------------------
    def update(self, rels: set[str]) -> None:
        """The findings shown on ``rels`` changed: push them, or ask the client to pull."""
        eng = self.server.engine
        if eng is None or not rels:
            return
        if self._changed is not None:
            self._changed.set()
            self._changed = None
        if self.mode == "pull":
            if self.refresh_support:
                self.server.workspace_diagnostic_refresh(None)
            return
        # The documents the editor shows go first, then a small update (a save's) before
        # what a big one left; a big update (a tool's findings on thousands of files)
        # goes out PUBLISH_CHUNK files per turn of the event loop, so that it never
        # holds up a save's publish. Each file is built when it goes out: what it shows
        # then is the latest.
        shown = self.server.core.documents
        small = rels if len(rels) <= PUBLISH_CHUNK else set()
        queue = set(self._queue) | rels
        self._queue = sorted(queue, key=lambda r: (r not in shown, r not in small, r))
        self._publish_some()

    @property
    def pending(self) -> bool:
        """Whether files are still waiting for their turn to be pushed."""
        return bool(self._queue)

    def _publish_some(self) -> None:
        self._drain = None
        eng = self.server.engine
        if eng is None:
            self._queue = []
            return
        loop = self.server.loop
        chunk = PUBLISH_CHUNK if loop is not None else len(self._queue)
        batch, self._queue = self._queue[:chunk], self._queue[chunk:]
        until = time.monotonic() + PUBLISH_SLICE
        for i, rel in enumerate(batch):
            if i and loop is not None and time.monotonic() > until:
                self._queue = batch[i:] + self._queue  # the rest at the next turn
                break
            uri = uri_for(eng.root, rel)
            diags = self.build(rel)
            if not diags and uri not in self._published:
                continue
            self.server.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=diags)
            )
            self.publish_count += 1
            if diags:
                self._published.add(uri)
            else:
                self._published.discard(uri)
        if self._queue and loop is not None and self._drain is None:
            self._drain = loop.call_soon(self._publish_some)

    def republish_all(self) -> None:
        eng = self.server.engine
        if eng is None:
            return
        rels = self.all_paths()
        stale = {rel_for(eng.root, u) for u in self._published}
        self.update(rels | {r for r in stale if r is not None})

    # -- pull -----------------------------------------------------------------------------
    def _result_id(self, diags: list[types.Diagnostic]) -> str:
        conv = self.server.protocol._converter
        raw = json.dumps(conv.unstructure(diags), sort_keys=True)
        return hashlib.sha1(raw.encode()).hexdigest()[:16]

    def document_report(
        self, params: types.DocumentDiagnosticParams
    ) -> types.DocumentDiagnosticReport:
        eng = self.server.engine
        rel = rel_for(eng.root, params.text_document.uri) if eng else None
        diags = self.build(rel) if rel is not None else []
        rid = self._result_id(diags)
        if params.previous_result_id == rid:
            return types.RelatedUnchangedDocumentDiagnosticReport(result_id=rid)
        return types.RelatedFullDocumentDiagnosticReport(items=diags, result_id=rid)

    async def workspace_report_when_changed(
        self, params: types.WorkspaceDiagnosticParams, wait: float = 60.0
    ) -> types.WorkspaceDiagnosticReport:
        """Answer at once when something changed since the client's last pull; else hold
        the request (long poll) until the findings change or ``wait`` seconds pass.

        A client's first pull (no previous result ids) comes right after startup, while
        the checks of the opened workspace still run: it is answered when they are done
        (at most :data:`FIRST_PULL_WAIT` seconds), so that the client does not show an
        empty Problems list next to a status that already has scores (VS Code pulls the
        workspace again only a while after each answer)."""
        if not params.previous_result_ids:
            await self.server.scheduler.idle(FIRST_PULL_WAIT)
        report = self.workspace_report(params)
        unchanged = all(
            isinstance(i, types.WorkspaceUnchangedDocumentDiagnosticReport) for i in report.items
        )
        if not (unchanged and params.previous_result_ids):
            return report
        if self._changed is None:
            self._changed = asyncio.Event()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._changed.wait(), wait)
        return self.workspace_report(params)

    def workspace_report(
        self, params: types.WorkspaceDiagnosticParams
    ) -> types.WorkspaceDiagnosticReport:
        eng = self.server.engine
        if eng is None:
            return types.WorkspaceDiagnosticReport(items=[])
        previous = {p.uri: p.value for p in params.previous_result_ids}
        items: list[types.WorkspaceDocumentDiagnosticReport] = []
        rels = self.all_paths()
        rels |= {r for r in (rel_for(eng.root, u) for u in previous) if r is not None}
        for rel in sorted(rels):
            uri = uri_for(eng.root, rel)
            diags = self.build(rel)
            rid = self._result_id(diags)
            if previous.get(uri) == rid:
                items.append(
                    types.WorkspaceUnchangedDocumentDiagnosticReport(
                        uri=uri, result_id=rid, version=None
                    )
                )
            else:
                items.append(
                    types.WorkspaceFullDocumentDiagnosticReport(
                        uri=uri, items=diags, result_id=rid, version=None
                    )
                )
        return types.WorkspaceDiagnosticReport(items=items)


def register_pull(server: PhasegateServer) -> None:
    """Register the pull handlers (called from ``initialize`` in pull mode only)."""
    options = types.DiagnosticOptions(
        identifier=SOURCE, inter_file_dependencies=True, workspace_diagnostics=True
    )

    @server.feature(types.TEXT_DOCUMENT_DIAGNOSTIC, options)
    async def document_diagnostic(
        ls: PhasegateServer, params: types.DocumentDiagnosticParams
    ) -> types.DocumentDiagnosticReport:
        await ls.wait_loaded()  # a pull right after startup gets the config's errors
        return ls.diagnostics.document_report(params)

    @server.feature(types.WORKSPACE_DIAGNOSTIC)
    async def workspace_diagnostic(
        ls: PhasegateServer, params: types.WorkspaceDiagnosticParams
    ) -> types.WorkspaceDiagnosticReport:
        await ls.wait_loaded()
        return await ls.diagnostics.workspace_report_when_changed(params)
