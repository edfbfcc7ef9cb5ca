"""Open fast, then fill in, in the live core (no face): the documents shown are analysed
first, a whole-workspace run goes on while files change (the changed files are published
at once and checked again after it), and the findings it computed for a file that changed
meanwhile never replace the newer ones."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from phasegate.checks.base import Check, CheckContext, register_check
from phasegate.config import Config
from phasegate.live.core import Level, LiveCore
from phasegate.live.options import LiveOptions
from phasegate.model import Finding

WAIT = 120.0  # bounds a failure only

CONFIG = """\
[[phases]]
name = "implementation"

[[phases.checks]]
id = "IMPL-STUB"

[[phases.checks]]
id = "T-GATED"
"""
GOOD = "def f() -> int:\n    return 1\n"
STUB = "def f() -> int:\n    pass\n"

ENTERED = threading.Event()  # the gated check reached the gated file
RELEASE = threading.Event()  # it may go on


class Gated(Check):
    """A per-file check that stops at ``pkg/slow.py`` until released: a whole-workspace
    run that is still going on, for as long as the test wants."""

    id = "T-GATED"
    scope = "file"

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return ["*.py"]

    def check_file(self, ctx: CheckContext, path: str) -> list[Finding]:
        if path == "pkg/slow.py":
            ENTERED.set()
            RELEASE.wait(WAIT)
        return []


class Recorder:
    def __init__(self) -> None:
        self.shown: list[set[str]] = []

    def show(self, paths: set[str]) -> None:
        self.shown.append(set(paths))

    def status_changed(self) -> None:
        pass

    def message(self, text: str, level: Level) -> None:
        pass

    def files_changed(self, paths: set[str]) -> None:
        pass

    def results_reset(self) -> None:
        pass


@pytest.fixture(autouse=True)
def _gate() -> None:
    register_check(Gated.id, Gated)
    ENTERED.clear()
    RELEASE.clear()


def workspace(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "phasegate.toml").write_text(CONFIG)
    (root / "pkg" / "app.py").write_text(GOOD)
    (root / "pkg" / "slow.py").write_text(GOOD)
    (root / "pkg" / "zeta.py").write_text(STUB)
    return root


async def test_a_change_during_the_whole_run_is_shown_at_once_and_kept(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    rec = Recorder()
    core = LiveCore(rec, LiveOptions(debounce=0.0))
    eng = core.open(root)
    try:
        await core.load()
        await core.verify_on_open()
        assert await asyncio.to_thread(ENTERED.wait, WAIT)  # the whole run is under way
        live = eng.live
        assert live is not None

        (root / "pkg" / "app.py").write_text(STUB)
        core.paths_changed({"pkg/app.py"}, "save")
        for _ in range(int(WAIT * 20)):  # shown while the whole run still waits
            if live.findings_for("pkg/app.py"):
                break
            await asyncio.sleep(0.05)
        assert [f.code for _rc, f in live.findings_for("pkg/app.py")] == ["IMPL-STUB"]
        assert not RELEASE.is_set() and core.busy

        RELEASE.set()
        assert await core.idle(WAIT)
        # the whole run was not cancelled; its view of app.py (before the change) never
        # replaced the newer one, and app.py was checked again against its state
        history = list(core.scheduler.history)
        whole = [
            h for h in history if h["trigger"] == "open" and "implementation:T-GATED" in h["checks"]
        ]
        assert whole and not whole[0]["cancelled"]
        assert any(h["trigger"] == "recheck" for h in history)
        assert [f.code for _rc, f in live.findings_for("pkg/app.py")] == ["IMPL-STUB"]
        state = live.file_states["implementation:IMPL-STUB"]
        assert [f.code for f in state.per_file["pkg/app.py"]] == ["IMPL-STUB"]
        result = live.results["implementation:IMPL-STUB"]
        assert sorted(f.path for f in result.findings) == ["pkg/app.py", "pkg/zeta.py"]
    finally:
        RELEASE.set()
        core.close()


async def test_the_documents_shown_go_first_and_are_not_stored_as_a_whole_run(
    tmp_path: Path,
) -> None:
    root = workspace(tmp_path)
    rec = Recorder()
    core = LiveCore(rec, LiveOptions(debounce=0.0))
    eng = core.open(root)
    RELEASE.set()
    try:
        await core.load()  # shows the config file (its problems: none)
        loaded = len(rec.shown)
        core.open_documents(["pkg/zeta.py"])
        jobs = core.focus(list(core.documents))
        await core.scheduler.wait_jobs(jobs[:1])
        live = eng.live
        assert live is not None
        assert rec.shown[loaded] == {"pkg/zeta.py"}
        assert [f.code for _rc, f in live.findings_for("pkg/zeta.py")] == ["IMPL-STUB"]
        # a document's findings give the check no score of their own: that waits for
        # its whole run (and the cache is not told that one file is all there is)
        assert "implementation:IMPL-STUB" not in live.results
        assert await core.republish_cached(keep={"pkg/zeta.py"}) == set()
        await core.verify_on_open()
        assert await core.idle(WAIT)
        result = live.results["implementation:IMPL-STUB"]
        assert [f.path for f in result.findings] == ["pkg/zeta.py"]
        # a document opened later is focused at once
        before = core.scheduler.job_count
        (root / "pkg" / "slow.py").write_text(STUB)  # not reported as a change
        core.open_documents(["pkg/slow.py"])
        assert await core.idle(WAIT)
        assert core.scheduler.job_count > before
        assert [f.code for _rc, f in live.findings_for("pkg/slow.py")] == ["IMPL-STUB"]
    finally:
        core.close()


class Reports:
    def __init__(self) -> None:
        self.messages: list[tuple[str, int | None]] = []

    def report(self, message: str, percentage: int | None = None) -> None:
        self.messages.append((message, percentage))


async def test_the_whole_run_reports_how_many_files_it_went_through(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    for i in range(40):
        (root / "pkg" / f"m{i:02d}.py").write_text(GOOD)
    RELEASE.set()
    core = LiveCore(Recorder(), LiveOptions(debounce=0.0))
    core.open(root)
    try:
        await core.load()
        progress = Reports()
        await core.verify_on_open(progress)
        assert await core.idle(WAIT)
        files = [m for m, _p in progress.messages if m.endswith(" files")]
        assert files and files[-1] == "43/43 files"
        assert progress.messages[-1][1] == 100
    finally:
        core.close()


LINT_CONFIG = """\
[[phases]]
name = "implementation"

[[phases.checks]]
id = "IMPL-LINT"
"""


async def test_ruff_judges_a_shown_document_alone_until_its_own_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phasegate.live import scheduler

    monkeypatch.setattr(scheduler, "LIGHT_INPUTS", 1)  # ruff reads "too many" files here
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "phasegate.toml").write_text(LINT_CONFIG)
    (root / "pkg" / "shown.py").write_text("import os\n\nX = 1\n")
    (root / "pkg" / "other.py").write_text("import sys\n\nY = 2\n")
    core = LiveCore(Recorder(), LiveOptions(debounce=0.0))
    eng = core.open(root)
    try:
        await core.load()
        core.open_documents(["pkg/shown.py"])
        await core.scheduler.wait_jobs(core.focus(list(core.documents)))
        live = eng.live
        assert live is not None
        # the shown document's own lint findings, before (and without) a run of the check
        assert [f.code for _rc, f in live.findings_for("pkg/shown.py")] == ["IMPL-LINT"]
        assert live.findings_for("pkg/other.py") == []
        assert "implementation:IMPL-LINT" not in live.results
        await core.verify_on_open()
        assert await core.idle(WAIT)
        # the check's own run replaced them: each finding once
        assert [f.code for _rc, f in live.findings_for("pkg/shown.py")] == ["IMPL-LINT"]
        assert [f.code for _rc, f in live.findings_for("pkg/other.py")] == ["IMPL-LINT"]
        result = live.results["implementation:IMPL-LINT"]
        assert sorted(f.path for f in result.findings) == ["pkg/other.py", "pkg/shown.py"]
    finally:
        core.close()
