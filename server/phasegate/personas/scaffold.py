"""The ``scaffold`` persona: deterministic, offline skeletons of the phase documents.

It never overwrites anything: when the phase's document (any file matching the phase's
artifact globs) already exists, it does nothing and says so, so a document a person
wrote is never touched. What it writes is deliberately incomplete: every spot a person
or an agent must fill holds a ``TODO`` placeholder, so the fresh document fails the
placeholder (and acceptance) checks on exactly those lines and passes the structural
ones (exists, sections, ids, traceability).

The requirement comes from a command line or an editor: control characters in it (C0
other than line feeds and blanks, DEL, C1: terminal escape sequences, bells, NULs) are
dropped from what is written, and tabs become spaces (:func:`clean_text`).

Each phase is one entry of :data:`PHASE_WRITERS`; another module adds phases with
:func:`register_phase_writer` (``phasegate.personas.scaffold_project`` is imported on
first use when it exists).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from phasegate.checks._documents import creation_target
from phasegate.documents import id_prefixes, load_requirement_docs
from phasegate.model import Finding
from phasegate.personas.base import Persona, PersonaContext, PersonaResult, PersonaTask
from phasegate.workspace import PathOutsideWorkspace

PhaseWriter = Callable[[PersonaTask, PersonaContext], PersonaResult]

PHASE_WRITERS: dict[str, PhaseWriter] = {}

EXTENSION_MODULES = ("phasegate.personas.scaffold_project",)
_extensions_loaded = False


def register_phase_writer(phase: str, writer: PhaseWriter) -> None:
    """Make the scaffold persona write ``phase``'s files with ``writer``."""
    PHASE_WRITERS[phase] = writer


def _load_extensions() -> None:
    global _extensions_loaded
    if _extensions_loaded:
        return
    _extensions_loaded = True
    for name in EXTENSION_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


# -- text helpers ----------------------------------------------------------------------

_CLAUSE_SPLIT_RE = re.compile(r"(?<=[.!?])\s+")
_BULLET_RE = re.compile(r"^\s*(?:[-*+]\s+|\d+[.)]\s+)")
_MD_LEAD_RE = re.compile(r"^([#>*+=|-]|\d+[.)])")
_TITLE_PREFIX_RE = re.compile(
    r"^(?:requirements(?: document)?|feature specification)\s*[:\-]?\s*", re.I
)


# The C0 controls but for the line feed, DEL and the C1 controls: dropped, except the
# blanks (tab, vertical tab, form feed, carriage return), which become spaces.
_CONTROLS: dict[int, int | None] = {c: None for c in [*range(0x20), *range(0x7F, 0xA0)]}
_CONTROLS.update({0x09: 0x20, 0x0B: 0x20, 0x0C: 0x20, 0x0D: 0x20})
del _CONTROLS[0x0A]


def clean_text(text: str) -> str:
    """``text`` without control characters: line feeds stay, tabs, vertical tabs, form
    feeds and carriage returns become spaces, the other C0 controls, DEL and the C1
    controls (terminal escapes, bells, NULs...) are dropped."""
    return text.translate(_CONTROLS)


def split_clauses(requirement: str) -> list[str]:
    """One clause per sentence, line or ``;``-separated part of ``requirement``."""
    out: list[str] = []
    for line in clean_text(requirement).splitlines():
        for part in _CLAUSE_SPLIT_RE.split(_BULLET_RE.sub("", line).strip()):
            for piece in part.split(";"):
                s = " ".join(piece.split()).strip(" .;:!?")
                if s:
                    out.append(s)
    return out


def _inline(text: str) -> str:
    """``text`` on one line, without control characters, safe as the start of a Markdown
    paragraph or heading."""
    s = " ".join(clean_text(text).split())
    return "\\" + s if _MD_LEAD_RE.match(s) else s


_DANGLING = frozenset(
    [
        "a",
        "all",
        "an",
        "and",
        "any",
        "as",
        "at",
        "by",
        "each",
        "every",
        "for",
        "from",
        "in",
        "into",
        "its",
        "of",
        "on",
        "or",
        "some",
        "that",
        "the",
        "their",
        "to",
        "which",
        "with",
        "without",
    ]
)


def short_title(clause: str, words: int = 10) -> str:
    """The first ``words`` words of ``clause``, capitalised, for a heading; a cut title
    does not end on a dangling word ("… with users and")."""
    parts = clause.split()
    kept = parts[:words]
    if len(parts) > words:
        while len(kept) > 1 and kept[-1].lower().strip(" .,;:!?") in _DANGLING:
            kept.pop()
    title = " ".join(kept).strip(" .,;:!?")
    return _inline(title[:1].upper() + title[1:])


def _sentence(clause: str) -> str:
    s = _inline(clause)
    s = s[:1].upper() + s[1:]
    return s if s.endswith((".", "!", "?")) else s + "."


def _exists(ctx: PersonaContext, globs: list[str]) -> str | None:
    found = ctx.workspace.glob(globs)
    return found[0] if found else None


def _left_alone(rel: str) -> PersonaResult:
    """The result when the document ``rel`` already exists: nothing is written."""
    return PersonaResult(ok=True, message=f"{rel} exists: the scaffold never overwrites a document")


def _write(ctx: PersonaContext, rel: str, text: str, what: str) -> PersonaResult:
    try:
        written = ctx.write_text(rel, text)
    except (OSError, PathOutsideWorkspace) as exc:
        return PersonaResult(ok=False, error=f"cannot write {rel}: {exc}")
    if not written:
        return _left_alone(rel)
    return PersonaResult(ok=True, files_changed=[rel], message=f"wrote {rel} ({what})")


# -- requirements ----------------------------------------------------------------------


def requirements_text(requirement: str, prefix: str = "REQ") -> str:
    """The requirements skeleton for ``requirement``: one requirement per clause, each
    with a placeholder acceptance criterion."""
    clauses = split_clauses(requirement) or ["Describe the first requirement"]
    title = short_title(clauses[0])
    lines = [f"# Requirements: {title}", "", "## Overview", ""]
    lines += [_inline(requirement) or title, ""]
    lines += [
        "Each statement of the request above is one requirement below. A requirement is",
        "done when its acceptance criteria are testable statements a test can check.",
        "",
        "## Functional requirements",
        "",
    ]
    for n, clause in enumerate(clauses, start=1):
        rid = f"{prefix}-{n:03d}"
        lines += [f"### {rid}: {short_title(clause)}", "", _sentence(clause), ""]
        lines += [
            "Acceptance criteria:",
            "",
            f"- [ ] TODO: a testable criterion for {rid} (given a situation, when an action "
            "happens, then the observable result).",
            "",
        ]
    lines += [
        "## Non-functional requirements",
        "",
        "- TODO: measurable targets for performance, security, reliability and usability.",
        "",
    ]
    return "\n".join(lines)


def write_requirements(task: PersonaTask, ctx: PersonaContext) -> PersonaResult:
    globs = list(ctx.config.artifacts.requirements)
    existing = _exists(ctx, globs)
    if existing:
        return _left_alone(existing)
    prefixes = id_prefixes(ctx.config)
    prefix = "REQ" if "REQ" in prefixes or not prefixes else prefixes[0]
    target = creation_target(globs, "docs/requirements.md")
    text = requirements_text(task.requirement, prefix)
    count = len(split_clauses(task.requirement)) or 1
    return _write(ctx, target, text, f"{count} requirement(s) with placeholders to fill")


# -- design ----------------------------------------------------------------------------


def design_text(title: str, requirements: list[tuple[str, str]]) -> str:
    """The design skeleton: every required section, and one subsection per requirement
    id (so each id is traced), each holding a placeholder to fill."""
    lines = [f"# Design: {_inline(title)}", ""]
    lines += ["TODO: summarise the design in two or three sentences.", ""]
    lines += [
        "## Architecture",
        "",
        "TODO: the layers or processes, and how a request flows through them.",
        "",
        "## Components",
        "",
        "TODO: the components (modules, services) and what each one is responsible for.",
        "",
    ]
    for rid, rtitle in requirements:
        heading = f"### {rid}: {_inline(rtitle)}" if rtitle else f"### {rid}"
        lines += [heading, "", f"TODO: the components that implement {rid}, and how.", ""]
    lines += [
        "## Data model",
        "",
        "TODO: the entities, their fields and where they are stored.",
        "",
        "## Interfaces",
        "",
        "TODO: the public functions, commands or endpoints, with inputs, outputs and errors.",
        "",
        "## Risks",
        "",
        "TODO: risks and security concerns (input validation, secrets, permissions), "
        "each with its mitigation.",
        "",
    ]
    return "\n".join(lines)


def write_design(task: PersonaTask, ctx: PersonaContext) -> PersonaResult:
    globs = list(ctx.config.artifacts.design)
    existing = _exists(ctx, globs)
    if existing:
        return _left_alone(existing)
    docs = load_requirement_docs(ctx.workspace, ctx.config)
    seen: dict[str, str] = {}
    for doc in docs:
        for r in doc.requirements:
            seen.setdefault(r.id, r.title)
    title = ""
    for doc in docs:
        if doc.title:
            title = _TITLE_PREFIX_RE.sub("", doc.title)
            break
    if not title:
        clauses = split_clauses(task.requirement)
        title = short_title(clauses[0]) if clauses else "the system"
    target = creation_target(globs, "docs/design.md")
    text = design_text(title, list(seen.items()))
    what = f"every section, {len(seen)} requirement(s) traced, placeholders to fill"
    return _write(ctx, target, text, what)


register_phase_writer("requirements", write_requirements)
register_phase_writer("design", write_design)


# -- the persona -----------------------------------------------------------------------


class ScaffoldOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    writer: str | None = Field(
        None,
        description="Which phase's skeleton to write (default: the phase it runs in), "
        "for a configured phase with another name.",
    )


# Checks whose findings (on existing files) the scaffold persona can act on.
SCAFFOLD_ACTS_ON = frozenset({"DEP-README", "TEST-TRACE"})


class ScaffoldPersona(Persona):
    """Writes the phase's skeleton document when it does not exist yet."""

    kind: ClassVar[str] = "scaffold"
    runs_workspace_code: ClassVar[bool] = False
    Options: ClassVar[type[BaseModel]] = ScaffoldOptions

    def describe(self) -> str:
        return "scaffold: writes templates, never rewrites a file"

    def can_act_on(self, finding: Finding) -> bool:
        # It never overwrites a file: a missing file is its to write; besides, it appends
        # the install and usage sections a README lacks, and writes a test module for a
        # requirement no test mentions. Anything else (a stub, a placeholder, a failing
        # test) needs a person or an agent.
        return finding.missing_file or finding.code in SCAFFOLD_ACTS_ON

    async def run(self, task: PersonaTask, ctx: PersonaContext) -> PersonaResult:
        try:
            _load_extensions()
        except Exception as exc:  # a broken extension must not stop the built-in phases
            if task.phase not in PHASE_WRITERS:
                return PersonaResult(ok=False, error=f"scaffold extension failed: {exc}")
        opts = self.options
        key = (opts.writer if isinstance(opts, ScaffoldOptions) else None) or task.phase
        writer = PHASE_WRITERS.get(key)
        if writer is None:
            return PersonaResult(ok=True, message=f"nothing to scaffold for phase {task.phase}")
        return writer(task, ctx)
