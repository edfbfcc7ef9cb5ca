"""Testing-phase checks with the real pytest and coverage.py, in the workspace's interpreter."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from phasegate import proc
from phasegate.cache import ResultCache
from phasegate.checks.testing import pytest_run
from phasegate.checks.testing.coverage import Coverage, CoverageOptions, uncovered_ranges
from phasegate.checks.testing.pytest_run import failure_location, parse_junit
from phasegate.config import CheckConfig, Config, PhaseConfig
from phasegate.interpreter import InterpreterNotFound, find_interpreter
from phasegate.model import CheckResult, Severity
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace

FIXTURES = Path(__file__).parent / "fixtures" / "tools"
TESTING = ["TEST-EXISTS", "TEST-PYTEST", "TEST-COVERAGE", "TEST-TRACE"]


def make_runner(
    root: Path,
    ids: list[str],
    *,
    interpreter: str | None = sys.executable,
    trusted: bool = True,
    cache: bool = False,
    timeout: float | None = None,
    options: dict[str, dict[str, Any]] | None = None,
) -> GateRunner:
    options = options or {}
    checks = [CheckConfig(id=i, timeout=timeout, options=options.get(i, {})) for i in ids]
    cfg = Config(interpreter=interpreter, phases=[PhaseConfig(name="testing", checks=checks)])
    ws = Workspace(root)
    rc = ResultCache(ws.state_dir / "cache") if cache else None
    return GateRunner(ws, cfg, trusted=trusted, cache=rc)


def results(runner: GateRunner) -> dict[str, CheckResult]:
    gate = runner.evaluate("testing", 0.6)
    return {c.id: c for c in gate.checks}


def snapshot(root: Path) -> dict[str, str]:
    """Every path outside .phasegate/ -> sha256 of its bytes (or "dir")."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        if rel.parts[:1] == (".phasegate",):
            continue
        for d in dirnames:
            out[(rel / d).as_posix() + "/"] = "dir"
        for f in filenames:
            out[(rel / f).as_posix()] = hashlib.sha256((Path(dirpath) / f).read_bytes()).hexdigest()
    return {k: v for k, v in out.items() if not k.startswith(".phasegate/")}


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The pytest fixture project validated once with every tool-backed check."""
    root = tmp_path_factory.mktemp("pt") / "ws"
    shutil.copytree(FIXTURES / "pytest_project", root)
    before = snapshot(root)
    runs_before = pytest_run.suite_runs
    ids = [*TESTING, "IMPL-LINT", "DEP-METADATA", "DEP-README", "DEP-CI", "DEP-CHANGELOG"]
    res = results(make_runner(root, ids, cache=True))
    return {
        "root": root,
        "before": before,
        "after": snapshot(root),
        "runs": pytest_run.suite_runs - runs_before,
        "res": res,
    }


def test_validation_writes_nothing_outside_the_state_dir(evaluated: dict[str, Any]) -> None:
    assert evaluated["before"] == evaluated["after"]  # same file list, same bytes
    root: Path = evaluated["root"]
    assert not list(root.rglob("__pycache__"))
    assert (root / ".phasegate" / "cache").is_dir()  # the results went there
    assert not (root / ".phasegate" / "tmp").exists()  # per-run files cleaned up


def test_suite_runs_once_for_pytest_and_coverage(evaluated: dict[str, Any]) -> None:
    assert evaluated["runs"] == 1


def test_failing_tests_are_findings_at_their_lines(evaluated: dict[str, Any]) -> None:
    res = evaluated["res"]["TEST-PYTEST"]
    assert not res.passed and res.error is None
    assert res.score == pytest.approx(0.5)  # 2 of 4 tests fail
    by_test = {f.message.split(" ", 1)[0]: f for f in res.findings}
    wrong = by_test["tests/test_calc.py::test_add_wrong"]
    assert wrong.path == "tests/test_calc.py"
    assert wrong.range.start.line == 14  # `assert result == 5, ...`
    assert wrong.range.start.character == 4
    assert "two and two make four" in wrong.message
    assert wrong.severity == Severity.ERROR and wrong.owner == "qa_engineer"
    err = by_test["tests/test_calc.py::test_with_error"]
    assert err.range.start.line == 23  # the fixture's `raise`
    assert "fixture cannot start" in err.message


def test_coverage_score_and_uncovered_ranges(evaluated: dict[str, Any]) -> None:
    res = evaluated["res"]["TEST-COVERAGE"]
    assert res.error is None and not res.passed
    # calc.py: 11 statements, 6 run (the test files are not counted)
    assert res.score == pytest.approx((600 / 11) / 80)
    ranges = [
        (f.range.start.line, f.range.end.line) for f in res.findings if "not covered" in f.message
    ]
    assert ranges == [(9, 9), (14, 17)]
    assert all(f.path == "calc.py" for f in res.findings)
    assert any("below the target 80%" in f.message for f in res.findings)


def test_trace_and_exists(evaluated: dict[str, Any]) -> None:
    trace = evaluated["res"]["TEST-TRACE"]
    assert [f.message.split(" ", 1)[0] for f in trace.findings] == ["REQ-003"]
    f = trace.findings[0]
    assert (f.path, f.range.start.line, f.range.start.character) == ("docs/requirements.md", 12, 4)
    assert trace.score == pytest.approx(2 / 3)
    assert evaluated["res"]["TEST-EXISTS"].passed


def test_coverage_findings_only_for_files_changed_since_last_pass(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(FIXTURES / "pytest_project", root)
    (root / "tests" / "test_calc.py").write_text(
        "from calc import add\nfrom other import half\n\n\n"
        "def test_add():\n    assert add(1, 1) == 2\n\n\n"
        "def test_half():\n    assert half(4) == 2\n"
    )
    (root / "other.py").write_text(
        "def half(x):\n    return x / 2\n\n\ndef never():\n    return 1\n"
    )
    opts = {"TEST-COVERAGE": {"target": 40}}
    first = results(make_runner(root, ["TEST-COVERAGE"], options=opts))["TEST-COVERAGE"]
    assert first.passed
    # no history yet: every file's uncovered ranges, as information
    assert {f.path for f in first.findings} == {"calc.py", "other.py"}
    assert all(f.severity == Severity.INFO for f in first.findings)
    (root / "other.py").write_text(
        "def half(x):\n    return x / 2\n\n\ndef never():\n    return 2\n\n\n"
        "def also():\n    pass\n"
    )
    second = results(make_runner(root, ["TEST-COVERAGE"], options=opts))["TEST-COVERAGE"]
    assert second.passed
    assert {f.path for f in second.findings} == {"other.py"}  # calc.py did not change
    assert [(f.range.start.line, f.range.end.line) for f in second.findings] == [(5, 5), (9, 9)]
    assert pytest_run.suite_runs >= 2


def test_coverage_findings_are_capped_with_a_summary(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n" * 10)
    runner = make_runner(tmp_path, ["TEST-COVERAGE"])
    rc = runner.checks("testing")[0]
    data = {
        "files": {
            "a.py": {"executed_lines": [1, 3, 5], "missing_lines": [2, 4, 6, 7]},
            "tests/test_a.py": {"executed_lines": [], "missing_lines": [1]},
        }
    }
    check = rc.check
    assert isinstance(check, Coverage)
    out = check.evaluate(rc.ctx, CoverageOptions(target=80, max_findings=2), data)
    messages = [f.message for f in out.findings]
    assert messages[0] == "coverage 42.9% is below the target 80%"
    assert messages[1:3] == ["line 2 not covered by the tests", "line 4 not covered by the tests"]
    assert messages[3].startswith("1 more uncovered ranges in 1 file(s) not shown")
    assert out.passed is False and out.score == pytest.approx((300 / 7) / 80)


def test_a_source_setting_naming_another_package_is_not_full_coverage(tmp_path: Path) -> None:
    """A real run: coverage.py told to measure a package that is not there reports only
    the tests, which used to read as 100% of nothing."""
    root = tmp_path / "ws"
    shutil.copytree(FIXTURES / "pytest_project", root)
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text() if pyproject.exists() else ""
    pyproject.write_text(text + '\n[tool.coverage.run]\nsource = ["otherpkg", "tests"]\n')
    lines = pyproject.read_text().splitlines()
    res = results(make_runner(root, ["TEST-COVERAGE"]))["TEST-COVERAGE"]
    assert not res.passed and res.score == 0.0
    (f,) = res.findings
    assert (f.path, f.range.start.line) == (
        "pyproject.toml",
        lines.index('source = ["otherpkg", "tests"]'),
    )
    assert f.message.startswith("coverage.py measured none of the ") and "calc.py" in f.message


def test_measuring_nothing_points_at_the_setting_or_at_a_source_file(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "core.py").write_text("x = 1\n")
    (tmp_path / "setup.py").write_text("pass\n")
    runner = make_runner(tmp_path, ["TEST-COVERAGE"])
    rc = runner.checks("testing")[0]
    check = rc.check
    assert isinstance(check, Coverage)
    only_tests = {"files": {"tests/test_a.py": {"executed_lines": [1], "missing_lines": []}}}
    out = check.evaluate(rc.ctx, CoverageOptions(), only_tests)
    (f,) = out.findings
    assert (f.path, f.range.start.line) == ("pkg/core.py", 0)  # no setting: a module
    assert "none of the 3 source files" in f.message and out.passed is False
    (tmp_path / ".coveragerc").write_text("[report]\nshow_missing = true\n[run]\nsource_pkgs = x\n")
    runner = make_runner(tmp_path, ["TEST-COVERAGE"])
    rc = runner.checks("testing")[0]
    out = check.evaluate(rc.ctx, CoverageOptions(), only_tests)
    (f,) = out.findings
    assert (f.path, f.range.start.line) == (".coveragerc", 3)
    # nothing to measure at all (no source file): nothing is missing
    for p in (pkg / "__init__.py", pkg / "core.py", tmp_path / "setup.py"):
        p.unlink()
    runner = make_runner(tmp_path, ["TEST-COVERAGE"])
    rc = runner.checks("testing")[0]
    out = check.evaluate(rc.ctx, CoverageOptions(), only_tests)
    assert out.passed and out.findings == [] and out.score == 1.0


def test_uncovered_ranges_group_consecutive_statements() -> None:
    assert uncovered_ranges([1, 5, 9], [2, 3, 4, 7, 8, 10]) == [(2, 4), (7, 8), (10, 10)]
    assert uncovered_ranges([], []) == []
    # blank lines between missed statements do not split a range
    assert uncovered_ranges([1], [3, 6]) == [(3, 6)]


class _ClockAfter:
    """``time`` for :mod:`phasegate.proc`: the real clock until ``event`` exists, then
    ``jump`` seconds later. A timeout that would otherwise fire at a wall-clock instant
    fires right after the event instead, however slow the machine is to get there."""

    def __init__(self, event: Path, jump: float) -> None:
        self.event = event
        self.jump = jump
        self.offset = 0.0

    def monotonic(self) -> float:
        if not self.offset and self.event.exists():
            self.offset = self.jump
        return time.monotonic() + self.offset

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def hanging_test(pid_file: Path) -> str:
    """A test module whose test hangs; the pid file appears complete (renamed into
    place) once the process running it is inside the hanging test."""
    return (
        "import os, time\n\n\ndef test_forever():\n"
        f"    open({str(pid_file) + '.tmp'!r}, 'w').write(str(os.getpid()))\n"
        f"    os.replace({str(pid_file) + '.tmp'!r}, {str(pid_file)!r})\n"
        "    while True:\n        time.sleep(1)\n"
    )


def test_hanging_suite_is_killed_at_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "ws"
    shutil.copytree(FIXTURES / "hang_project", root)
    pid_file = tmp_path / "pid"
    (root / "tests" / "test_hang.py").write_text(hanging_test(pid_file))
    # The timeout passes once the suite is inside its hanging test, not at a wall-clock
    # instant: a loaded machine may take longer than any short timeout to start pytest,
    # and a suite killed before it hangs proves nothing. The timeout itself is long, a
    # guard only (a suite that never reaches its test is killed there, and fails below).
    timeout = 600
    monkeypatch.setattr(proc, "time", _ClockAfter(pid_file, jump=2 * timeout))
    res = results(make_runner(root, ["TEST-PYTEST"], timeout=timeout))["TEST-PYTEST"]
    # a timed-out suite is unknown, not a failure pinned to some test file
    assert not res.passed and res.score == 0.0 and res.status == "error"
    assert res.findings == []
    assert res.error is not None and f"timed out after {timeout} s" in res.error
    assert "timeouts.tests" in res.error
    assert pid_file.exists(), "the suite was stopped before it reached its hanging test"
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_no_tests_collected_is_its_own_finding(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_nothing.py").write_text("VALUE = 1\n")
    res = results(make_runner(tmp_path, ["TEST-PYTEST"]))["TEST-PYTEST"]
    assert not res.passed and res.error is None
    assert [f.message for f in res.findings] == ["no tests collected by pytest"]


def _venv(path: Path, with_pytest: bool) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    if with_pytest:
        # pytest and what it imports, taken from this environment; coverage left out
        site = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        here = Path(pytest.__file__).parent.parent
        for name in ("pytest", "_pytest", "pluggy", "iniconfig", "packaging", "pygments", "py.py"):
            if (here / name).exists():
                (Path(site) / name).symlink_to(here / name)
    return python


def test_pytest_missing_in_the_interpreter_is_a_clear_error(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(FIXTURES / "pytest_project", ws)
    _venv(ws / ".venv", with_pytest=False)
    res = results(make_runner(ws, ["TEST-PYTEST"], interpreter=None))["TEST-PYTEST"]
    assert not res.passed
    assert res.error is not None
    assert res.error.startswith(f"pytest is not installed in {ws / '.venv' / 'bin' / 'python'}")
    assert "disable check TEST-PYTEST" in res.error


def test_coverage_missing_fails_coverage_only(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(FIXTURES / "pytest_project", ws)
    python = _venv(tmp_path / "env", with_pytest=True)
    res = results(make_runner(ws, ["TEST-PYTEST", "TEST-COVERAGE"], interpreter=str(python)))
    assert res["TEST-PYTEST"].error is None
    assert len(res["TEST-PYTEST"].findings) == 2
    err = res["TEST-COVERAGE"].error
    assert err is not None and err.startswith("coverage is not installed in")
    assert "disable check TEST-COVERAGE" in err


def test_the_suite_runs_as_in_its_activated_environment(tmp_path: Path) -> None:
    """Tools a suite starts by name (pytest-mypy-plugins runs `mypy`) are the workspace
    environment's: its bin first on PATH, and VIRTUAL_ENV set, as when activated."""
    ws = tmp_path / "ws"
    (ws / "tests").mkdir(parents=True)
    venv = ws / ".venv"
    _venv(venv, with_pytest=True)
    (venv / "bin" / "project-tool").write_text("#!/bin/sh\necho from-the-venv\n")
    (venv / "bin" / "project-tool").chmod(0o755)
    (ws / "tests" / "test_env.py").write_text(
        "import os, shutil, subprocess\n\n\ndef test_env():\n"
        f"    assert os.environ['VIRTUAL_ENV'] == {str(venv)!r}\n"
        "    out = subprocess.run(['project-tool'], capture_output=True, text=True).stdout\n"
        "    assert out.strip() == 'from-the-venv'\n"
    )
    res = results(make_runner(ws, ["TEST-PYTEST"], interpreter=None))["TEST-PYTEST"]
    assert res.error is None and res.passed, res.findings


def test_untrusted_workspace_runs_no_tests(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "pytest_project", tmp_path / "ws")
    before = pytest_run.suite_runs
    res = results(make_runner(tmp_path / "ws", TESTING, trusted=False))
    assert res["TEST-PYTEST"].skipped and res["TEST-COVERAGE"].skipped
    assert res["TEST-TRACE"].skipped is None and res["TEST-EXISTS"].skipped is None
    assert pytest_run.suite_runs == before


def test_no_test_files(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("x = 1\n")
    res = results(make_runner(tmp_path, ["TEST-EXISTS"]))["TEST-EXISTS"]
    assert not res.passed and res.score == 0.0
    (f,) = res.findings
    assert f.path == "tests/" and f.missing_file


def test_interpreter_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bindir = tmp_path / "path-bin"
    bindir.mkdir()
    fake = bindir / "python3"
    fake.symlink_to(sys.executable)
    monkeypatch.setenv("PATH", str(bindir))
    cfg = Config()
    assert find_interpreter(tmp_path, cfg) == str(fake)  # PATH, not sys.executable
    for venv in ("venv", ".venv"):
        (tmp_path / venv / "bin").mkdir(parents=True)
        (tmp_path / venv / "bin" / "python").symlink_to(sys.executable)
        assert find_interpreter(tmp_path, cfg) == str(tmp_path / venv / "bin" / "python")
    configured = Config(interpreter="venv/bin/python")
    assert find_interpreter(tmp_path, configured) == str(tmp_path / "venv/bin/python")
    with pytest.raises(InterpreterNotFound):
        find_interpreter(tmp_path, Config(interpreter="no-such-python-here"))


COLLECTION_ERROR_XML = b"""<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite
name="pytest" errors="1" failures="0" skipped="0" tests="1"><testcase classname=""
name="tests.test_bad" time="0.000"><error message="collection failure">ROOT/x.py:12: in f
    ...
E     File "ROOT/tests/test_bad.py", line 3
E       def test_x(:
E   SyntaxError: invalid syntax</error></testcase></testsuite></testsuites>"""


def test_junit_collection_error_points_at_the_bad_line(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_bad.py").write_text("import os\n\ndef test_x(:\n    pass\n")
    ws = Workspace(tmp_path)
    xml = COLLECTION_ERROR_XML.replace(b"ROOT", str(tmp_path).encode())
    (case,) = parse_junit(xml, ws)
    assert case.outcome == "error" and case.file == "tests/test_bad.py"
    assert failure_location(ws, case) == ("tests/test_bad.py", 2)


def test_coverage_below_target_is_shown_on_the_least_covered_file(tmp_path: Path) -> None:
    """Not on an empty ``__init__.py`` that happens to sort first."""
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "core.py").write_text("\n".join(f"x{i} = {i}" for i in range(10)) + "\n")
    (root / "pkg" / "util.py").write_text("a = 1\nb = 2\n")
    runner = make_runner(root, ["TEST-COVERAGE"])
    (rc,) = runner.checks("testing")
    data = {
        "files": {
            "pkg/__init__.py": {"executed_lines": [], "missing_lines": []},
            "pkg/core.py": {"executed_lines": [1, 2], "missing_lines": list(range(3, 11))},
            "pkg/util.py": {"executed_lines": [1], "missing_lines": [2]},
        }
    }
    opts = rc.check.Options()
    outcome = rc.check.evaluate(rc.ctx, opts, data)  # type: ignore[attr-defined]
    below = [f for f in outcome.findings if "below the target" in f.message]
    assert [f.path for f in below] == ["pkg/core.py"]


def test_object_addresses_are_left_out_of_failure_messages() -> None:
    """An address differs on every run; a message is part of a finding's fingerprint."""
    msg = "assert bool is None + where None = <Extractor object at 0x7ff4f2cb90f0>.get"
    assert pytest_run._short(msg, "") == (
        "assert bool is None + where None = <Extractor object at 0x…>.get"
    )
    assert pytest_run._short("assert 0x7ff4f2cb90f0 == 1", "") == "assert 0x7ff4f2cb90f0 == 1"


# Hypothesis loads its "ci" profile, which keeps no example database, when one of these is set.
HYPOTHESIS_CI_VARS = (
    "CI",
    "__TOX_ENVIRONMENT_VARIABLE_ORIGINAL_CI",
    "TF_BUILD",
    "bamboo.buildKey",
    "BUILDKITE",
    "CIRCLECI",
    "CIRRUS_CI",
    "CODEBUILD_BUILD_ID",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "HEROKU_TEST_RUN_ID",
    "TEAMCITY_VERSION",
)


def test_hypothesis_keeps_its_examples_under_the_state_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example database goes to .phasegate/cache/hypothesis, not .hypothesis/ in the
    workspace; a .hypothesis/ a tool still makes there anew is removed, one the project
    had is left alone. Run as on a developer's machine: on CI, Hypothesis keeps no database."""
    for var in HYPOTHESIS_CI_VARS:
        monkeypatch.delenv(var, raising=False)
    ws = tmp_path / "ws"
    (ws / "tests").mkdir(parents=True)
    (ws / "tests" / "test_prop.py").write_text(
        "from hypothesis import given, strategies as st\n\n\n"
        "@given(st.integers())\ndef test_int(x):\n    assert x < 1000\n"
    )
    before = snapshot(ws)
    res = results(make_runner(ws, ["TEST-PYTEST"]))["TEST-PYTEST"]
    assert not res.passed and res.error is None  # the failing example is saved
    assert snapshot(ws) == before
    assert any((ws / ".phasegate" / "cache" / "hypothesis").iterdir())
    # a tool that writes .hypothesis/ whatever it is told
    (ws / "tests" / "test_prop.py").write_text(
        "import pathlib\n\n\ndef test_writes():\n"
        "    pathlib.Path('.hypothesis/examples').mkdir(parents=True)\n"
        "    pathlib.Path('.hypothesis/examples/x').write_text('x')\n"
    )
    res = results(make_runner(ws, ["TEST-PYTEST"]))["TEST-PYTEST"]
    assert res.passed and not (ws / ".hypothesis").exists()
    # the project's own, there before the run: kept
    (ws / ".hypothesis").mkdir()
    (ws / ".hypothesis" / "mine").write_text("kept")
    (ws / "tests" / "test_prop.py").write_text("def test_nothing_written():\n    assert True\n")
    results(make_runner(ws, ["TEST-PYTEST"]))
    assert (ws / ".hypothesis" / "mine").read_text() == "kept"
