"""Running one persona of a phase: the part the executor and remediation share.

:func:`run_persona` creates the persona as configured, refuses one that runs workspace
code in an untrusted workspace, gives it a :class:`~phasegate.personas.base.PersonaTask`
and a :class:`~phasegate.personas.base.PersonaContext` whose writes are backed up by the
given recorder, runs it bounded by its timeout (``personas.<name>.timeout``, else
``timeouts.persona``) and records what happened as a :class:`~phasegate.model.PersonaRun`.
A persona that cannot be created, crashes, fails or times out is recorded, never raised.

While it runs, the recorder is also the one a program's snapshot is written into before
the program starts (:func:`phasegate.backups.recording_into`), so that the changes of a
program killed with phasegate can still be undone.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Callable

from phasegate.backups import BackupRecorder, recording_into
from phasegate.config import Config, PhaseConfig
from phasegate.model import Finding, PersonaRun
from phasegate.personas.base import PersonaContext, PersonaTask, make_persona
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace


def phase_artifacts(runner: GateRunner, phase: str) -> list[str]:
    """The input patterns of the phase's checks, each once, in order: what its personas
    are pointed at."""
    out: list[str] = []
    for rc in runner.checks(phase):
        for pat in rc.ctx.inputs:
            if pat not in out:
                out.append(pat)
    return out


async def run_persona(
    name: str,
    *,
    config: Config,
    workspace: Workspace,
    trusted: bool,
    backups: BackupRecorder,
    session_id: str,
    requirement: str,
    phase: PhaseConfig,
    iteration: int,
    reason: str,
    feedback: list[Finding],
    artifacts: list[str],
    on_start: Callable[[], None] | None = None,
) -> PersonaRun:
    """Run persona ``name`` once (see the module docstring).

    ``on_start`` is called just before the persona's work starts: not for a persona that
    cannot be created or is not run in an untrusted workspace (``skipped`` says why).
    """
    run = PersonaRun(persona=name, reason=reason, feedback_count=len(feedback))
    start = time.monotonic()
    try:
        persona = make_persona(name, config)
    except Exception as exc:
        run.ok = False
        run.error = f"cannot create persona: {exc}"
        return run
    if not trusted and persona.runs_workspace_code:
        run.skipped = f"untrusted workspace: persona {name!r} ({persona.kind}) runs workspace code"
        return run
    pconf = config.persona(name)
    timeout = pconf.timeout or config.timeouts.persona
    ctx = PersonaContext(
        workspace=workspace, config=config, timeout=timeout, backups=backups, trusted=trusted
    )
    task = PersonaTask(
        session_id=session_id,
        requirement=requirement,
        phase=phase.name,
        phase_title=phase.display,
        persona=name,
        role=pconf.role,
        iteration=iteration,
        reason=reason,
        feedback=feedback,
        artifacts=artifacts,
        workspace=str(workspace.root),
    )
    if on_start is not None:
        on_start()
    changed: list[str] = []
    try:
        with recording_into(backups):
            result = await asyncio.wait_for(persona.run(task, ctx), timeout)
    except asyncio.TimeoutError:
        run.ok, run.error = False, f"timed out after {timeout:g}s"
    except Exception as exc:  # a persona bug must not lose the backups or the record
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        run.ok, run.error = False, f"crashed: {tb}"
    else:
        run.ok = result.ok
        run.error = None if result.ok else (result.error or result.message or "failed")
        changed = result.files_changed
    # what the persona said it changed, then what it wrote through the context
    run.files_changed = list(dict.fromkeys([*changed, *ctx.written]))
    run.duration_s = round(time.monotonic() - start, 6)
    return run
