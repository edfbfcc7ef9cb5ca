"""Open fast, then fill in (pytest-lsp, default settings): the document the editor shows
is published before any other file, the rest of the workspace follows in the background;
a save publishes the saved file's per-file findings before the project checks' (ruff);
a workspace over ``maxEagerFiles`` analyses only what is shown and changed until the
whole workspace is asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from test_lsp_helpers import Session, make_workspace, start, wait_for

pytestmark = pytest.mark.timeout(180)
GUARD = 150.0  # bounds a failure only: every step waits for what the server sends

GOOD = '''"""Module {i}."""


def feature_{i}(value: int) -> int:
    """Twice the value."""
    return value * 2
'''
STUB = '''"""Module {i}."""


def feature_{i}(value: int) -> int:
    """Not written yet."""
    raise NotImplementedError
'''
PYPROJECT = '[project]\nname = "big"\nversion = "0.1.0"\n\n[tool.ruff.lint]\nselect = ["F"]\n'


class Recorded(dict[str, Any]):
    """The client's diagnostics, remembering the order of the publishes."""

    def __init__(self) -> None:
        super().__init__()
        self.order: list[tuple[str, set[str]]] = []

    def __setitem__(self, uri: str, diags: Any) -> None:
        self.order.append((uri, {str(d.code) for d in diags}))
        super().__setitem__(uri, diags)


def recording(s: Session) -> Recorded:
    rec = Recorded()
    s.client.diagnostics = rec  # type: ignore[assignment]
    return rec


def big_workspace(root: Path, n: int) -> dict[str, str]:
    """``n`` modules, every third a stub; the ones to open sort last."""
    files = {"pyproject.toml": PYPROJECT}
    for i in range(n):
        files[f"pkg/d{i // 50}/m{i:04d}.py"] = (STUB if i % 3 == 0 else GOOD).format(i=i)
    files["zz/opened.py"] = STUB.format(i="opened")
    files["zz/other.py"] = STUB.format(i="other")
    files["zz/third.py"] = STUB.format(i="third")
    make_workspace(root, files)
    return files


async def test_the_opened_document_is_published_before_any_other_file(tmp_path: Path) -> None:
    big_workspace(tmp_path, 300)
    async with start(tmp_path, register_watchers=True) as s:
        rec = recording(s)
        s.open("zz/opened.py")  # as an editor restoring its tabs, right after initialized
        await wait_for(lambda: "IMPL-STUB" in s.codes("zz/opened.py"), GUARD, "opened file")
        await s.settle(GUARD)
        published = [uri for uri, codes in rec.order if codes]
        assert published[0] == s.uri("zz/opened.py")
        # then the rest of the workspace, in the background: every stub is shown
        assert "IMPL-STUB" in s.codes("pkg/d0/m0000.py")
        assert "IMPL-STUB" in s.codes("pkg/d5/m0297.py")
        assert "IMPL-STUB" in s.codes("zz/other.py")
        assert not s.codes("pkg/d0/m0001.py")
        status = await s.command("phasegate.status")
        impl = next(p for p in status["phases"] if p["name"] == "implementation")
        stub = next(c for c in impl["checks"] if c["id"] == "IMPL-STUB")
        assert stub["skipped"] is None and stub["findings_total"] == 100 + 3


async def test_a_save_publishes_its_own_findings_before_the_project_checks(
    tmp_path: Path,
) -> None:
    make_workspace(tmp_path, {"pyproject.toml": PYPROJECT, "app.py": GOOD.format(i=1)})
    async with start(tmp_path) as s:
        await s.settle(GUARD)
        assert "IMPL-LINT" not in s.codes("app.py") and "IMPL-STUB" not in s.codes("app.py")
        rec = recording(s)
        s.save("app.py", "import os\n\n" + STUB.format(i=1))  # a stub, an unused import
        await wait_for(
            lambda: {"IMPL-STUB", "IMPL-LINT"} <= s.codes("app.py"), GUARD, "both findings"
        )
        await s.settle(GUARD)
        mine = [codes for uri, codes in rec.order if uri == s.uri("app.py")]
        # the per-file checks first, on their own: ruff's finding comes in a later publish
        assert mine[0] == {"IMPL-STUB"}
        assert any({"IMPL-STUB", "IMPL-LINT"} <= codes for codes in mine[1:])


async def test_a_workspace_over_the_eager_limit_waits_to_be_asked(tmp_path: Path) -> None:
    big_workspace(tmp_path, 30)
    options = {"settings": {"maxEagerFiles": 10}}
    async with start(tmp_path, options=options, register_watchers=True) as s:
        s.open("zz/opened.py")
        await wait_for(lambda: "IMPL-STUB" in s.codes("zz/opened.py"), GUARD, "opened file")
        await s.settle(GUARD)
        # only the shown document was analysed; the others wait
        assert not s.codes("zz/other.py") and not s.codes("pkg/d0/m0000.py")
        status = await s.command("phasegate.status")
        impl = next(p for p in status["phases"] if p["name"] == "implementation")
        stub = next(c for c in impl["checks"] if c["id"] == "IMPL-STUB")
        assert stub["skipped"] and "analyse the whole workspace" in stub["skipped"]
        # a file that changes is analysed
        s.save("zz/other.py", STUB.format(i="other") + "\n# edited\n")
        await wait_for(lambda: "IMPL-STUB" in s.codes("zz/other.py"), GUARD, "changed file")
        await s.settle(GUARD)
        assert not s.codes("zz/third.py")
        # until the whole workspace is asked for
        status = await s.command("phasegate.analyseWorkspace")
        assert "IMPL-STUB" in s.codes("zz/third.py")
        assert "IMPL-STUB" in s.codes("pkg/d0/m0000.py")
        impl = next(p for p in status["phases"] if p["name"] == "implementation")
        stub = next(c for c in impl["checks"] if c["id"] == "IMPL-STUB")
        assert stub["skipped"] is None and stub["findings_total"] == 10 + 3
        # and it stays analysed whole: a change is a delta again
        s.save("pkg/d0/m0001.py", STUB.format(i=1))
        await wait_for(lambda: "IMPL-STUB" in s.codes("pkg/d0/m0001.py"), GUARD, "delta")
        await s.settle(GUARD)
        status = await s.command("phasegate.status")
        impl = next(p for p in status["phases"] if p["name"] == "implementation")
        stub = next(c for c in impl["checks"] if c["id"] == "IMPL-STUB")
        assert stub["findings_total"] == 11 + 3


async def test_work_done_progress_while_the_workspace_fills_in(tmp_path: Path) -> None:
    big_workspace(tmp_path, 60)
    async with start(tmp_path) as s:
        await s.settle(GUARD)
        await wait_for(lambda: bool(s.client.progress_reports), GUARD, "progress")
        reports = next(iter(s.client.progress_reports.values()))
        begin, end = reports[0], reports[-1]
        assert isinstance(begin, types.WorkDoneProgressBegin)
        assert begin.title == "phasegate: analysing the workspace"
        assert isinstance(end, types.WorkDoneProgressEnd) and end.message == "done"
        # how far it got ("N/M files" while the per-file checks run, "N/M checks" after):
        # reports made before the client created the token are summed up in the last one
        messages = [r.message for r in reports if isinstance(r, types.WorkDoneProgressReport)]
        assert all(m and m.endswith((" files", " checks")) for m in messages)
