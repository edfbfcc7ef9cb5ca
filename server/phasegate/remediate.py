"""Remediation: validate, let the owners of failed checks fix them, re-validate — and undo.

:func:`remediate` runs phase by phase (all phases, or one):

1. the phase's gate is evaluated on what is on disk (against ``threshold(1)``); a passing
   gate needs no work;
2. otherwise the owners of the failed checks (:func:`phasegate.rework.owners_of_failed`)
   run, each given the failed findings it owns, and the gate is evaluated again against
   ``threshold(k)`` of that iteration ``k``;
3. the progressive rules decide (:func:`phasegate.progressive.decide`): the phase is
   completed, another iteration runs, or it is stalled (no longer improving) or blocked
   (``max_phase_iterations`` / ``max_global_iterations`` reached).

A phase that cannot pass does not stop the others: remediation fixes what it can. At the
end every processed phase is evaluated once more (a later phase's work may have broken an
earlier one) and these final gates decide the outcome.

Every file a persona touches is first saved in one backup label per remediation,
``.phasegate/sessions/<id>/backups/remediation-NNN/``, sealed at the end with the content
each file then holds. :func:`undo` restores the last such label exactly (modified files
get their old bytes and permission bits back, created files are deleted, deleted files
come back) and marks it undone; files edited by hand since the remediation make it refuse
unless forced, and then their current content is itself backed up first, so nothing is
lost.

A remediation killed at any instant (``kill -9``, a crash) stays undoable:
what each write replaces is on disk before the write, and a program's snapshot before the
program runs (see :mod:`phasegate.backups`). Its label is then *interrupted* (never
sealed): :func:`undo` first records what a program that was running changed, then
restores; since it cannot tell the remediation's last writes from later hand edits, it
keeps the content it overwrites of such files in a ``pre-undo-NNN`` backup. ``undo`` takes
the session's lock, so it never runs while the remediation does, and an undo that is
itself killed is finished by running it again.

In an untrusted workspace, personas that run workspace code are not run (and checks that
do are skipped by the gate runner).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from phasegate.backups import (
    BackupError,
    BackupInfo,
    BackupRecorder,
    Change,
    list_backups,
    next_label,
    pause_point,
    session_backups_dir,
)
from phasegate.cache import ResultCache
from phasegate.config import Config, PhaseConfig
from phasegate.model import Event, EventKind, Finding, GateResult, PersonaRun
from phasegate.persona_runner import phase_artifacts, run_persona
from phasegate.progressive import Decision, decide, may_iterate
from phasegate.rework import owners_of_failed
from phasegate.runner import GateRunner
from phasegate.store import SessionLocked, SessionStore, new_session_id, validate_session_id
from phasegate.workspace import Workspace

LABEL_PREFIX = "remediation"


def gate_reason(gate: GateResult) -> str:
    """Why a gate passes or fails, in a few words: its score against its threshold, and
    when the score is not the reason, the blocking checks that failed or the checks held
    by new blocking findings."""
    score = f"{gate.score:.2f}"
    threshold = f"{gate.threshold:.2f}"
    if gate.passed:
        return f"{score} >= {threshold}"
    if gate.score < gate.threshold:
        return f"{score} < {threshold}"
    if gate.blocking_failed:
        return f"{score} >= {threshold}, but blocking {', '.join(gate.blocking_failed)} failed"
    if gate.held:
        return f"{score} >= {threshold}, but new blocking findings in {', '.join(gate.held)}"
    return f"{score} >= {threshold}, but no check could be judged (skipped or could not run)"


class RemediationError(Exception):
    """Remediation cannot start or undo cannot proceed; the message says why."""


@dataclass
class PhaseRemediation:
    phase: str
    status: str  # passed (nothing to do) / completed / stalled / blocked
    initial: GateResult
    final: GateResult
    iterations: list[list[PersonaRun]] = field(default_factory=list)
    message: str = ""

    @property
    def persona_runs(self) -> list[PersonaRun]:
        return [r for it in self.iterations for r in it]


@dataclass
class RemediationResult:
    session_id: str
    label: str | None  # the backup label, None when no file changed
    phases: list[PhaseRemediation]
    changes: list[Change]
    final_gates: list[GateResult]

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.final_gates)


class Remediation:
    """One remediation run over a workspace (see the module docstring)."""

    def __init__(
        self,
        workspace: Workspace,
        config: Config,
        *,
        session_id: str | None = None,
        trusted: bool = True,
        use_cache: bool = True,
        on_progress: Callable[[str], None] | None = None,
        store: SessionStore | None = None,
        runner: GateRunner | None = None,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        self.workspace = workspace
        self.config = config
        self.trusted = trusted
        # A caller that already holds the session's lock (a server driving that session)
        # passes its store: the lock is then shared, not taken twice.
        self.store = store or SessionStore(workspace.root)
        self.on_progress = on_progress or (lambda _msg: None)
        # told each journalled step (persona started or finished, gate scored...), as it
        # is written: a display follows the work with it
        self.on_event = on_event
        if runner is None:  # a caller's runner may say which check runs (a progress line)
            cache = ResultCache(workspace.state_dir / "cache") if use_cache else None
            runner = GateRunner(workspace, config, trusted=trusted, cache=cache)
        self.runner = runner
        try:
            if session_id:
                self.session_id = validate_session_id(session_id)
            else:
                self.session_id = self.store.get_active() or new_session_id()
        except ValueError as exc:
            raise RemediationError(str(exc)) from None
        state = self.store.peek(self.session_id) if self.store.exists(self.session_id) else None
        self.requirement = state.requirement if state is not None else ""
        backups = session_backups_dir(workspace, self.session_id)
        self.label = next_label(backups, LABEL_PREFIX)
        self.recorder = BackupRecorder(backups, workspace, self.label)
        # on disk with the label's first backup, before any file is changed: a label
        # whose remediation was killed is still found (and undone) as one
        self.recorder.meta.update(kind="remediation", session=self.session_id, pid=os.getpid())
        self.global_iterations = 0

    # -- journal ---------------------------------------------------------------------------
    def _emit(self, step: str, phase: str | None = None, **data: Any) -> None:
        """Journal one step. Remediation events have their own kinds (``remediation``,
        ``remediation_backup``): replaying a session's journal ignores them, so a
        remediation never alters the phases of the session it is recorded in."""
        kind: EventKind = "remediation_backup" if step == "backup" else "remediation"
        event = Event(kind=kind, session=self.session_id, phase=phase, data={"step": step, **data})
        with contextlib.suppress(OSError):  # the journal is a record, not a reason to stop
            self.store.append_event(self.session_id, event)
        if self.on_event is not None:
            with contextlib.suppress(Exception):  # a display problem must not stop work
                self.on_event(event)

    # -- running ---------------------------------------------------------------------------
    async def run(self, phase: str | None = None) -> RemediationResult:
        names = [p.name for p in self.config.phases]
        if phase is not None and phase not in names:
            raise RemediationError(f"unknown phase {phase!r} (phases: {', '.join(names)})")
        selected = [phase] if phase else names
        try:
            for name in selected:  # resolve every check first: a setup error runs nothing
                self.runner.checks(name)
        except (LookupError, ValueError) as exc:
            raise RemediationError(f"cannot resolve the checks: {exc}") from None
        owns_lock = not self.store.holds_lock(self.session_id)
        if owns_lock:
            try:
                self.store.lock(self.session_id)
            except Exception as exc:
                raise RemediationError(
                    f"{exc}; pass --session NEW_ID to remediate in a session of its own"
                ) from None
        self.recorder.meta["phases"] = selected
        try:
            self._emit("started", phases=selected, label=self.label)
            outcomes: list[PhaseRemediation] = []
            try:
                for n in selected:
                    outcomes.append(await self._phase(self.config.phase(n)))
            except BaseException:
                self._seal(outcomes, interrupted=True)  # what was changed stays undoable
                raise
            final = []
            for o in outcomes:
                gate = await self.runner.evaluate_async(o.phase, o.final.threshold)
                o.final = gate
                final.append(gate)
            changes = self._seal(outcomes)
            pause_point("sealed")
            self._emit(
                "finished",
                passed=all(g.passed for g in final),
                label=self.label if changes else None,
            )
        finally:
            if owns_lock:
                self.store.unlock(self.session_id)
        return RemediationResult(
            session_id=self.session_id,
            label=self.label if changes else None,
            phases=outcomes,
            changes=changes,
            final_gates=final,
        )

    def _seal(self, outcomes: list[PhaseRemediation], interrupted: bool = False) -> list[Change]:
        pending = False
        try:  # a program's snapshot left pending (its persona raised or timed out)
            self.recorder.recover()
        except (BackupError, OSError) as exc:
            pending = True  # still recorded by the program's own cycle, or by undo
            self.on_progress(f"backup: {exc}; phasegate undo will record the rest")
        changes = self.recorder.changes() if self.recorder.manifest else []
        if not changes and not pending:
            self.recorder.discard()
            return []
        self.recorder.seal(
            kind="remediation",
            session=self.session_id,
            phases=[o.phase for o in outcomes],
            interrupted=interrupted,
            changes=[{"path": c.path, "kind": c.kind} for c in changes],
        )
        self._emit(
            "backup",
            label=self.label,
            dir=str(self.recorder.dir),
            changes=[{"path": c.path, "kind": c.kind} for c in changes],
        )
        return changes

    async def _phase(self, pc: PhaseConfig) -> PhaseRemediation:
        cfg = self.config
        gate = await self.runner.evaluate_async(pc.name, cfg.threshold(1))
        self._gate_event(pc.name, 0, gate)
        out = PhaseRemediation(pc.name, "passed", gate, gate)
        if gate.passed:
            self.on_progress(f"{pc.name}: passes ({gate_reason(gate)})")
            return out
        self.on_progress(f"{pc.name}: fails ({gate_reason(gate)})")
        self._emit("phase_started", pc.name)
        best: float | None = gate.score
        k = 0
        while True:
            k += 1
            limit = may_iterate(
                k, self.global_iterations, cfg.max_phase_iterations, cfg.max_global_iterations
            )
            if limit is not None:
                return self._stop(out, "blocked", f"{limit} iteration limit reached")
            owners = owners_of_failed(gate, fallback=pc.personas)
            if not owners:
                return self._stop(out, "blocked", "no persona owns the failed checks")
            self.global_iterations += 1
            runs = []
            for name, feedback in owners.items():
                default = pc.personas[0] if pc.personas else ""
                checks = sorted({f.code for f in feedback}) or [
                    c.id for c in gate.failed_checks if (c.owner or default) == name
                ]
                reason = f"remediation iteration {k}: owner of failed " + (
                    ", ".join(checks) or "checks"
                )
                runs.append(await self._persona(pc, k, name, reason, feedback))
            out.iterations.append(runs)
            if all(r.skipped for r in runs):
                self.global_iterations -= 1
                return self._stop(out, "blocked", runs[0].skipped or "personas skipped")
            gate = await self.runner.evaluate_async(pc.name, cfg.threshold(k))
            out.final = gate
            self._gate_event(pc.name, k, gate)
            decision = decide(
                k=k,
                score=gate.score,
                passed=gate.passed,
                best=best,
                global_iterations=self.global_iterations,
                min_improvement=cfg.min_improvement,
                max_phase_iterations=cfg.max_phase_iterations,
                max_global_iterations=cfg.max_global_iterations,
            )
            best = gate.score if best is None else max(best, gate.score)
            verdict = "passes" if gate.passed else "fails"
            self.on_progress(f"{pc.name}: iteration {k}: {verdict} ({gate_reason(gate)})")
            if decision is Decision.COMPLETED:
                self._emit("phase_completed", pc.name, iteration=k, score=gate.score)
                out.status = "completed"
                return out
            if decision is Decision.STALLED:
                return self._stop(
                    out, "stalled", f"score {gate.score:.2f} did not beat the best {best:.2f}"
                )
            if decision is Decision.BLOCKED:
                return self._stop(out, "blocked", "iteration limit reached")

    def _stop(self, out: PhaseRemediation, status: str, message: str) -> PhaseRemediation:
        out.status = status
        out.message = message
        self._emit(f"phase_{status}", out.phase, message=message)
        self.on_progress(f"{out.phase}: {status}: {message}")
        return out

    def _gate_event(self, phase: str, k: int, gate: GateResult) -> None:
        self._emit(
            "gate_scored",
            phase,
            iteration=k,
            score=gate.score,
            threshold=gate.threshold,
            passed=gate.passed,
            failed_checks=[c.id for c in gate.failed_checks],
        )

    async def _persona(
        self, pc: PhaseConfig, k: int, name: str, reason: str, feedback: list[Finding]
    ) -> PersonaRun:
        started = False

        def announce() -> None:
            nonlocal started
            started = True
            self._emit("persona_started", pc.name, persona=name, iteration=k, reason=reason)
            self.on_progress(f"  {name}: {reason} ({len(feedback)} finding(s))")

        run = await run_persona(
            name,
            config=self.config,
            workspace=self.workspace,
            trusted=self.trusted,
            backups=self.recorder,
            session_id=self.session_id,
            requirement=self.requirement,
            phase=pc,
            iteration=k,
            reason=reason,
            feedback=feedback,
            artifacts=phase_artifacts(self.runner, pc.name),
            on_start=announce,
        )
        if run.skipped:
            self.on_progress(f"  {name}: not run ({run.skipped})")
        if not started:
            return run
        self._emit("persona_finished", pc.name, **run.model_dump(mode="json"))
        if run.error:
            self.on_progress(f"  {name}: failed: {run.error}")
        elif run.files_changed:
            self.on_progress(f"  {name}: changed {', '.join(run.files_changed)}")
        return run


async def remediate(
    workspace: Workspace,
    config: Config,
    *,
    phase: str | None = None,
    session_id: str | None = None,
    trusted: bool = True,
    on_progress: Callable[[str], None] | None = None,
    store: SessionStore | None = None,
    runner: GateRunner | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> RemediationResult:
    """Run one remediation (see the module docstring). ``runner`` evaluates the gates
    (default: a new one over the workspace's result cache); ``on_event`` is told every
    step as it is journalled."""
    rem = Remediation(
        workspace,
        config,
        session_id=session_id,
        trusted=trusted,
        on_progress=on_progress,
        store=store,
        runner=runner,
        on_event=on_event,
    )
    return await rem.run(phase)


# -- undo -----------------------------------------------------------------------------------


@dataclass
class UndoResult:
    session_id: str
    label: str
    restored: list[Change]
    saved_as: str | None = None  # label keeping the content undo overwrote (see undo)
    interrupted: bool = False  # the remediation was killed before it finished
    skipped: list[str] = field(default_factory=list)  # damaged backups left out (--force)


def last_remediation(workspace: Workspace, session_id: str | None = None) -> BackupInfo | None:
    """The most recent remediation backup not yet undone (of one session, or of all),
    finished or interrupted."""
    try:
        backups = list_backups(workspace, session_id)
    except BackupError as exc:
        raise RemediationError(str(exc)) from None
    candidates = [b for b in backups if not b.undone and b.meta.get("kind") == "remediation"]
    return candidates[-1] if candidates else None


def undo(workspace: Workspace, session_id: str | None = None, *, force: bool = False) -> UndoResult:
    """Restore the files of the last remediation exactly and mark it undone.

    Takes the lock of the remediation's session (refuses while a phasegate process works
    on it). A remediation that was killed is undone too (see the module docstring).
    Refuses, unless ``force``, when files were edited since the remediation or a backup is
    damaged; with ``force`` the edits are backed up first and damaged backups left out.
    """
    store = SessionStore(workspace.root)
    for _ in range(5):  # the latest label may change until its session's lock is held
        info = last_remediation(workspace, session_id)
        if info is None:
            where = f"session {session_id}" if session_id else str(workspace.root)
            raise RemediationError(f"no remediation to undo in {where}")
        try:
            store.lock(info.session)
        except (SessionLocked, OSError, ValueError) as exc:
            raise RemediationError(
                f"cannot undo {info.label} now: {exc} (a remediation may be running)"
            ) from None
        try:
            again = last_remediation(workspace, session_id)
            if again is not None and again.dir == info.dir:
                return _undo_locked(workspace, info, force)
        finally:
            store.unlock(info.session)
    raise RemediationError("remediations keep starting; undo when they have finished")


def _undo_locked(workspace: Workspace, info: BackupInfo, force: bool) -> UndoResult:
    backups = info.dir.parent
    try:
        rec = BackupRecorder(backups, workspace, info.label)
        # a program killed with the remediation: record what it changed
        interrupted = rec.recover() or not rec.sealed
        if interrupted:
            rec.fill_unknown_after()
        restored = rec.changes()
        conflicts = rec.conflicts()
        unverified = rec.unverified()
        damaged = rec.damaged()
    except BackupError as exc:
        raise RemediationError(f"cannot undo {info.label}: {exc}") from None
    if conflicts and not force:
        raise RemediationError(
            f"files changed since {info.label} ({', '.join(conflicts)}); undoing would "
            "lose those edits. Use --force to undo anyway (they are backed up first)."
        )
    if damaged and not force:
        raise RemediationError(
            f"the backups of {', '.join(damaged)} in {info.dir} are missing or damaged. "
            "Use --force to restore the other files and leave these as they are."
        )
    keep = sorted(set(conflicts) | set(unverified))
    previous = rec.meta.get("undo")
    saved_as = previous.get("saved_as") if isinstance(previous, dict) else None
    if keep and not isinstance(saved_as, str):
        saved_as = next_label(backups, "pre-undo")
    try:
        rec.begin_undo(saved_as)  # on disk before any change: a killed undo resumes as one
        if keep:
            assert isinstance(saved_as, str)
            kept = BackupRecorder(backups, workspace, saved_as)
            kept.meta.update(kind="pre-undo", of=info.label)
            kept.save_many(keep)
            kept.seal(kind="pre-undo", of=info.label)
        rec.restore(skip=damaged)
    except (OSError, BackupError) as exc:
        raise RemediationError(f"undo of {info.label} failed: {exc}") from None
    rec.mark_undone()
    restored = [c for c in restored if c.path not in damaged]
    with contextlib.suppress(OSError):
        SessionStore(workspace.root).append_event(
            info.session,
            Event(
                kind="remediation_backup",
                session=info.session,
                data={
                    "step": "undo",
                    "label": info.label,
                    "restored": [c.path for c in restored],
                    "interrupted": interrupted,
                    "saved_as": saved_as if keep else None,
                    "skipped": damaged,
                },
            ),
        )
    return UndoResult(
        info.session,
        info.label,
        restored,
        saved_as if isinstance(saved_as, str) and (keep or previous) else None,
        interrupted,
        damaged,
    )
