"""The workspace every command works on, given the same way everywhere.

Each command that works on a workspace takes ``-w/--workspace DIR`` and, where no other
positional argument is in the way, the positional ``DIR``; both may be given when they
name the same folder. The project root is found from that folder (default: the current
folder) by :func:`phasegate.rootdir.find_root`, and said on standard error when it is
not the folder given::

    phasegate: workspace /home/me/proj (found phasegate.toml)

``init`` is the exception: it creates the marker, so a folder it is given is used as it
is; without one it writes at the root the other commands would find.

Light on purpose: ``status`` and ``sessions`` resolve their workspace with this module
and must start fast (tests/test_startup_imports.py).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

import click

from phasegate.rootdir import Root, find_root

F = TypeVar("F", bound=Callable[..., Any])

WORKSPACE_HELP = (
    "The workspace, or a folder inside it: the project root is found from there "
    "(nearest phasegate.toml, [tool.phasegate] or .phasegate up to the repository top). "
    "Default: the current folder."
)
EXACT_HELP = (
    "The folder to make a project root, used as it is. Default: the project root found "
    "from the current folder (else the repository's top)."
)


def resolve_workspace(
    directory: Path | None,
    option: Path | None,
    *,
    explicit: Literal["discover", "exact"] = "discover",
    announce: bool = True,
) -> Path:
    """The workspace root from the positional ``directory`` and the ``-w`` ``option``.

    Both given and naming different folders is a usage error. ``explicit="exact"``
    takes a given folder as it is (no walk up). The root is said on standard error when
    it is not the folder given (``announce``)."""
    if directory is not None and option is not None and directory.resolve() != option.resolve():
        raise click.UsageError(
            f"two workspaces given: {directory} and --workspace {option}; give one"
        )
    given = directory if directory is not None else option
    if given is not None and explicit == "exact":
        return given.resolve()
    root = find_root(given)
    if announce and root.moved:
        announce_root(root)
    return root.path


def announce_root(root: Root) -> None:
    """``phasegate: workspace <path> (<why>)`` on standard error."""
    click.echo(f"phasegate: workspace {root.path} ({root.why})", err=True)


class _Folder(click.Path):
    """An existing folder; a leading ``~`` is the home folder even when no shell expanded
    it (an agent's configuration passing ``~/proj``)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            value = os.path.expanduser(value)
        return super().convert(value, param, ctx)


def _dir_type() -> click.Path:
    return _Folder(exists=True, file_okay=False, path_type=Path)


def workspace_option(
    *extra_names: str, help: str = WORKSPACE_HELP
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``-w/--workspace DIR`` (plus ``extra_names``) as the ``workspace_option`` parameter."""
    return click.option(
        "-w",
        "--workspace",
        *extra_names,
        "workspace_option",
        type=_dir_type(),
        default=None,
        metavar="DIR",
        help=help,
    )


def workspace_params(
    *,
    positional: bool = True,
    extra_names: tuple[str, ...] = (),
    explicit: Literal["discover", "exact"] = "discover",
) -> Callable[[F], F]:
    """Give a command ``-w/--workspace DIR`` and (``positional``) an optional ``DIR``
    argument; the command function receives the resolved root as ``workspace``.

    Put it below the decorators of the positional arguments that come before ``DIR``."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            directory = kwargs.pop("directory", None)
            option = kwargs.pop("workspace_option", None)
            kwargs["workspace"] = resolve_workspace(directory, option, explicit=explicit)
            return func(*args, **kwargs)

        help = EXACT_HELP if explicit == "exact" else WORKSPACE_HELP
        decorated: Callable[..., Any] = workspace_option(*extra_names, help=help)(wrapper)
        if positional:
            decorated = click.argument(
                "directory", required=False, metavar="[DIR]", type=_dir_type()
            )(decorated)
        return decorated  # type: ignore[return-value]

    return decorate
