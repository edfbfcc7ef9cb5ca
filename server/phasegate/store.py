"""Durable session state in ``.phasegate/``: checkpoints, the event journal, locks.

Layout::

    .phasegate/
      active                          id of the session to resume (written atomically)
      sessions/<id>/checkpoint.json   the SessionState; atomic write, schema_version
      sessions/<id>/checkpoint.prev.json   the checkpoint before the last one
      sessions/<id>/events.jsonl      append-only journal, one Event per line
      sessions/<id>/lock              locked by the process that owns the session
                                      (flock on POSIX, msvcrt.locking on Windows:
                                      phasegate.locks)
      sessions/<id>/backups/          what personas replaced (see phasegate.backups)

Durability rules:

* a checkpoint is written to a temporary file in the same folder, fsynced, renamed over
  the old one with ``os.replace`` and the folder is fsynced, so a crash at any instant
  leaves either the old or the new checkpoint, never a torn one; the previous checkpoint
  is kept as ``checkpoint.prev.json`` (a hard link, so both always exist);
* every event is appended as one line, flushed and fsynced; a torn last line (a crash
  mid-write) is skipped on read and never glued to the next event;
* a checkpoint that cannot be read (bad JSON, validation error, missing) is never deleted
  or replaced silently: it is moved aside to ``checkpoint.corrupt-<timestamp>.json``, the
  last good state is rebuilt from ``checkpoint.prev.json`` or else from the journal, that
  state is written as the checkpoint, and :class:`CheckpointRecovered` tells the caller in
  one sentence (the next load continues from the recovered state);
* a checkpoint written by a newer phasegate (higher ``schema_version``) is refused with
  :class:`CheckpointTooNew` and left untouched; older versions go through
  :data:`MIGRATIONS`;
* nothing is read or written through a symbolic link, nor where a file stands for a
  folder or the reverse: ``.phasegate``, ``sessions``, ``sessions/<id>`` and the files
  above are checked (:func:`phasegate.statedir.problem`) before each use, the lock and
  the journal are opened with ``O_NOFOLLOW``, and a bad entry raises
  :class:`UnsafeStatePath` naming it (a session whose folder is a link is listed as
  unreadable).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phasegate import locks, statedir
from phasegate.fsutil import atomic_write_bytes, fsync_directory
from phasegate.model_plain import SCHEMA_VERSION, PhaseStatus, SessionStatus
from phasegate.workspace import STATE_DIR

# The models (pydantic) are imported where a checkpoint or an event is parsed: listing
# the sessions reads only each checkpoint's summary and needs neither.
if TYPE_CHECKING:
    from phasegate.model import Event, IterationRecord, PhaseState, SessionState

SESSION_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
CHECKPOINT = "checkpoint.json"
CHECKPOINT_PREV = "checkpoint.prev.json"
EVENTS = "events.jsonl"
LOCK = "lock"
ACTIVE = "active"

# a lock or journal that is a symbolic link is not opened (ELOOP) rather than followed
_O_NOFOLLOW_CLOEXEC = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)

# schema_version -> function turning a checkpoint dict of that version into the next one.
# Version 1 is the first schema; add an entry here when SCHEMA_VERSION is bumped.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


# -- errors -----------------------------------------------------------------------------
class StoreError(Exception):
    """A session-state problem the user must hear about (CLI exit code 2)."""


class InvalidSessionId(StoreError, ValueError):
    pass


class SessionNotFound(StoreError, LookupError):
    pass


class SessionExists(StoreError):
    pass


class NoActiveSession(StoreError, LookupError):
    pass


class SessionLocked(StoreError):
    pass


class CheckpointError(StoreError):
    pass


class CheckpointTooNew(CheckpointError):
    pass


class UnsafeStatePath(StoreError, statedir.StateDirError):
    """An entry of the state folder is a symbolic link, or a file where a folder belongs
    (or the reverse): phasegate neither reads nor writes through it."""


class CheckpointRecovered(CheckpointError):
    """The checkpoint was unreadable: it was moved aside and, when possible, the last good
    state was written in its place. ``str(exc)`` is the one sentence to show the user."""

    def __init__(self, message: str, state: SessionState | None, moved_to: Path | None) -> None:
        super().__init__(message)
        self.state = state
        self.moved_to = moved_to


class _Unreadable(Exception):
    """Internal: a checkpoint file could not be parsed (message says why)."""


# -- ids ---------------------------------------------------------------------------------
def validate_session_id(s: str) -> str:
    """Return ``s`` when it is a valid session id (``[A-Za-z0-9_-]{1,64}``), else raise
    :class:`InvalidSessionId`."""
    if not isinstance(s, str) or not SESSION_ID_RE.fullmatch(s):
        shown = s if isinstance(s, str) and len(s) <= 80 else f"{str(s)[:80]}..."
        raise InvalidSessionId(
            f"invalid session id {shown!r}: use 1 to 64 letters, digits, '-' or '_'"
        )
    return s


def validate_new_session_id(s: str) -> str:
    """:func:`validate_session_id`, and refuse an id starting with ``-``: it would read as
    an option on the command line (``phasegate resume -x``), so no command could name it."""
    validate_session_id(s)
    if s.startswith("-"):
        raise InvalidSessionId(
            f"invalid session id {s!r}: an id must not start with '-', which the command "
            "line reads as an option; start it with a letter or digit"
        )
    return s


def new_session_id(now: float | None = None) -> str:
    """A fresh id such as ``s-20261124-231500-ab12``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    import secrets  # here: listing the sessions needs no random numbers

    return f"s-{stamp}-{secrets.token_hex(2)}"


# -- the previous checkpoint --------------------------------------------------------------
def _keep_previous(current: Path, prev: Path) -> None:
    """Make ``prev`` a copy of ``current`` atomically (hard link, else a byte copy)."""
    import secrets

    tmp = prev.with_name(f".{prev.name}.{secrets.token_hex(4)}.tmp")
    try:
        os.link(current, tmp)
    except OSError:
        try:
            data = current.read_bytes()
        except OSError:
            return
        atomic_write_bytes(prev, data, fsync_dir=True)
        return
    try:
        os.replace(tmp, prev)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# -- the lock -----------------------------------------------------------------------------
class SessionLock:
    """An exclusive lock on ``sessions/<id>/lock`` (:mod:`phasegate.locks`: ``flock`` on
    POSIX, ``msvcrt.locking`` on Windows). The operating system releases it when the
    process dies, so a killed run never leaves a stale lock. The file holds the pid of
    the holder, named when another process is refused."""

    def __init__(self, path: Path, session_id: str) -> None:
        self.path = path
        self.session_id = session_id
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _O_NOFOLLOW_CLOEXEC, 0o644)
        except OSError:
            why = statedir.problem(self.path, "file")
            if why is None:
                raise
            raise UnsafeStatePath(why, self.path) from None
        try:
            locks.lock(fd, wait=False)
        except OSError:
            pid = locks.read_holder(fd)
            holder = "" if pid is None else f" (pid {pid})"
            os.close(fd)
            raise SessionLocked(
                f"session {self.session_id} is in use by another phasegate process{holder}; "
                "wait for it to finish or stop it first"
            ) from None
        with contextlib.suppress(OSError):
            locks.write_holder(fd)
        self._fd = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                locks.unlock(self._fd)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> SessionLock:
        if not self.held:
            self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


# -- listing ------------------------------------------------------------------------------
@dataclass
class SessionInfo:
    id: str
    requirement: str
    status: str  # a SessionStatus value, or "unreadable"
    current_phase: str | None
    created_at: float
    updated_at: float
    active: bool
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "requirement": self.requirement,
            "status": self.status,
            "current_phase": self.current_phase,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "active": self.active,
            "error": self.error,
        }


# -- the store ----------------------------------------------------------------------------
class SessionStore:
    def __init__(self, workspace_root: str | os.PathLike[str]) -> None:
        self.workspace_root = Path(workspace_root).resolve()
        self.state_dir = self.workspace_root / STATE_DIR
        self.sessions_dir = self.state_dir / "sessions"
        self._locks: dict[str, SessionLock] = {}
        self._journal_checked: set[str] = set()

    # -- paths ---------------------------------------------------------------------------
    def session_dir(self, session_id: str) -> Path:
        return self.sessions_dir / validate_session_id(session_id)

    def checkpoint_path(self, session_id: str) -> Path:
        return self.session_dir(session_id) / CHECKPOINT

    def events_path(self, session_id: str) -> Path:
        return self.session_dir(session_id) / EVENTS

    def exists(self, session_id: str) -> bool:
        d = self.session_dir(session_id)
        return (d / CHECKPOINT).exists() or (d / CHECKPOINT_PREV).exists()

    def _require(self, path: Path, kind: statedir.Kind) -> None:
        why = statedir.problem(path, kind)
        if why is not None:
            raise UnsafeStatePath(why, path)

    def checked_session_dir(self, session_id: str, *files: str) -> Path:
        """The session's folder, after checking that ``.phasegate``, ``sessions``, the
        folder and its ``files`` are what they should be (no link, no file for a folder
        or the reverse); raises :class:`UnsafeStatePath`. Creates nothing."""
        d = self.session_dir(session_id)
        for folder in (self.state_dir, self.sessions_dir, d):
            self._require(folder, "dir")
        for name in files:
            self._require(d / name, "file")
        return d

    # -- locks ---------------------------------------------------------------------------
    def lock(self, session_id: str) -> SessionLock:
        """Take the session's lock (kept until :meth:`unlock`); raises :class:`SessionLocked`
        when another process holds it. Taking a lock this store already holds is a no-op."""
        lk = self._locks.get(session_id)
        if lk is not None and lk.held:
            return lk
        lk = SessionLock(self.checked_session_dir(session_id, LOCK) / LOCK, session_id)
        lk.acquire()
        self._locks[session_id] = lk
        return lk

    def unlock(self, session_id: str) -> None:
        lk = self._locks.pop(session_id, None)
        if lk is not None:
            lk.release()

    def unlock_all(self) -> None:
        for sid in list(self._locks):
            self.unlock(sid)

    def holds_lock(self, session_id: str) -> bool:
        lk = self._locks.get(session_id)
        return lk is not None and lk.held

    # -- active --------------------------------------------------------------------------
    def set_active(self, session_id: str) -> None:
        active = (validate_session_id(session_id) + "\n").encode()
        self._require(self.state_dir, "dir")
        self._require(self.state_dir / ACTIVE, "file")
        atomic_write_bytes(self.state_dir / ACTIVE, active, fsync_dir=True)

    def get_active(self) -> str | None:
        """The active session id, or None (no file, a link or not a file, or its content
        is not a valid id)."""
        if statedir.problem(self.state_dir, "dir") or statedir.problem(
            self.state_dir / ACTIVE, "file"
        ):
            return None
        try:
            text = (self.state_dir / ACTIVE).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return text if SESSION_ID_RE.fullmatch(text) else None

    def discard(
        self, session_id: str, previous_active: str | None, made: Iterable[Path] = ()
    ) -> None:
        """Remove a session this store just created and that did no work (refused before
        its first step), and make ``previous_active`` the active session again (None: no
        active session). Only a folder of the expected shape is removed; so are the
        folders of ``made`` (the state folder, ``sessions``: made for this session, deepest
        first) when they are empty."""
        import shutil

        d = self.checked_session_dir(session_id)
        self.unlock(session_id)
        shutil.rmtree(d, ignore_errors=True)
        if previous_active is not None:
            self.set_active(previous_active)
        elif self.get_active() == session_id:
            with contextlib.suppress(FileNotFoundError):
                (self.state_dir / ACTIVE).unlink()
        for folder in made:
            if folder in (self.sessions_dir, self.state_dir):
                with contextlib.suppress(OSError):  # not empty: something else is kept there
                    folder.rmdir()

    def resolve(self, session_id: str | None) -> str:
        """``session_id`` validated, or the active session; raises when there is none."""
        if session_id:
            return validate_session_id(session_id)
        active = self.get_active()
        if active is None:
            raise NoActiveSession(
                f"no active session in {self.workspace_root}; start one with "
                "`phasegate run --requirement TEXT`"
            )
        return active

    # -- checkpoints ---------------------------------------------------------------------
    def create(self, state: SessionState) -> None:
        """Write the first checkpoint of a new session; refuses an existing id, and an id
        starting with ``-`` (:func:`validate_new_session_id`)."""
        self._refuse_existing(state.id)
        self.save(state)

    def _refuse_existing(self, session_id: str) -> None:
        validate_new_session_id(session_id)
        if self.exists(session_id):
            raise SessionExists(
                f"session {session_id} already exists; resume it with "
                f"`phasegate resume {session_id}`"
            )

    def create_plain(self, checkpoint: dict[str, Any]) -> None:
        """:meth:`create` for a first checkpoint given as the JSON object
        :meth:`save` would write (``seq`` 1), without the checkpoint models: how a
        session begins before they are loaded (:mod:`phasegate.session_begin`)."""
        sid = checkpoint["id"]
        self._refuse_existing(sid)
        d = self.checked_session_dir(sid, CHECKPOINT, CHECKPOINT_PREV)
        d.mkdir(parents=True, exist_ok=True)
        data = json.dumps(checkpoint, indent=1, ensure_ascii=False).encode()
        atomic_write_bytes(d / CHECKPOINT, data, fsync_dir=True)

    def save(self, state: SessionState) -> None:
        """Write ``state`` as the session's checkpoint (atomically), keeping the previous
        one as ``checkpoint.prev.json``. Bumps ``seq`` and ``updated_at``."""
        d = self.checked_session_dir(state.id, CHECKPOINT, CHECKPOINT_PREV)
        d.mkdir(parents=True, exist_ok=True)
        state.seq += 1
        state.updated_at = time.time()
        state.schema_version = SCHEMA_VERSION
        data = state.model_dump_json(indent=1).encode()
        cp = d / CHECKPOINT
        if cp.exists():
            _keep_previous(cp, d / CHECKPOINT_PREV)
        atomic_write_bytes(cp, data, fsync_dir=True)

    def _current_schema(self, session_id: str, raw: bytes) -> dict[str, Any]:
        """The checkpoint ``raw`` as a JSON object of the current schema (migrated from an
        older one); raises :class:`_Unreadable` or :class:`CheckpointTooNew`."""
        try:
            parsed = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise _Unreadable(f"not valid JSON: {exc}") from None
        if not isinstance(parsed, dict):
            raise _Unreadable("not a JSON object")
        data: dict[str, Any] = parsed
        version = data.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise _Unreadable("no integer schema_version")
        if version > SCHEMA_VERSION:
            raise CheckpointTooNew(
                f"the checkpoint of session {session_id} was written by a newer phasegate "
                f"(schema {version}, this one reads up to {SCHEMA_VERSION}); upgrade phasegate "
                "to resume it"
            )
        while version < SCHEMA_VERSION:
            migrate = MIGRATIONS.get(version)
            if migrate is None:
                raise _Unreadable(f"schema version {version} is not supported")
            data = migrate(data)
            version += 1
            data["schema_version"] = version
        return data

    def _parse(self, session_id: str, raw: bytes) -> SessionState:
        from pydantic import ValidationError

        from phasegate.model import SessionState

        data = self._current_schema(session_id, raw)
        try:
            state = SessionState.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first.get("loc", ()))
            raise _Unreadable(
                f"invalid content ({exc.error_count()} errors, first at {loc or 'top'}: "
                f"{first.get('msg', '')})"
            ) from None
        if state.id != session_id:
            raise _Unreadable(f"it names session {state.id!r}, not {session_id!r}")
        return state

    def load(self, session_id: str) -> SessionState:
        """The session's checkpoint.

        Raises :class:`SessionNotFound`, :class:`CheckpointTooNew` (file left as is),
        :class:`UnsafeStatePath` (a link or a folder where a file belongs: nothing moved),
        or :class:`CheckpointRecovered` after moving an unreadable checkpoint aside and
        writing the last good state in its place (then the next load succeeds).
        """
        d = self.checked_session_dir(session_id, CHECKPOINT, CHECKPOINT_PREV, EVENTS)
        cp = d / CHECKPOINT
        try:
            raw = cp.read_bytes()
        except FileNotFoundError:
            if not d.is_dir() or not ((d / CHECKPOINT_PREV).exists() or (d / EVENTS).exists()):
                raise SessionNotFound(f"no session {session_id} in {self.workspace_root}") from None
            return self._recover(session_id, "it is missing")
        except OSError as exc:
            return self._recover(session_id, f"it cannot be read: {exc.strerror}")
        try:
            return self._parse(session_id, raw)
        except _Unreadable as exc:
            return self._recover(session_id, str(exc))

    def peek(self, session_id: str) -> SessionState | None:
        """The checkpoint if it reads cleanly, else None; never moves or writes anything."""
        try:
            self.checked_session_dir(session_id, CHECKPOINT)
            return self._parse(session_id, self.checkpoint_path(session_id).read_bytes())
        except (OSError, _Unreadable, StoreError):
            return None

    def _recover(self, session_id: str, cause: str) -> SessionState:
        d = self.session_dir(session_id)
        we_locked = False
        if not self.holds_lock(session_id):
            try:
                self.lock(session_id)
                we_locked = True
            except SessionLocked as exc:
                raise CheckpointError(
                    f"the checkpoint of session {session_id} is unreadable ({cause}) and the "
                    f"session is in use by another process; {exc}"
                ) from None
        try:
            return self._recover_locked(d, session_id, cause)
        finally:
            if we_locked:
                self.unlock(session_id)

    def _recover_locked(self, d: Path, session_id: str, cause: str) -> SessionState:
        from phasegate.model import Event

        cp = d / CHECKPOINT
        moved: Path | None = None
        if cp.exists():
            stamp = time.strftime("%Y%m%d-%H%M%S")
            moved = d / f"checkpoint.corrupt-{stamp}.json"
            n = 1
            while moved.exists():
                n += 1
                moved = d / f"checkpoint.corrupt-{stamp}-{n}.json"
            os.replace(cp, moved)
            fsync_directory(d)
        state: SessionState | None = None
        source = ""
        prev = d / CHECKPOINT_PREV
        if prev.exists():
            try:
                state = self._parse(session_id, prev.read_bytes())
                source = "the previous checkpoint"
            except (OSError, _Unreadable, CheckpointError):
                state = None
        if state is None:
            state = state_from_events(self.read_events(session_id))
            if state is not None and state.id == session_id:
                source = "the session journal"
            else:
                state = None
        where = f"moved to {moved.name}" if moved else "not found"
        if state is None:
            raise CheckpointRecovered(
                f"The checkpoint of session {session_id} is unreadable ({cause}), it was "
                f"{where}, and no earlier state could be recovered.",
                None,
                moved,
            )
        if state.status == SessionStatus.RUNNING:
            state.status = SessionStatus.STOPPED
        # write the recovered state without replacing checkpoint.prev.json by it
        self.save(state)
        self.append_event(
            session_id,
            Event(
                kind="checkpoint_recovered",
                session=session_id,
                data={"cause": cause, "moved_to": moved.name if moved else None, "source": source},
            ),
        )
        raise CheckpointRecovered(
            f"The checkpoint of session {session_id} was unreadable ({cause}); it was {where} "
            f"and the session was restored from {source}, so run the command again to continue.",
            state,
            moved,
        )

    # -- journal -------------------------------------------------------------------------
    def append_event(self, session_id: str, event: Event) -> None:
        """Append one event as a JSON line (flushed and fsynced)."""
        path = self.checked_session_dir(session_id, EVENTS) / EVENTS
        path.parent.mkdir(parents=True, exist_ok=True)
        line = event.model_dump_json().encode() + b"\n"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _O_NOFOLLOW_CLOEXEC, 0o666)
        except OSError:
            why = statedir.problem(path, "file")
            if why is None:
                raise
            raise UnsafeStatePath(why, path) from None
        with open(fd, "ab") as fh:
            if session_id not in self._journal_checked:
                # A crash mid-write can leave a torn last line: end it so the next event
                # starts on a line of its own (the torn one is skipped on read).
                self._journal_checked.add(session_id)
                size = fh.seek(0, os.SEEK_END)
                if size > 0:
                    with open(path, "rb") as rf:
                        rf.seek(size - 1)
                        if rf.read(1) != b"\n":
                            fh.write(b"\n")
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    def read_events(self, session_id: str) -> list[Event]:
        """The journal's events in order; unreadable lines (a torn last line) are skipped."""
        return list(self.iter_events(session_id))

    def iter_events(self, session_id: str) -> Iterator[Event]:
        from phasegate.model import Event

        try:
            path = self.checked_session_dir(session_id, EVENTS) / EVENTS
            raw = path.read_bytes()
        except (OSError, UnsafeStatePath):
            return
        for line in raw.split(b"\n"):
            if not line.strip():
                continue
            try:
                yield Event.model_validate_json(line)
            except ValueError:
                continue

    # -- listing -------------------------------------------------------------------------
    def list(self) -> list[SessionInfo]:
        """Every session in the workspace, most recently updated first (none when
        ``.phasegate`` or ``sessions`` is a link or not a folder). Each checkpoint's
        summary is read as JSON (:meth:`_summary`), without building the session's
        state, so listing needs no pydantic; one whose summary cannot be read is listed
        ``unreadable``."""
        out: list[SessionInfo] = []
        if statedir.problem(self.state_dir, "dir") or statedir.problem(self.sessions_dir, "dir"):
            return out  # a link or a file: nothing is read through it
        if not self.sessions_dir.is_dir():
            return out
        active = self.get_active()
        for d in self.sessions_dir.iterdir():
            if not SESSION_ID_RE.fullmatch(d.name):
                continue
            unsafe = statedir.problem(d, "dir") if d.is_symlink() else None
            if unsafe is not None:
                out.append(
                    SessionInfo(
                        id=d.name,
                        requirement="",
                        status="unreadable",
                        current_phase=None,
                        created_at=0.0,
                        updated_at=0.0,
                        active=d.name == active,
                        error=unsafe,
                    )
                )
                continue
            if not d.is_dir():
                continue
            cp = d / CHECKPOINT
            if not cp.exists() and not (d / CHECKPOINT_PREV).exists():
                continue
            info = self._summary(d.name, active)
            if info is None:
                mtime = cp.stat().st_mtime if cp.exists() else 0.0
                out.append(
                    SessionInfo(
                        id=d.name,
                        requirement="",
                        status="unreadable",
                        current_phase=None,
                        created_at=mtime,
                        updated_at=mtime,
                        active=d.name == active,
                        error="checkpoint unreadable; `phasegate resume` recovers it",
                    )
                )
                continue
            out.append(info)
        out.sort(key=lambda s: s.updated_at, reverse=True)
        return out

    def _summary(self, session_id: str, active: str | None) -> SessionInfo | None:
        """What :meth:`list` shows of a session, read from its checkpoint without the
        models (pydantic): None when the checkpoint is unreadable as far as these fields
        tell — a link or a folder in its place, not a JSON object, no integer
        ``schema_version`` or a newer one, another session's id, or a listed field
        missing or of the wrong type. The rest of the checkpoint is validated when the
        session is opened (:meth:`load`, which recovers an invalid one)."""
        try:
            self.checked_session_dir(session_id, CHECKPOINT)
            data = self._current_schema(session_id, self.checkpoint_path(session_id).read_bytes())
        except (OSError, _Unreadable, StoreError):
            return None
        now = time.time()  # the models' default for a missing time
        sid = data.get("id")
        requirement = data.get("requirement")
        status = data.get("status", SessionStatus.RUNNING.value)
        phase = data.get("current_phase")
        if sid != session_id or not isinstance(requirement, str):
            return None
        if status not in {s.value for s in SessionStatus}:
            return None
        if phase is not None and not isinstance(phase, str):
            return None
        try:
            created_at = _seconds(data.get("created_at", now))
            updated_at = _seconds(data.get("updated_at", now))
        except (TypeError, ValueError):
            return None
        return SessionInfo(
            id=session_id,
            requirement=requirement,
            status=status,
            current_phase=phase,
            created_at=created_at,
            updated_at=updated_at,
            active=session_id == active,
        )


def _seconds(value: Any) -> float:
    """A time of the checkpoint as the models read it: a number, or a string of one."""
    if not isinstance(value, (int, float, str)):
        raise TypeError(f"not a time: {value!r}")
    return float(value)


# -- rebuilding a state from the journal ------------------------------------------------------
def state_from_events(events: list[Event]) -> SessionState | None:
    """Replay the journal into a SessionState (used when no checkpoint can be read).

    Reads the events the executor writes: ``session_started`` (requirement, phases),
    ``phase_started``, ``iteration_started`` (iteration, planned, reason,
    global_iterations), ``persona_finished`` (run), ``gate_scored`` (record, best_score),
    ``phase_completed|stalled|blocked|regressed`` (status, message, blocked_by) and
    ``session_finished|session_stopped`` (status). Gate findings are not in the journal:
    a rebuilt state has no ``last_gate`` until its gates run again.
    """
    from phasegate.model import IterationRecord, PersonaRun, PhaseState, SessionState

    state: SessionState | None = None
    for ev in events:
        d = ev.data
        if ev.kind == "session_started":
            state = SessionState(
                id=ev.session,
                requirement=str(d.get("requirement", "")),
                phases=[PhaseState(name=str(n)) for n in d.get("phases", [])],
                created_at=ev.ts,
            )
            continue
        if state is None:
            continue
        ps = _phase_of(state, ev.phase)
        try:
            if ev.kind == "phase_started" and ps is not None:
                ps.status = PhaseStatus.IN_PROGRESS
                state.current_phase = ps.name
            elif ev.kind == "iteration_started" and ps is not None:
                rec = IterationRecord(
                    number=int(d["iteration"]),
                    planned=list(d.get("planned", [])),
                    reason=str(d.get("reason", "")),
                    started_at=ev.ts,
                )
                _put_iteration(ps, rec)
                state.global_iterations = int(d.get("global_iterations", state.global_iterations))
            elif ev.kind == "persona_finished" and ps is not None and "run" in d:
                run = PersonaRun.model_validate(d["run"])
                it = _iteration(ps, int(d.get("iteration", 0)))
                if it is not None:
                    it.personas = [p for p in it.personas if p.persona != run.persona] + [run]
            elif ev.kind == "gate_scored" and ps is not None and "record" in d:
                rec = IterationRecord.model_validate(d["record"])
                _put_iteration(ps, rec)
                ps.last_score = rec.score
                ps.last_threshold = rec.threshold
                best = d.get("best_score")
                ps.best_score = float(best) if best is not None else ps.best_score
            elif (
                ev.kind
                in (
                    "phase_completed",
                    "phase_stalled",
                    "phase_blocked",
                    "phase_regressed",
                )
                and ps is not None
            ):
                ps.status = PhaseStatus(d.get("status", ev.kind.removeprefix("phase_")))
                ps.message = str(d.get("message", ""))
                ps.blocked_by = str(d.get("blocked_by", ""))
            elif ev.kind in ("session_finished", "session_stopped", "session_resumed"):
                status = d.get("status")
                if status is not None:
                    state.status = SessionStatus(status)
        except (KeyError, TypeError, ValueError):
            continue  # an event we cannot use must not stop the replay
        state.updated_at = ev.ts
    return state


def _phase_of(state: SessionState, name: str | None) -> PhaseState | None:
    from phasegate.model import PhaseState

    if name is None:
        return None
    try:
        return state.phase(name)
    except KeyError:
        ps = PhaseState(name=name)
        state.phases.append(ps)
        return ps


def _iteration(ps: PhaseState, number: int) -> IterationRecord | None:
    for it in reversed(ps.iterations):
        if it.number == number:
            return it
    return None


def _put_iteration(ps: PhaseState, rec: IterationRecord) -> None:
    """Replace the last record with the same number when it is still open, else append."""
    if ps.iterations and ps.iterations[-1].number == rec.number and not ps.iterations[-1].outcome:
        ps.iterations[-1] = rec
    else:
        ps.iterations.append(rec)
