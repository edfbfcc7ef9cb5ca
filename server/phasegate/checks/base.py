"""The check interface and the registry that finds checks by name (entry points).

A check is one measurable rule. It declares its default inputs (glob patterns), owner
persona, weight and whether it blocks, and either

* ``scope = "file"``: implements :meth:`Check.check_file`, called once per input file
  (so an edit re-analyses only that file), and :meth:`Check.score_files` turns the
  per-file findings into a score; or
* ``scope = "project"``: implements :meth:`Check.run` over the whole workspace.

Checks are plain synchronous code; the runner calls them off the event loop.
"""

from __future__ import annotations

from abc import ABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from phasegate.docs_links import check_anchor as check_anchor  # re-exported
from phasegate.docs_links import check_docs_uri
from phasegate.model import Finding, Fix, Range, Severity
from phasegate.plugins import EntryPointRegistry

if TYPE_CHECKING:
    from phasegate.config import CheckConfig, Config
    from phasegate.newcode import NewCode, NewCodeVerdict
    from phasegate.workspace import Workspace

ENTRY_POINT_GROUP = "phasegate.checks"
# The checks reference installed with the package (written by ``python -m phasegate.docgen``,
# shipped as package data, beside its rendered copy checks.html that diagnostics link to:
# see phasegate.docs_links).
CHECKS_REFERENCE = Path(__file__).resolve().parent.parent / "reference" / "checks.md"


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass
class CheckOutcome:
    """What a check returns. ``passed=None`` means: passed iff no error/warning finding.

    ``error``: the check could not run (tool missing, timed out, crashed). Its result is
    *unknown*: never a pass, left out of the gate's score, and a blocking check that could
    not run keeps its gate from passing. Say what to do in the text.
    ``not_applicable``: there is nothing for the check to judge in this workspace (the
    Python checks where there is no Python): left out of the score, said plainly.
    """

    findings: list[Finding] = field(default_factory=list)
    score: float = 1.0
    passed: bool | None = None
    error: str | None = None
    not_applicable: str | None = None
    # What the check measured beside its findings, kept with the outcome in the result
    # cache, for judging new code later (TEST-COVERAGE: executed and missed lines).
    data: dict[str, Any] | None = None
    # The version of the program that judged (e.g. the ruff IMPL-LINT ran), when the
    # check knows it without running anything more: shown in the result's evidence.
    tool_version: str | None = None


@dataclass
class CheckContext:
    """Everything a check may look at. Build with :meth:`phasegate.runner.GateRunner.context`."""

    workspace: Workspace
    config: Config
    check: CheckConfig
    options: BaseModel
    inputs: list[str]
    exclude: list[str]
    owner: str
    severity: Severity
    trusted: bool
    timeout: float
    phase: str = ""
    # New-code mode: the reference new code is judged against (checks that compare with
    # history, such as GATE-INTEGRITY, read it; the others never need to).
    new_code: NewCode | None = None

    def input_files(self) -> list[str]:
        """Workspace files matching ``inputs`` and not ``exclude`` (sorted)."""
        from phasegate.workspace import matches

        files = self.workspace.glob(self.inputs)
        if self.exclude:
            files = [f for f in files if not matches(f, self.exclude)]
        return files

    def finding(
        self,
        path: str,
        message: str,
        range: Range | None = None,
        *,
        line: int | None = None,
        severity: Severity | None = None,
        fix: Fix | None = None,
        missing_file: bool = False,
        owner: str | None = None,
    ) -> Finding:
        """A finding of this check (code and owner filled in). ``line`` = whole 0-based line."""
        if range is None:
            range = Range.lines(line or 0)
        return Finding(
            path=path,
            range=range,
            severity=severity or self.severity,
            code=self.check.id,
            message=message,
            owner=owner or self.owner,
            fix=fix,
            missing_file=missing_file,
        )


class Check(ABC):
    """Base class of every check. Subclasses set the class attributes and one method."""

    id: ClassVar[str]  # default id / code, e.g. "REQ-IDS"
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    scope: ClassVar[Literal["file", "project"]] = "project"
    default_owner: ClassVar[str] = ""
    default_weight: ClassVar[float] = 1.0
    default_blocking: ClassVar[bool] = False
    default_severity: ClassVar[Severity] = Severity.WARNING
    # True when the check runs code or tools the workspace configures (its tests, a
    # configured command): skipped in an untrusted workspace.
    runs_workspace_code: ClassVar[bool] = False
    # How new-code mode judges the findings (see phasegate.newcode): "lines" (new when
    # on changed lines), "documents" (also new when at the top of a changed document),
    # "whole" (the check keeps its verdict: a failing test fails whatever changed).
    new_code_rule: ClassVar[Literal["lines", "documents", "whole"]] = "lines"
    # True for checks that read history (ctx.new_code): never cached, and only run in
    # new-code mode (not applicable otherwise).
    uses_history: ClassVar[bool] = False
    # True for a per-file check that parses the files it reads into a syntax tree
    # (phasegate.parsed): where checks run file by file, it runs first on each file, so
    # that the others use the tree it leaves (IMPL-SYNTAX compiles it, not the text).
    parses_first: ClassVar[bool] = False
    Options: ClassVar[type[BaseModel]] = NoOptions

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        """Glob patterns of the files this check reads, given the workspace config."""
        return []

    @classmethod
    def default_exclude(cls, config: Config) -> list[str]:
        return []

    @classmethod
    def config_dependencies(cls, config: Config) -> Any:
        """What else of the whole configuration this check's findings depend on, beside
        its own entry (JSON-ready; None: nothing). Part of the key its results are
        cached by, so a change there is never answered from the cache."""
        return None

    @classmethod
    def docs_url(cls, check_id: str | None = None) -> str:
        """Where the check's documentation is (the diagnostic code's link, SARIF's
        ``helpUri``): its section of the checks reference, on the documentation site when
        ``PHASEGATE_DOCS_URL`` is set, else the rendered copy installed with phasegate (a
        ``file://`` URI, so it works offline; :func:`phasegate.docs_links.check_docs_uri`).
        A check from another package overrides this to point at its own documentation."""
        return check_docs_uri(check_id or cls.id)

    # -- project scope -------------------------------------------------------------------
    def run(self, ctx: CheckContext) -> CheckOutcome:
        """Project-scope checks: examine the workspace, return findings and a score."""
        raise TypeError(f"{type(self).__name__} is a file-scope check; call check_file")

    # -- file scope ----------------------------------------------------------------------
    def judge_new_code(
        self, ctx: CheckContext, outcome: CheckOutcome, new_code: NewCode
    ) -> NewCodeVerdict | None:
        """The check's own verdict on new code, or None to be judged by its findings
        (hold the line). See :mod:`phasegate.newcode`."""
        return None

    def check_file(self, ctx: CheckContext, path: str) -> list[Finding]:
        """File-scope checks: findings for one input file."""
        raise TypeError(f"{type(self).__name__} is a project-scope check; call run")

    def score_files(self, ctx: CheckContext, per_file: dict[str, list[Finding]]) -> CheckOutcome:
        """Default: score = share of input files without error/warning findings."""
        findings = [f for fs in per_file.values() for f in fs]
        if not per_file:
            return CheckOutcome(findings=findings, score=1.0)
        # ``fs and``: most files have no findings; skipping them keeps a re-score cheap
        bad = sum(
            1 for fs in per_file.values() if fs and any(f.severity <= Severity.WARNING for f in fs)
        )
        return CheckOutcome(findings=findings, score=1.0 - bad / len(per_file))


class UnknownCheck(LookupError):
    pass


_registry: EntryPointRegistry[Check] | None = None


def registered_checks() -> dict[str, type[Check]]:
    """Every check kind by name. Looking up one name imports only that check's module;
    listing the registry imports them all (see :mod:`phasegate.plugins`)."""
    global _registry
    if _registry is None:
        _registry = EntryPointRegistry(ENTRY_POINT_GROUP, Check)
    return _registry


def register_check(name: str, cls: type[Check]) -> None:
    """Register a check class programmatically (tests, embedding)."""
    registered_checks()[name] = cls


def get_check_class(kind: str) -> type[Check]:
    try:
        return registered_checks()[kind]
    except KeyError:
        known = ", ".join(sorted(registered_checks()))
        raise UnknownCheck(f"unknown check kind {kind!r} (known: {known})") from None
