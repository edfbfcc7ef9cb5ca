"""The live results: every check's last result, updated incrementally.

What the editor shows and ``phasegate watch`` reports.

Work is split in two halves so that the event loop never waits on a check:

* ``compute_*`` methods run in a worker thread. A file-scope check re-analyses only the
  input files whose content changed (by content hash: the runner's, which is the result
  cache's memo, shared with ``validate``) and re-scores from the findings
  it keeps per file; a project check runs whole (from the result cache when the hash of
  its inputs is unchanged). They read the committed state and return a :class:`Computed`.
* :meth:`LiveResults.commit` runs on the event loop: it installs a result, works out
  which displayed files gained or lost findings, and returns them for republishing.

A run whose token was cancelled (superseded by a newer change) is never committed.

In new-code mode (the runner's ``new_code``) every result is judged as the runner judges
it (:meth:`GateRunner.judged`) and every finding shown carries its ``baseline_state``:
the findings a file-scope check keeps per file are classified when they are published,
against the change set as last read (the scheduler reads it again before each batch).
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from phasegate.cache import FINDINGS, gc_paused
from phasegate.checks.base import CheckOutcome
from phasegate.config import Config
from phasegate.model import CheckResult, Finding, GateResult
from phasegate.proc import CancelToken, cancel_scope
from phasegate.runner import GateRunner, ResolvedCheck, result_of, score_gate
from phasegate.workspace import Workspace

if TYPE_CHECKING:
    from phasegate.live.pool import CheckPool, Pair, PoolSpec

PROJECT_SOURCE = "*"
# + a path: a project check's findings on one file it was run on alone (a document shown,
# before the check's own run; replaced by that run)
FOCUS_SOURCE = "focus:"
BIG_COMMIT = 2000  # findings in one commit from which the cyclic collector is paused
NOT_RUN = "not run yet"  # the face may say how to run it (LiveOptions.not_run)

DisplayPathFn = Callable[[Finding], str]
# Told how far a whole-workspace analysis got: (files analysed or found unchanged, files).
FilesProgress = Callable[[int, int], None]
# Handed the findings of a batch of files as they come in (first-stage results).
PartialResults = Callable[[list["Computed"]], None]


class Cancelled(Exception):
    """The run was superseded; its result must be dropped."""


@dataclass
class FileState:
    """A file-scope check's findings and content hash per input file."""

    per_file: dict[str, list[Finding]] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)


@dataclass
class Computed:
    """One check's new result, not yet committed. ``result`` is None for the first stage
    of a file-scope re-run (see :meth:`LiveResults.analyse_changes`): its findings, to be
    published at once; the re-scored result follows."""

    rc: ResolvedCheck
    result: CheckResult | None
    # findings per source (input file, or PROJECT_SOURCE); only the sources listed here
    # changed, unless ``replace_all``.
    contributions: dict[str, list[Finding]]
    replace_all: bool
    file_state: FileState | None = None
    analysed: int = 0  # files (or 1 for a project check) actually analysed
    from_cache: bool = False
    # where each source's findings are shown (display path -> findings), worked out in
    # the worker thread (LiveResults.place) beside the findings list it was made from;
    # None: worked out when committed
    placed: dict[str, tuple[list[Finding], dict[str, list[Finding]]]] | None = None


@dataclass
class Pending:
    """A file-scope check whose changed files were analysed, not yet re-scored:
    ``changes`` maps each changed input to its (hash, findings), or None when it is no
    longer an input; ``base`` is the state they apply to."""

    rc: ResolvedCheck
    base: FileState
    changes: dict[str, tuple[str, list[Finding]] | None]
    analysed: int
    start: float

    def state(self) -> FileState:
        """The check's new per-file state (copies ``base``: grows with the files)."""
        per_file = dict(self.base.per_file)
        hashes = dict(self.base.hashes)
        for path, change in self.changes.items():
            if change is None:
                per_file.pop(path, None)
                hashes.pop(path, None)
            else:
                hashes[path], per_file[path] = change
        return FileState(per_file, hashes)


class LiveResults:
    """Check results of one workspace, indexed by the file each finding is shown on."""

    def __init__(
        self,
        workspace: Workspace,
        config: Config,
        runner: GateRunner,
        *,
        display_path: DisplayPathFn | None = None,
        not_run: str = NOT_RUN,
    ) -> None:
        self.workspace = workspace
        self.config = config
        self.runner = runner
        self.checks: dict[str, ResolvedCheck] = {rc.key: rc for rc in runner.all_checks()}
        self.results: dict[str, CheckResult] = {}
        self.file_states: dict[str, FileState] = {}
        # check key -> source -> findings; display path -> (check key, source) -> findings
        self._contrib: dict[str, dict[str, list[Finding]]] = {}
        self._by_display: dict[str, dict[tuple[str, str], list[Finding]]] = {}
        # where each (check key, source)'s findings are shown (decided when they came in)
        self._placed: dict[tuple[str, str], set[str]] = {}
        self._display = display_path or (lambda f: f.path)
        self.not_run = not_run  # why a check shown without a result has none
        self.check_executions = 0  # checks run (not served from the cache)
        self._pool_spec: PoolSpec | None = None
        self.version = 0  # bumped by every commit that changed something

    # -- worker side (threads) -------------------------------------------------------------
    def _result(
        self, rc: ResolvedCheck, outcome: CheckOutcome, start: float, cached: bool
    ) -> CheckResult:
        result = result_of(rc, outcome, duration_s=time.monotonic() - start, cached=cached)
        return self.runner.judged(rc, outcome, result)  # as is outside new-code mode

    def classified(self, rc: ResolvedCheck, findings: list[Finding]) -> list[Finding]:
        """``findings`` with their ``baseline_state`` in new-code mode (as they are
        outside it, or when classifying fails: a display never fails on it)."""
        nc = self.runner.new_code
        if nc is None or not findings:
            return findings
        try:
            rule = getattr(rc.cls, "new_code_rule", "lines")
            return nc.classify(rc.phase, rc.config.id, findings, rule)[0]
        except Exception:
            return findings

    def _check_file(
        self, rc: ResolvedCheck, path: str, h: str, *, store: bool = True
    ) -> tuple[list[Finding], bool]:
        cache = self.runner.cache
        fp = rc.config_fingerprint()
        hit = cache.get_file(rc.key, fp, path, h) if cache else None
        if hit is not None:
            return hit, True
        found = rc.check.check_file(rc.ctx, path)
        if cache and store:
            cache.put_file(rc.key, fp, path, h, found)
        return found, False

    def compute(
        self, rc: ResolvedCheck, paths: Iterable[str] | None, token: CancelToken
    ) -> Computed:
        """The check's new result after ``paths`` changed (``None``: verify every input)."""
        with cancel_scope(token):
            if rc.cls.runs_workspace_code and not self.runner.trusted:
                return self._project(rc, token)
            if rc.cls.scope == "file":
                state = self.file_states.get(rc.key)
                if paths is None or state is None:
                    return self._file_full(rc, state, token)
                return self._file_delta(rc, state, paths, token)
            return self._project(rc, token)

    def _crashed(self, rc: ResolvedCheck, exc: Exception, start: float) -> Computed:
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        outcome = CheckOutcome(findings=[], score=0.0, error=f"check crashed: {tb}")
        return Computed(rc, self._result(rc, outcome, start, False), {}, True)

    def _file_full(
        self, rc: ResolvedCheck, state: FileState | None, token: CancelToken
    ) -> Computed:
        start = time.monotonic()
        new = FileState()
        analysed = 0
        try:
            for path in rc.ctx.input_files():
                if token.cancelled:
                    raise Cancelled
                h = self.runner.content_hash(path)
                if state is not None and state.hashes.get(path) == h:
                    found = state.per_file[path]
                else:
                    found, cached = self._check_file(rc, path, h)
                    analysed += 0 if cached else 1
                new.per_file[path] = found
                new.hashes[path] = h
            outcome = rc.check.score_files(rc.ctx, new.per_file)
        except Cancelled:
            raise
        except Exception as exc:  # a check bug must not take the server down
            return self._crashed(rc, exc, start)
        if self.runner.cache:
            self.runner.cache.retain_files(rc.key, set(new.per_file))
        result = self._result(rc, outcome, start, analysed == 0)
        contrib = {p: self.classified(rc, fs) for p, fs in new.per_file.items() if fs}
        return Computed(rc, result, contrib, True, new, analysed, analysed == 0)

    def _file_delta(
        self, rc: ResolvedCheck, state: FileState, paths: Iterable[str], token: CancelToken
    ) -> Computed:
        first, pending = self._analyse(rc, state, paths, token)
        if pending is None:
            return first
        final = self.rescore(pending, token)
        final.contributions = first.contributions
        final.analysed = first.analysed
        final.from_cache = first.from_cache
        return final

    def analyse_changes(
        self, rc: ResolvedCheck, paths: Iterable[str], token: CancelToken
    ) -> tuple[Computed, Pending | None]:
        """A change, in two stages. This one re-analyses the changed files of a file-scope
        check and returns their findings (a :class:`Computed` without result, to publish
        at once: its cost does not depend on the number of files) and a :class:`Pending`
        for :meth:`rescore`, which builds the check's new state and scores it over all
        its files — the part that grows with the workspace. Other checks are computed
        whole (no pending)."""
        with cancel_scope(token):
            state = self.file_states.get(rc.key)
            if (
                rc.cls.scope != "file"
                or state is None
                or (rc.cls.runs_workspace_code and not self.runner.trusted)
            ):
                return self.compute(rc, paths, token), None
            return self._analyse(rc, state, paths, token)

    def _analyse(
        self, rc: ResolvedCheck, state: FileState, paths: Iterable[str], token: CancelToken
    ) -> tuple[Computed, Pending | None]:
        start = time.monotonic()
        changes: dict[str, tuple[str, list[Finding]] | None] = {}
        changed: dict[str, list[Finding]] = {}
        analysed = 0
        files = self.workspace.files()
        try:
            for path in paths:
                if token.cancelled:
                    raise Cancelled
                if path in files and rc.matches(path):
                    h = self.runner.content_hash(path)
                    if state.hashes.get(path) == h:
                        continue
                    found, cached = self._check_file(rc, path, h)
                    analysed += 0 if cached else 1
                    changes[path] = (h, found)
                    changed[path] = self.classified(rc, found)
                elif path in state.per_file:
                    changes[path] = None
                    changed[path] = []
                    if self.runner.cache:
                        self.runner.cache.drop_file(rc.key, path)
        except Cancelled:
            raise
        except Exception as exc:
            return self._crashed(rc, exc, start), None
        # The new state is installed by the second stage; the findings go out now.
        first = Computed(rc, None, changed, False, None, analysed, analysed == 0)
        return first, Pending(rc, state, changes, analysed, start)

    def rescore(self, p: Pending, token: CancelToken) -> Computed:
        """The second stage of :meth:`analyse_changes`: the check's new per-file state,
        its score and its findings over all its files."""
        rc = p.rc
        with cancel_scope(token):
            if token.cancelled:
                raise Cancelled
            state = p.state()
            try:
                outcome = rc.check.score_files(rc.ctx, state.per_file)
            except Exception as exc:
                return self._crashed(rc, exc, p.start)
            result = self._result(rc, outcome, p.start, p.analysed == 0)
            # The changed files' findings were committed by the first stage.
            return Computed(rc, result, {}, False, state, 0, True)

    def _project(self, rc: ResolvedCheck, token: CancelToken) -> Computed:
        if token.cancelled:
            raise Cancelled
        result = self.runner.run_check(rc)  # cache-aware; never raises
        if token.cancelled:
            raise Cancelled
        ran = not result.cached and result.skipped is None
        return Computed(
            rc,
            result,
            {PROJECT_SOURCE: list(result.findings)},
            True,
            None,
            1 if ran else 0,
            result.cached,
        )

    def peek(self, rc: ResolvedCheck) -> Computed | None:
        """The last cached result of ``rc`` without running it (reopen)."""
        result = self.runner.peek_check(rc)
        if result is None:
            return None
        if rc.cls.scope == "file" and self.runner.cache is not None:
            files = self.runner.cache.peek_files(rc.key, rc.config_fingerprint()) or {}
            state = FileState(
                per_file={p: fs for p, (_h, fs) in files.items()},
                hashes={p: h for p, (h, _fs) in files.items()},
            )
            contrib = {p: self.classified(rc, fs) for p, fs in state.per_file.items() if fs}
            return Computed(rc, result, contrib, True, state, 0, True)
        return Computed(rc, result, {PROJECT_SOURCE: list(result.findings)}, True, None, 0, True)

    def cached_only(self, rc: ResolvedCheck) -> Computed:
        """The check's result if the cache has it for its current inputs, else a
        "not run yet" placeholder: never runs the check (used on open for checks that
        run workspace code)."""
        start = time.monotonic()
        if rc.cls.runs_workspace_code and not self.runner.trusted:
            return self._project(rc, CancelToken())  # a "skipped: untrusted" result
        cache = self.runner.cache
        if cache is not None and rc.cls.scope == "project":
            hit = cache.get_project(rc.key, self.runner.inputs_hash(rc))
            if hit is not None:
                result = self._result(rc, hit, start, True)
                return Computed(
                    rc, result, {PROJECT_SOURCE: list(result.findings)}, True, None, 0, True
                )
        return self.placeholder(rc)

    def placeholder(self, rc: ResolvedCheck, reason: str | None = None) -> Computed:
        """A check that has not run: excluded from its gate's score, shown as skipped."""
        return Computed(rc, rc.skipped_result(reason or self.not_run), {}, True)

    # -- whole-workspace and document analysis (threads) ------------------------------------
    def pool_spec(self) -> PoolSpec:
        """What a worker process needs to build this configuration's checks (made once)."""
        from phasegate.live.pool import PoolSpec

        if self._pool_spec is None:
            rcs = list(self.checks.values())
            self._pool_spec = PoolSpec.of(
                str(self.workspace.root), self.config, self.runner.trusted, rcs
            )
        return self._pool_spec

    def is_input_file(self, path: str) -> bool:
        """Whether ``path`` is a workspace file a check may read (exists, not ignored),
        without scanning the workspace when it has not been scanned yet."""
        if self.workspace._files is not None:
            return path in self.workspace.files()
        return os.path.isfile(self.workspace.root / path) and not self.workspace.is_ignored(path)

    def analyse_files(
        self, rc: ResolvedCheck, paths: Iterable[str], token: CancelToken
    ) -> Computed:
        """The findings of a file-scope check for ``paths`` only (the documents a face
        shows; changes in a workspace that is not analysed whole): a first-stage
        :class:`Computed` (no result, no new state) to publish at once. Its cost does not
        depend on the number of files; the check's score and state stay as they are until
        the check runs whole."""
        with cancel_scope(token):
            start = time.monotonic()
            changed: dict[str, list[Finding]] = {}
            analysed = 0
            try:
                for path in sorted(paths):
                    if token.cancelled:
                        raise Cancelled
                    if rc.matches(path) and self.is_input_file(path):
                        h = self.runner.content_hash(path)
                        # looked up, never stored: the cache of a check holds the files
                        # of its whole runs (reopening shows them as its last result)
                        found, cached = self._check_file(rc, path, h, store=False)
                        analysed += 0 if cached else 1
                        changed[path] = self.classified(rc, found)
                    else:
                        changed[path] = []
            except Cancelled:
                raise
            except Exception as exc:
                return self._crashed(rc, exc, start)
            return Computed(rc, None, changed, False, None, analysed, analysed == 0)

    def analyse_project_files(
        self, rc: ResolvedCheck, paths: Iterable[str], token: CancelToken
    ) -> Computed | None:
        """A project check that can judge single files (ruff's, through its
        ``lint(ctx, paths)``) run on ``paths`` alone, while it has no result of its own: a
        first-stage :class:`Computed` whose findings are shown on those files until the
        check's own run replaces them. None when the check cannot, or has a result."""
        lint = getattr(rc.check, "lint", None)
        if rc.cls.scope != "project" or rc.cls.runs_workspace_code or not callable(lint):
            return None
        known = self.results.get(rc.key)
        if known is not None and known.skipped is None:
            return None  # its findings are shown already: the run's, or the cache's
        files = sorted(p for p in paths if rc.matches(p) and self.is_input_file(p))
        if not files or token.cancelled:
            return None
        with cancel_scope(token):
            try:
                outcome = lint(rc.ctx, files)
            except Exception:  # its own run reports it
                return None
        if not isinstance(outcome, CheckOutcome) or outcome.error or outcome.not_applicable:
            return None
        by_path: dict[str, list[Finding]] = {p: [] for p in files}
        for f in outcome.findings:
            if f.path in by_path:
                by_path[f.path].append(f)
        contrib = {FOCUS_SOURCE + p: self.classified(rc, fs) for p, fs in by_path.items()}
        return Computed(rc, None, contrib, False, None, 1, False)

    def compute_file_checks(
        self,
        rcs: list[ResolvedCheck],
        token: CancelToken,
        *,
        pool: CheckPool | None = None,
        partial: PartialResults | None = None,
        progress: FilesProgress | None = None,
    ) -> list[Computed]:
        """Every input of each file-scope check of ``rcs`` verified together (the
        workspace opens, its configuration changed, the user asked): each file is hashed
        once, files whose content is known (live state, result cache) are not analysed
        again, the others are analysed file by file for all the checks that read them —
        in ``pool``'s worker processes when there are many, else here. The findings of
        each batch go to ``partial`` as they come in (first-stage results, to publish);
        the returned results are the checks' new states, scored, exactly as
        :meth:`compute` makes them one check at a time."""
        with cancel_scope(token):
            return self._file_checks(rcs, token, pool, partial, progress)

    def _file_checks(
        self,
        rcs: list[ResolvedCheck],
        token: CancelToken,
        pool: CheckPool | None,
        partial: PartialResults | None,
        progress: FilesProgress | None,
    ) -> list[Computed]:
        start = time.monotonic()
        cache = self.runner.cache
        by_key = {rc.key: rc for rc in rcs}
        files: dict[str, list[str]] = {}
        found: dict[str, dict[str, list[Finding]]] = {rc.key: {} for rc in rcs}
        hashes: dict[str, dict[str, str]] = {rc.key: {} for rc in rcs}
        fps = {rc.key: rc.config_fingerprint() for rc in rcs}
        analysed = dict.fromkeys(by_key, 0)
        crashed: dict[str, Computed] = {}
        todo: dict[str, list[str]] = {}  # path -> keys of the checks that must analyse it
        seen: dict[str, str] = {}
        for rc in rcs:
            try:
                files[rc.key] = rc.ctx.input_files()
            except Exception as exc:
                crashed[rc.key] = self._crashed(rc, exc, start)
        total = len({p for fs in files.values() for p in fs})
        # on each file, the checks that parse it first (Check.parses_first) run first: the
        # others use the syntax tree they leave
        for key in sorted(files, key=lambda k: not by_key[k].cls.parses_first):
            state = self.file_states.get(key)
            for path in files[key]:
                if token.cancelled:
                    raise Cancelled
                h = seen.get(path)
                if h is None:
                    h = seen[path] = self.runner.content_hash(path)
                hashes[key][path] = h
                if state is not None and state.hashes.get(path) == h:
                    found[key][path] = state.per_file[path]
                    continue
                hit = cache.get_file(key, fps[key], path, h) if cache else None
                if hit is not None:
                    found[key][path] = hit
                else:
                    todo.setdefault(path, []).append(key)
                    if pool is not None and len(todo) == pool.min_files:
                        pool.prepare(self.pool_spec())  # workers start while this hashes
        done = total - len(todo)
        if progress is not None:
            progress(done, total)
        for batch in self._analysed(by_key, todo, token, pool, crashed):
            fresh: dict[str, dict[str, list[Finding]]] = {}
            for key, path, fs in batch:
                if key in crashed:
                    continue
                found[key][path] = fs
                analysed[key] += 1
                if cache:
                    cache.put_file(key, fps[key], path, hashes[key][path], fs)
                if fs:
                    fresh.setdefault(key, {})[path] = self.classified(by_key[key], fs)
            done += len({p for _k, p, _f in batch})
            if progress is not None:
                progress(min(done, total), total)
            if partial is not None and fresh:
                partial(
                    [Computed(by_key[k], None, c, False, None, 0, True) for k, c in fresh.items()]
                )
        out: list[Computed] = []
        for rc in rcs:
            if rc.key in crashed:
                out.append(crashed[rc.key])
                continue
            paths = files[rc.key]
            new = FileState(
                per_file={p: found[rc.key][p] for p in paths},  # in input order, as compute()
                hashes=hashes[rc.key],
            )
            try:
                outcome = rc.check.score_files(rc.ctx, new.per_file)
            except Exception as exc:
                out.append(self._crashed(rc, exc, start))
                continue
            if cache:
                cache.retain_files(rc.key, set(new.per_file))
            n = analysed[rc.key]
            result = self._result(rc, outcome, start, n == 0)
            contrib = {p: self.classified(rc, fs) for p, fs in new.per_file.items() if fs}
            out.append(Computed(rc, result, contrib, True, new, n, n == 0))
        return out

    def _analysed(
        self,
        by_key: dict[str, ResolvedCheck],
        todo: dict[str, list[str]],
        token: CancelToken,
        pool: CheckPool | None,
        crashed: dict[str, Computed],
    ) -> Iterator[list[tuple[str, str, list[Finding]]]]:
        """The findings of each (path -> check keys) of ``todo``, batch by batch: from the
        pool's workers when it wants that many files, else analysed here. A pair a worker
        could not analyse is analysed here: a check's exception makes it crashed."""
        if pool is not None and pool.wanted(len(todo)):
            for pairs in pool.analyse(self.pool_spec(), todo, token):
                if token.cancelled:
                    raise Cancelled
                yield self._decoded(by_key, pairs, token, crashed)
            if token.cancelled:
                raise Cancelled
            return
        batch: list[tuple[str, str, list[Finding]]] = []
        last = time.monotonic()
        for path, keys in todo.items():
            if token.cancelled:
                raise Cancelled
            for key in keys:
                if key in crashed:
                    continue
                try:
                    batch.append((key, path, by_key[key].check.check_file(by_key[key].ctx, path)))
                except Exception as exc:
                    crashed[key] = self._crashed(by_key[key], exc, time.monotonic())
            if time.monotonic() - last >= 0.1:
                yield batch
                batch, last = [], time.monotonic()
        if batch:
            yield batch

    def _decoded(
        self,
        by_key: dict[str, ResolvedCheck],
        batch: list[Pair],
        token: CancelToken,
        crashed: dict[str, Computed],
    ) -> list[tuple[str, str, list[Finding]]]:
        out: list[tuple[str, str, list[Finding]]] = []
        for key, path, raw in batch:
            if key in crashed:
                continue
            if raw is None:  # not analysed by a worker: here, where a crash is reported
                rc = by_key[key]
                try:
                    with cancel_scope(token):
                        out.append((key, path, rc.check.check_file(rc.ctx, path)))
                except Exception as exc:
                    crashed[key] = self._crashed(rc, exc, time.monotonic())
                continue
            out.append((key, path, FINDINGS.validate_json(raw) if raw else []))
        return out

    def place(self, c: Computed) -> None:
        """Work out where ``c``'s findings are shown, in the worker thread that computed
        it: placing a finding can ask the disk whether its file exists (a file the
        workspace's index does not list yet), and committing thousands of files' findings
        on the event loop must not wait for that (nor for the interpreter lock each such
        call gives up)."""
        if c.placed is None and c.contributions:
            c.placed = {
                src: (fs, _group_display(fs, self._display))
                for src, fs in c.contributions.items()
                if fs
            }

    # -- event loop side -------------------------------------------------------------------
    def commit(self, c: Computed, keep: set[str] | None = None) -> set[str]:
        """Install a computed result; return the display paths whose findings changed.
        The findings of the sources in ``keep`` stay as they are (newer ones are shown)."""
        if sum(len(fs) for fs in c.contributions.values()) < BIG_COMMIT:
            return self._commit(c, keep)
        # Thousands of a tool's findings: the lists and groups made for them hold no
        # cycles, and the collector's scans of everything else would cost more than the
        # work itself (this runs on the event loop).
        with gc_paused():
            return self._commit(c, keep)

    def _commit(self, c: Computed, keep: set[str] | None) -> set[str]:
        key = c.rc.key
        if c.result is None and c.file_state is None and c.rc.cls.scope == "project":
            known = self.results.get(key)
            if known is not None and known.skipped is None:
                return set()  # a few files' findings, older than the check's own run
        if c.result is not None:
            self.results[key] = c.result
        if c.file_state is not None:
            self.file_states[key] = c.file_state
        elif c.rc.cls.scope == "file" and c.replace_all:
            self.file_states.pop(key, None)
        if not c.from_cache:
            self.check_executions += 1 if c.analysed else 0
        old = self._contrib.setdefault(key, {})
        affected: set[str] = set()
        sources = set(c.contributions)
        if c.replace_all:
            sources |= set(old)
        if keep:
            sources -= keep
        for src in sources:
            new_fs = c.contributions.get(src, [])
            old_fs = old.get(src, [])
            if new_fs == old_fs:
                continue
            for dp in self._placed.pop((key, src), ()):
                affected.add(dp)
                bucket = self._by_display.get(dp)
                if bucket is not None:
                    bucket.pop((key, src), None)
                    if not bucket:
                        del self._by_display[dp]
            if new_fs:
                old[src] = new_fs
                made = c.placed.get(src) if c.placed is not None else None
                grouped = (
                    made[1]
                    if made is not None and made[0] is new_fs
                    else _group_display(new_fs, self._display)
                )
                self._placed[(key, src)] = set(grouped)
                for dp_path, fs in grouped.items():
                    affected.add(dp_path)
                    self._by_display.setdefault(dp_path, {})[(key, src)] = fs
            else:
                old.pop(src, None)
        if affected:
            self.version += 1
        return affected

    def forget_all(self) -> set[str]:
        """Drop every result (config changed); return the display paths that had findings."""
        affected = set(self._by_display)
        self.results.clear()
        self.file_states.clear()
        self._contrib.clear()
        self._by_display.clear()
        self._placed.clear()
        self.version += 1
        return affected

    def findings_for(self, display_path: str) -> list[tuple[ResolvedCheck, Finding]]:
        """Findings shown on ``display_path``, in pipeline order."""
        bucket = self._by_display.get(display_path)
        if not bucket:
            return []
        order = {k: i for i, k in enumerate(self.checks)}
        out: list[tuple[ResolvedCheck, Finding]] = []
        for (key, _src), fs in sorted(bucket.items(), key=lambda kv: order.get(kv[0][0], 1 << 30)):
            rc = self.checks.get(key)
            if rc is None:
                continue
            out += [(rc, f) for f in fs]
        return out

    def display_paths(self) -> list[str]:
        return sorted(self._by_display)

    def all_findings(self) -> list[tuple[ResolvedCheck, Finding]]:
        out: list[tuple[ResolvedCheck, Finding]] = []
        for key, rc in self.checks.items():
            r = self.results.get(key)
            if r is not None:
                out += [(rc, f) for f in r.findings]
        return out

    def finding_by_id(self, finding_id: str) -> tuple[ResolvedCheck, Finding] | None:
        for rc, f in self.all_findings():
            if f.id == finding_id:
                return rc, f
        return None

    def gate(self, phase: str, threshold: float) -> GateResult | None:
        """The phase's exit gate from the current results (None until one check has a result)."""
        rcs = [rc for rc in self.checks.values() if rc.phase == phase and not rc.entry]
        results = [self.results[rc.key] for rc in rcs if rc.key in self.results]
        if not results:
            return None
        return score_gate(phase, results, threshold)


def _group_display(fs: list[Finding], display: DisplayPathFn) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    # where a path's findings are shown, asked once per path (a tool's thousands of
    # findings share few files; asking looks at the disk)
    shown: dict[tuple[str, bool], str] = {}
    for f in fs:
        where = shown.get((f.path, f.missing_file))
        if where is None:
            where = shown[(f.path, f.missing_file)] = display(f)
        out.setdefault(where, []).append(f)
    return out
