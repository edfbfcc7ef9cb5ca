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

Spec Kit and Kiro ids are scoped by feature folder (:mod:`phasegate.features`): each
feature's requirement is a row of its own, its id written ``<feature>/<ID>``
(``001-auth/FR-001``), and a mention counts for the requirement it resolves to. As in
``DES-TRACE`` and ``TEST-TRACE``, a feature's design artefacts and the tasks of its
``tasks.md`` count as design (``specs/001-auth/tasks.md § Phase 3: ...``), and a task
that names a test file traces the ids it cites to that test.

A requirement with no design section, no code or no test has that gap listed.
"""

from __future__ import annotations

import re
from pathlib import Path

from phasegate.checks.design.trace import DESIGN_ARTIFACTS
from phasegate.config import Config
from phasegate.documents import (
    Outline,
    id_prefixes,
    id_regex_for,
    load_design_docs,
    load_requirement_docs,
    outline,
)
from phasegate.features import qualified, requirement_scopes, scope_of, scoped_references
from phasegate.report.data import Traceability, TraceRow
from phasegate.tasks import TASKS_GLOBS, PathIndex, parse_tasks
from phasegate.workspace import Workspace, matches

_Key = tuple[str, str]

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


def _add(index: dict[_Key, list[str]], key: _Key | None, value: str) -> None:
    if key is None:
        return
    values = index.setdefault(key, [])
    if value not in values:
        values.append(value)


def _where(ol: Outline | None, path: str, line: int) -> str:
    """``path § heading`` of the section holding ``line`` (just the path without one)."""
    h = ol.heading_before(line + 1) if ol is not None else None
    return f"{path} § {h.title}" if h is not None else path


def build_traceability(root: Path, config: Config) -> Traceability:
    workspace = Workspace(root)
    pattern = id_regex_for(config)
    prefixes = id_prefixes(config)
    arts = config.artifacts
    req_docs = load_requirement_docs(workspace, config)
    scopes = requirement_scopes(req_docs)
    requirements = [r for d in req_docs for r in d.requirements]
    designs = load_design_docs(workspace, config)
    test_files = workspace.glob(arts.tests)
    docs = {*(workspace.glob(arts.requirements)), *(d.path for d in designs)}
    sources = [
        p for p in workspace.glob(arts.sources) if p not in docs and not matches(p, arts.tests)
    ]

    def resolved(path: str, text: str) -> dict[tuple[int, int, str], _Key]:
        """(line, start, id) of each id mention -> the (scope, id) it resolves to."""
        out: dict[tuple[int, int, str], _Key] = {}
        for sref, res in scopes.references(path, text, pattern):
            if res.key is not None:
                out.setdefault((sref.line, sref.start, sref.id), res.key)
        return out

    design: dict[_Key, list[str]] = {}
    code: dict[_Key, list[str]] = {}
    tests: dict[_Key, list[str]] = {}
    for doc in designs:
        blocks = doc.outline.blocks if doc.outline is not None else []
        keys = resolved(doc.path, workspace.read_text(doc.path) or "")
        for ref in doc.refs:
            key = keys.get((ref.line, ref.start, ref.id))
            section = doc.section_at(ref.line)
            title = section.title if section is not None and section.title else "(preamble)"
            _add(design, key, f"{doc.path} § {title}" if len(designs) > 1 else title)
            for block in blocks:
                if block.line <= ref.line < block.end:
                    for src in sources:
                        if src in block.text:
                            _add(code, key, src)
    # A feature's other design artefacts and its tasks (the plan of work).
    index = PathIndex(test_files)
    linked: dict[str, set[str]] = {}
    for path in workspace.glob([*DESIGN_ARTIFACTS, *TASKS_GLOBS]):
        if path in docs or matches(path, arts.tests):
            continue
        text = workspace.read_text(path) or ""
        ol = outline(text) if path.endswith(".md") else None
        fscope = scopes.file_scope(path, text)
        if matches(path, TASKS_GLOBS):
            tdoc = parse_tasks(text, path, prefixes)
            for sref in tdoc.planned:
                _add(design, scopes.resolve(sref, fscope).key, _where(ol, path, sref.line))
            feature = scope_of(path)
            for written in tdoc.files:
                hit = index.match(written)
                if hit is not None and feature:
                    linked.setdefault(hit, set()).add(feature)
            for task in tdoc.tasks:
                named = [t for t in (index.match(p) for p in task.files) if t is not None]
                for sref in task.cited if named else ():
                    for test in named:
                        _add(tests, scopes.resolve(sref, fscope).key, test)
        else:
            for sref in scoped_references(text, pattern):
                _add(design, scopes.resolve(sref, fscope).key, _where(ol, path, sref.line))
    for src in sources:
        text = workspace.read_text(src) or ""
        for _sref, res in scopes.references(src, text, pattern, aliases=False):
            _add(code, res.key, src)
    for path in test_files:
        text = workspace.read_text(path) or ""
        lines = text.splitlines()
        found = scopes.references(path, text, pattern, linked.get(path, ()), aliases=False)
        for sref, res in found:
            name = _test_name(lines, sref.line) if path.endswith(".py") else None
            _add(tests, res.key, f"{path}::{name}" if name else path)

    rows: list[TraceRow] = []
    seen: set[_Key] = set()
    for req in requirements:
        key = scopes.key(req)
        if key in seen:
            continue
        seen.add(key)
        row = TraceRow(
            id=qualified(*key),
            title=req.title,
            location=f"{req.path}:{req.line + 1}",
            design=design.get(key, []),
            code=sorted(code.get(key, [])),
            tests=tests.get(key, []),
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
