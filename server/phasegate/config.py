"""The configuration schema: one place for every setting (pydantic v2).

A workspace configures phasegate with ``phasegate.toml`` at its root, or with
``[tool.phasegate]`` in ``pyproject.toml``; with neither, :func:`default_config` — the
built-in default pipeline of five phases — is used. Loading, and turning validation
errors into file/line messages, lives in :mod:`phasegate.config_loader`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$"
# Iteration limits bound the cost of a session; a limit above this is no limit at all.
MAX_ITERATIONS = 1000
MAX_TEST_WORKERS = 1024
# The error type of a configuration whose gates would pass without checking anything
# (no phase, no enabled check, every weight 0); the loader reports these once the rest
# of the file is valid.
VACUOUS_GATE = "vacuous_gate"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class CheckConfig(_Strict):
    """One check of a phase."""

    id: str = Field(pattern=ID_PATTERN, description="Check id, used as the diagnostic code.")
    kind: str | None = Field(
        None,
        description="Registered check to run (entry point in `phasegate.checks`); "
        "defaults to `id`. Use `command` to run any tool.",
    )
    enabled: bool = Field(True, description="Set false to switch the check off.")
    inputs: list[str] | None = Field(
        None, description="Glob patterns of the files the check reads; default: the check's own."
    )
    exclude: list[str] | None = Field(None, description="Glob patterns removed from `inputs`.")
    owner: str | None = Field(
        None, description="Persona that reworks this check's failures; default: the check's own."
    )
    weight: float | None = Field(
        None,
        ge=0.0,
        description="Weight in the gate's weighted mean; default: the check's own. A phase "
        "whose enabled exit-gate checks all weigh 0 is an error: its score would be 1.0 "
        "whatever the checks find.",
    )
    blocking: bool | None = Field(
        None, description="A failing blocking check fails the gate whatever the score."
    )
    timeout: float | None = Field(None, gt=0, description="Seconds before its tool is killed.")
    options: dict[str, Any] = Field(
        default_factory=dict, description="Check-specific options (see the check's docs)."
    )

    @property
    def kind_name(self) -> str:
        return self.kind or self.id


class PhaseConfig(_Strict):
    name: str = Field(pattern=ID_PATTERN, description="Phase name, e.g. `requirements`.")
    title: str | None = Field(None, description="Display title; default: the name, capitalised.")
    personas: list[str] = Field(default_factory=list, description="Personas run at iteration 1.")
    checks: list[CheckConfig] = Field(
        default_factory=list,
        description="Exit-gate checks. At least one must be enabled: a gate with nothing to "
        "check would pass whatever the workspace holds, so a phase without one is an error.",
    )
    entry_checks: list[CheckConfig] = Field(
        default_factory=list,
        description="Checks that must pass before the phase starts (besides earlier phases).",
    )

    @property
    def display(self) -> str:
        return self.title or self.name.replace("_", " ").capitalize()

    @model_validator(mode="after")
    def _unique_check_ids(self) -> PhaseConfig:
        seen: set[str] = set()
        for c in [*self.checks, *self.entry_checks]:
            if c.id in seen:
                raise ValueError(f"check id {c.id!r} appears twice in phase {self.name!r}")
            seen.add(c.id)
        return self

    @model_validator(mode="after")
    def _gate_checks_something(self) -> PhaseConfig:
        enabled = [c for c in self.checks if c.enabled]
        if not enabled:
            raise PydanticCustomError(
                VACUOUS_GATE,
                "phase '{name}' has no enabled check in `checks`, so its gate would pass "
                "without checking anything; add a check or enable one",
                {"name": self.name},
            )
        if all(c.weight == 0 for c in enabled):
            raise PydanticCustomError(
                VACUOUS_GATE,
                "every enabled check of phase '{name}' has weight 0, so its gate would "
                "score 1.0 whatever the checks find; give one a weight above 0",
                {"name": self.name},
            )
        return self


class PersonaConfig(_Strict):
    kind: str = Field("scaffold", description="`scaffold`, `command`, `openai`, or a plugin.")
    role: str = Field("", description="What this persona does; given to agents in the prompt.")
    timeout: float | None = Field(None, gt=0, description="Seconds before it is stopped.")
    options: dict[str, Any] = Field(
        default_factory=dict, description="Kind-specific options (see the persona's docs)."
    )


class TimeoutsConfig(_Strict):
    check: float = Field(300.0, gt=0, description="Default seconds for a check's tool.")
    tests: float = Field(600.0, gt=0, description="Seconds for the workspace's test suite.")
    persona: float = Field(900.0, gt=0, description="Default seconds for a persona.")


SeverityName = Literal["error", "warning", "info", "hint"]


def _default_blocking() -> list[SeverityName]:
    return ["error", "warning"]


class NewCodeConfig(_Strict):
    """New-code mode: gates judge what changed, not the whole repository."""

    since: str | None = Field(
        None,
        description="Git reference new code is compared with (from the merge base with "
        "`HEAD`): findings on lines added or changed since are new.",
        examples=["origin/main"],
    )
    baseline: str | None = Field(
        None,
        description="A baseline file written by `phasegate baseline` (SARIF): findings not "
        "in it are new. Works without git.",
        examples=["phasegate-baseline.sarif"],
    )
    blocking: list[SeverityName] = Field(
        default_factory=_default_blocking,
        description="Severities of which one new finding fails its gate whatever the score "
        "(hold the line). Inherited findings are reported apart and never block.",
    )
    small_change_lines: int = Field(
        20,
        ge=0,
        description="Coverage on new code is not judged when fewer new lines than this "
        "are executable (SonarQube's small-change allowance).",
    )
    sessions: bool = Field(
        True,
        description="Sessions in a git work tree judge new code since the commit they "
        "started from, when neither `since` nor `baseline` is set: what the session adds "
        "is held to the gates, what was there before is reported apart.",
    )
    integrity: bool = Field(
        True,
        description="Run GATE-INTEGRITY in new-code mode (deleted or skipped tests, removed "
        "assertions, new suppressions, a loosened gate policy).",
    )

    @property
    def enabled(self) -> bool:
        return self.since is not None or self.baseline is not None


class ArtifactsConfig(_Strict):
    """Where the documents and code live; checks take their default inputs from here."""

    requirements: list[str] = Field(
        default_factory=lambda: [
            "docs/requirements.md",
            "specs/*/spec.md",
            ".kiro/specs/*/requirements.md",
        ],
        description="Requirements documents (first one is where the scaffold writes).",
    )
    design: list[str] = Field(
        default_factory=lambda: [
            "docs/design.md",
            "specs/*/plan.md",
            ".kiro/specs/*/design.md",
        ],
        description="Design documents (first one is where the scaffold writes).",
    )
    sources: list[str] = Field(
        default_factory=lambda: ["*.py"], description="Source files of the implementation."
    )
    tests: list[str] = Field(
        default_factory=lambda: [
            "**/tests/**/*.py",
            "**/test/**/*.py",
            "test_*.py",
            "*_test.py",
            "tests.py",
            "conftest.py",
        ],
        description="Test files (excluded from `sources` for stub checks): `tests/` and "
        "`test/` folders at any depth (sub-projects such as `backend/tests/` included), "
        "`test_*.py`, `*_test.py`, Django's `tests.py`, `conftest.py`.",
    )
    requirement_id_prefixes: list[str] = Field(
        default_factory=lambda: ["REQ", "FR", "NFR", "US"],
        description="Prefixes of requirement ids (`REQ-001`, `FR-002`...): what the "
        "requirements checks, traceability and hovers recognise as an id.",
    )

    @field_validator("requirement_id_prefixes")
    @classmethod
    def _valid_prefixes(cls, v: list[str]) -> list[str]:
        for p in v:
            if not re.fullmatch(r"[A-Z][A-Z0-9]{0,15}", p):
                raise ValueError(f"requirement id prefix {p!r}: use 1-16 capitals/digits")
        return v


def _c(id: str, **kw: Any) -> CheckConfig:
    return CheckConfig(id=id, **kw)


def default_phases() -> list[PhaseConfig]:
    return [
        PhaseConfig(
            name="requirements",
            personas=["requirement_analyst"],
            checks=[
                _c("REQ-EXISTS"),
                _c("REQ-SECTIONS"),
                _c("REQ-IDS"),
                _c("REQ-ACCEPTANCE"),
                _c("REQ-PLACEHOLDER"),
            ],
        ),
        PhaseConfig(
            name="design",
            personas=["solution_architect", "security_specialist"],
            checks=[_c("DES-EXISTS"), _c("DES-SECTIONS"), _c("DES-TRACE"), _c("DES-PLACEHOLDER")],
        ),
        PhaseConfig(
            name="implementation",
            personas=["backend_developer", "frontend_developer"],
            checks=[
                _c("IMPL-SYNTAX"),
                _c("IMPL-STUB"),
                _c("IMPL-LINT"),
                _c("IMPL-TYPES", enabled=False),
                _c("IMPL-JSLINT"),
                _c("IMPL-TSC"),
            ],
        ),
        PhaseConfig(
            name="testing",
            personas=["qa_engineer"],
            checks=[
                _c("TEST-EXISTS"),
                _c("TEST-PYTEST"),
                _c("TEST-COVERAGE"),
                _c("TEST-TRACE"),
                _c("TEST-JSTESTS"),
                _c("TEST-JSCOVERAGE"),
            ],
        ),
        PhaseConfig(
            name="deployment",
            personas=["devops_engineer"],
            checks=[
                _c("DEP-METADATA"),
                _c("DEP-README"),
                _c("DEP-DOCKERFILE"),
                _c("DEP-CI"),
                _c("DEP-CHANGELOG"),
            ],
        ),
    ]


DEFAULT_ROLES: dict[str, str] = {
    "requirement_analyst": "Writes and completes the requirements document.",
    "solution_architect": "Writes the design: architecture, components, data, interfaces.",
    "security_specialist": "Reviews the design for risks and security.",
    "backend_developer": "Implements the server-side code.",
    "frontend_developer": "Implements the user-facing code.",
    "qa_engineer": "Writes and fixes the tests.",
    "devops_engineer": "Packages, documents and ships the project.",
}


def default_personas() -> dict[str, PersonaConfig]:
    return {name: PersonaConfig(kind="scaffold", role=role) for name, role in DEFAULT_ROLES.items()}


class Config(_Strict):
    """The whole phasegate configuration."""

    thresholds: list[float] = Field(
        default_factory=lambda: [0.60, 0.75, 0.85],
        min_length=1,
        description="Gate threshold per iteration: iteration k uses thresholds[min(k, len) - 1]. "
        "They should rise (or stay level): a decreasing schedule is accepted with a warning, "
        "since it is explicit, but it lets a later iteration pass with a lower score than an "
        "earlier one and `validate` scores against the last, lowest one.",
    )
    min_improvement: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="From iteration 2, the score must beat the phase's best by this much, "
        "else the phase is stalled.",
    )
    max_phase_iterations: int = Field(
        3,
        ge=1,
        le=MAX_ITERATIONS,
        description="Persona iterations per phase. At most 1000: the limit bounds what a "
        "session may cost, and a limit no session reaches is an error rather than no limit.",
    )
    max_global_iterations: int = Field(
        10,
        ge=1,
        le=MAX_ITERATIONS,
        description="Persona iterations per session. At most 1000, as `max_phase_iterations`.",
    )
    interpreter: str | None = Field(
        None,
        description="Python that runs the workspace's tests; default: `.venv/bin/python`, "
        "else `python3` on PATH.",
        examples=[".venv/bin/python"],
    )
    test_workers: Literal["auto"] | int = Field(
        "auto",
        description="pytest-xdist workers the test suite runs in, when the workspace's "
        "interpreter has pytest-xdist: `auto` (one per CPU phasegate may use and at most one "
        "per test file, when there are two or more of each and the suite's tests took 4 s "
        "or more the last time), a number, or 0 for a serial run. Coverage is measured in "
        "every worker, and a test that fails in parallel runs again serially to confirm it. "
        "Without pytest-xdist the suite runs serially.",
        examples=["auto", 4, 0],
    )
    timeouts: TimeoutsConfig = Field(
        default_factory=TimeoutsConfig, description="Time limits, in seconds."
    )
    artifacts: ArtifactsConfig = Field(
        default_factory=ArtifactsConfig,
        description="Where the documents and code live; checks take their default inputs "
        "from here.",
    )
    new_code: NewCodeConfig = Field(
        default_factory=NewCodeConfig,
        description="New-code mode: judge findings by whether they are new (since a git "
        "reference, or absent from a baseline). Off unless `since` or `baseline` is set.",
    )
    phases: list[PhaseConfig] = Field(
        default_factory=default_phases,
        description="The phases, in order. When given, replaces the default list as a whole. "
        "An empty list is an error: a pipeline without a phase would pass every run and "
        "every `validate` without checking anything.",
    )
    personas: dict[str, PersonaConfig] = Field(
        default_factory=default_personas,
        description="Personas by name; merged by name with the default personas.",
    )

    @field_validator("thresholds")
    @classmethod
    def _thresholds_in_range(cls, v: list[float]) -> list[float]:
        for t in v:
            if not 0.0 <= t <= 1.0:
                raise ValueError(f"threshold {t} is not between 0 and 1")
        return v

    @field_validator("test_workers", mode="before")
    @classmethod
    def _workers(cls, v: Any) -> Any:
        ok = v == "auto" or (
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_TEST_WORKERS
        )
        if not ok:
            raise PydanticCustomError(
                "test_workers",
                "`test_workers` is `auto` or a number of workers from 0 (a serial run) "
                "to {most}, not {value}",
                {"most": MAX_TEST_WORKERS, "value": repr(v)},
            )
        return v

    @field_validator("phases")
    @classmethod
    def _some_phase(cls, v: list[PhaseConfig]) -> list[PhaseConfig]:
        if not v:
            raise PydanticCustomError(
                VACUOUS_GATE,
                "the pipeline has no phase, so every run and `validate` would pass without "
                "checking anything; configure at least one phase, or remove `phases` to "
                "use the default ones",
            )
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Config:
        names = [p.name for p in self.phases]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"phase names must be unique: {sorted(dup)}")
        return self

    def threshold(self, iteration: int) -> float:
        """threshold(k) = thresholds[min(k, len) - 1]; iteration 0 (no persona) uses k=1."""
        k = max(1, iteration)
        return self.thresholds[min(k, len(self.thresholds)) - 1]

    def phase(self, name: str) -> PhaseConfig:
        for p in self.phases:
            if p.name == name:
                return p
        raise KeyError(name)

    def persona(self, name: str) -> PersonaConfig:
        """The persona's config; an unconfigured name is a scaffold persona of that name."""
        return self.personas.get(name) or PersonaConfig(role=DEFAULT_ROLES.get(name, ""))


def default_config() -> Config:
    return Config()
