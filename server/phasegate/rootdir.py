"""Which folder is the workspace: the project root found from a folder inside it.

A command started in ``pkg/`` of a project must work on the project, not on ``pkg/``
with the built-in defaults (and its state folder written into the source package).
:func:`find_root` walks up from the folder it is given (the current folder, or the one
named on the command line) to the nearest folder with a **phasegate marker**:

* ``phasegate.toml``;
* ``pyproject.toml`` with a ``[tool.phasegate]`` table (a ``pyproject.toml`` that is not
  valid TOML counts when it seems to configure phasegate, so that its error is reported,
  as :func:`find_config` does);
* ``.phasegate`` (the state folder of a workspace without configuration; any kind of
  entry counts, so that a broken one is refused rather than walked past).

The walk stops at the top of a git repository (a folder holding ``.git``, a folder or a
file as in a worktree or submodule), at the user's home folder (never taken unless the
walk started there: a stray ``~/.phasegate`` must not make the whole home folder a
workspace) and at the file system's root. When no folder on the way has a marker, the
workspace is the repository's top inside a git repository; outside one, the nearest
folder on the way with a project file (``pyproject.toml``, ``setup.py``, ``setup.cfg``,
``package.json``), else the folder the walk started from.

This is the rule pytest (``rootdir``) and ruff (the nearest ``pyproject.toml``) follow,
bounded by the repository as git is. It needs neither the configuration models nor the
command line: the commands and any other face call it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

CONFIG_FILE = "phasegate.toml"
PYPROJECT_FILE = "pyproject.toml"
STATE_DIR = ".phasegate"
GIT_DIR = ".git"
# what makes a folder a project's top when nothing else tells (outside a git repository)
PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg", "package.json")

Marker = Literal["phasegate.toml", "pyproject.toml", ".phasegate"]

# a pyproject.toml that is not valid TOML but seems to configure phasegate
_PYPROJECT_MENTION = re.compile(r"^\s*\[\s*tool\s*\.\s*phasegate\b|^\s*phasegate\s*[=.]", re.M)

_WHY: dict[str, str] = {
    CONFIG_FILE: f"found {CONFIG_FILE}",
    PYPROJECT_FILE: f"found [tool.phasegate] in {PYPROJECT_FILE}",
    STATE_DIR: f"found {STATE_DIR}/",
    GIT_DIR: "top of the git repository; no phasegate configuration below it",
}


@dataclass(frozen=True)
class Root:
    """The workspace :func:`find_root` chose, from where, and why."""

    path: Path  # the workspace root (absolute, symbolic links resolved)
    start: Path  # the folder the walk started from (absolute, resolved)
    # what made ``path`` the root: a phasegate marker, ".git" (the repository's top), a
    # project file (no marker, no repository) or None (nothing: ``start``)
    marker: str | None

    @property
    def moved(self) -> bool:
        """True when the workspace is not the folder the walk started from."""
        return self.path != self.start

    @property
    def why(self) -> str:
        """Why this folder, in a few words: ``found phasegate.toml``..."""
        if self.marker is None:
            return "the folder given"
        return _WHY.get(
            self.marker, f"found {self.marker}; no phasegate configuration or git repository"
        )


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a folder that cannot be searched: nothing there for us
        return False


def _lexists(path: Path) -> bool:
    try:
        os.lstat(path)
    except (OSError, ValueError):
        return False
    return True


def pyproject_configures(path: Path) -> bool:
    """True when ``path`` (a ``pyproject.toml``) has a ``[tool.phasegate]`` table, or is
    not valid TOML and seems to configure phasegate."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if "phasegate" not in text:  # most pyproject.toml files: no parse needed
        return False
    from phasegate.toml_locate import TOMLDecodeError, toml_loads

    try:
        data = toml_loads(text)
    except TOMLDecodeError:
        return bool(_PYPROJECT_MENTION.search(text))
    tool = data.get("tool")
    return isinstance(tool, dict) and "phasegate" in tool


def find_config(root: Path) -> Path | None:
    """The workspace's configuration file: ``phasegate.toml``, else ``pyproject.toml`` with
    ``[tool.phasegate]``, else None (the built-in defaults)."""
    root = Path(root)
    candidate = root / CONFIG_FILE
    if candidate.is_file():
        return candidate
    pyproject = root / PYPROJECT_FILE
    if pyproject.is_file() and pyproject_configures(pyproject):
        return pyproject
    return None


def marker_of(folder: Path) -> Marker | None:
    """The phasegate marker ``folder`` holds (configuration first), or None."""
    if _is_file(folder / CONFIG_FILE):
        return "phasegate.toml"
    pyproject = folder / PYPROJECT_FILE
    if _is_file(pyproject) and pyproject_configures(pyproject):
        return "pyproject.toml"
    if _lexists(folder / STATE_DIR):
        return ".phasegate"
    return None


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (OSError, RuntimeError, KeyError):  # no home folder known
        return None


def find_root(start: Path | str | None = None, *, home: Path | None = None) -> Root:
    """The workspace for a command started in ``start`` (default: the current folder).

    ``home`` is the folder the walk never goes up to (default: the user's home)."""
    begin = Path(start if start is not None else os.getcwd()).resolve()
    ceiling = _home() if home is None else home.resolve()
    here = begin
    project: Root | None = None  # the nearest folder with a project file
    while True:
        marker = marker_of(here)
        if marker is not None:
            return Root(here, begin, marker)
        if _lexists(here / GIT_DIR):
            return Root(here, begin, GIT_DIR)
        if project is None:
            found = next((f for f in PROJECT_FILES if _is_file(here / f)), None)
            if found is not None:
                project = Root(here, begin, found)
        parent = here.parent
        if here == ceiling or parent in (here, ceiling):
            return project or Root(begin, begin, None)
        here = parent
