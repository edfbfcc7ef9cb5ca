"""New-code mode in the language server's engine, without a client: the ``newCodeFocus``
setting, resolving the reference at load (and the warning when it cannot be used), and
taking over the reference the session executor sets on the shared runner."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_lsp_new_code import git, make_repo

from phasegate.live.engine import SESSION_REFERENCE, Engine
from phasegate.lsp.settings import Settings, parse_settings
from phasegate.newcode import resolve_new_code

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="new code needs git")


def test_new_code_focus_setting() -> None:
    assert parse_settings(None).new_code_focus == "quiet"
    for value in ("quiet", "hide", "off"):
        s = parse_settings({"settings": {"newCodeFocus": value}})
        assert s.new_code_focus == value and not s.warnings
    s = parse_settings({"settings": {"newCodeFocus": "loud"}})
    assert s.new_code_focus == "quiet" and "newCodeFocus" in s.warnings[0]
    s = parse_settings({"settings": {"newCodeFocus": 3}})
    assert s.new_code_focus == "quiet" and s.warnings


@needs_git
def test_load_sets_new_code_on_the_runner(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    eng = Engine(root, Settings())
    assert eng.load_config()
    assert eng.runner is not None and eng.live is not None
    nc = eng.new_code
    assert nc is not None and nc is eng.live_new_code
    assert nc.label.startswith("since HEAD (")
    assert eng.new_code_problems == [] and eng.problems == []
    # the checks the live results run carry it, and GATE-INTEGRITY joins in the mode
    assert all(rc.ctx.new_code is nc for rc in eng.live.checks.values())
    assert any(rc.config.id == "GATE-INTEGRITY" for rc in eng.live.checks.values())


@needs_git
@pytest.mark.parametrize("config_file", ["phasegate.toml", "pyproject.toml"])
def test_an_unusable_reference_is_a_warning_at_its_key(tmp_path: Path, config_file: str) -> None:
    text = '[new_code]\nblocking = ["error"]\nsince = "nope"\n'
    if config_file == "pyproject.toml":
        text = '[project]\nname = "x"\n\n' + text.replace("[new_code]", "[tool.phasegate.new_code]")
    root = make_repo(tmp_path, config=None)
    (root / config_file).write_text(text, encoding="utf-8")
    eng = Engine(root, Settings())
    assert eng.load_config()
    assert eng.new_code is None and eng.live is not None  # the whole code is judged
    (p,) = eng.new_code_problems
    assert p.severity == "warning" and p.key == "new_code.since" and p.path == config_file
    assert "nope" in p.message
    lines = text.splitlines()
    assert lines[p.line].startswith("since")
    assert eng.problems == [p] and eng.config_problems == []


def test_no_git_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))  # not in a repo
    (tmp_path / "phasegate.toml").write_text('[new_code]\nsince = "HEAD"\n', encoding="utf-8")
    eng = Engine(tmp_path, Settings())
    assert eng.load_config()
    assert eng.new_code is None
    (p,) = eng.new_code_problems
    assert p.line == 1 and p.severity == "warning"


@needs_git
def test_the_active_session_gives_the_reference(tmp_path: Path) -> None:
    from phasegate.model import SessionState
    from phasegate.store import SessionStore

    root = make_repo(tmp_path, config=None)
    head = git(root, "rev-parse", "HEAD")
    store = SessionStore(root)
    store.create(SessionState(id="s1", requirement="r", new_code_since=head))
    store.set_active("s1")
    eng = Engine(root, Settings())
    assert eng.session_since() == head
    assert eng.load_config()
    nc = eng.new_code
    assert nc is not None and nc.changes is not None
    assert nc.changes.ref == SESSION_REFERENCE
    assert nc.label == f"since the session's start ({head[:10]})"


@needs_git
def test_adopting_the_executors_reference(tmp_path: Path) -> None:
    root = make_repo(tmp_path, config=None)
    eng = Engine(root, Settings())
    assert eng.load_config()
    assert eng.runner is not None and eng.config is not None
    live = eng.live
    assert eng.new_code is None and not eng.adopt_new_code()

    # a session started: the executor set its reference on the shared runner
    head = git(root, "rev-parse", "HEAD")
    nc = resolve_new_code(eng.workspace, eng.config, since=head)
    assert nc is not None and nc.changes is not None
    nc.changes.ref = SESSION_REFERENCE
    eng.runner.set_new_code(nc)
    assert eng.adopt_new_code()  # rebuilt for it
    assert eng.live is not live and eng.live_new_code is nc
    live = eng.live
    assert live is not None
    assert all(rc.ctx.new_code is nc for rc in live.checks.values())

    # resumed: the same reference again, as a new object: the live results are kept and
    # the runner gets back the object they were built with
    again = resolve_new_code(eng.workspace, eng.config, since=head)
    assert again is not None and again.changes is not None
    again.changes.ref = SESSION_REFERENCE
    eng.runner.set_new_code(again)
    assert not eng.adopt_new_code()
    assert eng.live is live and eng.runner.new_code is nc

    # and back to the whole code
    eng.runner.set_new_code(None)
    assert eng.adopt_new_code()
    assert eng.live is not live and eng.live_new_code is None


@needs_git
def test_an_unreadable_baseline_is_a_warning_at_its_key(tmp_path: Path) -> None:
    text = '[new_code]\nsince = "HEAD"\nbaseline = "missing.sarif"\n'
    root = make_repo(tmp_path, config=text)
    eng = Engine(root, Settings())
    assert eng.load_config()
    assert eng.new_code is None
    (p,) = eng.new_code_problems
    assert p.key == "new_code.baseline" and p.line == 2 and "missing.sarif" in p.message
