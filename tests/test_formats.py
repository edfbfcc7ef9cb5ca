"""``validate --format gitlab`` (GitLab Code Quality) and ``--format junit`` (JUnit XML).

The GitLab report is checked against a JSON Schema written from GitLab's documentation
of the format ("Code Quality report format", the fields GitLab reads):
https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format
(the same table is in gitlab-org/gitlab, ``doc/ci/testing/code_quality.md``, section
"Implement a custom tool"). The JUnit XML is parsed back with junitparser and
``xml.etree``, and validated against the JUnit schema pytest's own tests use
(``testing/example_scripts/junit-10.xsd`` in pytest's source distribution, from
Jenkins' xunit plugin), fetched from PyPI with pip when it can be.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from phasegate.cli import cli
from phasegate.formats.gitlab import gates_to_gitlab, repository_prefix
from phasegate.formats.junit import gates_to_junit
from phasegate.model import (
    CheckResult,
    Finding,
    GateResult,
    NewCodeCounts,
    Range,
    Severity,
)

# What GitLab documents for each issue: every field below is one GitLab reads, and the
# severities are the five it names. Other Code Climate fields are allowed (ignored).
GITLAB_CODE_QUALITY_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "GitLab Code Quality report (docs.gitlab.com/ci/testing/code_quality)",
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "minLength": 1},
            "fingerprint": {"type": "string", "minLength": 1},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path"],
                "properties": {
                    # relative to the repository
                    "path": {"type": "string", "minLength": 1, "not": {"pattern": "^(/|\\./)"}},
                    "lines": {
                        "type": "object",
                        "required": ["begin"],
                        "properties": {
                            "begin": {"type": "integer", "minimum": 1},
                            "end": {"type": "integer", "minimum": 1},
                        },
                    },
                    "positions": {
                        "type": "object",
                        "required": ["begin"],
                        "properties": {
                            "begin": {
                                "type": "object",
                                "required": ["line"],
                                "properties": {"line": {"type": "integer", "minimum": 1}},
                            }
                        },
                    },
                },
                # the line: location.lines.begin or location.positions.begin.line
                "anyOf": [{"required": ["lines"]}, {"required": ["positions"]}],
            },
        },
    },
}


def _validate_gitlab(report: Any) -> None:
    jsonschema.validate(report, GITLAB_CODE_QUALITY_SCHEMA)
    fingerprints = [issue["fingerprint"] for issue in report]
    # GitLab shows issues that share a fingerprint as one: each must be unique
    assert len(set(fingerprints)) == len(fingerprints)


def _finding(
    path: str,
    line: int,
    code: str,
    message: str,
    severity: Severity = Severity.WARNING,
    state: str | None = None,
) -> Finding:
    return Finding(
        path=path,
        range=Range.lines(line, 4),
        severity=severity,
        code=code,
        message=message,
        baseline_state=state,  # type: ignore[arg-type]
    )


def _gates() -> list[GateResult]:
    """Two gates covering every status: failed, blocking, error, skipped, n/a, passed."""
    lint = CheckResult(
        id="IMPL-LINT",
        phase="implementation",
        passed=False,
        score=0.5,
        findings=[
            _finding("pkg/a.py", 2, "IMPL-LINT", "F401 `os` imported but unused"),
            _finding("pkg/a.py", 9, "IMPL-LINT", "F401 `os` imported but unused"),
            _finding("pkg/b.py", 0, "IMPL-LINT", "E711 bad\x1b[31m <&> \x00", Severity.ERROR),
        ],
        duration_s=0.25,
    )
    stub = CheckResult(
        id="IMPL-STUB",
        phase="implementation",
        passed=True,
        score=1.0,
        findings=[_finding("pkg/a.py", 5, "IMPL-STUB", "a hint", Severity.HINT)],
    )
    pytest_run = CheckResult(
        id="TEST-PYTEST",
        phase="testing",
        passed=False,
        score=0.9,
        blocking=True,
        findings=[_finding("tests/test_a.py", 3, "TEST-PYTEST", "test_a failed", Severity.ERROR)],
    )
    types = CheckResult(
        id="IMPL-TYPES", phase="implementation", passed=False, score=0.0, error="mypy not found"
    )
    cov = CheckResult(
        id="TEST-COVERAGE",
        phase="testing",
        passed=True,
        score=1.0,
        skipped="untrusted workspace: this check runs workspace code",
    )
    trace = CheckResult(
        id="TEST-TRACE", phase="testing", passed=True, score=1.0, not_applicable="no requirements"
    )
    return [
        GateResult(
            phase="implementation",
            score=0.75,
            threshold=0.85,
            passed=False,
            checks=[lint, stub, types],
            duration_s=1.5,
        ),
        GateResult(
            phase="testing",
            score=0.9,
            threshold=0.85,
            passed=False,
            checks=[pytest_run, cov, trace],
            blocking_failed=["TEST-PYTEST"],
        ),
    ]


# -- GitLab Code Quality --------------------------------------------------------------
def test_gitlab_report_follows_the_documented_format(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("x\n" * 12, encoding="utf-8")
    report = gates_to_gitlab(tmp_path, _gates(), config_file=tmp_path / "phasegate.toml")
    _validate_gitlab(report)
    # the document as validate writes it: a JSON array, no byte order mark
    assert json.loads(json.dumps(report)) == report
    by_check: dict[str, list[dict[str, Any]]] = {}
    for issue in report:
        by_check.setdefault(issue["check_name"], []).append(issue)
    lint = by_check["IMPL-LINT"]
    assert [i["location"] for i in lint] == [
        {"path": "pkg/a.py", "lines": {"begin": 3}},
        {"path": "pkg/a.py", "lines": {"begin": 10}},
        {"path": "pkg/b.py", "lines": {"begin": 1}},
    ]
    assert [i["severity"] for i in lint] == ["minor", "minor", "major"]
    assert lint[0]["description"] == "IMPL-LINT: F401 `os` imported but unused"
    assert by_check["IMPL-STUB"][0]["severity"] == "info"
    # a failed blocking check's findings fail the gate by themselves
    assert by_check["TEST-PYTEST"][0]["severity"] == "blocker"
    # a check that could not run is reported on the configuration file
    (types,) = by_check["IMPL-TYPES"]
    assert types["location"] == {"path": "phasegate.toml", "lines": {"begin": 1}}
    assert types["severity"] == "major"
    assert "could not run" in types["description"] and "mypy not found" in types["description"]
    # skipped and not-applicable checks are not issues
    assert "TEST-COVERAGE" not in by_check and "TEST-TRACE" not in by_check
    assert all(len(i["fingerprint"]) == 32 for i in report)


def test_gitlab_fingerprints_are_stable(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    b = tmp_path / "pkg" / "b.py"
    b.write_text("if x == None:\n    pass\n", encoding="utf-8")
    first = gates_to_gitlab(tmp_path, _gates())
    again = gates_to_gitlab(tmp_path, _gates())
    assert [i["fingerprint"] for i in first] == [i["fingerprint"] for i in again]
    # the line moving down (lines inserted above it) keeps the fingerprint
    b.write_text("import sys\n\n\nif x == None:\n    pass\n", encoding="utf-8")
    moved = _gates()
    lint = moved[0].checks[0]
    lint.findings[2] = _finding(
        "pkg/b.py", 3, "IMPL-LINT", lint.findings[2].message, Severity.ERROR
    )
    moved_report = gates_to_gitlab(tmp_path, moved)
    assert {i["fingerprint"] for i in moved_report} == {i["fingerprint"] for i in first}
    # so does a number in the message changing (digit runs are blanked)
    renumbered = _gates()
    renumbered[0].checks[0].findings[2] = _finding(
        "pkg/b.py", 3, "IMPL-LINT", lint.findings[2].message.replace("711", "712"), Severity.ERROR
    )
    renumbered_report = gates_to_gitlab(tmp_path, renumbered)
    assert {i["fingerprint"] for i in renumbered_report} == {i["fingerprint"] for i in first}
    # another message, or the same finding on a line whose text changed, is another issue
    for path, line, message in (
        ("pkg/b.py", 3, "F821 undefined name"),
        ("pkg/b.py", 0, lint.findings[2].message),  # now on "import sys"
    ):
        other = _gates()
        other[0].checks[0].findings[2] = _finding(path, line, "IMPL-LINT", message, Severity.ERROR)
        changed = {i["fingerprint"] for i in gates_to_gitlab(tmp_path, other)}
        assert len(changed - {i["fingerprint"] for i in first}) == 1


def test_gitlab_identical_findings_on_distinct_lines(tmp_path: Path) -> None:
    """Same check, file and message: the text of the line tells them apart, and the
    occurrence when the lines are identical too."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("import os\n" * 3 + "y = 1\n", encoding="utf-8")
    gates = [
        GateResult(
            phase="implementation",
            score=0.5,
            threshold=0.85,
            passed=False,
            checks=[
                CheckResult(
                    id="IMPL-LINT",
                    phase="implementation",
                    passed=False,
                    score=0.5,
                    findings=[
                        _finding("pkg/a.py", n, "IMPL-LINT", "F401 unused") for n in range(4)
                    ],
                )
            ],
        )
    ]
    report = gates_to_gitlab(tmp_path, gates)
    _validate_gitlab(report)
    assert len({i["fingerprint"] for i in report}) == 4


def test_gitlab_new_code_findings_that_hold_the_gate_are_blockers(tmp_path: Path) -> None:
    check = CheckResult(
        id="IMPL-STUB",
        phase="implementation",
        passed=False,
        score=0.0,
        findings=[
            _finding("a.py", 1, "IMPL-STUB", "new stub", Severity.WARNING, "new"),
            _finding("a.py", 9, "IMPL-STUB", "old stub", Severity.WARNING, "unchanged"),
            _finding("a.py", 12, "IMPL-STUB", "new note", Severity.INFO, "new"),
        ],
        absent=[_finding("a.py", 20, "IMPL-STUB", "fixed stub", Severity.WARNING, "absent")],
        new_code=NewCodeCounts(new=2, unchanged=1, absent=1, held=True),
    )
    gate = GateResult(
        phase="implementation",
        score=1.0,
        threshold=0.85,
        passed=False,
        checks=[check],
        new_code="since HEAD (abc)",
        held=["IMPL-STUB"],
    )
    report = gates_to_gitlab(tmp_path, [gate])
    _validate_gitlab(report)
    assert [(i["description"], i["severity"]) for i in report] == [
        ("IMPL-STUB: new stub", "blocker"),
        ("IMPL-STUB: old stub", "minor"),
        ("IMPL-STUB: new note", "info"),
    ]  # the fixed one is not an issue: GitLab compares with the target branch's report
    only_errors = gates_to_gitlab(tmp_path, [gate], blocking=["error"])
    assert only_errors[0]["severity"] == "minor"


def test_gitlab_paths_are_relative_to_the_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    ws = repo / "services" / "api"
    ws.mkdir(parents=True)
    (repo / ".git").mkdir()
    assert repository_prefix(ws) == "services/api/"
    assert repository_prefix(repo) == ""
    report = gates_to_gitlab(ws, _gates(), config_file=ws / "phasegate.toml")
    _validate_gitlab(report)
    paths = {i["location"]["path"] for i in report}
    assert "services/api/pkg/a.py" in paths
    assert "services/api/phasegate.toml" in paths
    assert all(p.startswith("services/api/") for p in paths)


def test_gitlab_multi_line_range(tmp_path: Path) -> None:
    f = Finding(path="a.py", range=Range.span(2, 0, 6, 3), code="X", message="m")
    at_line_start = Finding(path="a.py", range=Range.span(2, 0, 3, 0), code="X", message="n")
    gate = GateResult(
        phase="p",
        score=0.0,
        threshold=0.5,
        passed=False,
        checks=[CheckResult(id="X", passed=False, score=0.0, findings=[f, at_line_start])],
    )
    report = gates_to_gitlab(tmp_path, [gate])
    _validate_gitlab(report)
    assert report[0]["location"]["lines"] == {"begin": 3, "end": 7}
    assert report[1]["location"]["lines"] == {"begin": 3}


# -- JUnit XML --------------------------------------------------------------------------
@pytest.fixture(scope="session")
def junit_xsd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``junit-10.xsd`` from pytest's source distribution on PyPI (the schema pytest's
    own tests validate its JUnit XML against); skipped when PyPI cannot be reached."""
    folder = tmp_path_factory.mktemp("junit-xsd")
    version = pytest.__version__
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--disable-pip-version-check",
            f"pytest=={version}",
            "-d",
            str(folder),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    sdists = list(folder.glob("pytest-*.tar.gz"))
    if res.returncode != 0 or not sdists:
        pytest.skip(f"cannot fetch pytest's sdist for its JUnit XSD: {res.stderr[-500:]}")
    with tarfile.open(sdists[0]) as tar:
        member = next(
            (m for m in tar.getmembers() if m.name.endswith("example_scripts/junit-10.xsd")),
            None,
        )
        if member is None:
            pytest.skip("pytest's sdist has no testing/example_scripts/junit-10.xsd")
        data = tar.extractfile(member)
        assert data is not None
        xsd = folder / "junit-10.xsd"
        xsd.write_bytes(data.read())
    return xsd


def _parse(xml: bytes) -> ET.Element:
    assert xml.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ET.fromstring(xml)


def test_junit_structure() -> None:
    xml = gates_to_junit(_gates())
    root = _parse(xml)
    assert root.tag == "testsuites" and root.get("name") == "phasegate"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["implementation", "testing"]
    impl, testing = suites
    props = {p.get("name"): p.get("value") for p in impl.iter("property")}
    assert props == {"score": "0.7500", "threshold": "0.8500", "passed": "false"}
    cases = {c.get("name"): c for c in impl.findall("testcase")}
    assert list(cases) == ["IMPL-LINT", "IMPL-STUB", "IMPL-TYPES", "gate"]
    assert all(c.get("classname") == "phasegate.implementation" for c in cases.values())
    lint = cases["IMPL-LINT"].find("failure")
    assert lint is not None and lint.get("message") == "3 findings (score 0.50)"
    assert lint.text is not None
    lines = lint.text.splitlines()
    assert lines[0] == "pkg/a.py:3:5: IMPL-LINT F401 `os` imported but unused"
    # control characters XML cannot hold are escaped, markup characters kept as text
    assert lines[2] == "pkg/b.py:1:5: IMPL-LINT E711 bad\\x1b[31m <&> \\x00"
    assert cases["IMPL-LINT"].get("time") == "0.250"
    stub = cases["IMPL-STUB"]
    assert stub.find("failure") is None and stub.find("error") is None
    out = stub.find("system-out")
    assert out is not None and out.text == "pkg/a.py:6:5: IMPL-STUB a hint"
    error = cases["IMPL-TYPES"].find("error")
    assert error is not None and error.get("message") == "mypy not found"
    gate = cases["gate"].find("failure")
    assert gate is not None
    assert gate.get("message") == "score 0.75 below threshold 0.85; could not run: IMPL-TYPES"
    assert (impl.get("tests"), impl.get("failures"), impl.get("errors"), impl.get("skipped")) == (
        "4",
        "2",
        "1",
        "0",
    )
    t_cases = {c.get("name"): c for c in testing.findall("testcase")}
    skipped = t_cases["TEST-COVERAGE"].find("skipped")
    assert skipped is not None
    assert skipped.get("message") == (
        "skipped: untrusted workspace: this check runs workspace code"
    )
    na = t_cases["TEST-TRACE"].find("skipped")
    assert na is not None and na.get("message") == "not applicable: no requirements"
    blocking = t_cases["TEST-PYTEST"].find("failure")
    assert blocking is not None and blocking.text is not None
    assert blocking.text.startswith("blocking check")
    t_gate = t_cases["gate"].find("failure")
    assert t_gate is not None and t_gate.get("message") == "blocking check failed: TEST-PYTEST"
    assert (testing.get("tests"), testing.get("failures"), testing.get("skipped")) == (
        "4",
        "2",
        "2",
    )
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("8", "4", "1")


def test_junit_parses_with_junitparser(tmp_path: Path) -> None:
    from junitparser import Error, Failure, JUnitXml, Skipped

    path = tmp_path / "phasegate.xml"
    path.write_bytes(gates_to_junit(_gates(), pretty=True))
    xml = JUnitXml.fromfile(str(path))
    outcomes: dict[tuple[str, str], str] = {}
    for suite in xml:
        for case in suite:
            kinds = {type(r) for r in case.result}
            kind = (
                "failure"
                if Failure in kinds
                else "error"
                if Error in kinds
                else "skipped"
                if Skipped in kinds
                else "passed"
            )
            outcomes[(str(suite.name), str(case.name))] = kind
    assert outcomes == {
        ("implementation", "IMPL-LINT"): "failure",
        ("implementation", "IMPL-STUB"): "passed",
        ("implementation", "IMPL-TYPES"): "error",
        ("implementation", "gate"): "failure",
        ("testing", "TEST-PYTEST"): "failure",
        ("testing", "TEST-COVERAGE"): "skipped",
        ("testing", "TEST-TRACE"): "skipped",
        ("testing", "gate"): "failure",
    }
    suites = {str(s.name): s for s in xml}
    assert suites["implementation"].tests == 4 and suites["implementation"].errors == 1
    assert suites["testing"].skipped == 2


def test_junit_new_code_and_passing_gate() -> None:
    check = CheckResult(
        id="IMPL-STUB",
        phase="implementation",
        passed=True,
        score=1.0,
        findings=[_finding("a.py", 9, "IMPL-STUB", "old stub", Severity.WARNING, "unchanged")],
        absent=[_finding("a.py", 20, "IMPL-STUB", "fixed stub", Severity.WARNING, "absent")],
        new_code=NewCodeCounts(new=0, unchanged=1, absent=1),
    )
    gate = GateResult(
        phase="implementation",
        score=1.0,
        threshold=0.85,
        passed=True,
        checks=[check],
        new_code="since origin/main (abc)",
    )
    root = _parse(gates_to_junit([gate]))
    (suite,) = root.findall("testsuite")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["new_code"] == "since origin/main (abc)" and props["held"] == ""
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    out = cases["IMPL-STUB"].find("system-out")
    assert out is not None and out.text == (
        "a.py:10:5: IMPL-STUB old stub (unchanged)\na.py:21:5: IMPL-STUB fixed stub (fixed)"
    )
    assert cases["gate"].find("failure") is None
    assert suite.get("failures") == "0" and root.get("failures") == "0"


def test_junit_validates_against_the_junit_xsd(junit_xsd: Path, tmp_path: Path) -> None:
    import xmlschema

    schema = xmlschema.XMLSchema(str(junit_xsd))
    for pretty in (False, True):
        schema.validate(gates_to_junit(_gates(), pretty=pretty).decode("utf-8"))
    schema.validate(gates_to_junit([]).decode("utf-8"))
    # and the document validate writes for a real workspace
    ws = _workspace(tmp_path / "ws")
    result = CliRunner().invoke(cli, ["validate", str(ws), "--format", "junit"])
    assert result.exit_code == 1, result.output
    schema.validate(result.stdout)


# -- the command ------------------------------------------------------------------------
CONFIG = """
thresholds = [0.9]

[[phases]]
name = "implementation"
[[phases.checks]]
id = "IMPL-SYNTAX"
[[phases.checks]]
id = "IMPL-STUB"
"""


def _workspace(ws: Path, *, stub: bool = True) -> Path:
    (ws / "pkg").mkdir(parents=True)
    (ws / "phasegate.toml").write_text(textwrap.dedent(CONFIG).lstrip(), encoding="utf-8")
    body = "    raise NotImplementedError\n" if stub else "    return 1\n"
    (ws / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    (ws / "pkg" / "core.py").write_text(f"def run() -> int:\n{body}", encoding="utf-8")
    return ws


def test_validate_format_gitlab_command(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    ws = _workspace(repo / "app")
    result = CliRunner().invoke(cli, ["validate", str(ws), "--format", "gitlab"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    _validate_gitlab(report)
    assert [(i["check_name"], i["location"]) for i in report] == [
        ("IMPL-STUB", {"path": "app/pkg/core.py", "lines": {"begin": 1}})
    ]
    again = CliRunner().invoke(cli, ["validate", str(ws), "--format", "gitlab"])
    assert json.loads(again.stdout) == report  # cached run, same report
    clean = _workspace(tmp_path / "clean", stub=False)
    passed = CliRunner().invoke(cli, ["validate", str(clean), "--format", "gitlab"])
    assert passed.exit_code == 0 and json.loads(passed.stdout) == []


def test_validate_format_junit_command(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "ws")
    result = CliRunner().invoke(cli, ["validate", str(ws), "--format", "junit", "--pretty"])
    assert result.exit_code == 1
    root = _parse(result.stdout_bytes)
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {"IMPL-SYNTAX", "IMPL-STUB", "gate"}
    assert cases["IMPL-STUB"].find("failure") is not None
    assert cases["IMPL-SYNTAX"].find("failure") is None
