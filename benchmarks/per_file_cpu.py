"""CPU per file of the in-process file checks, against a bare ``ast.parse`` and ruff.

A workspace of generated, realistic Python modules (``--files``, 1000 by default; the
modules of :mod:`hook_latency`, about 80 lines each, here with the comments real code has:
a licence header, explanatory comments, ``# noqa`` and ``# type: ignore`` pragmas, a
``#`` inside a string, a ``try``/``except: pass``, and a TODO/FIXME marker in about one
module in twenty) — or any source tree (``--path``) — is measured three ways:

* ``parse``: a bare ``ast.parse`` of every file's text (already in memory): the floor of
  any Python program that looks at the syntax tree of every file;
* ``checks``: IMPL-SYNTAX and IMPL-STUB as ``phasegate validate`` runs them
  (:meth:`phasegate.runner.GateRunner.run_checks`, one pass over the files for both,
  with a result cache that is empty: each round gets a new workspace object, a new cache
  folder and an empty parse memo, so every file is read, hashed and analysed); each
  check's own share is the wall time its result reports (the pass's reading and hashing
  are neither's);
* ``ruff``: ``ruff check --no-cache`` of the same files (its default rules), as an anchor:
  a native linter's cost per file (CPU of the process and all its threads).

CPU is process time (user + system; ruff's from the children's resource usage), beside
wall-clock time. The three run in turn, round after round, in an order that alternates
(``parse, checks, ruff`` then ``ruff, checks, parse``), so a change in the load of a
shared machine affects all alike. Figures are medians over ``--runs`` rounds, per file;
the load average is printed before and after. Target (DESIGN.md): the checks cost at
most 1.5x a bare ``ast.parse``.

    python benchmarks/per_file_cpu.py [--files N | --path DIR] [--runs N] [--json]
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hook_latency import module_text

from phasegate.cache import ResultCache
from phasegate.checks.implementation.ruff_project import bundled_ruff
from phasegate.config import CheckConfig, Config, PhaseConfig
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace

CHECKS = ("IMPL-SYNTAX", "IMPL-STUB")

HEADER = """\
# Copyright (c) 2024 The Bench Authors.
# Licensed under the Apache License, Version 2.0 (the "License"); you may not use this
# file except in compliance with the License.
"""

EXTRA = '''

def parse_line(line: str) -> tuple[str, str]:
    """Split ``key = value`` (a ``#`` starts a comment, as in "a = 1  # one")."""
    # the value keeps inner spaces; a line without "=" is a key alone
    key, _, value = line.partition("=")
    value = value.split("#", 1)[0]  # noqa: E501
    return key.strip(), value.strip()


def load(path: str) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8") as fh:  # type: ignore[unused-ignore]
            for line in fh:
                if line.strip():
                    key, value = parse_line(line)
                    out[key] = value
    except FileNotFoundError:
        pass  # no file: no settings
    return out
'''

MARKERS = ("    # TODO: cache the parsed settings\n", "    # FIXME(bench): values may be quoted\n")


def bench_module(rng: random.Random, index: int, package: str) -> str:
    """:func:`hook_latency.module_text` with the comments of real code (see above)."""
    text = HEADER + module_text(rng, index, package) + EXTRA
    if rng.random() < 0.05:
        marker = MARKERS[index % 2]
        anchor = "    out: dict[str, str] = {}\n"
        text = text.replace(anchor, marker + anchor)
    return text


def make_tree(root: Path, files: int, seed: int = 7) -> None:
    """``files`` modules in packages of 100 (no git repository, no tests)."""
    rng = random.Random(seed)
    for i in range(files):
        package = f"pkg_{i // 100:03d}"
        folder = root / package
        if not folder.exists():
            folder.mkdir(parents=True)
            (folder / "__init__.py").write_text(f'"""Package {package}."""\n')
        (folder / f"mod_{i:05d}.py").write_text(bench_module(rng, i, package))


def python_files(root: Path) -> list[Path]:
    ws = Workspace(root)
    return [root / rel for rel in sorted(ws.glob(["*.py"]))]


def config() -> Config:
    checks = [CheckConfig(id=c) for c in CHECKS]
    return Config(phases=[PhaseConfig(name="implementation", checks=checks)])


def _clear_parse_memo() -> None:
    """Empty the engine's memo of parsed files, where there is one: a cold start."""
    try:
        from phasegate import parsed  # type: ignore[attr-defined, unused-ignore]
    except ImportError:
        return
    parsed.clear()


def run_checks(root: Path, state: Path) -> tuple[float, float, dict[str, float], int]:
    """The checks run cold as ``validate`` runs a gate's checks
    (:meth:`GateRunner.run_checks`: one pass over the files for both): (CPU s, wall s,
    each check's own wall s from its result, the number of findings). The workspace
    index is made first: it is not a per-file check's cost."""
    shutil.rmtree(state, ignore_errors=True)
    _clear_parse_memo()
    runner = GateRunner(Workspace(root), config(), cache=ResultCache(state))
    rcs = runner.checks("implementation")
    runner.workspace.files()
    c0, w0 = time.process_time(), time.perf_counter()
    results = runner.run_checks(rcs)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    own: dict[str, float] = {}
    findings = 0
    for rc, result in zip(rcs, results, strict=True):
        if result.error:
            raise SystemExit(f"{rc.config.id} could not run: {result.error}")
        own[rc.config.id] = result.duration_s
        findings += len(result.findings)
    return cpu, wall, own, findings


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall s, CPU s of this process and its children, what ``fn`` returned)."""
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p0 = time.process_time()
    w0 = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - w0
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    children = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
    return wall, time.process_time() - p0 + children, out


def measure(root: Path, runs: int, work: Path) -> dict[str, Any]:
    paths = python_files(root)
    texts = [(str(p), p.read_text(encoding="utf-8", errors="replace")) for p in paths]
    n = len(texts)
    if n == 0:
        raise SystemExit(f"no Python file under {root}")
    ruff = bundled_ruff() or shutil.which("ruff")

    def parse_all() -> int:
        for name, text in texts:
            with contextlib.suppress(SyntaxError, ValueError, RecursionError, MemoryError):
                ast.parse(text, name)
        return 0

    def ruff_all() -> int:
        assert ruff is not None
        argv = [ruff, "check", "--no-cache", "--isolated", "--exit-zero", "--quiet", "."]
        subprocess.run(argv, cwd=root, capture_output=True, check=True)
        return 0

    sides: dict[str, Callable[[], Any]] = {"parse": parse_all}
    sides["checks"] = lambda: run_checks(root, work / "cache")
    if ruff:
        sides["ruff"] = ruff_all
    walls: dict[str, list[float]] = {k: [] for k in [*sides, *CHECKS]}
    cpus: dict[str, list[float]] = {k: [] for k in [*sides, *CHECKS]}
    findings = 0
    order = list(sides)
    for r in range(runs):
        for name in order if r % 2 == 0 else reversed(order):
            wall, cpu, out = timed(sides[name])
            if name == "checks":  # the checks' own time, without the workspace's index
                cpu, wall, own, findings = out
                for cid, w in own.items():
                    walls[cid].append(w)
            walls[name].append(wall)
            cpus[name].append(cpu)

    def ms(values: list[float]) -> float:
        return round(1000 * statistics.median(values) / n, 4)

    figures: dict[str, Any] = {"python_files": n, "findings": findings, "runs": runs}
    for name in [*sides, *CHECKS]:
        if cpus[name]:  # a check's own share is known as wall time only
            figures[f"{name}_cpu_ms_per_file"] = ms(cpus[name])
        figures[f"{name}_wall_ms_per_file"] = ms(walls[name])
    parse = figures["parse_cpu_ms_per_file"]
    figures["checks_over_parse"] = round(figures["checks_cpu_ms_per_file"] / parse, 2)
    if ruff:
        anchor = figures["ruff_cpu_ms_per_file"]
        figures["checks_over_ruff"] = round(figures["checks_cpu_ms_per_file"] / anchor, 2)
        figures["parse_over_ruff"] = round(parse / anchor, 2)
        figures["ruff"] = ruff
    return figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=1000, help="generated modules")
    ap.add_argument("--path", type=Path, help="measure this source tree instead (copied)")
    ap.add_argument("--runs", type=int, default=5, help="rounds (medians are reported)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="phasegate-per-file-"))
    report: dict[str, Any] = {"load_average_start": [round(x, 2) for x in os.getloadavg()]}
    report["cpus"] = os.cpu_count()
    report["python"] = sys.version.split()[0]
    try:
        tree = work / "tree"
        if args.path is not None:
            shutil.copytree(args.path, tree, symlinks=True)
            report["tree"] = str(args.path)
        else:
            make_tree(tree, args.files)
            report["tree"] = f"{args.files} generated modules"
        report.update(measure(tree, max(1, args.runs), work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"{report['tree']}: {report['python_files']} Python files, Python {report['python']}")
    print(f"load average at start {report['load_average_start']}, {report['cpus']} CPUs")
    print(f"  {'':<22} {'CPU ms/file':>12} {'wall ms/file':>13}")
    rows = ["parse", "checks", *CHECKS]
    if "ruff" in report:
        rows.append("ruff")
    for name in rows:
        label = {"parse": "bare ast.parse", "checks": "checks (both)"}.get(name, name)
        if name in CHECKS:
            label = "  " + name
        cpu = report.get(f"{name}_cpu_ms_per_file")
        shown = "-" if cpu is None else f"{cpu:.3f}"
        print(f"  {label:<22} {shown:>12} {report[f'{name}_wall_ms_per_file']:>13.3f}")
    print(f"checks / bare ast.parse: {report['checks_over_parse']}x (CPU; target <= 1.5x)")
    if "ruff" in report:
        ratios = f"{report['checks_over_ruff']}x; parse / ruff: {report['parse_over_ruff']}x"
        print(f"checks / ruff: {ratios}")
    print(f"findings: {report['findings']}")
    print(f"load average at end {report['load_average_end']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
