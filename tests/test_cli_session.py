"""``phasegate run | resume | status | sessions``: exit codes, output, and durability
against SIGKILL, Ctrl-C, corrupt checkpoints and concurrent processes.

Subprocess tests run ``tests/test_executor_support.py`` as the CLI: the real ``phasegate``
command line with the test check ``T-SCORE`` and persona ``t-script`` registered, configured
by a real ``phasegate.toml``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_executor_support import CALLS, plugins, write_scores

from phasegate.cli import cli
from phasegate.model import PhaseStatus, SessionStatus
from phasegate.store import SessionStore

SUPPORT = Path(__file__).with_name("test_executor_support.py")


# -- helpers -----------------------------------------------------------------------------
def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def write_config(
    root: Path,
    phases: list[dict[str, Any]],
    personas: dict[str, dict[str, Any]],
    **top: Any,
) -> None:
    lines = [f"{k} = {toml_value(v)}" for k, v in top.items()]
    for ph in phases:
        lines += ["", "[[phases]]", f"name = {toml_value(ph['name'])}"]
        lines.append(f"personas = {toml_value(ph['personas'])}")
        for cid, (file, owner) in ph["checks"].items():
            lines += [
                "[[phases.checks]]",
                f"id = {toml_value(cid)}",
                'kind = "T-SCORE"',
                f"inputs = {toml_value([file])}",
                f"owner = {toml_value(owner)}",
                f"options = {toml_value({'file': file})}",
            ]
    for name, opts in personas.items():
        lines += ["", f"[personas.{name}]", 'kind = "t-script"', f"options = {toml_value(opts)}"]
    (root / "phasegate.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def two_phase_workspace(root: Path, log: Path, sleep: float = 0.0) -> None:
    """one: x needs two iterations; two: y passes at once, z needs two iterations."""
    root.mkdir(parents=True, exist_ok=True)
    write_scores(root, {"a.txt": "0", "b.txt": "0", "c.txt": "0"})
    common = {"sleep": sleep, "log": str(log)}
    write_config(
        root,
        [
            {"name": "one", "personas": ["x"], "checks": {"A": ("a.txt", "x")}},
            {
                "name": "two",
                "personas": ["y", "z"],
                "checks": {"B": ("b.txt", "y"), "C": ("c.txt", "z")},
            },
        ],
        {
            "x": {**common, "edits": [{"a.txt": "0.5\nA needs more"}, {"a.txt": "1"}]},
            "y": {**common, "edits": [{"b.txt": "1"}]},
            "z": {**common, "edits": [{"c.txt": "0.1\nC needs more"}, {"c.txt": "1"}]},
        },
    )


def phasegate(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SUPPORT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(SUPPORT), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def event_count(root: Path, sid: str) -> int:
    try:
        return (root / f".phasegate/sessions/{sid}/events.jsonl").read_bytes().count(b"\n")
    except OSError:
        return 0


def wait_for(pred: Any, proc: subprocess.Popen[str], limit: float = 60.0) -> bool:
    """Poll ``pred`` until true (True) or the process exited (False)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if pred():
            return True
        if proc.poll() is not None:
            return bool(pred())
        time.sleep(0.01)
    raise AssertionError("timed out waiting")


def has_event(root: Path, sid: str, kind: str) -> bool:
    p = root / f".phasegate/sessions/{sid}/events.jsonl"
    try:
        return f'"kind":"{kind}"' in p.read_text()
    except OSError:
        return False


def logged_calls(log: Path) -> list[tuple[str, int]]:
    if not log.exists():
        return []
    return [(c["persona"], c["iteration"]) for c in map(json.loads, log.read_text().splitlines())]


@pytest.fixture(autouse=True)
def _test_plugins() -> Iterator[None]:
    CALLS.clear()
    with plugins():
        yield


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# -- in-process: exit codes and output --------------------------------------------------
def test_run_completes_with_exit_0_and_prints_the_phase_table(tmp_path: Path) -> None:
    two_phase_workspace(tmp_path, tmp_path.parent / f"{tmp_path.name}.log")
    res = invoke("run", "--requirement", "Build a thing", "--session", "s1", "-w", str(tmp_path))
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "session s1 completed" in out
    for word in ("Phase", "Status", "Score", "Threshold", "Iterations", "One", "Two"):
        assert word in out
    # the live progress log went to stderr
    assert "iteration 2" in res.stderr and "gate" in res.stderr
    state = SessionStore(tmp_path).load("s1")
    assert state.status is SessionStatus.COMPLETED
    assert [(c["persona"], c["iteration"]) for c in CALLS] == [
        ("x", 1),
        ("x", 2),
        ("y", 1),
        ("z", 1),
        ("z", 2),
    ]


def test_waiting_session_exits_1_and_lists_findings_with_1_based_positions(
    tmp_path: Path,
) -> None:
    two_phase_workspace(tmp_path, tmp_path.parent / f"{tmp_path.name}.log")
    res = invoke(
        "run", "-r", "Build", "--session", "s1", "-w", str(tmp_path), "--max-phase-iterations", "1"
    )
    assert res.exit_code == 1, res.output
    # finding on 0-based line 1 of a.txt -> a.txt:2:1
    assert "a.txt:2:1: A A needs more" in res.stdout
    assert "blocked" in res.stdout and "phasegate resume s1" in res.stdout

    # status reads the checkpoint (runs nothing) and says the same
    st = invoke("status", "-w", str(tmp_path))
    assert st.exit_code == 1
    assert "a.txt:2:1: A A needs more" in st.stdout
    js = invoke("status", "-w", str(tmp_path), "--format", "json")
    doc = json.loads(js.stdout)
    assert doc["session"]["id"] == "s1" and doc["session"]["status"] == "waiting"
    assert doc["gates"][0]["name"] == "one" and doc["gates"][0]["status"] == "blocked"
    assert doc["gates"][0]["checks"][0]["findings"][0]["range"]["start"]["line"] == 1

    # raising the limit on resume iterates further and completes
    res = invoke("resume", "-w", str(tmp_path), "--max-phase-iterations", "2")
    assert res.exit_code == 0, res.output
    assert invoke("status", "-w", str(tmp_path)).exit_code == 0


def test_run_json_output(tmp_path: Path) -> None:
    two_phase_workspace(tmp_path, tmp_path.parent / f"{tmp_path.name}.log")
    res = invoke("run", "-r", "Build", "--session", "s1", "-w", str(tmp_path), "--format", "json")
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert doc["session"]["status"] == "completed"
    assert [g["name"] for g in doc["gates"]] == ["one", "two"]
    assert all(g["gate"] == "passed" and g["status"] == "completed" for g in doc["gates"])
    phases = doc["session"]["phases"]
    assert [len(p["iterations"]) for p in phases] == [3, 3]
    assert "last_gate" not in phases[0]


def test_sessions_lists_with_active_marker(tmp_path: Path) -> None:
    two_phase_workspace(tmp_path, tmp_path.parent / f"{tmp_path.name}.log")
    assert "no sessions" in invoke("sessions", "-w", str(tmp_path)).stdout
    invoke("run", "-r", "First", "--session", "s1", "-w", str(tmp_path))
    write_scores(tmp_path, {"a.txt": "0"})
    invoke(
        "run", "-r", "Second", "--session", "s2", "-w", str(tmp_path), "--max-phase-iterations", "1"
    )
    res = invoke("sessions", "-w", str(tmp_path))
    assert res.exit_code == 0 and "s1" in res.stdout and "s2" in res.stdout
    doc = json.loads(invoke("sessions", "-w", str(tmp_path), "--format", "json").stdout)
    assert {d["id"]: (d["active"], d["status"]) for d in doc} == {
        "s1": (False, "completed"),
        "s2": (True, "waiting"),
    }


@pytest.mark.parametrize(
    "args,needle",
    [
        (["run", "-r", "x", "--session", "../bad"], "invalid session id"),
        (["resume", "no/such"], "invalid session id"),
        (["resume", "ghost"], "no session ghost"),
        (["resume"], "no active session"),
        (["status"], "no active session"),
        (["run", "-r", "   "], "requirement is empty"),
    ],
)
def test_usage_and_state_errors_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    res = invoke(*args, "-w", str(tmp_path))
    assert res.exit_code == 2
    assert needle in res.stderr


def test_existing_session_id_exits_2(tmp_path: Path) -> None:
    two_phase_workspace(tmp_path, tmp_path.parent / f"{tmp_path.name}.log")
    assert invoke("run", "-r", "x", "--session", "s1", "-w", str(tmp_path)).exit_code == 0
    res = invoke("run", "-r", "x", "--session", "s1", "-w", str(tmp_path))
    assert res.exit_code == 2 and "already exists" in res.stderr


def test_config_errors_exit_2_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "phasegate.toml").write_text("thresholds = [0.5]\nmax_phase_iteratons = 3\n")
    res = invoke("run", "-r", "x", "-w", str(tmp_path))
    assert res.exit_code == 2
    assert "phasegate.toml:2" in res.stderr
    assert not (tmp_path / ".phasegate/sessions").exists()


def test_corrupt_checkpoint_exits_2_keeps_bytes_and_second_resume_continues(
    tmp_path: Path,
) -> None:
    two_phase_workspace(tmp_path, tmp_path.parent / f"{tmp_path.name}.log")
    res = invoke(
        "run", "-r", "x", "--session", "s1", "-w", str(tmp_path), "--max-phase-iterations", "1"
    )
    assert res.exit_code == 1
    d = tmp_path / ".phasegate/sessions/s1"
    garbage = b'{"schema_version": 1, "id": "s1", "phases": [tr\xff'
    (d / "checkpoint.json").write_bytes(garbage)

    res = invoke("resume", "-w", str(tmp_path))
    assert res.exit_code == 2
    msg = res.stderr.strip()
    assert "\n" not in msg and msg.endswith(".")  # one sentence
    assert "unreadable" in msg and "checkpoint.corrupt-" in msg and "run the command again" in msg
    aside = [p for p in d.iterdir() if p.name.startswith("checkpoint.corrupt-")]
    assert len(aside) == 1 and aside[0].read_bytes() == garbage  # the bad bytes are kept

    # status on the recovered state works; resume continues from it
    assert invoke("status", "-w", str(tmp_path)).exit_code == 1
    res = invoke("resume", "-w", str(tmp_path), "--max-phase-iterations", "3")
    assert res.exit_code == 0, res.output
    assert aside[0].read_bytes() == garbage


def test_status_on_corrupt_checkpoint_exits_2(tmp_path: Path) -> None:
    two_phase_workspace(tmp_path, tmp_path.parent / f"{tmp_path.name}.log")
    invoke("run", "-r", "x", "--session", "s1", "-w", str(tmp_path), "--max-phase-iterations", "1")
    (tmp_path / ".phasegate/sessions/s1/checkpoint.json").write_text("not json")
    res = invoke("status", "-w", str(tmp_path))
    assert res.exit_code == 2 and "checkpoint.corrupt-" in res.stderr
    assert invoke("status", "-w", str(tmp_path)).exit_code == 1


# -- subprocesses: kill -9, Ctrl-C, the lock ------------------------------------------------
def test_sigkill_at_many_points_always_resumes_to_the_same_result(tmp_path: Path) -> None:
    root, log = tmp_path / "ws", tmp_path / "calls.log"
    two_phase_workspace(root, log, sleep=0.15)
    store = SessionStore(root)
    kill_at = [3, 6, 9, 13, 17, 22, 27]
    args = ["run", "-r", "Build", "--session", "s1", "-w", str(root)]
    kills = 0
    for n in kill_at:
        proc = spawn(*args)
        reached = wait_for(lambda n=n: event_count(root, "s1") >= n, proc)
        if proc.poll() is None and reached:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate(timeout=60)
        # after every kill the checkpoint is valid and loads without recovery
        state = store.load("s1")
        assert state.id == "s1"
        assert store.read_events("s1")[0].kind == "session_started"
        args = ["resume", "s1", "-w", str(root)]
        if state.status is SessionStatus.COMPLETED:
            break
    assert kills >= 4
    final = phasegate(*args)
    assert final.returncode == 0, final.stderr
    state = store.load("s1")
    assert state.status is SessionStatus.COMPLETED
    # the same work as an uninterrupted run: no iteration lost or counted twice
    assert [[it.number for it in p.iterations] for p in state.phases] == [[0, 1, 2], [0, 1, 2]]
    assert state.global_iterations == 4
    assert set(logged_calls(log)) == {("x", 1), ("x", 2), ("y", 1), ("z", 1), ("z", 2)}
    assert (root / "a.txt").read_text() == "1" and (root / "c.txt").read_text() == "1"


def test_ctrl_c_stops_after_the_current_step_with_a_checkpoint(tmp_path: Path) -> None:
    root, log = tmp_path / "ws", tmp_path / "calls.log"
    two_phase_workspace(root, log, sleep=0.5)
    proc = spawn("run", "-r", "Build", "--session", "s1", "-w", str(root))
    assert wait_for(lambda: has_event(root, "s1", "persona_started"), proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "stopping after the current step" in err and "phasegate resume s1" in err
    state = SessionStore(root).load("s1")
    assert state.status is SessionStatus.STOPPED
    it = state.phase("one").iterations[-1]
    assert [r.persona for r in it.personas] == ["x"]  # the step in progress was finished
    res = phasegate("resume", "-w", str(root))
    assert res.returncode == 0, res.stderr
    assert logged_calls(log).count(("x", 1)) == 1


def test_second_ctrl_c_interrupts_now_and_resume_reruns_the_persona(tmp_path: Path) -> None:
    root, log = tmp_path / "ws", tmp_path / "calls.log"
    two_phase_workspace(root, log, sleep=30)
    proc = spawn("run", "-r", "Build", "--session", "s1", "-w", str(root))
    assert wait_for(lambda: has_event(root, "s1", "persona_started"), proc)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    state = SessionStore(root).load("s1")
    assert state.status is SessionStatus.STOPPED
    it = state.phase("one").iterations[-1]
    assert it.number == 1 and it.planned == ["x"] and it.personas == [] and not it.outcome
    assert has_event(root, "s1", "session_stopped")


def test_a_second_process_on_a_locked_session_exits_2(tmp_path: Path) -> None:
    root, log = tmp_path / "ws", tmp_path / "calls.log"
    two_phase_workspace(root, log, sleep=30)
    proc = spawn("run", "-r", "Build", "--session", "s1", "-w", str(root))
    try:
        assert wait_for(lambda: has_event(root, "s1", "persona_started"), proc)
        res = phasegate("resume", "s1", "-w", str(root))
        assert res.returncode == 2
        assert f"session s1 is in use by another phasegate process (pid {proc.pid})" in res.stderr
    finally:
        proc.kill()
        proc.communicate(timeout=60)
    # the dead process's lock is gone
    state = SessionStore(root).load("s1")
    assert state.phase("one").status is PhaseStatus.IN_PROGRESS


def test_phasegate_entry_point_runs(tmp_path: Path) -> None:
    """The installed console script works for the session commands (no test plugins)."""
    exe = Path(sys.executable).with_name("phasegate")
    res = subprocess.run(
        [str(exe), "sessions", "-w", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0 and "no sessions" in res.stdout
    env = {**os.environ, "COLUMNS": "200"}
    res = subprocess.run(
        [str(exe), "status", "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert res.returncode == 2 and "no active session" in res.stderr
