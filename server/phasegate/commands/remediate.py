"""``phasegate remediate``: validate, let the owners of failed checks fix them, re-validate.

Every file a persona changes is backed up first under
``DIR/.phasegate/sessions/<id>/backups/remediation-NNN/``; ``phasegate undo`` restores
them, also after a remediation that was killed. Exit status: 0 every gate passes
afterwards, 1 a gate still fails, 2 configuration, session or usage error.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from phasegate.cli import fail
from phasegate.commands._state import check_state, load_or_exit
from phasegate.commands._workspace import workspace_params
from phasegate.remediate import RemediationError, RemediationResult, remediate
from phasegate.store import InvalidSessionId, SessionStore, validate_new_session_id
from phasegate.workspace import Workspace

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_ERROR = 2


def result_to_json(result: RemediationResult) -> dict[str, Any]:
    return {
        "session": result.session_id,
        "backup": result.label,
        "passed": result.passed,
        "phases": [
            {
                "name": p.phase,
                "status": p.status,
                "message": p.message,
                "initial_score": p.initial.score,
                "score": p.final.score,
                "threshold": p.final.threshold,
                "passed": p.final.passed,
                "iterations": [[r.model_dump(mode="json") for r in it] for it in p.iterations],
            }
            for p in result.phases
        ],
        "changes": [{"path": c.path, "kind": c.kind} for c in result.changes],
    }


def render_result(console: Console, root: Path, result: RemediationResult) -> None:
    from phasegate.commands._output import render_findings, render_gates

    render_findings(console, [g for g in result.final_gates if not g.passed], root)
    statuses = {
        p.phase: p.status if p.final.passed or p.status in ("stalled", "blocked") else "failed"
        for p in result.phases
    }
    render_gates(console, result.final_gates, statuses, title="After remediation")
    if not result.changes:
        console.print("No file changed.")
        return
    console.print(f"Changed {len(result.changes)} file(s):")
    for c in result.changes:
        console.print(f"  {c.kind:<8} {escape(c.path)}", highlight=False)
    undo = f"phasegate undo --session {result.session_id}"
    if root != Path.cwd().resolve():
        undo += f" {root}"
    console.print(f"Backup: {result.label} in session {result.session_id}.", soft_wrap=True)
    console.print(f"Undo with: {escape(undo)}", soft_wrap=True)


@click.command("remediate")
@workspace_params()
@click.option("--phase", "phase", metavar="NAME", help="Remediate only this phase.")
@click.option(
    "--session",
    "session_id",
    metavar="ID",
    help="Session to record the backups in (default: the active one, else a new one).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--untrusted",
    is_flag=True,
    help="Treat the workspace as untrusted: run no persona or check that runs workspace code.",
)
def command(
    workspace: Path, phase: str | None, session_id: str | None, fmt: str, untrusted: bool
) -> None:
    """Validate the workspace (DIR or -w DIR: the project root found from there), let
    the owners of failed checks fix them, re-validate.

    Exit status: 0 all gates pass afterwards, 1 a gate still fails, 2 configuration,
    session or usage error.
    """
    root = workspace
    check_state(root, session_id)
    if session_id is not None:
        try:
            if not SessionStore(root).exists(session_id):
                validate_new_session_id(session_id)  # a new session: no id starting with -
        except InvalidSessionId as exc:
            fail(str(exc))
    loaded = load_or_exit(root)
    config = loaded.config
    console = Console(highlight=False, stderr=fmt == "json")
    try:
        result = asyncio.run(
            remediate(
                Workspace(root),
                config,
                phase=phase,
                session_id=session_id,
                trusted=not untrusted,
                on_progress=lambda msg: console.print(escape(msg), soft_wrap=True),
            )
        )
    except RemediationError as exc:
        fail(str(exc))
    if fmt == "json":
        click.echo(json.dumps(result_to_json(result), indent=2))
    else:
        render_result(console, root, result)
    sys.exit(EXIT_PASSED if result.passed else EXIT_FAILED)
