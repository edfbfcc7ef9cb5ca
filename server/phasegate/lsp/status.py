"""The status object of docs/lsp-protocol.md: the reply of most commands and the payload of
the ``phasegate/status`` notification.

Phase statuses come from the session's checkpoint; scores come from the live results
(so they follow every edit), the same results the diagnostics show. Skipped checks (an
untrusted workspace, not run yet) are left out of a score; a phase whose checks were all
skipped has no score. A phase the session completed whose gate fails now is shown
as ``regressed`` at once — the same rule the executor applies when it runs the gates,
where it is also recorded in the checkpoint.

In new-code mode ``newCode`` names the reference ("since origin/main (1a2b3c4d5e)"),
each phase counts its findings new / unchanged (inherited) / absent and lists the checks
``held`` by a new blocking finding, each check has its ``new_code`` counts and each
finding its ``baseline_state``; outside the mode ``newCode`` and the phases' ``newCode``
are null and the rest is left out.

One verdict: without a session every gate is scored against the last threshold of the
schedule, as ``phasegate validate`` scores it (inside a session, the phase's last
threshold, else threshold(k)). Each phase's ``verdict`` says passed / failed / unknown:
a gate that passes on the checks that ran while others did not run (not run yet,
skipped, could not run) is unknown, never a pass.

``lastRun`` is the outcome of the last long command the server ran (see
:func:`last_run`): what the editor tells the user when the command ends.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phasegate.model import (
    CheckResult,
    Finding,
    GateResult,
    PhaseState,
    PhaseStatus,
    SessionState,
)

if TYPE_CHECKING:
    from phasegate.config import Config
    from phasegate.live.engine import ConfigProblem
    from phasegate.live.results import LiveResults
    from phasegate.lsp.core import PhasegateServer

MAX_FINDINGS_PER_CHECK = 200


def _finding(f: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": f.id,
        "path": f.path,
        "range": f.range.model_dump(mode="json"),
        "severity": int(f.severity),
        "message": f.message,
        "code": f.code,
    }
    if f.baseline_state is not None:  # new-code mode only
        out["baseline_state"] = f.baseline_state
    return out


def _check(result: CheckResult, owner: str) -> dict[str, Any]:
    findings = result.findings
    out: dict[str, Any] = {
        "id": result.id,
        "passed": result.passed,
        "score": result.score,
        "blocking": result.blocking,
        "owner": result.owner or owner,
        "skipped": result.skipped,
        "error": result.error,
        "not_applicable": result.not_applicable,
        "status": result.status,
        "findings": [_finding(f) for f in findings[:MAX_FINDINGS_PER_CHECK]],
        "findings_total": len(findings),
    }
    nc = result.new_code
    if nc is not None:  # new-code mode only
        out["new_code"] = {
            "new": nc.new,
            "unchanged": nc.unchanged,
            "absent": nc.absent,
            "held": nc.held,
            "note": nc.note,
            "overall_passed": nc.overall_passed,
            "overall_score": nc.overall_score,
        }
    return out


def phase_new_code(gate: GateResult | None) -> dict[str, Any] | None:
    """A phase's findings split new / unchanged / absent, and its held checks; None when
    no check of it was judged in new-code mode."""
    if gate is None:
        return None
    counts = [r.new_code for r in gate.checks if r.new_code is not None]
    if not counts:
        return None
    return {
        "new": sum(c.new for c in counts),
        "unchanged": sum(c.unchanged for c in counts),
        "absent": sum(c.absent for c in counts),
        "held": list(gate.held),
    }


def session_json(state: SessionState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return {
        "id": state.id,
        "requirement": state.requirement,
        "status": state.status.value,
        "current_phase": state.current_phase,
        "global_iterations": state.global_iterations,
    }


def phase_threshold(config: Config, ps: PhaseState | None, has_session: bool) -> float:
    """The threshold a phase is shown against: inside a session its last threshold, else
    threshold(k) of its persona iterations (at least 1); without a session the last of
    the schedule, as ``phasegate validate`` scores every gate."""
    if ps is not None and ps.last_threshold is not None:
        return ps.last_threshold
    if not has_session:
        return config.thresholds[-1]
    return config.threshold(max(1, ps.persona_iterations if ps else 1))


def verdict(passed: bool | None, gate: GateResult | None) -> tuple[str, list[str]]:
    """``passed`` / ``failed`` / ``unknown``, and the checks that did not run (not run
    yet, skipped, could not run). A gate that passes while some of its checks did not
    run is unknown: what did not run could fail it."""
    not_run = [r.id for r in (gate.checks if gate is not None else []) if r.skipped or r.error]
    if passed is False:
        return "failed", not_run
    if passed is None or not_run:
        return "unknown", not_run
    return "passed", not_run


def build_status(server: PhasegateServer) -> dict[str, Any]:
    eng = server.engine
    state = server.sessions.state() if eng is not None else None
    new_code = eng.new_code if eng is not None else None
    out: dict[str, Any] = {
        "workspace": str(eng.root) if eng else "",
        "trusted": server.settings.trusted,
        "session": session_json(state),
        "phases": [],
        # additions to the contract (see docs/lsp-protocol.md)
        "busy": server.scheduler.busy or server.sessions.running is not None,
        "running": server.sessions.running,
        "configErrors": [_problem(p) for p in (eng.config_problems if eng else [])],
        # new-code mode: its reference, or why it is off
        "newCode": new_code.label if new_code is not None else None,
        "configWarnings": [_problem(p) for p in (eng.new_code_problems if eng else [])],
        "lastRun": server.sessions.last_run,
    }
    if eng is None or eng.config is None or eng.live is None:
        return out
    out["phases"] = phases_json(eng.config, eng.live, state)
    return out


def phases_json(
    config: Config, live: LiveResults, state: SessionState | None
) -> list[dict[str, Any]]:
    """The ``phases`` of the status object."""
    phases: list[dict[str, Any]] = []
    for pc in config.phases:
        ps = None
        if state is not None:
            try:
                ps = state.phase(pc.name)
            except KeyError:
                ps = None
        threshold = phase_threshold(config, ps, state is not None)
        gate = live.gate(pc.name, threshold)
        message = ps.message if ps is not None else ""
        if gate is not None and all(r.skipped is not None for r in gate.checks):
            # Nothing could be scored (e.g. every check runs workspace code and the
            # workspace is untrusted): no score, rather than the 1.0 of an empty gate.
            skipped = next((r.skipped for r in gate.checks if r.skipped), "")
            message = message or f"not scored: no check of this phase ran ({skipped})"
            score: float | None = None
            passed: bool | None = None
        elif gate is not None:
            score, passed = gate.score, gate.passed
        else:
            score, passed = (ps.last_score if ps else None), None
        status = ps.status.value if ps is not None else PhaseStatus.PENDING.value
        if status == PhaseStatus.COMPLETED.value and passed is False:
            status = PhaseStatus.REGRESSED.value
        word, not_run = verdict(passed, gate)
        checks = []
        for rc in live.checks.values():
            if rc.phase != pc.name or rc.entry:
                continue
            r = live.results.get(rc.key)
            if r is not None:
                checks.append(_check(r, rc.ctx.owner))
        phases.append(
            {
                "name": pc.name,
                "title": pc.display,
                "status": status,
                "score": score,
                "threshold": threshold,
                "iteration": ps.persona_iterations if ps is not None else 0,
                "passed": passed,
                "verdict": word,
                "notRun": not_run,
                "checks": checks,
                "message": message,
                "newCode": phase_new_code(gate),
            }
        )
    return phases


# -- the outcome of a long command -----------------------------------------------------

SESSION_COMMANDS = frozenset({"startSession", "resumeSession", "rework"})


def last_run(
    server: PhasegateServer,
    *,
    run_id: int,
    command: str,
    result: str,
    error: str | None,
    started: float,
    before: set[str] | None,
    failures: list[dict[str, Any]],
    phase: str | None = None,
) -> dict[str, Any]:
    """What a long command did, in the words and numbers the editor shows when it ends:
    the ``lastRun`` part of the status object (docs/lsp-protocol.md).

    ``result`` is ``done``, ``stopped`` (by the user: the session can be resumed) or
    ``failed`` (``error`` says why); ``before`` holds the ids of the findings shown when
    the command started (None: unknown), ``failures`` the personas that failed or were
    not run, ``phase`` the phase the command was limited to."""
    eng = server.engine
    state = server.sessions.state() if eng is not None else None
    phases: list[dict[str, Any]] = []
    after: set[str] = set()
    if eng is not None and eng.config is not None and eng.live is not None:
        phases = phases_json(eng.config, eng.live, state)
        after = finding_ids(eng.live)
    # a session's commands (and runGates in a session) say where the session stands;
    # validate and remediate say how the gates score
    in_session = command in SESSION_COMMANDS or command == "runGates"
    session = state if in_session else None
    focus = _focus(phases, session, phase)
    new = len(after - before) if before is not None else None
    fixed = len(before - after) if before is not None else None
    out: dict[str, Any] = {
        "id": run_id,
        "command": command,
        "result": result,
        "error": error,
        "startedAt": started,
        "finishedAt": time.time(),
        "session": session_json(state),
        "phase": focus["name"] if focus is not None else None,
        "phaseTitle": focus["title"] if focus is not None else None,
        "phaseStatus": focus["status"] if focus is not None else None,
        "verdict": focus["verdict"] if focus is not None else None,
        "score": focus["score"] if focus is not None else None,
        "threshold": focus["threshold"] if focus is not None else None,
        "gates": _gates_summary(phases, phase),
        "findings": {"total": len(after), "new": new, "fixed": fixed},
        "personaFailures": failures,
        "open": _open_target(focus, eng.root if eng is not None else None),
    }
    out["summary"] = _summary(out, focus, session, phases, phase)
    return out


def finding_ids(live: LiveResults) -> set[str]:
    """The ids of every finding the live results hold (what the editor shows)."""
    return {f.id for _rc, f in live.all_findings()}


def _focus(
    phases: list[dict[str, Any]], session: SessionState | None, only: str | None
) -> dict[str, Any] | None:
    """The phase the outcome is about: the one the command was limited to; in a session
    that is not completed, its current phase; else the first failing phase, else the
    first one not judged."""
    if only is not None:
        return next((p for p in phases if p["name"] == only), None)
    if session is not None and session.status.value != "completed" and session.current_phase:
        current = next((p for p in phases if p["name"] == session.current_phase), None)
        if current is not None:
            return current
    for word in ("failed", "unknown"):
        hit = next((p for p in phases if p["verdict"] == word), None)
        if hit is not None:
            return hit
    return None


def _gates_summary(phases: list[dict[str, Any]], only: str | None) -> dict[str, int]:
    scope = [p for p in phases if only is None or p["name"] == only]
    return {
        "total": len(scope),
        "passed": sum(1 for p in scope if p["verdict"] == "passed"),
        "failed": sum(1 for p in scope if p["verdict"] == "failed"),
        "unknown": sum(1 for p in scope if p["verdict"] == "unknown"),
    }


def _score(p: dict[str, Any]) -> str:
    score, threshold = p["score"], p["threshold"]
    left = f"{score:.2f}" if isinstance(score, (int, float)) else "no score"
    return f"{left} / {threshold:.2f}"


_WAITING_WORDS = {
    "stalled": "stalled",
    "blocked": "is blocked",
    "regressed": "regressed",
}


def _summary(
    out: dict[str, Any],
    focus: dict[str, Any] | None,
    session: SessionState | None,
    phases: list[dict[str, Any]],
    only: str | None,
) -> str:
    """One sentence saying how the command ended (without the command's name)."""
    if out["result"] == "failed":
        return f"failed: {out['error'] or 'unknown error'}"
    parts: list[str] = []
    if session is not None:
        status = session.status.value
        if out["result"] == "stopped":
            where = f" at {focus['title']} ({_score(focus)})" if focus is not None else ""
            parts.append(f"session {session.id} stopped{where}; resume it to go on")
        elif status == "completed" and focus is None:
            parts.append(f"session {session.id} completed: every phase passed")
        elif focus is not None:
            word = _WAITING_WORDS.get(focus["status"])
            if word is not None:
                text = f"{focus['title']} {word} at {_score(focus)}"
                if focus["message"]:
                    text += f": {focus['message']}"
            elif focus["verdict"] == "passed":
                text = f"{focus['title']} passes at {_score(focus)}"
            else:
                text = f"{focus['title']} {focus['verdict']} at {_score(focus)}"
            parts.append(text)
        else:
            parts.append(f"session {session.id} {status}")
    else:
        scope = [p for p in phases if only is None or p["name"] == only]
        failing = [p for p in scope if p["verdict"] == "failed"]
        unknown = [p for p in scope if p["verdict"] == "unknown"]
        if out["result"] == "stopped":
            parts.append("stopped")
        if not scope:
            parts.append("no gate to score")
        elif not failing and not unknown:
            parts.append(
                f"{scope[0]['title']} passes at {_score(scope[0])}"
                if len(scope) == 1
                else f"every gate passes ({len(scope)})"
            )
        else:
            if failing:
                listed = ", ".join(f"{p['title']} {_score(p)}" for p in failing)
                parts.append(
                    f"{len(failing)} of {len(scope)} gates fail: {listed}"
                    if len(scope) > 1
                    else f"{failing[0]['title']} fails at {_score(failing[0])}"
                )
            if unknown:
                parts.append(
                    "not judged (checks not run): " + ", ".join(p["title"] for p in unknown)
                )
    failures = out["personaFailures"]
    if failures:
        names = ", ".join(dict.fromkeys(f["persona"] for f in failures))
        n = len(failures)
        parts.append(f"{n} persona run{'s' if n != 1 else ''} failed ({names})")
    return "; ".join(parts)


def _open_target(phase: dict[str, Any] | None, root: Path | None) -> dict[str, Any] | None:
    """The place to look at next: the most severe finding of the phase's failing checks
    (blocking ones first) on a file that exists; None when there is none."""
    if phase is None or root is None or phase["verdict"] == "passed":
        return None
    failing = [c for c in phase["checks"] if not c["passed"] and c["findings"]]
    failing.sort(key=lambda c: not c["blocking"])
    best: tuple[int, int, dict[str, Any], dict[str, Any]] | None = None
    for order, check in enumerate(failing):
        for f in check["findings"]:
            path = f.get("path")
            if not path or not (root / path).is_file():
                continue
            rank = (f["severity"], order)
            if best is None or rank < best[:2]:
                best = (rank[0], rank[1], check, f)
    if best is None:
        return None
    _sev, _order, check, f = best
    start = f["range"]["start"]
    return {
        "path": f["path"],
        "line": start["line"],
        "character": start["character"],
        "check": check["id"],
        "message": f["message"],
    }


def _problem(p: ConfigProblem) -> dict[str, Any]:
    return {"path": p.path, "line": p.line, "column": p.column, "key": p.key, "message": p.message}
