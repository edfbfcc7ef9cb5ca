"""The generic `command` check and the output parsers (SARIF, JSON list, lines)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from phasegate.checks.command import CommandCheck
from phasegate.checks.implementation.lint import find_ruff
from phasegate.config import CheckConfig, Config, PhaseConfig
from phasegate.findings_parse import (
    FindingMaker,
    ParseError,
    parse_json_list,
    parse_lines,
    parse_sarif,
    range_1based,
)
from phasegate.model import CheckResult, Finding, Severity
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace

FIXTURES = Path(__file__).parent / "fixtures" / "tools"
PY = sys.executable


def run(
    root: Path, *, trusted: bool = True, timeout: float | None = None, **opts: Any
) -> CheckResult:
    cc = CheckConfig(id="MYTOOL", kind="command", options=opts, timeout=timeout)
    cfg = Config(phases=[PhaseConfig(name="implementation", checks=[cc])])
    runner = GateRunner(Workspace(root), cfg, trusted=trusted)
    return runner.run_check(runner.checks("implementation")[0])


@pytest.fixture
def lint_ws(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / "lint_project", tmp_path / "ws")
    return tmp_path / "ws"


def ruff_bin(root: Path) -> str:
    ruff = find_ruff(root, trusted=False)
    assert ruff is not None
    return ruff


def test_sarif_from_a_real_tool_matches_its_json(lint_ws: Path) -> None:
    ruff = ruff_bin(lint_ws)
    res = run(
        lint_ws,
        command=[ruff, "check", "--no-cache", "--output-format", "sarif", "."],
        format="sarif",
        success_codes=[0, 1],
    )
    cc = CheckConfig(id="IMPL-LINT")
    runner = GateRunner(Workspace(lint_ws), Config(phases=[PhaseConfig(name="i", checks=[cc])]))
    lint = runner.run_check(runner.checks("i")[0])
    assert res.passed and res.error is None
    # IMPL-LINT leaves the parse errors of pkg/broken.py to IMPL-SYNTAX
    res.findings = [f for f in res.findings if f.path != "pkg/broken.py"]
    assert len(res.findings) == len(lint.findings) > 5

    def key(f: Finding) -> tuple[str, int, int]:
        return (f.path, f.range.start.line, f.range.start.character)

    pairs = zip(sorted(res.findings, key=key), sorted(lint.findings, key=key), strict=True)
    for via_sarif, via_json in pairs:
        assert via_sarif.path == via_json.path
        assert via_sarif.range == via_json.range
        assert via_sarif.code == "MYTOOL"
        if via_json.fix is not None:
            assert via_sarif.fix is not None
            assert via_sarif.fix.edits == via_json.fix.edits
    assert all(f.severity == Severity.ERROR for f in res.findings)  # ruff says "error"


def test_lines_format_and_exit_code_verdict(lint_ws: Path) -> None:
    ruff = ruff_bin(lint_ws)
    cmd = [ruff, "check", "--no-cache", "--output-format", "concise", "."]
    res = run(lint_ws, command=cmd, format="lines")
    assert not res.passed and res.score == 0.0  # ruff exits 1
    f401 = next(f for f in res.findings if "F401" in f.message and "`sys`" in f.message)
    assert f401.path == "pkg/core.py"
    assert (f401.range.start.line, f401.range.start.character) == (0, 7)
    res = run(lint_ws, command=cmd, format="lines", success_codes=[0, 1])
    assert res.passed and res.score == 1.0 and res.findings


def test_json_list_format_drops_paths_outside_the_workspace(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("x = 1\ny = 2\n")
    items = [
        {
            "path": "src/a.py",
            "line": 2,
            "column": 1,
            "end_line": 2,
            "end_column": 2,
            "message": "y is bad",
            "severity": "error",
            "code": "Y1",
        },
        {"path": str(tmp_path / "src" / "a.py"), "line": 1, "message": "absolute path ok"},
        {"path": "/etc/passwd", "line": 1, "message": "outside"},
        {"path": "../escape.py", "line": 1, "message": "outside too"},
    ]
    script = f"import json; print(json.dumps({items!r}))"
    res = run(tmp_path, command=[PY, "-c", script], format="json")
    assert res.passed
    assert [(f.path, f.range.start.line, f.message) for f in res.findings] == [
        ("src/a.py", 1, "y is bad [Y1]"),
        ("src/a.py", 0, "absolute path ok"),
    ]
    assert res.findings[0].severity == Severity.ERROR
    assert res.findings[1].severity == Severity.WARNING
    r = res.findings[0].range
    assert (r.start.character, r.end.line, r.end.character) == (0, 1, 1)


def test_exit_code_format_and_failure_message(tmp_path: Path) -> None:
    ok = run(tmp_path, command=[PY, "-c", "pass"])
    assert ok.passed and ok.findings == []
    bad = run(tmp_path, command=[PY, "-c", "import sys; print('it broke'); sys.exit(3)"])
    assert not bad.passed
    (f,) = bad.findings
    assert f.message.endswith("exited with 3: it broke")
    assert f.path == "phasegate.toml" and f.missing_file


def test_files_placeholder_and_cwd(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.txt").write_text("x")
    (tmp_path / "pkg" / "b.txt").write_text("x")
    script = (
        "import sys, os; print('\\n'.join(f'{p}:1:1: seen from {os.path.basename(os.getcwd())}'"
        " for p in sys.argv[1:]))"
    )
    cc = CheckConfig(
        id="MYTOOL",
        kind="command",
        inputs=["pkg/*.txt"],
        options={"command": [PY, "-c", script, "{files}"], "format": "lines"},
    )
    runner = GateRunner(Workspace(tmp_path), Config(phases=[PhaseConfig(name="i", checks=[cc])]))
    res = runner.run_check(runner.checks("i")[0])
    assert [f.path for f in res.findings] == ["pkg/a.txt", "pkg/b.txt"]
    res = run(tmp_path, command=[PY, "-c", "print('a.txt:1: x')"], format="lines", cwd="pkg")
    assert [f.path for f in res.findings] == ["pkg/a.txt"]  # relative to the command's cwd
    res = run(tmp_path, command=[PY, "-c", "pass"], cwd="../..")
    assert res.error is not None and "outside the workspace" in res.error


def test_missing_tool_timeout_and_bad_output(tmp_path: Path) -> None:
    res = run(tmp_path, command=["no-such-tool-xyz", "--flag"])
    assert res.error == "no-such-tool-xyz not found: install it or disable check MYTOOL"
    res = run(tmp_path, timeout=1, command=[PY, "-c", "import time; time.sleep(30)"])
    assert res.error == f"{PY} timed out after 1 s"
    res = run(tmp_path, command=[PY, "-c", "print('not json')"], format="sarif")
    assert res.error is not None and "not sarif" in res.error.lower()


def test_untrusted_workspace_skips_commands(tmp_path: Path) -> None:
    marker = tmp_path.parent / f"{tmp_path.name}-ran"
    res = run(tmp_path, trusted=False, command=[PY, "-c", f"open({str(marker)!r}, 'w')"])
    assert res.skipped is not None and not marker.exists()
    assert CommandCheck.runs_workspace_code


def test_options_are_validated(tmp_path: Path) -> None:
    cc = CheckConfig(id="X", kind="command", options={"command": [], "format": "xml"})
    runner = GateRunner(Workspace(tmp_path), Config(phases=[PhaseConfig(name="i", checks=[cc])]))
    with pytest.raises(ValueError):
        runner.checks("i")


# -- parsers -----------------------------------------------------------------------------


def maker(root: Path) -> FindingMaker:
    return FindingMaker(Workspace(root), "X", "owner")


def test_parse_sarif_fixture(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "settings.py").write_text("import os\n\nPASSWORD = 'hunter2'\n")
    (tmp_path / "app" / "main.py").write_text("\n" * 10)
    raw = (FIXTURES / "sarif" / "tool_output.sarif").read_text()
    data = json.loads(raw.replace("file:///WORKSPACE/", tmp_path.resolve().as_uri() + "/"))
    out = parse_sarif(data, maker(tmp_path))
    assert out.dropped == 2  # /etc/passwd and ../../outside.py; the suppressed one is skipped
    first, second = out.findings
    assert first.path == "app/settings.py" and first.severity == Severity.ERROR
    assert first.message == "Possible hard-coded password: 'hunter2' [EX001]"
    assert (first.range.start.line, first.range.start.character, first.range.end.character) == (
        2,
        11,
        20,
    )
    assert first.fix is not None and first.fix.title == "Read the password from the environment"
    (edit,) = first.fix.edits
    assert edit.new_text == "os.environ['PASSWORD']"
    assert (edit.range.start.character, edit.range.end.character) == (11, 20)
    # message from the rule's messageStrings, level "note", rule by index, whole line
    assert second.path == "app/main.py" and second.severity == Severity.INFO
    assert second.message == "assert used in check() [EX002]"
    assert second.range.start.line == 4 and second.range.end.character == 10_000
    with pytest.raises(ParseError):
        parse_sarif("{}", maker(tmp_path))


def test_parse_lines_variants(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("a\nb\nc\n")
    text = (
        "m.py:2:3: error: Incompatible types  [assignment]\n"
        "m.py:2:3: note: see the docs\n"
        "m.py:3: warning: whole line\n"
        "m.py:1:1:1:4: error: with an end (mypy --show-error-end)\n"
        "Found 3 errors in 1 file\n"
        "/elsewhere/x.py:1:1: dropped\n"
    )
    out = parse_lines(text, maker(tmp_path))
    assert out.dropped == 1
    a, b, c = out.findings
    assert a.severity == Severity.ERROR and a.message.endswith("\nsee the docs")
    assert (a.range.start.line, a.range.start.character) == (1, 2)
    assert b.severity == Severity.WARNING and b.range.start.character == 0
    assert (c.range.start.character, c.range.end.line, c.range.end.character) == (0, 0, 4)


def test_parse_json_list_rejects_non_lists(tmp_path: Path) -> None:
    with pytest.raises(ParseError):
        parse_json_list('{"a": 1}', maker(tmp_path))
    assert parse_json_list('{"findings": []}', maker(tmp_path)).findings == []
    assert parse_json_list("", maker(tmp_path)).findings == []


def test_range_1based() -> None:
    r = range_1based(3, 5, 4, 2)
    assert (r.start.line, r.start.character, r.end.line, r.end.character) == (2, 4, 3, 1)
    r = range_1based(1)
    assert (r.start.character, r.end.character) == (0, 10_000)
