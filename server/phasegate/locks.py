"""Portable exclusive file locks: POSIX ``flock``, Windows ``msvcrt.locking``.

phasegate runs on POSIX systems and on Windows; ``fcntl`` exists only on the former and
``msvcrt`` only on the latter, so neither is imported at module level: the platform
module is imported by the function that needs it, on the platform that has it.

A lock is taken on an open file descriptor and released by :func:`unlock` or when the
descriptor is closed; the operating system releases it when the process dies, so a
killed process never leaves a stale lock.

* POSIX: ``flock(fd, LOCK_EX)`` (with ``LOCK_NB`` unless waiting), exactly as before
  this module existed; a lock held elsewhere raises :class:`BlockingIOError`.
* Windows: ``msvcrt.locking`` on one byte at :data:`WINDOWS_LOCK_OFFSET`, far past the
  data a lock file holds (Windows byte-range locks are mandatory: locking byte 0 would
  stop other processes reading who holds the lock). A lock held elsewhere raises
  :class:`BlockingIOError` too; waiting retries until the lock is free.

:func:`write_holder` and :func:`read_holder` record and read the pid of the process
that holds a lock at the start of the lock file (``pwrite``/``pread`` on POSIX; seek,
write and read where those do not exist).

Used by :mod:`phasegate.store` (session locks); :mod:`phasegate.backups` can use
:func:`lock`/:func:`unlock` the same way.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import time
from collections.abc import Iterator

# Windows: the byte locked (1 GiB into the file; locking beyond the end is allowed).
WINDOWS_LOCK_OFFSET = 1 << 30
# Windows: pause between attempts while waiting for a lock another process holds.
WINDOWS_RETRY_S = 0.05

if sys.platform == "win32":

    def lock(fd: int, *, wait: bool = False) -> None:
        """Take an exclusive lock on the open file ``fd``.

        Without ``wait``, raises :class:`BlockingIOError` at once when another process
        holds it; with ``wait``, retries until it is free. Other failures raise
        :class:`OSError`."""
        import msvcrt

        while True:
            os.lseek(fd, WINDOWS_LOCK_OFFSET, os.SEEK_SET)
            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                return
            except OSError as exc:
                # held elsewhere: a locking violation (EACCES) or EDEADLOCK
                if exc.errno not in (errno.EACCES, errno.EDEADLOCK):
                    raise
                if not wait:
                    raise BlockingIOError(
                        errno.EWOULDBLOCK, "the file is locked by another process"
                    ) from None
            time.sleep(WINDOWS_RETRY_S)

    def unlock(fd: int) -> None:
        """Release the lock taken on ``fd`` by :func:`lock` (closing ``fd`` releases it
        too)."""
        import msvcrt

        os.lseek(fd, WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:

    def lock(fd: int, *, wait: bool = False) -> None:
        """Take an exclusive lock on the open file ``fd``: ``flock(LOCK_EX)``.

        Without ``wait`` (``LOCK_NB``), raises :class:`BlockingIOError` at once when
        another open file description holds it; with ``wait``, blocks until it is free.
        Other failures raise :class:`OSError`."""
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))

    def unlock(fd: int) -> None:
        """Release the lock taken on ``fd`` by :func:`lock` (closing ``fd`` releases it
        too): ``flock(LOCK_UN)``."""
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


@contextlib.contextmanager
def locked(fd: int, *, wait: bool = True) -> Iterator[None]:
    """:func:`lock` ``fd`` for the duration of a ``with`` block, then :func:`unlock` it."""
    lock(fd, wait=wait)
    try:
        yield
    finally:
        unlock(fd)


def write_holder(fd: int) -> None:
    """Record this process's pid as the holder, replacing the lock file's content."""
    data = f"{os.getpid()}\n".encode()
    os.ftruncate(fd, 0)
    if hasattr(os, "pwrite"):
        os.pwrite(fd, data, 0)
    else:
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, data)


def read_holder(fd: int) -> int | None:
    """The pid a holder recorded with :func:`write_holder`, or None when there is none
    (or it cannot be read). Never raises."""
    try:
        if hasattr(os, "pread"):
            raw = os.pread(fd, 64, 0)
        else:
            os.lseek(fd, 0, os.SEEK_SET)
            raw = os.read(fd, 64)
        text = raw.decode("ascii", "replace").strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None
