"""The data the engine produces and stores: findings, check and gate results, session state.

Everything here is a pydantic model so it serialises to the checkpoint, the journal, the
JSON output of ``validate`` and the ``data`` of LSP diagnostics without translation.
Positions are 0-based line/character, exactly as LSP wants them.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# the enumerations and the schema version need no pydantic: they live apart, re-exported
from phasegate.model_plain import SCHEMA_VERSION as SCHEMA_VERSION
from phasegate.model_plain import PhaseStatus as PhaseStatus
from phasegate.model_plain import SessionStatus as SessionStatus
from phasegate.model_plain import Severity as Severity


class Position(BaseModel):
    model_config = ConfigDict(frozen=True)
    line: int = 0
    character: int = 0


class Range(BaseModel):
    model_config = ConfigDict(frozen=True)
    start: Position = Position()
    end: Position = Position()

    @classmethod
    def lines(cls, line: int, start_char: int = 0, end_char: int | None = None) -> Range:
        """A range on one line; ``end_char=None`` means "to the end of the line" (char 10**4)."""
        return cls(
            start=Position(line=line, character=start_char),
            end=Position(line=line, character=10_000 if end_char is None else end_char),
        )

    @classmethod
    def span(cls, sl: int, sc: int, el: int, ec: int) -> Range:
        return cls(start=Position(line=sl, character=sc), end=Position(line=el, character=ec))


class TextEdit(BaseModel):
    """Replace ``range`` of ``path`` (workspace-relative, POSIX) by ``new_text``."""

    path: str
    range: Range
    new_text: str


class Fix(BaseModel):
    title: str
    edits: list[TextEdit]


class Finding(BaseModel):
    path: str  # workspace-relative POSIX path
    range: Range = Range()
    severity: Severity = Severity.WARNING
    code: str  # the check id
    message: str
    owner: str = ""  # persona that owns the check
    fix: Fix | None = None
    # True when ``path`` does not exist (e.g. a missing document): clients show it there
    # if they can, else on the config file.
    missing_file: bool = False
    # New-code mode only (see phasegate.newcode): ``new`` on lines changed since the
    # reference or not in the baseline, ``unchanged`` inherited, ``absent`` a baseline
    # finding that is gone (listed apart, in ``CheckResult.absent``).
    baseline_state: Literal["new", "unchanged", "absent"] | None = None

    @property
    def id(self) -> str:
        """Stable id: same check, place and message -> same id across runs."""
        key = f"{self.code}|{self.path}|{self.range.start.line}|{self.range.start.character}|"
        key += self.message
        return hashlib.sha1(key.encode()).hexdigest()[:12]

    @property
    def fingerprint(self) -> str:
        """Same check, file and message -> same fingerprint, wherever the line moved:
        what tells a finding fixed from one that only shifted between two gates."""
        key = f"{self.code}|{self.path}|{self.message}"
        return hashlib.sha1(key.encode()).hexdigest()[:10]


class NewCodeCounts(BaseModel):
    """How a check's findings split in new-code mode, and its whole-code verdict."""

    new: int = 0
    unchanged: int = 0
    absent: int = 0
    # the check's verdict and score on the whole code (what it would be without the mode)
    overall_passed: bool = True
    overall_score: float = 1.0
    held: bool = False  # a new finding of a blocking severity: the gate fails with it
    note: str = ""  # how the new-code verdict was reached, when not by findings alone


class Evidence(BaseModel):
    """How a check's result was obtained: what ran, with what, and what came of it.

    ``how``, from the result (:func:`phasegate.evidence.how_of`), first rule that holds:

    * ``not_run``: the check reached no verdict, its result is unknown (``error`` is
      set): its program was not found, timed out, was killed or failed, its output could
      not be read, or the check crashed. ``commands``, ``exit_codes`` and ``timed_out``
      say how far it got. Never a pass.
    * ``skipped``: not run on purpose (``skipped`` is set): an untrusted workspace and a
      check that runs workspace code, or (language server, report) not run yet.
    * ``cached``: nothing ran: every part of the result came from the result cache,
      whose entry is for the same inputs (their content hash) and the same check code and
      configuration. The commands of the run that produced it are not known (empty), nor
      its ``rule``.
    * ``ran``: the check ran for this result (a file-scope check: at least one input
      file analysed now, the rest from the cache; or it has no input file at all).

    ``rule``: ``"in-process"`` when the check ran and started no program, else the
    programs it started, in the order they first ran, joined by ``", "`` (the base name
    of ``argv[0]``; for ``python -m X`` the module ``X``); empty when not known (cached,
    skipped, or a result whose programs were not recorded).
    ``commands`` / ``exit_codes``: the first 20 programs run, as argv lists (paths inside
    the workspace relative to it, the home folder as ``~``, at most 64 arguments each),
    and their exit codes (None: killed at the timeout, cancelled or not found).
    ``duration_s``: seconds spent in those programs (all of them, summed); the check's own
    wall time is ``CheckResult.duration_s``.
    ``inputs_hash``: the hash of the check's configuration, code and input files the
    result is for (``GateRunner.inputs_hash``), when the run computed it.
    ``commit`` / ``dirty``: the workspace's git ``HEAD`` and whether ``git status`` lists
    changes in it, read once per runner at its first check (None outside a git work
    tree; ``dirty`` None in an untrusted workspace, where ``git status`` is not run).
    """

    how: Literal["ran", "cached", "skipped", "not_run"] = "ran"
    rule: str = ""  # "in-process" or the program that judged (e.g. "ruff", "pytest")
    commands: list[list[str]] = Field(default_factory=list)  # every program run
    exit_codes: list[int | None] = Field(default_factory=list)  # None: killed / not found
    tool_version: str | None = None
    duration_s: float = 0.0
    commit: str | None = None  # the workspace's HEAD commit, when it is a git work tree
    dirty: bool | None = None  # uncommitted changes beside that commit
    inputs_hash: str | None = None  # the content hash of the inputs the result is for
    timed_out: bool = False


class CheckResult(BaseModel):
    id: str
    phase: str = ""
    passed: bool
    score: float = Field(ge=0.0, le=1.0)
    weight: float = 1.0
    blocking: bool = False
    owner: str = ""
    findings: list[Finding] = Field(default_factory=list)
    duration_s: float = 0.0
    # The check could not run (tool missing, timed out, crashed): its result is unknown.
    # Never a pass; left out of the gate score; a blocking one keeps the gate from passing.
    error: str | None = None
    # The check was not run (untrusted workspace): excluded from the gate score.
    skipped: str | None = None
    # Nothing for the check to judge here (no Python source): excluded from the gate score.
    not_applicable: str | None = None
    cached: bool = False
    # New-code mode: the split of the findings, and the baseline findings now gone.
    new_code: NewCodeCounts | None = None
    absent: list[Finding] = Field(default_factory=list)
    evidence: Evidence | None = None
    # The findings a suppression comment silenced (phasegate.suppress), when the runner
    # was asked to keep them (``validate --format sarif --include-suppressed``): never
    # scored, never serialised (JSON, checkpoints); SARIF lists them as suppressed.
    suppressed: list[Finding] = Field(default_factory=list, exclude=True)

    @property
    def status(self) -> str:
        """``passed``, ``failed``, ``error`` (could not run: unknown), ``skipped``
        (untrusted workspace) or ``not_applicable``."""
        if self.error is not None:
            return "error"
        if self.skipped is not None:
            return "skipped"
        if self.not_applicable is not None:
            return "not_applicable"
        return "passed" if self.passed else "failed"

    @property
    def reason(self) -> str | None:
        """Why the check has no verdict of its own (error, skipped, not applicable)."""
        return self.error or self.skipped or self.not_applicable

    @property
    def counted(self) -> bool:
        """Whether the check's score counts in its gate's weighted mean."""
        return self.error is None and self.skipped is None and self.not_applicable is None


class GateResult(BaseModel):
    phase: str
    score: float
    threshold: float
    passed: bool
    checks: list[CheckResult] = Field(default_factory=list)
    blocking_failed: list[str] = Field(default_factory=list)
    duration_s: float = 0.0
    # New-code mode: what new code was judged against, e.g. "since origin/main (1a2b3c4d5e)"
    # or "baseline phasegate-baseline.sarif"; None when the whole code was judged.
    new_code: str | None = None
    # checks whose new findings of a blocking severity fail the gate whatever its score
    held: list[str] = Field(default_factory=list)

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [
            c
            for c in self.checks
            if not c.passed and c.skipped is None and c.not_applicable is None
        ]

    @property
    def unknown(self) -> list[CheckResult]:
        """Checks that could not run: their result is unknown."""
        return [c for c in self.checks if c.error is not None]

    @property
    def not_applicable(self) -> bool:
        """True when no check of the gate had anything to judge (all not applicable)."""
        return bool(self.checks) and all(c.not_applicable is not None for c in self.checks)

    @property
    def findings(self) -> list[Finding]:
        return [f for c in self.checks for f in c.findings]


class PersonaRun(BaseModel):
    persona: str
    reason: str  # "iteration 1: all personas" / "rework: owner of REQ-IDS, REQ-PLACEHOLDER"
    ok: bool = True
    error: str | None = None
    files_changed: list[str] = Field(default_factory=list)
    feedback_count: int = 0  # how many findings it was given
    duration_s: float = 0.0
    # Not run, and why (e.g. an untrusted workspace and a persona that runs workspace code).
    skipped: str | None = None


class IterationRecord(BaseModel):
    number: int  # 1-based; 0 = evaluation of what is on disk, no persona ran
    personas: list[PersonaRun] = Field(default_factory=list)
    score: float = 0.0
    threshold: float = 0.0
    passed: bool = False
    best_before: float | None = None
    findings_count: int = 0
    failed_checks: list[str] = Field(default_factory=list)
    check_durations: dict[str, float] = Field(default_factory=dict)
    started_at: float = Field(default_factory=time.time)
    duration_s: float = 0.0
    outcome: str = ""  # passed / retry / stalled / blocked ("" while the iteration runs)
    # Personas this iteration runs (in order) and why; a resumed session re-runs the
    # planned personas that have no PersonaRun yet.
    planned: list[str] = Field(default_factory=list)
    reason: str = ""


class PhaseState(BaseModel):
    name: str
    status: PhaseStatus = PhaseStatus.PENDING
    iterations: list[IterationRecord] = Field(default_factory=list)
    best_score: float | None = None
    last_score: float | None = None
    last_threshold: float | None = None
    message: str = ""
    # Why a blocked phase waits: "phase_limit", "global_limit" or "entry" ("" otherwise).
    blocked_by: str = ""
    # The gate as last evaluated (findings included), so status needs no re-run.
    last_gate: GateResult | None = None

    @property
    def persona_iterations(self) -> int:
        return sum(1 for it in self.iterations if it.number > 0)


class SessionState(BaseModel):
    """The checkpoint: everything needed to resume a session."""

    schema_version: int = SCHEMA_VERSION
    id: str
    requirement: str
    status: SessionStatus = SessionStatus.RUNNING
    current_phase: str | None = None
    phases: list[PhaseState] = Field(default_factory=list)
    global_iterations: int = 0
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)
    seq: int = 0  # bumped at every checkpoint write
    # New-code mode: the commit the session started from (git work trees), its default
    # reference — what the session's personas add is judged, not what was there before.
    new_code_since: str | None = None

    def phase(self, name: str) -> PhaseState:
        for p in self.phases:
            if p.name == name:
                return p
        raise KeyError(name)


EventKind = Literal[
    "session_started",
    "session_resumed",
    "phase_started",
    "entry_gate",
    "iteration_started",
    "persona_started",
    "persona_finished",
    "gate_scored",
    "phase_completed",
    "phase_stalled",
    "phase_blocked",
    "phase_regressed",
    "session_finished",
    "session_stopped",
    "checkpoint_recovered",
    "checks_ran",
    "remediation_backup",
    "remediation",  # a step of `phasegate remediate` (data["step"] says which)
    # a coding agent's stop was refused too many times in a row while the gate failed:
    # the agent was let stop and the work waits for a person (phasegate hook)
    "agent_waiting",
]


class Event(BaseModel):
    kind: EventKind
    session: str = ""
    phase: str | None = None
    ts: float = Field(default_factory=time.time)
    data: dict[str, Any] = Field(default_factory=dict)
