"""``phasegate undo``: restore the files the last remediation changed.

Modified files get their previous bytes and permission bits back, created files are
deleted, deleted files come back; the backup is then marked undone (a second ``undo`` goes
one remediation further back). A remediation that was killed is undone too (the content
it cannot tell from later edits is kept in a ``pre-undo`` backup); an undo that was killed
is finished by running it again. Files edited since the remediation, or a damaged backup,
make it refuse, unless ``--force`` (the edits are backed up first; damaged backups are left
out). Exit status: 0 restored, 2 nothing to undo or an error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from phasegate.cli import fail
from phasegate.commands._state import check_state
from phasegate.commands._workspace import workspace_params
from phasegate.remediate import RemediationError, undo
from phasegate.workspace import Workspace

EXIT_OK = 0
EXIT_ERROR = 2


@click.command("undo")
@workspace_params()
@click.option(
    "--session",
    "session_id",
    metavar="ID",
    help="Undo this session's last remediation (default: the latest of any session).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Undo even over later edits (they are backed up first) or damaged backups "
    "(those files are left as they are).",
)
def command(workspace: Path, session_id: str | None, force: bool) -> None:
    """Restore the files the last remediation in the workspace (DIR or -w DIR: the
    project root found from there) changed."""
    root = workspace
    check_state(root, session_id)
    try:
        result = undo(Workspace(root), session_id, force=force)
    except RemediationError as exc:
        fail(str(exc))
    how = " (interrupted: the remediation had been stopped)" if result.interrupted else ""
    click.echo(f"Undid {result.label} of session {result.session_id}{how}:")
    for c in result.restored:
        action = {"created": "deleted", "modified": "restored", "deleted": "recreated"}[c.kind]
        click.echo(f"  {action:<9} {c.path}")
    if not result.restored:
        click.echo("  (no file to restore)")
    for path in result.skipped:
        click.echo(f"  not restored (damaged backup) {path}")
    if result.saved_as:
        what = "What undo overwrote was" if result.interrupted else "Your later edits were"
        click.echo(
            f"{what} kept in backup {result.saved_as} "
            f"(.phasegate/sessions/{result.session_id}/backups/{result.saved_as}/)."
        )
    sys.exit(EXIT_OK)
