"""New-code mode: gates that hold the line instead of drowning in legacy debt.

With a git reference (``validate --since REF``, ``[new_code] since``, a session's start)
or a baseline (``phasegate baseline``, ``[new_code] baseline``), every finding is
classified ``new`` or ``unchanged`` (:attr:`phasegate.model.Finding.baseline_state`):

* **since a reference**: new when any line of its range was added or changed since the
  merge base (:mod:`phasegate.changes`), or its file did not exist there; a missing-file
  finding is new when the file was deleted by the change. Checks whose findings are about
  a whole document (``new_code_rule = "documents"``: requirements, design, tracing) also
  count a finding at the top of a changed document as new — "this document has no
  requirement ids" is about the whole file, not its first line.
* **against a baseline**: new when no baseline finding has the same fingerprint
  (:mod:`phasegate.baseline`); baseline findings no longer found are listed ``absent``.
  With both, a finding is new only when both say so.

A check's verdict in new-code mode (:meth:`NewCode.apply`):

* **hold the line**: it fails when it has a *new* finding of a blocking severity
  (``[new_code] blocking``, default error and warning) — whatever the gate's score: the
  gate fails with it (:attr:`GateResult.held`);
* with no such finding it passes with score 1.0, even if inherited findings remain
  (they are reported, counted apart, and never block) — unless it failed without any
  finding to attribute (then it fails as before: nothing says the failure is old);
* a check can judge new code itself (:meth:`phasegate.checks.base.Check.judge_new_code`):
  TEST-COVERAGE judges coverage on the new lines, with a small-change allowance;
* checks with ``new_code_rule = "whole"`` (TEST-PYTEST: a failing test fails the gate
  whatever changed) keep their verdict; their findings are still classified;
* a check that could not run, was skipped or has nothing to judge is unchanged.

The whole-code verdict and score are kept in :attr:`CheckResult.new_code` so nothing is
lost. The progressive thresholds apply to the new-code score.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from phasegate.baseline import Baseline, BaselineError, LineReader, context_hash, load_baseline
from phasegate.changes import ChangesError, ChangeSet, changes_since
from phasegate.model import CheckResult, Finding, NewCodeCounts, Severity

if TYPE_CHECKING:
    from phasegate.checks.base import CheckOutcome
    from phasegate.config import Config
    from phasegate.runner import ResolvedCheck
    from phasegate.workspace import Workspace

_SEVERITIES = {
    "error": Severity.ERROR,
    "warning": Severity.WARNING,
    "info": Severity.INFO,
    "hint": Severity.HINT,
}


@dataclass
class NewCodeVerdict:
    """A check's own verdict on new code (:meth:`Check.judge_new_code`). ``findings``,
    when given, replace the check's findings (classified like any others)."""

    passed: bool
    score: float
    note: str = ""
    findings: list[Finding] | None = None


class NewCodeError(Exception):
    """New-code mode was asked for but cannot be set up (no git, unknown reference,
    unreadable baseline): a usage error, never a silent fall-back to the whole code."""


@dataclass
class NewCode:
    """The reference new code is judged against, resolved for one workspace."""

    workspace: Workspace
    changes: ChangeSet | None = None
    baseline: Baseline | None = None
    blocking: frozenset[Severity] = frozenset({Severity.ERROR, Severity.WARNING})
    small_change_lines: int = 20
    # read the change set again before each gate (sessions, the editor: files change
    # between gates); a one-shot `validate` reads it once
    auto_refresh: bool = True

    @property
    def label(self) -> str:
        parts = []
        if self.changes is not None:
            parts.append(f"since {self.changes.ref} ({self.changes.short})")
        if self.baseline is not None:
            try:
                name = self.baseline.path.relative_to(self.workspace.root).as_posix()
            except ValueError:
                name = str(self.baseline.path)
            parts.append(f"baseline {name}")
        return " and ".join(parts)

    def refresh(self) -> None:
        """Read the change set again (files changed since it was read: a persona wrote,
        the user saved). The reference commit stays the same. A refresh that fails
        keeps the last change set."""
        cs = self.changes
        if cs is None or not self.auto_refresh:
            return
        try:
            fresh = changes_since(self.workspace.root, cs.base)
        except ChangesError:
            return
        fresh.ref = cs.ref
        self.changes = fresh

    # -- classification ----------------------------------------------------------------
    def _new_since(self, f: Finding, rule: str) -> bool:
        cs = self.changes
        assert cs is not None
        if f.missing_file:
            return f.path in cs.deleted
        if cs.is_new_range(f.path, f.range.start.line, f.range.end.line):
            return True
        top = f.range.start.line == 0 and f.range.start.character == 0
        return rule == "documents" and top and bool(cs.lines.get(f.path))

    def classify(
        self, phase: str, check: str, findings: list[Finding], rule: str = "lines"
    ) -> tuple[list[Finding], list[Finding]]:
        """``findings`` with ``baseline_state`` set, and the baseline's findings of this
        check that are gone (``absent``)."""
        new = [True] * len(findings)
        absent: list[Finding] = []
        if self.changes is not None:
            new = [self._new_since(f, rule) for f in findings]
        if self.baseline is not None:
            texts = LineReader(self.workspace.root)
            pairs = [(f, context_hash(texts.line(f.path, f.range.start.line))) for f in findings]
            known, left = self.baseline.match(phase, check, pairs)
            new = [n and not k for n, k in zip(new, known, strict=True)]
            absent = [e.as_finding() for e in left]
        out = [
            f.model_copy(update={"baseline_state": "new" if n else "unchanged"})
            for f, n in zip(findings, new, strict=True)
        ]
        return out, absent

    # -- verdict -----------------------------------------------------------------------
    def apply(self, rc: ResolvedCheck, outcome: CheckOutcome, result: CheckResult) -> CheckResult:
        """``result`` judged on new code (see the module)."""
        rule = getattr(rc.cls, "new_code_rule", "lines")
        own = None
        if result.counted and rule != "whole":
            own = rc.check.judge_new_code(rc.ctx, outcome, self)
        given = own.findings if own is not None and own.findings is not None else None
        source = result.findings if given is None else given
        findings, absent = self.classify(rc.phase, rc.config.id, source, rule)
        n_new = sum(1 for f in findings if f.baseline_state == "new")
        counts = NewCodeCounts(
            new=n_new,
            unchanged=len(findings) - n_new,
            absent=len(absent),
            overall_passed=result.passed,
            overall_score=result.score,
        )
        update: dict[str, object] = {"findings": findings, "absent": absent, "new_code": counts}
        if not result.counted or rule == "whole":
            return result.model_copy(update=update)
        if own is not None:
            counts.note = own.note
            counts.held = not own.passed
            update.update(passed=own.passed, score=min(1.0, max(0.0, own.score)))
            return result.model_copy(update=update)
        held = [f for f in findings if f.baseline_state == "new" and f.severity in self.blocking]
        if held:
            counts.held = True
            update["passed"] = False  # score: the whole-code score, as it is
        elif result.passed or findings:
            update.update(passed=True, score=1.0)
            if not result.passed:
                counts.note = (
                    f"passes on new code: its {len(findings)} finding"
                    f"{'s are' if len(findings) != 1 else ' is'} inherited"
                )
        return result.model_copy(update=update)


def resolve_new_code(
    workspace: Workspace,
    config: Config,
    *,
    since: str | None = None,
    baseline: str | Path | None = None,
) -> NewCode | None:
    """The new-code reference for a run: ``since``/``baseline`` given here (the command
    line) win over ``[new_code]`` in the configuration; None when neither asks for it.
    Raises :class:`NewCodeError` with a sentence to show."""
    nc = config.new_code
    since = since if since is not None else nc.since
    base_path = baseline if baseline is not None else nc.baseline
    if since is None and base_path is None:
        return None
    out = NewCode(
        workspace=workspace,
        blocking=frozenset(_SEVERITIES[s] for s in nc.blocking),
        small_change_lines=nc.small_change_lines,
    )
    if since is not None:
        try:
            out.changes = changes_since(workspace.root, since)
        except ChangesError as exc:
            raise NewCodeError(str(exc)) from None
    if base_path is not None:
        path = Path(base_path)
        if not path.is_absolute():
            path = workspace.root / path
        try:
            out.baseline = load_baseline(path)
        except BaselineError as exc:
            raise NewCodeError(str(exc)) from None
    return out


def new_lines_coverage(
    new_code: NewCode, lines: dict[str, tuple[list[int], list[int]]]
) -> tuple[int, int] | None:
    """(covered, executable) statements on new lines, from per-file (executed, missing)
    1-based line lists; None when new lines are not known (baseline-only mode)."""
    cs = new_code.changes
    if cs is None:
        return None
    covered = total = 0
    for path, (executed, missing) in lines.items():
        if path in cs.added:
            covered += len(executed)
            total += len(executed) + len(missing)
            continue
        got = cs.lines.get(path)
        if not got:
            continue
        c = sum(1 for n in executed if n in got)
        covered += c
        total += c + sum(1 for n in missing if n in got)
    return covered, total


NewCodeRule = Literal["lines", "documents", "whole"]
