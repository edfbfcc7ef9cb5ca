"""Remediation: only owners of failed checks rework, with their own findings; undo is exact."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from phasegate.checks.base import Check, CheckContext, CheckOutcome, register_check
from phasegate.cli import cli
from phasegate.config import CheckConfig, Config, PersonaConfig, PhaseConfig
from phasegate.personas.base import (
    Persona,
    PersonaContext,
    PersonaResult,
    PersonaTask,
    register_persona,
)
from phasegate.remediate import RemediationError, remediate, undo
from phasegate.store import SessionStore, state_from_events
from phasegate.workspace import Workspace


class PathOptions(BaseModel):
    path: str


class MustExist(Check):
    id = "MUST-EXIST"
    default_blocking = True
    Options = PathOptions

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return ["*"]

    def run(self, ctx: CheckContext) -> CheckOutcome:
        p = ctx.options.path  # type: ignore[attr-defined]
        if (ctx.workspace.root / p).is_file():
            return CheckOutcome(score=1.0)
        return CheckOutcome([ctx.finding(p, f"{p} is missing", missing_file=True)], score=0.0)


class MustNotExist(MustExist):
    id = "MUST-NOT-EXIST"

    def run(self, ctx: CheckContext) -> CheckOutcome:
        p = ctx.options.path  # type: ignore[attr-defined]
        if not (ctx.workspace.root / p).exists():
            return CheckOutcome(score=1.0)
        return CheckOutcome([ctx.finding(p, f"{p} must go")], score=0.0)


register_check("MUST-EXIST", MustExist)
register_check("MUST-NOT-EXIST", MustNotExist)


class CountingOptions(BaseModel):
    fix: bool = True


class Counting(Persona):
    """Records every call; with ``fix`` it creates the files its findings say are missing."""

    kind = "counting"
    runs_workspace_code = False
    Options = CountingOptions
    calls: ClassVar[list[tuple[str, int, list[str]]]] = []

    async def run(self, task: PersonaTask, ctx: PersonaContext) -> PersonaResult:
        Counting.calls.append(
            (self.name, task.iteration, [f"{f.code}:{f.path}" for f in task.feedback])
        )
        assert isinstance(self.options, CountingOptions)
        if self.options.fix:
            for f in task.feedback:
                ctx.write_text(f.path, f"written by {self.name}\n")
        return PersonaResult(files_changed=list(ctx.written))


class Untrusting(Counting):
    kind = "counting_code"
    runs_workspace_code = True


register_persona("counting", Counting)
register_persona("counting_code", Untrusting)


@pytest.fixture(autouse=True)
def _reset() -> None:
    Counting.calls.clear()


def exists(path: str, owner: str, id: str | None = None) -> CheckConfig:
    return CheckConfig(
        id=id or f"EXISTS-{path}", kind="MUST-EXIST", owner=owner, options={"path": path}
    )


def persona(kind: str = "counting", **options: object) -> PersonaConfig:
    return PersonaConfig(kind=kind, options=dict(options))


def tree(root: Path) -> dict[str, bytes]:
    """Every file (bytes) and directory of ``root``, ``.phasegate/`` left out."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if rel == ".phasegate" or rel.startswith(".phasegate/"):
            continue
        out[rel + ("/" if p.is_dir() else "")] = p.read_bytes() if p.is_file() else b""
    return out


def test_only_owners_of_failed_checks_rework_with_their_own_findings(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("present\n")
    config = Config(
        phases=[
            PhaseConfig(
                name="build",
                personas=["alice", "bob", "carol"],
                checks=[exists("a.txt", "alice"), exists("b.txt", "bob"), exists("c.txt", "carol")],
            )
        ],
        personas={"alice": persona(), "bob": persona(), "carol": persona(fix=False)},
    )
    result = asyncio.run(remediate(Workspace(tmp_path), config, session_id="r1"))
    assert Counting.calls == [
        # iteration 1: the owners of the two failed checks, each with its own finding
        ("alice", 1, ["EXISTS-a.txt:a.txt"]),
        ("carol", 1, ["EXISTS-c.txt:c.txt"]),
        # iteration 2: alice's check passes now; only carol reworks
        ("carol", 2, ["EXISTS-c.txt:c.txt"]),
    ]
    (phase,) = result.phases
    assert phase.status == "stalled"  # carol does not improve the score
    assert [[r.persona for r in it] for it in phase.iterations] == [["alice", "carol"], ["carol"]]
    assert phase.iterations[0][0].files_changed == ["a.txt"]
    assert [(c.path, c.kind) for c in result.changes] == [("a.txt", "created")]
    assert not result.passed


def test_passing_phases_run_no_persona(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    config = Config(
        phases=[PhaseConfig(name="p", personas=["alice"], checks=[exists("a.txt", "alice")])],
        personas={"alice": persona()},
    )
    result = asyncio.run(remediate(Workspace(tmp_path), config, session_id="r2"))
    assert Counting.calls == []
    assert result.phases[0].status == "passed" and result.passed
    assert result.label is None and result.changes == []
    assert not (tmp_path / ".phasegate/sessions/r2/backups").exists()


def test_thresholds_rise_and_phases_complete(tmp_path: Path) -> None:
    config = Config(
        phases=[
            PhaseConfig(name="one", personas=["alice"], checks=[exists("a.txt", "alice")]),
            PhaseConfig(name="two", personas=["bob"], checks=[exists("b.txt", "bob")]),
        ],
        personas={"alice": persona(), "bob": persona()},
    )
    result = asyncio.run(remediate(Workspace(tmp_path), config, session_id="r3"))
    assert [p.status for p in result.phases] == ["completed", "completed"]
    assert [g.threshold for g in result.final_gates] == [0.60, 0.60]
    assert result.passed
    assert [c.path for c in result.changes] == ["a.txt", "b.txt"]


def test_phase_and_global_iteration_limits(tmp_path: Path) -> None:
    config = Config(
        max_global_iterations=1,
        min_improvement=0.0,
        phases=[
            PhaseConfig(name="one", personas=["carol"], checks=[exists("c.txt", "carol")]),
            PhaseConfig(name="two", personas=["alice"], checks=[exists("a.txt", "alice")]),
        ],
        personas={"alice": persona(), "carol": persona(fix=False)},
    )
    result = asyncio.run(remediate(Workspace(tmp_path), config, session_id="r4"))
    assert [p.status for p in result.phases] == ["blocked", "blocked"]
    assert "global" in result.phases[1].message
    assert Counting.calls == [("carol", 1, ["EXISTS-c.txt:c.txt"])]
    config.max_global_iterations = 10
    config.max_phase_iterations = 2
    Counting.calls.clear()
    result = asyncio.run(remediate(Workspace(tmp_path), config, session_id="r5", phase="one"))
    assert [p.phase for p in result.phases] == ["one"]
    assert result.phases[0].status == "blocked"
    assert [c[1] for c in Counting.calls] == [1, 2]


def test_untrusted_workspace_runs_no_persona_that_runs_code(tmp_path: Path) -> None:
    config = Config(
        phases=[
            PhaseConfig(
                name="p",
                personas=["coder", "writer"],
                checks=[exists("a.txt", "coder"), exists("b.txt", "writer")],
            )
        ],
        personas={"coder": persona("counting_code"), "writer": persona()},
    )
    result = asyncio.run(remediate(Workspace(tmp_path), config, session_id="u1", trusted=False))
    assert [c[0] for c in Counting.calls] == ["writer"]
    runs = result.phases[0].iterations[0]
    assert runs[0].persona == "coder" and "untrusted" in (runs[0].skipped or "")
    assert not (tmp_path / "a.txt").exists() and (tmp_path / "b.txt").exists()


FIX_SCRIPT = textwrap.dedent(
    """
    import os, pathlib
    os.remove("old.txt")
    pathlib.Path("data.bin").write_bytes(bytes(range(256)) * 3)
    pathlib.Path("src/app.py").write_text("print('fixed')\\n")
    os.makedirs("gen/deep", exist_ok=True)
    pathlib.Path("gen/deep/out.txt").write_text("generated\\n")
    """
)


def _undo_workspace(tmp_path: Path) -> tuple[Path, Config]:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "src/app.py").write_text("print('broken')\n")
    (root / "old.txt").write_text("remove me\n")
    (root / "data.bin").write_bytes(bytes(range(256)))
    (root / "script.py").write_text(FIX_SCRIPT)
    config = Config(
        phases=[
            PhaseConfig(
                name="p",
                personas=["writer", "fixer"],
                checks=[
                    exists("docs/new/notes.md", "writer", id="NOTES"),
                    CheckConfig(
                        id="GONE", kind="MUST-NOT-EXIST", owner="fixer", options={"path": "old.txt"}
                    ),
                ],
            )
        ],
        personas={
            "writer": persona(),
            "fixer": PersonaConfig(
                kind="command", options={"command": [sys.executable, "script.py"]}
            ),
        },
    )
    return root, config


def test_remediate_then_undo_is_byte_for_byte(tmp_path: Path) -> None:
    root, config = _undo_workspace(tmp_path)
    before = tree(root)
    result = asyncio.run(remediate(Workspace(root), config, session_id="u2"))
    assert result.passed
    assert {(c.path, c.kind) for c in result.changes} == {
        ("docs/new/notes.md", "created"),
        ("old.txt", "deleted"),
        ("data.bin", "modified"),
        ("src/app.py", "modified"),
        ("gen/deep/out.txt", "created"),
    }
    assert tree(root) != before
    res = undo(Workspace(root))
    assert res.label == result.label and res.session_id == "u2"
    assert tree(root) == before  # every file's bytes, the file list and the directories
    meta = json.loads(
        (root / ".phasegate/sessions/u2/backups" / res.label / "meta.json").read_text()
    )
    assert meta["undone"] is True
    with pytest.raises(RemediationError, match="no remediation to undo"):
        undo(Workspace(root))


def test_undo_goes_back_one_remediation_at_a_time(tmp_path: Path) -> None:
    config = Config(
        phases=[PhaseConfig(name="p", personas=["alice"], checks=[exists("a.txt", "alice")])],
        personas={"alice": persona()},
    )
    before = tree(tmp_path)
    asyncio.run(remediate(Workspace(tmp_path), config, session_id="m1"))
    mid = tree(tmp_path)
    config.phases[0].checks.append(exists("b.txt", "alice", id="EXISTS-b"))
    asyncio.run(remediate(Workspace(tmp_path), config, session_id="m1"))
    assert (tmp_path / "b.txt").exists()
    assert undo(Workspace(tmp_path), "m1").label == "remediation-002"
    assert tree(tmp_path) == mid
    assert undo(Workspace(tmp_path), "m1").label == "remediation-001"
    assert tree(tmp_path) == before


def test_undo_refuses_to_lose_later_edits_unless_forced(tmp_path: Path) -> None:
    config = Config(
        phases=[PhaseConfig(name="p", personas=["alice"], checks=[exists("a.txt", "alice")])],
        personas={"alice": persona()},
    )
    asyncio.run(remediate(Workspace(tmp_path), config, session_id="c1"))
    (tmp_path / "a.txt").write_text("my own edit\n")
    with pytest.raises(RemediationError, match=r"a\.txt"):
        undo(Workspace(tmp_path))
    assert (tmp_path / "a.txt").read_text() == "my own edit\n"
    res = undo(Workspace(tmp_path), force=True)
    assert not (tmp_path / "a.txt").exists()
    kept = tmp_path / ".phasegate/sessions/c1/backups" / str(res.saved_as) / "files/a.txt"
    assert kept.read_text() == "my own edit\n"


def test_events_are_journaled_without_changing_the_session_state(tmp_path: Path) -> None:
    config = Config(
        phases=[PhaseConfig(name="p", personas=["alice"], checks=[exists("a.txt", "alice")])],
        personas={"alice": persona()},
    )
    asyncio.run(remediate(Workspace(tmp_path), config, session_id="j1"))
    events = SessionStore(tmp_path).read_events("j1")
    steps = [e.data["step"] for e in events]
    assert steps[0] == "started" and steps[-1] == "finished"
    assert "persona_finished" in steps and "backup" in steps
    assert {e.kind for e in events} == {"remediation", "remediation_backup"}
    assert state_from_events(events) is None  # not an executor session


def test_cli_remediate_and_undo(tmp_path: Path) -> None:
    (tmp_path / "phasegate.toml").write_text(
        textwrap.dedent(
            """
            [[phases]]
            name = "p"
            personas = ["alice"]
            [[phases.checks]]
            id = "EXISTS-A"
            kind = "MUST-EXIST"
            owner = "alice"
            options = { path = "a.txt" }
            [personas.alice]
            kind = "counting"
            """
        )
    )
    before = tree(tmp_path)
    runner = CliRunner()
    res = runner.invoke(cli, ["remediate", str(tmp_path), "--session", "cli1"])
    assert res.exit_code == 0, res.output
    assert "created  a.txt" in res.output
    assert f"phasegate undo --session cli1 {tmp_path.resolve()}" in res.output
    res = runner.invoke(cli, ["remediate", str(tmp_path), "--format", "json"])
    assert res.exit_code == 0
    assert json.loads(res.stdout)["changes"] == []
    res = runner.invoke(cli, ["undo", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "deleted   a.txt" in res.output
    assert tree(tmp_path) == before
    res = runner.invoke(cli, ["undo", str(tmp_path)])
    assert res.exit_code == 2 and "no remediation to undo" in res.output
    res = runner.invoke(cli, ["remediate", str(tmp_path), "--phase", "nope"])
    assert res.exit_code == 2 and "unknown phase" in res.output
    res = runner.invoke(cli, ["remediate", str(tmp_path), "--session", "../../x"])
    assert res.exit_code == 2 and "invalid session id" in res.output
    (tmp_path / "phasegate.toml").write_text("thresholds = 'high'\n")
    res = runner.invoke(cli, ["remediate", str(tmp_path)])
    assert res.exit_code == 2


def test_cli_exit_1_when_a_gate_still_fails(tmp_path: Path) -> None:
    (tmp_path / "phasegate.toml").write_text(
        textwrap.dedent(
            """
            [[phases]]
            name = "p"
            personas = ["carol"]
            [[phases.checks]]
            id = "EXISTS-C"
            kind = "MUST-EXIST"
            owner = "carol"
            options = { path = "c.txt" }
            [personas.carol]
            kind = "counting"
            options = { fix = false }
            """
        )
    )
    res = CliRunner().invoke(cli, ["remediate", str(tmp_path)])
    assert res.exit_code == 1, res.output
    assert "No file changed." in res.output
    assert set(os.listdir(tmp_path)) == {"phasegate.toml", ".phasegate"}


def test_default_pipeline_remediate_then_undo(tmp_path: Path) -> None:
    """The built-in pipeline with its scaffold personas, on a bare project, then undo.

    Untrusted, so that no check runs the workspace's tests: the test runner's own side
    files (plugin folders) are not the remediation's to undo."""
    (tmp_path / "app.py").write_text("print('hi')\n")
    before = tree(tmp_path)
    result = asyncio.run(remediate(Workspace(tmp_path), Config(), trusted=False))
    created = {c.path for c in result.changes if c.kind == "created"}
    assert {"docs/requirements.md", "docs/design.md", "Dockerfile", "README.md"} <= created
    assert {c.kind for c in result.changes} == {"created"}
    statuses = {p.phase: p.status for p in result.phases}
    assert statuses["deployment"] == "completed"
    undo(Workspace(tmp_path))
    assert tree(tmp_path) == before


def test_a_session_locked_elsewhere_is_refused_unless_its_store_is_shared(tmp_path: Path) -> None:
    config = Config(
        phases=[PhaseConfig(name="p", personas=["alice"], checks=[exists("a.txt", "alice")])],
        personas={"alice": persona()},
    )
    owner = SessionStore(tmp_path)
    owner.lock("busy")
    try:
        with pytest.raises(RemediationError, match="--session"):
            asyncio.run(remediate(Workspace(tmp_path), config, session_id="busy"))
        assert not (tmp_path / "a.txt").exists()
        result = asyncio.run(remediate(Workspace(tmp_path), config, session_id="busy", store=owner))
        assert result.passed and owner.holds_lock("busy")  # the owner keeps its lock
    finally:
        owner.unlock_all()


def test_the_reason_a_gate_fails_names_what_failed_it() -> None:
    from phasegate.model import GateResult
    from phasegate.remediate import gate_reason

    def gate(**kw: object) -> GateResult:
        base: dict[str, object] = {"phase": "p", "score": 0.94, "threshold": 0.8, "passed": False}
        return GateResult.model_validate({**base, **kw})

    assert gate_reason(gate(passed=True)) == "0.94 >= 0.80"
    assert gate_reason(gate(score=0.5)) == "0.50 < 0.80"
    assert (
        gate_reason(gate(blocking_failed=["TEST-PYTEST"]))
        == "0.94 >= 0.80, but blocking TEST-PYTEST failed"
    )
    assert gate_reason(gate(held=["IMPL-LINT"])) == (
        "0.94 >= 0.80, but new blocking findings in IMPL-LINT"
    )
    assert "no check could be judged" in gate_reason(gate())
