"""TEST-EXISTS: the workspace has tests.

A Python test file matches ``artifacts.tests`` and defines a test (``def test…``,
``class Test…``, a ``unittest.TestCase``); ``__init__.py``, ``conftest.py`` and scripts
that are only named like tests (``plot_test.py`` with no test in it) do not count. In a
workspace without Python, the usual test files of other languages count instead
(``*.test.ts``, ``*.spec.js``, ``__tests__/``, ``*_test.go``, ``src/test/…/*Test.java``,
``tests/*.rs``, ``spec/*_spec.rb``…): a TypeScript project with no test at all fails
here like a Python one.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from phasegate.checks._outcomes import missing_file_outcome
from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.languages import no_python_reason
from phasegate.model import Severity

if TYPE_CHECKING:
    from phasegate.config import Config

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


class TestsExist(Check):
    __test__ = False  # not a pytest test class

    id = "TEST-EXISTS"
    title = "Tests exist"
    description = (
        "At least one test file matches `artifacts.tests` and defines a test "
        "(conftest.py, `__init__.py` and scripts only named like tests do not count). In a "
        "workspace without Python, the usual test files of other languages count "
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
        other_language = no_python_reason(ws) is not None
        if other_language:
            found = ws.glob(OTHER_LANGUAGE_TESTS)
            if found:
                return CheckOutcome(score=1.0)
        named = f" ({len(candidates)} file(s) named like tests define none)" if candidates else ""
        looked = ", ".join(tests + (OTHER_LANGUAGE_TESTS[:6] if other_language else []))
        return missing_file_outcome(
            ctx, "tests/", f"no tests: no test file defines a test{named}; looked for {looked}"
        )
