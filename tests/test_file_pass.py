"""A gate's per-file checks are analysed in one pass over their files
(:meth:`GateRunner.run_checks`): each file is read and hashed once for all of them, the
checks that parse first run first on each file so that IMPL-SYNTAX compiles the tree
IMPL-STUB parsed, and every check's result — findings, score, cache use, evidence — is
the one it gets when it runs alone."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from phasegate import parsed
from phasegate.cache import ResultCache
from phasegate.checks.base import Check, CheckContext, register_check
from phasegate.checks.implementation.ruff_project import bundled_ruff, ruff_version
from phasegate.config import CheckConfig, Config, PhaseConfig
from phasegate.model import CheckResult, Finding
from phasegate.proc import run_tool
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent

STUB = '''\
"""Orders."""


def total(order: list[int]) -> int:
    """The sum."""
    raise NotImplementedError
'''

PLAIN = '''\
"""Orders."""


def total(order: list[int]) -> int:
    return sum(order)
'''


class CrashesOnB(Check):
    """Crashes on the file named ``b.py``."""

    id = "T-PASS-CRASH"
    scope = "file"

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return ["*.py"]

    def check_file(self, ctx: CheckContext, path: str) -> list[Finding]:
        if path.endswith("b.py"):
            raise RuntimeError("no b")
        return []


class RunsATool(Check):
    """Runs a program for the file named ``a.py``."""

    id = "T-PASS-TOOL"
    scope = "file"

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return ["*.py"]

    def check_file(self, ctx: CheckContext, path: str) -> list[Finding]:
        if path.endswith("a.py"):
            run_tool([sys.executable, "-c", "pass"], cwd=ctx.workspace.root, timeout=60)
        return []


@pytest.fixture(autouse=True)
def _setup() -> None:
    register_check(CrashesOnB.id, CrashesOnB)
    register_check(RunsATool.id, RunsATool)
    parsed.clear()


def _config(*ids: str) -> Config:
    checks = [CheckConfig(id=i) for i in ids]
    return Config(phases=[PhaseConfig(name="implementation", checks=checks)])


def _comparable(result: CheckResult) -> dict[str, object]:
    data = result.model_dump(mode="json")
    data.pop("duration_s", None)
    evidence = data.get("evidence") or {}
    evidence.pop("duration_s", None)
    evidence.pop("commit", None)
    evidence.pop("dirty", None)
    return data


def _together_and_alone(
    root: Path, tmp_path: Path, config: Config
) -> tuple[list[CheckResult], list[CheckResult]]:
    ruff = bundled_ruff()
    if ruff is not None:
        ruff_version(ruff)  # asked once per process: before either run, for both alike
    runner = GateRunner(Workspace(root), config, cache=ResultCache(tmp_path / "together"))
    together = runner.run_checks(runner.checks("implementation"))
    assert runner.cache is not None
    runner.cache.flush()
    parsed.clear()
    runner = GateRunner(Workspace(root), config, cache=ResultCache(tmp_path / "alone"))
    alone = [runner.run_check(rc) for rc in runner.checks("implementation")]
    return together, alone


@pytest.mark.parametrize("source", ["examples/taskboard", "server/phasegate/checks"])
def test_together_as_alone_on_real_code(tmp_path: Path, source: str) -> None:
    root = tmp_path / "ws"
    shutil.copytree(REPO / source, root, ignore=shutil.ignore_patterns(".phasegate"))
    (root / "broken.py").write_text("def f(:\n    pass  # TODO\n")
    config = _config("IMPL-SYNTAX", "IMPL-STUB")
    together, alone = _together_and_alone(root, tmp_path, config)
    assert [_comparable(r) for r in together] == [_comparable(r) for r in alone]
    assert any(r.findings for r in together)
    # a second run: everything from the cache, as alone
    runner = GateRunner(Workspace(root), config, cache=ResultCache(tmp_path / "together"))
    again = runner.run_checks(runner.checks("implementation"))
    assert [r.evidence.how for r in again if r.evidence] == ["cached", "cached"]
    assert [r.findings for r in again] == [r.findings for r in together]


def test_each_file_is_parsed_once_whatever_the_order(tmp_path: Path) -> None:
    files = {f"plain_{i}.py": PLAIN.replace("total", f"total_{i}") for i in range(6)}
    files |= {f"stub_{i}.py": STUB.replace("total", f"total_{i}") for i in range(3)}
    files["broken.py"] = "def f(:\n    pass  # TODO\n"
    for rel, text in files.items():
        (tmp_path / rel).write_text(text)
    # IMPL-SYNTAX is configured first; IMPL-STUB still parses first on each file
    runner = GateRunner(Workspace(tmp_path), _config("IMPL-SYNTAX", "IMPL-STUB"))
    syntax, stub = runner.run_checks(runner.checks("implementation"))
    assert len(syntax.findings) == 1 and len(stub.findings) == 3
    counts = parsed.counts()
    assert counts["parse"] == 4  # the stubs and the broken file, once each
    assert counts["compile_tree"] == 3  # the stubs' trees (the broken file has none)
    assert counts["compile_text"] == len(files) - 3


def test_a_crash_stops_its_check_only(tmp_path: Path) -> None:
    for name in ("a.py", "b.py", "c.py"):
        (tmp_path / name).write_text(STUB)
    runner = GateRunner(Workspace(tmp_path), _config("T-PASS-CRASH", "IMPL-STUB"))
    crashed, stub = runner.run_checks(runner.checks("implementation"))
    assert crashed.error is not None and "check crashed: RuntimeError: no b" in crashed.error
    assert not crashed.passed
    assert stub.error is None and len(stub.findings) == 3


def test_the_programs_a_check_runs_are_its_own_evidence(tmp_path: Path) -> None:
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text(PLAIN)
    runner = GateRunner(Workspace(tmp_path), _config("IMPL-SYNTAX", "T-PASS-TOOL"))
    syntax, tool = runner.run_checks(runner.checks("implementation"))
    assert syntax.evidence is not None and tool.evidence is not None
    assert syntax.evidence.commands == [] and syntax.evidence.rule == "in-process"
    assert len(tool.evidence.commands) == 1 and tool.evidence.exit_codes == [0]
