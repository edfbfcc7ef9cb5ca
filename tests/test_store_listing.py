"""Listing the sessions reads each checkpoint's summary, not the whole state.

``SessionStore.list`` (``phasegate sessions``, the language server's ``listSessions``)
reads the fields it shows from each checkpoint's JSON without building the session's
state with the models: what it lists must be what the models read, a checkpoint it
cannot read is ``unreadable``, and a checkpoint whose other parts are invalid is listed
and then recovered when the session is opened (``load``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from phasegate.model import (
    SCHEMA_VERSION,
    IterationRecord,
    PhaseState,
    PhaseStatus,
    SessionState,
    SessionStatus,
)
from phasegate.store import CheckpointRecovered, SessionInfo, SessionStore


def saved(root: Path, sid: str, **kw: Any) -> SessionState:
    state = SessionState(
        id=sid,
        requirement=f"requirement of {sid}",
        phases=[
            PhaseState(
                name="a",
                status=PhaseStatus.COMPLETED,
                iterations=[IterationRecord(number=1, score=0.9, passed=True)],
            ),
            PhaseState(name="b"),
        ],
        **kw,
    )
    SessionStore(root).create(state)
    return state


def checkpoint(root: Path, sid: str) -> Path:
    return root / ".phasegate" / "sessions" / sid / "checkpoint.json"


def rewrite(root: Path, sid: str, **changes: Any) -> None:
    """Change fields of the checkpoint's JSON (a key set to ``...`` is removed)."""
    path = checkpoint(root, sid)
    data = json.loads(path.read_text())
    for key, value in changes.items():
        if value is ...:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(json.dumps(data))


def listed(root: Path) -> dict[str, SessionInfo]:
    return {i.id: i for i in SessionStore(root).list()}


def test_the_summary_is_what_the_models_read(tmp_path: Path) -> None:
    saved(tmp_path, "s1", current_phase="b", status=SessionStatus.WAITING)
    saved(tmp_path, "s2")
    store = SessionStore(tmp_path)
    store.set_active("s2")
    infos = listed(tmp_path)
    for sid in ("s1", "s2"):
        state = store.load(sid)
        info = infos[sid]
        assert (info.requirement, info.status, info.current_phase) == (
            state.requirement,
            state.status.value,
            state.current_phase,
        )
        assert (info.created_at, info.updated_at) == (state.created_at, state.updated_at)
        assert info.active == (sid == "s2") and info.error is None
    # most recently updated first
    assert [i.id for i in store.list()] == ["s2", "s1"]


def test_defaults_and_lax_values_read_as_the_models_read_them(tmp_path: Path) -> None:
    saved(tmp_path, "s1")
    rewrite(tmp_path, "s1", status=..., current_phase=..., created_at="12.5", updated_at=7)
    info = listed(tmp_path)["s1"]
    state = SessionStore(tmp_path).load("s1")
    assert info.status == state.status.value == "running"
    assert info.current_phase is state.current_phase is None
    assert info.created_at == state.created_at == 12.5
    assert info.updated_at == state.updated_at == 7.0


@pytest.mark.parametrize(
    "changes",
    [
        {"id": "other"},  # another session's checkpoint
        {"id": ...},
        {"requirement": 3},
        {"requirement": ...},
        {"status": "finished"},  # not a session status
        {"current_phase": ["a"]},
        {"updated_at": None},
        {"created_at": {"t": 1}},
        {"schema_version": SCHEMA_VERSION + 1},  # written by a newer phasegate
        {"schema_version": "1"},
    ],
)
def test_a_summary_the_models_would_refuse_is_unreadable(
    tmp_path: Path, changes: dict[str, Any]
) -> None:
    saved(tmp_path, "s1")
    rewrite(tmp_path, "s1", **changes)
    before = checkpoint(tmp_path, "s1").read_bytes()
    info = listed(tmp_path)["s1"]
    assert info.status == "unreadable" and info.error is not None
    assert SessionStore(tmp_path).peek("s1") is None  # the models refuse it too
    assert checkpoint(tmp_path, "s1").read_bytes() == before  # listing moves nothing


@pytest.mark.parametrize("content", [b"", b"{", b"[1, 2]", b"\xff\xfe", b'"text"'])
def test_a_checkpoint_that_is_not_a_json_object_is_unreadable(
    tmp_path: Path, content: bytes
) -> None:
    saved(tmp_path, "s1")
    checkpoint(tmp_path, "s1").write_bytes(content)
    assert listed(tmp_path)["s1"].status == "unreadable"


def test_an_invalid_part_the_listing_does_not_read_is_found_when_opened(tmp_path: Path) -> None:
    state = saved(tmp_path, "s1")
    SessionStore(tmp_path).save(state)  # a previous checkpoint to recover from
    rewrite(tmp_path, "s1", phases=[{"name": "a", "iterations": "not a list"}])
    assert listed(tmp_path)["s1"].status == "running"  # the summary reads
    with pytest.raises(CheckpointRecovered, match="unreadable"):
        SessionStore(tmp_path).load("s1")
    # recovered from the previous checkpoint (stopped): the listing agrees with it again
    recovered = SessionStore(tmp_path).load("s1")
    assert listed(tmp_path)["s1"].status == recovered.status.value == "stopped"
