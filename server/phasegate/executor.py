"""The session executor: drives a requirement through the phases with progressive gates.

For each phase, in order:

1. **Entry gate** — every earlier phase is completed and *still passes* (their gates are
   re-evaluated; one that fails now becomes ``regressed`` and this phase ``blocked``),
   and the phase's ``entry_checks`` pass. A phase the entry gate blocked is re-entered,
   in the same drive, once the gate passes: what is on disk is scored at its last
   threshold first, and failing it goes back to what it was before the block
   (:meth:`Executor._reenter`). A stalled, limit-blocked or regressed phase is likewise
   scored again before anything else (:meth:`Executor._reevaluate_waiting`).
2. **Iteration 0** — the exit gate is scored on what is on disk at ``threshold(1)``; a
   pass completes the phase with no persona work.
3. **Iteration k >= 1** — iteration 1 runs all the phase's personas, iteration k > 1
   (rework) only the owners of the failed checks (:func:`phasegate.rework.owners_of_failed`),
   each with the findings it owns as feedback. The gate is scored at ``threshold(k)`` and
   :func:`phasegate.progressive.decide` says: completed, stalled, blocked or rework.

The state is checkpointed after every step (phase start, iteration start, each persona,
each gate) through :class:`phasegate.store.SessionStore`, and every step is an
:class:`~phasegate.model.Event` appended to the journal and handed to ``on_event``. A
process killed at any instant resumes from its last checkpoint: a persona that was running
is simply run again.

The engine knows no terminal or editor: the CLI and the language server drive it.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from typing import Any

from phasegate import progressive
from phasegate.cache import ResultCache
from phasegate.config import Config, PhaseConfig
from phasegate.model import (
    Event,
    EventKind,
    Finding,
    GateResult,
    IterationRecord,
    PersonaRun,
    PhaseState,
    PhaseStatus,
    SessionState,
    SessionStatus,
)
from phasegate.newcode import NewCodeError, resolve_new_code
from phasegate.progressive import Decision
from phasegate.rework import owners_of_failed
from phasegate.runner import GateRunner
from phasegate.session_begin import (
    BeginError,
    Begun,
    SessionSettings,
    begin_session,
    discard_begun,
)
from phasegate.store import SessionStore
from phasegate.workspace import Workspace

WAITING_STATUSES = (PhaseStatus.STALLED, PhaseStatus.BLOCKED, PhaseStatus.REGRESSED)
MAX_JOURNALED_FINGERPRINTS = 10_000
_LABEL_RE = re.compile(r"[^A-Za-z0-9_.-]+")


class ExecutorError(Exception):
    """A request the executor cannot carry out (unknown phase, bad configuration...)."""


class SessionConfigError(ExecutorError):
    """The configuration names checks or personas that cannot be resolved."""


class _Stopped(Exception):
    """Internal: a cooperative stop was requested; unwinds to the driver."""


_STATUS_EVENTS: dict[PhaseStatus, EventKind] = {
    PhaseStatus.COMPLETED: "phase_completed",
    PhaseStatus.STALLED: "phase_stalled",
    PhaseStatus.BLOCKED: "phase_blocked",
    PhaseStatus.REGRESSED: "phase_regressed",
}


def _outcome(decision: Decision) -> str:
    return {
        Decision.COMPLETED: "passed",
        Decision.REWORK: "retry",
        Decision.STALLED: "stalled",
        Decision.BLOCKED: "blocked",
    }[decision]


# Outcomes that end a phase's persona work (``_outcome`` of these decisions).
_RECORDED_DECISIONS = {
    "passed": Decision.COMPLETED,
    "stalled": Decision.STALLED,
    "blocked": Decision.BLOCKED,
}


# The reason of an iteration a person asked for (:meth:`Executor.rework`).
_REWORK_REQUESTED = "rework requested"


def _completed(ps: PhaseState) -> bool:
    return ps.status is PhaseStatus.COMPLETED


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class Executor:
    def __init__(
        self,
        workspace: Workspace,
        config: Config,
        store: SessionStore,
        *,
        trusted: bool = True,
        runner: GateRunner | None = None,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        self.workspace = workspace
        self.config = config
        self.store = store
        self.trusted = trusted
        self.runner = runner or GateRunner(
            workspace, config, trusted, cache=ResultCache(workspace.state_dir / "cache")
        )
        self.on_event = on_event
        self.state: SessionState | None = None
        self.last_gates: dict[str, GateResult] = {}
        self._stop = False

    # -- public API ----------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the running session to stop after its current step (it checkpoints, and its
        status becomes ``stopped``)."""
        self._stop = True

    @property
    def stopping(self) -> bool:
        return self._stop

    def close(self) -> None:
        """Release the session lock(s) this executor holds."""
        self.store.unlock_all()

    async def start(self, requirement: str, session_id: str | None = None) -> SessionState:
        """Create a session for ``requirement`` and drive it as far as it goes."""
        try:
            begun = begin_session(
                self.store, SessionSettings.of(self.config), requirement, session_id
            )
        except BeginError as exc:
            raise ExecutorError(str(exc)) from None
        return await self.start_begun(begun)

    async def start_begun(self, begun: Begun) -> SessionState:
        """Drive a session :func:`phasegate.session_begin.begin_session` began with this
        executor's store. A configuration that cannot be used (a check that cannot be
        resolved, a new-code reference that cannot be read) removes the session, which
        did no work, and raises :class:`SessionConfigError`."""
        begun.use_phases([p.name for p in self.config.phases])
        state = begun.state
        try:
            self._use_new_code(state.new_code_since)
            self.preflight()
        except SessionConfigError:
            discard_begun(self.store, begun)
            raise
        self.state = state
        self.last_gates = {}
        self._emit(
            "session_started",
            requirement=state.requirement,
            phases=[p.name for p in self.config.phases],
            status=state.status.value,
            **self._limits(),
        )
        await self._drive()
        return state

    async def resume(self, session_id: str | None = None) -> SessionState:
        """Load a session (default: the active one) and drive it on from its checkpoint."""
        state = self._open(session_id)
        self.preflight()
        state.status = SessionStatus.RUNNING
        self._checkpoint()
        self.store.set_active(state.id)
        self._emit("session_resumed", status=state.status.value, **self._limits())
        await self._drive()
        return state

    async def rework(
        self,
        session_id: str | None,
        phase: str,
        personas: list[str] | None = None,
        finding_ids: list[str] | None = None,
    ) -> SessionState:
        """Run the chosen personas (default: the owners of the failed checks, or of the
        given findings) on ``phase`` now, each with its findings, then score the gate.

        This is one more iteration of the phase (it counts against the global iterations
        but is not refused by the limits: a person asked for it). A pass completes the
        phase; otherwise the phase keeps waiting (or, if it was running, can be resumed).
        """
        state = self._open(session_id)
        pc = self._phase_config(phase)
        ps = state.phase(phase)
        self.preflight()
        self._stop = False
        k = ps.persona_iterations + 1
        thr = self.config.threshold(k)
        gate = await self._evaluate(phase, thr)
        owners = owners_of_failed(gate, pc.personas, inherited=bool(finding_ids))
        if finding_ids:
            wanted = set(finding_ids)
            owners = {p: [f for f in fs if f.id in wanted] for p, fs in owners.items()}
            owners = {p: fs for p, fs in owners.items() if fs}
        names = list(personas) if personas else list(owners) or list(pc.personas)
        if not names:
            raise ExecutorError(f"phase {phase!r} has no persona to run")
        plan = [(n, self._rework_reason(gate, n, owners.get(n, []), requested=True)) for n in names]
        was = ps.status
        state.status = SessionStatus.RUNNING
        try:
            decision = await self._iteration(
                pc, ps, k, plan, feedback=owners, reason=_REWORK_REQUESTED, limits=False
            )
        except _Stopped:
            self._finish(stopped=True)
            return state
        except BaseException:
            self._finish(stopped=True)
            raise
        if decision is Decision.REWORK and was is PhaseStatus.COMPLETED:
            self._set_status(
                ps, PhaseStatus.REGRESSED, f"completed earlier, fails now ({ps.last_score:.2f})"
            )
        elif decision is Decision.REWORK and was not in (
            PhaseStatus.PENDING,
            PhaseStatus.REGRESSED,
        ):
            rec = ps.iterations[-1]
            if not progressive.improved_enough(
                rec.score, rec.best_before, self.config.min_improvement
            ):
                self._set_status(
                    ps,
                    PhaseStatus.STALLED,
                    f"rework did not improve the score ({rec.score:.2f}); waiting for a person",
                )
            else:
                # resume carries on iterating, within the limits
                self._set_status(ps, PhaseStatus.IN_PROGRESS, "rework improved the score")
        self._finish()
        return state

    async def run_gates(self, session_id: str | None = None) -> dict[str, GateResult]:
        """Re-evaluate every phase's gate at its last threshold.

        A completed phase that fails now becomes ``regressed`` (shown, never rolled back);
        a stalled, blocked or regressed phase that passes now — and whose earlier phases
        are all completed — becomes ``completed``. Pending phases are scored for display
        only.
        """
        state = self._open(session_id)
        gates: dict[str, GateResult] = {}
        earlier_ok = True
        for pc in self.config.phases:
            ps = state.phase(pc.name)
            gate = await self._evaluate(pc.name, self._current_threshold(ps))
            gates[pc.name] = gate
            if ps.status is PhaseStatus.COMPLETED and not gate.passed:
                self._set_status(
                    ps, PhaseStatus.REGRESSED, f"completed earlier, fails now ({gate.score:.2f})"
                )
            elif ps.status in WAITING_STATUSES and gate.passed and earlier_ok:
                self._set_status(ps, PhaseStatus.COMPLETED, "passes now")
            self._emit("gate_scored", phase=pc.name, **self._gate_data(gate), source="run_gates")
            earlier_ok = earlier_ok and ps.status is PhaseStatus.COMPLETED
        self._settle()
        self._checkpoint()
        return gates

    def preflight(self) -> None:
        """Resolve every configured check now, so a bad configuration fails before any
        work starts (raises :class:`SessionConfigError`)."""
        problems: list[str] = []
        for pc in self.config.phases:
            for entry in (True, False):
                try:
                    self.runner.checks(pc.name, entry=entry)
                except Exception as exc:
                    problems.append(f"phase {pc.name}: {exc}")
        if problems:
            raise SessionConfigError("; ".join(problems))

    # -- session plumbing ----------------------------------------------------------------
    def _open(self, session_id: str | None) -> SessionState:
        sid = self.store.resolve(session_id)
        if self.state is not None and self.state.id == sid and self.store.holds_lock(sid):
            return self.state
        self.store.lock(sid)
        state = self.store.load(sid)
        self._sync_phases(state)
        self._use_new_code(state.new_code_since)
        self.state = state
        self.last_gates = {}
        self._stop = False
        return state

    def _use_new_code(self, since: str | None) -> None:
        """Judge the session's gates on new code: since ``since`` (the session's start),
        or as the configuration says. Raises :class:`SessionConfigError` when the
        reference cannot be used (git gone, baseline unreadable)."""
        try:
            nc = resolve_new_code(
                self.workspace, self.config, since=None if self.config.new_code.enabled else since
            )
        except NewCodeError as exc:
            raise SessionConfigError(f"new code: {exc}") from None
        if nc is not None and since is not None and nc.changes is not None:
            nc.changes.ref = "the session's start"
        self.runner.set_new_code(nc)

    def _sync_phases(self, state: SessionState) -> None:
        """Order the session's phases as the configuration does; a phase added to the
        configuration since starts pending, one removed stays in the history."""
        by_name = {p.name: p for p in state.phases}
        ordered = [
            by_name.pop(pc.name) if pc.name in by_name else PhaseState(name=pc.name)
            for pc in self.config.phases
        ]
        state.phases = ordered + list(by_name.values())

    def _phase_config(self, name: str) -> PhaseConfig:
        try:
            return self.config.phase(name)
        except KeyError:
            known = ", ".join(p.name for p in self.config.phases)
            raise ExecutorError(f"unknown phase {name!r} (phases: {known})") from None

    def _limits(self) -> dict[str, Any]:
        return {
            "thresholds": list(self.config.thresholds),
            "min_improvement": self.config.min_improvement,
            "max_phase_iterations": self.config.max_phase_iterations,
            "max_global_iterations": self.config.max_global_iterations,
        }

    @property
    def _st(self) -> SessionState:
        assert self.state is not None
        return self.state

    def _checkpoint(self) -> None:
        self.store.save(self._st)

    def _emit(self, kind: EventKind, phase: str | None = None, **data: Any) -> Event:
        ev = Event(kind=kind, session=self._st.id, phase=phase, data=data)
        self.store.append_event(self._st.id, ev)
        if self.on_event is not None:
            with contextlib.suppress(Exception):  # a display problem must not stop work
                self.on_event(ev)
        return ev

    def _set_status(
        self, ps: PhaseState, status: PhaseStatus, message: str = "", blocked_by: str = ""
    ) -> None:
        ps.status = status
        ps.message = message
        ps.blocked_by = blocked_by if status is PhaseStatus.BLOCKED else ""
        kind = _STATUS_EVENTS.get(status)
        self._checkpoint()
        if kind is not None:
            self._emit(
                kind,
                phase=ps.name,
                status=status.value,
                message=message,
                blocked_by=ps.blocked_by,
                score=ps.last_score,
                threshold=ps.last_threshold,
                iterations=ps.persona_iterations,
            )

    def _settle(self) -> None:
        """Session status from the phases (used when no drive is running)."""
        st = self._st
        if any(p.status in WAITING_STATUSES for p in st.phases):
            st.status = SessionStatus.WAITING
        elif all(st.phase(pc.name).status is PhaseStatus.COMPLETED for pc in self.config.phases):
            st.status = SessionStatus.COMPLETED
        else:
            st.status = SessionStatus.STOPPED

    def _finish(self, *, stopped: bool = False) -> None:
        st = self._st
        if stopped:
            st.status = SessionStatus.STOPPED
        else:
            self._settle()
        self._checkpoint()
        waiting = [p.name for p in st.phases if p.status in WAITING_STATUSES]
        data: dict[str, Any] = {
            "status": st.status.value,
            "global_iterations": st.global_iterations,
            "waiting": waiting,
            "current_phase": st.current_phase,
        }
        self._emit("session_stopped" if stopped else "session_finished", **data)

    # -- the driver ----------------------------------------------------------------------
    async def _drive(self) -> None:
        try:
            for i, pc in enumerate(self.config.phases):
                ps = self._st.phase(pc.name)
                if ps.status is PhaseStatus.COMPLETED:
                    continue
                self._check_stop()
                if not await self._entry_gate(i, pc, ps):
                    self._finish()
                    return
                await self._run_phase(pc, ps)
                if not _completed(ps):
                    self._finish()
                    return
            # every phase completed: they must all still pass
            regressed = await self._verify_earlier(len(self.config.phases))
            if regressed:
                self._emit(
                    "entry_gate",
                    passed=False,
                    regressed=regressed,
                    message="final check: " + ", ".join(regressed) + " no longer pass",
                )
            self._finish()
        except _Stopped:
            self._finish(stopped=True)
        except BaseException:
            # cancelled (second Ctrl-C, SIGTERM) or a bug: keep a resumable checkpoint
            with contextlib.suppress(Exception):
                self._finish(stopped=True)
            raise

    def _check_stop(self) -> None:
        if self._stop:
            raise _Stopped

    async def _verify_earlier(self, upto: int) -> list[str]:
        """Re-evaluate the completed phases before index ``upto``; those failing now become
        ``regressed``. Returns their names."""
        regressed: list[str] = []
        for pc in self.config.phases[:upto]:
            ps = self._st.phase(pc.name)
            if ps.status is not PhaseStatus.COMPLETED:
                continue
            gate = await self._evaluate(pc.name, self._current_threshold(ps))
            if not gate.passed:
                self._set_status(
                    ps,
                    PhaseStatus.REGRESSED,
                    f"completed earlier, fails now: score {gate.score:.2f} < "
                    f"{gate.threshold:.2f}"
                    + (
                        f", blocking {', '.join(gate.blocking_failed)}"
                        if gate.blocking_failed
                        else ""
                    ),
                )
                regressed.append(pc.name)
        return regressed

    async def _entry_gate(self, index: int, pc: PhaseConfig, ps: PhaseState) -> bool:
        start = time.monotonic()
        not_done = [
            p.name
            for p in self.config.phases[:index]
            if self._st.phase(p.name).status is not PhaseStatus.COMPLETED
        ]
        regressed = await self._verify_earlier(index)
        failed_entry: list[str] = []
        entry_durations: dict[str, float] = {}
        if not not_done and not regressed and self.runner.checks(pc.name, entry=True):
            gate = await self.runner.evaluate_async(pc.name, 0.0, entry=True)
            entry_durations = {c.id: round(c.duration_s, 6) for c in gate.checks}
            failed_entry = [c.id for c in gate.checks if not c.passed and c.skipped is None]
        problems: list[str] = []
        if not_done:
            problems.append("earlier phases not completed: " + ", ".join(not_done))
        if regressed:
            problems.append("earlier phases regressed: " + ", ".join(regressed))
        if failed_entry:
            problems.append("entry checks failed: " + ", ".join(failed_entry))
        passed = not problems
        message = "; ".join(problems)
        self._emit(
            "entry_gate",
            phase=pc.name,
            passed=passed,
            message=message,
            regressed=regressed,
            not_completed=not_done,
            failed_entry_checks=failed_entry,
            check_durations=entry_durations,
            duration_s=round(time.monotonic() - start, 6),
        )
        if not passed:
            self._st.current_phase = pc.name
            self._set_status(ps, PhaseStatus.BLOCKED, f"entry gate: {message}", "entry")
        return passed

    def _current_threshold(self, ps: PhaseState) -> float:
        if ps.last_threshold is not None:
            return ps.last_threshold
        return self.config.threshold(max(1, ps.persona_iterations))

    async def _run_phase(self, pc: PhaseConfig, ps: PhaseState) -> None:
        st = self._st
        st.current_phase = pc.name
        if ps.status is PhaseStatus.BLOCKED and ps.blocked_by == "entry":
            # its entry gate passes again (the driver checked): re-enter it
            if not await self._reenter(pc, ps):
                return
        elif ps.status in WAITING_STATUSES and not await self._reevaluate_waiting(pc, ps):
            return
        if ps.status is not PhaseStatus.IN_PROGRESS:
            ps.status = PhaseStatus.IN_PROGRESS
            ps.message = ""
            ps.blocked_by = ""
            self._checkpoint()
            self._emit(
                "phase_started",
                phase=pc.name,
                personas=list(pc.personas),
                checks=[c.config.id for c in self.runner.checks(pc.name)],
                resumed=bool(ps.iterations),
            )
        if not ps.iterations:
            # iteration 0: what is on disk, no persona
            self._check_stop()
            rec = IterationRecord(number=0, reason="what is on disk, before any persona")
            gate = await self._evaluate(pc.name, self.config.threshold(1))
            decision = Decision.COMPLETED if gate.passed else Decision.REWORK
            self._score(ps, rec, gate, decision)
            ps.iterations.append(rec)
            self._after_decision(ps, rec, gate, decision)
            if decision is Decision.COMPLETED:
                return
        while True:
            self._check_stop()
            last = ps.iterations[-1] if ps.iterations else None
            if last is not None and last.outcome in _RECORDED_DECISIONS:
                # the decision was checkpointed but the process died before the phase's
                # status was: apply it now instead of starting another iteration
                self._apply_decision(ps, last, _RECORDED_DECISIONS[last.outcome])
                return
            if last is not None and last.number > 0 and not last.outcome:
                # an iteration interrupted mid-way: finish it (re-runs unfinished personas)
                decision = await self._continue_iteration(pc, ps, last)
            else:
                k = ps.persona_iterations + 1
                limit = progressive.may_iterate(
                    k,
                    st.global_iterations,
                    self.config.max_phase_iterations,
                    self.config.max_global_iterations,
                )
                if limit is not None:
                    self._block_for_limit(ps, limit)
                    return
                plan, feedback = self._plan(pc, ps, k)
                decision = await self._iteration(
                    pc, ps, k, plan, feedback=feedback, reason=self._iteration_reason(k)
                )
            if decision is not Decision.REWORK:
                return

    def _block_for_limit(self, ps: PhaseState, limit: str) -> None:
        if limit == "phase":
            msg = (
                f"iteration limit reached ({ps.persona_iterations} of "
                f"max_phase_iterations={self.config.max_phase_iterations})"
            )
        else:
            msg = (
                f"session iteration limit reached ({self._st.global_iterations} of "
                f"max_global_iterations={self.config.max_global_iterations})"
            )
        self._set_status(ps, PhaseStatus.BLOCKED, msg + "; waiting for a person", f"{limit}_limit")

    async def _rescore(
        self, pc: PhaseConfig, ps: PhaseState, reason: str, *, waiting: bool
    ) -> bool:
        """Score what is on disk at the phase's last threshold and record it as an
        iteration 0 (``reason``); a pass completes the phase. Returns whether it passed.

        The record's outcome is ``passed``; failing, ``waiting`` when the phase goes on
        waiting for a person (``waiting=True``), ``retry`` when its persona work goes on."""
        gate = await self._evaluate(pc.name, self._current_threshold(ps))
        rec = IterationRecord(number=0, reason=reason)
        self._score(ps, rec, gate, Decision.COMPLETED if gate.passed else Decision.BLOCKED)
        if gate.passed:
            rec.outcome = "passed"
        else:
            rec.outcome = "waiting" if waiting else "retry"
        ps.iterations.append(rec)
        self._checkpoint()
        self._emit(
            "gate_scored",
            phase=pc.name,
            reevaluation=True,
            **self._gate_data(gate),
            **self._rec_data(ps, rec),
        )
        if gate.passed:
            self._set_status(ps, PhaseStatus.COMPLETED, "passes on re-evaluation")
        return gate.passed

    def _limit_allows_more(self, ps: PhaseState) -> bool:
        """For a phase blocked by an iteration limit: True when the limits (perhaps
        raised since) allow another iteration; otherwise the phase is blocked again."""
        limit = progressive.may_iterate(
            ps.persona_iterations + 1,
            self._st.global_iterations,
            self.config.max_phase_iterations,
            self.config.max_global_iterations,
        )
        if limit is None:
            return True
        self._block_for_limit(ps, limit)
        return False

    async def _reevaluate_waiting(self, pc: PhaseConfig, ps: PhaseState) -> bool:
        """A stalled, blocked or regressed phase on resume: score what is on disk at its last
        threshold. Returns True when persona work should go on (blocked only by a limit
        that allows more now)."""
        reason = f"re-evaluation of a {ps.status.value} phase on resume"
        if await self._rescore(pc, ps, reason, waiting=True):
            return False
        if ps.status is PhaseStatus.BLOCKED and ps.blocked_by in ("phase_limit", "global_limit"):
            return self._limit_allows_more(ps)
        self._set_status(ps, ps.status, ps.message, ps.blocked_by)
        return False

    def _status_before_entry_block(self, ps: PhaseState) -> PhaseStatus:
        """What a phase blocked by its entry gate was before the gate blocked it, read from
        its history (the checkpoint keeps no other trace of it).

        A phase that ever passed was completed, so it was ``regressed`` (a completed phase
        is not entered again). Otherwise its last decided iteration tells: ``stalled``,
        ``blocked`` (by an iteration limit) or ``retry`` (``in_progress``; a rework a
        person asked for that did not improve the score left it ``stalled``).
        Re-evaluations that changed nothing (``waiting``) are skipped. No decided
        iteration at all: ``in_progress``.
        """
        if any(it.outcome == "passed" for it in ps.iterations):
            return PhaseStatus.REGRESSED
        for it in reversed(ps.iterations):
            if it.outcome == "stalled":
                return PhaseStatus.STALLED
            if it.outcome == "blocked":
                return PhaseStatus.BLOCKED
            if it.outcome == "retry":
                if it.reason == _REWORK_REQUESTED and not progressive.improved_enough(
                    it.score, it.best_before, self.config.min_improvement
                ):
                    return PhaseStatus.STALLED
                return PhaseStatus.IN_PROGRESS
        return PhaseStatus.IN_PROGRESS

    async def _reenter(self, pc: PhaseConfig, ps: PhaseState) -> bool:
        """A phase its entry gate blocked, now that the gate passes. Returns True when
        persona work should go on.

        Never scored (no history) or interrupted mid-iteration: it goes on where it was.
        Otherwise what is on disk is scored first at its last threshold (a person may
        have fixed it while it waited), and a pass completes it. Failing, it goes back to
        what it was before the block: a stalled or regressed phase waits for a person
        again (its personas are not asked), a phase blocked by an iteration limit
        iterates if the limits allow it now, a phase in progress iterates on.
        """
        last = ps.iterations[-1] if ps.iterations else None
        if last is None or (last.number > 0 and not last.outcome):
            return True
        was = self._status_before_entry_block(ps)
        waiting = was is not PhaseStatus.IN_PROGRESS
        reason = (
            f"re-entry of a {'limit-blocked' if was is PhaseStatus.BLOCKED else was.value} "
            "phase: its entry gate passes again"
        )
        if await self._rescore(pc, ps, reason, waiting=waiting):
            return False
        if was is PhaseStatus.IN_PROGRESS:
            return True
        if was is PhaseStatus.BLOCKED:
            return self._limit_allows_more(ps)
        score = f"{ps.last_score or 0:.2f} < {ps.last_threshold or 0:.2f}"
        if was is PhaseStatus.REGRESSED:
            self._set_status(ps, PhaseStatus.REGRESSED, f"completed earlier, fails now: {score}")
        else:
            self._set_status(
                ps,
                PhaseStatus.STALLED,
                f"stalled, still failing: {score}; waiting for a person",
            )
        return False

    # -- iterations ----------------------------------------------------------------------
    def _iteration_reason(self, k: int) -> str:
        return "iteration 1: all personas" if k == 1 else f"iteration {k}: rework"

    def _rework_reason(
        self, gate: GateResult | None, persona: str, findings: list[Finding], *, requested: bool
    ) -> str:
        codes: list[str] = []
        for f in findings:
            if f.code not in codes:
                codes.append(f.code)
        if gate is not None:
            for c in gate.failed_checks:
                if not c.findings and c.owner == persona and c.id not in codes:
                    codes.append(c.id)
        head = "rework requested" if requested else "rework"
        if not codes:
            return f"{head}: {persona}"
        return f"{head}: owner of {', '.join(codes)} ({_count(len(findings), 'finding')})"

    def _plan(
        self, pc: PhaseConfig, ps: PhaseState, k: int
    ) -> tuple[list[tuple[str, str]], dict[str, list[Finding]]]:
        """Who runs in iteration ``k`` and why, and the findings each gets."""
        gate = ps.last_gate
        feedback = owners_of_failed(gate, pc.personas) if gate is not None else {}
        if k == 1:
            return [(n, "iteration 1: all personas") for n in pc.personas], feedback
        if not feedback:
            return [
                (n, "rework: no failed check names an owner, so all personas") for n in pc.personas
            ], feedback
        return [
            (n, self._rework_reason(gate, n, fs, requested=False)) for n, fs in feedback.items()
        ], feedback

    async def _iteration(
        self,
        pc: PhaseConfig,
        ps: PhaseState,
        k: int,
        plan: list[tuple[str, str]],
        *,
        feedback: dict[str, list[Finding]],
        reason: str,
        limits: bool = True,
    ) -> Decision:
        st = self._st
        st.global_iterations += 1
        rec = IterationRecord(number=k, planned=[n for n, _ in plan], reason=reason)
        ps.iterations.append(rec)
        self._checkpoint()
        self._emit(
            "iteration_started",
            phase=pc.name,
            iteration=k,
            planned=rec.planned,
            reasons={n: r for n, r in plan},
            reason=reason,
            threshold=self.config.threshold(k),
            global_iterations=st.global_iterations,
        )
        return await self._run_iteration(pc, ps, rec, dict(plan), feedback, limits=limits)

    async def _continue_iteration(
        self, pc: PhaseConfig, ps: PhaseState, rec: IterationRecord
    ) -> Decision:
        gate = ps.last_gate
        feedback = owners_of_failed(gate, pc.personas) if gate is not None else {}
        reasons = {
            n: (
                "iteration 1: all personas"
                if rec.number == 1
                else self._rework_reason(gate, n, feedback.get(n, []), requested=False)
            )
            + " (re-run after an interruption)"
            for n in rec.planned
        }
        return await self._run_iteration(pc, ps, rec, reasons, feedback, limits=True)

    async def _run_iteration(
        self,
        pc: PhaseConfig,
        ps: PhaseState,
        rec: IterationRecord,
        reasons: dict[str, str],
        feedback: dict[str, list[Finding]],
        *,
        limits: bool,
    ) -> Decision:
        start = time.monotonic()
        for name in rec.planned:
            if any(r.persona == name for r in rec.personas):
                continue  # finished before an interruption
            self._check_stop()
            run = await self._run_persona(
                pc, rec.number, name, reasons.get(name, ""), feedback.get(name, [])
            )
            rec.personas.append(run)
            self._checkpoint()
            self._emit(
                "persona_finished",
                phase=pc.name,
                iteration=rec.number,
                persona=name,
                reason=run.reason,
                ok=run.ok,
                error=run.error,
                skipped=run.skipped,
                duration_s=run.duration_s,
                files_changed=run.files_changed,
                feedback_count=run.feedback_count,
                run=run.model_dump(mode="json"),
            )
        if rec.personas:
            # personas may write files behind the index's back (external tools)
            self.workspace.refresh()
        self._check_stop()
        k = rec.number
        gate = await self._evaluate(pc.name, self.config.threshold(k))
        best = ps.best_score
        if limits:
            decision = progressive.decide(
                k=k,
                score=gate.score,
                passed=gate.passed,
                best=best,
                global_iterations=self._st.global_iterations,
                min_improvement=self.config.min_improvement,
                max_phase_iterations=self.config.max_phase_iterations,
                max_global_iterations=self.config.max_global_iterations,
            )
        else:  # an explicit rework: the caller decides what a failure means
            decision = Decision.COMPLETED if gate.passed else Decision.REWORK
        self._score(ps, rec, gate, decision)
        rec.duration_s = round(time.monotonic() - start, 6)
        self._after_decision(ps, rec, gate, decision)
        return decision

    def _score(
        self, ps: PhaseState, rec: IterationRecord, gate: GateResult, decision: Decision
    ) -> None:
        rec.score = gate.score
        rec.threshold = gate.threshold
        rec.passed = gate.passed
        rec.best_before = ps.best_score
        rec.findings_count = len(gate.findings)
        rec.failed_checks = [c.id for c in gate.failed_checks]
        rec.check_durations = {c.id: round(c.duration_s, 6) for c in gate.checks}
        rec.outcome = _outcome(decision)
        ps.best_score = gate.score if ps.best_score is None else max(ps.best_score, gate.score)

    def _after_decision(
        self, ps: PhaseState, rec: IterationRecord, gate: GateResult, decision: Decision
    ) -> None:
        self._checkpoint()
        self._emit(
            "gate_scored",
            phase=ps.name,
            decision=decision.value,
            **self._gate_data(gate),
            **self._rec_data(ps, rec),
        )
        self._apply_decision(ps, rec, decision)

    def _apply_decision(self, ps: PhaseState, rec: IterationRecord, decision: Decision) -> None:
        """The phase status that ``decision`` (already recorded in ``rec``) implies."""
        if decision is Decision.COMPLETED:
            what = "on disk, no persona work" if rec.number == 0 else f"at iteration {rec.number}"
            self._set_status(
                ps,
                PhaseStatus.COMPLETED,
                f"passed {what}: {rec.score:.2f} >= {rec.threshold:.2f}",
            )
        elif decision is Decision.STALLED:
            self._set_status(
                ps,
                PhaseStatus.STALLED,
                f"no longer improving: {rec.score:.2f} did not beat the best "
                f"{rec.best_before or 0:.2f} by {self.config.min_improvement:.2f}; "
                "waiting for a person",
            )
        elif decision is Decision.BLOCKED:
            limit = progressive.limit_reached(
                rec.number,
                self._st.global_iterations,
                self.config.max_phase_iterations,
                self.config.max_global_iterations,
            )
            self._block_for_limit(ps, limit or "phase")

    @staticmethod
    def _gate_data(gate: GateResult) -> dict[str, Any]:
        findings = gate.findings
        # what the report's fixed / new counts are made of; a gate with more findings
        # than this keeps the journal small and the report counts per check instead
        keys = (
            sorted(f.fingerprint for f in findings)
            if len(findings) <= MAX_JOURNALED_FINGERPRINTS
            else None
        )
        return {
            "finding_keys": keys,
            "score": gate.score,
            "threshold": gate.threshold,
            "passed": gate.passed,
            "findings_count": len(gate.findings),
            "failed_checks": [c.id for c in gate.failed_checks],
            "blocking_failed": list(gate.blocking_failed),
            "duration_s": round(gate.duration_s, 6),
            "checks": [
                {
                    "id": c.id,
                    "score": c.score,
                    "passed": c.passed,
                    "weight": c.weight,
                    "blocking": c.blocking,
                    "owner": c.owner,
                    "findings": len(c.findings),
                    "duration_s": round(c.duration_s, 6),
                    "cached": c.cached,
                    "skipped": c.skipped,
                    "error": c.error,
                    "not_applicable": c.not_applicable,
                }
                for c in gate.checks
            ],
        }

    def _rec_data(self, ps: PhaseState, rec: IterationRecord) -> dict[str, Any]:
        return {
            "iteration": rec.number,
            "best_before": rec.best_before,
            "best_score": ps.best_score,
            "outcome": rec.outcome,
            "personas": [p.persona for p in rec.personas],
            "global_iterations": self._st.global_iterations,
            "record": rec.model_dump(mode="json"),
        }

    async def _evaluate(self, phase: str, threshold: float) -> GateResult:
        gate = await self.runner.evaluate_async(phase, threshold)
        self.last_gates[phase] = gate
        ps = self._st.phase(phase)
        ps.last_gate = gate
        ps.last_score = gate.score
        ps.last_threshold = gate.threshold
        return gate

    # -- personas ------------------------------------------------------------------------
    async def _run_persona(
        self, pc: PhaseConfig, k: int, name: str, reason: str, feedback: list[Finding]
    ) -> PersonaRun:
        st = self._st
        self._emit(
            "persona_started",
            phase=pc.name,
            iteration=k,
            persona=name,
            reason=reason,
            feedback_count=len(feedback),
        )
        # imported with the first persona: a session whose gates pass on what is on disk
        # runs none, and none is needed before the session exists
        from phasegate.backups import BackupRecorder
        from phasegate.persona_runner import phase_artifacts, run_persona

        label = _LABEL_RE.sub("_", f"{pc.name}-it{k}-{name}")[:100]
        backups = BackupRecorder(self.store.session_dir(st.id) / "backups", self.workspace, label)
        return await run_persona(
            name,
            config=self.config,
            workspace=self.workspace,
            trusted=self.trusted,
            backups=backups,
            session_id=st.id,
            requirement=st.requirement,
            phase=pc,
            iteration=k,
            reason=reason,
            feedback=feedback,
            artifacts=phase_artifacts(self.runner, pc.name),
        )
