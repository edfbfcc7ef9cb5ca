"""The Markdown document model: requirements, their ids and acceptance criteria, designs.

Requirements documents come in three accepted formats (see ``docs/documents.md``):

* phasegate's own: a heading, list item, paragraph line or table row that starts with an
  id (``### REQ-001: Title``, ``- **REQ-001** Title``, ``REQ-001: Title``), followed by an
  "Acceptance criteria" label, heading or list, or Given/When/Then lines;
* Spec Kit (``specs/<feature>/spec.md``): ``- **FR-001**: System MUST ...`` plus
  "User Scenarios & Testing" with "Acceptance Scenarios" (Given/When/Then);
* Kiro (``.kiro/specs/<feature>/requirements.md``): ``### Requirement 1`` with a
  ``**User Story:**`` and ``#### Acceptance Criteria`` holding EARS lines
  (``WHEN ... THEN ... SHALL``). Kiro requirement N gets the id ``REQ-N``; design and
  test text that says ``Requirement 1``, ``Requirements 1.2, 3.1`` or
  ``_Requirements: 2.1_`` refers to ``REQ-1`` / ``REQ-1``, ``REQ-3`` / ``REQ-2``.

All positions are 0-based lines and characters (as LSP wants them). Parsed documents are
cached by content hash, so repeated calls over unchanged files cost a dictionary lookup.
Returned objects are shared between callers: treat them as read-only.
"""

from __future__ import annotations

import hashlib
import re
import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeVar

from phasegate.checks._placeholders import DEFAULT_SCANNER

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

    from phasegate.config import Config
    from phasegate.workspace import Workspace

DocFormat = Literal["phasegate", "spec-kit", "kiro"]
FORMATS: tuple[DocFormat, ...] = ("phasegate", "spec-kit", "kiro")

DEFAULT_ID_PREFIXES: tuple[str, ...] = ("REQ", "FR", "NFR", "US")


def id_regex(prefixes: Iterable[str] = DEFAULT_ID_PREFIXES) -> re.Pattern[str]:
    """The pattern of a requirement id with one of ``prefixes``: ``PREFIX-<digits>``."""
    alts = "|".join(sorted({re.escape(p) for p in prefixes}, key=lambda p: (-len(p), p)))
    # not inside a longer token, but "FR-021-FR-024" (a range written with a hyphen)
    # mentions FR-024 too
    return re.compile(rf"(?:(?<![\w-])|(?<=\d-))(?:{alts})-\d{{1,6}}(?!\w)")


REQ_ID_RE = id_regex()

# Kiro-style references: "Requirement 1", "Requirements 1.2, 3.1", "_Requirements: 2.1_".
_KIRO_REF_RE = re.compile(
    r"(?<![A-Za-z])Requirements?\b[ \t]*:?[ \t]*(?P<nums>[1-9]\d*(?:\.\d+)?"
    r"(?:[ \t]*(?:,|&|/|\band\b)[ \t]*[1-9]\d*(?:\.\d+)?)*)"
)
_KIRO_NUM_RE = re.compile(r"[1-9]\d*(?:\.\d+)?")
_KIRO_DEF_RE = re.compile(
    r"^\s*[*_`]*Requirement\s+(?P<n>[1-9]\d*)\b[*_`]*\s*(?:[:.)\-\u2013\u2014]\s*(?P<title>.*))?$",
    re.I,
)

_NEWLINE_RE = re.compile(r"\r\n?|\n")
_SEP_RE = re.compile(r"^\s*(?:[:.)|]|[-\u2013\u2014])\s*")
_CHECKBOX_RE = re.compile(r"^\[[ xX]\]\s+")
_MARKER_RE = re.compile(r"^\s*(?:>\s*)*(?:[-*+]\s+|\d+[.)]\s+)?(?:\[[ xX]\]\s+)?")
_EMPH_RE = re.compile(r"^[*_`]+|[*_`]+$")
_BOLD_LABEL_RE = re.compile(
    r"^(?:\*\*|__)(?P<label>[^*_\n]{1,80}?)\s*:?\s*(?:\*\*|__)\s*:?\s*(?P<rest>.*)$"
)
_PLAIN_LABEL_RE = re.compile(r"^(?P<label>[A-Za-z][\w &/()'-]{0,60}?)\s*:\s*(?P<rest>.*)$")
ACCEPTANCE_LABEL_RE = re.compile(
    r"^\W*(?:acceptance|scenarios?\b|criteria\b|given\b|verification|definition of done"
    r"|done when|success criteria|test cases?\b|examples?\b)",
    re.I,
)
# Sections whose items mention ids without defining requirements: a heading that *is* such
# a section ("## Dependencies", "### Requirements traceability matrix", "## Assumptions &
# Dependencies", "#### Acceptance Criteria"), not one whose longer title merely contains the
# word ("## FR: Dependency resolution", the title "# Spec: Dependency Graph Viewer").
_NON_DEF_PART_RE = re.compile(
    r"(?:(?:user|customer|business|overall)\s+)?acceptance\b.*"
    r"|(?:requirements?\s+)?traceability(?:\s+(?:matrix|table|map|mapping|summary))?"
    r"|(?:(?:external|internal|feature|cross-feature|project|system|technical|key|runtime"
    r"|third-party|software|service|upstream|downstream|other|module|package|team)\s+)?"
    r"dependencies(?:\s+(?:matrix|table|map|list|summary))?"
    r"|change\s?log|changes|revisions|(?:revision|version|document|change)\s+history|history"
    r"|(?:related\s+|external\s+)?references?|glossary(?:\s+of\s+terms)?|terminology"
)
_NON_DEF_SPLIT_RE = re.compile(r"\s*(?:&|\+|/|,|\band\b)\s*")


def is_non_definition_section(title: str) -> bool:
    """True when a heading titled ``title`` is a section whose items mention requirement ids
    without defining them: acceptance criteria, traceability, dependencies, changelog,
    revision history, references, glossary."""
    t = re.sub(r"[*_`]+", "", title.lower())
    t = re.sub(r"\([^)]*\)", " ", t)  # "(optional)", "*(mandatory)*"
    t = re.sub(r"^\s*(?:\d+(?:\.\d+)*\.?|[ivx]+\.)\s+", "", t)  # "5.", "2.1", "iv."
    t = " ".join(t.replace(":", " : ").split()).strip(" :.")
    return any(_NON_DEF_PART_RE.fullmatch(part.strip()) for part in _NON_DEF_SPLIT_RE.split(t))


# A measurable target: a comparator or bound and a number with a unit or a percentage
# ("p95 latency <= 200 ms", "in under 2 minutes", "at least 99.9% uptime", "no more than
# 5 MB"), or a share of something ("95 % of users complete ...").
_UNIT = (
    r"(?:%|percent\b|‰|ms\b|milli-?seconds?\b|µs|us\b|ns\b|s\b|secs?\b|seconds?\b"
    r"|mins?\b|minutes?\b|h\b|hrs?\b|hours?\b|days?\b|weeks?\b|months?\b|years?\b"
    r"|[kKMGTP]i?B\b|bytes?\b|[kKMG]?bps\b|[kKMG]?B/s\b|req(?:uest)?s?(?:\s*/\s*s(?:ec)?|"
    r"\s+per\s+(?:second|minute))?\b|rps\b|qps\b|tps\b|fps\b|rpm\b|ops\b|users?\b"
    r"|sessions?\b|connections?\b|clicks?\b|steps?\b|taps?\b|attempts?\b|retries\b"
    r"|errors?\b|failures?\b|items?\b|records?\b|rows?\b|messages?\b|events?\b"
    r"|transactions?\b|pages?\b|calls?\b|nines\b|x\b|times\b|points?\b|characters?\b"
    r"|chars?\b|lines?\b|files?\b|px\b|dpi\b|°C|tokens?\b|MB\b|GB\b)"
)
_NUM = r"[$€£]?\s?\d+(?:[.,]\d+)*(?:\s?[kKM](?![A-Za-z]))?"
_COMPARATOR = (
    r"(?:≤|≥|<=|>=|=<|=>|<|>|\b(?:under|below|above|over|within|at\s+least|at\s+most"
    r"|no\s+more\s+than|no\s+less\s+than|not\s+more\s+than|less\s+than|more\s+than"
    r"|fewer\s+than|greater\s+than|up\s+to|maximum(?:\s+of)?|minimum(?:\s+of)?|max\.?"
    r"|min\.?|not\s+exceed(?:ing)?|exceeding|exceed|exceeds|shorter\s+than|faster\s+than"
    r"|longer\s+than|lower\s+than|higher\s+than|p\d{2,3}(?:\.\d+)?(?:\s+[a-z]+)?"
    r"(?:\s+(?:of|is|at|must\s+be|should\s+be|shall\s+be))?:?))"
)
MEASURABLE_RE = re.compile(
    rf"{_COMPARATOR}\s*(?:of\s+)?{_NUM}\s*{_UNIT}|\b\d+(?:[.,]\d+)?\s*(?:%|percent)\s+of\b"
    rf"|^[^\S\n]*(?:[-*+]\s+)?[*_]*[A-Za-z][\w /()-]{{1,40}}?[*_]*:[*_]*\s*{_NUM}\s*{_UNIT}",
    re.I | re.M,
)
_RETIRED_WORDS = (
    r"(?:descoped|de-scoped|withdrawn|removed|deprecated|superseded|obsolete|dropped"
    r"|cancell?ed|out of scope|won'?t do|not planned|rejected|future|deferred|postponed"
    r"|post[- ]?mvp|on hold)"
)
# A title that says the requirement is no longer wanted: "Export — DESCOPED",
# "Sync (withdrawn)", "[Deprecated] Old import", "~~Legacy export~~".
_RETIRED_TITLE_RE = re.compile(
    rf"(?:[-\u2013\u2014:|]\s*|[(\[]\s*)[*_]*{_RETIRED_WORDS}\b|^~~.*~~$", re.I
)
_RETIRED_STATUS_RE = re.compile(rf"^[*_\s]*{_RETIRED_WORDS}\b", re.I)
_GIVEN_RE = re.compile(r"^(?:\*\*|__|\*|_)?(?:Given|Scenario(?: Outline)?:)", re.I)
_EARS_RE = re.compile(r"^(?:\*\*)?(?:WHEN|IF|WHILE|WHERE|THE|AFTER|BEFORE|UPON)\b.*\bSHALL\b")


def split_lines(text: str) -> list[str]:
    """Lines as markdown-it numbers them (``\\r\\n``, ``\\r`` and ``\\n`` end a line)."""
    return _NEWLINE_RE.split(text)


# -- id references ---------------------------------------------------------------------


@dataclass(frozen=True)
class IdRef:
    """A mention of a requirement id: 0-based line, start and end characters."""

    id: str
    line: int
    start: int
    end: int


def find_id_references(
    text: str, pattern: re.Pattern[str] | None = None, *, aliases: bool = True
) -> list[IdRef]:
    """Every requirement id mentioned in ``text`` (plain text: Markdown, Python, anything).

    With ``aliases``, Kiro's ``Requirement N`` / ``Requirements N.M, K`` count as
    references to ``REQ-N``; the range then covers the number.
    """
    pat = pattern or REQ_ID_RE
    refs: list[IdRef] = []
    for n, line in enumerate(split_lines(text)):
        for m in pat.finditer(line):
            refs.append(IdRef(m.group(0), n, m.start(), m.end()))
        if aliases and "equirement" in line:
            for km in _KIRO_REF_RE.finditer(line):
                base = km.start("nums")
                for nm in _KIRO_NUM_RE.finditer(km.group("nums")):
                    major = nm.group(0).split(".", 1)[0]
                    refs.append(IdRef(f"REQ-{major}", n, base + nm.start(), base + nm.end()))
    refs.sort(key=lambda r: (r.line, r.start))
    return refs


# -- Markdown outline ------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    level: int
    title: str
    line: int
    end: int  # exclusive: the next heading of this level or higher, or the line count
    body_end: int  # exclusive: the next heading of any level
    text_end: int = -1  # exclusive end of the heading itself (2 lines for setext headings)


@dataclass
class Block:
    """A list item, a paragraph or a table row, with its 0-based line span."""

    kind: Literal["item", "para", "row"]
    line: int
    end: int
    text: str = ""
    in_list: bool = False
    first_of_item: bool = False
    cells: tuple[str, ...] = ()
    header: tuple[str, ...] = ()


@dataclass(frozen=True)
class Label:
    """A label line: ``**Acceptance criteria**:``, ``Acceptance criteria:``, ``**Storage**: x``."""

    title: str
    line: int
    rest: str
    bold: bool
    block: Block


@dataclass
class Outline:
    lines: list[str]
    headings: list[Heading]
    blocks: list[Block]
    labels: list[Label]
    code_lines: frozenset[int]
    heading_lines: list[int] = field(init=False)
    # Lines that continue a paragraph begun on an earlier line (a wrapped line).
    continuation: frozenset[int] = field(init=False)
    block_lines: list[int] = field(init=False)
    label_lines: list[int] = field(init=False)
    heading_line_set: frozenset[int] = field(init=False, repr=False, compare=False)
    # Index of each heading's parent: the nearest heading above it with a lower level
    # (-1 for none). Chains are at most six long, so walking one is constant time.
    _parents: list[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.heading_lines = [h.line for h in self.headings]
        self.heading_line_set = frozenset(self.heading_lines)
        self.block_lines = [b.line for b in self.blocks]
        self.labels.sort(key=lambda lb: lb.line)
        self.label_lines = [lb.line for lb in self.labels]
        self.continuation = frozenset(
            k for b in self.blocks if b.kind == "para" for k in range(b.line + 1, b.end)
        )
        parents: list[int] = []
        open_: list[int] = []  # indexes of headings with strictly increasing levels
        for idx, h in enumerate(self.headings):
            while open_ and self.headings[open_[-1]].level >= h.level:
                open_.pop()
            parents.append(open_[-1] if open_ else -1)
            open_.append(idx)
        self._parents = parents

    def headings_in(self, lo: int, hi: int) -> list[Heading]:
        """Headings on lines ``[lo, hi)``."""
        return self.headings[
            bisect_left(self.heading_lines, lo) : bisect_left(self.heading_lines, hi)
        ]

    def blocks_in(self, lo: int, hi: int) -> list[Block]:
        """Blocks starting on lines ``[lo, hi)``."""
        return self.blocks[bisect_left(self.block_lines, lo) : bisect_left(self.block_lines, hi)]

    def labels_in(self, lo: int, hi: int) -> list[Label]:
        """Labels on lines ``[lo, hi)``."""
        return self.labels[bisect_left(self.label_lines, lo) : bisect_left(self.label_lines, hi)]

    def ancestors(self, line: int) -> list[Heading]:
        """Headings whose section contains ``line`` (outermost first), not one on ``line``.

        Every such heading is the last heading above ``line`` or one of its parents (a
        section runs to the next heading of its level or higher), so only that chain is
        looked at."""
        out: list[Heading] = []
        idx = bisect_left(self.heading_lines, line) - 1
        while idx >= 0:
            h = self.headings[idx]
            if line < h.end:
                out.append(h)
            idx = self._parents[idx]
        out.reverse()
        return out

    def heading_before(self, line: int, below_level: int = 99) -> Heading | None:
        """The nearest heading above ``line`` with a level lower than ``below_level``.

        Headings between a heading and its parent all have a level at least its own, so
        the nearest one below a level is on the chain of parents."""
        idx = bisect_left(self.heading_lines, line) - 1
        while idx >= 0:
            if self.headings[idx].level < below_level:
                return self.headings[idx]
            idx = self._parents[idx]
        return None

    def first_heading_from(self, line: int) -> Heading | None:
        """The first heading on or after ``line``."""
        idx = bisect_left(self.heading_lines, line)
        return self.headings[idx] if idx < len(self.headings) else None

    def section_names(self) -> list[tuple[str, int]]:
        """Names a required-section rule can match: headings, bold labels, bare labels."""
        names = [(h.title, h.line) for h in self.headings]
        names += [(lb.title, lb.line) for lb in self.labels if lb.bold or not lb.rest.strip()]
        return sorted(names, key=lambda n: n[1])

    def content_sections(self) -> list[tuple[int, int, int]]:
        """``(start, body_start, end)`` line spans: the preamble, then each heading (its
        body starts after the heading's own lines) to the next heading."""
        spans: list[tuple[int, int, int]] = []
        first = self.headings[0].line if self.headings else len(self.lines)
        if first > 0:
            spans.append((0, 0, first))
        spans += [(h.line, max(h.text_end, h.line + 1), h.body_end) for h in self.headings]
        return spans


_MD: MarkdownIt | None = None
_MD_LOCK = threading.Lock()


def _markdown() -> MarkdownIt:
    """The parser, made at the first outline: importing markdown-it costs start-up time
    to commands that load the document checks without reading a document (``status``).
    Block structure only: the outline reads the raw content of inline tokens, never their
    parsed children, so inline parsing (a good part of the cost) is switched off. Called
    with ``_MD_LOCK`` held."""
    global _MD
    if _MD is None:
        from markdown_it import MarkdownIt

        _MD = MarkdownIt("commonmark").enable("table").disable(["inline", "text_join"])
    return _MD


def _parse_outline(text: str) -> Outline:
    lines = split_lines(text)
    with _MD_LOCK:
        tokens = _markdown().parse(text)
    raw_headings: list[tuple[int, str, int, int]] = []
    blocks: list[Block] = []
    code: set[int] = set()
    items: list[Block] = []
    row: list[str] | None = None
    row_line = 0
    in_thead = False
    header: tuple[str, ...] = ()
    for i, t in enumerate(tokens):
        kind = t.type
        if kind == "heading_open" and t.map:
            inline = tokens[i + 1] if i + 1 < len(tokens) else None
            title = inline.content.strip() if inline is not None else ""
            raw_headings.append((int(t.tag[1:]), title, t.map[0], t.map[1]))
        elif kind == "list_item_open" and t.map:
            item = Block("item", t.map[0], t.map[1], in_list=True)
            blocks.append(item)
            items.append(item)
        elif kind == "list_item_close" and items:
            items.pop()
        elif kind == "paragraph_open" and t.map:
            inline = tokens[i + 1] if i + 1 < len(tokens) else None
            content = inline.content if inline is not None else ""
            first = bool(items) and not items[-1].text and items[-1].line == t.map[0]
            if first:
                items[-1].text = content
            blocks.append(Block("para", t.map[0], t.map[1], content, bool(items), first))
        elif kind in ("fence", "code_block") and t.map:
            code.update(range(t.map[0], t.map[1]))
        elif kind == "thead_open":
            in_thead = True
        elif kind == "thead_close":
            in_thead = False
        elif kind == "tr_open" and t.map:
            row, row_line = [], t.map[0]
        elif kind == "inline" and row is not None:
            row.append(t.content.strip())
        elif kind == "tr_close" and row is not None:
            if in_thead:
                header = tuple(row)
            else:
                blocks.append(
                    Block(
                        "row",
                        row_line,
                        row_line + 1,
                        " | ".join(row),
                        cells=tuple(row),
                        header=header,
                    )
                )
            row = None
    n = len(lines)
    # A heading's section ends at the next heading of its level or higher: one pass with
    # a stack of the headings still open (levels strictly increasing).
    ends = [n] * len(raw_headings)
    open_: list[int] = []
    for idx, (level, _title, line, _text_end) in enumerate(raw_headings):
        while open_ and raw_headings[open_[-1]][0] >= level:
            ends[open_.pop()] = line
        open_.append(idx)
    headings: list[Heading] = []
    for idx, (level, title, line, text_end) in enumerate(raw_headings):
        body_end = raw_headings[idx + 1][2] if idx + 1 < len(raw_headings) else n
        headings.append(Heading(level, title, line, ends[idx], body_end, text_end))
    blocks.sort(key=lambda b: (b.line, 0 if b.kind == "item" else 1))
    labels: list[Label] = []
    for b in blocks:
        if b.kind == "row" or (b.kind == "para" and b.first_of_item):
            continue
        for k, text_line in enumerate(b.text.split("\n")):
            text_line = _CHECKBOX_RE.sub("", text_line.strip())
            m = _BOLD_LABEL_RE.match(text_line)
            if m:
                labels.append(Label(m["label"].strip(), b.line + k, m["rest"].strip(), True, b))
                continue
            m = _PLAIN_LABEL_RE.match(text_line) if k == 0 else None
            if m and len(m["label"].split()) <= 5:
                labels.append(Label(m["label"].strip(), b.line, m["rest"].strip(), False, b))
    return Outline(lines, headings, blocks, labels, frozenset(code))


# -- cache -----------------------------------------------------------------------------

_T = TypeVar("_T")
_CACHE: OrderedDict[tuple[object, ...], object] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 512


def _cached(key: tuple[object, ...], text: str, build: Callable[[], _T]) -> _T:
    full = (*key, hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest())
    with _CACHE_LOCK:
        hit = _CACHE.get(full)
        if hit is not None:
            _CACHE.move_to_end(full)
            return hit  # type: ignore[return-value]
    value = build()
    with _CACHE_LOCK:
        _CACHE[full] = value
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return value


def outline(text: str) -> Outline:
    """The (cached) outline of a Markdown text: headings, blocks, labels, code lines."""
    return _cached(("outline",), text, lambda: _parse_outline(text))


# -- requirements ----------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """A heading: its title, level (0 = preamble), line and exclusive end line."""

    title: str
    level: int
    line: int
    end_line: int = -1
    refs: tuple[IdRef, ...] = ()


@dataclass(frozen=True)
class AcceptanceItem:
    text: str
    line: int
    placeholder: bool = False  # it holds a placeholder: not a criterion yet


@dataclass
class Requirement:
    """A requirement definition. ``line``/``character``/``end_character`` locate its id."""

    id: str
    title: str
    path: str
    line: int
    character: int
    end_character: int
    acceptance: list[AcceptanceItem] = field(default_factory=list)
    section: str = ""
    format: DocFormat = "phasegate"
    kind: Literal["heading", "item", "para", "row"] = "heading"
    end_line: int = -1  # exclusive end of the text that belongs to it
    # Marked as no longer wanted: "### REQ-012: Export — DESCOPED", "**Status**: Withdrawn".
    retired: bool = False

    @property
    def real_acceptance(self) -> list[AcceptanceItem]:
        """Acceptance criteria that are not placeholders."""
        return [a for a in self.acceptance if not a.placeholder]


@dataclass
class RequirementsDoc:
    path: str
    format: DocFormat
    title: str
    sections: list[Section]
    requirements: list[Requirement]
    # Acceptance criteria not tied to one requirement (Spec Kit's user-story scenarios).
    shared_acceptance: list[AcceptanceItem] = field(default_factory=list)
    outline: Outline | None = None

    def duplicates(self) -> list[tuple[Requirement, Requirement]]:
        """``(first, again)`` for every repeated definition of an id in this document."""
        first: dict[str, Requirement] = {}
        out: list[tuple[Requirement, Requirement]] = []
        for r in self.requirements:
            if r.id in first:
                out.append((first[r.id], r))
            else:
                first[r.id] = r
        return out


@dataclass
class _Def:
    req: Requirement
    natural_end: int


def _clean_title(s: str) -> str:
    s = s.strip()
    s = _EMPH_RE.sub("", s).strip()
    s = re.sub(r"^[*_`]+|[*_`]+$", "", s).strip()
    return s.rstrip(":").strip()


def _locate(line: str, rid: str, pattern: re.Pattern[str]) -> tuple[int, int]:
    for m in pattern.finditer(line):
        if m.group(0) == rid:
            return m.start(), m.end()
    idx = line.find(rid)
    return (idx, idx + len(rid)) if idx >= 0 else (0, len(line))


def _match_def(text: str, pattern: re.Pattern[str]) -> tuple[str, str, bool] | None:
    """``(id, title, explicit)`` when ``text`` starts with an id; explicit = bold or a
    separator follows the id (``REQ-001:``, ``**FR-001**``)."""
    text = _CHECKBOX_RE.sub("", text.strip())
    lead = re.match(r"[*_`]*", text)
    pre = lead.group(0) if lead else ""
    m = pattern.match(text, len(pre))
    if not m:
        return None
    rest = text[m.end() :]
    post_m = re.match(r"[*_`]*", rest)
    post = post_m.group(0) if post_m else ""
    rest = rest[len(post) :]
    sep = _SEP_RE.match(rest)
    title = _clean_title(rest[sep.end() :] if sep else rest)
    return m.group(0), title, bool(pre) or sep is not None


def _strip_marker(line: str) -> str:
    return _MARKER_RE.sub("", line, count=1).strip()


class _ReqParser:
    def __init__(self, text: str, path: str, pattern: re.Pattern[str]) -> None:
        self.path = path
        self.pattern = pattern
        self.ol = outline(text)
        self.lines = self.ol.lines
        top = self.ol.headings[0] if self.ol.headings else None
        self._non_def = [
            h
            for h in self.ol.headings
            if is_non_definition_section(h.title)
            and not (h is top and h.level == 1)  # the document's own title
            and _match_def(h.title, pattern) is None
        ]
        self._ph_lines = {
            p.line
            for p in DEFAULT_SCANNER.scan(self.lines, self.ol.code_lines, self.ol.continuation)
        }
        # The lines inside a non-definition section (after its heading): a running count
        # of the sections open at each line, from their starts and ends.
        n = len(self.lines)
        delta = [0] * (n + 2)
        for h in self._non_def:
            lo, hi = h.line + 1, min(h.end, n)
            if lo < hi:
                delta[lo] += 1
                delta[hi] -= 1
        excluded = bytearray(n)
        depth = 0
        for k in range(n):
            depth += delta[k]
            if depth:
                excluded[k] = 1
        self._excluded_lines = excluded
        self._levels: dict[int, int] = {}
        for h in self.ol.headings:
            self._levels.setdefault(h.line, h.level)
        self._next_plain: list[int] | None = None
        self._next_free_para: list[int] | None = None

    def _excluded(self, line: int) -> bool:
        """Whether ``line`` is inside a non-definition section (below its heading)."""
        return 0 <= line < len(self._excluded_lines) and bool(self._excluded_lines[line])

    def _next_section_line(self, line: int) -> int:
        """The line of the first heading after ``line`` that is not an acceptance heading
        (the end of a paragraph requirement's text), or the line count."""
        ol = self.ol
        if self._next_plain is None:
            nxt = [len(self.lines)] * (len(ol.headings) + 1)
            for idx in range(len(ol.headings) - 1, -1, -1):
                h = ol.headings[idx]
                nxt[idx] = nxt[idx + 1] if ACCEPTANCE_LABEL_RE.search(h.title) else h.line
            self._next_plain = nxt
        return self._next_plain[bisect_left(ol.heading_lines, line + 1)]

    def _free_paragraph_from(self, idx: int) -> int:
        """Index of the first paragraph outside a list among the blocks from index ``idx``
        on, or the number of blocks."""
        ol = self.ol
        if self._next_free_para is None:
            nxt = [len(ol.blocks)] * (len(ol.blocks) + 1)
            for k in range(len(ol.blocks) - 1, -1, -1):
                b = ol.blocks[k]
                nxt[k] = k if b.kind == "para" and not b.in_list else nxt[k + 1]
            self._next_free_para = nxt
        return self._next_free_para[idx]

    def _req(self, rid: str, title: str, line: int, kind: str, fmt: DocFormat) -> Requirement:
        start, end = _locate(self.lines[line], rid, self.pattern)
        return Requirement(rid, title, self.path, line, start, end, kind=kind, format=fmt)  # type: ignore[arg-type]

    def definitions(self) -> list[_Def]:
        ol = self.ol
        defs: list[_Def] = []
        for h in ol.headings:
            if self._excluded(h.line):
                continue
            md = _match_def(h.title, self.pattern)
            if md:
                defs.append(_Def(self._req(md[0], md[1], h.line, "heading", "phasegate"), h.end))
                continue
            km = _KIRO_DEF_RE.match(h.title)
            if km:
                rid = f"REQ-{km['n']}"
                m = re.search(r"Requirement\s+" + km["n"], self.lines[h.line], re.I)
                start, end = m.span() if m else (0, len(self.lines[h.line]))
                req = Requirement(
                    rid, _clean_title(km["title"] or ""), self.path, h.line, start, end,
                    kind="heading", format="kiro",
                )  # fmt: skip
                defs.append(_Def(req, h.end))
        for b in ol.blocks:
            if b.line in ol.code_lines or self._excluded(b.line):
                continue
            if b.kind == "item":
                md = _match_def(b.text.split("\n", 1)[0], self.pattern)
                if md and md[2]:
                    defs.append(_Def(self._req(md[0], md[1], b.line, "item", "phasegate"), b.end))
            elif b.kind == "para" and not b.first_of_item:
                for k, text_line in enumerate(b.text.split("\n")):
                    md = _match_def(text_line, self.pattern)
                    if md and md[2] and b.line + k < len(self.lines):
                        ln = b.line + k
                        nxt = self._next_section_line(ln)
                        defs.append(_Def(self._req(md[0], md[1], ln, "para", "phasegate"), nxt))
            elif b.kind == "row" and b.cells:
                cell = _EMPH_RE.sub("", b.cells[0].strip()).strip()
                if self.pattern.fullmatch(cell):
                    title = _clean_title(b.cells[1]) if len(b.cells) > 1 else ""
                    defs.append(_Def(self._req(cell, title, b.line, "row", "phasegate"), b.end))
        defs.sort(key=lambda d: (d.req.line, d.req.character))
        # One line can only define one requirement (a heading that is also a list item...).
        unique: list[_Def] = []
        for d in defs:
            if unique and unique[-1].req.line == d.req.line:
                continue
            unique.append(d)
        for idx, d in enumerate(unique):
            nxt = unique[idx + 1].req.line if idx + 1 < len(unique) else len(self.lines)
            d.req.end_line = max(d.req.line + 1, min(d.natural_end, nxt))
        return unique

    # -- acceptance criteria ----------------------------------------------------------
    def _item(self, line: int, text: str | None = None, end: int = -1) -> AcceptanceItem:
        """The criterion on ``line`` (a list item spans ``[line, end)``, nested items
        included): a placeholder when any of its lines holds one."""
        raw = self.lines[line] if line < len(self.lines) else ""
        shown = _strip_marker(raw) if text is None else text.strip()
        ph = any(k in self._ph_lines for k in range(line, max(end, line + 1)))
        return AcceptanceItem(shown, line, ph)

    def acceptance(self, start: int, end: int, skip: int = -1) -> dict[int, AcceptanceItem]:
        """Acceptance items in lines ``[start, end)``: items under acceptance labels or
        headings, and Given/When/Then or EARS (``... SHALL ...``) lines."""
        ol = self.ol
        found: dict[int, AcceptanceItem] = {}
        spans: list[tuple[int, int]] = []  # lines of the list items taken as criteria

        def collect(lo: int, hi: int, paras: bool) -> None:
            nested_until = -1
            for b in ol.blocks_in(lo, hi):
                if b.line in ol.code_lines or b.line == skip:
                    continue
                if b.kind == "item":
                    if b.line < nested_until:
                        continue  # a sub-item of a criterion is part of that criterion
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
                nxt_heading = ol.first_heading_from(lb.line + 1)
                if nxt_heading is not None and nxt_heading.line < stop:
                    stop = nxt_heading.line
                first = bisect_left(ol.block_lines, lb.block.end)
                para = self._free_paragraph_from(first)
                if para < len(ol.blocks) and ol.blocks[para].line < stop:
                    stop = ol.blocks[para].line
                collect(lb.line + 1, stop, False)
        heading_lines = ol.heading_line_set
        inside = {k for lo, hi in spans for k in range(lo + 1, hi)}
        for k in range(start, min(end, len(self.lines))):
            if k in ol.code_lines or k in heading_lines or k == skip or k in found or k in inside:
                continue
            s = _strip_marker(self.lines[k])
            if s and (_GIVEN_RE.match(s) or _EARS_RE.match(s)):
                found[k] = self._item(k)
        return found

    def parse(self) -> RequirementsDoc:
        ol = self.ol
        defs = self.definitions()
        reqs = [d.req for d in defs]
        covered: set[int] = set()
        rows = {b.line: b for b in ol.blocks if b.kind == "row"}
        for r in reqs:
            items = self.acceptance(r.line, r.end_line, skip=r.line)
            if r.kind == "row":
                row = rows[r.line]
                for name, cell in zip(row.header, row.cells, strict=False):
                    if cell.strip() and ACCEPTANCE_LABEL_RE.search(name):
                        items[r.line] = self._item(r.line, cell)
            r.acceptance = [items[k] for k in sorted(items)]
            covered.update(range(r.line, r.end_line))
            r.retired = bool(_RETIRED_TITLE_RE.search(r.title)) or any(
                lb.title.lower() == "status" and _RETIRED_STATUS_RE.match(lb.rest)
                for lb in ol.labels_in(r.line, r.end_line)
            )
            parent = ol.heading_before(r.line, self._level(r))
            r.section = parent.title if parent else ""
            if r.format == "kiro" and not r.title:
                r.title = self._user_story(r) or f"Requirement {r.id[4:]}"
        by_id: dict[str, Requirement] = {}
        for r in reqs:
            by_id.setdefault(r.id, r)
        known = set(by_id)
        shared: list[AcceptanceItem] = []
        everything = self.acceptance(0, len(self.lines))
        for k in sorted(everything):
            if k in covered:
                continue
            item = everything[k]
            ids = {ref.id for ref in find_id_references(item.text, self.pattern)} & known
            if ids:
                for rid in ids:
                    by_id[rid].acceptance.append(item)
            else:
                shared.append(item)
        for r in reqs:  # a requirement with a measurable target is its own criterion
            if not r.real_acceptance:
                target = self._measurable_statement(r)
                if target:
                    r.acceptance.insert(0, AcceptanceItem(target, r.line))
        title = next((h.title for h in ol.headings if h.level == 1), "")
        sections = [Section(h.title, h.level, h.line, h.end) for h in ol.headings]
        return RequirementsDoc(
            self.path, self._format(reqs), title, sections, reqs, shared, outline=ol
        )

    def _statement(self, r: Requirement) -> tuple[str, range]:
        """The requirement's own statement and its lines: a list item's first paragraph,
        a paragraph line, a table row, or a heading's title and first paragraph."""
        ol = self.ol
        if r.kind == "item":
            for b in ol.blocks_in(r.line, r.line + 1):
                if b.kind == "para" and b.first_of_item:
                    return b.text, range(b.line, b.end)
            return self.lines[r.line], range(r.line, r.line + 1)
        if r.kind == "heading":
            # The title, then the first paragraph or the top-level items of the first list.
            parts, last = [r.title], r.line + 1
            nested_until = -1
            for b in ol.blocks_in(r.line + 1, r.end_line):
                if b.line in ol.code_lines or ol.headings_in(last, b.line + 1):
                    break
                if b.kind == "para" and not b.in_list:
                    if len(parts) > 1:
                        break
                    parts.append(b.text)
                    last = b.end
                    break
                if b.kind != "item":
                    break
                if b.line >= nested_until:
                    parts.append(b.text)
                    nested_until = b.end
                last = b.end
            return "\n".join(parts), range(r.line, last)
        return self.lines[r.line], range(r.line, r.line + 1)

    def _measurable_statement(self, r: Requirement) -> str:
        """The statement of ``r`` when it carries a measurable target (``p95 latency <=
        200 ms``, ``at least 99.9% uptime``) and no placeholder: it is its own criterion."""
        text, lines = self._statement(r)
        if any(k in self._ph_lines for k in lines) or not MEASURABLE_RE.search(text):
            return ""
        return " ".join(_strip_marker(text).split())

    def _level(self, r: Requirement) -> int:
        if r.kind == "heading":
            return self._levels.get(r.line, 99)
        return 99

    def _user_story(self, r: Requirement) -> str:
        for lb in self.ol.labels_in(r.line + 1, r.end_line):
            if lb.title.lower().startswith("user story"):
                return _clean_title(lb.rest)
        return ""

    def _format(self, reqs: Sequence[Requirement]) -> DocFormat:
        p = self.path.replace("\\", "/")
        if ".kiro/" in p or any(r.format == "kiro" for r in reqs):
            return "kiro"
        if re.search(r"(^|/)specs/[^/]+/spec\.md$", p) or any(
            re.search(r"user scenarios|feature specification", h.title, re.I)
            for h in self.ol.headings
        ):
            return "spec-kit"
        return "phasegate"


def parse_requirements(
    text: str, path: str, prefixes: Iterable[str] = DEFAULT_ID_PREFIXES
) -> RequirementsDoc:
    """Parse a requirements document (any accepted format). Cached by content."""
    pref = tuple(prefixes)
    return _cached(
        ("req", path, pref), text, lambda: _ReqParser(text, path, id_regex(pref)).parse()
    )


def id_prefixes(config: Config) -> tuple[str, ...]:
    arts = config.artifacts
    return tuple(getattr(arts, "requirement_id_prefixes", DEFAULT_ID_PREFIXES))


def id_regex_for(config: Config) -> re.Pattern[str]:
    """The requirement id pattern configured for a workspace."""
    return id_regex(id_prefixes(config))


def load_requirement_docs(
    workspace: Workspace, config: Config, patterns: Sequence[str] | None = None
) -> list[RequirementsDoc]:
    """Every requirements document among ``config.artifacts.requirements`` (sorted)."""
    docs = []
    for path in workspace.glob(patterns or config.artifacts.requirements):
        text = workspace.read_text(path)
        if text is not None:
            docs.append(parse_requirements(text, path, id_prefixes(config)))
    return docs


def load_requirements(workspace: Workspace, config: Config) -> list[Requirement]:
    """All requirement definitions of the workspace, in document then line order."""
    return [r for doc in load_requirement_docs(workspace, config) for r in doc.requirements]


def requirement_index(workspace: Workspace, config: Config) -> dict[str, Requirement]:
    """Requirement id -> its definition (the first one wins when an id repeats)."""
    index: dict[str, Requirement] = {}
    for r in load_requirements(workspace, config):
        index.setdefault(r.id, r)
    return index


# -- design ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DesignRef:
    """Where a requirement id is mentioned in a design: path, line, characters, section."""

    id: str
    path: str
    line: int
    start: int
    end: int
    section: str


@dataclass
class DesignDoc:
    path: str
    title: str
    sections: list[Section]  # innermost heading spans, with the id references of each
    refs: list[IdRef]
    outline: Outline | None = None

    def section_at(self, line: int) -> Section | None:
        for s in self.sections:
            if s.line <= line < s.end_line:
                return s
        return None

    def locate(self, rid: str) -> list[DesignRef]:
        """Every mention of ``rid``, with the title of the section it is in."""
        out = []
        for r in self.refs:
            if r.id == rid:
                sec = self.section_at(r.line)
                out.append(
                    DesignRef(rid, self.path, r.line, r.start, r.end, sec.title if sec else "")
                )
        return out

    @property
    def ids(self) -> set[str]:
        return {r.id for r in self.refs}


def _parse_design(text: str, path: str, pattern: re.Pattern[str]) -> DesignDoc:
    ol = outline(text)
    refs = find_id_references(text, pattern)
    spans: list[tuple[str, int, int, int]] = []
    first = ol.headings[0].line if ol.headings else len(ol.lines)
    if first > 0:
        spans.append(("", 0, 0, first))
    spans += [(h.title, h.level, h.line, h.body_end) for h in ol.headings]
    ref_lines = [r.line for r in refs]
    sections = [
        Section(t, lv, s, e, tuple(refs[bisect_left(ref_lines, s) : bisect_left(ref_lines, e)]))
        for t, lv, s, e in spans
    ]
    title = next((h.title for h in ol.headings if h.level == 1), "")
    return DesignDoc(path, title, sections, refs, outline=ol)


def parse_design(text: str, path: str, prefixes: Iterable[str] = DEFAULT_ID_PREFIXES) -> DesignDoc:
    """Parse a design document: its sections and the requirement ids each mentions."""
    pref = tuple(prefixes)
    return _cached(("design", path, pref), text, lambda: _parse_design(text, path, id_regex(pref)))


def load_design_docs(
    workspace: Workspace, config: Config, patterns: Sequence[str] | None = None
) -> list[DesignDoc]:
    """Every design document among ``config.artifacts.design`` (sorted)."""
    docs = []
    for path in workspace.glob(patterns or config.artifacts.design):
        text = workspace.read_text(path)
        if text is not None:
            docs.append(parse_design(text, path, id_prefixes(config)))
    return docs


def design_locations(workspace: Workspace, config: Config) -> dict[str, list[DesignRef]]:
    """Requirement id -> where the design mentions it (path, line, section title)."""
    out: dict[str, list[DesignRef]] = {}
    for doc in load_design_docs(workspace, config):
        for r in doc.refs:
            sec = doc.section_at(r.line)
            out.setdefault(r.id, []).append(
                DesignRef(r.id, doc.path, r.line, r.start, r.end, sec.title if sec else "")
            )
    return out


def designs_for(requirements_path: str, designs: Sequence[DesignDoc]) -> list[DesignDoc]:
    """The design documents that trace a requirements document: those in the same folder
    (Spec Kit's ``specs/<f>/plan.md``, Kiro's ``design.md``, ``docs/design.md``). A
    feature folder's document has only those (never another feature's plan); any other
    document with no design in its folder has the design documents outside feature
    folders, else all of them."""
    from phasegate.features import feature_of

    folder = requirements_path.rsplit("/", 1)[0] if "/" in requirements_path else ""
    same = [d for d in designs if (d.path.rsplit("/", 1)[0] if "/" in d.path else "") == folder]
    if same or feature_of(requirements_path) is not None:
        return same
    return [d for d in designs if feature_of(d.path) is None] or list(designs)
