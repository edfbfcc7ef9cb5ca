"""Running checks and scoring gates, with results cached by the content of their inputs.

:class:`GateRunner` is what the executor, ``validate`` and the language server use:

* :meth:`GateRunner.evaluate` runs a phase's checks and scores its gate;
* :meth:`GateRunner.checks_for_paths` selects exactly the checks whose inputs match
  changed paths (across all phases), for incremental re-runs;
* file-scope checks re-analyse only files whose content changed; project-scope checks
  re-run only when the hash of their inputs changed;
* every result carries its evidence (:class:`phasegate.model.Evidence`): whether it ran,
  came from the cache, was skipped or could not run, the programs the check ran (noted
  by :func:`phasegate.proc.recording` in the thread that runs the check), the hash of
  its inputs and the workspace's git commit.

The gate rule (DESIGN.md): score = weighted mean of check scores (skipped checks left
out); the gate passes when score >= threshold and no blocking check fails.

Suppression comments (``phasegate: ignore[ID]``, :mod:`phasegate.suppress`) apply to every
check's findings before anything else sees them: :meth:`GateRunner.resolve` instantiates
the check through :func:`phasegate.suppress.honouring`, so the scores, the result cache
and every face get the findings that remain.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from phasegate.cache import ResultCache, stat_signatures
from phasegate.checks.base import Check, CheckContext, CheckOutcome, get_check_class
from phasegate.config import CheckConfig, Config, PhaseConfig
from phasegate.evidence import CommandView, How, evidence_of, how_of, workspace_commit
from phasegate.model import CheckResult, Finding, GateResult, Severity
from phasegate.proc import Invocation, noting, record, recording
from phasegate.suppress import honouring, suppressed_findings
from phasegate.workspace import Workspace, matches

if TYPE_CHECKING:
    from phasegate.newcode import NewCode

INTEGRITY_ID = "GATE-INTEGRITY"
# A project check's first run hashes its inputs while it runs, comparing the files
# changed in the last few seconds by content: beyond this many, it hashes first.
MAX_RACY_INPUTS = 64


@dataclass
class ResolvedCheck:
    phase: str
    config: CheckConfig
    cls: type[Check]
    check: Check
    ctx: CheckContext
    entry: bool = False

    @property
    def key(self) -> str:
        return f"{self.phase}:{self.config.id}"

    @property
    def weight(self) -> float:
        w = self.config.weight
        return self.cls.default_weight if w is None else w

    @property
    def blocking(self) -> bool:
        b = self.config.blocking
        return self.cls.default_blocking if b is None else b

    def config_fingerprint(self) -> str:
        data = self.config.model_dump(mode="json")
        data["_inputs"] = self.ctx.inputs
        data["_exclude"] = self.ctx.exclude
        data["_cls"] = f"{self.cls.__module__}.{self.cls.__qualname__}"
        data["_code"] = code_fingerprint(self.cls)
        depends = self.cls.config_dependencies(self.ctx.config)
        if depends is not None:
            data["_config"] = depends
        return hashlib.sha1(json.dumps(data, sort_keys=True).encode()).hexdigest()

    def skipped_result(self, reason: str | None) -> CheckResult:
        """A result for this check without running it: left out of its gate's score with
        ``reason`` (an untrusted workspace, not run yet), or passing when None."""
        result = CheckResult(
            id=self.config.id,
            phase=self.phase,
            weight=self.weight,
            blocking=self.blocking,
            owner=self.ctx.owner,
            passed=True,
            score=1.0,
            skipped=reason,
        )
        result.evidence = evidence_of(result, None, None)  # "skipped" (or "ran" when None)
        return result

    def matches(self, path: str) -> bool:
        if not matches(path, self.ctx.inputs):
            return False
        return not (self.ctx.exclude and matches(path, self.ctx.exclude))


_code_fingerprints: dict[type[Check], str] = {}


def _stat_line(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return f"{path}:-"
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


@functools.cache
def _shared_code_lines() -> tuple[str, ...]:
    """Size and modification time of every phasegate module and of the bundled ruff:
    read once per process, shared by every check's fingerprint."""
    package = os.path.dirname(os.path.abspath(__file__))
    lines: list[str] = []
    for folder, dirs, names in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        lines += [_stat_line(os.path.join(folder, n)) for n in sorted(names) if n.endswith(".py")]
    with contextlib.suppress(Exception):
        from phasegate.checks.implementation.ruff_project import bundled_ruff

        ruff = bundled_ruff()
        if ruff:
            lines.append(_stat_line(ruff))
    return tuple(lines)


def code_fingerprint(cls: type[Check]) -> str:
    """What a check's cached results depend on besides its inputs and configuration: the
    code that computed them (every module of phasegate and the check's own module, by
    size and modification time) and the ruff phasegate ships. Upgrading phasegate, a
    plugin or ruff makes old results stale, never silently reused."""
    hit = _code_fingerprints.get(cls)
    if hit is None:
        lines = list(_shared_code_lines())
        own = getattr(sys.modules.get(cls.__module__), "__file__", None)
        if own:
            lines.append(_stat_line(own))
        hit = hashlib.sha1("\n".join(lines).encode()).hexdigest()[:16]
        _code_fingerprints[cls] = hit
    return hit


def score_gate(phase: str, results: list[CheckResult], threshold: float) -> GateResult:
    """Weighted mean of the counted check scores; pass = score >= threshold and no
    blocking check failed or could not run.

    Left out of the mean: skipped checks (untrusted workspace), checks with nothing to
    judge (not applicable) and checks that could not run (their result is unknown: never
    a pass, and a blocking one keeps the gate from passing). A gate with no checks at
    all, or whose every check is not applicable, has score 1.0 and passes; a gate whose
    every check was skipped or could not run was not evaluated, so it does not pass:
    nothing vouches for the phase."""
    counted = [r for r in results if r.counted]
    total_w = sum(r.weight for r in counted)
    score = sum(r.score * r.weight for r in counted) / total_w if total_w > 0 else 1.0
    score = round(score, 6)
    blocking_failed = [r.id for r in results if r.blocking and not r.passed and r.skipped is None]
    judged = [r for r in results if r.not_applicable is None]
    not_evaluated = bool(judged) and not counted
    # new-code mode: a new finding of a blocking severity fails the gate whatever the score
    held = [r.id for r in counted if r.new_code is not None and r.new_code.held]
    return GateResult(
        phase=phase,
        score=score,
        threshold=threshold,
        passed=score >= threshold and not blocking_failed and not not_evaluated and not held,
        checks=results,
        blocking_failed=blocking_failed,
        held=held,
    )


def outcome_passed(outcome: CheckOutcome) -> bool:
    """Whether a check's outcome is a pass: never when it could not run; a check with
    nothing to judge does not fail."""
    if outcome.error is not None:
        return False
    if outcome.not_applicable is not None:
        return True
    if outcome.passed is not None:
        return outcome.passed
    return not any(f.severity <= Severity.WARNING for f in outcome.findings)


def result_of(
    rc: ResolvedCheck, outcome: CheckOutcome, *, duration_s: float = 0.0, cached: bool = False
) -> CheckResult:
    """The result of a resolved check from its outcome (the one place this is decided),
    with the evidence known from the outcome alone (:meth:`GateRunner.run_check` adds
    what the check ran, its inputs' hash and the commit)."""
    unscored = outcome.error is not None or outcome.not_applicable is not None
    result = CheckResult(
        id=rc.config.id,
        phase=rc.phase,
        weight=rc.weight,
        blocking=rc.blocking,
        owner=rc.ctx.owner,
        passed=outcome_passed(outcome),
        score=0.0 if unscored else min(1.0, max(0.0, outcome.score)),
        findings=outcome.findings,
        duration_s=duration_s,
        error=outcome.error,
        not_applicable=None if outcome.error is not None else outcome.not_applicable,
        cached=cached,
    )
    # the programs the check ran are not known here: GateRunner.run_check records them
    result.evidence = evidence_of(result, None, None, tool_version=outcome.tool_version)
    return result


@dataclass
class _RunNotes:
    """What :meth:`GateRunner.run_check` learns while a check runs, for its evidence."""

    inputs_hash: str | None = None  # the hash of its inputs, when it was computed anyway
    no_inputs: bool = False  # a file-scope check with no input file: nothing was cached
    spent: float = 0.0  # seconds it took in a file-by-file pass before run_check


@dataclass
class FileShare:
    """One per-file check's share of a file-by-file pass (:meth:`GateRunner._file_pass`):
    its findings per input file (in its inputs' order), whether all came from the cache,
    the hash of its inputs, the programs it ran, the time it took, or the exception that
    stopped it."""

    per_file: dict[str, list[Finding]] = field(default_factory=dict)
    all_cached: bool = True
    inputs_hash: str = ""
    no_inputs: bool = False
    calls: list[Invocation] = field(default_factory=list)
    seconds: float = 0.0
    error: Exception | None = None


@dataclass
class GateRunner:
    workspace: Workspace
    config: Config
    trusted: bool = True
    cache: ResultCache | None = None
    # New-code mode (see phasegate.newcode): findings judged by whether they are new.
    new_code: NewCode | None = None
    # Give each result the findings suppression comments silenced (CheckResult.suppressed,
    # for SARIF's suppressed results): per-file checks' are found again in the files that
    # hold a comment, so it costs a little; off unless asked.
    keep_suppressed: bool = False
    _resolved: dict[str, list[ResolvedCheck]] = field(default_factory=dict)
    # the workspace's git HEAD and dirtiness, read once (in a thread) for the evidence
    _commit: tuple[str | None, bool | None] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _commit_thread: threading.Thread | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _commit_lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )
    _view: CommandView | None = field(default=None, init=False, repr=False, compare=False)
    # per thread: the shares of the file-by-file pass run_checks made, not yet taken
    _passes: threading.local = field(
        default_factory=threading.local, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        # what reads files apart from the runner (a test suite's key, say) reads them
        # through the cache's memo of content hashes too
        if self.cache is not None and self.workspace.hash_memo is None:
            self.workspace.hash_memo = self.cache.content_hash

    # -- resolution ----------------------------------------------------------------------
    def resolve(self, phase: PhaseConfig, cc: CheckConfig, *, entry: bool = False) -> ResolvedCheck:
        cls = get_check_class(cc.kind_name)
        options = cls.Options.model_validate(cc.options)
        inputs = cc.inputs if cc.inputs is not None else cls.default_inputs(self.config)
        exclude = cc.exclude if cc.exclude is not None else cls.default_exclude(self.config)
        timeout = cc.timeout or (
            self.config.timeouts.tests if cls.runs_workspace_code else self.config.timeouts.check
        )
        ctx = CheckContext(
            workspace=self.workspace,
            config=self.config,
            check=cc,
            options=options,
            inputs=list(inputs),
            exclude=list(exclude),
            owner=cc.owner or cls.default_owner,
            severity=cls.default_severity,
            trusted=self.trusted,
            timeout=timeout,
            phase=phase.name,
            new_code=self.new_code,
        )
        # the check's findings pass through the suppression comments (phasegate.suppress)
        return ResolvedCheck(phase.name, cc, cls, honouring(cls)(), ctx, entry)

    def checks(self, phase: str, *, entry: bool = False) -> list[ResolvedCheck]:
        """The enabled checks of ``phase`` (its exit gate, or its entry checks)."""
        key = f"{phase}:{'entry' if entry else 'exit'}"
        if key not in self._resolved:
            pc = self.config.phase(phase)
            ccs = pc.entry_checks if entry else pc.checks
            self._resolved[key] = [self.resolve(pc, c, entry=entry) for c in ccs if c.enabled]
            if not entry and self._integrity_phase() == phase:
                cc = CheckConfig(id=INTEGRITY_ID)
                self._resolved[key].append(self.resolve(pc, cc))
        return self._resolved[key]

    def set_new_code(self, new_code: NewCode | None) -> None:
        """Judge new code against ``new_code`` from now on (None: the whole code)."""
        if new_code is not self.new_code:
            self.new_code = new_code
            self._resolved.clear()  # the contexts carry it, and GATE-INTEGRITY may join

    def _integrity_phase(self) -> str | None:
        """In new-code mode, the phase GATE-INTEGRITY joins when no phase runs it: the
        ``testing`` phase, else the last. It runs even when the configuration switched
        it off in the same change (that is one of the loosenings it reports)."""
        nc = self.new_code
        if nc is None or not self.config.phases:
            return None
        configured = any(
            c.kind_name == INTEGRITY_ID and c.enabled for p in self.config.phases for c in p.checks
        )
        if configured:
            return None
        policy_changed = nc.changes is not None and any(
            nc.changes.is_changed(name) for name in ("phasegate.toml", "pyproject.toml")
        )
        if not (self.config.new_code.integrity or policy_changed):
            return None
        names = [p.name for p in self.config.phases]
        return "testing" if "testing" in names else names[-1]

    def all_checks(self) -> list[ResolvedCheck]:
        out: list[ResolvedCheck] = []
        for p in self.config.phases:
            out += self.checks(p.name, entry=True) + self.checks(p.name)
        return out

    def checks_for_paths(self, paths: Iterable[str]) -> list[ResolvedCheck]:
        """Exactly the checks (all phases) whose inputs match any of ``paths``."""
        paths = list(paths)
        return [rc for rc in self.all_checks() if any(rc.matches(p) for p in paths)]

    # -- running -------------------------------------------------------------------------
    def run_check(self, rc: ResolvedCheck) -> CheckResult:
        """Run one check (from cache where its inputs are unchanged). Never raises.

        The result carries its evidence: the programs the check ran are noted while it
        runs, in the thread that runs it (:func:`phasegate.proc.recording`)."""
        start = time.monotonic()
        self._read_commit_soon()
        if rc.cls.runs_workspace_code and not self.trusted:
            skipped = rc.skipped_result("untrusted workspace: this check runs workspace code")
            return self.attested(skipped, None, None, _RunNotes())
        notes = _RunNotes()
        with recording() as calls:
            outcome, cached = self._run_recorded(rc, notes)
        duration = time.monotonic() - start + notes.spent
        result = result_of(rc, outcome, duration_s=duration, cached=cached)
        result = self.judged(rc, outcome, result)
        if self.keep_suppressed:
            result.suppressed = suppressed_findings(rc.cls, rc.check, rc.ctx, outcome)
        return self.attested(result, calls, outcome, notes)

    def _run_recorded(self, rc: ResolvedCheck, notes: _RunNotes) -> tuple[CheckOutcome, bool]:
        """The check's outcome, and whether it came from the cache. Never raises."""
        cached = False
        try:
            if rc.cls.uses_history:  # compares with history: never cached
                outcome = (
                    rc.check.run(rc.ctx)
                    if self.new_code is not None
                    else CheckOutcome(not_applicable="judges changes: only in new-code mode")
                )
            elif rc.cls.scope == "file":
                outcome, cached = self._run_file_check(rc, notes)
            else:
                outcome, cached = self._run_project_check(rc, notes)
        except Exception as exc:  # a check bug must not take the gate down
            tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
            outcome = CheckOutcome(findings=[], score=0.0, error=f"check crashed: {tb}")
        return outcome, cached

    def attested(
        self,
        result: CheckResult,
        calls: list[Invocation] | None,
        outcome: CheckOutcome | None,
        notes: _RunNotes,
    ) -> CheckResult:
        """``result`` with its evidence: ``calls`` the programs its check ran (None: not
        recorded), the inputs' hash if it was computed, the workspace's commit."""
        commit, dirty = self.workspace_commit()
        if self._view is None:
            self._view = CommandView(self.workspace.root)
        # a file-scope check without input files: nothing came from the cache
        how: How | None = "ran" if notes.no_inputs and how_of(result) == "cached" else None
        result.evidence = evidence_of(
            result,
            calls,
            self._view,
            how=how,
            tool_version=outcome.tool_version if outcome is not None else None,
            inputs_hash=notes.inputs_hash,
            commit=commit,
            dirty=dirty,
        )
        return result

    # -- the workspace's commit, for the evidence ---------------------------------------
    def _read_commit_soon(self) -> None:
        """Start reading the workspace's commit in a thread of its own (once per runner):
        it overlaps the first check, and git's processes are not that check's."""
        with self._commit_lock:
            if self._commit_thread is not None:
                return
            self._commit_thread = threading.Thread(
                target=self._read_commit, name="phasegate-commit", daemon=True
            )
            self._commit_thread.start()

    def _read_commit(self) -> None:
        try:
            # `git status` may run filters the repository configures: not when untrusted
            self._commit = workspace_commit(self.workspace.root)
        except Exception:
            self._commit = (None, None)

    def workspace_commit(self) -> tuple[str | None, bool | None]:
        """``(HEAD commit, dirty)`` of the workspace, read once per runner (None, None
        outside a git work tree). Read at the first check: a runner that lives long (the
        language server's, a session's) keeps what it read then."""
        self._read_commit_soon()
        thread = self._commit_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        return self._commit or (None, None)

    def judged(self, rc: ResolvedCheck, outcome: CheckOutcome, result: CheckResult) -> CheckResult:
        """``result`` as new-code mode judges it (unchanged outside the mode)."""
        if self.new_code is None:
            return result
        try:
            return self.new_code.apply(rc, outcome, result)
        except Exception as exc:  # judging must not take the gate down: unknown
            tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
            return result.model_copy(
                update={"error": f"judging new code failed: {tb}", "passed": False}
            )

    def _run_file_check(
        self, rc: ResolvedCheck, notes: _RunNotes | None = None
    ) -> tuple[CheckOutcome, bool]:
        done: dict[str, FileShare] | None = getattr(self._passes, "done", None)
        share = done.pop(rc.key, None) if done else None
        if share is not None:  # run_checks' pass analysed it before this check's turn
            if notes is not None:
                notes.spent = share.seconds
        else:
            share = self._file_pass([rc])[rc.key]
        record(share.calls)  # the programs it ran, in this check's evidence
        if share.error is not None:
            raise share.error
        if self.cache:
            self.cache.retain_files(rc.key, set(share.per_file))
        if notes is not None:
            notes.inputs_hash = share.inputs_hash  # as inputs_hash() makes it
            notes.no_inputs = share.no_inputs
        return rc.check.score_files(rc.ctx, share.per_file), share.all_cached

    def _takes_file_pass(self, rc: ResolvedCheck) -> bool:
        """Whether :meth:`run_check` analyses ``rc`` file by file (:meth:`_file_pass`)."""
        return (
            rc.cls.scope == "file"
            and not rc.cls.uses_history
            and not (rc.cls.runs_workspace_code and not self.trusted)
        )

    def _file_pass(self, rcs: list[ResolvedCheck]) -> dict[str, FileShare]:
        """Each per-file check's findings in each of its input files, file by file: a
        file is hashed and read once for all the checks that read it (they analyse the
        bytes their results are cached under: :meth:`Workspace.preread`), results come
        from the cache where the file's hash is unchanged, and on each file the checks
        that parse it first (``Check.parses_first``) run first, so the others use the
        syntax tree they leave (:mod:`phasegate.parsed`). A check's exception stops that
        check only. The programs a check runs are noted in its share only (the caller
        notes them in the check's own evidence)."""
        shares = {rc.key: FileShare() for rc in rcs}
        files_of: dict[str, list[str]] = {}
        for rc in rcs:
            try:
                files_of[rc.key] = rc.ctx.input_files()
            except Exception as exc:
                shares[rc.key].error = exc
        ranked = sorted(
            (rc for rc in rcs if rc.key in files_of), key=lambda rc: not rc.cls.parses_first
        )
        takers: dict[str, list[ResolvedCheck]] = {}
        for rc in ranked:
            for path in files_of[rc.key]:
                takers.setdefault(path, []).append(rc)
        fps = {rc.key: rc.config_fingerprint() for rc in ranked}
        hashes: dict[str, str] = {}
        for path, here in takers.items():
            try:
                if self.cache is not None:
                    h, data = self.cache.content_hash_read(self.workspace, path)
                else:
                    h, data = self.workspace.content_hash(path), None
            except Exception as exc:
                for rc in here:
                    shares[rc.key].error = shares[rc.key].error or exc
                continue
            hashes[path] = h
            with self.workspace.preread(path, data):  # analysed as hashed, read once
                for rc in here:
                    share = shares[rc.key]
                    if share.error is None:
                        share.seconds -= time.monotonic()
                        self._analyse_file(rc, fps[rc.key], path, h, share)
                        share.seconds += time.monotonic()
        for rc in ranked:
            share = shares[rc.key]
            if share.error is not None:
                continue
            files = files_of[rc.key]
            share.per_file = {path: share.per_file[path] for path in files}
            inputs = hashlib.sha1(fps[rc.key].encode())
            for path in files:
                inputs.update(path.encode())
                inputs.update(hashes[path].encode())
            share.inputs_hash = inputs.hexdigest()
            share.no_inputs = not files
        return shares

    def _analyse_file(
        self, rc: ResolvedCheck, fp: str, path: str, h: str, share: FileShare
    ) -> None:
        """``rc``'s findings in ``path`` (content hash ``h``) into ``share``: from the
        cache, else analysed (and cached); an exception is kept as the share's error."""
        try:
            hit = self.cache.get_file(rc.key, fp, path, h) if self.cache else None
            if hit is None:
                share.all_cached = False
                with noting(share.calls):
                    hit = rc.check.check_file(rc.ctx, path)
                if self.cache:
                    self.cache.put_file(rc.key, fp, path, h, hit)
            share.per_file[path] = hit
        except Exception as exc:  # the check's bug: it is reported as crashed
            share.error = exc

    def content_hash(self, path: str) -> str:
        """The content hash of an input file: the result cache's memo
        (:meth:`ResultCache.content_hash`, the one every face shares), so a file whose stat
        signature is unchanged since it was last hashed is not read again; without a
        cache, the file's raw hash (:meth:`Workspace.content_hash`)."""
        if self.cache is not None:
            return self.cache.content_hash(self.workspace, path)
        return self.workspace.content_hash(path)

    def inputs_hash(self, rc: ResolvedCheck) -> str:
        h = hashlib.sha1(rc.config_fingerprint().encode())
        for path in rc.ctx.input_files():
            h.update(path.encode())
            h.update(self.content_hash(path).encode())
        return h.hexdigest()

    def _run_project_check(
        self, rc: ResolvedCheck, notes: _RunNotes | None = None
    ) -> tuple[CheckOutcome, bool]:
        if self.cache is not None and not self.cache.has_project(rc.key):
            first = self._run_project_check_first(rc, notes)
            if first is not None:
                return first
        key = self.inputs_hash(rc)
        if notes is not None:
            notes.inputs_hash = key
        if self.cache:
            hit = self.cache.get_project(rc.key, key)
            if hit is not None:
                return hit, True
        outcome = rc.check.run(rc.ctx)
        if self.cache and outcome.error is None:
            self.cache.put_project(rc.key, key, outcome)
        return outcome, False

    def _run_project_check_first(
        self, rc: ResolvedCheck, notes: _RunNotes | None = None
    ) -> tuple[CheckOutcome, bool] | None:
        """A project check with nothing cached: there is nothing to compare its inputs'
        hash with before it runs, so the hash is computed while it runs (a tool such as
        ruff leaves this process idle). The outcome is cached only when no input changed
        meanwhile: every input's stat signature is the same after the run as before it,
        and the content of those changed in the seconds before (a file just saved: see
        :func:`stat_signatures`) is the same too. None when many inputs changed that
        recently: the caller hashes first."""
        assert self.cache is not None
        files = rc.ctx.input_files()
        racy: list[str] = []
        before = stat_signatures(self.workspace.root, files, racy)
        if before is None or len(racy) > MAX_RACY_INPUTS:
            return None
        racy_before = {rel: self.workspace.content_hash(rel) for rel in racy}
        hashed: list[str] = []

        def hash_inputs() -> None:
            with contextlib.suppress(Exception):  # no hash: the outcome is not cached
                hashed.append(self.inputs_hash(rc))

        worker = threading.Thread(target=hash_inputs, name="phasegate-inputs-hash", daemon=True)
        worker.start()
        try:
            outcome = rc.check.run(rc.ctx)
        finally:
            worker.join()
        unchanged = stat_signatures(self.workspace.root, files, []) == before and all(
            self.workspace.content_hash(rel) == h for rel, h in racy_before.items()
        )
        if outcome.error is None and hashed and unchanged:
            self.cache.put_project(rc.key, hashed[0], outcome)
        if notes is not None and hashed and unchanged:
            notes.inputs_hash = hashed[0]  # else: the inputs changed while it ran
        return outcome, False

    def peek_check(self, rc: ResolvedCheck) -> CheckResult | None:
        """The check's last cached result, without running it or reading its inputs;
        None when nothing is cached. Reopening a workspace republishes these at once."""
        if self.cache is None:
            return None
        if rc.cls.runs_workspace_code and not self.trusted:
            return None
        try:
            if rc.cls.scope == "file":
                files = self.cache.peek_files(rc.key, rc.config_fingerprint())
                if files is None:
                    return None
                per_file = {p: fs for p, (_h, fs) in files.items()}
                outcome = rc.check.score_files(rc.ctx, per_file)
            else:
                hit = self.cache.peek_project(rc.key)
                if hit is None:
                    return None
                outcome = hit
        except Exception:
            return None
        return self.judged(rc, outcome, result_of(rc, outcome, cached=True))

    def run_checks(self, checks: Iterable[ResolvedCheck]) -> list[CheckResult]:
        """:meth:`run_check` of each check, in order. The per-file checks among them are
        analysed first in one pass over their files (:meth:`_file_pass`): each file is
        read once, and parsed once, for all of them."""
        checks = list(checks)
        shared = [rc for rc in checks if self._takes_file_pass(rc)]
        if len(shared) < 2:
            return [self.run_check(rc) for rc in checks]
        self._read_commit_soon()
        self._passes.done = self._file_pass(shared)
        try:
            return [self.run_check(rc) for rc in checks]
        finally:
            self._passes.done = None

    def evaluate(self, phase: str, threshold: float, *, entry: bool = False) -> GateResult:
        """Run the phase's checks and score its gate (synchronous)."""
        start = time.monotonic()
        if self.new_code is not None:
            self.new_code.refresh()  # files changed since the last gate: new lines too
        gate = score_gate(phase, self.run_checks(self.checks(phase, entry=entry)), threshold)
        gate.duration_s = time.monotonic() - start
        if self.new_code is not None:
            gate.new_code = self.new_code.label
        if self.cache:
            self.cache.flush()
        return gate

    async def evaluate_async(
        self, phase: str, threshold: float, *, entry: bool = False
    ) -> GateResult:
        """:meth:`evaluate` off the event loop."""
        import asyncio  # only here: the CLI's synchronous paths never load asyncio

        return await asyncio.to_thread(self.evaluate, phase, threshold, entry=entry)
