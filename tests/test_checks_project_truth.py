"""Checks judged as the project defines them, and verdicts that say what is unknown.

Regression tests for patterns found on real repositories:

* lint with ruff's newest default rules on a project that never chose them (UP006, I001,
  B008… where the project's own ruff reports nothing);
* a ``ruff.toml`` with ``fix = true`` made validation edit the workspace;
* pre-commit hook ``args`` ignored, and fixing/redirecting ``args`` reaching ruff;
* valid Python 3.12+ syntax reported as a blocking syntax error by phasegate's Python;
* a TypeScript repository failing the Python checks ("no source files");
* a timed-out or missing test run counted as a failure with no reason.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from phasegate.checks.implementation import ruff_project
from phasegate.checks.implementation.ruff_project import (
    CLASSIC_RULES,
    bundled_ruff,
    read_ruff_config,
    ruff_version,
    safe_args,
)
from phasegate.checks.implementation.syntax import target_version
from phasegate.cli import cli
from phasegate.config import CheckConfig, Config, PhaseConfig
from phasegate.model import CheckResult
from phasegate.runner import GateRunner, score_gate
from phasegate.workspace import Workspace

BUNDLED = ruff_version(bundled_ruff() or "") or "?"


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


def run(root: Path, check_id: str, *, trusted: bool = True, **options: Any) -> CheckResult:
    cc = CheckConfig(id=check_id, options=dict(options))
    cfg = Config(phases=[PhaseConfig(name="p", checks=[cc])])
    runner = GateRunner(Workspace(root), cfg, trusted=trusted)
    return runner.run_check(runner.checks("p")[0])


def codes(res: CheckResult) -> list[str]:
    return sorted(f.message.split(" ", 1)[0] for f in res.findings)


MODERN_BUT_FINE = """\
import sys
from typing import List, Optional


def greet(names: List[str], suffix: Optional[str] = None) -> str:
    return ", ".join(names) + (suffix or "")


print(greet(sys.argv))
"""


# -- lint: rules as the project chose them ---------------------------------------------


def test_no_ruff_configuration_lints_with_the_classic_rules_only(tmp_path: Path) -> None:
    # ruff's newest defaults flag UP006/UP045/I001 here; the project chose no rules
    write(tmp_path, {"app.py": "import os\n" + MODERN_BUT_FINE})
    res = run(tmp_path, "IMPL-LINT")
    assert codes(res) == ["F401"]  # the unused import, nothing else
    (f,) = res.findings
    assert f.message.endswith(f"[ruff {BUNDLED}, rules E4,E7,E9,F]")


def test_a_configuration_without_select_keeps_the_classic_base(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": (
                '[tool.ruff]\nline-length = 88\n[tool.ruff.lint]\nextend-select = ["B"]\n'
                'ignore = ["F401"]\n'
            ),
            "app.py": "import os\n" + MODERN_BUT_FINE + "def f(x=[]):\n    return x\n",
        },
    )
    res = run(tmp_path, "IMPL-LINT")
    # extend-select on top of E4,E7,E9,F, less the ignored F401; no UP, no I
    assert codes(res) == ["B006"]
    assert res.findings[0].message.endswith(f"[ruff {BUNDLED}, pyproject.toml, rules E4,E7,E9,F]")


def test_a_configuration_that_selects_is_used_as_it_is(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"ruff.toml": '[lint]\nselect = ["UP006"]\n', "app.py": MODERN_BUT_FINE},
    )
    res = run(tmp_path, "IMPL-LINT")
    assert codes(res) == ["UP006"]
    assert res.findings[0].message.endswith(f"[ruff {BUNDLED}, ruff.toml]")


def test_fix_true_in_the_configuration_never_edits_the_workspace(tmp_path: Path) -> None:
    write(tmp_path, {"ruff.toml": "fix = true\n", "app.py": "import os\n"})
    res = run(tmp_path, "IMPL-LINT")
    assert (tmp_path / "app.py").read_text() == "import os\n"
    assert codes(res) == ["F401"]


PRE_COMMIT = """\
repos:
  - repo: https://github.com/astral-sh/ruff-pre-commit
    rev: v{version}
    hooks:
      - id: ruff
        args: [--fix, --exit-non-zero-on-fix, --select, "E,F,B", --output-file, /tmp/x]
      - id: ruff-format
"""


FLAKE8_PROJECT = {
    # more-itertools 10.5.0 lints with flake8 and this section; ruff's classic rules
    # flagged 74 E731/E741 findings and docs/conf.py, all of which it had opted out of
    "setup.cfg": "[metadata]\nname = pkg\n\n[flake8]\nexclude = ./docs/conf.py, .eggs/\n"
    "ignore = E203, E731, E741, F999, W503  # what the project does not want\n"
    "per-file-ignores =\n    pkg/__init__.py: F401\n    pkg/compat.py:E402,F811\n",
    "pkg/__init__.py": "from pkg.a import f\n",
    "pkg/a.py": "import sys\n\nf = lambda: 1\nl = 1\n",
    "pkg/compat.py": "x = 1\nimport os\n\nprint(os)\n",
    "pkg/__init__.pyi": "from pkg.a import *\n",
    "docs/conf.py": "import os, sys\n",
}


def test_a_flake8_configuration_takes_away_what_it_leaves_out(tmp_path: Path) -> None:
    ws = write(tmp_path / "ws", FLAKE8_PROJECT)
    res = run(ws, "IMPL-LINT")
    assert res.error is None
    assert [(f.path, f.message.split()[0]) for f in res.findings] == [("pkg/a.py", "F401")]
    assert "less what setup.cfg [flake8] leaves out" in res.findings[0].message
    # flake8 reads the first of setup.cfg, tox.ini, .flake8 that has the section
    (ws / "setup.cfg").write_text("[metadata]\nname = pkg\n")
    (ws / "tox.ini").write_text("[tox]\n\n[flake8]\nextend-ignore = E731\nfilename = *.py,*.pyi\n")
    found = {(f.path, f.message.split()[0]) for f in run(ws, "IMPL-LINT").findings}
    assert ("pkg/a.py", "E731") not in found and ("pkg/a.py", "E741") in found
    assert ("pkg/__init__.pyi", "F403") in found and ("docs/conf.py", "E401") in found
    # a select narrows the classic rules: only pycodestyle's here
    (ws / ".flake8").write_text("[flake8]\nselect = E\n")
    (ws / "tox.ini").unlink()
    found = {f.message.split()[0] for f in run(ws, "IMPL-LINT").findings}
    assert found and all(code.startswith("E") for code in found)
    # Flake8-pyproject's [tool.flake8], where flake8's own files have no section
    (ws / ".flake8").unlink()
    (ws / "pyproject.toml").write_text(
        '[tool.flake8]\nextend-ignore = ["E731", "E741"]\nexclude = ["docs/conf.py"]\n'
        'per-file-ignores = ["pkg/__init__.py:F401", "pkg/compat.py:E402,F811"]\n'
    )
    found = {(f.path, f.message.split()[0]) for f in run(ws, "IMPL-LINT").findings}
    assert found == {("pkg/a.py", "F401")}
    # a ruff configuration is the project's lint: flake8's section is not read
    (ws / "ruff.toml").write_text("[lint]\n")
    found = {f.message.split()[0] for f in run(ws, "IMPL-LINT").findings}
    assert "F401" in found


def test_flake8_codes_this_ruff_does_not_know_are_left_out() -> None:
    cfg = ruff_project.RuffConfig(
        flake8=ruff_project.Flake8Config(
            file="setup.cfg",
            ignore=["E203", "E731", "W503", "F999", "E7", "B950"],
            per_file=[("pkg/__init__.py", ["F401", "D104"])],
            exclude=["docs/conf.py"],
        )
    )
    known = frozenset({"E402", "E731", "E741", "F401", "F811", "W605"})
    assert ruff_project.rule_args(cfg, known) == [
        "--select", "E4,E7,E9,F", "--ignore", "E731,E7",
        "--per-file-ignores=pkg/__init__.py:F401",
        "--extend-exclude=docs/conf.py", "--extend-exclude=*.pyi",
    ]  # fmt: skip
    # ruff cannot list its rules: the classic codes only
    assert ruff_project.rule_args(cfg, None)[:4] == [
        "--select",
        "E4,E7,E9,F",
        "--ignore",
        "E731,E7",
    ]
    # a select narrows, never widens: "E" keeps E4,E7,E9 (not all of pycodestyle's E)
    narrowing = ruff_project.Flake8Config(file="tox.ini [flake8]", select=["E", "F40", "W"])
    args = ruff_project.rule_args(ruff_project.RuffConfig(flake8=narrowing), known)
    assert args[:2] == ["--select", "E4,E7,E9,F40"]
    parsed = ruff_project._per_file_ignores("a.py, b/c.py: F401 E402\n  d.py:F811")
    assert parsed == [("a.py", ["F401", "E402"]), ("b/c.py", ["F401", "E402"]), ("d.py", ["F811"])]


def test_pre_commit_hook_args_apply_without_fixing_or_redirecting(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            ".pre-commit-config.yaml": PRE_COMMIT.format(version=BUNDLED),
            "app.py": "import os\n\n\ndef f(x=[]):\n    return x\n",
        },
    )
    cfg = read_ruff_config(tmp_path)
    assert cfg.pre_commit_args == ["--select", "E,F,B"]
    assert set(cfg.dropped_args) == {"--fix", "--exit-non-zero-on-fix", "--output-file", "/tmp/x"}
    assert cfg.pinned == BUNDLED and cfg.selects
    res = run(tmp_path, "IMPL-LINT")
    assert codes(res) == ["B006", "F401"]
    assert res.findings[0].message.endswith(f"[ruff {BUNDLED}, pre-commit args]")
    assert (tmp_path / "app.py").read_text().startswith("import os")


@pytest.mark.parametrize(
    "args",
    [
        ["--fix"],
        ["--output-file", "/tmp/elsewhere"],
        ["--unsafe-fixes"],
        ["--config", "fix = true"],
        ["--config", "output-file = '/tmp/x'"],
        ["somefile.py"],
        ["--watch"],
    ],
)
def test_lint_args_that_fix_write_or_redirect_are_refused(tmp_path: Path, args: list[str]) -> None:
    write(
        tmp_path,
        {
            "phasegate.toml": (
                '[[phases]]\nname = "implementation"\n[[phases.checks]]\nid = "IMPL-LINT"\n'
                f"options = {{ args = {json.dumps(args)} }}\n"
            ),
            "app.py": "import os\n",
        },
    )
    result = CliRunner().invoke(cli, ["validate", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 2
    assert "not allowed in lint args" in result.stderr
    assert (tmp_path / "app.py").read_text() == "import os\n"


def test_safe_args_keeps_selection_and_settings(tmp_path: Path) -> None:
    (tmp_path / "lint.toml").write_text("")
    kept, dropped = safe_args(
        ["--select=E,F", "--line-length", "100", "--preview", "--config", "lint.toml"],
        tmp_path,
    )
    assert kept == [
        *["--select", "E,F", "--line-length", "100", "--preview", "--config", "lint.toml"]
    ]
    assert dropped == []
    kept, dropped = safe_args(["--config", "/etc/passwd", "--config", "../x.toml"], tmp_path)
    assert kept == [] and dropped == ["--config", "/etc/passwd", "--config", "../x.toml"]


def test_lint_args_are_ignored_in_an_untrusted_workspace(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": "def f(x=[]):\n    return x\n"})
    assert codes(run(tmp_path, "IMPL-LINT", args=["--select", "B"])) == ["B006"]
    assert codes(run(tmp_path, "IMPL-LINT", trusted=False, args=["--select", "B"])) == []


def test_pins_are_read_from_pre_commit_and_dev_dependencies(tmp_path: Path) -> None:
    write(tmp_path, {".pre-commit-config.yaml": PRE_COMMIT.format(version="0.4.3")})
    assert read_ruff_config(tmp_path).pinned == "0.4.3"
    (tmp_path / ".pre-commit-config.yaml").unlink()
    write(
        tmp_path,
        {"pyproject.toml": '[project]\nname = "x"\n[dependency-groups]\ndev = ["ruff==0.5.7"]\n'},
    )
    cfg = read_ruff_config(tmp_path)
    assert (cfg.pinned, cfg.pinned_in) == ("0.5.7", "pyproject.toml")
    write(
        tmp_path,
        {
            "pyproject.toml": '[tool.poetry.group.dev.dependencies]\nruff = "0.3.0"\n',
        },
    )
    assert read_ruff_config(tmp_path).pinned == "0.3.0"
    (tmp_path / "pyproject.toml").unlink()
    write(tmp_path, {"requirements-dev.txt": "pytest\nruff==0.1.15  # lint\n"})
    cfg = read_ruff_config(tmp_path)
    assert (cfg.pinned, cfg.pinned_in) == ("0.1.15", "requirements-dev.txt")


def test_a_pinned_ruff_is_not_installed_in_an_untrusted_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_a: object, **_k: object) -> tuple[None, str]:
        raise AssertionError("must not install")

    monkeypatch.setattr(ruff_project, "install_pinned_ruff", refuse)
    write(
        tmp_path,
        {".pre-commit-config.yaml": PRE_COMMIT.format(version="0.4.3"), "app.py": "import os\n"},
    )
    res = run(tmp_path, "IMPL-LINT", trusted=False)
    assert codes(res) == ["F401"]


def test_the_pinned_ruff_judges_a_trusted_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installs ruff 0.4.3 from the package index into a tool cache and lints with it: a
    rule ruff 0.4.3 did not have yet is not reported."""
    monkeypatch.setenv("PHASEGATE_TOOLS_DIR", str(tmp_path / "tools"))
    monkeypatch.delenv("PHASEGATE_NO_TOOL_INSTALL", raising=False)
    ws = write(
        tmp_path / "ws",
        {
            ".pre-commit-config.yaml": PRE_COMMIT.format(version="0.4.3").replace(
                '"E,F,B"', '"F,UP"'
            ),
            # UP045 (X | None for Optional) arrived after 0.4.3; F401 is old
            "app.py": "import os\nfrom typing import Optional\n\n\n"
            "def f(x: Optional[int]) -> None:\n    return None\n",
            "pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.10"\n',
        },
    )
    binary, problem = ruff_project.install_pinned_ruff("0.4.3")
    if binary is None:
        pytest.skip(f"the package index is not reachable: {problem}")
    res = run(ws, "IMPL-LINT")
    assert res.error is None, res.error
    assert all(
        m.endswith("[ruff 0.4.3, pre-commit args]") for m in (f.message for f in res.findings)
    )
    found = codes(res)
    assert "F401" in found and "UP045" not in found
    newer = run(ws, "IMPL-LINT", trusted=False)  # bundled ruff, same args
    assert "UP045" in codes(newer) or BUNDLED == "0.4.3"


# -- syntax: as the project's Python parses it ------------------------------------------

PEP701 = 'songs = {"a": 1}\nprint(f"{songs["a"]}")\n'


def test_valid_newer_syntax_is_not_a_syntax_error(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.13"\n',
            "app.py": PEP701,
            "types_.py": "type Pair[T] = tuple[T, T]\n",
        },
    )
    res = run(tmp_path, "IMPL-SYNTAX")
    assert res.findings == [] and res.passed
    assert target_version(Workspace(tmp_path)) == "py313"


def test_real_syntax_errors_are_still_reported(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.13"\n',
            "bad.py": "def broken(:\n    pass\n",
        },
    )
    res = run(tmp_path, "IMPL-SYNTAX")
    (f,) = res.findings
    assert (f.path, f.range.start.line) == ("bad.py", 0)
    if sys.version_info < (3, 13):
        assert "also rejected by ruff" in f.message and "Python 3.13" in f.message
    assert not res.passed


# -- not applicable where there is no Python ----------------------------------------------


def test_python_checks_are_not_applicable_in_a_typescript_repository(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "package.json": '{"name": "app", "version": "1.0.0"}\n',
            "src/index.ts": "export const x: number = 1;\n",
            "src/util.ts": "export function f(): void {}\n",
            "src/index.test.ts": "import { x } from './index';\n",
        },
    )
    python_checks = ("IMPL-SYNTAX", "IMPL-STUB", "IMPL-LINT", "TEST-PYTEST")
    for check_id in (*python_checks, "TEST-COVERAGE"):
        res = run(tmp_path, check_id)
        assert res.status == "not_applicable", (check_id, res)
        assert res.findings == [] and res.passed
        assert res.not_applicable is not None and "TypeScript (3 files)" in res.not_applicable
    # its tests are TypeScript tests: they exist (pytest cannot judge them: not applicable)
    assert run(tmp_path, "TEST-EXISTS").status == "passed"
    result = CliRunner().invoke(
        cli, ["validate", str(tmp_path), "--phase", "implementation", "--format", "json"]
    )
    (phase,) = json.loads(result.stdout)["phases"]
    assert phase["status"] == "passed" and phase["not_applicable"] is True
    by_id = {c["id"]: c for c in phase["checks"]}
    assert by_id["IMPL-SYNTAX"]["status"] == "not_applicable"
    assert "TypeScript" in by_id["IMPL-SYNTAX"]["reason"]
    text = CliRunner().invoke(cli, ["validate", str(tmp_path), "--phase", "implementation"])
    assert "IMPL-SYNTAX: not applicable: no Python source files" in text.stdout


def test_an_empty_workspace_still_fails_syntax(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# nothing yet\n")
    res = run(tmp_path, "IMPL-SYNTAX")
    assert res.status == "failed" and res.findings


# -- unknown: could not run is never a pass ---------------------------------------------


def _result(id: str, **kw: Any) -> CheckResult:
    base: dict[str, Any] = {"passed": True, "score": 1.0, "weight": 1.0}
    base.update(kw)
    return CheckResult(id=id, **base)


def test_a_blocking_check_that_could_not_run_fails_the_gate() -> None:
    gate = score_gate(
        "testing",
        [
            _result("A"),
            _result("T", passed=False, score=0.0, blocking=True, error="timed out"),
        ],
        0.5,
    )
    assert not gate.passed and gate.blocking_failed == ["T"]
    assert [c.id for c in gate.unknown] == ["T"] and gate.score == 1.0


def test_an_unknown_non_blocking_check_is_left_out_not_counted_as_a_pass() -> None:
    ok = _result("A", score=0.5, weight=1.0)
    unknown = _result("L", passed=False, score=0.0, weight=3.0, error="ruff not found")
    gate = score_gate("implementation", [ok, unknown], 0.5)
    assert gate.score == 0.5  # not (0.5 + 3 * 1.0) / 4
    assert gate.passed and [c.id for c in gate.unknown] == ["L"]
    assert score_gate("x", [unknown], 0.1).passed is False  # nothing ran: not evaluated


def test_a_gate_whose_checks_are_all_not_applicable_passes_as_such() -> None:
    na = _result("S", not_applicable="no Python", blocking=True)
    gate = score_gate("implementation", [na], 0.85)
    assert gate.passed and gate.not_applicable and gate.failed_checks == []


def test_missing_test_interpreter_is_unknown_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        tmp_path,
        {
            "phasegate.toml": 'interpreter = "no-such-python-here"\n',
            "app.py": "X = 1\n",
            "tests/test_app.py": "def test_x():\n    assert True\n",
        },
    )
    result = CliRunner().invoke(
        cli, ["validate", str(tmp_path), "--phase", "testing", "--format", "json"]
    )
    (phase,) = json.loads(result.stdout)["phases"]
    by_id = {c["id"]: c for c in phase["checks"]}
    pytest_check = by_id["TEST-PYTEST"]
    assert pytest_check["status"] == "error" and pytest_check["passed"] is False
    assert "no-such-python-here" in pytest_check["reason"]
    assert pytest_check["findings"] == []
    assert "TEST-PYTEST" in phase["unknown"] and phase["status"] == "failed"
    sarif = CliRunner().invoke(
        cli, ["validate", str(tmp_path), "--phase", "testing", "--format", "sarif"]
    )
    notes = json.loads(sarif.stdout)["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert any(
        n["descriptor"]["id"] == "TEST-PYTEST" and "could not run" in n["message"]["text"]
        for n in notes
    )


def test_classic_rules_constant_matches_the_docs() -> None:
    assert CLASSIC_RULES == ("E4", "E7", "E9", "F")


MATCH = "def f(x):\n    match x:\n        case _:\n            return 1\n"


def test_lint_leaves_parse_errors_to_the_syntax_check(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.8"\n',
            "broken.py": "def f(:\n    pass\n",
            # syntax this project's oldest Python lacks: a real finding in a module…
            "app.py": MATCH,
            # …but not in a test the project runs only where the syntax exists
            "tests/test_match.py": MATCH,
        },
    )
    res = run(tmp_path, "IMPL-LINT")
    assert [(f.path, "syntax was added in" in f.message) for f in res.findings] == [
        ("app.py", True)
    ]


def test_a_pinned_ruff_that_cannot_read_the_configuration_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin" / "ruff"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'ruff failed: Unknown rule selector: TC' >&2\nexit 2\n")
    fake.chmod(0o755)
    from phasegate.checks.implementation import lint as lint_mod

    pinned = ruff_project.RuffBinary(str(fake), "0.3.4", "pinned in .pre-commit-config.yaml")
    monkeypatch.setattr(lint_mod, "choose_ruff", lambda *a, **k: pinned if k["install"] else
                        ruff_project.choose_ruff(*a, **k))  # fmt: skip
    ws = write(tmp_path / "ws", {"app.py": "import os\n"})
    res = run(ws, "IMPL-LINT")
    assert res.error is None and codes(res) == ["F401"]
    assert "ruff 0.3.4 of pinned in .pre-commit-config.yaml failed" in res.findings[0].message


def test_a_suite_missing_its_test_dependencies_is_unknown_not_failed(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pkg/__init__.py": "X = 1\n",
            "tests/test_a.py": "import no_such_dependency_here\n\n\ndef test_a():\n    pass\n",
            "tests/test_b.py": "def test_b():\n    assert True\n",
        },
    )
    res = run(tmp_path, "TEST-PYTEST")
    if res.error is not None and "pytest is not installed" in res.error:
        pytest.skip(res.error)
    assert res.status == "error" and res.findings == []
    assert res.error is not None and "lacks no_such_dependency_here" in res.error
    assert "tests/test_a.py" in res.error
    # the workspace's own module failing to import is a real error, reported as such
    (tmp_path / "tests/test_a.py").write_text("import pkg.nope\n\n\ndef test_a():\n    pass\n")
    res = run(tmp_path, "TEST-PYTEST")
    assert res.status == "failed" and res.findings


def run_both(root: Path, workers: int) -> dict[str, CheckResult]:
    """TEST-PYTEST and TEST-COVERAGE of one shared run of the suite."""
    checks = [CheckConfig(id="TEST-PYTEST"), CheckConfig(id="TEST-COVERAGE")]
    cfg = Config(phases=[PhaseConfig(name="p", checks=checks)], test_workers=workers)
    runner = GateRunner(Workspace(root), cfg, trusted=True)
    return {(r := runner.run_check(c)).id: r for c in runner.checks("p")}


@pytest.mark.parametrize("workers", [0, 2])
def test_coverage_of_a_suite_that_could_not_run_is_unknown(tmp_path: Path, workers: int) -> None:
    """specmem without its optional extras: two test modules import packages the venv
    lacks; serially pytest stops at them before any test runs (exit 2), in workers the
    other files run. Either way the coverage measured is not the suite's: 52 "not covered"
    findings on code the suite does test were false."""
    write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/store.py": "def put(x):\n    return [x]\n\n\ndef get(xs):\n    return xs[0]\n",
            "tests/test_store.py": "import no_such_vector_db\n\n"
            "from pkg.store import get, put\n\n\n"
            "def test_roundtrip():\n    assert get(put(1)) == 1\n",
            "tests/test_other.py": "def test_other():\n    assert True\n",
        },
    )
    res = run_both(tmp_path, workers)
    if res["TEST-PYTEST"].error and "is not installed" in res["TEST-PYTEST"].error:
        pytest.skip(res["TEST-PYTEST"].error)
    for check in ("TEST-PYTEST", "TEST-COVERAGE"):
        assert res[check].status == "error" and res[check].findings == [], check
        assert "lacks no_such_vector_db" in (res[check].error or ""), check
    # a real collection error (the workspace's own code): pytest's verdict is a failure,
    # the coverage of a run that stopped before the tests is unknown
    (tmp_path / "tests/test_store.py").write_text(
        "from pkg.nope import get\n\n\ndef test_roundtrip():\n    assert get\n"
    )
    res = run_both(tmp_path, workers)
    assert res["TEST-PYTEST"].status == "failed" and res["TEST-PYTEST"].findings, res[
        "TEST-PYTEST"
    ].error
    if workers:  # the other file ran in a worker: its coverage counts
        assert res["TEST-COVERAGE"].error is None
    else:
        assert res["TEST-COVERAGE"].status == "error" and not res["TEST-COVERAGE"].findings
        assert "collection error in tests/test_store.py" in (res["TEST-COVERAGE"].error or "")
    # the suite runs: coverage is measured again
    (tmp_path / "tests/test_store.py").write_text(
        "from pkg.store import get, put\n\n\ndef test_roundtrip():\n    assert get(put(1)) == 1\n"
    )
    res = run_both(tmp_path, workers)
    assert res["TEST-PYTEST"].status == "passed"
    assert res["TEST-COVERAGE"].status == "passed", res["TEST-COVERAGE"]


def test_a_project_without_any_test_fails_in_any_language(tmp_path: Path) -> None:
    write(tmp_path, {"src/index.ts": "export const x = 1;\n", "package.json": "{}\n"})
    res = run(tmp_path, "TEST-EXISTS")
    assert res.status == "failed" and res.findings
    # scripts only named like tests (no test in them) are not tests
    write(tmp_path / "py", {"plot_test.py": "import sys\nprint(sys.argv)\n"})
    res = run(tmp_path / "py", "TEST-EXISTS")
    assert res.status == "failed"
    assert "1 file(s) named like tests define none" in res.findings[0].message
    write(tmp_path / "py", {"tests/test_real.py": "def test_x():\n    assert True\n"})
    assert run(tmp_path / "py", "TEST-EXISTS").status == "passed"


def test_tests_run_against_another_copy_of_the_project_are_unknown(tmp_path: Path) -> None:
    # src layout, not installed: the tests cannot import this workspace's code
    write(
        tmp_path,
        {
            "src/mypkg_not_installed_here/__init__.py": "VALUE = 1\n",
            "tests/test_value.py": (
                "from mypkg_not_installed_here import VALUE\n\n\n"
                "def test_value():\n    assert VALUE == 1\n"
            ),
        },
    )
    res = run(tmp_path, "TEST-PYTEST")
    if res.error is not None and "pytest is not installed" in res.error:
        pytest.skip(res.error)
    assert res.status == "error" and res.findings == []
    assert res.error is not None and "mypkg_not_installed_here not at all" in res.error
    # with pytest's own pythonpath setting the workspace's code is found, and judged
    write(tmp_path, {"pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["src"]\n'})
    (tmp_path / "tests/test_value.py").write_text(
        "from mypkg_not_installed_here import VALUE\n\n\ndef test_value():\n    assert VALUE == 2\n"
    )
    res = run(tmp_path, "TEST-PYTEST")
    assert res.status == "failed" and len(res.findings) == 1


def test_a_suite_for_another_python_version_is_unknown(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.99"\n',
            "tests/test_a.py": "def test_a():\n    assert True\n",
        },
    )
    res = run(tmp_path, "TEST-PYTEST")
    if res.error is not None and "pytest is not installed" in res.error:
        pytest.skip(res.error)
    assert res.status == "error" and "requires Python >=3.99" in (res.error or "")


def test_scripts_named_like_tests_stop_the_suite_unknown_not_failed(tmp_path: Path) -> None:
    write(tmp_path, {"plots/plot_test.py": "import sys\nprint(undefined_name)\n"})
    res = run(tmp_path, "TEST-PYTEST")
    if res.error is not None and "pytest is not installed" in res.error:
        pytest.skip(res.error)
    assert res.status == "error" and "define no test" in (res.error or "")


def test_a_locked_ruff_wins_over_a_stale_pre_commit_pin(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            ".pre-commit-config.yaml": PRE_COMMIT.format(version="0.3.4"),
            "uv.lock": 'version = 1\n\n[[package]]\nname = "ruff"\nversion = "0.15.14"\n',
        },
    )
    cfg = read_ruff_config(tmp_path)
    assert (cfg.pinned, cfg.pinned_in) == ("0.15.14", "uv.lock")
    assert cfg.pre_commit_args == ["--select", "E,F,B"]  # the hook's args still apply


def test_names_a_runtime_provides_are_not_undefined_without_a_ruff_config(
    tmp_path: Path,
) -> None:
    """Scripts run inside a host (CASA injects tclean, imstat...): a name undefined in
    many files is the host's global, not a typo; a one-off undefined name is still one."""
    files = {f"s{i}.py": "tclean(vis='a.ms')\nimstat('b')\n" for i in range(3)}
    files["typo.py"] = "prnt('x')\n"
    write(tmp_path, files)
    res = run(tmp_path, "IMPL-LINT")
    assert [(f.path, f.message.split(" [")[0]) for f in res.findings] == [
        ("typo.py", "F821 Undefined name `prnt`")
    ]
    # a project that configures ruff says what its builtins are: its ruff decides
    write(tmp_path, {"ruff.toml": '[lint]\nselect = ["F821"]\n'})
    assert len(run(tmp_path, "IMPL-LINT").findings) == 7


def test_a_file_over_max_bytes_is_not_linted(tmp_path: Path) -> None:
    write(tmp_path, {"big.py": "import os\n" + "x = 1\n" * 2000, "small.py": "import sys\n"})
    res = run(tmp_path, "IMPL-LINT", max_bytes=1000)
    by_path = {f.path: f for f in res.findings}
    assert by_path["small.py"].message.startswith("F401")
    assert by_path["big.py"].severity.label == "info"
    assert "not linted" in by_path["big.py"].message
    assert res.score == 0.5  # big.py is not counted as a file with findings
