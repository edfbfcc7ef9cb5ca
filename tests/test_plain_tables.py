"""Tables off a terminal: ``run``, ``resume``, ``status``, ``sessions`` and ``validate``
piped (a pipe, a file, a CI log) print one line per row, never wrapped at 80 columns and
never cut; on a terminal they still draw the rich table, as wide as the terminal."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from phasegate.commands._output import render_gates
from phasegate.commands._table import plain_table_lines, print_table
from phasegate.model import CheckResult, GateResult

# longer than 80 columns, and than the 60 characters the terminal's session list shows
REQUIREMENT = (
    "Create a task management system with users, teams, due dates, reminders by e-mail "
    "and a weekly summary of what is overdue"
)
BOX = re.compile(r"[│┃┏┗┡━─]")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _env(**extra: str) -> dict[str, str]:
    drop = {"PYTHONPATH", "COLUMNS", "FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TERM"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["COLUMNS"] = "80"  # what rich would wrap at
    env.update(extra)
    return env


def piped(ws: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``phasegate ARGS`` with standard output on a pipe (never a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "phasegate", *args],
        cwd=ws,
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(**env),
    )


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty folder after ``phasegate run``: Requirements stalls with a long note."""
    ws = tmp_path_factory.mktemp("plain") / "taskboard"
    ws.mkdir()
    res = piped(ws, "run", "--session", "tasks", "--requirement", REQUIREMENT)
    assert res.returncode == 1, res.stdout + res.stderr
    ws.joinpath("run.out").write_text(res.stdout)
    return ws


def _one_line_per_phase(out: str, notes: dict[str, str]) -> None:
    """Each phase is on exactly one line, which ends with its whole note."""
    for title, note in notes.items():
        rows = [line for line in out.splitlines() if line.startswith(title + " ")]
        assert len(rows) == 1, (title, out)
        assert rows[0].endswith(note) if note else rows[0].split()[-1] == "0", (rows, note)


def test_run_and_status_piped_print_one_line_per_phase(ws: Path) -> None:
    shown = json.loads(piped(ws, "status", "--format", "json").stdout)
    notes = {p["name"].capitalize(): p["message"] for p in shown["session"]["phases"]}
    long_note = notes["Requirements"]
    assert long_note.startswith("no longer improving") and len(long_note) > 80
    for out in (ws.joinpath("run.out").read_text(), piped(ws, "status").stdout):
        assert not BOX.search(out), out
        lines = out.splitlines()
        assert lines[0] == "session tasks — waiting"
        assert lines[1].split() == ["Phase", "Status", "Score", "Threshold", "Iterations", "Note"]
        _one_line_per_phase(out, notes)
        row = next(line for line in lines if line.startswith("Requirements "))
        assert row.split()[1:5] == ["stalled", "0.52", "0.75", "2"]
        assert max(map(len, lines)) > 100  # sized to the content, not to 80 columns


def test_sessions_piped_show_the_whole_requirement(ws: Path) -> None:
    res = piped(ws, "sessions")
    assert res.returncode == 0, res.stderr
    header, row = res.stdout.splitlines()
    assert header.split() == ["Session", "Status", "Phase", "Updated", "Requirement"]
    assert row.startswith("*  tasks    waiting  requirements  ")
    assert row.endswith(REQUIREMENT)


def test_validate_piped_prints_one_line_per_gate(ws: Path) -> None:
    res = piped(ws, "validate")
    doc = json.loads(piped(ws, "validate", "--format", "json").stdout)
    assert res.returncode == 1, res.stderr
    assert not BOX.search(res.stdout), res.stdout
    lines = res.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Phase "))
    assert lines[start].split() == ["Phase", "Status", "Score", "Threshold", "Failed", "checks"]
    table = lines[start + 1 : start + 1 + len(doc["phases"])]  # the findings come before
    longest = 0
    for phase in doc["phases"]:
        failed = [c for c in phase["checks"] if not c["passed"]]
        rows = [line for line in table if line.startswith(phase["name"] + " ")]
        assert len(rows) == 1, (phase["name"], res.stdout)
        assert rows[0].split()[1:4] == [
            phase["status"],
            f"{phase['score']:.2f}",
            f"{phase['threshold']:.2f}",
        ]
        for check in failed:  # every failed check on the phase's line, none on another
            assert check["id"] in rows[0]
        longest = max(longest, len(rows[0]))
    assert longest > 80, res.stdout  # this workspace has a row wider than 80 columns


def test_a_terminal_still_gets_the_table(ws: Path) -> None:
    """``TTY_COMPATIBLE=1`` (rich's switch: the output is a terminal) draws the table,
    80 columns wide: the long note wraps inside its cell, as it always did."""
    res = piped(ws, "status", TTY_COMPATIBLE="1", NO_COLOR="1")
    out = ANSI.sub("", res.stdout)
    lines = out.splitlines()
    assert any(line.startswith("┃ Phase") for line in lines), out
    table = [line for line in lines if BOX.search(line)]
    assert max(len(line) for line in table) == 80
    assert len([line for line in table if line.startswith("│ ")]) > 5  # a row took 2+ lines
    assert "waiting for a person" not in next(line for line in table if "Requirements" in line)


# -- the rendering itself -----------------------------------------------------------------


def test_plain_lines_align_columns_and_never_split_a_cell() -> None:
    lines = plain_table_lines(
        ["Phase", "Status", "Score", "Note"],
        [
            ["Requirements", "stalled", "0.52", "a note\nwith a line break and  spaces"],
            ["Design", "pending", "-", ""],
        ],
        right={2},
    )
    assert lines == [
        "Phase         Status   Score  Note",
        "Requirements  stalled   0.52  a note with a line break and spaces",
        "Design        pending      -",
    ]


def _gate(phase: str, failed: int) -> GateResult:
    checks = [
        CheckResult(id=f"{phase.upper()}-CHECK-WITH-A-LONG-NAME-{i}", score=0.0, passed=False)
        for i in range(failed)
    ]
    return GateResult(phase=phase, score=0.25, threshold=0.9, passed=False, checks=checks)


def test_render_gates_off_a_terminal_and_on_one() -> None:
    gates = [_gate("requirements", 4), _gate("design", 0)]
    failed = ", ".join(c.id for c in gates[0].checks)
    off = io.StringIO()
    render_gates(Console(file=off, width=80), gates, title="After remediation")
    assert off.getvalue().splitlines()[:4] == [
        "After remediation",
        "Phase         Status  Score  Threshold  Failed checks",
        f"requirements  failed   0.25       0.90  {failed}",
        "design        failed   0.25       0.90  -",
    ]
    on = io.StringIO()
    render_gates(Console(file=on, width=80, force_terminal=True, no_color=True), gates)
    drawn = ANSI.sub("", on.getvalue())
    assert "┃ Phase" in drawn and failed not in drawn  # wrapped in its cell
    assert max(len(line) for line in drawn.splitlines()) <= 80


def test_a_recorded_console_gets_the_table() -> None:
    console = Console(file=io.StringIO(), record=True, width=60)
    print_table(console, ["A", "B"], [["1", "2"]], title="t")
    assert "┃ A ┃ B ┃" in console.export_text()
