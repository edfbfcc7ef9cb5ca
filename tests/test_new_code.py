"""New-code mode: findings judged by whether they are new since a git reference.

Real git repositories in ``tmp_path``; the gates run through ``phasegate validate``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from phasegate.changes import ChangesError, changes_since
from phasegate.cli import cli

pytestmark = pytest.mark.timeout(180)

CONFIG = """\
thresholds = [0.9]

[new_code]
integrity = false

[[phases]]
name = "implementation"
[[phases.checks]]
id = "IMPL-SYNTAX"
[[phases.checks]]
id = "IMPL-STUB"
[[phases.checks]]
id = "IMPL-LINT"
"""

MODULE = '''\
"""A module with inherited lint findings."""

import os
import sys


def add(a, b):
    """Add."""
    if a == None:
        return b
    return a + b
'''


def git(root: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


def commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "phasegate.toml").write_text(CONFIG, encoding="utf-8")
    (root / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    (root / "pkg" / "mod.py").write_text(MODULE, encoding="utf-8")
    (root / ".gitignore").write_text(".phasegate/\n", encoding="utf-8")
    git(root, "init", "-q")
    commit(root, "base")
    return root


def validate(root: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["validate", str(root), *args], catch_exceptions=False)


def validate_json(root: Path, *args: str) -> tuple[int, dict[str, Any]]:
    res = validate(root, "--format", "json", *args)
    return res.exit_code, json.loads(res.stdout)


def findings(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for ph in doc["phases"] for c in ph["checks"] for f in c["findings"]]


def test_inherited_findings_do_not_block(repo: Path) -> None:
    code, doc = validate_json(repo)
    assert code == 1, "the whole code fails: two unused imports and a `== None`"
    code, doc = validate_json(repo, "--since", "HEAD")
    assert code == 0, doc
    states = {f["baseline_state"] for f in findings(doc)}
    assert states == {"unchanged"}
    assert doc["new_code"]["new"] == 0 and doc["new_code"]["unchanged"] == 3
    lint = next(c for c in doc["phases"][0]["checks"] if c["id"] == "IMPL-LINT")
    assert lint["passed"] and lint["new_code"]["overall_passed"] is False


def test_a_new_finding_fails_the_gate_whatever_the_score(repo: Path) -> None:
    mod = repo / "pkg" / "mod.py"
    mod.write_text(MODULE + "\n\ndef sub(a, b):\n    return a - c\n", encoding="utf-8")
    commit(repo, "change")
    code, doc = validate_json(repo, "--since", "HEAD~1")
    assert code == 1
    gate = doc["phases"][0]
    assert gate["held"] == ["IMPL-LINT"] and gate["new_code"].startswith("since HEAD~1 (")
    new = [f for f in findings(doc) if f["baseline_state"] == "new"]
    assert [(f["path"], f["range"]["start"]["line"], f["code"]) for f in new] == [
        ("pkg/mod.py", 14, "IMPL-LINT")
    ]
    assert "F821" in new[0]["message"]
    res = validate(repo, "--since", "HEAD~1")
    assert res.exit_code == 1
    assert "pkg/mod.py:15:16: IMPL-LINT F821" in res.stdout and "(new)" in res.stdout
    assert "(unchanged)" in res.stdout
    assert "1 new, 3 unchanged" in " ".join(res.stdout.split())


def test_lines_moving_keep_inherited_findings_unchanged(repo: Path) -> None:
    mod = repo / "pkg" / "mod.py"
    text = MODULE.replace('"""A module', '# a comment\n# another\n"""A module')
    mod.write_text(text, encoding="utf-8")
    code, doc = validate_json(repo, "--since", "HEAD")
    assert code == 0, doc
    assert all(f["baseline_state"] == "unchanged" for f in findings(doc))


def test_untracked_and_staged_files_are_new(repo: Path) -> None:
    (repo / "pkg" / "extra.py").write_text("def f():\n    pass\n", encoding="utf-8")
    code, doc = validate_json(repo, "--since", "HEAD")
    assert code == 1
    new = [f for f in findings(doc) if f["baseline_state"] == "new"]
    assert {(f["path"], f["code"]) for f in new} == {("pkg/extra.py", "IMPL-STUB")}


def test_bad_reference_and_no_git_are_usage_errors(repo: Path, tmp_path: Path) -> None:
    res = validate(repo, "--since", "no-such-branch")
    assert res.exit_code == 2
    assert "unknown git reference 'no-such-branch'" in res.stderr
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "phasegate.toml").write_text(CONFIG, encoding="utf-8")
    res = validate(plain, "--since", "HEAD")
    assert res.exit_code == 2 and "not in a git repository" in res.stderr
    res = validate(repo, "--since", "--all")
    assert res.exit_code == 2 and "not a git reference" in res.stderr
    res = validate(repo, "--since", "HEAD", "--all-code")
    assert res.exit_code == 2


def test_config_new_code_since_and_all_code(repo: Path) -> None:
    (repo / "phasegate.toml").write_text(
        CONFIG.replace("integrity = false", 'integrity = false\nsince = "HEAD"'),
        encoding="utf-8",
    )
    commit(repo, "new code on")
    assert validate(repo).exit_code == 0
    assert validate(repo, "--all-code").exit_code == 1


def test_change_set_follows_renames_and_sub_projects(tmp_path: Path) -> None:
    root = tmp_path / "mono"
    sub = root / "svc"
    sub.mkdir(parents=True)
    body = "".join(f"v{i} = {i}\n" for i in range(10))
    (sub / "a.py").write_text(body, encoding="utf-8")
    (root / "top.py").write_text("z = 3\n", encoding="utf-8")
    git(root, "init", "-q")
    commit(root, "base")
    git(root, "mv", "svc/a.py", "svc/b.py")
    (sub / "b.py").write_text(body.replace("v1 = 1", "v1 = 10"), encoding="utf-8")
    (root / "top.py").write_text("z = 30\n", encoding="utf-8")
    cs = changes_since(sub, "HEAD")
    assert cs.prefix == "svc"
    assert cs.renamed == {"b.py": "a.py"}
    assert cs.lines == {"b.py": {2}}  # top.py is outside the workspace
    assert cs.is_new("b.py", 1) and not cs.is_new("b.py", 0)
    assert cs.base_text("b.py") == body
    with pytest.raises(ChangesError):
        changes_since(sub, "HEAD~5")


def test_git_config_of_the_workspace_runs_nothing(repo: Path, tmp_path: Path) -> None:
    """A hostile repository configuration (an external diff program, an fsmonitor hook,
    a text conversion filter) is not run while reading history."""
    marker = tmp_path / "ran"
    script = tmp_path / "evil.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\n", encoding="utf-8")
    script.chmod(0o755)
    git(repo, "config", "diff.external", str(script))
    git(repo, "config", "core.fsmonitor", str(script))
    git(repo, "config", "diff.evil.textconv", str(script))
    git(repo, "config", "filter.evil.clean", str(script))
    git(repo, "config", "filter.evil.smudge", str(script))
    git(repo, "config", "filter.other.process", str(script))
    (repo / ".gitattributes").write_text("*.py diff=evil filter=evil\n", encoding="utf-8")
    (repo / "pkg" / "mod.py").write_text(MODULE + "\nX = 1\n", encoding="utf-8")
    cs = changes_since(repo, "HEAD")
    assert cs.is_new("pkg/mod.py", len(MODULE.splitlines()) + 1)
    assert cs.base_text("pkg/mod.py") == MODULE
    from phasegate.evidence import workspace_commit

    assert workspace_commit(repo) == (git(repo, "rev-parse", "HEAD").strip(), True)
    assert not marker.exists(), "reading history ran a program the workspace configures"


def run_session(root: Path) -> Any:
    return CliRunner().invoke(
        cli,
        [
            "run",
            "-r",
            "Keep the module tidy",
            "--session",
            "s1",
            "-w",
            str(root),
            "--format",
            "json",
        ],
        catch_exceptions=False,
    )


def test_a_session_judges_what_it_adds_since_its_start(repo: Path) -> None:
    """In a git work tree a session's default reference is the commit it started from:
    the inherited findings do not hold the phase, and the checkpoint records the commit."""
    res = run_session(repo)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    head = git(repo, "rev-parse", "HEAD").strip()
    assert doc["session"]["new_code_since"] == head
    (phase,) = doc["gates"]
    assert phase["status"] == "completed" and phase["new_code"].startswith(
        "since the session's start ("
    )
    assert {f["baseline_state"] for c in phase["checks"] for f in c["findings"]} == {"unchanged"}


def test_sessions_can_judge_the_whole_code(repo: Path) -> None:
    (repo / "phasegate.toml").write_text(
        CONFIG.replace("integrity = false", "integrity = false\nsessions = false"),
        encoding="utf-8",
    )
    commit(repo, "whole code for sessions")
    res = run_session(repo)
    assert res.exit_code == 1, res.output  # the inherited lint findings hold the phase
    doc = json.loads(res.stdout)
    assert doc["session"]["new_code_since"] is None
    assert "new_code" not in doc["gates"][0]
