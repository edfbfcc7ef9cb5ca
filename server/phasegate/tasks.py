"""Task lists: Spec Kit's and Kiro's ``tasks.md``, read for traceability.

Two layouts are read (see ``docs/documents.md``, "Task lists"):

* Spec Kit (``specs/<feature>/tasks.md``): checklist items
  ``- [ ] T012 [P] [US1] Contract test POST /api/users in tests/contract/test_users.py``,
  grouped under phase headings (``## Phase 3: User Story 1``); a task cites requirements
  in its text (``(FR-001, FR-002)``), in its sub-bullets, or through a heading above it
  (``## Phase 3: FR-001 - Export``). Headings that are tasks themselves
  (``## TASK-002 — Scope enum``, ``### T014: ...``) hold their details in their section.
* Kiro (``.kiro/specs/<feature>/tasks.md``): numbered checklist items
  ``- [ ] 2.1 Implement X`` (``- [ ]* 2.2`` for optional ones) whose sub-bullets say
  ``_Requirements: 2.1, 3.4_`` (references to ``REQ-2`` and ``REQ-3``).

A task is its item's own text and non-task sub-bullets; nested task items are tasks of
their own, which also inherit what their parent task and the headings above them cite.
A requirement is *planned* when a task cites it, when the text of a section with tasks in
it names it (a phase heading ``## Phase 3: FR-001 - Export``, its ``**Purpose**:`` line,
the list's preamble), or when a line that names a task (``| FR-002 | T012, T017 |``)
names it; a section with no task (notes, dependencies, a coverage table row whose task
column is empty) plans nothing. The files a
task names (``tests/contract/test_users.py``, `` `backend/tests/x.py::test_y` ``) are
collected as written; :class:`PathIndex` matches them to workspace files.

Parsed lists are cached by content. All positions are 0-based.
"""

from __future__ import annotations

import hashlib
import re
import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from phasegate.documents import DEFAULT_ID_PREFIXES, id_regex, outline
from phasegate.features import ScopedRef, scoped_references

TASKS_GLOBS: tuple[str, ...] = ("specs/*/tasks.md", ".kiro/specs/*/tasks.md")

_ITEM_RE = re.compile(
    r"^\s*(?:>\s*)*(?:[-*+]|\d+[.)])\s+\[(?P<state>[ xX~/-])\]\*?\s*(?P<rest>.*)$"
)
_ITEM_ID_RE = re.compile(
    r"^(?:\*\*|`)?(?P<id>T-?\d+[a-z]?|TASK-\d+|\d+(?:\.\d+)*)\.?(?:\*\*|`)?:?(?=\s|$)"
)
_HEADING_TASK_RE = re.compile(
    r"^(?:\*\*)?(?P<id>T-?\d{2,}[a-z]?|TASK-\d+|Task\s+\d+(?:\.\d+)*)(?:\*\*)?(?=[\s:.\u2013\u2014-]|$)"
)
_TASK_CITE_RE = re.compile(r"(?<!\w)(?:T-?\d{3,}[a-z]?|TASK-\d+)(?!\w)")
_LABEL_RE = re.compile(r"^(?:\[[^\]]{1,12}\]\s*)+")
_TEST_NAME_RE = re.compile(
    r"^tests?[_.-]|(?:^|[._-])(?:test|tests|spec)\.[A-Za-z]+$|_test\.\w+$", re.I
)
_PATH_RE = re.compile(
    r"(?<![\w@.+/-])(?P<path>(?:\.{1,2}/|/)?(?:[\w@.+-]+/)*[\w@+-][\w@.+-]*"
    r"\.[A-Za-z][A-Za-z0-9]{0,7})(?![\w/-])"
)


@dataclass(frozen=True)
class Task:
    """One task: ``id`` (``T012``, ``2.1``, ``TASK-002`` or ``""``), its first line, the
    lines of its own text, what it cites itself (``refs``) and through its parent tasks and
    headings (``inherited``), and the files it names (as written)."""

    id: str
    title: str
    line: int
    lines: tuple[int, ...]
    done: bool
    refs: tuple[ScopedRef, ...]
    inherited: tuple[ScopedRef, ...]
    files: tuple[str, ...]

    @property
    def cited(self) -> tuple[ScopedRef, ...]:
        """Everything the task cites: its own references, then the inherited ones."""
        return self.refs + self.inherited


@dataclass(frozen=True)
class TasksDoc:
    """A parsed task list: its tasks, the references it plans (see the module docstring)
    and every file it names."""

    path: str
    tasks: tuple[Task, ...]
    planned: tuple[ScopedRef, ...]
    files: tuple[str, ...]


def _paths(text: str) -> list[str]:
    out = []
    for m in _PATH_RE.finditer(text):
        p = m["path"]
        if "/" in p or _TEST_NAME_RE.search(p):
            out.append(p)
    return out


def _parse(text: str, path: str, pattern: re.Pattern[str]) -> TasksDoc:
    ol = outline(text)
    lines = ol.lines
    refs = scoped_references(text, pattern)
    by_line: dict[int, list[ScopedRef]] = {}
    for r in refs:
        by_line.setdefault(r.line, []).append(r)

    # Task items (checklist items) and task headings.
    items = []
    for b in ol.blocks:
        if b.kind != "item" or b.line in ol.code_lines:
            continue
        m = _ITEM_RE.match(lines[b.line]) if b.line < len(lines) else None
        if m:
            items.append((b, m))
    item_spans = [(b.line, b.end) for b, _ in items]
    task_heads = [h for h in ol.headings if _HEADING_TASK_RE.match(h.title)]

    def inside_items(lo: int, hi: int) -> set[int]:
        taken: set[int] = set()
        for s, e in item_spans:
            if lo < s < hi:
                taken.update(range(s, e))
        return taken

    head_own: dict[int, tuple[int, ...]] = {}
    for h in task_heads:
        nested = inside_items(h.line - 1, h.body_end)
        head_own[h.line] = tuple(k for k in range(h.line, h.body_end) if k not in nested)

    def refs_on(ks: Iterable[int]) -> tuple[ScopedRef, ...]:
        return tuple(r for k in ks for r in by_line.get(k, ()))

    own_lines: dict[int, tuple[int, ...]] = {}
    for b, _m in items:
        nested = inside_items(b.line, b.end)
        own_lines[b.line] = tuple(k for k in range(b.line, b.end) if k not in nested)

    tasks: list[Task] = []
    for h in task_heads:
        own = head_own[h.line]
        hm = _HEADING_TASK_RE.match(h.title)
        inherited = refs_on(a.line for a in ol.ancestors(h.line))
        tasks.append(
            Task(
                id=hm["id"] if hm else "",
                title=h.title,
                line=h.line,
                lines=own,
                done=False,
                refs=refs_on(own),
                inherited=inherited,
                files=tuple(p for k in own for p in _paths(lines[k])),
            )
        )
    for b, m in items:
        rest = _LABEL_RE.sub("", m["rest"].strip())
        im = _ITEM_ID_RE.match(m["rest"].strip())
        tid = im["id"] if im else ""
        title = _LABEL_RE.sub("", m["rest"].strip()[im.end() :].strip()) if im else rest
        own = own_lines[b.line]
        ancestors = ol.ancestors(b.line)
        inherited_lines: list[int] = []
        for a in ancestors:
            if a.line in head_own:
                inherited_lines.extend(head_own[a.line])
            else:
                inherited_lines.append(a.line)
        for s, e in item_spans:
            if s < b.line < e:
                inherited_lines.extend(own_lines[s])
        tasks.append(
            Task(
                id=tid,
                title=title.strip(),
                line=b.line,
                lines=own,
                done=m["state"] in "xX",
                refs=refs_on(own),
                inherited=refs_on(sorted(set(inherited_lines))),
                files=tuple(p for k in own for p in _paths(lines[k])),
            )
        )
    tasks.sort(key=lambda t: t.line)

    # Planned: the tasks' own lines; the text of a section with tasks in it (a phase's
    # "Purpose: ... (FR-021 through FR-024)"), and the preamble when there are tasks;
    # any line that names a task (a coverage table row).
    planned_lines: set[int] = {k for t in tasks for k in t.lines}
    task_lines = sorted(t.line for t in tasks)
    if tasks:
        first = ol.headings[0].line if ol.headings else len(lines)
        planned_lines.update(range(first))
    for h in ol.headings:
        i = bisect_left(task_lines, h.line)
        if i < len(task_lines) and task_lines[i] < h.end:
            planned_lines.update(range(h.line, h.body_end))
    planned: list[ScopedRef] = []
    for k in sorted(by_line):
        rs = by_line[k]
        if k in planned_lines or _TASK_CITE_RE.search(_strip_refs(lines[k], rs)):
            planned.extend(rs)
    files = tuple(p for k, s in enumerate(lines) for p in _paths(s))
    return TasksDoc(
        path=path,
        tasks=tuple(tasks),
        planned=tuple(planned),
        files=files,
    )


def _strip_refs(line: str, refs: Sequence[ScopedRef]) -> str:
    """``line`` with its requirement ids blanked (so ``TASK-1`` ids do not count twice)."""
    chars = list(line)
    for r in refs:
        chars[r.start : r.end] = " " * (r.end - r.start)
    return "".join(chars)


_CACHE: OrderedDict[tuple[str, tuple[str, ...], str], TasksDoc] = OrderedDict()
_LOCK = threading.Lock()


def parse_tasks(text: str, path: str, prefixes: Iterable[str] = DEFAULT_ID_PREFIXES) -> TasksDoc:
    """Parse a task list (Spec Kit or Kiro layout). Cached by content."""
    pref = tuple(prefixes)
    key = (path, pref, hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest())
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    doc = _parse(text, path, id_regex(pref))
    with _LOCK:
        _CACHE[key] = doc
        while len(_CACHE) > 256:
            _CACHE.popitem(last=False)
    return doc


class PathIndex:
    """Matches the paths a task names to workspace files: the same path; an absolute or
    longer path that ends with a file's path; a shorter one that ends one file's path only
    (``tests/x.py`` for ``backend/tests/x.py``); a bare name that one file has."""

    def __init__(self, files: Iterable[str]) -> None:
        self.files = set(files)
        self._by_name: dict[str, list[str]] = {}
        for f in sorted(self.files):
            self._by_name.setdefault(f.rsplit("/", 1)[-1], []).append(f)

    def match(self, written: str) -> str | None:
        p = written.replace("\\", "/")
        while p.startswith(("./", "../")):
            p = p.split("/", 1)[1]
        p = p.lstrip("/")
        if p in self.files:
            return p
        same = self._by_name.get(p.rsplit("/", 1)[-1], [])
        longer = [f for f in same if p.endswith("/" + f)]
        if longer:
            return max(longer, key=len)
        shorter = [f for f in same if f.endswith("/" + p)] if "/" in p else same
        return shorter[0] if len(shorter) == 1 else None
