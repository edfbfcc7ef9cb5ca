"""TEST-EXISTS: the workspace has tests.

A Python test file matches ``artifacts.tests`` and defines a test (``def test…``,
``class Test…``, a ``unittest.TestCase``); ``__init__.py``, ``conftest.py`` and scripts
that are only named like tests (``plot_test.py`` with no test in it) do not count. In a
workspace without Python, the usual test files of other languages count instead
(``*.test.ts``, ``*.spec.js``, ``__tests__/``, ``*_test.go``, ``src/test/…/*Test.java``,
``tests/*.rs``, ``spec/*_spec.rb``…): a TypeScript project with no test at all fails
here like a Python one. So they do in a workspace mostly in another language with a few
Python files (a TypeScript project with a Python script).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from phasegate.checks._outcomes import missing_file_outcome
from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.languages import no_python_reason, source_languages
from phasegate.model import Severity

if TYPE_CHECKING:
    from phasegate.config import Config
    from phasegate.workspace import Workspace

NOT_TESTS = ("__init__.py", "conftest.py")
# What makes a Python file a test module rather than a script named like one.
TEST_DEFINITION = re.compile(
    r"^\s*(?:async\s+)?def\s+test|^\s*class\s+\w*Test|TestCase\b|^\s*@pytest\.|>>> ",
    re.MULTILINE,
)
# Test files of other languages, by their usual names and places.
OTHER_LANGUAGE_TESTS = [
    "*.test.ts", "*.test.tsx", "*.test.js", "*.test.jsx", "*.test.mjs", "*.test.cjs",
    "*.spec.ts", "*.spec.tsx", "*.spec.js", "*.spec.jsx", "*.spec.mjs",
    "**/__tests__/**", "*_test.go", "**/tests/**/*.rs", "**/src/test/**/*.java",
    "*Test.java", "*Tests.java", "*Test.kt", "**/spec/**/*_spec.rb", "**/test/**/*_test.rb",
    "*Tests.cs", "*Test.php", "**/Tests/**/*.swift", "*_test.dart", "**/test/**/*.exs",
]  # fmt: skip


def defines_tests(text: str) -> bool:
    """Whether a Python file's text defines at least one test."""
    return TEST_DEFINITION.search(text) is not None


def mostly_other_language(ws: Workspace) -> tuple[str, int, int] | None:
    """``(language, its files, Python files)`` when the workspace has Python but more
    source files in another language (a TypeScript project with a few Python scripts);
    None otherwise."""
    counts = source_languages(ws)
    python = counts.get("Python", 0)
    others = [(lang, n) for lang, n in counts.most_common() if lang != "Python"]
    if not python or not others or others[0][1] <= python:
        return None
    return others[0][0], others[0][1], python


def no_python_tests_reason(ws: Workspace, tests: list[str]) -> str | None:
    """Why the Python test checks (TEST-PYTEST, TEST-COVERAGE) have nothing to judge in a
    workspace whose Python is incidental: no Python test file defines a test, its sources
    are mostly in another language, and it has tests of other languages. None when the
    Python tests apply (a Python project without tests still fails for lack of them)."""
    mostly = mostly_other_language(ws)
    if mostly is None:
        return None
    candidates = [f for f in ws.glob(tests) if f.rsplit("/", 1)[-1] not in NOT_TESTS]
    if any(defines_tests(ws.read_text(f) or "") for f in candidates):
        return None
    found = ws.glob(OTHER_LANGUAGE_TESTS)
    if not found:
        return None
    lang, n, python = mostly
    return (
        f"no Python tests: the workspace is mostly {lang} ({n} files; Python: {python}) "
        f"and its tests are in other languages (e.g. {found[0]})"
    )


class TestsExist(Check):
    __test__ = False  # not a pytest test class

    id = "TEST-EXISTS"
    title = "Tests exist"
    description = (
        "At least one test file matches `artifacts.tests` and defines a test "
        "(conftest.py, `__init__.py` and scripts only named like tests do not count). In a "
        "workspace without Python, or mostly in another language, the usual test files of "
        "other languages count "
        "(`*.test.ts`, `*.spec.js`, `__tests__/`, `*_test.go`, `*Test.java`, …)."
    )
    scope = "project"
    default_owner = "qa_engineer"
    default_weight = 1.0
    default_blocking = True
    default_severity = Severity.ERROR

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return [*config.artifacts.tests, *OTHER_LANGUAGE_TESTS]

    def run(self, ctx: CheckContext) -> CheckOutcome:
        ws = ctx.workspace
        tests = ctx.config.artifacts.tests
        inputs = set(ctx.input_files())  # the configured inputs, less excludes
        candidates = [
            f for f in ws.glob(tests) if f.rsplit("/", 1)[-1] not in NOT_TESTS and f in inputs
        ]
        if any(defines_tests(ws.read_text(f) or "") for f in candidates):
            return CheckOutcome(score=1.0)
        other_language = no_python_reason(ws) is not None or mostly_other_language(ws) is not None
        if other_language:
            found = ws.glob(OTHER_LANGUAGE_TESTS)
            if found:
                return CheckOutcome(score=1.0)
        named = f" ({len(candidates)} file(s) named like tests define none)" if candidates else ""
        looked = ", ".join(tests + (OTHER_LANGUAGE_TESTS[:6] if other_language else []))
        return missing_file_outcome(
            ctx, "tests/", f"no tests: no test file defines a test{named}; looked for {looked}"
        )
