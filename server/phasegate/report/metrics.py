"""Turning a session (checkpoint + journal) into the report's numbers.

* Per iteration: the checkpoint's :class:`~phasegate.model.IterationRecord` (score,
  threshold, personas, findings left, failed checks, check durations), matched to its
  ``gate_scored`` journal event by phase, iteration number and start time. The events'
  finding fingerprints (check, file and message: a finding whose line only moved is
  the same finding) give the findings **fixed** (in the previous gate, not in this one)
  and **new** (the other way round); without them (a gate of more than
  ``MAX_JOURNALED_FINGERPRINTS`` findings), per check the drop and the rise of its
  count; without those, the net change of the total.
* Time: an iteration's time is its recorded wall time (persona work + gate); iteration 0,
  where no persona runs, counts its gate's time. A phase's time adds its entry gates
  (``entry_gate`` events). Persona time sums the persona runs; check time sums the
  checks' durations over every gate evaluation (``phase:CHECK``; entry checks
  ``phase:CHECK (entry)``).
* The timeline is the journal, one line per event.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from phasegate.config import Config
from phasegate.model import Event, IterationRecord, PhaseState
from phasegate.recheck import Recheck, shown_status
from phasegate.report.data import (
    IterationMetrics,
    OpenFindings,
    PersonaMetrics,
    PhaseMetrics,
    ReportData,
    SessionInfo,
    TimelineEntry,
    TimeMetrics,
    Totals,
    Traceability,
)
from phasegate.report.source import SessionSource


def _title(config: Config | None, phase: str) -> str:
    if config is not None:
        try:
            return config.phase(phase).display
        except KeyError:
            pass
    return phase.replace("_", " ").capitalize()


def _num(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _event_phase(ev: Event) -> str | None:
    if ev.phase:
        return ev.phase
    p = ev.data.get("phase")
    return p if isinstance(p, str) else None


GateKey = tuple[str, int, float]


def _gate_key(phase: str, number: int, started_at: float) -> GateKey:
    return (phase, number, round(started_at, 6))


def gate_events(events: Iterable[Event]) -> dict[GateKey, Event]:
    """``gate_scored`` events that record an iteration, by (phase, iteration, start)."""
    out: dict[GateKey, Event] = {}
    for ev in events:
        rec = ev.data.get("record")
        phase = _event_phase(ev)
        if ev.kind != "gate_scored" or phase is None or not isinstance(rec, dict):
            continue
        number, started = rec.get("number"), _num(rec.get("started_at"))
        if isinstance(number, int) and started is not None:
            out[_gate_key(phase, number, started)] = ev
    return out


def _check_counts(ev: Event | None) -> dict[str, int] | None:
    checks = ev.data.get("checks") if ev is not None else None
    if not isinstance(checks, list):
        return None
    out: dict[str, int] = {}
    for c in checks:
        if (
            isinstance(c, dict)
            and isinstance(c.get("id"), str)
            and isinstance(c.get("findings"), int)
        ):
            out[c["id"]] = c["findings"]
    return out


def _finding_keys(ev: Event | None) -> Counter[str] | None:
    keys = ev.data.get("finding_keys") if ev is not None else None
    if isinstance(keys, list) and all(isinstance(k, str) for k in keys):
        return Counter(keys)
    return None


def fixed_and_new(
    rec: IterationRecord, prev: IterationRecord, ev: Event | None, prev_ev: Event | None
) -> tuple[int, int]:
    """Findings of the previous gate gone now, and findings not in the previous gate."""
    keys, prev_keys = _finding_keys(ev), _finding_keys(prev_ev)
    if keys is not None and prev_keys is not None:
        return (prev_keys - keys).total(), (keys - prev_keys).total()
    counts, prev_counts = _check_counts(ev), _check_counts(prev_ev)
    if counts is not None and prev_counts is not None:
        fixed = new = 0
        for check in set(counts) | set(prev_counts):
            delta = counts.get(check, 0) - prev_counts.get(check, 0)
            fixed += max(0, -delta)
            new += max(0, delta)
        return fixed, new
    delta = rec.findings_count - prev.findings_count
    return max(0, -delta), max(0, delta)


def _iteration(
    rec: IterationRecord, prev: IterationRecord | None, ev: Event | None, prev_ev: Event | None
) -> IterationMetrics:
    fixed: int | None = None
    new: int | None = None
    if prev is not None:
        fixed, new = fixed_and_new(rec, prev, ev, prev_ev)
    gate_s = _num(ev.data.get("duration_s")) if ev is not None else None
    if gate_s is None:
        gate_s = sum(rec.check_durations.values())
    duration = rec.duration_s if rec.duration_s > 0 else gate_s
    return IterationMetrics(
        number=rec.number,
        score=rec.score,
        threshold=rec.threshold,
        passed=rec.passed,
        outcome=rec.outcome or ("passed" if rec.passed else "running"),
        best_before=rec.best_before,
        personas=[
            PersonaMetrics(
                persona=p.persona,
                reason=p.reason,
                ok=p.ok,
                error=p.error,
                duration_s=p.duration_s,
                files_changed=list(p.files_changed),
                feedback_count=p.feedback_count,
            )
            for p in rec.personas
        ],
        findings_count=rec.findings_count,
        findings_fixed=fixed,
        findings_new=new,
        failed_checks=list(rec.failed_checks),
        check_durations=dict(rec.check_durations),
        started_at=rec.started_at,
        duration_s=round(duration, 6),
        gate_duration_s=round(gate_s, 6),
    )


def entry_gate_times(events: Iterable[Event]) -> dict[str, list[tuple[float, dict[str, float]]]]:
    """Per phase: each entry gate's (duration, check durations)."""
    out: dict[str, list[tuple[float, dict[str, float]]]] = {}
    for ev in events:
        phase = _event_phase(ev)
        if ev.kind != "entry_gate" or phase is None:
            continue
        checks = ev.data.get("check_durations")
        durations = (
            {str(k): v for k, v in (checks or {}).items() if isinstance(v, (int, float))}
            if isinstance(checks, dict)
            else {}
        )
        out.setdefault(phase, []).append((_num(ev.data.get("duration_s")) or 0.0, durations))
    return out


def phase_metrics(
    ps: PhaseState,
    config: Config | None,
    gates: dict[GateKey, Event],
    entry_s: float = 0.0,
    recheck: Recheck | None = None,
) -> PhaseMetrics:
    iterations: list[IterationMetrics] = []
    prev: IterationRecord | None = None
    prev_ev: Event | None = None
    for rec in ps.iterations:
        ev = gates.get(_gate_key(ps.name, rec.number, rec.started_at))
        iterations.append(_iteration(rec, prev, ev, prev_ev))
        if rec.outcome:  # an iteration still running has no gate to compare with
            prev, prev_ev = rec, ev
    return PhaseMetrics(
        name=ps.name,
        title=_title(config, ps.name),
        status=shown_status(ps.status, recheck),
        message=recheck.note if recheck is not None else ps.message,
        best_score=ps.best_score,
        last_score=ps.last_score,
        last_threshold=ps.last_threshold,
        persona_iterations=ps.persona_iterations,
        duration_s=round(sum(i.duration_s for i in iterations) + entry_s, 6),
        entry_gate_s=round(entry_s, 6),
        iterations=iterations,
    )


def _ordered(d: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 6) for k, v in sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))}


def time_metrics(
    phases: list[PhaseMetrics],
    entries: dict[str, list[tuple[float, dict[str, float]]]],
    total_s: float,
) -> TimeMetrics:
    per_persona: dict[str, float] = {}
    per_check: dict[str, float] = {}
    for ph in phases:
        for it in ph.iterations:
            for p in it.personas:
                per_persona[p.persona] = per_persona.get(p.persona, 0.0) + p.duration_s
            for check, d in it.check_durations.items():
                key = f"{ph.name}:{check}"
                per_check[key] = per_check.get(key, 0.0) + d
        for _, checks in entries.get(ph.name, []):
            for check, d in checks.items():
                key = f"{ph.name}:{check} (entry)"
                per_check[key] = per_check.get(key, 0.0) + d
    return TimeMetrics(
        total_s=round(total_s, 6),
        per_phase={ph.name: ph.duration_s for ph in phases},
        per_persona=_ordered(per_persona),
        per_check=_ordered(per_check),
    )


def _fmt_score(v: Any) -> str:
    n = _num(v)
    return "?" if n is None else f"{n:.2f}"


def summarise(ev: Event) -> str:
    """One line saying what an event means, for the timeline."""
    d = ev.data
    k = ev.kind
    if k == "session_started":
        return f"session started: {d.get('requirement', '')}".rstrip(": ")
    if k == "session_resumed":
        return "session resumed"
    if k == "phase_started":
        personas = d.get("personas")
        names = ", ".join(personas) if isinstance(personas, list) and personas else "none"
        return f"phase started (personas: {names})"
    if k == "entry_gate":
        verdict = "passed" if d.get("passed") else "not met"
        msg = d.get("message")
        return f"entry gate {verdict}" + (f": {msg}" if msg else "")
    if k == "iteration_started":
        planned = d.get("planned")
        names = ", ".join(planned) if isinstance(planned, list) and planned else "no persona"
        return f"iteration {d.get('iteration', '?')} started: {names} ({d.get('reason', '')})"
    if k == "persona_started":
        return f"{d.get('persona', 'persona')} started"
    if k == "persona_finished":
        who = str(d.get("persona", "persona"))
        if d.get("skipped"):
            return f"{who} skipped: {d['skipped']}"
        line = f"{who} finished" if d.get("ok", True) else f"{who} failed: {d.get('error', '')}"
        n = _num(d.get("duration_s"))
        if n is not None:
            line += f" in {n:.2f} s"
        changed = d.get("files_changed")
        if isinstance(changed, list) and changed:
            line += f", {len(changed)} file(s) changed"
        return line
    if k == "gate_scored":
        verdict = "passed" if d.get("passed") else "failed"
        it = d.get("iteration")
        where = f"iteration {it}" if it is not None else str(d.get("source", "gates re-run"))
        line = (
            f"gate {verdict} ({where}): score {_fmt_score(d.get('score'))} against "
            f"{_fmt_score(d.get('threshold'))}"
        )
        if isinstance(d.get("findings_count"), int):
            line += f", {d['findings_count']} findings"
        if d.get("outcome"):
            line += f" → {d['outcome']}"
        return line
    if k in ("phase_completed", "phase_stalled", "phase_blocked", "phase_regressed"):
        msg = d.get("message")
        return k.removeprefix("phase_") + (f": {msg}" if msg else "")
    if k == "agent_waiting":
        gates = ", ".join(str(g) for g in d.get("gates") or []) or "a"
        return (
            f"the coding agent ({d.get('agent', '?')}) was let stop after "
            f"{d.get('blocks', '?')} refused stops while the {gates} gate failed: "
            "waiting for a person"
        )
    if k == "checks_ran":
        checks = d.get("checks")
        ran = len(checks) if isinstance(checks, list) else d.get("count", "?")
        return f"{ran} checks re-ran"
    if k in ("session_finished", "session_stopped"):
        verb = "finished" if k == "session_finished" else "stopped"
        return f"session {verb}: {d.get('status', '')}".rstrip(": ")
    if k == "checkpoint_recovered":
        return f"checkpoint recovered from {d.get('source') or 'nothing'} ({d.get('cause', '')})"
    if k == "remediation_backup":
        files = d.get("files")
        saved = len(files) if isinstance(files, list) else "?"
        return f"backup of {saved} file(s) before remediation"
    return k.replace("_", " ")


def timeline(events: list[Event], t0: float) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            ts=ev.ts,
            offset_s=round(max(0.0, ev.ts - t0), 6),
            kind=ev.kind,
            phase=_event_phase(ev),
            summary=summarise(ev),
        )
        for ev in events
    ]


def build_report_data(
    root: Path,
    source: SessionSource,
    config: Config | None,
    traceability: Traceability,
    open_findings: OpenFindings,
    warnings: list[str] | None = None,
    rechecks: dict[str, Recheck] | None = None,
) -> ReportData:
    state = source.state
    rechecks = rechecks or {}
    regressed = [n for n, r in rechecks.items() if r.status == "regressed"]
    warnings = list(warnings or [])
    if regressed:
        warnings.insert(
            0,
            f"{', '.join(regressed)} completed earlier and fails now (not recorded yet): fix "
            f"the findings and run `phasegate resume {state.id}`",
        )
    gates = gate_events(source.events)
    entries = entry_gate_times(source.events)
    # Phases in the configured order first, then any others the session knows.
    order = [p.name for p in config.phases] if config else []
    known = {p.name: p for p in state.phases}
    names = [n for n in order if n in known] + [n for n in known if n not in order]
    phases = [
        phase_metrics(
            known[n], config, gates, sum(d for d, _ in entries.get(n, [])), rechecks.get(n)
        )
        for n in names
    ]
    t0 = min([state.created_at] + [ev.ts for ev in source.events[:1]])
    t1 = max([state.updated_at] + [ev.ts for ev in source.events[-1:]])
    info = SessionInfo(
        id=state.id,
        requirement=state.requirement,
        status=state.status.value,
        current_phase=state.current_phase,
        global_iterations=state.global_iterations,
        created_at=state.created_at,
        updated_at=state.updated_at,
        duration_s=round(max(0.0, t1 - t0), 6),
        checkpoint_seq=None if source.from_journal else state.seq,
        regressed=regressed,
    )
    all_its = [it for ph in phases for it in ph.iterations]
    runs = [p for it in all_its for p in it.personas]
    totals = Totals(
        phases=len(phases),
        phases_completed=sum(1 for ph in phases if ph.status == "completed"),
        iterations=sum(ph.persona_iterations for ph in phases),
        persona_runs=len(runs),
        persona_failures=sum(1 for p in runs if not p.ok),
        gate_evaluations=sum(1 for it in all_its if it.outcome != "running"),
        open_findings=open_findings.total,
    )
    return ReportData(
        generated_at=time.time(),
        workspace=str(root),
        session=info,
        totals=totals,
        phases=phases,
        time=time_metrics(phases, entries, max(0.0, t1 - t0)),
        timeline=timeline(source.events, t0),
        traceability=traceability,
        open_findings=open_findings,
        warnings=[*source.warnings, *(warnings or [])],
    )
