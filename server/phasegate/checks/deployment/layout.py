"""Where a workspace keeps its projects: the root and its sub-projects.

Shared by the Deployment checks. A *project directory* is the workspace root or a folder
at most three levels down that holds a package manifest (``pyproject.toml``,
``setup.py``, ``setup.cfg`` or ``package.json``): ``app/``, ``backend/``,
``frontend/``, ``packages/core/``. Folders that hold copies or samples of projects rather
than the project itself are never project directories: tests and fixtures, examples and
samples, documentation, templates (also any ``{{ … }}`` folder), vendored code and web
assets (``static/``, ``assets/``, ``public/``, where copies of libraries live), Debian
packaging and hidden folders.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

MANIFESTS = ("pyproject.toml", "setup.py", "setup.cfg", "package.json")
MAX_DEPTH = 3  # folders below the root
NOT_PROJECT_DIRS = frozenset(
    {
        "test",
        "tests",
        "testing",
        "testdata",
        "test_data",
        "test-data",
        "fixture",
        "fixtures",
        "__fixtures__",
        "example",
        "examples",
        "sample",
        "samples",
        "doc",
        "docs",
        "documentation",
        "template",
        "templates",
        "vendor",
        "vendored",
        "_vendor",
        "third_party",
        "third-party",
        "thirdparty",
        "external",
        "site-packages",
        "bower_components",
        "static",  # web assets: often copies of third-party libraries
        "assets",
        "public",
        "debian",  # OS packaging: its changelog and control files are the distribution's
    }
)


def dir_of(path: str) -> str:
    """The folder of a workspace-relative path ("" for the root)."""
    return posixpath.dirname(path)


def join(folder: str, name: str) -> str:
    """``name`` inside ``folder`` (the root when ``folder`` is "")."""
    return f"{folder}/{name}" if folder else name


def is_project_folder(folder: str) -> bool:
    """True when ``folder`` may hold a (sub-)project: the root, or at most
    :data:`MAX_DEPTH` levels down, through no test, example, docs, template, vendored or
    hidden folder."""
    if not folder:
        return True
    parts = folder.split("/")
    if len(parts) > MAX_DEPTH:
        return False
    for part in parts:
        low = part.lower()
        if low in NOT_PROJECT_DIRS or part.startswith(".") or "{{" in part or "{%" in part:
            return False
    return True


def project_dirs(files: Iterable[str]) -> list[str]:
    """The project directories among ``files``: the root first (when it holds a
    manifest), then the sub-projects in path order."""
    found = {
        dir_of(f)
        for f in files
        if posixpath.basename(f) in MANIFESTS and is_project_folder(dir_of(f))
    }
    return sorted(found, key=lambda d: (d != "", d))
