"""``phasegate remediate``: validate, let the owners of failed checks fix them, re-validate.

Every file a persona changes is backed up first under
``DIR/.phasegate/sessions/<id>/backups/remediation-NNN/``; ``phasegate undo`` restores
them, also after a remediation that was killed. Exit status: 0 every gate passes
afterwards, 1 a gate still fails, 2 configuration, session or usage error.

On a terminal a progress line on standard error names what runs: the check being
evaluated and its tool, or the persona at work and the program it runs, with the number
of checks done and the time spent (:mod:`phasegate.commands._progress`, the rule of
``validate``: only when standard error is a terminal, ``PHASEGATE_PROGRESS`` decides
otherwise). The steps done are printed above it; where the steps go to a pipe or a file
(``phasegate remediate > log``), they go there and the line stays on the terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from phasegate.cli import fail, finish
from phasegate.commands._progress import ObservedRunner, StepProgress, progress_wanted
from phasegate.commands._state import check_state, load_or_exit
from phasegate.commands._workspace import workspace_params
from phasegate.model import Event
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


def follow_steps(progress: StepProgress) -> Callable[[Event], None]:
    """What the progress line names between checks, from the remediation's journalled
    steps: the persona at work and why, then the gate evaluated again."""

    def on_event(ev: Event) -> None:
        step = ev.data.get("step")
        phase = ev.phase or ""
        if step == "persona_started":
            reason = str(ev.data.get("reason") or "")
            persona = str(ev.data.get("persona") or "")
            progress.working(f"{phase} · {persona}: {reason}" if reason else f"{phase} · {persona}")
        elif step == "persona_finished":
            progress.working(f"{phase} · evaluating the gate")

    return on_event


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
    ws = Workspace(root)
    progress = StepProgress(title="remediating") if progress_wanted() else None
    runner: ObservedRunner | None = None
    on_event: Callable[[Event], None] | None = None
    if progress is not None:  # a runner that says which check runs, for the progress line
        from phasegate.cache import ResultCache

        runner = ObservedRunner(
            ws, config, trusted=not untrusted, cache=ResultCache(ws.state_dir / "cache")
        )
        runner.observer = progress
        on_event = follow_steps(progress)
    # the steps printed above the progress line when they go to the same terminal
    above = progress is not None and (fmt == "json" or sys.stdout.isatty())

    def say(msg: str) -> None:
        if above and progress is not None:
            progress.line(msg)
        else:
            console.print(escape(msg), soft_wrap=True)

    try:
        with progress or contextlib.nullcontext():
            result = asyncio.run(
                remediate(
                    ws,
                    config,
                    phase=phase,
                    session_id=session_id,
                    trusted=not untrusted,
                    on_progress=say,
                    runner=runner,
                    on_event=on_event,
                )
            )
    except RemediationError as exc:
        fail(str(exc))
    if fmt == "json":
        click.echo(json.dumps(result_to_json(result), indent=2))
    else:
        render_result(console, root, result)
    finish(EXIT_PASSED if result.passed else EXIT_FAILED)
