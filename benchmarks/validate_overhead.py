"""Overhead of ``phasegate validate`` over running the same tool directly.

On a copy of a source tree (the Python standard library by default), like for like:

1. ``ruff check --output-format json --no-cache --exit-zero .`` (exactly the command
   IMPL-LINT runs), its JSON on standard output sent to /dev/null, against
   ``phasegate validate --format json`` with a configuration holding only IMPL-LINT, its
   JSON (compact: standard output is not a terminal) sent to /dev/null. Every validate
   run starts cold: its result cache (``.phasegate/``) is removed first, so ruff really
   runs each time and validate does all its work (findings, cache, JSON document).
   Target: at most 1.2x.
2. ``pre-commit run --all-files`` with the equivalent ``repo: local`` /
   ``language: system`` hook (same ruff command) against the same ``phasegate validate``,
   in the same tree made a git repository.

Also measured:

- the floor of any Python wrapper: ``python -I -c FLOOR`` runs the same ruff command,
  parses its JSON (pydantic's parser, the fastest at hand) and writes one
  ``path:row:col: code`` line per finding; nothing else. What ``phasegate validate`` costs
  beyond that floor is its own work (findings with their fixes, gate scores, the result
  cache, the JSON document); the floor's own ratio to ruff is what no Python program that
  reads ruff's findings can go below on this tree and machine;
- ``phasegate validate`` again with its cache kept and nothing changed (what a second CI
  run or a re-run in a terminal costs).

The two sides of a comparison run alternately, round after round, so a change in the
load of a shared machine affects both alike. Figures are medians over ``--runs``
rounds: wall-clock time including process start-up, and CPU time (user + system of
the process and its children, i.e. ruff's too).

    python benchmarks/validate_overhead.py [--path DIR] [--runs N] [--select RULES] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from phasegate.checks.implementation.lint import find_ruff

CONFIG = """\
# only the lint check: validate runs exactly one ruff process
[[phases]]
name = "implementation"

[[phases.checks]]
id = "IMPL-LINT"
"""


# The least a Python program can do with ruff's findings: run ruff, parse, print each one.
FLOOR = """\
import subprocess, sys
from pydantic_core import from_json
out = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, check=True).stdout
lines = [
    f"{d['filename']}:{d['location']['row']}:{d['location']['column']}: {d['code']}\\n"
    for d in from_json(out)
]
sys.stdout.write("".join(lines))
"""


def precommit_config(ruff: str) -> str:
    return f"""\
repos:
  - repo: local
    hooks:
      - id: ruff
        name: ruff (as IMPL-LINT runs it)
        entry: {ruff} check --output-format json --no-cache --exit-zero .
        language: system
        pass_filenames: false
        always_run: true
"""


def copy_tree(src: Path, dst: Path) -> int:
    ignore = shutil.ignore_patterns("site-packages", "__pycache__", "*.pyc", ".git")
    shutil.copytree(src, dst, ignore=ignore, symlinks=True)
    return sum(1 for _ in dst.rglob("*.py"))


@dataclass
class Side:
    """One command measured: its wall-clock and CPU samples."""

    name: str
    argv: Sequence[str]
    before: Callable[[], None] = lambda: None
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def run(self, cwd: Path, env: dict[str, str], record: bool = True) -> None:
        self.before()
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(
            self.argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        elapsed = time.perf_counter() - start
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode not in (0, 1):
            err = proc.stderr.decode(errors="replace")[-2000:]
            raise SystemExit(f"{self.argv[0]} failed ({proc.returncode}): {err}")
        if record:
            self.wall.append(elapsed)
            cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            self.cpu.append(cpu)

    @property
    def wall_s(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_s(self) -> float:
        return statistics.median(self.cpu)


def alternate(sides: list[Side], cwd: Path, env: dict[str, str], runs: int) -> None:
    """One unmeasured warm-up run each, then ``runs`` rounds running each side once."""
    for side in sides:
        side.run(cwd, env, record=False)
    for _ in range(runs):
        for side in sides:
            side.run(cwd, env)


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b > 0 else float("inf")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--path", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument(
        "--select",
        help="ruff rules for both sides (written to the copy's ruff.toml), e.g. E9,F63,F7,F82; "
        "default: the tree's own configuration or ruff's defaults",
    )
    args = ap.parse_args()

    bindir = Path(sys.executable).parent
    phasegate = shutil.which("phasegate", path=str(bindir)) or shutil.which("phasegate")
    precommit = shutil.which("pre-commit", path=str(bindir)) or shutil.which("pre-commit")
    if phasegate is None:
        raise SystemExit("phasegate is not installed")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="pg-bench-") as tmp:
        root = Path(tmp) / "tree"
        n_py = copy_tree(args.path, root)
        ruff = find_ruff(root, trusted=False)
        if ruff is None:
            raise SystemExit("ruff not found")
        (root / "phasegate.toml").write_text(CONFIG)
        if args.select:
            rules = ", ".join(f'"{r.strip()}"' for r in args.select.split(",") if r.strip())
            (root / "ruff.toml").write_text(f"[lint]\nselect = [{rules}]\n")
        env = dict(os.environ, PRE_COMMIT_HOME=str(Path(tmp) / "pre-commit-home"))

        def clear_state() -> None:
            shutil.rmtree(root / ".phasegate", ignore_errors=True)

        ruff_argv = [ruff, "check", "--output-format", "json", "--no-cache", "--exit-zero", "."]
        validate_argv = [phasegate, "validate", "--format", "json", str(root)]
        listed = subprocess.run(ruff_argv, cwd=root, capture_output=True, check=True).stdout
        n_findings = len(json.loads(listed))

        ruff_side = Side("ruff", ruff_argv)
        floor_side = Side("floor", [sys.executable, "-I", "-c", FLOOR, *ruff_argv])
        val_side = Side("validate", validate_argv, clear_state)
        alternate([ruff_side, floor_side, val_side], root, env, args.runs)
        warm_side = Side("validate (cache kept)", validate_argv)
        alternate([warm_side], root, env, args.runs)

        figures: dict[str, object] = {
            "tree": str(args.path),
            "python_files": n_py,
            "ruff_rules": args.select or "default",
            "findings": n_findings,
            "runs": args.runs,
            "ruff_s": round(ruff_side.wall_s, 3),
            "validate_s": round(val_side.wall_s, 3),
            "validate_over_ruff": ratio(val_side.wall_s, ruff_side.wall_s),
            "ruff_cpu_s": round(ruff_side.cpu_s, 3),
            "validate_cpu_s": round(val_side.cpu_s, 3),
            "validate_over_ruff_cpu": ratio(val_side.cpu_s, ruff_side.cpu_s),
            "floor_s": round(floor_side.wall_s, 3),
            "floor_over_ruff": ratio(floor_side.wall_s, ruff_side.wall_s),
            "validate_over_floor": ratio(val_side.wall_s, floor_side.wall_s),
            "validate_warm_s": round(warm_side.wall_s, 3),
            "samples": {
                "ruff": ruff_side.wall,
                "validate": val_side.wall,
                "floor": floor_side.wall,
                "validate_warm": warm_side.wall,
            },
        }
        if precommit is not None:
            (root / ".pre-commit-config.yaml").write_text(precommit_config(ruff))
            git = ["git", "-c", "user.email=bench@example.invalid", "-c", "user.name=bench"]
            subprocess.run([*git, "init", "-q", "."], cwd=root, check=True)
            subprocess.run([*git, "add", "-A", "."], cwd=root, check=True)
            pc_side = Side("pre-commit", [precommit, "run", "--all-files"])
            val2_side = Side("validate (git)", validate_argv, clear_state)
            alternate([pc_side, val2_side], root, env, args.runs)
            figures.update(
                precommit_s=round(pc_side.wall_s, 3),
                validate_in_git_repo_s=round(val2_side.wall_s, 3),
                validate_over_precommit=ratio(val2_side.wall_s, pc_side.wall_s),
                precommit_cpu_s=round(pc_side.cpu_s, 3),
                validate_in_git_repo_cpu_s=round(val2_side.cpu_s, 3),
                validate_over_precommit_cpu=ratio(val2_side.cpu_s, pc_side.cpu_s),
            )
            samples = figures["samples"]
            assert isinstance(samples, dict)
            samples.update(precommit=pc_side.wall, validate_in_git_repo=val2_side.wall)
        else:
            figures["precommit_s"] = None
    figures["load_average"] = [round(x, 2) for x in (*load_before, *os.getloadavg())]

    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    f = figures
    print(f"tree: {f['tree']} ({n_py} Python files), median of {args.runs} alternating rounds")
    print(f"  ruff rules: {f['ruff_rules']}; findings: {f['findings']}")
    print("  compared: ruff's JSON to /dev/null vs validate's JSON to /dev/null (cold cache)")
    print("                              wall        CPU (user+sys, with children)")
    print(f"  ruff check alone           {f['ruff_s']:.3f} s     {f['ruff_cpu_s']:.3f} s")
    print(f"  phasegate validate (LINT)  {f['validate_s']:.3f} s     {f['validate_cpu_s']:.3f} s")
    print(
        f"  ratio validate / ruff      {f['validate_over_ruff']:.2f}x       "
        f"{f['validate_over_ruff_cpu']:.2f}x   (target <= 1.2x)"
    )
    print(
        f"  floor: Python reads ruff   {f['floor_s']:.3f} s     "
        f"(floor / ruff {f['floor_over_ruff']:.2f}x; validate / floor "
        f"{f['validate_over_floor']:.2f}x)"
    )
    print(f"  validate, cache kept       {f['validate_warm_s']:.3f} s")
    if f.get("precommit_s") is not None:
        print(
            f"  pre-commit run --all-files {f['precommit_s']:.3f} s     "
            f"{f['precommit_cpu_s']:.3f} s"
        )
        print(
            f"  phasegate validate (git)   {f['validate_in_git_repo_s']:.3f} s     "
            f"{f['validate_in_git_repo_cpu_s']:.3f} s"
        )
        print(
            f"  ratio validate / pre-commit {f['validate_over_precommit']:.2f}x      "
            f"{f['validate_over_precommit_cpu']:.2f}x"
        )
    else:
        print("  pre-commit not installed: comparison skipped")
    print(f"  load average before/after: {f['load_average']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
