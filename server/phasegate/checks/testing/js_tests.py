"""TEST-JSTESTS: the JavaScript/TypeScript projects' tests pass (vitest or jest).

Each Node project that declares ``vitest`` or ``jest`` runs its tests with its own runner
from ``node_modules/.bin`` (see :mod:`phasegate.checks.testing.js_suite`: one run,
shared with TEST-JSCOVERAGE). Each failing test is a finding at the line of its test file
where it failed (the ``file:line:col`` of the runner's report or stack), else where it is
defined, with the failure's message; a test file that failed to load is a finding at the
line that broke it. A run that finds no test fails ("no tests found"), as pytest's does
under TEST-PYTEST.

Score: share of tests that pass. A runner that could not run (not installed: the
message says which install command to run; no Node.js) or timed out leaves the result
unknown — never a pass. Not applicable without a package.json, or when no project
declares vitest or jest. Runs workspace code: skipped in an untrusted workspace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.checks.testing.js_suite import (
    ProjectRun,
    coverage_threshold_failure,
    run_js_suite,
    short_message,
    suite_inputs,
)
from phasegate.model import Finding, Range, Severity

if TYPE_CHECKING:
    from phasegate.config import Config


class JsTestsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_findings: int = Field(100, ge=1, description="Failing tests shown as findings at most.")


class JsTests(Check):
    id = "TEST-JSTESTS"
    # a failing test fails the gate whatever changed: new-code mode keeps the verdict
    new_code_rule = "whole"
    title = "Tests pass (vitest or jest)"
    description = (
        "Each project with a package.json that declares vitest or jest runs its tests with "
        "its own runner from `node_modules/.bin` (vitest's JUnit report, jest's JSON "
        "report); each failing test is a finding at the line of its test file where it "
        "failed. A run that finds no test fails. Score: share of tests that pass. A "
        "runner that is not installed, could not run or timed out leaves the result "
        "unknown (never a pass). Not applicable without vitest or jest in a package.json. "
        "Skipped in an untrusted workspace."
    )
    scope = "project"
    default_owner = "qa_engineer"
    default_weight = 2.0
    default_blocking = True
    default_severity = Severity.ERROR
    runs_workspace_code = True
    Options = JsTestsOptions

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return suite_inputs()

    def run(self, ctx: CheckContext) -> CheckOutcome:
        opts = ctx.options
        assert isinstance(opts, JsTestsOptions)
        suite = run_js_suite(ctx, coverage=False)
        if suite.not_applicable:
            return CheckOutcome(score=1.0, not_applicable=suite.not_applicable)
        if suite.error:
            return CheckOutcome(score=0.0, error=suite.error)
        errors: list[str] = []
        findings: list[Finding] = []
        counted = bad = 0
        clean = True
        for run in suite.runs:
            if run.error:
                errors.append(run.error)
                continue
            if run.timed_out:
                errors.append(
                    f"the tests ({run.label}) timed out after {suite.timeout:g} s and were "
                    "stopped, so their result is unknown: make them faster, or raise "
                    "`timeouts.tests` (or this check's `timeout`) in the configuration"
                )
                continue
            got, n_counted, n_bad, ok = self._judge(ctx, run, opts.max_findings - len(findings))
            findings += got
            counted += n_counted
            bad += n_bad
            clean = clean and ok
        if errors:
            return CheckOutcome(findings=findings, score=0.0, error="; ".join(errors))
        score = 1.0 - bad / counted if counted else 0.0
        return CheckOutcome(findings=findings, score=score, passed=clean and not bad)

    @staticmethod
    def _judge(
        ctx: CheckContext, run: ProjectRun, room: int
    ) -> tuple[list[Finding], int, int, bool]:
        """(findings, tests counted, tests failed, run ended cleanly) of one project."""
        p = run.project
        cases = run.cases
        counted = [c for c in cases if c.outcome != "skipped"]
        failed = [c for c in cases if c.outcome in ("failed", "error")]
        findings: list[Finding] = []
        if not counted:
            findings.append(
                ctx.finding(p.rel("package.json"), f"no tests found by {run.label}", line=0)
            )
            return findings, 0, 0, False
        for case in failed[: max(0, room)]:
            what = "failed" if case.outcome == "failed" else "could not run"
            where = case.file or p.rel("package.json")
            msg = f"{case.name} {what}: {short_message(case)}".rstrip(": ")
            line = case.line if case.file is not None and case.line is not None else 0
            rng = _line_range(ctx, where, line)
            findings.append(ctx.finding(where, f"{msg} [{run.label}]", rng))
        if len(failed) > room:
            findings.append(
                ctx.finding(
                    findings[-1].path if findings else p.rel("package.json"),
                    f"{len(failed) - max(0, room)} more failing tests not shown",
                    severity=Severity.INFO,
                )
            )
        clean = True
        if run.returncode not in (0, None) and not failed and not coverage_threshold_failure(run):
            # every test passed and yet the runner failed: an unhandled error, a crash
            clean = False
            findings.append(
                ctx.finding(
                    p.rel("package.json"),
                    f"{run.label} exited with code {run.returncode} though no test failed: "
                    f"{run.output_tail.strip()[-600:]}",
                    line=0,
                )
            )
        return findings, len(counted), len(failed), clean


def _line_range(ctx: CheckContext, path: str, line: int) -> Range:
    text = ctx.workspace.read_text(path)
    if text is None:
        return Range.lines(line)
    lines = text.splitlines()
    if 0 <= line < len(lines):
        s = lines[line]
        return Range.lines(line, len(s) - len(s.lstrip()), len(s))
    return Range.lines(line)
