"""The test suite serially and across pytest-xdist workers, on a real project.

A project's sdist, pinned by version, is downloaded from PyPI and given a ``.venv`` of its
own holding the project (editable), the extras named and pytest-xdist. Then, A/B
interleaved, ``phasegate validate --phase testing --format json`` runs on it with
``test_workers = 0`` (A, serial) and ``test_workers = N`` (B), each on a cold state (no
``.phasegate/``). Printed: each side's wall and CPU seconds (phasegate and its children:
the suite, its workers, coverage), their medians, the B/A ratio of the medians, the load
average before and after and the cores; and whether the two sides' verdicts agree —
TEST-PYTEST and TEST-COVERAGE's status, score and findings (path, line, message).

    python benchmarks/suite_parallel.py attrs==24.2.0 --extras tests,cov
    python benchmarks/suite_parallel.py cattrs==24.1.2 --with hypothesis pytest-benchmark \\
        immutables coverage --extras ujson,orjson,msgpack,pyyaml,tomlkit,cbor2,bson,msgspec \\
        --rounds 1

``--keep DIR`` keeps (and reuses) the prepared project there.
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
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shards import program

CHECKS = ("TEST-PYTEST", "TEST-COVERAGE")


def prepare(spec: str, extras: str, more: list[str], where: Path) -> Path:
    """The project's sdist unpacked in ``where`` with its ``.venv`` ready."""
    name, _, version = spec.partition("==")
    done = where / ".prepared"
    if done.is_file():
        return Path(done.read_text().strip())
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-binary",
            ":all:",
            "--no-deps",
            "-d",
            str(where),
            spec,
        ],
        check=True,
    )
    (archive,) = [p for p in where.iterdir() if p.name.endswith((".tar.gz", ".zip"))]
    with tarfile.open(archive) as tar:
        tar.extractall(where, filter="data")
    (root,) = [p for p in where.iterdir() if p.is_dir()]
    subprocess.run([sys.executable, "-m", "venv", str(root / ".venv")], check=True)
    target = f".[{extras}]" if extras else "."
    env = {**os.environ, "SETUPTOOLS_SCM_PRETEND_VERSION": version or "0"}
    subprocess.run(
        [str(root / ".venv" / "bin" / "pip"), "install", "-q", "-e", target, "pytest-xdist", *more],
        cwd=root,
        env=env,
        check=True,
    )
    done.write_text(str(root))
    print(f"prepared {name} {version} in {root}", file=sys.stderr)
    return root


def validate(root: Path, workers: int, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one cold validation of the testing phase."""
    shutil.rmtree(root / ".phasegate", ignore_errors=True)
    (root / "phasegate.toml").write_text(f"test_workers = {workers}\n")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(out, "wb") as sink:
        proc = subprocess.run(
            [program(), "validate", "--phase", "testing", "--format", "json"],
            cwd=root,
            stdout=sink,
            stderr=subprocess.PIPE,
            check=False,
        )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"validate exited {proc.returncode}: {proc.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def verdict(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    out: dict[str, Any] = {}
    for phase in data["phases"]:
        for check in phase["checks"]:
            if check["id"] in CHECKS:
                out[check["id"]] = {
                    "status": check["status"],
                    "score": round(check["score"], 6),
                    "reason": check.get("reason"),
                    "findings": sorted(
                        (f["path"], f["range"]["start"]["line"], f["severity"], f["message"])
                        for f in check["findings"]
                    ),
                }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("spec", help="NAME==VERSION on PyPI")
    ap.add_argument("--extras", default="", help="extras of the project to install")
    ap.add_argument("--with", dest="more", nargs="*", default=[], help="more requirements")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="prepare (or reuse) the project here")
    args = ap.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="suite-parallel-"))
    try:
        root = prepare(args.spec, args.extras, args.more, args.keep or scratch / "project")
        load_before = os.getloadavg()
        sides: dict[str, list[tuple[float, float]]] = {"serial": [], "parallel": []}
        verdicts: dict[str, list[dict[str, Any]]] = {"serial": [], "parallel": []}
        for i in range(args.rounds):
            for side, workers in (("serial", 0), ("parallel", args.workers)):
                out = scratch / f"{side}-{i}.json"
                sides[side].append(validate(root, workers, out))
                verdicts[side].append(verdict(out))
                wall, cpu = sides[side][-1]
                print(f"round {i + 1} {side:8} wall {wall:7.1f} s  cpu {cpu:7.1f} s")
        (root / "phasegate.toml").unlink()
        print(f"\n{args.spec}, {os.cpu_count()} cores, parallel = {args.workers} workers")
        medians = {
            s: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
            for s, v in sides.items()
        }
        for side, (wall, cpu) in medians.items():
            print(f"{side:8} median wall {wall:7.1f} s  cpu {cpu:7.1f} s")
        ratio = medians["parallel"][0] / medians["serial"][0]
        print(f"parallel / serial, wall: {ratio:.2f}")
        same = all(p == verdicts["serial"][0] for p in verdicts["parallel"])
        steady = all(s == verdicts["serial"][0] for s in verdicts["serial"])
        print(f"verdicts equal (TEST-PYTEST, TEST-COVERAGE): {same}; serial runs agree: {steady}")
        if not same:
            for check in CHECKS:
                a = verdicts["serial"][0].get(check)
                b = verdicts["parallel"][0].get(check)
                if a != b:
                    print(
                        f"  {check}: serial {json.dumps(a)[:600]}\n  parallel {json.dumps(b)[:600]}"
                    )
        load_after = os.getloadavg()
        print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
