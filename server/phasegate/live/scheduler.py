"""Incremental re-runs: changed paths in, exactly the matching checks re-run, results out.

* Changes arrive from the face (in the editor: ``didSave``,
  ``workspace/didChangeWatchedFiles``) and from a :class:`phasegate.live.watch.FileWatcher`.
  A path whose content is the one already processed is dropped, so a save reported by
  two sources runs once.
* Bursts are throttled: a change runs at once unless a run started less than
  ``debounce`` seconds ago; changes arriving meanwhile are collected and run together
  when that time is up. Time is the event loop's clock (``loop.time()``, which
  ``call_later`` uses too): a loop with a clock of its own drives it.
* The checks whose inputs match a changed path (all phases, completed ones too) run in
  worker threads: per-file checks in one job, project checks in another (so a slow
  linter never delays the per-file results), each check that runs workspace code (tests,
  configured commands) in a job of its own.
* A per-file check re-analyses the changed files and their findings are published
  (:meth:`LiveListener.show`) at once; re-scoring the check over all its files (which
  grows with the workspace) comes after that publish, so a one-file change reaches the
  editor in a time that does not depend on the workspace's size.
* A change to a check that is still running cancels that run: its subprocesses are
  killed (:class:`phasegate.proc.CancelToken`), its results are dropped and its work is
  merged into the new run.
* In new-code mode the change set (what is new since the reference) is read again once
  per batch, before its checks run, in the worker thread of the batch's first job to
  start (it runs ``git diff``): the others wait for it (:class:`NewCodeRefresh`).
* A whole-workspace run of the per-file checks (the workspace opens, the user asks for
  it) is a *background* job: its files go to a pool of worker processes
  (:class:`phasegate.live.pool.CheckPool`) and its findings are published batch by batch.
  A change meanwhile does not cancel it: the changed files are analysed at once in a job
  of their own (mode ``files``: published, the check's state untouched) and checked again
  when the background job is done. What a job computed for a file that changed after the
  job started is never published over the newer findings.
* Modes of a :class:`WorkItem`: ``files`` (a file-scope check, these files only: the
  documents a face shows, or changes in a workspace not analysed whole), ``light`` (a
  project check run whole only when it reads few files, :data:`LIGHT_INPUTS`), ``cached``
  (looked up, never run), ``delta`` (the changed files, then re-scored), ``full`` (every
  input verified).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from phasegate.live.pool import CheckPool
from phasegate.live.results import Cancelled, Computed, LiveResults, Pending
from phasegate.proc import CancelToken
from phasegate.workspace import STATE_DIR

if TYPE_CHECKING:
    from phasegate.live.core import LiveCore
    from phasegate.newcode import NewCode
    from phasegate.runner import ResolvedCheck

# files: these files only; light: whole if few inputs; cached: never run; delta: the changed
# files then re-scored; full: verify every input
Mode = Literal["files", "light", "cached", "delta", "full"]
RANK: dict[str, int] = {"files": 0, "light": 1, "cached": 2, "delta": 3, "full": 4}
BATCH_SECONDS = 0.1  # a long job hands its results over at least this often
HAND_OVER_EACH = 8  # a job of at most this many checks publishes after each check
DEDUPE_MAX = 32  # changes of at most this many paths are compared with what already ran
FLUSH_AFTER = 1.0  # seconds of quiet before the result cache is written to disk
PUBLISH_WAIT = 1.0  # seconds re-scoring waits at most for the changed files' publish
LIGHT_INPUTS = 200  # a project check reading at most this many files is as cheap as a file
PROGRESS_EVERY = 0.25  # seconds between two progress reports of a whole-workspace run


@dataclass
class WorkItem:
    key: str
    mode: Mode
    paths: set[str] = field(default_factory=set)
    # mode "light": a check that reads more files is left as it is, or given a result
    # saying this when it has none
    reason: str | None = None

    def merge(self, other: WorkItem) -> None:
        if RANK[other.mode] > RANK[self.mode]:
            self.mode = other.mode
        self.paths |= other.paths
        self.reason = self.reason or other.reason

    @property
    def publish_only(self) -> bool:
        """A "files" item: publishes the findings of a few files next to any run of its
        check (never cancels one, is never cancelled by one, never carried over)."""
        return self.mode == "files"


# Triggers whose batch needs no fresh change set: it was read just before (load, reload).
FRESH_TRIGGERS = frozenset({"open", "config"})


class Progress(Protocol):
    """Where a job reports how far it got (the editor's work-done progress)."""

    def report(self, message: str, percentage: int | None = None) -> None: ...


class NewCodeRefresh:
    """Reads new-code mode's change set again, once for all the jobs of one batch: the
    first job to start does it in its worker thread, the others wait for it there."""

    def __init__(self, new_code: NewCode, on_done: Callable[[], None] | None = None) -> None:
        self.new_code = new_code
        self._on_done = on_done
        self._lock = threading.Lock()
        self._done = False

    def run(self) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
            with contextlib.suppress(Exception):  # a failed refresh keeps the last set
                self.new_code.refresh()
            if self._on_done is not None:
                self._on_done()


@dataclass(eq=False)
class Job:
    id: int
    trigger: str
    live: LiveResults
    items: dict[str, WorkItem]
    token: CancelToken = field(default_factory=CancelToken)
    committed: set[str] = field(default_factory=set)
    analysed: dict[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    done: asyncio.Future[None] | None = None
    progress: Progress | None = None
    after: asyncio.Future[None] | None = None  # start when this is done
    refresh: NewCodeRefresh | None = None  # read the change set first (new-code mode)
    # a whole-workspace run of per-file checks: changes meanwhile do not cancel it
    background: bool = False
    # files changed while it ran, per check: checked again when it is done
    recheck: dict[str, set[str]] = field(default_factory=dict)
    generation: int = 0  # the scheduler's change counter when the job was made
    reported: float = 0.0  # when its progress was last reported
    per_file: bool = False  # in-process per-file checks only (runs on threads of its own)

    def record(self, ms: float) -> dict[str, Any]:
        paths = sorted({p for i in self.items.values() for p in i.paths})
        return {
            "id": self.id,
            "trigger": self.trigger,
            "paths": paths[:50],
            "checks": sorted(self.items),
            # files (or project runs) analysed per check: cache hits and unchanged files excluded
            "analysed": [{"check": k, "count": v} for k, v in sorted(self.analysed.items())],
            "ms": round(ms, 3),
            "cancelled": self.token.cancelled,
        }


class Scheduler:
    """Turns changed paths into check runs, one workspace's worth (of a :class:`LiveCore`:
    its engine, options and listener). Runs on the core's event loop."""

    def __init__(self, core: LiveCore) -> None:
        self.core = core
        self._pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="phasegate-check")
        # The per-file checks' jobs have threads of their own: a job waiting for a tool
        # (or for the kill of a cancelled one) never holds up the file just saved.
        self._files_pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="phasegate-file")
        self.processes = CheckPool()  # worker processes for whole-workspace runs
        self._generation = 0  # bumped by every batch of changed paths
        self._changed_at: dict[str, int] = {}  # path -> generation it last changed in
        self._pending: set[str] = set()
        self._pending_trigger = "change"
        self._carried: dict[str, WorkItem] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._last_flush = -1e9
        self._seen: dict[str, str] = {}  # path -> content hash when it last ran
        self._inflight: dict[str, Job] = {}
        self._jobs: set[Job] = set()
        self._ids = itertools.count(1)
        self._dirty: set[str] = set()
        self._publish_scheduled = False
        self.history: deque[dict[str, Any]] = deque(maxlen=100)
        self.job_count = 0
        self._idle_waiters: list[asyncio.Future[None]] = []
        self._flush_timer: asyncio.TimerHandle | None = None
        self._holds = 0  # work outside the jobs that results wait for (a config reload)
        self.new_code_refreshes = 0  # change sets read again (new-code mode)
        self._count_lock = threading.Lock()

    @property
    def debounce(self) -> float:
        return self.core.options.debounce

    @property
    def busy(self) -> bool:
        return bool(self._jobs or self._pending or self._timer or self._carried or self._holds)

    def hold(self) -> None:
        """Count as busy until :meth:`release` (work that will submit jobs: a reload)."""
        self._holds += 1

    def release(self) -> None:
        self._holds = max(0, self._holds - 1)
        self._check_idle()

    def close(self) -> None:
        for job in list(self._jobs):
            job.token.cancel()
        if self._timer:
            self._timer.cancel()
        if self._flush_timer:
            self._flush_timer.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._files_pool.shutdown(wait=False, cancel_futures=True)
        self.processes.close()

    # -- input ----------------------------------------------------------------------------
    def _version(self, rel: str) -> str:
        """The content hash of a path ("-" when missing or not a file): at most one read
        of one file (none when its stat signature is the one last hashed)."""
        eng = self.core.engine
        assert eng is not None
        try:
            if not (eng.root / rel).is_file():
                return "-"
        except OSError:
            return "-"
        return eng.content_hash(rel)

    def relevant(self, rel: str) -> bool:
        """Whether a change of ``rel`` may matter: not under ``.phasegate/``, not ignored
        (``.gitignore`` and the config files always matter)."""
        eng = self.core.engine
        if eng is None:
            return False
        if rel == STATE_DIR or rel.startswith(STATE_DIR + "/"):
            return False
        if eng.is_config_file(rel) or rel == ".gitignore":
            return True
        return not eng.workspace.is_ignored(rel)

    def paths_changed(self, rels: Iterable[str], trigger: str) -> None:
        """Some files changed on disk (workspace-relative paths)."""
        rels = [r for r in rels if self.relevant(r)]
        small = len(rels) <= DEDUPE_MAX  # a big burst (branch switch) is not read here
        fresh = []
        for rel in rels:
            if small and rel not in self._pending and self._seen.get(rel) == self._version(rel):
                continue  # already processed this very content (e.g. save + watcher)
            fresh.append(rel)
        if not fresh:
            return
        self._pending.update(fresh)
        self._pending_trigger = trigger
        self._arm()

    def _arm(self) -> None:
        """Throttle: run at once unless the last run started less than ``debounce`` ago;
        then run when that much time has passed, with everything collected meanwhile."""
        if self._timer is not None:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, self._last_flush + self.debounce - loop.time())
        self._timer = loop.call_later(delay, self._flush)

    # -- scheduling ----------------------------------------------------------------------
    def _flush(self) -> None:
        self._timer = None
        self._last_flush = asyncio.get_running_loop().time()
        paths, self._pending = self._pending, set()
        try:
            self._run_paths(paths)
        finally:
            self._check_idle()

    def _run_paths(self, paths: set[str]) -> None:
        eng = self.core.engine
        if eng is None:
            return
        for rel in paths:
            if len(paths) <= DEDUPE_MAX:
                self._seen[rel] = self._version(rel)
            else:
                self._seen.pop(rel, None)
        if any(eng.is_config_file(p) for p in paths):
            self.core.config_changed()
            paths = {p for p in paths if not eng.is_config_file(p)}
        if eng.live is None or eng.runner is None:
            return
        eng.workspace.notify_changed(paths)
        self._generation += 1
        for rel in paths:
            self._changed_at[rel] = self._generation
        whole = self.core.whole_workspace is not False
        if ".gitignore" in paths and whole:
            self.submit({k: WorkItem(k, "full") for k in eng.live.checks}, "gitignore")
            return
        if not paths:
            return
        items: dict[str, WorkItem] = {}
        # the checks that parse a file first run first: the others use the tree they leave
        changed = eng.runner.checks_for_paths(paths)
        for rc in sorted(changed, key=lambda rc: not rc.cls.parses_first):
            if rc.cls.runs_workspace_code and not self.core.options.run_workspace_checks_on_change:
                continue
            hits = {p for p in paths if rc.matches(p)}
            if whole:
                items[rc.key] = WorkItem(rc.key, "delta", hits)
            elif rc.cls.scope == "file" and not rc.cls.runs_workspace_code:
                items[rc.key] = WorkItem(rc.key, "files", hits)  # these files only
            elif not (rc.cls.runs_workspace_code or rc.cls.uses_history):
                items[rc.key] = WorkItem(rc.key, "light", hits)
        self.submit(items, self._pending_trigger)
        eng.forget_anchor()
        self.core.listener.files_changed(paths)

    def submit(
        self, items: dict[str, WorkItem], trigger: str, progress: Progress | None = None
    ) -> list[Job]:
        """Run ``items`` now, cancelling the runs they supersede. Checks the core does not
        select (:meth:`LiveCore.selects`) are left out."""
        eng = self.core.engine
        if eng is None or eng.live is None:
            return []
        for key in list(items):
            job = self._inflight.get(key)
            item = items[key]
            if job is None or job.token.cancelled:
                continue
            if item.mode == "light":
                del items[key]  # the run in flight publishes the check whole anyway
            elif job.background and item.mode in ("delta", "files"):
                # The whole-workspace run goes on; the changed files are published now
                # and checked again when it is done.
                if item.mode == "delta":
                    job.recheck.setdefault(key, set()).update(item.paths)
                items[key] = WorkItem(key, "files", set(item.paths))
            elif not item.publish_only:
                self._cancel(job)
        for key, carried in self._carried.items():
            if key in items:
                items[key].merge(carried)
            else:
                items[key] = carried
        self._carried = {}
        if not items:
            return []
        live = eng.live
        per_file: dict[str, WorkItem] = {}
        project: dict[str, WorkItem] = {}
        slow: list[dict[str, WorkItem]] = []
        for key, item in items.items():
            rc = live.checks.get(key)
            if rc is None or not self.core.selects(rc):
                continue
            if rc.cls.runs_workspace_code and eng.trusted and item.mode != "cached":
                slow.append({key: item})
            elif rc.cls.scope == "file":
                per_file[key] = item
            else:
                project[key] = item
        jobs: list[Job] = []
        first: Job | None = None
        refresh = self._new_code_refresh(live, trigger)
        for group in [g for g in (per_file, project) if g] + slow:
            job = Job(next(self._ids), trigger, live, group, progress=progress, refresh=refresh)
            job.generation = self._generation
            job.per_file = group is per_file
            job.background = job.per_file and any(i.mode == "full" for i in group.values())
            # The per-file results (the file just saved) go first: the other jobs start
            # when they are published, so they do not compete with them for the CPU. Not
            # after a whole-workspace analysis (the workspace opened): that runs in the
            # background at a lower priority, and the workspace's tests, the longest
            # single step, start at once beside it.
            job.after = (
                first.done
                if first is not None and not first.background and group is not per_file
                else None
            )
            jobs.append(job)
            self._start(job)
            if group is per_file:
                first = job
        return jobs

    def _new_code_refresh(self, live: LiveResults, trigger: str) -> NewCodeRefresh | None:
        nc = live.runner.new_code
        if nc is None or trigger in FRESH_TRIGGERS:
            return None

        def counted() -> None:  # in a worker thread
            with self._count_lock:
                self.new_code_refreshes += 1

        return NewCodeRefresh(nc, counted)

    def _cancel(self, job: Job) -> None:
        if job.token.cancelled:
            return
        job.token.cancel()
        for key, item in job.items.items():
            if self._inflight.get(key) is job:
                del self._inflight[key]
            if key in job.committed or item.publish_only:
                continue  # done, or a publish only: nothing to carry over
            if key in self._carried:
                self._carried[key].merge(item)
            else:
                self._carried[key] = WorkItem(item.key, item.mode, set(item.paths))

    def cancel_all(self) -> None:
        for job in list(self._jobs):
            self._cancel(job)
        self._carried.clear()

    def _start(self, job: Job) -> None:
        loop = asyncio.get_running_loop()
        for key, item in job.items.items():
            if not item.publish_only:
                self._inflight[key] = job
        self._jobs.add(job)
        job.done = loop.create_future()
        task = loop.create_task(self._run(job))
        task.add_done_callback(lambda _t: None)

    async def _run(self, job: Job) -> None:
        loop = asyncio.get_running_loop()

        def hand_over(batch: list[Computed], published: threading.Event | None = None) -> None:
            for c in batch:
                job.live.place(c)  # here, not on the event loop
            loop.call_soon_threadsafe(self._commit, job, batch, published)

        def report(done: int, total: int) -> None:  # a whole-workspace run's progress
            loop.call_soon_threadsafe(self._report_files, job, done, total)

        def work() -> None:
            if job.refresh is not None and not job.token.cancelled:
                job.refresh.run()  # what is new since the reference, before any check
            batch: list[Computed] = []
            pending: list[Pending] = []
            last = time.monotonic()

            def add(c: Computed) -> None:
                nonlocal batch, last
                batch.append(c)
                if len(job.items) <= HAND_OVER_EACH or time.monotonic() - last >= BATCH_SECONDS:
                    hand_over(batch)
                    batch = []
                    last = time.monotonic()

            # per-file checks verified whole: together, file by file, across processes
            whole = [
                rc
                for key, item in job.items.items()
                if item.mode == "full"
                and (rc := job.live.checks[key]).cls.scope == "file"
                and not rc.cls.runs_workspace_code
            ]
            whole_keys = {rc.key for rc in whole}
            for key, item in job.items.items():
                if job.token.cancelled:
                    return
                rc = job.live.checks[key]
                if key in whole_keys:
                    continue
                try:
                    if item.mode == "cached":
                        c = job.live.cached_only(rc)
                    elif item.mode == "files":
                        c = job.live.analyse_files(rc, item.paths, job.token)
                    elif item.mode == "light":
                        light = self._light(job.live, rc, item, job.token)
                        if light is None:
                            continue
                        c = light
                    elif item.mode == "delta":
                        c, p = job.live.analyse_changes(rc, item.paths, job.token)
                        if p is not None:
                            pending.append(p)
                    else:
                        c = job.live.compute(rc, None, job.token)
                except Cancelled:
                    return
                add(c)
            if whole:
                if batch:
                    hand_over(batch)
                    batch = []
                try:
                    results = job.live.compute_file_checks(
                        whole,
                        job.token,
                        pool=self.processes,
                        partial=hand_over,
                        progress=report if job.progress is not None else None,
                    )
                except Cancelled:
                    return
                for c in results:
                    add(c)
            if not pending:
                if batch:
                    hand_over(batch)
                return
            # The changed files' findings go out first; re-scoring the checks over all
            # their files (which grows with the workspace) waits until they are published
            # so that it does not compete with publishing them.
            published = threading.Event()
            hand_over(batch, published)
            batch = []
            published.wait(PUBLISH_WAIT)
            for p in pending:
                if job.token.cancelled:
                    return
                try:
                    c = job.live.rescore(p, job.token)
                except Cancelled:
                    return
                add(c)
            if batch:
                hand_over(batch)

        try:
            if job.after is not None and not job.after.done():
                await asyncio.shield(job.after)
            if not job.token.cancelled:
                pool = self._files_pool if job.per_file else self._pool
                await loop.run_in_executor(pool, work)
        except RuntimeError:  # pool shut down
            job.token.cancel()
        finally:
            self._finish(job)

    def _commit(
        self, job: Job, batch: list[Computed], published: threading.Event | None = None
    ) -> None:
        try:
            if job.token.cancelled:
                return
            eng = self.core.engine
            if eng is None or eng.live is not job.live:
                return  # the configuration changed meanwhile
            newer = self._changed_since(job)
            for c in batch:
                # what the job computed for a file changed since it started is older than
                # what the change's own run shows
                keep = newer if newer and c.rc.cls.scope == "file" else None
                self._dirty |= job.live.commit(c, keep)
                if c.result is not None:  # not a first stage: the check is done
                    job.committed.add(c.rc.key)
                job.analysed[c.rc.config.id] = job.analysed.get(c.rc.config.id, 0) + c.analysed
            if job.progress is not None and not job.background:
                n, total = len(job.committed), len(job.items)
                job.progress.report(f"{n}/{total} checks", int(100 * n / max(1, total)))
            self._publish_soon()
        finally:
            if published is not None:
                # after the publish that _publish_soon queued (callbacks run in order)
                asyncio.get_running_loop().call_soon(published.set)

    def _light(
        self, live: LiveResults, rc: ResolvedCheck, item: WorkItem, token: CancelToken
    ) -> Computed | None:
        """A "light" item, in a worker thread: the check run whole when it reads few files;
        else, when it can judge single files (ruff), on the item's files alone (shown until
        its own run); else nothing (or, with a reason, a result saying why when it has
        none yet)."""
        if len(rc.ctx.input_files()) <= LIGHT_INPUTS:
            return live.compute(rc, None, token)
        if item.paths:  # a document shown, a file changed: ruff on those files alone
            alone = live.analyse_project_files(rc, item.paths, token)
            if alone is not None:
                return alone
        if item.reason is not None and rc.key not in live.results:
            c = live.placeholder(rc, item.reason)
            c.replace_all = False  # the findings of files it was run on alone stay
            return c
        return None

    def _changed_since(self, job: Job) -> set[str]:
        """The paths that changed after ``job`` was made."""
        if self._generation == job.generation:
            return set()
        return {p for p, g in self._changed_at.items() if g > job.generation}

    def _report_files(self, job: Job, done: int, total: int) -> None:
        if job.progress is None or job.token.cancelled:
            return
        now = time.monotonic()
        if done < total and now - job.reported < PROGRESS_EVERY:
            return
        job.reported = now
        job.progress.report(f"{done}/{total} files", int(100 * done / max(1, total)))

    def _finish(self, job: Job) -> None:
        self._jobs.discard(job)
        for key in job.items:
            if self._inflight.get(key) is job:
                del self._inflight[key]
        self.job_count += 1
        self.history.append(job.record((time.monotonic() - job.started) * 1000))
        if job.done is not None and not job.done.done():
            job.done.set_result(None)
        if job.recheck and not job.token.cancelled:
            # files that changed while the whole-workspace run went on: against its state
            recheck = {k: WorkItem(k, "delta", paths) for k, paths in job.recheck.items()}
            job.recheck = {}
            self.submit(recheck, "recheck")
        if job.token.cancelled and self._carried and not self._jobs and self._timer is None:
            # Cancelled by stop (not superseded by a newer run): nothing will pick it up.
            self._carried.clear()
        self._check_idle()
        self.core.listener.status_changed()
        self._schedule_cache_flush()

    def _schedule_cache_flush(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
        loop = asyncio.get_running_loop()
        self._flush_timer = loop.call_later(FLUSH_AFTER, self._flush_cache)

    def _flush_cache(self) -> None:
        self._flush_timer = None
        eng = self.core.engine
        if eng is None:
            return
        if self.busy:
            self._schedule_cache_flush()
            return
        asyncio.get_running_loop().run_in_executor(self._pool, eng.cache.flush)

    def _check_idle(self) -> None:
        if not self.busy:
            # no job left that a change could be newer than: forget when paths changed
            self._changed_at.clear()
            for w in self._idle_waiters:
                if not w.done():
                    w.set_result(None)
            self._idle_waiters.clear()

    def _publish_soon(self) -> None:
        if self._publish_scheduled:
            return
        self._publish_scheduled = True
        asyncio.get_running_loop().call_soon(self._publish)

    def _publish(self) -> None:
        self._publish_scheduled = False
        dirty, self._dirty = self._dirty, set()
        if dirty:
            self.core.listener.show(dirty)
        self.core.listener.status_changed()

    # -- waiting --------------------------------------------------------------------------
    async def wait_jobs(self, jobs: list[Job]) -> None:
        futs = [j.done for j in jobs if j.done is not None]
        if futs:
            await asyncio.gather(*futs)

    async def idle(self, timeout: float | None = None) -> bool:
        """Wait until nothing is pending or running; False on timeout."""
        if not self.busy:
            return True
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._idle_waiters.append(fut)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(fut), timeout)
            return True
        return False

    def stats(self) -> dict[str, Any]:
        return {
            "busy": self.busy,
            "jobs": self.job_count,
            "history": list(self.history),
            "newCodeRefreshes": self.new_code_refreshes,
        }
