"""``phasegate sessions``: list the workspace's sessions."""

from __future__ import annotations

import json
from pathlib import Path

import click

from phasegate.commands import _session_output as out


@click.command("sessions")
@out.workspace_option
@out.format_option
def command(workspace: Path, fmt: str) -> None:
    """List the workspace's sessions, most recent first (* marks the active one)."""
    from phasegate.store import SessionStore

    root = workspace.resolve()
    out.check_state(root)
    infos = SessionStore(root).list()
    if fmt == "json":
        click.echo(json.dumps([i.to_json() for i in infos], indent=2))
    else:
        from rich.console import Console

        out.render_sessions(Console(highlight=False), infos)
    from phasegate.cli import finish  # exit at once, output flushed: no interpreter teardown

    finish(0)
