"""``phasegate status``'s memo: its last answers, given again while nothing they were
made from has changed, the way git's index answers ``git status`` from stat data.

``status`` runs nothing, but making its answer means importing the configuration models
and the checks, reading the checkpoint and the result cache, and hashing the inputs of
every completed phase again (and, when the session judges new code, a dozen ``git``
calls). So once it has answered the slow way it keeps, in
``.phasegate/status.json``, the exact text it printed and its exit code with a
**validity key** (:mod:`phasegate.commands._status_record` records it):

* the request: the workspace root, ``--session`` (or none: the active one), ``--format``,
  and what changes how the text is rendered — whether standard output is a terminal,
  the terminal's size, the output encoding, and the environment variables rich, git
  and phasegate read (``COLUMNS``, ``NO_COLOR``, ``FORCE_COLOR``, ``TERM``, ``GIT_*``,
  ``PHASEGATE_*``...);
* phasegate's code (the size and time of each of its modules and of the installed
  packages' folders, as :func:`phasegate.localsock.code_stamp` sees it) and the Python
  running it;
* the stat data (type and mode, inode, size, mtime and ctime; the target's too for a
  link) of everything the answer was made from: the configuration files, the
  active-session pointer, the checkpoint, the result cache files looked up, the input
  files of the checks re-checked, every folder whose listing was read (so that a file
  added or removed counts), and ``git``'s state when it ran;
* the kind (folder, file, link) of every entry of the state folder
  :func:`phasegate.statedir.check_state_dir` examines, so that a state folder ``status``
  refuses is refused again.

This module is the fast path: :func:`answer_program`, called by ``phasegate.__main__``
before the command line is even loaded, and :func:`lookup`, called by the ``status``
command. It imports the standard library only (``json``, ``os``, ``stat``, ``sys``):
when the memo holds an entry for the same request, the same code and the same stat
data, the stored text is printed and the stored exit code returned. Any doubt — a memo
that cannot be read or is behind a link, another request, an option it does not parse,
a workspace it has to look for (a folder without ``phasegate.toml``: then
:func:`phasegate.rootdir.find_root` finds it, as the command does) — and ``status``
answers the slow way.

``PHASEGATE_STATUS_MEMO=off`` neither reads nor writes the memo; ``=debug`` says on
standard error whether the answer came from the memo, why not, and whether it was kept.
"""

from __future__ import annotations

import json
import os
import stat
import sys

ENV = "PHASEGATE_STATUS_MEMO"
STATE_DIR = ".phasegate"
MEMO_FILE = "status.json"  # in the state folder
VERSION = 1
MAX_ENTRIES = 4  # requests kept (text and JSON, on a terminal and piped...)
# what rich reads to decide on a terminal, its size and colours; git's and the user's
# configuration folders; the locale
KEY_ENV = frozenset(
    {
        "COLUMNS",
        "LINES",
        "NO_COLOR",
        "FORCE_COLOR",
        "TTY_COMPATIBLE",
        "TTY_INTERACTIVE",
        "TERM",
        "COLORTERM",
        "JUPYTER_COLUMNS",
        "JUPYTER_LINES",
        "HOME",
        "XDG_CONFIG_HOME",
        "LANG",
        "LC_ALL",
        "LC_CTYPE",
        "TZ",
    }
)
KEY_ENV_PREFIXES = ("PHASEGATE_", "GIT_")
FORMATS = ("text", "json")
# pre-click option names of ``phasegate status`` (see commands/status.py)
_WORKSPACE_OPTS = ("-w", "--workspace")
_VALUE_OPTS = (*_WORKSPACE_OPTS, "--session", "--format")


def debug(message: str) -> None:
    if os.environ.get(ENV) == "debug":
        sys.stderr.write(f"phasegate: status memo: {message}\n")


def enabled() -> bool:
    return os.environ.get(ENV) != "off"


# -- the key ---------------------------------------------------------------------------
def request(root: str, session: str | None, fmt: str) -> dict[str, object]:
    """What the answer is asked for and how it is rendered (see the module)."""
    out = sys.stdout
    try:
        tty: bool | None = out.isatty()
    except (AttributeError, ValueError, OSError):
        tty = None
    size: list[int] | None = None
    for fd in (0, 1, 2):  # as rich looks for the terminal's size
        try:
            size = list(os.get_terminal_size(fd))
            break
        except (AttributeError, ValueError, OSError):
            pass
    env = {
        k: v
        for k, v in os.environ.items()
        if (k in KEY_ENV or k.startswith(KEY_ENV_PREFIXES)) and k != ENV
    }
    return {
        "root": root,
        "session": session,
        "format": fmt,
        "tty": tty,
        "size": size,
        "encoding": getattr(out, "encoding", None),
        "errors": getattr(out, "errors", None),
        "env": dict(sorted(env.items())),
    }


def code_signature() -> str:
    """phasegate's modules and the installed packages' folders (size and modification
    time), and the Python running them: what :func:`phasegate.localsock.code_stamp`
    hashes, not hashed (hashlib costs more to import than the walk)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    lines = [sys.version, sys.executable]
    for folder, dirs, names in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                lines.append(f"{path}={_size_time(path)}")
    for entry in sorted(set(sys.path)):
        if entry.rstrip("/\\").endswith(("site-packages", "dist-packages")):
            lines.append(f"{entry}={_size_time(entry)}")
    return "\n".join(lines)


def _size_time(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return "-"
    return f"{st.st_size}:{st.st_mtime_ns}"


def _sig(st: os.stat_result) -> str:
    return f"{st.st_mode}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


class StatView:
    """Stat data of paths relative to the workspace root (or absolute), asked through a
    descriptor of the root where the platform allows it (no path walked from ``/`` for
    each of thousands of files). :meth:`close` when done."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._fd = -1
        if os.stat in os.supports_dir_fd and os.stat in os.supports_follow_symlinks:
            try:
                self._fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            except OSError:
                self._fd = -1

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def stat(self, path: str, *, follow: bool = False) -> os.stat_result:
        if self._fd >= 0:
            return os.stat(path, dir_fd=self._fd, follow_symlinks=follow)
        return os.stat(os.path.join(self.root, path), follow_symlinks=follow)

    def signature(self, path: str) -> str:
        """``path``'s stat data (type and mode, inode, size, mtime, ctime; a link's
        target's too), ``-`` when it does not exist."""
        return self.sample(path)[0]

    def sample(self, path: str) -> tuple[str, int]:
        """:meth:`signature`, and the time ``path`` (or a link's target) last changed
        (its mtime or ctime, whichever is later; 0 when it does not exist)."""
        try:
            st = self.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return "-", 0
        except (OSError, ValueError) as exc:
            return f"!{getattr(exc, 'errno', '')}", 0
        changed = max(st.st_mtime_ns, st.st_ctime_ns)
        if not stat.S_ISLNK(st.st_mode):
            return _sig(st), changed
        try:
            target = self.stat(path, follow=True)
        except (OSError, ValueError):
            return f"{_sig(st)}>-", changed
        changed = max(changed, target.st_mtime_ns, target.st_ctime_ns)
        return f"{_sig(st)}>{_sig(target)}", changed

    def kind(self, path: str) -> str:
        """What ``path`` is, links not followed: ``d``, ``f``, ``l``, ``o`` (another
        kind), ``-`` (nothing) or ``!`` (it cannot be told)."""
        try:
            mode = self.stat(path).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return "-"
        except (OSError, ValueError):
            return "!"
        if stat.S_ISLNK(mode):
            return "l"
        if stat.S_ISDIR(mode):
            return "d"
        return "f" if stat.S_ISREG(mode) else "o"

    def changed(self, pairs: object, *, kinds: bool = False) -> str | None:
        """None when every ``[path, signature, ...]`` pair (``kinds``: ``[path, kind,
        ...]``) still holds, else the first path that changed."""
        if not isinstance(pairs, list) or len(pairs) % 2:
            return "(unreadable)"
        now = self.kind if kinds else self.signature
        for i in range(0, len(pairs), 2):
            path = pairs[i]
            if not isinstance(path, str) or now(path) != pairs[i + 1]:
                return str(path)
        return None


# -- reading ---------------------------------------------------------------------------
def memo_path(root: str) -> str:
    return os.path.join(root, STATE_DIR, MEMO_FILE)


def read_entries(root: str) -> list[object]:
    """The memo's entries; none when it is missing, unreadable, of another version, or
    behind a link."""
    try:
        if not stat.S_ISDIR(os.lstat(os.path.join(root, STATE_DIR)).st_mode):
            return []  # a link, or not a folder: the command refuses it
    except OSError:
        return []
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(memo_path(root), flags)
    except OSError:
        return []
    try:
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return []
            data = json.loads(fh.read())
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return []
    entries = data.get("entries")
    return entries if isinstance(entries, list) else []


class Answer:
    """A stored answer: the text ``status`` printed and its exit code."""

    __slots__ = ("code", "text")

    def __init__(self, text: str, code: int) -> None:
        self.text = text
        self.code = code

    def write(self) -> None:
        """The text on standard output, as ``status`` printed it (nothing when nobody
        reads any more: the exit code still tells)."""
        try:
            sys.stdout.write(self.text)
            sys.stdout.flush()
        except BrokenPipeError:
            return


# the request the program's fast path looked up in vain: the command does not again
_missed: set[tuple[str, str | None, str]] = set()


def lookup(root: str, session: str | None, fmt: str) -> Answer | None:
    """The stored answer to ``status`` in the resolved workspace ``root`` (with
    ``--session session`` and ``--format fmt``) if nothing it was made from changed;
    None otherwise (see the module)."""
    if not enabled():
        return None
    if (root, session, fmt) in _missed:
        _missed.discard((root, session, fmt))
        return None
    return _lookup(root, session, fmt)


def _lookup(root: str, session: str | None, fmt: str) -> Answer | None:
    entries = read_entries(root)
    if not entries:
        debug("miss: no memo")
        return None
    want = request(root, session, fmt)
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("request") != want:
            continue
        if entry.get("code") != code_signature():
            debug("miss: phasegate's code changed")
            return None
        view = StatView(root)
        try:
            changed = view.changed(entry.get("kinds"), kinds=True)
            if changed is None:
                changed = view.changed(entry.get("files"))
        finally:
            view.close()
        if changed is not None:
            debug(f"miss: {changed} changed")
            return None
        text, code = entry.get("output"), entry.get("exit")
        if not isinstance(text, str) or code not in (0, 1):
            return None
        debug("hit")
        return Answer(text, 1 if code == 1 else 0)
    debug("miss: no answer for this request")
    return None


def parse_args(args: list[str]) -> tuple[str | None, str | None, str] | None:
    """``status``'s arguments (after ``status``) as (workspace given, ``--session``,
    ``--format``), for the forms the fast path takes: ``[DIR]``, ``-w/--workspace DIR``,
    ``--session ID``, ``--format text|json`` (long options also as ``--name=value``),
    each at most once. None for anything else: the command line reads it."""
    seen: dict[str, str] = {}
    positional: str | None = None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--") and "=" in arg:
            name, value = arg.split("=", 1)
            i += 1
        elif arg in _VALUE_OPTS:
            if i + 1 >= len(args):
                return None
            name, value = arg, args[i + 1]
            i += 2
        elif arg.startswith("-") or positional is not None or not arg:
            return None  # --help, an unknown option, a second folder...
        else:
            positional = arg
            i += 1
            continue
        key = "-w" if name in _WORKSPACE_OPTS else name
        if name not in _VALUE_OPTS or key in seen or not value or value.startswith("-"):
            return None
        seen[key] = value
    fmt = seen.get("--format", "text")
    if fmt not in FORMATS:
        return None
    given = [os.path.expanduser(p) for p in (positional, seen.get("-w")) if p is not None]
    for folder in given:
        if not os.path.isdir(folder) or not os.access(folder, os.R_OK):
            return None  # the command line says what is wrong
    if len(given) == 2 and os.path.realpath(given[0]) != os.path.realpath(given[1]):
        return None
    return (given[0] if given else None), seen.get("--session"), fmt


def is_marked_root(folder: str) -> bool:
    """Whether :func:`phasegate.rootdir.find_root` takes ``folder`` (resolved) itself at
    its first step, in the two common cases told without importing it: ``folder`` holds
    ``phasegate.toml``; or it holds ``.phasegate`` and no ``pyproject.toml`` that
    mentions phasegate (one that does is parsed: False, and find_root decides)."""
    if os.path.isfile(os.path.join(folder, "phasegate.toml")):
        return True
    if not os.path.lexists(os.path.join(folder, STATE_DIR)):
        return False
    pyproject = os.path.join(folder, "pyproject.toml")
    if not os.path.isfile(pyproject):
        return True
    try:
        with open(pyproject, "rb") as fh:
            text = fh.read().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return True  # find_root reads such a file as no configuration
    return "phasegate" not in text


def answer_program(args: list[str]) -> int | None:
    """``phasegate status ARGS`` answered from the memo, before the command line is
    loaded: the exit code once the stored text is printed, or None (nothing printed)
    when the command must answer."""
    if not enabled():
        return None
    parsed = parse_args(args)
    if parsed is None:
        return None
    given, session, fmt = parsed
    announce = ""
    try:
        start = os.path.realpath(given if given is not None else os.getcwd())
        if is_marked_root(start):
            root = start
        else:
            from phasegate.rootdir import find_root

            found = find_root(given)
            root = str(found.path)
            if found.moved:  # as commands/_workspace.announce_root says it
                announce = f"phasegate: workspace {found.path} ({found.why})\n"
    except OSError:  # the current folder is gone...: the command says so
        return None
    hit = lookup(root, session, fmt)
    if hit is None:
        _missed.add((root, session, fmt))
        return None
    if announce:
        sys.stderr.write(announce)
        sys.stderr.flush()
    hit.write()
    return hit.code
