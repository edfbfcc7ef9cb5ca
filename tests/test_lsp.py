"""The language server end to end, driven by pytest-lsp with real clients' capabilities
(VS Code and Neovim): diagnostics, code actions, incremental re-runs, config errors."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from lsprotocol import types
from test_lsp_helpers import CLIENTS, README, make_workspace, start, wait_for

from phasegate.config import default_config
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("client_name", CLIENTS)
async def test_diagnostics_on_open(tmp_path: Path, client_name: str) -> None:
    root = make_workspace(tmp_path)
    async with start(root, client_name) as s:
        await s.settle()
        await wait_for(lambda: "REQ-SECTIONS" in s.codes("docs/requirements.md"), what="REQ")
        d = next(d for d in s.diags("docs/requirements.md") if d.code == "REQ-SECTIONS")
        assert d.source == "phasegate"
        assert d.code_description is not None
        assert d.code_description.href.endswith("#req-sections")
        # the link works offline: the rendered checks reference installed with the package
        doc, _, anchor = d.code_description.href.partition("#")
        assert doc.startswith("file://")
        page = Path(unquote(urlparse(doc).path))
        assert page.name == "checks.html" and page.parent.name == "reference"
        assert f'<a id="{anchor}"></a>' in page.read_text(encoding="utf-8")
        assert d.severity == types.DiagnosticSeverity.Warning
        assert set(d.data) == {"findingId", "phase", "check", "owner", "fix"}
        assert d.data["phase"] == "requirements" and d.data["check"] == "REQ-SECTIONS"
        assert d.data["owner"] == "requirement_analyst"
        assert d.data["fix"]["title"].startswith("Add the ")
        assert "IMPL-LINT" in s.codes("app.py")
        # the missing design document is shown on the README (no config file here)
        readme = s.diags("README.md")
        missing = [d for d in readme if d.code == "DES-EXISTS"]
        assert missing and missing[0].message.startswith("docs/design.md: ")
        assert not (root / "docs" / "design.md").exists()  # nothing was written
        st = await s.stats()
        assert st["diagnosticsMode"] == "push"


@pytest.mark.parametrize("client_name", CLIENTS)
async def test_apply_fix_then_save_clears_the_diagnostic(tmp_path: Path, client_name: str) -> None:
    # Every step waits for what the server sends, never for a time: the deadlines are
    # guards against a server that never answers (the module's timeout is the last one).
    guard = 90.0
    root = make_workspace(tmp_path)
    async with start(root, client_name) as s:
        await s.settle(timeout=guard)
        await wait_for(lambda: "REQ-SECTIONS" in s.codes("docs/requirements.md"), guard)
        d = next(d for d in s.diags("docs/requirements.md") if d.code == "REQ-SECTIONS")
        actions = await s.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(s.uri("docs/requirements.md")),
                range=d.range,
                context=types.CodeActionContext(diagnostics=[d]),
            )
        )
        assert actions
        fixes = [
            a
            for a in actions
            if isinstance(a, types.CodeAction) and a.title.startswith("Apply fix: ")
        ]
        assert len(fixes) == 1 and fixes[0].edit is not None
        assert fixes[0].kind == types.CodeActionKind.QuickFix
        assert s.apply(fixes[0].edit) == ["docs/requirements.md"]
        assert "## Non-functional requirements" in (root / "docs/requirements.md").read_text()
        s.save("docs/requirements.md")
        await wait_for(
            lambda: "REQ-SECTIONS" not in s.codes("docs/requirements.md"),
            guard,
            what="fix to clear",
        )
        # ruff's own fix for the unused import, the same way
        await wait_for(lambda: "IMPL-LINT" in s.codes("app.py"), guard, what="lint finding")
        lint = next(d for d in s.diags("app.py") if d.code == "IMPL-LINT")
        actions = await s.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(s.uri("app.py")),
                range=lint.range,
                context=types.CodeActionContext(diagnostics=[lint]),
            )
        )
        fix = next(a for a in actions or [] if a.title.startswith("Apply fix: "))
        assert isinstance(fix, types.CodeAction) and fix.edit is not None
        s.apply(fix.edit)
        assert "import os" not in (root / "app.py").read_text()
        s.save("app.py")
        await wait_for(lambda: "IMPL-LINT" not in s.codes("app.py"), guard, what="lint to clear")
        # The diagnostic clears as soon as the saved file's findings are published, while
        # the run goes on re-scoring: let it finish before the session ends. A server told
        # to exit while busy keeps sending to its closed output, and on a loaded machine
        # its error log outgrows the stderr pipe that the client no longer reads, so the
        # server never exits (a server problem of its own, not what this test checks).
        await s.settle(timeout=guard)


async def test_fix_all_source_action(tmp_path: Path) -> None:
    reqs = "# Requirements\n\n### REQ-001: One\n\nText.\n\nAcceptance criteria:\n- ok\n"
    root = make_workspace(tmp_path, {"docs/requirements.md": reqs})
    async with start(root) as s:
        await s.settle()
        await wait_for(lambda: "REQ-SECTIONS" in s.codes("docs/requirements.md"))
        fixable = [
            d
            for d in s.diags("docs/requirements.md")
            if d.code == "REQ-SECTIONS" and d.data and d.data["fix"]
        ]
        assert len(fixable) >= 2
        actions = await s.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(s.uri("docs/requirements.md")),
                range=types.Range(start=types.Position(0, 0), end=types.Position(0, 0)),
                context=types.CodeActionContext(
                    diagnostics=[], only=[types.CodeActionKind.SourceFixAll]
                ),
            )
        )
        assert actions
        (fix_all,) = actions
        assert isinstance(fix_all, types.CodeAction)
        assert fix_all.kind == "source.fixAll.phasegate" and fix_all.edit is not None
        s.apply(fix_all.edit)
        s.save("docs/requirements.md")
        await wait_for(
            lambda: (
                not any(
                    d.code == "REQ-SECTIONS" and d.data and d.data["fix"]
                    for d in s.diags("docs/requirements.md")
                )
            ),
            what="all fixes applied",
        )


@pytest.mark.parametrize("client_name", CLIENTS)
async def test_save_reruns_exactly_the_matching_checks(tmp_path: Path, client_name: str) -> None:
    root = make_workspace(tmp_path)
    expected = {
        rel: {
            rc.key for rc in GateRunner(Workspace(root), default_config()).checks_for_paths([rel])
        }
        for rel in ("app.py", "docs/requirements.md")
    }
    assert expected["app.py"] != expected["docs/requirements.md"]
    async with start(root, client_name, {"settings": {"watch": "off"}}) as s:
        st = await s.settle()
        for rel, text in (
            ("app.py", "def add(x: int) -> int:\n    return x\n"),
            ("docs/requirements.md", README),
        ):
            jobs = st["jobs"]
            s.save(rel, text)
            st = await s.settle(after_jobs=jobs)
            new_jobs = [j for j in st["history"] if j["id"] > jobs]
            assert new_jobs and all(j["trigger"] == "save" for j in new_jobs)
            assert all(j["paths"] == [rel] for j in new_jobs)
            ran = {c for j in new_jobs for c in j["checks"]}
            assert ran == expected[rel], rel
            if rel == "app.py":
                # the per-file checks re-analysed only the saved file
                counts = {a["check"]: a["count"] for j in new_jobs for a in j["analysed"]}
                assert counts["IMPL-SYNTAX"] == 1 and counts["IMPL-STUB"] == 1
        # the requirements are gone (the file is now a README): the findings follow
        await wait_for(lambda: "REQ-IDS" in s.codes("docs/requirements.md"), what="REQ-IDS")


async def test_identical_save_reported_twice_runs_once(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    async with start(root, options={"settings": {"watch": "off"}}) as s:
        st = await s.settle()
        s.save("app.py", "def add(x: int) -> int:\n    return x\n")
        st = await s.settle(after_jobs=st["jobs"])
        jobs = st["jobs"]
        s.save("app.py")  # same content, same mtime: already processed
        s.client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=s.uri("app.py"), type=types.FileChangeType.Changed)]
            )
        )
        st = await s.settle()
        assert st["jobs"] == jobs


async def test_config_errors_are_diagnostics_on_the_config_file(tmp_path: Path) -> None:
    config = "thresholds = [0.5]\n\n[timeouts]\ncheck = 10\nbogus = 3\n"
    root = make_workspace(tmp_path, {"phasegate.toml": config})
    async with start(root) as s:
        await s.settle()
        await wait_for(lambda: "config" in s.codes("phasegate.toml"), what="config diagnostics")
        # (beside it, what the built-in defaults find meanwhile: test_s3_lsp_config_error)
        (d,) = [x for x in s.diags("phasegate.toml") if x.code == "config"]
        assert d.code == "config" and d.source == "phasegate"
        assert d.severity == types.DiagnosticSeverity.Error
        assert d.range.start.line == 4  # "bogus = 3", 0-based
        assert "bogus" in d.message
        status = await s.command("phasegate.status")
        assert status["configErrors"] and status["configErrors"][0]["line"] == 4
        # fixing the file on disk clears them and the checks run with the new config
        s.save("phasegate.toml", "thresholds = [0.5]\n")
        await wait_for(
            lambda: "config" not in s.codes("phasegate.toml"), what="config error to clear"
        )
        await s.settle()
        await wait_for(lambda: "REQ-SECTIONS" in s.codes("docs/requirements.md"))
        # with a config file, findings about missing files are shown on it
        await wait_for(lambda: "DES-EXISTS" in s.codes("phasegate.toml"), what="DES-EXISTS")
        assert "DES-EXISTS" not in s.codes("README.md")
        status = await s.command("phasegate.status")
        assert status["phases"][0]["threshold"] == 0.5


async def test_client_file_watcher_is_registered_and_used(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    async with start(root, "visual-studio-code", register_watchers=True) as s:
        st = await s.settle()
        assert st["watch"] == "client"
        (reg,) = s.registrations
        assert reg.registrations[0].method == "workspace/didChangeWatchedFiles"
        (root / "app.py").write_text("def f():\n    pass\n", encoding="utf-8")
        s.client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=s.uri("app.py"), type=types.FileChangeType.Changed)]
            )
        )
        await wait_for(lambda: "IMPL-STUB" in s.codes("app.py"), what="stub finding")
        # a deleted file loses its findings
        (root / "app.py").unlink()
        s.client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=s.uri("app.py"), type=types.FileChangeType.Deleted)]
            )
        )
        await wait_for(lambda: not s.diags("app.py"), what="findings of a deleted file to go")


@pytest.mark.parametrize("client_name", CLIENTS)
async def test_watchfiles_when_the_client_cannot_watch(tmp_path: Path, client_name: str) -> None:
    root = make_workspace(tmp_path)
    async with start(root, client_name) as s:
        st = await s.settle()
        assert st["watch"] == "server"
        (root / "app.py").write_text("def f():\n    pass\n", encoding="utf-8")
        await wait_for(lambda: "IMPL-STUB" in s.codes("app.py"), what="stub finding")
        # changes under .phasegate/ and ignored folders never trigger a run
        st = await s.settle()
        jobs = st["jobs"]
        (root / ".phasegate").mkdir(exist_ok=True)
        (root / ".phasegate" / "note.txt").write_text("x", encoding="utf-8")
        (root / "node_modules").mkdir()
        (root / "node_modules" / "m.py").write_text("def g():\n    pass\n", encoding="utf-8")
        await asyncio.sleep(0.6)
        st = await s.settle()
        assert st["jobs"] == jobs


async def test_pull_diagnostics_when_the_client_supports_them(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    async with start(root, "visual-studio-code", pull=True) as s:
        st = await s.settle()
        assert st["diagnosticsMode"] == "pull"
        assert not s.client.diagnostics  # nothing pushed
        report = await s.client.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(
                text_document=types.TextDocumentIdentifier(s.uri("docs/requirements.md"))
            )
        )
        assert isinstance(report, types.RelatedFullDocumentDiagnosticReport)
        assert "REQ-SECTIONS" in {d.code for d in report.items}
        again = await s.client.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(
                text_document=types.TextDocumentIdentifier(s.uri("docs/requirements.md")),
                previous_result_id=report.result_id,
            )
        )
        assert isinstance(again, types.RelatedUnchangedDocumentDiagnosticReport)
        refreshes = s.client.diagnostic_refresh_count
        s.save("app.py", "def f():\n    pass\n")
        await wait_for(lambda: s.client.diagnostic_refresh_count > refreshes, what="refresh")
        ws = await s.client.workspace_diagnostic_async(
            types.WorkspaceDiagnosticParams(previous_result_ids=[])
        )
        by_uri = {i.uri: i for i in ws.items}
        item = by_uri[s.uri("app.py")]
        assert isinstance(item, types.WorkspaceFullDocumentDiagnosticReport)
        assert "IMPL-STUB" in {d.code for d in item.items}


async def test_documents_of_another_folder_get_nothing_and_break_nothing(tmp_path: Path) -> None:
    """In a multi-root workspace each folder has its own server; when a client cannot
    narrow what it sends (a folder path with braces), a server is also told about the
    other folders' files. It answers for them with nothing."""
    root = make_workspace(tmp_path / "one")
    other = make_workspace(tmp_path / "two")
    async with start(root, "visual-studio-code", pull=True) as s:
        await s.settle()
        jobs = (await s.stats())["jobs"]
        doc = other / "docs" / "requirements.md"
        uri = doc.resolve().as_uri()
        text = doc.read_text(encoding="utf-8")
        s.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="markdown", version=1, text=text
                )
            )
        )
        s.client.text_document_did_save(
            types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri))
        )
        report = await s.client.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri))
        )
        assert isinstance(report, types.RelatedFullDocumentDiagnosticReport)
        assert list(report.items) == []
        position = types.Position(line=0, character=2)
        ident = types.TextDocumentIdentifier(uri)
        hover = await s.client.text_document_hover_async(types.HoverParams(ident, position))
        assert hover is None
        actions = await s.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=ident,
                range=types.Range(position, position),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        assert not actions
        st = await s.settle()
        assert st["jobs"] == jobs  # nothing ran for the other folder's file
        # this folder's own documents are served as before
        mine = await s.client.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(
                text_document=types.TextDocumentIdentifier(s.uri("docs/requirements.md"))
            )
        )
        assert isinstance(mine, types.RelatedFullDocumentDiagnosticReport)
        assert "REQ-SECTIONS" in {d.code for d in mine.items}
