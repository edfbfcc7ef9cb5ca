"""``phasegate init``: write a commented ``phasegate.toml`` equal to the defaults.

When a coding agent's CLI is on ``PATH`` (``--agent auto``, the default, takes the first
in :data:`phasegate.personas.agents.KNOWN_AGENTS`' order), the personas that rework the
code phases run it instead of the scaffold persona; ``--agent none`` writes the defaults
exactly.

A folder given (``DIR`` or ``-w DIR``) is used as it is: ``init`` makes it a project
root. Without one, it writes at the root the other commands find from the current
folder (:mod:`phasegate.rootdir`): the nearest folder with a phasegate marker, else the
repository's top, else the current folder.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import click

from phasegate.cli import fail
from phasegate.commands._state import check_state
from phasegate.commands._workspace import workspace_params
from phasegate.config import Config
from phasegate.config_loader import CONFIG_FILE, PYPROJECT_FILE, find_config
from phasegate.docgen import config_to_toml
from phasegate.fsutil import atomic_write_text
from phasegate.personas.agents import AGENT_NAMES, AUTO, KNOWN_AGENTS, NONE, choose_agent
from phasegate.workspace import STATE_DIR


def backup_existing(root: Path, path: Path) -> Path:
    """Copy ``path`` to ``.phasegate/backups/<name>.<timestamp>`` (never overwriting one)."""
    directory = root / STATE_DIR / "backups"
    directory.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = directory / f"{path.name}.{stamp}"
    n = 1
    while target.exists():
        target = directory / f"{path.name}.{stamp}.{n}"
        n += 1
    shutil.copy2(path, target)
    return target


def default_config_text() -> str:
    """The commented ``phasegate.toml`` that ``init`` writes (loads back to ``Config()``)."""
    return config_to_toml(Config(), comments=True)


@click.command("init")
@workspace_params(explicit="exact")
@click.option(
    "--force",
    is_flag=True,
    help="Overwrite an existing phasegate.toml (the old one is copied to .phasegate/backups/).",
)
@click.option(
    "--agent",
    type=click.Choice([AUTO, NONE, *AGENT_NAMES]),
    default=AUTO,
    show_default=True,
    help="Coding agent for the code phases' personas: auto = the first on PATH "
    f"({', '.join(AGENT_NAMES)}), none = the built-in scaffold persona.",
)
def command(workspace: Path, force: bool, agent: str) -> None:
    """Write a commented phasegate.toml equal to the defaults in DIR (or -w DIR; default:
    the project root found from the current folder, else the repository's top).

    The personas that rework the code (the owners of the IMPL-* and TEST-* checks) run
    the coding agent chosen by --agent; they run in a trusted workspace only.
    """
    from phasegate.personas.agent_setup import AgentSetupError, init_text

    root = workspace
    target = root / CONFIG_FILE
    previous = find_config(root)
    backup: Path | None = None
    if target.exists():
        if not force:
            fail(
                f"{target} already exists; use --force to replace it "
                f"(the old file is kept in {STATE_DIR}/backups/)"
            )
        check_state(root)
        backup = backup_existing(root, target)
    chosen = choose_agent(agent)
    try:
        edit = init_text(chosen)
    except AgentSetupError as exc:  # pragma: no cover - the defaults always load
        fail(str(exc))
    atomic_write_text(target, edit.text)
    click.echo(f"wrote {target}")
    if chosen is not None:
        where = f" at {chosen.path}" if chosen.path else " (not on PATH yet)"
        click.echo(
            f"agent: {chosen.title} ({chosen.name}){where} works the code phases as "
            f"{', '.join(edit.written)}; it runs in a trusted workspace only "
            f"(--agent none: the scaffold persona)"
        )
    elif agent == AUTO:
        looked = ", ".join(a.name for a in KNOWN_AGENTS)
        click.echo(
            f"agent: none found on PATH (looked for {looked}); the code phases use the "
            "scaffold persona (phasegate personas --use AGENT changes that later)"
        )
    if backup is not None:
        click.echo(f"previous file saved as {backup}")
    if previous is not None and previous.name == PYPROJECT_FILE:
        click.echo(
            f"note: {PYPROJECT_FILE} has a [tool.phasegate] table; {CONFIG_FILE} now takes "
            "precedence over it"
        )
