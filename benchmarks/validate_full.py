"""Overhead of a full ``phasegate validate`` over running the same tools directly.

The design's target is about the whole pipeline: "full validate overhead over running
the same tools directly <= 1.2x". On a copy of a workspace with a test suite (the bundled
example by default, or ``--path``), like for like:

* the tools alone, one after the other in one shell, exactly as the checks run them:
  ``ruff check --output-format json --no-cache --exit-zero .`` (IMPL-LINT), then
  ``python -m coverage run -m pytest -q -p no:cacheprovider --junitxml=…`` (TEST-PYTEST and
  TEST-COVERAGE share this run), then ``python -m coverage json`` (TEST-COVERAGE's report);
* ``phasegate validate --format json`` with the workspace's configuration (every phase,
  every check: the document checks, syntax, stubs, lint, tests, coverage, traceability,
  deployment), its result cache removed before each run so that everything runs.

Both sides' output goes to /dev/null. The tests run with the Python phasegate chooses for
the copy (its configured ``interpreter``, else the first ``python3`` on PATH: the copy
has no ``.venv``); ``--python`` puts that interpreter's folder first on PATH for both
sides (default: the Python running this script). The sides alternate round after round and
the medians of wall-clock and CPU time (with children) are printed.

    python benchmarks/validate_full.py [--path DIR] [--python PY] [--runs N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from validate_overhead import Side, alternate, ratio

from phasegate.checks.implementation.lint import find_ruff
from phasegate.config_loader import load_config
from phasegate.interpreter import find_interpreter

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "taskboard"


def tools_script(ruff: str, python: str, scratch: Path) -> str:
    """The tools the checks run, in one shell, with their output thrown away."""
    q = shlex.quote
    cov = f"COVERAGE_FILE={q(str(scratch / '.coverage'))} PYTHONDONTWRITEBYTECODE=1"
    return "\n".join(
        [
            f"{q(ruff)} check --output-format json --no-cache --exit-zero . >/dev/null",
            f"{cov} {q(python)} -m coverage run -m pytest -q -p no:cacheprovider "
            f"--junitxml={q(str(scratch / 'junit.xml'))} -o junit_family=xunit1 >/dev/null",
            f"{cov} {q(python)} -m coverage json -q --ignore-errors "
            f"-o {q(str(scratch / 'coverage.json'))} >/dev/null",
            "exit 0",
        ]
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--path", type=Path, default=EXAMPLE, help="workspace to copy and validate")
    ap.add_argument(
        "--python",
        type=Path,
        default=Path(sys.executable),
        help="Python with the workspace's test dependencies (first on PATH for both sides)",
    )
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()

    bindir = Path(sys.executable).parent
    phasegate = shutil.which("phasegate", path=str(bindir)) or shutil.which("phasegate")
    if phasegate is None:
        raise SystemExit("phasegate is not installed")
    with tempfile.TemporaryDirectory(prefix="pg-full-") as tmp:
        root = Path(tmp) / "ws"
        ignore = shutil.ignore_patterns(".phasegate", "__pycache__", "*.pyc", ".venv", ".git")
        shutil.copytree(args.path, root, ignore=ignore, symlinks=True)
        scratch = Path(tmp) / "scratch"
        scratch.mkdir()
        ruff = find_ruff(root, trusted=False)
        if ruff is None:
            raise SystemExit("ruff not found")
        path = f"{args.python.parent}{os.pathsep}{os.environ.get('PATH', '')}"
        env = dict(os.environ, PATH=path)
        os.environ["PATH"] = path  # the interpreter phasegate will find for the copy
        python = find_interpreter(root, load_config(root))

        def clear_state() -> None:
            shutil.rmtree(root / ".phasegate", ignore_errors=True)

        tools = Side("tools", ["sh", "-c", tools_script(ruff, python, scratch)])
        validate = Side("validate", [phasegate, "validate", "--format", "json", "."], clear_state)
        alternate([tools, validate], root, env, args.runs)
        figures = {
            "workspace": str(args.path),
            "python": python,
            "files": sum(1 for p in root.rglob("*") if p.is_file()),
            "runs": args.runs,
            "tools_s": round(tools.wall_s, 3),
            "validate_s": round(validate.wall_s, 3),
            "validate_over_tools": ratio(validate.wall_s, tools.wall_s),
            "tools_cpu_s": round(tools.cpu_s, 3),
            "validate_cpu_s": round(validate.cpu_s, 3),
            "validate_over_tools_cpu": ratio(validate.cpu_s, tools.cpu_s),
            "samples": {"tools": tools.wall, "validate": validate.wall},
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    f = figures
    print(f"workspace: {f['workspace']} ({f['files']} files), median of {args.runs} rounds")
    print(f"  tests run by: {f['python']}")
    print("  compared: ruff + coverage run -m pytest + coverage json, vs full validate (cold)")
    print("                              wall        CPU (user+sys, with children)")
    print(f"  the tools alone            {f['tools_s']:.3f} s     {f['tools_cpu_s']:.3f} s")
    print(f"  phasegate validate (all)   {f['validate_s']:.3f} s     {f['validate_cpu_s']:.3f} s")
    print(
        f"  ratio validate / tools     {f['validate_over_tools']:.2f}x       "
        f"{f['validate_over_tools_cpu']:.2f}x   (target <= 1.2x)"
    )
    print(f"  load average after: {f['load_average']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
