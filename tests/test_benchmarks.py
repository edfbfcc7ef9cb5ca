"""The benchmark scripts run and print their figures (on small trees: the figures
themselves are measured by running the scripts, not checked here)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"
# the scripts look for the program next to the running Python first, as here
INSTALLED = bool(
    shutil.which("phasegate", path=str(Path(sys.executable).parent)) or shutil.which("phasegate")
)
needs_phasegate = pytest.mark.skipif(not INSTALLED, reason="phasegate is not installed")


def _run(script: str, *args: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args, "--runs", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures: dict[str, object] = json.loads(proc.stdout)
    return figures


@needs_phasegate
def test_validate_overhead_prints_its_ratios(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.py").write_text("import os\n")
    (tree / "b.py").write_text("x = 1\n")
    figures = _run("validate_overhead.py", "--path", str(tree))
    assert figures["python_files"] == 2 and figures["findings"] == 1
    for key in ("validate_over_ruff", "floor_over_ruff", "validate_over_floor"):
        assert isinstance(figures[key], float) and figures[key] > 0


@pytest.mark.slow
@needs_phasegate
def test_validate_full_prints_its_ratio_on_the_example() -> None:
    figures = _run("validate_full.py")
    assert figures["workspace"] == str(ROOT / "examples" / "taskboard")
    assert isinstance(figures["validate_over_tools"], float) and figures["validate_over_tools"] > 0
