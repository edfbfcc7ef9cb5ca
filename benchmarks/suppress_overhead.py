"""What suppression comments cost: the per-file and project checks with and without
:func:`phasegate.suppress.honouring`, on a generated tree where every file has findings.

The tree: ``--files`` Python modules (modified an hour ago; ``--fresh``: just now), each
with an unused import (IMPL-LINT), a stub function and a TODO comment (IMPL-STUB); one in
twenty carries a suppression comment.
Every file has findings, so every file goes through the suppression filter (the worst
case: a file without findings costs nothing). The checks run through
:class:`phasegate.runner.GateRunner` without a result cache, ``--runs`` times each way;
the figure is the best CPU time (process time: ruff's own time is left out, only what
phasegate does in this process counts).

    python benchmarks/suppress_overhead.py [--files 2000] [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from phasegate import runner as runner_module
from phasegate import suppress
from phasegate.config import CheckConfig, Config, PhaseConfig
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace

CHECKS = ("IMPL-SYNTAX", "IMPL-STUB", "IMPL-LINT")

MODULE = '''\
"""Module {n}."""

import os{suppress_lint}


def handler_{n}(value: int) -> int:
    """Double the value."""
    # TODO: handle negative values{suppress_todo}
    return value * 2


def later_{n}() -> None:{suppress_stub}
    pass
'''


def make_tree(root: Path, files: int, *, fresh: bool = False) -> None:
    pkg = root / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    for n in range(files):
        silenced = n % 20 == 0
        text = MODULE.format(
            n=n,
            suppress_lint="  # phasegate: ignore[IMPL-LINT]" if silenced else "",
            suppress_todo="  # phasegate: ignore[IMPL-STUB]" if silenced else "",
            suppress_stub="  # phasegate: ignore[IMPL-STUB]" if silenced else "",
        )
        (pkg / f"mod_{n:05d}.py").write_text(text)
    # as a tree that was not written a moment ago: files modified in the last seconds are
    # read at every look (see phasegate.suppress.SETTLED_NS); --fresh measures that case
    if fresh:
        return
    old = time.time() - 3600
    for path in pkg.iterdir():
        os.utime(path, (old, old))


def run_checks(root: Path, honour: bool) -> tuple[float, int]:
    """CPU seconds of one run of the checks, and the findings left."""
    original = runner_module.honouring
    if not honour:
        runner_module.honouring = lambda cls: cls  # type: ignore[assignment]
    try:
        phase = PhaseConfig(name="implementation", checks=[CheckConfig(id=c) for c in CHECKS])
        runner = GateRunner(Workspace(root), Config(phases=[phase]))
        start = time.process_time()
        results = runner.run_checks(runner.checks("implementation"))
        cpu = time.process_time() - start
    finally:
        runner_module.honouring = original
    return cpu, sum(len(r.findings) for r in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--fresh", action="store_true", help="files written just now: read at every look"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_tree(root, args.files, fresh=args.fresh)
        plain = [run_checks(root, False) for _ in range(args.runs)]
        honoured = [run_checks(root, True) for _ in range(args.runs)]
        # the filter alone, over every finding, texts in the workspace's cache
        ws = Workspace(root)
        phase = PhaseConfig(name="implementation", checks=[CheckConfig(id=c) for c in CHECKS])
        raw = GateRunner(ws, Config(phases=[phase]))
        runner_module.honouring = lambda cls: cls  # type: ignore[assignment]
        try:
            found = [f for r in raw.run_checks(raw.checks("implementation")) for f in r.findings]
        finally:
            runner_module.honouring = suppress.honouring
        start = time.process_time()
        suppress._memo.clear()  # the first look at each file: a read each
        kept, dropped = suppress.split(found, suppress.workspace_lookup(ws))
        split_cpu = time.process_time() - start
    best_plain = min(c for c, _ in plain)
    best_honoured = min(c for c, _ in honoured)
    report = {
        "files": args.files,
        "findings_without_suppression": plain[0][1],
        "findings_with_suppression": honoured[0][1],
        "suppressed": len(dropped),
        "cpu_plain_s": round(best_plain, 4),
        "cpu_honoured_s": round(best_honoured, 4),
        "honoured_over_plain": round(best_honoured / best_plain, 3) if best_plain else None,
        "split_cpu_s": round(split_cpu, 4),
        "split_us_per_finding": round(split_cpu / len(found) * 1e6, 2) if found else None,
    }
    assert len(kept) + len(dropped) == len(found)
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
