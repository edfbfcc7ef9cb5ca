"""Placeholder detection shared by the document checks and the document model.

A placeholder is text that stands for content nobody has written yet: ``TBD``, ``TODO``,
``FIXME``, ``XXX``, Spec Kit's ``[NEEDS CLARIFICATION: ...]`` markers, ``lorem ipsum``,
template slots such as ``<project name>`` or ``[FEATURE NAME]``, and a line (or table
cell) that is only ``...``. Detection is line based and returns exact 0-based character
ranges; inline code spans and URLs are masked first, and the caller passes the lines to
skip (fenced and indented code blocks).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

# HTML element names that are markup, not template slots, when written as ``<name>``.
_TAG_NAMES = """a abbr address article aside audio b bdi bdo blockquote body br button canvas
    caption
    center cite code col colgroup data dd del details dfn dialog div dl dt em embed fieldset
    figcaption figure font footer form h1 h2 h3 h4 h5 h6 head header hr html i iframe img input
    ins kbd label legend li link main map mark meta meter nav noscript object ol optgroup option
    output p param picture pre progress q rp rt ruby s samp script section select small source
    span strike strong style sub summary sup table tbody td template textarea tfoot th thead
    time title tr track tt u ul var video wbr"""
HTML_TAGS = frozenset(_TAG_NAMES.split())

BUILTIN_PATTERNS: dict[str, str] = {
    "TBD": r"\bTBD\b",
    "TODO": r"\bTODOs?\b",
    "FIXME": r"\bFIXME\b",
    "XXX": r"\bXXX\b",
    "needs-clarification": r"\[NEEDS CLARIFICATION\b[^\]]*\]?",
    "lorem-ipsum": r"(?i:\blorem ipsum\b)",
    # <project name>, <your-api-key>: a word slot in angle brackets (HTML tags excluded).
    "angle-slot": r"(?<![\w<])<(?P<slot>[A-Za-z][A-Za-z0-9 _-]{0,40})>",
    # [FEATURE NAME], [DATE]: an all-capitals slot, not a link or a task box.
    "bracket-slot": r"(?<![\w!\]])\[(?P<bslot>[A-Z][A-Z0-9 _/&.#-]{3,60})\](?![(\[:])",
    # A line, list item or table cell that is only "..." (or the ellipsis character).
    "ellipsis": (
        r"^\s*(?:>\s*)*(?:[-*+]\s+|\d+[.)]\s+)?(?:\[[ xX]\]\s+)?(?P<dots>\.\.\.|…)\s*$"
        r"|(?<=\|)\s*(?P<cdots>\.\.\.|…)\s*(?=\|)"
    ),
}

_MASK_RE = re.compile(r"(`+)(?:(?!\1).)+?\1|<https?://[^>\s]*>|\bhttps?://\S+")
_REF_DEF_RE = re.compile(r"^\s{0,3}\[([^\]]+)\]:\s")


@dataclass(frozen=True)
class Placeholder:
    """One placeholder: 0-based line, start/end characters, matched text and kind."""

    line: int
    start: int
    end: int
    text: str
    kind: str


class PlaceholderOptions(BaseModel):
    """Options of the ``*-PLACEHOLDER`` checks."""

    model_config = ConfigDict(extra="forbid")

    disable: list[str] = Field(
        default_factory=list,
        description="Built-in patterns to switch off: " + ", ".join(BUILTIN_PATTERNS) + ".",
    )
    extra_patterns: list[str] = Field(
        default_factory=list,
        description="More regular expressions that mark a placeholder (Python syntax).",
    )
    decay: float = Field(
        0.98,
        gt=0.0,
        le=1.0,
        description="Score = share of sections without placeholders x decay ** placeholders.",
    )

    @field_validator("disable")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        unknown = [n for n in v if n not in BUILTIN_PATTERNS]
        if unknown:
            known = ", ".join(BUILTIN_PATTERNS)
            raise ValueError(f"unknown placeholder patterns {unknown}; known: {known}")
        return v

    @field_validator("extra_patterns")
    @classmethod
    def _compiles(cls, v: list[str]) -> list[str]:
        for pat in v:
            try:
                re.compile(pat)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {pat!r}: {exc}") from None
        return v


class PlaceholderScanner:
    """Compiled placeholder patterns; :meth:`scan` finds them in lines of text."""

    def __init__(self, disable: Collection[str] = (), extra: Iterable[str] = ()) -> None:
        self.patterns: list[tuple[str, re.Pattern[str]]] = [
            (name, re.compile(pat)) for name, pat in BUILTIN_PATTERNS.items() if name not in disable
        ]
        self.patterns += [("custom", re.compile(p)) for p in extra]

    @classmethod
    def from_options(cls, options: PlaceholderOptions) -> PlaceholderScanner:
        return cls(options.disable, options.extra_patterns)

    def scan_line(
        self, line: str, number: int = 0, ref_labels: Collection[str] = ()
    ) -> list[Placeholder]:
        """Placeholders in one line (inline code and URLs masked), overlaps removed."""
        masked = _MASK_RE.sub(lambda m: " " * len(m.group(0)), line)
        found: list[Placeholder] = []
        for kind, pat in self.patterns:
            for m in pat.finditer(masked):
                start, end = m.span()
                groups = m.groupdict()
                if kind == "angle-slot":
                    slot = groups.get("slot") or ""
                    if slot.split(" ", 1)[0].lower() in HTML_TAGS:
                        continue
                elif kind == "bracket-slot":
                    if (groups.get("bslot") or "").upper() in ref_labels:
                        continue
                elif kind == "ellipsis":
                    name = "dots" if groups.get("dots") else "cdots"
                    start, end = m.span(name)
                if end <= start:
                    continue
                found.append(Placeholder(number, start, end, line[start:end], kind))
        found.sort(key=lambda p: (p.start, -(p.end - p.start)))
        out: list[Placeholder] = []
        for p in found:
            if out and p.start < out[-1].end:
                continue  # inside (or overlapping) a longer match already taken
            out.append(p)
        return out

    def scan(self, lines: Sequence[str], skip: Collection[int] = ()) -> list[Placeholder]:
        """Placeholders in ``lines`` (0-based numbers), skipping the line numbers ``skip``."""
        labels = {m.group(1).upper() for line in lines if (m := _REF_DEF_RE.match(line))}
        out: list[Placeholder] = []
        for i, line in enumerate(lines):
            if i in skip or not line.strip():
                continue
            out += self.scan_line(line, i, labels)
        return out


DEFAULT_SCANNER = PlaceholderScanner()


def has_placeholder(text: str) -> bool:
    """True when ``text`` (one or more lines) holds a placeholder of the default set."""
    return any(DEFAULT_SCANNER.scan_line(line) for line in text.splitlines())


def describe(p: Placeholder) -> str:
    """The finding message for a placeholder."""
    if p.kind == "needs-clarification":
        return f"open question {p.text!r}: answer it and remove the marker"
    if p.kind == "ellipsis":
        return "'...' stands for content that is not written yet"
    if p.kind in ("angle-slot", "bracket-slot"):
        return f"template slot {p.text!r}: replace it with the real value"
    return f"placeholder {p.text!r}: replace it with the real content"
