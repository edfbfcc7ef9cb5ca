"""TEST-COVERAGE: line coverage of the source files by the workspace's tests.

The suite runs once under ``<python> -m coverage run -m pytest`` (shared with
TEST-PYTEST, see :func:`phasegate.checks.testing.pytest_run.run_suite`); coverage.py's
JSON report gives, per file, the statements executed and missed. The workspace's own
coverage configuration (``.coveragerc``, ``[tool.coverage]``) applies.

* Percent: covered statements / statements, over the measured files that are not test
  files (``artifacts.tests``), unless ``include_tests``.
* Score: ``min(1, percent / target)``; passes when percent >= target (default 80).
* Findings: the uncovered line ranges of the files changed since the last time this
  check passed (content hashes kept in ``.phasegate/cache/``), or of every file when it
  never passed; at most ``max_findings`` of them, then one summary finding.
* A run that measured the wrong thing is unknown, not a percentage: when TEST-PYTEST
  cannot judge the suite (its interpreter lacks the test dependencies, the tests import
  another copy of the project, ...), or pytest stopped at a collection error before any
  test ran, the check could not run, with the same reason.
* Measuring none of the workspace's source files is not 100%: when coverage.py's report
  holds no source file while the workspace has some (typically a ``source`` setting
  naming another package), the check fails with a finding at that setting.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from phasegate.checks.base import CheckContext, CheckOutcome
from phasegate.checks.testing.exists import no_python_tests_reason
from phasegate.checks.testing.pytest_run import (
    SuiteCheck,
    SuiteRun,
    _rel,
    outcome_of_run,
    run_suite,
    tests_anchor,
)
from phasegate.fsutil import atomic_write_text
from phasegate.languages import no_python_reason
from phasegate.model import Finding, Range, Severity
from phasegate.toml_locate import TOMLDecodeError, key_positions, toml_loads
from phasegate.workspace import Workspace, matches

if TYPE_CHECKING:
    from phasegate.newcode import NewCode, NewCodeVerdict

# where coverage.py reads its settings, in its order, with the section of [run] there
_INI_FILES = ((".coveragerc", "run"), ("setup.cfg", "coverage:run"), ("tox.ini", "coverage:run"))
_SOURCE_KEYS = ("source", "source_pkgs")


class CoverageOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: float = Field(80.0, ge=0.0, le=100.0, description="Required line coverage, percent.")
    max_findings: int = Field(50, ge=1, description="Uncovered ranges shown at most.")
    include_tests: bool = Field(False, description="Count the test files themselves.")


def uncovered_ranges(executed: list[int], missing: list[int]) -> list[tuple[int, int]]:
    """Runs of consecutive missed statements (1-based first and last line of each)."""
    miss = set(missing)
    out: list[tuple[int, int]] = []
    start: int | None = None
    prev: int | None = None
    for line in sorted(set(executed) | miss):
        if line in miss:
            if start is None:
                start = line
            prev = line
        elif start is not None and prev is not None:
            out.append((start, prev))
            start = prev = None
    if start is not None and prev is not None:
        out.append((start, prev))
    return out


def _stopped_reason(run: SuiteRun) -> str:
    files = sorted({c.file or c.name for c in run.cases if c.outcome == "error"})
    where = f" at a collection error in {', '.join(files)}" if files else ""
    return (
        f"pytest stopped{where} before running the tests (exit code 2), so the coverage "
        "it measured is not the tests': fix what TEST-PYTEST reports, then validate again"
    )


def _history_path(ws: Workspace, key: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)
    return ws.state_dir / "cache" / f"coverage-history-{safe}.json"


def load_history(ws: Workspace, key: str) -> dict[str, str] | None:
    try:
        data = json.loads(_history_path(ws, key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else None


def save_history(ws: Workspace, key: str, files: dict[str, str]) -> None:
    target = _history_path(ws, key)
    target.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # without a history, the next run reports all files
        atomic_write_text(target, json.dumps({"files": files}), fsync=False)


def source_setting(ws: Workspace) -> tuple[str, int] | None:
    """(file, 0-based line) of coverage.py's ``source``/``source_pkgs`` setting, looked
    for where coverage.py reads it; None when no file sets it."""
    for name, section in _INI_FILES:
        text = ws.read_text(name)
        if text is None:
            continue
        current = ""
        for i, line in enumerate(text.splitlines()):
            stripped = line.strip()
            if stripped.startswith("[") and stripped.endswith("]"):
                current = stripped[1:-1].strip()
            elif current == section and stripped.split("=", 1)[0].strip() in _SOURCE_KEYS:
                return name, i
    text = ws.read_text("pyproject.toml")
    if text is None:
        return None
    try:
        run = toml_loads(text).get("tool", {}).get("coverage", {}).get("run", {})
    except (TOMLDecodeError, AttributeError):
        return None
    positions = key_positions(text)
    for key in _SOURCE_KEYS:
        if isinstance(run, dict) and key in run:
            pos = positions.get(("tool", "coverage", "run", key))
            return "pyproject.toml", (pos[0] - 1 if pos else 0)
    return None


class Coverage(SuiteCheck):
    id = "TEST-COVERAGE"
    title = "Test coverage"
    description = (
        "Line coverage of the source files by the tests (coverage.py); findings on the "
        "uncovered ranges of changed files. A report that measured none of the source "
        "files fails, at coverage.py's `source` setting. A suite that could not run (its "
        "test dependencies missing, stopped at a collection error) leaves it unknown. "
        "Score: min(1, percent / target)."
    )
    default_weight = 1.0
    Options = CoverageOptions

    def run(self, ctx: CheckContext) -> CheckOutcome:
        opts = ctx.options
        assert isinstance(opts, CoverageOptions)
        ws = ctx.workspace
        reason = no_python_reason(ws) or no_python_tests_reason(ws, ctx.config.artifacts.tests)
        if reason is not None:
            return CheckOutcome(score=1.0, not_applicable=reason)
        run = run_suite(ctx, coverage=True)
        if run.error or run.timed_out:
            return outcome_of_run(ctx, run)  # the same error / timeout finding as pytest
        # a suite TEST-PYTEST cannot judge (its environment lacks the test dependencies,
        # the tests import another copy of the project, ...) measured the wrong thing too
        suite = outcome_of_run(ctx, run)
        if suite.error is not None:
            return CheckOutcome(score=0.0, error=suite.error)
        if run.returncode == 2:  # pytest stopped (at a collection error) before the tests
            return CheckOutcome(score=0.0, error=_stopped_reason(run))
        if run.coverage is None:  # not measured: the coverage is unknown, not zero
            return CheckOutcome(score=0.0, error=run.coverage_error or "no coverage data")
        return self.evaluate(ctx, opts, run.coverage)

    def evaluate(
        self, ctx: CheckContext, opts: CoverageOptions, data: dict[str, Any]
    ) -> CheckOutcome:
        ws = ctx.workspace
        tests = ctx.config.artifacts.tests
        per_file: dict[str, tuple[list[int], list[int]]] = {}
        statements = covered = 0
        for raw, entry in (data.get("files") or {}).items():
            if not isinstance(entry, dict):
                continue
            rel = _rel(ws, str(raw))
            if rel is None or (not opts.include_tests and matches(rel, tests)):
                continue
            executed = [int(x) for x in entry.get("executed_lines") or []]
            missing = [int(x) for x in entry.get("missing_lines") or []]
            per_file[rel] = (executed, missing)
            statements += len(executed) + len(missing)
            covered += len(executed)
        if not per_file:
            unmeasured = self._unmeasured_sources(ctx)
            if unmeasured:
                return self._measured_nothing(ctx, unmeasured)
        percent = 100.0 * covered / statements if statements else 100.0
        target = opts.target
        score = 1.0 if target <= 0 else min(1.0, percent / target)
        passed = percent + 1e-9 >= target

        key = f"{ctx.phase}:{ctx.check.id}"
        history = load_history(ws, key)
        hashes = {p: ws.content_hash(p) for p in per_file}
        if history is None:
            changed = sorted(per_file)
        else:
            changed = sorted(p for p in per_file if history.get(p) != hashes[p])

        severity = Severity.INFO if passed else Severity.WARNING
        ranges: list[tuple[str, int, int]] = []
        for path in changed:
            executed, missing = per_file[path]
            ranges += [(path, a, b) for a, b in uncovered_ranges(executed, missing)]
        findings: list[Finding] = []
        for path, a, b in ranges[: opts.max_findings]:
            what = f"line {a}" if a == b else f"lines {a}-{b}"
            findings.append(
                ctx.finding(
                    path,
                    f"{what} not covered by the tests",
                    Range.span(a - 1, 0, b - 1, 10_000),
                    severity=severity,
                )
            )
        rest = ranges[opts.max_findings :]
        if rest:
            files = len({p for p, _, _ in rest})
            findings.append(
                ctx.finding(
                    rest[0][0],
                    f"{len(rest)} more uncovered ranges in {files} file(s) not shown; "
                    f"coverage {percent:.1f}% (target {target:g}%)",
                    line=rest[0][1] - 1,
                    severity=severity,
                )
            )
        if not passed:
            # on the file with the most uncovered lines (never an empty __init__.py
            # that happens to sort first)
            pool = changed or sorted(per_file)
            anchor = min(pool, key=lambda p: (-len(per_file[p][1]), p)) if pool else None
            if anchor is None:
                anchor, missing_file = tests_anchor(ctx)
            else:
                missing_file = False
            findings.insert(
                0,
                ctx.finding(
                    anchor,
                    f"coverage {percent:.1f}% is below the target {target:g}%",
                    line=0,
                    severity=Severity.WARNING,
                    missing_file=missing_file,
                ),
            )
        if passed:
            save_history(ws, key, hashes)
        # every file's executed and missed lines, kept with the outcome: new-code mode
        # judges coverage on the new lines (judge_new_code)
        data = {"lines": {p: [ex, mi] for p, (ex, mi) in per_file.items()}, "target": target}
        return CheckOutcome(findings=findings, score=score, passed=passed, data=data)

    def judge_new_code(
        self, ctx: CheckContext, outcome: CheckOutcome, new_code: NewCode
    ) -> NewCodeVerdict | None:
        """Coverage on new code: covered / executable statements on the lines added or
        changed since the reference (a new file: all of its lines). Fewer executable new
        lines than ``[new_code] small_change_lines`` are not judged (SonarQube's
        small-change allowance). Findings: the uncovered ranges of new lines. Without a
        git reference (baseline only) the new lines are unknown: judged by findings."""
        from phasegate.newcode import NewCodeVerdict, new_lines_coverage

        opts = ctx.options
        assert isinstance(opts, CoverageOptions)
        raw = (outcome.data or {}).get("lines")
        cs = new_code.changes
        if not isinstance(raw, dict) or cs is None:
            return None
        lines: dict[str, tuple[list[int], list[int]]] = {}
        for path, pair in raw.items():
            if isinstance(pair, list) and len(pair) == 2:
                lines[str(path)] = ([int(x) for x in pair[0]], [int(x) for x in pair[1]])
        got = new_lines_coverage(new_code, lines)
        if got is None:
            return None
        covered, total = got
        target = opts.target
        if total < new_code.small_change_lines:
            note = (
                f"{total} executable new line{'s' if total != 1 else ''}: fewer than "
                f"{new_code.small_change_lines}, coverage on new code not judged"
            )
            return NewCodeVerdict(True, 1.0, note, findings=[])
        percent = 100.0 * covered / total
        passed = percent + 1e-9 >= target
        score = 1.0 if target <= 0 else min(1.0, percent / target)
        note = f"coverage on new code {percent:.1f}% of {total} new lines (target {target:g}%)"
        severity = Severity.INFO if passed else Severity.WARNING
        ranges: list[tuple[str, int, int]] = []
        for path in sorted(lines):
            executed, missing = lines[path]
            new = None if path in cs.added else cs.lines.get(path, set())
            if new is not None and not new:
                continue
            kept_missing = missing if new is None else [n for n in missing if n in new]
            kept_executed = executed if new is None else [n for n in executed if n in new]
            ranges += [(path, a, b) for a, b in uncovered_ranges(kept_executed, kept_missing)]
        findings: list[Finding] = []
        if not passed and ranges:
            findings.append(
                ctx.finding(
                    ranges[0][0],
                    f"coverage on new code {percent:.1f}% is below the target {target:g}% "
                    f"({covered} of {total} new lines covered)",
                    Range.span(ranges[0][1] - 1, 0, ranges[0][1] - 1, 10_000),
                    severity=Severity.WARNING,
                )
            )
        for path, a, b in ranges[: opts.max_findings]:
            what = f"new line {a}" if a == b else f"new lines {a}-{b}"
            findings.append(
                ctx.finding(
                    path,
                    f"{what} not covered by the tests",
                    Range.span(a - 1, 0, b - 1, 10_000),
                    severity=severity,
                )
            )
        return NewCodeVerdict(passed, score, note, findings=findings)

    @staticmethod
    def _unmeasured_sources(ctx: CheckContext) -> list[str]:
        """The workspace's Python source files (tests aside), none of which were measured."""
        tests = ctx.config.artifacts.tests
        return [
            p
            for p in ctx.workspace.glob(ctx.config.artifacts.sources)
            if p.endswith(".py") and not matches(p, tests)
        ]

    @staticmethod
    def _measured_nothing(ctx: CheckContext, unmeasured: list[str]) -> CheckOutcome:
        setting = source_setting(ctx.workspace)
        files = set(unmeasured)
        # a module of a package says more than a docs/conf.py or a setup.py
        packaged = [p for p in unmeasured if f"{p.rpartition('/')[0]}/__init__.py" in files]
        packaged.sort(key=lambda p: p.endswith("/__init__.py"))
        example = (packaged or unmeasured)[0]
        count = f"{len(unmeasured)} source file{'s' if len(unmeasured) != 1 else ''}"
        if setting is not None:
            path, line = setting
            message = (
                f"coverage.py measured none of the {count} (e.g. {example}): this `source` "
                "setting names what it measures"
            )
        else:
            path, line = example, 0
            message = (
                f"coverage.py measured none of the {count}: the tests import none of them "
                "(or coverage.py is configured to leave them out)"
            )
        finding = ctx.finding(path, message, line=line, severity=Severity.WARNING)
        return CheckOutcome(findings=[finding], score=0.0, passed=False)
