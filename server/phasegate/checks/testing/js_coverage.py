"""TEST-JSCOVERAGE: line coverage of the JavaScript/TypeScript sources by the projects' tests.

The tests run once for TEST-JSTESTS and this check (see
:mod:`phasegate.checks.testing.js_suite`); the runner writes istanbul's
``coverage-final.json`` (vitest with the project's ``@vitest/coverage-v8`` or
``-istanbul``; jest's built-in coverage). The project's own coverage settings apply
(``include``, ``exclude``, provider, jest's ``collectCoverageFrom``).

Line coverage is istanbul's: a line is covered when a statement starting on it ran, as
``coverage-summary.json``'s ``lines`` counts it. From there the rules are TEST-COVERAGE's
(:class:`phasegate.checks.testing.coverage.Coverage`): percent over the measured files
that are not test files (``*.test.*``, ``*.spec.*``, ``__tests__/``), unless
``include_tests``; score ``min(1, percent / target)``; passes at ``target`` (default 80);
findings on the uncovered line ranges of the files changed since it last passed; in
new-code mode, coverage of the new lines.

Not applicable without a project that declares vitest or jest, or when vitest has no
coverage provider installed or declared (coverage is then not measured: add
``@vitest/coverage-v8``). Could not run when the tests could not, or the provider is
declared but not installed. Skipped in an untrusted workspace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from phasegate.checks._javascript import JS_SOURCE_GLOBS, JS_TEST_GLOBS
from phasegate.checks.base import CheckContext, CheckOutcome
from phasegate.checks.testing.coverage import Coverage, CoverageOptions
from phasegate.checks.testing.js_suite import run_js_suite, suite_inputs, workspace_path
from phasegate.model import Severity
from phasegate.workspace import matches

if TYPE_CHECKING:
    from phasegate.config import Config


def istanbul_lines(entry: dict[str, Any]) -> tuple[list[int], list[int]]:
    """(covered, uncovered) 1-based lines of one file of istanbul's coverage-final.json:
    each statement counts on its first line; a line is covered when any statement
    starting there ran (istanbul's own ``getLineCoverage``)."""
    statements = entry.get("statementMap")
    counts = entry.get("s")
    if not isinstance(statements, dict) or not isinstance(counts, dict):
        return [], []
    lines: dict[int, int] = {}
    for key, loc in statements.items():
        start = loc.get("start") if isinstance(loc, dict) else None
        line = start.get("line") if isinstance(start, dict) else None
        count = counts.get(key)
        if not isinstance(line, int) or not isinstance(count, int) or line <= 0:
            continue
        lines[line] = max(lines.get(line, 0), count)
    covered = sorted(n for n, c in lines.items() if c > 0)
    missed = sorted(n for n, c in lines.items() if c == 0)
    return covered, missed


class JsCoverage(Coverage):
    id = "TEST-JSCOVERAGE"
    title = "Test coverage (JavaScript/TypeScript)"
    description = (
        "Line coverage of the JavaScript/TypeScript sources by the projects' tests, from "
        "the same vitest or jest run as TEST-JSTESTS (istanbul's coverage-final.json; the "
        "project's coverage settings apply). Test files are left out. Findings on the "
        "uncovered ranges of changed files. Score: min(1, percent / target). Not "
        "applicable when vitest has no coverage provider (@vitest/coverage-v8). Skipped "
        "in an untrusted workspace."
    )
    default_weight = 1.0
    Options = CoverageOptions

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return suite_inputs()

    def run(self, ctx: CheckContext) -> CheckOutcome:
        opts = ctx.options
        assert isinstance(opts, CoverageOptions)
        suite = run_js_suite(ctx, coverage=True)
        if suite.not_applicable:
            return CheckOutcome(score=1.0, not_applicable=suite.not_applicable)
        if suite.error:
            return CheckOutcome(score=0.0, error=suite.error)
        files: dict[str, dict[str, list[int]]] = {}
        errors: list[str] = []
        skipped: list[str] = []
        for run in suite.runs:
            if run.error or run.timed_out:
                errors.append(run.error or f"the tests ({run.label}) timed out")
                continue
            if run.coverage_skipped:
                skipped.append(run.coverage_skipped)
                continue
            if run.coverage is None:  # not measured: unknown, not zero
                errors.append(run.coverage_error or f"{run.label} measured no coverage")
                continue
            for raw, entry in run.coverage.items():
                if not isinstance(entry, dict):
                    continue
                raw_path = str(entry.get("path") or raw)
                rel = workspace_path(ctx.workspace, ctx.workspace.root, raw_path)
                if rel is None:
                    continue
                if not opts.include_tests and matches(rel, JS_TEST_GLOBS):
                    continue
                covered, missed = istanbul_lines(entry)
                files[rel] = {"executed_lines": covered, "missing_lines": missed}
        if errors:
            return CheckOutcome(score=0.0, error="; ".join(errors))
        if skipped and len(skipped) == len(suite.runs):
            return CheckOutcome(score=1.0, not_applicable="; ".join(skipped))
        return self.evaluate(ctx, opts, {"files": files})

    @staticmethod
    def _unmeasured_sources(ctx: CheckContext) -> list[str]:
        """The JavaScript/TypeScript source files (test files aside)."""
        return [
            p
            for p in ctx.workspace.glob(JS_SOURCE_GLOBS)
            if not matches(p, JS_TEST_GLOBS) and not p.endswith(".d.ts")
        ]

    @staticmethod
    def _measured_nothing(ctx: CheckContext, unmeasured: list[str]) -> CheckOutcome:
        count = f"{len(unmeasured)} source file{'s' if len(unmeasured) != 1 else ''}"
        finding = ctx.finding(
            unmeasured[0],
            f"the coverage report measured none of the {count}: the tests import none of "
            "them, or the runner's coverage settings (`include`, `collectCoverageFrom`) "
            "leave them out",
            line=0,
            severity=Severity.WARNING,
        )
        return CheckOutcome(findings=[finding], score=0.0, passed=False)
