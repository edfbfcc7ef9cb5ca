"""Progressive quality: the rules that decide what happens after each iteration of a phase.

Pure functions, no I/O, so every rule can be tested on its own (and is, with hypothesis):

* ``threshold(k) = schedule[min(k, len) - 1]`` — iteration 0 (what is on disk, no persona
  ran) is scored against the first threshold;
* after iteration ``k`` with score ``s``, gate passed ``p`` and best score so far ``b``
  (before this iteration):

  1. ``p``                                   → ``completed``
  2. ``k >= 2`` and ``s < b + min_improvement`` → ``stalled``
  3. ``k >= max_phase_iterations`` or the session's global iterations
     ``>= max_global_iterations``              → ``blocked``
  4. otherwise                               → ``rework`` (another iteration)

Comparisons allow a tiny tolerance (:data:`EPSILON`) so that a score exactly equal to the
threshold passes and an improvement of exactly ``min_improvement`` is enough, whatever the
binary rounding of the decimal values involved.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

EPSILON = 1e-9


class Decision(str, Enum):
    COMPLETED = "completed"
    STALLED = "stalled"
    BLOCKED = "blocked"
    REWORK = "rework"


def threshold(schedule: Sequence[float], k: int) -> float:
    """The gate threshold of iteration ``k`` (``k <= 1`` uses the first entry)."""
    if not schedule:
        raise ValueError("the threshold schedule is empty")
    k = max(1, k)
    return schedule[min(k, len(schedule)) - 1]


def gate_passes(score: float, threshold: float, blocking_failed: bool = False) -> bool:
    """A gate passes when its score reaches the threshold (equal is enough) and no
    blocking check failed."""
    return not blocking_failed and score >= threshold - EPSILON


def improved_enough(score: float, best: float | None, min_improvement: float) -> bool:
    """True when ``score`` beats ``best`` by at least ``min_improvement`` (or there is no
    best yet)."""
    if best is None:
        return True
    return score >= best + min_improvement - EPSILON


def limit_reached(
    k: int, global_iterations: int, max_phase_iterations: int, max_global_iterations: int
) -> str | None:
    """Which iteration limit stops more work after iteration ``k``: ``"phase"``,
    ``"global"`` or None."""
    if k >= max_phase_iterations:
        return "phase"
    if global_iterations >= max_global_iterations:
        return "global"
    return None


def decide(
    *,
    k: int,
    score: float,
    passed: bool,
    best: float | None,
    global_iterations: int,
    min_improvement: float,
    max_phase_iterations: int,
    max_global_iterations: int,
) -> Decision:
    """What to do after iteration ``k`` of a phase (see the module docstring).

    ``best`` is the phase's best score before this iteration (None when there is none);
    ``global_iterations`` counts the session's persona iterations including this one.
    """
    if passed:
        return Decision.COMPLETED
    if k >= 2 and not improved_enough(score, best, min_improvement):
        return Decision.STALLED
    if limit_reached(k, global_iterations, max_phase_iterations, max_global_iterations):
        return Decision.BLOCKED
    return Decision.REWORK


def may_iterate(
    k_next: int, global_iterations: int, max_phase_iterations: int, max_global_iterations: int
) -> str | None:
    """Before starting iteration ``k_next``: None when it may run, else the limit
    (``"phase"`` or ``"global"``) that forbids it."""
    if k_next > max_phase_iterations:
        return "phase"
    if global_iterations >= max_global_iterations:
        return "global"
    return None
