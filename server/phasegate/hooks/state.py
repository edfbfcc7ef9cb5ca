"""``.phasegate/hooks/``: what the hook keeps between runs.

* ``hook.log`` — one line per problem (bad input, configuration errors, a crash) and per
  decision that matters (a blocked or allowed stop); kept under 1 MB (one older copy,
  ``hook.log.1``);
* ``stop/<key>.json`` — per agent session, how many times in a row the stop was blocked;
* ``waiting.json`` — the gate that still failed when the block cap was reached: the
  work waits for a person;
* ``checks.json`` and ``memo.json`` — see :mod:`phasegate.hooks.fastpath`.

Nothing is read or written through a symbolic link: when ``.phasegate`` or
``.phasegate/hooks`` is a link or not a folder, the hook keeps no state (and logs
nothing). Imports the standard library only: the hook's fast path uses it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

from phasegate.fsutil import atomic_write_bytes

STATE_DIR = ".phasegate"  # phasegate.workspace.STATE_DIR, without importing the workspace
HOOKS_DIR = "hooks"
LOG_FILE = "hook.log"
LOG_LIMIT = 1_000_000
WAITING_FILE = "waiting.json"
STOP_DIR = "stop"
STOP_KEEP_S = 7 * 24 * 3600  # block counters of agent sessions idle this long are removed


def _is_dir(path: Path) -> bool | None:
    """True: a real folder; None: missing; False: a link or something else."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode)


def hooks_dir(root: Path, *, create: bool) -> Path | None:
    """``root/.phasegate/hooks`` when it is (or, with ``create``, could be made) a real
    folder; None when any part of it is a link or not a folder."""
    state = root / STATE_DIR
    hooks = state / HOOKS_DIR
    for folder in (state, hooks):
        kind = _is_dir(folder)
        if kind is False:
            return None
        if kind is None:
            if not create:
                return None
            try:
                folder.mkdir(exist_ok=True)
            except OSError:
                return None
            if _is_dir(folder) is not True:
                return None
    return hooks


def _regular_or_missing(path: Path) -> bool:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode)


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or None (missing, unreadable, a link, not JSON)."""
    if not _regular_or_missing(path):
        return None
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def write_json(path: Path, data: Any) -> bool:
    """Write ``data`` atomically (never through a link); False when it cannot be."""
    if not _regular_or_missing(path):
        return False
    try:
        atomic_write_bytes(path, json.dumps(data, separators=(",", ":")).encode(), fsync=False)
    except OSError:
        return False
    return True


def log(root: Path | None, message: str) -> None:
    """Append one line to ``hook.log`` (best effort: never raises)."""
    if root is None:
        return
    with contextlib.suppress(Exception):
        folder = hooks_dir(root, create=True)
        if folder is None:
            return
        path = folder / LOG_FILE
        if not _regular_or_missing(path):
            return
        with contextlib.suppress(OSError):
            if path.stat().st_size > LOG_LIMIT:
                os.replace(path, folder / f"{LOG_FILE}.1")
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        line = " ".join(message.split())[:4000]
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags, 0o644)
        with open(fd, "a", encoding="utf-8") as fh:
            fh.write(f"{stamp} {line}\n")


# -- consecutive stop blocks -------------------------------------------------------------------
def _stop_path(root: Path, agent_session: str, *, create: bool) -> Path | None:
    folder = hooks_dir(root, create=create)
    if folder is None:
        return None
    sub = folder / STOP_DIR
    kind = _is_dir(sub)
    if kind is False:
        return None
    if kind is None:
        if not create:
            return None
        try:
            sub.mkdir(exist_ok=True)
        except OSError:
            return None
    # the agent's session id is data from the agent: never a file name as it is
    name = hashlib.sha1(agent_session.encode("utf-8", "replace")).hexdigest()[:20]
    return sub / f"{name}.json"


def stop_blocks(root: Path, agent_session: str) -> int:
    """How many times in a row the stop of ``agent_session`` was blocked."""
    path = _stop_path(root, agent_session, create=False)
    data = read_json(path) if path is not None else None
    blocks = data.get("blocks") if isinstance(data, dict) else None
    return blocks if isinstance(blocks, int) and blocks >= 0 else 0


def set_stop_blocks(root: Path, agent_session: str, blocks: int) -> None:
    path = _stop_path(root, agent_session, create=True)
    if path is None:
        return
    write_json(path, {"agent_session": agent_session[:200], "blocks": blocks, "at": time.time()})
    _forget_old_counters(path.parent)


def _forget_old_counters(folder: Path) -> None:
    cutoff = time.time() - STOP_KEEP_S
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)


# -- waiting for a person ---------------------------------------------------------------------
def read_waiting(root: Path) -> dict[str, Any] | None:
    folder = hooks_dir(root, create=False)
    data = read_json(folder / WAITING_FILE) if folder is not None else None
    return data if isinstance(data, dict) else None


def write_waiting(root: Path, record: dict[str, Any]) -> None:
    folder = hooks_dir(root, create=True)
    if folder is not None:
        write_json(folder / WAITING_FILE, record)


def clear_waiting(root: Path) -> None:
    folder = hooks_dir(root, create=False)
    if folder is None:
        return
    path = folder / WAITING_FILE
    if _regular_or_missing(path):
        with contextlib.suppress(OSError):
            path.unlink()
