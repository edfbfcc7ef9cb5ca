"""Timeouts that hold and tools that die with phasegate (Linux).

Reproduces what hostile and unlucky workspaces did: a descendant that leaves the process
group with ``setsid`` and ignores SIGTERM kept ``validate`` waiting forever on its pipe;
a persona survived ``kill -9`` of phasegate and wrote to the workspace afterwards; 1 GB of
tool output was read whole before being trimmed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from phasegate.proc import PIPE_GRACE_S, marked_processes, run_tool

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pid: int, seconds: float = 60.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def read_pid(path: Path, seconds: float = 60.0) -> int:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        with contextlib.suppress(OSError, ValueError):
            return int(path.read_text().strip())
        time.sleep(0.05)
    raise AssertionError(f"no pid in {path}")


def test_a_timeout_holds_when_a_descendant_escapes_with_setsid(tmp_path: Path) -> None:
    pid_file = tmp_path / "escaped.pid"
    script = (
        f"setsid sh -c \"echo \\$\\$ > {pid_file}; trap '' TERM; exec sleep 100004\" & sleep 100005"
    )
    start = time.monotonic()
    res = run_tool(["sh", "-c", script], cwd=tmp_path, timeout=2)
    took = time.monotonic() - start
    assert res.timed_out and res.returncode is None
    # returns within the timeout plus the pipe grace, not when the escaped sleep ends
    assert took < 100
    escaped = read_pid(pid_file)
    assert wait_gone(escaped), "the escaped descendant was not killed"


def test_output_held_by_an_unreachable_process_is_abandoned(tmp_path: Path) -> None:
    # env -i drops the run marker: this descendant cannot be found, only outwaited
    pid_file = tmp_path / "hidden.pid"
    script = (
        f"setsid env -i sh -c \"echo \\$\\$ > {pid_file}; trap '' TERM; exec sleep 100006\" & "
        "sleep 100007"
    )
    try:
        res = run_tool(["sh", "-c", script], cwd=tmp_path, timeout=1)
        assert res.timed_out
        assert "output abandoned" in res.stderr
    finally:
        with contextlib.suppress(Exception):
            os.kill(read_pid(pid_file, 5), signal.SIGKILL)


def test_children_left_by_a_finished_tool_are_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "left.pid"
    script = f"setsid sh -c 'echo $$ > {pid_file}; exec sleep 100008' & exit 0"
    res = run_tool(["sh", "-c", script], cwd=tmp_path, timeout=30)
    assert res.returncode == 0
    assert wait_gone(read_pid(pid_file))


def test_a_tool_dies_with_phasegate_even_on_kill_9(tmp_path: Path) -> None:
    pid_file = tmp_path / "tool.pid"
    driver = tmp_path / "driver.py"
    driver.write_text(
        textwrap.dedent(
            f"""
            from phasegate.proc import run_tool
            run_tool(["sh", "-c", "echo $$ > {pid_file}; exec sleep 100009"],
                     cwd={str(tmp_path)!r}, timeout=1000)
            """
        )
    )
    proc = subprocess.Popen([sys.executable, str(driver)])
    try:
        tool = read_pid(pid_file)
        assert alive(tool)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert wait_gone(tool), "the tool outlived phasegate"
    finally:
        proc.kill()
        proc.wait()


def test_output_beyond_the_cap_is_never_held_whole(tmp_path: Path) -> None:
    # 64 MB written, 1 MB kept: the rest is read and dropped as it comes
    code = (
        "import sys\nchunk = b'x' * 65536\nfor _ in range(1024): sys.stdout.buffer.write(chunk)\n"
    )
    res = run_tool([sys.executable, "-c", code], cwd=tmp_path, timeout=120, max_output=1024 * 1024)
    assert res.returncode == 0 and res.truncated
    assert len(res.stdout) == 1024 * 1024


def test_stdin_is_fed_and_no_marked_process_is_left(tmp_path: Path) -> None:
    res = run_tool(
        [
            sys.executable,
            "-c",
            "import sys, os; print(len(sys.stdin.read()), os.environ['PHASEGATE_RUN'] != '')",
        ],
        cwd=tmp_path,
        timeout=60,
        stdin="y" * 300_000,
    )
    assert res.stdout.split() == ["300000", "True"]
    assert PIPE_GRACE_S > 0
    assert marked_processes("no-such-marker") == []


def test_a_persona_descendant_left_by_a_killed_phasegate_is_stopped_by_the_next_run(
    tmp_path: Path,
) -> None:
    """kill -9 of phasegate: its tool dies (parent-death signal) but the tool's own
    child is reparented to init; the next `run`/`resume` in the workspace stops it."""
    from phasegate.proc import kill_leftovers

    ws = tmp_path / "ws"
    ws.mkdir()
    pid_file = tmp_path / "grandchild.pid"
    driver = tmp_path / "driver.py"
    driver.write_text(
        textwrap.dedent(
            f"""
            from phasegate.proc import run_tool
            run_tool(["sh", "-c", "sleep 100010 & echo $! > {pid_file}; wait"],
                     cwd={str(ws)!r}, timeout=1000)
            """
        )
    )
    proc = subprocess.Popen([sys.executable, str(driver)])
    try:
        grandchild = read_pid(pid_file)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert alive(grandchild)  # orphaned, still running: what the issue saw
        assert kill_leftovers(tmp_path / "elsewhere") == []  # another workspace: untouched
        assert grandchild in kill_leftovers(ws)
        assert wait_gone(grandchild)
    finally:
        proc.kill()
        proc.wait()
        with contextlib.suppress(Exception):
            os.kill(read_pid(pid_file, 1), signal.SIGKILL)
