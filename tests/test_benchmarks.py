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


@pytest.mark.slow
def test_lsp_latency_measures_open_reopen_and_saves_with_the_ruff_anchor() -> None:
    figures = _run("lsp_latency.py", "--sizes", "40,60", "--rounds", "1")
    assert figures["cpus"] and len(figures["load_average_start"]) == 3
    small, big = figures["sizes"]  # type: ignore[misc]
    for size in (small, big):
        server = size["phasegate"]
        for key in ("cold_open", "reopen_warm"):
            # the opened file is the first published: open fast, then fill in
            assert server[key]["first_published_file"] == size["target"]
            assert server[key]["first_from_open_ms"] > 0 and server[key]["cpu_s"] > 0
        assert server["save_module_ms"]["n"] == 2 and server["save_module_busy_ms"]["n"] == 2
        assert "implementation:IMPL-STUB" in server["save_module_checks"]
        assert size["ruff_server"]["first_from_spawn_ms"] > 0
    assert figures["ratios"]["phasegate"]["save_module_p50"] > 0  # type: ignore[index]
