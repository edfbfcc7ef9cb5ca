"""The Markdown document model: ids, requirements in three formats, designs, placeholders."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phasegate.checks._placeholders import PlaceholderScanner, has_placeholder
from phasegate.config import Config
from phasegate.documents import (
    REQ_ID_RE,
    IdRef,
    design_locations,
    designs_for,
    find_id_references,
    id_regex,
    load_requirements,
    outline,
    parse_design,
    parse_requirements,
    requirement_index,
    split_lines,
)
from phasegate.workspace import Workspace

SPEC_KIT = """\
# Feature Specification: Photo albums

**Feature Branch**: `001-photo-albums`
**Created**: 2025-01-10
**Status**: Draft
**Input**: User description: "Organise photos into albums"

## User Scenarios & Testing *(mandatory)*

### User Story 1 - Create an album (Priority: P1)

A user groups photos into a named album.

**Why this priority**: it is the core of the feature.

**Acceptance Scenarios**:

1. **Given** a user with 3 photos, **When** they create album "Trip" with 2 of them, \
**Then** the album lists those 2 photos.
2. **Given** an album, **When** the user renames it, **Then** the new name shows everywhere.

### Edge Cases

- What happens when an album is empty?

## Requirements *(mandatory)*

### Functional Requirements

- **FR-001**: System MUST let users create albums with a name.
- **FR-002**: System MUST let users add photos to an album.
- **FR-003**: System MUST authenticate users via [NEEDS CLARIFICATION: auth method not specified]

### Key Entities

- **Album**: a named set of photos.

## Success Criteria *(mandatory)*

### Measurable Outcomes

- **SC-001**: Users create an album in under 30 seconds.
"""

KIRO = """\
# Requirements Document

## Introduction

A command line tool that converts CSV files to JSON.

## Requirements

### Requirement 1

**User Story:** As a data analyst, I want to convert a CSV file to JSON, so that I can load it.

#### Acceptance Criteria

1. WHEN the user runs `csv2json data.csv` THEN the system SHALL write `data.json`
2. IF the input file does not exist THEN the system SHALL exit with status 2

### Requirement 2: Streaming

**User Story:** As an operator, I want large files streamed, so that memory stays bounded.

#### Acceptance Criteria

1. WHEN the input is larger than 1 GB THEN the system SHALL keep memory under 100 MB
"""

OURS = """\
# Shop — requirements

## Overview

A small web shop.

## Functional requirements

### REQ-001: Catalogue

Visitors browse products.

Acceptance criteria:
- Products are listed by name.
- An empty catalogue shows "no products".

### REQ-002: Cart

- Given a product, when the visitor adds it, then the cart holds it.

- **REQ-003** Checkout: a visitor pays for the cart.
  - Acceptance criteria:
    - A paid order gets a number.
- REQ-004: Refunds within 30 days.

REQ-005: Invoices are e-mailed.

| id | requirement | acceptance |
|---|---|---|
| REQ-006 | Stock is tracked | Selling the last item marks it sold out |
| REQ-007 | Prices include VAT | |

```text
REQ-099: not a requirement, this is code
```

## Acceptance criteria

- REQ-004: Given an order of 10 days ago, when refunded, then the money is returned.
- REQ-005: TODO: write it
"""


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.split("\n")) if needle in line)


def test_id_pattern_defaults_and_custom_prefixes() -> None:
    text = "REQ-001, FR-12 and NFR-3 but not XREQ-1, REQ-1a, SC-001 or US-"
    assert [m.group(0) for m in REQ_ID_RE.finditer(text)] == ["REQ-001", "FR-12", "NFR-3"]
    custom = id_regex(["SC", "REQ"])
    assert [m.group(0) for m in custom.finditer(text)] == ["REQ-001", "SC-001"]


def test_find_id_references_positions_and_kiro_aliases() -> None:
    text = "intro\n  see REQ-002 and FR-001.\nValidates: Requirements 1.1, 2.3\n_Requirements: 3.1_"
    refs = find_id_references(text)
    assert refs == [
        IdRef("REQ-002", 1, 6, 13),
        IdRef("FR-001", 1, 18, 24),
        IdRef("REQ-1", 2, 24, 27),
        IdRef("REQ-2", 2, 29, 32),
        IdRef("REQ-3", 3, 15, 18),
    ]
    line = text.split("\n")[1]
    assert line[6:13] == "REQ-002"
    assert [r.id for r in find_id_references(text, aliases=False)] == ["REQ-002", "FR-001"]


def test_our_format_every_definition_style() -> None:
    doc = parse_requirements(OURS, "docs/requirements.md")
    assert doc.format == "phasegate"
    assert doc.title == "Shop — requirements"
    got = {r.id: r for r in doc.requirements}
    assert list(got) == [f"REQ-00{n}" for n in range(1, 8)]
    kinds = {rid: r.kind for rid, r in got.items()}
    assert kinds == {
        "REQ-001": "heading",
        "REQ-002": "heading",
        "REQ-003": "item",
        "REQ-004": "item",
        "REQ-005": "para",
        "REQ-006": "row",
        "REQ-007": "row",
    }
    for r in doc.requirements:  # the range is the id itself
        assert OURS.split("\n")[r.line][r.character : r.end_character] == r.id
    assert got["REQ-001"].title == "Catalogue"
    assert got["REQ-003"].title == "Checkout: a visitor pays for the cart."
    assert got["REQ-006"].title == "Stock is tracked"
    assert got["REQ-001"].section == "Functional requirements"
    assert [a.text for a in got["REQ-001"].acceptance] == [
        "Products are listed by name.",
        'An empty catalogue shows "no products".',
    ]
    assert got["REQ-001"].acceptance[0].line == line_of(OURS, "Products are listed")
    assert [a.line for a in got["REQ-002"].acceptance] == [line_of(OURS, "Given a product")]
    assert [a.text for a in got["REQ-003"].acceptance] == ["A paid order gets a number."]
    # document-level criteria that name an id belong to it
    assert [a.line for a in got["REQ-004"].acceptance] == [line_of(OURS, "order of 10 days")]
    assert got["REQ-005"].acceptance[0].placeholder
    assert got["REQ-005"].real_acceptance == []
    assert [a.text for a in got["REQ-006"].acceptance] == [
        "Selling the last item marks it sold out"
    ]
    assert got["REQ-007"].acceptance == []  # empty acceptance cell
    assert "REQ-099" not in got  # ids in code blocks define nothing
    assert doc.duplicates() == []


def test_table_rows_take_criteria_from_an_acceptance_column_only() -> None:
    text = "# R\n\n| id | title | notes |\n|---|---|---|\n| REQ-001 | A | fast |\n"
    (req,) = parse_requirements(text, "r.md").requirements
    assert (req.id, req.kind, req.title, req.acceptance) == ("REQ-001", "row", "A", [])


def test_spec_kit_spec() -> None:
    doc = parse_requirements(SPEC_KIT, "specs/001-photo-albums/spec.md")
    assert doc.format == "spec-kit"
    ids = [(r.id, r.line, r.character, r.end_character) for r in doc.requirements]
    first = line_of(SPEC_KIT, "**FR-001**")
    assert ids == [
        ("FR-001", first, 4, 10),
        ("FR-002", first + 1, 4, 10),
        ("FR-003", first + 2, 4, 10),
    ]
    assert doc.requirements[0].title == "System MUST let users create albums with a name."
    assert doc.requirements[0].section == "Functional Requirements"
    assert all(r.acceptance == [] for r in doc.requirements)
    scenario_lines = [a.line for a in doc.shared_acceptance if "Given" in a.text]
    assert scenario_lines == [
        line_of(SPEC_KIT, "a user with 3 photos"),
        line_of(SPEC_KIT, "renames"),
    ]


def test_spec_kit_found_by_headings_outside_specs_folder() -> None:
    assert parse_requirements(SPEC_KIT, "docs/requirements.md").format == "spec-kit"


def test_kiro_requirements() -> None:
    doc = parse_requirements(KIRO, ".kiro/specs/csv/requirements.md")
    assert doc.format == "kiro"
    r1, r2 = doc.requirements
    assert (r1.id, r1.line) == ("REQ-1", line_of(KIRO, "### Requirement 1"))
    assert KIRO.split("\n")[r1.line][r1.character : r1.end_character] == "Requirement 1"
    assert r1.title.startswith("As a data analyst")
    assert (r2.id, r2.title) == ("REQ-2", "Streaming")
    assert [a.line for a in r1.acceptance] == [
        line_of(KIRO, "csv2json data.csv"),
        line_of(KIRO, "does not exist"),
    ]
    assert len(r2.acceptance) == 1 and not r2.acceptance[0].placeholder


def test_duplicates_point_at_the_second_definition() -> None:
    text = "# R\n\n## Requirements\n\n- REQ-001: A\n- REQ-002: B\n- REQ-001: C\n"
    doc = parse_requirements(text, "r.md")
    ((first, again),) = doc.duplicates()
    assert (first.line, again.line) == (4, 6)
    assert (again.character, again.end_character) == (2, 9)


def test_mentions_are_not_definitions() -> None:
    text = (
        "# R\n\n- REQ-001: Login\n- REQ-001 depends on the user store\n\n"
        "## Traceability\n\n- REQ-001: tests/test_login.py\n"
    )
    doc = parse_requirements(text, "r.md")
    assert [r.line for r in doc.requirements] == [2]


def test_crlf_and_setext_headings() -> None:
    text = "Shop\r\n====\r\n\r\nREQ-001\r\n-------\r\n\r\nGiven a, when b, then c.\r\n"
    doc = parse_requirements(text, "r.md")
    (r,) = doc.requirements
    assert (r.line, r.character, r.end_character) == (3, 0, 7)
    assert [a.line for a in r.acceptance] == [6]


def test_parse_design_sections_and_locations() -> None:
    text = "# D\n\nIntro REQ-009.\n\n## Components\n\n- Store (REQ-001)\n\n### Api\n\nREQ-002\n"
    d = parse_design(text, "docs/design.md")
    assert d.ids == {"REQ-001", "REQ-002", "REQ-009"}
    (loc,) = d.locate("REQ-001")
    assert (loc.path, loc.line, loc.start, loc.end, loc.section) == (
        "docs/design.md",
        6,
        9,
        16,
        "Components",
    )
    assert d.locate("REQ-002")[0].section == "Api"
    assert d.locate("REQ-009")[0].section == "D"


def test_designs_for_prefers_the_same_folder() -> None:
    a = parse_design("FR-001", "specs/001-a/plan.md")
    b = parse_design("FR-001", "specs/002-b/plan.md")
    top = parse_design("REQ-001", "docs/design.md")
    assert designs_for("specs/002-b/spec.md", [a, b, top]) == [b]
    assert designs_for("docs/requirements.md", [a, b, top]) == [top]
    assert designs_for("requirements.md", [a, b]) == [a, b]


def test_workspace_loaders_and_index(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "requirements.md").write_text("# R\n\n### REQ-001: Ours\n")
    spec = tmp_path / "specs" / "001-x"
    spec.mkdir(parents=True)
    (spec / "spec.md").write_text("# S\n\n- **FR-001**: A\n- **REQ-001**: Again\n")
    (tmp_path / "docs" / "design.md").write_text("# D\n\n## Components\n\nREQ-001 here\n")
    ws = Workspace(tmp_path)
    cfg = Config()
    reqs = load_requirements(ws, cfg)
    assert [(r.id, r.path) for r in reqs] == [
        ("REQ-001", "docs/requirements.md"),
        ("FR-001", "specs/001-x/spec.md"),
        ("REQ-001", "specs/001-x/spec.md"),
    ]
    index = requirement_index(ws, cfg)
    assert index["REQ-001"].path == "docs/requirements.md"  # first definition wins
    locs = design_locations(ws, cfg)
    assert [(d.path, d.line, d.section) for d in locs["REQ-001"]] == [
        ("docs/design.md", 4, "Components")
    ]


def test_custom_prefixes_from_config(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "requirements.md").write_text("# R\n\n- **STORY-7**: A\n- REQ-1: B\n")
    cfg = Config.model_validate({"artifacts": {"requirement_id_prefixes": ["STORY"]}})
    assert [r.id for r in load_requirements(Workspace(tmp_path), cfg)] == ["STORY-7"]
    with pytest.raises(ValueError, match="prefix"):
        Config.model_validate({"artifacts": {"requirement_id_prefixes": ["bad-"]}})


def test_parsing_is_cached_by_content() -> None:
    a = parse_requirements(OURS, "docs/requirements.md")
    assert parse_requirements(OURS, "docs/requirements.md") is a
    changed = parse_requirements(
        OURS.replace("REQ-002: Cart", "REQ-010: Cart"), "docs/requirements.md"
    )
    assert changed is not a and changed.requirements[1].id == "REQ-010"


def test_outline_code_lines_and_labels() -> None:
    text = "# T\n\n```\nTODO\n```\n\n    indented\n\n**Storage**: files\n\nAcceptance criteria:\n"
    ol = outline(text)
    assert ol.code_lines == frozenset({2, 3, 4, 6})
    assert [(lb.title, lb.rest, lb.bold) for lb in ol.labels] == [
        ("Storage", "files", True),
        ("Acceptance criteria", "", False),
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Latency is TBD.", [("TBD", 11, 14)]),
        ("- [ ] TODO: write it", [("TODO", 6, 10)]),
        ("FIXME and XXX", [("FIXME", 0, 5), ("XXX", 10, 13)]),
        ("Auth via [NEEDS CLARIFICATION: which?] now", [("[NEEDS CLARIFICATION: which?]", 9, 38)]),
        ("Lorem Ipsum dolor", [("Lorem Ipsum", 0, 11)]),
        ("Call <project name> now", [("<project name>", 5, 19)]),
        ("# Feature: [FEATURE NAME]", [("[FEATURE NAME]", 11, 25)]),
        ("- ...", [("...", 2, 5)]),
        ("| a | ... |", [("...", 6, 9)]),
        ("use `TODO` in code and https://x.org/TODO", []),
        ("a todo app, <br> and <details>, [x] done, [API]", []),
        ("it goes on... and on", []),
    ],
)
def test_placeholder_scanner(line: str, expected: list[tuple[str, int, int]]) -> None:
    found = PlaceholderScanner().scan_line(line)
    assert [(p.text, p.start, p.end) for p in found] == expected
    for p in found:
        assert line[p.start : p.end] == p.text


def test_placeholder_scanner_skips_lines_reference_labels_and_custom_patterns() -> None:
    lines = ["[SPEC LINK] is defined", "TODO", "", "[SPEC LINK]: https://example.org", "WIP here"]
    found = PlaceholderScanner(extra=[r"\bWIP\b"]).scan(lines, skip={1})
    assert [(p.line, p.text, p.kind) for p in found] == [(4, "WIP", "custom")]
    assert has_placeholder("a\nTBD") and not has_placeholder("all done")
    assert PlaceholderScanner(disable=["TODO"]).scan_line("TODO") == []


def test_documented_definition_and_criteria_forms() -> None:
    text = (
        "# R\n\n## Requirements\n\n"
        "1. `REQ-004` Export\n"
        "   - Acceptance: the export opens in a spreadsheet.\n"
        "- REQ-008: Audit\n"
        "  - THE system SHALL log every change\n"
        "- REQ-009: Backup\n"
        "  - Scenario: nightly backup runs at 2am\n"
        "- REQ-010: Restore\n"
        "  - Verification:\n"
        "    - a restored board equals the saved one\n"
        "- REQ-011: Nothing\n"
        "  - it is nice\n"
    )
    got = {
        r.id: [a.text for a in r.acceptance] for r in parse_requirements(text, "r.md").requirements
    }
    assert got == {
        "REQ-004": ["the export opens in a spreadsheet."],
        "REQ-008": ["THE system SHALL log every change"],
        "REQ-009": ["nightly backup runs at 2am"],
        "REQ-010": ["a restored board equals the saved one"],
        "REQ-011": [],
    }


_MD_ALPHABET = [
    *"#-*_`>|[]():.!? \n\r\tabcREQFRNT0123456789GivenWHENSHALL",
    "REQ-001",
    "- **FR-002**: ",
    "### Requirement 3\n",
    "Acceptance criteria:\n",
    "```\n",
    "TODO",
    "| REQ-004 | x |\n",
    "é",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_MD_ALPHABET), max_size=120).map("".join))
def test_parsing_never_fails_and_ranges_point_at_ids(text: str) -> None:
    lines = split_lines(text)
    doc = parse_requirements(text, "r.md")
    for r in doc.requirements:
        assert 0 <= r.line < len(lines) and r.line < r.end_line
        located = lines[r.line][r.character : r.end_character]
        assert located == r.id or (r.format == "kiro" and located.lower().startswith("requirement"))
        for a in r.acceptance:
            assert 0 <= a.line < len(lines)
    design = parse_design(text, "d.md")
    for ref in design.refs:
        assert 0 <= ref.start < ref.end <= len(lines[ref.line])
    for p in PlaceholderScanner().scan(lines):
        assert lines[p.line][p.start : p.end] == p.text
