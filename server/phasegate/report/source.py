"""Reading a session from disk for the report: its checkpoint and its journal.

Making a report only reads: it never repairs, moves or rewrites session files. An
unreadable checkpoint is left where it is (``phasegate resume`` recovers it) and the
report is built from the previous checkpoint or, failing that, from the journal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from phasegate.model import Event, SessionState
from phasegate.store import (
    CHECKPOINT,
    CHECKPOINT_PREV,
    EVENTS,
    SessionStore,
    StoreError,
    state_from_events,
)


class ReportError(Exception):
    """The report cannot be made (no session, bad id, unreadable state): says why."""


@dataclass
class SessionSource:
    state: SessionState
    events: list[Event]
    directory: Path
    warnings: list[str] = field(default_factory=list)
    from_journal: bool = False  # no checkpoint could be read: state replayed from the journal


def _unreadable_lines(path: Path, parsed: int) -> int:
    try:
        raw = path.read_bytes()
    except OSError:
        return 0
    return sum(1 for line in raw.split(b"\n") if line.strip()) - parsed


def load_session(root: Path, session_id: str | None = None) -> SessionSource:
    """Load ``session_id`` (default: the active session) of the workspace at ``root``."""
    store = SessionStore(root)
    try:
        sid = store.resolve(session_id)
        directory = store.session_dir(sid)
    except StoreError as exc:
        raise ReportError(str(exc)) from None
    if not directory.is_dir():
        raise ReportError(f"no session {sid} in {store.workspace_root}")
    events = store.read_events(sid)
    warnings: list[str] = []
    bad = _unreadable_lines(directory / EVENTS, len(events))
    if bad > 0:
        warnings.append(f"{bad} line(s) of {EVENTS} could not be read and were skipped")
    if not (directory / EVENTS).exists():
        warnings.append(f"{EVENTS} is missing: the timeline has no events")
    state = store.peek(sid)
    if state is not None:
        return SessionSource(state, events, directory, warnings)
    prev = directory / CHECKPOINT_PREV
    if prev.exists():
        try:
            state = SessionState.model_validate_json(prev.read_bytes())
        except (OSError, ValueError):
            state = None
        if state is not None and state.id != sid:
            state = None
        if state is not None:
            warnings.append(
                f"{CHECKPOINT} is unreadable: this report uses the previous checkpoint "
                "(`phasegate resume` recovers the session)"
            )
            return SessionSource(state, events, directory, warnings)
    replayed = state_from_events(events)
    if replayed is None or replayed.id != sid:
        what = "unreadable" if (directory / CHECKPOINT).exists() else "missing"
        raise ReportError(
            f"session {sid}: the checkpoint is {what} and the journal does not hold the "
            "session's start, so there is nothing to report"
        )
    warnings.append(
        f"{CHECKPOINT} is unreadable or missing: this report is replayed from the journal"
    )
    return SessionSource(replayed, events, directory, warnings, from_journal=True)
