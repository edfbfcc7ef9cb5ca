"""Atomic file writes: a crash leaves the old content or the new one, never a mix.

The data goes to a temporary file beside the target (``.<name>.<random>.tmp``, created
with the folder when it is missing), is optionally fsynced, and replaces the target with
``os.replace``. The replace acts on the directory entry: a symlink at the target is
replaced by the file, never written through. On any error the temporary file is removed
and the error propagates.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path


def fsync_directory(path: Path) -> None:
    """Flush ``path``'s directory entries to disk (best effort: errors are ignored)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    """The process umask, read without changing it (os.umask would race other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _default_mode(path: Path) -> int:
    """A replaced file keeps its permissions; a new one gets what ``open`` would give."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


def atomic_write_bytes(
    path: Path,
    data: bytes,
    *,
    mode: int | None = None,
    fsync: bool = True,
    fsync_dir: bool = False,
) -> None:
    """Write ``data`` to ``path`` atomically.

    ``mode``: permission bits for the new file (default: the replaced file's, or for a
    new file 0o666 less the umask, as ``open`` would create it).
    ``fsync``: flush the file's content to disk before the replace.
    ``fsync_dir``: also flush the folder after the replace, so the new entry itself
    survives a power loss (session checkpoints).
    """
    import tempfile  # here: tempfile (shutil, random...) costs every command's start-up

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, stat.S_IMODE(mode) if mode is not None else _default_mode(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if fsync_dir:
        fsync_directory(path.parent)


def atomic_write_text(
    path: Path, text: str, *, fsync: bool = True, fsync_dir: bool = False
) -> None:
    """Write ``text`` to ``path`` atomically, UTF-8 encoded, line endings as given."""
    atomic_write_bytes(path, text.encode("utf-8"), fsync=fsync, fsync_dir=fsync_dir)
