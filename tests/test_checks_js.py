"""JavaScript/TypeScript checks (IMPL-JSLINT, IMPL-TSC, TEST-JSTESTS, TEST-JSCOVERAGE) with
the real tools: eslint, typescript, vitest and @vitest/coverage-v8 (and, for one test each,
jest and biome) installed from the npm registry once per test session into a temporary
folder; every workspace below links that ``node_modules``.

Without npm (or when the registry cannot be reached), the tool-backed tests are skipped
and say why; the parsing and applicability tests run everywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from phasegate.cache import ResultCache
from phasegate.checks._javascript import (
    NodeProject,
    TextPositions,
    node_projects,
    satisfies,
    script_invocation,
    sort_script_args,
)
from phasegate.checks.implementation.js_lint import _github_props
from phasegate.checks.implementation.tsc import Tsc
from phasegate.checks.testing import js_suite
from phasegate.checks.testing.js_coverage import istanbul_lines
from phasegate.config import CheckConfig, Config, PhaseConfig
from phasegate.findings_parse import FindingMaker
from phasegate.model import CheckResult, Finding, Severity
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace

pytestmark = pytest.mark.timeout(900)

JS_IDS = ["IMPL-JSLINT", "IMPL-TSC", "TEST-JSTESTS", "TEST-JSCOVERAGE"]

VITEST_PACKAGE = {
    "name": "planted",
    "private": True,
    "type": "module",
    "scripts": {"lint": "eslint src tests", "test": "vitest run", "typecheck": "tsc --noEmit"},
    "devDependencies": {
        "@eslint/js": "9.39.2",
        "@vitest/coverage-v8": "3.2.7",
        "eslint": "9.39.2",
        "typescript": "5.9.3",
        "typescript-eslint": "8.50.1",
        "vitest": "3.2.7",
    },
}
JEST_PACKAGE = {
    "name": "planted-jest",
    "private": True,
    "scripts": {"test": "jest"},
    "devDependencies": {"jest": "30.2.0"},
}
BIOME_PACKAGE = {
    "name": "planted-biome",
    "private": True,
    "scripts": {"lint": "biome lint src"},
    "devDependencies": {"@biomejs/biome": "2.3.8"},
}

ESLINT_CONFIG = """\
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(js.configs.recommended, ...tseslint.configs.recommended);
"""
TSCONFIG = {
    "compilerOptions": {
        "target": "ES2022",
        "module": "ESNext",
        "moduleResolution": "Bundler",
        "strict": True,
        "noEmit": True,
        "skipLibCheck": True,
    },
    "include": ["src", "tests"],
}

# The clean project: every check passes.
MATH = """\
export function add(a: number, b: number): number {
  return a + b;
}

export function clamp(x: number, lo: number, hi: number): number {
  if (x < lo) return lo;
  if (x > hi) return hi;
  return x;
}
"""
MATH_TEST = """\
import { describe, expect, it } from "vitest";
import { add, clamp } from "../src/math";

describe("math", () => {
  it("adds", () => {
    expect(add(2, 2)).toBe(4);
  });
  it("clamps", () => {
    expect(clamp(5, 0, 3)).toBe(3);
    expect(clamp(-1, 0, 3)).toBe(0);
    expect(clamp(2, 0, 3)).toBe(2);
  });
});
"""
LABEL = """\
export function label(name: string): string {
  const prefix = "item: ";
  return prefix + name;
}

export const limit: number = 10;
"""
LABEL_TEST = """\
import { expect, it } from "vitest";
import { label, limit } from "../src/label";

it("labels", () => {
  expect(label("a")).toBe("item: a");
  expect(limit).toBe(10);
});
"""

# The defects, one per check, and where each must be reported (0-based lines).
LINT_DEFECT = ('const prefix = "item: ";', 'let prefix = "item: ";')  # prefer-const, line 1
TYPE_DEFECT = ("export const limit: number = 10;", "export const limit: string = 10;")  # line 5
TEST_DEFECT = ("expect(add(2, 2)).toBe(4);", "expect(add(2, 2)).toBe(5);")  # line 5
UNCOVERED = """
export function unused(values: number[]): number {
  let total = 0;
  for (const v of values) {
    total += v * 2;
  }
  return total;
}
"""  # appended to src/math.ts: lines 10-16 (0-based), the body 11-16
MATH_TEST_JS = """\
import { expect, it } from "vitest";

it("adds", () => {
  expect(1 + 1).toBe(2);
});
"""
COVER_UNUSED = """
import { unused } from "../src/math";

it("doubles and sums", () => {
  expect(unused([1, 2])).toBe(6);
});
"""


# -- the tools, installed once --------------------------------------------------------
def _install(base: Path, package: dict[str, Any]) -> Path:
    """``npm install`` of ``package`` into a new folder of ``base``; skip (saying why) when
    npm is missing or the install fails."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("npm and node are not installed: the JavaScript tools cannot be installed")
    folder = base / str(package["name"])
    folder.mkdir(parents=True)
    (folder / "package.json").write_text(json.dumps(package, indent=2), encoding="utf-8")
    proc = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"npm install failed (registry unreachable?): {proc.stderr.strip()[-400:]}")
    return folder


@pytest.fixture(scope="session")
def vitest_tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _install(tmp_path_factory.mktemp("js-tools"), VITEST_PACKAGE)


@pytest.fixture(scope="session")
def jest_tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _install(tmp_path_factory.mktemp("js-tools"), JEST_PACKAGE)


@pytest.fixture(scope="session")
def biome_tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _install(tmp_path_factory.mktemp("js-tools"), BIOME_PACKAGE)


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


def project(root: Path, tools: Path | None, files: dict[str, str] | None = None) -> Path:
    """The clean vitest project at ``root`` (plus ``files``), its node_modules linked from
    ``tools`` (None: not installed, only its lock file is there)."""
    write(
        root,
        {
            "package.json": json.dumps(VITEST_PACKAGE, indent=2),
            "eslint.config.js": ESLINT_CONFIG,
            "tsconfig.json": json.dumps(TSCONFIG, indent=2),
            "src/math.ts": MATH,
            "src/label.ts": LABEL,
            "tests/math.test.ts": MATH_TEST,
            "tests/label.test.ts": LABEL_TEST,
            **(files or {}),
        },
    )
    if tools is not None:
        os.symlink(tools / "node_modules", root / "node_modules")
        shutil.copy(tools / "package-lock.json", root / "package-lock.json")
    else:
        (root / "package-lock.json").write_text('{"lockfileVersion": 3}', encoding="utf-8")
    return root


def replace(root: Path, rel: str, old: str, new: str) -> None:
    p = root / rel
    text = p.read_text(encoding="utf-8")
    assert old in text
    p.write_text(text.replace(old, new), encoding="utf-8")


def make_runner(
    root: Path,
    *,
    trusted: bool = True,
    config: Config | None = None,
) -> GateRunner:
    """A runner of ``config`` (default: the four JavaScript checks in their phases)."""
    if config is None:
        impl = [CheckConfig(id=i) for i in JS_IDS[:2]]
        test = [CheckConfig(id=i) for i in JS_IDS[2:]]
        config = Config(
            phases=[
                PhaseConfig(name="implementation", checks=impl),
                PhaseConfig(name="testing", checks=test),
            ]
        )
    ws = Workspace(root)
    return GateRunner(ws, config, trusted=trusted, cache=ResultCache(ws.state_dir / "cache"))


def _only(*ids: str) -> Config:
    return Config(phases=[PhaseConfig(name="p", checks=[CheckConfig(id=i) for i in ids])])


def evaluate(runner: GateRunner) -> dict[str, CheckResult]:
    out: dict[str, CheckResult] = {}
    for phase in runner.config.phases:
        out.update({c.id: c for c in runner.evaluate(phase.name, 0.85).checks})
    return out


def snapshot(root: Path) -> dict[str, str]:
    """Every path outside .phasegate/ and node_modules/ -> sha256 of its bytes."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in (".phasegate", "node_modules")]
        rel = Path(dirpath).relative_to(root)
        for d in dirnames:
            out[(rel / d).as_posix() + "/"] = "dir"
        for f in filenames:
            data = (Path(dirpath) / f).read_bytes()
            out[(rel / f).as_posix()] = hashlib.sha256(data).hexdigest()
    return out


def apply_fix(root: Path, finding: Finding) -> None:
    """Apply a finding's quick fix as an editor would (0-based line/character)."""
    assert finding.fix is not None
    for edit in sorted(
        finding.fix.edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
    ):
        p = root / edit.path
        lines = p.read_text(encoding="utf-8").split("\n")
        s, e = edit.range.start, edit.range.end
        head = lines[s.line][: s.character]
        tail = lines[e.line][e.character :]
        lines[s.line : e.line + 1] = (head + edit.new_text + tail).split("\n")
        p.write_text("\n".join(lines), encoding="utf-8")


# -- the planted defects ----------------------------------------------------------------
def test_clean_project_passes_and_the_python_checks_are_not_applicable(
    vitest_tools: Path, tmp_path: Path
) -> None:
    root = project(tmp_path / "ws", vitest_tools)
    before = snapshot(root)
    runs = js_suite.suite_runs
    res = evaluate(make_runner(root, config=Config()))  # the default pipeline
    for check_id in JS_IDS:
        r = res[check_id]
        assert r.passed and r.error is None and r.not_applicable is None, (check_id, r)
        assert r.score == 1.0, (check_id, r.findings)
    assert js_suite.suite_runs == runs + 1  # one run of the tests for both test checks
    for check_id in ("IMPL-SYNTAX", "IMPL-STUB", "IMPL-LINT", "TEST-PYTEST", "TEST-COVERAGE"):
        assert res[check_id].not_applicable is not None, check_id
        assert "TypeScript" in (res[check_id].not_applicable or ""), check_id
    assert res["TEST-EXISTS"].passed
    assert snapshot(root) == before  # nothing written outside .phasegate/
    assert not (root / ".phasegate" / "tmp").exists()
    assert not (root / "coverage").exists() and not (root / "tsconfig.tsbuildinfo").exists()
    evidence = res["IMPL-TSC"].evidence
    assert evidence is not None and evidence.tool_version == "5.9.3"


def test_each_planted_defect_is_found_where_it_is_and_its_fix_passes(
    vitest_tools: Path, tmp_path: Path
) -> None:
    root = project(tmp_path / "ws", vitest_tools)
    replace(root, "src/label.ts", *LINT_DEFECT)
    replace(root, "src/label.ts", *TYPE_DEFECT)
    replace(root, "tests/math.test.ts", *TEST_DEFECT)
    with (root / "src/math.ts").open("a", encoding="utf-8") as fh:
        fh.write(UNCOVERED)
    res = evaluate(make_runner(root))

    lint = res["IMPL-JSLINT"]
    assert not lint.passed and lint.error is None
    (f,) = [f for f in lint.findings if "prefer-const" in f.message]
    assert (f.path, f.range.start.line, f.range.start.character) == ("src/label.ts", 1, 6)
    assert (f.range.end.line, f.range.end.character) == (1, 12)  # exactly `prefix`
    assert f.severity == Severity.WARNING and f.code == "IMPL-JSLINT"
    assert "eslint 9.39.2" in f.message and "eslint.config.js" in f.message
    assert f.fix is not None  # eslint's own fix
    assert lint.score == pytest.approx(1 - 1 / 4)  # 1 of the 4 linted files

    tsc = res["IMPL-TSC"]
    assert not tsc.passed and tsc.error is None
    (t,) = tsc.findings
    assert (t.path, t.range.start.line, t.range.start.character) == ("src/label.ts", 5, 13)
    assert (t.range.end.line, t.range.end.character) == (5, 18)  # `limit`
    assert t.message.startswith("TS2322: Type 'number' is not assignable to type 'string'.")
    assert t.severity == Severity.ERROR

    tests = res["TEST-JSTESTS"]
    assert not tests.passed and tests.error is None
    (ft,) = tests.findings
    assert (ft.path, ft.range.start.line) == ("tests/math.test.ts", 5)
    assert ft.range.start.character == 4  # the `expect` line, indentation left out
    assert "math > adds failed" in ft.message and "expected 4 to be 5" in ft.message
    assert tests.score == pytest.approx(2 / 3)

    cov = res["TEST-JSCOVERAGE"]
    assert not cov.passed and cov.error is None
    below = [f for f in cov.findings if "below the target 80%" in f.message]
    assert len(below) == 1
    ranges = [
        (f.path, f.range.start.line, f.range.end.line)
        for f in cov.findings
        if "not covered" in f.message
    ]
    # the body of `unused`, through its closing brace (v8 counts it, istanbul would not)
    assert ranges == [("src/math.ts", 11, 16)]
    assert all(not f.path.startswith("tests/") for f in cov.findings)

    # fix each one: the lint error with eslint's own fix
    apply_fix(root, f)
    assert 'const prefix = "item: ";' in (root / "src/label.ts").read_text(encoding="utf-8")
    replace(root, "src/label.ts", TYPE_DEFECT[1], TYPE_DEFECT[0])
    replace(root, "tests/math.test.ts", TEST_DEFECT[1], TEST_DEFECT[0])
    write(root, {"tests/unused.test.ts": 'import { expect, it } from "vitest";\n' + COVER_UNUSED})
    fixed = evaluate(make_runner(root))
    for check_id in JS_IDS:
        r = fixed[check_id]
        assert r.passed and r.error is None, (check_id, r.findings, r.error)
        assert r.score == 1.0, (check_id, r.findings)
        assert not [f for f in r.findings if f.severity <= Severity.WARNING], check_id


def test_untrusted_workspace_skips_every_js_check_and_runs_nothing(
    vitest_tools: Path, tmp_path: Path
) -> None:
    root = project(tmp_path / "ws", vitest_tools)
    replace(root, "tests/math.test.ts", *TEST_DEFECT)
    runs = js_suite.suite_runs
    res = evaluate(make_runner(root, trusted=False))
    for check_id in JS_IDS:
        assert res[check_id].skipped is not None and "untrusted" in res[check_id].skipped
        assert res[check_id].evidence is not None and res[check_id].evidence.commands == []
    assert js_suite.suite_runs == runs


def test_not_installed_is_could_not_run_with_the_install_command(tmp_path: Path) -> None:
    root = project(tmp_path / "ws", None)  # package.json and lock file, no node_modules
    res = evaluate(make_runner(root))
    for check_id in JS_IDS:
        r = res[check_id]
        assert not r.passed and r.error is not None, (check_id, r)
        assert "`npm ci` in the workspace root" in r.error, (check_id, r.error)
        assert r.not_applicable is None


def test_without_node_every_js_check_could_not_run(
    vitest_tools: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path / "ws", vitest_tools)
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    res = evaluate(make_runner(root))
    for check_id in JS_IDS:
        r = res[check_id]
        assert not r.passed and r.error is not None and "Node.js is not installed" in r.error


def test_without_package_json_the_js_checks_are_not_applicable(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": "print('hi')\n", "web/app.ts": "export const a = 1;\n"})
    res = evaluate(make_runner(tmp_path))
    for check_id in JS_IDS:
        r = res[check_id]
        assert r.passed and r.not_applicable is not None and "no package.json" in r.not_applicable


def test_a_package_without_linter_or_test_runner_is_not_applicable(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "package.json": json.dumps({"name": "plain", "scripts": {"test": "node --test"}}),
            "index.js": "module.exports = 1;\n",
        },
    )
    res = evaluate(make_runner(tmp_path))
    assert "no linter configured" in (res["IMPL-JSLINT"].not_applicable or "")
    assert "no tsconfig.json" in (res["IMPL-TSC"].not_applicable or "")
    assert "vitest or jest" in (res["TEST-JSTESTS"].not_applicable or "")
    assert "vitest or jest" in (res["TEST-JSCOVERAGE"].not_applicable or "")


def test_vitest_without_coverage_provider_leaves_coverage_not_applicable(
    vitest_tools: Path, tmp_path: Path
) -> None:
    package = {**VITEST_PACKAGE, "devDependencies": {"vitest": "3.2.7"}}
    root = tmp_path / "ws"
    write(root, {"package.json": json.dumps(package), "src/a.test.js": MATH_TEST_JS})
    # only vitest resolves from here: a node_modules holding vitest and its dependencies
    # but not the coverage provider
    nm = root / "node_modules"
    nm.mkdir()
    for entry in (vitest_tools / "node_modules").iterdir():
        if entry.name != "@vitest":
            os.symlink(entry, nm / entry.name)
    scoped = nm / "@vitest"
    scoped.mkdir()
    for entry in (vitest_tools / "node_modules" / "@vitest").iterdir():
        if entry.name not in ("coverage-v8", "coverage-istanbul"):
            os.symlink(entry, scoped / entry.name)
    res = evaluate(make_runner(root))
    assert res["TEST-JSTESTS"].passed, res["TEST-JSTESTS"]
    cov = res["TEST-JSCOVERAGE"]
    assert cov.not_applicable is not None and "@vitest/coverage-v8" in cov.not_applicable


def test_no_test_found_fails(vitest_tools: Path, tmp_path: Path) -> None:
    root = project(tmp_path / "ws", vitest_tools)
    for name in ("math.test.ts", "label.test.ts"):
        (root / "tests" / name).unlink()
    res = evaluate(make_runner(root))
    tests = res["TEST-JSTESTS"]
    assert not tests.passed and tests.error is None
    assert [f.message for f in tests.findings] == [
        "no tests found by vitest 3.2.7 in the workspace root"
    ]
    assert tests.findings[0].path == "package.json"


def test_a_test_file_that_cannot_load_is_a_finding_at_its_import(
    vitest_tools: Path, tmp_path: Path
) -> None:
    broken = (
        'import { it } from "vitest";\nimport { nothing } from "../src/nope";\n\n'
        'it("x", () => nothing());\n'
    )
    root = project(tmp_path / "ws", vitest_tools, {"tests/broken.test.ts": broken})
    res = evaluate(make_runner(root))
    tests = res["TEST-JSTESTS"]
    assert not tests.passed
    (f,) = tests.findings
    assert (f.path, f.range.start.line) == ("tests/broken.test.ts", 1)
    assert "could not run" in f.message and "src/nope" in f.message


def test_sub_project_linted_by_its_own_script_under_the_root_configuration(
    vitest_tools: Path, tmp_path: Path
) -> None:
    """A sub-project without eslint configuration whose lint script runs eslint is linted
    from its folder, under the configuration above it (as `npm run lint` there does)."""
    root = project(
        tmp_path / "ws",
        vitest_tools,
        {
            "web/package.json": json.dumps({"name": "web", "scripts": {"lint": "eslint src"}}),
            "web/src/page.ts": "export function page(): string {\n  let t = 'x';\n  return t;\n}\n",
        },
    )
    res = evaluate(make_runner(root, config=_only("IMPL-JSLINT")))
    lint = res["IMPL-JSLINT"]
    assert [(f.path, f.range.start.line) for f in lint.findings] == [("web/src/page.ts", 1)]


def test_solution_tsconfig_checks_its_references_and_writes_nothing(
    vitest_tools: Path, tmp_path: Path
) -> None:
    app = {
        "compilerOptions": {**TSCONFIG["compilerOptions"], "composite": True},
        "include": ["src"],
    }
    app["compilerOptions"].pop("noEmit")  # type: ignore[union-attr]
    root = project(
        tmp_path / "ws",
        vitest_tools,
        {
            "tsconfig.json": json.dumps(
                {"files": [], "references": [{"path": "./tsconfig.app.json"}]}
            ),
            "tsconfig.app.json": json.dumps(app),
        },
    )
    replace(root, "src/label.ts", *TYPE_DEFECT)
    before = snapshot(root)
    res = evaluate(make_runner(root, config=_only("IMPL-TSC")))
    tsc = res["IMPL-TSC"]
    assert [(f.path, f.range.start.line) for f in tsc.findings] == [("src/label.ts", 5)]
    assert "tsconfig.app.json" in tsc.findings[0].message
    assert tsc.score == pytest.approx(1 - 1 / 2)  # src/ holds 2 files
    assert snapshot(root) == before  # no tsconfig.app.tsbuildinfo


def test_jest_failing_test_and_coverage(jest_tools: Path, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write(
        root,
        {
            "package.json": json.dumps(JEST_PACKAGE),
            "src/sum.js": "function sum(a, b) {\n  return a + b;\n}\n\nfunction twice(x) {\n"
            "  const y = x * 2;\n  return y;\n}\n\nmodule.exports = { sum, twice };\n",
            "src/sum.test.js": 'const { sum } = require("./sum");\n\ndescribe("sum", () => {\n'
            '  test("adds", () => {\n    expect(sum(1, 2)).toBe(3);\n  });\n'
            '  test("adds wrong", () => {\n    expect(sum(1, 2)).toBe(4);\n  });\n});\n',
        },
    )
    os.symlink(jest_tools / "node_modules", root / "node_modules")
    res = evaluate(make_runner(root))
    tests = res["TEST-JSTESTS"]
    assert not tests.passed and tests.error is None
    (f,) = tests.findings
    assert (f.path, f.range.start.line) == ("src/sum.test.js", 7)
    assert "sum > adds wrong failed" in f.message and "jest 30.2.0" in f.message
    cov = res["TEST-JSCOVERAGE"]
    assert not cov.passed and cov.error is None
    ranges = [
        (f.path, f.range.start.line, f.range.end.line)
        for f in cov.findings
        if "not covered" in f.message
    ]
    assert ranges == [("src/sum.js", 5, 6)]  # the body of `twice`
    assert res["IMPL-JSLINT"].not_applicable is not None  # no linter configured


def test_biome_findings_at_their_ranges(biome_tools: Path, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write(
        root,
        {
            "package.json": json.dumps(BIOME_PACKAGE),
            "biome.json": "{}\n",
            "src/a.js": (
                "export function f(a) {\n  if (a == 2) {\n    debugger;\n  }\n  return a;\n}\n"
            ),
            "src/b.js": "export const b = 1;\n",
        },
    )
    os.symlink(biome_tools / "node_modules", root / "node_modules")
    res = evaluate(make_runner(root, config=_only("IMPL-JSLINT")))
    lint = res["IMPL-JSLINT"]
    assert not lint.passed and lint.error is None
    got = sorted(
        (f.path, f.range.start.line, f.range.start.character, f.range.end.character)
        for f in lint.findings
    )
    assert got == [("src/a.js", 1, 8, 10), ("src/a.js", 2, 4, 13)]
    assert any("noDoubleEquals" in f.message and "biome 2.3.8" in f.message for f in lint.findings)
    assert lint.score == pytest.approx(1 - 1 / 2)


# -- a TypeScript project with a Python script ------------------------------------------
def test_python_checks_stand_aside_in_a_typescript_project_with_a_python_script(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        {
            "package.json": json.dumps(VITEST_PACKAGE),
            "src/math.ts": MATH,
            "src/label.ts": LABEL,
            "tests/math.test.ts": MATH_TEST,
            "scripts/release.py": "import sys\n\nprint(sys.argv)\n",
        },
    )
    ids = ["TEST-EXISTS", "TEST-PYTEST", "TEST-COVERAGE"]
    cfg = Config(
        interpreter=shutil.which("python3"),
        phases=[PhaseConfig(name="testing", checks=[CheckConfig(id=i) for i in ids])],
    )
    gate = GateRunner(Workspace(tmp_path), cfg).evaluate("testing", 0.85)
    res = {c.id: c for c in gate.checks}
    assert res["TEST-EXISTS"].passed  # the TypeScript tests count
    for check_id in ("TEST-PYTEST", "TEST-COVERAGE"):
        reason = res[check_id].not_applicable or ""
        assert "no Python tests" in reason and "tests/math.test.ts" in reason, (
            check_id,
            res[check_id],
        )
    assert gate.passed


def test_a_python_project_without_tests_still_fails_pytest(tmp_path: Path) -> None:
    """The rule above does not excuse a Python project: one JavaScript test file does not
    make its Python tests optional."""
    write(
        tmp_path,
        {
            "app.py": "def f():\n    return 1\n",
            "lib.py": "def g():\n    return 2\n",
            "static/app.test.js": "test('x', () => {});\n",
        },
    )
    cfg = Config(
        interpreter=sys.executable,
        phases=[PhaseConfig(name="testing", checks=[CheckConfig(id="TEST-PYTEST")])],
    )
    (r,) = GateRunner(Workspace(tmp_path), cfg).evaluate("testing", 0.85).checks
    assert r.not_applicable is None and not r.passed
    assert any("no tests collected" in f.message for f in r.findings)


# -- parsing, without tools --------------------------------------------------------------
def _project(tmp_path: Path, package: dict[str, Any], files: tuple[str, ...] = ()) -> NodeProject:
    write(tmp_path, {"package.json": json.dumps(package), **{f: "" for f in files}})
    (p,) = node_projects(Workspace(tmp_path))
    return p


@pytest.mark.parametrize(
    ("scripts", "expected"),
    [
        ({"lint": "eslint src tests --ext .ts"}, ["src", "tests", "--ext", ".ts"]),
        ({"lint": "eslint . && prettier -c src"}, ["."]),
        (
            {"lint": "npm run lint:js", "lint:js": "eslint --max-warnings 0 src"},
            ["--max-warnings", "0", "src"],
        ),
        ({"check": "tsc && NODE_ENV=ci npx eslint lib"}, ["lib"]),
        ({"lint": "pnpm exec eslint ."}, ["."]),
        ({"test": "vitest run"}, None),
    ],
)
def test_script_invocation(
    tmp_path: Path, scripts: dict[str, str], expected: list[str] | None
) -> None:
    p = _project(tmp_path, {"scripts": scripts})
    assert script_invocation(p, ("eslint",), ("lint",)) == expected


def test_script_arguments_keep_paths_and_rule_options_only(tmp_path: Path) -> None:
    p = _project(tmp_path, {}, ("src/a.ts",))
    words = [
        "src",
        "missing",
        "src/**/*.ts",
        "--ext",
        ".ts",
        "--fix",
        "-f",
        "stylish",
        "--cache",
        "--max-warnings",
        "0",
        "--rule=no-var:error",
    ]
    from phasegate.checks.implementation import js_lint

    got = sort_script_args(
        p,
        words,
        js_lint._ESLINT_KEEP_WITH_VALUE | {"--rule"},
        js_lint._ESLINT_KEEP_FLAGS,
        js_lint._ESLINT_READ,
        js_lint._ESLINT_DROP_WITH_VALUE,
    )
    assert got.paths == ["src", "src/**/*.ts"]  # "missing" does not exist
    assert got.options == ["--ext", ".ts", "--rule", "no-var:error"]
    assert got.seen == {"--max-warnings": "0"}


def test_offsets_are_utf16_code_units() -> None:
    text = "\ufeffconst a = '😀';\r\nlet b = 1;\n"
    pos = TextPositions(text)
    # after the BOM (dropped by the tools), "😀" is 2 UTF-16 units: line 1 starts at 17
    assert pos.position(0) == (0, 0)
    assert pos.position(13) == (0, 13)
    assert pos.position(17) == (1, 0)
    assert pos.position(21) == (1, 4)


def test_istanbul_line_coverage() -> None:
    entry = {
        "statementMap": {
            "0": {"start": {"line": 2, "column": 2}, "end": {"line": 2, "column": 9}},
            "1": {"start": {"line": 2, "column": 10}, "end": {"line": 2, "column": 20}},
            "2": {"start": {"line": 5, "column": 0}, "end": {"line": 7, "column": 1}},
        },
        "s": {"0": 0, "1": 3, "2": 0},
    }
    assert istanbul_lines(entry) == ([2], [5])  # a line counts when any statement on it ran


def test_tsc_output_parsing(tmp_path: Path) -> None:
    write(tmp_path, {"src/a.ts": "let value: number = 'x';\n"})
    ws = Workspace(tmp_path)
    maker = FindingMaker(ws, "IMPL-TSC", "backend_developer", Severity.ERROR, tmp_path)
    out = (
        "src/a.ts(1,5): error TS2322: Type 'string' is not assignable to type 'number'.\n"
        "  The expected type comes from here.\n"
        "error TS5083: Cannot read file 'base.json'.\n"
        "../outside.ts(1,1): error TS1005: ';' expected.\n"
    )

    class Ctx:
        workspace = ws

    got = Tsc._parse(Ctx(), maker, out, "tsconfig.json", "tsc 5.9.3, tsconfig.json")  # type: ignore[arg-type]
    assert [
        (f.path, f.range.start.line, f.range.start.character, f.range.end.character) for f in got
    ] == [
        ("src/a.ts", 0, 4, 9),
        ("tsconfig.json", 0, 0, 10_000),
    ]
    assert got[0].message == (
        "TS2322: Type 'string' is not assignable to type 'number'. The expected type comes "
        "from here. [tsc 5.9.3, tsconfig.json]"
    )


def test_github_annotation_properties() -> None:
    props = _github_props(
        "title=lint/suspicious/noDebugger,file=src/a%2Cb.js,line=3,endLine=3,col=24,endColumn=33"
    )
    assert props == {
        "title": "lint/suspicious/noDebugger",
        "file": "src/a,b.js",
        "line": "3",
        "endLine": "3",
        "col": "24",
        "endColumn": "33",
    }


def test_vitest_and_jest_reports(tmp_path: Path) -> None:
    write(tmp_path, {"package.json": "{}", "t/a.test.ts": "it('works', () => {\n  boom();\n});\n"})
    ws = Workspace(tmp_path)
    (p,) = node_projects(ws)
    junit = (
        '<testsuites><testsuite name="t/a.test.ts">'
        '<testcase classname="t/a.test.ts" name="suite &gt; works">'
        '<failure message="boom is not defined">ReferenceError: boom is not defined\n'
        " \u276f t/a.test.ts:2:3\n</failure></testcase>"
        '<testcase classname="t/a.test.ts" name="skipped one"><skipped/></testcase>'
        "</testsuite></testsuites>"
    ).encode()
    cases = js_suite.parse_vitest_junit(junit, ws, p)
    assert [(c.name, c.file, c.outcome, c.line) for c in cases] == [
        ("suite > works", "t/a.test.ts", "failed", 1),
        ("skipped one", "t/a.test.ts", "skipped", None),
    ]
    assert js_suite.short_message(cases[0]) == "boom is not defined"
    report = {
        "testResults": [
            {
                "name": str(tmp_path / "t/a.test.ts"),
                "status": "failed",
                "assertionResults": [
                    {
                        "ancestorTitles": [],
                        "title": "works",
                        "status": "failed",
                        "location": {"line": 1, "column": 1},
                        "failureMessages": [
                            "ReferenceError: boom\n"
                            f"    at Object.<anonymous> ({tmp_path}/t/a.test.ts:2:3)\n"
                            "    at x (/elsewhere/node_modules/y.js:1:1)"
                        ],
                    }
                ],
            }
        ]
    }
    (case,) = js_suite.parse_jest_json(report, ws, p)
    assert (case.name, case.file, case.outcome, case.line) == ("works", "t/a.test.ts", "failed", 1)


@pytest.mark.parametrize(
    ("version", "spec", "expected"),
    [
        ((20, 20, 2), ">=22.0.0", False),
        ((20, 20, 2), "^20 || >=22", True),
        ((21, 0, 0), "^20 || >=22", False),
        ((20, 1, 0), "20.x", True),
        ((18, 5, 0), "16 - 20", True),
        ((21, 0, 0), "16 - 20", False),
        ((20, 1, 0), "~20.0", False),
        ((20, 1, 0), ">= 18 < 21", True),
        ((20, 1, 0), "lts/*", None),  # not a range: not enforced
    ],
)
def test_node_engine_ranges(
    version: tuple[int, int, int], spec: str, expected: bool | None
) -> None:
    assert satisfies(version, spec) is expected


def test_failures_on_an_unsupported_node_are_unknown(vitest_tools: Path, tmp_path: Path) -> None:
    """Failing tests on a Node.js the project's `engines` excludes say nothing of its code:
    unknown, never findings; a run where every test passes stands."""
    package = {**VITEST_PACKAGE, "engines": {"node": ">=999"}}
    root = project(tmp_path / "ws", vitest_tools, {"package.json": json.dumps(package)})
    clean = evaluate(make_runner(root))
    assert clean["TEST-JSTESTS"].passed and clean["TEST-JSCOVERAGE"].passed
    replace(root, "tests/math.test.ts", *TEST_DEFECT)
    res = evaluate(make_runner(root))
    for check_id in ("TEST-JSTESTS", "TEST-JSCOVERAGE"):
        r = res[check_id]
        assert not r.passed and r.error is not None and not r.findings, (check_id, r)
        assert "1 test(s) failed on a Node.js" in r.error and "requires Node.js >=999" in r.error
