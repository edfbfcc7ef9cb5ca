"""`gates_to_sarif`: a structurally valid SARIF 2.1.0 log that reads back to the findings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from phasegate.config import CheckConfig, Config, PhaseConfig
from phasegate.docs_links import DOCS_URL_ENV, check_docs_uri
from phasegate.findings_parse import FindingMaker, parse_sarif
from phasegate.model import CheckResult, Finding, GateResult, Range, Severity
from phasegate.runner import GateRunner
from phasegate.sarif import gates_to_sarif
from phasegate.workspace import Workspace

FIXTURES = Path(__file__).parent / "fixtures" / "tools"
LEVELS = {"none", "note", "warning", "error"}


def validate_sarif(log: dict[str, Any]) -> None:
    """The structural rules of SARIF 2.1.0 that consumers rely on (a minimal schema)."""
    json.dumps(log)  # serialisable
    assert log["version"] == "2.1.0"
    assert log["$schema"].startswith("https://") and log["$schema"].endswith("sarif-2.1.0.json")
    assert isinstance(log["runs"], list) and log["runs"]
    for run in log["runs"]:
        driver = run["tool"]["driver"]
        assert isinstance(driver["name"], str) and driver["name"]
        rules = driver.get("rules", [])
        ids = [r["id"] for r in rules]
        assert len(ids) == len(set(ids)), "rule ids are unique"
        for rule in rules:
            assert isinstance(rule["id"], str) and rule["id"]
            assert isinstance(rule["shortDescription"]["text"], str)
            assert rule["help"]["text"]
            if "helpUri" in rule:  # optional; a web address or the installed reference
                assert rule["helpUri"].startswith(("https://", "http://", "file:///"))
            if "defaultConfiguration" in rule:
                assert rule["defaultConfiguration"]["level"] in LEVELS
        bases = run.get("originalUriBaseIds", {})
        for base in bases.values():
            assert base["uri"].startswith("file://") and base["uri"].endswith("/")
        for inv in run.get("invocations", []):
            assert isinstance(inv["executionSuccessful"], bool)
        for res in run["results"]:
            assert isinstance(res["message"]["text"], str) and res["message"]["text"]
            assert res["level"] in LEVELS
            if "ruleIndex" in res:
                assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
            for loc in res["locations"]:
                _check_artifact(loc["physicalLocation"]["artifactLocation"], bases)
                _check_region(loc["physicalLocation"]["region"])
            for fix in res.get("fixes", []):
                assert fix["artifactChanges"]
                for change in fix["artifactChanges"]:
                    _check_artifact(change["artifactLocation"], bases)
                    for rep in change["replacements"]:
                        _check_region(rep["deletedRegion"])
                        assert isinstance(rep["insertedContent"]["text"], str)


def _check_artifact(art: dict[str, Any], bases: dict[str, Any]) -> None:
    uri = art["uri"]
    assert not uri.startswith("/") and "://" not in uri and ".." not in uri.split("/")
    assert art["uriBaseId"] in bases


def _check_region(region: dict[str, Any]) -> None:
    assert region["startLine"] >= 1
    assert region.get("startColumn", 1) >= 1
    end_line = region.get("endLine", region["startLine"])
    assert end_line >= region["startLine"]
    if "endColumn" in region:
        assert region["endColumn"] >= 1
        if end_line == region["startLine"]:
            assert region["endColumn"] >= region.get("startColumn", 1)


@pytest.fixture
def gates(tmp_path: Path) -> tuple[Path, list[GateResult]]:
    root = tmp_path / "ws"
    shutil.copytree(FIXTURES / "deploy_bad", root)
    shutil.copytree(FIXTURES / "lint_project" / "pkg", root / "pkg")
    cfg = Config(
        phases=[
            PhaseConfig(name="implementation", checks=[CheckConfig(id="IMPL-LINT")]),
            PhaseConfig(
                name="deployment",
                checks=[CheckConfig(id=i) for i in ("DEP-METADATA", "DEP-README", "DEP-CI")],
            ),
        ]
    )
    runner = GateRunner(Workspace(root), cfg)
    return root, [runner.evaluate("implementation", 0.6), runner.evaluate("deployment", 0.6)]


def test_real_gates_give_valid_sarif(
    gates: tuple[Path, list[GateResult]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DOCS_URL_ENV, raising=False)
    root, gs = gates
    log = gates_to_sarif(root, gs)
    validate_sarif(log)
    (run,) = log["runs"]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert set(rules) == {"IMPL-LINT", "DEP-METADATA", "DEP-README", "DEP-CI"}
    # built-in checks link to their section of the rendered reference installed with
    # phasegate (no documentation site configured)
    assert rules["IMPL-LINT"]["helpUri"] == check_docs_uri("IMPL-LINT")
    assert rules["IMPL-LINT"]["helpUri"].endswith("/reference/checks.html#impl-lint")
    assert rules["IMPL-LINT"]["help"]["text"]
    assert rules["IMPL-LINT"]["shortDescription"]["text"] == "Lint (ruff)"
    assert len(run["results"]) == sum(len(g.findings) for g in gs)
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == root.resolve().as_uri() + "/"
    assert any("fixes" in r for r in run["results"])


def test_sarif_reads_back_to_the_same_findings(gates: tuple[Path, list[GateResult]]) -> None:
    root, gs = gates
    log = json.loads(json.dumps(gates_to_sarif(root, gs)))
    back = parse_sarif(log, FindingMaker(Workspace(root), "X")).findings
    original = [f for g in gs for f in g.findings]
    assert len(back) == len(original)
    for a, b in zip(original, back, strict=True):
        assert (a.path, a.range, a.message) == (b.path, b.range, b.message.rsplit(" [", 1)[0])
        assert {Severity.INFO, Severity.HINT} >= {
            a.severity,
            b.severity,
        } or a.severity == b.severity
        if a.fix is not None:
            assert b.fix is not None and a.fix.edits == b.fix.edits


def test_levels_regions_and_errors(tmp_path: Path) -> None:
    findings = [
        Finding(
            path="a b.py",
            range=Range.span(0, 4, 0, 9),
            severity=Severity.ERROR,
            code="C1",
            message="e",
        ),
        Finding(
            path="docs/x.md",
            range=Range.lines(3),
            severity=Severity.HINT,
            code="C1",
            message="whole line",
            missing_file=True,
        ),
    ]
    check = CheckResult(id="C1", phase="p", passed=False, score=0.0, findings=findings, error=None)
    broken = CheckResult(id="C2", phase="p", passed=False, score=0.0, error="tool not found")
    gate = GateResult(phase="p", score=0.0, threshold=0.6, passed=False, checks=[check, broken])
    log = gates_to_sarif(tmp_path, [gate])
    validate_sarif(log)
    run = log["runs"][0]
    r1, r2 = run["results"]
    assert r1["level"] == "error" and r2["level"] == "note"
    assert r1["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "a%20b.py"
    assert r1["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 1,
        "startColumn": 5,
        "endLine": 1,
        "endColumn": 10,
    }
    assert r2["locations"][0]["physicalLocation"]["region"] == {"startLine": 4, "startColumn": 1}
    assert r2["properties"]["missingFile"] is True
    assert run["invocations"][0]["executionSuccessful"] is False
    (note,) = run["invocations"][0]["toolExecutionNotifications"]
    assert note["message"]["text"] == "C2: could not run: tool not found"
    assert r1["partialFingerprints"]["phasegateFindingId/v1"] == findings[0].id


def test_validator_rejects_broken_logs(tmp_path: Path) -> None:
    gate = GateResult(phase="p", score=1.0, threshold=0.6, passed=True)
    good = gates_to_sarif(tmp_path, [gate])
    validate_sarif(good)
    for breakage in (
        lambda d: d.update(version="2.0.0"),
        lambda d: d.pop("$schema"),
        lambda d: d["runs"][0]["tool"]["driver"].pop("name"),
    ):
        bad = json.loads(json.dumps(good))
        breakage(bad)
        with pytest.raises((AssertionError, KeyError)):
            validate_sarif(bad)


def test_a_plugin_check_with_web_docs_gets_a_help_uri() -> None:
    from phasegate.checks.base import Check, register_check, registered_checks
    from phasegate.model import CheckResult
    from phasegate.sarif import _rule

    class WebDocumented(Check):
        id = "WEB-DOC"
        title = "Documented on the web"

        @classmethod
        def docs_url(cls, check_id: str | None = None) -> str:
            return "https://example.org/checks#web-doc"

    register_check("WEB-DOC", WebDocumented)
    try:
        rule = _rule(CheckResult(id="WEB-DOC", passed=False, score=0.0))
    finally:
        registered_checks().pop("WEB-DOC", None)
    assert rule["helpUri"] == "https://example.org/checks#web-doc"
    assert "https://example.org/checks#web-doc" in rule["help"]["text"]


# -- baseline fingerprints: what `phasegate baseline` writes and load_baseline reads -------
def test_fingerprints_round_trip_through_load_baseline(
    gates: tuple[Path, list[GateResult]], tmp_path: Path
) -> None:
    from phasegate.baseline import (
        CONTEXT_KEY,
        FINGERPRINT_KEY,
        context_hash,
        fingerprint,
        load_baseline,
    )
    from phasegate.newcode import NewCode

    root, gs = gates
    log = gates_to_sarif(root, gs)
    path = tmp_path / "baseline.sarif"
    path.write_text(json.dumps(log), encoding="utf-8")
    baseline = load_baseline(path)
    findings = [(g.phase, f) for g in gs for f in g.findings]
    assert findings and baseline.total == len(findings)
    ws = Workspace(root)
    for (phase, f), res in zip(findings, log["runs"][0]["results"], strict=True):
        lines = (ws.read_text(f.path) or "").splitlines()
        text = lines[f.range.start.line] if f.range.start.line < len(lines) else None
        assert res["partialFingerprints"][FINGERPRINT_KEY] == fingerprint(f.code, f.path, f.message)
        assert res["partialFingerprints"][CONTEXT_KEY] == context_hash(text)
        assert res["properties"]["phase"] == phase
    # the same findings, classified against the baseline just written: nothing new, none gone
    nc = NewCode(workspace=ws, baseline=baseline)
    for g in gs:
        for c in g.checks:
            out, absent = nc.classify(g.phase, c.id, c.findings)
            assert [f.baseline_state for f in out] == ["unchanged"] * len(c.findings)
            assert absent == []
    # and each entry carries its context: pairing does not fall back to order
    for entries in baseline.entries.values():
        for e in entries:
            assert e.fingerprint and (e.context or not (root / e.path).is_file())


def test_context_hash_of_a_missing_file_or_line_is_empty(tmp_path: Path) -> None:
    from phasegate.baseline import CONTEXT_KEY, context_hash

    (tmp_path / "a.py").write_text("first\n  second   line \n", encoding="utf-8")
    findings = [
        Finding(path="a.py", range=Range.lines(1), code="C", message="m"),
        Finding(path="a.py", range=Range.lines(7), code="C", message="past the end"),
        Finding(path="gone.md", code="C", message="missing", missing_file=True),
    ]
    check = CheckResult(id="C", phase="p", passed=False, score=0.0, findings=findings)
    gate = GateResult(phase="p", score=0.0, threshold=0.6, passed=False, checks=[check])
    results = gates_to_sarif(tmp_path, [gate])["runs"][0]["results"]
    contexts = [r["partialFingerprints"][CONTEXT_KEY] for r in results]
    assert contexts == [context_hash("second line"), "", ""]


def test_each_file_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.py").write_text("\n".join(f"line {i}" for i in range(50)), encoding="utf-8")
    reads: list[str] = []
    original = Workspace.read_text

    def counting(self: Workspace, rel: str) -> str | None:
        reads.append(rel)
        return original(self, rel)

    monkeypatch.setattr(Workspace, "read_text", counting)
    findings = [
        Finding(path=p, range=Range.lines(i), code="C", message=f"m{i}")
        for i in range(20)
        for p in ("a.py", "missing.py")
    ]
    check = CheckResult(id="C", phase="p", passed=False, score=0.0, findings=findings)
    gate = GateResult(phase="p", score=0.0, threshold=0.6, passed=False, checks=[check])
    gates_to_sarif(tmp_path, [gate])
    assert sorted(reads) == ["a.py", "missing.py"]
