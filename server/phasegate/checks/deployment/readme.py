"""DEP-README: the README tells how to install and how to use the project.

The README at the workspace root (``README.md``, ``README.rst``, ``README.txt``,
``README``) must have an install section (a heading such as "Installation", "Install",
"Setup", "Getting started", "Quick start") and a usage section ("Usage", "Examples",
"Getting started", "Quick start"…). Markdown headings are found with markdown-it-py
(ATX and setext, not headings inside code blocks); reStructuredText headings by their
underline. A missing section is a finding on the README's first line with a fix that
appends the heading. Score: share of the two sections present (0 without README).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from markdown_it import MarkdownIt

from phasegate.checks._outcomes import missing_file_outcome
from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.model import Fix, Position, Range, Severity, TextEdit

if TYPE_CHECKING:
    from phasegate.config import Config

README_NAMES = ("README.md", "README.markdown", "README.rst", "README.txt", "README")
SECTIONS: dict[str, tuple[str, re.Pattern[str]]] = {
    "install": (
        "Installation",
        re.compile(r"\b(install\w*|set ?up|setup|getting started|quick ?start|deploy\w*)\b", re.I),
    ),
    "usage": (
        "Usage",
        re.compile(
            r"\b(usage|using|how to use|examples?|getting started|quick ?start|tutorial|"
            r"running|commands?|cli)\b",
            re.I,
        ),
    ),
}
_RST_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+:.])\1{2,}\s*$")


def find_readme(files: list[str]) -> str | None:
    top = {f.lower(): f for f in files if "/" not in f}
    for name in README_NAMES:
        if name.lower() in top:
            return top[name.lower()]
    for low, orig in sorted(top.items()):
        if low.startswith("readme"):
            return orig
    return None


def headings(path: str, text: str) -> list[tuple[int, str]]:
    """(0-based line, text) of the document's headings."""
    if path.lower().endswith((".md", ".markdown")):
        md = MarkdownIt("commonmark")
        tokens = md.parse(text)
        out: list[tuple[int, str]] = []
        for i, tok in enumerate(tokens):
            if tok.type == "heading_open" and tok.map and i + 1 < len(tokens):
                out.append((tok.map[0], tokens[i + 1].content))
        return out
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        if i + 1 < len(lines) and line.strip() and _RST_UNDERLINE.match(lines[i + 1]):
            if len(lines[i + 1].rstrip()) >= len(line.rstrip()) - 1:
                out.append((i, line.strip()))
        elif line.lstrip().startswith("#"):
            out.append((i, line.lstrip("# ").strip()))
        elif re.match(r"^[A-Z][A-Za-z ]{2,40}:?\s*$", line) and line.strip().endswith(":"):
            out.append((i, line.strip().rstrip(":")))
    return out


def heading_fix(path: str, text: str, title: str) -> Fix:
    """Append ``title`` as a heading at the end of the README."""
    lines = text.split("\n")
    end = Position(line=len(lines) - 1, character=len(lines[-1]))
    if path.lower().endswith((".md", ".markdown")):
        block = f"## {title}\n"
    elif path.lower().endswith(".rst"):
        block = f"{title}\n{'-' * len(title)}\n"
    else:
        block = f"{title}:\n"
    prefix = "" if text.endswith("\n\n") or not text else ("\n" if text.endswith("\n") else "\n\n")
    return Fix(
        title=f'Add a "{title}" section to {path}',
        edits=[TextEdit(path=path, range=Range(start=end, end=end), new_text=f"{prefix}{block}\n")],
    )


class Readme(Check):
    id = "DEP-README"
    title = "README"
    description = "The README has an install section and a usage section."
    scope = "project"
    default_owner = "devops_engineer"
    default_weight = 1.0
    default_severity = Severity.WARNING

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return ["README*", "Readme*", "readme*"]

    def run(self, ctx: CheckContext) -> CheckOutcome:
        path = find_readme(ctx.input_files())
        if path is None:
            return missing_file_outcome(
                ctx, "README.md", "no README: add README.md with installation and usage sections"
            )
        text = ctx.workspace.read_text(path) or ""
        found = headings(path, text)
        findings = []
        for _key, (title, pattern) in SECTIONS.items():
            if any(pattern.search(h) for _, h in found):
                continue
            findings.append(
                ctx.finding(
                    path,
                    f'{path} has no {title.lower()} section (a heading such as "{title}")',
                    line=0,
                    fix=heading_fix(path, text, title),
                )
            )
        return CheckOutcome(findings=findings, score=1.0 - len(findings) / len(SECTIONS))
