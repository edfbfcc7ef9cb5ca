"""Every phasegate diagnostic has an action, with no session: the real server (pytest-lsp)
on a workspace built so that every check of the default pipeline has a finding.

Also: "Suppress on this line" applied to the file silences the finding in the editor and
in ``phasegate validate``; "Create <file>" writes the scaffold's skeleton of a missing
file; "Show documentation" opens the check's section of the reference; a configuration
error that says "did you mean" is fixed by its action; GATE-INTEGRITY offers no
suppression.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from lsprotocol import types
from test_lsp_helpers import Session, start, wait_for

from phasegate.config import Config
from phasegate.docgen import config_to_toml

pytestmark = pytest.mark.timeout(240)

# The checks of the default pipeline (the disabled IMPL-TYPES too: the workspace below
# switches it on).
DEFAULT_IDS = [c.id for p in Config().phases for c in p.checks]
# Those that judge this (Python and Markdown) workspace: each must show a finding. A check
# of the pipeline outside this list may only be one with nothing to judge here (a
# JavaScript check: not applicable, or its tool missing), so it shows no diagnostic.
PYTHON_AND_DOCUMENT_IDS = [
    *("REQ-EXISTS", "REQ-SECTIONS", "REQ-IDS", "REQ-ACCEPTANCE", "REQ-PLACEHOLDER"),
    *("DES-EXISTS", "DES-SECTIONS", "DES-TRACE", "DES-PLACEHOLDER"),
    *("IMPL-SYNTAX", "IMPL-STUB", "IMPL-LINT", "IMPL-TYPES"),
    *("TEST-EXISTS", "TEST-PYTEST", "TEST-COVERAGE", "TEST-TRACE"),
    *("DEP-METADATA", "DEP-README", "DEP-DOCKERFILE", "DEP-CI", "DEP-CHANGELOG"),
]
# Checks whose finding is about a file that does not exist: created, never suppressed.
MISSING = {"REQ-EXISTS", "DES-EXISTS", "TEST-EXISTS", "DEP-CI", "DEP-CHANGELOG"}

REQUIREMENTS = """\
# Requirements

## Overview

A list keeper.

## Functional requirements

### REQ-001: Add items

Users add items.

Acceptance criteria:
- An item with a name can be added.

### REQ-002: List items

Users list the items. TBD.

### REQ-002: Remove items

Users remove items.

Acceptance criteria:
- A removed item is gone.
"""

DESIGN = """\
# Design

## Architecture

REQ-001 is served by app.add. TODO: describe the rest.
"""

APP = '''\
import os


def add(items: list[str], name: str) -> None:
    """REQ-001: add an item."""
    items.append(name)


def remove(items: list[str], name: str) -> None:
    raise NotImplementedError


def count(items: list[str]) -> int:
    total: int = "none"
    if items:
        total = len(items)
    return total
'''

TESTS = '''\
from app import add


def test_add() -> None:
    """REQ-001"""
    items: list[str] = []
    add(items, "a")
    assert items == ["b"]
'''


def every_check_workspace(root: Path) -> Path:
    """A workspace where every check of the default pipeline has a finding. The
    existence checks look for documents and tests elsewhere than where the others find
    theirs (a document cannot both exist and be missing); IMPL-TYPES is switched on, and
    the tests run with this interpreter (it has pytest, coverage and mypy)."""
    config = Config()
    elsewhere = {
        "REQ-EXISTS": ["docs/product/requirements.md"],
        "DES-EXISTS": ["docs/product/design.md"],
        "TEST-EXISTS": ["spec/test_*.py"],
    }
    for phase in config.phases:
        for c in phase.checks:
            if c.id in elsewhere:
                c.inputs = elsewhere[c.id]
            if c.id == "IMPL-TYPES":
                c.enabled = True
                c.exclude = ["broken.py"]  # mypy stops at a syntax error
    config.interpreter = sys.executable
    files = {
        "phasegate.toml": config_to_toml(config, comments=False),
        "docs/requirements.md": REQUIREMENTS,
        "docs/design.md": DESIGN,
        "app.py": APP,
        "broken.py": "def f(:\n    pass\n",
        "tests/test_app.py": TESTS,
        "pyproject.toml": '[project]\nname = "listkeeper"\n',
        "README.md": "# Listkeeper\n",
        "Dockerfile": 'FROM python:latest\nCMD ["python", "app.py"]\n',
    }
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


def all_diagnostics(s: Session) -> list[tuple[str, types.Diagnostic]]:
    """(relative path, diagnostic) of every phasegate diagnostic the client holds."""
    root = s.root.resolve()
    out = []
    for uri, diags in s.client.diagnostics.items():
        rel = Path(unquote(urlparse(uri).path)).relative_to(root).as_posix()
        out += [(rel, d) for d in diags if d.source == "phasegate"]
    return out


@dataclass
class Action:
    """A code action as the server sent it."""

    title: str
    kind: str | None
    edit: types.WorkspaceEdit | None
    command: str | None
    arguments: list[Any]


def _action(a: types.CodeAction | types.Command) -> Action:
    """pygls' client reads a CodeAction that has a command and no edit as a Command whose
    ``command`` is its command as text (see test_lsp_commands.action_command): its kind
    is lost on the way (None)."""
    if isinstance(a, types.CodeAction):
        cmd = a.command
        kind = str(a.kind.value if hasattr(a.kind, "value") else a.kind) if a.kind else None
        args = list(cmd.arguments or []) if cmd is not None else []
        return Action(a.title, kind, a.edit, cmd.command if cmd else None, args)
    assert a.arguments is None and a.command.startswith("{"), a
    raw = ast.literal_eval(a.command)
    inner = raw["command"] if isinstance(raw["command"], dict) else raw
    return Action(a.title, raw.get("kind"), None, inner["command"], inner["arguments"])


async def actions_for(s: Session, rel: str, d: types.Diagnostic) -> list[Action]:
    result = await s.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(s.uri(rel)),
            range=d.range,
            context=types.CodeActionContext(diagnostics=[d]),
        )
    )
    return [_action(a) for a in result or []]


def validate_json(root: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "phasegate", "validate", "--format", "json", str(root)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode in (0, 1), proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def cli_findings(report: dict[str, Any], check_id: str) -> list[dict[str, Any]]:
    return [
        f
        for p in report["phases"]
        for c in p["checks"]
        if c["id"] == check_id
        for f in c["findings"]
    ]


def cli_check(report: dict[str, Any], check_id: str) -> dict[str, Any]:
    return next(c for p in report["phases"] for c in p["checks"] if c["id"] == check_id)


async def open_with_every_finding(s: Session) -> list[str]:
    """Run every check (the ones that run the workspace's tests too), wait until each
    check with findings shows a diagnostic, and return those checks' ids."""
    await s.settle(timeout=120)
    status = await s.command("phasegate.runGates")
    checks = {c["id"]: c for p in status["phases"] for c in p["checks"]}
    assert set(DEFAULT_IDS) <= set(checks)
    judged = [i for i in DEFAULT_IDS if checks[i]["findings"]]
    assert set(PYTHON_AND_DOCUMENT_IDS) <= set(judged), set(PYTHON_AND_DOCUMENT_IDS) - set(judged)
    for i in set(DEFAULT_IDS) - set(judged):  # nothing to judge here: no diagnostic
        assert checks[i]["not_applicable"] or checks[i]["error"], checks[i]
    await wait_for(
        lambda: set(judged) <= {str(d.code) for _r, d in all_diagnostics(s)},
        120,
        what="a diagnostic of every check",
    )
    return judged


async def test_every_check_has_an_action_without_a_session(tmp_path: Path) -> None:
    assert len(DEFAULT_IDS) >= 22 and "IMPL-TYPES" in DEFAULT_IDS
    root = every_check_workspace(tmp_path)
    async with start(root) as s:
        judged = await open_with_every_finding(s)
        seen: dict[str, list[str]] = {}
        for check_id in judged:
            rel, d = next((r, d) for r, d in all_diagnostics(s) if d.code == check_id)
            actions = await actions_for(s, rel, d)
            titles = [a.title for a in actions]
            seen[check_id] = titles
            assert actions, f"{check_id}: no code action"
            for a in actions:
                assert a.kind in ("quickfix", "source.fixAll.phasegate", None)  # None: lost
                assert (a.edit is None) != (a.command is None), a.title
                assert not a.title.startswith("Rework"), "no session: nothing to rework"
            docs = [a for a in actions if a.title == f"Show documentation of {check_id}"]
            assert len(docs) == 1
            assert docs[0].command == "phasegate.showDocumentation"
            assert docs[0].arguments == [{"check": check_id}]
            if check_id in MISSING:
                assert any(t.startswith("Create ") for t in titles), (check_id, titles)
                assert not any(t.startswith("Suppress") for t in titles), (check_id, titles)
            else:
                assert f"Suppress {check_id} on this line" in titles, (check_id, titles)
                assert any(t.startswith(f"Suppress {check_id} in ") for t in titles), titles
        # the missing documents are created where the (configured) check looks for them
        assert "Create docs/product/requirements.md" in seen["REQ-EXISTS"]
        assert "Create docs/product/design.md" in seen["DES-EXISTS"]
        assert "Create .github/workflows/ci.yml" in seen["DEP-CI"]
        assert "Create CHANGELOG.md" in seen["DEP-CHANGELOG"]
        # the checks that propose a fix still do, first
        assert seen["REQ-SECTIONS"][0].startswith("Apply fix: ")
        await s.settle(timeout=120)


async def test_suppress_on_this_line_silences_the_editor_and_the_cli(tmp_path: Path) -> None:
    root = every_check_workspace(tmp_path)
    before = validate_json(root)
    assert cli_findings(before, "REQ-ACCEPTANCE") and cli_findings(before, "DEP-DOCKERFILE")
    assert cli_check(before, "REQ-ACCEPTANCE")["status"] == "failed"
    async with start(root, options={"settings": {"watch": "off"}}) as s:
        await s.settle(timeout=120)
        for rel, check_id in [
            ("docs/requirements.md", "REQ-ACCEPTANCE"),  # Markdown, a whole-project check
            ("app.py", "IMPL-STUB"),  # Python, a per-file check
        ]:
            await wait_for(lambda r=rel, c=check_id: c in s.codes(r), what=check_id)
            d = next(d for d in s.diags(rel) if d.code == check_id)
            actions = await actions_for(s, rel, d)
            (line,) = [a for a in actions if a.title == f"Suppress {check_id} on this line"]
            assert line.edit is not None
            assert s.apply(line.edit) == [rel]
            s.save(rel)
            await wait_for(
                lambda r=rel, c=check_id: c not in s.codes(r), what=f"{check_id} to clear"
            )
        # the comments as written, in each file's own syntax
        reqs = (root / "docs/requirements.md").read_text(encoding="utf-8")
        assert "<!-- phasegate: ignore[REQ-ACCEPTANCE] -->\n### REQ-002: List items" in reqs
        app = (root / "app.py").read_text(encoding="utf-8")
        assert (
            "def remove(items: list[str], name: str) -> None:  # phasegate: ignore[IMPL-STUB]"
            in app
        )
        # "in this file", on the Dockerfile (comments on lines of their own there)
        d = next(d for d in s.diags("Dockerfile") if d.code == "DEP-DOCKERFILE")
        actions = await actions_for(s, "Dockerfile", d)
        (whole,) = [a for a in actions if a.title == "Suppress DEP-DOCKERFILE in Dockerfile"]
        assert whole.edit is not None
        s.apply(whole.edit)
        s.save("Dockerfile")
        await wait_for(lambda: "DEP-DOCKERFILE" not in s.codes("Dockerfile"), what="clear")
        assert (
            (root / "Dockerfile")
            .read_text()
            .startswith("# phasegate: ignore-file[DEP-DOCKERFILE]\nFROM python:latest\n")
        )
        # the other findings of those files are still there
        assert {"REQ-PLACEHOLDER", "REQ-IDS"} <= s.codes("docs/requirements.md")
        assert "IMPL-LINT" in s.codes("app.py")
        await s.settle(timeout=120)
    after = validate_json(root)
    assert cli_findings(after, "REQ-ACCEPTANCE") == []
    assert cli_findings(after, "DEP-DOCKERFILE") == []
    assert not any(f["range"]["start"]["line"] == 8 for f in cli_findings(after, "IMPL-STUB"))
    # the gate's score follows: the suppressed findings no longer cost anything
    assert cli_check(after, "REQ-ACCEPTANCE")["status"] == "passed"
    assert cli_check(after, "REQ-ACCEPTANCE")["score"] == 1.0
    assert cli_check(after, "DEP-DOCKERFILE")["score"] == 1.0
    req_before = next(p for p in before["phases"] if p["name"] == "requirements")
    req_after = next(p for p in after["phases"] if p["name"] == "requirements")
    assert req_after["score"] > req_before["score"]
    # and nothing else changed
    for check_id in ("REQ-IDS", "REQ-PLACEHOLDER", "DES-TRACE", "IMPL-LINT"):
        assert len(cli_findings(after, check_id)) == len(cli_findings(before, check_id))


async def test_create_missing_file_and_show_documentation(tmp_path: Path) -> None:
    root = every_check_workspace(tmp_path)
    async with start(root, options={"settings": {"watch": "off"}}) as s:
        await s.settle(timeout=120)
        await wait_for(
            lambda: any(d.code == "DEP-CHANGELOG" for _r, d in all_diagnostics(s)),
            what="DEP-CHANGELOG",
        )
        rel, d = next((r, d) for r, d in all_diagnostics(s) if d.code == "DEP-CHANGELOG")
        assert rel == "phasegate.toml"  # a missing file is shown on the configuration
        actions = await actions_for(s, rel, d)
        (create,) = [a for a in actions if a.title == "Create CHANGELOG.md"]
        assert create.edit is not None and create.edit.document_changes is not None
        kinds = [type(c).__name__ for c in create.edit.document_changes]
        assert kinds == ["CreateFile", "TextDocumentEdit"]
        assert not (root / "CHANGELOG.md").exists()  # offering it wrote nothing
        s.apply(create.edit)
        assert (root / "CHANGELOG.md").read_text(encoding="utf-8").startswith("# Changelog\n")
        s.save("CHANGELOG.md")
        await wait_for(
            lambda: not any(d.code == "DEP-CHANGELOG" for _r, d in all_diagnostics(s)),
            what="DEP-CHANGELOG to clear",
        )
        # the documentation: the check's section of the reference installed with phasegate
        docs = next(a for a in actions if a.title == "Show documentation of DEP-CHANGELOG")
        assert docs.command is not None
        answer = await s.command(docs.command, docs.arguments[0])
        assert answer["shown"] is True and answer["uri"] == d.code_description.href
        (shown,) = s.client.shown_documents
        # the rendered page, shown by the browser at the check's section
        assert shown.external is True and shown.uri == d.code_description.href
        doc, _, anchor = shown.uri.partition("#")
        page = Path(unquote(urlparse(doc).path))
        assert page.name == "checks.html" and page.parent.name == "reference"
        assert anchor == "dep-changelog"
        assert f'<a id="{anchor}"></a>' in page.read_text(encoding="utf-8")
        await s.settle(timeout=120)


async def test_config_did_you_mean_is_a_quick_fix(tmp_path: Path) -> None:
    root = tmp_path
    (root / "phasegate.toml").write_text(
        'thresholdz = [0.5, 0.7]\n\n[new_code]\nsinse = "main"\n', encoding="utf-8"
    )
    async with start(root, options={"settings": {"watch": "off"}}) as s:
        await wait_for(lambda: "config" in s.codes("phasegate.toml"), what="config errors")
        diags = [d for d in s.diags("phasegate.toml") if d.code == "config"]
        assert len(diags) == 2
        for d in diags:
            assert d.code_description is not None
            assert d.code_description.href.endswith("/reference/configuration.html")
            actions = await actions_for(s, "phasegate.toml", d)
            titles = [a.title for a in actions]
            assert "Show documentation of the configuration reference" in titles
            (fix,) = [a for a in actions if a.title.startswith("Apply fix: Replace ")]
            assert fix.edit is not None
            s.apply(fix.edit)
        assert (root / "phasegate.toml").read_text(encoding="utf-8") == (
            'thresholds = [0.5, 0.7]\n\n[new_code]\nsince = "main"\n'
        )


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", *args],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=60,
    )


async def test_gate_integrity_offers_documentation_never_suppression(tmp_path: Path) -> None:
    root = tmp_path
    config = '[new_code]\nsince = "HEAD"\n\n[[phases]]\nname = "testing"\n'
    config += '[[phases.checks]]\nid = "TEST-EXISTS"\n'
    files = {
        ".gitignore": ".phasegate/\n",
        "phasegate.toml": config,
        "docs/requirements.md": REQUIREMENTS,
        "tests/test_app.py": "def test_one():\n    assert 1\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    reqs = REQUIREMENTS.replace(
        "### REQ-002: List", "<!-- phasegate: ignore[REQ-ACCEPTANCE] -->\n### REQ-002: List"
    )
    (root / "docs/requirements.md").write_text(reqs, encoding="utf-8")
    async with start(root, options={"settings": {"watch": "off"}}) as s:
        await s.settle(timeout=120)
        await wait_for(lambda: "GATE-INTEGRITY" in s.codes("docs/requirements.md"))
        d = next(d for d in s.diags("docs/requirements.md") if d.code == "GATE-INTEGRITY")
        assert "new suppression `<!-- phasegate: ignore[REQ-ACCEPTANCE] -->`" in d.message
        titles = [a.title for a in await actions_for(s, "docs/requirements.md", d)]
        assert titles == ["Show documentation of GATE-INTEGRITY"]
