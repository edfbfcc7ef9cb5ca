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
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from phasegate.model import CheckResult, Finding, GateResult, PhaseStatus, SessionState

if TYPE_CHECKING:
    from phasegate.live.engine import ConfigProblem
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
    }
    if eng is None or eng.config is None or eng.live is None:
        return out
    config, live = eng.config, eng.live
    for pc in config.phases:
        ps = None
        if state is not None:
            try:
                ps = state.phase(pc.name)
            except KeyError:
                ps = None
        if ps is not None and ps.last_threshold is not None:
            threshold = ps.last_threshold
        else:
            threshold = config.threshold(max(1, ps.persona_iterations if ps else 1))
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
        checks = []
        for rc in live.checks.values():
            if rc.phase != pc.name or rc.entry:
                continue
            r = live.results.get(rc.key)
            if r is not None:
                checks.append(_check(r, rc.ctx.owner))
        out["phases"].append(
            {
                "name": pc.name,
                "title": pc.display,
                "status": status,
                "score": score,
                "threshold": threshold,
                "iteration": ps.persona_iterations if ps is not None else 0,
                "passed": passed,
                "checks": checks,
                "message": message,
                "newCode": phase_new_code(gate),
            }
        )
    return out


def _problem(p: ConfigProblem) -> dict[str, Any]:
    return {"path": p.path, "line": p.line, "column": p.column, "key": p.key, "message": p.message}
