"""``phasegate baseline``: record the findings, then judge new code against them — a new
finding is new, a fixed one absent, one whose line moved unchanged — through the engine
and through ``phasegate validate --baseline`` (text, JSON, SARIF)."""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from phasegate.baseline import DEFAULT_BASELINE, load_baseline
from phasegate.checks.base import Check, CheckContext, CheckOutcome, registered_checks
from phasegate.cli import cli
from phasegate.config import Config
from phasegate.config_loader import load
from phasegate.model import Finding, GateResult
from phasegate.newcode import resolve_new_code
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace


class Todo(Check):
    """Each line of ``src/*.py`` with ``TODO`` is a finding; the message is the rest of
    the line (so a moved line keeps its fingerprint)."""

    id = "B-TODO"
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


class Docs(Check):
    """One finding while ``NOTES.md`` is missing."""

    id = "B-DOCS"
    default_owner = "technical_writer"

    def run(self, ctx: CheckContext) -> CheckOutcome:
        if (ctx.workspace.root / "NOTES.md").is_file():
            return CheckOutcome(score=1.0)
        finding = ctx.finding("NOTES.md", "NOTES.md is missing", missing_file=True)
        return CheckOutcome(score=0.0, findings=[finding])


class Broken(Check):
    """Cannot run (its tool is missing)."""

    id = "B-BROKEN"

    def run(self, ctx: CheckContext) -> CheckOutcome:
        return CheckOutcome(score=0.0, passed=False, error="b-tool: not found")


class RunsCode(Check):
    """Runs workspace code: skipped in an untrusted workspace."""

    id = "B-CODE"
    runs_workspace_code = True

    def run(self, ctx: CheckContext) -> CheckOutcome:
        return CheckOutcome(score=1.0)


@pytest.fixture(autouse=True)
def checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for cls in (Todo, Docs, Broken, RunsCode):
        monkeypatch.setitem(registered_checks(), cls.id, cls)
    yield


# GATE-INTEGRITY (joined to new-code runs) judges history, not these findings: off here
CONFIG = """
thresholds = [0.5]

[new_code]
integrity = false

[[phases]]
name = "implementation"
[[phases.checks]]
id = "B-TODO"

[[phases]]
name = "deployment"
[[phases.checks]]
id = "B-DOCS"
[[phases.checks]]
id = "B-CODE"
"""

SOURCE = """\
def first():
    return 1  # TODO keep me


def second():
    return 2  # TODO fix me
"""


def make_ws(root: Path, config: str = CONFIG, files: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "phasegate.toml").write_text(textwrap.dedent(config).lstrip(), encoding="utf-8")
    for rel, text in ({"src/app.py": SOURCE} if files is None else files).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def record(root: Path, *args: str) -> Path:
    result = invoke("baseline", str(root), *args)
    assert result.exit_code == 0, result.output
    return root / DEFAULT_BASELINE


def judge(root: Path, baseline: Path) -> list[GateResult]:
    """The gates of ``root`` in new-code mode against ``baseline``, through the engine."""
    config = load(root).config
    ws = Workspace(root)
    nc = resolve_new_code(ws, config, baseline=baseline)
    assert nc is not None
    runner = GateRunner(ws, config, new_code=nc)
    return [runner.evaluate(p.name, 0.5) for p in config.phases]


def states(gates: list[GateResult]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for g in gates:
        for c in g.checks:
            for f in [*c.findings, *c.absent]:
                out[f.message] = f.baseline_state
    return out


# -- writing ------------------------------------------------------------------------------
def test_writes_every_finding_to_the_default_file(tmp_path: Path) -> None:
    root = make_ws(tmp_path / "ws")
    result = invoke("baseline", str(root))
    assert result.exit_code == 0, result.output
    path = root / DEFAULT_BASELINE
    assert f"wrote 3 findings of 3 checks to {path}" in result.stdout
    assert f"phasegate validate --baseline {path}" in result.stdout
    assert f'[new_code] baseline = "{DEFAULT_BASELINE}"' in result.stdout
    text = path.read_text(encoding="utf-8")
    assert text.startswith('{\n  "$schema"') and text.endswith("}\n")  # indented
    doc = json.loads(text)
    (run,) = doc["runs"]
    assert {r["message"]["text"] for r in run["results"]} == {
        "todo: keep me",
        "todo: fix me",
        "NOTES.md is missing",
    }
    assert all("baselineState" not in r for r in run["results"])
    # what differs between machines and runs is left out of a file meant to be committed
    assert "originalUriBaseIds" not in run and str(root) not in text
    for check in run["invocations"][0]["properties"]["checks"]:
        assert set(check) <= {"id", "phase", "status", "toolVersion", "inputsHash"}
        assert check["id"] and check["status"]
    baseline = load_baseline(path)
    assert baseline.total == 3
    assert {k: len(v) for k, v in baseline.entries.items()} == {
        ("implementation", "B-TODO"): 2,
        ("deployment", "B-DOCS"): 1,
    }
    assert all(e.context for e in baseline.entries["implementation", "B-TODO"])


def test_the_same_findings_write_the_same_file(tmp_path: Path) -> None:
    root = make_ws(tmp_path / "ws")
    first = record(root).read_bytes()
    assert record(root).read_bytes() == first  # from the result cache this time
    moved = tmp_path / "elsewhere"
    root.rename(moved)
    assert record(moved).read_bytes() == first  # and on another machine


def test_output_is_relative_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_ws(tmp_path / "ws")
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(tmp_path)
    result = invoke("baseline", "ws", "-o", "out/base.sarif")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "base.sarif").is_file()
    assert not (root / DEFAULT_BASELINE).exists()
    assert "to out/base.sarif" in result.stdout
    assert "phasegate validate --baseline out/base.sarif" in result.stdout


def test_the_configured_baseline_is_the_default_and_new_code_mode_is_off(tmp_path: Path) -> None:
    # [new_code] asks for new code against a file that does not exist yet: recording it
    # judges the whole code, never against itself
    config = CONFIG.replace(
        "integrity = false", 'integrity = false\nbaseline = "ci/baseline.sarif"'
    )
    root = make_ws(tmp_path / "ws", config)
    (root / "ci").mkdir()
    result = invoke("baseline", str(root))
    assert result.exit_code == 0, result.output
    doc = json.loads((root / "ci" / "baseline.sarif").read_text(encoding="utf-8"))
    assert len(doc["runs"][0]["results"]) == 3
    assert "newCode" not in doc["runs"][0]["properties"]
    assert "[new_code] baseline names this file" in result.stdout


def test_one_phase(tmp_path: Path) -> None:
    root = make_ws(tmp_path / "ws")
    result = invoke("baseline", str(root), "--phase", "deployment")
    assert result.exit_code == 0, result.output
    assert "wrote 1 findings of 2 checks" in result.stdout
    assert "only phase 'deployment' was recorded" in result.stdout


# -- refusing -----------------------------------------------------------------------------
def test_a_check_that_could_not_run_refuses_the_baseline(tmp_path: Path) -> None:
    config = CONFIG + '[[phases.checks]]\nid = "B-BROKEN"\n'
    root = make_ws(tmp_path / "ws", config)
    result = invoke("baseline", str(root))
    assert result.exit_code == 2
    assert "deployment/B-BROKEN: b-tool: not found" in result.stderr
    assert "--allow-unknown" in result.stderr and "Nothing was written" in result.stderr
    assert not (root / DEFAULT_BASELINE).exists()

    result = invoke("baseline", str(root), "--allow-unknown")
    assert result.exit_code == 0, result.output
    assert "warning" in result.stderr and "deployment/B-BROKEN" in result.stderr
    doc = json.loads((root / DEFAULT_BASELINE).read_text(encoding="utf-8"))
    assert doc["runs"][0]["invocations"][0]["executionSuccessful"] is False


def test_untrusted_skips_are_said_not_refused(tmp_path: Path) -> None:
    root = make_ws(tmp_path / "ws")
    result = invoke("baseline", str(root), "--untrusted")
    assert result.exit_code == 0, result.output
    assert "skipped as untrusted, recorded without findings: deployment/B-CODE" in result.stderr


def test_configuration_errors_exit_2(tmp_path: Path) -> None:
    root = make_ws(tmp_path / "ws", "thresholds = 'high'\n")
    result = invoke("baseline", str(root))
    assert result.exit_code == 2
    assert "configuration error" in result.stderr
    assert not (root / DEFAULT_BASELINE).exists()


def test_unknown_phase_exits_2(tmp_path: Path) -> None:
    root = make_ws(tmp_path / "ws")
    result = invoke("baseline", str(root), "--phase", "nope")
    assert result.exit_code == 2
    assert "unknown phase 'nope'" in result.stderr


def test_a_state_folder_that_is_a_link_exits_2(tmp_path: Path) -> None:
    root = make_ws(tmp_path / "ws")
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", root / ".phasegate")
    result = invoke("baseline", str(root))
    assert result.exit_code == 2
    assert not (root / DEFAULT_BASELINE).exists()


# -- judging new code against it (the engine) ---------------------------------------------
def test_a_new_finding_is_new_and_a_fixed_one_absent(tmp_path: Path) -> None:
    root = make_ws(tmp_path / "ws")
    baseline = record(root)
    text = SOURCE.replace("# TODO fix me", "# fixed") + "\n\ndef third():\n    pass  # TODO new\n"
    (root / "src" / "app.py").write_text(text, encoding="utf-8")
    gates = judge(root, baseline)
    assert states(gates) == {
        "todo: keep me": "unchanged",
        "todo: new": "new",
        "todo: fix me": "absent",
        "NOTES.md is missing": "unchanged",
    }
    impl, dep = gates
    (todo,) = impl.checks
    assert todo.new_code is not None
    assert (todo.new_code.new, todo.new_code.unchanged, todo.new_code.absent) == (1, 1, 1)
    (gone,) = todo.absent
    assert gone.range.start.line == 5  # where it was
    # the new warning holds its gate; inherited findings never block
    assert impl.held == ["B-TODO"] and not impl.passed
    assert dep.passed and dep.held == []


def test_a_moved_line_stays_unchanged(tmp_path: Path) -> None:
    root = make_ws(tmp_path / "ws")
    baseline = record(root)
    moved = '"""A module docstring."""\n\nimport os\n\n' + SOURCE.replace("return 1", "return 10")
    (root / "src" / "app.py").write_text(moved, encoding="utf-8")
    gates = judge(root, baseline)
    assert states(gates) == {
        "todo: keep me": "unchanged",
        "todo: fix me": "unchanged",
        "NOTES.md is missing": "unchanged",
    }
    assert all(g.passed and not g.held for g in gates)


def test_a_second_copy_of_a_recorded_finding_is_new(tmp_path: Path) -> None:
    root = make_ws(tmp_path / "ws")
    baseline = record(root)
    doubled = SOURCE + "\n\ndef again():\n    return 1  # TODO keep me\n"
    (root / "src" / "app.py").write_text(doubled, encoding="utf-8")
    (impl, _dep) = judge(root, baseline)
    got = sorted((f.range.start.line, f.baseline_state) for f in impl.checks[0].findings)
    # the copy on the recorded line pairs first; the one on another line is the new one
    assert got == [(1, "unchanged"), (5, "unchanged"), (9, "new")]


# -- judging new code against it (phasegate validate --baseline) --------------------------
def _validate_has_baseline() -> bool:
    from phasegate.commands import validate

    return any("--baseline" in getattr(p, "opts", []) for p in validate.command.params)


needs_validate_baseline = pytest.mark.skipif(
    not _validate_has_baseline(), reason="phasegate validate --baseline is not there yet"
)


def _changed(root: Path) -> Path:
    baseline = record(root)
    text = SOURCE.replace("# TODO fix me", "# fixed") + "\n\ndef third():\n    pass  # TODO new\n"
    (root / "src" / "app.py").write_text("# a line above\n" + text, encoding="utf-8")
    return baseline


@needs_validate_baseline
def test_validate_baseline_text(tmp_path: Path) -> None:
    root = make_ws(tmp_path / "ws")
    baseline = _changed(root)
    result = invoke("validate", str(root), "--baseline", str(baseline))
    assert result.exit_code == 1, result.output  # the new warning holds its gate
    assert f"baseline {DEFAULT_BASELINE}" in result.stdout
    assert "todo: new" in result.stdout


@needs_validate_baseline
def test_validate_baseline_json(tmp_path: Path) -> None:
    root = make_ws(tmp_path / "ws")
    baseline = _changed(root)
    result = invoke("validate", str(root), "--baseline", str(baseline), "--format", "json")
    assert result.exit_code == 1, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    summary = doc["new_code"]
    assert (summary["new"], summary["unchanged"], summary["absent"]) == (1, 2, 1)
    impl = next(p for p in doc["phases"] if p["name"] == "implementation")
    assert impl["held"] == ["B-TODO"]
    (todo,) = impl["checks"]
    assert [f["message"] for f in todo["absent"]] == ["todo: fix me"]


@needs_validate_baseline
def test_validate_baseline_sarif(tmp_path: Path) -> None:
    root = make_ws(tmp_path / "ws")
    baseline = _changed(root)
    result = invoke("validate", str(root), "--baseline", str(baseline), "--format", "sarif")
    assert result.exit_code == 1, result.output
    (run,) = json.loads(result.stdout)["runs"]
    got = {r["message"]["text"]: r["baselineState"] for r in run["results"]}
    assert got == {
        "todo: keep me": "unchanged",
        "todo: new": "new",
        "todo: fix me": "absent",
        "NOTES.md is missing": "unchanged",
    }
    assert run["properties"]["newCode"] == f"baseline {DEFAULT_BASELINE}"
    assert run["properties"]["newCodeCounts"] == {"new": 1, "unchanged": 2, "absent": 1}


class Slow(Check):
    """Timed out after finding one thing: its findings are incomplete."""

    id = "B-SLOW"

    def run(self, ctx: CheckContext) -> CheckOutcome:
        return CheckOutcome(score=0.0, findings=[ctx.finding("src/app.py", "slow", line=0)])


def test_a_timed_out_check_refuses_the_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phasegate.model import CheckResult, Evidence
    from phasegate.runner import GateRunner as Runner

    monkeypatch.setitem(registered_checks(), Slow.id, Slow)
    original = Runner.run_check

    def timed_out(self: Runner, rc: Any) -> CheckResult:
        result = original(self, rc)
        if result.id == Slow.id:
            result.evidence = Evidence(rule="slow-tool", timed_out=True)
        return result

    monkeypatch.setattr(Runner, "run_check", timed_out)
    root = make_ws(tmp_path / "ws", CONFIG + '[[phases.checks]]\nid = "B-SLOW"\n')
    result = invoke("baseline", str(root))
    assert result.exit_code == 2
    assert "deployment/B-SLOW: timed out" in result.stderr
    assert not (root / DEFAULT_BASELINE).exists()
