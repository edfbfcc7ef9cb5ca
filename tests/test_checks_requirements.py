"""The Requirements checks, run through the gate runner on real workspaces."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from phasegate.config import Config
from phasegate.model import CheckResult, GateResult, Severity, TextEdit
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "taskboard"

GOOD = """\
# Notes — requirements

## Overview

A note-taking library.

## Functional requirements

### REQ-001: Create notes

A user writes a note with a title.

Acceptance criteria:
- A note with a title is saved and gets an id.
- A note without a title is rejected.

### REQ-002: Search

- Given two notes, when the user searches a word of one, then only that note is listed.

## Non-functional requirements

- Searching 10,000 notes takes less than 50 ms.
"""


def gate(root: Path, config: Config | None = None, threshold: float = 0.6) -> GateResult:
    return GateRunner(Workspace(root), config or Config()).evaluate("requirements", threshold)


def result(g: GateResult, check_id: str) -> CheckResult:
    return next(c for c in g.checks if c.id == check_id)


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def apply_edits(text: str, edits: list[TextEdit]) -> str:
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    for e in sorted(
        edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
    ):
        a = offsets[e.range.start.line] + e.range.start.character
        b = offsets[e.range.end.line] + e.range.end.character
        text = text[:a] + e.new_text + text[b:]
    return text


def test_good_document_passes_every_check(tmp_path: Path) -> None:
    write(tmp_path, "docs/requirements.md", GOOD)
    g = gate(tmp_path)
    assert g.passed and g.score == 1.0
    assert [(c.id, c.passed, c.findings) for c in g.checks] == [
        (cid, True, [])
        for cid in ["REQ-EXISTS", "REQ-SECTIONS", "REQ-IDS", "REQ-ACCEPTANCE", "REQ-PLACEHOLDER"]
    ]


def test_missing_document_blocks_the_gate_with_a_finding_where_to_create_it(tmp_path: Path) -> None:
    g = gate(tmp_path, threshold=0.0)
    assert not g.passed and g.blocking_failed == ["REQ-EXISTS"]
    (f,) = result(g, "REQ-EXISTS").findings
    assert f.path == "docs/requirements.md" and f.missing_file
    assert f.severity == Severity.ERROR and f.owner == "requirement_analyst"
    assert "create docs/requirements.md" in f.message and "specs/*/spec.md" in f.message
    for cid in ["REQ-SECTIONS", "REQ-IDS", "REQ-ACCEPTANCE"]:
        r = result(g, cid)
        assert (r.passed, r.score, r.findings) == (False, 0.0, [])


def test_missing_document_target_follows_configured_artifacts(tmp_path: Path) -> None:
    cfg = Config.model_validate({"artifacts": {"requirements": ["specs/*/spec.md", "REQS.md"]}})
    (f,) = result(gate(tmp_path, cfg), "REQ-EXISTS").findings
    assert f.path == "REQS.md"


def test_empty_document_fails_exists(tmp_path: Path) -> None:
    write(tmp_path, "docs/requirements.md", "\n  \n")
    r = result(gate(tmp_path), "REQ-EXISTS")
    assert not r.passed and "is empty" in r.findings[0].message


def test_spec_kit_document_alone_satisfies_the_gate_structure(tmp_path: Path) -> None:
    spec = (Path(__file__).parent / "test_documents.py").read_text()
    text = spec.split('SPEC_KIT = """\\\n', 1)[1].split('"""', 1)[0].replace("\\\n", "")
    write(tmp_path, "specs/001-photo-albums/spec.md", text)
    g = gate(tmp_path)
    assert result(g, "REQ-EXISTS").passed
    assert result(g, "REQ-SECTIONS").findings == []
    assert result(g, "REQ-IDS").passed
    # functional requirements are covered by the user stories' acceptance scenarios
    assert result(g, "REQ-ACCEPTANCE").score == 1.0
    (clarify,) = result(g, "REQ-PLACEHOLDER").findings
    line = text.split("\n")[clarify.range.start.line]
    assert line[clarify.range.start.character : clarify.range.end.character] == (
        "[NEEDS CLARIFICATION: auth method not specified]"
    )


def test_kiro_document_passes_structure_and_acceptance(tmp_path: Path) -> None:
    spec = (Path(__file__).parent / "test_documents.py").read_text()
    text = spec.split('KIRO = """\\\n', 1)[1].split('"""', 1)[0]
    write(tmp_path, ".kiro/specs/csv/requirements.md", text)
    g = gate(tmp_path)
    assert g.passed and g.score == 1.0, [(c.id, c.findings) for c in g.checks]


def test_missing_sections_have_findings_and_fixes_that_add_them(tmp_path: Path) -> None:
    text = "# Notes\n\n## Requirements\n\n- **REQ-001**: Notes\n  - Given a, when b, then c.\n"
    write(tmp_path, "docs/requirements.md", text)
    r = result(gate(tmp_path), "REQ-SECTIONS")
    assert not r.passed and r.score == pytest.approx(2 / 4)
    names = [f.message.split("'")[1] for f in r.findings]
    assert names == ["Overview", "Non-functional requirements"]
    for f in r.findings:
        assert (f.range.start.line, f.range.start.character, f.range.end.character) == (0, 0, 7)
        assert f.fix is not None and f.fix.edits[0].path == "docs/requirements.md"
    fixed = text
    for f in r.findings:  # apply them one after the other, as an editor would
        assert f.fix is not None
        fixed = apply_edits(fixed, f.fix.edits)
    assert fixed.endswith("\n\n## Overview\n")  # the second edit applies to the original end
    fixed = apply_edits(text, r.findings[0].fix.edits)  # type: ignore[union-attr]
    assert fixed == text + "\n## Overview\n"
    write(tmp_path, "docs/requirements.md", text + "\n## Overview\n\n## Non-functional\n")
    assert result(gate(tmp_path), "REQ-SECTIONS").findings == []


def test_insertion_fix_on_a_file_without_final_newline(tmp_path: Path) -> None:
    text = "# Notes\n\n## Overview\n\nx\n\n## Requirements\n\n- REQ-001: a\n  - Given b"
    write(tmp_path, "docs/requirements.md", text)
    r = result(gate(tmp_path), "REQ-SECTIONS")
    (f,) = r.findings
    assert f.fix is not None
    assert apply_edits(text, f.fix.edits) == text + "\n\n## Non-functional requirements\n"


def test_no_ids_and_duplicate_ids(tmp_path: Path) -> None:
    write(tmp_path, "docs/requirements.md", "# R\n\n## Overview\n\nJust prose.\n")
    r = result(gate(tmp_path), "REQ-IDS")
    assert not r.passed and r.score == 0.0
    assert r.findings[0].range.start.line == 0 and "REQ-001" in r.findings[0].message

    text = GOOD.replace("### REQ-002: Search", "### REQ-001: Search")
    write(tmp_path, "docs/requirements.md", text)
    r = result(gate(tmp_path), "REQ-IDS")
    (f,) = r.findings
    line = text.split("\n").index("### REQ-001: Search")
    first = text.split("\n").index("### REQ-001: Create notes")
    assert (f.range.start.line, f.range.start.character, f.range.end.character) == (line, 4, 11)
    assert f"first at docs/requirements.md line {first + 1} (Create notes)" in f.message
    assert r.score == pytest.approx(0.5)


def test_duplicates_across_our_documents_but_not_across_spec_kit_features(tmp_path: Path) -> None:
    write(tmp_path, "specs/001-a/spec.md", "# A\n\n- **FR-001**: A\n")
    write(tmp_path, "specs/002-b/spec.md", "# B\n\n- **FR-001**: B\n")
    assert result(gate(tmp_path), "REQ-IDS").findings == []
    cfg = Config.model_validate({"artifacts": {"requirements": ["docs/*.md"]}})
    write(tmp_path, "docs/a.md", "# A\n\n- REQ-001: A\n")
    write(tmp_path, "docs/b.md", "# B\n\n- REQ-001: B\n")
    (f,) = result(gate(tmp_path, cfg), "REQ-IDS").findings
    assert f.path == "docs/b.md" and "first at docs/a.md line 3" in f.message


def test_acceptance_score_and_findings_on_the_requirement_id(tmp_path: Path) -> None:
    text = (
        GOOD.replace(
            GOOD.split("\n")[GOOD.split("\n").index("### REQ-002: Search") + 2],
            "Search is fast.",
        )
        + "\n### REQ-003: Export\n\nAcceptance criteria:\n- [ ] TBD\n"
    )
    write(tmp_path, "docs/requirements.md", text)
    r = result(gate(tmp_path), "REQ-ACCEPTANCE")
    assert r.score == pytest.approx(1 / 3)
    lines = text.split("\n")
    assert [
        (f.range.start.line, f.range.start.character, f.range.end.character) for f in r.findings
    ] == [
        (lines.index("### REQ-002: Search"), 4, 11),
        (lines.index("### REQ-003: Export"), 4, 11),
    ]
    assert "REQ-002 (Search) has no acceptance criteria" in r.findings[0].message
    assert f"only placeholder acceptance criteria (line {lines.index('- [ ] TBD') + 1})" in (
        r.findings[1].message
    )


def test_placeholders_exact_ranges_ignoring_code(tmp_path: Path) -> None:
    text = (
        GOOD
        + "\n## Open points\n\nRetention is TBD.\n\n```\nTODO in code\n```\n\nUse `XXX` inline.\n"
    )
    write(tmp_path, "docs/requirements.md", text)
    r = result(gate(tmp_path), "REQ-PLACEHOLDER")
    (f,) = r.findings
    line = text.split("\n").index("Retention is TBD.")
    assert (f.range.start.line, f.range.start.character, f.range.end.character) == (line, 13, 16)
    assert f.severity == Severity.WARNING and not r.passed
    assert 0.0 < r.score < 1.0


def test_placeholder_score_decreases_with_count(tmp_path: Path) -> None:
    scores = []
    for n in range(3):
        write(tmp_path, "docs/requirements.md", GOOD + "\n## More\n\n" + "TODO\n\n" * n)
        scores.append(result(gate(tmp_path), "REQ-PLACEHOLDER").score)
    assert scores[0] == 1.0 and scores[0] > scores[1] > scores[2]


def test_placeholder_options_validate(tmp_path: Path) -> None:
    write(tmp_path, "docs/requirements.md", GOOD + "\nTBD and WIP\n")
    cfg = Config.model_validate(
        {
            "phases": [
                {
                    "name": "requirements",
                    "checks": [
                        {
                            "id": "REQ-PLACEHOLDER",
                            "options": {"disable": ["TBD"], "extra_patterns": [r"\bWIP\b"]},
                        }
                    ],
                }
            ]
        }
    )
    (f,) = result(gate(tmp_path, cfg), "REQ-PLACEHOLDER").findings
    assert "WIP" in f.message
    bad = cfg.model_copy(deep=True)
    bad.phases[0].checks[0].options = {"disable": ["NOPE"]}
    with pytest.raises(ValueError, match="unknown placeholder patterns"):
        gate(tmp_path, bad)


def test_the_example_workspace_fails_where_its_readme_says(tmp_path: Path) -> None:
    root = tmp_path / "taskboard"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", ".phasegate"))
    g = gate(root)
    failing = {c.id: c.findings for c in g.checks if not c.passed}
    assert set(failing) == {"REQ-ACCEPTANCE", "REQ-PLACEHOLDER"}
    text = (root / "docs" / "requirements.md").read_text().split("\n")
    (acc,) = failing["REQ-ACCEPTANCE"]
    assert acc.range.start.line == text.index("### REQ-004: Assignment")
    (tbd,) = failing["REQ-PLACEHOLDER"]
    assert text[tbd.range.start.line][tbd.range.start.character : tbd.range.end.character] == "TBD"
    assert tbd.range.start.line == max(i for i, line in enumerate(text) if line.strip())
