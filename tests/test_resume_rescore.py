"""Resume re-scores a phase whose entry gate blocked it once the block is lifted.

A phase that was stalled, blocked by an iteration limit, regressed or in progress when
an earlier phase regressed is ``blocked`` by its entry gate. When the earlier phase
passes again, the *same* ``resume`` must score the phase on what is on disk (at its last
threshold) and go on as it was: a pass completes it, a stalled or regressed phase keeps
waiting without asking its personas, a limit-blocked phase iterates when the limit was
raised, a phase in progress iterates on. A second ``resume`` must never be needed.

The first test drives the real command line (``tests/test_executor_support.py`` is the
``phasegate`` CLI with the test check and persona registered); the others drive the
executor in-process.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_executor_support import CALLS, make_config, persona, plugins, score_check, write_scores

from phasegate.config import Config, PhaseConfig
from phasegate.executor import Executor
from phasegate.model import Event, PhaseStatus, SessionState, SessionStatus
from phasegate.store import SessionStore, state_from_events
from phasegate.workspace import Workspace

SUPPORT = Path(__file__).with_name("test_executor_support.py")

BROKEN_ONE = "0.1\nrequirement deleted"


@pytest.fixture(autouse=True)
def _test_plugins() -> Iterator[None]:
    CALLS.clear()
    with plugins():
        yield


def calls() -> list[tuple[str, int]]:
    return [(c["persona"], c["iteration"]) for c in CALLS]


def two_phases(y_edits: list[dict[str, str]], **kw: Any) -> Config:
    """one (check A on a.txt, persona x passes it at once), two (check B on b.txt,
    persona y applies ``y_edits``)."""
    return make_config(
        [
            PhaseConfig(name="one", personas=["x"], checks=[score_check("A", "a.txt", "x")]),
            PhaseConfig(name="two", personas=["y"], checks=[score_check("B", "b.txt", "y")]),
        ],
        {"x": persona(edits=[{"a.txt": "1"}]), "y": persona(edits=y_edits)},
        **kw,
    )


# y never gets b.txt past 0.3: iteration 2 does not improve, so two stalls
STALLING = [{"b.txt": "0.3\nB weak"}, {"b.txt": "0.3\nB weak"}]


async def drive(
    root: Path, cfg: Config, *, start: bool = False, on_event: Any = None
) -> SessionState:
    """One ``run`` (``start``) or ``resume`` of session s1 by a fresh executor, as the CLI
    does: the lock is released afterwards."""
    ex = Executor(Workspace(root), cfg, SessionStore(root), on_event=on_event)
    try:
        return await (ex.start("build it", "s1") if start else ex.resume("s1"))
    finally:
        ex.close()


async def block_two_by_entry(root: Path, cfg: Config) -> None:
    """Break phase one on disk and resume: one regresses, two is blocked by its entry gate."""
    write_scores(root, {"a.txt": BROKEN_ONE})
    state = await drive(root, cfg)
    assert state.phase("one").status is PhaseStatus.REGRESSED
    two = state.phase("two")
    assert two.status is PhaseStatus.BLOCKED and two.blocked_by == "entry"


# -- the real command line ---------------------------------------------------------------
def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SUPPORT), *args, "-w", str(root), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=300,  # a guard against a hang only; a run takes well under a second
    )


CLI_CONFIG = """\
[[phases]]
name = "one"
personas = ["x"]
[[phases.checks]]
id = "A"
kind = "T-SCORE"
inputs = ["a.txt"]
owner = "x"
options = { file = "a.txt" }

[[phases]]
name = "two"
personas = ["y"]
[[phases.checks]]
id = "B"
kind = "T-SCORE"
inputs = ["b.txt"]
owner = "y"
options = { file = "b.txt" }

[personas.x]
kind = "t-script"
options = { edits = [{ "a.txt" = "1" }] }
[personas.y]
kind = "t-script"
options = { edits = [{ "b.txt" = "0.3\\nB weak" }], log = "LOG" }
"""


def test_cli_one_resume_completes_a_stalled_phase_once_its_entry_gate_passes(
    tmp_path: Path,
) -> None:
    root, log = tmp_path / "ws", tmp_path / "calls.log"
    root.mkdir()
    write_scores(root, {"a.txt": "0", "b.txt": "0"})
    (root / "phasegate.toml").write_text(CLI_CONFIG.replace("LOG", str(log)), encoding="utf-8")

    res = cli(root, "run", "-r", "Build", "--session", "s1")
    assert res.returncode == 1, res.stderr
    store = SessionStore(root)
    assert store.load("s1").phase("two").status is PhaseStatus.STALLED

    write_scores(root, {"a.txt": BROKEN_ONE})  # someone deletes a requirement
    res = cli(root, "resume")
    assert res.returncode == 1, res.stderr
    two = store.load("s1").phase("two")
    assert two.status is PhaseStatus.BLOCKED and two.blocked_by == "entry"

    # a person repairs phase one and finishes phase two by hand: one resume completes both
    write_scores(root, {"a.txt": "1", "b.txt": "1"})
    persona_calls = log.read_text().count("\n")
    res = cli(root, "resume")
    assert res.returncode == 0, res.stdout + res.stderr
    state = store.load("s1")
    assert state.status is SessionStatus.COMPLETED
    two = state.phase("two")
    assert two.status is PhaseStatus.COMPLETED and two.last_score == 1.0
    assert two.iterations[-1].number == 0 and two.iterations[-1].outcome == "passed"
    assert log.read_text().count("\n") == persona_calls  # no persona was asked


# -- stalled -----------------------------------------------------------------------------
async def test_stalled_phase_fixed_by_hand_completes_in_the_same_resume(tmp_path: Path) -> None:
    write_scores(tmp_path, {"a.txt": "0", "b.txt": "0"})
    cfg = two_phases(STALLING)
    state = await drive(tmp_path, cfg, start=True)
    assert state.phase("two").status is PhaseStatus.STALLED
    await block_two_by_entry(tmp_path, cfg)

    write_scores(tmp_path, {"a.txt": "1", "b.txt": "1"})
    CALLS.clear()
    state = await drive(tmp_path, cfg)
    two = state.phase("two")
    assert two.status is PhaseStatus.COMPLETED, two.message
    assert state.status is SessionStatus.COMPLETED
    assert two.last_score == 1.0 and two.iterations[-1].threshold == 0.75  # its last threshold
    assert CALLS == []


async def test_stalled_phase_still_failing_is_scored_again_and_keeps_waiting(
    tmp_path: Path,
) -> None:
    write_scores(tmp_path, {"a.txt": "0", "b.txt": "0"})
    cfg = two_phases(STALLING)
    await drive(tmp_path, cfg, start=True)
    await block_two_by_entry(tmp_path, cfg)

    # phase one repaired; phase two improved by hand, not enough to pass
    write_scores(tmp_path, {"a.txt": "1", "b.txt": "0.5\nB better"})
    CALLS.clear()
    events: list[Event] = []
    state = await drive(tmp_path, cfg, on_event=events.append)
    two = state.phase("two")
    assert two.status is PhaseStatus.STALLED and "waiting for a person" in two.message
    assert state.status is SessionStatus.WAITING
    assert two.last_score == 0.5  # scored on what is on disk now, not the old 0.3
    assert two.iterations[-1].number == 0 and two.iterations[-1].outcome == "waiting"
    assert CALLS == []  # a stalled phase does not ask its personas
    scored = [e for e in events if e.kind == "gate_scored" and e.phase == "two"]
    assert len(scored) == 1 and scored[0].data["reevaluation"] is True


async def test_stalled_phase_already_re_evaluated_does_not_ask_personas(tmp_path: Path) -> None:
    """The last record is a re-evaluation (outcome ``waiting``), not the stall itself."""
    write_scores(tmp_path, {"a.txt": "0", "b.txt": "0"})
    cfg = two_phases(STALLING)
    await drive(tmp_path, cfg, start=True)
    state = await drive(tmp_path, cfg)  # nothing changed: re-evaluated, still stalled
    assert state.phase("two").iterations[-1].outcome == "waiting"
    await block_two_by_entry(tmp_path, cfg)

    write_scores(tmp_path, {"a.txt": "1"})
    CALLS.clear()
    state = await drive(tmp_path, cfg)
    assert state.phase("two").status is PhaseStatus.STALLED
    assert CALLS == []
    assert (tmp_path / "b.txt").read_text() == "0.3\nB weak"

    write_scores(tmp_path, {"b.txt": "1"})
    state = await drive(tmp_path, cfg)
    assert state.phase("two").status is PhaseStatus.COMPLETED


# -- blocked by an iteration limit -------------------------------------------------------
LIMITED = [{"b.txt": "0.3\nB weak"}, {"b.txt": "0.5\nB better"}, {"b.txt": "1"}]


async def test_limit_blocked_phase_iterates_in_the_same_resume_when_the_limit_is_raised(
    tmp_path: Path,
) -> None:
    write_scores(tmp_path, {"a.txt": "0", "b.txt": "0"})
    state = await drive(tmp_path, two_phases(LIMITED, max_phase_iterations=2), start=True)
    two = state.phase("two")
    assert two.status is PhaseStatus.BLOCKED and two.blocked_by == "phase_limit"
    await block_two_by_entry(tmp_path, two_phases(LIMITED, max_phase_iterations=2))

    write_scores(tmp_path, {"a.txt": "1"})
    CALLS.clear()
    state = await drive(tmp_path, two_phases(LIMITED, max_phase_iterations=3))
    assert calls() == [("y", 3)]
    assert state.phase("two").status is PhaseStatus.COMPLETED
    assert state.status is SessionStatus.COMPLETED


async def test_limit_blocked_phase_under_the_same_limit_is_scored_and_stays_blocked(
    tmp_path: Path,
) -> None:
    cfg = two_phases(LIMITED, max_phase_iterations=2)
    write_scores(tmp_path, {"a.txt": "0", "b.txt": "0"})
    await drive(tmp_path, cfg, start=True)
    await block_two_by_entry(tmp_path, cfg)

    write_scores(tmp_path, {"a.txt": "1", "b.txt": "0.6\nB by hand"})
    CALLS.clear()
    state = await drive(tmp_path, cfg)
    two = state.phase("two")
    assert two.status is PhaseStatus.BLOCKED and two.blocked_by == "phase_limit"
    assert two.last_score == 0.6
    assert CALLS == []

    # and a pass by hand completes it in one resume too
    await block_two_by_entry(tmp_path, cfg)
    write_scores(tmp_path, {"a.txt": "1", "b.txt": "1"})
    state = await drive(tmp_path, cfg)
    assert state.phase("two").status is PhaseStatus.COMPLETED
    assert CALLS == []


# -- regressed ---------------------------------------------------------------------------
def three_phases() -> Config:
    return make_config(
        [
            PhaseConfig(name="one", personas=["x"], checks=[score_check("A", "a.txt", "x")]),
            PhaseConfig(name="two", personas=["y"], checks=[score_check("B", "b.txt", "y")]),
            PhaseConfig(name="three", personas=["z"], checks=[score_check("C", "c.txt", "z")]),
        ],
        {
            "x": persona(edits=[{"a.txt": "1"}]),
            "y": persona(edits=[{"b.txt": "1"}]),
            "z": persona(edits=[{"c.txt": "1"}]),
        },
    )


async def test_regressed_phase_is_not_marked_completed_without_a_score(tmp_path: Path) -> None:
    write_scores(tmp_path, {"a.txt": "0", "b.txt": "0", "c.txt": "0"})
    cfg = three_phases()
    await drive(tmp_path, cfg, start=True)
    # two regresses (seen by the gates), then one breaks as well
    write_scores(tmp_path, {"b.txt": "0.2\nB deleted"})
    ex = Executor(Workspace(tmp_path), cfg, SessionStore(tmp_path))
    try:
        await ex.run_gates("s1")
    finally:
        ex.close()
    state = SessionStore(tmp_path).load("s1")
    assert state.phase("one").status is PhaseStatus.COMPLETED
    assert state.phase("two").status is PhaseStatus.REGRESSED
    write_scores(tmp_path, {"a.txt": BROKEN_ONE})
    state = await drive(tmp_path, cfg)
    two = state.phase("two")
    assert two.status is PhaseStatus.BLOCKED and two.blocked_by == "entry"

    # one repaired, two still broken: two is regressed (scored), never "completed"
    write_scores(tmp_path, {"a.txt": "1"})
    CALLS.clear()
    events: list[Event] = []
    state = await drive(tmp_path, cfg, on_event=events.append)
    two = state.phase("two")
    assert two.status is PhaseStatus.REGRESSED
    assert two.last_score == 0.2
    assert not [e for e in events if e.kind == "phase_completed" and e.phase == "two"]
    three = state.phase("three")
    assert three.status is PhaseStatus.COMPLETED  # untouched: it never started again
    assert CALLS == []

    # two repaired: one more resume completes it
    write_scores(tmp_path, {"b.txt": "1"})
    state = await drive(tmp_path, cfg)
    assert state.phase("two").status is PhaseStatus.COMPLETED
    assert state.status is SessionStatus.COMPLETED


# -- in progress -------------------------------------------------------------------------
async def test_in_progress_phase_fixed_by_hand_completes_without_persona_work(
    tmp_path: Path,
) -> None:
    write_scores(tmp_path, {"a.txt": "0", "b.txt": "0"})
    cfg = two_phases([{"b.txt": "0.3\nB weak"}, {"b.txt": "0.4"}, {"b.txt": "0.9"}])
    ex = Executor(Workspace(tmp_path), cfg, SessionStore(tmp_path))

    def stop_after_two_iteration_1(ev: Event) -> None:
        if ev.kind == "gate_scored" and ev.phase == "two" and ev.data.get("iteration") == 1:
            ex.stop()

    ex.on_event = stop_after_two_iteration_1
    try:
        state = await ex.start("build it", "s1")
    finally:
        ex.close()
    assert state.status is SessionStatus.STOPPED
    two = state.phase("two")
    assert two.status is PhaseStatus.IN_PROGRESS and two.iterations[-1].outcome == "retry"
    await block_two_by_entry(tmp_path, cfg)

    write_scores(tmp_path, {"a.txt": "1", "b.txt": "1"})
    CALLS.clear()
    state = await drive(tmp_path, cfg)
    assert state.phase("two").status is PhaseStatus.COMPLETED
    assert CALLS == []  # what is on disk passes: no persona overwrites the person's work


async def test_in_progress_phase_still_failing_iterates_on(tmp_path: Path) -> None:
    write_scores(tmp_path, {"a.txt": "0", "b.txt": "0"})
    cfg = two_phases([{"b.txt": "0.3\nB weak"}, {"b.txt": "1"}])
    ex = Executor(Workspace(tmp_path), cfg, SessionStore(tmp_path))

    def stop_after_two_iteration_1(ev: Event) -> None:
        if ev.kind == "gate_scored" and ev.phase == "two" and ev.data.get("iteration") == 1:
            ex.stop()

    ex.on_event = stop_after_two_iteration_1
    try:
        await ex.start("build it", "s1")
    finally:
        ex.close()
    await block_two_by_entry(tmp_path, cfg)

    write_scores(tmp_path, {"a.txt": "1"})
    CALLS.clear()
    state = await drive(tmp_path, cfg)
    assert calls() == [("y", 2)]
    two = state.phase("two")
    assert two.status is PhaseStatus.COMPLETED
    assert [it.number for it in two.iterations] == [0, 1, 0, 2]


# -- never started -----------------------------------------------------------------------
async def test_pending_phase_blocked_by_its_entry_gate_starts_in_the_same_resume(
    tmp_path: Path,
) -> None:
    """The path that already worked: no history, so iteration 0 scores it on entry."""
    write_scores(tmp_path, {"a.txt": "0", "b.txt": "0"})
    cfg = make_config(
        [
            PhaseConfig(name="one", personas=["x"], checks=[score_check("A", "a.txt", "x")]),
            PhaseConfig(
                name="two",
                personas=["y"],
                checks=[score_check("B", "b.txt", "y")],
                entry_checks=[score_check("E", "e.txt", "y")],
            ),
        ],
        {"x": persona(edits=[{"a.txt": "1"}]), "y": persona(edits=[{"b.txt": "1"}])},
    )
    state = await drive(tmp_path, cfg, start=True)
    two = state.phase("two")
    assert two.status is PhaseStatus.BLOCKED and two.blocked_by == "entry"
    write_scores(tmp_path, {"e.txt": "1", "b.txt": "1"})
    state = await drive(tmp_path, cfg)
    assert state.phase("two").status is PhaseStatus.COMPLETED
    assert calls() == [("x", 1)]


# -- a rework a person asked for ---------------------------------------------------------
async def test_phase_stalled_by_a_requested_rework_stays_stalled_after_re_entry(
    tmp_path: Path,
) -> None:
    write_scores(tmp_path, {"a.txt": "0", "b.txt": "0"})
    # y: 0.3 at iteration 1, then 0.45 (improves: rework goes on), then 0.47 (does not)
    cfg = two_phases(
        [{"b.txt": "0.3\nB weak"}, {"b.txt": "0.45\nB weak"}, {"b.txt": "0.47\nB weak"}],
        max_phase_iterations=2,
    )
    state = await drive(tmp_path, cfg, start=True)
    assert state.phase("two").blocked_by == "phase_limit"
    ex = Executor(Workspace(tmp_path), cfg, SessionStore(tmp_path))
    try:
        state = await ex.rework("s1", "two")
    finally:
        ex.close()
    two = state.phase("two")
    assert two.status is PhaseStatus.STALLED and two.iterations[-1].outcome == "retry"
    await block_two_by_entry(tmp_path, cfg)

    write_scores(tmp_path, {"a.txt": "1"})
    CALLS.clear()
    state = await drive(tmp_path, cfg)
    two = state.phase("two")
    assert two.status is PhaseStatus.STALLED
    assert two.last_score == 0.47 and two.iterations[-1].outcome == "waiting"
    assert CALLS == []


# -- the journal -------------------------------------------------------------------------
async def test_journal_replay_matches_the_checkpoint_after_a_re_entry(tmp_path: Path) -> None:
    write_scores(tmp_path, {"a.txt": "0", "b.txt": "0"})
    cfg = two_phases(STALLING)
    await drive(tmp_path, cfg, start=True)
    await block_two_by_entry(tmp_path, cfg)
    write_scores(tmp_path, {"a.txt": "1", "b.txt": "0.5\nB better"})
    state = await drive(tmp_path, cfg)

    rebuilt = state_from_events(SessionStore(tmp_path).read_events("s1"))
    assert rebuilt is not None

    def shape(s: SessionState) -> list[Any]:
        return [
            (
                p.name,
                p.status,
                p.blocked_by,
                [(it.number, it.score, it.outcome) for it in p.iterations],
            )
            for p in s.phases
        ]

    assert shape(rebuilt) == shape(state)
    assert rebuilt.status is state.status is SessionStatus.WAITING
