"""One workspace, live: config, runner, cache, live results.

This is the only place the live faces (the language server, ``phasegate watch``) build
engine objects. A configuration error keeps the last good configuration running and is
reported as :class:`ConfigProblem` at the lines it names (the editor shows them as
diagnostics on the config file). At the first load there is no good one yet: with
``LiveOptions.defaults_while_invalid`` (the language server) the built-in defaults run
until the file is fixed (:attr:`Engine.config_fallback`), else nothing does.

New-code mode (:mod:`phasegate.newcode`) is set on the runner when the configuration is
(re)loaded: from ``[new_code] since``/``baseline``, else from the active session's
``new_code_since`` (the commit it started from), the way the session executor does. A
reference that cannot be used (no git, an unknown reference, an unreadable baseline) is
a warning on the config file, and the whole code is judged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from phasegate.cache import ResultCache
from phasegate.config import Config
from phasegate.live.options import LiveOptions
from phasegate.live.results import LiveResults
from phasegate.model import Finding
from phasegate.newcode import NewCode, NewCodeError, resolve_new_code
from phasegate.runner import GateRunner
from phasegate.workspace import STATE_DIR, PathOutsideWorkspace, Workspace

CONFIG_NAMES = ("phasegate.toml", "pyproject.toml")
README_NAMES = ("README.md", "README.rst", "README.txt", "README")


@dataclass(frozen=True)
class ConfigProblem:
    """One configuration error; line and column 0-based (as the LSP counts)."""

    path: str  # workspace-relative
    line: int
    column: int
    key: str
    message: str
    # "warning": the configuration is valid but part of it cannot be used (new code)
    severity: Literal["error", "warning"] = "error"


SESSION_REFERENCE = "the session's start"  # how the executor names a session's reference


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


def _locate(path: Path, key: tuple[str, ...]) -> tuple[int, int]:
    """0-based line and column of ``key`` in a config file (``[tool.phasegate]`` of a
    ``pyproject.toml``); (0, 0) when it cannot be read."""
    from phasegate.toml_locate import locate

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return 0, 0
    full = (("tool", "phasegate") if path.name == "pyproject.toml" else ()) + key
    try:
        line, column, _found = locate(text, full)
    except Exception:
        return 0, 0
    return max(0, line - 1), max(0, column - 1)


def _same_reference(a: NewCode | None, b: NewCode | None) -> bool:
    """Whether two new-code references judge the same way (the change sets may differ:
    they are read again before the checks run)."""
    if a is None or b is None:
        return a is b

    def key(nc: NewCode) -> tuple[object, ...]:
        cs = nc.changes
        return (
            None if cs is None else (cs.base, cs.ref),
            nc.baseline,  # its path and its findings (the file may have been rewritten)
            nc.blocking,
            nc.small_change_lines,
            nc.auto_refresh,
        )

    return key(a) == key(b)


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

    def __init__(self, root: Path, settings: LiveOptions | None = None) -> None:
        self.root = root.resolve()
        self.settings = settings if settings is not None else LiveOptions()
        self.workspace = Workspace(self.root)
        self.cache = ResultCache(self.root / STATE_DIR / "cache")
        self.config: Config | None = None
        self.config_path: str | None = None
        self.config_problems: list[ConfigProblem] = []
        # True while the configuration in force is the built-in defaults standing in for
        # a file that was invalid when the workspace opened
        self.config_fallback = False
        self.runner: GateRunner | None = None
        self.live: LiveResults | None = None
        # why new-code mode asked for by the configuration (or the session) is off
        self.new_code_problems: list[ConfigProblem] = []
        # the new-code reference the live results were built with (their checks' contexts
        # carry it, and GATE-INTEGRITY joins a gate in the mode)
        self.live_new_code: NewCode | None = None
        self._anchor: str | None = None

    @property
    def trusted(self) -> bool:
        return self.settings.trusted

    def content_hash(self, rel: str) -> str:
        """The file's content hash, through the result cache's memo (the one every check,
        ``validate`` and the runner use): a file whose stat signature is unchanged since
        it was last hashed is not read again."""
        return self.cache.content_hash(self.workspace, rel)

    def _live(self, config: Config, runner: GateRunner) -> LiveResults:
        return LiveResults(
            self.workspace,
            config,
            runner,
            display_path=self.display_path,
            not_run=self.settings.not_run,
        )

    def load_config(self) -> bool:
        """(Re)load the configuration. True when a new configuration is in force (the
        results must be recomputed); False when it is invalid or unchanged."""
        config, rel, problems = load_workspace_config(self.root)
        self.config_problems = problems
        self.config_path = rel
        self._anchor = None
        fallback = False
        if config is None:
            if self.config is not None or not self.settings.defaults_while_invalid:
                return False  # the last valid configuration (or none) stays in force
            config, fallback = Config(), True  # the first load: the defaults meanwhile
        if self.settings.interpreter:
            config = config.model_copy(update={"interpreter": self.settings.interpreter})
        if self.config is not None and config == self.config:
            self.config_fallback = fallback  # a fixed file may say what the defaults do
            return False
        runner = GateRunner(self.workspace, config, trusted=self.trusted, cache=self.cache)
        new_code, problems = self._resolve_new_code(config, rel)
        runner.set_new_code(new_code)
        live = self._live(config, runner)
        # everything is built before it is installed: the event loop reads these
        self.new_code_problems = problems
        self.live_new_code = new_code
        self.config, self.runner, self.live = config, runner, live
        self.config_fallback = fallback
        return True

    # -- new code ------------------------------------------------------------------------
    @property
    def problems(self) -> list[ConfigProblem]:
        """Every problem shown on the config file: errors, then warnings."""
        return self.config_problems + self.new_code_problems

    @property
    def new_code(self) -> NewCode | None:
        """The new-code reference findings are judged against now (None: the whole code)."""
        return self.runner.new_code if self.runner is not None else None

    def session_since(self) -> str | None:
        """The active session's new-code reference (the commit it started from), if any."""
        from phasegate.store import SessionStore

        try:
            store = SessionStore(self.root)
            sid = store.get_active()
            state = store.peek(sid) if sid is not None else None
        except Exception:  # an unreadable session is reported elsewhere
            return None
        return state.new_code_since if state is not None else None

    def active_session(self) -> str | None:
        """The active session's id, if any (None too when it cannot be read)."""
        from phasegate.store import SessionStore

        try:
            return SessionStore(self.root).get_active()
        except Exception:
            return None

    def _resolve_new_code(
        self, config: Config, rel: str | None
    ) -> tuple[NewCode | None, list[ConfigProblem]]:
        """The reference new code is judged against, as :class:`phasegate.executor.Executor`
        resolves it: the configuration's, else the active session's. Runs git: call it
        off the event loop."""
        enabled = config.new_code.enabled
        since = None if enabled else self.session_since()
        try:
            nc = resolve_new_code(self.workspace, config, since=since)
        except NewCodeError as exc:
            return None, [self._new_code_problem(config, rel, since, str(exc))]
        if nc is not None and since is not None and nc.changes is not None:
            nc.changes.ref = SESSION_REFERENCE
        return nc, []

    def _new_code_problem(
        self, config: Config, rel: str | None, since: str | None, why: str
    ) -> ConfigProblem:
        if since is not None:  # the session's reference: not a key of the configuration
            key, where = "", None
            message = f"new code since the session's start ({since[:10]}) is off: {why}"
        else:
            nc = config.new_code
            # with both set, the baseline is read second: its errors name its file
            by_baseline = nc.since is None or (
                nc.baseline is not None and str(self.root / nc.baseline) in why
            )
            name = "baseline" if by_baseline else "since"
            key = f"new_code.{name}"
            where = ("new_code", name)
            message = f"new-code mode is off, the whole code is judged: {why}"
        line = column = 0
        path = rel or self.anchor() or ""
        if where is not None and rel is not None:
            line, column = _locate(self.root / rel, where)
        return ConfigProblem(path, line, column, key, message, severity="warning")

    def adopt_new_code(self) -> bool:
        """The session executor shares the runner and sets its own new-code reference at
        a session's start or resume. Keep the live results when it is the reference they
        were built with (the runner gets that object back); else rebuild them for it.
        True when the live results were rebuilt (everything must be recomputed)."""
        runner, config = self.runner, self.config
        if runner is None or config is None or self.live is None:
            return False
        current = runner.new_code
        if current is self.live_new_code:
            return False
        if _same_reference(current, self.live_new_code):
            runner.set_new_code(self.live_new_code)
            return False
        live = self._live(config, runner)
        self.live_new_code = current
        self.live = live
        if current is not None:
            self.new_code_problems = []  # the session's reference works now
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
        """Where ``f`` is shown: its own file, or the anchor when that file is missing.
        A file of the workspace's index (kept up to date with every change) is known to
        exist without asking the disk: a tool's findings on thousands of files are
        placed at the cost of a set lookup each."""
        if not f.missing_file:
            index = self.workspace._files
            if index is not None and f.path in index:
                return f.path
            try:
                if self.workspace.abspath(f.path).is_file():
                    return f.path
            except PathOutsideWorkspace:
                pass
        return self.anchor() or f.path

    def is_config_file(self, rel: str) -> bool:
        return rel in CONFIG_NAMES or rel == self.config_path
