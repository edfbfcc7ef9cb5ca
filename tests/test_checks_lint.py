"""IMPL-LINT: ruff's diagnostics as findings, exactly as many as `ruff check` reports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from phasegate.checks.implementation import lint as lint_mod
from phasegate.checks.implementation.lint import Lint, find_ruff
from phasegate.checks.implementation.ruff_project import RuffBinary, ruff_version
from phasegate.config import CheckConfig, Config, PhaseConfig
from phasegate.model import CheckResult, Finding, Severity, TextEdit
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace

FIXTURES = Path(__file__).parent / "fixtures" / "tools"


def run_check(
    root: Path, check_id: str = "IMPL-LINT", *, trusted: bool = True, **options: object
) -> CheckResult:
    cc = CheckConfig(id=check_id, options=dict(options))
    cfg = Config(phases=[PhaseConfig(name="implementation", checks=[cc])])
    runner = GateRunner(Workspace(root), cfg, trusted=trusted)
    return runner.run_check(runner.checks("implementation")[0])


def ruff_reported(root: Path, ruff: str) -> int:
    """The count `ruff check` itself prints ("Found N errors."), same tree and config."""
    out = subprocess.run(
        [ruff, "check", "--no-cache", "."], cwd=root, capture_output=True, text=True, check=False
    ).stdout
    if "All checks passed" in out:
        return 0
    m = re.search(r"Found (\d+) errors?", out)
    assert m, out[-500:]
    return int(m.group(1))


def apply_edits(text: str, edits: list[TextEdit]) -> str:
    """Apply LSP-style edits (0-based line/character) to ``text``."""
    lines = text.splitlines(keepends=True)

    def offset(line: int, char: int) -> int:
        return sum(len(x) for x in lines[:line]) + char

    for e in sorted(
        edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
    ):
        a = offset(e.range.start.line, e.range.start.character)
        b = offset(e.range.end.line, e.range.end.character)
        text = text[:a] + e.new_text + text[b:]
        lines = text.splitlines(keepends=True)
    return text


@pytest.fixture
def project(tmp_path: Path) -> Path:
    dst = tmp_path / "ws"
    shutil.copytree(FIXTURES / "lint_project", dst)
    return dst


def by_code(findings: list[Finding], code: str) -> list[Finding]:
    return [f for f in findings if f.message.startswith(code + " ")]


def test_findings_equal_ruff_count_and_respect_workspace_config(project: Path) -> None:
    res = run_check(project)
    ruff = find_ruff(project, trusted=False)
    assert ruff is not None
    assert res.error is None
    # ruff's own count, less its parse errors (pkg/broken.py): those are IMPL-SYNTAX's
    out = subprocess.run(
        [ruff, "check", "--no-cache", "--exit-zero", "--output-format", "json", "."],
        cwd=project,
        capture_output=True,
        check=True,
    ).stdout
    parse_errors = [d for d in json.loads(out) if d["code"] in (None, "invalid-syntax")]
    assert parse_errors
    assert len(res.findings) == ruff_reported(project, ruff) - len(parse_errors) > 0
    # the workspace's config: vendor/ is excluded, E501 ignored, UP selected
    assert not [f for f in res.findings if f.path.startswith("vendor/")]
    assert not by_code(res.findings, "E501")
    assert by_code(res.findings, "UP031")
    assert {f.code for f in res.findings} == {"IMPL-LINT"}
    ver = ruff_version(ruff)
    assert all(f.message.endswith(f"[ruff {ver}, pyproject.toml]") for f in res.findings)
    assert all(f.owner == "backend_developer" for f in res.findings)


def test_exact_ranges_and_severities(project: Path) -> None:
    res = run_check(project)
    f401 = next(f for f in by_code(res.findings, "F401") if "`sys`" in f.message)
    assert f401.path == "pkg/core.py"
    r = f401.range
    assert (r.start.line, r.start.character, r.end.line, r.end.character) == (0, 7, 0, 10)
    assert f401.severity == Severity.WARNING
    # a file that does not parse is IMPL-SYNTAX's finding, not IMPL-LINT's too
    assert not [f for f in res.findings if f.path == "pkg/broken.py"]
    # a non-ASCII identifier on the line does not shift columns (characters, not bytes)
    e711 = by_code(res.findings, "E711")[0]
    line = (project / "pkg/core.py").read_text().splitlines()[e711.range.start.line]
    assert line[e711.range.start.character : e711.range.end.character] == "None"


def test_ruff_fixes_become_fixes_that_apply(project: Path) -> None:
    res = run_check(project)
    e711 = by_code(res.findings, "E711")[0]
    assert e711.fix is not None
    assert "E711" in e711.fix.title and "fix" in e711.fix.title
    text = (project / "pkg/core.py").read_text()
    fixed = apply_edits(text, e711.fix.edits)
    assert "x is None:" in fixed
    unsafe = by_code(res.findings, "F841")[0]
    assert unsafe.fix is not None and "unsafe" in unsafe.fix.title
    # score: files with findings / Python files among the inputs (5: vendor counts too;
    # pkg/broken.py's parse error is IMPL-SYNTAX's, so only pkg/core.py has findings)
    assert res.score == pytest.approx(1 - 1 / 5)
    assert not res.passed


def test_writes_nothing_in_the_workspace(project: Path) -> None:
    before = sorted(p.relative_to(project) for p in project.rglob("*"))
    run_check(project)
    after = sorted(p.relative_to(project) for p in project.rglob("*"))
    assert before == after  # no .ruff_cache, no __pycache__


def test_clean_tree_passes(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("def add(a: int, b: int) -> int:\n    return a + b\n")
    res = run_check(tmp_path)
    assert res.passed and res.score == 1.0 and res.findings == []


def test_missing_ruff_is_a_clear_failure(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lint_mod, "choose_ruff", lambda *a, **k: None)
    res = run_check(project)
    assert not res.passed and res.status == "error"
    assert res.error == "ruff not found: install it or disable check IMPL-LINT"
    missing = RuffBinary(str(project / "no-such-ruff"), None, "test")
    monkeypatch.setattr(lint_mod, "choose_ruff", lambda *a, **k: missing)
    res = run_check(project)
    assert res.error == "ruff not found: install it or disable check IMPL-LINT"


def test_invalid_ruff_config_is_reported(project: Path) -> None:
    (project / "ruff.toml").write_text("[lint]\nselect = 12\n")
    res = run_check(project)
    assert not res.passed
    assert res.error is not None and res.error.startswith("ruff failed")


def _fake_venv_ruff(root: Path, marker: Path) -> None:
    bindir = root / ".venv" / "bin"
    bindir.mkdir(parents=True)
    (bindir / "python").symlink_to(sys.executable)
    script = bindir / "ruff"
    script.write_text(f"#!/bin/sh\necho used > {marker}\necho '[]'\n")
    script.chmod(0o755)


def test_workspace_ruff_only_when_trusted(project: Path, tmp_path: Path) -> None:
    marker = tmp_path / "workspace-ruff-ran"
    _fake_venv_ruff(project, marker)
    untrusted = run_check(project, trusted=False)
    assert not marker.exists()
    assert untrusted.findings  # phasegate's own ruff ran
    trusted = run_check(project, trusted=True)
    assert marker.exists()
    assert trusted.findings == []
    assert not Lint.runs_workspace_code


def test_extra_args_and_incremental_paths(project: Path) -> None:
    res = run_check(project, args=["--select", "F401"])
    other = [f for f in res.findings if not f.message.startswith("SyntaxError")]
    assert other and all(f.message.startswith("F401 ") for f in other)
    # incremental: only the given files, excludes still in force
    cc = CheckConfig(id="IMPL-LINT")
    cfg = Config(phases=[PhaseConfig(name="implementation", checks=[cc])])
    runner = GateRunner(Workspace(project), cfg)
    rc = runner.checks("implementation")[0]
    assert isinstance(rc.check, Lint)
    out = rc.check.lint(rc.ctx, ["pkg/clean.py", "vendor/thirdparty.py"])
    assert out.findings == [] and out.score == 1.0
    out = rc.check.lint(rc.ctx, ["pkg/core.py"])
    assert out.findings and {f.path for f in out.findings} == {"pkg/core.py"}
    assert out.score == 0.0


def test_type_check_with_mypy_in_the_workspace_interpreter(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("def f(x: int) -> str:\n    return x\n\n\nok: int = 1\n")
    cc = CheckConfig(id="IMPL-TYPES")
    cfg = Config(interpreter=sys.executable, phases=[PhaseConfig(name="i", checks=[cc])])
    runner = GateRunner(Workspace(tmp_path), cfg)
    res = runner.run_check(runner.checks("i")[0])
    assert res.error is None, res.error
    (f,) = res.findings
    assert f.path == "m.py" and f.severity == Severity.ERROR
    assert (f.range.start.line, f.range.start.character) == (1, 11)
    assert "Incompatible return value" in f.message and f.message.endswith("[mypy]")
    assert not (tmp_path / ".mypy_cache").exists()
    assert (tmp_path / ".phasegate" / "cache" / "mypy").is_dir()
    untrusted = GateRunner(Workspace(tmp_path), cfg, trusted=False)
    assert untrusted.run_check(untrusted.checks("i")[0]).skipped
