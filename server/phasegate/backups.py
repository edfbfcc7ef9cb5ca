"""Backups of what personas replace, so every change can be undone.

Before a persona writes a file, :meth:`BackupRecorder.save` copies the file's current
bytes (or records that it did not exist) under
``.phasegate/sessions/<id>/backups/<label>/`` with a ``manifest.json``. Restoring a
label puts every recorded file back exactly, deletes files that did not exist and removes
the directories the label created (when they are empty again).

Personas that run arbitrary programs (``command``) cannot say in advance which files they
will touch. For them :class:`SnapshotStore` takes a snapshot of every non-ignored file
before the program runs — stat data plus a copy of the bytes in a content-addressed store
(``.phasegate/snapshots/objects/``, deduplicated, so a file already stored is never
copied again) — and after the run lists exactly what was created, modified or deleted,
recording the previous content of each into the label. Unchanged files are recognised by
their stat data (size, mtime, ctime, inode, mode); files changed within
:data:`RACY_NS` of a stat are always re-hashed, so a change in the same clock tick is
never missed.

Each label has a ``meta.json``: when it was made, whether it is sealed (the content of
every file after the change is recorded, so that ``undo`` can tell a later hand edit from
its own change) and whether it was undone.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import pathspec

from phasegate.fsutil import atomic_write_bytes
from phasegate.workspace import ALWAYS_IGNORED_DIRS, PathOutsideWorkspace, Workspace

SESSION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LABEL_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
RACY_NS = 2_000_000_000  # a file changed this close to its stat is always re-hashed
MISSING = "-"


class BackupError(Exception):
    """A backup cannot be written or restored; the message says why."""


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


def _write_json(path: Path, data: Any) -> None:
    atomic_write_bytes(path, json.dumps(data, indent=1, sort_keys=True).encode())


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
    try:
        path = lexical_path(workspace, rel)
        st = path.lstat()
    except (OSError, PathOutsideWorkspace):
        return MISSING
    if stat.S_ISLNK(st.st_mode):
        return "link:" + os.readlink(path)
    if not stat.S_ISREG(st.st_mode):
        return MISSING
    try:
        return sha1_bytes(path.read_bytes())
    except OSError:
        return MISSING


ChangeKind = Literal["created", "modified", "deleted"]


@dataclass(frozen=True)
class Change:
    path: str
    kind: ChangeKind


class BackupRecorder:
    """Records the previous state of every file a change touches, under one label."""

    def __init__(self, backups_dir: Path, workspace: Workspace, label: str) -> None:
        if not LABEL_RE.match(label) or label in (".", ".."):
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

    @classmethod
    def for_session(cls, workspace: Workspace, session_id: str, label: str) -> BackupRecorder:
        return cls(session_backups_dir(workspace, session_id), workspace, label)

    # -- recording ------------------------------------------------------------------------
    def save(self, rel: str) -> None:
        """Record ``rel``'s current content once per label (the first save wins)."""
        self.save_many([rel])

    def snapshot(self, rels: list[str]) -> None:
        self.save_many(rels)

    def save_many(self, rels: Iterable[str]) -> None:
        changed = False
        for rel in rels:
            rel = safe_rel(rel)
            if rel in self.manifest:
                continue
            self._record_current(rel)
            changed = True
        if changed:
            self._write()

    def _record_current(self, rel: str) -> None:
        path = lexical_path(self.workspace, rel)
        try:
            st: os.stat_result | None = path.lstat()
        except FileNotFoundError:
            st = None
        if st is None:
            self._note_missing_dirs(rel)
            self.manifest[rel] = {"existed": False}
        elif stat.S_ISLNK(st.st_mode):
            self.manifest[rel] = {"existed": True, "kind": "link", "target": os.readlink(path)}
        elif stat.S_ISREG(st.st_mode):
            dst = self.dir / "files" / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dst)
            self.manifest[rel] = {
                "existed": True,
                "kind": "file",
                "mode": stat.S_IMODE(st.st_mode),
                "mtime_ns": st.st_mtime_ns,
            }
        else:
            raise BackupError(f"{rel}: not a regular file; refusing to replace it")

    def save_state(
        self,
        rel: str,
        *,
        source: Path | None,
        mode: int | None = None,
        mtime_ns: int | None = None,
        link: str | None = None,
    ) -> None:
        """Record a previous state known from a snapshot: the bytes in ``source``, a
        symlink to ``link``, or (both None) that the file did not exist."""
        rel = safe_rel(rel)
        if rel in self.manifest:
            return
        if link is not None:
            self.manifest[rel] = {"existed": True, "kind": "link", "target": link}
        elif source is not None:
            dst = self.dir / "files" / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dst)
            entry: dict[str, Any] = {"existed": True, "kind": "file"}
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

    def flush(self) -> None:
        self._write()

    def _write(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.meta.setdefault("label", self.label)
        self.meta.setdefault("created_at", time.time())
        self.meta.setdefault("undone", False)
        _write_json(self.dir / "manifest.json", self.manifest)
        _write_json(self.dir / "meta.json", self.meta)

    def seal(self, **info: Any) -> None:
        """Record what every touched file holds now (its state after the change), plus
        ``info`` in the meta; ``undo`` compares against it to detect later edits."""
        for rel, entry in self.manifest.items():
            entry["after"] = current_hash(self.workspace, rel)
        self.meta["sealed"] = True
        self.meta["sealed_at"] = time.time()
        self.meta.update(info)
        self._write()

    # -- reading ----------------------------------------------------------------------------
    @property
    def undone(self) -> bool:
        return bool(self.meta.get("undone"))

    @property
    def created_at(self) -> float:
        return float(self.meta.get("created_at", 0.0))

    def _before_hash(self, rel: str) -> str:
        entry = self.manifest[rel]
        if not entry.get("existed"):
            return MISSING
        if entry.get("kind") == "link":
            return "link:" + str(entry["target"])
        try:
            return sha1_bytes((self.dir / "files" / rel).read_bytes())
        except OSError as exc:
            raise BackupError(f"backup of {rel} is missing from {self.dir}") from exc

    def changes(self) -> list[Change]:
        """What the label's change did: created, modified or deleted files (no-ops left out).

        Uses the recorded after-state when sealed, else the workspace as it is now."""
        out: list[Change] = []
        for rel in sorted(self.manifest):
            entry = self.manifest[rel]
            after = entry.get("after") or current_hash(self.workspace, rel)
            before = self._before_hash(rel)
            if after == before:
                continue
            if before == MISSING:
                out.append(Change(rel, "created"))
            elif after == MISSING:
                out.append(Change(rel, "deleted"))
            else:
                out.append(Change(rel, "modified"))
        return out

    def conflicts(self) -> list[str]:
        """Files edited since the label was sealed (restoring would lose those edits)."""
        out = []
        for rel, entry in sorted(self.manifest.items()):
            after = entry.get("after")
            if after is not None and current_hash(self.workspace, rel) != after:
                out.append(rel)
        return out

    # -- restoring -------------------------------------------------------------------------
    def restore(self) -> list[str]:
        """Put every recorded file back as it was; returns the restored paths.

        Files that did not exist are deleted; directories the change created are removed
        when empty. Writes go through a temporary file and ``os.replace``; a symlink in the
        workspace is replaced, never written through.
        """
        # Read every backup first: a missing backup fails before anything is touched.
        plan: list[tuple[str, dict[str, Any], bytes | None]] = []
        for rel, entry in sorted(self.manifest.items()):
            lexical_path(self.workspace, rel)  # a tampered manifest fails here, untouched
            data: bytes | None = None
            if entry.get("existed") and entry.get("kind", "file") == "file":
                try:
                    data = (self.dir / "files" / rel).read_bytes()
                except OSError as exc:
                    raise BackupError(f"backup of {rel} is missing from {self.dir}") from exc
            plan.append((rel, entry, data))
        restored = []
        for rel, entry, data in plan:
            dst = lexical_path(self.workspace, rel)
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
                            os.utime(dst, ns=(mtime, mtime))
            elif dst.is_symlink() or dst.is_file():
                dst.unlink()
            restored.append(rel)
        for d in sorted(self.meta.get("created_dirs", []), key=lambda s: -s.count("/")):
            with contextlib.suppress(OSError, PathOutsideWorkspace):
                lexical_path(self.workspace, d).rmdir()  # only when empty
        self.workspace.notify_changed(restored)
        return restored

    def mark_undone(self) -> None:
        self.meta["undone"] = True
        self.meta["undone_at"] = time.time()
        self._write()

    def discard(self) -> None:
        """Delete the label (used when a change turned out to touch nothing)."""
        shutil.rmtree(self.dir, ignore_errors=True)


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
            if not d.is_dir() or not LABEL_RE.match(d.name):
                continue
            try:
                meta = _read_json(d / "meta.json")
            except BackupError:
                meta = None
            if not isinstance(meta, dict):
                meta = {}
            out.append(
                BackupInfo(
                    session=sid,
                    label=d.name,
                    dir=d,
                    created_at=float(meta.get("created_at", d.stat().st_mtime)),
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


@dataclass
class SnapshotDiff:
    changes: list[Change]
    created_dirs: list[str]


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

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """An exclusive lock: one snapshot-diff cycle at a time per workspace, so a
        change is attributed to the program that made it."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "lock", "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

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
            if not obj.is_file():  # a cache of the workspace: no fsync per object
                atomic_write_bytes(obj, data, fsync=False)
        return FileState(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode, sha)

    def _load_index(self) -> dict[str, Any]:
        try:
            raw = _read_json(self.dir / "index.json")
        except BackupError:
            raw = None
        return raw if isinstance(raw, dict) else {}

    # -- the cycle -----------------------------------------------------------------------------
    def take(self) -> Snapshot:
        """Snapshot the workspace; bytes of files not yet in the store are copied there."""
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
        _write_json(self.dir / "index.json", new_index)
        self._drop_objects(_shas(index) - _shas(new_index))
        return Snapshot(states, dirs, taken)

    def diff(self, snap: Snapshot) -> SnapshotDiff:
        """What changed since ``snap``: created, modified and deleted files."""
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
            elif now.sha != before.sha:
                changes.append(Change(rel, "modified"))
        for rel in files_st:
            if rel not in snap.files:
                changes.append(Change(rel, "created"))
        changes.sort(key=lambda c: c.path)
        return SnapshotDiff(changes, sorted(dirs - snap.dirs))

    def record(self, snap: Snapshot, diff: SnapshotDiff, recorder: BackupRecorder) -> None:
        """Save the previous state of every changed file into ``recorder``."""
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
                recorder.save_state(ch.path, source=obj, mode=before.mode, mtime_ns=before.mtime_ns)
        if diff.created_dirs:
            recorder.record_created_dirs(diff.created_dirs)
        recorder.flush()

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
