"""Our SARIF against the official SARIF 2.1.0 JSON Schema (vendored: tests/data/README.md),
whole-code and new-code (new, unchanged, absent), with checks that could not run, were
skipped, timed out, and with the evidence of how each check ran."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from phasegate.baseline import CONTEXT_KEY, FINGERPRINT_KEY
from phasegate.checks.base import Check, CheckContext, registered_checks
from phasegate.config import CheckConfig, Config, NewCodeConfig, PhaseConfig
from phasegate.model import CheckResult, Evidence, Finding, GateResult, Range, Severity
from phasegate.newcode import resolve_new_code
from phasegate.runner import GateRunner
from phasegate.sarif import gates_to_sarif
from phasegate.workspace import Workspace

DATA = Path(__file__).parent / "data"
SCHEMA_PATH = DATA / "sarif-schema-2.1.0.json"
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
FIXTURES = Path(__file__).parent / "fixtures" / "tools"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S*")


def _schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = _schema()
    cls = jsonschema.validators.validator_for(schema)
    assert cls is jsonschema.Draft4Validator  # what the schema declares
    cls.check_schema(schema)
    # "format": "uri" is checked only with an optional package: an absolute URI has a scheme
    formats = jsonschema.FormatChecker()
    formats.checks("uri")(
        lambda value: not isinstance(value, str) or bool(_SCHEME.fullmatch(value))
    )
    return cls(schema, format_checker=formats)


def assert_valid(validator: jsonschema.protocols.Validator, log: dict[str, Any]) -> None:
    log = json.loads(json.dumps(log))  # as a consumer reads it
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


class Todo(Check):
    """Each line with ``TODO`` is a finding, its message the rest of the line."""

    id = "S-TODO"
    scope = "file"
    default_owner = "backend_developer"

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return ["src/*.py"]

    def check_file(self, ctx: CheckContext, path: str) -> list[Finding]:
        out = []
        for i, line in enumerate((ctx.workspace.read_text(path) or "").splitlines()):
            col = line.find("TODO")
            if col >= 0:
                out.append(ctx.finding(path, f"todo: {line[col + 4 :].strip()}", line=i))
        return out


@pytest.fixture(autouse=True)
def todo_check(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(registered_checks(), Todo.id, Todo)
    yield


# integrity=False: GATE-INTEGRITY (joins new-code runs) judges history, not these findings
TODO_CONFIG = Config(
    phases=[PhaseConfig(name="implementation", checks=[CheckConfig(id="S-TODO")])],
    new_code=NewCodeConfig(integrity=False),
)


def _write(root: Path, rel: str, text: str) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text(text, encoding="utf-8")


# -- the schema file itself --------------------------------------------------------------
def test_the_vendored_schema_is_the_official_one() -> None:
    assert hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest() == SCHEMA_SHA256
    schema = _schema()
    assert schema["id"].endswith("/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json")
    assert "sarif-schema-2.1.0.json" in (DATA / "README.md").read_text(encoding="utf-8")


def test_the_validator_catches_what_the_schema_forbids(
    validator: jsonschema.protocols.Validator, tmp_path: Path
) -> None:
    good = gates_to_sarif(tmp_path, [GateResult(phase="p", score=1.0, threshold=0.6, passed=True)])
    assert_valid(validator, good)
    for breakage in (
        lambda d: d.update(version="2.0.0"),
        lambda d: d["runs"][0]["tool"]["driver"].pop("name"),
        lambda d: d["runs"][0].update(versionControlProvenance=[{"revisionId": "abc"}]),
        lambda d: d["runs"][0].update(
            versionControlProvenance=[{"repositoryUri": "no scheme", "revisionId": "abc"}]
        ),
        lambda d: d["runs"][0].update(
            results=[{"message": {"text": "m"}, "ruleId": "X", "baselineState": "fixed"}]
        ),
        lambda d: d["runs"][0]["invocations"][0].pop("executionSuccessful"),
    ):
        bad = json.loads(json.dumps(good))
        breakage(bad)
        assert list(validator.iter_errors(bad)), bad


# -- whole code ---------------------------------------------------------------------------
def test_whole_code_sarif_of_real_gates_is_valid(
    validator: jsonschema.protocols.Validator, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    shutil.copytree(FIXTURES / "deploy_bad", root)
    shutil.copytree(FIXTURES / "lint_project" / "pkg", root / "pkg")
    cfg = Config(
        phases=[
            PhaseConfig(name="implementation", checks=[CheckConfig(id="IMPL-SYNTAX")]),
            PhaseConfig(
                name="deployment",
                checks=[CheckConfig(id=i) for i in ("DEP-METADATA", "DEP-README", "DEP-CI")],
            ),
        ]
    )
    runner = GateRunner(Workspace(root), cfg)
    gates = [runner.evaluate("implementation", 0.6), runner.evaluate("deployment", 0.6)]
    log = gates_to_sarif(root, gates)
    assert_valid(validator, log)
    (run,) = log["runs"]
    assert run["results"] and len(run["results"]) == sum(len(g.findings) for g in gates)
    for res in run["results"]:
        assert "baselineState" not in res
        assert set(res["partialFingerprints"]) == {
            "phasegateFindingId/v1",
            FINGERPRINT_KEY,
            CONTEXT_KEY,
        }
    assert "newCode" not in run["properties"]
    checks = run["invocations"][0]["properties"]["checks"]
    assert [(c["phase"], c["id"]) for c in checks] == [
        (g.phase, c.id) for g in gates for c in g.checks
    ]
    assert run["invocations"][0]["executionSuccessful"] is True


# -- new code -----------------------------------------------------------------------------
def test_new_code_sarif_with_new_unchanged_and_absent_is_valid(
    validator: jsonschema.protocols.Validator, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    _write(root, "src/a.py", "x = 1  # TODO keep\ny = 2  # TODO fix me\n")
    whole = GateRunner(Workspace(root), TODO_CONFIG).evaluate("implementation", 0.6)
    baseline = root / "phasegate-baseline.sarif"
    baseline.write_text(json.dumps(gates_to_sarif(root, [whole])), encoding="utf-8")

    # one fixed, one new, one kept (after a line inserted above it)
    _write(root, "src/a.py", "import os\nx = 1  # TODO keep\nz = 3  # TODO brand new\n")
    ws = Workspace(root)
    nc = resolve_new_code(ws, TODO_CONFIG, baseline=baseline)
    assert nc is not None
    gate = GateRunner(ws, TODO_CONFIG, new_code=nc).evaluate("implementation", 0.6)
    gate.new_code = nc.label
    log = gates_to_sarif(root, [gate])
    assert_valid(validator, log)
    (run,) = log["runs"]
    states = {r["message"]["text"]: r["baselineState"] for r in run["results"]}
    assert states == {"todo: keep": "unchanged", "todo: brand new": "new", "todo: fix me": "absent"}
    (gone,) = [r for r in run["results"] if r["baselineState"] == "absent"]
    assert gone["kind"] == "pass" and gone["level"] == "none"
    assert gone["properties"]["baselineLevel"] == "warning"
    assert gone["locations"][0]["physicalLocation"]["region"]["startLine"] == 2  # where it was
    assert run["properties"]["newCode"] == "baseline phasegate-baseline.sarif"
    assert run["properties"]["newCodeCounts"] == {"new": 1, "unchanged": 1, "absent": 1}
    (gp,) = run["properties"]["gates"]
    assert gp["newCode"] == nc.label and gp["held"] == ["S-TODO"]


def test_outside_new_code_mode_there_is_no_baseline_state(tmp_path: Path) -> None:
    f = Finding(path="a.py", code="C", message="m", baseline_state="new")
    check = CheckResult(id="C", passed=False, score=0.0, findings=[f])
    gate = GateResult(phase="p", score=0.0, threshold=0.6, passed=False, checks=[check])
    (res,) = gates_to_sarif(tmp_path, [gate])["runs"][0]["results"]
    assert "baselineState" not in res
    gate.new_code = "since main (0123456789)"
    (res,) = gates_to_sarif(tmp_path, [gate])["runs"][0]["results"]
    assert res["baselineState"] == "new"


# -- evidence: errors, skips, time-outs ---------------------------------------------------
def _evidence_gate() -> GateResult:
    ran = CheckResult(
        id="E-RAN",
        phase="testing",
        passed=True,
        score=1.0,
        evidence=Evidence(
            how="ran",
            rule="pytest",
            commands=[["python", "-m", "pytest", "-q"]],
            exit_codes=[0],
            tool_version="8.3.2",
            duration_s=1.23456,
            commit="0123456789abcdef0123456789abcdef01234567",
            dirty=True,
            inputs_hash="feedbeef",
        ),
    )
    broken = CheckResult(id="E-ERR", phase="testing", passed=False, score=0.0, error="not found")
    skipped = CheckResult(
        id="E-SKIP", phase="testing", passed=False, score=0.0, skipped="untrusted workspace"
    )
    slow = CheckResult(
        id="E-SLOW",
        phase="testing",
        passed=False,
        score=0.0,
        findings=[Finding(path="t.py", code="E-SLOW", message="3 tests failed")],
        evidence=Evidence(rule="pytest", commands=[["pytest"]], exit_codes=[None], timed_out=True),
    )
    na = CheckResult(
        id="E-NA", phase="testing", passed=True, score=1.0, not_applicable="no Python source"
    )
    return GateResult(
        phase="testing",
        score=0.0,
        threshold=0.6,
        passed=False,
        checks=[ran, broken, skipped, slow, na],
    )


def test_errors_skips_and_time_outs_are_valid_and_said(
    validator: jsonschema.protocols.Validator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))  # not in a repository
    log = gates_to_sarif(tmp_path, [_evidence_gate()])
    assert_valid(validator, log)
    (run,) = log["runs"]
    (inv,) = run["invocations"]
    assert inv["executionSuccessful"] is False
    notes = {n["associatedRule"]["id"]: n for n in inv["toolExecutionNotifications"]}
    assert set(notes) == {"E-ERR", "E-SKIP", "E-SLOW", "E-NA"}
    assert notes["E-ERR"]["level"] == "error"
    assert notes["E-ERR"]["message"]["text"] == "E-ERR: could not run: not found"
    assert notes["E-SLOW"]["level"] == "error" and "timed out" in notes["E-SLOW"]["message"]["text"]
    assert notes["E-SKIP"]["level"] == "note"
    assert "did not run" in notes["E-SKIP"]["message"]["text"]
    assert "untrusted workspace" in notes["E-SKIP"]["message"]["text"]
    rules = run["tool"]["driver"]["rules"]
    for n in notes.values():
        assert rules[n["associatedRule"]["index"]]["id"] == n["associatedRule"]["id"]
    checks = {c["id"]: c for c in inv["properties"]["checks"]}
    assert checks["E-RAN"] == {
        "id": "E-RAN",
        "phase": "testing",
        "status": "passed",
        "how": "ran",
        "rule": "pytest",
        "commands": [["python", "-m", "pytest", "-q"]],
        "exitCodes": [0],
        "toolVersion": "8.3.2",
        "durationS": 1.235,
        "inputsHash": "feedbeef",
        "timedOut": False,
    }
    assert checks["E-SLOW"]["timedOut"] is True and checks["E-SLOW"]["exitCodes"] == [None]
    assert checks["E-SKIP"]["how"] == "skipped" and checks["E-SKIP"]["status"] == "skipped"
    assert checks["E-ERR"]["status"] == "error" and checks["E-ERR"]["toolVersion"] is None
    assert checks["E-NA"]["status"] == "not_applicable"
    # not in a git work tree with a remote: the commit goes to the run's properties
    assert "versionControlProvenance" not in run
    assert run["properties"]["commit"] == "0123456789abcdef0123456789abcdef01234567"
    assert run["properties"]["dirty"] is True


def test_a_timed_out_check_alone_makes_the_execution_unsuccessful(tmp_path: Path) -> None:
    slow = CheckResult(
        id="E-SLOW", passed=True, score=1.0, evidence=Evidence(timed_out=True, rule="pytest")
    )
    gate = GateResult(phase="p", score=1.0, threshold=0.6, passed=True, checks=[slow])
    (inv,) = gates_to_sarif(tmp_path, [gate])["runs"][0]["invocations"]
    assert inv["executionSuccessful"] is False
    (note,) = inv["toolExecutionNotifications"]
    assert note["level"] == "error" and note["message"]["text"] == "E-SLOW: timed out"


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, timeout=60)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_commit_goes_to_version_control_provenance_without_credentials(
    validator: jsonschema.protocols.Validator, tmp_path: Path
) -> None:
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "remote", "add", "origin", "https://user:s3cret@example.org/team/app.git")
    log = gates_to_sarif(tmp_path, [_evidence_gate()])
    assert_valid(validator, log)
    (run,) = log["runs"]
    assert run["versionControlProvenance"] == [
        {
            "repositoryUri": "https://example.org/team/app.git",
            "revisionId": "0123456789abcdef0123456789abcdef01234567",
        }
    ]
    assert "s3cret" not in json.dumps(log) and "user@" not in json.dumps(log)
    _git(tmp_path, "remote", "set-url", "origin", "git@example.org:team/app.git")
    (run,) = gates_to_sarif(tmp_path, [_evidence_gate()])["runs"]
    assert run["versionControlProvenance"][0]["repositoryUri"] == (
        "ssh://git@example.org/team/app.git"
    )


def test_no_commit_no_provenance(tmp_path: Path) -> None:
    check = CheckResult(id="C", passed=True, score=1.0, evidence=Evidence(rule="in-process"))
    gate = GateResult(phase="p", score=1.0, threshold=0.6, passed=True, checks=[check])
    (run,) = gates_to_sarif(tmp_path, [gate])["runs"]
    assert "versionControlProvenance" not in run and "commit" not in run["properties"]


@pytest.mark.parametrize(
    ("remote", "uri"),
    [
        ("https://github.com/o/r.git", "https://github.com/o/r.git"),
        ("https://ghp_TOKEN@github.com/o/r", "https://github.com/o/r"),
        ("https://u:p@host/o/r?access_token=x#frag", "https://host/o/r"),
        ("ssh://git:pw@host:2222/o/r.git", "ssh://git@host:2222/o/r.git"),
        ("git@github.com:o/r.git", "ssh://git@github.com/o/r.git"),
        ("/srv/git/r.git", "file:///srv/git/r.git"),
        ("../sibling", None),
        ("", None),
        ("not a url", None),
    ],
)
def test_remote_addresses_become_uris_without_credentials(remote: str, uri: str | None) -> None:
    from phasegate.sarif import _public_uri

    assert _public_uri(remote) == uri


def test_severities_map_to_levels_in_a_valid_log(
    validator: jsonschema.protocols.Validator, tmp_path: Path
) -> None:
    findings = [
        Finding(path="a.py", range=Range.lines(0), severity=s, code="C", message=s.label)
        for s in Severity
    ]
    check = CheckResult(id="C", phase="p", passed=False, score=0.0, findings=findings)
    gate = GateResult(phase="p", score=0.0, threshold=0.6, passed=False, checks=[check])
    log = gates_to_sarif(tmp_path, [gate])
    assert_valid(validator, log)
    assert [r["level"] for r in log["runs"][0]["results"]] == ["error", "warning", "note", "note"]


def test_the_baseline_file_is_valid(
    validator: jsonschema.protocols.Validator, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from phasegate.cli import cli

    root = tmp_path / "ws"
    _write(root, "src/a.py", "x = 1  # TODO one\ny = 2  # TODO two\n")
    _write(
        root,
        "phasegate.toml",
        '[[phases]]\nname = "implementation"\n[[phases.checks]]\nid = "S-TODO"\n',
    )
    result = CliRunner().invoke(cli, ["baseline", str(root)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    log = json.loads((root / "phasegate-baseline.sarif").read_text(encoding="utf-8"))
    assert_valid(validator, log)
    assert len(log["runs"][0]["results"]) == 2
