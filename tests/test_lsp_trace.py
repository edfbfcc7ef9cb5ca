"""Traceability: hover on a requirement id in any file, go to its definition."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from test_lsp_helpers import CLIENTS, make_workspace, start

pytestmark = pytest.mark.timeout(120)

DESIGN = """\
# Design

## Components

The list service implements REQ-001 and REQ-002.
"""
TEST = '''\
from app import add


def test_add() -> None:
    """REQ-001"""
    items: list[str] = []
    add(items, "a")
    assert items == ["a"]
'''


@pytest.mark.parametrize("client_name", CLIENTS)
async def test_hover_and_definition_of_a_requirement_id(tmp_path: Path, client_name: str) -> None:
    root = make_workspace(tmp_path, {"docs/design.md": DESIGN, "tests/test_app.py": TEST})
    async with start(root, client_name) as s:
        await s.settle()
        s.open("app.py")
        line = (root / "app.py").read_text().splitlines()[4]
        col = line.index("REQ-001") + 2
        pos = types.Position(line=4, character=col)
        doc = types.TextDocumentIdentifier(s.uri("app.py"))
        hover = await s.client.text_document_hover_async(
            types.HoverParams(text_document=doc, position=pos)
        )
        assert hover is not None
        assert isinstance(hover.contents, types.MarkupContent)
        text = hover.contents.value
        assert "**REQ-001** — Add items" in text
        assert f"({s.uri('docs/requirements.md')}#L9)" in text  # "### REQ-001" is line 9
        assert "docs/design.md § Components" in text
        assert "Implemented: [app.py:5]" in text
        assert "Tested: [tests/test_app.py:5]" in text
        assert hover.range is not None and hover.range.start.character == line.index("REQ-001")

        loc = await s.client.text_document_definition_async(
            types.DefinitionParams(text_document=doc, position=pos)
        )
        assert isinstance(loc, types.Location)
        assert loc.uri == s.uri("docs/requirements.md")
        assert loc.range.start.line == 8 and loc.range.start.character == 4

        # an undefined id says so; a position without an id gives nothing
        s.save("app.py", (root / "app.py").read_text().replace("REQ-001", "REQ-042"))
        s.client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=doc))
        hover = await s.client.text_document_hover_async(
            types.HoverParams(text_document=doc, position=pos)
        )
        assert hover is not None and isinstance(hover.contents, types.MarkupContent)
        assert "**REQ-042** is not defined" in hover.contents.value
        none = await s.client.text_document_hover_async(
            types.HoverParams(text_document=doc, position=types.Position(line=0, character=0))
        )
        assert none is None
