"""The progressive-quality rules, rule by rule, with boundaries and hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from phasegate.config import Config
from phasegate.progressive import (
    Decision,
    decide,
    gate_passes,
    improved_enough,
    may_iterate,
    threshold,
)

scores = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
schedules = st.lists(scores, min_size=1, max_size=6)
ks = st.integers(min_value=1, max_value=50)


def run(**kw: object) -> Decision:
    base: dict[str, object] = dict(
        k=2,
        score=0.5,
        passed=False,
        best=0.4,
        global_iterations=2,
        min_improvement=0.05,
        max_phase_iterations=3,
        max_global_iterations=10,
    )
    base.update(kw)
    return decide(**base)  # type: ignore[arg-type]


# -- threshold ------------------------------------------------------------------------
def test_default_schedule() -> None:
    sched = Config().thresholds
    assert [threshold(sched, k) for k in (0, 1, 2, 3, 4, 10)] == [
        0.6,
        0.6,
        0.75,
        0.85,
        0.85,
        0.85,
    ]


@given(schedules, ks)
def test_threshold_is_schedule_entry_clamped(sched: list[float], k: int) -> None:
    assert threshold(sched, k) == sched[min(k, len(sched)) - 1]
    assert threshold(sched, k) == Config(thresholds=sched).threshold(k)


@given(st.lists(scores, min_size=1, max_size=6).map(sorted), ks)
def test_a_rising_schedule_never_falls(sched: list[float], k: int) -> None:
    assert threshold(sched, k + 1) >= threshold(sched, k)


def test_empty_schedule_is_refused() -> None:
    with pytest.raises(ValueError):
        threshold([], 1)


# -- passing --------------------------------------------------------------------------
@pytest.mark.parametrize("t", [0.6, 0.75, 0.85, 0.1 + 0.2, 1.0, 0.0])
def test_exactly_equal_to_the_threshold_passes(t: float) -> None:
    assert gate_passes(t, t)
    assert gate_passes(round(t, 6), t)
    assert not gate_passes(t, t, blocking_failed=True)


@given(scores, scores)
def test_gate_passes_iff_score_reaches_threshold(s: float, t: float) -> None:
    assume(abs(s - t) > 1e-6)
    assert gate_passes(s, t) == (s > t)


# -- rule 1: passed -> completed --------------------------------------------------------
@given(ks, scores, st.one_of(st.none(), scores), st.integers(0, 100))
def test_passed_always_completes(k: int, s: float, b: float | None, g: int) -> None:
    assert run(k=k, score=s, passed=True, best=b, global_iterations=g) is Decision.COMPLETED


# -- rule 2: stalled ----------------------------------------------------------------------
def test_improvement_of_exactly_min_improvement_is_enough() -> None:
    for b, s in [(0.1, 0.15), (0.6, 0.65), (0.7, 0.75), (0.5, 0.55), (0.2, 0.25)]:
        assert improved_enough(s, b, 0.05)
        assert run(score=s, best=b) is Decision.REWORK
    assert run(score=0.1499, best=0.1) is Decision.STALLED


def test_first_iteration_never_stalls() -> None:
    assert run(k=1, score=0.0, best=0.9) is Decision.REWORK


@given(st.integers(2, 50), scores, scores, st.floats(0.0, 0.5))
def test_stalls_iff_improvement_below_min(k: int, s: float, b: float, m: float) -> None:
    assume(abs(s - (b + m)) > 1e-6)
    d = run(k=k, score=s, best=b, min_improvement=m, max_phase_iterations=100)
    if s < b + m:
        assert d is Decision.STALLED
    else:
        assert d is Decision.REWORK


def test_stall_wins_over_the_limits() -> None:
    assert run(k=3, score=0.4, best=0.4, max_phase_iterations=3) is Decision.STALLED


# -- rule 3: blocked ----------------------------------------------------------------------
def test_blocked_at_phase_limit() -> None:
    assert run(k=3, score=0.9, best=0.1, max_phase_iterations=3) is Decision.BLOCKED
    assert run(k=2, score=0.9, best=0.1, max_phase_iterations=3) is Decision.REWORK
    assert run(k=1, score=0.1, best=None, max_phase_iterations=1) is Decision.BLOCKED


def test_blocked_at_global_limit() -> None:
    assert run(k=1, global_iterations=10, max_global_iterations=10) is Decision.BLOCKED
    assert run(k=1, global_iterations=9, max_global_iterations=10) is Decision.REWORK


@given(ks, st.integers(1, 50), st.integers(0, 100), st.integers(1, 100))
def test_blocked_iff_a_limit_is_reached(k: int, maxk: int, g: int, maxg: int) -> None:
    # improving enough, not passing: only the limits decide
    d = run(
        k=k,
        score=0.9,
        best=0.1,
        global_iterations=g,
        max_phase_iterations=maxk,
        max_global_iterations=maxg,
    )
    assert (d is Decision.BLOCKED) == (k >= maxk or g >= maxg)
    assert d in (Decision.BLOCKED, Decision.REWORK)


# -- the decision is total and consistent -----------------------------------------------
@given(
    ks,
    scores,
    st.booleans(),
    st.one_of(st.none(), scores),
    st.integers(0, 100),
    st.floats(0, 1),
    st.integers(1, 20),
    st.integers(1, 100),
)
def test_decide_follows_the_rules_in_order(
    k: int, s: float, p: bool, b: float | None, g: int, m: float, maxk: int, maxg: int
) -> None:
    d = decide(
        k=k,
        score=s,
        passed=p,
        best=b,
        global_iterations=g,
        min_improvement=m,
        max_phase_iterations=maxk,
        max_global_iterations=maxg,
    )
    if p:
        expected = Decision.COMPLETED
    elif k >= 2 and b is not None and s < b + m - 1e-9:
        expected = Decision.STALLED
    elif k >= maxk or g >= maxg:
        expected = Decision.BLOCKED
    else:
        expected = Decision.REWORK
    assert d is expected


# -- may another iteration start --------------------------------------------------------
def test_may_iterate() -> None:
    assert may_iterate(1, 0, 3, 10) is None
    assert may_iterate(3, 2, 3, 10) is None
    assert may_iterate(4, 3, 3, 10) == "phase"
    assert may_iterate(2, 10, 3, 10) == "global"


@given(st.integers(1, 50), st.integers(0, 100), st.integers(1, 50), st.integers(1, 100))
def test_may_iterate_agrees_with_decide(k: int, g: int, maxk: int, maxg: int) -> None:
    # after iteration k (g iterations done) more work is allowed iff decide says rework
    d = run(
        k=k,
        score=0.9,
        best=0.1,
        global_iterations=g,
        max_phase_iterations=maxk,
        max_global_iterations=maxg,
    )
    assert (may_iterate(k + 1, g, maxk, maxg) is None) == (d is Decision.REWORK)
