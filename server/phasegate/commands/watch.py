"""``phasegate watch``: validate a workspace, then again at every change, printing deltas.

It runs on the live core the language server uses (:mod:`phasegate.live`): every check
of every phase (or of ``--phase``) runs once, as ``validate`` runs them; from then on a
changed file re-runs exactly the checks whose inputs it matches (a file-scope check
re-analyses that file only), a changed configuration re-runs everything (an invalid one
is reported and the last valid one stays in force), and once the checks a change
started are done, what changed is printed:

* the findings added and removed, per file (a finding that only moved to another line
  is neither);
* the gates whose status or score changed (scored at the last threshold of the
  schedule, as ``validate`` scores them), and the checks whose status changed (could
  not run, skipped...).

The first report is the whole state (everything "added"). ``--format json`` prints one
JSON object per line: ``{"event": "delta", ...}`` per report, ``{"event": "config", ...}``
when the configuration's problems change, ``{"event": "stopped"}`` at the end (see
docs/user-guide.md). Messages for people go to standard error.

Files are watched with the operating system's notifications (:mod:`watchfiles`), or by
polling every second (``--poll``, or when notifications cannot be used). Like
``validate``, it writes only the result cache in ``DIR/.phasegate/``.

Ctrl-C (SIGINT) or SIGTERM stops it: the running checks are stopped (their programs
killed), the cache is written, and it exits with 0 — stopping is how a watch ends, not a
failure. Exit status 2: the configuration is invalid at the start, ``--phase`` names no
phase, or the state folder cannot be used.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import click

from phasegate.cli import error
from phasegate.commands._state import check_state
from phasegate.commands._workspace import workspace_params
from phasegate.live.core import Level, LiveCore
from phasegate.live.delta import CheckState, Delta, DeltaTracker, FileDelta, GateState, Shown
from phasegate.live.engine import ConfigProblem, Engine
from phasegate.live.options import LiveOptions
from phasegate.live.watch import FileWatcher
from phasegate.model import GateResult

EXIT_STOPPED = 0
EXIT_ERROR = 2


class _Stop(Exception):
    """Standard output is gone: nothing more can be reported."""


# -- output ---------------------------------------------------------------------------
class _Output:
    """Reports as text lines for people or JSON lines for programs."""

    def __init__(self, root: Path, fmt: str) -> None:
        self.root = root
        self.json = fmt == "json"

    def _line(self, text: str) -> None:
        try:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
        except (BrokenPipeError, ValueError, OSError) as exc:
            raise _Stop from exc

    def _json(self, doc: dict[str, Any]) -> None:
        from phasegate.commands._output import dump_json

        self._line(dump_json(doc, pretty=False).decode("utf-8", errors="replace"))

    def message(self, text: str, level: Level) -> None:
        prefix = "" if text.startswith("phasegate") else "phasegate: "
        tag = "" if level == "info" else f"{level}: "
        with contextlib.suppress(OSError, ValueError):
            click.echo(f"{prefix}{tag}{text}", err=True)

    def config(self, problems: list[ConfigProblem], *, in_force: bool) -> None:
        if self.json:
            self._json(
                {
                    "event": "config",
                    "problems": [
                        {
                            "path": p.path,
                            "position": {"line": p.line, "character": p.column},
                            "key": p.key,
                            "message": p.message,
                            "severity": p.severity,
                        }
                        for p in problems
                    ],
                }
            )
            return
        for p in problems:
            where = f"{p.path}:{p.line + 1}:{p.column + 1}"
            tag = ": warning" if p.severity == "warning" else ""
            what = f"{p.key}: {p.message}" if p.key else p.message
            self._line(f"{where}{tag}: {what}")
        if any(p.severity == "error" for p in problems) and in_force:
            self._line("the last valid configuration stays in force")
        elif not problems:
            self._line("the configuration is valid again")

    def delta(
        self,
        delta: Delta,
        *,
        initial: bool,
        changed: list[str],
        reloaded: bool,
        header: dict[str, Any],
    ) -> None:
        if self.json:
            self._json(
                {
                    "event": "delta",
                    "initial": initial,
                    **header,
                    "changed": changed,
                    "reloaded": reloaded,
                    "files": [self._file(fd) for fd in delta.files],
                    "gates": [
                        {"phase": g.phase, "before": _gate(g.before), "after": _gate(g.after)}
                        for g in delta.gates
                    ],
                    "checks": [
                        {
                            "check": c.id,
                            "phase": c.phase,
                            "before": _check(c.before),
                            "after": _check(c.after),
                        }
                        for c in delta.checks
                    ],
                    **_totals(delta),
                }
            )
            return
        stamp = time.strftime("%H:%M:%S")
        if not initial:
            what = ", ".join(changed) if changed else "the configuration" if reloaded else ""
            self._line(f"{stamp} changed: {what}" if what else f"{stamp} re-validated")
        indent = "" if initial else "  "
        for fd in delta.files:
            for s in fd.added:
                self._line(f"{indent}{'' if initial else '+ '}{_location(s)}")
            for s in fd.removed:
                self._line(f"{indent}- {_location(s)}")
        for c in delta.checks:
            after = c.after
            if initial and after is not None and after.status in ("passed", "failed"):
                continue
            self._line(f"{indent}{c.phase} {c.id}: {_check_text(c.before, after, initial)}")
        for g in delta.gates:
            self._line(f"{indent}{g.phase}: {_gate_text(g.before, g.after, initial)}")
        if not initial and delta.empty:
            self._line(f"{indent}no findings added or removed, no gate changed")
        totals = _totals(delta)
        summary = (
            f"{totals['passed']}/{totals['phases']} gates passed, {totals['findings']} findings"
        )
        if initial:
            summary += f"; watching {header['workspace']} ({header['watcher']}), Ctrl-C to stop"
        self._line(summary)

    def stopped(self) -> None:
        if self.json:
            self._json({"event": "stopped"})
        else:
            self.message("stopped", "info")

    def _file(self, fd: FileDelta) -> dict[str, Any]:
        added = [self._finding(s) for s in fd.added]
        removed = [self._finding(s) for s in fd.removed]
        path = (added or removed)[0]["path"]  # as the findings' own (normalised) paths
        return {"path": path, "added": added, "removed": removed}

    def _finding(self, s: Shown) -> dict[str, Any]:
        from phasegate.commands._output import finding_to_json

        doc = finding_to_json(s.finding, self.root)
        doc["phase"] = s.phase
        if s.finding.baseline_state is not None:
            doc["baseline_state"] = s.finding.baseline_state
        return doc


def _gate(state: GateState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return {"status": state.status, "score": state.score, "threshold": state.threshold}


def _check(state: CheckState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return {"status": state.status, "reason": state.reason}


def _totals(delta: Delta) -> dict[str, int]:
    states = list(delta.gates_now.values())
    passed = sum(1 for g in states if g is not None and g.status == "passed")
    return {"findings": delta.findings, "passed": passed, "phases": len(states)}


def _location(s: Shown) -> str:
    f = s.finding
    start = f.range.start
    tag = f" ({f.baseline_state})" if f.baseline_state in ("new", "unchanged") else ""
    return f"{f.path}:{start.line + 1}:{start.character + 1}: {f.code} {f.message}{tag}"


def _gate_state_text(state: GateState | None) -> str:
    if state is None:
        return "no result"
    if state.score is None:
        return state.status
    return f"{state.status} {state.score:.2f}"


def _gate_text(before: GateState | None, after: GateState | None, initial: bool) -> str:
    threshold = f" (threshold {after.threshold:.2f})" if after is not None else ""
    if initial or before is None:
        return f"{_gate_state_text(after)}{threshold}"
    return f"{_gate_state_text(before)} -> {_gate_state_text(after)}{threshold}"


def _check_state_text(state: CheckState | None) -> str:
    if state is None:
        return "gone"
    status = state.status.replace("_", " ")
    if state.status == "error":
        status = "could not run"
    return f"{status}: {state.reason}" if state.reason else status


def _check_text(before: CheckState | None, after: CheckState | None, initial: bool) -> str:
    if initial or before is None:
        return _check_state_text(after)
    return f"{_check_state_text(before)} -> {_check_state_text(after)}"


# -- the face ---------------------------------------------------------------------------
class _WatchListener:
    """What the live core says, collected until the checks are done."""

    def __init__(self, out: _Output) -> None:
        self.out = out
        self.tracker = DeltaTracker()
        self.changed: set[str] = set()
        self.reloaded = False
        self.activity = asyncio.Event()

    def show(self, paths: set[str]) -> None:
        self.tracker.note(paths)
        self.activity.set()

    def status_changed(self) -> None:
        self.activity.set()

    def message(self, text: str, level: Level) -> None:
        self.out.message(text, level)

    def files_changed(self, paths: set[str]) -> None:
        self.changed |= paths
        self.activity.set()

    def results_reset(self) -> None:
        self.tracker.reset()
        self.reloaded = True
        self.activity.set()


async def _first(*waits: Awaitable[Any]) -> None:
    """Wait until one of ``waits`` is done; cancel the others."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()


class _Watch:
    def __init__(self, root: Path, phase: str | None, fmt: str, trusted: bool, poll: bool) -> None:
        self.root = root
        self.phase = phase
        self.out = _Output(root, fmt)
        self.listener = _WatchListener(self.out)
        self.core = LiveCore(self.listener, LiveOptions(trusted=trusted))
        self.poll = poll
        self.stop = asyncio.Event()
        self._problems: list[ConfigProblem] = []

    def _stop_now(self) -> None:
        self.stop.set()

    def _gates(self, eng: Engine) -> dict[str, GateResult | None]:
        config, live = eng.config, eng.live
        if config is None:
            return {}
        threshold = config.thresholds[-1]
        return {
            p.name: live.gate(p.name, threshold) if live is not None else None
            for p in config.phases
            if self.phase is None or p.name == self.phase
        }

    def _report(self, eng: Engine, initial: bool, header: dict[str, Any]) -> None:
        if eng.problems != self._problems:
            self._problems = list(eng.problems)
            self.out.config(self._problems, in_force=eng.config is not None)
        listener = self.listener
        delta = listener.tracker.take(eng.live, self._gates(eng))
        # the changed files some watched check reads (others changed nothing: not reported)
        checks = (
            [rc for rc in eng.live.checks.values() if self.core.selects(rc)] if eng.live else []
        )
        changed = sorted(p for p in listener.changed if any(rc.matches(p) for rc in checks))
        listener.changed = set()
        reloaded, listener.reloaded = listener.reloaded, False
        if initial or changed or reloaded or not delta.empty:
            self.out.delta(
                delta, initial=initial, changed=changed, reloaded=reloaded, header=header
            )

    async def run(self) -> int:
        core = self.core
        eng = core.open(self.root)
        await core.load()
        if eng.config is None:
            for p in eng.problems:
                where = f"{p.path}:{p.line + 1}:{p.column + 1}"
                click.echo(f"{where}: {p.key}: {p.message}" if p.key else p.message, err=True)
            error(f"{len(eng.config_problems)} configuration error(s)")
            return EXIT_ERROR
        names = [p.name for p in eng.config.phases]
        if self.phase is not None and self.phase not in names:
            known = ", ".join(names) or "none"
            error(f"unknown phase {self.phase!r} (phases: {known})")
            return EXIT_ERROR
        phase = self.phase
        core.select = lambda rc: not rc.entry and (phase is None or rc.phase == phase)
        loop = asyncio.get_running_loop()
        handled: list[signal.Signals] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._stop_now)
                handled.append(sig)
        watcher = FileWatcher(
            eng.root,
            keep=core.scheduler.relevant,
            on_paths=lambda rels: core.paths_changed(rels, watcher.kind),
            prefer="poll" if self.poll else "auto",
            on_message=lambda text: self.out.message(text, "warning"),
        )
        try:
            kind = await watcher.start()  # first: a change made while validating is seen
            await core.serve_local()  # the agent hook asks here rather than alone
            core.verify()
            header = {"workspace": str(eng.root), "watcher": kind}
            initial = True
            while not self.stop.is_set():
                while core.busy and not self.stop.is_set():
                    await _first(core.idle(), self.stop.wait())
                if self.stop.is_set():
                    break
                self.listener.activity.clear()
                self._report(eng, initial, header)
                initial = False
                await _first(self.listener.activity.wait(), self.stop.wait())
        except _Stop:
            pass
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)
            core.close()  # stops the checks (their programs are killed), writes the cache
            await watcher.stop()
        with contextlib.suppress(_Stop):
            self.out.stopped()
        return EXIT_STOPPED


@click.command("watch")
@workspace_params()
@click.option("--phase", "phase", metavar="NAME", help="Watch only this phase's gate.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: lines for people; json: one JSON object per line.",
)
@click.option(
    "--untrusted",
    is_flag=True,
    help="Treat the workspace as untrusted: skip checks that run workspace code.",
)
@click.option(
    "--poll",
    is_flag=True,
    help="Poll the files every second instead of using the system's notifications "
    "(network file systems, containers).",
)
def command(workspace: Path, phase: str | None, fmt: str, untrusted: bool, poll: bool) -> None:
    """Validate the workspace (DIR or -w DIR: the project root found from there), then
    again at every change; print what changed.

    Ctrl-C stops it (exit status 0). Exit status 2: configuration error at the start,
    unknown phase, or a state folder that cannot be used.
    """
    root = workspace
    check_state(root)
    watch = _Watch(root, phase, fmt, not untrusted, poll)
    try:
        code = asyncio.run(watch.run())
    except KeyboardInterrupt:  # no signal handlers on this platform
        code = EXIT_STOPPED
    from phasegate.cli import finish

    finish(code)
