"""The scaffold persona writes the Requirements and Design skeletons, never overwrites,
and its documents fail the gates exactly on the placeholders it leaves."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from phasegate.config import Config
from phasegate.model import GateResult
from phasegate.personas import scaffold
from phasegate.personas.base import (
    PersonaContext,
    PersonaResult,
    PersonaTask,
    make_persona,
    registered_personas,
)
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace

REQUIREMENT = (
    "Create a task management system. Users assign tasks to each other; "
    "overdue tasks are listed first!"
)


def run_persona(
    root: Path, phase: str, persona: str = "requirement_analyst", config: Config | None = None
) -> PersonaResult:
    ws = Workspace(root)
    cfg = config or Config()
    task = PersonaTask(
        session_id="s1",
        requirement=REQUIREMENT,
        phase=phase,
        phase_title=phase.capitalize(),
        persona=persona,
        role="",
        iteration=1,
        reason="iteration 1: all personas",
        workspace=str(root),
    )
    return asyncio.run(make_persona(persona, cfg).run(task, PersonaContext(ws, cfg, 30.0)))


def evaluate(root: Path, phase: str) -> GateResult:
    return GateRunner(Workspace(root), Config()).evaluate(phase, Config().threshold(1))


def todo_lines(text: str) -> list[int]:
    return [i for i, line in enumerate(text.split("\n")) if "TODO" in line]


def test_scaffold_is_registered_and_offline() -> None:
    assert registered_personas()["scaffold"] is scaffold.ScaffoldPersona
    persona = make_persona("requirement_analyst", Config())
    assert isinstance(persona, scaffold.ScaffoldPersona)
    assert scaffold.ScaffoldPersona.runs_workspace_code is False


def test_split_clauses() -> None:
    assert scaffold.split_clauses(REQUIREMENT) == [
        "Create a task management system",
        "Users assign tasks to each other",
        "overdue tasks are listed first",
    ]
    assert scaffold.split_clauses("- one\n- two\n\n3. three") == ["one", "two", "three"]
    assert scaffold.split_clauses("   ") == []


def test_requirements_skeleton_fails_only_on_its_placeholders_then_passes(tmp_path: Path) -> None:
    res = run_persona(tmp_path, "requirements")
    assert res.ok and res.files_changed == ["docs/requirements.md"]
    path = tmp_path / "docs" / "requirements.md"
    text = path.read_text()
    assert re.findall(r"^### (REQ-\d{3}): (.*)$", text, re.M) == [
        ("REQ-001", "Create a task management system"),
        ("REQ-002", "Users assign tasks to each other"),
        ("REQ-003", "Overdue tasks are listed first"),
    ]

    gate = evaluate(tmp_path, "requirements")
    assert not gate.passed
    by_id = {c.id: c for c in gate.checks}
    for cid in ("REQ-EXISTS", "REQ-SECTIONS", "REQ-IDS"):
        assert by_id[cid].passed and by_id[cid].findings == [], cid
    placeholders = by_id["REQ-PLACEHOLDER"].findings
    assert [f.range.start.line for f in placeholders] == todo_lines(text)
    for f in placeholders:
        line = text.split("\n")[f.range.start.line]
        assert line[f.range.start.character : f.range.end.character] == "TODO"
    acceptance = by_id["REQ-ACCEPTANCE"]
    assert acceptance.score == 0.0
    lines = text.split("\n")
    assert [f.range.start.line for f in acceptance.findings] == [
        i for i, line in enumerate(lines) if line.startswith("### REQ-")
    ]

    # A person replaces the placeholders by real criteria: the gate passes.
    criteria = iter(
        [
            "- [ ] Given a title, when a task is created, then it is listed as open.",
            "- [ ] Given two users, when one assigns a task to the other, then it shows as theirs.",
            "- [ ] Given an overdue and a due task, when listed, then the overdue one is first.",
            "- Listing 10,000 tasks takes less than 100 ms.",
        ]
    )
    filled = "\n".join(next(criteria) if "TODO" in line else line for line in lines)
    path.write_text(filled)
    gate = evaluate(tmp_path, "requirements")
    assert gate.passed and gate.score == 1.0, [(c.id, c.findings) for c in gate.checks]

    # Running again never overwrites the person's document.
    again = run_persona(tmp_path, "requirements")
    assert again.ok and again.files_changed == [] and "exists" in again.message
    assert path.read_text() == filled


def test_design_skeleton_traces_every_requirement_then_passes(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "requirements.md").write_text(
        "# Requirements: Board\n\n## Overview\n\nA board.\n\n## Functional requirements\n\n"
        "### REQ-001: Tasks\n\nAcceptance criteria:\n- A task is saved.\n\n"
        "### REQ-002: Users\n\nAcceptance criteria:\n- A user is saved.\n\n"
        "## Non-functional requirements\n\n- Fast.\n"
    )
    res = run_persona(tmp_path, "design", "solution_architect")
    assert res.ok and res.files_changed == ["docs/design.md"]
    second = run_persona(tmp_path, "design", "security_specialist")
    assert second.ok and second.files_changed == []
    path = tmp_path / "docs" / "design.md"
    text = path.read_text()
    assert text.startswith("# Design: Board\n")
    assert re.findall(r"^### (REQ-\d{3})", text, re.M) == ["REQ-001", "REQ-002"]

    gate = evaluate(tmp_path, "design")
    assert not gate.passed
    by_id = {c.id: c for c in gate.checks}
    for cid in ("DES-EXISTS", "DES-SECTIONS", "DES-TRACE"):
        assert by_id[cid].passed and by_id[cid].findings == [], cid
    findings = by_id["DES-PLACEHOLDER"].findings
    assert [f.range.start.line for f in findings] == todo_lines(text)
    risks_line = text.split("\n").index("## Risks")
    owners = {f.owner for f in findings if f.range.start.line > risks_line}
    assert owners == {"security_specialist"}
    assert {f.owner for f in findings if f.range.start.line < risks_line} == {"solution_architect"}

    filled = "\n".join(
        "The layers and flows are described here in full." if "TODO" in line else line
        for line in text.split("\n")
    )
    path.write_text(filled)
    gate = evaluate(tmp_path, "design")
    assert gate.passed and gate.score == 1.0, [(c.id, c.findings) for c in gate.checks]


def test_existing_spec_kit_spec_is_never_shadowed(tmp_path: Path) -> None:
    spec = tmp_path / "specs" / "001-x" / "spec.md"
    spec.parent.mkdir(parents=True)
    spec.write_text("# Feature Specification: X\n\n- **FR-001**: System MUST x.\n")
    res = run_persona(tmp_path, "requirements")
    assert res.ok and res.files_changed == [] and "specs/001-x/spec.md exists" in res.message
    assert not (tmp_path / "docs").exists()


def test_other_phases_have_nothing_to_scaffold_yet(tmp_path: Path) -> None:
    res = run_persona(tmp_path, "review", "qa_engineer")
    assert res.ok and res.files_changed == []
    assert res.message == "nothing to scaffold for phase review"
    assert list(tmp_path.iterdir()) == []


def test_a_phase_is_one_registered_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def write_notes(task: PersonaTask, ctx: PersonaContext) -> PersonaResult:
        ctx.write_text("NOTES.md", f"# Notes for {task.phase}\n")
        return PersonaResult(files_changed=["NOTES.md"])

    monkeypatch.setitem(scaffold.PHASE_WRITERS, "review", write_notes)
    res = run_persona(tmp_path, "review", "qa_engineer")
    assert res.files_changed == ["NOTES.md"]
    assert (tmp_path / "NOTES.md").read_text() == "# Notes for review\n"


def test_writer_option_maps_a_renamed_phase(tmp_path: Path) -> None:
    cfg = Config.model_validate(
        {"personas": {"analyst": {"kind": "scaffold", "options": {"writer": "requirements"}}}}
    )
    res = run_persona(tmp_path, "specify", "analyst", cfg)
    assert res.files_changed == ["docs/requirements.md"]


def test_configured_target_and_markdown_safe_text(tmp_path: Path) -> None:
    cfg = Config.model_validate({"artifacts": {"requirements": ["REQUIREMENTS.md"]}})
    ws = Workspace(tmp_path)
    task = PersonaTask(
        session_id="s",
        requirement="# Not a heading\n- > quoted",
        phase="requirements",
        phase_title="Requirements",
        persona="requirement_analyst",
        role="",
        iteration=1,
        reason="",
        workspace=str(tmp_path),
    )
    persona = make_persona("requirement_analyst", cfg)
    res = asyncio.run(persona.run(task, PersonaContext(ws, cfg, 30.0)))
    assert res.files_changed == ["REQUIREMENTS.md"]
    text = (tmp_path / "REQUIREMENTS.md").read_text()
    assert text.count("\n# ") == 0 and text.startswith("# Requirements: \\# Not a heading")


def test_write_outside_the_workspace_is_refused(tmp_path: Path) -> None:
    cfg = Config.model_validate({"artifacts": {"requirements": ["../escape.md"]}})
    res = run_persona(tmp_path, "requirements", config=cfg)
    assert not res.ok and res.error and "outside the workspace" in res.error
    assert not (tmp_path.parent / "escape.md").exists()
