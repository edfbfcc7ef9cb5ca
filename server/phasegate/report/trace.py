"""The traceability matrix: requirement id -> design section -> code -> tests.

* Requirements: every definition in the requirements documents
  (:func:`phasegate.documents.load_requirements`).
* Design: the sections of the design documents that mention the id
  (:func:`phasegate.documents.parse_design`).
* Code: source files that mention the id themselves (a comment, a docstring), and source
  files named in the design paragraph or list item that mentions it (a design saying
  "``taskboard/models.py``: users and handles (REQ-001)" traces REQ-001 to that file).
* Tests: test files that mention the id (``@pytest.mark.req("REQ-001")``, a docstring),
  as ``path::test_name`` when the mention belongs to a test function.

A requirement with no design section, no code or no test has that gap listed.
"""

from __future__ import annotations

import re
from pathlib import Path

from phasegate.config import Config
from phasegate.documents import (
    find_id_references,
    id_regex_for,
    load_design_docs,
    load_requirements,
)
from phasegate.report.data import Traceability, TraceRow
from phasegate.workspace import Workspace, matches

_TEST_DEF_RE = re.compile(r"^\s*(?:async\s+)?def\s+(test\w*)\s*\(")
_OTHER_DEF_RE = re.compile(r"^\s*(?:async\s+def|def|class)\s+(?!test)\w")
_LOOKAHEAD = 8  # lines between a marker and the test it decorates


def _test_name(lines: list[str], line: int) -> str | None:
    """The test function a mention on ``line`` belongs to: the ``def test_...`` a few lines
    below it (the mention is in its decorators), else the one it is inside of."""
    for ln in lines[line : line + _LOOKAHEAD]:
        m = _TEST_DEF_RE.match(ln)
        if m:
            return m.group(1)
        if _OTHER_DEF_RE.match(ln):
            break
    for ln in reversed(lines[: line + 1]):
        m = _TEST_DEF_RE.match(ln)
        if m:
            return m.group(1)
        if _OTHER_DEF_RE.match(ln) or (ln[:1].isalpha() and not ln.startswith("def")):
            return None
    return None


def _add(index: dict[str, list[str]], rid: str, value: str) -> None:
    values = index.setdefault(rid, [])
    if value not in values:
        values.append(value)


def build_traceability(root: Path, config: Config) -> Traceability:
    workspace = Workspace(root)
    pattern = id_regex_for(config)
    arts = config.artifacts
    requirements = load_requirements(workspace, config)
    designs = load_design_docs(workspace, config)
    test_files = workspace.glob(arts.tests)
    docs = {*(workspace.glob(arts.requirements)), *(d.path for d in designs)}
    sources = [
        p for p in workspace.glob(arts.sources) if p not in docs and not matches(p, arts.tests)
    ]

    design: dict[str, list[str]] = {}
    code: dict[str, list[str]] = {}
    tests: dict[str, list[str]] = {}
    for doc in designs:
        blocks = doc.outline.blocks if doc.outline is not None else []
        for ref in doc.refs:
            section = doc.section_at(ref.line)
            title = section.title if section is not None and section.title else "(preamble)"
            _add(design, ref.id, f"{doc.path} § {title}" if len(designs) > 1 else title)
            for block in blocks:
                if block.line <= ref.line < block.end:
                    for src in sources:
                        if src in block.text:
                            _add(code, ref.id, src)
    for src in sources:
        text = workspace.read_text(src)
        for ref in find_id_references(text or "", pattern, aliases=False):
            _add(code, ref.id, src)
    for path in test_files:
        text = workspace.read_text(path) or ""
        lines = text.splitlines()
        for ref in find_id_references(text, pattern, aliases=False):
            name = _test_name(lines, ref.line) if path.endswith(".py") else None
            _add(tests, ref.id, f"{path}::{name}" if name else path)

    rows: list[TraceRow] = []
    seen: set[str] = set()
    for req in requirements:
        if req.id in seen:
            continue
        seen.add(req.id)
        row = TraceRow(
            id=req.id,
            title=req.title,
            location=f"{req.path}:{req.line + 1}",
            design=design.get(req.id, []),
            code=sorted(code.get(req.id, [])),
            tests=tests.get(req.id, []),
        )
        if not row.design:
            row.gaps.append("design")
        if not row.code:
            row.gaps.append("code")
        if not row.tests:
            row.gaps.append("tests")
        rows.append(row)
    note = ""
    if not requirements:
        note = "No requirement found in " + ", ".join(arts.requirements) + "."
    elif not designs:
        note = "No design document found in " + ", ".join(arts.design) + "."
    return Traceability(
        available=True,
        note=note,
        requirements_files=sorted({r.path for r in requirements}),
        design_files=[d.path for d in designs],
        rows=rows,
        traced_to_design=sum(1 for r in rows if r.design),
        traced_to_code=sum(1 for r in rows if r.code),
        traced_to_tests=sum(1 for r in rows if r.tests),
    )
