"""What every command does before it touches the workspace: refuse a state folder it
must not use (:mod:`phasegate.statedir`) and print the configuration's warnings, or its
errors in phasegate's one error style (:func:`phasegate.cli.fail`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from phasegate.cli import fail
from phasegate.statedir import StateDirError, check_state_dir

if TYPE_CHECKING:  # the configuration (pydantic) is loaded by the commands that use it
    from phasegate.config_loader import ConfigError, ConfigIssue, LoadedConfig

EXIT_ERROR = 2


def check_state(root: Path, session_id: str | None = None) -> None:
    """Exit with 2 and one ``phasegate: error:`` line when ``root``'s state folder holds
    a link or an entry of the wrong kind (see :mod:`phasegate.statedir`); nothing is
    written."""
    try:
        check_state_dir(root, session_id)
    except StateDirError as exc:
        fail(str(exc))


def print_warnings(warnings: Iterable[ConfigIssue]) -> None:
    """The configuration's warnings, one ``file:line:col: warning: ...`` line each."""
    for w in warnings:
        click.echo(str(w), err=True)


def config_failed(exc: ConfigError) -> NoReturn:
    """Every issue of ``exc`` as ``file:line:col: key: message``, then
    ``phasegate: error: N configuration error(s)``; exit 2."""
    for issue in exc.issues:
        click.echo(str(issue), err=True)
    fail(f"{len(exc.issues)} configuration error(s)")


def load_or_exit(root: Path) -> LoadedConfig:
    """The workspace's configuration, its warnings printed; on errors every issue is
    printed as ``file:line:col: key: message`` and the command exits with 2."""
    from phasegate.config_loader import ConfigError, load

    try:
        loaded = load(root)
    except ConfigError as exc:
        config_failed(exc)
    print_warnings(loaded.warnings)
    return loaded
