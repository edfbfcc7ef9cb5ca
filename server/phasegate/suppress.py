"""Suppression comments: ``phasegate: ignore[ID]`` silences a finding on every surface.

A finding a person decided to live with is silenced by a comment in the file it is on, in
that file's own comment syntax. The runner applies the comments to every check's findings
(:func:`honouring`), so the CLI, the editor, the agent hook and the MCP server all see the
same findings and the same scores.

* ``phasegate: ignore[ID]`` (or ``ignore[ID1, ID2]``) in a comment **on the line the
  finding starts on**, or in a comment **alone on the line just above it** (a run of such
  lines counts as one). Without ``[…]``, a bare ``phasegate: ignore`` silences every check
  on that line.
* ``phasegate: ignore-file[ID]`` in a comment anywhere in the file silences the check in
  the whole file (bare: every check).
* IDs are check ids as configured (the diagnostic code), compared without regard to case.

The comment syntax by file type (:func:`comment_style`):

==========================================  ================================================
files                                       comment
==========================================  ================================================
Python, TOML, YAML, Dockerfile, shell,      ``# phasegate: ignore[ID]`` (INI and CFG also
INI/CFG, requirements files, Makefile…      ``; …``)
Markdown, HTML, XML                         ``<!-- phasegate: ignore[ID] -->`` (Markdown: not
                                            inside fenced code blocks or code spans)
JavaScript/TypeScript, C-like languages,    ``// phasegate: ignore[ID]`` or ``/* … */``
Go, Rust, Java, JSONC
SQL, Lua, Haskell                           ``-- phasegate: ignore[ID]``
reStructuredText                            ``.. phasegate: ignore[ID]``
anything else                               any of the above
==========================================  ================================================

A Dockerfile takes comments only on lines of their own, so there the comment goes on the
line above; in Markdown too, so that a heading keeps its text.

**How a suppressed finding counts**: it is gone, as with ruff's ``# noqa`` or SonarQube's
"won't fix": not listed, not shown, not counted, not handed to personas, and the gate's
score follows. A per-file check is scored on the findings that remain (exactly as if the
check had not found it); a whole-project check gets back, for each suppressed error or
warning finding, an equal share of what its findings cost it (``score + (1 - score) x
suppressed / all``), and passes when none of its error or warning findings remain.

The comments apply to what a check returns, before the result cache stores it: a per-file
check's result is cached by its file's content (the comment is part of it); a project
check's by the hash of its input files, which hold its findings (a finding on a file the
check does not read would take a new comment into account at the check's next run).

The findings silenced are not lost: a project check's outcome keeps them in its ``data``
(under ``"suppressed"``, cached with it), and :func:`suppressed_findings` gives them back
for any check (a per-file check's are found again in the files that hold a comment), for
``validate --format sarif --include-suppressed``, which lists them as suppressed results
(SARIF ``suppressions``, kind ``inSource``, the comment as justification) outside every
score.

Not suppressible: a finding about a file that does not exist (there is no line to carry
the comment: create the file, or switch the check off in the configuration), and checks
whose class sets ``suppressible = False`` — GATE-INTEGRITY, which flags new suppression
comments themselves.

Cost: nothing for a file without findings. For a file with findings, a ``stat`` and, the
first time the file is seen with that size and modification time, one read and a
substring test (``"phasegate:"``) on its bytes; the comments are parsed only in files
that hold one. What a file holds is remembered for the process by its stat signature
(:func:`workspace_lookup`), so the checks of one file, and the runs that follow while it
is unchanged, read it once.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import os
import re
import stat
import threading
import time
import tokenize
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

from phasegate.model import Finding, Range, Severity, TextEdit

if TYPE_CHECKING:
    from phasegate.checks.base import Check, CheckContext, CheckOutcome
    from phasegate.workspace import Workspace

MARK = "phasegate:"
SUPPRESSED_KEY = "suppressed"  # a project check's outcome data: the findings silenced
ALL: frozenset[str] = frozenset({"*"})  # a bare directive: every check
MAX_BYTES = 5_000_000  # a larger file is not read for comments (generated, data)
MEMO_LIMIT = 200_000  # files remembered at most (then forgotten all at once)
# A file modified less than this long ago (ns) is read every time: a file system's clock
# may be too coarse to tell two quick writes of the same size apart.
SETTLED_NS = 2_000_000_000

ReadText = Callable[[str], "str | None"]
Lookup = Callable[[str], "Suppressions | None"]


# -- comment syntax ------------------------------------------------------------------------
@dataclass(frozen=True)
class CommentStyle:
    """How a file type writes comments: what a directive may follow, and how one is
    written (``open`` … ``close``). ``trailing``: a comment may end a line of content
    (False: a directive always goes on a line of its own, above the finding)."""

    name: str
    openers: tuple[str, ...]
    open: str
    close: str = ""
    trailing: bool = True


HASH = CommentStyle("hash", ("#",), "#")
INI = CommentStyle("ini", ("#", ";"), "#")
DOCKERFILE = CommentStyle("dockerfile", ("#",), "#", trailing=False)
MARKDOWN = CommentStyle("markdown", ("<!--",), "<!--", "-->", trailing=False)
XML = CommentStyle("xml", ("<!--",), "<!--", "-->")
SLASH = CommentStyle("slash", ("//", "/*"), "//")
DASH = CommentStyle("dash", ("--",), "--")
RST = CommentStyle("rst", ("..",), "..", trailing=False)
ANY = CommentStyle("any", ("#", "//", "/*", "<!--", "--", ";", ".."), "#")

_BY_SUFFIX: dict[str, CommentStyle] = {}
for _style, _suffixes in (
    (
        HASH,
        ".py .pyi .pyw .pyx .pxd .toml .yml .yaml .sh .bash .zsh .fish .ps1 .rb .pl .r "
        ".txt .in .cmake .mk .nix .tf .hcl .dockerignore .gitignore .env",
    ),
    (INI, ".ini .cfg .conf .properties .editorconfig"),
    (DOCKERFILE, ".dockerfile .containerfile"),
    (MARKDOWN, ".md .markdown .mdx"),
    (XML, ".html .htm .xml .svg .vue .svelte"),
    (
        SLASH,
        ".js .jsx .mjs .cjs .ts .tsx .mts .cts .c .h .cc .cpp .cxx .hpp .cs .java .kt .kts "
        ".go .rs .swift .scala .dart .php .jsonc .json5 .css .scss .less .groovy .gradle",
    ),
    (DASH, ".sql .lua .hs .elm .ada"),
    (RST, ".rst"),
):
    for _suffix in _suffixes.split():
        _BY_SUFFIX[_suffix] = _style
_BY_NAME: dict[str, CommentStyle] = {
    "dockerfile": DOCKERFILE,
    "containerfile": DOCKERFILE,
    "makefile": HASH,
    "gnumakefile": HASH,
    "justfile": HASH,
    "procfile": HASH,
    "gemfile": HASH,
    "rakefile": HASH,
    "vagrantfile": HASH,
    "codeowners": HASH,
}
# files that cannot hold a comment at all
NO_COMMENTS = frozenset({".json", ".ipynb", ".lock"})


def comment_style(path: str) -> CommentStyle | None:
    """The comment syntax of ``path`` (by name, then suffix); :data:`ANY` for a type not
    known; None for a format without comments (JSON)."""
    name = path.rsplit("/", 1)[-1].lower()
    hit = _BY_NAME.get(name)
    if hit is not None:
        return hit
    if name.startswith(("dockerfile.", "containerfile.")):
        return DOCKERFILE
    dot = name.rfind(".")
    suffix = name[dot:] if dot > 0 else ""
    if name.startswith(".") and dot == 0:  # .gitignore, .editorconfig
        suffix = name
    if suffix in NO_COMMENTS:
        return None
    return _BY_SUFFIX.get(suffix, ANY)


# -- parsing ------------------------------------------------------------------------------
_OPENER_RX = {
    "#": r"\#",
    ";": r";",
    "//": r"//",
    "/*": r"/\*",
    "<!--": r"<!--",
    "--": r"--",
    "..": r"\.\.",
}


@functools.cache
def _directive_rx(openers: tuple[str, ...]) -> re.Pattern[str]:
    alts = "|".join(_OPENER_RX[o] for o in openers)
    return re.compile(
        rf"(?:{alts})[ \t]*phasegate:[ \t]*(?P<kind>ignore-file|ignore)(?![\w-])"
        r"(?:[ \t]*\[(?P<ids>[^\]\n]*)\])?"
    )


@dataclass(frozen=True)
class Directive:
    """One suppression comment (0-based line and columns of the directive's text)."""

    line: int
    col: int
    end: int
    scope: Literal["line", "file"]
    ids: frozenset[str]  # upper case; :data:`ALL` for a bare directive
    alone: bool  # nothing but the comment on its line
    bracket_end: int = -1  # column of the closing "]" (-1: a bare directive)


def _ids(raw: str | None) -> frozenset[str]:
    if raw is None:
        return ALL
    return frozenset(i.strip().upper() for i in raw.split(",") if i.strip())


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def directives(path: str, text: str) -> list[Directive]:
    """Every suppression comment of ``path`` (its text ``text``), in its comment syntax."""
    if MARK not in text:
        return []
    style = comment_style(path)
    if style is None:
        return []
    rx = _directive_rx(style.openers)
    markdown = style is MARKDOWN
    out: list[Directive] = []
    fence: str | None = None
    for i, line in enumerate(text.split("\n")):
        if markdown:
            m = _FENCE.match(line)
            if m is not None:
                mark = m.group(1)
                if fence is None:
                    fence = mark
                elif mark[0] == fence[0] and len(mark) >= len(fence):
                    fence = None
                continue
            if fence is not None:
                continue
        if MARK not in line:
            continue
        for m in rx.finditer(line):
            if markdown and line.count("`", 0, m.start()) % 2:
                continue  # inside a code span: an example, not a comment
            raw = m.group("ids")
            out.append(
                Directive(
                    line=i,
                    col=m.start(),
                    end=m.end(),
                    scope="file" if m.group("kind") == "ignore-file" else "line",
                    ids=_ids(raw),
                    alone=not line[: m.start()].strip(),
                    bracket_end=m.end() - 1 if raw is not None else -1,
                )
            )
    return out


@dataclass
class Suppressions:
    """The suppression comments of one file, by the lines they cover."""

    file_ids: set[str] = field(default_factory=set)
    line_ids: dict[int, set[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, path: str, text: str) -> Suppressions:
        s = cls()
        found = directives(path, text)
        if not found:
            return s
        alone_lines = {d.line for d in found if d.alone and d.scope == "line"}
        for d in found:
            if d.scope == "file":
                s.file_ids |= d.ids
                continue
            s.line_ids.setdefault(d.line, set()).update(d.ids)
            if d.alone:
                target = d.line + 1
                while target in alone_lines:  # a run of directive lines: the line after it
                    target += 1
                s.line_ids.setdefault(target, set()).update(d.ids)
        return s

    def __bool__(self) -> bool:
        return bool(self.file_ids or self.line_ids)

    def covers(self, check_id: str, line: int) -> bool:
        """Whether a finding of ``check_id`` starting on ``line`` is suppressed."""
        cid = check_id.upper()
        if self.file_ids and ("*" in self.file_ids or cid in self.file_ids):
            return True
        ids = self.line_ids.get(line)
        return ids is not None and ("*" in ids or cid in ids)


def covering(path: str, text: str, check_id: str, line: int) -> Directive | None:
    """The comment of ``path`` (its text ``text``) that silences a finding of
    ``check_id`` starting on ``line``: on that line, else alone on the lines just above
    it, else file-wide; None when none does."""
    found = directives(path, text)
    cid = check_id.upper()

    def names(d: Directive) -> bool:
        return "*" in d.ids or cid in d.ids

    lines = [d for d in found if d.scope == "line"]
    for d in lines:
        if d.line == line and names(d):
            return d
    alone = {d.line for d in lines if d.alone}
    above = line - 1
    while above in alone:  # a run of comment lines above the finding covers it
        for d in lines:
            if d.line == above and d.alone and names(d):
                return d
        above -= 1
    return next((d for d in found if d.scope == "file" and names(d)), None)


def comment_text(text: str, d: Directive) -> str:
    """The comment ``d`` is in, from its opener to the end of its line (a closing
    ``-->`` or ``*/`` left out): ``# phasegate: ignore[IMPL-STUB] kept for old clients``."""
    lines = text.split("\n")
    body = lines[d.line][d.col :].rstrip("\r").strip() if 0 <= d.line < len(lines) else ""
    for close in ("-->", "*/"):
        if body.endswith(close):
            body = body[: -len(close)].rstrip()
    return body


def text_lookup(read_text: ReadText) -> Lookup:
    """The suppressions of a file, from its text as ``read_text`` gives it."""

    def lookup(path: str) -> Suppressions | None:
        try:
            text = read_text(path)
        except (OSError, ValueError):
            return None
        if text is None or MARK not in text:
            return None
        return Suppressions.of(path, text) or None

    return lookup


_memo: dict[str, tuple[tuple[int, int, int], Suppressions | None]] = {}
_MARK_BYTES = MARK.encode()


def workspace_lookup(workspace: Workspace) -> Lookup:
    """The suppressions of a workspace file, remembered by its stat signature (size,
    modification time, inode): a file is read again only when it changed (or changed in
    the last :data:`SETTLED_NS`). A path that is not a plain relative path inside the
    root, or not a regular file, has none."""
    root = str(workspace.root)

    def lookup(rel: str) -> Suppressions | None:
        if not rel or rel.startswith("/") or ".." in rel.split("/"):
            return None
        full = os.path.join(root, rel)
        try:
            st = os.stat(full)
        except (OSError, ValueError):
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        sig = (st.st_mtime_ns, st.st_size, st.st_ino)
        hit = _memo.get(full)
        if hit is not None and hit[0] == sig:
            return hit[1]
        found: Suppressions | None = None
        if st.st_size <= MAX_BYTES:
            try:
                with open(full, "rb") as fh:
                    data = fh.read(st.st_size)  # no buffer of the limit's size
            except OSError:
                data = b""
            if _MARK_BYTES in data:
                found = Suppressions.of(rel, data.decode("utf-8", "replace")) or None
        if time.time_ns() - st.st_mtime_ns >= SETTLED_NS:
            if len(_memo) >= MEMO_LIMIT:
                _memo.clear()
            _memo[full] = (sig, found)
        return found

    return lookup


def split(findings: Iterable[Finding], lookup: Lookup) -> tuple[list[Finding], list[Finding]]:
    """``(kept, suppressed)``: the findings silenced by a comment in their file, and the
    others. ``lookup`` is asked once per file with findings (:func:`workspace_lookup`,
    :func:`text_lookup`); a finding on a file that does not exist is always kept."""
    kept: list[Finding] = []
    dropped: list[Finding] = []
    known: dict[str, Suppressions | None] = {}
    for f in findings:
        if f.path not in known:
            known[f.path] = None if f.missing_file else lookup(f.path)
        s = known[f.path]
        if s is not None and not f.missing_file and s.covers(f.code, f.range.start.line):
            dropped.append(f)
        else:
            kept.append(f)
    return kept, dropped


def _bad(f: Finding) -> bool:
    return f.severity <= Severity.WARNING


def rescored(outcome: CheckOutcome, kept: list[Finding], dropped: list[Finding]) -> CheckOutcome:
    """``outcome`` without the ``dropped`` findings, scored as the module says: each
    suppressed error or warning gives back an equal share of what the findings cost; it
    passes when no error or warning finding remains (an outcome that could not run, or
    had nothing to judge, keeps its score and verdict)."""
    if not dropped:
        return outcome
    # kept with the outcome (and cached with it): suppressed_findings gives them back
    data = {**(outcome.data or {}), SUPPRESSED_KEY: [f.model_dump(mode="json") for f in dropped]}
    if outcome.error is not None or outcome.not_applicable is not None:
        return dataclasses.replace(outcome, findings=kept, data=data)
    gone = sum(1 for f in dropped if _bad(f))
    left = sum(1 for f in kept if _bad(f))
    score, passed = outcome.score, outcome.passed
    if gone:
        score = min(1.0, score + (1.0 - score) * gone / (gone + left))
        if left == 0:
            score, passed = 1.0, (None if passed is None else True)
    return dataclasses.replace(outcome, findings=kept, score=score, passed=passed, data=data)


def recorded(outcome: CheckOutcome) -> list[Finding]:
    """The findings :func:`rescored` took from a project check's ``outcome``."""
    raw = (outcome.data or {}).get(SUPPRESSED_KEY)
    if not isinstance(raw, list):
        return []
    out: list[Finding] = []
    for item in raw:
        try:
            out.append(Finding.model_validate(item))
        except ValueError:  # a damaged cache entry: that finding is not listed
            continue
    return out


def suppressed_findings(
    cls: type[Check], check: Check, ctx: CheckContext, outcome: CheckOutcome
) -> list[Finding]:
    """The findings suppression comments took from the ``outcome`` of ``check`` (an
    instance of :func:`honouring` ``(cls)``): a project check's from its outcome's data,
    a per-file check's found again by running ``cls``'s own ``check_file`` (not the
    filtering one) on each input file that holds a comment. Empty for a check no comment
    may silence."""
    if not suppressible(cls):
        return []
    if cls.scope != "file" or cls.uses_history:
        return recorded(outcome)
    lookup = workspace_lookup(ctx.workspace)
    out: list[Finding] = []
    for path in ctx.input_files():
        if lookup(path) is None:  # no comment in the file: nothing was taken from it
            continue
        try:
            found = cls.check_file(check, ctx, path)
        except Exception:  # the check's own run of this file reported the crash
            continue
        out += split(found, lookup)[1]
    return out


# -- applying them to a check -------------------------------------------------------------
def kept_findings(ctx: CheckContext, findings: list[Finding]) -> list[Finding]:
    """A per-file check's findings less the suppressed ones."""
    if not findings:
        return findings
    return split(findings, workspace_lookup(ctx.workspace))[0]


def kept_outcome(ctx: CheckContext, outcome: CheckOutcome) -> CheckOutcome:
    """A project check's outcome less the suppressed findings, rescored."""
    if not outcome.findings:
        return outcome
    kept, dropped = split(outcome.findings, workspace_lookup(ctx.workspace))
    return rescored(outcome, kept, dropped)


class _Depth(threading.local):
    n = 0


_depth = _Depth()


def _outermost(call: Callable[[], CheckOutcome], ctx: CheckContext) -> CheckOutcome:
    """``call()``'s outcome, filtered only by the outermost wrapped method of this thread
    (IMPL-LINT's ``run`` calls its ``lint``: the findings are filtered once)."""
    _depth.n += 1
    try:
        outcome = call()
    finally:
        _depth.n -= 1
    return kept_outcome(ctx, outcome) if _depth.n == 0 else outcome


# Methods of a check that return a :class:`CheckOutcome` over workspace files, besides
# ``run``: IMPL-LINT's ``lint`` (the one-file entry the agent hook uses).
OUTCOME_METHODS = ("lint",)


def suppressible(cls: type[Check]) -> bool:
    """Whether comments may silence the check's findings (``suppressible = False`` on the
    class: never)."""
    return bool(getattr(cls, "suppressible", True))


@functools.cache
def honouring(cls: type[Check]) -> type[Check]:
    """``cls``, or a subclass of it whose findings pass through the suppression comments:
    ``check_file`` (per-file checks, scored on what remains), ``run`` and the
    :data:`OUTCOME_METHODS` (project checks, :func:`rescored`). The runner instantiates
    this class, so every face — and the result cache, which stores what a check returns —
    gets the findings without the suppressed ones. Class attributes, ``isinstance`` and
    the rest of the check are the same."""
    if not suppressible(cls):
        return cls

    def check_file(self: Check, ctx: CheckContext, path: str) -> list[Finding]:
        return kept_findings(ctx, cls.check_file(self, ctx, path))

    def run(self: Check, ctx: CheckContext) -> CheckOutcome:
        return _outermost(lambda: cls.run(self, ctx), ctx)

    namespace: dict[str, Any] = {
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
        "check_file": check_file,
        "run": run,
    }
    for name in OUTCOME_METHODS:
        method = getattr(cls, name, None)
        if callable(method):
            namespace[name] = _outcome_method(method)
    return cast("type[Check]", type(cls.__name__, (cls,), namespace))


def _outcome_method(method: Callable[..., CheckOutcome]) -> Callable[..., CheckOutcome]:
    @functools.wraps(method)
    def wrapped(self: Check, ctx: CheckContext, *args: Any, **kwargs: Any) -> CheckOutcome:
        return _outermost(lambda: method(self, ctx, *args, **kwargs), ctx)

    return wrapped


# -- writing them (the editor's "Suppress" actions) ---------------------------------------
def _directive_text(style: CommentStyle, scope: Literal["line", "file"], check_id: str) -> str:
    kind = "ignore-file" if scope == "file" else "ignore"
    body = f"{style.open} phasegate: {kind}[{check_id}]"
    return f"{body} {style.close}" if style.close else body


def _add_id(path: str, d: Directive, check_id: str) -> TextEdit:
    """Add ``check_id`` to the ids of directive ``d`` (before its "]")."""
    return TextEdit(
        path=path,
        range=Range.lines(d.line, d.bracket_end, d.bracket_end),
        new_text=f", {check_id}",
    )


def _line_ends_in_code(path: str, text: str, lines: list[str], line: int) -> bool:
    """Whether a comment may be appended to ``line``: its end is not inside a string (a
    Python or TOML multi-line string) and it does not continue on the next line."""
    stripped = lines[line].rstrip()
    if stripped.endswith("\\"):
        return False
    if path.endswith((".py", ".pyi", ".pyw")):
        try:
            for tok in tokenize.generate_tokens(io.StringIO(text).readline):
                if tok.start[0] - 1 > line:
                    break
                if tok.start[0] - 1 <= line < tok.end[0] - 1:
                    return False  # a token (a string) that goes on past the line
        except (tokenize.TokenError, IndentationError, SyntaxError, ValueError):
            return True  # a file that does not tokenize: its line is as good as any
        return True
    if path.endswith(".toml"):
        inside = False
        for k in range(line + 1):
            count = lines[k].count('"""') + lines[k].count("'''")
            if k == line:
                return not (inside ^ (count % 2 == 1))
            if count % 2:
                inside = not inside
    return True


def line_edit(path: str, text: str, line: int, check_id: str) -> TextEdit | None:
    """The edit that silences ``check_id`` on ``line`` of ``path`` (text ``text``): its id
    added to a directive already there, else a comment at the end of the line, or (where
    a comment cannot end a line: Markdown, Dockerfile, reStructuredText) alone on the line
    above, indented as the line. None when the file takes no comment there."""
    style = comment_style(path)
    if style is None:
        return None
    lines = text.split("\n")
    if not 0 <= line < len(lines):
        return None
    existing = [d for d in directives(path, text) if d.scope == "line" and d.ids != ALL]
    for d in existing:
        if d.line == line or (d.alone and d.line == line - 1):
            if check_id.upper() in d.ids:
                return None  # already silenced
            return _add_id(path, d, check_id)
    comment = _directive_text(style, "line", check_id)
    body = lines[line].rstrip("\r")
    if style.trailing and body.strip():
        if not _line_ends_in_code(path, text, lines, line):
            return None
        end = len(body.rstrip())
        return TextEdit(path=path, range=Range.lines(line, end, len(body)), new_text=f"  {comment}")
    indent = body[: len(body) - len(body.lstrip())]
    nl = "\r\n" if lines[line].endswith("\r") else "\n"
    return TextEdit(path=path, range=Range.lines(line, 0, 0), new_text=f"{indent}{comment}{nl}")


_CODING = re.compile(r"^[ \t\f]*#.*?coding[:=]")
_DOCKER_DIRECTIVE = re.compile(r"^#\s*[A-Za-z]+\s*=")


def _file_directive_line(style: CommentStyle, lines: list[str]) -> int:
    """Where a file-wide directive goes: the top, after what must stay first (a shebang,
    a Python coding line, Dockerfile parser directives, Markdown front matter)."""
    at = 0
    if style is MARKDOWN and lines and lines[0].strip() == "---":
        for k in range(1, len(lines)):
            if lines[k].strip() in ("---", "..."):
                return k + 1
        return 0
    if lines and lines[0].startswith("#!"):
        at = 1
    if style is DOCKERFILE:
        while at < len(lines) and _DOCKER_DIRECTIVE.match(lines[at]):
            at += 1
    elif style in (HASH, ANY):
        while at < min(2, len(lines)) and _CODING.match(lines[at]):
            at += 1
    return at


def file_edit(path: str, text: str, check_id: str) -> TextEdit | None:
    """The edit that silences ``check_id`` in the whole of ``path``: its id added to a
    file-wide directive already there, else one at the top of the file. None when the
    file takes no comment."""
    style = comment_style(path)
    if style is None:
        return None
    lines = text.split("\n")
    for d in directives(path, text):
        if d.scope == "file" and d.ids != ALL:
            if check_id.upper() in d.ids:
                return None
            return _add_id(path, d, check_id)
    at = _file_directive_line(style, lines)
    comment = _directive_text(style, "file", check_id)
    nl = "\r\n" if lines[0].endswith("\r") else "\n"
    return TextEdit(path=path, range=Range.lines(at, 0, 0), new_text=f"{comment}{nl}")
