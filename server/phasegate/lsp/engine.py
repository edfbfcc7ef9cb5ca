"""One workspace as the language server sees it: config, runner, cache, live results.

This is the only place the server builds engine objects. A configuration error keeps the
last good configuration running (or none at the first load) and is reported as
diagnostics on the config file at the lines it names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from phasegate.cache import ResultCache
from phasegate.config import Config
from phasegate.lsp.live import HashMemo, LiveResults, LiveRunner
from phasegate.lsp.settings import Settings
from phasegate.model import Finding
from phasegate.workspace import STATE_DIR, PathOutsideWorkspace, Workspace

CONFIG_NAMES = ("phasegate.toml", "pyproject.toml")
README_NAMES = ("README.md", "README.rst", "README.txt", "README")


@dataclass(frozen=True)
class ConfigProblem:
    """One configuration error, 0-based for LSP."""

    path: str  # workspace-relative
    line: int
    column: int
    key: str
    message: str


def load_workspace_config(root: Path) -> tuple[Config | None, str | None, list[ConfigProblem]]:
    """(config or None when invalid, config file relative path or None, problems)."""
    from phasegate import config_loader

    source = config_loader.find_config(root)
    rel = _rel(root, source) if source is not None else None
    try:
        loaded = config_loader.load(root)
    except config_loader.ConfigError as exc:
        problems = []
        for issue in exc.issues:
            problems.append(
                ConfigProblem(
                    path=_rel(root, issue.file) or rel or "phasegate.toml",
                    line=max(0, issue.line - 1),
                    column=max(0, issue.column - 1),
                    key=issue.key,
                    message=issue.message,
                )
            )
        return None, rel, problems
    return loaded.config, rel, []


def _rel(root: Path, p: Path | str | None) -> str | None:
    if p is None:
        return None
    path = Path(p)
    if not path.is_absolute():
        path = root / path
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return None


class Engine:
    """The engine objects of one workspace root."""

    def __init__(self, root: Path, settings: Settings) -> None:
        self.root = root.resolve()
        self.settings = settings
        self.workspace = Workspace(self.root)
        self.cache = ResultCache(self.root / STATE_DIR / "cache")
        self.hashes = HashMemo(self.workspace)
        self.config: Config | None = None
        self.config_path: str | None = None
        self.config_problems: list[ConfigProblem] = []
        self.runner: LiveRunner | None = None
        self.live: LiveResults | None = None
        self._anchor: str | None = None

    @property
    def trusted(self) -> bool:
        return self.settings.trusted

    def load_config(self) -> bool:
        """(Re)load the configuration. True when a new configuration is in force (the
        results must be recomputed); False when it is invalid or unchanged."""
        config, rel, problems = load_workspace_config(self.root)
        self.config_problems = problems
        self.config_path = rel
        self._anchor = None
        if config is None:
            return False
        if self.settings.interpreter:
            config = config.model_copy(update={"interpreter": self.settings.interpreter})
        if self.config is not None and config == self.config:
            return False
        self.config = config
        self.runner = LiveRunner(
            self.workspace, config, trusted=self.trusted, cache=self.cache, hashes=self.hashes
        )
        self.live = LiveResults(self.workspace, config, self.runner, display_path=self.display_path)
        return True

    # -- where findings are shown -------------------------------------------------------
    def anchor(self) -> str | None:
        """The file that shows findings about missing files: the config file, else the
        README, else the first file of the workspace root (None in an empty workspace)."""
        if self._anchor is None:
            if self.config_path and (self.root / self.config_path).is_file():
                self._anchor = self.config_path
            else:
                for name in README_NAMES:
                    if (self.root / name).is_file():
                        self._anchor = name
                        break
                else:
                    try:
                        names = sorted(
                            e.name
                            for e in os.scandir(self.root)
                            if e.is_file() and not e.name.startswith(".")
                        )
                    except OSError:
                        names = []
                    self._anchor = names[0] if names else ""
        return self._anchor or None

    def forget_anchor(self) -> None:
        self._anchor = None

    def display_path(self, f: Finding) -> str:
        """Where ``f`` is shown: its own file, or the anchor when that file is missing."""
        if not f.missing_file:
            try:
                if self.workspace.abspath(f.path).is_file():
                    return f.path
            except PathOutsideWorkspace:
                pass
        return self.anchor() or f.path

    def is_config_file(self, rel: str) -> bool:
        return rel in CONFIG_NAMES or rel == self.config_path
