"""One finding per cause: an invalid version in pyproject.toml is DEP-METADATA's, not
also ruff's RUF200 through IMPL-LINT, when the project's ruff selects RUF.

Real ruff (the one phasegate runs), real ``phasegate validate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from phasegate.checks.implementation.lint import METADATA_CODE
from phasegate.cli import cli

CONFIG = """\
thresholds = [0.5]

[[phases]]
name = "implementation"

[[phases.checks]]
id = "IMPL-LINT"

[[phases]]
name = "deployment"

[[phases.checks]]
id = "DEP-METADATA"

[[phases.checks]]
id = "DEP-README"
"""

PYPROJECT = """\
[project]
name = "demo"
version = "{version}"
description = "A demo."
requires-python = ">=3.10"
readme = "README.md"
dependencies = [{dependencies}]

[tool.ruff.lint]
select = ["{select}"]
"""


def workspace(
    root: Path,
    *,
    version: str = "not a version",
    dependencies: str = "",
    select: str = "RUF",
    config: str = CONFIG,
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "phasegate.toml").write_text(config)
    (root / "pyproject.toml").write_text(
        PYPROJECT.format(version=version, dependencies=dependencies, select=select)
    )
    (root / "README.md").write_text("# demo\n")
    (root / "app.py").write_text('"""App."""\n\nX = 1\n')
    return root


def validate(root: Path) -> dict[str, Any]:
    res = CliRunner().invoke(cli, ["validate", "--format", "json", str(root)])
    assert res.exit_code in (0, 1), res.output
    doc: dict[str, Any] = json.loads(res.stdout)
    return doc


def findings(doc: dict[str, Any], check: str) -> list[dict[str, Any]]:
    return [
        f
        for p in doc["phases"]
        for c in p["checks"]
        if c["id"] == check
        for f in c["findings"]
        if f["path"] == "pyproject.toml"
    ]


def ruf200(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in findings(doc, "IMPL-LINT") if f["message"].startswith(METADATA_CODE)]


@pytest.mark.parametrize("select", ["RUF", "ALL"])
def test_an_invalid_version_is_reported_once_by_dep_metadata(tmp_path: Path, select: str) -> None:
    doc = validate(workspace(tmp_path / "ws", select=select))
    (meta,) = findings(doc, "DEP-METADATA")
    assert meta["range"]["start"]["line"] == 2  # version = "not a version"
    assert "not a valid PEP 440 version" in meta["message"]
    assert findings(doc, "IMPL-LINT") == []  # nothing of ruff's on pyproject.toml
    lint = next(c for p in doc["phases"] for c in p["checks"] if c["id"] == "IMPL-LINT")
    if select == "RUF":  # (ALL has more to say about app.py)
        assert lint["status"] == "passed"  # the implementation gate no longer pays for it


def test_ruff_reports_it_when_dep_metadata_does_not_judge_metadata(tmp_path: Path) -> None:
    """With DEP-METADATA switched off RUF200 stays: then it is the only report. Switching
    it off in phasegate.toml alone (no input of IMPL-LINT changes) is not answered from
    the cache."""
    root = workspace(tmp_path / "ws")
    assert ruf200(validate(root)) == []
    (root / "phasegate.toml").write_text(
        CONFIG.replace('id = "DEP-METADATA"', 'id = "DEP-METADATA"\nenabled = false')
    )
    (lint,) = ruf200(validate(root))
    assert lint["range"]["start"]["line"] == 2
    assert "version" in lint["message"]
    # and back: DEP-METADATA reports it again, ruff's is left out again
    (root / "phasegate.toml").write_text(CONFIG)
    doc = validate(root)
    assert ruf200(doc) == [] and len(findings(doc, "DEP-METADATA")) == 1


def test_a_cause_dep_metadata_does_not_judge_keeps_ruffs_finding(tmp_path: Path) -> None:
    """An invalid dependency specifier: DEP-METADATA does not judge dependencies, so
    RUF200 is the one report of it."""
    doc = validate(workspace(tmp_path / "ws", version="1.0", dependencies='"requests >= = 2"'))
    assert findings(doc, "DEP-METADATA") == []
    (lint,) = ruf200(doc)
    assert lint["range"]["start"]["line"] == 6  # dependencies = [...]
