"""DEP-README: the README tells how to install and how to use the project.

The README at the workspace root (``README.md``, ``README.rst``, ``README.txt``,
``README``…); when the root has none, the READMEs of the sub-projects (folders up to
three levels down with a package manifest, such as ``backend/`` and ``frontend/``) are
read together, and a section found in any of them counts.

The README must tell how to install the project: a heading such as "Installation",
"Installing", "Requirements and installation", "Setup", "Development setup", "Getting
started", "Quick start", "How to run", "Running locally" or "Deployment", or an install
command anywhere in it (``pip install …``, ``uv add``, ``poetry add``, ``conda install``,
``npm install``, ``cargo install``, ``docker run``, ``git clone``…). And how to use it: a
heading such as "Usage", "Basic usage", "Examples", "Getting started", "Quick start",
"Tutorial", "API", "How to run", "Running" or "Commands", or a code example (a fenced or
literal block of code that is not only install commands, or a ``>>>`` session).

Markdown headings are found with markdown-it-py (ATX, setext and HTML ``<h1>`` to ``<h6>``,
not headings inside code blocks); reStructuredText headings by their underline. A
missing section is a finding on the README's first line with a fix that appends the
heading. Score: share of the two sections present (0 without README).
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from phasegate.checks._outcomes import missing_file_outcome
from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.checks.deployment.layout import MANIFESTS, dir_of, project_dirs
from phasegate.model import Fix, Position, Range, Severity, TextEdit

if TYPE_CHECKING:
    from phasegate.config import Config

README_NAMES = ("README.md", "README.markdown", "README.rst", "README.txt", "README")
SECTIONS: dict[str, tuple[str, re.Pattern[str]]] = {
    "install": (
        "Installation",
        re.compile(
            r"\b(install\w*|set ?up|setup|getting started|get started|quick ?start|deploy\w*|"
            r"how to run|run(ning)? (it )?locally|local development|build(ing)? from source)\b",
            re.I,
        ),
    ),
    "usage": (
        "Usage",
        re.compile(
            r"\b(usage|using|how to use|examples?|getting started|get started|quick ?start|"
            r"tutorial|run|running|how to run|commands?|cli|api|demo|walkthrough)\b",
            re.I,
        ),
    ),
}
_RST_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+:.])\1{2,}\s*$")
_HTML_HEADING = re.compile(r"<h([1-6])\b[^>]*>(.*?)</h\1\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]+>")
INSTALL_COMMAND = re.compile(
    r"(?<![\w-])(?:"
    r"(?:python[\d.]*|py)\s+-m\s+pip\s+install|pip[\d.]*\s+install|pipx\s+install|"
    r"uv\s+(?:pip\s+install|add|tool\s+install|sync)|poetry\s+(?:add|install)|"
    r"(?:pdm|pipenv|pixi|rye)\s+(?:add|install|sync)|flit\s+install|"
    r"(?:conda|mamba|micromamba)\s+install|"
    r"npm\s+(?:install|i|ci)|yarn\s+(?:add|install)|pnpm\s+(?:add|install|i)|"
    r"bun\s+(?:add|install)|cargo\s+(?:install|add)|go\s+(?:install|get)|"
    r"gem\s+install|brew\s+install|(?:apt|apt-get|dnf|yum)\s+install|"
    r"docker\s+(?:run|pull|compose\s+up)|docker-compose\s+up|git\s+clone|"
    r"make\s+install|python[\d.]*\s+setup\.py\s+(?:install|develop)"
    r")(?![\w-])",
    re.I,
)
# What makes a block of text look like code or a command rather than prose.
_CODE_SIGNAL = re.compile(
    r">>>|^\s*[$%>]\s|\bimport\b|\brequire\(|\w\(|=|(?<![\w-])--?[A-Za-z]|[{};]\s*$",
    re.M,
)
_PLAIN_INFO = {"", "text", "txt", "plain", "plaintext", "none", "output", "log"}
_CODE_DIRECTIVE = re.compile(r"^\s*\.\.\s+(code-block|code|sourcecode|prompt|doctest)::", re.I)


def _readmes(files: list[str]) -> list[str]:
    """The README files of a folder's listing ``files`` (all in one folder), best first."""
    by_name = {posixpath.basename(f).lower(): f for f in files}
    out = [by_name[n.lower()] for n in README_NAMES if n.lower() in by_name]
    out += sorted(v for k, v in by_name.items() if k.startswith("readme") and v not in out)
    return out


def find_readme(files: list[str]) -> str | None:
    """The README at the workspace root, or None."""
    top = _readmes([f for f in files if "/" not in f])
    return top[0] if top else None


def find_readmes(files: list[str]) -> list[str]:
    """The README to judge: the root's; else one README per sub-project, in path order."""
    root = find_readme(files)
    if root is not None:
        return [root]
    out = []
    for folder in project_dirs(files):
        found = _readmes([f for f in files if dir_of(f) == folder and "readme" in f.lower()])
        if found:
            out.append(found[0])
    return out


def _is_markdown(path: str) -> bool:
    return path.lower().endswith((".md", ".markdown"))


def headings(path: str, text: str) -> list[tuple[int, str]]:
    """(0-based line, text) of the document's headings."""
    if _is_markdown(path):
        from markdown_it import MarkdownIt  # here: loading the check needs no parser

        md = MarkdownIt("commonmark")
        tokens = md.parse(text)
        out: list[tuple[int, str]] = []
        for i, tok in enumerate(tokens):
            if tok.type == "heading_open" and tok.map and i + 1 < len(tokens):
                out.append((tok.map[0], tokens[i + 1].content))
            elif tok.type == "html_block" and tok.map:
                for m in _HTML_HEADING.finditer(tok.content):
                    title = _TAG.sub("", m.group(2)).strip()
                    if title:
                        out.append((tok.map[0] + tok.content.count("\n", 0, m.start()), title))
        return out
    rst = path.lower().endswith(".rst")
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        if i + 1 < len(lines) and line.strip() and _RST_UNDERLINE.match(lines[i + 1]):
            if len(lines[i + 1].rstrip()) >= len(line.rstrip()) - 1:
                out.append((i, line.strip()))
        elif not rst and line.lstrip().startswith("#"):
            out.append((i, line.lstrip("# ").strip()))
        elif re.match(r"^[A-Z][A-Za-z ]{2,40}:?\s*$", line) and line.strip().endswith(":"):
            out.append((i, line.strip().rstrip(":")))
    return out


def code_blocks(path: str, text: str) -> list[tuple[str, str]]:
    """(language or "", content) of the document's code blocks: fenced and indented
    blocks in Markdown; literal blocks (after ``::``) and code directives otherwise."""
    if _is_markdown(path):
        from markdown_it import MarkdownIt

        return [
            (tok.info.strip().split(" ")[0].lower() if tok.type == "fence" else "", tok.content)
            for tok in MarkdownIt("commonmark").parse(text)
            if tok.type in ("fence", "code_block")
        ]
    lines = text.splitlines()
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        directive = _CODE_DIRECTIVE.match(line)
        literal = line.rstrip().endswith("::") and not line.lstrip().startswith("..")
        if not (directive or literal):
            i += 1
            continue
        lang = ""
        if directive:
            lang = line.split("::", 1)[1].strip().lower() or directive.group(1).lower()
        indent = len(line) - len(line.lstrip())
        block: list[str] = []
        j = i + 1
        while j < len(lines) and (
            not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent
        ):
            if lines[j].strip() and not lines[j].lstrip().startswith(":"):
                block.append(lines[j])
            j += 1
        out.append((lang, "\n".join(block)))
        i = max(j, i + 1)
    return out


def _is_example(lang: str, content: str) -> bool:
    """A code block that shows use: a line that is not an install command, a comment or a
    blank, in a block marked as code or that looks like code."""
    rest = [
        ln
        for ln in content.splitlines()
        if ln.lstrip().startswith(">>>")
        or (
            ln.strip() and not INSTALL_COMMAND.search(ln) and not ln.strip().startswith(("#", "//"))
        )
    ]
    if not rest:
        return False
    return lang not in _PLAIN_INFO or bool(_CODE_SIGNAL.search("\n".join(rest)))


def shows(path: str, text: str) -> set[str]:
    """The sections (``install``, ``usage``) the README's content shows without a heading:
    an install command, a code example."""
    found = set()
    if INSTALL_COMMAND.search(text):
        found.add("install")
    if re.search(r"^\s*>>> \S", text, re.M) or any(
        _is_example(lang, content) for lang, content in code_blocks(path, text)
    ):
        found.add("usage")
    return found


def heading_fix(path: str, text: str, title: str) -> Fix:
    """Append ``title`` as a heading at the end of the README."""
    lines = text.split("\n")
    end = Position(line=len(lines) - 1, character=len(lines[-1]))
    if _is_markdown(path):
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
    description = (
        "The README (at the root, else the sub-projects' READMEs) tells how to install the "
        "project (an install section or an install command) and how to use it (a usage "
        "section or a code example)."
    )
    scope = "project"
    default_owner = "devops_engineer"
    default_weight = 1.0
    default_severity = Severity.WARNING

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return ["README*", "Readme*", "readme*", *MANIFESTS]

    def run(self, ctx: CheckContext) -> CheckOutcome:
        readmes = find_readmes(ctx.input_files())
        if not readmes:
            return missing_file_outcome(
                ctx, "README.md", "no README: add README.md with installation and usage sections"
            )
        present: set[str] = set()
        for readme in readmes:
            text = ctx.workspace.read_text(readme) or ""
            titles = [h for _, h in headings(readme, text)]
            present |= {k for k, (_, pat) in SECTIONS.items() if any(pat.search(h) for h in titles)}
            present |= shows(readme, text)
        path = readmes[0]
        text = ctx.workspace.read_text(path) or ""
        findings = []
        for key, (title, _pattern) in SECTIONS.items():
            if key in present:
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
