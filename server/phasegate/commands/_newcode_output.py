"""How the commands say what new-code mode found: new, unchanged and fixed findings."""

from __future__ import annotations

from typing import Any

from phasegate.model import GateResult


def new_code_counts(gates: list[GateResult]) -> dict[str, int] | None:
    """``{"new", "unchanged", "absent", "held_checks"}`` over ``gates``; None outside the
    mode."""
    if not any(g.new_code for g in gates):
        return None
    out = {"new": 0, "unchanged": 0, "absent": 0, "held_checks": 0}
    for gate in gates:
        out["held_checks"] += len(gate.held)
        for check in gate.checks:
            if check.new_code is not None:
                out["new"] += check.new_code.new
                out["unchanged"] += check.new_code.unchanged
                out["absent"] += check.new_code.absent
    return out


def new_code_summary(gates: list[GateResult]) -> str:
    """One line for the text output ("" outside new-code mode)."""
    counts = new_code_counts(gates)
    if counts is None:
        return ""
    label = next(g.new_code for g in gates if g.new_code)
    line = (
        f"new code {label}: {counts['new']} new, {counts['unchanged']} unchanged "
        f"(inherited), {counts['absent']} fixed"
    )
    held = [f"{g.phase}:{c}" for g in gates for c in g.held]
    if held:
        line += f"; new findings fail {', '.join(held)}"
    whole = sorted(
        {
            f"{g.phase}:{c.id}"
            for g in gates
            for c in g.failed_checks
            if c.new_code is not None and c.id not in g.held and c.counted
        }
    )
    if whole:
        line += f"; judged as a whole, failing: {', '.join(whole)}"
    return line


def new_code_json(gates: list[GateResult]) -> dict[str, Any] | None:
    """The ``new_code`` object of the JSON output (None outside the mode)."""
    counts = new_code_counts(gates)
    if counts is None:
        return None
    label = next(g.new_code for g in gates if g.new_code)
    held = [{"phase": g.phase, "check": c} for g in gates for c in g.held]
    return {"reference": label, **counts, "held": held}
