"""GATE-INTEGRITY: changes that weaken the gate, judged against real git history.

Every test builds a git repository in ``tmp_path`` with a base commit, changes the
working tree, and runs the check through the engine in new-code mode since ``HEAD``
(the CLI once, end to end).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from phasegate.checks.base import get_check_class
from phasegate.checks.gate.integrity import GateIntegrity, suppression_markers
from phasegate.config import CheckConfig, Config, PhaseConfig
from phasegate.config_loader import load_config
from phasegate.model import CheckResult, Severity
from phasegate.newcode import resolve_new_code
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace

GIT = ("git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false")

# A cheap phase for the runner to add GATE-INTEGRITY to (no workspace code runs).
PHASES = """
[[phases]]
name = "testing"
[[phases.checks]]
id = "TEST-EXISTS"
"""
CONFIG = "thresholds = [0.6, 0.75, 0.85]\n" + PHASES

TESTS = """\
import pytest


def test_loads():
    assert load() == 1
    assert load() != 2


def test_saves():
    assert save() is None


class TestThing:
    def test_size(self):
        with pytest.raises(ValueError):
            size(-1)
        assert size(1) == 1
"""


def git(root: Path, *args: str) -> None:
    subprocess.run([*GIT, *args], cwd=root, check=True, capture_output=True, timeout=60)


def write(root: Path, files: dict[str, str | None]) -> None:
    """Write ``files`` under ``root`` (dedented); None deletes the file."""
    for rel, text in files.items():
        path = root / rel
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def repo(tmp_path: Path, files: dict[str, str | None], *, config: str | None = CONFIG) -> Path:
    """A git repository with ``files`` (and ``phasegate.toml``) committed as the base."""
    root = tmp_path / "ws"
    root.mkdir()
    git(root, "init", "-q")
    base: dict[str, str | None] = {".gitignore": ".phasegate/\n", **files}
    if config is not None:
        base["phasegate.toml"] = config
    write(root, base)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root


def integrity(root: Path, config: Config | None = None) -> CheckResult:
    """GATE-INTEGRITY's result for the working tree of ``root`` since ``HEAD``, as the
    runner adds it in new-code mode."""
    if config is None:
        config = load_config(root)
    ws = Workspace(root)
    runner = GateRunner(ws, config, new_code=resolve_new_code(ws, config, since="HEAD"))
    found = [rc for rc in runner.all_checks() if rc.config.id == "GATE-INTEGRITY"]
    assert len(found) == 1
    return runner.run_check(found[0])


def messages(result: CheckResult) -> list[str]:
    return [f.message for f in result.findings]


def at(result: CheckResult) -> list[tuple[str, int]]:
    return [(f.path, f.range.start.line) for f in result.findings]


def line_of(root: Path, path: str, text: str) -> int:
    """0-based line of the first line of ``path`` containing ``text``."""
    lines = (root / path).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines) if text in line)


def assert_clean(result: CheckResult) -> None:
    assert result.findings == [], messages(result)
    assert result.passed and result.score == 1.0


# -- the check as a check ----------------------------------------------------------------
def test_registered_with_its_defaults() -> None:
    cls = get_check_class("GATE-INTEGRITY")
    assert cls is GateIntegrity
    assert cls.scope == "project" and cls.uses_history and cls.new_code_rule == "whole"
    assert cls.default_blocking and cls.default_severity == Severity.ERROR
    assert "a person" in cls.description


def test_nothing_changed_passes(tmp_path: Path) -> None:
    root = repo(tmp_path, {"tests/test_x.py": TESTS, "app.py": "x = 1\n"})
    result = integrity(root)
    assert_clean(result)
    assert result.new_code is not None and result.new_code.held is False


def test_baseline_only_is_not_applicable(tmp_path: Path) -> None:
    root = repo(tmp_path, {"tests/test_x.py": TESTS})
    sarif = {"version": "2.1.0", "runs": [{"results": []}]}
    (root / "phasegate-baseline.sarif").write_text(json.dumps(sarif), encoding="utf-8")
    config = load_config(root)
    ws = Workspace(root)
    nc = resolve_new_code(ws, config, baseline="phasegate-baseline.sarif")
    assert nc is not None and nc.changes is None
    runner = GateRunner(ws, config, new_code=nc)
    (rc,) = [rc for rc in runner.all_checks() if rc.config.id == "GATE-INTEGRITY"]
    result = runner.run_check(rc)
    assert result.not_applicable is not None and "git reference" in result.not_applicable
    assert result.findings == []


def test_not_added_outside_new_code_mode(tmp_path: Path) -> None:
    root = repo(tmp_path, {"tests/test_x.py": TESTS})
    runner = GateRunner(Workspace(root), load_config(root))
    assert all(rc.config.id != "GATE-INTEGRITY" for rc in runner.all_checks())


# -- 1. tests deleted --------------------------------------------------------------------
def test_deleted_test_file_is_a_missing_file_finding(tmp_path: Path) -> None:
    root = repo(tmp_path, {"tests/test_x.py": TESTS, "tests/helpers.py": "def h():\n    pass\n"})
    write(root, {"tests/test_x.py": None, "tests/helpers.py": None})
    result = integrity(root)
    (f,) = result.findings  # helpers.py held no test: deleting it is not removing tests
    assert f.path == "tests/test_x.py" and f.missing_file
    assert "test file tests/test_x.py deleted" in f.message
    assert "test_loads" in f.message and "a person must approve" in f.message
    assert f.severity == Severity.ERROR
    assert not result.passed and result.score == 0.0


def test_renamed_test_file_is_not_deleted(tmp_path: Path) -> None:
    root = repo(tmp_path, {"tests/test_x.py": TESTS})
    git(root, "mv", "tests/test_x.py", "tests/test_renamed.py")
    text = (root / "tests/test_renamed.py").read_text(encoding="utf-8")
    write(root, {"tests/test_renamed.py": text + "\n\ndef test_more():\n    assert 1\n"})
    assert_clean(integrity(root))


def test_test_function_deleted_from_a_file_that_still_exists(tmp_path: Path) -> None:
    root = repo(tmp_path, {"tests/test_x.py": TESTS})
    write(
        root,
        {
            "tests/test_x.py": TESTS.replace(
                "def test_saves():\n    assert save() is None\n\n\n", ""
            )
        },
    )
    result = integrity(root)
    assert messages(result) == [
        "test test_saves deleted (tests/test_x.py): a person must approve removing a test"
    ]
    # where it was: right after the surviving test before it
    assert at(result) == [
        ("tests/test_x.py", line_of(root, "tests/test_x.py", "assert load() != 2") + 1)
    ]


def test_method_deleted_from_a_test_class(tmp_path: Path) -> None:
    extra = TESTS + "\n    def test_other(self):\n        assert size(2) == 2\n"
    root = repo(tmp_path, {"tests/test_x.py": extra})
    write(root, {"tests/test_x.py": TESTS})
    assert messages(integrity(root)) == [
        "test TestThing.test_other deleted (tests/test_x.py): a person must approve removing a test"
    ]


def test_tests_moved_or_renamed_are_not_deleted(tmp_path: Path) -> None:
    root = repo(tmp_path, {"tests/test_x.py": TESTS})
    moved = TESTS.replace("def test_saves():\n    assert save() is None\n\n\n", "").replace(
        "def test_loads():",
        "def test_loads_twice():",  # same body: renamed
    )
    write(
        root,
        {
            "tests/test_x.py": moved,
            # test_saves moved to another file, into a class
            "tests/test_y.py": (
                "class TestSaving:\n    def test_saves(self):\n        assert save() is None\n"
            ),
        },
    )
    assert_clean(integrity(root))


def test_test_moved_renamed_and_reformatted_is_not_deleted(tmp_path: Path) -> None:
    body = (
        "def test_happypath(pm):\n"
        "    pm.add_hookspecs(Api)\n"
        "    assert hasattr(pm.hook, 'hello')\n"
        "    assert pm.hook.hello(arg=3) == []\n"
    )
    root = repo(tmp_path, {"tests/test_relay.py": body + "\n\ndef test_other():\n    assert 1\n"})
    moved = (
        "def test_registry(pm):\n"
        '    """Hook callers are registered by name."""\n'
        "    pm.add_hookspecs(Api)  # same code: other quotes, a docstring, a comment\n"
        '    assert hasattr(pm.hook, "hello")\n'
        "    assert pm.hook.hello(arg=3) == []\n"
    )
    write(
        root,
        {"tests/test_relay.py": "def test_other():\n    assert 1\n", "tests/test_caller.py": moved},
    )
    assert_clean(integrity(root))


def test_tests_gone_from_a_file_renamed_and_rewritten(tmp_path: Path) -> None:
    cases = "".join(
        f"def test_case_{n}():\n    value = compute({n}, scale=2)\n"
        f"    assert value == {2 * n}\n\n\n"
        for n in range(8)
    )
    root = repo(tmp_path, {"tests/test_old.py": cases})
    rewritten = cases.replace("def test_case_7():", "def helper_7():")  # one test gone
    write(root, {"tests/test_old.py": None, "tests/unit/test_new.py": rewritten})
    assert messages(integrity(root)) == [
        "test test_case_7 deleted (tests/test_old.py, now tests/unit/test_new.py): a person "
        "must approve removing a test"
    ]


def test_test_renamed_and_reworded_is_not_deleted(tmp_path: Path) -> None:
    body = """\
    def test_build_ipv6_brackets():
        u = URL.build(scheme="http", host="[::1]")
        assert str(u) == "http://::1"
    """
    root = repo(tmp_path, {"tests/test_url.py": body})
    write(
        root,
        {
            "tests/test_url.py": """\
            def test_build_ipv6_brackets_encoded():
                u = URL.build(scheme="http", host="[::1]", encoded=True)
                assert str(u) == "http://[::1]"
            """
        },
    )
    assert_clean(integrity(root))


def test_same_name_in_another_changed_file_counts_once(tmp_path: Path) -> None:
    both = "def test_init():\n    assert 1\n"
    root = repo(tmp_path, {"tests/test_a.py": both, "tests/test_b.py": both})
    write(
        root,
        {"tests/test_a.py": "def test_kept():\n    assert 2\n", "tests/test_b.py": both + "\n"},
    )
    assert messages(integrity(root)) == [
        "test test_init deleted (tests/test_a.py): a person must approve removing a test"
    ]


def test_deleted_js_test_file(tmp_path: Path) -> None:
    spec = "import { f } from './f';\n\ntest('adds', () => {\n  expect(f(1)).toBe(2);\n});\n"
    root = repo(
        tmp_path, {"web/f.test.ts": spec, "web/f.ts": "export const f = (x: number) => x + 1;\n"}
    )
    write(root, {"web/f.test.ts": None})
    result = integrity(root)
    assert at(result) == [("web/f.test.ts", 0)]
    assert result.findings[0].missing_file
    assert "test file web/f.test.ts deleted" in result.findings[0].message


def test_js_test_file_renamed_and_reworded_is_not_deleted(tmp_path: Path) -> None:
    cases = "".join(
        f"  test('renders the assistant {n}', async () => {{\n"
        f"    render(<History n={{{n}}} />);\n"
        f"    await screen.findByRole('table');\n"
        f"    expect(screen.getAllByRole('row')).toHaveLength({n});\n  }});\n\n"
        for n in range(6)
    )
    head = "import { render, screen } from '@testing-library/react';\n\n"
    spec = f"{head}describe('history', () => {{\n{cases}}});\n"
    root = repo(tmp_path, {"web/assistant.test.tsx": spec})
    write(
        root,
        {"web/assistant.test.tsx": None, "web/staff.test.tsx": spec.replace("assistant", "staff")},
    )
    assert_clean(integrity(root))


def test_a_test_file_that_does_not_parse_now_is_left_to_the_syntax_check(tmp_path: Path) -> None:
    root = repo(tmp_path, {"tests/test_x.py": TESTS})
    write(root, {"tests/test_x.py": TESTS.replace("def test_saves():", "def test_saves(:")})
    assert_clean(integrity(root))


# -- 2. tests newly skipped or xfailed ---------------------------------------------------
def test_skip_decorator_added(tmp_path: Path) -> None:
    root = repo(tmp_path, {"tests/test_x.py": TESTS})
    write(
        root,
        {
            "tests/test_x.py": TESTS.replace(
                "def test_saves", '@pytest.mark.skip(reason="later")\ndef test_saves'
            )
        },
    )
    result = integrity(root)
    assert messages(result) == [
        'test test_saves newly skipped by `@pytest.mark.skip(reason="later")` '
        "(tests/test_x.py): a person must approve skipping a test"
    ]
    assert at(result) == [
        ("tests/test_x.py", line_of(root, "tests/test_x.py", "@pytest.mark.skip"))
    ]


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        ('@pytest.mark.xfail(reason="flaky")\n    def test_size', "marked to fail (xfail)"),
        ('@unittest.skipIf(sys.platform == "win32", "posix")\n    def test_size', "skipped"),
        ("@unittest.expectedFailure\n    def test_size", "marked to fail (xfail)"),
    ],
)
def test_other_skip_and_xfail_decorators(tmp_path: Path, change: str, kind: str) -> None:
    root = repo(tmp_path, {"tests/test_x.py": "import sys\nimport unittest\n" + TESTS})
    write(
        root,
        {
            "tests/test_x.py": "import sys\nimport unittest\n"
            + TESTS.replace("def test_size", change)
        },
    )
    (msg,) = messages(integrity(root))
    assert msg.startswith(f"test TestThing.test_size newly {kind} by `@")


def test_skip_call_in_the_body_and_module_pytestmark(tmp_path: Path) -> None:
    root = repo(
        tmp_path, {"tests/test_x.py": TESTS, "tests/test_y.py": "def test_y():\n    assert 1\n"}
    )
    write(
        root,
        {
            "tests/test_x.py": TESTS.replace(
                "def test_loads():\n", 'def test_loads():\n    pytest.skip("broken")\n'
            ),
            "tests/test_y.py": (
                'import pytest\n\npytestmark = pytest.mark.skip("wip")\n\n\n'
                "def test_y():\n    assert 1\n"
            ),
        },
    )
    result = integrity(root)
    assert messages(result) == [
        'test test_loads newly skipped by `pytest.skip("broken")` (tests/test_x.py): a person '
        "must approve skipping a test",
        'test test_y newly skipped by `pytestmark = pytest.mark.skip("wip")` (tests/test_y.py): '
        "a person must approve skipping a test",
    ]
    assert at(result) == [("tests/test_x.py", 4), ("tests/test_y.py", 2)]


def test_class_skip_names_every_test_once(tmp_path: Path) -> None:
    two = TESTS + "\n    def test_other(self):\n        assert size(2) == 2\n"
    root = repo(tmp_path, {"tests/test_x.py": two})
    write(
        root,
        {"tests/test_x.py": two.replace("class TestThing:", "@pytest.mark.skip\nclass TestThing:")},
    )
    (msg,) = messages(integrity(root))
    assert msg.startswith(
        "2 tests newly skipped (TestThing.test_size, TestThing.test_other) by `@pytest.mark.skip`"
    )


def test_already_skipped_or_new_tests_are_not_newly_skipped(tmp_path: Path) -> None:
    skipped = TESTS.replace("def test_saves", '@pytest.mark.skip(reason="later")\ndef test_saves')
    root = repo(tmp_path, {"tests/test_x.py": skipped})
    write(
        root,
        {
            # the reason edited: already skipped at the base
            "tests/test_x.py": skipped.replace('reason="later"', 'reason="much later"'),
            # a test added by the change, skipped: nothing was lost
            "tests/test_new.py": (
                "import pytest\n\n\n@pytest.mark.skip\ndef test_new():\n    assert 1\n"
            ),
        },
    )
    assert_clean(integrity(root))


def test_js_skips_on_added_lines(tmp_path: Path) -> None:
    spec = (
        "describe('f', () => {\n  it('adds', () => {\n    expect(f(1)).toBe(2);\n  });\n"
        "  it.skip('old', () => {});\n});\n"
    )
    root = repo(tmp_path, {"web/f.test.ts": spec})
    write(
        root,
        {
            "web/f.test.ts": spec.replace("  it('adds'", "  it.skip('adds'").replace(
                "it.skip('old', () => {});", "it.skip('old one', () => {});\n  it.todo('later');"
            )
        },
    )
    result = integrity(root)
    assert messages(result) == [
        "test newly skipped: `it.skip` (web/f.test.ts): a person must approve skipping a test",
        "test newly left to do: `it.todo` (web/f.test.ts): a person must approve skipping a test",
    ]
    assert at(result) == [("web/f.test.ts", 1), ("web/f.test.ts", 5)]


# -- 3. assertions removed ---------------------------------------------------------------
def test_assertions_removed(tmp_path: Path) -> None:
    root = repo(tmp_path, {"tests/test_x.py": TESTS})
    weaker = TESTS.replace("    assert load() != 2\n", "").replace(
        "        with pytest.raises(ValueError):\n            size(-1)\n", ""
    )
    write(root, {"tests/test_x.py": weaker})
    result = integrity(root)
    assert messages(result) == [
        "test test_loads lost assertions: 2 at the base, 1 now (tests/test_x.py): a person "
        "must approve weakening a test",
        "test TestThing.test_size lost assertions: 2 at the base, 1 now (tests/test_x.py): a "
        "person must approve weakening a test",
    ]
    assert at(result) == [
        ("tests/test_x.py", line_of(root, "tests/test_x.py", "def test_loads")),
        ("tests/test_x.py", line_of(root, "tests/test_x.py", "def test_size")),
    ]


def test_unittest_assertions_counted_and_edits_kept(tmp_path: Path) -> None:
    case = (
        "import unittest\n\n\n"
        "class Parse(unittest.TestCase):\n"
        "    def test_parse(self):\n"
        '        self.assertEqual(parse("1"), 1)\n'
        '        self.assertRaises(ValueError, parse, "x")\n'
        "        mock.assert_called_once()\n"
    )
    root = repo(tmp_path, {"tests/test_p.py": case})
    # values changed, one assertion added: not weaker
    stronger = case.replace('"1"), 1', '"2"), 2') + "        self.assertTrue(True)\n"
    write(root, {"tests/test_p.py": stronger})
    assert_clean(integrity(root))
    weaker = case.replace('        self.assertRaises(ValueError, parse, "x")\n', "")
    write(root, {"tests/test_p.py": weaker})
    (msg,) = messages(integrity(root))
    assert msg.startswith("test Parse.test_parse lost assertions: 3 at the base, 2 now")


# -- 4. new suppressions -----------------------------------------------------------------
APP = """\
import os


def f(x):
    return os.sep + x  # noqa: E501


def g():
    return 1
"""


def test_new_noqa_and_type_ignore(tmp_path: Path) -> None:
    root = repo(tmp_path, {"app.py": APP})
    write(
        root,
        {
            "app.py": APP.replace(
                "    return 1\n", "    return h()  # type: ignore[name-defined]\n"
            )
            + 'S = "# noqa"  # a string, not a comment\n'
            + "import sys  # noqa: F401\n"
        },
    )
    result = integrity(root)
    assert messages(result) == [
        "new suppression `# type: ignore[name-defined]` (app.py): a person must approve "
        "silencing a check",
        "new suppression `# noqa: F401` (app.py): a person must approve silencing a check",
    ]
    line = line_of(root, "app.py", "import sys")
    f = result.findings[1]
    assert (f.range.start.line, f.range.start.character) == (line, len("import sys  "))


def test_edited_line_that_already_had_its_noqa_is_not_new(tmp_path: Path) -> None:
    root = repo(tmp_path, {"app.py": APP})
    write(root, {"app.py": APP.replace("os.sep + x  # noqa: E501", "os.sep + x + x  # noqa: E501")})
    assert_clean(integrity(root))


def test_a_rule_added_to_an_existing_noqa_is_new(tmp_path: Path) -> None:
    root = repo(tmp_path, {"app.py": APP})
    write(root, {"app.py": APP.replace("# noqa: E501", "# noqa: E501, F821")})
    assert messages(integrity(root)) == [
        "new suppression `# noqa: E501, F821` (F821 added) (app.py): a person must approve "
        "silencing a check"
    ]


def test_a_rule_renamed_on_the_same_line_is_not_new(tmp_path: Path) -> None:
    code = "@hookimpl(**{name: val})  # type: ignore[misc]\ndef f():\n    pass\n"
    root = repo(tmp_path, {"app.py": code})
    write(root, {"app.py": code.replace("[misc]", "[untyped-decorator]")})
    assert_clean(integrity(root))


def test_suppression_moved_or_copied_from_another_changed_file_is_not_new(tmp_path: Path) -> None:
    imports = "from pkg._speedups import Quoter  # type: ignore[import-not-found]\n"
    root = repo(tmp_path, {"pkg/a.py": imports + "A = 1\n", "pkg/b.py": "x = 1  # noqa: E731\n"})
    write(
        root,
        {
            "pkg/a.py": imports + "A = 2\n",  # changed, keeps its line
            "pkg/split.py": imports + "B = 1\n",  # split out of a.py, with the same import
            "pkg/b.py": "x = 2\n",
            "pkg/c.py": "x = 1  # noqa: E731\n",  # moved from b.py
        },
    )
    assert_clean(integrity(root))


def test_a_short_line_found_elsewhere_is_still_new(tmp_path: Path) -> None:
    root = repo(
        tmp_path, {"pkg/a.py": "def f():\n    pass  # pragma: no cover\n", "pkg/b.py": "B = 1\n"}
    )
    write(
        root,
        {
            "pkg/a.py": "def f():\n    pass  # pragma: no cover\n\n\nA = 1\n",
            "pkg/b.py": "B = 1\n\n\ndef g():\n    pass  # pragma: no cover\n",
        },
    )
    assert at(integrity(root)) == [("pkg/b.py", 4)]


def test_js_and_ts_suppressions(tmp_path: Path) -> None:
    src = "export function f(x: number): number {\n  return x;\n}\n"
    root = repo(tmp_path, {"web/f.ts": src, "README.md": "x\n"})
    write(
        root,
        {
            "web/f.ts": "// @ts-nocheck\n"
            + src.replace(
                "  return x;", "  // @ts-ignore\n  return x.y; // eslint-disable-line no-console"
            ),
            "README.md": "Use `# noqa` and `// @ts-ignore` sparingly.\n",  # not code
        },
    )
    result = integrity(root)
    assert [m.split(" (")[0] for m in messages(result)] == [
        "new suppression `@ts-nocheck`",
        "new suppression `@ts-ignore`",
        "new suppression `eslint-disable-line no-console`",
    ]


def test_state_folder_and_vendored_code_are_not_judged(tmp_path: Path) -> None:
    root = repo(tmp_path, {"app.py": APP}, config=CONFIG)
    (root / ".gitignore").unlink()  # .phasegate/ is never read, ignored by git or not
    git(root, "commit", "-qam", "no gitignore")
    write(
        root,
        {
            ".phasegate/backups/1/app.py": APP + "import sys  # noqa: F401\n",
            "vendor/lib.py": "import sys  # noqa: F401\n",
        },
    )
    assert_clean(integrity(root))


def test_findings_cannot_be_silenced(tmp_path: Path) -> None:
    root = repo(tmp_path, {"app.py": APP})
    write(root, {"app.py": APP + "import sys  # noqa: F401  # phasegate: ignore[GATE-INTEGRITY]\n"})
    result = integrity(root)
    assert [m.split(" (")[0] for m in messages(result)] == [
        "new suppression `# noqa: F401`",
        "new suppression `# phasegate: ignore[GATE-INTEGRITY]`",
    ]
    assert not result.passed


def test_markers_are_read_from_comments() -> None:
    text = 'x = "# noqa"  # type: ignore[misc, attr-defined]\ns = """\n# pragma: no cover\n"""\n'
    found = [(m.kind, m.code, m.line) for m in suppression_markers(text, "py")]
    assert found == [("# type: ignore", "attr-defined", 0), ("# type: ignore", "misc", 0)]


# -- 5. the gate policy loosened ---------------------------------------------------------
def policy_change(tmp_path: Path, before: str, after: str) -> CheckResult:
    root = repo(tmp_path, {"tests/test_x.py": TESTS}, config=before)
    write(root, {"phasegate.toml": after})
    return integrity(root)


def test_thresholds_lowered(tmp_path: Path) -> None:
    result = policy_change(tmp_path, CONFIG, CONFIG.replace("0.85]", "0.8]"))
    assert messages(result) == [
        "gate thresholds lowered from [0.6, 0.75, 0.85] to [0.6, 0.75, 0.8] (phasegate.toml): "
        "a person must approve loosening the gate"
    ]
    assert at(result) == [("phasegate.toml", 0)]


def test_thresholds_shortened_so_a_later_iteration_is_lower(tmp_path: Path) -> None:
    result = policy_change(tmp_path, CONFIG, CONFIG.replace("[0.6, 0.75, 0.85]", "[0.6, 0.75]"))
    assert len(result.findings) == 1 and "thresholds lowered" in result.findings[0].message


def test_raising_thresholds_and_iteration_limits_is_not_loosening(tmp_path: Path) -> None:
    after = "max_phase_iterations = 9\nmax_global_iterations = 50\n" + CONFIG.replace(
        "0.6,", "0.7,"
    )
    assert_clean(policy_change(tmp_path, CONFIG, after))


def test_checks_switched_off_removed_unblocked_or_lighter(tmp_path: Path) -> None:
    before = CONFIG + textwrap.dedent(
        """
        [[phases.checks]]
        id = "TEST-COVERAGE"
        options = { target = 90 }
        [[phases.checks]]
        id = "TEST-PYTEST"
        [[phases.checks]]
        id = "TEST-TRACE"
        weight = 2.0

        [[phases]]
        name = "implementation"
        [[phases.checks]]
        id = "IMPL-SYNTAX"
        """
    )
    after = CONFIG.replace('id = "TEST-EXISTS"', 'id = "TEST-EXISTS"\nweight = 0.5') + (
        textwrap.dedent(
            """
            [[phases.checks]]
            id = "TEST-COVERAGE"
            options = { target = 70 }
            [[phases.checks]]
            id = "TEST-PYTEST"
            blocking = false
            [[phases.checks]]
            id = "TEST-TRACE"
            enabled = false
            """
        )
    )
    root = repo(tmp_path, {"tests/test_x.py": TESTS}, config=before)
    write(root, {"phasegate.toml": after})
    result = integrity(root)
    got = {
        m.split(" (phasegate.toml)")[0]: line
        for m, (_p, line) in zip(messages(result), at(result), strict=True)
    }
    text = after.splitlines()
    assert got == {
        "check TEST-EXISTS weight cut from 1 to 0.5": text.index("weight = 0.5"),
        "TEST-COVERAGE coverage target lowered from 90% to 70%": text.index(
            "options = { target = 70 }"
        ),
        "check TEST-PYTEST no longer blocking": text.index("blocking = false"),
        "check TEST-TRACE switched off (enabled = false)": text.index("enabled = false"),
        "phase implementation removed with its checks IMPL-SYNTAX": text.index("[[phases]]"),
    }


def test_new_code_settings_loosened(tmp_path: Path) -> None:
    before = CONFIG + '\n[new_code]\nsince = "origin/main"\nblocking = ["error", "warning"]\n'
    after = CONFIG + (
        '\n[new_code]\nsince = "HEAD~50"\nblocking = ["error"]\nintegrity = false\n'
        "small_change_lines = 500\n"
    )
    result = policy_change(tmp_path, before, after)
    assert [m.split(" (phasegate.toml)")[0] for m in messages(result)] == [  # in file order
        "the new-code reference new_code.since changed from 'origin/main' to 'HEAD~50'",
        "new findings of severity warning no longer block (new_code.blocking)",
        "GATE-INTEGRITY switched off (new_code.integrity)",
        "new_code.small_change_lines raised from 20 to 500 (coverage of new code judged less "
        "often)",
    ]


def test_config_in_pyproject_and_coverage_fail_under(tmp_path: Path) -> None:
    pyproject = textwrap.dedent(
        """\
        [project]
        name = "x"

        [tool.phasegate]
        thresholds = [0.7, 0.9]

        [[tool.phasegate.phases]]
        name = "testing"
        [[tool.phasegate.phases.checks]]
        id = "TEST-EXISTS"

        [tool.coverage.report]
        fail_under = 95
        """
    )
    root = repo(
        tmp_path,
        {"pyproject.toml": pyproject, ".coveragerc": "[report]\nfail_under = 90\n"},
        config=None,
    )
    write(
        root,
        {
            "pyproject.toml": pyproject.replace("[0.7, 0.9]", "[0.7, 0.8]").replace("95", "85"),
            ".coveragerc": "[report]\nfail_under = 80\n",
        },
    )
    result = integrity(root)
    assert messages(result) == [
        "coverage.py fail_under lowered from 90 to 80 (.coveragerc): a person must approve "
        "loosening the gate",
        "gate thresholds lowered from [0.7, 0.9] to [0.7, 0.8] (pyproject.toml): a person must "
        "approve loosening the gate",
    ]
    assert at(result) == [(".coveragerc", 1), ("pyproject.toml", 4)]


def test_coverage_floor_on_a_command_line_and_ruff_ignores(tmp_path: Path) -> None:
    make = "coverage:\n\tcoverage report --fail-under=100\n"
    ruff = (
        '[tool.ruff.lint]\nignore = ["E501"]\n\n'
        '[tool.ruff.lint.per-file-ignores]\n"tests/*" = ["S101"]\n'
    )
    root = repo(tmp_path, {"Makefile": make, "pyproject.toml": ruff})
    write(
        root,
        {
            "Makefile": make.replace("100", "99"),
            "pyproject.toml": ruff.replace('["E501"]', '["E501", "BLE001"]').replace(
                '["S101"]', '["S101", "TRY002"]'
            ),
        },
    )
    assert [m.split(" (")[0] for m in messages(integrity(root))] == [
        "coverage floor --fail-under lowered from 100 to 99",
        "ruff now ignores BLE001 everywhere",
        "ruff now ignores TRY002 in files matching 'tests/*'",
    ]


def test_base_config_that_does_not_load_is_not_compared(tmp_path: Path) -> None:
    broken = CONFIG + '\n[[phases.checks]]\nid = "NO-SUCH-CHECK"\n'
    assert_clean(policy_change(tmp_path, broken, CONFIG.replace("0.85]", "0.5]")))


def test_config_deleted_falls_back_to_defaults(tmp_path: Path) -> None:
    strict = "thresholds = [0.9]\n"
    root = repo(tmp_path, {"tests/test_x.py": TESTS}, config=strict)
    write(root, {"phasegate.toml": None})
    config = Config(phases=[PhaseConfig(name="testing", checks=[CheckConfig(id="TEST-EXISTS")])])
    result = integrity(root, config)
    (f,) = result.findings
    assert f.path == "phasegate.toml" and f.missing_file
    assert f.message.startswith("gate thresholds lowered from [0.9] to [0.6, 0.75, 0.85]")


def test_baseline_grown(tmp_path: Path) -> None:
    def sarif(n: int) -> str:
        results = [{"ruleId": "X", "message": {"text": f"m{i}"}} for i in range(n)]
        return json.dumps({"version": "2.1.0", "runs": [{"results": results}]})

    root = repo(tmp_path, {"phasegate-baseline.sarif": sarif(1)})
    write(root, {"phasegate-baseline.sarif": sarif(3)})
    assert messages(integrity(root)) == [
        "baseline phasegate-baseline.sarif grew from 1 to 3 findings: a person must approve "
        "accepting findings into the baseline"
    ]
    write(root, {"phasegate-baseline.sarif": sarif(0)})
    assert_clean(integrity(root))


def test_integrity_switched_off_in_the_same_change_still_runs(tmp_path: Path) -> None:
    after = CONFIG + "\n[new_code]\nintegrity = false\n"
    result = policy_change(tmp_path, CONFIG, after)
    assert [m.split(" (")[0] for m in messages(result)] == ["GATE-INTEGRITY switched off"]


# -- end to end --------------------------------------------------------------------------
def loosen_everything(tmp_path: Path) -> Path:
    root = repo(
        tmp_path, {"tests/test_x.py": TESTS, "tests/test_y.py": "def test_y():\n    assert 1\n"}
    )
    write(
        root,
        {
            "tests/test_y.py": None,
            "tests/test_x.py": TESTS.replace("def test_saves", "@pytest.mark.skip\ndef test_saves"),
            "phasegate.toml": CONFIG.replace("0.85]", "0.7]"),
        },
    )
    return root


EXPECTED = [
    ("phasegate.toml", 0, "gate thresholds lowered"),
    ("tests/test_x.py", 8, "test test_saves newly skipped"),
    ("tests/test_y.py", 0, "test file tests/test_y.py deleted"),
]


def test_end_to_end_through_the_engine(tmp_path: Path) -> None:
    root = loosen_everything(tmp_path)
    config = load_config(root)
    ws = Workspace(root)
    runner = GateRunner(ws, config, new_code=resolve_new_code(ws, config, since="HEAD"))
    gate = runner.evaluate("testing", config.thresholds[-1])
    (check,) = [c for c in gate.checks if c.id == "GATE-INTEGRITY"]
    got = [(f.path, f.range.start.line, f.message) for f in check.findings]
    assert [(p, n) for p, n, _ in got] == [(p, n) for p, n, _ in EXPECTED]
    assert all(m.startswith(e) for (_p, _n, m), (_q, _l, e) in zip(got, EXPECTED, strict=True))
    assert not check.passed and check.blocking
    assert not gate.passed
    assert all(f.baseline_state == "new" for f in check.findings)


def test_end_to_end_through_the_cli(tmp_path: Path) -> None:
    root = loosen_everything(tmp_path)
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "phasegate",
            "validate",
            str(root),
            "--since",
            "HEAD",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    findings = [
        f
        for gate in doc["phases"]
        for check in gate["checks"]
        if check["id"] == "GATE-INTEGRITY"
        for f in check["findings"]
    ]
    got = [(f["path"], f["range"]["start"]["line"], f["message"]) for f in findings]
    assert [(p, n) for p, n, _ in got] == [(p, n) for p, n, _ in EXPECTED]
    assert all(m.startswith(e) for (_p, _n, m), (_q, _l, e) in zip(got, EXPECTED, strict=True))


def _cli(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phasegate", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        cwd=root,
    )


def test_a_person_approves_a_flagged_change(tmp_path: Path) -> None:
    """`phasegate approve` lists what waits, records an approval by id, and GATE-INTEGRITY
    leaves the approved change out; a program phasegate started cannot approve."""
    root = loosen_everything(tmp_path)
    listed = _cli(root, "approve", "--since", "HEAD")
    assert listed.returncode == 1, listed.stderr
    lines = [ln for ln in listed.stdout.splitlines() if ": " in ln and ln[:12].isalnum()]
    assert len(lines) == 3
    skipped = next(ln for ln in lines if "newly skipped" in ln)
    finding_id = skipped.split()[0]

    refused = _cli(root, "approve", finding_id, "--since", "HEAD", env={"PHASEGATE_RUN": "x"})
    assert refused.returncode == 2 and "cannot approve" in refused.stderr

    done = _cli(root, "approve", finding_id, "--since", "HEAD", "-m", "flaky on CI")
    assert done.returncode == 1, done.stderr  # two changes still wait
    assert "1 approved; 2 still wait" in done.stdout
    approvals = json.loads((root / ".phasegate" / "approvals.json").read_text())
    assert approvals["approvals"][0]["note"] == "flaky on CI"

    config = load_config(root)
    ws = Workspace(root)
    runner = GateRunner(ws, config, new_code=resolve_new_code(ws, config, since="HEAD"))
    gate = runner.evaluate("testing", config.thresholds[-1])
    (check,) = [c for c in gate.checks if c.id == "GATE-INTEGRITY"]
    messages = [f.message for f in check.findings]
    assert len(messages) == 2 and not any("newly skipped" in m for m in messages)

    rest = _cli(root, "approve", "--all", "--since", "HEAD")
    assert rest.returncode == 0, rest.stdout + rest.stderr
    assert _cli(root, "approve", "--since", "HEAD").stdout.strip() == "nothing waits for approval"
    unknown = _cli(root, "approve", "0123456789ab", "--since", "HEAD")
    assert unknown.returncode == 2 and "not flagged now" in unknown.stderr
