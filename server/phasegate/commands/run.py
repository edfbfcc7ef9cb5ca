"""``phasegate run``: start a session and drive a requirement through the phases."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from phasegate.commands import _session_output as out


@click.command("run")
@click.option("--requirement", "-r", required=True, help="What to build, in one sentence or more.")
@click.option("--session", "session_id", default=None, help="Session id (default: generated).")
@out.workspace_option
@out.max_phase_option
@out.max_global_option
@out.untrusted_option
@out.format_option
def command(
    requirement: str,
    session_id: str | None,
    workspace: Path,
    max_phase_iterations: int | None,
    max_global_iterations: int | None,
    untrusted: bool,
    fmt: str,
) -> None:
    """Start a session: drive a requirement through the phases.

    Exit code 0 when every phase passed its gate, 1 when a gate failed and the session
    waits for a person (fix the findings, then `phasegate resume`), 2 on a usage,
    configuration or state error, 130 when interrupted (the checkpoint is saved).
    """
    if session_id is not None:
        from phasegate.store import InvalidSessionId, validate_new_session_id

        try:
            validate_new_session_id(session_id)
        except InvalidSessionId as exc:
            sys.exit(out.error(str(exc)))
    from phasegate.cli import finish  # exit at once, output flushed: no interpreter teardown

    finish(
        out.execute(
            workspace,
            fmt,
            None,
            max_phase_iterations=max_phase_iterations,
            max_global_iterations=max_global_iterations,
            trusted=not untrusted,
            session_id=session_id,
            requirement=requirement,
        )
    )
