"""What ``validate --shard I/N`` + ``phasegate merge`` save on a CI matrix of N machines.

A generated workspace (``hook_latency.make_workspace``: realistic modules in packages of
100, tests, documents, a git repository; the default pipeline, test suite and coverage
included) is validated

* whole: ``phasegate validate --format json``, cold cache;
* in N shards: ``phasegate validate --shard I/N --format json`` for I = 1..N, each with a
  cold cache (a fresh CI machine), then ``phasegate merge`` of their outputs.

The shards run one after the other here, so each one's wall-clock time is what it takes
on a machine of its own; the matrix's *critical path* is the slowest shard plus the merge
(machine start-up, checkout and installs not counted, on both sides). Printed per N:
every shard's wall and CPU time (children included), the merge's, the critical path and
the speed-up of the whole run over it; and whether the merged verdict equals the single
run's (every phase and check, findings included, evidence left out). Medians of
``--runs`` rounds. The load average is printed: on a busy machine wall time grows with it.

    python benchmarks/shards.py [--size 2000] [--counts 2,3,4] [--runs 3] [--json]
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
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hook_latency import make_workspace


def program() -> str:
    here = shutil.which("phasegate", path=str(Path(sys.executable).parent))
    found = here or shutil.which("phasegate")
    if found is None:
        raise SystemExit("phasegate is not installed")
    return found


def timed(argv: list[str], cwd: Path, out: Path | None = None) -> tuple[float, float, int]:
    """Wall and CPU seconds (the process and its children) and the exit status."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(out if out is not None else os.devnull, "wb") as sink:
        proc = subprocess.run(argv, cwd=cwd, stdout=sink, stderr=subprocess.PIPE, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode()}")
    return wall, cpu, proc.returncode


def verdict(path: Path) -> Any:
    doc = json.loads(path.read_text(encoding="utf-8"))
    for phase in doc["phases"]:
        for check in phase["checks"]:
            check.pop("evidence", None)
    return doc


def cold(root: Path) -> None:
    shutil.rmtree(root / ".phasegate", ignore_errors=True)


def one_round(root: Path, scratch: Path, counts: list[int]) -> dict[str, Any]:
    pg = program()
    cold(root)
    whole_out = scratch / "whole.json"
    wall, cpu, code = timed([pg, "validate", "--format", "json"], root, whole_out)
    figures: dict[str, Any] = {"single": {"wall": wall, "cpu": cpu, "exit": code}}
    for n in counts:
        shards = []
        files = []
        for i in range(1, n + 1):
            cold(root)
            out = scratch / f"shard-{i}-of-{n}.json"
            argv = [pg, "validate", "--shard", f"{i}/{n}", "--format", "json"]
            s_wall, s_cpu, _ = timed(argv, root, out)
            shards.append({"wall": s_wall, "cpu": s_cpu})
            files.append(str(out))
        merged_out = scratch / f"merged-{n}.json"
        m_wall, m_cpu, m_code = timed([pg, "merge", *files, "--format", "json"], root, merged_out)
        figures[str(n)] = {
            "shards": shards,
            "merge": {"wall": m_wall, "cpu": m_cpu},
            "exit": m_code,
            "identical": verdict(merged_out) == verdict(whole_out) and m_code == code,
        }
    return figures


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=2000, help="modules in the workspace")
    ap.add_argument("--counts", default="2,3,4", help="numbers of shards, comma-separated")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="make the workspace here and keep it")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    counts = [int(c) for c in args.counts.split(",") if c.strip()]
    scratch = Path(tempfile.mkdtemp(prefix="phasegate-shards-"))
    root = args.keep or scratch / "ws"
    load_before = os.getloadavg()
    try:
        make_workspace(root, args.size)
        rounds = [one_round(root, scratch, counts) for _ in range(args.runs)]
    finally:
        if args.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)
    single_wall = median([r["single"]["wall"] for r in rounds])
    out: dict[str, Any] = {
        "size": args.size,
        "runs": args.runs,
        "cores": os.cpu_count(),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "single": {
            "wall": single_wall,
            "cpu": median([r["single"]["cpu"] for r in rounds]),
        },
        "shards": {},
    }
    for n in counts:
        per = [r[str(n)] for r in rounds]
        slowest = [max(s["wall"] for s in p["shards"]) for p in per]
        path = [s + p["merge"]["wall"] for s, p in zip(slowest, per, strict=True)]
        out["shards"][str(n)] = {
            "shard_wall": [median([p["shards"][i]["wall"] for p in per]) for i in range(n)],
            "shard_cpu": [median([p["shards"][i]["cpu"] for p in per]) for i in range(n)],
            "merge_wall": median([p["merge"]["wall"] for p in per]),
            "merge_cpu": median([p["merge"]["cpu"] for p in per]),
            "critical_path": median(path),
            "speedup": round(single_wall / median(path), 2) if median(path) else None,
            "identical": all(p["identical"] for p in per),
        }
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(
        f"{args.size} modules, {out['cores']} cores, load {out['load_before']} -> "
        f"{out['load_after']}, median of {args.runs}"
    )
    print(f"single validate: {out['single']['wall']:.2f} s wall, {out['single']['cpu']:.2f} s CPU")
    for n, f in out["shards"].items():
        walls = ", ".join(f"{w:.2f}" for w in f["shard_wall"])
        print(
            f"{n} shards: shards {walls} s wall; merge {f['merge_wall']:.2f} s; "
            f"critical path {f['critical_path']:.2f} s = {f['speedup']}x faster; "
            f"verdict identical: {f['identical']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
