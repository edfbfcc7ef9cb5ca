"""The part of :mod:`phasegate.model` that needs no pydantic: the enumerations and the
checkpoint's schema version.

Import them from :mod:`phasegate.model`, which re-exports them. They live here so that
what only reads a checkpoint's summary or routes an event (``phasegate sessions``, the
agent hook's fast answers) can use them without importing pydantic and building the
models, which costs more than the rest of such a command.
"""

from __future__ import annotations

from enum import Enum, IntEnum

SCHEMA_VERSION = 1


class Severity(IntEnum):
    """Finding severity, numbered as LSP's ``DiagnosticSeverity``."""

    ERROR = 1
    WARNING = 2
    INFO = 3
    HINT = 4

    @property
    def label(self) -> str:
        return self.name.lower()


class PhaseStatus(str, Enum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    STALLED = "stalled"  # no longer improving by min_improvement: waits for a person
    BLOCKED = "blocked"  # iteration limits hit, or entry gate not met: waits for a person
    REGRESSED = "regressed"  # was completed, its gate fails again


class SessionStatus(str, Enum):
    RUNNING = "running"
    WAITING = "waiting"  # a phase is stalled/blocked/regressed: a person must act
    COMPLETED = "completed"
    STOPPED = "stopped"  # stopped by the user or interrupted
