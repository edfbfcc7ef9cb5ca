"""``phasegate init``: write a commented ``phasegate.toml`` equal to the defaults."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import click

from phasegate.commands._state import check_state
from phasegate.config import Config
from phasegate.config_loader import CONFIG_FILE, PYPROJECT_FILE, find_config
from phasegate.docgen import config_to_toml
from phasegate.fsutil import atomic_write_text
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
@click.argument(
    "directory",
    default=".",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@click.option(
    "--force",
    is_flag=True,
    help="Overwrite an existing phasegate.toml (the old one is copied to .phasegate/backups/).",
)
def command(directory: Path, force: bool) -> None:
    """Write a commented phasegate.toml equal to the defaults in DIRECTORY (default: .)."""
    root = directory.resolve()
    target = root / CONFIG_FILE
    previous = find_config(root)
    backup: Path | None = None
    if target.exists():
        if not force:
            click.echo(
                f"phasegate: {target} already exists; use --force to replace it "
                f"(the old file is kept in {STATE_DIR}/backups/)",
                err=True,
            )
            sys.exit(2)
        check_state(root, prefix="phasegate: ")
        backup = backup_existing(root, target)
    atomic_write_text(target, default_config_text())
    click.echo(f"wrote {target}")
    if backup is not None:
        click.echo(f"previous file saved as {backup}")
    if previous is not None and previous.name == PYPROJECT_FILE:
        click.echo(
            f"note: {PYPROJECT_FILE} has a [tool.phasegate] table; {CONFIG_FILE} now takes "
            "precedence over it"
        )
