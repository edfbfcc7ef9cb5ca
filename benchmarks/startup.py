"""Start-up cost of the ``phasegate`` commands, against ``python -c pass`` and ``ruff check``.

Each command is run as a user runs it (the ``phasegate`` program installed next to the
running Python), its output sent to a pipe:

* ``--help``, ``--version``;
* ``status`` and ``sessions`` (text and ``--format json``) in a workspace with a
  completed session: a copy of ``examples/taskboard`` made a git repository, driven
  through its phases once (``run --untrusted``) while the benchmark sets up. ``status``
  keeps its answer in a memo (``.phasegate/status.json``) and gives it again
  while nothing it was made from changed: ``status`` is measured with its memo made
  (``memo warm``: every answer but the first in the warm-up comes from it) and, in a
  second workspace set up the same way, with the memo removed before each run (``memo
  cold``: the first ``status`` after a change, which makes the answer and writes the
  memo). The benchmark waits a few seconds after setting up, so that no file the
  answer is made from changed too recently for the memo to be written;
* ``--status-sizes 1000,10000``: ``status`` (memo warm and cold, text) in generated
  workspaces of that many Python modules (``hook_latency.make_workspace``), each with a
  completed session (``run --untrusted``);
* ``hook`` answering a no-op event (``{}`` on standard input: logged and ignored);
* ``validate`` on a one-file workspace (one Python module and a configuration holding
  only IMPL-LINT, as ``benchmarks/validate_overhead.py`` does): ``warm`` with its result
  cache kept (nothing to run), ``cold`` with ``.phasegate/`` removed before each run
  (ruff runs), compared with ``ruff check --output-format json --no-cache --exit-zero .``
  on the same workspace (exactly what IMPL-LINT runs);
* ``run`` until its session exists: ``phasegate run`` in a fresh copy of the session
  workspace (no ``.phasegate``) is started and killed as soon as the session's
  checkpoint is on disk (the benchmark polls for it every millisecond): the time a user
  waits before the session can be resumed, listed or shown.

The commands run in turn, round after round (one unmeasured warm-up round first), so a
change in the load of a shared machine affects them alike. Figures are medians over
``--runs`` rounds: wall-clock time including Python's start-up, and CPU time (user +
system of the process and its children, from ``getrusage(RUSAGE_CHILDREN)``). Ratios
are to ``python -c pass`` (the start-up of the same interpreter doing nothing) and, for
``validate``, to ``ruff check``. The load average and the number of cores are printed,
before and after.

Python may write bytecode during the warm-up round (``PYTHONDONTWRITEBYTECODE`` is
dropped for the commands), so a module changed since it was last compiled is not
compiled again at every run, as with an installed package. ``--pythonpath DIR`` runs
the phasegate package found in ``DIR`` instead of the installed one. ``--before DIR``
runs the package in ``DIR`` too (an export of an earlier commit, say: ``git archive
HEAD server | tar -x -C /tmp/before`` and ``--before /tmp/before/server``), each
command of each version in its own workspaces and in the same rounds, so that the
comparison holds on a shared machine; the last column is the CPU time after / before.

Command names for ``--only``: ``--help``, ``--version``, ``status``, ``status --format
json``, ``status (memo cold)``, ``status --format json (memo cold)``, ``status [N files]``,
``status [N files] (memo cold)``, ``sessions``, ``sessions --format json``, ``hook (no-op
event)``, ``validate one-file warm``, ``validate one-file cold``, ``run until the
session exists``.

    python benchmarks/startup.py [--runs N] [--only NAME,...] [--pythonpath DIR]
                                 [--before DIR] [--keep DIR] [--status-sizes N,...]
                                 [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hook_latency import make_workspace

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "taskboard"
REQUIREMENT = "Tasks can be marked overdue"
STATUS_MEMO = Path(".phasegate") / "status.json"
# status writes no memo while a file its answer is made from changed in the last 3 s
SETTLE_S = 3.5

ONE_FILE_CONFIG = """\
# only the lint check: validate runs exactly one ruff process
[[phases]]
name = "implementation"

[[phases.checks]]
id = "IMPL-LINT"
"""

ONE_FILE_MODULE = """\
import os


def add(a: int, b: int) -> int:
    return a + b
"""


@dataclass
class Side:
    """One command measured round after round."""

    name: str
    argv: Sequence[str]
    cwd: Path
    env: dict[str, str]
    stdin: bytes | None = None
    before: Callable[[], None] = lambda: None
    # run until this file exists, then kill (None: run to the end)
    until: Callable[[], Path] | None = None
    against: str = "python -c pass"  # what its ratio is to
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def run(self, record: bool = True) -> None:
        self.before()
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        if self.until is None:
            proc = subprocess.run(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                input=self.stdin,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            elapsed = time.perf_counter() - start
            if proc.returncode not in (0, 1):
                err = proc.stderr.decode(errors="replace")[-2000:]
                raise SystemExit(f"{self.name} failed ({proc.returncode}): {err}")
        else:
            elapsed = self._run_until(self.until(), start)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if record:
            self.wall.append(elapsed)
            self.cpu.append((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))

    def _run_until(self, target: Path, start: float) -> float:
        proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            while not target.exists():
                if proc.poll() is not None:
                    err = (proc.stderr.read() if proc.stderr else b"").decode(errors="replace")
                    raise SystemExit(f"{self.name} ended before {target} existed: {err[-2000:]}")
                time.sleep(0.001)
            elapsed = time.perf_counter() - start
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()
        return elapsed

    @property
    def wall_ms(self) -> float:
        return round(1000 * statistics.median(self.wall), 1)

    @property
    def cpu_ms(self) -> float:
        return round(1000 * statistics.median(self.cpu), 1)


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b > 0 else float("inf")


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def find_program(name: str) -> str:
    bindir = Path(sys.executable).parent
    found = shutil.which(name, path=str(bindir)) or shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is not installed")
    return found


def environment(pythonpath: Path | None) -> dict[str, str]:
    """The commands' environment: this Python's folder first on PATH (the workspaces'
    interpreter, with pytest and coverage), bytecode written, and the phasegate package
    of ``pythonpath`` when given."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_PROJECT_DIR") and k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")
    }
    if pythonpath is not None:
        if not (pythonpath / "phasegate" / "__init__.py").is_file():
            raise SystemExit(f"no phasegate package in {pythonpath}")
        env["PYTHONPATH"] = str(pythonpath.resolve())
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def start_session(workspace: Path, phasegate: str, env: dict[str, str]) -> None:
    """A completed session ``s1`` in ``workspace`` (``run --untrusted``)."""
    subprocess.run(
        [phasegate, "run", "-r", REQUIREMENT, "--session", "s1", "--untrusted"],
        cwd=workspace,
        env=env,
        capture_output=True,
        check=False,
    )
    if not (workspace / ".phasegate/sessions/s1/checkpoint.json").exists():
        raise SystemExit(f"setting up the session in {workspace} failed")


def remove_memo(workspace: Path) -> Callable[[], None]:
    def remove() -> None:
        (workspace / STATUS_MEMO).unlink(missing_ok=True)

    return remove


def phasegate_sides(
    base: Path, phasegate: str, env: dict[str, str], label: str, status_sizes: Sequence[int] = ()
) -> list[Side]:
    """The phasegate commands, in workspaces of their own under ``base`` made by the same
    phasegate (so that its result cache is its own). ``label`` is added to the names."""
    base.mkdir(parents=True)
    template = base / "session-template"
    shutil.copytree(EXAMPLE, template, ignore=shutil.ignore_patterns(".phasegate", "__pycache__"))
    git(template, "init", "-q")
    git(template, "add", "-A")
    git(template, "commit", "-q", "-m", "start")

    # two workspaces set up alike: status's memo kept in one, removed before each run in
    # the other (copying a session would leave the result cache's memo of content hashes
    # stale: every input read again)
    with_session = base / "with-session"
    cold_session = base / "with-session-memo-cold"
    for workspace in (with_session, cold_session):
        shutil.copytree(template, workspace, symlinks=True)
        start_session(workspace, phasegate, env)

    one = base / "one-file"
    one.mkdir()
    (one / "app.py").write_text(ONE_FILE_MODULE)
    (one / "phasegate.toml").write_text(ONE_FILE_CONFIG)
    subprocess.run([phasegate, "validate"], cwd=one, env=env, capture_output=True, check=False)

    run_ws = base / "run"
    shutil.copytree(template, run_ws, symlinks=True)

    def fresh_run_workspace() -> None:
        shutil.rmtree(run_ws, ignore_errors=True)
        shutil.copytree(template, run_ws, symlinks=True)

    def clear_one_file_cache() -> None:
        shutil.rmtree(one / ".phasegate", ignore_errors=True)

    def named(name: str) -> str:
        return f"{name} [{label}]" if label else name

    pg = phasegate
    json_status = [pg, "status", "--format", "json"]
    sized: list[Side] = []
    for size in status_sizes:
        made = []
        for kind in ("warm", "cold"):
            workspace = base / f"status-{size}-{kind}"
            workspace.mkdir()
            make_workspace(workspace, size)
            start_session(workspace, phasegate, env)
            made.append(workspace)
        sized += [
            Side(named(f"status [{size} files]"), [pg, "status"], made[0], env),
            Side(
                named(f"status [{size} files] (memo cold)"),
                [pg, "status"],
                made[1],
                env,
                before=remove_memo(made[1]),
            ),
        ]
    return [
        Side(named("--help"), [pg, "--help"], base, env),
        Side(named("--version"), [pg, "--version"], base, env),
        Side(named("status"), [pg, "status"], with_session, env),
        Side(named("status --format json"), json_status, with_session, env),
        Side(
            named("status (memo cold)"),
            [pg, "status"],
            cold_session,
            env,
            before=remove_memo(cold_session),
        ),
        Side(
            named("status --format json (memo cold)"),
            json_status,
            cold_session,
            env,
            before=remove_memo(cold_session),
        ),
        *sized,
        Side(named("sessions"), [pg, "sessions"], with_session, env),
        Side(
            named("sessions --format json"),
            [pg, "sessions", "--format", "json"],
            with_session,
            env,
        ),
        Side(named("hook (no-op event)"), [pg, "hook"], with_session, env, stdin=b"{}"),
        Side(
            named("validate one-file warm"),
            [pg, "validate", "--format", "json"],
            one,
            env,
            against="ruff check",
        ),
        Side(
            named("validate one-file cold"),
            [pg, "validate", "--format", "json"],
            one,
            env,
            before=clear_one_file_cache,
            against="ruff check",
        ),
        Side(
            named("run until the session exists"),
            [pg, "run", "-r", REQUIREMENT, "--session", "b1"],
            run_ws,
            env,
            before=fresh_run_workspace,
            until=lambda: run_ws / ".phasegate/sessions/b1/checkpoint.json",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="measured rounds (default 15)")
    parser.add_argument("--only", default="", help="comma-separated command names to run")
    parser.add_argument(
        "--pythonpath", type=Path, default=None, help="run the phasegate package in this folder"
    )
    parser.add_argument(
        "--before",
        type=Path,
        default=None,
        help="also run the phasegate package in this folder, in the same rounds",
    )
    parser.add_argument("--keep", type=Path, default=None, help="keep the workspaces here")
    parser.add_argument(
        "--status-sizes",
        default="",
        help="also measure status in generated workspaces of these many modules (1000,10000)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    sizes = [int(n) for n in args.status_sizes.split(",") if n.strip()]

    phasegate = find_program("phasegate")
    ruff = find_program("ruff")
    env = environment(args.pythonpath)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        base = Path(tempfile.mkdtemp(prefix="startup-", dir=args.keep))
    else:
        base = Path(tempfile.mkdtemp(prefix="phasegate-startup-"))
    report: dict[str, Any] = {
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "pythonpath": str(args.pythonpath) if args.pythonpath else None,
        "before": str(args.before) if args.before else None,
    }
    try:
        commands = phasegate_sides(base / "current", phasegate, env, "", sizes)
        if args.before is not None:
            before_env = environment(args.before)
            old = phasegate_sides(base / "before", phasegate, before_env, "before", sizes)
            commands = [side for pair in zip(commands, old, strict=True) for side in pair]
        if args.only:
            wanted = {n.strip() for n in args.only.split(",")}
            commands = [s for s in commands if s.name.removesuffix(" [before]") in wanted]
        if any(s.name.startswith("status") for s in commands):
            time.sleep(SETTLE_S)  # see the module: status's memo can be written from now on
        one = base / "current" / "one-file"
        py = sys.executable
        ruff_argv = [ruff, "check", "--output-format", "json", "--no-cache", "--exit-zero", "."]
        sides = [
            Side("python -c pass", [py, "-c", "pass"], base, env, against=""),
            Side("ruff check", ruff_argv, one, env, against=""),
            *commands,
        ]
        for side in sides:  # warm-up: bytecode caches, file system caches
            side.run(record=False)
        for _ in range(args.runs):
            for side in sides:
                side.run()
        by_name = {s.name: s for s in sides}
        rows = []
        for side in sides:
            row: dict[str, Any] = {
                "command": side.name,
                "wall_ms": side.wall_ms,
                "cpu_ms": side.cpu_ms,
            }
            ref = by_name.get(side.against)
            if ref is not None:
                row["against"] = side.against
                row["wall_ratio"] = ratio(side.wall_ms, ref.wall_ms)
                row["cpu_ratio"] = ratio(side.cpu_ms, ref.cpu_ms)
            old_side = by_name.get(f"{side.name} [before]")
            if old_side is not None:
                row["cpu_vs_before"] = ratio(side.cpu_ms, old_side.cpu_ms)
            rows.append(row)
        report["runs"] = args.runs
        report["commands"] = rows
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    report["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(
        f"Python {report['python']}, {report['cpus']} cores, load average at start "
        f"{report['load_average_start']}, at end {report['load_average_end']}; "
        f"medians of {args.runs} interleaved rounds"
    )
    if args.pythonpath:
        print(f"phasegate from {args.pythonpath}")
    if args.before:
        print(f"[before]: phasegate from {args.before}")
    print(
        f"{'command':<45} {'wall ms':>8} {'CPU ms':>8} {'wall x':>7} {'CPU x':>7}  "
        f"{'against':<15} {'CPU vs before':>13}"
    )
    for row in rows:
        wr = f"{row['wall_ratio']:.2f}" if "wall_ratio" in row else "-"
        cr = f"{row['cpu_ratio']:.2f}" if "cpu_ratio" in row else "-"
        vs = f"{row['cpu_vs_before']:.2f}" if "cpu_vs_before" in row else ""
        print(
            f"{row['command']:<45} {row['wall_ms']:>8.1f} {row['cpu_ms']:>8.1f} "
            f"{wr:>7} {cr:>7}  {row.get('against', ''):<15} {vs:>13}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
