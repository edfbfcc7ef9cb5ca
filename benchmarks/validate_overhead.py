"""Overhead of ``phasegate validate`` over running the same tool directly.

In one run, on a copy of a source tree (the Python standard library by default):

1. ``ruff check`` alone (the exact command IMPL-LINT runs) against ``phasegate validate``
   with a configuration holding only IMPL-LINT — target: at most 1.2x;
2. ``pre-commit run --all-files`` with the equivalent ``repo: local`` /
   ``language: system`` hook against the same ``phasegate validate``.

Every ``phasegate validate`` run starts cold: its result cache (``.phasegate/``) is
removed first, so the tool really runs each time. Figures are medians of ``--runs``
runs, wall-clock, including process start-up.

    python benchmarks/validate_overhead.py [--path DIR] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from phasegate.checks.implementation.lint import find_ruff

CONFIG = """\
# only the lint check: validate runs exactly one ruff process
[[phases]]
name = "implementation"

[[phases.checks]]
id = "IMPL-LINT"
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


def timed(argv: Sequence[str], cwd: Path, env: dict[str, str], before: Callable[[], None]) -> float:
    before()
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    return elapsed


def median(
    argv: Sequence[str],
    cwd: Path,
    env: dict[str, str],
    runs: int,
    before: Callable[[], None] = lambda: None,
) -> tuple[float, list[float]]:
    timed(argv, cwd, env, before)  # warm the file system cache, not measured
    samples = [timed(argv, cwd, env, before) for _ in range(runs)]
    return statistics.median(samples), samples


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
        figures_findings = len(json.loads(listed))
        t_ruff, s_ruff = median(ruff_argv, root, env, args.runs)
        t_val, s_val = median(validate_argv, root, env, args.runs, clear_state)

        figures: dict[str, object] = {
            "tree": str(args.path),
            "python_files": n_py,
            "findings": figures_findings,
            "runs": args.runs,
            "ruff_s": round(t_ruff, 3),
            "validate_s": round(t_val, 3),
            "validate_over_ruff": round(t_val / t_ruff, 3),
            "samples": {"ruff": s_ruff, "validate": s_val},
        }
        if precommit is not None:
            (root / ".pre-commit-config.yaml").write_text(precommit_config(ruff))
            git = ["git", "-c", "user.email=bench@example.invalid", "-c", "user.name=bench"]
            subprocess.run([*git, "init", "-q", "."], cwd=root, check=True)
            subprocess.run([*git, "add", "-A", "."], cwd=root, check=True)
            pc_argv = [precommit, "run", "--all-files"]
            t_pc, s_pc = median(pc_argv, root, env, args.runs)
            t_val2, s_val2 = median(validate_argv, root, env, args.runs, clear_state)
            figures.update(
                precommit_s=round(t_pc, 3),
                validate_in_git_repo_s=round(t_val2, 3),
                validate_over_precommit=round(t_val2 / t_pc, 3),
            )
            figures["samples"] = {
                "ruff": s_ruff,
                "validate": s_val,
                "precommit": s_pc,
                "validate_in_git_repo": s_val2,
            }
        else:
            figures["precommit_s"] = None

    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"tree: {figures['tree']} ({n_py} Python files), median of {args.runs} runs")
    print(f"  ruff rules: {args.select or 'default'}; findings: {figures['findings']}")
    print(f"  ruff check alone           {figures['ruff_s']:.3f} s")
    print(f"  phasegate validate (LINT)  {figures['validate_s']:.3f} s")
    print(f"  ratio validate / ruff      {figures['validate_over_ruff']:.2f}x  (target <= 1.2x)")
    if figures.get("precommit_s") is not None:
        print(f"  pre-commit run --all-files {figures['precommit_s']:.3f} s")
        print(f"  phasegate validate (git)   {figures['validate_in_git_repo_s']:.3f} s")
        print(f"  ratio validate / pre-commit {figures['validate_over_precommit']:.2f}x")
    else:
        print("  pre-commit not installed: comparison skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
