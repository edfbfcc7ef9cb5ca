"""Can a killed ``phasegate remediate`` always be undone?

Round after round, on a fresh copy of a workspace (``examples/taskboard`` by default, its
configuration as it is: a ``command`` persona running ruff's fixer, scaffold personas
writing documents):

1. ``phasegate remediate`` starts as a real process and is sent SIGKILL after a random
   delay, uniform between 0 and ``--max-delay`` seconds (default: 1.1 times the length of
   one uninterrupted run, measured first), so the kill lands anywhere: while the gates
   are scored, while a backup is written, while a persona program runs, while the backup
   is sealed. A run that ends before its kill is counted apart and does not count as a
   kill;
2. the benchmark waits until the killed process *and everything it started* are gone
   (a marker variable in their environment, read from ``/proc``): no time margin;
3. if the workspace differs from the original, ``phasegate undo`` runs, and the workspace
   is compared with the original, every file and folder outside ``.phasegate/``: bytes,
   permission bits, symlink targets, which folders exist.

Each killed round is one of: **unchanged** (the kill came before any file changed; undo
is not needed), **restored** (undo succeeded and the workspace is byte for byte the
original), **not restored** (undo succeeded but something differs) or **refused** (undo
failed; ``undo --force`` is then tried and its outcome counted apart). The figures, the
step of the remediation each kill landed in (the last journal event) and the load average
are printed. Goal: every changed workspace restored.

    python benchmarks/kill_remediate.py [--kills N] [--seed S] [--max-delay SECONDS]
                                        [--workspace DIR] [--json]

The personas run with this Python's ``bin`` folder first on ``PATH`` (so the example's
``python3 -m ruff`` finds ruff).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "taskboard"
MARKER = "PHASEGATE_KILL_BENCH"
COPY_IGNORE = shutil.ignore_patterns(".phasegate", "__pycache__", ".pytest_cache", ".ruff_cache")

Tree = dict[str, tuple[str, int, bytes]]


def tree_state(root: Path) -> Tree:
    """Every entry under ``root`` except ``.phasegate/``: kind, permission bits, content."""
    out: Tree = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d != ".phasegate"]
        for name in [*dirnames, *filenames]:
            full = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            st = os.lstat(full)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", 0, os.readlink(full).encode())
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", mode, b"")
            else:
                with open(full, "rb") as fh:
                    out[rel] = ("file", mode, fh.read())
    return out


def tree_diff(before: Tree, after: Tree) -> list[str]:
    out = []
    for rel in sorted(set(before) | set(after)):
        a, b = before.get(rel), after.get(rel)
        if a == b:
            continue
        if a is None:
            out.append(f"+ {rel}")
        elif b is None:
            out.append(f"- {rel}")
        elif a[0] != b[0]:
            out.append(f"~ {rel} ({a[0]} -> {b[0]})")
        elif a[1] != b[1]:
            out.append(f"~ {rel} (mode {a[1]:o} -> {b[1]:o})")
        else:
            out.append(f"~ {rel} (content)")
    return out


def marked_pids(value: str) -> list[int]:
    """Processes whose environment carries ``MARKER=value`` (Linux /proc)."""
    needle = f"{MARKER}={value}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                env = fh.read().split(b"\0")
        except OSError:
            continue
        if needle in env:
            found.append(int(entry))
    return found


def wait_gone(value: str) -> None:
    """Until no process of the round is left (zombies of the killed one included: it was
    reaped by ``wait`` before)."""
    while True:
        pids = []
        for pid in marked_pids(value):
            try:
                with open(f"/proc/{pid}/stat", "rb") as fh:
                    state = fh.read().rsplit(b")", 1)[1].split()[0]
            except OSError:
                continue
            if state != b"Z":
                pids.append(pid)
        if not pids:
            return
        time.sleep(0.01)


def phasegate_env(value: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env[MARKER] = value
    env.pop("PHASEGATE_TEST_PAUSE", None)
    return env


def phasegate(*args: str) -> list[str]:
    return [sys.executable, "-m", "phasegate", *args]


def last_step(ws: Path) -> str:
    """The last step the remediation journaled (where the kill landed)."""
    sessions = ws / ".phasegate" / "sessions"
    step = "before the journal"
    for events in sorted(sessions.glob("*/events.jsonl")):
        for line in events.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                data = json.loads(line).get("data", {})
            except ValueError:
                continue
            step = str(data.get("step", step))
            if step in ("persona_started", "persona_finished"):
                step += f" {data.get('persona', '')}"
    return step


def fresh_copy(src: Path, parent: Path) -> Path:
    ws = parent / f"ws-{uuid.uuid4().hex[:8]}"
    shutil.copytree(src, ws, symlinks=True, ignore=COPY_IGNORE)
    return ws


def full_run_seconds(src: Path, parent: Path) -> float:
    ws = fresh_copy(src, parent)
    value = uuid.uuid4().hex
    start = time.monotonic()
    subprocess.run(
        phasegate("remediate", str(ws)), env=phasegate_env(value), capture_output=True, check=False
    )
    took = time.monotonic() - start
    wait_gone(value)
    shutil.rmtree(ws, ignore_errors=True)
    return took


def one_round(src: Path, parent: Path, original: Tree, delay: float) -> dict[str, Any]:
    ws = fresh_copy(src, parent)
    value = uuid.uuid4().hex
    env = phasegate_env(value)
    proc = subprocess.Popen(
        phasegate("remediate", str(ws)),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        proc.wait(timeout=delay)
        killed = False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed = True
    wait_gone(value)
    out: dict[str, Any] = {"delay": round(delay, 3), "killed": killed, "step": last_step(ws)}
    if tree_state(ws) == original:
        out["outcome"] = "unchanged"
        shutil.rmtree(ws, ignore_errors=True)
        return out
    undo = subprocess.run(
        phasegate("undo", str(ws)), env=env, capture_output=True, text=True, check=False
    )
    wait_gone(value)
    diff = tree_diff(original, tree_state(ws))
    if undo.returncode != 0:
        out["outcome"] = "refused"
        out["message"] = undo.stderr.strip()[-300:]
        forced = subprocess.run(
            phasegate("undo", "--force", str(ws)), env=env, capture_output=True, check=False
        )
        restored = forced.returncode == 0 and not tree_diff(original, tree_state(ws))
        out["force"] = "restored" if restored else "not restored"
    elif diff:
        out["outcome"] = "not restored"
        out["diff"] = diff[:10]
    else:
        out["outcome"] = "restored"
    if out["outcome"] == "restored":
        shutil.rmtree(ws, ignore_errors=True)
    else:
        out["workspace"] = str(ws)  # kept for inspection
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=200, help="kills to land (default 200)")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    ap.add_argument("--max-delay", type=float, default=None, help="longest delay, seconds")
    ap.add_argument("--workspace", type=Path, default=EXAMPLE, help="workspace to copy")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--verbose", "-v", action="store_true", help="one line per round")
    args = ap.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    src = args.workspace.resolve()
    load_start = os.getloadavg()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kill-remediate-") as tmp:
        parent = Path(tmp)
        original = tree_state(fresh_copy(src, parent))
        full = full_run_seconds(src, parent)
        max_delay = args.max_delay if args.max_delay is not None else 1.1 * full
        rounds: list[dict[str, Any]] = []
        kills = 0
        while kills < args.kills:
            r = one_round(src, parent, original, rng.uniform(0.0, max_delay))
            rounds.append(r)
            kills += bool(r["killed"])
            if args.verbose:
                print(json.dumps(r), file=sys.stderr, flush=True)
        keep = [r for r in rounds if r["outcome"] not in ("restored", "unchanged")]
        if keep:  # the workspaces that were not restored outlive the temporary folder
            dest = Path(tempfile.mkdtemp(prefix="kill-remediate-failed-"))
            for r in keep:
                shutil.move(r["workspace"], dest / Path(r["workspace"]).name)
                r["workspace"] = str(dest / Path(r["workspace"]).name)
    killed = [r for r in rounds if r["killed"]]
    outcomes = Counter(r["outcome"] for r in killed)
    changed = len(killed) - outcomes["unchanged"]
    figures: dict[str, Any] = {
        "workspace": str(src),
        "seed": seed,
        "full_run_s": round(full, 2),
        "max_delay_s": round(max_delay, 2),
        "kills": len(killed),
        "finished_before_kill": len(rounds) - len(killed),
        "unchanged": outcomes["unchanged"],
        "changed": changed,
        "restored": outcomes["restored"],
        "not_restored": outcomes["not restored"],
        "refused": outcomes["refused"],
        "refused_then_force_restored": sum(
            1 for r in killed if r["outcome"] == "refused" and r.get("force") == "restored"
        ),
        "restored_pct": round(100.0 * outcomes["restored"] / changed, 1) if changed else None,
        "steps": dict(Counter(r["step"] for r in killed).most_common()),
        "failures": [r for r in killed if r["outcome"] in ("not restored", "refused")][:20],
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "duration_s": round(time.monotonic() - started, 1),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"workspace      {figures['workspace']} (seed {seed})")
        print(f"one full run   {figures['full_run_s']} s; kills at 0..{figures['max_delay_s']} s")
        print(
            f"kills          {figures['kills']} ({figures['finished_before_kill']} runs "
            "finished before their kill, not counted)"
        )
        print(f"unchanged      {figures['unchanged']} (killed before any file changed)")
        print(f"changed        {changed}")
        pct = figures["restored_pct"]
        print(f"  restored     {figures['restored']}" + (f" ({pct} %)" if pct is not None else ""))
        print(f"  not restored {figures['not_restored']}")
        print(
            f"  refused      {figures['refused']} (then restored by undo --force: "
            f"{figures['refused_then_force_restored']})"
        )
        print("kill landed after the step:")
        for step, n in figures["steps"].items():
            print(f"  {n:4d}  {step}")
        for r in figures["failures"]:
            print(f"failure: {json.dumps(r)}")
        print(
            f"load average   start {figures['load_average_start']}, "
            f"end {figures['load_average_end']}; {figures['duration_s']} s"
        )
    return 0 if figures["not_restored"] == 0 and figures["refused"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
