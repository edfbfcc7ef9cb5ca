"""Scaffolds for implementation, testing and deployment: useful, deterministic, never
overwriting what a person wrote — checked with the real checks and a real pytest run."""

from __future__ import annotations

import ast
import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from phasegate.config import Config
from phasegate.personas.base import PersonaContext, PersonaResult, PersonaTask, make_persona
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace

REQS = """\
# Requirements: Task manager

## Overview

A task manager.

## Functional requirements

### REQ-001: Create a task

Users create tasks.

Acceptance criteria:

- Given a title, when I create a task, then it is listed.

### REQ-002: Tag "tasks" with labels

Users tag tasks.

Acceptance criteria:

- Given a task, when I tag it, then the tag shows.
"""


def run_scaffold(root: Path, phase: str, requirement: str = "A task manager") -> PersonaResult:
    ws = Workspace(root)
    config = Config()
    persona = make_persona(
        {"implementation": "backend_developer", "testing": "qa_engineer"}.get(
            phase, "devops_engineer"
        ),
        config,
    )
    task = PersonaTask(
        session_id="s",
        requirement=requirement,
        phase=phase,
        phase_title=phase.capitalize(),
        persona=persona.name,
        role="",
        iteration=1,
        reason="iteration 1: all personas",
        workspace=str(ws.root),
    )
    return asyncio.run(persona.run(task, PersonaContext(workspace=ws, config=config, timeout=60)))


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".phasegate" not in p.parts and "__pycache__" not in p.parts
    }


def gate(root: Path, phase: str) -> dict[str, bool]:
    g = GateRunner(Workspace(root), Config()).evaluate(phase, 0.6)
    return {c.id: c.passed for c in g.checks if c.skipped is None}


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "task-manager"
    (root / "docs").mkdir(parents=True)
    (root / "docs/requirements.md").write_text(REQS)
    return root


def test_implementation_skeleton_per_requirement(ws: Path) -> None:
    res = run_scaffold(ws, "implementation")
    assert res.ok, res.error
    assert res.files_changed == [
        "task_manager/__init__.py",
        "task_manager/req_001.py",
        "task_manager/req_002.py",
    ]
    src = (ws / "task_manager/req_002.py").read_text()
    ast.parse(src)
    assert "def tag_tasks_with_labels() -> None:" in src
    assert "REQ-002" in src and "docs/requirements.md:" in src
    assert 'raise NotImplementedError("REQ-002 is not implemented yet")' in src
    checks = gate(ws, "implementation")
    assert checks["IMPL-LINT"] is True  # clean code...
    if "IMPL-STUB" in checks:
        assert checks["IMPL-STUB"] is False  # ...that is a stub on purpose
    # Once sources exist, nothing more is invented.
    again = run_scaffold(ws, "implementation")
    assert again.ok and again.files_changed == [] and "source file(s) exist" in again.message


def test_testing_scaffold_fails_until_written_and_traces_every_requirement(ws: Path) -> None:
    (ws / "tests").mkdir()
    (ws / "tests/test_existing.py").write_text(
        '"""REQ-001 is covered here."""\n\n\ndef test_one() -> None:\n    assert True\n'
    )
    res = run_scaffold(ws, "testing")
    assert res.ok, res.error
    assert res.files_changed == ["conftest.py", "tests/test_req_002.py"]  # REQ-001 is covered
    text = (ws / "tests/test_req_002.py").read_text()
    assert '@pytest.mark.req("REQ-002")' in text
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers"],
        cwd=ws,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "REQ-002 not tested yet" in proc.stdout
    assert "1 failed, 1 passed" in proc.stdout
    checks = gate(ws, "testing")
    if "TEST-TRACE" in checks:
        assert checks["TEST-TRACE"] is True
    # A second run adds nothing.
    assert run_scaffold(ws, "testing").files_changed == []


def test_scaffolded_python_is_left_as_ruff_formats_it(ws: Path) -> None:
    """A project that runs ruff format (or black) gets no diff from what was scaffolded."""
    written = run_scaffold(ws, "implementation").files_changed
    written += run_scaffold(ws, "testing").files_changed
    py = [p for p in written if p.endswith(".py")]
    assert "task_manager/req_002.py" in py and "tests/test_req_002.py" in py
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--diff", "--no-cache", *py],
        cwd=ws,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_testing_scaffold_keeps_an_existing_conftest(ws: Path) -> None:
    (ws / "conftest.py").write_text("# mine\n")
    (ws / "tests").mkdir()
    (ws / "tests/test_req_001.py").write_text("def test_other() -> None:\n    pass\n")
    res = run_scaffold(ws, "testing")
    assert (ws / "conftest.py").read_text() == "# mine\n"
    assert (ws / "tests/test_req_001.py").read_text().startswith("def test_other")
    assert res.files_changed == ["tests/conftest.py", "tests/test_req_002.py"]
    assert "tests/test_req_001.py exists and does not mention REQ-001" in res.message


def test_python_deployment_fits_the_project_and_passes_its_gate(ws: Path) -> None:
    (ws / "app.py").write_text("print('hi')\n")
    res = run_scaffold(ws, "deployment", "A task manager for small teams")
    assert res.ok, res.error
    assert sorted(res.files_changed) == [
        ".dockerignore",
        ".github/workflows/ci.yml",
        "CHANGELOG.md",
        "Dockerfile",
        "README.md",
        "pyproject.toml",
    ]
    docker = (ws / "Dockerfile").read_text()
    assert "FROM python:3.12.8-slim-bookworm" in docker and ":latest" not in docker
    assert "USER app" in docker and "HEALTHCHECK" not in docker  # not a service
    assert 'name = "task-manager"' in (ws / "pyproject.toml").read_text()
    assert "## [0.1.0]" in (ws / "CHANGELOG.md").read_text()
    checks = gate(ws, "deployment")
    assert checks and all(checks.values()), checks
    before = tree(ws)
    assert run_scaffold(ws, "deployment").files_changed == []
    assert tree(ws) == before  # deterministic and idempotent: nothing rewritten


def test_python_service_gets_a_healthcheck(ws: Path) -> None:
    (ws / "pyproject.toml").write_text(
        '[project]\nname = "svc"\nversion = "1.2.0"\ndependencies = ["fastapi>=0.100"]\n'
        '[project.scripts]\nsvc = "svc:main"\n'
    )
    res = run_scaffold(ws, "deployment")
    assert "pyproject.toml" not in res.files_changed  # a person's file is never rewritten
    docker = (ws / "Dockerfile").read_text()
    assert "EXPOSE 8000" in docker and "HEALTHCHECK" in docker and "uvicorn" in docker
    assert "## [1.2.0]" in (ws / "CHANGELOG.md").read_text()
    if "DEP-DOCKERFILE" in gate(ws, "deployment"):
        assert gate(ws, "deployment")["DEP-DOCKERFILE"] is True


def test_node_deployment(ws: Path) -> None:
    (ws / "package.json").write_text(
        json.dumps(
            {
                "name": "web",
                "version": "2.0.0",
                "scripts": {"start": "node server.js", "test": "node --test"},
                "dependencies": {"express": "^4.0.0"},
            }
        )
    )
    res = run_scaffold(ws, "deployment")
    assert res.ok
    docker = (ws / "Dockerfile").read_text()
    assert "FROM node:20.18.1-bookworm-slim" in docker and "USER node" in docker
    assert "HEALTHCHECK" in docker and 'CMD ["npm", "start"]' in docker
    ci = (ws / ".github/workflows/ci.yml").read_text()
    assert "actions/setup-node@v4" in ci and "npm test" in ci
    assert "npm install" in (ws / "README.md").read_text()
    assert "## [2.0.0]" in (ws / "CHANGELOG.md").read_text()


def test_readme_gets_missing_sections_appended_and_keeps_its_text(ws: Path) -> None:
    (ws / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0.1.0"\n')
    mine = "# X\n\nMy words.\n\n## Usage\n\nRun it.\n"
    (ws / "README.md").write_text(mine)
    (ws / "CHANGELOG.md").write_text("# Changes\n")
    (ws / ".gitlab-ci.yml").write_text("test:\n  script: [pytest]\n")
    res = run_scaffold(ws, "deployment")
    readme = (ws / "README.md").read_text()
    assert readme.startswith(mine)
    assert "## Installation" in readme and readme.count("## Usage") == 1
    assert (ws / "CHANGELOG.md").read_text() == "# Changes\n"
    assert ".github/workflows/ci.yml" not in res.files_changed
