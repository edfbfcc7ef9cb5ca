"""Where findings are shown is worked out in the worker thread that computed them
(:meth:`LiveResults.place`): committing on the event loop asks nothing of the disk, and
shows the findings exactly where committing alone would."""

from __future__ import annotations

from pathlib import Path

from phasegate.config import Config
from phasegate.live.results import Computed, LiveResults
from phasegate.model import Finding
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace


def _live(root: Path, asked: list[str]) -> LiveResults:
    def display(f: Finding) -> str:
        asked.append(f.path)
        return "README.md" if f.missing_file else f.path

    runner = GateRunner(Workspace(root), Config())
    return LiveResults(runner.workspace, runner.config, runner, display_path=display)


def _computed(live: LiveResults) -> Computed:
    rc = live.checks["implementation:IMPL-STUB"]
    contributions = {f"m{i}.py": [rc.ctx.finding(f"m{i}.py", "stub", line=1)] for i in range(50)}
    contributions["gone.py"] = [rc.ctx.finding("gone.py", "missing", missing_file=True)]
    return Computed(rc, None, contributions, False)


def test_committing_a_placed_result_asks_nothing(tmp_path: Path) -> None:
    asked: list[str] = []
    live = _live(tmp_path, asked)
    c = _computed(live)
    live.place(c)  # in the worker thread
    placed_by_worker = len(asked)
    affected = live.commit(c)  # on the event loop
    assert placed_by_worker == 51 and len(asked) == 51
    assert affected == {f"m{i}.py" for i in range(50)} | {"README.md"}
    assert [f.message for _rc, f in live.findings_for("README.md")] == ["missing"]


def test_a_placed_result_shows_as_an_unplaced_one(tmp_path: Path) -> None:
    placed = _live(tmp_path, [])
    unplaced = _live(tmp_path, [])
    c1, c2 = _computed(placed), _computed(unplaced)
    placed.place(c1)
    assert placed.commit(c1) == unplaced.commit(c2)
    for path in [*(f"m{i}.py" for i in range(50)), "README.md"]:
        shown = [(rc.key, f) for rc, f in placed.findings_for(path)]
        assert shown and shown == [(rc.key, f) for rc, f in unplaced.findings_for(path)]


def test_findings_changed_after_placing_are_placed_again(tmp_path: Path) -> None:
    asked: list[str] = []
    live = _live(tmp_path, asked)
    c = _computed(live)
    live.place(c)
    rc = c.rc
    c.contributions["m0.py"] = [rc.ctx.finding("m0.py", "another", line=2)]
    live.commit(c)
    assert asked.count("m0.py") == 2  # the new list was not the one placed
    assert [f.message for _rc, f in live.findings_for("m0.py")] == ["another"]
