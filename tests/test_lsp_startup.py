"""Requests sent right after ``initialized``, while the server is still loading the
workspace's configuration: they wait for the load instead of failing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types
from test_lsp_helpers import CLIENTS, make_workspace, start, wait_for

pytestmark = pytest.mark.timeout(120)

# A threshold that differs from the default: the answers show the config was read.
CONFIG = """\
thresholds = [0.5]
"""


@pytest.mark.parametrize("client_name", CLIENTS)
async def test_commands_right_after_initialized_wait_for_the_config(
    tmp_path: Path, client_name: str
) -> None:
    root = make_workspace(tmp_path, {"phasegate.toml": CONFIG})
    async with start(root, client_name, {"settings": {"watch": "off"}}) as s:
        # no settle(): these go out at once, before the server has read phasegate.toml
        validate, status, sessions = await asyncio.gather(
            s.command("phasegate.validate", {"phase": "requirements"}),
            s.command("phasegate.status"),
            s.command("phasegate.listSessions"),
        )
        assert [p["name"] for p in validate["phases"]][:1] == ["requirements"]
        req = validate["phases"][0]
        assert req["threshold"] == 0.5  # the workspace's config, not the default
        assert any(c["id"] == "REQ-SECTIONS" and c["findings"] for c in req["checks"])
        assert status["phases"], "status answered before the config was loaded"
        assert sessions == []
        st = await s.stats()
        assert st["ready"] is True


@pytest.mark.parametrize("client_name", CLIENTS)
async def test_hover_and_code_action_right_after_initialized(
    tmp_path: Path, client_name: str
) -> None:
    root = make_workspace(tmp_path)
    # A diagnostic the client still holds from the previous server (e.g. after a restart).
    async with start(root, client_name) as s:
        await s.settle()
        await wait_for(lambda: "REQ-SECTIONS" in s.codes("docs/requirements.md"))
        diag = next(d for d in s.diags("docs/requirements.md") if d.code == "REQ-SECTIONS")
    assert diag.data and diag.data["fix"]
    async with start(root, client_name, {"settings": {"watch": "off"}}) as s:
        hover_params = types.HoverParams(
            text_document=types.TextDocumentIdentifier(s.uri("app.py")),
            position=types.Position(line=4, character=8),  # on REQ-001 in the docstring
        )
        action_params = types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(s.uri("docs/requirements.md")),
            range=diag.range,
            context=types.CodeActionContext(diagnostics=[diag]),
        )
        hover, actions = await asyncio.gather(
            s.client.text_document_hover_async(hover_params),
            s.client.text_document_code_action_async(action_params),
        )
        assert hover is not None, "hover answered before the config was loaded"
        assert isinstance(hover.contents, types.MarkupContent)
        assert "**REQ-001** — Add items" in hover.contents.value
        titles = [a.title for a in actions or []]
        assert f"Apply fix: {diag.data['fix']['title']}" in titles
