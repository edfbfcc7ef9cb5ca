"""Shared logic of the document checks (requirements and design): existence, required
sections with insertion fixes, and placeholders."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from phasegate.checks._outcomes import missing_file_outcome
from phasegate.checks._placeholders import PlaceholderOptions, PlaceholderScanner, describe
from phasegate.checks.base import CheckContext, CheckOutcome
from phasegate.documents import FORMATS, DocFormat, Outline, outline, split_lines
from phasegate.model import Finding, Fix, Range, Severity, TextEdit

if TYPE_CHECKING:
    from collections.abc import Callable

_GLOB_CHARS = re.compile(r"[*?\[]")


def creation_target(patterns: Sequence[str], fallback: str) -> str:
    """Where a missing document should be created: the first pattern without wildcards."""
    for p in patterns:
        if p and not _GLOB_CHARS.search(p):
            return p.lstrip("/")
    return fallback


def exists_outcome(ctx: CheckContext, what: str, fallback: str) -> CheckOutcome:
    """Pass when a non-empty document matches the inputs; else one finding on the path
    where it should be created (``missing_file``), or on each empty document."""
    files = ctx.input_files()
    if not files:
        target = creation_target(ctx.inputs, fallback)
        others = [p for p in ctx.inputs if p != target]
        also = f" (or one of: {', '.join(others)})" if others else ""
        msg = f"No {what} document: create {target}{also}."
        return missing_file_outcome(ctx, target, msg, passed=False)
    empty = [f for f in files if not (ctx.workspace.read_text(f) or "").strip()]
    if len(empty) < len(files):
        return CheckOutcome(findings=[], score=1.0, passed=True)
    findings = [ctx.finding(f, f"The {what} document {f} is empty.", line=0) for f in empty]
    return CheckOutcome(findings=findings, score=0.0, passed=False)


# -- required sections -----------------------------------------------------------------


class SectionSpec(BaseModel):
    """A section a document must have, and the headings or labels that count as it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Title inserted by the fix, and shown in the message.")
    synonyms: list[str] = Field(
        default_factory=list,
        description="Phrases (case-insensitive, whole words) that count as this section.",
    )
    exclude: list[str] = Field(
        default_factory=list, description="Phrases that stop a heading from counting."
    )
    formats: list[DocFormat] = Field(
        default_factory=lambda: list(FORMATS),
        description="Document formats it is required in (phasegate, spec-kit, kiro).",
    )
    owner: str | None = Field(None, description="Persona that owns this section's findings.")
    or_acceptance: bool = Field(
        False,
        description="Requirements documents: also present when the requirements have "
        "acceptance criteria without a heading (Given/When/Then or EARS lines).",
    )


def _norm(s: str) -> str:
    return " " + " ".join(re.sub(r"[^0-9a-z]+", " ", s.lower()).split()) + " "


def title_matches(title: str, spec: SectionSpec) -> bool:
    """True when a heading or label ``title`` counts as the section ``spec``."""
    t = _norm(title)
    if any(_norm(x) in t for x in spec.exclude if x.strip()):
        return False
    return any(_norm(p) in t for p in [spec.name, *spec.synonyms] if p.strip())


def section_present(ol: Outline, spec: SectionSpec) -> bool:
    return any(title_matches(title, spec) for title, _line in ol.section_names())


def end_insertion(path: str, text: str, heading: str) -> TextEdit:
    """A text edit appending ``heading`` (a Markdown heading line) at the end of ``text``."""
    lines = split_lines(text)
    last = len(lines) - 1
    end_char = len(lines[last])
    if text.endswith(("\n", "\r")):
        prefix = "" if last >= 1 and not lines[last - 1].strip() else "\n"
    else:
        prefix = "\n\n" if text.strip() else ""
    return TextEdit(
        path=path, range=Range.span(last, end_char, last, end_char), new_text=f"{prefix}{heading}\n"
    )


def _insert_level(ol: Outline) -> int:
    levels = [h.level for h in ol.headings]
    if 1 in levels:
        return 2
    return min(levels) if levels else 2


def sections_outcome(
    ctx: CheckContext,
    specs: Sequence[SectionSpec],
    doc_format: Callable[[str, str], DocFormat],
    has_acceptance: Callable[[str, str], bool] | None = None,
) -> CheckOutcome:
    """One finding per missing section of each document (at its top heading), with a fix
    that appends the heading; score = share of required sections present."""
    files = ctx.input_files()
    findings: list[Finding] = []
    required = present = 0
    for path in files:
        text = ctx.workspace.read_text(path)
        if text is None or not text.strip():
            continue
        ol = outline(text)
        fmt = doc_format(path, text)
        top = ol.headings[0].line if ol.headings else 0
        top_len = len(ol.lines[top]) if top < len(ol.lines) else 0
        level = _insert_level(ol)
        for spec in specs:
            if fmt not in spec.formats:
                continue
            required += 1
            if section_present(ol, spec) or (
                spec.or_acceptance and has_acceptance is not None and has_acceptance(path, text)
            ):
                present += 1
                continue
            heading = f"{'#' * level} {spec.name}"
            fix = Fix(
                title=f"Add the '{spec.name}' section", edits=[end_insertion(path, text, heading)]
            )
            findings.append(
                ctx.finding(
                    path,
                    f"Missing section '{spec.name}' (a heading such as: "
                    f"{', '.join([spec.name, *spec.synonyms[:3]])}).",
                    Range.lines(top, 0, top_len),
                    fix=fix,
                    owner=spec.owner,
                )
            )
    if not any((ctx.workspace.read_text(f) or "").strip() for f in files):
        return CheckOutcome(findings=[], score=0.0, passed=False)
    return CheckOutcome(findings=findings, score=present / required if required else 1.0)


# -- placeholders ----------------------------------------------------------------------


def placeholder_findings(
    ctx: CheckContext,
    path: str,
    text: str,
    scanner: PlaceholderScanner,
    owner_for: Callable[[Outline, int], str | None] | None = None,
) -> tuple[list[Finding], int, int]:
    """Findings for the placeholders of one Markdown document (code blocks skipped; wrapped
    paragraph lines known from the outline), the number of content sections, and how many
    of them are clean."""
    ol = outline(text)
    found = scanner.scan(ol.lines, ol.code_lines, ol.continuation)
    findings = [
        ctx.finding(
            path,
            describe(p),
            Range.lines(p.line, p.start, p.end),
            owner=owner_for(ol, p.line) if owner_for else None,
        )
        for p in found
    ]
    dirty_lines = sorted({p.line for p in found})
    total = clean = 0
    for start, body, end in ol.content_sections():
        has_body = any(ol.lines[k].strip() for k in range(body, end))
        first_dirty = bisect_left(dirty_lines, start)
        dirty = first_dirty < len(dirty_lines) and dirty_lines[first_dirty] < end
        if not (has_body or dirty):
            continue
        total += 1
        clean += 0 if dirty else 1
    return findings, clean, total


def placeholders_outcome(
    ctx: CheckContext, owner_for: Callable[[Outline, int], str | None] | None = None
) -> CheckOutcome:
    """Placeholders in every input document. Score = share of content sections without a
    placeholder, times ``decay ** count``."""
    opts = ctx.options
    assert isinstance(opts, PlaceholderOptions)
    scanner = PlaceholderScanner.from_options(opts)
    findings: list[Finding] = []
    clean = total = 0
    for path in ctx.input_files():
        text = ctx.workspace.read_text(path)
        if text is None:
            continue
        fs, c, t = placeholder_findings(ctx, path, text, scanner, owner_for)
        findings += fs
        clean += c
        total += t
    share = clean / total if total else (0.0 if findings else 1.0)
    score = share * opts.decay ** len(findings)
    return CheckOutcome(findings=findings, score=score)


def no_documents(ctx: CheckContext) -> CheckOutcome | None:
    """The outcome of a content check when there is no document (its EXISTS check reports
    where to create one): failed, score 0, no finding of its own."""
    if ctx.input_files():
        return None
    return CheckOutcome(findings=[], score=0.0, passed=False)


SEVERITY_CHOICES = {s.label: s for s in Severity}
