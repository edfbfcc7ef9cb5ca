"""``validate --format sarif --include-suppressed``: the findings silenced by a
``phasegate: ignore[ID]`` comment are SARIF results with ``suppressions`` (inSource), and
nothing else changes: the gates, the exit status, the JSON output, a baseline made from
the log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_sarif_schema import assert_valid, validator  # noqa: F401  (the fixture)

from phasegate.baseline import load_baseline
from phasegate.cli import cli

CONFIG = """\
thresholds = [0.9]

[[phases]]
name = "implementation"

[[phases.checks]]
id = "IMPL-STUB"

[[phases.checks]]
id = "IMPL-LINT"
"""

# IMPL-STUB is a per-file check, IMPL-LINT (ruff) a project check: both silenced once
APP = '''\
"""The app."""

import os  # phasegate: ignore[IMPL-LINT] re-exported for the plugins


def export(data: str) -> None:  # phasegate: ignore[IMPL-STUB] waits for the v2 format
    raise NotImplementedError


def total(items: list[int]) -> int:
    raise NotImplementedError
'''


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "phasegate.toml").write_text(CONFIG)
    (root / "app.py").write_text(APP)
    return root


def validate(root: Path, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, ["validate", *args, str(root)])
    return res.exit_code, res.stdout


def results(log: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = log["runs"][0]["results"]
    return out


def suppressed(log: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in results(log) if r.get("suppressions")]


def test_suppressed_findings_are_suppressed_results(
    ws: Path,
    validator: Any,  # noqa: F811
) -> None:
    code_plain, plain_out = validate(ws, "--format", "sarif")
    plain = json.loads(plain_out)
    assert suppressed(plain) == []  # off by default
    code, out = validate(ws, "--format", "sarif", "--include-suppressed")
    log = json.loads(out)
    assert_valid(validator, log)
    assert code == code_plain == 1  # total() is still a stub: the same verdict

    by_rule = {r["ruleId"]: r for r in suppressed(log)}
    assert set(by_rule) == {"IMPL-STUB", "IMPL-LINT"}
    stub = by_rule["IMPL-STUB"]
    (sup,) = stub["suppressions"]
    assert sup["kind"] == "inSource" and sup["status"] == "accepted"
    assert sup["justification"] == "# phasegate: ignore[IMPL-STUB] waits for the v2 format"
    region = stub["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == 6  # def export
    assert sup["location"]["physicalLocation"]["region"]["startLine"] == 6
    lint = by_rule["IMPL-LINT"]
    assert "F401" in lint["message"]["text"]
    assert lint["suppressions"][0]["justification"].endswith("re-exported for the plugins")

    # every other result, and the gates, as without the option
    assert [r for r in results(log) if not r.get("suppressions")] == results(plain)
    assert log["runs"][0]["properties"]["gates"] == plain["runs"][0]["properties"]["gates"]
    (gate,) = log["runs"][0]["properties"]["gates"]
    assert gate["passed"] is False

    # from the cache (nothing re-runs): the same suppressed results
    code_again, again = validate(ws, "--format", "sarif", "--include-suppressed")
    assert code_again == code
    assert suppressed(json.loads(again)) == suppressed(log)


def test_json_output_is_unchanged_and_the_option_is_sarif_only(ws: Path) -> None:
    code, out = validate(ws, "--format", "json")
    assert code == 1  # total() is a stub
    doc = json.loads(out)
    findings = [f for p in doc["phases"] for c in p["checks"] for f in c["findings"]]
    assert [f["code"] for f in findings] == ["IMPL-STUB"]  # total() only
    assert "suppressed" not in out
    res = CliRunner().invoke(cli, ["validate", "--format", "json", "--include-suppressed", str(ws)])
    assert res.exit_code == 2 and "--format sarif" in res.output


def test_a_baseline_made_from_the_log_leaves_suppressed_results_out(ws: Path) -> None:
    _code, out = validate(ws, "--format", "sarif", "--include-suppressed")
    path = ws / "phasegate-baseline.sarif"
    path.write_text(out)
    baseline = load_baseline(path)
    assert baseline.total == len(results(json.loads(out))) - 2
    assert {e.check for entries in baseline.entries.values() for e in entries} == {"IMPL-STUB"}
    # judged against it, the workspace has nothing new
    assert validate(ws, "--format", "json", "--baseline", str(path))[0] == 0
