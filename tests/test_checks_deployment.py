"""Deployment-phase checks: metadata, README, Dockerfile, CI, changelog."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from phasegate.checks.deployment.changelog import version_entries
from phasegate.checks.deployment.dockerfile import image_problem, parse_dockerfile
from phasegate.config import CheckConfig, Config, PhaseConfig
from phasegate.model import CheckResult, Finding, TextEdit
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace

FIXTURES = Path(__file__).parent / "fixtures" / "tools"
DEP = ["DEP-METADATA", "DEP-README", "DEP-DOCKERFILE", "DEP-CI", "DEP-CHANGELOG"]


def run(root: Path, ids: list[str] = DEP) -> dict[str, CheckResult]:
    cfg = Config(phases=[PhaseConfig(name="deployment", checks=[CheckConfig(id=i) for i in ids])])
    gate = GateRunner(Workspace(root), cfg).evaluate("deployment", 0.6)
    return {c.id: c for c in gate.checks}


def lines(findings: list[Finding]) -> list[tuple[int, str]]:
    return [(f.range.start.line, f.message) for f in findings]


def apply(text: str, edits: list[TextEdit]) -> str:
    rows = text.split("\n")
    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character))[::-1]:
        s, t = e.range.start, e.range.end
        before = "\n".join([*rows[: s.line], rows[s.line][: s.character]])
        after = "\n".join([rows[t.line][t.character :], *rows[t.line + 1 :]])
        rows = (before + e.new_text + after).split("\n")
    return "\n".join(rows)


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / "deploy_bad", tmp_path / "ws")
    return tmp_path / "ws"


def test_a_well_packaged_project_passes(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "deploy_good", tmp_path / "ws")
    res = run(tmp_path / "ws")
    for cid in DEP:
        assert res[cid].passed, (cid, res[cid].findings, res[cid].error)
        assert res[cid].score == 1.0
        assert res[cid].owner == "devops_engineer"


def test_metadata_findings_at_their_keys(bad: Path) -> None:
    res = run(bad, ["DEP-METADATA"])["DEP-METADATA"]
    got = lines(res.findings)
    assert (5, "`version` 'one.two' is not a valid PEP 440 version") in got
    assert any(line == 4 and "not a valid project name" in m for line, m in got)
    assert any(line == 6 and "requires-python" in m for line, m in got)
    assert any(line == 7 and "'MISSING.md' does not exist" in m for line, m in got)
    assert any(line == 3 and "no `description`" in m for line, m in got)  # [project]
    assert len(got) == 5
    assert res.score == 0.0 and not res.passed


def test_metadata_dynamic_version_and_bad_toml(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# x\n")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "Good.Name_2"\ndynamic = ["version"]\ndescription = "d"\n'
        'readme = "README.md"\nrequires-python = ">=3.9"\n'
    )
    assert run(tmp_path, ["DEP-METADATA"])["DEP-METADATA"].passed
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = \n')
    res = run(tmp_path, ["DEP-METADATA"])["DEP-METADATA"]
    assert len(res.findings) == 1 and res.findings[0].range.start.line == 2
    assert "not valid TOML" in res.findings[0].message


def test_metadata_package_json_and_missing(tmp_path: Path) -> None:
    res = run(tmp_path, ["DEP-METADATA"])["DEP-METADATA"]
    (f,) = res.findings
    assert f.path == "pyproject.toml" and f.missing_file and res.score == 0.0
    (tmp_path / "package.json").write_text(
        json.dumps({"name": "Bad Name", "version": "1.0", "license": "MIT"}, indent=2)
    )
    res = run(tmp_path, ["DEP-METADATA"])["DEP-METADATA"]
    got = lines(res.findings)
    assert any(line == 1 and "npm package name" in m for line, m in got)
    assert any(line == 2 and "not a semantic version" in m for line, m in got)
    assert any("no `description`" in m for _, m in got)
    (tmp_path / "package.json").write_text(
        json.dumps(
            {"name": "@scope/ok", "version": "1.0.0-rc.1", "description": "d", "license": "MIT"}
        )
    )
    assert run(tmp_path, ["DEP-METADATA"])["DEP-METADATA"].passed


def test_readme_sections_use_real_headings_and_fix_adds_them(bad: Path) -> None:
    res = run(bad, ["DEP-README"])["DEP-README"]
    # "# Installation" inside a code block is not a heading
    assert [f.message for f in res.findings] == [
        'README.md has no installation section (a heading such as "Installation")',
        'README.md has no usage section (a heading such as "Usage")',
    ]
    text = (bad / "README.md").read_text()
    for f in res.findings:
        assert f.fix is not None
        text = apply(text, f.fix.edits)
        (bad / "README.md").write_text(text)
    assert "\n## Installation\n" in text and "\n## Usage\n" in text
    assert run(bad, ["DEP-README"])["DEP-README"].passed


def test_readme_missing_and_rst(tmp_path: Path) -> None:
    res = run(tmp_path, ["DEP-README"])["DEP-README"]
    assert res.findings[0].path == "README.md" and res.findings[0].missing_file
    (tmp_path / "README.rst").write_text(
        "Tool\n====\n\nQuick start\n-----------\n\npip install tool\n"
    )
    assert run(tmp_path, ["DEP-README"])["DEP-README"].passed  # quick start: install + usage


def test_dockerfile_findings(bad: Path) -> None:
    res = run(bad, ["DEP-DOCKERFILE"])["DEP-DOCKERFILE"]
    assert sorted(lines(res.findings)) == [
        (0, "FROM ubuntu has no tag: pin a version (e.g. ubuntu:1.2)"),
        (2, "FROM python:latest uses the moving `latest` tag: pin a version"),
        (
            3,
            "EXPOSE 8080 without a HEALTHCHECK: add one so the orchestrator knows the "
            "service is up",
        ),
        (4, "USER root: the final image runs as root; use a non-root user"),
    ]
    assert res.score == 0.0


def test_dockerfile_absent_passes_and_parsing(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("x = 1\n")
    res = run(tmp_path, ["DEP-DOCKERFILE"])["DEP-DOCKERFILE"]
    assert res.passed and res.score == 1.0 and not res.findings
    (tmp_path / "Dockerfile").write_text(
        "FROM registry.local:5000/base AS b\nRUN echo a \\\n  # a comment\n  && echo b\n"
        "FROM b\nUSER 1000:1000\n"
    )
    res = run(tmp_path, ["DEP-DOCKERFILE"])["DEP-DOCKERFILE"]
    assert lines(res.findings) == [
        (
            0,
            "FROM registry.local:5000/base has no tag: pin a version "
            "(e.g. registry.local:5000/base:1.2)",
        )
    ]
    instrs = parse_dockerfile((tmp_path / "Dockerfile").read_text())
    assert [(i.line, i.keyword) for i in instrs] == [
        (0, "FROM"),
        (1, "RUN"),
        (4, "FROM"),
        (5, "USER"),
    ]
    assert instrs[1].args == "echo a && echo b"
    assert image_problem("python@sha256:abc", set()) is None
    assert image_problem("scratch", set()) is None
    assert image_problem("${BASE}", set()) is None


def test_ci_missing_invalid_and_incomplete(bad: Path, tmp_path: Path) -> None:
    res = run(bad, ["DEP-CI"])["DEP-CI"]
    (f,) = res.findings
    assert f.path == ".github/workflows/ci.yml" and f.range.start.line == 2
    assert f.message.startswith("invalid YAML")
    empty = tmp_path / "empty"
    empty.mkdir()
    res = run(empty, ["DEP-CI"])["DEP-CI"]
    assert res.findings[0].missing_file and res.score == 0.0
    (empty / ".gitlab-ci.yml").write_text("test:\n  script: [pytest]\n")
    (empty / ".github" / "workflows").mkdir(parents=True)
    (empty / ".github" / "workflows" / "x.yaml").write_text("name: x\non: push\n")
    res = run(empty, ["DEP-CI"])["DEP-CI"]
    assert lines(res.findings) == [(0, "GitHub workflow has no `jobs`")]
    assert res.score == 0.5


def test_changelog(bad: Path, tmp_path: Path) -> None:
    res = run(bad, ["DEP-CHANGELOG"])["DEP-CHANGELOG"]
    assert not res.passed and "no version entry" in res.findings[0].message
    empty = tmp_path / "empty"  # not tmp_path: bad/ would be a sub-project of it
    empty.mkdir()
    res = run(empty, ["DEP-CHANGELOG"])["DEP-CHANGELOG"]
    assert res.findings[0].path == "CHANGELOG.md" and res.findings[0].missing_file
    (empty / "CHANGES.rst").write_text(
        "Changes\n=======\n\n1.0.2 (2024-01-01)\n------------------\n"
    )
    assert run(empty, ["DEP-CHANGELOG"])["DEP-CHANGELOG"].passed
    assert version_entries("# Log\n## v2.1 - x\n- 1.0 in a list\n## Unreleased\n") == [1, 2]
