"""The session store: ids, atomic checkpoints, recovery, the journal, locks, listing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phasegate.model import (
    SCHEMA_VERSION,
    Event,
    IterationRecord,
    PhaseState,
    PhaseStatus,
    SessionState,
    SessionStatus,
)
from phasegate.store import (
    CheckpointRecovered,
    CheckpointTooNew,
    InvalidSessionId,
    NoActiveSession,
    SessionExists,
    SessionLocked,
    SessionNotFound,
    SessionStore,
    new_session_id,
    state_from_events,
    validate_session_id,
)


def make_state(sid: str = "s1", **kw: object) -> SessionState:
    return SessionState(
        id=sid, requirement="build it", phases=[PhaseState(name="a"), PhaseState(name="b")], **kw
    )  # type: ignore[arg-type]


# -- ids ---------------------------------------------------------------------------------
@pytest.mark.parametrize("good", ["s1", "A_b-9", "x" * 64, "s-20261124-231500-ab12"])
def test_valid_ids(good: str) -> None:
    assert validate_session_id(good) == good


@pytest.mark.parametrize("bad", ["", "x" * 65, "../x", "a/b", "a b", "é", ".", "a\n", "a.b"])
def test_invalid_ids(bad: str) -> None:
    with pytest.raises(InvalidSessionId, match="invalid session id"):
        validate_session_id(bad)


@given(st.text(max_size=80))
def test_valid_ids_never_escape_the_sessions_folder(s: str) -> None:
    try:
        sid = validate_session_id(s)
    except InvalidSessionId:
        return
    assert "/" not in sid and sid not in (".", "..") and "\x00" not in sid


def test_generated_ids_are_valid_and_distinct() -> None:
    ids = {new_session_id() for _ in range(50)}
    assert len(ids) > 40
    for sid in ids:
        assert validate_session_id(sid).startswith("s-")


def test_store_refuses_bad_ids_in_paths(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    with pytest.raises(InvalidSessionId):
        store.session_dir("../../etc")
    with pytest.raises(InvalidSessionId):
        store.load("../x")


# -- checkpoints -------------------------------------------------------------------------
def test_save_load_roundtrip_and_previous_kept(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    state = make_state()
    store.create(state)
    d = tmp_path / ".phasegate/sessions/s1"
    assert not (d / "checkpoint.prev.json").exists()
    state.phases[0].status = PhaseStatus.COMPLETED
    store.save(state)
    prev = json.loads((d / "checkpoint.prev.json").read_text())
    assert prev["seq"] == 1 and prev["phases"][0]["status"] == "pending"
    loaded = store.load("s1")
    assert loaded.seq == 2 and loaded.phases[0].status is PhaseStatus.COMPLETED
    assert loaded.schema_version == SCHEMA_VERSION
    assert [p.name for p in d.iterdir() if p.name.endswith(".tmp")] == []
    with pytest.raises(SessionExists):
        store.create(make_state())


def test_load_missing_session(tmp_path: Path) -> None:
    with pytest.raises(SessionNotFound):
        SessionStore(tmp_path).load("nope")


def test_corrupt_checkpoint_recovers_from_previous(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    state = make_state()
    store.create(state)
    state.phases[0].status = PhaseStatus.COMPLETED
    store.save(state)  # prev = seq 1 (a pending)
    d = tmp_path / ".phasegate/sessions/s1"
    (d / "checkpoint.json").write_bytes(b"{garbage\x00")
    with pytest.raises(CheckpointRecovered) as ei:
        store.load("s1")
    msg = str(ei.value)
    assert "unreadable" in msg and "previous checkpoint" in msg and "\n" not in msg
    moved = ei.value.moved_to
    assert moved is not None and moved.read_bytes() == b"{garbage\x00"  # kept aside
    assert moved.name.startswith("checkpoint.corrupt-")
    # the recovered state is the checkpoint now: the next load continues from it
    again = store.load("s1")
    assert again.phases[0].status is PhaseStatus.PENDING
    kinds = [e.kind for e in store.read_events("s1")]
    assert kinds[-1] == "checkpoint_recovered"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"[]",
        b'{"schema_version": 1}',
        b'{"schema_version": "1", "id": "s1", "requirement": "x"}',
        json.dumps({"schema_version": 1, "id": "other", "requirement": "x"}).encode(),
        json.dumps(
            {"schema_version": 1, "id": "s1", "requirement": "x", "status": "exploded"}
        ).encode(),
    ],
)
def test_invalid_checkpoints_are_moved_aside(tmp_path: Path, content: bytes) -> None:
    store = SessionStore(tmp_path)
    store.create(make_state())
    store.save(make_state())
    (tmp_path / ".phasegate/sessions/s1/checkpoint.json").write_bytes(content)
    with pytest.raises(CheckpointRecovered) as ei:
        store.load("s1")
    assert ei.value.moved_to is not None and ei.value.moved_to.read_bytes() == content
    assert store.load("s1").id == "s1"


def test_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    store.create(make_state())
    cp = tmp_path / ".phasegate/sessions/s1/checkpoint.json"
    data = json.loads(cp.read_text())
    data["schema_version"] = SCHEMA_VERSION + 1
    cp.write_text(json.dumps(data))
    with pytest.raises(CheckpointTooNew, match="newer phasegate"):
        store.load("s1")
    assert json.loads(cp.read_text())["schema_version"] == SCHEMA_VERSION + 1


def test_recovery_from_the_journal(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    events = [
        Event(
            kind="session_started", session="s1", data={"requirement": "r", "phases": ["a", "b"]}
        ),
        Event(kind="phase_started", session="s1", phase="a"),
        Event(
            kind="iteration_started",
            session="s1",
            phase="a",
            data={"iteration": 1, "planned": ["w"], "global_iterations": 1},
        ),
        Event(
            kind="gate_scored",
            session="s1",
            phase="a",
            data={
                "record": IterationRecord(
                    number=1, score=0.7, threshold=0.6, outcome="passed"
                ).model_dump(mode="json"),
                "best_score": 0.7,
            },
        ),
        Event(kind="phase_completed", session="s1", phase="a", data={"status": "completed"}),
        Event(kind="phase_started", session="s1", phase="b"),
    ]
    for ev in events:
        store.append_event("s1", ev)
    with pytest.raises(CheckpointRecovered, match="session journal") as ei:
        store.load("s1")
    state = ei.value.state
    assert state is not None
    assert state.requirement == "r" and state.global_iterations == 1
    assert state.phase("a").status is PhaseStatus.COMPLETED
    assert state.phase("a").iterations[0].score == 0.7
    assert state.phase("b").status is PhaseStatus.IN_PROGRESS
    assert state.current_phase == "b"
    assert store.load("s1").phase("a").best_score == 0.7


def test_nothing_to_recover_is_said_clearly(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    d = tmp_path / ".phasegate/sessions/s1"
    d.mkdir(parents=True)
    (d / "checkpoint.json").write_text("nope")
    with pytest.raises(CheckpointRecovered, match="no earlier state could be recovered"):
        store.load("s1")
    assert (d / "checkpoint.json").exists() is False
    assert any(p.name.startswith("checkpoint.corrupt-") for p in d.iterdir())


def test_state_from_events_ignores_unusable_events() -> None:
    assert state_from_events([]) is None
    evs = [
        Event(kind="session_started", session="s", data={"requirement": "r", "phases": ["a"]}),
        Event(kind="iteration_started", session="s", phase="a", data={"iteration": "x"}),
        Event(kind="session_finished", session="s", data={"status": "waiting"}),
    ]
    state = state_from_events(evs)
    assert state is not None and state.status is SessionStatus.WAITING


# -- journal -----------------------------------------------------------------------------
def test_torn_last_line_is_tolerated_and_not_glued(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    store.append_event("s1", Event(kind="session_started", session="s1"))
    path = tmp_path / ".phasegate/sessions/s1/events.jsonl"
    with open(path, "ab") as fh:
        fh.write(b'{"kind": "phase_sta')  # a crash mid-write
    assert [e.kind for e in store.read_events("s1")] == ["session_started"]
    store2 = SessionStore(tmp_path)  # a new process appends after the torn line
    store2.append_event("s1", Event(kind="session_resumed", session="s1"))
    assert [e.kind for e in store2.read_events("s1")] == ["session_started", "session_resumed"]


# -- active, list ------------------------------------------------------------------------
def test_active_and_list(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    assert store.list() == []
    with pytest.raises(NoActiveSession):
        store.resolve(None)
    store.create(make_state("s1"))
    store.create(make_state("s2", status=SessionStatus.WAITING))
    store.set_active("s2")
    assert store.get_active() == "s2" and store.resolve(None) == "s2"
    assert store.resolve("s1") == "s1"
    (tmp_path / ".phasegate/sessions/s3").mkdir()
    (tmp_path / ".phasegate/sessions/s3/checkpoint.json").write_text("bad")
    infos = {i.id: i for i in store.list()}
    assert set(infos) == {"s1", "s2", "s3"}
    assert infos["s2"].active and infos["s2"].status == "waiting"
    assert infos["s3"].status == "unreadable"
    # listing never moves anything
    assert (tmp_path / ".phasegate/sessions/s3/checkpoint.json").read_text() == "bad"
    (tmp_path / ".phasegate/active").write_text("../../evil")
    assert store.get_active() is None


# -- lock --------------------------------------------------------------------------------
def test_lock_in_process(tmp_path: Path) -> None:
    a, b = SessionStore(tmp_path), SessionStore(tmp_path)
    a.lock("s1")
    a.lock("s1")  # re-entrant for the holder
    with pytest.raises(SessionLocked, match=f"pid {os.getpid()}"):
        b.lock("s1")
    a.unlock("s1")
    b.lock("s1")
    b.unlock_all()


def test_lock_across_processes_and_released_on_death(tmp_path: Path) -> None:
    code = (
        "import sys, time; from phasegate.store import SessionStore; "
        f"s = SessionStore({str(tmp_path)!r}); s.lock('s1'); print('locked', flush=True); "
        "time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        with pytest.raises(SessionLocked, match="in use by another phasegate process"):
            SessionStore(tmp_path).lock("s1")
    finally:
        proc.kill()
        proc.wait()
    store = SessionStore(tmp_path)
    store.lock("s1")  # the kernel released it with the process
    store.unlock_all()
