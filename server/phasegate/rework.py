"""Who reworks what: the owners of a gate's failed checks, each with its own findings.

Iteration 1 of a phase runs all its personas; iteration k>1 (rework) runs only the
personas returned here, each given the failed findings it owns as feedback.
"""

from __future__ import annotations

from phasegate.model import Finding, GateResult


def owners_of_failed(
    gate: GateResult, fallback: list[str] | None = None, *, inherited: bool = False
) -> dict[str, list[Finding]]:
    """Map persona -> the findings of failed checks it owns, in check order.

    A finding's own ``owner`` wins over its check's owner (a design check can hand the
    "risks" section to the security persona). Failed checks without findings (a tool
    that could not run) still put their owner on the list, with no feedback. Checks with
    no owner fall back to the first persona of ``fallback`` (the phase's personas).
    """
    out: dict[str, list[Finding]] = {}
    default = fallback[0] if fallback else ""
    for check in gate.failed_checks:
        owners_here: set[str] = set()
        findings = check.findings
        if check.new_code is not None and check.new_code.new and not inherited:
            findings = [f for f in findings if f.baseline_state != "unchanged"]
        for f in findings:
            owner = f.owner or check.owner or default
            if owner:
                out.setdefault(owner, []).append(f)
                owners_here.add(owner)
        owner = check.owner or default
        if owner and not owners_here:
            out.setdefault(owner, [])
    return out
