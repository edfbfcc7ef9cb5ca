"""The workspace index, path safety, and the subprocess runner."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from phasegate.model import CheckResult, Finding, GateResult
from phasegate.proc import run_tool
from phasegate.rework import owners_of_failed
from phasegate.workspace import PathOutsideWorkspace, Workspace, matches


def test_index_is_gitignore_aware(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("secret/\n*.log\n")
    for rel in ["a.py", "pkg/b.py", "secret/c.py", "x.log", ".venv/lib/d.py", "node_modules/e.js"]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x")
    ws = Workspace(tmp_path)
    assert ws.files() == {".gitignore", "a.py", "pkg/b.py"}
    assert ws.glob(["*.py"]) == ["a.py", "pkg/b.py"]


def test_notify_changed_updates_incrementally(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    assert ws.files() == set()
    (tmp_path / "new.py").write_text("x = 1\n")
    (tmp_path / "x.log").write_text("")
    ws.notify_changed(["new.py"])
    assert ws.files() == {"new.py"}
    assert ws.read_text("new.py") == "x = 1\n"
    (tmp_path / "new.py").unlink()
    ws.notify_changed(["new.py"])
    assert ws.files() == set() and ws.content_hash("new.py") == "-"


def test_paths_outside_are_refused(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    with pytest.raises(PathOutsideWorkspace):
        ws.abspath("../outside.txt")
    with pytest.raises(PathOutsideWorkspace):
        ws.abspath("/etc/passwd")
    os.symlink("/etc", tmp_path / "link")
    with pytest.raises(PathOutsideWorkspace):
        ws.abspath("link/passwd")


def test_non_utf8_text_is_read_with_replacement(tmp_path: Path) -> None:
    (tmp_path / "latin.py").write_bytes(b"# caf\xe9\n")
    assert Workspace(tmp_path).read_text("latin.py") == "# caf\ufffd\n"


def test_matches_patterns() -> None:
    assert matches("specs/001-x/spec.md", ["specs/*/spec.md"])
    assert matches("deep/dir/mod.py", ["*.py"])
    assert not matches("docs/design.md", ["docs/requirements.md"])


def test_run_tool_kills_the_whole_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    script = (
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(marker)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n"
    )
    res = run_tool([sys.executable, "-c", script], cwd=tmp_path, timeout=2)
    assert res.timed_out and res.returncode is None
    child = int(marker.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        # a zombie of ours? reap is not ours to do; check /proc state
        stat = Path(f"/proc/{child}/stat")
        if stat.exists() and stat.read_text().split()[2] == "Z":
            break
        time.sleep(0.05)
    else:
        pytest.fail("grandchild survived the timeout kill")


def test_run_tool_missing_program_and_output_cap(tmp_path: Path) -> None:
    res = run_tool(["definitely-not-a-program-xyz"], cwd=tmp_path, timeout=5)
    assert res.not_found and not res.ok
    res = run_tool(
        [sys.executable, "-c", "print('x' * 5000)"], cwd=tmp_path, timeout=10, max_output=100
    )
    assert res.ok and res.truncated and len(res.stdout) == 100


def test_run_tool_binary_stdout_is_undecoded_and_capped(tmp_path: Path) -> None:
    script = "import sys; sys.stdout.buffer.write(bytes([0xff, 0x41]) * 100)"
    res = run_tool([sys.executable, "-c", script], cwd=tmp_path, timeout=10, binary_stdout=True)
    assert res.ok and res.stdout == "" and res.stdout_bytes == bytes([0xFF, 0x41]) * 100
    res = run_tool(
        [sys.executable, "-c", script], cwd=tmp_path, timeout=10, max_output=7, binary_stdout=True
    )
    assert res.truncated and res.stdout_bytes == bytes([0xFF, 0x41]) * 3 + bytes([0xFF])
    text = run_tool([sys.executable, "-c", script], cwd=tmp_path, timeout=10)
    assert text.stdout_bytes is None and text.stdout == "\ufffdA" * 100


def test_rework_picks_owners_of_failed_checks_only() -> None:
    f1 = Finding(path="d.md", code="A", message="m1", owner="analyst")
    f2 = Finding(path="d.md", code="B", message="m2", owner="security")
    gate = GateResult(
        phase="p",
        score=0.5,
        threshold=0.6,
        passed=False,
        checks=[
            CheckResult(id="A", passed=False, score=0.5, owner="analyst", findings=[f1]),
            CheckResult(id="B", passed=False, score=0.5, owner="architect", findings=[f2]),
            CheckResult(id="C", passed=True, score=1.0, owner="devops"),
            CheckResult(id="D", passed=False, score=0.0, owner="qa", error="tool missing"),
        ],
    )
    plan = owners_of_failed(gate)
    assert plan == {"analyst": [f1], "security": [f2], "qa": []}
