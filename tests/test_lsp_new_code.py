"""New-code mode in the editor, through the real server (pytest-lsp): inherited findings
are shown quieter (``newCodeFocus``), new ones as they are, and the status names the
reference. The workspace is a git repository whose first commit holds the inherited
findings."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from test_lsp_helpers import APP, Session, make_workspace, start, wait_for

from phasegate.model import PhaseState, SessionState, SessionStatus
from phasegate.store import SessionStore

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(shutil.which("git") is None, reason="new code needs git"),
]

NEW_CODE_CONFIG = '[new_code]\nsince = "HEAD"\n'
# a second unused import, on a line of its own after the committed one
APP_WITH_NEW_FINDING = APP.replace("import os\n", "import os\nimport sys\n", 1)
# a stub (IMPL-STUB: a check per file, re-analysed per changed file)
STUB = 'def {name}() -> None:\n    """Later."""\n    pass\n'
OPTIONS: dict[str, Any] = {"settings": {"watch": "off"}}


def git(root: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def make_repo(root: Path, config: str | None = NEW_CODE_CONFIG) -> Path:
    """The sample workspace committed: its unused ``import os`` (IMPL-LINT) is inherited."""
    files = {"legacy.py": STUB.format(name="legacy")}
    if config is not None:
        files["phasegate.toml"] = config
    make_workspace(root, files)
    (root / ".gitignore").write_text(".phasegate/\n", encoding="utf-8")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "legacy")
    return root


def lint(s: Session, word: str) -> list[types.Diagnostic]:
    """IMPL-LINT's diagnostics on app.py about ``word`` (an unused import)."""
    return [d for d in s.diags("app.py") if d.code == "IMPL-LINT" and f"`{word}`" in d.message]


def stubs(s: Session, rel: str) -> list[types.Diagnostic]:
    return [d for d in s.diags(rel) if d.code == "IMPL-STUB"]


def options(**settings: Any) -> dict[str, Any]:
    return {"settings": {**OPTIONS["settings"], **settings}}


def status_has_new_code(s: Session) -> bool:
    return bool(s.statuses) and bool(s.statuses[-1].get("newCode"))


async def test_inherited_quiet_new_as_is_and_status(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    async with start(root, options=OPTIONS) as s:
        await wait_for(lambda: bool(lint(s, "os")), what="the inherited finding")
        (old,) = lint(s, "os")
        assert old.severity == types.DiagnosticSeverity.Hint
        assert old.message.endswith(" (inherited)")
        assert old.data["baselineState"] == "unchanged"

        await wait_for(lambda: status_has_new_code(s), what="newCode in the status")
        assert s.statuses[-1]["newCode"].startswith("since HEAD (")
        assert s.statuses[-1]["configWarnings"] == []
        # a check per file (IMPL-STUB) is classified too
        await wait_for(lambda: bool(stubs(s, "legacy.py")), what="the inherited stub")
        (stub,) = stubs(s, "legacy.py")
        assert stub.severity == types.DiagnosticSeverity.Hint
        assert stub.data["baselineState"] == "unchanged"

        # new findings on lines added since HEAD: shown with their own severity
        s.save("app.py", APP_WITH_NEW_FINDING + "\n\n" + STUB.format(name="later"))
        await wait_for(lambda: bool(lint(s, "sys")), what="the new finding")
        (new,) = lint(s, "sys")
        assert new.severity == types.DiagnosticSeverity.Warning
        assert "(inherited)" not in new.message
        assert new.data["baselineState"] == "new"
        (old,) = lint(s, "os")
        assert old.severity == types.DiagnosticSeverity.Hint  # still inherited
        await wait_for(lambda: bool(stubs(s, "app.py")), what="the new stub")
        (stub,) = stubs(s, "app.py")
        assert stub.severity != types.DiagnosticSeverity.Hint
        assert stub.data["baselineState"] == "new"

        await s.settle()
        status = await s.command("phasegate.status")
        assert status["newCode"].startswith("since HEAD (")
        impl = next(p for p in status["phases"] if p["name"] == "implementation")
        assert impl["newCode"]["new"] >= 1 and impl["newCode"]["unchanged"] >= 1
        assert "IMPL-LINT" in impl["newCode"]["held"]  # a new warning holds the line
        check = next(c for c in impl["checks"] if c["id"] == "IMPL-LINT")
        states = {f["message"].split("`")[1]: f["baseline_state"] for f in check["findings"]}
        assert states["os"] == "unchanged" and states["sys"] == "new"
        st = await s.stats()
        assert st["newCodeRefreshes"] >= 1  # the save's batch read the change set again


async def test_hide_leaves_inherited_findings_out(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    async with start(root, options=options(newCodeFocus="hide")) as s:
        await s.settle()
        await wait_for(lambda: status_has_new_code(s), what="newCode in the status")
        assert lint(s, "os") == []
        s.save("app.py", APP_WITH_NEW_FINDING)
        await wait_for(lambda: bool(lint(s, "sys")), what="the new finding")
        await s.settle()
        assert lint(s, "os") == []
        (new,) = lint(s, "sys")
        assert new.severity == types.DiagnosticSeverity.Warning


async def test_off_shows_inherited_findings_as_they_are(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    async with start(root, options=options(newCodeFocus="off")) as s:
        await wait_for(lambda: bool(lint(s, "os")), what="the inherited finding")
        (old,) = lint(s, "os")
        assert old.severity == types.DiagnosticSeverity.Warning
        assert not old.message.endswith("(inherited)")
        assert old.data["baselineState"] == "unchanged"  # still said in data


async def test_unknown_reference_is_a_warning_and_the_whole_code_is_judged(
    tmp_path: Path,
) -> None:
    root = make_repo(tmp_path, '[new_code]\nsince = "no-such-ref"\n')
    async with start(root, options=OPTIONS) as s:
        await wait_for(lambda: bool(lint(s, "os")), what="the finding")
        await wait_for(lambda: "config" in s.codes("phasegate.toml"), what="the warning")
        (warning,) = [d for d in s.diags("phasegate.toml") if d.code == "config"]
        assert warning.severity == types.DiagnosticSeverity.Warning
        assert "no-such-ref" in warning.message and warning.message.startswith("new_code.since")
        assert warning.range.start.line == 1  # the `since` line
        (d,) = lint(s, "os")
        assert d.severity == types.DiagnosticSeverity.Warning  # the whole code: as is
        assert "baselineState" not in d.data
        await s.settle()
        status = await s.command("phasegate.status")
        assert status["newCode"] is None
        assert status["configErrors"] == []
        (w,) = status["configWarnings"]
        assert w["key"] == "new_code.since" and "no-such-ref" in w["message"]

        # fixed in the configuration: new-code mode comes on, the warning goes
        s.save("phasegate.toml", NEW_CODE_CONFIG)
        await wait_for(lambda: "config" not in s.codes("phasegate.toml"), what="no warning")
        await wait_for(
            lambda: any(d.severity == types.DiagnosticSeverity.Hint for d in lint(s, "os")),
            what="the finding inherited",
        )
        await wait_for(lambda: status_has_new_code(s), what="newCode in the status")


async def test_outside_new_code_mode_nothing_changes(tmp_path: Path) -> None:
    root = make_repo(tmp_path, config=None)
    async with start(root, options=OPTIONS) as s:
        await wait_for(lambda: bool(lint(s, "os")), what="the finding")
        await s.settle()
        (d,) = lint(s, "os")
        assert d.severity == types.DiagnosticSeverity.Warning
        assert set(d.data) == {"findingId", "phase", "check", "owner", "fix"}
        status = await s.command("phasegate.status")
        assert status["newCode"] is None
        assert all(p["newCode"] is None for p in status["phases"])
        assert all("new_code" not in c for p in status["phases"] for c in p["checks"])


async def test_reopen_with_a_session_judges_new_code_since_its_start(tmp_path: Path) -> None:
    root = make_repo(tmp_path, config=None)
    head = git(root, "rev-parse", "HEAD")
    store = SessionStore(root)
    store.create(
        SessionState(
            id="s1",
            requirement="Keep a list",
            status=SessionStatus.STOPPED,
            current_phase="implementation",
            phases=[PhaseState(name=n) for n in ("requirements", "design", "implementation")],
            new_code_since=head,
        )
    )
    store.set_active("s1")
    async with start(root, options=OPTIONS) as s:
        await wait_for(lambda: bool(lint(s, "os")), what="the finding")
        await wait_for(lambda: status_has_new_code(s), what="newCode in the status")
        assert s.statuses[-1]["newCode"] == f"since the session's start ({head[:10]})"
        await wait_for(
            lambda: any(d.severity == types.DiagnosticSeverity.Hint for d in lint(s, "os")),
            what="the finding inherited",
        )
        s.save("app.py", APP_WITH_NEW_FINDING)
        await wait_for(lambda: bool(lint(s, "sys")), what="the new finding")
        (new,) = lint(s, "sys")
        assert new.severity == types.DiagnosticSeverity.Warning
        assert new.data["baselineState"] == "new"


async def test_a_session_started_in_the_editor_judges_new_code_since_its_start(
    tmp_path: Path,
) -> None:
    root = make_repo(tmp_path, config=None)
    head = git(root, "rev-parse", "HEAD")
    async with start(root, options=OPTIONS) as s:
        await wait_for(lambda: bool(stubs(s, "legacy.py")), what="the stub")
        await s.settle()
        assert (await s.command("phasegate.status"))["newCode"] is None
        (stub,) = stubs(s, "legacy.py")
        assert stub.severity != types.DiagnosticSeverity.Hint

        # the executor sets the session's reference on the runner the server shares
        st = await s.command(
            "phasegate.startSession", {"requirement": "Keep a list of items", "sessionId": "s1"}
        )
        assert st["newCode"] == f"since the session's start ({head[:10]})"
        await wait_for(
            lambda: [d.severity for d in stubs(s, "legacy.py")] == [types.DiagnosticSeverity.Hint],
            what="the stub inherited",
        )
        testing = next(p for p in st["phases"] if p["name"] == "testing")
        assert "GATE-INTEGRITY" in {c["id"] for c in testing["checks"]}  # joins in the mode
