"""benchmarks/hook_latency.py runs and prints its figures (on a small tree: the figures
themselves are measured by running the script, not checked here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "hook_latency.py"


def test_hook_latency_prints_its_figures(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--sizes", "30", "--runs", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(proc.stdout)
    assert len(figures["load_average_start"]) == 3
    (size,) = figures["sizes"]
    assert size["files"] == 30
    for state in ("cold", "warm-edit", "warm-same", "non-input", "session"):
        m = size[state]
        assert m["wall_p50_ms"] > 0 and m["cpu_p50_ms"] >= 0
        assert m["wall_p90_ms"] >= m["wall_p50_ms"]
    # answers with findings: none for a file no check reads; one of the two edits
    # leaves an unused import behind, the other is clean
    assert size["non-input"]["answered"] == 0
    assert size["warm-edit"]["answered"] == 1
    assert "phasegate.model" in size["imports_ms"]
