"""The persona interface and registry.

A persona is a worker that changes the workspace for a phase. The executor gives it a
:class:`PersonaTask` (requirement, phase, role, iteration, why it runs, the failed
findings it must address, the artifacts to read) and a :class:`PersonaContext` through
which it writes files: every write is checked to stay inside the workspace and the
previous content is backed up first (see :mod:`phasegate.backups`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from phasegate.fsutil import atomic_write_text
from phasegate.model import Finding

if TYPE_CHECKING:
    from phasegate.backups import BackupRecorder
    from phasegate.config import Config, PersonaConfig
    from phasegate.workspace import Workspace

ENTRY_POINT_GROUP = "phasegate.personas"


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PersonaTask(BaseModel):
    session_id: str
    requirement: str
    phase: str
    phase_title: str
    persona: str
    role: str
    iteration: int
    reason: str
    feedback: list[Finding] = Field(default_factory=list)  # failed findings it owns
    artifacts: list[str] = Field(default_factory=list)  # globs of the phase's inputs
    workspace: str  # absolute path of the root


class PersonaResult(BaseModel):
    ok: bool = True
    error: str | None = None
    files_changed: list[str] = Field(default_factory=list)
    message: str = ""


@dataclass
class PersonaContext:
    workspace: Workspace
    config: Config
    timeout: float
    backups: BackupRecorder | None = None
    trusted: bool = True
    written: list[str] = field(default_factory=list)

    def write_text(self, rel: str, text: str, *, overwrite: bool = False) -> bool:
        """Write a workspace file atomically. Refuses paths outside the workspace.

        Returns False (and writes nothing) when the file exists and ``overwrite`` is false.
        With ``overwrite``, the old content is backed up first when a recorder is set.
        """
        path = self.workspace.abspath(rel)  # raises PathOutsideWorkspace
        rel = self.workspace.relpath(path)
        if path.exists() and not overwrite:
            return False
        if self.backups is not None:
            self.backups.save(rel)
        atomic_write_text(path, text)
        self.workspace.notify_changed([rel])
        self.written.append(rel)
        return True


class Persona(ABC):
    kind: ClassVar[str]
    # True when it runs a program or calls a service the workspace configures:
    # never run in an untrusted workspace.
    runs_workspace_code: ClassVar[bool] = True
    Options: ClassVar[type[BaseModel]] = NoOptions

    def __init__(self, name: str, config: PersonaConfig, options: BaseModel) -> None:
        self.name = name
        self.config = config
        self.options = options

    @abstractmethod
    async def run(self, task: PersonaTask, ctx: PersonaContext) -> PersonaResult:
        """Do the work. Must not raise for ordinary failures: return ok=False, error=..."""

    def describe(self) -> str:
        """What running it does, in a few words, for a person about to choose it (an
        editor's "Rework with <persona> — <this>")."""
        return f"runs the {self.kind} persona"

    def can_act_on(self, finding: Finding) -> bool:
        """Whether reworking ``finding`` with this persona can change anything (False: do
        not offer it for that finding)."""
        return True


class UnknownPersona(LookupError):
    pass


_registry: dict[str, type[Persona]] | None = None


def registered_personas() -> dict[str, type[Persona]]:
    """Every persona kind by name, imported one at a time as it is looked up (see
    :mod:`phasegate.plugins`)."""
    global _registry
    if _registry is None:
        from phasegate.plugins import EntryPointRegistry

        _registry = EntryPointRegistry(ENTRY_POINT_GROUP, Persona)
    return _registry


def register_persona(kind: str, cls: type[Persona]) -> None:
    registered_personas()[kind] = cls


def make_persona(name: str, config: Config) -> Persona:
    """Instantiate the persona ``name`` as configured (unknown names are scaffold personas)."""
    pc = config.persona(name)
    try:
        cls = registered_personas()[pc.kind]
    except KeyError:
        known = ", ".join(sorted(registered_personas()))
        raise UnknownPersona(
            f"persona {name!r}: unknown kind {pc.kind!r} (known: {known})"
        ) from None
    return cls(name, pc, cls.Options.model_validate(pc.options))
