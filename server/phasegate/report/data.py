"""The report's data: what ``phasegate report --format json`` exports and the HTML shows.

The shape is documented in ``docs/report.md``; ``REPORT_SCHEMA`` names its version.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from phasegate.model import Evidence

REPORT_SCHEMA = "phasegate-report/1"


class PersonaMetrics(BaseModel):
    persona: str
    reason: str = ""
    ok: bool = True
    error: str | None = None
    duration_s: float = 0.0
    files_changed: list[str] = Field(default_factory=list)
    feedback_count: int = 0


class IterationMetrics(BaseModel):
    number: int  # 0 = evaluation of what was on disk, no persona ran
    score: float
    threshold: float
    passed: bool
    outcome: str = ""
    best_before: float | None = None
    personas: list[PersonaMetrics] = Field(default_factory=list)
    findings_count: int = 0  # findings left after this iteration's gate
    findings_fixed: int | None = None  # findings of the previous gate gone now (None: first)
    findings_new: int | None = None  # findings not in the previous gate
    failed_checks: list[str] = Field(default_factory=list)
    check_durations: dict[str, float] = Field(default_factory=dict)
    started_at: float | None = None
    # Wall time of the iteration: persona work + gate. For iteration 0 (no persona) the
    # gate's own time.
    duration_s: float = 0.0
    gate_duration_s: float = 0.0  # the exit gate's evaluation


class PhaseMetrics(BaseModel):
    name: str
    title: str
    status: str
    message: str = ""
    best_score: float | None = None
    last_score: float | None = None
    last_threshold: float | None = None
    persona_iterations: int = 0
    duration_s: float = 0.0  # iterations + entry gates
    entry_gate_s: float = 0.0
    iterations: list[IterationMetrics] = Field(default_factory=list)


class SessionInfo(BaseModel):
    id: str
    requirement: str
    status: str
    current_phase: str | None = None
    global_iterations: int = 0
    created_at: float | None = None
    updated_at: float | None = None
    duration_s: float = 0.0
    checkpoint_seq: int | None = None
    # completed phases whose gate fails now, as far as the result cache knows (not
    # recorded in the checkpoint yet; the phase's ``status`` shows ``regressed``)
    regressed: list[str] = Field(default_factory=list)


class TimelineEntry(BaseModel):
    ts: float
    offset_s: float  # seconds since the session started
    kind: str
    phase: str | None = None
    summary: str


class TimeMetrics(BaseModel):
    total_s: float = 0.0
    per_phase: dict[str, float] = Field(default_factory=dict)
    per_persona: dict[str, float] = Field(default_factory=dict)
    per_check: dict[str, float] = Field(default_factory=dict)


class TraceRow(BaseModel):
    id: str
    title: str = ""
    location: str = ""  # path:line (1-based) of the requirement
    design: list[str] = Field(default_factory=list)  # design section titles
    code: list[str] = Field(default_factory=list)  # source file paths
    tests: list[str] = Field(default_factory=list)  # test file paths
    gaps: list[Literal["design", "code", "tests"]] = Field(default_factory=list)


class Traceability(BaseModel):
    available: bool = True
    note: str = ""
    requirements_files: list[str] = Field(default_factory=list)
    design_files: list[str] = Field(default_factory=list)
    rows: list[TraceRow] = Field(default_factory=list)
    traced_to_design: int = 0
    traced_to_code: int = 0
    traced_to_tests: int = 0


class OpenFinding(BaseModel):
    path: str
    line: int  # 1-based, for people
    character: int  # 1-based
    severity: str
    message: str
    owner: str = ""
    missing_file: bool = False


class FindingGroup(BaseModel):
    phase: str
    check: str
    # "session": the phase's gate as the session last scored it (checkpoint);
    # "evaluated": the phase's gate evaluated now, for a phase the session has not scored
    # (cached results reused; a check that runs workspace code comes from the cache only).
    source: Literal["session", "evaluated"] = "session"
    passed: bool
    score: float
    blocking: bool = False
    error: str | None = None
    skipped: str | None = None
    cached: bool = False
    findings: list[OpenFinding] = Field(default_factory=list)
    # how the check's result was obtained: ran, from the cache, skipped, could not run;
    # the programs it ran, their exit codes, the commit (None: not recorded)
    evidence: Evidence | None = None


class OpenFindings(BaseModel):
    note: str = ""
    total: int = 0
    groups: list[FindingGroup] = Field(default_factory=list)


class Totals(BaseModel):
    phases: int = 0
    phases_completed: int = 0
    iterations: int = 0  # persona iterations (number > 0) over all phases
    persona_runs: int = 0
    persona_failures: int = 0
    gate_evaluations: int = 0
    open_findings: int = 0


class ReportData(BaseModel):
    schema_: str = Field(REPORT_SCHEMA, alias="schema")
    generated_at: float
    workspace: str
    session: SessionInfo
    totals: Totals
    phases: list[PhaseMetrics]
    time: TimeMetrics
    timeline: list[TimelineEntry]
    traceability: Traceability
    open_findings: OpenFindings
    warnings: list[str] = Field(default_factory=list)

    model_config = {"populate_by_name": True}
