"""``phasegate install-hooks``: hook phasegate into a coding agent's project settings.

``--agent claude`` writes ``.claude/settings.json``, ``--agent codex``
``.codex/hooks.json``, ``--agent cursor`` ``.cursor/hooks.json``
(:mod:`phasegate.hooks.install`): after every edit the edited files' findings, at every
stop the gate, at session start a paragraph of context; ``--gate-commits`` also refuses
``git commit`` while the gate fails. Other hooks in the file are kept; running it again
changes nothing; ``--uninstall`` takes out only phasegate's entries; ``--dry-run`` shows
the file as it would be and writes nothing.

Exit status: 0 done (or nothing to do), 2 a settings file that is not valid JSON or not
shaped as the agent documents (named with its line; nothing written) or bad usage.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from phasegate.cli import fail, warning
from phasegate.commands._workspace import workspace_params
from phasegate.hooks.install import InstallError, apply, entries_for, plan
from phasegate.hooks.protocol import Agent

EXIT_ERROR = 2
AGENT_NAMES: dict[str, Agent] = {"claude": "claude", "codex": "codex", "cursor": "cursor"}
NOTES = {
    "claude": "Claude Code reads hooks when a session starts: restart it, or review them "
    "with /hooks.",
    "codex": "Codex runs project hooks once you have reviewed and trusted them (/hooks); "
    "Codex versions from before hooks were on by default also need `[features] "
    "codex_hooks = true` in config.toml.",
    "cursor": "Cursor loads project hooks in a trusted workspace; its Hooks settings tab "
    "and output channel show them running. Cursor gives the agent no context after an "
    "edit: the findings reach it at the stop, as a follow-up message.",
}


@click.command("install-hooks")
@click.option(
    "--agent",
    type=click.Choice(["claude", "codex", "cursor"]),
    required=True,
    help="Which agent's project settings to change.",
)
@workspace_params()
@click.option(
    "--dry-run", is_flag=True, help="Show the settings file as it would be; write nothing."
)
@click.option("--uninstall", is_flag=True, help="Take phasegate's hooks out (and only those).")
@click.option("--gate-commits", is_flag=True, help="Also refuse `git commit` while the gate fails.")
@click.option(
    "--subagents",
    is_flag=True,
    help="Claude Code and Codex: also hold subagents' stops to the gate (SubagentStop). Off "
    "by default: a read-only subagent cannot fix findings.",
)
@click.option(
    "--mode",
    type=click.Choice(["session", "validate"]),
    default="session",
    show_default=True,
    help="Which gate a stop must pass (see `phasegate hook --help`).",
)
@click.option(
    "--max-blocks",
    type=click.IntRange(0, 100),
    default=None,
    help="Refuse a stop at most this many times in a row (the hook's default: 3).",
)
@click.option(
    "--program",
    default="phasegate",
    show_default=True,
    help="The command the agent runs (an absolute path when phasegate is not on the agent's PATH).",
)
def command(
    agent: str,
    workspace: Path,
    dry_run: bool,
    uninstall: bool,
    gate_commits: bool,
    subagents: bool,
    mode: str,
    max_blocks: int | None,
    program: str,
) -> None:
    """Install phasegate's hooks into an agent's project settings (or take them out), in
    the workspace (DIR or -w DIR: the project root found from there)."""
    root = workspace
    who = AGENT_NAMES[agent]
    entries = (
        None
        if uninstall
        else entries_for(
            who,
            program=program,
            gate_commits=gate_commits,
            subagents=subagents,
            mode=mode,
            max_blocks=max_blocks,
        )
    )
    try:
        change = plan(root, who, entries)
    except InstallError as exc:
        fail(str(exc))
    shown = change.path.relative_to(root) if change.path.is_relative_to(root) else change.path
    if dry_run:
        state = "would change" if change.changed else "would stay as it is"
        click.echo(f"# {shown} {state} (dry run: nothing written)")
        click.echo(change.after, nl=False)
        return
    if not change.changed:
        what = "no phasegate hooks to remove" if uninstall else "phasegate's hooks are installed"
        click.echo(f"{shown}: {what}; nothing changed.")
        return
    try:
        backup = apply(change)
    except OSError as exc:
        fail(f"cannot write {change.path}: {exc.strerror or exc}")
    saved = f" (previous file: {backup.name})" if backup is not None else ""
    if uninstall:
        click.echo(f"{shown}: removed {change.removed} phasegate hook(s){saved}.")
        return
    click.echo(f"{shown}: phasegate hooks {', '.join(change.events)}{saved}.")
    if program == "phasegate" and shutil.which("phasegate") is None:
        warning(
            "`phasegate` is not on PATH here; if the agent does not find it either, "
            "run install-hooks again with --program /absolute/path/to/phasegate"
        )
    click.echo(NOTES[who])
