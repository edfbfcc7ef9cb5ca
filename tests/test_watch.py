"""``phasegate watch`` as a program: validate once, then print deltas as files change.

Each test runs the command as a subprocess, reads its output line by line (a reader
thread; the deadline only bounds a failure, nothing waits a fixed time), edits files,
reads the delta each edit produces, then stops it with a signal.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest

DEADLINE = 120.0  # seconds a line may take on a loaded machine before the test fails

CONFIG = """\
thresholds = [0.9]

[[phases]]
name = "implementation"

[[phases.checks]]
id = "IMPL-SYNTAX"

[[phases.checks]]
id = "IMPL-STUB"

[[phases]]
name = "deployment"

[[phases.checks]]
id = "DEP-README"
"""

GOOD = "def f() -> int:\n    return 1\n"
STUB = "def f() -> int:\n    pass\n"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "phasegate.toml").write_text(CONFIG)
    (root / "pkg" / "app.py").write_text(GOOD)
    (root / "pkg" / "other.py").write_text("X = 1\n")
    return root


class Watch:
    """A running ``phasegate watch``: its output lines, as they come."""

    def __init__(self, root: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "phasegate", "watch", str(root), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=root.parent,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.errors: list[str] = []
        assert self.proc.stdout is not None and self.proc.stderr is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()
        threading.Thread(target=self._drain, args=(self.proc.stderr,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _drain(self, stream: IO[str]) -> None:
        self.errors += stream

    def line(self) -> str:
        try:
            line = self.lines.get(timeout=DEADLINE)
        except queue.Empty:
            raise AssertionError(f"no output line; stderr: {''.join(self.errors)}") from None
        if line is None:
            raise AssertionError(f"output ended; stderr: {''.join(self.errors)}")
        return line

    def event(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.line())
        return doc

    def until(self, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first event ``wanted`` accepts (earlier ones are skipped)."""
        while True:
            ev = self.event()
            if wanted(ev):
                return ev

    def stop(self, sig: signal.Signals = signal.SIGINT) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=DEADLINE)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def added(ev: dict[str, Any], path: str) -> list[dict[str, Any]]:
    return [f for fd in ev["files"] if fd["path"] == path for f in fd["added"]]


def removed(ev: dict[str, Any], path: str) -> list[dict[str, Any]]:
    return [f for fd in ev["files"] if fd["path"] == path for f in fd["removed"]]


def gate(ev: dict[str, Any], phase: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [g for g in ev["gates"] if g["phase"] == phase]
    (g,) = found
    return g


def tree(root: Path) -> dict[str, bytes]:
    """Every file outside ``.phasegate/`` with its content."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".phasegate" not in p.relative_to(root).parts
    }


@pytest.mark.parametrize("poll", [False, True], ids=["watchfiles", "poll"])
def test_json_deltas_follow_edits_and_ctrl_c_exits_0(tmp_path: Path, poll: bool) -> None:
    root = workspace(tmp_path)
    w = Watch(root, "--format", "json", *(["--poll"] if poll else []))
    try:
        first = w.event()
        assert first["event"] == "delta" and first["initial"] is True
        assert first["watcher"] == ("poll" if poll else "watchfiles")
        assert first["workspace"] == str(root.resolve())
        # the whole state: the missing README, every gate with no state before
        assert [f["code"] for f in added(first, "README.md")] == ["DEP-README"]
        assert gate(first, "implementation")["before"] is None
        assert gate(first, "implementation")["after"]["status"] == "passed"
        assert gate(first, "deployment")["after"]["status"] == "failed"
        assert (first["findings"], first["passed"], first["phases"]) == (1, 1, 2)
        before = tree(root)

        (root / "pkg" / "app.py").write_text(STUB)
        ev = w.until(lambda e: bool(e.get("files")))
        assert ev["event"] == "delta" and ev["initial"] is False
        assert ev["changed"] == ["pkg/app.py"]
        (stub,) = added(ev, "pkg/app.py")
        assert stub["code"] == "IMPL-STUB" and stub["phase"] == "implementation"
        assert stub["range"]["start"] == {"line": 0, "character": 4}  # 0-based, as validate
        assert not removed(ev, "pkg/app.py")
        if not ev["gates"]:  # the re-score may come in a report of its own
            ev = w.until(lambda e: bool(e.get("gates")))
        g = gate(ev, "implementation")
        assert g["before"]["status"] == "passed" and g["after"]["status"] == "failed"
        assert [c["check"] for c in ev["checks"]] == ["IMPL-STUB"]

        (root / "pkg" / "app.py").write_text(GOOD)
        ev = w.until(lambda e: bool(e.get("files")))
        assert [f["code"] for f in removed(ev, "pkg/app.py")] == ["IMPL-STUB"]
        if not ev["gates"]:
            ev = w.until(lambda e: bool(e.get("gates")))
        assert gate(ev, "implementation")["after"]["status"] == "passed"
        assert ev["findings"] == 1

        assert tree(root) == {**before, "pkg/app.py": GOOD.encode()}  # only .phasegate/
        assert w.stop(signal.SIGINT) == 0
        assert w.until(lambda e: e["event"] != "delta") == {"event": "stopped"}
    finally:
        w.close()
    assert (root / ".phasegate" / "cache").is_dir()  # the results were written on the way out


def test_text_output_and_sigterm(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    (root / "README.md").write_text("# ws\n\n## Installation\n\npip install ws\n\n## Usage\n\nws\n")
    w = Watch(root)
    try:
        lines = []
        while "watching" not in (line := w.line()):
            lines.append(line)
        assert "gates passed" in line and str(root.resolve()) in line
        assert "implementation: passed 1.00 (threshold 0.90)" in lines

        (root / "pkg" / "other.py").write_text("def g():\n    pass\n")
        out = []
        while not (line := w.line()).startswith("  + pkg/other.py:1:5: IMPL-STUB"):
            out.append(line)
        assert "changed: pkg/other.py" in out[-1] and "stub" in line
        assert w.line() == "  implementation IMPL-STUB: passed -> failed"
        assert w.line().startswith("  implementation: passed 1.00 -> failed ")  # score, threshold
        assert "1/2 gates passed, 1 findings" in w.line()
        assert w.stop(signal.SIGTERM) == 0
    finally:
        w.close()


def test_an_edit_that_changes_nothing_is_reported_once_and_unwatched_files_not_at_all(
    tmp_path: Path,
) -> None:
    root = workspace(tmp_path)
    w = Watch(root, "--format", "json", "--phase", "implementation")
    try:
        first = w.event()
        assert [g["phase"] for g in first["gates"]] == ["implementation"]  # --phase
        assert first["files"] == [] and first["phases"] == 1  # DEP-README did not run
        (root / "notes.txt").write_text("no check reads this\n")  # not reported
        (root / "pkg" / "other.py").write_text("X = 2\n")
        ev = w.event()
        assert ev["changed"] == ["pkg/other.py"]
        assert ev["files"] == [] and ev["gates"] == [] and ev["checks"] == []
        assert w.stop() == 0
        assert w.until(lambda e: e["event"] != "delta") == {"event": "stopped"}
    finally:
        w.close()


def test_a_broken_configuration_is_reported_and_the_last_valid_one_stays(
    tmp_path: Path,
) -> None:
    root = workspace(tmp_path)
    w = Watch(root, "--format", "json")
    try:
        w.event()
        (root / "phasegate.toml").write_text(CONFIG + "\n[[phases]]\nname = 3\n")
        ev = w.until(lambda e: e["event"] == "config")
        assert ev["problems"] and ev["problems"][0]["path"] == "phasegate.toml"
        assert all(p["severity"] == "error" for p in ev["problems"])
        # still watching with the last valid configuration
        (root / "pkg" / "app.py").write_text(STUB)
        ev = w.until(lambda e: bool(e.get("files")))
        assert [f["code"] for f in added(ev, "pkg/app.py")] == ["IMPL-STUB"]
        (root / "phasegate.toml").write_text(CONFIG)
        assert w.until(lambda e: e["event"] == "config")["problems"] == []
        assert w.stop() == 0
    finally:
        w.close()


def test_start_errors_exit_2(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "phasegate", "watch", str(root), "--phase", "nope"],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert proc.returncode == 2 and "unknown phase 'nope'" in proc.stderr
    (root / "phasegate.toml").write_text("thresholds = 'high'\n")
    proc = subprocess.run(
        [sys.executable, "-m", "phasegate", "watch", str(root)],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert proc.returncode == 2 and "phasegate.toml:1:" in proc.stderr
    assert not (root / ".phasegate").exists()  # nothing ran, nothing was written
