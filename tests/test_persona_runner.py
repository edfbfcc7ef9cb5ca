"""The persona runner shared by the executor and remediation (phasegate.persona_runner),
and the atomic writes of phasegate.fsutil."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import BaseModel
from test_executor_support import CALLS, make_config, persona, plugins, score_check, write_scores

from phasegate.backups import BackupRecorder, session_backups_dir
from phasegate.config import Config, PersonaConfig, PhaseConfig
from phasegate.fsutil import atomic_write_bytes, atomic_write_text
from phasegate.model import Finding, PersonaRun
from phasegate.persona_runner import phase_artifacts, run_persona
from phasegate.personas.base import (
    NoOptions,
    Persona,
    PersonaContext,
    PersonaResult,
    PersonaTask,
    register_persona,
    registered_personas,
)
from phasegate.remediate import remediate
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace


class WritesThenCrashes(Persona):
    kind = "t-writes-then-crashes"
    runs_workspace_code = False
    Options: ClassVar[type[BaseModel]] = NoOptions

    async def run(self, task: PersonaTask, ctx: PersonaContext) -> PersonaResult:
        ctx.write_text("half.txt", "written before the crash\n")
        raise RuntimeError("persona exploded")


@pytest.fixture(autouse=True)
def _test_plugins() -> Iterator[None]:
    CALLS.clear()
    register_persona(WritesThenCrashes.kind, WritesThenCrashes)
    try:
        with plugins():
            yield
    finally:
        registered_personas().pop(WritesThenCrashes.kind, None)


def _config(**personas: PersonaConfig) -> Config:
    phase = PhaseConfig(
        name="req",
        personas=list(personas),
        checks=[score_check("A", "a.txt", next(iter(personas)))],
    )
    return make_config([phase], dict(personas), max_phase_iterations=1)


async def _run(
    root: Path, config: Config, name: str, *, trusted: bool = True, started: list[str]
) -> PersonaRun:
    ws = Workspace(root)
    runner = GateRunner(ws, config, trusted=trusted)
    return await run_persona(
        name,
        config=config,
        workspace=ws,
        trusted=trusted,
        backups=BackupRecorder(session_backups_dir(ws, "s1"), ws, "label"),
        session_id="s1",
        requirement="a requirement",
        phase=config.phase("req"),
        iteration=1,
        reason="because",
        feedback=[Finding(path="a.txt", message="m", code="A")],
        artifacts=phase_artifacts(runner, "req"),
        on_start=lambda: started.append(name),
    )


async def test_a_run_gets_its_task_and_records_the_files_it_changed(tmp_path: Path) -> None:
    config = _config(alice=persona(edits=[{"a.txt": "1\n"}]))
    started: list[str] = []
    run = await _run(tmp_path, config, "alice", started=started)
    assert started == ["alice"]
    assert run.ok and run.error is None
    assert run.files_changed == ["a.txt"]
    assert run.feedback_count == 1 and run.reason == "because"
    assert (tmp_path / "a.txt").read_text() == "1\n"
    call = CALLS[-1]
    assert call["requirement"] == "a requirement" and call["feedback"] == ["m"]


async def test_a_persona_that_cannot_be_created_or_may_not_run_never_starts(
    tmp_path: Path,
) -> None:
    config = _config(alice=PersonaConfig(kind="no-such-kind"), bob=PersonaConfig(kind="t-code"))
    started: list[str] = []
    bad = await _run(tmp_path, config, "alice", started=started)
    assert not bad.ok and "cannot create persona" in (bad.error or "")
    skipped = await _run(tmp_path, config, "bob", trusted=False, started=started)
    assert skipped.skipped and "untrusted workspace" in skipped.skipped
    assert started == [] and CALLS == []


async def test_a_crash_keeps_the_files_written_before_it(tmp_path: Path) -> None:
    config = _config(alice=PersonaConfig(kind=WritesThenCrashes.kind))
    run = await _run(tmp_path, config, "alice", started=[])
    assert not run.ok and "persona exploded" in (run.error or "")
    assert run.files_changed == ["half.txt"]


async def test_remediation_stops_a_persona_at_its_timeout(tmp_path: Path) -> None:
    write_scores(tmp_path, {"a.txt": "0"})
    config = _config(alice=PersonaConfig(kind="t-script", timeout=0.05, options={"sleep": 30}))
    result = await remediate(Workspace(tmp_path), config, session_id="s1")
    [run] = result.phases[0].persona_runs
    assert not run.ok and run.error == "timed out after 0.05s"


def test_atomic_writes_replace_the_file_and_leave_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "f.txt"
    atomic_write_text(target, "one\r\ntwo\n", fsync_dir=True)
    assert target.read_bytes() == b"one\r\ntwo\n"  # line endings as given
    atomic_write_bytes(target, b"new", mode=0o640, fsync=False)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert os.listdir(target.parent) == ["f.txt"]


def test_a_failed_atomic_write_keeps_the_old_content(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(target, "bad \udc80")
    (tmp_path / "dir").mkdir()
    with pytest.raises(OSError):
        atomic_write_bytes(tmp_path / "dir", b"x")  # cannot replace a folder by a file
    assert target.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["dir", "f.txt"]


def test_atomic_writes_keep_or_default_permissions(tmp_path: Path) -> None:
    import stat as _stat

    from phasegate.fsutil import atomic_write_text

    new = tmp_path / "new.md"
    atomic_write_text(new, "x")
    assert _stat.S_IMODE(new.stat().st_mode) == 0o666 & ~_current_umask()
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    atomic_write_text(script, "#!/bin/sh\necho hi\n")
    assert _stat.S_IMODE(script.stat().st_mode) == 0o755


def _current_umask() -> int:
    import os as _os

    old = _os.umask(0)
    _os.umask(old)
    return old
