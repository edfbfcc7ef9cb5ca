"""The typed results of the MCP tools: what their ``outputSchema`` says and their
``structuredContent`` holds.

``validate`` returns the document of ``phasegate validate --format json`` itself
(:func:`phasegate.commands._output.gates_to_json`), and ``findings`` that document's
findings; both are typed here as ``TypedDict`` so that a key the CLI leaves out (the
new-code keys outside new-code mode) is left out here too: the structured result equals
the CLI's JSON, key for key. They allow keys they do not name, so a field the CLI adds
later passes through unchanged. The other tools answer with pydantic models of their own.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import NotRequired, TypedDict

_OPEN = ConfigDict(extra="allow")

SeverityName = Literal["error", "warning", "info", "hint"]
CheckStatus = Literal["passed", "failed", "error", "skipped", "not_applicable"]


# -- the validate JSON document ----------------------------------------------------------
class PositionJson(TypedDict):
    """A 0-based position, as LSP counts (``character`` 10000: the end of the line)."""

    line: int
    character: int


class RangeJson(TypedDict):
    start: PositionJson
    end: PositionJson


class FindingJson(TypedDict):
    """A finding, as ``phasegate validate --format json`` writes it."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]

    path: str
    range: RangeJson
    severity: SeverityName
    code: str
    message: str
    owner: str
    baseline_state: NotRequired[Literal["new", "unchanged", "absent"]]


class NewCodeCountsJson(TypedDict, total=False):
    """New-code mode: how a check's findings split, and its verdict on the whole code."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]

    new: int
    unchanged: int
    absent: int
    overall_passed: bool
    overall_score: float
    held: bool
    note: str


class EvidenceJson(TypedDict, total=False):
    """How the check's result was obtained (``phasegate.model.Evidence``)."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]

    how: Literal["ran", "cached", "skipped", "not_run"]
    rule: str
    commands: list[list[str]]
    exit_codes: list[int | None]
    tool_version: str | None
    duration_s: float
    commit: str | None
    dirty: bool | None
    inputs_hash: str | None
    timed_out: bool


class CheckJson(TypedDict):
    """One check of a gate."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]

    id: str
    status: CheckStatus
    reason: str | None
    passed: bool
    blocking: bool
    score: float
    owner: str
    findings: list[FindingJson]
    new_code: NotRequired[NewCodeCountsJson]
    absent: NotRequired[list[FindingJson]]
    evidence: EvidenceJson | None


class PhaseJson(TypedDict):
    """One phase's exit gate."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]

    name: str
    status: Literal["passed", "failed"]
    score: float
    threshold: float
    unknown: list[str]
    not_applicable: bool
    new_code: NotRequired[str]
    held: NotRequired[list[str]]
    checks: list[CheckJson]


class HeldJson(TypedDict):
    phase: str
    check: str


class NewCodeSummaryJson(TypedDict):
    """New-code mode: what new code is judged against and how the findings split."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]

    reference: str
    new: int
    unchanged: int
    absent: int
    held_checks: int
    held: list[HeldJson]


class ValidateDocument(TypedDict):
    """The document of ``phasegate validate --format json`` (docs/validate-json.md)."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]

    workspace: str
    phases: list[PhaseJson]
    new_code: NotRequired[NewCodeSummaryJson]


# -- findings ----------------------------------------------------------------------------
class FindingItem(TypedDict):
    """A finding of the validate document, with the gate it is in and its id."""

    __pydantic_config__ = _OPEN  # type: ignore[misc]

    phase: str
    check: str
    # stable id (same check, place and message): what ``rework`` takes as finding_ids
    id: str
    path: str
    range: RangeJson
    severity: SeverityName
    code: str
    message: str
    owner: str
    baseline_state: NotRequired[Literal["new", "unchanged", "absent"]]


class FindingsResult(TypedDict):
    """Open findings of the gates ``phasegate validate`` scores, filtered."""

    workspace: str
    # what new code was judged against (new-code mode), else null
    new_code: str | None
    # findings matching the filters, before the limit
    total: int
    returned: int
    truncated: bool
    findings: list[FindingItem]


# -- the session -------------------------------------------------------------------------
class PhaseSummary(BaseModel):
    name: str
    title: str = ""
    status: str = Field(
        description="pending, in_progress, completed, stalled, blocked or regressed "
        "(regressed also when a completed phase fails now, as far as the cache knows)"
    )
    recorded_status: str = Field(description="the status the checkpoint records")
    iterations: int = Field(0, description="persona iterations of the phase")
    score: float | None = None
    threshold: float | None = None
    gate: Literal["passed", "failed"] | None = Field(
        None, description="the phase's last gate; null when it was never scored"
    )
    failed_checks: list[str] = Field(default_factory=list)
    findings: int = Field(0, description="findings of the phase's last gate")
    note: str = ""


class SessionSummary(BaseModel):
    """The active session (or the one a tool just drove): phases, statuses, scores."""

    workspace: str
    session: str | None = Field(None, description="session id; null: no session")
    status: str | None = Field(None, description="running, waiting, completed or stopped")
    requirement: str | None = None
    current_phase: str | None = None
    new_code_since: str | None = Field(
        None, description="the commit the session judges new code against"
    )
    phases: list[PhaseSummary] = Field(default_factory=list)
    open_findings: list[FindingItem] = Field(
        default_factory=list,
        description="findings of the failing checks of phases that are not completed "
        "(at most 50); their ids are what rework's finding_ids take",
    )
    open_findings_total: int = 0
    skipped_personas: list[str] = Field(
        default_factory=list,
        description="personas not started by this call, with why (an untrusted server)",
    )
    cached_findings: int | None = Field(
        None, description="without a session: findings the result cache holds (nothing ran)"
    )
    message: str = ""


# -- explain_check -------------------------------------------------------------------------
class CheckOption(BaseModel):
    name: str
    type: str
    required: bool = False
    default: Any = None
    description: str = ""


class LastResult(BaseModel):
    status: CheckStatus
    passed: bool
    score: float
    findings: int
    current: bool = Field(
        description="true: cached for the inputs as they are now; false: an older result "
        "(files changed since)"
    )
    top_findings: list[FindingJson] = Field(default_factory=list, description="at most 10")


class CheckPlacement(BaseModel):
    """Where the check is configured in this workspace."""

    phase: str
    gate: Literal["exit", "entry"]
    id: str
    kind: str
    enabled: bool
    weight: float | None = None
    blocking: bool | None = None
    owner: str = ""
    severity: SeverityName | None = None
    inputs: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict, description="as configured")
    last_result: LastResult | None = Field(
        None, description="from the result cache (nothing runs); null: never run here"
    )
    error: str | None = Field(None, description="why the check cannot be resolved")


class CheckExplanation(BaseModel):
    id: str
    kind: str
    title: str = ""
    description: str = ""
    docs_url: str = ""
    scope: Literal["file", "project"] = "project"
    runs_workspace_code: bool = False
    default_owner: str = ""
    default_weight: float = 1.0
    default_blocking: bool = False
    default_severity: SeverityName = "warning"
    options: list[CheckOption] = Field(default_factory=list)
    configured: list[CheckPlacement] = Field(default_factory=list)
    note: str = ""


# -- trace_requirement -------------------------------------------------------------------
class TraceMatch(BaseModel):
    id: str = Field(description="the requirement id (feature/ID for Spec Kit and Kiro)")
    title: str = ""
    location: str = Field("", description="path:line (1-based) where it is defined")
    design: list[str] = Field(default_factory=list, description="design sections")
    code: list[str] = Field(default_factory=list, description="source files")
    tests: list[str] = Field(default_factory=list, description="tests (path::test)")
    gaps: list[Literal["design", "code", "tests"]] = Field(default_factory=list)


class TraceAnswer(BaseModel):
    id: str
    matches: list[TraceMatch]
    requirements_files: list[str] = Field(default_factory=list)
    design_files: list[str] = Field(default_factory=list)
    note: str = ""


# -- report_path ---------------------------------------------------------------------------
class ReportAnswer(BaseModel):
    path: str
    uri: str
    session: str
    format: Literal["html", "json"]
