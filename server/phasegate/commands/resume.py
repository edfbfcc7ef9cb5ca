"""``phasegate resume``: continue a session from its checkpoint."""

from __future__ import annotations

from pathlib import Path

import click

from phasegate.commands import _session_output as out


@click.command("resume")
@click.argument("session", required=False)
@out.workspace_option
@out.max_phase_option
@out.max_global_option
@out.untrusted_option
@out.format_option
def command(
    session: str | None,
    workspace: Path,
    max_phase_iterations: int | None,
    max_global_iterations: int | None,
    untrusted: bool,
    fmt: str,
) -> None:
    """Resume SESSION (default: the active session) where it stopped, in the workspace
    DIR or -w DIR (the project root found from there; one argument is SESSION).

    Stalled and blocked phases are re-evaluated first: edits that make a gate pass
    complete the phase. A phase blocked by the iteration limit iterates further when
    --max-phase-iterations now allows it. Trust is not remembered: pass --untrusted
    again to resume a session started with it. Exit codes as for `phasegate run`.
    """
    from phasegate.cli import finish  # exit at once, output flushed: no interpreter teardown

    finish(
        out.execute(
            workspace,
            fmt,
            lambda ex: ex.resume(session),
            max_phase_iterations=max_phase_iterations,
            max_global_iterations=max_global_iterations,
            trusted=not untrusted,
            session_id=session,
        )
    )
