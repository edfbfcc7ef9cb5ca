"""The lifecycle of one live workspace: load, verify, follow changes, reload.

:class:`LiveCore` holds the :class:`~phasegate.live.engine.Engine` (workspace, config,
runner, cache, live results) and the :class:`~phasegate.live.scheduler.Scheduler`, and
does what every live face needs the same way:

* :meth:`LiveCore.load` reads the configuration (in a thread: resolving new code runs
  git) and shows its problems;
* open fast, then fill in: :meth:`LiveCore.focus` gives the documents a face shows their
  in-process findings first (cache or compute); :meth:`LiveCore.republish_cached` shows
  every check's last cached result at once, running nothing;
  :meth:`LiveCore.verify_on_open` / :meth:`LiveCore.verify` then run the checks against
  their inputs in the background, the per-file checks across all cores
  (:mod:`phasegate.live.pool`), the project checks after them;
* a workspace of more files than ``max_eager_files`` is not analysed whole when it
  opens: only the documents shown, the files that change and the project checks that
  read few files, until :meth:`LiveCore.analyse_workspace` is asked for;
* :meth:`LiveCore.paths_changed` takes changed files (a save, a file watcher);
* a changed config file is reloaded (:meth:`LiveCore.config_changed`): an invalid one
  keeps the last good configuration, a new one re-runs every check;
* :meth:`LiveCore.adopt_new_code` follows a session executor (which shares the runner)
  that set a new-code reference of its own;
* :meth:`LiveCore.serve_local` answers the agent hook on the workspace's local socket
  (:mod:`phasegate.live.endpoint`);
* :meth:`LiveCore.close` stops the checks and writes the result cache.

All of it runs on one asyncio event loop; the checks run in the scheduler's worker
threads. The face is told what to show through a :class:`LiveListener`, called on the
loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any, Literal, Protocol

from phasegate.live.endpoint import Endpoint
from phasegate.live.engine import Engine
from phasegate.live.options import LiveOptions
from phasegate.live.results import Computed
from phasegate.live.scheduler import Job, Progress, Scheduler, WorkItem
from phasegate.runner import ResolvedCheck

log = logging.getLogger(__name__)

Level = Literal["info", "warning", "error"]


class LiveListener(Protocol):
    """What a face is told by its :class:`LiveCore`, on the event loop."""

    def show(self, paths: set[str]) -> None:
        """The findings or configuration problems shown on these display paths
        (workspace-relative) changed: show them again (never called with none)."""

    def status_changed(self) -> None:
        """Something a status shows may have changed (a result, busy or idle)."""

    def message(self, text: str, level: Level) -> None:
        """A sentence for the user (configuration errors, new-code mode, reloads)."""

    def files_changed(self, paths: set[str]) -> None:
        """These files changed on disk and their checks were started."""

    def results_reset(self) -> None:
        """The live results were rebuilt (a new configuration or new-code reference):
        anything derived from the configuration must be derived again."""


class LiveCore:
    """One live workspace: an engine, a scheduler, and a listener to tell."""

    def __init__(self, listener: LiveListener, options: LiveOptions | None = None) -> None:
        self.listener = listener
        self.options = options if options is not None else LiveOptions()
        self.engine: Engine | None = None
        self.scheduler = Scheduler(self)
        # Only the checks this accepts run (``phasegate watch --phase``); None: all of them.
        self.select: Callable[[ResolvedCheck], bool] | None = None
        self._reload_lock: asyncio.Lock | None = None  # one configuration reload at a time
        self._tasks: set[asyncio.Task[None]] = set()
        # The documents the face shows (workspace-relative, in the order they were opened).
        self.documents: dict[str, None] = {}
        # Whether the whole workspace is analysed: None until the workspace opened; False
        # when it has more files than ``max_eager_files`` and nobody asked for it since.
        self.whole_workspace: bool | None = None
        self.file_count: int | None = None  # files in the workspace when it opened
        self._focusing = False
        self.endpoint: Endpoint | None = None

    def open(self, root: Path, options: LiveOptions | None = None) -> Engine:
        """Build the engine of the workspace at ``root`` (nothing is read yet)."""
        if options is not None:
            self.options = options
        self.engine = Engine(root, self.options)
        return self.engine

    def selects(self, rc: ResolvedCheck) -> bool:
        return self.select is None or self.select(rc)

    @property
    def busy(self) -> bool:
        return self.scheduler.busy

    async def idle(self, timeout: float | None = None) -> bool:
        """Wait until nothing is pending or running; False on timeout."""
        return await self.scheduler.idle(timeout)

    def paths_changed(self, rels: Iterable[str], trigger: str) -> None:
        """Some files changed on disk (workspace-relative paths)."""
        self.scheduler.paths_changed(rels, trigger)

    # -- loading ------------------------------------------------------------------------
    async def load(self) -> None:
        """Read the configuration (in a thread) and show its problems."""
        eng = self.engine
        assert eng is not None
        await asyncio.to_thread(eng.load_config)
        self._report_config()

    def _report_config(self) -> None:
        eng = self.engine
        assert eng is not None
        paths = {p.path for p in eng.problems if p.path}
        if eng.config_path:
            paths.add(eng.config_path)
        if eng.config_problems:
            meanwhile = (
                "; the built-in defaults run until it is fixed" if eng.config_fallback else ""
            )
            self.listener.message(
                f"{eng.config_path or 'configuration'} has errors{meanwhile}", "error"
            )
        self._report_new_code()
        if paths:
            self.listener.show(paths)

    def _report_new_code(self) -> None:
        """Say what new code is judged against, or why new-code mode is off."""
        eng = self.engine
        assert eng is not None
        for p in eng.new_code_problems:
            self.listener.message(f"phasegate: {p.message}", "warning")
        nc = eng.new_code
        if nc is not None:
            self.listener.message(f"new code {nc.label}: inherited findings never block", "info")

    async def republish_cached(self, keep: set[str] | None = None) -> set[str]:
        """Show every (selected) check's last cached result at once, running nothing.
        The findings already shown on the files of ``keep`` (the documents
        :meth:`focus` verified) are newer than the cache's and stay. Returns the display
        paths that got findings."""
        eng = self.engine
        live = eng.live if eng is not None else None
        if live is None:
            return set()
        checks = [rc for rc in live.checks.values() if self.selects(rc)]

        def peek_all() -> list[Computed | None]:
            out = [live.peek(rc) for rc in checks]
            for c in out:
                if c is not None:
                    live.place(c)  # in this thread, not on the event loop
            return out

        peeked = await asyncio.to_thread(peek_all)
        if eng is None or eng.live is not live:
            return set()  # the configuration changed meanwhile
        dirty: set[str] = set()
        for c in peeked:
            if c is not None:
                dirty |= live.commit(c, keep if c.rc.cls.scope == "file" else None)
        if dirty:
            self.listener.show(dirty)
        return dirty

    # -- the documents a face shows --------------------------------------------------------
    def open_documents(self, rels: Iterable[str]) -> list[Job]:
        """The face shows these documents now: once the workspace is loaded, their
        in-process findings are verified (and published) before anything else."""
        new = [r for r in rels if r not in self.documents]
        for r in new:
            self.documents[r] = None
        if not new or not self._focusing:
            return []  # the workspace's opening focuses on them
        return self.focus(new)

    def close_documents(self, rels: Iterable[str]) -> None:
        for r in rels:
            self.documents.pop(r, None)

    def focus(self, rels: Iterable[str]) -> list[Job]:
        """The in-process findings of these files, first: the per-file checks analyse
        these files only (their result cache or a run; the check's score waits for its
        whole run), then the project checks that read them and few files run. Never
        cancels a run in flight. Returns the jobs (the per-file one first)."""
        self._focusing = True  # documents opened from now on are focused at once
        eng = self.engine
        live = eng.live if eng is not None else None
        if live is None:
            return []
        paths = {r for r in rels if self.scheduler.relevant(r)}
        per_file: dict[str, WorkItem] = {}
        project: dict[str, WorkItem] = {}
        for rc in live.checks.values():
            if not self.selects(rc) or rc.cls.runs_workspace_code or rc.cls.uses_history:
                continue
            hits = {p for p in paths if rc.matches(p)}
            if not hits:
                continue
            if rc.cls.scope == "file":
                per_file[rc.key] = WorkItem(rc.key, "files", hits)
            else:
                project[rc.key] = WorkItem(rc.key, "light", hits)
        jobs = self.scheduler.submit(per_file, "focus")
        return jobs + self.scheduler.submit(project, "focus")

    # -- verifying ------------------------------------------------------------------------
    def lazy_reason(self) -> str:
        """Why a check has no result in a workspace not analysed whole."""
        return (
            f"not analysed: the workspace has {self.file_count} files, more than the "
            f"{self.options.max_eager_files} analysed when it opens; analyse the whole "
            "workspace to run it"
        )

    async def verify_on_open(self, progress: Progress | None = None) -> None:
        """After :meth:`focus` and :meth:`republish_cached`, the editor's way: without
        an active session and ``run_on_open`` off nothing runs; without a session, checks
        that run workspace code are only looked up in the cache. Every input of every
        check is verified in the background, unless the workspace has more files than
        ``max_eager_files``: then only the project checks that read few files run, and
        the other checks without a cached result say so."""
        eng = self.engine
        if eng is None or eng.live is None:
            return
        live = eng.live
        has_session = eng.active_session() is not None
        files = await asyncio.to_thread(eng.workspace.files)
        self.file_count = len(files)
        if self.whole_workspace is None:
            self.whole_workspace = self.file_count <= self.options.max_eager_files
        if eng.live is not live:
            return  # the configuration changed meanwhile: its reload verifies everything
        if not has_session and not self.options.run_on_open:
            return
        if not self.whole_workspace:
            self._verify_lazily(has_session, progress)
            return
        items: dict[str, WorkItem] = {}
        run_code = self.workspace_code_on_open(has_session)
        for key, rc in live.checks.items():
            cached = rc.cls.runs_workspace_code and not run_code
            items[key] = WorkItem(key, "cached" if cached else "full")
        self.scheduler.submit(items, "open", progress=progress)

    def workspace_code_on_open(self, has_session: bool) -> bool:
        """Whether the checks that run workspace code (its tests, configured commands)
        run when the workspace opens: in a session; without one when the workspace is
        trusted and ``run_workspace_checks_on_open`` is on, so that the editor judges
        the workspace as ``phasegate validate`` does. Otherwise they are only looked up
        in the result cache."""
        eng = self.engine
        trusted = eng is not None and eng.trusted
        return has_session or (trusted and self.options.run_workspace_checks_on_open)

    def _verify_lazily(self, has_session: bool, progress: Progress | None) -> None:
        eng = self.engine
        assert eng is not None and eng.live is not None
        live = eng.live
        reason = self.lazy_reason()
        items: dict[str, WorkItem] = {}
        dirty: set[str] = set()
        for key, rc in live.checks.items():
            if not self.selects(rc):
                continue
            runs_whole = rc.cls.runs_workspace_code or rc.cls.uses_history
            if rc.cls.scope == "project" and not runs_whole:
                items[key] = WorkItem(key, "light", reason=reason)
            elif key not in live.results:  # not even cached: say why it has no result
                c = live.placeholder(rc, reason)
                c.replace_all = False  # the documents' findings stay
                dirty |= live.commit(c)
        if dirty:
            self.listener.show(dirty)
        self.listener.status_changed()
        self.scheduler.submit(items, "open", progress=progress)

    async def analyse_workspace(self, progress: Progress | None = None) -> None:
        """Analyse the whole workspace (every input of every check) and keep it analysed
        from now on, whatever its size; returns when the results are in."""
        eng = self.engine
        if eng is None or eng.live is None:
            return
        self.whole_workspace = True
        has_session = eng.active_session() is not None
        items: dict[str, WorkItem] = {}
        for key, rc in eng.live.checks.items():
            cached = rc.cls.runs_workspace_code and not self.workspace_code_on_open(has_session)
            items[key] = WorkItem(key, "cached" if cached else "full")
        self.scheduler.submit(items, "analyse", progress=progress)
        await self.scheduler.idle()

    def verify(self, trigger: str = "open", progress: Progress | None = None) -> None:
        """Run every (selected) check against its inputs (``phasegate watch``'s start)."""
        eng = self.engine
        if eng is None or eng.live is None:
            return
        items = {k: WorkItem(k, "full") for k in eng.live.checks}
        self.scheduler.submit(items, trigger, progress=progress)

    # -- refreshing ---------------------------------------------------------------------
    async def refresh(
        self, phases: list[str] | None = None, progress: Progress | None = None
    ) -> None:
        """Verify every check (of ``phases``) against its inputs and wait for the results."""
        eng = self.engine
        if eng is None or eng.live is None:
            return
        self.adopt_new_code()
        items = {
            k: WorkItem(k, "full")
            for k, rc in eng.live.checks.items()
            if phases is None or rc.phase in phases
        }
        self.scheduler.submit(items, "refresh", progress=progress)
        await self.scheduler.idle()

    def refresh_soon(self, *, workspace_code: bool = True) -> None:
        """Verify every check in the background (without the checks that run workspace
        code when ``workspace_code`` is false, e.g. after a stop)."""
        eng = self.engine
        if eng is None or eng.live is None:
            return
        rebuilt = self.adopt_new_code()
        items = {
            k: WorkItem(k, "full" if workspace_code or not rc.cls.runs_workspace_code else "cached")
            for k, rc in eng.live.checks.items()
            if rebuilt or workspace_code or not rc.cls.runs_workspace_code
        }
        self.scheduler.submit(items, "refresh")

    def adopt_new_code(self) -> bool:
        """After a long command: the session executor (which shares the engine's runner)
        may have set a new-code reference of its own (a session started or resumed).
        When it is a different one, the live results are rebuilt for it; the files whose
        findings they showed are shown again once the new results are in. True when
        rebuilt: every check must be run (or looked up) again."""
        eng = self.engine
        old_live = eng.live if eng is not None else None
        if eng is None or old_live is None:
            return False
        warned = {p.path for p in eng.new_code_problems if p.path}
        if not eng.adopt_new_code():
            return False
        nc = eng.new_code
        self.listener.message(
            f"new code {nc.label}" if nc is not None else "new-code mode off", "info"
        )
        self.scheduler.cancel_all()
        stale = set(old_live.display_paths()) | warned
        self.listener.results_reset()
        self._after_idle(lambda: self.listener.show(stale) if stale else None)
        self.listener.status_changed()
        return True

    def _after_idle(self, then: Callable[[], None]) -> None:
        async def wait() -> None:
            await self.scheduler.idle()
            then()

        self._spawn(wait())

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- configuration --------------------------------------------------------------------
    def config_changed(self) -> None:
        """The config file changed on disk: reload it (in a thread: resolving new code
        runs git) and recompute everything if it is new. The scheduler counts as busy
        until the reload is done."""
        if self.engine is None:
            return
        self.scheduler.hold()

        async def reload() -> None:
            try:
                await self._reload_config()
            except Exception as exc:  # keep going with the configuration in force
                log.exception("reloading the configuration failed")
                self.listener.message(
                    f"phasegate could not reload the configuration: {exc}", "error"
                )
            finally:
                self.scheduler.release()
                self.listener.status_changed()

        self._spawn(reload())

    async def _reload_config(self) -> None:
        if self._reload_lock is None:
            self._reload_lock = asyncio.Lock()
        async with self._reload_lock:  # a second change waits for the first reload
            eng = self.engine
            if eng is None:
                return
            before = {p.path for p in eng.problems if p.path}
            old_live = eng.live
            old_anchor = eng.anchor()
            old_new_code = eng.new_code_problems
            changed = await asyncio.to_thread(eng.load_config)
            after = {p.path for p in eng.problems if p.path}
            config = {eng.config_path} if eng.config_path else set()
            if before | after | config:
                self.listener.show(before | after | config)
            if not changed and eng.anchor() != old_anchor and eng.live is not None:
                changed = True  # findings about missing files move to the new config file
            if not changed:
                return
            self.listener.message("configuration changed: re-running every check", "info")
            if eng.new_code_problems != old_new_code or eng.new_code is not None:
                self._report_new_code()
            self.scheduler.cancel_all()
            stale = old_live.forget_all() if old_live is not None else set()
            if stale:
                self.listener.show(stale)
            self.listener.results_reset()
            assert eng.live is not None
            self.scheduler.submit({k: WorkItem(k, "full") for k in eng.live.checks}, "config")
            self.listener.status_changed()

    # -- answering short-lived processes ---------------------------------------------------
    async def serve_local(self) -> Path | None:
        """Answer the agent hook on the workspace's local socket
        (:mod:`phasegate.live.endpoint`) while this core is open. Returns the socket's
        path, or None when it cannot listen (another live process answers, no Unix
        sockets): the hook then answers alone, as without a live process."""
        eng = self.engine
        if eng is None or self.endpoint is not None:
            return None
        self.endpoint = Endpoint(eng, busy=lambda: self.busy)
        path = await self.endpoint.start()
        if path is None:
            self.endpoint.close()
            self.endpoint = None
        return path

    # -- closing --------------------------------------------------------------------------
    def close(self) -> None:
        """Stop every check (their programs are killed), stop answering on the local
        socket, and write the result cache."""
        endpoint, self.endpoint = self.endpoint, None
        if endpoint is not None:
            endpoint.close()
        self.scheduler.close()
        eng = self.engine
        if eng is not None:
            with contextlib.suppress(Exception):
                eng.cache.flush()
