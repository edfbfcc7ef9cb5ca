"""Lines the tests do not run are coverage, not problems: the language server sends
TEST-COVERAGE's uncovered lines as hints marked ``data.coverage`` (the VS Code extension
draws them in the gutter), its summary as the warning it is; ``phasegate validate`` is
unchanged. The real server (pytest-lsp) on a workspace whose tests run with this
interpreter (it has pytest and coverage).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from lsprotocol import types
from test_lsp_helpers import plain, start, wait_for

from phasegate.checks.testing.coverage import Coverage
from phasegate.checks.testing.js_coverage import JsCoverage
from phasegate.lsp.diagnostics import is_uncovered_lines
from phasegate.model import Finding, Range
from phasegate.runner import ResolvedCheck

pytestmark = pytest.mark.timeout(180)

APP = """\
def used(x: int) -> int:
    return x + 1


def unused(x: int) -> int:
    y = x * 2
    return y
"""

TESTS = """\
from app import used


def test_used() -> None:
    assert used(1) == 2
"""


def coverage_workspace(root: Path) -> Path:
    config = (
        f"interpreter = {json.dumps(sys.executable)}\n\n"
        '[[phases]]\nname = "testing"\n\n[[phases.checks]]\nid = "TEST-COVERAGE"\n'
    )
    files = {"phasegate.toml": config, "app.py": APP, "tests/test_app.py": TESTS}
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize("client_name", ["visual-studio-code", "neovim"])
async def test_uncovered_lines_are_coverage_hints(tmp_path: Path, client_name: str) -> None:
    root = coverage_workspace(tmp_path)
    async with start(root, client_name, options={"settings": {"watch": "off"}}) as s:
        await s.settle(timeout=60)
        await s.command("phasegate.validate")  # runs the tests (trusted workspace)
        await wait_for(
            lambda: sum(d.code == "TEST-COVERAGE" for d in s.diags("app.py")) >= 2,
            120,
            what="TEST-COVERAGE diagnostics on app.py",
        )
        diags = [d for d in s.diags("app.py") if d.code == "TEST-COVERAGE"]
        by_message = {d.message: d for d in diags}
        assert set(by_message) == {
            "coverage 60.0% is below the target 80%",
            "lines 6-7 not covered by the tests",
        }
        lines = by_message["lines 6-7 not covered by the tests"]
        assert lines.severity == types.DiagnosticSeverity.Hint
        assert plain(lines.data)["coverage"] is True
        assert (lines.range.start.line, lines.range.start.character) == (5, 0)
        assert (lines.range.end.line, lines.range.end.character) == (6, len("    return y"))
        summary = by_message["coverage 60.0% is below the target 80%"]
        assert summary.severity == types.DiagnosticSeverity.Warning
        assert "coverage" not in plain(summary.data)
        await s.settle(timeout=60)


def test_validate_still_reports_uncovered_lines_as_findings(tmp_path: Path) -> None:
    root = coverage_workspace(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "phasegate", "validate", "--format", "json", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    (check,) = [c for p in report["phases"] for c in p["checks"] if c["id"] == "TEST-COVERAGE"]
    messages = {f["message"]: f for f in check["findings"]}
    assert "lines 6-7 not covered by the tests" in messages
    assert messages["lines 6-7 not covered by the tests"]["severity"] == "warning"


def _rc(cls: type) -> ResolvedCheck:
    """Only the check's class matters here."""
    return cast(ResolvedCheck, SimpleNamespace(cls=cls))


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("line 4 not covered by the tests", True),
        ("lines 4-9 not covered by the tests", True),
        ("new line 4 not covered by the tests", True),
        ("new lines 4-9 not covered by the tests", True),
        ("coverage 61.0% is below the target 80%", False),
        ("3 more uncovered ranges in 2 file(s) not shown; coverage 61.0% (target 80%)", False),
        ("coverage on new code 50.0% is below the target 80% (1 of 2 new lines covered)", False),
    ],
)
def test_which_coverage_findings_are_lines(message: str, expected: bool) -> None:
    rng = Range.span(3, 0, 8, 10_000)
    f = Finding(path="app.py", range=rng, code="TEST-COVERAGE", message=message)
    assert is_uncovered_lines(_rc(Coverage), f) is expected
    assert is_uncovered_lines(_rc(JsCoverage), f) is expected  # the same findings
    # another check's finding in the same words is not coverage
    assert is_uncovered_lines(_rc(Finding), f) is False
