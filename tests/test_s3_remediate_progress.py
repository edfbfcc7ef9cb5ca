"""``phasegate remediate`` on a terminal: a live line names the check being evaluated and
its tool, then the persona at work and the program it runs; nothing of it off a terminal.

The programs of the workspace (a check's tool, a persona's program) wait until the
terminal shows them named, so each test passes only when the line really named them
while they ran (see ``WAITER``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli_workspace import TERMINAL_ENV, _env, run_on_a_terminal

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="names the running tool from /proc (Linux) on a pseudo-terminal",
)

# A program that waits until the terminal's text (its log, without control sequences)
# shows NEEDLE, then does its work; after two minutes it gives up without doing it, which
# fails the check or leaves the stub in place, and so the test.
WAITER = """\
import pathlib, re, sys, time
log, needle = sys.argv[1], sys.argv[2]
for _ in range(2400):
    text = open(log, encoding="utf-8", errors="replace").read()
    if needle in re.sub(r"\\x1b\\[[0-9;?]*[A-Za-z]", "", text):
        break
    time.sleep(0.05)
else:
    sys.exit(3)
if len(sys.argv) > 3:  # the persona: fix the stub
    pathlib.Path(sys.argv[3]).write_text('def add(a: int, b: int) -> int:\\n    return a + b\\n')
"""

CHECK_NEEDLE = "implementation · WAIT (pg-waiter)"
PERSONA_NEEDLE = (
    "implementation · fixer: remediation iteration 1: owner of failed IMPL-STUB (pg-fixer)"
)
STUB = "def add(a: int, b: int) -> int:\n    raise NotImplementedError\n"


def remediation_workspace(tmp_path: Path, log: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "app.py").write_text(STUB)
    for name in ("pg-waiter", "pg-fixer"):
        program = tmp_path / name
        program.write_text(f"#!{sys.executable}\n{WAITER}")
        program.chmod(0o755)
    log.write_text("")
    check = json.dumps([str(tmp_path / "pg-waiter"), str(log), CHECK_NEEDLE])
    persona = json.dumps([str(tmp_path / "pg-fixer"), str(log), PERSONA_NEEDLE, "app.py"])
    (ws / "phasegate.toml").write_text(
        f"""\
thresholds = [0.9]

[[phases]]
name = "implementation"
personas = ["fixer"]

[[phases.checks]]
id = "IMPL-STUB"
owner = "fixer"

[[phases.checks]]
id = "WAIT"
kind = "command"
owner = "fixer"
options = {{ command = {check} }}

[personas.fixer]
kind = "command"
options = {{ command = {persona}, stdin = false }}
"""
    )
    return ws


def test_remediate_names_the_check_then_the_persona_on_a_terminal(tmp_path: Path) -> None:
    log = tmp_path / "terminal.log"
    ws = remediation_workspace(tmp_path, log)
    code, stdout, text = run_on_a_terminal(
        ["remediate", "--format", "json"], ws, log, _env(**TERMINAL_ENV)
    )
    doc = json.loads(stdout)  # standard output stays clean JSON
    assert code == 0, text
    assert doc["passed"] is True
    (phase,) = doc["phases"]
    assert phase["status"] == "completed" and phase["initial_score"] < phase["score"]
    assert (ws / "app.py").read_text() != STUB  # the persona saw itself named, then fixed
    assert CHECK_NEEDLE in text
    assert PERSONA_NEEDLE in text
    assert re.search(r"\d+/\?", text)  # the checks done, of a number not known in advance
    # the steps done are printed on the terminal too (above the line)
    assert "implementation: fails" in text
    assert "implementation: iteration 1: passes" in text


def test_remediate_steps_stay_on_standard_output_when_it_is_a_pipe(tmp_path: Path) -> None:
    """Text output to a pipe: the steps and the result go there, the line stays on the
    terminal (standard error)."""
    log = tmp_path / "terminal.log"
    ws = remediation_workspace(tmp_path, log)
    code, stdout, text = run_on_a_terminal(["remediate"], ws, log, _env(**TERMINAL_ENV))
    assert code == 0, text
    assert "implementation: fails" in stdout and "After remediation" in stdout
    assert "\x1b[" not in stdout
    assert PERSONA_NEEDLE in text
    assert "implementation: fails" not in text


def test_remediate_shows_no_progress_off_a_terminal(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "app.py").write_text(STUB)
    (ws / "phasegate.toml").write_text(
        'thresholds = [0.9]\n\n[[phases]]\nname = "implementation"\n\n'
        '[[phases.checks]]\nid = "IMPL-STUB"\n'
    )
    env = {**_env(), "TERM": "xterm-256color"}
    env.pop("PHASEGATE_PROGRESS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "phasegate", "remediate", "--format", "json"],
        cwd=ws,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr  # no persona can fix it: still failing
    assert json.loads(proc.stdout)["passed"] is False
    assert "implementation: fails" in proc.stderr  # the steps, as plain lines
    assert "\x1b[" not in proc.stderr and "/?" not in proc.stderr
    assert os.path.exists(ws / ".phasegate")
