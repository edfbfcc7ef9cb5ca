"""The workspace: a folder, its (gitignore-aware) file list, and cached file contents.

All paths handed around by the engine are workspace-relative POSIX strings. The file list
is built once and updated incrementally (``notify_changed``), so a one-file change costs
the same in a 1k-file and a 10k-file workspace.

Directory symlinks are followed when their target resolves inside the root (a
``.kiro/specs`` that links to ``docs/specs``), each target once and never into a cycle;
a symlink that leads outside the root is not followed, and :meth:`Workspace.abspath`
refuses any path that resolves outside it.

Reading a file (:meth:`Workspace.read_bytes`, :meth:`Workspace.content_hash`) costs no
path resolution: the file is opened one path component at a time below the root without
following any symbolic link, so what opens that way is inside the workspace, whatever
is renamed meanwhile. Only a path with a link on the way (or ``..``, or a file that is
not a regular one) takes the careful way: resolved, refused outside the root.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import os
import re
import stat
import threading
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a pattern is first compiled: `status` may need none
    import pathspec

STATE_DIR = ".phasegate"

# Never part of any check's inputs.
ALWAYS_IGNORED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        STATE_DIR,
        ".venv",
        "venv",
        ".tox",
        ".nox",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".hypothesis",
        "build",
        "dist",
        ".eggs",
    }
)


# Files are hashed this many bytes at a time: a big file is never held whole.
# Chunks of 64 KiB: below the allocator's threshold for a fresh memory mapping, which a
# chunk of 1 MiB costs at every read (and a small file is read twice: its bytes, then EOF).
HASH_CHUNK = 1 << 16

# Opening below the root without following links (see Workspace._open_beneath).
_O_BENEATH_DIR = (
    os.O_RDONLY
    | getattr(os, "O_DIRECTORY", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_O_BENEATH_FILE = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO must not block here: it takes the careful way
)
_CAN_OPEN_BENEATH = (
    hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY") and os.open in os.supports_dir_fd
)


class PathOutsideWorkspace(ValueError):
    pass


class FileTooLarge(Exception):
    """A file larger than the limit a reader set: it was not read.

    ``size`` is its size in bytes (at least ``limit + 1`` when it grew while being read)."""

    def __init__(self, rel: str, size: int, limit: int) -> None:
        super().__init__(f"{rel}: {size} bytes is more than {limit}")
        self.rel = rel
        self.size = size
        self.limit = limit


def sha1_stream(fh: IO[bytes]) -> str:
    """sha1 (hex) of what is left to read in the binary file ``fh``, read in chunks of
    :data:`HASH_CHUNK` bytes: memory stays bounded whatever the file's size."""
    h = hashlib.sha1()
    while chunk := fh.read(HASH_CHUNK):
        h.update(chunk)
    return h.hexdigest()


_NAMED_GROUP = re.compile(r"\(\?P<[A-Za-z_][A-Za-z0-9_]*>")


class _Globs:
    """A set of gitignore-style patterns, matched as :class:`pathspec.GitIgnoreSpec`
    matches them. When no pattern negates (``!``), the last matching pattern can only
    include, so a path matches when any pattern does: the patterns' own regular
    expressions (pathspec's, their group names dropped) are joined into one, and a path
    is matched once instead of once per pattern (the index of a big workspace is
    matched against every check's inputs). Otherwise, and for a path not in the index's
    form (``./a``, ``/a``, a backslash), pathspec decides."""

    __slots__ = ("_joined", "_spec")

    def __init__(self, patterns: tuple[str, ...]) -> None:
        import pathspec

        self._spec = pathspec.GitIgnoreSpec.from_lines(patterns)
        self._joined: re.Pattern[str] | None = None
        pats = self._spec.patterns
        if all(getattr(p, "include", None) is not False for p in pats):
            parts = []
            for p in pats:
                rx = getattr(p, "regex", None)
                if getattr(p, "include", None) and isinstance(rx, re.Pattern):
                    parts.append(_NAMED_GROUP.sub("(?:", str(rx.pattern)))
            try:
                joined = "|".join(f"(?:{x})" for x in parts) if parts else r"(?!)"
                self._joined = re.compile(joined)
            except re.error:
                self._joined = None

    def match_file(self, path: str) -> bool:
        joined = self._joined
        if joined is not None and not path.startswith(("./", "/")) and "\\" not in path:
            return joined.match(path) is not None
        return bool(self._spec.match_file(path))


@lru_cache(maxsize=4096)
def _compile(patterns: tuple[str, ...]) -> _Globs:
    return _Globs(patterns)


def matches(path: str, patterns: Iterable[str]) -> bool:
    """True when the workspace-relative ``path`` matches any of the glob ``patterns``.

    Patterns are gitignore-style: ``docs/requirements.md``, ``**/*.py``, ``specs/*/spec.md``.
    A pattern without a slash matches at any depth (``*.py``), as in .gitignore.
    """
    return _compile(tuple(patterns)).match_file(path)


class Workspace:
    """A workspace root with a lazily built, incrementally updated file index."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self._lock = threading.RLock()
        self._files: set[str] | None = None
        self._ignore: pathspec.PathSpec[Any] | None = None
        self._text_cache: dict[str, tuple[float, int, str | None]] = {}
        self._glob_cache: dict[tuple[str, ...], list[str]] = {}
        # The result cache's content hashes, memoised by stat signature and kept on disk
        # (phasegate.cache.ResultCache.content_hash): set by the runner that has one.
        self.hash_memo: Callable[[Workspace, str], str] | None = None
        self._preread = threading.local()  # (rel, bytes) of this thread's preread block

    # -- paths -------------------------------------------------------------------------
    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    def abspath(self, rel: str) -> Path:
        """Absolute path for a workspace-relative path; refuses anything outside the root."""
        p = (self.root / rel).resolve()
        if p != self.root and self.root not in p.parents:
            raise PathOutsideWorkspace(f"{rel!r} is outside the workspace {self.root}")
        return p

    def relpath(self, p: str | os.PathLike[str]) -> str:
        """Workspace-relative POSIX path of an absolute (or relative-to-root) path.

        A path that lies inside the root as written (through a directory symlink that the
        file index follows, say ``.kiro/specs``) keeps its written form when it resolves
        inside the root too; anything else is resolved first."""
        path = Path(p)
        if not path.is_absolute():
            path = self.root / path
        lexical = Path(os.path.normpath(path))
        if lexical != self.root and self.root in lexical.parents:
            real = lexical.resolve()
            if real == self.root or self.root in real.parents:
                return PurePosixPath(lexical.relative_to(self.root)).as_posix()
        try:
            rel = path.resolve().relative_to(self.root)
        except ValueError as exc:
            raise PathOutsideWorkspace(f"{p} is outside the workspace {self.root}") from exc
        return PurePosixPath(rel).as_posix()

    # -- file index ----------------------------------------------------------------------
    def _load_ignore(self) -> pathspec.PathSpec[Any]:
        import pathspec

        lines: list[str] = []
        gi = self.root / ".gitignore"
        if gi.is_file():
            try:
                lines = gi.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                lines = []
        return pathspec.GitIgnoreSpec.from_lines(lines)

    def is_ignored(self, rel: str) -> bool:
        parts = rel.split("/")
        if any(part in ALWAYS_IGNORED_DIRS for part in parts[:-1]):
            return True
        if self._ignore is None:
            self._ignore = self._load_ignore()
        return self._ignore.match_file(rel)

    def _follow_link(self, dirpath: str, name: str, followed: set[str]) -> bool:
        """Whether the walk enters the directory symlink ``dirpath/name``: only when its
        target resolves inside the root, is not the directory holding the link or one of
        its ancestors (a cycle), and was not entered through another link already."""
        try:
            target = os.path.realpath(os.path.join(dirpath, name))
            here = os.path.realpath(dirpath)
        except (OSError, ValueError):
            return False
        root = str(self.root)
        if target != root and not target.startswith(root + os.sep):
            return False  # outside the workspace: never followed
        if here == target or here.startswith(target + os.sep) or target in followed:
            return False
        followed.add(target)
        return True

    def _scan(self) -> set[str]:
        files: set[str] = set()
        ignore = self._load_ignore()
        self._ignore = ignore
        root = str(self.root)
        followed: set[str] = set()  # real paths of the symlink targets entered
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
            rel_dir = os.path.relpath(dirpath, root)
            rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
            keep = []
            for d in dirnames:
                if d in ALWAYS_IGNORED_DIRS:
                    continue
                rd = f"{rel_dir}/{d}" if rel_dir else d
                if ignore.match_file(rd + "/"):
                    continue
                if os.path.islink(os.path.join(dirpath, d)) and not self._follow_link(
                    dirpath, d, followed
                ):
                    continue
                keep.append(d)
            dirnames[:] = sorted(keep)
            for f in filenames:
                rf = f"{rel_dir}/{f}" if rel_dir else f
                if not ignore.match_file(rf):
                    files.add(rf)
        return files

    def files(self) -> set[str]:
        """All non-ignored files (workspace-relative). Built on first use."""
        with self._lock:
            if self._files is None:
                self._files = self._scan()
            return self._files

    def glob(self, patterns: Iterable[str]) -> list[str]:
        """Sorted files matching any of ``patterns``.

        Results are kept per pattern set and updated by :meth:`notify_changed`, so asking
        again after a one-file change does not walk the whole index.
        """
        key = tuple(patterns)
        with self._lock:
            files = self.files()
            hit = self._glob_cache.get(key)
            if hit is None:
                spec = _compile(key)
                hit = sorted(f for f in files if spec.match_file(f))
                if len(self._glob_cache) >= 512:
                    self._glob_cache.clear()
                self._glob_cache[key] = hit
            return list(hit)

    def exists(self, rel: str) -> bool:
        return rel in self.files() or (self.root / rel).is_file()

    def notify_changed(self, rels: Iterable[str]) -> None:
        """Tell the index these paths were created, changed or deleted."""
        with self._lock:
            files = self.files()
            for rel in rels:
                if rel == ".gitignore":
                    self._files = None
                    self._text_cache.clear()
                    self._glob_cache.clear()
                    return
                self._text_cache.pop(rel, None)
                if (self.root / rel).is_file() and not self.is_ignored(rel):
                    if rel not in files:
                        files.add(rel)
                        self._glob_update(rel, added=True)
                elif rel in files:
                    files.discard(rel)
                    self._glob_update(rel, added=False)

    def _glob_update(self, rel: str, *, added: bool) -> None:
        for key, hit in self._glob_cache.items():
            if not _compile(key).match_file(rel):
                continue
            i = bisect.bisect_left(hit, rel)
            present = i < len(hit) and hit[i] == rel
            if added and not present:
                hit.insert(i, rel)
            elif not added and present:
                del hit[i]

    def refresh(self) -> None:
        """Forget everything; the next ``files()`` rescans the disk."""
        with self._lock:
            self._files = None
            self._ignore = None
            self._text_cache.clear()
            self._glob_cache.clear()

    # -- contents ------------------------------------------------------------------------
    def _open_beneath(self, rel: str) -> IO[bytes] | None:
        """The regular file ``rel``, opened one path component at a time below the root
        without following any symbolic link (no path is resolved: the per-file cost is
        one ``open`` per component). None when it cannot be opened that way (a link on
        the way, ``..``, missing, not a regular file): the caller takes the careful way."""
        parts = rel.split("/")
        if not _CAN_OPEN_BENEATH or any(p in ("", ".", "..") for p in parts):
            return None
        fd = -1

        def beneath(name: str, flags: int) -> int:
            return os.open(name, _O_BENEATH_FILE, dir_fd=fd)

        try:
            fd = os.open(self.root, _O_BENEATH_DIR)
            for part in parts[:-1]:
                sub = os.open(part, _O_BENEATH_DIR, dir_fd=fd)
                os.close(fd)
                fd = sub
            fh = open(parts[-1], "rb", opener=beneath)  # noqa: SIM115 - the caller's
        except (OSError, ValueError):
            return None
        finally:
            if fd >= 0:
                os.close(fd)
        try:
            regular = stat.S_ISREG(os.fstat(fh.fileno()).st_mode)
        except OSError:
            regular = False
        if not regular:
            fh.close()
            return None
        return fh

    def _open(self, rel: str) -> IO[bytes]:
        """``rel`` opened for reading: below the root without resolving anything when it
        can be (:meth:`_open_beneath`), else at its resolved path, refused when that is
        outside the workspace (:class:`PathOutsideWorkspace`)."""
        return self._open_beneath(rel) or open(self.abspath(rel), "rb")

    @contextlib.contextmanager
    def preread(self, rel: str, data: bytes | None) -> Iterator[None]:
        """While in this block, this thread's :meth:`read_bytes` of ``rel`` returns
        ``data`` (None: reads as usual): the bytes the caller has just hashed, so a check
        analyses exactly the content its result is cached under, and the file is read
        once (the runner's per-file checks)."""
        if data is None:
            yield
            return
        before = getattr(self._preread, "slot", None)
        self._preread.slot = (rel, data)
        try:
            yield
        finally:
            self._preread.slot = before

    def read_bytes(self, rel: str, max_bytes: int | None = None) -> bytes | None:
        """The file's bytes, or None when it is missing, unreadable or outside the workspace.

        With ``max_bytes``, a larger file is not read: its size is taken from the open
        file's ``stat``, and :class:`FileTooLarge` is raised. At most ``max_bytes + 1``
        bytes are ever read, so a file that grows after the ``stat`` raises it too."""
        slot = getattr(self._preread, "slot", None)
        if slot is not None and slot[0] == rel:
            kept: bytes = slot[1]
            if max_bytes is not None and len(kept) > max_bytes:
                raise FileTooLarge(rel, len(kept), max_bytes)
            return kept
        try:
            with self._open(rel) as fh:
                if max_bytes is None:
                    return fh.read()
                size = os.fstat(fh.fileno()).st_size
                if size > max_bytes:
                    raise FileTooLarge(rel, size, max_bytes)
                data = fh.read(size + 1)  # not max_bytes + 1: no buffer of the limit's size
                if len(data) > size:  # it grew after the stat: on up to the limit
                    data += fh.read(max_bytes + 1 - len(data))
        except (OSError, PathOutsideWorkspace):
            return None
        if len(data) > max_bytes:
            raise FileTooLarge(rel, len(data), max_bytes)
        return data

    def read_text(self, rel: str) -> str | None:
        """File text (UTF-8, undecodable bytes replaced), or None when unreadable/missing.

        Cached by (mtime, size) so repeated checks over one file read it once.
        """
        try:  # the cache's key only: what is read is read safely (read_bytes)
            st = os.stat(os.path.join(self.root, rel))
        except (OSError, ValueError):
            return None
        key = (st.st_mtime, st.st_size)
        cached = self._text_cache.get(rel)
        if cached is not None and cached[:2] == key:
            return cached[2]
        data = self.read_bytes(rel)
        text = None if data is None else data.decode("utf-8", errors="replace")
        self._text_cache[rel] = (key[0], key[1], text)
        return text

    def known_hash(self, rel: str) -> str:
        """:meth:`content_hash`, through the result cache's memo when a runner attached
        one (:attr:`hash_memo`): a file whose stat signature is unchanged since it was last
        hashed is not read again, a file changed in the last few seconds always is."""
        memo = self.hash_memo
        return memo(self, rel) if memo is not None else self.content_hash(rel)

    def content_hash(self, rel: str) -> str:
        """sha1 of the file's bytes, or "-" when missing (so deletion changes the hash).

        The file is read in chunks (:func:`sha1_stream`), never held whole. This is the raw
        primitive, read every time: inputs are hashed through the result cache's memo
        (:meth:`phasegate.cache.ResultCache.content_hash`, via
        :meth:`phasegate.runner.GateRunner.content_hash`), which falls back on it."""
        try:
            with self._open(rel) as fh:
                return sha1_stream(fh)
        except (OSError, PathOutsideWorkspace):
            return "-"
