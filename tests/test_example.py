"""The bundled example workspace fails exactly where its README says, and nowhere else."""

from __future__ import annotations

import json
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from phasegate.proc import run_tool

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "taskboard"
REQ_IDS = [f"REQ-00{n}" for n in range(1, 7)]


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the example, so running it leaves the source tree untouched."""
    dest = tmp_path / "taskboard"
    shutil.copytree(
        EXAMPLE, dest, ignore=shutil.ignore_patterns("__pycache__", ".phasegate", ".pytest_cache")
    )
    return dest


def _requirement_sections(text: str) -> dict[str, str]:
    parts = re.split(r"^### (REQ-\d{3}):.*$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_example_test_suite_fails_exactly_on_the_overdue_boundary(example: Path) -> None:
    junit = example / "junit.xml"
    res = run_tool(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}"],
        cwd=example,
        timeout=120,
        env={"PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert res.returncode == 1, res.stdout + res.stderr
    suite = ET.parse(junit).getroot()
    cases = suite.iter("testcase")
    outcomes = {f"{c.get('classname')}::{c.get('name')}": [child.tag for child in c] for c in cases}
    failed = {name: tags for name, tags in outcomes.items() if tags}
    assert failed == {"tests.test_overdue::test_task_due_today_is_not_overdue": ["failure"]}
    assert len(outcomes) == 12
    failure = next(suite.iter("failure"))
    assert "a task due today must not be overdue, got ['Due today']" in (
        failure.get("message") or ""
    )


def test_example_tests_cover_every_requirement_but_req_001() -> None:
    marked = set()
    for path in (EXAMPLE / "tests").glob("test_*.py"):
        marked |= set(re.findall(r'@pytest\.mark\.req\("(REQ-\d{3})"\)', path.read_text()))
    assert marked == set(REQ_IDS) - {"REQ-001"}


def test_example_lint_findings_are_the_two_intended_ones(example: Path) -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    res = run_tool(
        [ruff, "check", "--no-cache", "--output-format", "json", "."], cwd=example, timeout=60
    )
    assert res.returncode == 1, res.stderr
    found = sorted(
        (Path(d["filename"]).relative_to(example).as_posix(), d["code"], d["fix"] is not None)
        for d in json.loads(res.stdout)
    )
    assert found == [
        ("taskboard/repository.py", "E711", True),
        ("taskboard/service.py", "F401", True),
    ]


def test_example_sources_parse_and_hold_one_stub() -> None:
    import ast

    stubs = []
    for path in sorted((EXAMPLE / "taskboard").glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and len(node.body) == 1:
                stmt = node.body[0]
                if isinstance(stmt, ast.Raise) and "NotImplementedError" in ast.dump(stmt):
                    stubs.append(f"{path.name}:{node.name}")
    assert stubs == ["service.py:reopen_task"]


def test_example_requirements_have_one_gap_each() -> None:
    text = (EXAMPLE / "docs" / "requirements.md").read_text()
    for heading in ("## Overview", "## Functional requirements", "## Non-functional requirements"):
        assert heading in text
    sections = _requirement_sections(text)
    assert sorted(sections) == REQ_IDS
    without_criteria = [rid for rid, body in sections.items() if "Acceptance criteria" not in body]
    assert without_criteria == ["REQ-004"]
    assert len(re.findall(r"\bTBD\b", text)) == 1


def test_example_design_traces_all_but_req_003() -> None:
    text = (EXAMPLE / "docs" / "design.md").read_text()
    for heading in ("Architecture", "Components", "Data model", "Interfaces", "Risks"):
        assert f"## {heading}" in text
    traced = set(re.findall(r"REQ-\d{3}", text))
    assert traced == set(REQ_IDS) - {"REQ-003"}


def test_example_has_no_deployment_files() -> None:
    assert not (EXAMPLE / "Dockerfile").exists()
    assert not (EXAMPLE / ".github").exists()
    assert not list(EXAMPLE.glob("CHANGELOG*"))
    readme = (EXAMPLE / "README.md").read_text()
    assert "## Install" in readme and "## Usage" in readme


def test_example_gates_fail_exactly_where_its_readme_says(example: Path) -> None:
    """Every default gate on the example: the failing checks are those of the README's table."""
    from phasegate.config import default_config
    from phasegate.runner import GateRunner
    from phasegate.workspace import Workspace

    readme = (EXAMPLE / "README.md").read_text()
    documented = set(re.findall(r"^\| \w+ \| `([A-Z]+-[A-Z]+)` \|", readme, flags=re.M))
    config = default_config().model_copy(update={"interpreter": sys.executable})
    runner = GateRunner(Workspace(example), config)
    failed: dict[str, list[str]] = {}
    for phase in config.phases:
        gate = runner.evaluate(phase.name, config.threshold(1))
        for check in gate.checks:
            assert check.error is None, (check.id, check.error)
            if not check.passed:
                failed[check.id] = [f.message for f in check.findings]
    assert set(failed) == documented
    assert len(documented) == 9
    assert any("REQ-004" in m for m in failed["REQ-ACCEPTANCE"])
    assert any("TBD" in m for m in failed["REQ-PLACEHOLDER"])
    assert any("REQ-003" in m for m in failed["DES-TRACE"])
    assert any("reopen_task" in m for m in failed["IMPL-STUB"])
    assert sorted(m.split()[0] for m in failed["IMPL-LINT"]) == ["E711", "F401"]
    assert any("test_task_due_today_is_not_overdue" in m for m in failed["TEST-PYTEST"])
    assert any("REQ-001" in m for m in failed["TEST-TRACE"])


def test_quick_start_session_on_the_example_goes_as_its_readme_says(example: Path) -> None:
    """`phasegate run` with the example's own phasegate.toml: ruff fixes the unused import,
    Implementation passes at iteration 1, Testing stalls on the failing test."""
    import os

    from phasegate.store import SessionStore

    env = {"PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    res = run_tool(
        [
            sys.executable,
            "-m",
            "phasegate",
            "run",
            "-w",
            str(example),
            "--session",
            "qs",
            "-r",
            "Create a task management system with users and due dates",
        ],
        cwd=example,
        timeout=300,
        env=env,
    )
    assert res.returncode == 1, res.stdout + res.stderr
    state = SessionStore(example).load("qs")
    status = {p.name: p.status.value for p in state.phases}
    assert status == {
        "requirements": "completed",
        "design": "completed",
        "implementation": "completed",
        "testing": "stalled",
        "deployment": "pending",
    }
    impl = state.phase("implementation")
    assert [it.number for it in impl.iterations] == [0, 1]
    (backend,) = [r for r in impl.iterations[1].personas if r.persona == "backend_developer"]
    assert backend.ok and backend.files_changed == ["taskboard/service.py"]
    assert "import os" not in (example / "taskboard/service.py").read_text()
    assert "tests/test_overdue.py:33:5: TEST-PYTEST" in res.stdout
