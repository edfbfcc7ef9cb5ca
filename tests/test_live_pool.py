"""Per-file checks across processes (phasegate.live.pool): the worker processes give
exactly what the checks give in the calling thread, a check that raises is reported as
crashed either way, and the workers stop when idle."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from phasegate.checks.base import Check, CheckContext, register_check
from phasegate.config import CheckConfig, Config, PhaseConfig, default_config
from phasegate.live.engine import Engine
from phasegate.live.pool import CheckPool
from phasegate.live.results import Computed, LiveResults
from phasegate.model import Finding
from phasegate.proc import CancelToken

WAIT = 120.0  # bounds a failure only

STUB = 'def f() -> int:\n    """Later."""\n    raise NotImplementedError\n'
GOOD = "def f(x: int) -> int:\n    return x * 2\n"
TODO = "# TODO: write it\nX = 1\n"
BROKEN = "def f(:\n    pass\n"


class ShoutingFile(Check):
    """A file-scope check registered at run time (not an entry point): the workers must
    find its class by its module."""

    id = "T-SHOUT"
    scope = "file"

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return ["*.py"]

    def check_file(self, ctx: CheckContext, path: str) -> list[Finding]:
        text = ctx.workspace.read_text(path) or ""
        return [ctx.finding(path, "shouts", line=0)] if "TODO" in text else []


class CrashingFile(Check):
    id = "T-CRASH"
    scope = "file"

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return ["*.py"]

    def check_file(self, ctx: CheckContext, path: str) -> list[Finding]:
        if path.endswith("m7.py"):
            raise ValueError("cannot judge m7")
        return []


@pytest.fixture(autouse=True)
def _register() -> None:
    register_check(ShoutingFile.id, ShoutingFile)
    register_check(CrashingFile.id, CrashingFile)


def make_tree(root: Path, n: int) -> None:
    (root / "pkg").mkdir(parents=True)
    (root / "Dockerfile").write_text("FROM python:latest\nRUN pip install x\n")
    kinds = [GOOD, STUB, TODO, BROKEN, GOOD, GOOD]
    for i in range(n):
        (root / "pkg" / f"m{i}.py").write_text(kinds[i % len(kinds)])


def engine(root: Path, config: Config | None = None) -> Engine:
    if config is not None:
        (root / "phasegate.toml").write_text(_toml(config))
    eng = Engine(root)
    eng.load_config()
    assert eng.live is not None
    return eng


def _toml(config: Config) -> str:
    out = []
    for p in config.phases:
        out.append(f'[[phases]]\nname = "{p.name}"\n')
        for c in p.checks:
            out.append(f'[[phases.checks]]\nid = "{c.id}"\n')
    return "\n".join(out)


def file_checks(live: LiveResults) -> list:  # type: ignore[type-arg]
    return [rc for rc in live.checks.values() if rc.cls.scope == "file"]


def summary(cs: list[Computed]) -> list[tuple[object, ...]]:
    out = []
    for c in cs:
        assert c.result is not None
        state = c.file_state
        out.append(
            (
                c.rc.key,
                c.result.score,
                c.result.passed,
                c.result.error,
                [f.model_dump() for f in c.result.findings],
                None
                if state is None
                else {p: [f.model_dump() for f in fs] for p, fs in state.per_file.items()},
                None if state is None else state.hashes,
                {p: [f.model_dump() for f in fs] for p, fs in c.contributions.items()},
            )
        )
    return out


def test_the_workers_give_what_the_checks_give_here(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for root in (a, b):
        make_tree(root, 40)
    config = default_config()
    config.phases[2].checks.append(CheckConfig(id="T-SHOUT"))  # implementation
    here = engine(a, config).live
    there = engine(b, config).live
    assert here is not None and there is not None
    pool = CheckPool(2, min_files=1)
    batches: list[list[Computed]] = []
    try:
        in_thread = here.compute_file_checks(file_checks(here), CancelToken())
        in_workers = there.compute_file_checks(
            file_checks(there), CancelToken(), pool=pool, partial=batches.append
        )
        assert pool.batches > 0  # the workers did analyse them
    finally:
        pool.close()
    assert summary(in_workers) == summary(in_thread)
    # and one check at a time, the way a single check is verified
    one_by_one = [here.compute(rc, None, CancelToken()) for rc in file_checks(here)]
    assert [s[:5] for s in summary(one_by_one)] == [s[:5] for s in summary(in_thread)]
    codes = {f.code for c in in_workers if c.result for f in c.result.findings}
    assert {"IMPL-SYNTAX", "IMPL-STUB", "T-SHOUT", "DEP-DOCKERFILE"} <= codes
    # the findings came in batch by batch (first-stage results) before the final ones
    assert batches and all(c.result is None for batch in batches for c in batch)
    shown = {p for batch in batches for c in batch for p in c.contributions}
    assert shown == {p for c in in_workers for p in c.contributions}


def test_a_check_that_raises_is_crashed_in_the_workers_too(tmp_path: Path) -> None:
    make_tree(tmp_path, 12)
    config = Config(
        phases=[
            PhaseConfig(
                name="implementation",
                checks=[CheckConfig(id="T-CRASH"), CheckConfig(id="IMPL-STUB")],
            )
        ]
    )
    live = engine(tmp_path, config).live
    assert live is not None
    pool = CheckPool(2, min_files=1)
    try:
        out = {
            c.rc.key: c
            for c in live.compute_file_checks(file_checks(live), CancelToken(), pool=pool)
        }
    finally:
        pool.close()
    crashed = out["implementation:T-CRASH"].result
    assert crashed is not None and crashed.error is not None
    assert "cannot judge m7" in crashed.error
    stub = out["implementation:IMPL-STUB"].result
    assert stub is not None and stub.error is None and stub.findings  # the others go on
    # the same as one check verified in this thread
    alone = live.compute(live.checks["implementation:T-CRASH"], None, CancelToken()).result
    assert alone is not None and alone.error == crashed.error


def test_a_cancelled_run_is_dropped(tmp_path: Path) -> None:
    make_tree(tmp_path, 30)
    live = engine(tmp_path).live
    assert live is not None
    token = CancelToken()
    seen: list[int] = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        if done:
            token.cancel()

    pool = CheckPool(2, min_files=1)
    try:
        from phasegate.live.results import Cancelled

        with pytest.raises(Cancelled):
            live.compute_file_checks(file_checks(live), token, pool=pool, progress=progress)
    finally:
        pool.close()
    assert live.file_states == {}  # nothing was installed


def test_the_workers_stop_when_idle_and_start_again(tmp_path: Path) -> None:
    make_tree(tmp_path, 8)
    live = engine(tmp_path).live
    assert live is not None
    pool = CheckPool(2, min_files=1, idle_stop=0.05)
    try:
        live.compute_file_checks(file_checks(live), CancelToken(), pool=pool)
        assert pool.starts == 1
        workers = pool.pids()
        assert workers
        deadline = time.monotonic() + WAIT
        alive = workers
        while (pool.running or alive) and time.monotonic() < deadline:
            time.sleep(0.02)
            alive = [pid for pid in workers if Path(f"/proc/{pid}").exists()]
        assert not pool.running and not alive  # no process holds memory between runs
        # no idle stop within the next run on a loaded machine (between the workers'
        # early start and the batch, say): it would count a third start
        pool.idle_stop = 600.0
        (tmp_path / "pkg" / "m0.py").write_text(STUB + "\n# changed\n")
        live2 = engine(tmp_path).live
        assert live2 is not None
        live2.compute_file_checks(file_checks(live2), CancelToken(), pool=pool)
        assert pool.starts == 2
    finally:
        pool.close()


def test_few_files_never_start_the_workers(tmp_path: Path) -> None:
    make_tree(tmp_path, 5)
    live = engine(tmp_path).live
    assert live is not None
    pool = CheckPool(2, min_files=100)
    try:
        out = live.compute_file_checks(file_checks(live), CancelToken(), pool=pool)
    finally:
        pool.close()
    assert pool.starts == 0 and all(c.result is not None for c in out)
