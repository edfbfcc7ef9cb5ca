"""Check results cached by the content hash of their inputs, in ``.phasegate/cache/``.

File-scope checks keep findings per (file, content hash); project-scope checks keep one
outcome per hash of all their inputs. The cache is loaded lazily per check and written
atomically on :meth:`ResultCache.flush`, so reopening a workspace can republish the last
findings at once and re-run only what changed since.

One file per check, ``<phase>_<check id>.json``, in two lines:

1. a JSON header: ``{"version", "fingerprint", "files": {path: [hash, [finding…]]},
   "project": {"hash", "score", "passed", "not_applicable"?} | null}``;
2. when the check has a project outcome, its findings as one JSON array.

Findings go to and from JSON through pydantic's compiled serialiser (one call per list,
not one per finding), and a project outcome's findings are only decoded when its hash
matches: a lint run with tens of thousands of findings costs a few tens of milliseconds
to store and to reload.

:meth:`ResultCache.content_hash` remembers each input file's content hash together with
its ``stat`` signature (mtime, ctime, size, inode) in ``content-hashes.json``, so an
unchanged file is not read again to learn that it is unchanged. The content hash stays
what decides: a file whose signature changed is read and hashed again, and a file
modified in the last few seconds (when two writes could share a timestamp) is never
remembered. It is *the* content hash of phasegate: ``validate``, sessions and the live
core (language server, ``phasegate watch``) all ask it (through
:meth:`phasegate.runner.GateRunner.content_hash`), so they share one memo. It has a lock
of its own: asking it never waits for the results being written.

The cache never reads or writes through a symbolic link: when its folder (or the
``.phasegate`` folder holding it) is a link or not a folder, nothing is read from it and
:meth:`ResultCache.flush` writes nothing — the commands refuse such a state folder
before they start (:mod:`phasegate.statedir`); the cache only makes sure that a link
made meanwhile is not written through.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

import pydantic_core
from pydantic import TypeAdapter

from phasegate import statedir
from phasegate.checks.base import CheckOutcome
from phasegate.fsutil import atomic_write_bytes
from phasegate.model import Finding
from phasegate.workspace import HASH_CHUNK, STATE_DIR, sha1_stream

if TYPE_CHECKING:
    from phasegate.workspace import Workspace

CACHE_VERSION = 2
HASHES_FILE = "content-hashes.json"  # no "_": never the name of a check's file
HASHES_VERSION = 1
# A file hashed because it changed is kept in memory up to this size, for the check that
# reads it next (GateRunner: Workspace.preread): read once, analysed as hashed.
PREREAD_MAX = 1 << 20
# A file changed this recently may change again within its timestamp's granularity
# without its stat signature changing: its hash is not remembered.
RACY_NS = 3_000_000_000
MAX_REMEMBERED_HASHES = 200_000

FINDINGS: TypeAdapter[list[Finding]] = TypeAdapter(list[Finding])
_R = TypeVar("_R")


def _safe_name(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in key)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while many acyclic objects are made or
    serialised: its repeated scans would cost more than the work itself."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_O_BENEATH_DIR = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_O_BENEATH_FILE = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO must not block: it is not read here
)
_CAN_OPEN_BENEATH = (
    hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY") and os.open in os.supports_dir_fd
)


def read_beneath(root: Path, rel: str) -> bytes | None:
    """The bytes of the workspace-relative ``rel``, opened one path component at a time
    below ``root`` without following any symbolic link: a file that can be read this
    way is inside the workspace, without resolving its path. None when it cannot (a
    link on the way, a missing file, ``..``): the caller takes the careful path."""
    return _beneath(root, rel, lambda fh, _st: fh.read())


def hash_beneath(root: Path, rel: str) -> tuple[str, bytes | None] | None:
    """The sha1 of ``rel``'s bytes, opened as :func:`read_beneath` opens it, and those
    bytes when the file is at most :data:`PREREAD_MAX` (a bigger one is read in chunks,
    never held whole); None when it cannot be opened that way."""
    return _beneath(root, rel, _sha1_and_bytes)


def _sha1_and_bytes(fh: BinaryIO, st: os.stat_result) -> tuple[str, bytes | None]:
    size = st.st_size
    if size > PREREAD_MAX:
        return sha1_stream(fh), None
    # the size read, not the limit: a buffer of the limit's size costs a fresh mapping of
    # memory per file, more than reading a small file
    data = fh.read(size + 1)
    if len(data) <= size:
        return hashlib.sha1(data).hexdigest(), data
    h = hashlib.sha1(data)  # it grew since the stat: on in chunks
    del data
    while chunk := fh.read(HASH_CHUNK):
        h.update(chunk)
    return h.hexdigest(), None


def _beneath(root: Path, rel: str, use: Callable[[BinaryIO, os.stat_result], _R]) -> _R | None:
    parts = rel.split("/")
    if not _CAN_OPEN_BENEATH or any(p in ("", ".", "..") for p in parts):
        return None
    fds: list[int] = []
    try:
        fd = os.open(root, _O_BENEATH_DIR)
        fds.append(fd)
        for part in parts[:-1]:
            fd = os.open(part, _O_BENEATH_DIR, dir_fd=fd)
            fds.append(fd)
        fd = os.open(parts[-1], _O_BENEATH_FILE, dir_fd=fd)
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                return None
            return use(fh, st)
    except (OSError, ValueError):
        return None
    finally:
        for d in fds:
            os.close(d)


Signature = tuple[int, int, int, int]


def stat_signatures(
    root: Path, files: list[str], racy: list[str] | None = None
) -> list[Signature | None] | None:
    """Each file's (mtime, ctime, size, inode), None for a file that cannot be stat'ed.
    A file changed within the last few seconds, too recently for an unchanged signature
    to prove that its content is unchanged, is added to ``racy`` when given (the caller
    compares those by content); without ``racy``, None altogether."""
    out: list[Signature | None] = []
    recent = time.time_ns() - RACY_NS
    base = str(root)
    for rel in files:
        try:
            st = os.stat(os.path.join(base, rel))
        except (OSError, ValueError):
            out.append(None)
            continue
        if st.st_mtime_ns >= recent or st.st_ctime_ns >= recent:
            if racy is None:
                return None
            racy.append(rel)
        out.append((st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino))
    return out


class ResultCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._data: dict[str, dict[str, Any]] = {}
        # project findings: decoded objects (after put) or the stored JSON array (bytes)
        self._project: dict[str, list[Finding] | bytes] = {}
        self._dirty: set[str] = set()
        self._lock = threading.RLock()
        self._hashes: dict[str, list[Any]] | None = None
        self._hashes_dirty = False
        # guards _hashes and _hashes_dirty only: never held while results are serialised
        self._hashes_lock = threading.Lock()

    def usable(self) -> bool:
        """False when the cache folder, or the ``.phasegate`` folder holding it, is a
        symbolic link or not a folder: then nothing is read from it or written to it."""
        folders = [self.directory]
        if self.directory.parent.name == STATE_DIR:
            folders.append(self.directory.parent)
        return not any(statedir.problem(f, "dir") for f in folders)

    def _load(self, check_key: str) -> dict[str, Any]:
        data: dict[str, Any] = {}
        path = self.directory / f"{_safe_name(check_key)}.json"
        try:
            raw = path.read_bytes() if self.usable() else b""
        except OSError:
            raw = b""
        if raw:
            header, _, rest = raw.partition(b"\n")
            try:
                with gc_paused():
                    parsed = pydantic_core.from_json(header)
            except ValueError:
                parsed = None
            if (
                isinstance(parsed, dict)
                and parsed.get("version") == CACHE_VERSION
                and isinstance(parsed.get("files"), dict)
            ):
                data = parsed
                project = data.get("project")
                if isinstance(project, dict):
                    self._project[check_key] = rest.strip()
                else:
                    data["project"] = None
        data.setdefault("version", CACHE_VERSION)
        data.setdefault("files", {})
        data.setdefault("project", None)
        return data

    def _entry(self, check_key: str) -> dict[str, Any]:
        with self._lock:
            if check_key not in self._data:
                self._data[check_key] = self._load(check_key)
            return self._data[check_key]

    # -- file scope ----------------------------------------------------------------------
    def get_file(self, check_key: str, fp: str, path: str, h: str) -> list[Finding] | None:
        e = self._entry(check_key)
        if e.get("fingerprint") != fp:
            return None
        hit = e["files"].get(path)
        if not isinstance(hit, list) or len(hit) != 2 or hit[0] != h:
            return None
        try:
            return FINDINGS.validate_python(hit[1])
        except ValueError:
            return None

    def put_file(self, check_key: str, fp: str, path: str, h: str, fs: list[Finding]) -> None:
        with self._lock:
            e = self._entry(check_key)
            if e.get("fingerprint") != fp:
                e["fingerprint"] = fp
                e["files"] = {}
            e["files"][path] = [h, list(fs)]  # serialised at flush
            self._dirty.add(check_key)

    def retain_files(self, check_key: str, keep: set[str]) -> None:
        with self._lock:
            e = self._entry(check_key)
            gone = [p for p in e["files"] if p not in keep]
            for p in gone:
                del e["files"][p]
            if gone:
                self._dirty.add(check_key)

    def peek_files(self, check_key: str, fp: str) -> dict[str, tuple[str, list[Finding]]] | None:
        """Every file's last (content hash, findings) for this check, without looking at
        the files; None when nothing is cached for this configuration of the check."""
        e = self._entry(check_key)
        if e.get("fingerprint") != fp:
            return None
        with self._lock:
            items = list(e["files"].items())
        out: dict[str, tuple[str, list[Finding]]] = {}
        with gc_paused():
            for p, hit in items:
                try:
                    out[p] = (hit[0], FINDINGS.validate_python(hit[1]))
                except (ValueError, TypeError, IndexError):
                    continue
        return out

    def drop_file(self, check_key: str, path: str) -> None:
        """Forget one file of a file-scope check (it was deleted or left its inputs)."""
        with self._lock:
            e = self._entry(check_key)
            if e["files"].pop(path, None) is not None:
                self._dirty.add(check_key)

    # -- project scope -------------------------------------------------------------------
    def _project_outcome(self, check_key: str, p: dict[str, Any]) -> CheckOutcome | None:
        with self._lock:
            stored = self._project.get(check_key)
        if stored is None:
            return None
        if isinstance(stored, bytes):
            try:
                with gc_paused():
                    findings = FINDINGS.validate_json(stored)
            except ValueError:  # damaged: forget it, the check runs again
                with self._lock:
                    self._data[check_key]["project"] = None
                    self._project.pop(check_key, None)
                return None
        else:
            findings = list(stored)
        score = p.get("score")
        passed = p.get("passed")
        return CheckOutcome(
            findings=findings,
            score=float(score) if isinstance(score, (int, float)) else 0.0,
            passed=passed if isinstance(passed, bool) else None,
            error=None,
            not_applicable=na if isinstance(na := p.get("not_applicable"), str) else None,
            data=data if isinstance(data := p.get("data"), dict) else None,
        )

    def peek_project(self, check_key: str) -> CheckOutcome | None:
        """The last cached outcome of a project check, whatever its inputs are now."""
        e = self._entry(check_key)
        p = e.get("project")
        if not isinstance(p, dict):
            return None
        return self._project_outcome(check_key, p)

    def get_project(self, check_key: str, inputs_hash: str) -> CheckOutcome | None:
        e = self._entry(check_key)
        p = e.get("project")
        if not isinstance(p, dict) or p.get("hash") != inputs_hash:
            return None
        return self._project_outcome(check_key, p)

    def has_project(self, check_key: str) -> bool:
        """True when an outcome of this project check is cached (for any inputs)."""
        return isinstance(self._entry(check_key).get("project"), dict)

    def put_project(self, check_key: str, inputs_hash: str, outcome: CheckOutcome) -> None:
        with self._lock:
            e = self._entry(check_key)
            e["project"] = {"hash": inputs_hash, "score": outcome.score, "passed": outcome.passed}
            if outcome.not_applicable is not None:
                e["project"]["not_applicable"] = outcome.not_applicable
            if outcome.data is not None:
                e["project"]["data"] = outcome.data
            self._project[check_key] = list(outcome.findings)  # serialised at flush
            self._dirty.add(check_key)

    # -- content hashes ------------------------------------------------------------------
    def _remembered(self) -> dict[str, list[Any]]:
        if self._hashes is None:
            hashes: dict[str, list[Any]] = {}
            try:
                if not self.usable():
                    raise OSError("the cache folder is not usable")
                raw = pydantic_core.from_json((self.directory / HASHES_FILE).read_bytes())
                if isinstance(raw, dict) and raw.get("version") == HASHES_VERSION:
                    entries = raw.get("files")
                    if isinstance(entries, dict):
                        hashes = entries
            except (OSError, ValueError):
                pass
            self._hashes = hashes
        return self._hashes

    def content_hash(self, workspace: Workspace, rel: str) -> str:
        """``workspace.content_hash(rel)``, without reading a file whose stat signature
        is the one it had when its hash was last computed (see the module docs)."""
        return self.content_hash_read(workspace, rel)[0]

    def content_hash_read(self, workspace: Workspace, rel: str) -> tuple[str, bytes | None]:
        """:meth:`content_hash`, and the bytes it hashed when it had to read the file and
        the file is at most :data:`PREREAD_MAX` bytes (else None): what a check reads
        next (:meth:`Workspace.preread`), read once."""
        # called for every input of every check: os.path on a str, no list made on a hit
        try:
            st = os.stat(os.path.join(str(workspace.root), rel))
        except (OSError, ValueError):
            return workspace.content_hash(rel), None
        with self._hashes_lock:
            known = self._remembered().get(rel)
        if (
            isinstance(known, list)
            and len(known) == 5
            and known[0] == st.st_mtime_ns
            and known[1] == st.st_ctime_ns
            and known[2] == st.st_size
            and known[3] == st.st_ino
        ):
            return str(known[4]), None
        # read after the stat: a change made in between shows in the next stat
        data: bytes | None = None
        read = hash_beneath(workspace.root, rel)
        if read is not None:
            h, data = read
        else:
            h = workspace.content_hash(rel)
        if max(st.st_mtime_ns, st.st_ctime_ns) < time.time_ns() - RACY_NS:
            with self._hashes_lock:
                hashes = self._remembered()
                if len(hashes) >= MAX_REMEMBERED_HASHES:
                    hashes.clear()
                hashes[rel] = [st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino, h]
                self._hashes_dirty = True
        return h, data

    # -- persistence ---------------------------------------------------------------------
    def _serialise(self, key: str) -> bytes:
        header = pydantic_core.to_json(self._data[key])
        if self._data[key].get("project") is None:
            return header + b"\n"
        stored = self._project.get(key, b"[]")
        findings = stored if isinstance(stored, bytes) else FINDINGS.dump_json(stored)
        return header + b"\n" + findings + b"\n"

    def flush(self) -> None:
        """Write what changed since the last flush (nothing when the folder is not
        :meth:`usable`: a link is never written through)."""
        with self._lock:
            with self._hashes_lock:
                hashes_dirty = self._hashes_dirty
            if not self._dirty and not hashes_dirty:
                return
            if not self.usable():
                self._dirty.clear()
                with self._hashes_lock:
                    self._hashes_dirty = False
                return
            self.directory.mkdir(parents=True, exist_ok=True)
            with gc_paused():
                for key in sorted(self._dirty):
                    path = self.directory / f"{_safe_name(key)}.json"
                    atomic_write_bytes(path, self._serialise(key), fsync=False)
                self._dirty.clear()
                if hashes_dirty:
                    self._flush_hashes()

    def _flush_hashes(self) -> None:
        """Write ``content-hashes.json``: a snapshot taken under the hashes' lock (the
        hashes remembered meanwhile are written by the next flush)."""
        with self._hashes_lock:
            if self._hashes is None:
                self._hashes_dirty = False
                return
            raw = pydantic_core.to_json({"version": HASHES_VERSION, "files": self._hashes})
            self._hashes_dirty = False
        try:
            atomic_write_bytes(self.directory / HASHES_FILE, raw, fsync=False)
        except BaseException:
            with self._hashes_lock:
                self._hashes_dirty = True  # not written: the next flush tries again
            raise
