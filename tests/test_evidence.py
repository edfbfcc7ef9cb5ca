"""Every check result records how it was obtained (its evidence): what ran, with what
exit, from the cache or not, skipped or not run, at which commit."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from phasegate.cache import ResultCache
from phasegate.checks.base import Check, CheckContext, CheckOutcome, register_check
from phasegate.commands._output import gates_to_json, render_gates
from phasegate.config import CheckConfig, Config, PhaseConfig
from phasegate.evidence import CommandView, program_name, rule_of, summary_line
from phasegate.model import CheckResult, Evidence, GateResult
from phasegate.proc import Invocation, record, recording, run_tool
from phasegate.report.data import FindingGroup
from phasegate.report.findings import _group
from phasegate.report.html import _finding_group
from phasegate.runner import GateRunner, score_gate
from phasegate.workspace import Workspace

PY = sys.executable
FIXTURES = Path(__file__).parent / "fixtures" / "tools"
GIT = shutil.which("git")


def command_runner(
    root: Path,
    command: list[str],
    *,
    trusted: bool = True,
    cache: bool = True,
    timeout: float | None = None,
    check_id: str = "MYTOOL",
) -> GateRunner:
    cc = CheckConfig(id=check_id, kind="command", options={"command": command}, timeout=timeout)
    cfg = Config(phases=[PhaseConfig(name="implementation", checks=[cc])])
    ws = Workspace(root)
    rc = ResultCache(ws.state_dir / "cache") if cache else None
    return GateRunner(ws, cfg, trusted=trusted, cache=rc)


def run_one(runner: GateRunner) -> CheckResult:
    result = runner.run_check(runner.checks("implementation")[0])
    if runner.cache is not None:
        runner.cache.flush()
    return result


def evidence(result: CheckResult) -> Evidence:
    assert result.evidence is not None
    return result.evidence


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.txt").write_text("hello\n")
    return root


# -- the command check -----------------------------------------------------------------------
def test_a_command_records_its_argv_exit_code_and_rule(ws: Path) -> None:
    code = "import sys; sys.exit(3)"
    runner = command_runner(ws, [PY, "-c", code])
    result = run_one(runner)
    ev = evidence(result)
    assert result.status == "failed"  # exit 3 is not a success code: a verdict, not unknown
    assert ev.how == "ran"
    assert ev.rule == os.path.basename(PY)
    assert len(ev.commands) == 1 and ev.commands[0][1:] == ["-c", code]
    assert ev.exit_codes == [3]
    assert not ev.timed_out and ev.duration_s > 0
    assert ev.inputs_hash == runner.inputs_hash(runner.checks("implementation")[0])


def test_a_second_run_from_the_cache_says_cached(ws: Path) -> None:
    first = evidence(run_one(command_runner(ws, [PY, "-c", "pass"])))
    again = run_one(command_runner(ws, [PY, "-c", "pass"]))
    ev = evidence(again)
    assert again.cached and ev.how == "cached"
    assert ev.commands == [] and ev.exit_codes == [] and ev.rule == ""  # not known
    assert ev.inputs_hash == first.inputs_hash is not None
    # a changed input: it runs again
    (ws / "a.txt").write_text("changed\n")
    assert evidence(run_one(command_runner(ws, [PY, "-c", "pass"]))).how == "ran"


def test_an_untrusted_run_says_skipped(ws: Path) -> None:
    result = run_one(command_runner(ws, [PY, "-c", "pass"], trusted=False))
    ev = evidence(result)
    assert result.status == "skipped" and ev.how == "skipped"
    assert ev.commands == [] and ev.rule == "" and ev.inputs_hash is None


def test_a_tool_that_times_out_is_unknown_never_passed(ws: Path) -> None:
    runner = command_runner(ws, [PY, "-c", "import time; time.sleep(60)"], timeout=1.0)
    result = run_one(runner)
    ev = evidence(result)
    assert result.status == "error" and not result.passed and result.error
    assert ev.how == "not_run"
    assert ev.timed_out and ev.exit_codes == [None]
    assert ev.commands[0][1:] == ["-c", "import time; time.sleep(60)"]
    gate = score_gate("implementation", [result], 0.0)
    assert not gate.passed
    assert summary_line([gate]) == "checks: 0 ran, 1 could not run"


def test_a_missing_program_could_not_run(ws: Path) -> None:
    result = run_one(command_runner(ws, ["no-such-program-phasegate-xyz"]))
    ev = evidence(result)
    assert result.status == "error" and ev.how == "not_run"
    assert ev.rule == "no-such-program-phasegate-xyz" and ev.exit_codes == [None]


def test_paths_in_the_workspace_are_relative_and_home_is_tilde(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(ws.parent))
    runner = command_runner(ws, [PY, "-c", "pass", str(ws / "a.txt"), f"--root={ws}"])
    ev = evidence(run_one(runner))
    assert ev.commands[0][-2:] == ["a.txt", "--root=."]
    view = CommandView(ws)
    assert view.arg(str(ws.parent / "elsewhere" / "x")) == "~/elsewhere/x"
    assert view.arg(str(ws) + "x/y") == "~/wsx/y"  # a sibling is not inside the workspace
    long = view.argv(["ruff", *(f"f{i}.py" for i in range(100))])
    assert len(long) == 65 and long[-1] == "... (37 more arguments)"


def test_program_names_and_rules() -> None:
    assert program_name(["/usr/bin/ruff", "check"]) == "ruff"
    assert program_name(["/v/bin/python3.11", "-I", "-m", "pip", "install"]) == "pip"
    assert program_name(["python", "-c", "pass"]) == "python"
    assert program_name(["python3", "-m", "coverage", "run", "-m", "pytest"]) == (
        "pytest (coverage)"
    )
    calls = [
        Invocation(("ruff", "--version"), 0, 0.01),
        Invocation(("ruff", "check", "."), 0, 0.2),
        Invocation(("git", "status"), 0, 0.01),
    ]
    assert rule_of(calls) == "ruff, git"
    assert rule_of([]) == "in-process"


def test_at_most_twenty_commands_are_kept(ws: Path) -> None:
    class ManyTools(Check):
        id = "T-MANY"

        def run(self, ctx: CheckContext) -> CheckOutcome:
            for i in range(25):
                run_tool([PY, "-c", f"exit({i % 2})"], cwd=ctx.workspace.root, timeout=30)
            return CheckOutcome(score=1.0)

    register_check("T-MANY", ManyTools)
    cfg = Config(phases=[PhaseConfig(name="implementation", checks=[CheckConfig(id="T-MANY")])])
    runner = GateRunner(Workspace(ws), cfg)
    ev = evidence(run_one(runner))
    assert len(ev.commands) == len(ev.exit_codes) == 20
    assert ev.exit_codes[:3] == [0, 1, 0]


# -- an in-process check, and threads ---------------------------------------------------------
class InProcess(Check):
    id = "T-INPROC"

    def run(self, ctx: CheckContext) -> CheckOutcome:
        return CheckOutcome(score=1.0)


def test_a_check_that_runs_no_program_is_in_process(ws: Path) -> None:
    register_check("T-INPROC", InProcess)
    cfg = Config(phases=[PhaseConfig(name="p", checks=[CheckConfig(id="T-INPROC")])])
    runner = GateRunner(Workspace(ws), cfg)
    ev = evidence(runner.run_check(runner.checks("p")[0]))
    assert ev.how == "ran" and ev.rule == "in-process" and ev.commands == []


def test_checks_in_worker_threads_record_only_their_own_programs(tmp_path: Path) -> None:
    roots = []
    for i in range(4):
        root = tmp_path / f"w{i}"
        root.mkdir()
        (root / "f.txt").write_text(str(i))
        roots.append(root)
    runners = [
        command_runner(r, [PY, "-c", f"import time; time.sleep(0.3); exit({i})"], cache=False)
        for i, r in enumerate(roots)
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run_one, runners))
    for i, result in enumerate(results):
        ev = evidence(result)
        assert ev.exit_codes == [i] and len(ev.commands) == 1
        assert ev.commands[0][-1].endswith(f"exit({i})")


def test_recording_nests_and_replays(tmp_path: Path) -> None:
    with recording() as outer:
        run_tool([PY, "-c", "pass"], cwd=tmp_path, timeout=30)
        with recording() as inner:
            run_tool([PY, "-c", "exit(2)"], cwd=tmp_path, timeout=30)
        record([Invocation(("shared", "run"), 0, 1.0)])
    assert [c.returncode for c in inner] == [2]
    assert [c.returncode for c in outer] == [0, 2, 0]
    assert outer[-1].argv == ("shared", "run")
    record([Invocation(("nobody",), 0, 0.0)])  # no recording: nothing happens
    run_tool([PY, "-c", "pass"], cwd=tmp_path, timeout=30)
    assert len(outer) == 3


# -- IMPL-LINT with ruff ------------------------------------------------------------------------
def test_lint_records_ruff_its_version_and_command(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(FIXTURES / "lint_project", root)
    cfg = Config(phases=[PhaseConfig(name="i", checks=[CheckConfig(id="IMPL-LINT")])])
    ws = Workspace(root)
    runner = GateRunner(ws, cfg, cache=ResultCache(ws.state_dir / "cache"))
    rc = runner.checks("i")[0]
    result = runner.run_check(rc)
    ev = evidence(result)
    assert result.error is None and ev.how == "ran"
    assert ev.rule == "ruff"
    assert ev.tool_version is not None and re.fullmatch(r"\d+\.\d+\.\d+", ev.tool_version)
    check = [c for c in ev.commands if c[1:2] == ["check"]]
    assert len(check) == 1 and check[0][-1] == "."
    assert ev.exit_codes[ev.commands.index(check[0])] == 0
    assert ev.inputs_hash == runner.inputs_hash(rc)
    runner.cache.flush()  # type: ignore[union-attr]
    again = GateRunner(ws, cfg, cache=ResultCache(ws.state_dir / "cache"))
    assert evidence(again.run_check(again.checks("i")[0])).how == "cached"


# -- the commit -----------------------------------------------------------------------------
def git(root: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    out = subprocess.run(
        ["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


@pytest.mark.skipif(GIT is None, reason="git is not installed")
def test_the_commit_is_recorded_in_a_git_workspace(ws: Path) -> None:
    git(ws, "init", "-q")
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "first")
    head = git(ws, "rev-parse", "HEAD")
    ev = evidence(run_one(command_runner(ws, [PY, "-c", "pass"])))
    assert ev.commit == head and ev.dirty is False  # .phasegate/ is phasegate's own
    # git's own processes are not the check's
    assert ev.rule == os.path.basename(PY) and len(ev.commands) == 1
    (ws / "a.txt").write_text("changed\n")
    changed = evidence(run_one(command_runner(ws, [PY, "-c", "pass"])))
    assert changed.commit == head and changed.dirty is True
    # untrusted: `git status` runs with the repository's filter drivers neutralised
    skipped = evidence(run_one(command_runner(ws, [PY, "-c", "pass"], trusted=False)))
    assert skipped.commit == head and skipped.dirty is True


def test_no_commit_outside_a_git_workspace(ws: Path) -> None:
    if GIT is not None:
        probe = subprocess.run(
            ["git", "rev-parse", "--is-inside-work-tree"], cwd=ws, capture_output=True
        )
        if probe.returncode == 0:
            pytest.skip("the temporary folder is inside a git work tree")
    ev = evidence(run_one(command_runner(ws, [PY, "-c", "pass"])))
    assert ev.commit is None and ev.dirty is None


def test_the_commit_is_read_once_per_runner(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import phasegate.runner as runner_mod

    calls: list[Path] = []

    def fake(root: Path, *, status: bool = True) -> tuple[str | None, bool | None]:
        calls.append(root)
        return "abc", False

    monkeypatch.setattr(runner_mod, "workspace_commit", fake)
    register_check("T-INPROC", InProcess)
    checks = [CheckConfig(id=f"T{i}", kind="T-INPROC") for i in range(3)]
    cfg = Config(phases=[PhaseConfig(name="p", checks=checks)])
    runner = GateRunner(Workspace(ws), cfg)
    gate = runner.evaluate("p", 0.0)
    assert [evidence(c).commit for c in gate.checks] == ["abc"] * 3
    assert len(calls) == 1


# -- output -----------------------------------------------------------------------------------
def test_the_json_output_carries_the_evidence(ws: Path) -> None:
    runner = command_runner(ws, [PY, "-c", "pass", str(ws / "a.txt")])
    gate = runner.evaluate("implementation", 0.5)
    doc: dict[str, Any] = gates_to_json(ws, [gate])
    ev = doc["phases"][0]["checks"][0]["evidence"]
    assert ev["how"] == "ran" and ev["exit_codes"] == [0]
    assert ev["commands"][0][1:] == ["-c", "pass", "a.txt"]
    assert ev["rule"] == os.path.basename(PY)


def _result(check_id: str, **kw: Any) -> CheckResult:
    return CheckResult(id=check_id, passed=True, score=1.0, **kw)


def test_the_text_output_says_how_the_checks_were_obtained() -> None:
    from rich.console import Console

    checks = [
        _result("A", evidence=Evidence(how="ran")),
        _result("B", evidence=Evidence(how="ran")),
        _result("C", cached=True, evidence=Evidence(how="cached")),
        _result("D", skipped="untrusted workspace: runs code", evidence=Evidence(how="skipped")),
        _result("E", error="ruff timed out", evidence=Evidence(how="not_run", timed_out=True)),
        _result("F", cached=True),  # no evidence (an old checkpoint): told by its fields
    ]
    gate = GateResult(phase="p", score=1.0, threshold=0.5, passed=False, checks=checks)
    assert summary_line([gate]) == (
        "checks: 2 ran, 2 from cache, 1 skipped (untrusted), 1 could not run"
    )
    console = Console(record=True, width=120)
    render_gates(console, [gate])
    text = console.export_text()
    assert "checks: 2 ran, 2 from cache, 1 skipped (untrusted), 1 could not run" in text
    assert summary_line([]) == ""


def test_the_report_groups_carry_and_show_the_evidence(ws: Path) -> None:
    runner = command_runner(ws, [PY, "-c", "print('a.txt:1:1: bad'); exit(1)"])
    result = run_one(runner)
    group = _group(result, "evaluated")
    assert isinstance(group, FindingGroup) and group.evidence == result.evidence
    html = _finding_group(group)
    assert "evidence: ran (" in html and "exit 1" in html
    dumped = group.model_dump(mode="json")
    assert dumped["evidence"]["how"] == "ran"


# -- the shared test-suite run --------------------------------------------------------------
def test_pytest_and_coverage_both_show_the_suite_they_share(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "tests").mkdir(parents=True)
    (root / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (root / "tests" / "test_calc.py").write_text(
        "from calc import add\n\n\ndef test_add():\n    assert add(2, 2) == 4\n"
    )
    (root / "pyproject.toml").write_text(
        '[project]\nname = "calc"\nversion = "0.1.0"\n\n'
        '[tool.pytest.ini_options]\npythonpath = ["."]\n'
    )
    checks = [CheckConfig(id="TEST-PYTEST"), CheckConfig(id="TEST-COVERAGE")]
    cfg = Config(interpreter=PY, phases=[PhaseConfig(name="testing", checks=checks)])
    gate = GateRunner(Workspace(root), cfg).evaluate("testing", 0.0)
    by_id = {c.id: evidence(c) for c in gate.checks}
    for ev in by_id.values():
        assert ev.how == "ran", ev
        assert "pytest (coverage)" in ev.rule
        assert any(c[1:5] == ["-m", "coverage", "run", "-m"] for c in ev.commands)
    suite = [c for c in by_id["TEST-PYTEST"].commands if c[1:3] == ["-m", "coverage"]]
    assert suite == [c for c in by_id["TEST-COVERAGE"].commands if c[1:3] == ["-m", "coverage"]]
