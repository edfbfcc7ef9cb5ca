"""The precision benchmark on the part of the corpus any machine can fetch.

``benchmarks/truth.py`` validates the PyPI sdists of ``benchmarks/corpus.toml`` (pinned by
version, downloaded from the package index) and compares every sampled finding with its
hand label in ``benchmarks/truth/``. This fails when a check starts reporting a finding
nobody has judged, when a check with ten or more judged findings falls below 90 %
precision, or when a gate's verdict differs from what the project's maintainer would
expect (known, documented differences aside).

The test suite's results are left out (TEST-PYTEST, TEST-COVERAGE and the Testing gate):
they depend on what the machine's interpreter has installed, not on phasegate.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_pypi_corpus_precision_and_verdicts(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "truth.py"),
            "--source",
            "pypi",
            "--dest",
            str(tmp_path / "corpus"),
            "--ignore",
            "TEST-PYTEST,TEST-COVERAGE",
            "--ignore-phase",
            "testing",
            "--strict",
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "STRICT:" not in out
    assert " 10 projects" in out, out[:500]
