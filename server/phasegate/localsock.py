"""Where a resident phasegate answers short-lived ones: a local socket per workspace.

A process that keeps a workspace live (the language server, ``phasegate watch``) listens
on a Unix socket; a process that starts, asks one question and exits (the agent hook)
asks it there instead of importing the engine and reading the result cache from disk.
This module is the part both sides share; it imports the standard library only, so the
asking side stays fast.

* **Where.** One socket per workspace root, named by a hash of the root's resolved path,
  in a folder only the user can enter: ``$XDG_RUNTIME_DIR/phasegate`` when that is set,
  else ``<temp dir>/phasegate-<uid>``. The folder is made with mode 0700; either side
  refuses a folder or a socket another user owns or others can enter (another local user
  could otherwise answer in phasegate's name).
* **What.** One request per connection: a JSON object on one line, answered by a JSON
  object on one line, then the connection is closed. Every request carries
  :data:`PROTOCOL` and the asker's :func:`code_stamp`: a resident process running other
  code (phasegate upgraded since it started) refuses, and the asker answers alone.
* **Never in the way.** Nothing listening, a refused request, a timeout, anything
  unexpected: :func:`ask` returns None and the asker does the work itself.

Not on Windows (no Unix sockets in asyncio there): :func:`supported` is false.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

PROTOCOL = 1
MAX_MESSAGE = 8 * 1024 * 1024  # an answer larger than this is refused by the asker
CONNECT_TIMEOUT = 0.25  # seconds to connect: a live process accepts at once
ANSWER_TIMEOUT = 10.0  # seconds for the answer (one ruff run over a few files)


def supported() -> bool:
    return sys.platform != "win32" and hasattr(socket, "AF_UNIX")


def _stat_sig(path: Path | str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return "-"
    return f"{st.st_size}:{st.st_mtime_ns}"


def code_stamp() -> str:
    """Size and modification time of every module of phasegate, and of the
    site-packages folders on ``sys.path`` (installing or upgrading a package, a check
    plugin among them, changes its folder). Not the folder the process runs in."""
    package = Path(__file__).resolve().parent
    h = hashlib.sha1()
    for folder, dirs, names in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                h.update(f"{path}={_stat_sig(path)}\n".encode())
    for entry in sorted(set(sys.path)):
        # installed packages, whatever folder the process was started from
        if entry.rstrip("/\\").endswith(("site-packages", "dist-packages")):
            h.update(f"{entry}={_stat_sig(entry)}\n".encode())
    return h.hexdigest()


def _private_dir(path: Path, *, create: bool) -> bool:
    """Whether ``path`` is a folder of this user's that nobody else can enter (made so
    when missing and ``create``)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if not create:
            return False
        try:
            path.mkdir(mode=0o700, parents=False)
        except FileExistsError:
            pass
        except OSError:
            return False
        try:
            st = os.lstat(path)
        except OSError:
            return False
    except OSError:
        return False
    return (
        stat.S_ISDIR(st.st_mode)
        and st.st_uid == os.getuid()
        and stat.S_IMODE(st.st_mode) & 0o077 == 0
    )


def socket_dir(*, create: bool) -> Path | None:
    """The folder the sockets live in (None when it is missing, not private, or Unix
    sockets are not supported)."""
    if not supported():
        return None
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime) and _private_dir(Path(runtime), create=False):
        folder = Path(runtime) / "phasegate"
    else:
        folder = Path(tempfile.gettempdir()) / f"phasegate-{os.getuid()}"
    return folder if _private_dir(folder, create=create) else None


def socket_path(root: Path, *, create: bool = False) -> Path | None:
    """The socket of the workspace at ``root`` (resolved by the caller)."""
    folder = socket_dir(create=create)
    if folder is None:
        return None
    name = hashlib.sha1(os.fsencode(str(root))).hexdigest()[:32]
    return folder / f"{name}.sock"


def owned_socket(path: Path) -> bool:
    """Whether ``path`` is a socket this user owns."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISSOCK(st.st_mode) and st.st_uid == os.getuid()


def encode(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode("utf-8") + b"\n"


def decode(line: bytes) -> dict[str, Any] | None:
    try:
        doc = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    return doc if isinstance(doc, dict) else None


def ask(
    root: Path,
    request: dict[str, Any],
    *,
    stamp: str | None = None,
    connect_timeout: float = CONNECT_TIMEOUT,
    answer_timeout: float = ANSWER_TIMEOUT,
) -> dict[str, Any] | None:
    """Ask the resident process of ``root`` (resolved) and return its answer (the
    ``answer`` object of an ``ok`` reply), or None when nobody answers it: the caller
    then does the work itself. ``stamp``: :func:`code_stamp`, when the caller has it."""
    path = socket_path(root)
    if path is None or not owned_socket(path):
        return None
    doc = {**request, "protocol": PROTOCOL, "code": stamp or code_stamp(), "root": str(root)}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(connect_timeout)
            sock.connect(str(path))
            sock.settimeout(answer_timeout)
            sock.sendall(encode(doc))
            chunks: list[bytes] = []
            size = 0
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_MESSAGE:
                    return None
                if chunk.endswith(b"\n"):
                    break
    except OSError:  # nobody listening, refused, timed out
        return None
    reply = decode(b"".join(chunks))
    if reply is None or reply.get("ok") is not True:
        return None
    answer = reply.get("answer")
    return answer if isinstance(answer, dict) else None


def remove_stale(path: Path) -> bool:
    """Remove a socket nobody listens on (a process killed without cleaning up). True
    when ``path`` is now free; False when a live process listens there."""
    if not owned_socket(path):
        try:
            os.lstat(path)
        except FileNotFoundError:
            return True
        except OSError:
            return False
        return False  # something else is there: leave it
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(CONNECT_TIMEOUT)
        try:
            sock.connect(str(path))
        except OSError:
            pass
        else:
            return False
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    return True
