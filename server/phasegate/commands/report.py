"""``phasegate report``: write a session report (self-contained HTML, or JSON)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from phasegate.commands import _session_output as out
from phasegate.report import ReportError, build_report, render, write_report


@click.command("report")
@out.workspace_option
@click.option("--session", "session_id", default=None, help="Session id (default: the active one).")
@click.option(
    "--output",
    "-o",
    default=None,
    help="File to write; `-` for stdout. Default: .phasegate/sessions/<id>/report.<format>.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "json"]),
    default="html",
    show_default=True,
    help="HTML page (inline CSS and SVG charts, no script, no network) or JSON metrics.",
)
def command(workspace: Path, session_id: str | None, output: str | None, fmt: str) -> None:
    """Write a report of a session: timeline, score against threshold per iteration,
    personas, findings fixed and left, time per phase, persona and check, traceability
    matrix and open findings. Prints the path written.

    Runs none of the workspace's code. Exit code 0 when the report was written, 2 when
    there is no such session or the report cannot be written.
    """
    out.check_state(workspace.resolve(), session_id)
    try:
        if output == "-":
            sys.stdout.write(render(build_report(workspace, session_id), fmt))
            return
        path = write_report(workspace, session_id, fmt, Path(output) if output else None)
    except ReportError as exc:
        sys.exit(out.error(str(exc)))
    click.echo(str(path))
