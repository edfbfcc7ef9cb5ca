"""``phasegate approve``: accept, as a person, the changes GATE-INTEGRITY flags.

Without ids it lists what GATE-INTEGRITY flags now, each with its id; with ids (or
``--all``) it records their approval (:mod:`phasegate.approvals`), after which the check
leaves them out. New code is judged as ``validate`` judges it: ``--since REF``, else the
configuration's ``[new_code]``, else the active session's start.

Exit status: 0 nothing left to approve (or all given approved), 1 changes still wait
for approval, 2 bad usage, an unknown id, or a workspace where it cannot run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from phasegate.approvals import ApprovalError, approve
from phasegate.cli import fail
from phasegate.commands._state import check_state, print_warnings
from phasegate.commands._workspace import workspace_params
from phasegate.config import CheckConfig
from phasegate.config_loader import ConfigError, load
from phasegate.model import Finding
from phasegate.newcode import NewCodeError, resolve_new_code
from phasegate.runner import INTEGRITY_ID, GateRunner
from phasegate.workspace import Workspace


def _session_since(root: Path) -> str | None:
    from phasegate.store import SessionStore, StoreError

    store = SessionStore(root)
    try:
        return store.load(store.resolve(None)).new_code_since
    except (StoreError, Exception):  # no session, or none readable: no reference from it
        return None
    finally:
        store.unlock_all()


def flagged(root: Path, since: str | None) -> list[Finding]:
    """What GATE-INTEGRITY flags now (approved changes left out). Raises ValueError
    with a sentence when it cannot run."""
    try:
        loaded = load(root)
    except ConfigError as exc:
        msg = f"{len(exc.issues)} configuration error(s): run `phasegate validate`"
        raise ValueError(msg) from None
    print_warnings(loaded.warnings)
    config = loaded.config
    ws = Workspace(root)
    if since is None and not config.new_code.enabled:
        since = _session_since(root)
        if since is None:
            raise ValueError(
                "no reference to judge changes against: give --since REF, set [new_code] "
                "since in the configuration, or start a session in a git work tree"
            )
    try:
        nc = resolve_new_code(ws, config, since=since)
    except NewCodeError as exc:
        raise ValueError(str(exc)) from None
    runner = GateRunner(ws, config, new_code=nc)
    rc = runner.resolve(config.phases[-1], CheckConfig(id=INTEGRITY_ID))
    result = runner.run_check(rc)
    if result.error:
        raise ValueError(f"{INTEGRITY_ID} could not run: {result.error}")
    if result.not_applicable:
        raise ValueError(f"{INTEGRITY_ID}: {result.not_applicable}")
    return result.findings


@click.command("approve")
@click.argument("ids", nargs=-1)
@click.option("--all", "approve_all", is_flag=True, help="Approve every change flagged now.")
@click.option("-m", "--message", "note", default="", help="Why the change is fine.")
@click.option("--since", metavar="REF", help="Judge changes since this git reference.")
@workspace_params(positional=False)
def command(
    ids: tuple[str, ...], approve_all: bool, note: str, since: str | None, workspace: Path
) -> None:
    """List the changes GATE-INTEGRITY flags, or approve them by id (or --all).

    Deleted or skipped tests, removed assertions, new suppressions and a loosened gate
    policy wait for a person's approval; once approved, GATE-INTEGRITY leaves them out.
    Programs phasegate runs (personas, check tools) cannot approve.
    """
    root = workspace
    check_state(root)
    try:
        findings = flagged(root, since)
    except ValueError as exc:
        fail(str(exc))
    if not ids and not approve_all:
        for f in findings:
            line = f.range.start.line + 1
            click.echo(f"{f.id}  {f.path}:{line}: {f.message}")
        if findings:
            click.echo(f"{len(findings)} change(s) wait for approval: `phasegate approve ID…`")
            sys.exit(1)
        click.echo("nothing waits for approval")
        return
    by_id = {f.id: f for f in findings}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        fail(f"not flagged now: {', '.join(unknown)}")
    chosen = findings if approve_all else [by_id[i] for i in ids]
    try:
        added = approve(root, chosen, note)
    except ApprovalError as exc:
        fail(str(exc))
    for a in added:
        click.echo(f"approved: {a.path}: {a.message}")
    left = len(findings) - len(chosen)
    click.echo(f"{len(added)} approved; {left} still wait for approval")
    sys.exit(1 if left else 0)
