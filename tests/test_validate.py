"""``phasegate validate``: exit codes, thresholds, JSON shape, text output, trust."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from phasegate.checks.base import Check, CheckContext, CheckOutcome, registered_checks
from phasegate.cli import cli
from phasegate.config import Config
from phasegate.model import Finding, Range, Severity


class VPass(Check):
    id = "V-PASS"
    default_owner = "qa_engineer"

    def run(self, ctx: CheckContext) -> CheckOutcome:
        return CheckOutcome(score=1.0)


class VFile(Check):
    """A per-file check: each line containing ``bad`` is a finding."""

    id = "V-FILE"
    scope = "file"
    default_owner = "backend_developer"
    default_blocking = True

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return ["*.txt"]

    def check_file(self, ctx: CheckContext, path: str) -> list[Finding]:
        text = ctx.workspace.read_text(path) or ""
        out = []
        for i, line in enumerate(text.splitlines()):
            col = line.find("bad")
            if col >= 0:
                out.append(ctx.finding(path, "bad word", Range.lines(i, col, col + 3)))
        return out


class VHalf(Check):
    """Passes with score 0.7 and one info finding."""

    id = "V-HALF"
    default_severity = Severity.INFO

    def run(self, ctx: CheckContext) -> CheckOutcome:
        return CheckOutcome(score=0.7, findings=[ctx.finding("notes.md", "could be better")])


class VCode(Check):
    """Runs workspace code (so untrusted workspaces skip it); always fails."""

    id = "V-CODE"
    runs_workspace_code = True

    def run(self, ctx: CheckContext) -> CheckOutcome:
        return CheckOutcome(score=0.0, passed=False, error="tool exploded")


@pytest.fixture(autouse=True)
def checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    reg = registered_checks()
    for cls in (VPass, VFile, VHalf, VCode):
        monkeypatch.setitem(reg, cls.id, cls)
    yield


def make_ws(root: Path, config: str, files: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "phasegate.toml").write_text(textwrap.dedent(config).lstrip(), encoding="utf-8")
    for rel, text in (files or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


TWO_PHASES = """
thresholds = [0.6, 0.75, 0.85]

[[phases]]
name = "alpha"
[[phases.checks]]
id = "V-PASS"
[[phases.checks]]
id = "V-FILE"

[[phases]]
name = "beta"
[[phases.checks]]
id = "V-HALF"
"""


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["validate", *args], catch_exceptions=False)


def as_json(result: Result) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_all_gates_pass_exit_0(tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "ws", TWO_PHASES, {"a.txt": "good\n"})
    result = invoke(str(ws), "--iteration", "1")
    assert result.exit_code == 0, result.output
    assert "2/2 gates passed" in result.stdout


def test_gate_failure_exit_1_and_text_findings(tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "ws", TWO_PHASES, {"src/a.txt": "ok\n  a bad line\n"})
    result = invoke(str(ws), "--iteration", "1")
    assert result.exit_code == 1
    # 1-based line and column for people
    assert "src/a.txt:2:5: V-FILE bad word" in result.stdout
    assert "V-FILE (blocking)" in result.stdout
    assert "1/2 gates passed" in result.stdout


def test_default_threshold_is_the_last_of_the_schedule(tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "ws", TWO_PHASES, {"a.txt": "fine\n"})
    strict = invoke(str(ws), "--format", "json", "--phase", "beta")
    assert strict.exit_code == 1  # 0.7 < 0.85
    phase = as_json(strict)["phases"][0]
    assert (phase["threshold"], phase["score"], phase["status"]) == (0.85, 0.7, "failed")
    for k, threshold, code in [(1, 0.6, 0), (2, 0.75, 1), (3, 0.85, 1), (9, 0.85, 1)]:
        r = invoke(str(ws), "--format", "json", "--phase", "beta", "--iteration", str(k))
        assert r.exit_code == code, k
        assert as_json(r)["phases"][0]["threshold"] == threshold


def test_json_shape_exactly(tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "ws", TWO_PHASES, {"src/a.txt": "ok\n  a bad line\n"})
    result = invoke(str(ws), "--format", "json")
    assert result.exit_code == 1
    data = as_json(result)
    assert set(data) == {"workspace", "phases"}
    assert data["workspace"] == str(ws.resolve())
    assert [p["name"] for p in data["phases"]] == ["alpha", "beta"]
    alpha = data["phases"][0]
    assert set(alpha) == {
        "name", "status", "score", "threshold", "unknown", "not_applicable", "checks"
    }  # fmt: skip
    assert alpha["unknown"] == [] and alpha["not_applicable"] is False
    assert alpha["status"] == "failed"
    assert alpha["threshold"] == 0.85
    assert alpha["score"] == pytest.approx(0.5)
    by_id = {c["id"]: c for c in alpha["checks"]}
    assert list(by_id) == ["V-PASS", "V-FILE"]
    for c in alpha["checks"]:
        assert set(c) == {
            "id", "status", "reason", "passed", "blocking", "score", "owner", "findings",
            "evidence",
        }  # fmt: skip
        assert c.pop("evidence")["how"] == "ran"  # how the result was obtained
    assert by_id["V-PASS"] == {
        "id": "V-PASS",
        "status": "passed",
        "reason": None,
        "passed": True,
        "blocking": False,
        "score": 1.0,
        "owner": "qa_engineer",
        "findings": [],
    }
    assert by_id["V-FILE"]["passed"] is False
    assert by_id["V-FILE"]["blocking"] is True
    assert by_id["V-FILE"]["findings"] == [
        {
            "path": "src/a.txt",
            "range": {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 7}},
            "severity": "warning",
            "code": "V-FILE",
            "message": "bad word",
            "owner": "backend_developer",
        }
    ]
    beta = data["phases"][1]
    assert beta["checks"][0]["findings"][0]["severity"] == "info"


def test_config_error_exit_2_with_file_line(tmp_path: Path) -> None:
    ws = make_ws(
        tmp_path / "ws",
        """
        [[phases]]
        name = "alpha"
        [[phases.checks]]
        id = "V-PASS"
        wieght = 2
        """,
    )
    result = invoke(str(ws))
    assert result.exit_code == 2
    cfg = ws.resolve() / "phasegate.toml"
    assert f"{cfg}:5:1: phases[0].checks[0].wieght: unknown key 'wieght'" in result.stderr
    assert result.stdout == ""


def test_unknown_phase_and_missing_dir_exit_2(tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "ws", TWO_PHASES)
    result = invoke(str(ws), "--phase", "gamma")
    assert result.exit_code == 2
    assert "unknown phase 'gamma'" in result.stderr
    assert "alpha, beta" in result.stderr
    assert invoke(str(tmp_path / "nope")).exit_code == 2
    assert invoke(str(ws), "--format", "xml").exit_code == 2
    assert invoke(str(ws), "--iteration", "0").exit_code == 2


def test_untrusted_skips_checks_that_run_workspace_code(tmp_path: Path) -> None:
    ws = make_ws(
        tmp_path / "ws",
        """
        [[phases]]
        name = "alpha"
        [[phases.checks]]
        id = "V-PASS"
        [[phases.checks]]
        id = "V-CODE"
        """,
    )
    trusted = invoke(str(ws), "--format", "json")
    # V-CODE could not run: unknown, left out of the score (never counted as a pass);
    # it is not blocking, so the gate's verdict rests on the checks that ran
    assert trusted.exit_code == 0
    alpha = as_json(trusted)["phases"][0]
    assert alpha["unknown"] == ["V-CODE"]
    code = {c["id"]: c for c in alpha["checks"]}["V-CODE"]
    assert code["status"] == "error" and code["reason"] == "tool exploded"
    assert code["passed"] is False
    untrusted = invoke(str(ws), "--format", "json", "--untrusted")
    assert untrusted.exit_code == 0
    codes = {c["id"]: c for c in as_json(untrusted)["phases"][0]["checks"]}
    assert codes["V-CODE"]["passed"] is True
    text = invoke(str(ws))
    assert "V-CODE: could not run: tool exploded" in text.stdout
    assert "V-CODE: skipped" in invoke(str(ws), "--untrusted").stdout


def test_results_are_cached_under_phasegate_dir(tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "ws", TWO_PHASES, {"a.txt": "ok\n"})
    invoke(str(ws))
    cache = ws / ".phasegate" / "cache"
    assert sorted(p.name for p in cache.iterdir()) == [
        "alpha_V-FILE.json",
        "alpha_V-PASS.json",
        "beta_V-HALF.json",
    ]


def test_default_directory_is_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = make_ws(tmp_path / "ws", TWO_PHASES, {"a.txt": "ok\n"})
    monkeypatch.chdir(ws)
    result = invoke("--format", "json", "--iteration", "1")
    assert result.exit_code == 0
    assert as_json(result)["workspace"] == str(ws.resolve())


def test_sarif_format(tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "ws", TWO_PHASES, {"a.txt": "a bad one\n"})
    result = invoke(str(ws), "--format", "sarif")
    try:
        import phasegate.sarif  # noqa: F401
    except ImportError:
        assert result.exit_code == 2
        assert "SARIF output is not available" in result.stderr
        return
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["version"] == "2.1.0"
    results = [r for run in doc["runs"] for r in run["results"]]
    assert any(r["ruleId"] == "V-FILE" for r in results)
