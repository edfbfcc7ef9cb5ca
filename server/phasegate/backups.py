"""Backups of what personas replace, so every change can be undone — even after a kill.

Before a persona writes a file, :meth:`BackupRecorder.save` copies the file's current
bytes and permission bits (or records that it did not exist) under
``.phasegate/sessions/<id>/backups/<label>/``. Restoring a label puts every recorded
file back exactly (bytes and permission bits), deletes files that did not exist and
removes the directories the label created (when they are empty again).

Personas that run arbitrary programs (``command``) cannot say in advance which files they
will touch. For them :class:`SnapshotStore` takes a snapshot of every non-ignored file
before the program runs — stat data plus a copy of the bytes in a content-addressed store
(``.phasegate/snapshots/objects/``, deduplicated, so a file already stored is never
copied again) — and after the run lists exactly what was created, modified (bytes or
permission bits) or deleted, recording the previous content of each into the label.
Unchanged files are recognised by their stat data (size, mtime, ctime, inode, mode);
files changed within :data:`RACY_NS` of a stat are always re-hashed, so a change in the
same clock tick is never missed.

**Write-ahead, so that a kill at any instant stays undoable.** A label on disk is::

    <label>/meta.json       written first (kind, session, when), before any workspace write
    <label>/files/<path>    the previous bytes of each recorded file
    <label>/manifest.json   path -> previous state (existed, sha1, mode; "after" once known)
    <label>/snapshot.json   while a program runs: the snapshot taken before it started

Every one of them is written atomically (temporary file, fsync, ``os.replace``, folder
fsync) and in that order: a file's backup is complete before the manifest names it (its
sha1 is recorded and checked on restore, so a partial copy is never taken for a good
one), and the manifest — or, for a program, ``snapshot.json`` with the snapshot's objects
flushed — is on disk before the workspace is touched. A label whose remediation died
before sealing is *interrupted*: :meth:`BackupRecorder.recover` compares the workspace
with a ``snapshot.json`` left behind and records what the program changed, and restoring
then works as for a finished label. Snapshot objects a pending ``snapshot.json`` refers
to are never dropped. Restoring is idempotent (a file already as it was is not
rewritten), so an undo that is itself killed is resumed by running it again; temporary
files an interrupted atomic write left beside a recorded file are removed.

Each label's ``meta.json`` also says whether it is sealed (the state of every file after
the change is recorded, so that ``undo`` can tell a later hand edit from its own change)
and whether it was undone.

Not restored: ownership, extended attributes and ACLs, timestamps other than a restored
file's mtime, hard links (a restored file is a file of its own), and — for programs —
anything in ignored paths (``.git/``, ``.phasegate/``, virtual environments, tool caches,
what the root ``.gitignore`` ignores).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import os
import re
import shutil
import stat
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import pathspec

from phasegate import locks
from phasegate.fsutil import atomic_write_bytes, fsync_directory
from phasegate.workspace import ALWAYS_IGNORED_DIRS, PathOutsideWorkspace, Workspace

SESSION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LABEL_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
RACY_NS = 2_000_000_000  # a file changed this close to its stat is always re-hashed
MISSING = "-"
PENDING = "snapshot.json"  # the snapshot of a program that has not been recorded yet
# what an interrupted atomic write leaves beside its target (fsutil and persona edits)
_TEMPORARY_RE = r"^\.{name}\.[A-Za-z0-9_]{{8}}\.(tmp|pg)$"

_PAUSE_ENV = "PHASEGATE_TEST_PAUSE"
_PAUSE_FILE_ENV = "PHASEGATE_TEST_PAUSE_FILE"
_pause_counts: dict[str, int] = {}


class BackupError(Exception):
    """A backup cannot be written or restored; the message says why."""


def pause_point(name: str) -> None:
    """A test hook at the instants a kill must not lose a change.

    With ``PHASEGATE_TEST_PAUSE=<name>[:<n>]`` in the environment, the n-th time (default
    the first) the process reaches ``name`` it writes ``name`` to the file named by
    ``PHASEGATE_TEST_PAUSE_FILE`` and then waits forever, so that a test can kill it at
    exactly that instant. Without the variable it does nothing.
    """
    spec = os.environ.get(_PAUSE_ENV)
    if not spec:
        return
    want, _, nth = spec.partition(":")
    if want != name:
        return
    count = _pause_counts.get(name, 0) + 1
    _pause_counts[name] = count
    if count != (int(nth) if nth.isdigit() else 1):
        return
    target = os.environ.get(_PAUSE_FILE_ENV)
    if target:
        atomic_write_bytes(Path(target), name.encode())
    while True:
        time.sleep(3600)


def check_session_id(session_id: str) -> str:
    if not SESSION_ID_RE.match(session_id):
        raise BackupError(f"invalid session id {session_id!r}: use [A-Za-z0-9_-], 1-64 chars")
    return session_id


def session_backups_dir(workspace: Workspace, session_id: str) -> Path:
    """``.phasegate/sessions/<id>/backups`` of ``workspace``."""
    return workspace.state_dir / "sessions" / check_session_id(session_id) / "backups"


def safe_rel(rel: str) -> str:
    """Normalise a workspace-relative POSIX path; refuse absolute paths and ``..``."""
    if not rel or "\x00" in rel or "\\" in rel:
        raise PathOutsideWorkspace(f"invalid path {rel!r}")
    p = PurePosixPath(rel)
    if p.is_absolute() or any(part in ("..", "") for part in p.parts):
        raise PathOutsideWorkspace(f"{rel!r} is not a relative path inside the workspace")
    norm = p.as_posix()
    if norm in (".", ""):
        raise PathOutsideWorkspace(f"invalid path {rel!r}")
    return norm


def lexical_path(workspace: Workspace, rel: str) -> Path:
    """``root/rel`` without resolving its last component (a symlink stays a symlink), after
    checking that its parent directory resolves inside the workspace."""
    rel = safe_rel(rel)
    path = workspace.root / rel
    parent = path.parent.resolve()
    if parent != workspace.root and workspace.root not in parent.parents:
        raise PathOutsideWorkspace(f"{rel!r} is outside the workspace {workspace.root}")
    return parent / path.name


def sha1_bytes(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def _write_json(path: Path, data: Any, *, durable: bool = False) -> None:
    """Atomic; ``durable`` also flushes the folder, so the new entry survives a crash."""
    atomic_write_bytes(path, json.dumps(data, indent=1, sort_keys=True).encode(), fsync_dir=durable)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path}: unreadable ({exc})") from exc


def current_hash(workspace: Workspace, rel: str) -> str:
    """Hash of what is at ``rel`` now: ``sha1`` of a file's bytes, ``link:<target>`` for a
    symlink, :data:`MISSING` when nothing (or a directory) is there."""
    state = current_state(workspace, rel)
    if state == MISSING or state.startswith("link:"):
        return state
    return state.partition("@")[0]


def file_state(sha: str, mode: int | None) -> str:
    """The state of a regular file: ``<sha1>@<permission bits in octal>`` (``<sha1>`` alone
    when the bits are not known)."""
    return sha if mode is None else f"{sha}@{stat.S_IMODE(mode):o}"


def current_state(workspace: Workspace, rel: str) -> str:
    """What is at ``rel`` now: :func:`file_state` of a regular file, ``link:<target>`` for
    a symlink, :data:`MISSING` when nothing (or a directory) is there."""
    try:
        path = lexical_path(workspace, rel)
        st = path.lstat()
    except (OSError, PathOutsideWorkspace):
        return MISSING
    if stat.S_ISLNK(st.st_mode):
        try:
            return "link:" + os.readlink(path)
        except OSError:
            return MISSING
    if not stat.S_ISREG(st.st_mode):
        return MISSING
    try:
        return file_state(sha1_bytes(path.read_bytes()), st.st_mode)
    except OSError:
        return MISSING


def same_state(recorded: str, now: str) -> bool:
    """Whether two states are the same; a file state recorded without permission bits (by
    an older phasegate) compares the bytes only."""
    if recorded == now:
        return True
    if MISSING in (recorded, now) or recorded.startswith("link:") or now.startswith("link:"):
        return False
    r_sha, _, r_mode = recorded.partition("@")
    n_sha, _, n_mode = now.partition("@")
    return r_sha == n_sha and (not r_mode or not n_mode)


ChangeKind = Literal["created", "modified", "deleted"]


@dataclass(frozen=True)
class Change:
    path: str
    kind: ChangeKind


_recording_into: contextvars.ContextVar[BackupRecorder | None] = contextvars.ContextVar(
    "phasegate_recording_into", default=None
)


@contextlib.contextmanager
def recording_into(recorder: BackupRecorder | None) -> Iterator[None]:
    """Within this block (same task or thread, and the threads it starts through
    ``asyncio.to_thread``), a :meth:`SnapshotStore.take` not given a recorder writes its
    snapshot into ``recorder`` before the program runs (see the module docstring)."""
    token = _recording_into.set(recorder)
    try:
        yield
    finally:
        _recording_into.reset(token)


class BackupRecorder:
    """Records the previous state of every file a change touches, under one label."""

    def __init__(self, backups_dir: Path, workspace: Workspace, label: str) -> None:
        if not LABEL_RE.match(label) or label in (".", "..") or label.startswith("."):
            raise BackupError(f"invalid backup label {label!r}")
        self.workspace = workspace
        self.label = label
        self.dir = backups_dir / label
        self.manifest: dict[str, dict[str, Any]] = {}
        self.meta: dict[str, Any] = {}
        mf = _read_json(self.dir / "manifest.json")
        if isinstance(mf, dict):
            self.manifest = mf
        meta = _read_json(self.dir / "meta.json")
        if isinstance(meta, dict):
            self.meta = meta
        self._opened = isinstance(meta, dict)

    @classmethod
    def for_session(cls, workspace: Workspace, session_id: str, label: str) -> BackupRecorder:
        return cls(session_backups_dir(workspace, session_id), workspace, label)

    # -- recording ------------------------------------------------------------------------
    def open(self) -> None:
        """Make the label exist on disk — its ``meta.json`` — before it records anything
        (a no-op when it does)."""
        if self._opened:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        self.meta.setdefault("label", self.label)
        self.meta.setdefault("created_at", time.time())
        self.meta.setdefault("undone", False)
        _write_json(self.dir / "meta.json", self.meta, durable=True)
        fsync_directory(self.dir.parent)
        self._opened = True

    def save(self, rel: str) -> None:
        """Record ``rel``'s current content once per label (the first save wins)."""
        self.save_many([rel])

    def snapshot(self, rels: list[str]) -> None:
        self.save_many(rels)

    def save_many(self, rels: Iterable[str]) -> None:
        """Record the current state of each path not recorded yet; on return, the backups
        and the manifest naming them are on disk, so the caller may write."""
        new: list[str] = []
        for rel in rels:
            rel = safe_rel(rel)
            if rel not in self.manifest and rel not in new:
                new.append(rel)
        if not new:
            return
        self.open()
        entries = {rel: self._record_current(rel) for rel in new}
        pause_point("backup-copied")
        self.manifest.update(entries)
        self._write_manifest()
        if "created_dirs" in self.meta:
            self._write_meta()
        pause_point("backup-saved")

    def _record_current(self, rel: str) -> dict[str, Any]:
        path = lexical_path(self.workspace, rel)
        try:
            st: os.stat_result | None = path.lstat()
        except FileNotFoundError:
            st = None
        if st is None:
            self._note_missing_dirs(rel)
            return {"existed": False}
        if stat.S_ISLNK(st.st_mode):
            return {"existed": True, "kind": "link", "target": os.readlink(path)}
        if stat.S_ISREG(st.st_mode):
            data = path.read_bytes()
            self._store_bytes(rel, data)
            return {
                "existed": True,
                "kind": "file",
                "sha": sha1_bytes(data),
                "mode": stat.S_IMODE(st.st_mode),
                "mtime_ns": st.st_mtime_ns,
            }
        raise BackupError(f"{rel}: not a regular file; refusing to replace it")

    def _store_bytes(self, rel: str, data: bytes) -> None:
        """The backup of ``rel``, flushed: complete on disk before the manifest names it."""
        atomic_write_bytes(self.dir / "files" / rel, data, mode=0o600, fsync_dir=True)

    def save_state(
        self,
        rel: str,
        *,
        source: Path | None,
        mode: int | None = None,
        mtime_ns: int | None = None,
        link: str | None = None,
        sha: str | None = None,
    ) -> None:
        """Record a previous state known from a snapshot: the bytes in ``source`` (checked
        against ``sha`` when given), a symlink to ``link``, or (both None) that the file did
        not exist. The manifest is written by :meth:`flush`."""
        rel = safe_rel(rel)
        if rel in self.manifest:
            return
        self.open()
        if link is not None:
            self.manifest[rel] = {"existed": True, "kind": "link", "target": link}
        elif source is not None:
            try:
                data = source.read_bytes()
            except OSError as exc:
                raise BackupError(f"snapshot of {rel} is unreadable ({exc})") from exc
            digest = sha1_bytes(data)
            if sha is not None and digest != sha:
                raise BackupError(f"snapshot of {rel} is damaged ({source})")
            self._store_bytes(rel, data)
            entry: dict[str, Any] = {"existed": True, "kind": "file", "sha": digest}
            if mode is not None:
                entry["mode"] = stat.S_IMODE(mode)
            if mtime_ns is not None:
                entry["mtime_ns"] = mtime_ns
            self.manifest[rel] = entry
        else:
            self.manifest[rel] = {"existed": False}

    def _note_missing_dirs(self, rel: str) -> None:
        """Remember the parent directories of ``rel`` that do not exist yet."""
        missing: list[str] = []
        parent = PurePosixPath(rel).parent
        while parent.as_posix() not in (".", ""):
            if (self.workspace.root / parent).exists():
                break
            missing.append(parent.as_posix())
            parent = parent.parent
        if missing:
            self.record_created_dirs(missing)

    def record_created_dirs(self, dirs: Iterable[str]) -> None:
        known = set(self.meta.get("created_dirs", []))
        known.update(safe_rel(d) for d in dirs)
        self.meta["created_dirs"] = sorted(known)

    def record_deleted_dirs(self, dirs: Iterable[str]) -> None:
        known = set(self.meta.get("deleted_dirs", []))
        known.update(safe_rel(d) for d in dirs)
        self.meta["deleted_dirs"] = sorted(known)

    def flush(self) -> None:
        self._write()

    def _write(self) -> None:
        self.open()
        self._write_manifest()
        self._write_meta()

    def _write_manifest(self) -> None:
        _write_json(self.dir / "manifest.json", self.manifest, durable=True)

    def _write_meta(self) -> None:
        _write_json(self.dir / "meta.json", self.meta, durable=True)

    def seal(self, **info: Any) -> None:
        """Record what every touched file holds now (its state after the change), plus
        ``info`` in the meta; ``undo`` compares against it to detect later edits."""
        for rel, entry in self.manifest.items():
            entry["after"] = current_state(self.workspace, rel)
            entry.pop("after_found", None)
        self.open()
        self._write_manifest()
        pause_point("sealing")
        self.meta["sealed"] = True
        self.meta["sealed_at"] = time.time()
        self.meta.update(info)
        self._write_meta()

    # -- a program's snapshot, pending until its changes are recorded ----------------------
    def begin_snapshot(self, snap: Snapshot, store: SnapshotStore) -> None:
        """Write ``snap`` into the label before the program runs (its objects must be
        flushed already). A snapshot still pending from an earlier program is recorded
        first."""
        if self.pending_snapshot() is not None:
            self._resolve_pending(store)
        self.open()
        _write_json(self.dir / PENDING, snap.to_json(), durable=True)

    def pending_snapshot(self) -> Snapshot | None:
        """The snapshot of a program whose changes are not recorded yet, or None."""
        raw = _read_json(self.dir / PENDING)
        if raw is None:
            return None
        try:
            return Snapshot.from_json(raw)
        except (TypeError, KeyError, ValueError, AttributeError) as exc:
            raise BackupError(f"{self.dir / PENDING}: unreadable ({exc})") from None

    def end_snapshot(self) -> None:
        """The pending snapshot's changes are recorded: forget it."""
        with contextlib.suppress(FileNotFoundError):
            (self.dir / PENDING).unlink()
            fsync_directory(self.dir)

    def recover(self, *, wait: bool = False) -> bool:
        """Record the changes of a program that was stopped before they were (the
        remediation was killed while it ran): the workspace is compared with the snapshot
        taken before it. True when there was such a snapshot. Takes the snapshot lock:
        raises :class:`BackupError` when a program holds it, unless ``wait``."""
        if not (self.dir / PENDING).exists():
            return False
        store = SnapshotStore(self.workspace)
        with store.locked(wait=wait):
            return self._resolve_pending(store)

    def _resolve_pending(self, store: SnapshotStore) -> bool:
        snap = self.pending_snapshot()
        if snap is None:
            return False
        snap.recorder = self
        store.record(snap, store.diff(snap), self)
        return True

    # -- reading ----------------------------------------------------------------------------
    @property
    def undone(self) -> bool:
        return bool(self.meta.get("undone"))

    @property
    def sealed(self) -> bool:
        return bool(self.meta.get("sealed"))

    @property
    def created_at(self) -> float:
        return float(self.meta.get("created_at", 0.0))

    def _before_state(self, rel: str) -> str:
        entry = self.manifest[rel]
        if not entry.get("existed"):
            return MISSING
        if entry.get("kind") == "link":
            return "link:" + str(entry["target"])
        sha = entry.get("sha")
        if not isinstance(sha, str):
            try:
                sha = sha1_bytes((self.dir / "files" / rel).read_bytes())
            except OSError as exc:
                raise BackupError(f"backup of {rel} is missing from {self.dir}") from exc
        mode = entry.get("mode")
        return file_state(sha, mode if isinstance(mode, int) else None)

    def _after_state(self, rel: str) -> str:
        after = self.manifest[rel].get("after")
        return after if isinstance(after, str) else current_state(self.workspace, rel)

    def changes(self) -> list[Change]:
        """What the label's change did: created, modified (bytes or permission bits) or
        deleted files (no-ops left out).

        Uses the recorded after-state when known, else the workspace as it is now."""
        out: list[Change] = []
        for rel in sorted(self.manifest):
            after = self._after_state(rel)
            before = self._before_state(rel)
            if same_state(before, after):
                continue
            if before == MISSING:
                out.append(Change(rel, "created"))
            elif after == MISSING:
                out.append(Change(rel, "deleted"))
            else:
                out.append(Change(rel, "modified"))
        return out

    def conflicts(self) -> list[str]:
        """Files edited since the label was sealed — neither as the change left them nor
        as they were before it (restoring would lose those edits)."""
        out = []
        for rel, entry in sorted(self.manifest.items()):
            after = entry.get("after")
            if after is None:
                continue
            now = current_state(self.workspace, rel)
            if not same_state(after, now) and not same_state(self._before_state(rel), now):
                out.append(rel)
        return out

    def fill_unknown_after(self) -> list[str]:
        """For an interrupted label, take the state of every file whose after-state was
        never recorded from the workspace as it is now (marked ``after_found``) and write
        the manifest; returns those of them that differ from their previous state — the
        remediation's work or later edits, which cannot be told apart."""
        found = False
        for rel, entry in self.manifest.items():
            if entry.get("after") is None:
                entry["after"] = current_state(self.workspace, rel)
                entry["after_found"] = True
                found = True
        if found:
            self._write_manifest()
        return self.unverified()

    def unverified(self) -> list[str]:
        """Files whose after-state was found at undo time (not recorded by the change) and
        that differ from their previous state."""
        return [
            rel
            for rel, entry in sorted(self.manifest.items())
            if entry.get("after_found")
            and not same_state(self._before_state(rel), current_state(self.workspace, rel))
        ]

    def damaged(self) -> list[str]:
        """Files whose backup is missing or does not hold the bytes recorded for it."""
        out = []
        for rel, entry in sorted(self.manifest.items()):
            if not entry.get("existed") or entry.get("kind", "file") != "file":
                continue
            try:
                data = (self.dir / "files" / rel).read_bytes()
            except OSError:
                out.append(rel)
                continue
            sha = entry.get("sha")
            if isinstance(sha, str) and sha1_bytes(data) != sha:
                out.append(rel)
        return out

    # -- restoring -------------------------------------------------------------------------
    def restore(self, skip: Iterable[str] = ()) -> list[str]:
        """Put every recorded file back as it was (except ``skip``); returns their paths.

        Files that did not exist are deleted; directories the change created are removed
        when empty, those it deleted come back. Writes go through a temporary file and
        ``os.replace``; a symlink in the workspace is replaced, never written through. A
        file already as it was is left alone, so restoring again after an interruption
        finishes the work. Temporary files of interrupted atomic writes beside a recorded
        file, newer than the label, are removed.
        """
        skipped = set(skip)
        # Read every backup first: a missing or damaged one fails before anything is touched.
        plan: list[tuple[str, dict[str, Any], bytes | None]] = []
        for rel, entry in sorted(self.manifest.items()):
            lexical_path(self.workspace, rel)  # a tampered manifest fails here, untouched
            if rel in skipped:
                continue
            data: bytes | None = None
            if entry.get("existed") and entry.get("kind", "file") == "file":
                try:
                    data = (self.dir / "files" / rel).read_bytes()
                except OSError as exc:
                    raise BackupError(f"backup of {rel} is missing from {self.dir}") from exc
                sha = entry.get("sha")
                if isinstance(sha, str) and sha1_bytes(data) != sha:
                    raise BackupError(f"backup of {rel} in {self.dir} is damaged")
            plan.append((rel, entry, data))
        for d in sorted(self.meta.get("deleted_dirs", []), key=lambda s: s.count("/")):
            with contextlib.suppress(OSError, PathOutsideWorkspace):
                lexical_path(self.workspace, d).mkdir(parents=True, exist_ok=True)
        restored = []
        for rel, entry, data in plan:
            dst = lexical_path(self.workspace, rel)
            if same_state(self._before_state(rel), current_state(self.workspace, rel)):
                restored.append(rel)  # already as it was (an undo resumed)
                continue
            if entry.get("existed"):
                if dst.is_dir() and not dst.is_symlink():
                    raise BackupError(f"{rel} is now a directory; move it away and retry")
                if entry.get("kind") == "link":
                    dst.unlink(missing_ok=True)
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    os.symlink(str(entry["target"]), dst)
                else:
                    assert data is not None
                    atomic_write_bytes(dst, data, mode=entry.get("mode"))
                    mtime = entry.get("mtime_ns")
                    if isinstance(mtime, int):
                        with contextlib.suppress(OSError):
                            os.utime(dst, ns=(mtime, mtime), follow_symlinks=False)
            elif dst.is_symlink() or dst.is_file():
                dst.unlink()
            restored.append(rel)
            pause_point("undo-restoring")
        self._remove_temporaries()
        for d in sorted(self.meta.get("created_dirs", []), key=lambda s: -s.count("/")):
            with contextlib.suppress(OSError, PathOutsideWorkspace):
                lexical_path(self.workspace, d).rmdir()  # only when empty
        self.workspace.notify_changed(restored)
        return restored

    def _remove_temporaries(self) -> None:
        """Remove the temporary files (``.<name>.<8 chars>.tmp``) that an atomic write of a
        recorded file left when it was killed, if made since the label was."""
        since = self.created_at - 2.0
        for rel in self.manifest:
            with contextlib.suppress(OSError, PathOutsideWorkspace):
                path = lexical_path(self.workspace, rel)
                pattern = re.compile(_TEMPORARY_RE.format(name=re.escape(path.name)))
                for cand in path.parent.iterdir():
                    if not pattern.match(cand.name):
                        continue
                    st = cand.lstat()
                    if stat.S_ISREG(st.st_mode) and st.st_mtime >= since:
                        cand.unlink()

    def begin_undo(self, saved_as: str | None) -> None:
        """Record that an undo started (and where it keeps the edits it overwrites), before
        it changes anything: an undo killed midway is resumed with the same backup."""
        self.meta["undo"] = {"started_at": time.time(), "saved_as": saved_as}
        self._write_meta()

    def mark_undone(self) -> None:
        self.meta["undone"] = True
        self.meta["undone_at"] = time.time()
        self._write()

    def discard(self) -> None:
        """Delete the label (used when a change turned out to touch nothing): it is first
        renamed out of sight, so a kill midway never leaves half a label."""
        if not self.dir.exists():
            return
        trash = self.dir.parent / f".trash-{self.label}-{uuid.uuid4().hex[:8]}"
        try:
            os.replace(self.dir, trash)
        except OSError:
            shutil.rmtree(self.dir, ignore_errors=True)
            return
        fsync_directory(self.dir.parent)
        for old in self.dir.parent.glob(".trash-*"):
            shutil.rmtree(old, ignore_errors=True)


@dataclass
class BackupInfo:
    session: str
    label: str
    dir: Path
    created_at: float
    undone: bool
    meta: dict[str, Any] = field(default_factory=dict)


def list_backups(workspace: Workspace, session_id: str | None = None) -> list[BackupInfo]:
    """Every backup label (of one session, or of all), oldest first."""
    sessions_dir = workspace.state_dir / "sessions"
    if session_id is not None:
        sessions = [check_session_id(session_id)]
    elif sessions_dir.is_dir():
        sessions = sorted(p.name for p in sessions_dir.iterdir() if SESSION_ID_RE.match(p.name))
    else:
        sessions = []
    out: list[BackupInfo] = []
    for sid in sessions:
        bdir = sessions_dir / sid / "backups"
        if not bdir.is_dir():
            continue
        for d in sorted(bdir.iterdir()):
            if not d.is_dir() or not LABEL_RE.match(d.name) or d.name.startswith("."):
                continue
            try:
                meta = _read_json(d / "meta.json")
            except BackupError:
                meta = None
            if not isinstance(meta, dict):
                meta = {}
            try:
                created = float(meta.get("created_at", d.stat().st_mtime))
            except OSError:
                continue
            out.append(
                BackupInfo(
                    session=sid,
                    label=d.name,
                    dir=d,
                    created_at=created,
                    undone=bool(meta.get("undone")),
                    meta=meta,
                )
            )
    out.sort(key=lambda b: (b.created_at, b.label))
    return out


def next_label(backups_dir: Path, prefix: str) -> str:
    """``<prefix>-NNN``, one more than the highest existing number."""
    highest = 0
    pat = re.compile(rf"^{re.escape(prefix)}-(\d+)$")
    if backups_dir.is_dir():
        for d in backups_dir.iterdir():
            m = pat.match(d.name)
            if m:
                highest = max(highest, int(m.group(1)))
    return f"{prefix}-{highest + 1:03d}"


# -- snapshots for programs that may touch any file -------------------------------------------


@dataclass(frozen=True)
class FileState:
    """What was at a path: a regular file (``sha`` of its bytes) or a symlink (``link``)."""

    size: int
    mtime_ns: int
    ctime_ns: int
    ino: int
    mode: int
    sha: str
    link: str | None = None

    def same_stat(self, st: os.stat_result) -> bool:
        return (
            st.st_size == self.size
            and st.st_mtime_ns == self.mtime_ns
            and st.st_ctime_ns == self.ctime_ns
            and st.st_ino == self.ino
            and st.st_mode == self.mode
        )

    def racy(self, at_ns: int) -> bool:
        """Changed so close to ``at_ns`` (when it was stat'ed) that a later change in the
        same clock tick could leave the stat data unchanged."""
        return max(self.mtime_ns, self.ctime_ns) >= at_ns - RACY_NS


@dataclass
class Snapshot:
    files: dict[str, FileState]
    dirs: set[str]
    taken_ns: int
    # the label the snapshot was written into before the program ran (pending there
    # until SnapshotStore.record), if any
    recorder: BackupRecorder | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "taken_ns": self.taken_ns,
            "dirs": sorted(self.dirs),
            "files": {rel: st.__dict__ for rel, st in self.files.items()},
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Snapshot:
        files = {str(rel): FileState(**st) for rel, st in raw["files"].items()}
        return cls(files, {str(d) for d in raw["dirs"]}, int(raw["taken_ns"]))


@dataclass
class SnapshotDiff:
    changes: list[Change]
    created_dirs: list[str]
    deleted_dirs: list[str] = field(default_factory=list)


class SnapshotStore:
    """Snapshots of every non-ignored workspace file, for programs that may change any.

    Ignored are the directories the workspace index always ignores (``.git``,
    ``.phasegate``, virtual environments, tool caches, ``node_modules``…) and what the
    root ``.gitignore`` ignores: changes there are neither listed nor restorable.
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.dir = workspace.state_dir / "snapshots"
        self.objects = self.dir / "objects"
        self._durable = False  # flush stored objects (a label relies on them)
        self._written_dirs: set[Path] = set()

    @contextlib.contextmanager
    def locked(self, *, wait: bool = True) -> Iterator[None]:
        """An exclusive lock: one snapshot-diff cycle at a time per workspace, so a
        change is attributed to the program that made it. Without ``wait``, raises
        :class:`BackupError` when another process holds it (:mod:`phasegate.locks`:
        ``flock`` on POSIX, ``msvcrt.locking`` on Windows)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "lock", "a+b") as fh:
            try:
                locks.lock(fh.fileno(), wait=wait)
            except BlockingIOError:
                raise BackupError(
                    "a persona program is running in this workspace; retry when it has ended"
                ) from None
            try:
                yield
            finally:
                locks.unlock(fh.fileno())

    # -- walking ----------------------------------------------------------------------------
    def _ignore(self) -> pathspec.GitIgnoreSpec:
        gi = self.workspace.root / ".gitignore"
        lines: list[str] = []
        if gi.is_file():
            with contextlib.suppress(OSError):
                lines = gi.read_text(encoding="utf-8", errors="replace").splitlines()
        return pathspec.GitIgnoreSpec.from_lines(lines)

    def walk(self) -> tuple[dict[str, os.stat_result], set[str]]:
        """Every non-ignored regular file and symlink (with its lstat), and directories."""
        ignore = self._ignore()
        root = str(self.workspace.root)
        files: dict[str, os.stat_result] = {}
        dirs: set[str] = set()
        for dirpath, dirnames, filenames in os.walk(root):
            rel_dir = os.path.relpath(dirpath, root)
            rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
            keep = []
            for d in dirnames:
                rd = f"{rel_dir}/{d}" if rel_dir else d
                full = os.path.join(dirpath, d)
                if d in ALWAYS_IGNORED_DIRS or ignore.match_file(rd + "/"):
                    continue
                if os.path.islink(full):  # a symlink to a directory: track the link itself
                    with contextlib.suppress(OSError):
                        files[rd] = os.lstat(full)
                    continue
                keep.append(d)
                dirs.add(rd)
            dirnames[:] = keep
            for f in filenames:
                rf = f"{rel_dir}/{f}" if rel_dir else f
                if ignore.match_file(rf):
                    continue
                try:
                    st = os.lstat(os.path.join(dirpath, f))
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
                    files[rf] = st
        return files, dirs

    def _object(self, sha: str) -> Path:
        return self.objects / sha[:2] / sha[2:]

    def _state(self, rel: str, st: os.stat_result, store: bool) -> FileState | None:
        """Read and hash ``rel`` (storing its bytes when ``store``); None if it vanished."""
        path = self.workspace.root / rel
        try:
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(path)
                return FileState(
                    st.st_size,
                    st.st_mtime_ns,
                    st.st_ctime_ns,
                    st.st_ino,
                    st.st_mode,
                    "link:" + target,
                    target,
                )
            data = path.read_bytes()
        except OSError:
            return None
        sha = sha1_bytes(data)
        if store:
            obj = self._object(sha)
            if not obj.is_file():
                # a cache of the workspace, flushed only when a label relies on it
                atomic_write_bytes(obj, data, fsync=self._durable)
                self._written_dirs.add(obj.parent)
        return FileState(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode, sha)

    def _load_index(self) -> dict[str, Any]:
        try:
            raw = _read_json(self.dir / "index.json")
        except BackupError:
            raw = None
        return raw if isinstance(raw, dict) else {}

    # -- the cycle -----------------------------------------------------------------------------
    def take(self, recorder: BackupRecorder | None = None) -> Snapshot:
        """Snapshot the workspace; bytes of files not yet in the store are copied there.

        With a ``recorder`` (by default the one of :func:`recording_into`), the snapshot
        is written into its label, objects flushed, before this returns: the program may
        then run, and a kill at any instant leaves enough to undo its changes
        (:meth:`BackupRecorder.recover`). :meth:`record` ends it."""
        recorder = recorder if recorder is not None else _recording_into.get()
        self._durable = recorder is not None
        self._written_dirs = set()
        taken = time.time_ns()
        index = self._load_index()
        files_st, dirs = self.walk()
        states: dict[str, FileState] = {}
        new_index: dict[str, Any] = {}
        for rel, st in files_st.items():
            state: FileState | None = None
            cached = index.get(rel)
            if isinstance(cached, dict):
                with contextlib.suppress(TypeError, KeyError):
                    prev = FileState(**cached["state"])
                    if (
                        prev.same_stat(st)
                        and not prev.racy(int(cached["at"]))
                        and (prev.link is not None or self._object(prev.sha).is_file())
                    ):
                        state = prev
            if state is None:
                at = time.time_ns()
                state = self._state(rel, st, store=True)
                if state is None:
                    continue
                new_index[rel] = {"state": state.__dict__, "at": at}
            else:
                new_index[rel] = cached
            states[rel] = state
        if self._durable:
            for d in self._written_dirs:
                fsync_directory(d)
            fsync_directory(self.objects)
        pause_point("snapshot-stored")
        _write_json(self.dir / "index.json", new_index)
        self._drop_objects(_shas(index) - _shas(new_index) - self._pinned())
        snap = Snapshot(states, dirs, taken)
        if recorder is not None:
            recorder.begin_snapshot(snap, self)
            snap.recorder = recorder
            pause_point("snapshot-pending")
        return snap

    def diff(self, snap: Snapshot) -> SnapshotDiff:
        """What changed since ``snap``: created, modified (bytes or, for a regular file,
        permission bits) and deleted files; created and deleted directories."""
        files_st, dirs = self.walk()
        changes: list[Change] = []
        for rel, before in snap.files.items():
            st = files_st.get(rel)
            if st is None:
                try:  # still there but now ignored (the .gitignore changed)?
                    st = os.lstat(self.workspace.root / rel)
                except OSError:
                    st = None
                if st is not None and not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                    st = None
            if st is None:
                changes.append(Change(rel, "deleted"))
                continue
            if before.same_stat(st) and not before.racy(snap.taken_ns):
                continue
            now = self._state(rel, st, store=False)
            if now is None:
                changes.append(Change(rel, "deleted"))
            elif now.sha != before.sha or (
                now.link is None and stat.S_IMODE(now.mode) != stat.S_IMODE(before.mode)
            ):
                changes.append(Change(rel, "modified"))
        for rel in files_st:
            if rel not in snap.files:
                changes.append(Change(rel, "created"))
        changes.sort(key=lambda c: c.path)
        gone = {d for d in snap.dirs - dirs if not (self.workspace.root / d).is_dir()}
        return SnapshotDiff(changes, sorted(dirs - snap.dirs), sorted(gone))

    def record(self, snap: Snapshot, diff: SnapshotDiff, recorder: BackupRecorder) -> None:
        """Save the previous state of every changed file into ``recorder`` (and into the
        label the snapshot was pending in, if another), then end the pending snapshot."""
        targets = [recorder]
        if snap.recorder is not None and snap.recorder is not recorder:
            targets.append(snap.recorder)
        for rec in targets:
            self._record_into(snap, diff, rec)
        pause_point("snapshot-recorded")
        if snap.recorder is not None:
            snap.recorder.end_snapshot()

    def _record_into(self, snap: Snapshot, diff: SnapshotDiff, recorder: BackupRecorder) -> None:
        for ch in diff.changes:
            before = snap.files.get(ch.path)
            if before is None:
                recorder.save_state(ch.path, source=None)
            elif before.link is not None:
                recorder.save_state(ch.path, source=None, link=before.link)
            else:
                obj = self._object(before.sha)
                if not obj.is_file():
                    raise BackupError(f"snapshot of {ch.path} is missing ({obj})")
                recorder.save_state(
                    ch.path,
                    source=obj,
                    mode=before.mode,
                    mtime_ns=before.mtime_ns,
                    sha=before.sha,
                )
        if diff.created_dirs:
            recorder.record_created_dirs(diff.created_dirs)
        if diff.deleted_dirs:
            recorder.record_deleted_dirs(diff.deleted_dirs)
        recorder.flush()

    def _pinned(self) -> set[str]:
        """Objects a pending snapshot (of a program that was killed) still needs."""
        out: set[str] = set()
        for pending in (self.workspace.state_dir / "sessions").glob(f"*/backups/*/{PENDING}"):
            try:
                raw = _read_json(pending)
            except BackupError:
                continue
            files = raw.get("files") if isinstance(raw, dict) else None
            if isinstance(files, dict):
                for st in files.values():
                    with contextlib.suppress(TypeError, KeyError):
                        out.add(str(st["sha"]))
        return out

    def _drop_objects(self, shas: set[str]) -> None:
        """Delete stored objects no file of the current snapshot refers to any more (the
        labels keep their own copies)."""
        for sha in shas:
            if sha.startswith("link:"):
                continue
            with contextlib.suppress(OSError):
                self._object(sha).unlink()


def _shas(index: dict[str, Any]) -> set[str]:
    out = set()
    for entry in index.values():
        with contextlib.suppress(TypeError, KeyError):
            out.add(str(entry["state"]["sha"]))
    return out
