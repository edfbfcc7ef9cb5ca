"""The live core without any face: a listener that records what it is told."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from phasegate.cache import ResultCache
from phasegate.live.core import Level, LiveCore
from phasegate.live.engine import Engine
from phasegate.live.options import LiveOptions
from phasegate.proc import CancelToken
from phasegate.workspace import Workspace

WAIT = 120.0  # bounds a failure only

CONFIG = """\
thresholds = [0.9]

[[phases]]
name = "implementation"

[[phases.checks]]
id = "IMPL-SYNTAX"

[[phases.checks]]
id = "IMPL-STUB"

[[phases]]
name = "deployment"

[[phases.checks]]
id = "DEP-README"
"""

# IMPL-SYNTAX left out
STUB_ONLY = CONFIG.replace('[[phases.checks]]\nid = "IMPL-SYNTAX"\n\n', "")

GOOD = "def f() -> int:\n    return 1\n"
STUB = "def f() -> int:\n    pass\n"


class Recorder:
    def __init__(self) -> None:
        self.shown: set[str] = set()
        self.messages: list[tuple[Level, str]] = []
        self.files: list[set[str]] = []
        self.resets = 0
        self.statuses = 0

    def show(self, paths: set[str]) -> None:
        assert paths
        self.shown |= paths

    def status_changed(self) -> None:
        self.statuses += 1

    def message(self, text: str, level: Level) -> None:
        self.messages.append((level, text))

    def files_changed(self, paths: set[str]) -> None:
        self.files.append(set(paths))

    def results_reset(self) -> None:
        self.resets += 1


def workspace(tmp_path: Path, config: str = CONFIG) -> Path:
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "phasegate.toml").write_text(config)
    (root / "pkg" / "app.py").write_text(GOOD)
    (root / "pkg" / "other.py").write_text("X = 1\n")
    return root


async def started(root: Path, debounce: float = 0.15) -> tuple[LiveCore, Recorder, Engine]:
    rec = Recorder()
    core = LiveCore(rec, LiveOptions(debounce=debounce))
    eng = core.open(root)
    await core.load()
    assert eng.config is not None and eng.live is not None
    core.verify()
    assert await core.idle(WAIT)
    return core, rec, eng


async def test_a_change_reruns_exactly_its_checks_and_shows_its_file(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    core, rec, eng = await started(root)
    try:
        live = eng.live
        assert live is not None
        gate = live.gate("implementation", 0.9)
        assert gate is not None and gate.passed
        # the config file: its problems (none), and where the missing README is reported
        assert rec.shown == {"phasegate.toml"}
        assert [f.path for _rc, f in live.findings_for("phasegate.toml")] == ["README.md"]
        jobs = core.scheduler.job_count

        (root / "pkg" / "app.py").write_text(STUB)
        core.paths_changed({"pkg/app.py"}, "test")
        assert await core.idle(WAIT)
        assert rec.files == [{"pkg/app.py"}]
        assert "pkg/app.py" in rec.shown
        assert [f.code for _rc, f in live.findings_for("pkg/app.py")] == ["IMPL-STUB"]
        gate = live.gate("implementation", 0.9)
        assert gate is not None and not gate.passed
        # only the checks whose inputs match ran: one job, the per-file checks
        (record,) = list(core.scheduler.history)[jobs:]
        assert record["trigger"] == "test"
        assert record["checks"] == ["implementation:IMPL-STUB", "implementation:IMPL-SYNTAX"]

        # the same content again (a save the watcher reports too): nothing runs
        core.paths_changed({"pkg/app.py"}, "again")
        assert not core.busy
    finally:
        core.close()
    assert (root / ".phasegate" / "cache").is_dir()  # close writes the result cache


async def test_only_the_selected_checks_run(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    rec = Recorder()
    core = LiveCore(rec)
    eng = core.open(root)
    core.select = lambda rc: rc.phase == "implementation"
    await core.load()
    core.verify()
    assert await core.idle(WAIT)
    try:
        assert eng.live is not None
        assert set(eng.live.results) == {"implementation:IMPL-SYNTAX", "implementation:IMPL-STUB"}
        assert eng.live.gate("deployment", 0.9) is None
        assert eng.live.findings_for("phasegate.toml") == []  # DEP-README never ran
    finally:
        core.close()


async def test_a_broken_configuration_keeps_the_last_valid_one(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    core, rec, eng = await started(root, debounce=0.0)
    try:
        live, config = eng.live, eng.config
        (root / "phasegate.toml").write_text(CONFIG + "\n[[phases]]\nname = 3\n")
        core.paths_changed({"phasegate.toml"}, "test")
        assert core.busy  # the reload holds the scheduler
        assert await core.idle(WAIT)
        assert eng.config is config and eng.live is live  # still in force
        assert eng.config_problems and eng.config_problems[0].path == "phasegate.toml"
        assert "phasegate.toml" in rec.shown and rec.resets == 0

        # a new valid configuration: everything re-runs
        assert "IMPL-SYNTAX" not in STUB_ONLY
        (root / "phasegate.toml").write_text(STUB_ONLY)
        core.paths_changed({"phasegate.toml"}, "test")
        assert await core.idle(WAIT)
        assert eng.config is not config and eng.live is not live and not eng.config_problems
        assert rec.resets == 1
        assert ("info", "configuration changed: re-running every check") in rec.messages
        assert eng.live is not None and "implementation:IMPL-SYNTAX" not in eng.live.results
        assert "implementation:IMPL-STUB" in eng.live.results
    finally:
        core.close()


async def test_throttling_runs_at_once_then_waits_for_the_debounce(tmp_path: Path) -> None:
    """A change runs at once; one arriving within ``debounce`` of that run waits for it
    (on the event loop's clock): nothing runs until the timer fires."""
    root = workspace(tmp_path)
    core, rec, _eng = await started(root, debounce=3600.0)
    try:
        (root / "pkg" / "app.py").write_text(STUB)
        core.paths_changed({"pkg/app.py"}, "first")
        assert await core.idle(WAIT)  # ran at once: the last run is long ago
        assert rec.files == [{"pkg/app.py"}]
        (root / "pkg" / "other.py").write_text("Y = 2\n")
        core.paths_changed({"pkg/other.py"}, "second")
        timer = core.scheduler._timer
        loop = asyncio.get_running_loop()
        assert timer is not None and timer.when() - loop.time() > 3000
        assert not await core.idle(0.01)  # held
        assert rec.files == [{"pkg/app.py"}]
    finally:
        core.close()


def test_every_content_hash_goes_through_the_result_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One content-hash path: the live results, the runner and the scheduler all ask the
    result cache's memo (by stat signature), never the workspace's raw hash directly."""
    root = workspace(tmp_path)
    through_cache: list[str] = []
    raw: list[str] = []
    cached = ResultCache.content_hash
    plain = Workspace.content_hash

    def spy_cache(self: ResultCache, ws: Workspace, rel: str) -> str:
        through_cache.append(rel)
        return cached(self, ws, rel)

    def spy_raw(self: Workspace, rel: str) -> str:
        raw.append(rel)
        return plain(self, rel)

    monkeypatch.setattr(ResultCache, "content_hash", spy_cache)
    monkeypatch.setattr(Workspace, "content_hash", spy_raw)
    eng = Engine(root)
    assert eng.load_config() and eng.live is not None
    live = eng.live
    for rc in live.checks.values():
        live.commit(live.compute(rc, None, CancelToken()))
    assert {"pkg/app.py", "pkg/other.py"} <= set(through_cache)
    assert raw == []  # regular files are hashed by the cache itself (opened beneath the root)
    assert eng.content_hash("pkg/app.py") == plain(eng.workspace, "pkg/app.py")
    assert live.runner.content_hash("pkg/app.py") == eng.content_hash("pkg/app.py")
