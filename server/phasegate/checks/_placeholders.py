"""Placeholder detection shared by the document checks and the document model.

A placeholder is text that stands for content nobody has written yet: ``TBD``, a ``TODO``
/ ``FIXME`` / ``XXX`` marker, Spec Kit's ``[NEEDS CLARIFICATION: ...]`` markers,
``lorem ipsum``, template slots (``<project name>``, ``[FEATURE NAME]``, Spec Kit's
``[Brief Title]``, ``**Given** [initial state]``, ``[e.g., Python 3.11 or ...]``,
``$ARGUMENTS``), and a line (or table cell) that is only ``...``.

The words are told apart from their use in prose:

* ``TBD`` is a placeholder wherever it stands, unless the sentence talks about TBD markers
  (``no TBD items remain``) or it is part of a name (``TBD.md``).
* ``TODO``, ``FIXME`` and ``XXX`` are markers when followed by ``:``, ``(`` or a dash
  (``TODO: write this``, ``TODO(ana)``), or when they start a block, a table cell, a
  label's value or a parenthesis (``- TODO``, ``| TODO |``, ``Owner: TODO``,
  ``(FIXME)``). Mid-sentence they are words (``the TODO list``, ``HOTFIX and TODO
  comments``), and a file name (``doc/TODO.md``) or a number mask (``$XXX,XXX``,
  ``XXX-XXX``, ``XXX%``) is never a marker.
* A bracket is a template slot when it holds instructions (``[e.g., ...]``,
  ``[Describe ...]``, ``[... or NEEDS CLARIFICATION]``), fills a Given/When/Then slot,
  is a whole value (a label's ``**Created**: [DATE]``, a heading part ``### Story 1 -
  [Brief Title] (Priority: P1)``, a cell ``| [current need] |``, a bold entity
  ``**[Entity 1]**: ...``, a line of several words starting with a capital), or is an
  all-capitals multi-word name (``[FEATURE NAME]``). Links, reference labels, task boxes
  (``[ ]``, ``[x]``), footnotes, tags (Spec Kit's ``[P]``, ``[US1]``, ``[Story]``, ids,
  short words, status words such as ``[Optional]``, a legend's ``**[BLOCKING]**:``),
  numbers and intervals (``[0, 1]``), lists (``[ops, ci]``), TOML tables
  (``[tool.ruff]``), annotations (``[NOTE: ...]``) and single words in prose
  (``shows [AGENT]``) are not.
* An angle slot is ``<project name>``, ``<your-api-key>``, ``<API_KEY>`` or a whole value;
  not markup (HTML, or an element the document closes: ``<files>...</files>``) nor a
  metavariable in a sentence (``--out <path>``, ``<id>.<zone>``).
* ``[NEEDS CLARIFICATION]`` named in a checklist (``No [NEEDS CLARIFICATION] markers
  remain``) is a mention, not a marker.

Detection is line based and returns exact 0-based character ranges. Inline code spans
(also when they run over several lines of a paragraph) and URLs are masked first; YAML
front matter is skipped and slots inside HTML comments are ignored; the caller passes the
lines to skip (fenced and indented code blocks) and, when it knows them, the lines that
continue a paragraph (so that a wrapped line does not "start" a block).
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
    "FIXME": r"\bFIXMEs?\b",
    "XXX": r"\bXXX\b",
    "needs-clarification": r"\[NEEDS CLARIFICATION\b[^\]]*\]?",
    "lorem-ipsum": r"(?i:\blorem ipsum\b)",
    # <project name>, <your-api-key>: a word slot in angle brackets (HTML tags excluded).
    "angle-slot": r"(?<![\w<])<(?P<slot>[A-Za-z][A-Za-z0-9 _-]{1,40})>",
    # [FEATURE NAME], [Brief Title], [e.g., ...]: a template slot in square brackets
    # (candidates only: the bracket's content and place decide, see the module docstring).
    "bracket-slot": r"(?<![\w!\]\\])\[",
    # $ARGUMENTS (Spec Kit's command input), {{feature_name}} (a mustache variable).
    "template-variable": r"\$ARGUMENTS\b|(?<![$\w{])\{\{\s*[A-Za-z_][\w.-]*\s*\}\}(?!\})",
    # A line, list item or table cell that is only "..." (or the ellipsis character).
    "ellipsis": (
        r"^\s*(?:>\s*)*(?:[-*+]\s+|\d+[.)]\s+)?(?:\[[ xX]\]\s+)?(?P<dots>\.\.\.|…)\s*$"
        r"|(?<=\|)\s*(?P<cdots>\.\.\.|…)\s*(?=\|)"
    ),
}

_MARKER_KINDS = frozenset({"TODO", "FIXME", "XXX"})
# A line without any of these holds no built-in placeholder (a cheap first test).
_CANDIDATE_RE = re.compile(r"TBD|TODO|FIXME|XXX|NEEDS|(?i:lorem)|[<\[{$]|\.\.\.|\u2026")
_SLOT_KINDS = frozenset({"angle-slot", "bracket-slot"})

_CODE_SPAN_RE = re.compile(r"(?<!`)(`+)(?!`)(?:.|\n)+?(?<!`)\1(?!`)")
_URL_RE = re.compile(r"<https?://[^>\s]*>|\bhttps?://\S+")
_REF_DEF_RE = re.compile(r"^\s{0,3}\[([^\]]+)\]:\s")
# Spec Kit's feature-number slot, kept even inside inline code: `[###-feature-name]`.
_NUMBER_SLOT_RE = re.compile(r"\[#{2,}[\w./-]*\]")
# A line that starts a block of its own (a wrapped paragraph line does not).
_BLOCK_START_RE = re.compile(r"^\s{0,3}(?:#{1,6}(?:\s|$)|>)|^\s*(?:[-*+]\s|\d+[.)]\s|\|)")
_NO_CONTINUE_RE = re.compile(r"^\s{0,3}(?:#{1,6}(?:\s|$)|[=-]{2,}\s*$)|^\s*\|")
# Block markers before a block's first word: quote, heading, list marker, task box.
_LEAD_RE = re.compile(r"\s*(?:>\s*)*(?:#{1,6}\s+)?(?:(?:[-*+]|\d+[.)])\s+)?(?:\[[ xX]\]\s+)?")
_QUOTES = ("'", '"', "\u201c", "\u2018", "\u201d", "\u2019")
_OPENERS = "*_~\"'`\u201c\u2018"
# Separators after which a value starts: a label's colon, a table pipe, a parenthesis,
# an equals sign, a spaced dash (``Story 1 - [Title]``).
_VALUE_AFTER_RE = re.compile(r"(?:[:|(\[=]|\s[-\u2013\u2014])$")
_FILE_NAME_RE = re.compile(r"(?:TODO|FIXME|TBD)s?\.[A-Za-z]{1,5}\b")
# Words after a marker that make it a noun: "the TODO list", "no TBD items remain".
_NOUN_AFTER_RE = re.compile(
    r"\s+(?:lists?|items?|entr(?:y|ies)|comments?|markers?|files?|docs?|documents?|notes?"
    r"|tags?|placeholders?|apps?|applications?|trackers?|sections?|counts?|remain\w*|left"
    r"|scans?|checks?|mentions?|annotations?|tasks?|backlogs?)\b",
    re.I,
)
_MENTION_WORDS = (
    "no", "any", "zero", "all", "use", "using", "with", "mark", "marked", "remaining",
    "unresolved", "resolved", "open", "excluding", "without", "except", "every", "each",
    "extract", "count", "find", "flag", "search", "grep",
)  # fmt: skip
_MENTION_TAIL = "*_\"'`\u201c\u2018"
_MENTION_BEFORE_RE = re.compile(
    rf"\b(?:{'|'.join(_MENTION_WORDS)})\s*[{re.escape(_MENTION_TAIL)}]*$", re.I
)
_MENTION_AFTER_RE = re.compile(
    r"\s*[*_\"'`\u201d\u2019]*\s*(?:markers?|tags?|items?|remain\w*|placeholders?|notes?|left|entries)\b",
    re.I,
)
_GENERIC_CLARIFICATION_RE = re.compile(
    r"\[NEEDS CLARIFICATION(?::\s*(?:\.\.\.|\u2026|specific question|question))?\]", re.I
)
_CLOSING_TAG_RE = re.compile(r"</([A-Za-z][\w-]*)\s*>")
_CONNECTOR_RE = re.compile(r"\s*(?:,|/|&|\band\b|\bor\b)?\s*[*_]*\s*", re.I)
_MASK_CHARS_RE = re.compile(r"[$\d%,.#-]")

# Bracket contents that are tags, not slots: Spec Kit's task tags ([P], [US1], [Story]),
# ids ([FR-001], [T012]), single letters, prompts ([y/N]), status words.
_TAG_RE = re.compile(
    r"(?:P\d?\??|US\d+|T\d+|ID|Story|Stories|[A-Za-z]|[A-Z]{1,6}-?\d+(?:\.\d+)*[a-z]?"
    r"|[yY]/[nN]|[nN]/[yY]|[A-Za-z]{1,3}\d*)",
)
_STATUS_WORDS_TEXT = """
    optional required deprecated sic wip draft done new beta alpha experimental internal
    unreleased recommended default removed fixed added changed security breaking stable
    preview legacy archived obsolete mandatory yes no ok passed failed pending skipped
    blocked verified resolved approved accepted rejected flaky"""
_STATUS_WORDS = frozenset(_STATUS_WORDS_TEXT.split())
# All-capitals single words that are template slots wherever they stand.
_CAPS_SLOT_WORDS_TEXT = """
    DATE FEATURE NAME TITLE PROJECT AUTHOR AUTHORS VERSION OWNER DESCRIPTION SUMMARY LINK
    EMAIL TEAM COMPANY PRODUCT PLACEHOLDER INSERT VALUE NUMBER BRANCH REPO REPOSITORY
    USERNAME ORGANIZATION CONTACT PURPOSE GOAL GOALS CONTEXT LANGUAGE FRAMEWORK ENTITY
    COMPONENT ENDPOINT RATIONALE OVERVIEW DETAILS REASON"""
_CAPS_SLOT_WORDS = frozenset(_CAPS_SLOT_WORDS_TEXT.split())
# Instructions inside a slot: "[e.g., ...]", "[Describe ...]", "[... or NEEDS CLARIFICATION]".
_CUE_RE = re.compile(
    r"\be\.g\.|\bi\.e\.|\bif applicable\b|\bor N/A\b|NEEDS CLARIFICATION|\bTBD\b", re.I
)
_IMPERATIVES_TEXT = """
    Describe Explain Add List Extract Document Provide Specify Define Insert Enter Replace
    Fill Write Summarize Summarise Identify Include State Outline Remove Link Choose Select
    Give Reference Mention Detail Clarify Justify Paste Briefly Short Brief"""
_IMPERATIVES = frozenset(_IMPERATIVES_TEXT.split())
_GWT_WORDS = ("Given", "When", "Then", "And", "But", "GIVEN", "WHEN", "THEN", "AND")
_GWT_TAIL = "*_"
_GWT_BEFORE_RE = re.compile(rf"\b(?:{'|'.join(_GWT_WORDS)})[*_]*\s*$")
_SUFFIX_END_RE = re.compile(r"[*_~\"'`\u201d\u2019]*\s*[.,;:!?]?\s*(?:\||$)")
_SUFFIX_LABEL_RE = re.compile(r"(?:\*\*|__)\s*:")
_BRACKET_RE = re.compile(r"[\[\]]")
_OPTION_BEFORE_RE = re.compile(r"(?:^|\s)--?[\w-]+[ =]$")
_EXAMPLE_RE = re.compile(r"\b(?:e\.g\.|for example|such as)", re.I)


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


# -- masking ---------------------------------------------------------------------------


def _blank(s: str) -> str:
    return re.sub(r"[^\n]", " ", s)


def continuation_lines(lines: Sequence[str], skip: Collection[int] = ()) -> frozenset[int]:
    """Lines that continue the paragraph of the line above (a heuristic for when the caller
    has no Markdown outline): not blank, not code, not a heading, list item, quote or table
    row, and under a non-blank line of text."""
    out: set[int] = set()
    for k in range(1, len(lines)):
        prev, line = lines[k - 1], lines[k]
        if not line.strip() or not prev.strip() or k in skip or k - 1 in skip:
            continue
        if _BLOCK_START_RE.match(line) or _NO_CONTINUE_RE.match(prev):
            continue
        out.add(k)
    return frozenset(out)


_FORMAT_INTRO_RE = re.compile(r"\bformat[*_]*:[*_]*\s*$", re.I)
_LIST_ITEM_RE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")


def _format_lists(lines: Sequence[str], skip: Collection[int]) -> set[int]:
    """The items of a list introduced by a line ending in "format:" ("Consolidate findings
    in `research.md` using format:" then "- Decision: [what was chosen]", as Spec Kit's
    plan template keeps in every plan): they describe the shape of another document, so
    their brackets are not slots of this one."""
    out: set[int] = set()
    for k, line in enumerate(lines):
        if k in skip or not _FORMAT_INTRO_RE.search(line):
            continue
        j = k + 1
        while j < len(lines) and j not in skip and _LIST_ITEM_RE.match(lines[j]):
            out.add(j)
            j += 1
    return out


def _front_matter(lines: Sequence[str]) -> set[int]:
    """The lines of a YAML front matter block (``---`` on the first line to the next
    ``---`` or ``...``): metadata, not text."""
    if not lines or lines[0].strip() != "---":
        return set()
    for k in range(1, min(len(lines), 200)):
        if lines[k].strip() in ("---", "..."):
            return set(range(k + 1))
    return set()


def _mask_document(
    lines: Sequence[str], skip: Collection[int], continuation: Collection[int]
) -> tuple[list[str], dict[int, list[tuple[int, int]]]]:
    """Lines with code spans (also over several lines of a paragraph) and URLs blanked,
    and the HTML comment ranges of each line."""
    masked = list(lines)
    k, n = 0, len(lines)
    while k < n:
        if k in skip or not lines[k].strip():
            k += 1
            continue
        end = k + 1
        while end < n and end in continuation and end not in skip:
            end += 1
        if any("`" in lines[j] for j in range(k, end)):
            text = "\n".join(lines[k:end])
            text = _CODE_SPAN_RE.sub(lambda m: _blank(m.group(0)), text)
            masked[k:end] = text.split("\n")
        k = end
    comments: dict[int, list[tuple[int, int]]] = {}
    inside = False
    for k in range(n):
        line = masked[k]
        if k not in skip and ("http" in line):
            line = masked[k] = _URL_RE.sub(lambda m: " " * len(m.group(0)), line)
        if k in skip or not (inside or "<!--" in line):
            continue
        pos = 0
        while pos <= len(line):
            if inside:
                close = line.find("-->", pos)
                stop = len(line) if close < 0 else close + 3
                comments.setdefault(k, []).append((pos, stop))
                if close < 0:
                    break
                inside, pos = False, stop
            else:
                opening = line.find("<!--", pos)
                if opening < 0:
                    break
                inside, pos = True, opening
    return masked, comments


# -- the decisions ---------------------------------------------------------------------


def _search_end(
    pattern: re.Pattern[str], text: str, words: Sequence[str], tail: str
) -> re.Match[str] | None:
    """``pattern.search(text)`` for a pattern made of one of ``words`` (letters only)
    followed by whitespace and ``tail`` characters up to the end (``$``). Such a match
    ends its word where the trailing run of whitespace and ``tail`` characters begins, so
    the search starts just before that (``pos`` keeps the characters before it in view
    for ``\\b``): the same match, at a cost that does not grow with the text before it."""
    i = len(text)
    while i and (text[i - 1].isspace() or text[i - 1] in tail):
        i -= 1
    return pattern.search(text, max(0, i - max(map(len, words)) - 1))


def _value_start(before: str, continuation: bool) -> bool:
    """True when text starting right after ``before`` starts a value: a block's first word
    (after list markers, quote marks, a task box and emphasis), a label's value, a table
    cell, a parenthesis."""
    b = before.rstrip().rstrip(_OPENERS).rstrip()
    if not b:
        return not continuation
    if not continuation and _LEAD_RE.fullmatch(b + " "):
        return True
    # the pattern ends the string: its last two characters decide (searching all of a
    # long line for each candidate would cost the square of its length)
    return bool(_VALUE_AFTER_RE.search(b[-2:]))


def _closes_value(after: str, heading: bool) -> bool:
    """True when nothing but emphasis, punctuation, a cell end, a bold label's colon or (in a
    heading) a parenthesis follows."""
    if _SUFFIX_END_RE.match(after) or _SUFFIX_LABEL_RE.match(after):
        return True
    return heading and bool(re.match(r"\s*\([^)]*\)\s*[*_]*\s*$", after))


def _marker_is_placeholder(
    kind: str,
    text: str,
    line: str,
    masked: str,
    span: tuple[int, int],
    continuation: bool,
    chained: bool,
    names_file: bool | None = None,
) -> bool:
    """Whether the marker ``text`` at ``span`` of the line is a placeholder.
    ``names_file``: whether the line names a file such as ``TODO.md`` (found when None)."""
    start, end = span
    before, after = masked[:start], masked[end:]
    if before[-1:] in ("/", "\\", ".", "_", "-", "$") or (before[-1:].isdigit()):
        return False  # part of a path, an identifier or a number mask
    if re.match(r"[._,-]\w|%|\d", after):
        return False  # TODO.md, XXX-XXX, XXX%, XXX,XXX
    if before[-1:] in _QUOTES and after[:1] in _QUOTES:
        return False  # a quoted word: grep 'TODO'
    if re.match(r"\s*[,/]\s*(?:[A-Z]{2,}\b|\?|<|`)", after):
        return False  # an enumeration of marker names: (TODO, TKTK, ???), TBD/FIXME/XXX
    if names_file is None:
        names_file = bool(_FILE_NAME_RE.search(line))
    if names_file and re.search(rf"{re.escape(text.rstrip('s'))}s?\.\w", line):
        return False  # the line names a file called TODO.md: this is its name
    if kind == "TBD":
        mention = _search_end(_MENTION_BEFORE_RE, before, _MENTION_WORDS, _MENTION_TAIL)
        if mention and _MENTION_AFTER_RE.match(after):
            return False  # no TBD markers remain
        return not _NOUN_AFTER_RE.match(after) or bool(re.match(r"\s*[:(]", after))
    if text.endswith("s"):  # "TODOs" is a noun unless it is the whole value
        return _value_start(before, continuation) and _closes_value(after, False)
    if re.match(r"\s*(?::|\()|\s+[-\u2013\u2014]\s", after):
        return True  # TODO: write it, TODO(ana), TODO - later
    if _NOUN_AFTER_RE.match(after):
        return False  # the TODO list, FIXME comments
    return chained or _value_start(before, continuation)


def _bracket_ends(masked: str) -> dict[int, int]:
    """For every ``[`` of the line, the index just past the ``]`` that closes it (nesting
    allowed): ``{start: end}``, a ``[`` the line does not close left out. One pass with a
    stack of the open brackets, so a line with many brackets costs its length once."""
    ends: dict[int, int] = {}
    open_: list[int] = []
    for m in _BRACKET_RE.finditer(masked):
        if m.group() == "[":
            open_.append(m.start())
        elif open_:
            ends[open_.pop()] = m.end()
    return ends


def _slot_shaped(content: str) -> bool:
    c = content.strip()
    if not c or not (c[0].isalpha() or c.startswith("#")):
        return False
    if c.startswith("#"):
        return bool(re.fullmatch(r"#{2,}[\w./-]*", c))
    if _TAG_RE.fullmatch(c) or c.lower() in _STATUS_WORDS:
        return False
    return not (" " not in c and re.search(r"[._/:=+\\@-]", c))  # a path, a TOML table...


def _has_cue(content: str, cue: bool | None = None) -> bool:
    """Instructions inside a slot: "e.g.", "if applicable", "or NEEDS CLARIFICATION", or a
    leading imperative ("Describe ...") that does not start a list of capitalised steps.
    ``cue``: whether :data:`_CUE_RE` finds one in ``content`` (searched when None)."""
    if cue is None:
        cue = _CUE_RE.search(content) is not None
    if cue:
        return True
    words = content.strip().split(None, 1)
    if not words or words[0].rstrip(",:") not in _IMPERATIVES:
        return False
    parts = [p.strip() for p in content.split(",")]
    return not (len(parts) > 1 and all(p[:1].isupper() for p in parts if p))


def _whole_value(before: str, after: str, continuation: bool, heading: bool) -> str:
    """Where a bracket that spans ``[len(before), -len(after))`` stands when it is a whole
    value: ``"label"`` (``**[Name]**: ...``), ``"value"`` (after a label's colon, in a table
    cell or a parenthesis, after a spaced dash), ``"block"`` (alone at the start of a block
    or a heading), or ``""`` (in a sentence)."""
    if not _value_start(before, continuation):
        return ""
    if _SUFFIX_LABEL_RE.match(after):
        return "label"
    if not _closes_value(after, heading):
        return ""
    b = before.rstrip().rstrip(_OPENERS).rstrip()
    if not b or _LEAD_RE.fullmatch(b + " "):
        return "value" if heading else "block"
    return "value"


def _last_cue_start(masked: str) -> int:
    """The last place of the line where :data:`_CUE_RE` matches (each place tried), or -1.
    The content of a ``[`` the line does not close runs from after it to the end of the
    text, so it holds a cue exactly when this is past the ``[``: one pass over the line
    instead of one per bracket."""
    last = -1
    m = _CUE_RE.search(masked)
    while m is not None:
        last = m.start()
        m = _CUE_RE.search(masked, last + 1)
    return last


def _bracket_slot(
    masked: str,
    start: int,
    end: int,
    content: str,
    continuation: bool,
    heading: bool,
    cue: bool | None = None,
) -> bool:
    """Whether the bracket at ``start`` (closed at ``end``, -1 when the line does not close
    it) holding ``content`` is a template slot. ``cue``: whether :data:`_CUE_RE` finds one
    in ``content`` (searched when None)."""
    if content.startswith(("NEEDS CLARIFICATION", "^")) or re.fullmatch(r"[ xX]", content):
        return False  # its own pattern / a footnote / a task box
    before, after = masked[:start], masked[end:] if end >= 0 else ""
    if end >= 0 and re.fullmatch(r"[A-Z][A-Z0-9 _/&.#-]*", content):
        if len(content) < 4 or _TAG_RE.fullmatch(content):
            return False
        if " " in content.strip() or "_" in content or content in _CAPS_SLOT_WORDS:
            return True  # [FEATURE NAME], [PROJECT_NAME], [DATE]
        # One word: [OWNER] as a value, not [AGENT] in a sentence or a legend's [BLOCKING]:
        return _whole_value(before, after, continuation, heading) in ("value", "block")
    if not _slot_shaped(content):
        return False
    if re.match(r"[A-Z]{2,}(?: [A-Z]{2,})?:\s", content) and not re.match(
        r"(?:TODO|TBD|FIXME|PLACEHOLDER|INSERT|FILL)\b", content
    ):
        return False  # an annotation: [VERIFIED: ...], [NOTE: ...]
    has_cue = _has_cue(content, cue)
    if not has_cue and re.fullmatch(r"[^\s,]+(?:\s*,\s*[^\s,]+)+", content.strip()):
        return False  # an array or a list of tags: [apt, snap, package-sync]
    if end < 0:  # not closed on this line: only an instruction slot that runs on
        return _value_start(before, continuation) and has_cue
    if has_cue or _search_end(_GWT_BEFORE_RE, before, _GWT_WORDS, _GWT_TAIL):
        return True
    where = _whole_value(before, after, continuation, heading)
    several = len(content.split()) > 1
    if where == "value":
        return True  # **Spec**: [link], | [current need] |, Story 1 - [Brief Title]
    if where == "label":
        return several  # **[Entity 1]**: ..., not a legend's **[Story]**: ...
    # Alone in a block: a description of what to write ("[Gates determined by ...]"),
    # not a note in brackets ("[testing complete]") or a lone word ("[Introduction]").
    return where == "block" and several and content.strip()[:1].isupper()


def _option_before(before: str) -> bool:
    """Whether ``before`` ends with a command-line option and a space or ``=``
    (``--name ``, ``-n=``): :data:`_OPTION_BEFORE_RE`, searched only from where it can
    match (the start of the option's run of word characters and dashes before the final
    character), so the cost does not grow with the text before it."""
    stop = len(before) - 1
    if before.endswith("\n"):
        stop -= 1  # ``$`` also matches before a final newline
    k = stop
    while k > 0 and (before[k - 1].isalnum() or before[k - 1] in "_-"):
        k -= 1
    return bool(_OPTION_BEFORE_RE.search(before, max(0, k - 1)))


def _example_end(masked: str) -> int:
    """The end of the first-ending "e.g." / "for example" / "such as" of the line (each
    place one starts tried), or -1: one starts before a position ``p`` exactly when
    :data:`_EXAMPLE_RE` finds one in ``masked[:p]``, that is when this is ``<= p``."""
    first = -1
    m = _EXAMPLE_RE.search(masked)
    while m is not None:
        if first < 0 or m.end() < first:
            first = m.end()
        m = _EXAMPLE_RE.search(masked, m.start() + 1)
    return first


def _angle_slot(
    masked: str,
    start: int,
    end: int,
    slot: str,
    continuation: bool,
    heading: bool,
    example_end: int | None = None,
) -> bool:
    """``<project name>``, ``<your-api-key>``, ``<PROJECT_NAME>`` or a whole value
    (``**Repository**: <url>``); not markup, nor a metavariable in a sentence
    (``canon shape <draft-file>``, ``--days <n>``, ``<self_id>.<service>``).
    ``example_end``: :func:`_example_end` of ``masked`` (found when None)."""
    if slot.split(" ", 1)[0].lower() in HTML_TAGS:
        return False
    before, after = masked[:start], masked[end:]
    if _option_before(before) or before.endswith((">.", ">:", ">/", "=")):
        return False  # a command's metavariable: --name <value>, <a>.<b>
    if example_end is None:
        example_end = _example_end(masked)
    if 0 <= example_end <= start:
        return False  # an example: "e.g. <path>"
    if " " in slot.strip() or (slot.isupper() and len(slot) > 2):
        return True
    if re.match(r"(?:your|my|insert|enter|replace|fill|add)(?:[-_ ]|$)", slot, re.I):
        return True
    return _whole_value(before, after, continuation, heading) in ("value", "block")


class PlaceholderScanner:
    """Compiled placeholder patterns; :meth:`scan` finds them in lines of text."""

    def __init__(self, disable: Collection[str] = (), extra: Iterable[str] = ()) -> None:
        self.patterns: list[tuple[str, re.Pattern[str]]] = [
            (name, re.compile(pat)) for name, pat in BUILTIN_PATTERNS.items() if name not in disable
        ]
        self.patterns += [("custom", re.compile(p)) for p in extra]
        self.kinds = {name for name, _ in self.patterns}
        self.builtin_only = "custom" not in self.kinds

    @classmethod
    def from_options(cls, options: PlaceholderOptions) -> PlaceholderScanner:
        return cls(options.disable, options.extra_patterns)

    def scan_line(
        self,
        line: str,
        number: int = 0,
        ref_labels: Collection[str] = (),
        *,
        continuation: bool = False,
        masked: str | None = None,
        comments: Sequence[tuple[int, int]] = (),
        markup: Collection[str] = (),
    ) -> list[Placeholder]:
        """Placeholders in one line (inline code and URLs masked), overlaps removed.

        ``continuation``: the line continues a paragraph (its first word starts no block).
        ``masked``/``comments``: the line already masked by the caller, and its HTML
        comment ranges (slots inside them are ignored). ``markup``: element names the
        document closes (``</files>``), so ``<files>`` is markup, not a slot."""
        if self.builtin_only and not _CANDIDATE_RE.search(line):
            return []
        if not markup and "</" in line:
            markup = {t.lower() for t in _CLOSING_TAG_RE.findall(line)}
        if masked is None:
            masked_lines, by_line = _mask_document([line], (), ())
            masked, comments = masked_lines[0], by_line.get(0, [])
        heading = bool(re.match(r"\s{0,3}#{1,6}\s", masked))
        found: list[Placeholder] = []

        def in_comment(pos: int) -> bool:
            return any(a <= pos < b for a, b in comments)

        markers: list[tuple[int, int, str, str]] = []
        bracket_ends: dict[int, int] | None = None  # computed at the first bracket
        text_end = len(masked)
        example_end: int | None = None  # computed at the first angle slot
        last_cue: int | None = None  # computed at the first unclosed bracket
        for kind, pat in self.patterns:
            for m in pat.finditer(masked):
                start, end = m.span()
                if kind in _SLOT_KINDS and in_comment(start):
                    continue
                if kind in _MARKER_KINDS or kind == "TBD":
                    markers.append((start, end, kind, m.group(0)))
                    continue
                if kind == "needs-clarification":
                    if _MENTION_AFTER_RE.match(masked[end:]) or (
                        _GENERIC_CLARIFICATION_RE.fullmatch(m.group(0))
                        and _search_end(
                            _MENTION_BEFORE_RE, masked[:start], _MENTION_WORDS, _MENTION_TAIL
                        )
                    ):
                        continue  # "No [NEEDS CLARIFICATION] markers remain"
                elif kind == "angle-slot":
                    if m.group("slot").lower() in markup:
                        continue
                    if example_end is None:
                        example_end = _example_end(masked)
                    if not _angle_slot(
                        masked, start, end, m.group("slot"), continuation, heading, example_end
                    ):
                        continue
                elif kind == "bracket-slot":
                    if bracket_ends is None:
                        bracket_ends = _bracket_ends(masked)
                        text_end = len(masked.rstrip())
                    close = bracket_ends.get(start, -1)
                    stop = close if close >= 0 else text_end
                    content = masked[start + 1 : close - 1 if close >= 0 else stop]
                    at_line_start = start <= 3 and not masked[:start].strip()
                    if content.upper() in ref_labels or (
                        at_line_start and masked[stop : stop + 1] == ":"
                    ):
                        continue  # a reference link or definition
                    if close >= 0 and masked[close : close + 1] in ("(", "["):
                        continue  # a link
                    cue = None
                    if close < 0:  # its content runs to the end of the text
                        if last_cue is None:
                            last_cue = _last_cue_start(masked)
                        cue = last_cue > start
                    if not _bracket_slot(masked, start, close, content, continuation, heading, cue):
                        continue
                    end = stop
                elif kind == "ellipsis":
                    name = "dots" if m.groupdict().get("dots") else "cdots"
                    start, end = m.span(name)
                if end <= start:
                    continue
                found.append(Placeholder(number, start, end, line[start:end], kind))
        last_marker = -1
        names_file: bool | None = None
        for start, end, kind, text in sorted(markers):
            chained = last_marker >= 0 and bool(_CONNECTOR_RE.fullmatch(masked[last_marker:start]))
            if names_file is None:  # the same for every marker of the line
                names_file = bool(_FILE_NAME_RE.search(line))
            if _marker_is_placeholder(
                kind, text, line, masked, (start, end), continuation, chained, names_file
            ):
                found.append(Placeholder(number, start, end, line[start:end], kind))
                last_marker = end
        if "bracket-slot" in self.kinds and "[#" in line:
            for m in _NUMBER_SLOT_RE.finditer(line):
                found.append(Placeholder(number, m.start(), m.end(), m.group(0), "bracket-slot"))
        found.sort(key=lambda p: (p.start, -(p.end - p.start)))
        out: list[Placeholder] = []
        for p in found:
            if out and p.start < out[-1].end:
                continue  # inside (or overlapping) a longer match already taken
            out.append(p)
        return out

    def scan(
        self,
        lines: Sequence[str],
        skip: Collection[int] = (),
        continuation: Collection[int] | None = None,
    ) -> list[Placeholder]:
        """Placeholders in ``lines`` (0-based numbers), skipping the line numbers ``skip``.
        ``continuation``: the lines that continue a paragraph (guessed when not given)."""
        skip = set(skip) | _front_matter(lines)
        skip |= _format_lists(lines, skip)
        if continuation is None:
            continuation = continuation_lines(lines, skip)
        masked, comments = _mask_document(lines, skip, continuation)
        labels = {m.group(1).upper() for line in lines if (m := _REF_DEF_RE.match(line))}
        markup = {
            t.lower() for line in lines if "</" in line for t in _CLOSING_TAG_RE.findall(line)
        }
        out: list[Placeholder] = []
        for i, line in enumerate(lines):
            if i in skip or not line.strip():
                continue
            out += self.scan_line(
                line,
                i,
                labels,
                continuation=i in continuation,
                masked=masked[i],
                comments=comments.get(i, ()),
                markup=markup,
            )
        return out


DEFAULT_SCANNER = PlaceholderScanner()


def has_placeholder(text: str) -> bool:
    """True when ``text`` (one or more lines) holds a placeholder of the default set."""
    return bool(DEFAULT_SCANNER.scan(text.splitlines()))


def describe(p: Placeholder) -> str:
    """The finding message for a placeholder."""
    if p.kind == "needs-clarification":
        return f"open question {p.text!r}: answer it and remove the marker"
    if p.kind == "ellipsis":
        return "'...' stands for content that is not written yet"
    if p.kind in ("angle-slot", "bracket-slot", "template-variable"):
        return f"template slot {p.text!r}: replace it with the real value"
    return f"placeholder {p.text!r}: replace it with the real content"
