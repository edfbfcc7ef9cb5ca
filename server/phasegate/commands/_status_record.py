"""What ``phasegate status`` reads while it makes its answer the slow way, and the memo
entry it leaves behind (:mod:`phasegate.commands._status_memo` gives it again).

A :class:`Recorder` is active around the slow path. It observes, through Python's audit
events (``open``, ``os.scandir``, ``os.listdir``, ``subprocess.Popen``), every file
opened and every folder listed below the workspace — the configuration, the active
pointer, the checkpoint, the result cache files looked up, the folders the workspace's
file index walks, the sessions — so nothing read on the way is left out of the key. The
input files are opened one path component at a time below the root (a descriptor, not a
path, in the audit event), or not at all when the result cache remembers their hash by
their stat data: :func:`phasegate.recheck.recheck_completed` names them. The files whose
absence counts (the configuration, the root's ``.gitignore``) are added even when
missing, and so is the kind of every entry :func:`phasegate.statedir.check_state_dir`
examines.

When ``git`` ran (the session judges new code since its start), what it reads counts
too: ``HEAD`` and the branch it names, the references new code is judged against, the
index, the repository's and the user's configuration, the exclude files, and the
``.gitignore`` and ``.gitattributes`` of every folder walked. A program other than
``git`` run meanwhile keeps nothing.

**Racy stat data.** A file changed less than :data:`RACY_NS` before the answer was made
could change again without its stat data changing (timestamps have a granularity): then
no memo is written (git's racy-clean rule). So the first ``status`` after a change is
the slow one, and so is the next while something it reads changed within the last
seconds. Nothing is kept either when the output encoding is not UTF-8, or when the state
folder or the memo's place is a link or not what it should be; an error (exit code 2)
is never kept.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterable
from types import TracebackType

from phasegate.commands._status_memo import (
    MAX_ENTRIES,
    STATE_DIR,
    VERSION,
    StatView,
    code_signature,
    debug,
    enabled,
    memo_path,
    read_entries,
    request,
)

# a file changed this recently may change again without its stat data changing (the
# result cache's content-hash memo waits as long)
RACY_NS = 3_000_000_000
# read by status when they exist: their absence counts too
ROOT_FILES = ("phasegate.toml", "pyproject.toml", ".gitignore")

_recorders: list[Recorder] = []
_hook_installed = False


def _audit(event: str, args: tuple[object, ...]) -> None:
    """Python's audit hook: files opened, folders listed and programs started while a
    :class:`Recorder` is active. Never raises (that would fail the operation)."""
    if not _recorders:
        return
    try:
        if event == "subprocess.Popen":
            for r in _recorders:
                r.programs.append(args[1] if len(args) > 1 else None)
            return
        if event not in ("open", "os.scandir", "os.listdir") or not args:
            return
        path = args[0]
        if not isinstance(path, (str, bytes, os.PathLike)):
            return  # a descriptor, or the current folder
        text = os.fsdecode(path)
        if not os.path.isabs(text):
            return  # a component opened below a folder's descriptor: an input (named)
        for r in _recorders:
            r.saw(text, listed=event != "open")
    except Exception:  # an audit hook must not fail the operation it watches
        return


class _Tee:
    """Standard output as rich and click see it (a terminal or not, its encoding),
    keeping a copy of what is written."""

    def __init__(self, real: object) -> None:
        self._real = real
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        n: int = self._real.write(text)  # type: ignore[attr-defined]
        self.parts.append(text)
        return n

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)


class Recorder:
    """What ``status`` reads while it makes its answer (see the module); :meth:`capture`
    around the printing, then :meth:`store`."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.started_ns = time.time_ns()
        # outside the workspace, what Python's imports and devices read is not kept
        places = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
        places += [p for p in sys.path if p and os.path.isabs(p)]
        places += [os.path.dirname(os.path.dirname(os.path.dirname(__file__))), os.devnull]
        places += ["/dev", "/proc", "/sys"]
        self._elsewhere = tuple(os.path.normpath(p) for p in places)
        self.opened: set[str] = set()  # files (and folders) opened
        self.listed: set[str] = set()  # folders listed
        self.programs: list[object] = []
        self._tee: _Tee | None = None
        self._stdout: object = None

    def saw(self, path: str, *, listed: bool = False) -> None:
        """``path`` was opened (or ``listed``): kept unless it is outside the workspace
        and Python's own (its modules, the installed packages, a device)."""
        path = os.path.normpath(path)
        inside = path == self.root or path.startswith(self.root + os.sep)
        if inside or not any(path == p or path.startswith(p + os.sep) for p in self._elsewhere):
            (self.listed if listed else self.opened).add(path)

    def __enter__(self) -> Recorder:
        global _hook_installed
        if not enabled():
            return self
        if not _hook_installed:
            try:
                sys.addaudithook(_audit)
            except Exception:  # another audit hook refused it: nothing can be recorded
                return self
            _hook_installed = True
        _recorders.append(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self in _recorders:
            _recorders.remove(self)
        self.release()

    def capture(self) -> None:
        """From now on, keep a copy of what is written to standard output."""
        self._stdout = sys.stdout
        self._tee = _Tee(sys.stdout)
        sys.stdout = self._tee

    def release(self) -> str:
        """Stop keeping a copy; what was written since :meth:`capture`."""
        if self._tee is None:
            return ""
        if sys.stdout is self._tee:
            sys.stdout = self._stdout
        text = "".join(self._tee.parts)
        self._tee = None
        return text

    def store(
        self,
        *,
        session: str | None,
        fmt: str,
        session_id: str,
        output: str,
        code: int,
        inputs: Iterable[str] = (),
        refs: Iterable[str] = (),
    ) -> None:
        """Keep ``output`` and ``code`` as the answer to this request, keyed by what was
        read, the input files (``inputs``, workspace-relative) and, when git ran, the
        references new code is judged against (``refs``) — unless something it depends
        on changed too recently or cannot be known (see the module)."""
        if self not in _recorders:
            return  # the memo is off, or nothing could be observed
        _recorders.remove(self)
        why = self._store(session, fmt, session_id, output, code, inputs, refs)
        debug("stored" if why is None else f"not stored: {why}")

    def _store(
        self,
        session: str | None,
        fmt: str,
        session_id: str,
        output: str,
        code: int,
        inputs: Iterable[str],
        refs: Iterable[str],
    ) -> str | None:
        from pathlib import Path

        from phasegate import statedir
        from phasegate.fsutil import atomic_write_bytes

        encoding = str(getattr(sys.stdout, "encoding", "") or "").lower().replace("_", "-")
        if encoding not in ("utf-8", "utf8"):
            return f"the output encoding is {encoding or 'unknown'}"
        for program in self.programs:
            argv = program if isinstance(program, (list, tuple)) else [program]
            first = argv[0] if argv else None
            name = os.path.basename(os.fsdecode(first)) if isinstance(first, (str, bytes)) else ""
            if name not in ("git", "git.exe"):
                return f"{name or 'a program'} ran"
        root = self.root
        state = os.path.join(root, STATE_DIR)
        places: list[tuple[str, statedir.Kind]] = [(state, "dir"), (memo_path(root), "file")]
        for path, what in places:
            if not os.path.lexists(path) and what == "dir":
                return f"no {path}"
            if statedir.problem(Path(path), what) is not None:
                return f"{path} cannot be used"
        files = self.opened | self.listed
        files.update(os.path.join(root, name) for name in ROOT_FILES)
        files.add(os.path.join(state, "active"))
        files.add(os.path.join(state, "sessions", session_id, "checkpoint.json"))
        files.update(os.path.join(root, rel) for rel in inputs)
        if self.programs:
            files.update(git_state(root, self.listed, refs))
        view = StatView(root)
        try:
            racy = self.started_ns - RACY_NS
            pairs: list[str] = []
            for path in sorted(_rel(root, p) for p in files):
                sig, changed = view.sample(path)
                if changed >= racy:
                    return f"{path} changed in the last {RACY_NS // 1_000_000_000} s"
                pairs += [path, sig]
            kinds: list[str] = []
            for path in state_entries(root, session):
                kinds += [_rel(root, path), view.kind(_rel(root, path))]
        finally:
            view.close()
        code_now = code_signature()
        entry = {
            "request": request(root, session, fmt),
            "code": code_now,
            "session": session_id,
            "kinds": kinds,
            "files": pairs,
            "output": output,
            "exit": code,
        }
        others = [
            e
            for e in read_entries(root)
            if isinstance(e, dict)
            and e.get("request") != entry["request"]
            and e.get("code") == code_now  # older code's answers are stale
        ]
        data = {"version": VERSION, "entries": [entry, *others[: MAX_ENTRIES - 1]]}
        try:
            atomic_write_bytes(
                Path(memo_path(root)),
                json.dumps(data, separators=(",", ":")).encode(),
                fsync=False,
            )
        except OSError as exc:
            return f"{memo_path(root)}: {exc.strerror}"
        return None


def _rel(root: str, path: str) -> str:
    return path[len(root) + 1 :] if path.startswith(root + os.sep) else path


def state_entries(root: str, session: str | None) -> list[str]:
    """The entries of the state folder :func:`phasegate.statedir.check_state_dir`
    examines (for every session, and ``session`` when named)."""
    from phasegate.statedir import SESSION_ENTRIES, STATE_ENTRIES

    state = os.path.join(root, STATE_DIR)
    out = [state, *(os.path.join(state, rel) for rel, _ in STATE_ENTRIES)]
    sessions = os.path.join(state, "sessions")
    names: set[str] = set()
    with contextlib.suppress(OSError):
        names.update(e.name for e in os.scandir(sessions))
    if session is not None and "/" not in session and session not in ("", ".", ".."):
        names.add(session)
    for name in sorted(names):
        folder = os.path.join(sessions, name)
        out.append(folder)
        out.extend(os.path.join(folder, rel) for rel, _ in SESSION_ENTRIES)
    return out


def git_state(root: str, listed: Iterable[str], refs: Iterable[str]) -> list[str]:
    """What ``git`` reads to say what new code is: the repository's ``HEAD`` (and the
    branch it names), index, configuration, exclude and attributes files, packed
    references and the candidates of ``refs``; the user's and the system's
    configuration; the ``.gitignore`` and ``.gitattributes`` of every folder ``listed``."""
    out: list[str] = []
    for folder in listed:
        out += [os.path.join(folder, ".gitignore"), os.path.join(folder, ".gitattributes")]
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    out += [os.path.join(home, ".gitconfig"), "/etc/gitconfig"]
    out += [os.path.join(xdg, "git", name) for name in ("config", "ignore", "attributes")]
    top = root
    while not os.path.lexists(os.path.join(top, ".git")):
        parent = os.path.dirname(top)
        if parent == top:
            return out
        top = parent
    dot = os.path.join(top, ".git")
    gitdir = dot
    if os.path.isfile(dot):  # a worktree or a submodule: "gitdir: <path>"
        out.append(dot)
        line = _read_text(dot)
        if line.startswith("gitdir:"):
            gitdir = os.path.normpath(os.path.join(top, line[len("gitdir:") :].strip()))
    common = gitdir
    commondir = _read_text(os.path.join(gitdir, "commondir"))
    if commondir:
        common = os.path.normpath(os.path.join(gitdir, commondir))
        out.append(os.path.join(gitdir, "commondir"))
    out += [os.path.join(gitdir, name) for name in ("HEAD", "index", "config.worktree")]
    out += [os.path.join(common, name) for name in ("packed-refs", "config")]
    out += [os.path.join(common, "info", name) for name in ("exclude", "attributes")]
    names: list[str] = []  # full reference names
    head = _read_text(os.path.join(gitdir, "HEAD"))
    if head.startswith("ref:"):
        names.append(head[len("ref:") :].strip())
    for ref in refs:  # a name git resolves: its candidates (gitrevisions(7)), in order
        name = ref
        for stop in "~^@:{":
            name = name.split(stop, 1)[0]
        if name:
            names += [name, f"refs/{name}", f"refs/tags/{name}", f"refs/heads/{name}"]
            names += [f"refs/remotes/{name}", f"refs/remotes/{name}/HEAD"]
    for name in names:
        if not name.startswith("/") and ".." not in name.split("/"):
            out += [os.path.join(common, name), os.path.join(gitdir, name)]
    return out


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip()
    except (OSError, UnicodeDecodeError):
        return ""
