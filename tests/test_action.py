"""The GitHub Action (``action.yml``) and its step script (``scripts/action/run.py``).

The script runs here as the action runs it, with ``GITHUB_STEP_SUMMARY`` and
``GITHUB_OUTPUT`` pointing at temporary files, on a copy of the example workspace; the
action's metadata is read with PyYAML to check how inputs, steps and outputs are wired.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"
SCRIPT = ROOT / "scripts" / "action" / "run.py"
EXAMPLE = ROOT / "examples" / "taskboard"
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


# -- action.yml -------------------------------------------------------------------------
def _action() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    return data


def _steps() -> dict[str, dict[str, Any]]:
    return {step["name"]: step for step in _action()["runs"]["steps"]}


def test_action_inputs_and_outputs() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    assert {
        "phases",
        "since",
        "baseline",
        "sarif",
        "fail-on",
        "python-version",
        "working-directory",
    } <= set(inputs)
    assert inputs["fail-on"]["default"] == "gate"
    assert inputs["sarif"]["default"] == "false"
    assert inputs["working-directory"]["default"] == "."
    assert all(not spec.get("required", False) for spec in inputs.values())
    assert all(spec.get("description") for spec in inputs.values())
    outputs = action["outputs"]
    assert outputs["passed"]["value"] == "${{ steps.validate.outputs.passed }}"
    assert outputs["sarif-file"]["value"] == "${{ steps.validate.outputs.sarif-file }}"


def test_action_steps_wiring() -> None:
    steps = _steps()
    names = list(steps)
    assert names == [
        "Set up Python for phasegate",
        "Install phasegate",
        "Run the gates",
        "Upload to code scanning",
    ]
    setup = steps["Set up Python for phasegate"]
    assert setup["uses"].startswith("actions/setup-python@")
    assert setup["with"]["python-version"] == "${{ inputs.python-version }}"
    install = steps["Install phasegate"]
    # phasegate installed from the action's own checkout, with the Python set up above
    assert '"${{ github.action_path }}"' in install["run"]
    assert "pip install" in install["run"]
    assert install["env"]["PHASEGATE_PYTHON"] == "${{ steps.python.outputs.python-path }}"
    run = steps["Run the gates"]
    assert run["id"] == "validate"
    assert run["working-directory"] == "${{ inputs.working-directory }}"
    assert "scripts/action/run.py" in run["run"]
    env = run["env"]
    for name, var in {
        "phases": "PHASEGATE_PHASES",
        "since": "PHASEGATE_SINCE",
        "baseline": "PHASEGATE_BASELINE",
        "fail-on": "PHASEGATE_FAIL_ON",
        "args": "PHASEGATE_ARGS",
    }.items():
        assert env[var] == "${{ inputs." + name + " }}"
    assert (SCRIPT.parent / "run.py").is_file()
    upload = steps["Upload to code scanning"]
    assert upload["uses"] == "github/codeql-action/upload-sarif@v3"
    condition = upload["if"]
    assert "always()" in condition  # also after a failed gate
    assert "inputs.sarif == 'true'" in condition
    assert upload["with"]["sarif_file"] == "${{ steps.validate.outputs.sarif-file }}"
    assert upload["with"]["category"] == "phasegate"
    # no input is pasted into a shell script (script injection): only through env
    for step in steps.values():
        assert "inputs." not in step.get("run", ""), step["name"]
        if "run" in step:
            assert step["shell"] == "bash"


# -- the step script ----------------------------------------------------------------------
def _git_env(tmp: Path) -> dict[str, str]:
    gitconfig = tmp / "gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = t\n\temail = t@example.invalid\n[commit]\n\tgpgsign = false\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GITHUB_"))}
    env.update({"GIT_CONFIG_GLOBAL": str(gitconfig), "GIT_CONFIG_NOSYSTEM": "1"})
    return env


class Step:
    """One run of the script: its exit status, summary, outputs and SARIF log."""

    def __init__(self, tmp: Path, cwd: Path, **inputs: str) -> None:
        tmp.mkdir(parents=True, exist_ok=True)
        self.summary_file = tmp / "summary.md"
        self.output_file = tmp / "output.txt"
        env = _git_env(tmp)
        env.update(
            {
                "GITHUB_STEP_SUMMARY": str(self.summary_file),
                "GITHUB_OUTPUT": str(self.output_file),
                "RUNNER_TEMP": str(tmp / "runner-temp"),
            }
        )
        env.update(inputs)
        self.proc = subprocess.run(
            [sys.executable, str(SCRIPT)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    @property
    def code(self) -> int:
        return self.proc.returncode

    @property
    def summary(self) -> str:
        return self.summary_file.read_text(encoding="utf-8")

    @property
    def outputs(self) -> dict[str, str]:
        lines = self.output_file.read_text(encoding="utf-8").splitlines()
        return dict(line.split("=", 1) for line in lines)

    def sarif(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(Path(self.outputs["sarif-file"]).read_text("utf-8"))
        return data

    def __repr__(self) -> str:
        return f"exit {self.code}\n{self.proc.stdout}\n{self.proc.stderr}"


@pytest.fixture
def taskboard(tmp_path: Path) -> Path:
    ws = tmp_path / "taskboard"
    shutil.copytree(
        EXAMPLE, ws, ignore=shutil.ignore_patterns(".phasegate", "__pycache__", ".venv")
    )
    return ws


def _table(summary: str) -> list[list[str]]:
    rows = [line for line in summary.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]


def _assert_sarif_valid(log: dict[str, Any]) -> None:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = list(validator.iter_errors(log))
    assert not errors, [e.message for e in errors[:5]]
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:  # every rule index points at the result's rule
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    for note in run["invocations"][0]["toolExecutionNotifications"]:
        assoc = note["associatedRule"]
        assert rules[assoc["index"]]["id"] == assoc["id"]


def test_step_on_the_example_workspace(taskboard: Path, tmp_path: Path) -> None:
    step = Step(tmp_path / "step", taskboard)
    assert step.code == 1, step  # fail-on: gate (default), and gates fail
    outputs = step.outputs
    assert outputs["passed"] == "false"
    assert outputs["exit-code"] == "1"
    sarif_file = Path(outputs["sarif-file"])
    assert sarif_file == (tmp_path / "step" / "runner-temp" / "phasegate.sarif").resolve()
    log = step.sarif()
    _assert_sarif_valid(log)
    summary = step.summary
    assert summary.startswith("## ❌ phasegate: 2 of 5 gates passed\n")
    table = _table(summary)
    assert table[0] == ["Phase", "Status", "Score", "Threshold", "Failed checks"]
    rows = {row[0]: row for row in table[2:]}
    assert list(rows) == ["requirements", "design", "implementation", "testing", "deployment"]
    assert rows["implementation"][1:] == ["❌ failed", "0.77", "0.90", "IMPL-STUB, IMPL-LINT"]
    assert rows["requirements"][1] == "✅ passed"
    assert "TEST-PYTEST (blocking)" in rows["testing"][4]
    assert rows["deployment"][4] == "DEP-CI, DEP-CHANGELOG"
    gates = log["runs"][0]["properties"]["gates"]
    for gate in gates:  # the table says what the SARIF log says
        row = rows[gate["phase"]]
        assert row[2] == f"{gate['score']:.2f}" and row[3] == f"{gate['threshold']:.2f}"
    # the first findings, their markup escaped
    assert "<details><summary>Findings (" in summary
    assert "- `taskboard/service.py:65` **IMPL-STUB** `reopen_task` is a stub" in summary
    assert "::error title=phasegate::gates failed: implementation, testing, deployment" in (
        step.proc.stdout
    )

    never = Step(tmp_path / "never", taskboard, PHASEGATE_FAIL_ON="never")
    assert never.code == 0, never
    assert never.outputs["passed"] == "false"
    assert "::warning title=phasegate::gates failed" in never.proc.stdout


def test_step_several_phases_one_sarif_run(taskboard: Path, tmp_path: Path) -> None:
    step = Step(
        tmp_path / "step",
        taskboard,
        PHASEGATE_PHASES="requirements, design implementation",
        PHASEGATE_SARIF_FILE=str(tmp_path / "out" / "gates.sarif"),
    )
    assert step.code == 1, step
    assert step.outputs["sarif-file"] == str((tmp_path / "out" / "gates.sarif").resolve())
    log = step.sarif()
    assert len(log["runs"]) == 1  # one run per tool and category for code scanning
    _assert_sarif_valid(log)
    run = log["runs"][0]
    assert [g["phase"] for g in run["properties"]["gates"]] == [
        "requirements",
        "design",
        "implementation",
    ]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    assert {"REQ-IDS", "DES-TRACE", "IMPL-LINT"} <= set(rule_ids)
    checks = run["invocations"][0]["properties"]["checks"]
    assert {c["phase"] for c in checks} == {"requirements", "design", "implementation"}
    rows = {row[0]: row for row in _table(step.summary)[2:]}
    assert list(rows) == ["requirements", "design", "implementation"]
    assert step.summary.startswith("## ❌ phasegate: 2 of 3 gates passed")

    passing = Step(tmp_path / "passing", taskboard, PHASEGATE_PHASES="requirements,design")
    assert passing.code == 0, passing
    assert passing.outputs == {
        "passed": "true",
        "sarif-file": passing.outputs["sarif-file"],
        "exit-code": "0",
    }
    assert passing.summary.startswith("## ✅ phasegate: 2 of 2 gates passed")


def test_step_new_code_in_a_sub_folder(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    ws = repo / "apps" / "taskboard"
    shutil.copytree(EXAMPLE, ws, ignore=shutil.ignore_patterns(".phasegate", "__pycache__"))
    env = _git_env(tmp_path)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, timeout=60)
    service = ws / "taskboard" / "service.py"
    service.write_text(
        service.read_text(encoding="utf-8")
        + "\n\ndef archive_task(repo, task_id):\n    raise NotImplementedError\n",
        encoding="utf-8",
    )
    step = Step(
        tmp_path / "step",
        ws,
        PHASEGATE_PHASES="implementation",
        PHASEGATE_SINCE="HEAD",
        GITHUB_WORKSPACE=str(repo),
    )
    assert step.code == 1, step
    table = _table(step.summary)
    assert table[0] == [
        "Phase",
        "Status",
        "Score",
        "Threshold",
        "New",
        "Unchanged",
        "Failed checks",
    ]
    (impl,) = table[2:]
    assert impl[0] == "implementation" and impl[1] == "❌ failed"
    assert impl[4:6] == ["1", "3"]  # the new stub; the old stub and two ruff findings
    assert "IMPL-STUB (new findings)" in impl[6]
    assert re.search(r"New code since HEAD \([0-9a-f]+\): 1 new, 3 unchanged", step.summary)
    # the new finding is listed first
    findings = [line for line in step.summary.splitlines() if line.startswith("- `")]
    assert findings[0].endswith("(new)") and "archive_task" in findings[0]
    log = step.sarif()
    _assert_sarif_valid(log)
    run = log["runs"][0]
    # paths from the repository's top, where code scanning resolves them
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.resolve().as_uri() + "/"
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    }
    assert "apps/taskboard/taskboard/service.py" in uris
    assert all(u.startswith("apps/taskboard/") for u in uris)
    new = [r for r in run["results"] if r.get("baselineState") == "new"]
    assert [r["ruleId"] for r in new] == ["IMPL-STUB"]


def test_step_below_the_project_root(tmp_path: Path) -> None:
    """A working directory inside the project (below its phasegate.toml): validate judges
    the project, and the SARIF paths are still from the repository's top."""
    repo = tmp_path / "repo"
    ws = repo / "apps" / "taskboard"
    shutil.copytree(EXAMPLE, ws, ignore=shutil.ignore_patterns(".phasegate", "__pycache__"))
    env = _git_env(tmp_path)
    subprocess.run(["git", "init", "-q"], cwd=repo, env=env, check=True, timeout=60)
    step = Step(
        tmp_path / "step",
        ws / "taskboard",
        PHASEGATE_PHASES="implementation",
        GITHUB_WORKSPACE=str(repo),
    )
    assert step.code in (0, 1), step
    assert f"phasegate: workspace {ws.resolve()} (found phasegate.toml)" in step.proc.stderr
    run = step.sarif()["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.resolve().as_uri() + "/"
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    }
    assert "apps/taskboard/taskboard/service.py" in uris, uris
    assert all(u.startswith("apps/taskboard/") for u in uris), uris
    assert not any(u.startswith("apps/taskboard/taskboard/taskboard/") for u in uris)
    assert not (ws / "taskboard" / ".phasegate").exists()


def test_step_errors(taskboard: Path, tmp_path: Path) -> None:
    unknown = Step(tmp_path / "unknown", taskboard, PHASEGATE_PHASES="nope")
    assert unknown.code == 2, unknown
    assert unknown.outputs == {"passed": "false", "sarif-file": "", "exit-code": "2"}
    assert unknown.summary.startswith("## ❌ phasegate could not validate")
    assert "unknown phase 'nope'" in unknown.summary
    # a configuration error fails the step even with fail-on: never
    never = Step(tmp_path / "never", taskboard, PHASEGATE_PHASES="nope", PHASEGATE_FAIL_ON="never")
    assert never.code == 2
    bad = Step(tmp_path / "bad", taskboard, PHASEGATE_FAIL_ON="sometimes")
    assert bad.code == 2
    assert "fail-on must be one of gate, never" in bad.summary
    no_ref = Step(tmp_path / "no-ref", taskboard, PHASEGATE_SINCE="origin/main")
    assert no_ref.code == 2  # not a git repository: new code cannot be judged
    assert "git" in no_ref.summary


def test_summary_escapes_markdown() -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import run as step  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(SCRIPT.parent))
    assert step._md("a | b __init__ <b>x</b> `x_y` [l](u)") == (
        "a \\| b \\_\\_init\\_\\_ &lt;b&gt;x&lt;/b&gt; `x_y` \\[l\\](u)"
    )
    assert step.phases_of(" a, b  c,,") == ["a", "b", "c"]
