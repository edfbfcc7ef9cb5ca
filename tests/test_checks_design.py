"""The Design checks, run through the gate runner on real workspaces."""

from __future__ import annotations

from pathlib import Path

import pytest

from phasegate.config import Config
from phasegate.model import CheckResult, GateResult, Severity
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace

REQS = """\
# Notes — requirements

## Overview

A note-taking library.

## Functional requirements

### REQ-001: Create notes

Acceptance criteria:
- A note with a title is saved.

### REQ-002: Search

Acceptance criteria:
- Searching a word lists the notes that hold it.

## Non-functional requirements

- Search answers in 50 ms.
"""

DESIGN = """\
# Notes — design

## Architecture

A library with a storage layer and a service layer.

## Components

- `notes.store` keeps notes (REQ-001).
- `notes.search` is an inverted index (REQ-002).

## Data model

A note has an id, a title and a body.

## Interfaces

`create(title, body) -> Note`, `search(word) -> list[Note]`.

## Risks

A corrupt index file: rebuilt from the notes on start.
"""

KIRO_REQS = """\
# Requirements Document

## Introduction

Convert CSV to JSON.

## Requirements

### Requirement 1

**User Story:** As an analyst, I want JSON, so that I can load it.

#### Acceptance Criteria

1. WHEN a CSV is given THEN the system SHALL write JSON

### Requirement 2

**User Story:** As an operator, I want streaming, so that memory stays bounded.

#### Acceptance Criteria

1. WHEN the input is 1 GB THEN the system SHALL use less than 100 MB
"""

KIRO_DESIGN = """\
# Design Document

## Overview

A streaming converter.

## Architecture

Reader, converter, writer.

## Components and Interfaces

- `Reader` yields rows. _Requirements: 1.1_

## Data Models

A row is a dict.

## Error Handling

Bad rows are reported with their line number.
"""


def gate(root: Path, config: Config | None = None, threshold: float = 0.6) -> GateResult:
    return GateRunner(Workspace(root), config or Config()).evaluate("design", threshold)


def result(g: GateResult, check_id: str) -> CheckResult:
    return next(c for c in g.checks if c.id == check_id)


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_complete_design_passes(tmp_path: Path) -> None:
    write(tmp_path, "docs/requirements.md", REQS)
    write(tmp_path, "docs/design.md", DESIGN)
    g = gate(tmp_path)
    assert g.passed and g.score == 1.0, [(c.id, c.findings) for c in g.checks]


def test_missing_design_blocks_with_a_finding_where_to_create_it(tmp_path: Path) -> None:
    write(tmp_path, "docs/requirements.md", REQS)
    g = gate(tmp_path, threshold=0.0)
    assert not g.passed and g.blocking_failed == ["DES-EXISTS"]
    (f,) = result(g, "DES-EXISTS").findings
    assert (f.path, f.missing_file, f.severity) == ("docs/design.md", True, Severity.ERROR)
    # nothing is traced: every requirement is reported in the requirements document
    trace = result(g, "DES-TRACE")
    assert trace.score == 0.0 and [x.range.start.line for x in trace.findings] == [8, 13]


def test_missing_sections_owners_and_fixes(tmp_path: Path) -> None:
    text = "# Design\n\n## Architecture\n\nOne process.\n\n## Components\n\n- a (REQ-001)\n"
    write(tmp_path, "docs/design.md", text)
    r = result(gate(tmp_path), "DES-SECTIONS")
    got = [(f.message.split("'")[1], f.owner) for f in r.findings]
    assert got == [
        ("Data model", "solution_architect"),
        ("Interfaces", "solution_architect"),
        ("Risks", "security_specialist"),
    ]
    assert r.score == pytest.approx(2 / 5)
    risks = r.findings[-1]
    assert risks.fix is not None
    (edit,) = risks.fix.edits
    assert edit.new_text == "\n## Risks\n" and edit.range.start.line == len(text.split("\n")) - 1


def test_kiro_and_spec_kit_layouts_satisfy_the_sections(tmp_path: Path) -> None:
    write(tmp_path, ".kiro/specs/csv/design.md", KIRO_DESIGN)
    plan = (
        "# Implementation Plan: Albums\n\n## Summary\n\nAlbums.\n\n## Technical Context\n\n"
        "**Language/Version**: Python 3.12\n**Storage**: SQLite\n\n## Project Structure\n\n"
        "src/ and tests/\n\n## Phase 1: Design & Contracts\n\nREST contracts.\n\n"
        "## Complexity Tracking\n\nNone.\n"
    )
    write(tmp_path, "specs/001-albums/plan.md", plan)
    assert result(gate(tmp_path), "DES-SECTIONS").findings == []


def test_trace_reports_untraced_ids_on_their_definition(tmp_path: Path) -> None:
    write(tmp_path, "docs/requirements.md", REQS)
    write(tmp_path, "docs/design.md", DESIGN.replace(" (REQ-002)", ""))
    r = result(gate(tmp_path), "DES-TRACE")
    (f,) = r.findings
    assert f.path == "docs/requirements.md" and f.owner == "solution_architect"
    line = REQS.split("\n").index("### REQ-002: Search")
    assert (f.range.start.line, f.range.start.character, f.range.end.character) == (line, 4, 11)
    assert "REQ-002 (Search) is not traced" in f.message and "docs/design.md" in f.message
    assert r.score == pytest.approx(0.5)


def test_trace_with_kiro_requirement_references(tmp_path: Path) -> None:
    write(tmp_path, ".kiro/specs/csv/requirements.md", KIRO_REQS)
    write(tmp_path, ".kiro/specs/csv/design.md", KIRO_DESIGN)
    r = result(gate(tmp_path), "DES-TRACE")
    (f,) = r.findings  # "_Requirements: 1.1_" traces Requirement 1 only
    assert "REQ-2" in f.message
    assert f.range.start.line == KIRO_REQS.split("\n").index("### Requirement 2")
    assert r.score == pytest.approx(0.5)


def test_trace_uses_the_design_of_the_same_feature_folder(tmp_path: Path) -> None:
    write(tmp_path, "specs/001-a/spec.md", "# A\n\n- **FR-001**: A\n- **FR-002**: B\n")
    write(tmp_path, "specs/001-a/plan.md", "# Plan A\n\nFR-001\n")
    write(tmp_path, "specs/002-b/spec.md", "# B\n\n- **FR-001**: C\n")
    write(tmp_path, "specs/002-b/plan.md", "# Plan B\n\nFR-001 FR-002\n")
    r = result(gate(tmp_path), "DES-TRACE")
    assert [(f.path, f.range.start.line) for f in r.findings] == [("specs/001-a/spec.md", 3)]
    assert r.score == pytest.approx(2 / 3)


def test_trace_with_no_requirements_has_nothing_to_do(tmp_path: Path) -> None:
    write(tmp_path, "docs/design.md", DESIGN)
    r = result(gate(tmp_path), "DES-TRACE")
    assert r.passed and r.score == 1.0


def test_design_placeholders_and_risk_owner(tmp_path: Path) -> None:
    write(tmp_path, "docs/requirements.md", REQS)
    text = DESIGN.replace("A note has an id", "A note has an id (TBD)").replace(
        "A corrupt index file", "XXX a corrupt index file"
    )
    write(tmp_path, "docs/design.md", text)
    r = result(gate(tmp_path), "DES-PLACEHOLDER")
    got = [(f.range.start.line, f.message.split("'")[1], f.owner) for f in r.findings]
    lines = text.split("\n")
    assert got == [
        (next(i for i, x in enumerate(lines) if "(TBD)" in x), "TBD", "solution_architect"),
        (next(i for i, x in enumerate(lines) if "XXX" in x), "XXX", "security_specialist"),
    ]
    assert r.score < 1.0
