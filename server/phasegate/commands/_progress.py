"""Live progress on a terminal: the check that runs, the tool it runs, how many are done.

``validate`` and ``baseline`` show a progress line on standard error while the checks
run, such as::

    ⠹ implementation · IMPL-LINT (ruff) ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━  3/12 checks 0:00:04

``remediate`` shows the same line, naming in turn the check that runs and the persona
at work (``implementation · backend_developer: remediation iteration 1: owner of failed
IMPL-STUB (claude)``), with what each step did printed above it; ``run`` / ``resume``
name the running check in their status line. It is shown only
when standard error is a terminal (and ``TERM`` is not ``dumb``), and disappears when the
checks are done: standard output (``--format json``) and logs that are not a terminal
(CI) get nothing from it. ``PHASEGATE_PROGRESS=1`` shows it anyway (``0``: never).

The check comes from the gate runner (:class:`ObservedRunner` tells an observer when a
check starts and ends); the tool is the program the check's thread runs at that moment
(phasegate's process's, when no check runs: a persona at work), read from ``/proc``
(Linux; elsewhere the check alone is named). Rich is imported only when the progress
is shown.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from phasegate.runner import FileShare, GateRunner, ResolvedCheck

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.progress import Progress, Task, TaskID

    from phasegate.model import CheckResult

ENV = "PHASEGATE_PROGRESS"


def progress_wanted(stream: TextIO | None = None) -> bool:
    """Whether to show live progress on ``stream`` (default: standard error)."""
    forced = os.environ.get(ENV, "").strip().lower()
    if forced in ("1", "true", "yes", "on", "always"):
        return True
    if forced in ("0", "false", "no", "off", "never"):
        return False
    stream = sys.stderr if stream is None else stream
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False
    return tty and os.environ.get("TERM", "") != "dumb"


def progress_console() -> Console:
    """The console the progress is drawn on: standard error, as a terminal."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, force_terminal=True, force_interactive=True)


# -- the tool that runs ---------------------------------------------------------------
# interpreters and launchers: the tool is the script or module they run
_LAUNCHERS = re.compile(
    r"^(python[0-9.]*|pypy[0-9.]*|node|nodejs|bun|deno|sh|bash|dash|zsh|ruby|perl|env|npx|"
    r"uv|uvx|pipx)$"
)
# their options that take a value (not the script)
_VALUED = {"-X", "-W", "-r", "--require", "--import", "--loader", "--from"}


def tool_name(argv: list[str]) -> str | None:
    """The name of the tool ``argv`` runs: ``ruff`` for ``/x/bin/ruff check .``,
    ``pytest`` for ``python -m pytest`` or ``python /x/bin/pytest``, ``eslint`` for
    ``node /x/node_modules/.bin/eslint``."""
    if not argv or not argv[0]:
        return None
    name = os.path.basename(argv[0])
    if not _LAUNCHERS.match(name):
        return name
    args = iter(argv[1:])
    for arg in args:
        if arg in ("-m",):
            module = next(args, "")
            return module.split(".")[0] or name
        if arg in ("-c", "-e", "--eval"):
            return name  # inline code: the interpreter is the tool
        if arg in _VALUED:
            next(args, None)
            continue
        if arg.startswith("-") or (name == "env" and "=" in arg):
            continue
        return tool_name([arg, *args]) if name in ("env", "npx", "uvx") else Path(arg).name
    return name


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def _children(pid: int, thread: int | None = None) -> list[int]:
    """The processes ``pid`` (its thread ``thread``, when the system tells) started and
    that still run (Linux ``/proc``; elsewhere none)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    if thread is not None and str(thread) in tasks:
        tasks = [str(thread)]
    kids: list[int] = []
    listed = False
    for tid in tasks:
        path = f"/proc/{pid}/task/{tid}/children"
        if os.path.exists(path):
            listed = True
            kids += [int(k) for k in _read(path).split() if k.isdigit()]
    if listed:
        return kids
    # a kernel without the children files: every process's parent, from its stat line
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _read(f"/proc/{entry}/stat")
            fields = stat.rpartition(b")")[2].split()
            if len(fields) > 1 and fields[1] == str(pid).encode():
                kids.append(int(entry))
    return kids


def running_tools(pid: int | None = None, thread: int | None = None) -> list[str]:
    """The names of the tools process ``pid`` (default: this one) runs now, oldest first:
    only those its thread ``thread`` (a native thread id) started, when given."""
    names: list[str] = []
    for kid in sorted(_children(os.getpid() if pid is None else pid, thread)):
        argv = [a.decode("utf-8", "replace") for a in _read(f"/proc/{kid}/cmdline").split(b"\0")]
        name = tool_name([a for a in argv if a] or [""])
        if name and name not in names:
            names.append(name)
    return names


class ToolProbe:
    """:func:`running_tools`, read at most every ``interval`` seconds; those of the
    thread that runs a check while one runs (:meth:`follow`)."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.thread: int | None = None
        self._at = -1.0
        self._names: list[str] = []

    def follow(self, thread: int | None) -> None:
        """Name the tools of native thread ``thread`` only (None: of every thread)."""
        self.thread = thread
        self._at = -1.0

    def names(self) -> list[str]:
        now = time.monotonic()
        if now - self._at >= self.interval:
            self._names = running_tools(thread=self.thread)
            self._at = now
        return self._names

    def suffix(self) -> str:
        """`` (ruff)`` while ruff runs, else nothing."""
        names = self.names()
        return f" ({', '.join(names)})" if names else ""


# -- the runner that says which check runs ----------------------------------------------
class CheckObserver(Protocol):
    def planned(self, total: int | None) -> None: ...

    def check_started(self, rc: ResolvedCheck) -> None: ...

    def check_finished(self, rc: ResolvedCheck, result: CheckResult) -> None: ...


class ObservedRunner(GateRunner):
    """A :class:`~phasegate.runner.GateRunner` that tells ``observer`` when each check
    starts and ends (in the thread that runs it)."""

    observer: CheckObserver | None = None

    def run_check(self, rc: ResolvedCheck) -> CheckResult:
        observer = self.observer
        if observer is not None:
            observer.check_started(rc)
        result = super().run_check(rc)
        if observer is not None:
            observer.check_finished(rc, result)
        return result

    def _file_pass(self, rcs: list[ResolvedCheck]) -> dict[str, FileShare]:
        # several per-file checks analysed together, before their turns: the line names
        # the first of them meanwhile (each is counted done at its turn)
        observer = self.observer
        if observer is not None and len(rcs) > 1:
            observer.check_started(rcs[0])
        return super()._file_pass(rcs)


def check_label(rc: ResolvedCheck) -> str:
    """``implementation · IMPL-LINT``."""
    return f"{rc.phase} · {rc.config.id}"


# -- the progress line ----------------------------------------------------------------
class CheckProgress:
    """A rich progress line on standard error for checks run by an
    :class:`ObservedRunner`; a context manager (the line disappears at the end)."""

    def __init__(self, console: Console | None = None, title: str = "starting") -> None:
        self.console = console if console is not None else progress_console()
        self.title = title
        self.probe = ToolProbe()
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> CheckProgress:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TimeElapsedColumn,
        )

        progress = Progress(
            SpinnerColumn(),
            doing_column(self.probe),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
            redirect_stdout=False,
        )
        progress.start()
        self._task = progress.add_task(self.title, total=None)
        self._progress = progress
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def planned(self, total: int | None) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=total)

    def check_started(self, rc: ResolvedCheck) -> None:
        self.probe.follow(threading.get_native_id())
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=check_label(rc))

    def check_finished(self, rc: ResolvedCheck, result: CheckResult) -> None:
        self.probe.follow(None)
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)


class StepProgress(CheckProgress):
    """:class:`CheckProgress` for work that runs checks and personas by turns
    (``remediate``): the line names the running check and its tool, or the step at
    work when no check runs (:meth:`working`: a persona, and the program it runs), and
    counts the checks done (``7/?``: how many gates will be evaluated is not known in
    advance). :meth:`line` prints a finished step above the line."""

    def working(self, text: str) -> None:
        """Name what runs now when no check does: ``text`` and the tools this process
        runs (a persona's program)."""
        self.probe.follow(None)
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=text)

    def line(self, text: str) -> None:
        """Print ``text`` (plain, no markup) above the progress line."""
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            self.console.print(text, markup=False, highlight=False, soft_wrap=True)


def doing_column(probe: ToolProbe) -> Any:
    """A rich progress column (built when rich is imported): the task's description
    and the running tool, ``implementation · IMPL-LINT (ruff)``."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class DoingColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            return Text(f"{task.description}{probe.suffix()}", overflow="ellipsis", no_wrap=True)

    return DoingColumn()


class DoingText:
    """A renderable for rich's status line: ``text`` and the tool that runs now."""

    def __init__(self, text: str, probe: ToolProbe) -> None:
        self.text = text
        self.probe = probe

    def __rich__(self) -> RenderableType:
        from rich.markup import escape
        from rich.text import Text

        return Text.from_markup(self.text + escape(self.probe.suffix()))
