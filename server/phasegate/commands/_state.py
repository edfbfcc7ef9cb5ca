"""What every command does before it touches the workspace: refuse a state folder it
must not use (:mod:`phasegate.statedir`) and print the configuration's warnings."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from phasegate.statedir import StateDirError, check_state_dir

if TYPE_CHECKING:  # the configuration (pydantic) is loaded by the commands that use it
    from phasegate.config_loader import ConfigIssue, LoadedConfig

EXIT_ERROR = 2


def check_state(root: Path, session_id: str | None = None, *, prefix: str = "error: ") -> None:
    """Exit with 2 and one sentence on stderr when ``root``'s state folder holds a link or
    an entry of the wrong kind (see :mod:`phasegate.statedir`); nothing is written."""
    try:
        check_state_dir(root, session_id)
    except StateDirError as exc:
        click.echo(f"{prefix}{exc}", err=True)
        sys.exit(EXIT_ERROR)


def print_warnings(warnings: Iterable[ConfigIssue]) -> None:
    """The configuration's warnings, one ``file:line:col: warning: ...`` line each."""
    for w in warnings:
        click.echo(str(w), err=True)


def load_or_exit(root: Path) -> LoadedConfig:
    """The workspace's configuration, its warnings printed; on errors every issue is
    printed as ``file:line:col: key: message`` and the command exits with 2."""
    from phasegate.config_loader import ConfigError, load

    try:
        loaded = load(root)
    except ConfigError as exc:
        for issue in exc.issues:
            click.echo(str(issue), err=True)
        click.echo(f"phasegate: {len(exc.issues)} configuration error(s)", err=True)
        sys.exit(2)
    print_warnings(loaded.warnings)
    return loaded
