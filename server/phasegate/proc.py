"""Running external programs safely: timeout, whole-process-group kill, capped output.

Every subprocess phasegate starts (checks, personas) goes through :func:`run_tool`.
Inside a :func:`recording` block, each call is also noted (an :class:`Invocation`): the
runner records what a check ran, as its result's evidence.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True)
class Invocation:
    """One :func:`run_tool` call, as noted by :func:`recording`."""

    argv: tuple[str, ...]
    returncode: int | None  # None: killed at the timeout, cancelled or not found
    duration_s: float
    timed_out: bool = False
    not_found: bool = False
    cancelled: bool = False


_recording: contextvars.ContextVar[list[Invocation] | None] = contextvars.ContextVar(
    "phasegate_recording", default=None
)


@contextlib.contextmanager
def recording() -> Iterator[list[Invocation]]:
    """Note every :func:`run_tool` call made inside this block in the list it yields.

    The collector lives in a context variable: calls made in this thread (or in a task
    or ``asyncio.to_thread`` call started inside the block, which copy the context) are
    noted; a plain thread or a thread pool worker has a context of its own, so the block
    must be entered in the thread that does the work. Blocks nest: an inner block's
    calls are also the outer block's."""
    outer = _recording.get()
    calls: list[Invocation] = []
    reset = _recording.set(calls)
    try:
        yield calls
    finally:
        _recording.reset(reset)
        if outer is not None:
            outer.extend(calls)


class noting:
    """``with noting(calls):`` notes the :func:`run_tool` calls made inside the block in
    ``calls``, and only there (not in an enclosing :func:`recording`): one step of work
    done for someone else, whose calls are noted in their recording later
    (:func:`record`). Cheap enough for every file a check reads."""

    __slots__ = ("_calls", "_token")

    def __init__(self, calls: list[Invocation]) -> None:
        self._calls = calls

    def __enter__(self) -> list[Invocation]:
        self._token = _recording.set(self._calls)
        return self._calls

    def __exit__(self, *exc: object) -> None:
        _recording.reset(self._token)


def record(invocations: Iterable[Invocation]) -> None:
    """Note calls made earlier elsewhere (a shared run reused) in the active recording,
    if any."""
    calls = _recording.get()
    if calls is not None:
        calls.extend(invocations)


def _note(res: ToolResult) -> ToolResult:
    calls = _recording.get()
    if calls is not None:
        calls.append(
            Invocation(
                tuple(res.argv),
                res.returncode,
                res.duration_s,
                res.timed_out,
                res.not_found,
                res.cancelled,
            )
        )
    return res


def which(program: str, extra_dirs: Sequence[Path] = ()) -> str | None:
    """Find ``program`` in ``extra_dirs`` first (e.g. the workspace venv), then on PATH."""
    for d in extra_dirs:
        cand = Path(d) / program
        if cand.is_file() and os.access(cand, os.X_OK):
            return str(cand)
    return shutil.which(program)


# Every process phasegate starts carries this variable (inherited by its descendants,
# including those that leave its process group with ``setsid``): at a timeout, a
# cancellation or a finish with the output pipes still held, the processes carrying the
# run's value are found and killed (Linux: through /proc).
RUN_MARKER = "PHASEGATE_RUN"
# ...and who started it, where: a process left running by a phasegate that died (kill -9
# of a session with a persona at work) is found by these and stopped by the next `run` or
# `resume` in that workspace (:func:`kill_leftovers`).
OWNER_MARKER = "PHASEGATE_OWNER"
ROOT_MARKER = "PHASEGATE_ROOT"
# After a kill, how long the output pipes may stay open (held by an escaped descendant
# that could not be killed) before phasegate stops waiting for them.
PIPE_GRACE_S = 2.0
_PR_SET_PDEATHSIG = 1
_LINUX = sys.platform.startswith("linux")


_prctl: Any = None


def _load_prctl() -> Any:
    """libc's ``prctl`` (Linux), loaded in phasegate before any fork: the child only
    calls it (importing or loading libraries between fork and exec could deadlock)."""
    global _prctl
    if _prctl is None:
        try:
            import ctypes

            _prctl = ctypes.CDLL(None, use_errno=True).prctl
        except Exception:  # no prctl here: the group kill and the marker remain
            _prctl = False
    return _prctl


def _die_with_parent() -> None:
    """In the child, before exec (Linux): SIGKILL when phasegate dies, even by kill -9."""
    if _prctl:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def marked_processes(marker: str) -> list[int]:
    """Pids of the processes whose environment has ``PHASEGATE_RUN=<marker>`` (Linux;
    an empty list where /proc cannot be read)."""
    needle = f"{RUN_MARKER}={marker}".encode() + b"\0"
    found: list[int] = []
    me = os.getpid()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                env = fh.read()
        except OSError:
            continue
        if needle in env or env.endswith(needle[:-1]):
            found.append(int(entry))
    return found


def kill_marked(marker: str) -> int:
    """SIGKILL every process carrying ``marker`` (and its process group); how many."""
    pids = marked_processes(marker)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
            if os.getpgid(pid) != os.getpgrp():
                os.killpg(os.getpgid(pid), signal.SIGKILL)
    return len(pids)


def _environ(pid: int) -> dict[bytes, bytes]:
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            raw = fh.read()
    except OSError:
        return {}
    out: dict[bytes, bytes] = {}
    for item in raw.split(b"\0"):
        key, eq, value = item.partition(b"=")
        if eq:
            out[key] = value
    return out


def kill_leftovers(root: str | os.PathLike[str]) -> list[int]:
    """Stop the processes a dead phasegate started in the workspace ``root`` (a persona's
    descendants that outlived a ``kill -9`` of phasegate, reparented to init): those whose
    environment names ``root`` and an owner pid that is no longer running. Linux (/proc);
    returns the pids killed."""
    where = os.path.realpath(str(root)).encode()
    me = os.getpid()
    killed: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return killed
    for entry in entries:
        if not entry.isdigit() or int(entry) == me:
            continue
        env = _environ(int(entry))
        if env.get(ROOT_MARKER.encode()) != where:
            continue
        try:
            owner = int(env.get(OWNER_MARKER.encode(), b"0"))
        except ValueError:
            continue
        if owner > 0 and _alive(owner):
            continue  # its phasegate is still at work
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(int(entry), signal.SIGKILL)
            killed.append(int(entry))
    return killed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


class _Capped:
    """Output kept up to a cap; the rest is read and dropped (never held in memory)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.chunks: list[bytes] = []
        self.size = 0
        self.truncated = False

    def add(self, data: bytes) -> None:
        room = self.cap - self.size
        if room <= 0:
            self.truncated = self.truncated or bool(data)
            return
        if len(data) > room:
            data = data[:room]
            self.truncated = True
        self.chunks.append(data)
        self.size += len(data)

    def value(self) -> bytes:
        return b"".join(self.chunks)


def _pump(
    proc: subprocess.Popen[bytes],
    stdin: bytes | None,
    out: _Capped,
    err: _Capped,
    deadline: float | None,
    token: CancelToken | None,
) -> str:
    """Feed stdin and read stdout/stderr until both reach end of file (``"eof"``), the
    deadline passes (``"deadline"``), the token is cancelled (``"cancelled"``), or the
    process has exited while something else still holds its output pipes for longer than
    :data:`PIPE_GRACE_S` (``"held"``)."""
    import selectors

    sel = selectors.DefaultSelector()
    streams: dict[int, _Capped] = {}
    for pipe, sink in ((proc.stdout, out), (proc.stderr, err)):
        if pipe is not None:
            os.set_blocking(pipe.fileno(), False)
            sel.register(pipe.fileno(), selectors.EVENT_READ)
            streams[pipe.fileno()] = sink
    view = memoryview(stdin) if stdin else None
    stdin_fd = -1
    if proc.stdin is not None and not proc.stdin.closed:
        if view:
            stdin_fd = proc.stdin.fileno()
            os.set_blocking(stdin_fd, False)
            sel.register(stdin_fd, selectors.EVENT_WRITE)
        else:
            proc.stdin.close()
    exited_at: float | None = None
    try:
        while streams:
            if token is not None and token.cancelled:
                return "cancelled"
            now = time.monotonic()
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at > PIPE_GRACE_S:
                return "held"
            wait = 0.2
            if deadline is not None:
                left = deadline - now
                if left <= 0:
                    return "deadline"
                wait = min(wait, left)
            for key, _events in sel.select(wait):
                fd = int(key.fd)
                if fd == stdin_fd:
                    assert view is not None and proc.stdin is not None
                    try:
                        n = os.write(fd, view[:65536])
                    except BlockingIOError:
                        continue
                    except OSError:  # the tool closed its input early
                        n = len(view)
                    view = view[n:]
                    if not view:
                        sel.unregister(fd)
                        stdin_fd = -1
                        proc.stdin.close()
                    continue
                try:
                    data = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                if data:
                    streams[fd].add(data)
                else:
                    sel.unregister(fd)
                    del streams[fd]
        return "eof"
    finally:
        sel.close()


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
    """Run ``argv`` in its own process group; kill it and everything it started at
    ``timeout`` seconds.

    A timeout holds: the process group is killed, then every descendant that left it
    (``setsid``) is found by the run's marker variable and killed too; output pipes still
    held by something that cannot be killed are abandoned after a short grace. The tool
    dies with phasegate (Linux: parent-death signal). Output is read as it comes, keeping
    at most ``max_output`` bytes of each stream.

    Never raises for a missing program, a timeout or a crash: the result says what happened.
    With ``binary_stdout``, standard output is returned undecoded in ``stdout_bytes``.
    Inside a :func:`recording` block the call is noted.
    """
    return _note(
        _run_tool(
            argv,
            cwd=cwd,
            timeout=timeout,
            env=env,
            stdin=stdin,
            max_output=max_output,
            binary_stdout=binary_stdout,
        )
    )


def _run_tool(
    argv: Sequence[str],
    *,
    cwd: str | os.PathLike[str],
    timeout: float,
    env: Mapping[str, str] | None,
    stdin: str | None,
    max_output: int,
    binary_stdout: bool,
) -> ToolResult:
    import uuid

    argv = [str(a) for a in argv]
    start = time.monotonic()
    token = _cancel_token.get()
    if token is not None and token.cancelled:
        return ToolResult(argv, None, "", "cancelled", 0.0, cancelled=True)
    marker = uuid.uuid4().hex
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    full_env[RUN_MARKER] = marker
    full_env[OWNER_MARKER] = str(os.getpid())
    full_env[ROOT_MARKER] = os.path.realpath(str(cwd))
    try:
        proc = subprocess.Popen(
            argv,
            cwd=str(cwd),
            env=full_env,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_die_with_parent if _LINUX and _load_prctl() else None,
        )
    except FileNotFoundError:
        return ToolResult(argv, None, "", f"{argv[0]}: not found", 0.0, not_found=True)
    except PermissionError as exc:
        return ToolResult(argv, None, "", f"{argv[0]}: {exc}", 0.0, not_found=True)
    timed_out = False
    held = False  # something outside our reach kept the output pipes open
    if token is not None:
        token._add(proc)
    out, err = _Capped(max_output), _Capped(max_output)
    try:
        ended = _pump(
            proc,
            stdin.encode() if stdin is not None else None,
            out,
            err,
            start + timeout,
            token,
        )
        if ended != "eof":
            timed_out = ended == "deadline"
            _kill_group(proc)
            kill_marked(marker)
            again = _pump(proc, None, out, err, time.monotonic() + PIPE_GRACE_S, None)
            held = again != "eof"
        try:
            proc.wait(timeout=None if not held else PIPE_GRACE_S)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
    except BaseException:
        _kill_group(proc)
        kill_marked(marker)
        proc.wait()
        raise
    finally:
        # Children left behind by a finished parent are killed too.
        if proc.poll() is not None:
            _kill_group(proc)
        if timed_out or held:
            kill_marked(marker)
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        if token is not None:
            token._discard(proc)
    out_bytes = out.value()
    stderr = err.value().decode("utf-8", errors="replace")
    if held:
        stderr += "\n(output abandoned: a process that escaped the kill still held it)"
    return ToolResult(
        argv=argv,
        returncode=None if timed_out else proc.returncode,
        stdout="" if binary_stdout else out_bytes.decode("utf-8", errors="replace"),
        stdout_bytes=out_bytes if binary_stdout else None,
        stderr=stderr,
        duration_s=time.monotonic() - start,
        timed_out=timed_out,
        truncated=out.truncated or err.truncated,
        cancelled=token is not None and token.cancelled and not timed_out,
    )
