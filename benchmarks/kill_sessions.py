"""SIGKILL `phasegate run`, `resume` and `validate` at random instants; count unusable states.

    python benchmarks/kill_sessions.py [--kills 200] [--seed 1] [--resume-every 10]

Each round works on a fresh copy of ``examples/taskboard``: a command is started, killed
with SIGKILL after a random delay (0 to 4 s: during config loading, persona work, gates,
checkpoint writes), and the workspace is then checked as a user would find it:

- ``phasegate status --format json`` must answer with exit 0 or 1 and a JSON document
  (never a traceback, never exit 2 for a state the kill left behind);
- every checkpoint must be valid JSON and the journal must have no torn line but the last;
- no session lock may be left held (a second ``resume`` can take it);
- every ``--resume-every`` rounds, ``phasegate resume`` must finish with exit 0 or 1.

Prints the counts and the load average; exit 1 when any state was unusable.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "taskboard"
REQUIREMENT = "Create a task management system with users and due dates"


def phasegate(*args: str) -> list[str]:
    return [sys.executable, "-m", "phasegate", *args]


def problems_of(ws: Path, resume: bool) -> list[str]:
    """What is wrong with the workspace's state after a kill (empty: usable)."""
    out: list[str] = []
    st = subprocess.run(
        phasegate("status", "-w", str(ws), "--format", "json"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if "Traceback" in st.stderr:
        out.append("status: traceback")
    # exit 2 is right when the kill came before any session existed ("no session")
    no_session = not any((ws / ".phasegate" / "sessions").glob("*/checkpoint.json"))
    if st.returncode not in (0, 1) and not (st.returncode == 2 and no_session):
        out.append(f"status: exit {st.returncode}: {st.stderr.strip()[-200:]}")
    sessions = ws / ".phasegate" / "sessions"
    for cp in sessions.glob("*/checkpoint.json"):
        try:
            json.loads(cp.read_text(encoding="utf-8"))
        except ValueError:
            out.append(f"{cp.relative_to(ws)}: not JSON")
    for journal in sessions.glob("*/events.jsonl"):
        lines = journal.read_bytes().split(b"\n")
        for line in lines[:-2]:  # the last line may be torn by the kill; it is skipped
            if line.strip():
                try:
                    json.loads(line)
                except ValueError:
                    out.append(f"{journal.relative_to(ws)}: torn line before the last")
                    break
    if resume and any(sessions.glob("*/checkpoint.json")):
        rs = subprocess.run(
            phasegate("resume", "-w", str(ws)),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if rs.returncode not in (0, 1) or "Traceback" in rs.stderr:
            out.append(f"resume: exit {rs.returncode}: {rs.stderr.strip()[-300:]}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--resume-every", type=int, default=10)
    ap.add_argument("--max-delay", type=float, default=4.0)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {args.kills} kills")
    counts = {"run": 0, "resume": 0, "validate": 0}
    unusable: list[str] = []
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="phasegate-kills-") as tmp:
        for i in range(args.kills):
            ws = Path(tmp) / f"ws{i}"
            shutil.copytree(EXAMPLE, ws)
            kind = rng.choice(["run", "run", "resume", "validate"])
            if kind == "resume":  # a session to resume: a run killed earlier
                first = subprocess.Popen(
                    phasegate("run", "-w", str(ws), "--requirement", REQUIREMENT),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(rng.uniform(0.5, args.max_delay))
                first.send_signal(signal.SIGKILL)
                first.wait()
                argv_ = phasegate("resume", "-w", str(ws))
            elif kind == "run":
                argv_ = phasegate("run", "-w", str(ws), "--requirement", REQUIREMENT)
            else:
                argv_ = phasegate("validate", str(ws))
            counts[kind] += 1
            proc = subprocess.Popen(argv_, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.0, args.max_delay))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            resume = args.resume_every > 0 and i % args.resume_every == 0
            found = problems_of(ws, resume)
            if found:
                unusable.append(f"round {i} ({kind}): " + "; ".join(found))
            shutil.rmtree(ws, ignore_errors=True)
    took = time.monotonic() - start
    total = sum(counts.values())
    print(
        f"{total} SIGKILLs ({counts['run']} run, {counts['resume']} resume, "
        f"{counts['validate']} validate) in {took:.0f} s: {len(unusable)} unusable states"
    )
    for line in unusable:
        print("  " + line)
    return 1 if unusable else 0


if __name__ == "__main__":
    sys.exit(main())
