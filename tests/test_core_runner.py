"""Gate scoring, check selection by path, and the result cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from phasegate.cache import ResultCache
from phasegate.checks.base import Check, CheckContext, CheckOutcome, register_check
from phasegate.config import CheckConfig, Config, PhaseConfig
from phasegate.model import CheckResult, Finding, Severity
from phasegate.runner import GateRunner, score_gate
from phasegate.workspace import Workspace

CALLS: list[str] = []


class CountingFileCheck(Check):
    id = "T-FILE"
    scope = "file"
    default_owner = "dev"

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return ["*.txt"]

    def check_file(self, ctx: CheckContext, path: str) -> list[Finding]:
        CALLS.append(path)
        text = ctx.workspace.read_text(path) or ""
        return [
            ctx.finding(path, "bad line", line=i)
            for i, line in enumerate(text.splitlines())
            if "bad" in line
        ]


class CountingProjectCheck(Check):
    id = "T-PROJ"
    default_owner = "qa"
    default_blocking = True

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return ["docs/*.md"]

    def run(self, ctx: CheckContext) -> CheckOutcome:
        CALLS.append("project")
        ok = ctx.workspace.exists("docs/a.md")
        return CheckOutcome(score=1.0 if ok else 0.0, passed=ok)


class Crashing(Check):
    id = "T-CRASH"

    def run(self, ctx: CheckContext) -> CheckOutcome:
        raise RuntimeError("boom")


class WorkspaceCode(Check):
    id = "T-WSCODE"
    runs_workspace_code = True

    def run(self, ctx: CheckContext) -> CheckOutcome:
        CALLS.append("wscode")
        return CheckOutcome(score=0.0, passed=False)


@pytest.fixture(autouse=True)
def _register() -> None:
    for cls in (CountingFileCheck, CountingProjectCheck, Crashing, WorkspaceCode):
        register_check(cls.id, cls)
    CALLS.clear()


def _config(*ids: str) -> Config:
    return Config(
        phases=[PhaseConfig(name="p", checks=[CheckConfig(id=i) for i in ids])],
    )


def _result(
    id: str,
    score: float,
    passed: bool,
    weight: float = 1.0,
    blocking: bool = False,
    skipped: str | None = None,
) -> CheckResult:
    return CheckResult(
        id=id, score=score, passed=passed, weight=weight, blocking=blocking, skipped=skipped
    )


def test_gate_score_is_weighted_mean_and_threshold_inclusive() -> None:
    gate = score_gate("p", [_result("a", 1.0, True, 3), _result("b", 0.0, False, 1)], 0.75)
    assert gate.score == pytest.approx(0.75)
    assert gate.passed  # score == threshold passes


def test_blocking_failure_fails_gate_whatever_the_score() -> None:
    gate = score_gate("p", [_result("a", 1.0, True, 9), _result("b", 0.9, False, 1, True)], 0.5)
    assert not gate.passed
    assert gate.blocking_failed == ["b"]


def test_skipped_checks_do_not_count() -> None:
    gate = score_gate("p", [_result("a", 1.0, True), _result("b", 0.0, True, skipped="x")], 1.0)
    assert gate.score == 1.0 and gate.passed


def test_a_gate_whose_every_check_was_skipped_does_not_pass() -> None:
    gate = score_gate("p", [_result("a", 1.0, True, skipped="untrusted")], 0.5)
    assert not gate.passed


def test_empty_gate_scores_one() -> None:
    assert score_gate("p", [], 0.9).score == 1.0


def test_checks_for_paths_selects_exactly_matching(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    runner = GateRunner(Workspace(tmp_path), _config("T-FILE", "T-PROJ"))
    assert [rc.config.id for rc in runner.checks_for_paths(["x.txt"])] == ["T-FILE"]
    assert [rc.config.id for rc in runner.checks_for_paths(["docs/a.md"])] == ["T-PROJ"]
    assert runner.checks_for_paths(["src/other.py"]) == []


def test_file_check_reanalyses_only_changed_files(tmp_path: Path) -> None:
    for i in range(5):
        (tmp_path / f"f{i}.txt").write_text("ok\n")
    ws = Workspace(tmp_path)
    runner = GateRunner(ws, _config("T-FILE"), cache=ResultCache(tmp_path / ".phasegate/cache"))
    gate = runner.evaluate("p", 0.6)
    assert sorted(CALLS) == [f"f{i}.txt" for i in range(5)] and gate.passed
    CALLS.clear()
    (tmp_path / "f3.txt").write_text("ok\nbad\n")
    ws.notify_changed(["f3.txt"])
    gate = runner.evaluate("p", 0.9)
    assert CALLS == ["f3.txt"]
    assert gate.score == pytest.approx(0.8) and not gate.passed
    (finding,) = gate.findings
    assert (finding.path, finding.range.start.line, finding.owner) == ("f3.txt", 1, "dev")


def test_cache_survives_a_new_runner(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/a.md").write_text("# A\n")
    cache_dir = tmp_path / ".phasegate/cache"
    GateRunner(Workspace(tmp_path), _config("T-PROJ"), cache=ResultCache(cache_dir)).evaluate(
        "p", 1
    )
    assert CALLS == ["project"]
    CALLS.clear()
    gate = GateRunner(
        Workspace(tmp_path), _config("T-PROJ"), cache=ResultCache(cache_dir)
    ).evaluate("p", 1)
    assert CALLS == [] and gate.checks[0].cached and gate.passed
    (tmp_path / "docs/a.md").unlink()
    gate = GateRunner(
        Workspace(tmp_path), _config("T-PROJ"), cache=ResultCache(cache_dir)
    ).evaluate("p", 0)
    assert CALLS == ["project"] and gate.blocking_failed == ["T-PROJ"] and not gate.passed


def test_crashing_check_fails_with_error_not_exception(tmp_path: Path) -> None:
    gate = GateRunner(Workspace(tmp_path), _config("T-CRASH")).evaluate("p", 0.1)
    (res,) = gate.checks
    assert not res.passed and res.score == 0.0 and "boom" in (res.error or "")


def test_untrusted_skips_workspace_code(tmp_path: Path) -> None:
    gate = GateRunner(Workspace(tmp_path), _config("T-WSCODE"), trusted=False).evaluate("p", 1)
    assert CALLS == [] and gate.checks[0].skipped and not gate.passed  # nothing vouched
    gate = GateRunner(Workspace(tmp_path), _config("T-WSCODE"), trusted=True).evaluate("p", 1)
    assert CALLS == ["wscode"] and not gate.passed


def test_finding_ids_are_stable() -> None:
    a = Finding(path="a", code="X", message="m", severity=Severity.ERROR)
    b = Finding(path="a", code="X", message="m", severity=Severity.ERROR)
    assert a.id == b.id
    assert a.id != Finding(path="a", code="X", message="other").id
