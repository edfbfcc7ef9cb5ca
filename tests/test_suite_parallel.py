"""The test suite across pytest-xdist workers: the real xdist, coverage.py and pytest of
this environment, run on small projects whose serial verdict is known."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from test_checks_testing import _ClockAfter, hanging_test
from test_proc_escape import wait_gone

from phasegate import proc
from phasegate.cache import ResultCache
from phasegate.checks.testing import parallel, pytest_run
from phasegate.checks.testing.parallel import (
    PARALLEL_FROM_S,
    TIMES_FILE,
    load_tests_time,
    save_tests_time,
    worker_count,
    xdist_args,
)
from phasegate.config import CheckConfig, Config, PhaseConfig
from phasegate.config_loader import ConfigError, load_config
from phasegate.model import CheckResult, Severity
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace

pytest.importorskip("xdist", reason="pytest-xdist is one of the test extras")

PKG = """\
STATE = {}


def add(a, b):
    return a + b


def sub(a, b):
    if a < b:
        return -(b - a)
    return a - b


def mul(a, b):
    return a * b


def unused(x):
    return x * 2
"""
TEST_ADD = "import pkg\n\n\ndef test_add():\n    assert pkg.add(1, 2) == 3\n"
TEST_SUB = "import pkg\n\n\ndef test_sub():\n    assert pkg.sub(1, 2) == -1\n"
TEST_MUL = (
    "import pkg\n\n\ndef test_mul():\n    assert pkg.mul(2, 3) == 6\n\n\n"
    "def test_broken():\n    assert pkg.mul(2, 2) == 5\n"
)
# fails in a worker, passes in one process: a test that depends on how the suite runs
TEST_ALONE = """\
import os

import pytest


def test_in_one_process():
    assert "PYTEST_XDIST_WORKER" not in os.environ, "ran in a worker"


class TestOuter:
    class TestInner:
        @pytest.mark.parametrize("x", [1.5])
        def test_nested(self, x):
            assert "PYTEST_XDIST_WORKER" not in os.environ
"""


def project(root: Path, *, alone: bool = False, addopts: str = "") -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text(PKG)
    (root / "tests").mkdir()
    (root / "tests" / "test_add.py").write_text(TEST_ADD)
    (root / "tests" / "test_sub.py").write_text(TEST_SUB)
    (root / "tests" / "test_mul.py").write_text(TEST_MUL)
    if alone:
        (root / "tests" / "test_alone.py").write_text(TEST_ALONE)
    if addopts:
        (root / "pytest.ini").write_text(f"[pytest]\naddopts = {addopts}\n")
    return root


def evaluate(
    root: Path, workers: parallel.Workers, *, cache: bool = False
) -> dict[str, CheckResult]:
    checks = [CheckConfig(id="TEST-PYTEST"), CheckConfig(id="TEST-COVERAGE")]
    cfg = Config(
        interpreter=sys.executable,
        test_workers=workers,
        phases=[PhaseConfig(name="testing", checks=checks)],
    )
    ws = Workspace(root)
    rc = ResultCache(ws.state_dir / "cache") if cache else None
    gate = GateRunner(ws, cfg, trusted=True, cache=rc).evaluate("testing", 0.6)
    return {c.id: c for c in gate.checks}


def pytest_commands(result: CheckResult) -> list[list[str]]:
    assert result.evidence is not None
    return [c for c in result.evidence.commands if "pytest" in c]


def holds(command: list[str], part: list[str]) -> bool:
    """``part`` appears in ``command``, in order and together."""
    n = len(part)
    return any(command[i : i + n] == part for i in range(len(command) - n + 1))


def tree(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if ".phasegate" not in p.relative_to(root).parts
    )


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, CheckResult]]:
    """The same project judged serially and in two workers."""
    base = tmp_path_factory.mktemp("par")
    out: dict[str, dict[str, CheckResult]] = {}
    for name, workers in (("serial", 0), ("parallel", 2)):
        root = project(base / name)
        before = tree(root)
        out[name] = evaluate(root, workers)
        assert tree(root) == before, "the run left files outside .phasegate/"
        assert not (root / ".phasegate" / "tmp").exists()
    return out


def test_two_workers_give_the_serial_verdict_and_coverage(
    both: dict[str, dict[str, CheckResult]],
) -> None:
    serial, par = both["serial"], both["parallel"]
    command = pytest_commands(par["TEST-PYTEST"])[0]
    assert holds(command, ["-n", "2", "--dist", "loadfile"])
    assert holds(command, ["-p", parallel.PLUGIN_MODULE])
    for check in ("TEST-PYTEST", "TEST-COVERAGE"):
        s, p = serial[check], par[check]
        assert (s.passed, s.score, s.error) == (p.passed, p.score, p.error), check
        assert [(f.path, f.range, f.message) for f in s.findings] == [
            (f.path, f.range, f.message) for f in p.findings
        ], check
    messages = [f.message for f in par["TEST-PYTEST"].findings]
    assert len(messages) == 1 and messages[0].startswith("tests/test_mul.py::test_broken failed")
    # the workers measured what the serial run did, and nothing of phasegate's own
    cov = par["TEST-COVERAGE"]
    assert cov.error is None
    assert {f.path for f in cov.findings} == {"pkg/__init__.py"}
    assert not any(".phasegate" in f.path for f in cov.findings)


def test_a_serial_run_overrides_the_projects_own_workers(tmp_path: Path) -> None:
    """``addopts = -n 2`` in the project: coverage run alone would measure none of the
    tests (they run in workers it does not follow); a serial run says ``-n 0``."""
    root = project(tmp_path / "ws", addopts="-n 2")
    res = evaluate(root, 0)
    (cmd,) = pytest_commands(res["TEST-PYTEST"])
    assert holds(cmd, ["-n", "0"])
    assert res["TEST-COVERAGE"].error is None
    uncovered = [f.message for f in res["TEST-COVERAGE"].findings]
    assert uncovered == [m for m in uncovered if "not covered" in m]
    assert res["TEST-COVERAGE"].score > 0.9  # only `unused` is missed


@pytest.mark.parametrize("workers", [0, 2])
def test_the_projects_own_pytest_cov_gives_way(tmp_path: Path, workers: int) -> None:
    """pytest-cov in ``addopts`` (with a floor the project does not meet) measured in
    place of phasegate's run: coverage.py then had no data to report, and the floor
    failed pytest. ``--no-cov`` leaves the measuring to phasegate."""
    pytest.importorskip("pytest_cov", reason="pytest-cov is one of the test extras")
    root = project(
        tmp_path / "ws", addopts="--cov=pkg --cov-report=term-missing --cov-fail-under=100"
    )
    (root / "tests" / "test_mul.py").write_text(TEST_MUL.split("\n\n\ndef test_broken")[0])
    res = evaluate(root, workers)
    assert "--no-cov" in pytest_commands(res["TEST-PYTEST"])[0]
    assert res["TEST-PYTEST"].passed and res["TEST-PYTEST"].error is None
    cov = res["TEST-COVERAGE"]
    assert cov.error is None and 0.9 < cov.score <= 1.0
    assert {f.path for f in cov.findings} == {"pkg/__init__.py"}
    assert not (root / ".coverage").exists()


@pytest.mark.parametrize("workers", [0, 2])
def test_a_project_that_switches_xdist_off_runs_serially(tmp_path: Path, workers: int) -> None:
    """``-p no:xdist`` in addopts: its pytest knows no ``-n``, so the suite runs as the
    project runs it, serially, instead of stopping at a usage error."""
    root = project(tmp_path / "ws", addopts="-p no:xdist")
    res = evaluate(root, workers)
    commands = pytest_commands(res["TEST-PYTEST"])
    assert "-n" not in commands[-1]
    assert res["TEST-PYTEST"].error is None and res["TEST-COVERAGE"].error is None
    (failure,) = res["TEST-PYTEST"].findings
    assert failure.message.startswith("tests/test_mul.py::test_broken failed")
    assert res["TEST-COVERAGE"].score > 0.9


@pytest.mark.parametrize("workers", [0, 2])
def test_plugins_not_loaded_leave_the_run_serial_and_plain(
    tmp_path: Path, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PYTEST_DISABLE_PLUGIN_AUTOLOAD: installed plugins are not loaded, so neither
    xdist's options nor pytest-cov's ``--no-cov`` are known to the project's pytest."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    root = project(tmp_path / "ws")
    res = evaluate(root, workers)
    last = pytest_commands(res["TEST-PYTEST"])[-1]
    assert "-n" not in last and "--no-cov" not in last
    assert res["TEST-PYTEST"].error is None and res["TEST-COVERAGE"].error is None
    (failure,) = res["TEST-PYTEST"].findings
    assert failure.message.startswith("tests/test_mul.py::test_broken failed")
    assert res["TEST-COVERAGE"].score > 0.9


def test_a_missing_test_dependency_is_unknown_in_workers_too(tmp_path: Path) -> None:
    """In workers a collection error does not stop the other files (exit 1, not 2): a
    suite whose only errors are imports of packages the interpreter lacks is still
    unknown, never failed."""
    root = project(tmp_path / "ws")
    (root / "tests" / "test_mul.py").write_text(
        "import no_such_dependency_here\n\n\ndef test_mul():\n    pass\n"
    )
    res = evaluate(root, 2)["TEST-PYTEST"]
    assert res.status == "error" and res.findings == []
    assert res.error is not None and "lacks no_such_dependency_here" in res.error


def test_a_test_failing_only_in_parallel_is_confirmed_serially(tmp_path: Path) -> None:
    root = project(tmp_path / "ws", alone=True)
    (root / "tests" / "test_mul.py").write_text(TEST_MUL.split("\n\n\ndef test_broken")[0])
    res = evaluate(root, 2)["TEST-PYTEST"]
    assert res.passed and res.error is None and res.score == 1.0
    assert [(f.severity, f.path, f.range.start.line) for f in res.findings] == [
        (Severity.INFO, "tests/test_alone.py", 6),
        (Severity.INFO, "tests/test_alone.py", 13),
    ]
    for finding in res.findings:
        assert "in 2 pytest-xdist workers and passed when it ran again serially" in (
            finding.message
        )
    # by pytest's ids: nested classes and a parameter with a dot in it
    rerun = pytest_commands(res)[-1]
    assert holds(rerun, ["-n", "0"])
    assert rerun[-2:] == [
        "tests/test_alone.py::TestOuter::TestInner::test_nested[1.5]",
        "tests/test_alone.py::test_in_one_process",
    ]


def test_a_real_failure_stays_a_failure_after_the_serial_rerun(tmp_path: Path) -> None:
    root = project(tmp_path / "ws", alone=True)
    res = evaluate(root, 2)["TEST-PYTEST"]
    assert not res.passed
    by_severity = {f.severity: f.message for f in res.findings}
    assert by_severity[Severity.ERROR].startswith("tests/test_mul.py::test_broken failed")
    assert by_severity[Severity.INFO].startswith("tests/test_alone.py::")
    # only the failing tests ran again
    assert pytest_commands(res)[-1][-3:] == [
        "tests/test_alone.py::TestOuter::TestInner::test_nested[1.5]",
        "tests/test_alone.py::test_in_one_process",
        "tests/test_mul.py::test_broken",
    ]


def test_auto_goes_serial_once_the_tests_are_known_to_be_quick(tmp_path: Path) -> None:
    root = project(tmp_path / "ws")
    first = evaluate(root, "auto")["TEST-PYTEST"]
    runs = pytest_run.suite_runs
    cores = parallel.cpus()
    cmd = pytest_commands(first)[0]
    if cores >= 2:
        assert cmd[cmd.index("-n") + 1] == str(min(cores, 3))
    else:
        assert cmd[cmd.index("-n") + 1] == "0"
    recorded = load_tests_time(root / ".phasegate" / "cache")
    assert recorded is not None and recorded < PARALLEL_FROM_S
    (root / "tests" / "test_add.py").write_text(TEST_ADD + "\n# changed\n")
    second = evaluate(root, "auto")["TEST-PYTEST"]
    assert pytest_run.suite_runs == runs + 1
    (cmd,) = pytest_commands(second)  # serially: nothing to confirm
    assert holds(cmd, ["-n", "0"])


def test_changing_the_workers_is_never_answered_from_the_cache(tmp_path: Path) -> None:
    root = project(tmp_path / "ws")
    evaluate(root, 0, cache=True)
    runs = pytest_run.suite_runs
    evaluate(root, 0, cache=True)
    assert pytest_run.suite_runs == runs
    evaluate(root, 2, cache=True)
    assert pytest_run.suite_runs == runs + 1


@pytest.mark.parametrize(
    ("setting", "has_xdist", "files", "last", "cores", "expected"),
    [
        ("auto", False, 10, None, 8, 0),
        (4, False, 10, None, 8, 0),
        ("auto", True, 10, None, 8, 8),
        ("auto", True, 3, None, 8, 3),  # one file a worker at most
        ("auto", True, 1, None, 8, 0),
        ("auto", True, 10, None, 1, 0),
        ("auto", True, 10, 0.5, 8, 0),  # known to be quick
        ("auto", True, 10, PARALLEL_FROM_S, 8, 8),
        (0, True, 10, None, 8, 0),
        (1, True, 10, None, 8, 0),
        (5, True, 2, 0.1, 1, 5),  # a number is taken as it is
    ],
)
def test_worker_count(
    setting: parallel.Workers,
    has_xdist: bool,
    files: int,
    last: float | None,
    cores: int,
    expected: int,
) -> None:
    assert worker_count(setting, has_xdist, files, last, available=cores) == expected


def test_xdist_arguments() -> None:
    assert xdist_args(0, False) == []
    assert xdist_args(0, True) == ["-n", "0"]
    assert xdist_args(3, True) == ["-n", "3", "--dist", "loadfile"]


@pytest.mark.parametrize(
    "content", ["", "{", "[]", '{"tests_s": "x"}', '{"tests_s": -1}', '{"tests_s": true}']
)
def test_a_bad_timings_file_is_unknown(tmp_path: Path, content: str) -> None:
    (tmp_path / TIMES_FILE).write_text(content)
    assert load_tests_time(tmp_path) is None


def test_timings_round_trip(tmp_path: Path) -> None:
    assert load_tests_time(tmp_path / "none") is None
    save_tests_time(tmp_path / "cache", 12.34567)
    assert load_tests_time(tmp_path / "cache") == 12.346
    assert json.loads((tmp_path / "cache" / TIMES_FILE).read_text()) == {"tests_s": 12.346}


@pytest.mark.parametrize("value", ["-1", '"many"', "true", "2000", "1.5"])
def test_a_bad_workers_setting_is_an_error_at_its_line(tmp_path: Path, value: str) -> None:
    (tmp_path / "phasegate.toml").write_text(f"thresholds = [0.6]\ntest_workers = {value}\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    text = str(info.value)
    assert "phasegate.toml:2" in text and "test_workers" in text, text


def test_the_workers_plugin_is_not_left_behind(tmp_path: Path) -> None:
    root = project(tmp_path / "ws")
    evaluate(root, 2)
    assert not (root / ".phasegate" / "tmp").exists()
    assert not list(root.rglob(f"{parallel.PLUGIN_MODULE}.py"))
    shutil.rmtree(root / ".phasegate")


def test_a_hanging_worker_is_killed_at_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers are the suite's descendants: the timeout stops them with it, and the
    result is unknown, never a failure of some test."""
    root = project(tmp_path / "ws")
    pid_file = tmp_path / "pid"
    (root / "tests" / "test_hang.py").write_text(hanging_test(pid_file))
    timeout = 600  # a guard only: the clock jumps past it once the worker hangs
    monkeypatch.setattr(proc, "time", _ClockAfter(pid_file, jump=2 * timeout))
    checks = [CheckConfig(id="TEST-PYTEST", timeout=timeout)]
    cfg = Config(
        interpreter=sys.executable, test_workers=2, phases=[PhaseConfig(name="t", checks=checks)]
    )
    gate = GateRunner(Workspace(root), cfg, trusted=True).evaluate("t", 0.6)
    (res,) = gate.checks
    assert res.status == "error" and res.findings == []
    assert res.error is not None and f"timed out after {timeout} s" in res.error
    pid = int(pid_file.read_text())
    assert pid != os.getpid()
    assert wait_gone(pid), "the hanging worker outlived the timeout"
    assert not (root / ".phasegate" / "tmp").exists()
