"""Shared helpers of the language-server tests (pytest-lsp): a sample workspace, a client
started on it with a real client's capabilities, polling, and applying WorkspaceEdits.

Also tests the helpers that other tests rely on to fail for the right reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

CLIENTS = ["visual-studio-code", "neovim"]
SERVER = [sys.executable, "-m", "phasegate", "serve"]

REQUIREMENTS = """\
# Requirements

## Overview

A small list keeper — ünïcode on purpose.

## Functional requirements

### REQ-001: Add items

Users add items to the list.

Acceptance criteria:
- An item with a name can be added.
- An empty name is rejected.

### REQ-002: List items

Users list the items they added.

Acceptance criteria:
- Listing returns the items in the order they were added.
"""

APP = '''\
import os


def add(items: list[str], name: str) -> None:
    """REQ-001: add an item."""
    if not name:
        raise ValueError("empty name")
    items.append(name)
'''

README = """\
# Listkeeper

## Installation

pip install listkeeper

## Usage

Call add().
"""


def make_workspace(root: Path, files: dict[str, str] | None = None) -> Path:
    """The sample workspace: requirements missing one section (a fixable finding), a
    module with an unused import (ruff's fixable F401), no design (a missing file)."""
    base = {"docs/requirements.md": REQUIREMENTS, "app.py": APP, "README.md": README}
    base.update(files or {})
    for rel, text in base.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


def plain(o: Any) -> Any:
    """pygls' client turns JSON objects into named tuples: back to dicts and lists."""
    if hasattr(o, "_asdict"):
        return {k: plain(v) for k, v in o._asdict().items()}
    if isinstance(o, (list, tuple)):
        return [plain(v) for v in o]
    if isinstance(o, dict):
        return {k: plain(v) for k, v in o.items()}
    return o


def capabilities(name: str, **extra: Any) -> types.ClientCapabilities:
    caps = client_capabilities(name)
    if extra.get("pull"):
        caps.text_document = caps.text_document or types.TextDocumentClientCapabilities()
        caps.text_document.diagnostic = types.DiagnosticClientCapabilities(
            dynamic_registration=False, related_document_support=True
        )
        caps.workspace = caps.workspace or types.WorkspaceClientCapabilities()
        caps.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(
            refresh_support=True
        )
    return caps


class Session:
    """A started client plus what the server sent besides diagnostics."""

    def __init__(self, client: LanguageClient, root: Path) -> None:
        self.client = client
        self.root = root
        self.statuses: list[dict[str, Any]] = []
        self.registrations: list[types.RegistrationParams] = []
        self.encoding = "utf-16"

    def uri(self, rel: str) -> str:
        return (self.root / rel).resolve().as_uri()

    def diags(self, rel: str) -> list[types.Diagnostic]:
        return list(self.client.diagnostics.get(self.uri(rel), []))

    def codes(self, rel: str) -> set[str]:
        return {str(d.code) for d in self.diags(rel)}

    async def request(self, method: str, params: Any = None) -> Any:
        return plain(await self.client.protocol.send_request_async(method, params or {}))

    async def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.request("phasegate/stats")
        return result

    async def command(self, name: str, arg: dict[str, Any] | None = None) -> Any:
        params = types.ExecuteCommandParams(command=name, arguments=[arg] if arg else None)
        return plain(await self.client.workspace_execute_command_async(params))

    async def settle(self, timeout: float = 30.0, after_jobs: int | None = None) -> dict[str, Any]:
        """Wait until the server is ready and idle (and ran more than ``after_jobs`` jobs)."""
        deadline = time.monotonic() + timeout
        while True:
            st = await self.stats()
            if st["ready"] and not st["busy"] and (after_jobs is None or st["jobs"] > after_jobs):
                await asyncio.sleep(0.05)  # let the last publish arrive
                return st
            if time.monotonic() > deadline:
                raise AssertionError(f"server did not settle: {st}")
            await asyncio.sleep(0.05)

    def save(self, rel: str, text: str | None = None) -> None:
        """Write ``text`` (if given) and send didSave, as an editor does."""
        if text is not None:
            (self.root / rel).write_text(text, encoding="utf-8")
        self.client.text_document_did_save(
            types.DidSaveTextDocumentParams(
                text_document=types.TextDocumentIdentifier(self.uri(rel))
            )
        )

    def open(self, rel: str) -> None:
        text = (self.root / rel).read_text(encoding="utf-8")
        lang = "python" if rel.endswith(".py") else "markdown"
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=self.uri(rel), language_id=lang, version=1, text=text
                )
            )
        )

    def apply(self, edit: types.WorkspaceEdit) -> list[str]:
        """Apply a WorkspaceEdit to the files on disk; returns the paths changed."""
        per_uri: dict[str, list[types.TextEdit]] = {}
        if edit.changes:
            for uri, edits in edit.changes.items():
                per_uri.setdefault(uri, []).extend(edits)
        for dc in edit.document_changes or []:
            if isinstance(dc, types.TextDocumentEdit):
                per_uri.setdefault(dc.text_document.uri, []).extend(
                    e for e in dc.edits if isinstance(e, types.TextEdit)
                )
            elif isinstance(dc, types.CreateFile):
                path = Path(dc.uri.removeprefix("file://"))
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch()
        changed = []
        for uri, edits in per_uri.items():
            path = Path(uri.removeprefix("file://"))
            text = path.read_text(encoding="utf-8") if path.exists() else ""
            path.write_text(apply_text_edits(text, edits, self.encoding), encoding="utf-8")
            changed.append(path.relative_to(self.root.resolve()).as_posix())
        return changed


def _offset(lines: list[str], pos: types.Position, encoding: str) -> int:
    line = min(pos.line, len(lines) - 1)
    before = sum(len(x) for x in lines[:line])
    text = lines[line]
    units = 0
    for i, ch in enumerate(text):
        if units >= pos.character:
            return before + i
        if encoding == "utf-8":
            units += len(ch.encode("utf-8"))
        elif encoding == "utf-16":
            units += 2 if ord(ch) > 0xFFFF else 1
        else:
            units += 1
    return before + len(text.rstrip("\n")) if units < pos.character else before + len(text)


def apply_text_edits(text: str, edits: list[types.TextEdit], encoding: str = "utf-16") -> str:
    lines = text.splitlines(keepends=True) or [""]
    if text.endswith("\n"):
        lines.append("")
    spans = [
        (_offset(lines, e.range.start, encoding), _offset(lines, e.range.end, encoding), e.new_text)
        for e in edits
    ]
    for start, end, new in sorted(spans, key=lambda s: (s[0], s[1]), reverse=True):
        text = text[:start] + new + text[end:]
    return text


async def wait_for(
    cond: Callable[[], bool], timeout: float = 90.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def start(
    root: Path,
    client_name: str = "visual-studio-code",
    options: dict[str, Any] | None = None,
    *,
    pull: bool = False,
    register_watchers: bool = False,
) -> AsyncIterator[Session]:
    """Start ``phasegate serve`` on ``root`` with a real client's capabilities."""
    client = await ClientServerConfig(server_command=SERVER).start()
    assert isinstance(client, LanguageClient)
    sess = Session(client, root)

    @client.feature("phasegate/status")
    def _status(params: Any) -> None:
        sess.statuses.append(plain(params))

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def _register(params: types.RegistrationParams) -> None:
        if not register_watchers:
            raise RuntimeError("this client does not register watchers")
        sess.registrations.append(params)

    caps = capabilities(client_name, pull=pull)
    result = await client.initialize_session(
        types.InitializeParams(
            capabilities=caps,
            root_uri=root.resolve().as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.resolve().as_uri(), name="ws")],
            initialization_options=options,
        )
    )
    enc = result.capabilities.position_encoding
    sess.encoding = str(enc.value if hasattr(enc, "value") else enc or "utf-16")
    try:
        yield sess
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.shutdown_session(), 10)
        await client.stop()


# -- tests of the helpers ------------------------------------------------------------------


def test_apply_text_edits_handles_utf16_and_insertions() -> None:
    text = "a😀b\nsecond\n"
    edits = [
        types.TextEdit(
            range=types.Range(
                start=types.Position(line=0, character=3), end=types.Position(line=0, character=4)
            ),
            new_text="B",
        ),
        types.TextEdit(
            range=types.Range(
                start=types.Position(line=2, character=0), end=types.Position(line=2, character=0)
            ),
            new_text="third\n",
        ),
    ]
    assert apply_text_edits(text, edits, "utf-16") == "a😀B\nsecond\nthird\n"


def test_plain_turns_named_tuples_into_dicts() -> None:
    from collections import namedtuple

    nt = namedtuple("nt", ["a", "b"])
    assert plain(nt(1, [nt(2, 3)])) == {"a": 1, "b": [{"a": 2, "b": 3}]}
