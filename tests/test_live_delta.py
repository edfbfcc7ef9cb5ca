"""Deltas of the live results: findings added/removed per file, gate and check changes."""

from __future__ import annotations

from pathlib import Path

from phasegate.live.delta import DeltaTracker, GateState, Shown, diff
from phasegate.live.engine import Engine
from phasegate.model import Finding, Position, Range, Severity
from phasegate.proc import CancelToken

CONFIG = """\
thresholds = [0.9]

[[phases]]
name = "implementation"

[[phases.checks]]
id = "IMPL-STUB"
"""


def shown(line: int, message: str = "stub", path: str = "a.py") -> Shown:
    f = Finding(
        path=path,
        range=Range(start=Position(line=line, character=0), end=Position(line=line, character=1)),
        severity=Severity.WARNING,
        code="IMPL-STUB",
        message=message,
    )
    return Shown("implementation:IMPL-STUB", "implementation", f)


def test_a_finding_that_only_moved_is_neither_added_nor_removed() -> None:
    assert diff([shown(3)], [shown(5)]) == ([], [])
    added, removed = diff([shown(3, "x")], [shown(3, "y")])
    assert added == [shown(3, "y")] and removed == [shown(3, "x")]


def test_among_equal_findings_the_new_place_is_the_added_one() -> None:
    added, removed = diff([shown(3)], [shown(3), shown(9)])
    assert added == [shown(9)] and removed == []
    added, removed = diff([shown(1), shown(3), shown(9)], [shown(3), shown(9)])
    assert added == [] and removed == [shown(1)]


def _engine(tmp_path: Path) -> Engine:
    (tmp_path / "phasegate.toml").write_text(CONFIG)
    (tmp_path / "a.py").write_text("def f() -> int:\n    return 1\n")
    eng = Engine(tmp_path)
    assert eng.load_config()
    return eng


def _run(eng: Engine) -> set[str]:
    live = eng.live
    assert live is not None
    dirty: set[str] = set()
    for rc in live.checks.values():
        dirty |= live.commit(live.compute(rc, None, CancelToken()))
    return dirty


def test_the_tracker_reports_everything_first_then_only_changes(tmp_path: Path) -> None:
    eng = _engine(tmp_path)
    live = eng.live
    assert live is not None
    tracker = DeltaTracker()
    tracker.note(_run(eng))
    first = tracker.take(live, {"implementation": live.gate("implementation", 0.9)})
    assert first.files == [] and first.findings == 0
    (change,) = first.gates
    assert change.before is None and change.after == GateState("passed", 1.0, 0.9)
    assert [(c.id, c.before, c.after and c.after.status) for c in first.checks] == [
        ("IMPL-STUB", None, "passed")
    ]
    assert tracker.take(live, {"implementation": live.gate("implementation", 0.9)}).empty

    (tmp_path / "a.py").write_text("def f() -> int:\n    pass\n")
    eng.workspace.notify_changed({"a.py"})
    tracker.note(_run(eng))
    delta = tracker.take(live, {"implementation": live.gate("implementation", 0.9)})
    (fd,) = delta.files
    assert fd.path == "a.py" and [s.finding.code for s in fd.added] == ["IMPL-STUB"]
    assert fd.removed == [] and delta.findings == 1
    (change,) = delta.gates
    assert change.before is not None and change.before.status == "passed"
    assert change.after is not None and change.after.status == "failed"
    (check,) = delta.checks
    assert check.before is not None and check.before.status == "passed"
    assert check.after is not None and check.after.status == "failed"

    # a gate no longer reported (a phase removed from the configuration) goes to None
    gone = tracker.take(live, {})
    assert [(g.phase, g.after) for g in gone.gates] == [("implementation", None)]
    assert [(c.id, c.after) for c in gone.checks] == [("IMPL-STUB", None)]


def test_after_a_reset_every_path_is_compared(tmp_path: Path) -> None:
    eng = _engine(tmp_path)
    (tmp_path / "a.py").write_text("def f() -> int:\n    pass\n")
    live = eng.live
    assert live is not None
    tracker = DeltaTracker()
    tracker.note(_run(eng))
    assert tracker.take(live, {}).findings == 1
    dropped = live.forget_all()
    tracker.reset()  # told nothing about ``dropped``: the reset compares everything
    assert dropped == {"a.py"}
    delta = tracker.take(live, {})
    assert [s.finding.code for fd in delta.files for s in fd.removed] == ["IMPL-STUB"]
