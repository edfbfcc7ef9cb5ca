"""Latency of ``phasegate hook`` after an edit (PostToolUse), at 1k and 10k files.

For each size a workspace of generated, realistic Python modules (a package tree of
modules with imports, dataclasses, functions and classes; about 1 in 100 with a stub, 1
in 50 with an unused import; tests, requirements and design documents, a README and a
``pyproject.toml`` with a ruff section) is made a git repository. Then Claude Code's
``PostToolUse`` event for a ``Write`` of one module is sent to
``python -m phasegate hook --agent claude``, as the agent runs it, in these states:

* ``cold`` — no ``.phasegate`` at all before each call: nothing cached, no check index
  (the first edit after installing the hooks);
* ``warm-edit`` — the result cache filled by ``phasegate validate --phase
  implementation`` and the hook's index made; before each call the module's content
  changes (a comment is added; every other edit also leaves an unused import behind, so
  half the answers carry a finding for the agent and half are silent): the steady
  state while an agent works;
* ``warm-same`` — the same content again (an agent re-writing a file unchanged);
* ``non-input`` — an edit of a file no check that runs after an edit reads (a JSON
  file), index made;
* ``resident`` — ``warm-edit`` while ``phasegate watch`` keeps the workspace live: the
  hook asks it on the workspace's local socket (as it asks a running language server)
  instead of importing the engine and reading the result cache. Edits come back to
  back, so the watch is usually still re-validating the previous one (its checks
  compete for the two cores);
* ``resident-idle`` — the same, but each edit waits until the watch is idle (an agent's
  edits seconds apart);
* ``session`` — ``warm-edit`` with an active session that judges new code since the
  commit it started from (git diffs included).

Each figure is the median (p50) and 90th percentile (p90) of ``--runs`` calls: wall
time including Python's start-up, and CPU time (user + system of the hook process and
its children, ruff included). The load average is printed before and after: on a busy
machine wall time grows with it, CPU time much less. The import cost of the engine is
shown from ``python -X importtime``.

    python benchmarks/hook_latency.py [--sizes 1000,10000] [--runs N] [--keep DIR] [--json]
"""

from __future__ import annotations

import argparse
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

PYPROJECT = """\
[project]
name = "bench"
version = "0.1.0"
requires-python = ">=3.10"

[tool.ruff]
line-length = 100

[tool.ruff.lint]
select = ["E4", "E7", "E9", "F"]
"""

REQUIREMENTS = """\
# Requirements

## Overview

The service keeps orders and invoices.

## Requirements

- REQ-001: Orders can be created, listed and cancelled.
  - Acceptance: a cancelled order is not listed.
- REQ-002: Invoices are issued for delivered orders.
  - Acceptance: an invoice names its order.
"""

DESIGN = """\
# Design

## Architecture

Modules per domain under `pkg_*` (REQ-001, REQ-002).

## Components

Orders, invoices.

## Data

Dataclasses.

## Interfaces

Functions.
"""

IMPORTS = ["os", "re", "json", "math", "itertools", "functools", "collections"]


def module_text(rng: random.Random, index: int, package: str) -> str:
    """A plausible module of about 70 lines."""
    used = rng.sample(IMPORTS, 3)
    lines = [f'"""Module {index} of {package}: records and the operations on them."""', ""]
    lines += ["from __future__ import annotations", ""]
    lines += [f"import {name}" for name in sorted(used)]
    unused = rng.random() < 0.02
    if unused:
        lines.append("import sys")
    lines += ["from dataclasses import dataclass, field", ""]
    lines += [
        "",
        "@dataclass",
        f"class Record{index}:",
        f'    """One record of module {index}."""',
        "",
        "    name: str",
        "    amount: float = 0.0",
        "    tags: list[str] = field(default_factory=list)",
        "",
        "    def label(self) -> str:",
        '        return f"{self.name} ({self.amount:.2f})"',
        "",
        "    def tagged(self, tag: str) -> bool:",
        "        return tag in self.tags",
    ]
    for f in range(rng.randint(3, 6)):
        name = f"compute_{index}_{f}"
        lines += ["", "", f"def {name}(records: list[Record{index}], limit: int = 10) -> float:"]
        lines.append(f'    """Total of the first ``limit`` records ({f})."""')
        if rng.random() < 0.01:
            lines.append("    raise NotImplementedError")
            continue
        lines += [
            "    total = 0.0",
            "    for n, record in enumerate(records):",
            "        if n >= limit:",
            "            break",
            '        if record.tagged("skip"):',
            "            continue",
            "        total += record.amount",
        ]
        mod = used[f % len(used)]
        helper = {
            "os": "os.path.basename(record.name)",
            "re": 're.sub(r"\\s+", " ", record.name)',
            "json": "json.dumps(record.tags)",
            "math": "math.floor(record.amount)",
            "itertools": "list(itertools.islice(record.tags, 2))",
            "functools": "functools.reduce(lambda a, b: a + b, [1, 2], 0)",
            "collections": "collections.Counter(record.tags)",
        }[mod]
        lines += [f"        _ = {helper}", "    return total"]
    lines.append("")
    return "\n".join(lines)


def make_workspace(root: Path, size: int, seed: int = 7) -> str:
    """``size`` modules in packages of 100, tests, documents; returns the module the
    benchmark edits (workspace-relative)."""
    rng = random.Random(seed)
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "requirements.md").write_text(REQUIREMENTS)
    (root / "docs" / "design.md").write_text(DESIGN)
    (root / "README.md").write_text("# bench\n\nGenerated for the hook benchmark.\n")
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "data.json").write_text('{"fixtures": []}\n')
    tests = root / "tests"
    tests.mkdir()
    target = ""
    for i in range(size):
        package = f"pkg_{i // 100:03d}"
        folder = root / package
        if not folder.exists():
            folder.mkdir()
            (folder / "__init__.py").write_text(f'"""Package {package}."""\n')
        text = module_text(rng, i, package)
        (folder / f"mod_{i:05d}.py").write_text(text)
        if i == size // 2:
            target = f"{package}/mod_{i:05d}.py"
        if i % 50 == 0:
            (tests / f"test_mod_{i:05d}.py").write_text(
                f"from {package}.mod_{i:05d} import Record{i}\n\n\n"
                f"def test_label() -> None:\n    assert Record{i}('a', 1).label() == 'a (1.00)'\n"
            )
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "generated")
    return target


def git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com"}
    env |= {"GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.com"}
    out = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {out.stderr}")
    return out.stdout.strip()


def write_event(root: Path, rel: str) -> bytes:
    path = root / rel
    content = path.read_text()
    return json.dumps(
        {
            "session_id": "bench",
            "transcript_path": "/tmp/transcript.jsonl",
            "cwd": str(root),
            "permission_mode": "default",
            "hook_event_name": "PostToolUse",
            "tool_name": "Write",
            "tool_input": {"file_path": str(path), "content": content},
            "tool_response": {"filePath": str(path), "success": True},
            "tool_use_id": "toolu_bench",
        }
    ).encode()


HOOK = [sys.executable, "-m", "phasegate", "hook", "--agent", "claude"]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.endswith("_PROJECT_DIR")}


def call(root: Path, stdin: bytes, argv: list[str] | None = None) -> tuple[float, float, str]:
    """One hook call: (wall s, CPU s of it and its children, stdout)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        argv or HOOK, input=stdin, cwd=root, env=clean_env(), capture_output=True, timeout=600
    )
    wall = time.perf_counter() - start
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0 or proc.stderr:
        raise SystemExit(f"the hook failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return wall, cpu, proc.stdout.decode()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def measure(runs: int, before: Callable[[], bytes], root: Path) -> dict[str, Any]:
    walls: list[float] = []
    cpus: list[float] = []
    answers = 0
    for _ in range(runs):
        stdin = before()
        wall, cpu, out = call(root, stdin)
        walls.append(wall)
        cpus.append(cpu)
        answers += bool(out.strip())
    return {
        "wall_p50_ms": round(1000 * statistics.median(walls), 1),
        "wall_p90_ms": round(1000 * percentile(walls, 0.9), 1),
        "cpu_p50_ms": round(1000 * statistics.median(cpus), 1),
        "cpu_p90_ms": round(1000 * percentile(cpus, 0.9), 1),
        "answered": answers,
    }


def import_profile(root: Path, stdin: bytes) -> dict[str, float]:
    """Cumulative import time (ms) of the heaviest packages on the hook's path."""
    argv = [sys.executable, "-X", "importtime", "-m", "phasegate", "hook", "--agent", "claude"]
    proc = subprocess.run(argv, input=stdin, cwd=root, env=clean_env(), capture_output=True)
    wanted = (
        "click",
        "pydantic",
        "phasegate.model",
        "phasegate.config",
        "phasegate.runner",
        "phasegate.query",
        "phasegate.hooks.handlers",
        "pathspec",
    )
    out: dict[str, float] = {}
    for line in proc.stderr.decode(errors="replace").splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] in wanted and parts[1].isdigit():
            out[parts[2]] = round(int(parts[1]) / 1000, 1)
    return out


def bench_size(size: int, runs: int, base: Path) -> dict[str, Any]:
    root = base / f"ws-{size}"
    t0 = time.perf_counter()
    target = make_workspace(root, size)
    made = time.perf_counter() - t0
    state = root / ".phasegate"
    results: dict[str, Any] = {"files": size, "generate_s": round(made, 1)}

    def cold() -> bytes:
        shutil.rmtree(state, ignore_errors=True)
        return write_event(root, target)

    results["cold"] = measure(runs, cold, root)

    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "phasegate", "validate", str(root), "--phase", "implementation"],
        env=clean_env(),
        capture_output=True,
        timeout=3600,
    )
    results["validate_warmup_s"] = round(time.perf_counter() - t0, 1)
    call(root, write_event(root, target))  # the index
    counter = [0]
    original = (root / target).read_text()

    def edit() -> bytes:
        # every other edit leaves an unused import behind: half the answers carry a
        # finding (the agent is told), half are silent (the file is clean)
        counter[0] += 1
        n = counter[0]
        planted = f"import os as _unused_{n}\n" if n % 2 else ""
        (root / target).write_text(planted + original + f"# edit {n}\n")
        return write_event(root, target)

    results["warm-edit"] = measure(runs, edit, root)
    results["warm-same"] = measure(runs, lambda: write_event(root, target), root)
    results["non-input"] = measure(runs, lambda: write_event(root, "data.json"), root)
    results["imports_ms"] = import_profile(root, edit())
    results["resident"], results["resident-idle"] = measure_resident(runs, edit, root)

    from phasegate.model import PhaseState, SessionState
    from phasegate.store import SessionStore

    store = SessionStore(root)
    store.create(
        SessionState(
            id="bench",
            requirement="benchmark",
            phases=[PhaseState(name="implementation")],
            current_phase="implementation",
            new_code_since=git(root, "rev-parse", "HEAD"),
        )
    )
    store.set_active("bench")
    results["session"] = measure(runs, edit, root)
    return results


def measure_resident(
    runs: int, before: Callable[[], bytes], root: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``before``/call while ``phasegate watch`` answers on the workspace's socket: edits
    back to back, then each after the watch is idle."""
    from phasegate import localsock

    watch = subprocess.Popen(
        [sys.executable, "-m", "phasegate", "watch", str(root), "--phase", "implementation"],
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 600
        while localsock.ask(root.resolve(), {"op": "ping"}) is None:
            if watch.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("phasegate watch did not start answering")
            time.sleep(0.2)

        def answered() -> int:
            return int((localsock.ask(root.resolve(), {"op": "ping"}) or {}).get("answered", 0))

        def when_idle() -> bytes:
            while (localsock.ask(root.resolve(), {"op": "ping"}) or {}).get("busy"):
                time.sleep(0.05)
            return before()

        out = []
        for prepare in (before, when_idle):
            count = answered()
            m = measure(runs, prepare, root)
            m["answered_by_watch"] = answered() - count
            out.append(m)
        return out[0], out[1]
    finally:
        watch.terminate()
        try:
            watch.wait(timeout=30)
        except subprocess.TimeoutExpired:
            watch.kill()
            watch.wait()


def floors(base: Path) -> dict[str, float]:
    """Python's start-up and the CLI's, for scale (median of 5)."""
    out: dict[str, float] = {}
    for name, argv in (
        ("python_startup_ms", [sys.executable, "-c", "pass"]),
        ("phasegate_version_ms", [sys.executable, "-m", "phasegate", "--version"]),
    ):
        walls = []
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run(argv, cwd=base, capture_output=True)
            walls.append(time.perf_counter() - t0)
        out[name] = round(1000 * statistics.median(walls), 1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000", help="workspace sizes (Python files)")
    ap.add_argument("--runs", type=int, default=15, help="calls per state")
    ap.add_argument("--keep", type=Path, help="make the workspaces here and keep them")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    base = args.keep or Path(tempfile.mkdtemp(prefix="phasegate-hook-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"load_average_start": [round(x, 2) for x in os.getloadavg()]}
    report["cpus"] = os.cpu_count()
    try:
        report.update(floors(base))
        report["sizes"] = [bench_size(size, args.runs, base) for size in sizes]
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    report["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"load average at start {report['load_average_start']}, {report['cpus']} CPUs")
    print(
        f"python -c pass: {report['python_startup_ms']} ms; "
        f"phasegate --version: {report['phasegate_version_ms']} ms (wall, median)"
    )
    states = ("cold", "warm-edit", "warm-same", "non-input", "resident", "resident-idle", "session")
    for r in report["sizes"]:
        print(
            f"\n{r['files']} files (generated in {r['generate_s']} s; "
            f"validate --phase implementation {r['validate_warmup_s']} s)"
        )
        print(f"  {'state':<13} {'wall p50':>9} {'wall p90':>9} {'cpu p50':>9} {'cpu p90':>9}")
        for s in states:
            m = r[s]
            print(
                f"  {s:<13} {m['wall_p50_ms']:>7.0f}ms {m['wall_p90_ms']:>7.0f}ms "
                f"{m['cpu_p50_ms']:>7.0f}ms {m['cpu_p90_ms']:>7.0f}ms"
                + f"  ({m['answered']} of {args.runs} with findings)"
                + (
                    f"  ({m['answered_by_watch']} of {args.runs} answered by watch)"
                    if "answered_by_watch" in m
                    else ""
                )
            )
        imports = ", ".join(f"{k} {v} ms" for k, v in r["imports_ms"].items())
        print(f"  imports (cumulative, -X importtime, warm-edit): {imports}")
    print(f"\nload average at end {report['load_average_end']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
