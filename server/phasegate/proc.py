"""Running external programs safely: timeout, whole-process-group kill, capped output.

Every subprocess phasegate starts (checks, personas) goes through :func:`run_tool`.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX_OUTPUT = 8 * 1024 * 1024  # bytes kept of stdout and of stderr each


@dataclass
class ToolResult:
    argv: list[str]
    returncode: int | None  # None when it was killed at the timeout or not found
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    not_found: bool = False
    truncated: bool = False
    cancelled: bool = False  # killed through a CancelToken (see cancel_scope)
    # standard output as the tool wrote it, with ``run_tool(..., binary_stdout=True)``
    # (``stdout`` is then empty): a big JSON document is parsed from bytes, not decoded
    stdout_bytes: bytes | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


class CancelToken:
    """Cancels the work of one caller: kills the process groups that :func:`run_tool`
    started under it (see :func:`cancel_scope`) and refuses to start new ones."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._procs: set[subprocess.Popen[bytes]] = set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        self._event.set()
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            _kill_group(proc)

    def _add(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs.add(proc)
        if self.cancelled:
            _kill_group(proc)

    def _discard(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs.discard(proc)


_cancel_token: contextvars.ContextVar[CancelToken | None] = contextvars.ContextVar(
    "phasegate_cancel_token", default=None
)


@contextlib.contextmanager
def cancel_scope(token: CancelToken) -> Iterator[CancelToken]:
    """Every :func:`run_tool` call made inside this block (same thread or context) is
    killed when ``token`` is cancelled."""
    reset = _cancel_token.set(token)
    try:
        yield token
    finally:
        _cancel_token.reset(reset)


def which(program: str, extra_dirs: Sequence[Path] = ()) -> str | None:
    """Find ``program`` in ``extra_dirs`` first (e.g. the workspace venv), then on PATH."""
    for d in extra_dirs:
        cand = Path(d) / program
        if cand.is_file() and os.access(cand, os.X_OK):
            return str(cand)
    return shutil.which(program)


def run_tool(
    argv: Sequence[str],
    *,
    cwd: str | os.PathLike[str],
    timeout: float,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    max_output: int = DEFAULT_MAX_OUTPUT,
    binary_stdout: bool = False,
) -> ToolResult:
    """Run ``argv`` in its own process group; kill the whole group at ``timeout`` seconds.

    Never raises for a missing program, a timeout or a crash: the result says what happened.
    With ``binary_stdout``, standard output is returned undecoded in ``stdout_bytes``.
    """
    argv = [str(a) for a in argv]
    start = time.monotonic()
    token = _cancel_token.get()
    if token is not None and token.cancelled:
        return ToolResult(argv, None, "", "cancelled", 0.0, cancelled=True)
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    try:
        proc = subprocess.Popen(
            argv,
            cwd=str(cwd),
            env=full_env,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError:
        return ToolResult(argv, None, "", f"{argv[0]}: not found", 0.0, not_found=True)
    except PermissionError as exc:
        return ToolResult(argv, None, "", f"{argv[0]}: {exc}", 0.0, not_found=True)
    timed_out = False
    if token is not None:
        token._add(proc)
    try:
        out, err = proc.communicate(
            input=stdin.encode() if stdin is not None else None, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc)
        out, err = proc.communicate()
    except BaseException:
        _kill_group(proc)
        proc.wait()
        raise
    finally:
        # Children left behind by a finished parent are killed too.
        if proc.poll() is not None:
            _kill_group(proc)
        if token is not None:
            token._discard(proc)
    truncated = len(out) > max_output or len(err) > max_output
    if len(out) > max_output:
        out = out[:max_output]
    return ToolResult(
        argv=argv,
        returncode=None if timed_out else proc.returncode,
        stdout="" if binary_stdout else out.decode("utf-8", errors="replace"),
        stdout_bytes=out if binary_stdout else None,
        stderr=err[:max_output].decode("utf-8", errors="replace"),
        duration_s=time.monotonic() - start,
        timed_out=timed_out,
        truncated=truncated,
        cancelled=token is not None and token.cancelled and not timed_out,
    )
