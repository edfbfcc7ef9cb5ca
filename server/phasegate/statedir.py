"""Refusing a state folder that phasegate did not make: links, and files of the wrong kind.

Everything phasegate writes goes under ``.phasegate/`` at the workspace root. A workspace
is data that anyone may have written (a cloned repository, an archive), so before a
command reads or writes its state, :func:`check_state_dir` looks at every entry of the
layout phasegate knows, without following any link::

    .phasegate/                      a folder
      active                         a file
      sessions/ cache/ tmp/ snapshots/ backups/   folders
      cache/mypy/ cache/hypothesis/ snapshots/objects/   folders
      sessions/<id>/                 a folder, for every session (and for the one a
                                     command names, which may not exist yet)
        checkpoint.json checkpoint.prev.json events.jsonl lock report.html report.json
                                     files
        backups/                     a folder

and no entry of ``sessions/`` or of ``sessions/<id>/backups/`` may be a link.

An entry that is a symbolic link (its writes would land wherever the link points, even
outside the workspace), a file where a folder belongs or a folder where a file belongs
(phasegate would fail half-way through), or a ``.phasegate`` whose real path is not
inside the workspace is refused with :class:`StateDirError`, whose message is one
sentence naming the path and what to do. The commands turn it into exit code 2 before
they change anything. Missing entries are fine: phasegate creates them.

:func:`problem` is the single-entry test, used again by :mod:`phasegate.store` and
:mod:`phasegate.cache` right before they write.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Literal

from phasegate.workspace import STATE_DIR

Kind = Literal["dir", "file"]

# Entries of .phasegate/ (relative paths) and what they must be.
STATE_ENTRIES: tuple[tuple[str, Kind], ...] = (
    ("active", "file"),
    ("sessions", "dir"),
    ("cache", "dir"),
    ("cache/mypy", "dir"),
    ("cache/hypothesis", "dir"),
    ("tmp", "dir"),
    ("snapshots", "dir"),
    ("snapshots/objects", "dir"),
    ("backups", "dir"),
    ("hooks", "dir"),
)
# Entries of .phasegate/sessions/<id>/ and what they must be.
SESSION_ENTRIES: tuple[tuple[str, Kind], ...] = (
    ("checkpoint.json", "file"),
    ("checkpoint.prev.json", "file"),
    ("events.jsonl", "file"),
    ("lock", "file"),
    ("report.html", "file"),
    ("report.json", "file"),
    ("backups", "dir"),
    ("hooks", "dir"),
)


class StateDirError(Exception):
    """A state folder entry phasegate refuses to use; ``str(exc)`` is one sentence."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


def problem(path: Path, kind: Kind) -> str | None:
    """Why ``path`` cannot be used as a ``kind`` of the state folder (one sentence), or
    None when it is one, or does not exist yet. Links are never followed."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None  # a parent is a file: reported for the parent
    except OSError as exc:
        return (
            f"{path} cannot be examined ({exc.strerror}); fix its permissions or remove it "
            "and run the command again."
        )
    if stat.S_ISLNK(st.st_mode):
        return (
            f"{path} is a symbolic link, and phasegate keeps its state only in real folders "
            "and files inside the workspace: put what it points to in its place, or remove "
            "it, and run the command again."
        )
    if kind == "dir" and not stat.S_ISDIR(st.st_mode):
        return (
            f"{path} is not a folder, but phasegate keeps its state there: move it away "
            "and run the command again."
        )
    if kind == "file" and not stat.S_ISREG(st.st_mode):
        what = "a folder" if stat.S_ISDIR(st.st_mode) else "a special file"
        return (
            f"{path} is {what}, not a file as phasegate expects: remove it and run the "
            "command again."
        )
    return None


def check(path: Path, kind: Kind) -> None:
    """Raise :class:`StateDirError` when ``path`` cannot be used as a ``kind``."""
    why = problem(path, kind)
    if why is not None:
        raise StateDirError(why, path)


def state_dir_of(root: Path) -> Path:
    return Path(root) / STATE_DIR


def check_session_dir(session_dir: Path) -> None:
    """A session's folder and every entry phasegate keeps in it (see the module docs)."""
    check(session_dir, "dir")
    if not session_dir.is_dir():
        return
    for rel, kind in SESSION_ENTRIES:
        check(session_dir / rel, kind)
    _no_links_in(session_dir / "backups")


def check_state_dir(root: Path, session_id: str | None = None) -> None:
    """Raise :class:`StateDirError` for the first entry of ``root``'s state folder that
    phasegate must not use (see the module docs), checking every session's folder and,
    when given, ``sessions/<session_id>`` even before it exists. Nothing is created or
    changed."""
    root = Path(root)
    state = state_dir_of(root)
    check(state, "dir")
    if not state.is_dir():
        return
    real_root = os.path.realpath(root)
    real = os.path.realpath(state)
    if os.path.dirname(real) != real_root:
        raise StateDirError(
            f"{state} resolves to {real}, outside the workspace {real_root}: make it a "
            "plain folder of the workspace and run the command again.",
            state,
        )
    for rel, kind in STATE_ENTRIES:
        check(state / rel, kind)
    sessions = state / "sessions"
    if session_id is not None and "/" not in session_id and session_id not in ("", ".", ".."):
        check_session_dir(sessions / session_id)
    _no_links_in(sessions)
    if sessions.is_dir():
        for entry in _entries(sessions):
            if entry.is_dir():  # not a link: those were refused above
                check_session_dir(entry)


def _no_links_in(folder: Path) -> None:
    """Refuse a symbolic link among the entries of ``folder`` (when it is a folder)."""
    if not folder.is_dir() or folder.is_symlink():
        return
    for entry in _entries(folder):
        if entry.is_symlink():
            check(entry, "dir")


def _entries(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError as exc:
        raise StateDirError(
            f"{folder} cannot be listed ({exc.strerror}); fix its permissions and run the "
            "command again.",
            folder,
        ) from None
