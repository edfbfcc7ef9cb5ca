"""The executor, driven with test checks whose scores files control and test personas
that count their invocations (see test_executor_support)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_executor_support import CALLS, make_config, persona, plugins, score_check, write_scores

from phasegate.config import Config, PersonaConfig, PhaseConfig
from phasegate.executor import Executor, ExecutorError, SessionConfigError
from phasegate.model import Event, PhaseStatus, SessionState, SessionStatus
from phasegate.store import CheckpointRecovered, SessionLocked, SessionStore
from phasegate.workspace import Workspace


@pytest.fixture(autouse=True)
def _test_plugins() -> Iterator[None]:
    CALLS.clear()
    with plugins():
        yield


class Harness:
    def __init__(self, root: Path, config: Config, trusted: bool = True) -> None:
        self.root = root
        self.events: list[Event] = []
        self.store = SessionStore(root)
        self.ex = Executor(
            Workspace(root), config, self.store, trusted=trusted, on_event=self.events.append
        )

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]


def two_persona_config(alice: PersonaConfig, bob: PersonaConfig, **kw: Any) -> Config:
    return make_config(
        [
            PhaseConfig(
                name="req",
                personas=["alice", "bob"],
                checks=[score_check("A", "a.txt", "alice"), score_check("B", "b.txt", "bob")],
            )
        ],
        {"alice": alice, "bob": bob},
        **kw,
    )


def calls(persona: str | None = None) -> list[tuple[str, int]]:
    return [(c["persona"], c["iteration"]) for c in CALLS if persona in (None, c["persona"])]


async def test_iteration_one_runs_all_then_rework_runs_only_failed_owners(tmp_path: Path) -> None:
    write_scores(tmp_path, {"a.txt": "0.2\nA broken", "b.txt": "0.2\nB broken"})
    cfg = two_persona_config(
        persona(edits=[{"a.txt": "1"}]),
        persona(edits=[{"b.txt": "0.1\nB still\nB other"}, {"b.txt": "1"}]),
    )
    h = Harness(tmp_path, cfg)
    state = await h.ex.start("build it", "s1")

    assert calls() == [("alice", 1), ("bob", 1), ("bob", 2)]
    # iteration 1: every persona, each with the findings it owns from iteration 0
    assert CALLS[0]["feedback"] == ["A broken"] and CALLS[1]["feedback"] == ["B broken"]
    # rework: only the owner of the failed check, with exactly its findings
    assert CALLS[2]["feedback"] == ["B still", "B other"]
    assert CALLS[2]["codes"] == ["B"]
    assert CALLS[2]["reason"] == "rework: owner of B (2 findings)"
    ps = state.phase("req")
    assert ps.status is PhaseStatus.COMPLETED
    assert state.status is SessionStatus.COMPLETED
    assert [it.number for it in ps.iterations] == [0, 1, 2]
    assert [it.threshold for it in ps.iterations] == [0.6, 0.6, 0.75]
    assert [it.score for it in ps.iterations] == [0.2, 0.55, 1.0]
    assert [[p.persona for p in it.personas] for it in ps.iterations] == [
        [],
        ["alice", "bob"],
        ["bob"],
    ]
    assert ps.iterations[2].personas[0].reason == "rework: owner of B (2 findings)"
    assert ps.iterations[2].personas[0].feedback_count == 2
    assert state.global_iterations == 2
    assert h.ex.last_gates["req"].passed


async def test_finding_owner_overrides_check_owner(tmp_path: Path) -> None:
    write_scores(tmp_path, {"a.txt": "0.2\nA mine\n@bob A for bob", "b.txt": "1"})
    cfg = two_persona_config(
        persona(edits=[{"a.txt": "0.3\nstill"}, {"a.txt": "1"}]),
        persona(edits=[{}]),
        thresholds=[0.9],
    )
    h = Harness(tmp_path, cfg)
    await h.ex.start("x", "s1")
    it1 = {c["persona"]: c["feedback"] for c in CALLS if c["iteration"] == 1}
    assert it1 == {"alice": ["A mine"], "bob": ["A for bob"]}
    assert calls() == [("alice", 1), ("bob", 1), ("alice", 2)]


async def test_pass_at_iteration_zero_runs_no_persona(tmp_path: Path) -> None:
    write_scores(tmp_path, {"a.txt": "1", "b.txt": "1"})
    cfg = two_persona_config(persona(edits=[{"a.txt": "0"}]), persona())
    h = Harness(tmp_path, cfg)
    state = await h.ex.start("done already", "s1")
    assert CALLS == []
    ps = state.phase("req")
    assert ps.status is PhaseStatus.COMPLETED
    assert [it.number for it in ps.iterations] == [0]
    assert state.global_iterations == 0
    assert "no persona work" in ps.message


async def test_exactly_the_threshold_passes(tmp_path: Path) -> None:
    # iteration 1 scores (1.0 + 0.2) / 2 = 0.6 == threshold(1)
    write_scores(tmp_path, {"a.txt": "0", "b.txt": "0"})
    cfg = two_persona_config(persona(edits=[{"a.txt": "1"}]), persona(edits=[{"b.txt": "0.2"}]))
    state = await Harness(tmp_path, cfg).ex.start("x", "s1")
    ps = state.phase("req")
    assert ps.iterations[-1].score == 0.6 and ps.iterations[-1].threshold == 0.6
    assert ps.status is PhaseStatus.COMPLETED
    assert len(CALLS) == 2


def one_phase(edits: list[dict[str, str]], **kw: Any) -> Config:
    return make_config(
        [PhaseConfig(name="p", personas=["w"], checks=[score_check("S", "s.txt", "w")])],
        {"w": persona(edits=edits)},
        **kw,
    )


async def test_thresholds_rise_with_each_iteration(tmp_path: Path) -> None:
    root2 = tmp_path
    write_scores(root2, {"s.txt": "0.1"})
    edits = [{"s.txt": "0.55"}, {"s.txt": "0.7"}, {"s.txt": "0.8"}, {"s.txt": "0.9"}]
    state = await Harness(root2, one_phase(edits, max_phase_iterations=5)).ex.start("x", "s2")
    ps = state.phase("p")
    assert [(it.number, it.threshold, it.score, it.passed) for it in ps.iterations] == [
        (0, 0.6, 0.1, False),
        (1, 0.6, 0.55, False),
        (2, 0.75, 0.7, False),
        (3, 0.85, 0.8, False),
        (4, 0.85, 0.9, True),
    ]
    assert ps.status is PhaseStatus.COMPLETED
    assert calls() == [("w", 1), ("w", 2), ("w", 3), ("w", 4)]


async def test_stalls_when_not_improving_by_min_improvement(tmp_path: Path) -> None:
    write_scores(tmp_path, {"s.txt": "0"})
    # 0.1 -> 0.15 improves by exactly 0.05 (enough); 0.15 -> 0.19 does not
    edits = [{"s.txt": "0.1"}, {"s.txt": "0.15"}, {"s.txt": "0.19"}, {"s.txt": "1"}]
    h = Harness(tmp_path, one_phase(edits, max_phase_iterations=9))
    state = await h.ex.start("x", "s1")
    ps = state.phase("p")
    assert ps.status is PhaseStatus.STALLED
    assert state.status is SessionStatus.WAITING
    assert calls() == [("w", 1), ("w", 2), ("w", 3)]  # no iteration 4: it stopped asking
    assert [it.outcome for it in ps.iterations] == ["retry", "retry", "retry", "stalled"]
    assert ps.iterations[-1].best_before == 0.15
    assert "phase_stalled" in h.kinds()

    # resume: still failing on disk -> stays stalled, no persona
    h.ex.close()
    CALLS.clear()
    h2 = Harness(tmp_path, one_phase(edits, max_phase_iterations=9))
    state = await h2.ex.resume("s1")
    assert CALLS == [] and state.phase("p").status is PhaseStatus.STALLED

    # a person's edit that passes the last threshold completes it
    h2.ex.close()
    write_scores(tmp_path, {"s.txt": "0.9"})
    state = await Harness(tmp_path, one_phase(edits, max_phase_iterations=9)).ex.resume("s1")
    assert state.phase("p").status is PhaseStatus.COMPLETED
    assert state.status is SessionStatus.COMPLETED
    assert CALLS == []


async def test_blocked_by_phase_limit_then_resume_with_a_higher_limit(tmp_path: Path) -> None:
    write_scores(tmp_path, {"s.txt": "0"})
    edits = [{"s.txt": "0.3"}, {"s.txt": "0.5"}, {"s.txt": "0.9"}]
    h = Harness(tmp_path, one_phase(edits, max_phase_iterations=2))
    state = await h.ex.start("x", "s1")
    ps = state.phase("p")
    assert ps.status is PhaseStatus.BLOCKED and ps.blocked_by == "phase_limit"
    assert calls() == [("w", 1), ("w", 2)]
    assert state.global_iterations == 2
    h.ex.close()

    # same limit: re-evaluated, still blocked, no persona
    CALLS.clear()
    h2 = Harness(tmp_path, one_phase(edits, max_phase_iterations=2))
    state = await h2.ex.resume()
    assert CALLS == [] and state.phase("p").status is PhaseStatus.BLOCKED
    h2.ex.close()

    # raised limit: iterates further, global count carries on
    state = await Harness(tmp_path, one_phase(edits, max_phase_iterations=3)).ex.resume()
    assert calls() == [("w", 3)]
    assert state.phase("p").status is PhaseStatus.COMPLETED
    assert state.global_iterations == 3


async def test_blocked_by_global_limit(tmp_path: Path) -> None:
    write_scores(tmp_path, {"a.txt": "0", "b.txt": "0"})
    cfg = make_config(
        [
            PhaseConfig(name="one", personas=["x"], checks=[score_check("A", "a.txt", "x")]),
            PhaseConfig(name="two", personas=["y"], checks=[score_check("B", "b.txt", "y")]),
        ],
        {
            "x": persona(edits=[{"a.txt": "0.3"}, {"a.txt": "1"}]),
            "y": persona(edits=[{"b.txt": "0.2"}, {"b.txt": "1"}]),
        },
        max_global_iterations=3,
    )
    state = await Harness(tmp_path, cfg).ex.start("x", "s1")
    assert state.phase("one").status is PhaseStatus.COMPLETED
    two = state.phase("two")
    assert two.status is PhaseStatus.BLOCKED and two.blocked_by == "global_limit"
    assert state.global_iterations == 3
    assert calls() == [("x", 1), ("x", 2), ("y", 1)]


def three_phases(damage: str | None = None) -> Config:
    return make_config(
        [
            PhaseConfig(name="one", personas=["x"], checks=[score_check("A", "a.txt", "x")]),
            PhaseConfig(name="two", personas=["y"], checks=[score_check("B", "b.txt", "y")]),
            PhaseConfig(name="three", personas=["z"], checks=[score_check("C", "c.txt", "z")]),
        ],
        {
            "x": persona(edits=[{"a.txt": "1"}]),
            "y": persona(edits=[{"b.txt": "1", **({"a.txt": damage} if damage else {})}]),
            "z": persona(edits=[{"c.txt": "1"}]),
        },
    )


async def test_regressed_earlier_phase_blocks_the_next(tmp_path: Path) -> None:
    write_scores(tmp_path, {"a.txt": "0", "b.txt": "0", "c.txt": "0"})
    h = Harness(tmp_path, three_phases(damage="0.1\nrequirement deleted"))
    state = await h.ex.start("x", "s1")
    one, two, three = (state.phase(n) for n in ("one", "two", "three"))
    assert two.status is PhaseStatus.COMPLETED
    assert one.status is PhaseStatus.REGRESSED  # shown, not rolled back
    assert three.status is PhaseStatus.BLOCKED and three.blocked_by == "entry"
    assert "one" in three.message
    assert state.status is SessionStatus.WAITING
    assert (tmp_path / "a.txt").read_text().startswith("0.1")  # nothing restored
    assert calls() == [("x", 1), ("y", 1)]
    assert "phase_regressed" in h.kinds()
    h.ex.close()

    # a person repairs it: resume re-evaluates, completes one, runs three
    write_scores(tmp_path, {"a.txt": "1"})
    CALLS.clear()
    state = await Harness(tmp_path, three_phases()).ex.resume()
    assert [state.phase(n).status for n in ("one", "two", "three")] == [PhaseStatus.COMPLETED] * 3
    assert calls() == [("z", 1)]
    assert state.status is SessionStatus.COMPLETED


async def test_final_verification_marks_regressions(tmp_path: Path) -> None:
    write_scores(tmp_path, {"a.txt": "0", "b.txt": "0"})
    cfg = make_config(
        [
            PhaseConfig(name="one", personas=["x"], checks=[score_check("A", "a.txt", "x")]),
            PhaseConfig(name="two", personas=["y"], checks=[score_check("B", "b.txt", "y")]),
        ],
        {
            "x": persona(edits=[{"a.txt": "1"}]),
            "y": persona(edits=[{"b.txt": "1", "a.txt": "0"}]),
        },
    )
    state = await Harness(tmp_path, cfg).ex.start("x", "s1")
    assert state.phase("one").status is PhaseStatus.REGRESSED
    assert state.phase("two").status is PhaseStatus.COMPLETED
    assert state.status is SessionStatus.WAITING


async def test_run_gates_regresses_and_restores(tmp_path: Path) -> None:
    write_scores(tmp_path, {"s.txt": "1"})
    h = Harness(tmp_path, one_phase([{}]))
    await h.ex.start("x", "s1")
    write_scores(tmp_path, {"s.txt": "0.2\nbroken"})
    gates = await h.ex.run_gates()
    assert not gates["p"].passed
    assert h.ex.state is not None
    assert h.ex.state.phase("p").status is PhaseStatus.REGRESSED
    assert h.ex.state.status is SessionStatus.WAITING
    write_scores(tmp_path, {"s.txt": "1"})
    gates = await h.ex.run_gates("s1")
    assert gates["p"].passed
    assert h.ex.state.phase("p").status is PhaseStatus.COMPLETED
    assert h.ex.state.status is SessionStatus.COMPLETED
    assert CALLS == []
    # the checkpoint has it too
    h.ex.close()
    assert SessionStore(tmp_path).load("s1").phase("p").status is PhaseStatus.COMPLETED


async def test_run_gates_completes_a_stalled_phase_that_passes_now(tmp_path: Path) -> None:
    write_scores(tmp_path, {"s.txt": "0"})
    h = Harness(tmp_path, one_phase([{"s.txt": "0.3"}, {"s.txt": "0.3"}]))
    state = await h.ex.start("x", "s1")
    assert state.phase("p").status is PhaseStatus.STALLED
    write_scores(tmp_path, {"s.txt": "1"})
    await h.ex.run_gates()
    assert state.phase("p").status is PhaseStatus.COMPLETED


async def test_persona_failures_are_recorded_and_the_gate_still_scores(tmp_path: Path) -> None:
    write_scores(tmp_path, {"a.txt": "0", "b.txt": "0"})
    cfg = two_persona_config(
        persona(crash=True),
        PersonaConfig(kind="t-script", timeout=0.05, options={"sleep": 30}),
        max_phase_iterations=1,
    )
    h = Harness(tmp_path, cfg)
    state = await h.ex.start("x", "s1")
    it1 = state.phase("req").iterations[1]
    runs = {r.persona: r for r in it1.personas}
    assert not runs["alice"].ok and runs["alice"].error is not None
    assert "persona exploded" in runs["alice"].error
    assert not runs["bob"].ok and runs["bob"].error == "timed out after 0.05s"
    assert it1.score == 0.0 and it1.outcome == "blocked"
    finished = [e for e in h.events if e.kind == "persona_finished"]
    assert [e.data["ok"] for e in finished] == [False, False]


async def test_failed_result_is_recorded(tmp_path: Path) -> None:
    write_scores(tmp_path, {"s.txt": "0"})
    cfg = make_config(
        [PhaseConfig(name="p", personas=["w"], checks=[score_check("S", "s.txt", "w")])],
        {"w": persona(fail="agent said no", edits=[{"s.txt": "1"}])},
    )
    state = await Harness(tmp_path, cfg).ex.start("x", "s1")
    run = state.phase("p").iterations[1].personas[0]
    assert not run.ok and run.error == "agent said no" and run.files_changed == ["s.txt"]
    assert state.phase("p").status is PhaseStatus.COMPLETED  # what is on disk passes


async def test_untrusted_workspace_skips_personas_that_run_code(tmp_path: Path) -> None:
    write_scores(tmp_path, {"a.txt": "0", "b.txt": "0"})
    cfg = two_persona_config(
        persona(edits=[{"a.txt": "1"}]),
        persona(kind="t-code", edits=[{"b.txt": "1"}]),
        max_phase_iterations=1,
    )
    state = await Harness(tmp_path, cfg, trusted=False).ex.start("x", "s1")
    runs = {r.persona: r for r in state.phase("req").iterations[1].personas}
    assert calls() == [("alice", 1)]
    assert runs["bob"].skipped is not None and "untrusted" in runs["bob"].skipped
    assert runs["alice"].skipped is None


async def test_stop_checkpoints_and_resume_reruns_only_unfinished_personas(
    tmp_path: Path,
) -> None:
    write_scores(tmp_path, {"a.txt": "0", "b.txt": "0"})
    cfg = two_persona_config(persona(edits=[{"a.txt": "1"}]), persona(edits=[{"b.txt": "1"}]))
    h = Harness(tmp_path, cfg)

    def stop_after_first(ev: Event) -> None:
        h.events.append(ev)
        if ev.kind == "persona_finished":
            h.ex.stop()

    h.ex.on_event = stop_after_first
    state = await h.ex.start("x", "s1")
    assert state.status is SessionStatus.STOPPED
    assert calls() == [("alice", 1)]
    assert h.kinds()[-1] == "session_stopped"
    h.ex.close()

    saved = SessionStore(tmp_path).load("s1")
    it = saved.phase("req").iterations[-1]
    assert it.number == 1 and it.planned == ["alice", "bob"] and not it.outcome
    assert [r.persona for r in it.personas] == ["alice"]

    CALLS.clear()
    state = await Harness(tmp_path, cfg).ex.resume()
    assert calls() == [("bob", 1)]
    assert state.status is SessionStatus.COMPLETED
    assert state.global_iterations == 1  # the interrupted iteration is not counted twice


async def test_rework_runs_chosen_personas_with_their_findings(tmp_path: Path) -> None:
    write_scores(tmp_path, {"a.txt": "0.1\nA1\nA2", "b.txt": "0.1\nB1"})
    cfg = two_persona_config(persona(), persona(), max_phase_iterations=1)
    h = Harness(tmp_path, cfg)
    state = await h.ex.start("x", "s1")
    assert state.phase("req").status is PhaseStatus.BLOCKED
    CALLS.clear()

    # choose the findings: only their owner runs, with exactly them
    gate = h.ex.last_gates["req"]
    a2 = next(f for f in gate.findings if f.message == "A2")
    state = await h.ex.rework("s1", "req", finding_ids=[a2.id])
    assert calls() == [("alice", 2)]
    assert CALLS[0]["feedback"] == ["A2"]
    assert state.phase("req").iterations[-1].personas[0].reason.startswith("rework requested")

    # choose the persona: it gets all its findings
    CALLS.clear()
    await h.ex.rework(None, "req", personas=["bob"])
    assert calls() == [("bob", 3)] and CALLS[0]["feedback"] == ["B1"]
    assert state.phase("req").status is PhaseStatus.STALLED  # no improvement

    # a rework whose result passes completes the phase
    CALLS.clear()
    h.ex.config.personas["alice"] = persona(edits=[{"a.txt": "1", "b.txt": "1"}])
    state = await h.ex.rework(None, "req")
    assert calls() == [("alice", 4), ("bob", 4)]
    assert state.phase("req").status is PhaseStatus.COMPLETED
    assert state.status is SessionStatus.COMPLETED

    with pytest.raises(ExecutorError, match="unknown phase"):
        await h.ex.rework(None, "nope")


async def test_events_carry_scores_thresholds_counts_and_timings(tmp_path: Path) -> None:
    write_scores(tmp_path, {"a.txt": "0.2\nA broken", "b.txt": "1"})
    cfg = two_persona_config(persona(edits=[{"a.txt": "1"}]), persona())
    h = Harness(tmp_path, cfg)
    await h.ex.start("x", "s1")
    journal = [
        json.loads(line)
        for line in (tmp_path / ".phasegate/sessions/s1/events.jsonl").read_text().splitlines()
    ]
    assert [e["kind"] for e in journal] == h.kinds()
    assert journal[0]["kind"] == "session_started"
    assert journal[0]["data"]["phases"] == ["req"]
    scored = [e for e in journal if e["kind"] == "gate_scored"]
    first = scored[0]["data"]
    assert first["iteration"] == 0 and first["score"] == 0.6 and first["threshold"] == 0.6
    assert first["findings_count"] == 1 and first["passed"] is True
    assert {c["id"] for c in first["checks"]} == {"A", "B"}
    assert all("duration_s" in c for c in first["checks"])
    assert journal[-1]["kind"] == "session_finished"
    assert journal[-1]["data"]["status"] == "completed"


async def test_events_for_persona_work(tmp_path: Path) -> None:
    write_scores(tmp_path, {"a.txt": "0", "b.txt": "0"})
    cfg = two_persona_config(persona(edits=[{"a.txt": "1"}]), persona(edits=[{"b.txt": "1"}]))
    h = Harness(tmp_path, cfg)
    await h.ex.start("x", "s1")
    started = next(e for e in h.events if e.kind == "iteration_started")
    assert started.data["planned"] == ["alice", "bob"]
    assert started.data["reasons"]["bob"] == "iteration 1: all personas"
    fin = [e for e in h.events if e.kind == "persona_finished"]
    assert [e.data["persona"] for e in fin] == ["alice", "bob"]
    assert all(e.data["duration_s"] >= 0 and e.data["feedback_count"] == 1 for e in fin)
    assert fin[0].data["files_changed"] == ["a.txt"]
    # backups of what the personas replaced
    manifest = tmp_path / ".phasegate/sessions/s1/backups/req-it1-alice/manifest.json"
    assert json.loads(manifest.read_text())["a.txt"]["existed"] is True


async def test_lock_refuses_a_second_executor(tmp_path: Path) -> None:
    write_scores(tmp_path, {"s.txt": "0"})
    h = Harness(tmp_path, one_phase([{"s.txt": "0.3"}], max_phase_iterations=1))
    await h.ex.start("x", "s1")  # keeps the lock until close()
    other = Harness(tmp_path, one_phase([{}]))
    with pytest.raises(SessionLocked, match="in use by another phasegate process"):
        await other.ex.resume("s1")
    h.ex.close()
    await other.ex.resume("s1")


async def test_unknown_check_kind_fails_before_any_work(tmp_path: Path) -> None:
    cfg = make_config(
        [
            PhaseConfig(
                name="p", personas=["w"], checks=[score_check("S", "s.txt", "w", kind="NOPE")]
            )
        ],
        {"w": persona()},
    )
    with pytest.raises(SessionConfigError, match="NOPE"):
        await Harness(tmp_path, cfg).ex.start("x", "s1")
    assert not (tmp_path / ".phasegate/sessions/s1/checkpoint.json").exists()


async def test_entry_checks_must_pass(tmp_path: Path) -> None:
    write_scores(tmp_path, {"s.txt": "1"})
    cfg = make_config(
        [
            PhaseConfig(
                name="p",
                personas=["w"],
                checks=[score_check("S", "s.txt", "w")],
                entry_checks=[score_check("E", "e.txt", "w")],
            )
        ],
        {"w": persona()},
    )
    h = Harness(tmp_path, cfg)
    state = await h.ex.start("x", "s1")
    ps = state.phase("p")
    assert ps.status is PhaseStatus.BLOCKED and ps.blocked_by == "entry"
    assert "entry checks failed: E" in ps.message
    h.ex.close()
    write_scores(tmp_path, {"e.txt": "1"})
    state = await Harness(tmp_path, cfg).ex.resume()
    assert state.phase("p").status is PhaseStatus.COMPLETED


async def test_start_refuses_existing_and_bad_ids(tmp_path: Path) -> None:
    write_scores(tmp_path, {"s.txt": "1"})
    h = Harness(tmp_path, one_phase([{}]))
    await h.ex.start("x", "s1")
    h.ex.close()
    with pytest.raises(Exception, match="already exists"):
        await Harness(tmp_path, one_phase([{}])).ex.start("x", "s1")
    with pytest.raises(ValueError, match="invalid session id"):
        await Harness(tmp_path, one_phase([{}])).ex.start("x", "../evil")
    with pytest.raises(ExecutorError, match="empty"):
        await Harness(tmp_path, one_phase([{}])).ex.start("   ")


async def test_journal_replay_rebuilds_the_checkpointed_state(tmp_path: Path) -> None:
    write_scores(tmp_path, {"a.txt": "0.2\nA broken", "b.txt": "0.2\nB broken"})
    cfg = two_persona_config(
        persona(edits=[{"a.txt": "1"}]),
        persona(edits=[{"b.txt": "0.1\nB still"}, {"b.txt": "0.12\nB still"}]),
    )
    h = Harness(tmp_path, cfg)
    state = await h.ex.start("x", "s1")
    h.ex.close()
    assert state.phase("req").status is PhaseStatus.STALLED
    d = tmp_path / ".phasegate/sessions/s1"
    (d / "checkpoint.json").unlink()
    (d / "checkpoint.prev.json").unlink()
    store = SessionStore(tmp_path)
    with pytest.raises(CheckpointRecovered, match="session journal") as ei:
        store.load("s1")
    rebuilt = ei.value.state
    assert rebuilt is not None

    def shape(s: SessionState) -> list[Any]:
        return [
            s.requirement,
            s.global_iterations,
            s.status,
            [
                (
                    p.name,
                    p.status,
                    p.best_score,
                    [
                        (it.number, it.score, it.threshold, it.outcome, it.findings_count)
                        for it in p.iterations
                    ],
                    [
                        [(r.persona, r.ok, r.feedback_count) for r in it.personas]
                        for it in p.iterations
                    ],
                )
                for p in s.phases
            ],
        ]

    assert shape(rebuilt) == shape(state)
    # resuming the rebuilt session works
    CALLS.clear()
    write_scores(tmp_path, {"b.txt": "1"})
    state = await Harness(tmp_path, cfg).ex.resume("s1")
    assert state.status is SessionStatus.COMPLETED and CALLS == []


async def test_rework_of_a_completed_phase_that_fails_marks_it_regressed(tmp_path: Path) -> None:
    write_scores(tmp_path, {"s.txt": "1"})
    cfg = one_phase([{"s.txt": "0.1\nworse"}])
    h = Harness(tmp_path, cfg)
    await h.ex.start("x", "s1")
    state = await h.ex.rework(None, "p", personas=["w"])
    assert state.phase("p").status is PhaseStatus.REGRESSED
    assert state.status is SessionStatus.WAITING
