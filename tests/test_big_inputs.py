"""Big inputs: a file over a check's limit is never read, content hashes stream, the
document model stays linear and gives the results of the straightforward version, and the
session lock is portable (POSIX ``flock``, Windows ``msvcrt.locking``).

Costs are judged by what is done (bytes read, memory held, lines of parser code run as the
input grows), never by wall-clock time."""

from __future__ import annotations

import hashlib
import os
import random
import re
import subprocess
import sys
import textwrap
import tracemalloc
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import IO, Any, cast

import pytest

import phasegate.cache as cache_mod
import phasegate.checks._placeholders as placeholders_mod
import phasegate.documents as documents
import phasegate.workspace as workspace_mod
from phasegate import locks
from phasegate.cache import ResultCache
from phasegate.checks._documents import placeholder_findings
from phasegate.checks._placeholders import DEFAULT_SCANNER
from phasegate.config import Config
from phasegate.documents import (
    ACCEPTANCE_LABEL_RE,
    AcceptanceItem,
    Heading,
    Outline,
    _ReqParser,
    _strip_marker,
    id_regex,
    outline,
    parse_requirements,
)
from phasegate.model import Severity
from phasegate.runner import GateRunner, ResolvedCheck
from phasegate.store import SessionLocked, SessionStore
from phasegate.workspace import FileTooLarge, Workspace

REPO = Path(__file__).resolve().parent.parent
POSIX = sys.platform != "win32"


# -- files over a limit are never read -----------------------------------------------------


class _CountingFile:
    """A file object that logs ``(name, bytes returned)`` for every read."""

    def __init__(self, fh: IO[bytes], name: str, log: list[tuple[str, int]]) -> None:
        self._fh, self._name, self._log = fh, name, log

    def read(self, n: int = -1) -> bytes:
        data = self._fh.read(n)
        self._log.append((self._name, len(data)))
        return data

    def fileno(self) -> int:
        return self._fh.fileno()

    def __enter__(self) -> _CountingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every read the workspace makes: (file name, bytes returned)."""
    log: list[tuple[str, int]] = []

    def counting_open(path: Any, mode: str = "r", *args: Any, **kw: Any) -> Any:
        fh = open(path, mode, *args, **kw)  # noqa: SIM115 - closed by the wrapper
        return _CountingFile(fh, Path(path).name, log) if "b" in mode else fh

    monkeypatch.setattr(workspace_mod, "open", counting_open, raising=False)
    return log


def bytes_read(log: list[tuple[str, int]], name: str) -> int:
    return sum(n for f, n in log if f == name)


def impl_check(root: Path, check_id: str, **options: object) -> ResolvedCheck:
    cfg = Config()
    for c in cfg.phase("implementation").checks:
        if c.id == check_id:
            c.options = dict(options)
    runner = GateRunner(Workspace(root), cfg)
    return next(c for c in runner.checks("implementation") if c.config.id == check_id)


def test_syntax_does_not_read_a_file_over_max_bytes(
    tmp_path: Path, reads: list[tuple[str, int]]
) -> None:
    (tmp_path / "big.py").write_bytes(b"x = 1\n" * 50_000)
    (tmp_path / "small.py").write_text("y = $ 1\n")
    rc = impl_check(tmp_path, "IMPL-SYNTAX", max_bytes=1000)
    (info,) = rc.check.check_file(rc.ctx, "big.py")
    assert info.severity == Severity.INFO
    assert info.message == "not compiled: 300000 bytes is more than max_bytes (1000)"
    (err,) = rc.check.check_file(rc.ctx, "small.py")
    assert err.message.startswith("SyntaxError:")
    assert bytes_read(reads, "big.py") == 0
    assert bytes_read(reads, "small.py") == 8  # the spy sees the reads that happen


def test_stubs_do_not_read_a_file_over_max_bytes(
    tmp_path: Path, reads: list[tuple[str, int]]
) -> None:
    (tmp_path / "big.py").write_bytes(b"def f():\n    pass\n" * 10_000)
    (tmp_path / "small.py").write_text("def g():\n    pass\n")
    rc = impl_check(tmp_path, "IMPL-STUB", max_bytes=1000)
    assert rc.check.check_file(rc.ctx, "big.py") == []
    (stub,) = rc.check.check_file(rc.ctx, "small.py")
    assert "`g` is a stub" in stub.message
    assert bytes_read(reads, "big.py") == 0
    assert bytes_read(reads, "small.py") > 0


def test_file_checks_hold_nothing_of_a_big_file(tmp_path: Path) -> None:
    """Over the default limit (5 MB), IMPL-SYNTAX and IMPL-STUB allocate next to nothing."""
    (tmp_path / "big.py").write_bytes(b"value = 12345  # padding padding padding\n" * 150_000)
    syntax = impl_check(tmp_path, "IMPL-SYNTAX")
    stubs = impl_check(tmp_path, "IMPL-STUB")
    tracemalloc.start()
    try:
        found = syntax.check.check_file(syntax.ctx, "big.py")
        found += stubs.check.check_file(stubs.ctx, "big.py")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [f.message for f in found] == [
        "not compiled: 6150000 bytes is more than max_bytes (5000000)"
    ]
    assert peak < 1_000_000


def test_read_bytes_reads_at_most_the_limit_plus_one(
    tmp_path: Path, reads: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that grows between the size check and the read is refused too, after
    reading no more than ``max_bytes + 1`` bytes."""
    (tmp_path / "f.py").write_bytes(b"#" * 10_000)
    ws = Workspace(tmp_path)
    assert ws.read_bytes("f.py", max_bytes=10_000) == b"#" * 10_000
    assert ws.read_bytes("missing.py", max_bytes=10) is None
    with pytest.raises(FileTooLarge) as big:
        ws.read_bytes("f.py", max_bytes=100)
    assert (big.value.size, big.value.limit) == (10_000, 100)
    reads.clear()
    real_fstat = os.fstat

    class Small:
        def __init__(self, st: os.stat_result) -> None:
            self.st_mode, self.st_size = st.st_mode, 50  # as it was before it grew

    with monkeypatch.context() as m:
        m.setattr(os, "fstat", lambda fd: Small(real_fstat(fd)))
        with pytest.raises(FileTooLarge) as grew:
            ws.read_bytes("f.py", max_bytes=100)
    assert grew.value.size == 101
    assert bytes_read(reads, "f.py") == 101


def _chunked_file(path: Path, size: int) -> bytes:
    rng = random.Random(size)
    data = rng.randbytes(size)
    path.write_bytes(data)
    return data


def test_content_hashes_stream_in_chunks(
    tmp_path: Path, reads: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _chunked_file(tmp_path / "data.bin", 300_000)
    monkeypatch.setattr(workspace_mod, "HASH_CHUNK", 65_536)
    ws = Workspace(tmp_path)
    assert ws.content_hash("data.bin") == hashlib.sha1(data).hexdigest()
    assert ws.content_hash("gone.bin") == "-"
    sizes = [n for name, n in reads if name == "data.bin"]
    assert sum(sizes) == len(data) and max(sizes) == 65_536

    # the result cache opens the file its own way (no link followed), and streams too
    # a file bigger than what it keeps for the check that reads it next
    monkeypatch.setattr(cache_mod, "PREREAD_MAX", 100_000)
    seen: list[tuple[str, int]] = []
    real = workspace_mod.sha1_stream
    monkeypatch.setattr(
        cache_mod, "sha1_stream", lambda fh: real(cast(IO[bytes], _CountingFile(fh, "x", seen)))
    )
    cache = ResultCache(tmp_path / ".phasegate" / "cache")
    assert cache.content_hash(ws, "data.bin") == hashlib.sha1(data).hexdigest()
    assert sum(n for _, n in seen) == len(data) and max(n for _, n in seen) == 65_536


def test_hashing_a_big_file_holds_one_chunk(tmp_path: Path) -> None:
    data = _chunked_file(tmp_path / "big.bin", 24_000_000)
    expected = hashlib.sha1(data).hexdigest()
    del data
    ws = Workspace(tmp_path)
    cache = ResultCache(tmp_path / ".phasegate" / "cache")
    tracemalloc.start()
    try:
        got = [ws.content_hash("big.bin"), cache.content_hash(ws, "big.bin")]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got == [expected, expected]
    assert peak < 3 * workspace_mod.HASH_CHUNK


# -- the document model: linear, and the same results as the straightforward version ------


def mixed_requirements(n_lines: int) -> str:
    """A requirements document of about ``n_lines`` lines mixing every accepted shape:
    heading, Kiro, list-item, paragraph and table requirements, acceptance labels and
    headings, non-definition sections, code, comments and placeholders."""
    out = ["# Requirements", "", "## Overview", "", "The system manages tasks.", ""]
    i = 0
    while len(out) < n_lines:
        i += 1
        kind = i % 6
        if kind == 0:
            out += [f"### REQ-{i:05d}: Feature number {i}", ""]
            out += [f"The system shall support feature {i} for users,"]
            out += ["continued over a wrapped line with `inline code`.", ""]
            if i % 7 == 0:
                out += ["**Owner**: TBD", ""]
            out += ["Acceptance criteria:", "", f"- Given a user, when they use {i}, it works"]
            out += ["- The response time is under 200 ms"]
            out += ["- TODO: write more criteria"] if i % 5 == 0 else []
            out += ["- [describe the expected result]"] if i % 11 == 0 else []
            out += [""]
        elif kind == 1:
            out += [f"### Requirement {i}", "", f"**User Story:** As a user, I want {i}.", ""]
            out += ["#### Acceptance Criteria", ""]
            out += [f"1. WHEN the user asks for {i} THEN the system SHALL answer:"]
            out += ["   - within 2 seconds"]
            out += ["   - with the <project name> banner" if i % 4 == 1 else "   - politely"]
            out += ["2. IF it fails THEN THE system SHALL retry", ""]
        elif kind == 2:
            out += [f"## Functional requirements {i}", ""]
            out += [f"- **FR-{i:05d}**: System MUST store item {i} within 200 ms"]
            out += [f"- **FR-{i + 1:05d}**: System MUST list items"]
            out += ["  - Acceptance: the list shows every item"]
            out += [f"- FR-{i + 2:05d}: Export [NEEDS CLARIFICATION: format?]", ""]
        elif kind == 3:
            out += [f"NFR-{i:05d}: The service responds in under 2 seconds."]
            out += ["Given a request, when it arrives, then it is answered.", ""]
            out += ["```", f"REQ-{i:05d}: inside code", "```", ""] if i % 9 == 3 else []
        elif kind == 4:
            out += ["| id | title | acceptance criteria |", "|---|---|---|"]
            out += [f"| US-{i:05d} | Story {i} | Given x then y |"]
            out += [f"| US-{i + 1:05d} | Story {i + 1} | TBD |", ""]
        else:
            out += ["## Dependencies", "", f"- REQ-{i - 5:05d} depends on FR-{i - 3:05d}", ""]
            out += ["<!-- a comment with [A SLOT] inside -->", ""]
            out += [f"**Acceptance criteria**: see https://example.com/{i}", ""]
    out += ["## Acceptance criteria", ""]
    out += [f"- REQ-{k:05d}: Given an order of {k} days ago, it is listed" for k in range(6, 90, 6)]
    out += ["- Given anything else, it works", "", "## Traceability", "", "| id | design |"]
    out += ["|---|---|", *(f"| REQ-{k:05d} | D-{k} |" for k in range(6, 60, 6))]
    return "\n".join(out) + "\n"


def kiro_requirements(n_lines: int) -> str:
    """Every requirement with an ``#### Acceptance Criteria`` heading (a non-definition
    section each): the shape whose cost grew with the square of the length."""
    out = ["# Requirements", "", "## Introduction", "", "Task manager.", ""]
    i = 0
    while len(out) < n_lines:
        i += 1
        out += [f"### REQ-{i:05d}: Feature {i}", "", f"The system lets users do {i}.", ""]
        out += ["#### Acceptance Criteria", ""]
        out += [f"1. WHEN the user does {i} THEN the system SHALL respond"]
        out += ["2. TODO: more" if i % 3 == 0 else "2. Given x, then y", ""]
    return "\n".join(out) + "\n"


_POOL = [
    "# Title", "## Overview", "### REQ-{n}: Thing {n}", "## Dependencies",
    "#### Acceptance Criteria", "### Requirement {n}", "## Traceability", "### Acceptance",
    "Acceptance criteria:", "**Acceptance criteria**:", "**Acceptance**: works {n}",
    "- item {n}", "  - nested {n}", "- **FR-{n}**: System MUST do {n}",
    "- REQ-{n}: Given x then y", "1. WHEN a THEN b SHALL c", "Given a, when b, then c",
    "NFR-{n}: under 2 seconds", "", "", "", "text line {n}", "| id | title | acceptance |",
    "|---|---|---|", "| US-{n} | t | Given z |", "```", "TBD", "- TODO: x",
    "**Status**: Withdrawn", "**User Story:** As a user", "Title\n===", "Sub\n---",
    "> quote REQ-{n}", "<!-- [SLOT] -->", "`code REQ-{n}`", "- [ ] TODO task",
    "###### deep {n}", "##### REQ-{n} deeper", "Scenarios:", "- [describe it]",
]  # fmt: skip


def random_documents(count: int, seed: int = 7) -> Iterator[str]:
    rng = random.Random(seed)
    for _ in range(count):
        size = rng.randint(1, 120)
        yield "\n".join(rng.choice(_POOL).format(n=rng.randint(1, 30)) for _ in range(size))


def sample_documents() -> list[str]:
    texts = [mixed_requirements(n) for n in (40, 400, 3000)]
    texts += [kiro_requirements(n) for n in (40, 1000)]
    texts += list(random_documents(150))
    texts += [p.read_text(encoding="utf-8") for p in sorted((REPO / "docs").glob("*.md"))]
    return texts


# The straightforward versions of what was made linear: each query scans everything.


def slow_heading_ends(ol: Outline) -> list[int]:
    hs = ol.headings
    return [
        next((g.line for g in hs[i + 1 :] if g.level <= h.level), len(ol.lines))
        for i, h in enumerate(hs)
    ]


def slow_ancestors(ol: Outline, line: int) -> list[Heading]:
    return [h for h in ol.headings if h.line < line < h.end]


def slow_heading_before(ol: Outline, line: int, below_level: int) -> Heading | None:
    before = [h for h in ol.headings if h.line < line and h.level < below_level]
    return before[-1] if before else None


class SlowParser(_ReqParser):
    """The requirements parser with every query answered by scanning, as before."""

    def _excluded(self, line: int) -> bool:
        return any(h.line < line < h.end for h in self._non_def)

    def _level(self, r: documents.Requirement) -> int:
        if r.kind == "heading":
            h = next((h for h in self.ol.headings if h.line == r.line), None)
            return h.level if h else 99
        return 99

    def _next_section_line(self, line: int) -> int:
        return next(
            (
                h.line
                for h in self.ol.headings_in(line + 1, len(self.lines))
                if not ACCEPTANCE_LABEL_RE.search(h.title)
            ),
            len(self.lines),
        )

    def acceptance(self, start: int, end: int, skip: int = -1) -> dict[int, AcceptanceItem]:
        ol = self.ol
        found: dict[int, AcceptanceItem] = {}
        spans: list[tuple[int, int]] = []

        def collect(lo: int, hi: int, paras: bool) -> None:
            nested_until = -1
            for b in ol.blocks_in(lo, hi):
                if b.line in ol.code_lines or b.line == skip:
                    continue
                if b.kind == "item":
                    if b.line < nested_until:
                        continue
                    nested_until = b.end
                    spans.append((b.line, b.end))
                    found.setdefault(b.line, self._item(b.line, end=min(b.end, hi)))
                elif b.kind == "row":
                    found.setdefault(b.line, self._item(b.line))
                elif paras and b.kind == "para" and not b.in_list:
                    for k in range(b.line, min(b.end, hi)):
                        if self.lines[k].strip():
                            found.setdefault(k, self._item(k))

        for h in ol.headings_in(start, end):
            if h.line != skip and ACCEPTANCE_LABEL_RE.search(h.title):
                collect(h.line + 1, min(h.end, end), True)
        for lb in ol.labels_in(start, end):
            if lb.line == skip or not ACCEPTANCE_LABEL_RE.search(lb.title):
                continue
            if lb.rest:
                found.setdefault(lb.line, self._item(lb.line, lb.rest))
            if lb.block.kind == "item":
                collect(lb.line + 1, min(lb.block.end, end), False)
            else:
                stop = end
                for h in ol.headings_in(lb.line + 1, stop):
                    stop = h.line
                    break
                for b in ol.blocks_in(lb.block.end, stop):
                    if b.kind == "para" and not b.in_list:
                        stop = b.line
                        break
                collect(lb.line + 1, stop, False)
        heading_lines = set(ol.heading_lines)
        inside = {k for lo, hi in spans for k in range(lo + 1, hi)}
        for k in range(start, min(end, len(self.lines))):
            if k in ol.code_lines or k in heading_lines or k == skip or k in found or k in inside:
                continue
            s = _strip_marker(self.lines[k])
            if s and (documents._GIVEN_RE.match(s) or documents._EARS_RE.match(s)):
                found[k] = self._item(k)
        return found


PATHS = ("docs/requirements.md", "specs/001-x/spec.md", ".kiro/specs/x/requirements.md")


def test_requirements_equal_the_straightforward_parse() -> None:
    pattern = id_regex()
    for text in sample_documents():
        for path in PATHS:
            fast = parse_requirements(text, path)
            slow = SlowParser(text, path, pattern).parse()
            assert fast == slow


def test_outline_queries_equal_the_straightforward_scans() -> None:
    for text in sample_documents():
        ol = outline(text)
        assert [h.end for h in ol.headings] == slow_heading_ends(ol)
        step = max(1, len(ol.lines) // 300)
        for line in range(0, len(ol.lines) + 2, step):
            assert ol.ancestors(line) == slow_ancestors(ol, line)
            for level in (0, 1, 2, 3, 4, 5, 6, 7, 99):
                assert ol.heading_before(line, level) == slow_heading_before(ol, line, level)


def test_placeholder_sections_equal_the_straightforward_count(tmp_path: Path) -> None:
    runner = GateRunner(Workspace(tmp_path), Config())
    rc = next(c for c in runner.checks("requirements") if c.config.id == "REQ-PLACEHOLDER")
    for text in [mixed_requirements(2000), *random_documents(60, seed=3)]:
        findings, clean, total = placeholder_findings(rc.ctx, "r.md", text, DEFAULT_SCANNER)
        ol = outline(text)
        dirty = {f.range.start.line for f in findings}
        slow_total = slow_clean = 0
        for start, body, end in ol.content_sections():
            has_body = any(ol.lines[k].strip() for k in range(body, end))
            is_dirty = any(start <= k < end for k in dirty)
            if has_body or is_dirty:
                slow_total += 1
                slow_clean += 0 if is_dirty else 1
        assert (clean, total) == (slow_clean, slow_total)


def _parser_lines_run(text: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many lines of the document model's code run to parse ``text`` (uncached)."""
    monkeypatch.setattr(documents, "_CACHE", OrderedDict())
    files = {documents.__file__, placeholders_mod.__file__}
    count = 0

    def local(frame: FrameType, event: str, arg: object) -> Callable[..., Any]:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def calls(frame: FrameType, event: str, arg: object) -> Callable[..., Any] | None:
        return local if frame.f_code.co_filename in files else None

    sys.settrace(calls)
    try:
        parse_requirements(text, "docs/requirements.md")
    finally:
        sys.settrace(None)
    return count


@pytest.mark.parametrize("make", [mixed_requirements, kiro_requirements])
def test_parsing_cost_grows_linearly(
    make: Callable[[int], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four times the lines, about four times the work (the scans it replaced made this
    about 6x and 10x here, and far more on longer documents)."""
    small = _parser_lines_run(make(1000), monkeypatch)
    large = _parser_lines_run(make(4000), monkeypatch)
    assert large / small < 4.6


# -- placeholders on long lines: one pass per line, not one per candidate ----------------

_LINE_PARTS = [
    "[", "]", "[A B]", "[e.g., x]", "[Describe ", "TBD", "TODO", "no", "unresolved", " ", "  ",
    "\u00a0", "\t", "*", "_", "**", '"', "'", "`", "\u201c", "Given", "AND", "x", "é", "|",
    ":", "(", "=", " - ", "\u2013", "--days ", "-n=", "--", "e.g.", "E.G.", "i.e.", "for example",
    "such as", "if applicable", "or N/A", "NEEDS CLARIFICATION", "\n", "1", "-", ".",
]  # fmt: skip


def random_lines(count: int, seed: int) -> Iterator[str]:
    rng = random.Random(seed)
    for _ in range(count):
        yield "".join(rng.choice(_LINE_PARTS) for _ in range(rng.randint(0, 14)))


def slow_bracket_end(masked: str, start: int) -> int:
    depth = 0
    for i in range(start, len(masked)):
        if masked[i] == "[":
            depth += 1
        elif masked[i] == "]":
            depth -= 1
            if depth == 0:
                return i + 1
    return -1


def slow_value_start(before: str, continuation: bool) -> bool:
    ph = placeholders_mod
    b = before.rstrip().rstrip(ph._OPENERS).rstrip()
    if not b:
        return not continuation
    if not continuation and ph._LEAD_RE.fullmatch(b + " "):
        return True
    return bool(ph._VALUE_AFTER_RE.search(b))


def test_line_helpers_equal_the_straightforward_searches() -> None:
    ph = placeholders_mod
    for line in random_lines(6000, seed=5):
        ends = ph._bracket_ends(line)
        opening = [i for i, c in enumerate(line) if c == "["]
        assert {i: ends.get(i, -1) for i in opening} == {
            i: slow_bracket_end(line, i) for i in opening
        }
        for pattern, words, tail in [
            (ph._MENTION_BEFORE_RE, ph._MENTION_WORDS, ph._MENTION_TAIL),
            (ph._GWT_BEFORE_RE, ph._GWT_WORDS, ph._GWT_TAIL),
        ]:
            fast, slow = ph._search_end(pattern, line, words, tail), pattern.search(line)
            assert (fast and fast.span()) == (slow and slow.span())
        assert ph._option_before(line) == bool(re.search(r"(?:^|\s)--?[\w-]+[ =]$", line))
        example = ph._example_end(line)
        text_end = len(line.rstrip())
        last_cue = ph._last_cue_start(line)
        for p in range(len(line) + 1):
            slow_example = re.search(r"\b(?:e\.g\.|for example|such as)", line[:p], re.I)
            assert (0 <= example <= p) == bool(slow_example)
            if line[p : p + 1] == "[":
                assert (last_cue > p) == bool(ph._CUE_RE.search(line[p + 1 : text_end]))
        for continuation in (False, True):
            assert ph._value_start(line, continuation) == slow_value_start(line, continuation)


# -- portable locks ------------------------------------------------------------------------


@pytest.mark.skipif(not POSIX, reason="POSIX flock")
def test_session_lock_is_a_posix_flock(tmp_path: Path) -> None:
    """The session lock is an ``flock`` as before, so older and newer phasegate processes
    exclude each other."""
    import fcntl

    store = SessionStore(tmp_path)
    store.lock("s1")
    lock_file = tmp_path / ".phasegate" / "sessions" / "s1" / "lock"
    assert lock_file.read_text() == f"{os.getpid()}\n"
    fd = os.open(lock_file, os.O_RDWR)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        store.unlock("s1")
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(SessionLocked, match="in use by another phasegate process"):
            SessionStore(tmp_path).lock("s1")  # held by a bare flock
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
    SessionStore(tmp_path).lock("s1")


def test_lock_module(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    a = os.open(path, os.O_RDWR | os.O_CREAT)
    b = os.open(path, os.O_RDWR)
    try:
        assert locks.read_holder(a) is None
        locks.lock(a)
        locks.write_holder(a)
        with pytest.raises(BlockingIOError):
            locks.lock(b)
        assert locks.read_holder(b) == os.getpid()
        locks.unlock(a)
        with locks.locked(b), pytest.raises(BlockingIOError):
            locks.lock(a, wait=False)
        locks.lock(a, wait=True)
        locks.unlock(a)
        os.write(b, b"not a pid")
        assert locks.read_holder(a) is None
    finally:
        os.close(a)
        os.close(b)


_NO_FCNTL = """
    import sys
    sys.modules.pop("fcntl", None)
    sys.modules["fcntl"] = None  # this platform has no fcntl: importing it fails
"""


def _run_without_fcntl(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new Python where importing ``fcntl`` fails, as on Windows."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_NO_FCNTL) + textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_store_imports_on_a_platform_without_fcntl(tmp_path: Path) -> None:
    code = """
    import phasegate.store, phasegate.locks
    assert sys.modules["fcntl"] is None  # nobody loaded it
    print("imported")
    """
    res = _run_without_fcntl(code, tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "imported"


def test_session_lock_on_windows_simulated(tmp_path: Path) -> None:
    """With ``sys.platform`` set to ``win32``, no ``fcntl`` and a stand-in ``msvcrt``
    that keeps byte-range locks per file, the store locks with ``msvcrt.locking`` on the
    byte at WINDOWS_LOCK_OFFSET and refuses a second holder, naming the first."""
    code = f"""
    import errno, os, types
    import pydantic, pathspec  # noqa: F401 - loaded before the platform is switched
    import phasegate.fsutil, phasegate.model, phasegate.statedir, phasegate.workspace

    held = {{}}
    offsets = []
    msvcrt = types.ModuleType("msvcrt")
    msvcrt.LK_UNLCK, msvcrt.LK_LOCK, msvcrt.LK_NBLCK = 0, 1, 2

    def locking(fd, mode, nbytes):
        st = os.fstat(fd)
        key = (st.st_dev, st.st_ino, os.lseek(fd, 0, os.SEEK_CUR))
        offsets.append(key[2])
        if mode == msvcrt.LK_UNLCK:
            if held.pop(key, None) != fd:
                raise OSError(errno.EACCES, "not locked")
        elif key in held:
            raise OSError(errno.EACCES, "Permission denied")
        else:
            held[key] = fd

    msvcrt.locking = locking
    sys.modules["msvcrt"] = msvcrt
    sys.platform = "win32"

    from phasegate import locks
    from phasegate.store import SessionLocked, SessionStore

    a, b = SessionStore({str(tmp_path)!r}), SessionStore({str(tmp_path)!r})
    a.lock("s1")
    try:
        b.lock("s1")
        raise SystemExit("second holder accepted")
    except SessionLocked as exc:
        assert f"(pid {{os.getpid()}})" in str(exc), exc
    a.unlock("s1")
    b.lock("s1")
    b.unlock_all()
    assert not held
    assert set(offsets) == {{locks.WINDOWS_LOCK_OFFSET}}, offsets
    assert sys.modules["fcntl"] is None
    print("ok")
    """
    res = _run_without_fcntl(code, tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"
