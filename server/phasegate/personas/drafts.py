"""What the scaffold persona would write, without writing it: templates for missing files.

A finding about a file that does not exist (no requirements document, no CI workflow, no
changelog) is best answered by creating that file. :func:`drafts` runs the scaffold
persona's writer for a phase (:data:`phasegate.personas.scaffold.PHASE_WRITERS`) with a
context that records every file it would write instead of writing it, so a face can offer
the same skeleton ``phasegate run`` would write (the editor's "Create <file>" action).
Nothing is written, and nothing runs but the writer's own Python: it reads the workspace
(the requirement ids, the project's metadata) and returns text.

The requirements and design writers write their document only where none exists among
the phase's artifacts; a check may be configured with other inputs, so ``inputs`` (the
check's) stands for the artifacts of the document the writer looks for.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from phasegate.config import Config
from phasegate.personas.base import PersonaContext, PersonaTask
from phasegate.workspace import PathOutsideWorkspace, Workspace

# The document a phase's writer creates, by the artifacts key that says where it goes.
_DOCUMENT_ARTIFACTS = {"requirements": "requirements", "design": "design"}


@dataclass
class DraftContext(PersonaContext):
    """A persona context whose writes are kept in :attr:`drafts` (path -> text), never
    made. A path that exists, or was drafted already, is refused as a real write would be
    (unless ``overwrite``)."""

    drafts: dict[str, str] = field(default_factory=dict)

    def write_text(self, rel: str, text: str, *, overwrite: bool = False) -> bool:
        path = self.workspace.abspath(rel)  # raises PathOutsideWorkspace
        rel = self.workspace.relpath(path)
        if not overwrite and (path.exists() or rel in self.drafts):
            return False
        self.drafts[rel] = text
        self.written.append(rel)
        return True


def drafts(
    workspace: Workspace,
    config: Config,
    phase: str,
    *,
    inputs: list[str] | None = None,
    requirement: str = "",
) -> dict[str, str]:
    """The files (path -> text) the scaffold persona would write for ``phase`` now; empty
    when it has no writer for the phase or the writer fails."""
    from phasegate.personas import scaffold

    with contextlib.suppress(Exception):  # a broken extension: built-in phases still draft
        scaffold._load_extensions()
    writer = scaffold.PHASE_WRITERS.get(phase)
    if writer is None:
        return {}
    key = _DOCUMENT_ARTIFACTS.get(phase)
    if key is not None and inputs:
        artifacts = config.artifacts.model_copy(update={key: list(inputs)})
        config = config.model_copy(update={"artifacts": artifacts})
    pc = next((p for p in config.phases if p.name == phase), None)
    task = PersonaTask(
        session_id="draft",
        requirement=requirement,
        phase=phase,
        phase_title=pc.display if pc is not None else phase.capitalize(),
        persona="scaffold",
        role="",
        iteration=1,
        reason="draft",
        workspace=str(workspace.root),
    )
    ctx = DraftContext(workspace=workspace, config=config, timeout=0.0, trusted=False)
    try:
        writer(task, ctx)
    except (OSError, ValueError, PathOutsideWorkspace):
        return {}
    return dict(ctx.drafts)


def draft_for(
    workspace: Workspace,
    config: Config,
    phase: str,
    path: str,
    *,
    inputs: list[str] | None = None,
    requirement: str = "",
) -> dict[str, str]:
    """The drafts of ``phase`` that create ``path``: the file itself, or (``path`` a
    folder, as TEST-EXISTS's ``tests``) the files the writer puts in it."""
    found = drafts(workspace, config, phase, inputs=inputs, requirement=requirement)
    if path in found:
        return {path: found[path]}
    prefix = path.rstrip("/") + "/"
    return {p: t for p, t in found.items() if p.startswith(prefix)}
