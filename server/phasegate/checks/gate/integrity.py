"""GATE-INTEGRITY: changes that weaken the gate itself, each for a person to approve.

New-code mode judges findings on changed lines, so the cheapest way to pass a gate is to
change what it measures: delete the failing test, skip it, drop its assertions, silence
the linter, lower the threshold. This check compares the working tree with the base of
the change (:class:`phasegate.changes.ChangeSet`) and reports each such change as a
finding a person must approve. It runs only in new-code mode with a git reference (the
runner adds it to the ``testing`` phase, else the last, unless a phase configures it or
``[new_code] integrity = false`` — and even then when the same change edits the
configuration), is never cached, keeps its own verdict (``new_code_rule = "whole"``) and
cannot be silenced by a comment: the comment would be a new suppression itself.

What it reports (paths and lines of the current file; a deleted file is a
``missing_file`` finding at its path). Files no check reads (``.phasegate/``, ``.venv/``,
``node_modules/``... and the workspace's ``.gitignore``) and, by default, vendored code
are left out.

1. **Tests deleted.** A test file (``artifacts.tests`` of the base or the current
   configuration, or a JavaScript/TypeScript test file) deleted since the base while
   holding tests; a test function (``test*`` at module level, or a method of a ``Test*``
   class or a ``TestCase`` subclass, read with :mod:`ast`) present at the base and gone
   now. Renamed files are followed, and so is a deleted test file whose lines went to an
   added one (:data:`RENAMED_ALIKE` of them: a rename git did not see). Tests are paired
   across every changed test file: by file and qualified name, then by name (moved to
   another file or class), then by identical body (renamed), then by a body at least
   :data:`SIMILAR` alike in the same file (renamed and edited); a base test left
   unpaired is deleted.
2. **Tests newly skipped or expected to fail.** For each paired test, the skip and xfail
   markers that apply to it — ``@pytest.mark.skip/skipif/xfail`` (also inside
   ``pytest.param(marks=...)``), ``@unittest.skip/skipIf/skipUnless/expectedFailure``,
   a ``pytestmark`` of its module or class, ``pytest.skip()``/``pytest.xfail()``/
   ``self.skipTest()``/``raise SkipTest`` in its body, a module-level ``pytest.skip``
   — counted by kind: more now than at the base is a finding at the new marker (one per
   marker, naming the tests it skips). A test added by the change is not judged: nothing
   was lost. In JavaScript/TypeScript test files: ``it.skip``, ``test.skip``,
   ``describe.skip``, ``xit``, ``xtest``, ``xdescribe``, ``it.todo``... on added lines,
   when the file has more of them than at the base.
3. **Assertions removed** from a paired test: ``assert`` statements, calls of
   ``assert*`` functions and methods (``self.assertEqual``, ``mock.assert_called_once``),
   ``self.fail*``/``pytest.fail``, and uses of ``pytest.raises/warns/approx/
   deprecated_call`` — fewer now than at the base is a finding at the test's ``def``.
4. **New suppressions** on added or changed lines of changed source and test files:
   ``# noqa`` (also ``# ruff: noqa``, ``# flake8: noqa``), ``# type: ignore``,
   ``# mypy: ignore-errors``, ``# pyright: ignore``, ``# phasegate: ignore``,
   ``# pragma: no cover``, ``# nosec``, ``# pylint: disable``; ``eslint-disable``,
   ``@ts-ignore``, ``@ts-expect-error``, ``@ts-nocheck``, ``istanbul/c8 ignore``; and
   phasegate's own ``phasegate: ignore[ID]`` / ``phasegate: ignore-file[ID]`` comments in
   any other changed file whose comment syntax :mod:`phasegate.suppress` knows
   (documents, configuration files, Dockerfiles, workflows), in that syntax. Python
   comments are read with :mod:`tokenize` (a marker inside a string is not one). Each
   rule a marker names counts apart (``# noqa: E501, F401`` is two). A marker is new
   only when the file holds more of it now than at the base — an edited line that kept
   its ``# noqa`` is not new, a rule added to it is; when more changed lines carry it
   than were added, those least like a removed line of the file are reported. Not new
   either: a rule swapped for another on a line whose code did not change
   (``[misc]`` become ``[untyped-decorator]``), and a line moved from another changed
   file (removed there) or copied from one (at its base, with :data:`COPIED_CODE`
   characters of code or more: a file split in two keeps its imports in both). Also
   rules ruff's configuration newly ignores (``ignore``, ``extend-ignore``,
   ``per-file-ignores`` in ``.ruff.toml``, ``ruff.toml`` or ``[tool.ruff]``), unless a
   rule ignored at the base covers them (``E`` covers ``E501``).
5. **The gate policy loosened**, comparing the base and current phasegate
   configuration (``phasegate.toml``, else ``[tool.phasegate]`` of ``pyproject.toml``,
   else the defaults; a base configuration that does not load is not compared):
   thresholds lowered at any iteration; an enabled check removed or switched off (a
   whole phase removed is one finding); ``blocking`` switched off; a weight cut
   (explicit, else the check's default); TEST-COVERAGE ``target`` lowered; a check's
   ``exclude`` gaining patterns; ``[new_code]`` ``blocking`` severities dropped,
   ``integrity`` switched off, ``since`` or ``baseline`` changed, ``small_change_lines``
   raised. Raising iteration limits is not loosening. Also coverage.py's ``fail_under``
   lowered or removed (``.coveragerc`` ``[report]``, ``setup.cfg``/``tox.ini``
   ``[coverage:report]``, ``[tool.coverage.report]``), a command-line floor
   (``--fail-under``, ``--cov-fail-under`` in a Makefile, ``tox.ini``, ``setup.cfg``,
   ``pyproject.toml``, ``pytest.ini``, ``noxfile.py`` or a CI workflow) lowered or
   removed, and the baseline file (``[new_code] baseline``, else
   ``phasegate-baseline.sarif``) holding more results than at the base. Findings are at
   the line of the key.

With only a baseline (no git reference) there is no base to compare with: not
applicable. Passed iff there is no finding; score 1.0 or 0.0.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import io
import json
import re
import tokenize
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phasegate.approvals import ApprovalError, approval_key, load_approvals
from phasegate.baseline import DEFAULT_BASELINE
from phasegate.changes import _git, _rel, _unquote
from phasegate.checks.base import Check, CheckContext, CheckOutcome, UnknownCheck, get_check_class
from phasegate.config import Config
from phasegate.model import Finding, Range, Severity
from phasegate.suppress import ALL, comment_style, directives
from phasegate.suppress import ANY as ANY_STYLE
from phasegate.toml_locate import (
    KeyPath,
    PathPart,
    TOMLDecodeError,
    key_positions,
    locate,
    toml_loads,
)
from phasegate.workspace import FileTooLarge, matches

if TYPE_CHECKING:
    from phasegate.changes import ChangeSet
    from phasegate.config import CheckConfig

CHECK_ID = "GATE-INTEGRITY"
OWNER = "qa_engineer"
APPROVE = "a person must approve"
NEEDS_GIT = (
    "GATE-INTEGRITY compares the change with its base in git history: it needs a git "
    "reference (`validate --since REF` or `[new_code] since`); a baseline alone cannot "
    "show deleted tests or a loosened policy"
)
MAX_BYTES = 2_000_000  # larger files are not read (generated code, data)
# A marker line found at the base of another changed file is a copy (not a new
# suppression) when its code, the comment aside, is at least this long: shorter lines
# (`pass  # pragma: no cover`) are alike by coincidence.
COPIED_CODE = 20

PY_SUFFIXES = (".py", ".pyi", ".pyw", ".pyx", ".pxd")
JS_SUFFIXES = (".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts", ".vue", ".svelte")
_JS_TEST_EXT = ("js", "jsx", "mjs", "cjs", "ts", "tsx", "mts", "cts")
JS_TEST_PATTERNS = (
    *(f"*.test.{e}" for e in _JS_TEST_EXT),
    *(f"*.spec.{e}" for e in _JS_TEST_EXT),
    *(f"__tests__/**/*.{e}" for e in _JS_TEST_EXT),
)
VENDORED = ("vendor/", "_vendor/", "vendored/", "node_modules/")
POLICY_FILES = ("phasegate.toml", "pyproject.toml")
COVERAGE_FILES = (".coveragerc", "setup.cfg", "tox.ini", "pyproject.toml")
# where a coverage floor is given on a command line (``--fail-under``, ``--cov-fail-under``)
FLOOR_FILES = frozenset(
    {
        "Makefile",
        "makefile",
        "GNUmakefile",
        "tox.ini",
        "setup.cfg",
        "pyproject.toml",
        "pytest.ini",
        "noxfile.py",
        ".gitlab-ci.yml",
        ".travis.yml",
        "azure-pipelines.yml",
    }
)
RUFF_FILES = (".ruff.toml", "ruff.toml", "pyproject.toml")  # ruff's own precedence


# -- line markers: suppressions and JavaScript skips --------------------------------------
@dataclass(frozen=True)
class _Marker:
    """A marker found on one line: a suppression comment, or a skipped JS test."""

    kind: str  # what it is: a key of PY_SUPPRESSIONS, JS_SUPPRESSIONS or JS_SKIPS
    line: int  # 0-based
    col: int
    end: int
    text: str  # the marker as written (shown in the message)
    code: str = ""  # the one rule it names ("E501"); "" when it names none (all rules)

    @property
    def ident(self) -> tuple[str, str]:
        return self.kind, self.code


def _rx(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags)


# Python markers are searched in comment text (each starts at its "#").
PY_SUPPRESSIONS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("# noqa", _rx(r"#\s*(?:(?:ruff|flake8)\s*:\s*)?noqa\b[^#]*", re.I)),
    ("# type: ignore", _rx(r"#\s*type:\s*ignore\b[^#]*")),
    ("# mypy: ignore-errors", _rx(r"#\s*mypy:\s*ignore-errors\b")),
    ("# pyright: ignore", _rx(r"#\s*pyright:\s*ignore\b[^#]*")),
    ("# phasegate: ignore", _rx(r"#\s*phasegate:\s*ignore(?![\w-])[^#]*")),
    ("# phasegate: ignore-file", _rx(r"#\s*phasegate:\s*ignore-file(?![\w-])[^#]*")),
    ("# pragma: no cover", _rx(r"#\s*pragma[:\s]?\s*no\s*cover\b", re.I)),
    ("# nosec", _rx(r"#\s*nosec\b[^#]*")),
    ("# pylint: disable", _rx(r"#\s*pylint:\s*(?:disable|skip-file)\b[^#]*")),
)
# JavaScript/TypeScript markers are searched in whole lines, after a comment opener.
JS_SUPPRESSIONS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("eslint-disable", _rx(r"(?://|/\*)\s*eslint-disable[\w-]*(?:[ \t]+[^*\n]*)?")),
    ("@ts-ignore", _rx(r"(?://|/\*|^\s*\*)\s*@ts-ignore\b")),
    ("@ts-expect-error", _rx(r"(?://|/\*|^\s*\*)\s*@ts-expect-error\b")),
    ("@ts-nocheck", _rx(r"(?://|/\*|^\s*\*)\s*@ts-nocheck\b")),
    ("istanbul ignore", _rx(r"(?://|/\*)\s*(?:istanbul|c8|v8)\s+ignore\b[\w -]*")),
    ("phasegate: ignore", _rx(r"(?://|/\*)\s*phasegate:\s*ignore(?![\w-])(?:\s*\[[^\]\n]*\])?")),
    (
        "phasegate: ignore-file",
        _rx(r"(?://|/\*)\s*phasegate:\s*ignore-file(?![\w-])(?:\s*\[[^\]\n]*\])?"),
    ),
)
JS_SKIPS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "skip",
        _rx(
            r"\b(?:(?:it|test|describe|context|suite)\.skip\b|(?:xit|xtest|xdescribe|xcontext)\s*\()"
        ),
    ),
    ("todo", _rx(r"\b(?:it|test|describe)\.todo\b")),
)
_QUICK_PY = _rx(r"noqa|type:|mypy:|pyright:|phasegate:|pragma|nosec|pylint:", re.I)
_QUICK_JS = _rx(r"eslint-disable|@ts-|istanbul|c8|v8|phasegate:")
_QUICK_PG = _rx(r"phasegate:")


def _norm(line: str) -> str:
    return " ".join(line.split())


def _python_comments(text: str) -> Iterator[tuple[int, int, str]] | None:
    """(0-based line, column, comment text) of every comment; None when the text does
    not tokenize."""
    out: list[tuple[int, int, str]] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                out.append((tok.start[0] - 1, tok.start[1], tok.string))
    except (tokenize.TokenError, IndentationError, SyntaxError, ValueError):
        return None
    return iter(out)


def _hash_comments(text: str) -> Iterator[tuple[int, int, str]]:
    """A rough fall-back for text that does not tokenize: from each line's first ``#``."""
    for i, line in enumerate(text.splitlines()):
        at = line.find("#")
        if at >= 0:
            yield i, at, line[at:]


_BRACKETS = re.compile(r"\[([^\]]*)\]")
_NOQA_CODES = re.compile(r"\b[A-Z]+[0-9]+\b")
_NOSEC_CODES = re.compile(r"\bB[0-9]{3}\b")


def marker_codes(kind: str, text: str) -> list[str]:
    """The rules a suppression names, each counted apart (``# noqa: E501, F401`` is two
    suppressions, so a line that gains a code gains a suppression); ``[""]`` when it
    names none."""
    codes: list[str] = []
    if kind == "# noqa":
        m = re.search(r"noqa\s*:(.*)", text, re.I)
        codes = _NOQA_CODES.findall(m.group(1)) if m else []
    elif kind in ("# type: ignore", "# pyright: ignore") or "phasegate: ignore" in kind:
        m = _BRACKETS.search(text)
        codes = [c.strip() for c in m.group(1).split(",")] if m else []
    elif kind == "# pylint: disable":
        rest = text.partition("=")[2]
        codes = [c.strip() for c in re.split(r"[,\s]+", rest) if c.strip()]
    elif kind == "# nosec":
        codes = _NOSEC_CODES.findall(text)
    elif kind == "eslint-disable":
        rest = re.sub(r"^\W*eslint-disable[\w-]*", "", text).split("--", 1)[0]
        codes = [c.strip() for c in rest.split(",") if c.strip()]
    return sorted({c for c in codes if c}) or [""]


def suppression_markers(text: str, flavor: str, path: str = "") -> list[_Marker]:
    """Every suppression of ``text``, one per rule it names (``flavor``: ``py``, ``js``;
    ``py-line``: one line without context, as a removed line of the diff; ``pg``: the
    phasegate suppression comments of ``path``, any other file type, in its comment
    syntax — :func:`phasegate.suppress.directives`)."""
    out: list[_Marker] = []
    if flavor == "pg":
        lines = text.split("\n")
        style = comment_style(path)
        close = style.close if style is not None else ""
        for d in directives(path, text):
            kind = "phasegate: ignore-file" if d.scope == "file" else "phasegate: ignore"
            line, end = lines[d.line], d.end
            at = line.find(close, end) if close else -1
            if at >= 0:
                end = at + len(close)  # the comment as written: "<!-- … -->"
            shown = line[d.col : end].strip()
            for code in sorted(d.ids - ALL) or [""]:
                out.append(_Marker(kind, d.line, d.col, end, shown, code))
        return out
    if flavor in ("py", "py-line"):
        comments = _python_comments(text) if flavor == "py" else None
        for row, col, comment in comments if comments is not None else _hash_comments(text):
            for kind, rx in PY_SUPPRESSIONS:
                for m in rx.finditer(comment):
                    shown = m.group(0).strip()
                    for code in marker_codes(kind, shown):
                        out.append(_Marker(kind, row, col + m.start(), col + m.end(), shown, code))
        return out
    for i, line in enumerate(text.splitlines()):
        for kind, rx in JS_SUPPRESSIONS:
            for m in rx.finditer(line):
                shown = m.group(0).lstrip("/* ").strip()
                for code in marker_codes(kind, shown):
                    out.append(_Marker(kind, i, m.start(), m.end(), shown, code))
    return out


def js_skip_markers(text: str) -> list[_Marker]:
    """Skipped and to-do tests of a JavaScript/TypeScript test file (code, not comments)."""
    out: list[_Marker] = []
    for i, line in enumerate(text.splitlines()):
        code = line.split("//", 1)[0]
        if code.lstrip().startswith(("*", "/*")):
            continue
        for kind, rx in JS_SKIPS:
            for m in rx.finditer(code):
                out.append(_Marker(kind, i, m.start(), m.end(), m.group(0).rstrip("( ")))
    return out


def _line_markers(line: str, flavor: str, path: str = "") -> list[_Marker]:
    """Markers on one line of text without context (a removed line of the diff)."""
    if flavor == "js-test":
        return js_skip_markers(line)
    return suppression_markers(line, "py-line" if flavor == "py" else flavor, path)


# -- Python tests ------------------------------------------------------------------------
@dataclass(frozen=True)
class _Mark:
    """A skip or xfail that applies to a test."""

    kind: str  # "skip" | "xfail"
    line: int  # 0-based
    label: str  # the source, shortened


@dataclass
class _Test:
    path: str  # workspace path of the file (for a deleted file, where it was)
    qualname: str
    name: str
    line: int  # 0-based line of the def
    first: int  # 0-based first line (decorators included)
    end: int  # 0-based last line
    marks: list[_Mark]
    asserts: int
    source: str = ""  # the body's text, whitespace-normalised (a renamed test's is alike)
    origin: str = ""  # the deleted file it was in, when compared with where that file went
    nodes: list[ast.stmt] = field(default_factory=list, repr=False, compare=False)
    _body: str | None = field(default=None, repr=False, compare=False)

    @property
    def body(self) -> str:
        """The body's syntax tree, docstring aside, hashed: the same for a test renamed
        whatever its quotes, spacing or comments. Computed only for tests left unpaired
        by name."""
        if self._body is None:
            dump = ast.dump(ast.Module(body=self.nodes, type_ignores=[]), annotate_fields=False)
            self._body = hashlib.sha1(dump.encode()).hexdigest()
        return self._body


_MARK_KINDS = {"skip": "skip", "skipif": "skip", "xfail": "xfail"}
_UNITTEST_KINDS = {
    "skip": "skip",
    "skipIf": "skip",
    "skipUnless": "skip",
    "expectedFailure": "xfail",
}
_CALL_KINDS = {"pytest.skip": "skip", "pytest.xfail": "xfail"}
_PYTEST_ASSERTS = frozenset(
    {"pytest.raises", "pytest.warns", "pytest.approx", "pytest.deprecated_call", "pytest.fail"}
)


def _dotted(node: ast.AST) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


class _Module:
    """One parsed Python test module: its tests, their marks and assertions."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self.tree = ast.parse(text)
        self.lines = text.splitlines()
        self.aliases: dict[str, str] = {}
        for node in _flat(self.tree.body):  # module-level imports (under if/try too)
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.aliases[a.asname] = a.name
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"

    def canon(self, node: ast.AST) -> str | None:
        """The dotted name of ``node``, its first part resolved through the imports."""
        name = _dotted(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        full = self.aliases.get(head)
        if full is None:
            return name
        return f"{full}.{rest}" if rest else full

    def label(self, node: ast.AST, prefix: str = "") -> str:
        """The source of ``node`` on one line, shortened (only the first lines are read:
        ``ast.get_source_segment`` splits the whole text at each call)."""
        first = getattr(node, "lineno", 1) - 1
        last = min(getattr(node, "end_lineno", None) or first + 1, first + 4)
        rows = self.lines[first:last]
        if rows:
            col = getattr(node, "col_offset", 0)
            rows[0] = rows[0].encode()[col:].decode("utf-8", "replace")
        src = re.sub(r"\(\s+", "(", _norm(" ".join(rows)))
        src = re.sub(r",?\s+\)", ")", src)
        if len(src) > 60:
            src = src[:57] + "..."
        return prefix + src

    # -- marks ------------------------------------------------------------------------
    def expr_marks(self, expr: ast.AST, shown: ast.AST, prefix: str = "") -> list[_Mark]:
        """pytest marks anywhere in ``expr`` (a decorator, a ``pytestmark`` value), at
        the line of ``shown`` and labelled with its source."""
        kinds: list[str] = []
        for node in ast.walk(expr):
            if isinstance(node, ast.Attribute) and node.attr in _MARK_KINDS:
                owner = self.canon(node.value) or ""
                if owner == "mark" or owner.endswith(".mark"):
                    kinds.append(_MARK_KINDS[node.attr])
        if not kinds:
            return []
        label = self.label(shown, prefix)
        line = getattr(shown, "lineno", 1) - 1
        return [_Mark(kind, line, label) for kind in kinds]

    def decorator_marks(self, decorators: list[ast.expr]) -> list[_Mark]:
        out: list[_Mark] = []
        for dec in decorators:
            out += self.expr_marks(dec, dec, "@")
            callee = self.canon(dec.func if isinstance(dec, ast.Call) else dec) or ""
            prefix, _, last = callee.rpartition(".")
            if last in _UNITTEST_KINDS and prefix in ("unittest", "unittest.case"):
                out.append(_Mark(_UNITTEST_KINDS[last], dec.lineno - 1, self.label(dec, "@")))
        return out

    def pytestmark(self, body: list[ast.stmt]) -> list[_Mark]:
        out: list[_Mark] = []
        for stmt in body:
            targets: list[ast.expr] = []
            if isinstance(stmt, ast.Assign):
                targets = stmt.targets
            elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
                targets = [stmt.target]
            value = getattr(stmt, "value", None)
            if value is not None and any(
                isinstance(t, ast.Name) and t.id == "pytestmark" for t in targets
            ):
                out += self.expr_marks(value, stmt)
        return out

    def call_marks(self, nodes: Iterable[ast.AST]) -> list[_Mark]:
        """``pytest.skip()``/``pytest.xfail()``/``self.skipTest()``/``raise SkipTest``."""
        out: list[_Mark] = []
        for node in nodes:
            if isinstance(node, ast.Call):
                callee = self.canon(node.func) or ""
                kind = _CALL_KINDS.get(callee)
                if kind is None and callee.endswith(".skipTest"):
                    kind = "skip"
                if kind is not None:
                    out.append(_Mark(kind, node.lineno - 1, self.label(node)))
            elif isinstance(node, ast.Raise) and node.exc is not None:
                exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if (self.canon(exc) or "").endswith("SkipTest"):
                    out.append(_Mark("skip", node.lineno - 1, self.label(node)))
        return out

    def module_marks(self) -> list[_Mark]:
        body = list(_flat(self.tree.body))
        calls = [s.value for s in body if isinstance(s, ast.Expr)]
        return self.pytestmark(body) + self.call_marks(calls)

    # -- tests ------------------------------------------------------------------------
    def tests(self) -> list[_Test]:
        out: list[_Test] = []
        self._collect(self.tree.body, "", self.module_marks(), out, in_class=False)
        return out

    def _collect(
        self,
        body: list[ast.stmt],
        prefix: str,
        marks: list[_Mark],
        out: list[_Test],
        in_class: bool,
    ) -> None:
        for stmt in _flat(body):
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if stmt.name.startswith("test"):
                    out.append(self._test(stmt, prefix, marks))
            elif isinstance(stmt, ast.ClassDef) and _is_test_class(stmt):
                own = self.decorator_marks(stmt.decorator_list) + self.pytestmark(stmt.body)
                self._collect(stmt.body, f"{prefix}{stmt.name}.", marks + own, out, True)

    def _test(
        self, fn: ast.FunctionDef | ast.AsyncFunctionDef, prefix: str, marks: list[_Mark]
    ) -> _Test:
        body = fn.body
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            body = body[1:]
        walked = [n for stmt in body for n in ast.walk(stmt)]
        own = self.decorator_marks(fn.decorator_list) + self.call_marks(walked)
        first = min([fn.lineno, *(d.lineno for d in fn.decorator_list)]) - 1
        start = body[0].lineno - 1 if body else fn.lineno
        source = "\n".join(_norm(x) for x in self.lines[start : fn.end_lineno or fn.lineno])
        return _Test(
            path=self.path,
            qualname=prefix + fn.name,
            name=fn.name,
            line=fn.lineno - 1,
            first=first,
            end=(fn.end_lineno or fn.lineno) - 1,
            marks=marks + own,
            asserts=self.count_asserts(walked),
            nodes=body,
            source=source,
        )

    def count_asserts(self, nodes: Iterable[ast.AST]) -> int:
        n = 0
        for node in nodes:
            if isinstance(node, ast.Assert):
                n += 1
            elif isinstance(node, ast.Call):
                f = node.func
                last = (
                    f.attr
                    if isinstance(f, ast.Attribute)
                    else f.id
                    if isinstance(f, ast.Name)
                    else ""
                )
                if last.startswith("assert") or (
                    last.startswith("fail")
                    and isinstance(f, ast.Attribute)
                    and isinstance(f.value, ast.Name)
                    and f.value.id == "self"
                ):
                    n += 1
            elif (
                isinstance(node, (ast.Attribute, ast.Name))
                and isinstance(node.ctx, ast.Load)
                and self.canon(node) in _PYTEST_ASSERTS
            ):
                n += 1
        return n


def _flat(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements of ``body``, descending into ``if``/``try``/``with`` blocks."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.If):
            yield from _flat(stmt.body)
            yield from _flat(stmt.orelse)
        elif isinstance(stmt, ast.Try):
            for part in (stmt.body, stmt.orelse, stmt.finalbody):
                yield from _flat(part)
            for handler in stmt.handlers:
                yield from _flat(handler.body)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            yield from _flat(stmt.body)


def _is_test_class(cls: ast.ClassDef) -> bool:
    if cls.name.startswith("Test"):
        return True
    for base in cls.bases:
        name = _dotted(base) or ""
        if name.rpartition(".")[2].endswith("TestCase"):
            return True
    return False


def python_tests(path: str, text: str) -> list[_Test] | None:
    """The tests of a Python module; None when it does not parse."""
    try:
        return _Module(path, text).tests()
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def pair_tests(
    base: list[_Test], now: list[_Test]
) -> tuple[list[tuple[_Test, _Test]], list[_Test]]:
    """Pairs (now, base) of the same test, and the base tests left (deleted): first the
    same file and qualified name, then the same name (moved to another class or file),
    then the same body (renamed)."""
    pairs: list[tuple[_Test, _Test]] = []
    free_b = list(range(len(base)))
    free_n = list(range(len(now)))

    def match(
        key_n: Callable[[_Test], object], key_b: Callable[[_Test], object], same_path_first: bool
    ) -> None:
        pools: dict[object, list[int]] = defaultdict(list)
        for i in free_b:
            pools[key_b(base[i])].append(i)
        used_b: set[int] = set()
        used_n: set[int] = set()
        for j in free_n:
            pool = [i for i in pools.get(key_n(now[j]), []) if i not in used_b]
            if not pool:
                continue
            if same_path_first:
                pool.sort(key=lambda i: base[i].path != now[j].path)
            i = pool[0]
            used_b.add(i)
            used_n.add(j)
            pairs.append((now[j], base[i]))
        free_b[:] = [i for i in free_b if i not in used_b]
        free_n[:] = [j for j in free_n if j not in used_n]

    match(lambda t: (t.path, t.qualname), lambda t: (t.path, t.qualname), False)
    match(lambda t: t.name, lambda t: t.name, True)
    match(lambda t: t.body, lambda t: t.body, True)
    pairs += _similar(base, now, free_b, free_n)
    paired = {id(b) for _n, b in pairs}
    return pairs, [b for b in base if id(b) not in paired]


SIMILAR = 0.75  # how alike two bodies must be for a test renamed and edited
SIMILAR_MIN_CHARS = 40  # bodies shorter than this are never paired by likeness
RENAMED_ALIKE = 0.6  # share of lines alike for a deleted and an added file to be a rename
MAX_COMPARED = 2500  # body comparisons per file at most


def _similar(
    base: list[_Test], now: list[_Test], free_b: list[int], free_n: list[int]
) -> list[tuple[_Test, _Test]]:
    """Tests renamed and edited in one change (``test_x`` rewritten as
    ``test_x_encoded``): a test gone and a test added in the same file whose bodies are
    at least :data:`SIMILAR` alike (and not shorter than :data:`SIMILAR_MIN_CHARS`),
    the most alike first."""
    by_path: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for i in free_b:
        by_path[base[i].path][0].append(i)
    for j in free_n:
        by_path[now[j].path][1].append(j)
    out: list[tuple[_Test, _Test]] = []
    for bs, ns in by_path.values():
        if not bs or not ns or len(bs) * len(ns) > MAX_COMPARED:
            continue
        scored: list[tuple[float, int, int]] = []
        for i in bs:
            if len(base[i].source) < SIMILAR_MIN_CHARS:
                continue  # short bodies look alike by chance
            for j in ns:
                sm = difflib.SequenceMatcher(None, base[i].source, now[j].source, autojunk=False)
                if sm.real_quick_ratio() >= SIMILAR and sm.quick_ratio() >= SIMILAR:
                    ratio = sm.ratio()
                    if ratio >= SIMILAR:
                        scored.append((ratio, i, j))
        used_b: set[int] = set()
        used_n: set[int] = set()
        for _ratio, i, j in sorted(scored, key=lambda x: -x[0]):
            if i not in used_b and j not in used_n:
                used_b.add(i)
                used_n.add(j)
                out.append((now[j], base[i]))
    return out


# -- the policy --------------------------------------------------------------------------
@dataclass
class _Policy:
    """A phasegate configuration and where it came from (``file`` None: the defaults)."""

    config: Config
    file: str | None = None
    positions: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)
    prefix: KeyPath = ()

    def line(self, loc: Iterable[PathPart]) -> int:
        """0-based line of the key at ``loc`` (or of its nearest enclosing key)."""
        return locate(self.positions, (*self.prefix, *loc))[0] - 1


def load_policy(read: Callable[[str], str | None], root: Path) -> _Policy | None:
    """The configuration the files ``read`` gives; None when it does not load."""
    from phasegate.config_loader import ConfigError, parse_config

    text = read("phasegate.toml")
    if text is not None:
        try:
            config, _ = parse_config(text, root / "phasegate.toml")
        except (ConfigError, ValueError, TypeError):
            return None
        return _Policy(config, "phasegate.toml", key_positions(text))
    text = read("pyproject.toml")
    if text is not None:
        try:
            data = toml_loads(text)
        except TOMLDecodeError:
            return None if "phasegate" in text else _Policy(Config())
        tool = data.get("tool")
        if isinstance(tool, dict) and "phasegate" in tool:
            try:
                config, _ = parse_config(text, root / "pyproject.toml", pyproject=True)
            except (ConfigError, ValueError, TypeError):
                return None
            return _Policy(config, "pyproject.toml", key_positions(text), ("tool", "phasegate"))
    return _Policy(Config())


def _check_class(kind: str) -> type[Check] | None:
    try:
        return get_check_class(kind)
    except UnknownCheck:
        return None


def _weight(cc: CheckConfig) -> float:
    if cc.weight is not None:
        return cc.weight
    cls = _check_class(cc.kind_name)
    return cls.default_weight if cls is not None else 1.0


def _blocking(cc: CheckConfig) -> bool:
    if cc.blocking is not None:
        return cc.blocking
    cls = _check_class(cc.kind_name)
    return cls.default_blocking if cls is not None else False


def _option(cc: CheckConfig, name: str) -> Any:
    cls = _check_class(cc.kind_name)
    if cls is None:
        return cc.options.get(name)
    try:
        return getattr(cls.Options.model_validate(cc.options), name, None)
    except ValueError:
        return None


def _exclude(cc: CheckConfig, config: Config) -> list[str]:
    if cc.exclude is not None:
        return list(cc.exclude)
    cls = _check_class(cc.kind_name)
    try:
        return list(cls.default_exclude(config)) if cls is not None else []
    except Exception:
        return []


def effective_thresholds(t: list[float], n: int) -> list[float]:
    """The threshold of iterations 1..n (the last one repeats)."""
    return [t[min(k, len(t)) - 1] for k in range(1, n + 1)]


def _fmt_list(values: Iterable[float]) -> str:
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"


_INI_SECTION = re.compile(r"^\s*\[([^\]]+)\]")
_INI_FAIL_UNDER = re.compile(r"^\s*fail_under\s*[=:]\s*([0-9.]+)")
_CLI_FAIL_UNDER = re.compile(r"--(?:cov-)?fail-under[= ]+([0-9]+(?:\.[0-9]+)?)")


def fail_under(name: str, text: str) -> tuple[float, int] | None:
    """coverage.py's ``fail_under`` in one file: (value, 0-based line)."""
    if name == "pyproject.toml":
        try:
            data = toml_loads(text)
        except TOMLDecodeError:
            return None
        report = data.get("tool", {}).get("coverage", {}).get("report", {})
        value = report.get("fail_under") if isinstance(report, dict) else None
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return None
        path = ("tool", "coverage", "report", "fail_under")
        return float(value), locate(key_positions(text), path)[0] - 1
    wanted = "report" if name == ".coveragerc" else "coverage:report"
    section = ""
    for i, line in enumerate(text.splitlines()):
        if m := _INI_SECTION.match(line):
            section = m.group(1).strip()
        elif section == wanted and (m := _INI_FAIL_UNDER.match(line)):
            try:
                return float(m.group(1)), i
            except ValueError:
                return None
    return None


def cli_fail_under(text: str) -> list[tuple[float, int]]:
    """Coverage floors given on command lines (``coverage report --fail-under=N``,
    ``pytest --cov-fail-under N``): (value, 0-based line) each."""
    out: list[tuple[float, int]] = []
    for i, line in enumerate(text.splitlines()):
        for m in _CLI_FAIL_UNDER.finditer(line):
            out.append((float(m.group(1)), i))
    return out


def is_floor_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    if name in FLOOR_FILES or name.endswith(".mk"):
        return True
    return path.startswith(".github/workflows/") and name.endswith((".yml", ".yaml"))


def ruff_ignores(name: str, text: str) -> dict[str, dict[str, KeyPath]] | None:
    """The rules ruff's configuration in one file ignores: scope (``""`` everywhere, else
    a per-file glob) -> rule -> key path of the entry; None when the file configures no
    ruff (or is not TOML)."""
    try:
        data = toml_loads(text)
    except TOMLDecodeError:
        return None
    prefix: KeyPath = ()
    if name == "pyproject.toml":
        tool = data.get("tool")
        if not isinstance(tool, dict) or not isinstance(tool.get("ruff"), dict):
            return None
        data, prefix = tool["ruff"], ("tool", "ruff")
    out: dict[str, dict[str, KeyPath]] = defaultdict(dict)
    for table, at in ((data, prefix), (data.get("lint"), (*prefix, "lint"))):
        if not isinstance(table, dict):
            continue
        for key in ("ignore", "extend-ignore"):
            rules = table.get(key)
            if isinstance(rules, list):
                for i, rule in enumerate(rules):
                    if isinstance(rule, str):
                        out[""].setdefault(rule, (*at, key, i))
        for key in ("per-file-ignores", "extend-per-file-ignores"):
            per_file = table.get(key)
            if not isinstance(per_file, dict):
                continue
            for glob, rules in per_file.items():
                if isinstance(rules, str):
                    rules = [rules]
                if isinstance(rules, list):
                    for i, rule in enumerate(rules):
                        if isinstance(rule, str):
                            out[glob].setdefault(rule, (*at, key, glob, i))
    return out


def sarif_results(text: str) -> int | None:
    try:
        doc = json.loads(text)
        return sum(len((run or {}).get("results") or []) for run in doc["runs"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


# -- the check ---------------------------------------------------------------------------
class _Job:
    """One run: the change set, texts read once, and the findings."""

    def __init__(self, ctx: CheckContext, cs: ChangeSet) -> None:
        self.ctx = ctx
        self.cs = cs
        self.ws = ctx.workspace
        self.findings: list[Finding] = []
        self._base: dict[str, str | None] = {}
        self._now: dict[str, str | None] = {}
        self._removed: dict[str, list[str]] | None = None
        self._lines: dict[str, dict[str, tuple[Counter[str], Counter[str]]]] = {}
        self._renamed_from = set(cs.renamed.values())
        # what the change touched, less what no check reads (.phasegate/, .venv/, ...)
        self.changed = [p for p in cs.changed_files() if not self.ws.is_ignored(p)]
        self.deleted = sorted(p for p in cs.deleted if not self.ws.is_ignored(p))
        self.base_policy: _Policy | None = None
        self.now_policy: _Policy | None = None
        self.policy_files_changed = any(self.touched(n) for n in POLICY_FILES)
        if self.policy_files_changed:
            self.base_policy = load_policy(self.base_text, self.ws.root)
            self.now_policy = load_policy(self.now_text, self.ws.root)
        patterns = list(ctx.config.artifacts.tests)
        if self.base_policy is not None:
            patterns += [p for p in self.base_policy.config.artifacts.tests if p not in patterns]
        self.test_patterns = patterns
        code = [*ctx.config.artifacts.sources, *patterns, *JS_TEST_PATTERNS]
        self.code_patterns = code

    # -- texts -------------------------------------------------------------------------
    def touched(self, path: str) -> bool:
        cs = self.cs
        return cs.is_changed(path) or path in cs.deleted or path in self._renamed_from

    def now_text(self, path: str) -> str | None:
        if path not in self._now:
            try:
                data = self.ws.read_bytes(path, max_bytes=MAX_BYTES)
            except FileTooLarge:
                data = None
            self._now[path] = _text(data)
        return self._now[path]

    def base_text(self, path: str) -> str | None:
        """The text at the base; an untouched file's is its current text."""
        if path not in self._base:
            if not self.touched(path):
                self._base[path] = self.now_text(path)
            else:
                text = self.cs.base_text(path)
                self._base[path] = None if text is None or len(text) > MAX_BYTES else text
        return self._base[path]

    def removed_lines(self) -> dict[str, list[str]]:
        """Lines removed by the change, per file (renamed: under the new name)."""
        if self._removed is None:
            self._removed = _removed_lines(self.cs)
        return self._removed

    def add(
        self,
        path: str,
        message: str,
        *,
        line: int = 0,
        range: Range | None = None,
        missing_file: bool = False,
    ) -> None:
        self.findings.append(
            self.ctx.finding(
                path,
                message,
                range,
                line=line,
                missing_file=missing_file,
                severity=self.ctx.severity,
            )
        )

    # -- 1-3: tests --------------------------------------------------------------------
    def is_py_test(self, path: str) -> bool:
        return path.endswith(PY_SUFFIXES) and matches(path, self.test_patterns)

    def python_tests(self) -> None:
        cs = self.cs
        changed = [p for p in self.changed if self.is_py_test(p)]
        deleted = [p for p in self.deleted if self.is_py_test(p)]
        base: list[_Test] = []
        now: list[_Test] = []
        for path in changed:
            now_text = self.now_text(path)
            got_now = python_tests(path, now_text) if now_text is not None else None
            if got_now is None:
                continue  # does not parse now: IMPL-SYNTAX's business, nothing to compare
            if path not in cs.added:
                base_text = self.base_text(path)
                got_base = python_tests(path, base_text) if base_text is not None else None
                if got_base is None:
                    continue
                base += got_base
            now += got_now
        moved = self.unseen_renames(deleted, [p for p in changed if p in cs.added])
        for path in deleted:
            text = self.base_text(path)
            got = (python_tests(path, text) or []) if text is not None else []
            for t in got:  # a rename git did not see: compared with where it went
                if path in moved:
                    t.origin, t.path = path, moved[path]
            base += got
        pairs, gone = pair_tests(base, now)
        self._deleted_tests(gone, pairs, set(deleted) - set(moved))
        self._skips(pairs)
        self._asserts(pairs)

    def _deleted_tests(
        self, gone: list[_Test], pairs: list[tuple[_Test, _Test]], deleted_files: set[str]
    ) -> None:
        by_file: dict[str, list[_Test]] = defaultdict(list)
        for t in gone:
            by_file[t.path].append(t)
        for path, tests in sorted(by_file.items()):
            names = [t.qualname for t in tests]
            if path in deleted_files:
                n = len(names)
                self.add(
                    path,
                    f"test file {path} deleted with {n} test{'s' if n != 1 else ''} not "
                    f"found elsewhere ({_names(names)}): {APPROVE} removing tests",
                    missing_file=True,
                )
                continue
            survivors = sorted(
                ((b.first, b.end, n) for n, b in pairs if b.path == path and n.path == path),
                key=lambda x: x[0],
            )
            for t in tests:
                where = f"{t.origin}, now {path}" if t.origin else path
                self.add(
                    path,
                    f"test {t.qualname} deleted ({where}): {APPROVE} removing a test",
                    line=self._gap_line(path, t, survivors),
                )

    def unseen_renames(self, deleted: list[str], added: list[str]) -> dict[str, str]:
        """Deleted test files whose content went to an added file, alike enough
        (:data:`RENAMED_ALIKE` of their lines) to be a rename git did not see (renamed
        and rewritten in one change): deleted path -> added path."""
        if not deleted or not added or len(deleted) * len(added) > MAX_COMPARED // 4:
            return {}
        rows = {p: [_norm(x) for x in (self.base_text(p) or "").splitlines()] for p in deleted}
        new = {p: [_norm(x) for x in (self.now_text(p) or "").splitlines()] for p in added}
        scored: list[tuple[float, str, str]] = []
        for d, a in ((d, a) for d in deleted for a in added):
            sm = difflib.SequenceMatcher(None, rows[d], new[a], autojunk=False)
            if sm.real_quick_ratio() >= RENAMED_ALIKE and sm.quick_ratio() >= RENAMED_ALIKE:
                ratio = sm.ratio()
                if ratio >= RENAMED_ALIKE:
                    scored.append((ratio, d, a))
        out: dict[str, str] = {}
        for _ratio, d, a in sorted(scored, reverse=True):
            if d not in out and a not in out.values():
                out[d] = a
        return out

    def _gap_line(self, path: str, t: _Test, survivors: list[tuple[int, int, _Test]]) -> int:
        """Where a deleted test was, in the current file: after the surviving test
        before it, else at the surviving test after it, else at the top."""
        before = [now.end + 1 for first, _end, now in survivors if first < t.first]
        after = [now.first for first, _end, now in survivors if first > t.first]
        line = max(before) if before else min(after) if after else 0
        text = self.now_text(path) or ""
        return max(0, min(line, len(text.splitlines()) - 1))

    def _skips(self, pairs: list[tuple[_Test, _Test]]) -> None:
        cs = self.cs
        hits: dict[tuple[str, int, str], tuple[_Mark, list[str]]] = {}
        for now, base in pairs:
            for kind in ("skip", "xfail"):
                marks = [m for m in now.marks if m.kind == kind]
                excess = len(marks) - sum(1 for m in base.marks if m.kind == kind)
                if excess <= 0:
                    continue
                marks.sort(key=lambda m: (not cs.is_new(now.path, m.line), -m.line))
                for m in marks[:excess]:
                    key = (now.path, m.line, kind)
                    hits.setdefault(key, (m, []))[1].append(now.qualname)
        for (path, line, kind), (mark, names) in sorted(hits.items()):
            what = "skipped" if kind == "skip" else "marked to fail (xfail)"
            act = "skipping" if kind == "skip" else "expecting a failure of"
            if len(names) == 1:
                subject = f"test {names[0]} newly {what}"
            else:
                subject = f"{len(names)} tests newly {what} ({_names(names)})"
            self.add(
                path,
                f"{subject} by `{mark.label}` ({path}): {APPROVE} {act} a test",
                line=line,
            )

    def _asserts(self, pairs: list[tuple[_Test, _Test]]) -> None:
        for now, base in pairs:
            if now.asserts < base.asserts:
                self.add(
                    now.path,
                    f"test {now.qualname} lost assertions: {base.asserts} at the base, "
                    f"{now.asserts} now ({now.path}): {APPROVE} weakening a test",
                    line=now.line,
                )

    def js_tests(self) -> None:
        cs = self.cs
        deleted = [
            p
            for p in self.deleted
            if matches(p, JS_TEST_PATTERNS) and not matches(p, self.test_patterns)
        ]
        added = [p for p in self.changed if p in cs.added and matches(p, JS_TEST_PATTERNS)]
        moved = self.unseen_renames(deleted, added)
        came_from = {a: d for d, a in moved.items()}
        for path in deleted:
            text = self.base_text(path)
            if path not in moved and text is not None and re.search(r"\b(?:it|test)\s*\(", text):
                self.add(
                    path,
                    f"test file {path} deleted: {APPROVE} removing tests",
                    missing_file=True,
                )
        for path in self.changed:
            if not matches(path, JS_TEST_PATTERNS):
                continue
            text = self.now_text(path)
            if text is None:
                continue
            now = js_skip_markers(text)
            if not any(cs.is_new(path, m.line) for m in now):
                continue
            if path in came_from:
                base_text = self.base_text(came_from[path])
            else:
                base_text = self.base_text(path) if path not in cs.added else ""
            base = js_skip_markers(base_text or "")
            for m in self.new_markers(path, now, base, "js-test"):
                verb = "left to do" if m.kind == "todo" else "skipped"
                self.add(
                    path,
                    f"test newly {verb}: `{m.text}` ({path}): {APPROVE} skipping a test",
                    range=Range.lines(m.line, m.col, m.end),
                )

    # -- 4: suppressions ---------------------------------------------------------------
    def flavor(self, path: str) -> str | None:
        """How suppressions are read in ``path``: ``py`` (source and test files), ``js``,
        ``pg`` (phasegate's own comments in any other file whose comment syntax is
        known: documents, configuration, Dockerfiles...), None (not read)."""
        if path.endswith(PY_SUFFIXES) and matches(path, self.code_patterns):
            return "py"
        if path.endswith(JS_SUFFIXES):
            return "js"
        style = comment_style(path)
        return "pg" if style is not None and style is not ANY_STYLE else None

    def suppressions(self) -> None:
        cs = self.cs
        for path in self.changed:
            flavor = self.flavor(path)
            if flavor is None:
                continue
            text = self.now_text(path)
            if text is None:
                continue
            lines = text.splitlines()
            changed = (
                range(len(lines))
                if path in cs.added
                else [n - 1 for n in cs.lines.get(path, ()) if 0 < n <= len(lines)]
            )
            quick = {"py": _QUICK_PY, "js": _QUICK_JS}.get(flavor, _QUICK_PG)
            if not any(quick.search(lines[i]) for i in changed):
                continue
            now = suppression_markers(text, flavor, path)
            if not any(cs.is_new(path, m.line) for m in now):
                continue
            base_text = None if path in cs.added else self.base_text(path)
            base = suppression_markers(base_text, flavor, path) if base_text else []
            found: dict[tuple[int, int], list[_Marker]] = defaultdict(list)
            for m in self.new_markers(path, now, base, flavor):
                found[(m.line, m.col)].append(m)
            for group in found.values():
                m = group[0]
                named = len({x.code for x in now if (x.line, x.col) == (m.line, m.col)})
                codes = [x.code for x in group if x.code]
                added = f" ({', '.join(codes)} added)" if codes and len(codes) < named else ""
                self.add(
                    path,
                    f"new suppression `{_short(m.text)}`{added} ({path}): {APPROVE} silencing "
                    "a check",
                    range=Range.lines(m.line, m.col, m.end),
                )

    def new_markers(
        self, path: str, now: list[_Marker], base: list[_Marker], flavor: str
    ) -> list[_Marker]:
        """Markers of ``path`` that the change added (see the module): per kind and rule,
        when the file has more now than at the base, that many of those on changed lines,
        the least like a removed line of the file first; less a rule swapped for another
        on an edited line (``# type: ignore[misc]`` become ``[untyped-decorator]``), and
        less a line that carries the same marker at the base of another changed file
        (moved or copied from there)."""
        cs = self.cs
        lines = (self.now_text(path) or "").splitlines()
        base_count = Counter(m.ident for m in base)
        now_count = Counter(m.ident for m in now)
        removed = [
            (m, r)
            for r in self.removed_lines().get(path, [])
            for m in _line_markers(r, flavor, path)
        ]
        lost = Counter(
            {
                i: base_count[i] - now_count.get(i, 0)
                for i in base_count
                if base_count[i] > now_count.get(i, 0)
            }
        )
        out: list[_Marker] = []
        for ident, count in now_count.items():
            excess = count - base_count.get(ident, 0)
            if excess <= 0:
                continue
            candidates = [m for m in now if m.ident == ident and cs.is_new(path, m.line)]
            like = [_norm(r) for m, r in removed if m.kind == ident[0]]

            def likeness(m: _Marker, like: list[str] = like) -> float:
                text = _norm(lines[m.line]) if m.line < len(lines) else ""
                return max(
                    (difflib.SequenceMatcher(None, text, r).ratio() for r in like), default=0.0
                )

            candidates.sort(key=lambda m: (likeness(m), m.line))
            out += candidates[:excess]
        out = [m for m in out if not self._swapped(m, lines, removed, lost)]
        if not out:
            return out
        used: Counter[tuple[str, str, str]] = Counter()
        kept: list[_Marker] = []
        for m in sorted(out, key=lambda m: (m.line, m.col)):
            text = lines[m.line] if m.line < len(lines) else ""
            key = (m.kind, m.code, _norm(text))
            if used[key] < self.copied(path, m, text):
                used[key] += 1  # moved or copied from another changed file
            else:
                kept.append(m)
        return kept

    @staticmethod
    def _swapped(
        m: _Marker,
        lines: list[str],
        removed: list[tuple[_Marker, str]],
        lost: Counter[tuple[str, str]],
    ) -> bool:
        """Whether ``m`` replaces a rule of the same kind that the file lost, on a line
        whose code (the comment aside) is the same but for small edits."""
        code = _norm(lines[m.line][: m.col]) if m.line < len(lines) else ""
        if not code:
            return False
        for old, text in removed:
            if old.kind != m.kind or lost[old.ident] <= 0:
                continue
            before = _norm(text[: old.col])
            if before and difflib.SequenceMatcher(None, code, before).ratio() >= 0.8:
                lost[old.ident] -= 1
                return True
        return False

    def copied(self, path: str, m: _Marker, text: str) -> int:
        """How many times the line ``text`` (normalised) of marker ``m`` occurs in the
        other changed files (modified, renamed or deleted) of its language: removed there
        (moved here), or at their base when its code, the comment aside, is distinctive
        enough (:data:`COPIED_CODE` characters or more) to be a copy rather than a
        coincidence (a file split in two keeps its imports in both)."""
        long = len(_norm(text[: m.col])) >= COPIED_CODE
        n = 0
        for other, (base_lines, removed) in self._other_lines(path).items():
            if other != path:
                n += (base_lines if long else removed).get(_norm(text), 0)
        return n

    def _other_lines(self, path: str) -> dict[str, tuple[Counter[str], Counter[str]]]:
        """Per changed file of the language of ``path``: its normalised lines at the
        base, and those the change removed."""
        family = self.flavor(path) or "js"
        if family not in self._lines:
            cs = self.cs
            out: dict[str, tuple[Counter[str], Counter[str]]] = {}
            removed = self.removed_lines()
            others = [p for p in self.changed if p not in cs.added] + self.deleted
            for other in others:
                if self.flavor(other) != family:
                    continue
                text = self.base_text(other) or ""
                out[other] = (
                    Counter(_norm(x) for x in text.splitlines()),
                    Counter(_norm(x) for x in removed.get(other, [])),
                )
            self._lines[family] = out
        return self._lines[family]

    # -- 5: the policy -----------------------------------------------------------------
    def policy(self) -> None:
        if self.policy_files_changed and self.base_policy is not None:
            now = self.now_policy
            if now is not None:
                _PolicyDiff(self, self.base_policy, now).run()
        self.coverage_targets()
        self.ruff_rules()
        self.baseline_growth()

    def policy_add(self, now: _Policy, loc: tuple[PathPart, ...], message: str) -> None:
        """A finding about the configuration key at ``loc`` of ``now``."""
        if now.file is not None:
            self.add(
                now.file,
                f"{message} ({now.file}): {APPROVE} loosening the gate",
                line=now.line(loc),
            )
            return
        base = self.base_policy.file if self.base_policy is not None else None
        if base is not None and self.now_text(base) is None:
            self.add(
                base, f"{message} ({base} deleted): {APPROVE} loosening the gate", missing_file=True
            )
        else:
            where = base or "pyproject.toml"
            self.add(where, f"{message} ({where}): {APPROVE} loosening the gate", line=0)

    def coverage_targets(self) -> None:
        if any(self.touched(n) for n in COVERAGE_FILES):
            self._compare_floor(COVERAGE_FILES, fail_under, "coverage.py fail_under")
        self._command_line_floors()

    def _command_line_floors(self) -> None:
        """``--fail-under``/``--cov-fail-under`` lowered, per file; removed when no file
        keeps a floor as high."""
        cs = self.cs
        paths = [p for p in [*self.changed, *self.deleted] if is_floor_file(p)]
        if not paths:
            return
        now_all = [
            v
            for p in self.changed
            if is_floor_file(p)
            for v, _ in cli_fail_under(self.now_text(p) or "")
        ]
        for path in paths:
            base = cli_fail_under(self.base_text(path) or "") if path not in cs.added else []
            if not base:
                continue
            floor = min(v for v, _ in base)
            text = self.now_text(path)
            now = cli_fail_under(text) if text is not None else []
            if now:
                value, line = min(now)
                if value < floor - 1e-9:
                    self.add(
                        path,
                        f"coverage floor --fail-under lowered from {floor:g} to {value:g} "
                        f"({path}): {APPROVE} loosening the gate",
                        line=line,
                    )
            elif not any(v >= floor - 1e-9 for v in now_all):
                gone = "removed with the file" if text is None else "removed"
                self.add(
                    path,
                    f"coverage floor --fail-under={floor:g} {gone} ({path}): {APPROVE} "
                    "loosening the gate",
                    missing_file=text is None,
                )

    def ruff_rules(self) -> None:
        """Rules ruff's configuration newly ignores (everywhere or per file)."""
        if not any(self.touched(n) for n in RUFF_FILES):
            return

        def effective(read: Callable[[str], str | None]) -> tuple[str, str, Any] | None:
            for name in RUFF_FILES:
                text = read(name)
                got = ruff_ignores(name, text) if text is not None else None
                if got is not None and text is not None:
                    return name, text, got
            return None

        base = effective(self.base_text)
        now = effective(self.now_text)
        if now is None:
            return
        name, text, rules = now
        before: dict[str, dict[str, KeyPath]] = base[2] if base is not None else {}
        positions = key_positions(text)
        for glob, got in rules.items():
            old = set(before.get("", {})) | set(before.get(glob, {}))
            for rule, loc in got.items():
                if any(o == "ALL" or rule.startswith(o) for o in old):
                    continue
                where = "everywhere" if not glob else f"in files matching '{glob}'"
                self.add(
                    name,
                    f"ruff now ignores {rule} {where} ({name}): {APPROVE} silencing a check",
                    line=locate(positions, loc)[0] - 1,
                )

    def _compare_floor(
        self,
        files: tuple[str, ...],
        find: Callable[[str, str], tuple[float, int] | None],
        what: str,
    ) -> None:
        def first(read: Callable[[str], str | None]) -> tuple[float, str, int] | None:
            for name in files:
                text = read(name)
                got = find(name, text) if text is not None else None
                if got is not None:
                    return got[0], name, got[1]
            return None

        base = first(self.base_text)
        if base is None:
            return
        now = first(self.now_text)
        if now is not None and now[0] + 1e-9 >= base[0]:
            return
        if now is not None:
            msg = f"{what} lowered from {base[0]:g} to {now[0]:g} ({now[1]})"
            self.add(now[1], f"{msg}: {APPROVE} loosening the gate", line=now[2])
        elif self.now_text(base[1]) is None:
            msg = f"{what} {base[0]:g} removed with {base[1]}"
            self.add(base[1], f"{msg}: {APPROVE} loosening the gate", missing_file=True)
        else:
            msg = f"{what} {base[0]:g} removed ({base[1]})"
            self.add(base[1], f"{msg}: {APPROVE} loosening the gate", line=0)

    def baseline_growth(self) -> None:
        configured = self.ctx.config.new_code.baseline or DEFAULT_BASELINE
        path = Path(configured)
        if path.is_absolute():
            try:
                rel = path.resolve().relative_to(self.ws.root).as_posix()
            except ValueError:
                return
        else:
            rel = path.as_posix()
        if not self.cs.is_changed(rel):
            return
        now_text = self.now_text(rel)
        now = sarif_results(now_text) if now_text is not None else None
        if now is None:
            return
        base_text = None if rel in self.cs.added else self.cs.base_text(rel)
        base = 0 if base_text is None else sarif_results(base_text)
        if base is None or now <= base:
            return
        self.add(
            rel,
            f"baseline {rel} grew from {base} to {now} findings: {APPROVE} accepting "
            "findings into the baseline",
            line=0,
        )


class _PolicyDiff:
    """The loosenings between two phasegate configurations."""

    def __init__(self, job: _Job, base: _Policy, now: _Policy) -> None:
        self.job = job
        self.base = base
        self.now = now

    def add(self, loc: tuple[PathPart, ...], message: str) -> None:
        self.job.policy_add(self.now, loc, message)

    def run(self) -> None:
        b, n = self.base.config, self.now.config
        span = max(len(b.thresholds), len(n.thresholds))
        eb, en = effective_thresholds(b.thresholds, span), effective_thresholds(n.thresholds, span)
        if any(x < y - 1e-9 for x, y in zip(en, eb, strict=True)):
            self.add(
                ("thresholds",),
                f"gate thresholds lowered from {_fmt_list(b.thresholds)} to "
                f"{_fmt_list(n.thresholds)}",
            )
        for group in ("checks", "entry_checks"):
            self.checks(group)
        self.new_code()

    def _index(self, config: Config, group: str) -> dict[str, list[tuple[int, int, CheckConfig]]]:
        out: dict[str, list[tuple[int, int, CheckConfig]]] = defaultdict(list)
        for i, phase in enumerate(config.phases):
            for j, cc in enumerate(getattr(phase, group)):
                out[cc.id].append((i, j, cc))
        return out

    def checks(self, group: str) -> None:
        b, n = self.base.config, self.now.config
        now_index = self._index(n, group)
        now_phases = {p.name: i for i, p in enumerate(n.phases)}
        removed: dict[str, list[str]] = defaultdict(list)  # base phase -> check ids gone
        label = "check" if group == "checks" else "entry check"
        for cid, entries in self._index(b, group).items():
            enabled = [(i, cc) for i, _j, cc in entries if cc.enabled]
            if not enabled:
                continue
            bi, bcc = enabled[0]
            phase = b.phases[bi].name
            nows = now_index.get(cid, [])
            if not nows:
                removed[phase].append(cid)
                continue
            on = [(i, j, cc) for i, j, cc in nows if cc.enabled]
            if not on:
                i, j, _cc = nows[0]
                self.add(
                    ("phases", i, group, j, "enabled"),
                    f"{label} {cid} switched off (enabled = false)",
                )
                continue
            same = [e for e in on if n.phases[e[0]].name == phase]
            i, j, ncc = (same or on)[0]
            loc: tuple[PathPart, ...] = ("phases", i, group, j)
            if _blocking(bcc) and not _blocking(ncc):
                self.add((*loc, "blocking"), f"{label} {cid} no longer blocking")
            wb, wn = _weight(bcc), _weight(ncc)
            if wn < wb - 1e-9:
                self.add((*loc, "weight"), f"{label} {cid} weight cut from {wb:g} to {wn:g}")
            if ncc.kind_name == "TEST-COVERAGE" and bcc.kind_name == "TEST-COVERAGE":
                tb, tn = _option(bcc, "target"), _option(ncc, "target")
                if isinstance(tb, (int, float)) and isinstance(tn, (int, float)) and tn < tb - 1e-9:
                    self.add(
                        (*loc, "options", "target"),
                        f"{cid} coverage target lowered from {tb:g}% to {tn:g}%",
                    )
            if ncc.exclude is not None:
                before = set(_exclude(bcc, b))
                extra = [p for p in ncc.exclude if p not in before]
                if extra:
                    shown = ", ".join(f"'{p}'" for p in extra[:5])
                    self.add((*loc, "exclude"), f"{label} {cid} now excludes {shown}")
        for phase, ids in removed.items():
            if phase in now_phases:
                for cid in ids:
                    self.add(
                        ("phases", now_phases[phase], group),
                        f"{label} {cid} removed from the {phase} phase",
                    )
            elif group == "checks":
                self.add(
                    ("phases",),
                    f"phase {phase} removed with its checks {', '.join(ids)}",
                )
            else:
                self.add(("phases",), f"entry checks {', '.join(ids)} of phase {phase} removed")

    def new_code(self) -> None:
        b, n = self.base.config.new_code, self.now.config.new_code
        dropped = [s for s in b.blocking if s not in n.blocking]
        if dropped:
            self.add(
                ("new_code", "blocking"),
                f"new findings of severity {', '.join(dropped)} no longer block "
                "(new_code.blocking)",
            )
        if b.integrity and not n.integrity:
            self.add(("new_code", "integrity"), "GATE-INTEGRITY switched off (new_code.integrity)")
        for key in ("since", "baseline"):
            old, new = getattr(b, key), getattr(n, key)
            if old != new:
                self.add(
                    ("new_code", key),
                    f"the new-code reference new_code.{key} changed from "
                    f"{_show(old)} to {_show(new)}",
                )
        if n.small_change_lines > b.small_change_lines:
            self.add(
                ("new_code", "small_change_lines"),
                f"new_code.small_change_lines raised from {b.small_change_lines} to "
                f"{n.small_change_lines} (coverage of new code judged less often)",
            )


def _show(value: object) -> str:
    return "unset" if value is None else f"'{value}'"


def _short(text: str, limit: int = 60) -> str:
    """``text`` cut at ``limit`` characters (a suppression's explanation can be long)."""
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _names(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _text(data: bytes | None) -> str | None:
    if data is None or b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def _removed_lines(cs: ChangeSet) -> dict[str, list[str]]:
    """Lines the change removed, per workspace path (a renamed file: its new path)."""
    out: dict[str, list[str]] = defaultdict(list)
    res = _git(
        cs.root,
        "diff",
        "--no-ext-diff",
        "--no-textconv",
        "--no-color",
        "-U0",
        "-M",
        cs.base,
        "--",
        ".",
    )
    if not res.ok:
        return out
    old: str | None = None
    new: str | None = None
    header = True
    for raw in (res.stdout_bytes or b"").split(b"\n"):
        if raw.startswith(b"diff --git "):
            header, old, new = True, None, None
            continue
        if header:
            if raw.startswith((b"--- ", b"+++ ")):
                name = raw[4:].decode("utf-8", "replace")
                if name.startswith('"'):
                    name = _unquote(name)
                path = None if name == "/dev/null" else _rel(cs.prefix, name[2:])
                if raw.startswith(b"---"):
                    old = path
                else:
                    new = path
            elif raw.startswith(b"@@"):
                header = False
            continue
        if raw.startswith(b"@@"):
            continue
        if raw.startswith(b"-"):
            key = new or old
            if key is not None:
                out[key].append(raw[1:].decode("utf-8", "replace"))
    return out


class GateIntegrity(Check):
    id = CHECK_ID
    title = "No unapproved weakening of the gate"
    description = (
        "New-code mode only, with a git reference (`validate --since REF`, "
        "`[new_code] since`): added by itself to the `testing` phase (else the last) "
        "unless a phase configures it or `[new_code] integrity = false` — and even then "
        "when the change edits the configuration. It compares the working tree with the "
        "base of the change and reports each change that weakens the gate, for a person "
        "to approve. "
        "(1) **Tests deleted**: a test file deleted while holding tests, or a test "
        "(`test*` at module level or in a `Test*`/`TestCase` class) gone from a file that "
        "still exists. Renamed files are followed (also a deleted test file whose lines "
        "went to an added one); a test found again by name in any changed test file "
        "(moved), with the same body (renamed), or with a body at least 75% alike in the "
        "same file (renamed and edited) is not deleted. "
        "(2) **Tests newly skipped or expected to fail**: more skip or xfail markers "
        "applying to a test than at the base — `@pytest.mark.skip/skipif/xfail` (also in "
        "`pytest.param(marks=...)`), `@unittest.skip/skipIf/skipUnless/expectedFailure`, "
        "a module or class `pytestmark`, `pytest.skip()`/`pytest.xfail()`/"
        "`self.skipTest()`/`raise SkipTest` in the body, a module-level `pytest.skip`; "
        "tests added by the change are not judged. In JavaScript/TypeScript test files, "
        "`it.skip`, `test.skip`, `describe.skip`, `xit`, `xdescribe`, `it.todo`... on "
        "added lines when the file has more than at the base. "
        "(3) **Assertions removed** from a test that still exists: `assert` statements, "
        "`assert*` calls (`self.assertEqual`, `mock.assert_called_once`), `self.fail*`, "
        "`pytest.fail` and uses of `pytest.raises/warns/approx/deprecated_call`, fewer "
        "than at the base (at the test's `def`). "
        "(4) **New suppressions** on added or changed lines of source and test files: "
        "`# noqa` (and `# ruff: noqa`), `# type: ignore`, `# mypy: ignore-errors`, "
        "`# pyright: ignore`, `# phasegate: ignore`, `# pragma: no cover`, `# nosec`, "
        "`# pylint: disable`, `eslint-disable`, `@ts-ignore`, `@ts-expect-error`, "
        "`@ts-nocheck`, `istanbul ignore`; and phasegate's own suppression comments "
        "(`phasegate: ignore[ID]`, `phasegate: ignore-file[ID]`) in any file whose "
        "comment syntax phasegate knows — documents, configuration, Dockerfiles, "
        "workflows (`<!-- phasegate: ignore[REQ-ACCEPTANCE] -->` in a Markdown file). "
        "Each rule a marker names counts apart. Only "
        "when the file holds more of it than at the base: an edited line that kept its "
        "`# noqa` is not new (a rule added to it is), nor a rule swapped for another on "
        "an unchanged line of code, nor a line moved or copied from another changed file. "
        "Python comments are read with the tokenizer, so a marker in a string does not "
        "count. Rules that ruff's configuration newly ignores (`ignore`, `extend-ignore`, "
        "`per-file-ignores`) count too. "
        "(5) **The gate policy loosened**, comparing the base and current configuration "
        "(`phasegate.toml`, else `[tool.phasegate]`, else the defaults; a base "
        "configuration that does not load is not compared): thresholds lowered at any "
        "iteration, an enabled check removed or switched off (a phase removed is one "
        "finding), `blocking` switched off, a weight cut (explicit or the check's "
        "default), TEST-COVERAGE `target` lowered, a check's `exclude` gaining patterns, "
        "`[new_code]` `blocking` severities dropped, `integrity` switched off, `since` or "
        "`baseline` changed, `small_change_lines` raised (raising iteration limits is "
        "not loosening); coverage.py's `fail_under` lowered or removed (`.coveragerc`, "
        "`setup.cfg`, `tox.ini`, `[tool.coverage.report]`); a `--fail-under`/"
        "`--cov-fail-under` floor lowered or removed (Makefile, `tox.ini`, `setup.cfg`, "
        "`pyproject.toml`, `pytest.ini`, `noxfile.py`, CI workflows); the baseline file "
        "(`[new_code] baseline`, else `phasegate-baseline.sarif`) holding more results "
        "than at the base. "
        "Each finding is at the changed line (a configuration key's line; a deleted file: "
        "at its path) and says what changed and that a person must approve it. Findings "
        "cannot be silenced by a comment (it would be a new suppression itself), and the "
        "check keeps its verdict in new-code mode. Its inputs only say which edits re-run "
        "it in an editor: it judges every file the change touched, less `exclude` "
        "(vendored code by default) and files no check reads (`.phasegate/`, `.venv/`, "
        "`node_modules/`...). With only a baseline there is no base to compare with: not "
        "applicable. Score: 1.0 without findings, else 0.0."
    )
    scope = "project"
    default_owner = OWNER
    default_weight = 1.0
    default_blocking = True
    default_severity = Severity.ERROR
    new_code_rule = "whole"
    uses_history = True
    # its findings cannot be silenced by a comment: the comment would be a new
    # suppression itself (phasegate.suppress)
    suppressible = False

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        """Files whose edit re-runs it in an editor (it judges what the change touched):
        tests, sources, JavaScript/TypeScript, and the files holding the policy."""
        own = [
            *(f"*{s}" for s in JS_SUFFIXES),
            *POLICY_FILES,
            ".coveragerc",
            *RUFF_FILES,
            *sorted(FLOOR_FILES),
            ".github/workflows/*.yml",
            ".github/workflows/*.yaml",
            config.new_code.baseline or DEFAULT_BASELINE,
        ]
        out: list[str] = []
        for p in [*config.artifacts.tests, *config.artifacts.sources, *own]:
            if p not in out:
                out.append(p)
        return out

    @classmethod
    def default_exclude(cls, config: Config) -> list[str]:
        return list(VENDORED)

    def run(self, ctx: CheckContext) -> CheckOutcome:
        nc = ctx.new_code
        cs = nc.changes if nc is not None else None
        if cs is None:
            return CheckOutcome(not_applicable=NEEDS_GIT)
        job = _Job(ctx, cs)
        job.python_tests()
        job.js_tests()
        job.suppressions()
        job.policy()
        findings = job.findings
        if ctx.exclude:
            findings = [f for f in findings if not matches(f.path, ctx.exclude)]
        try:  # what a person approved (`phasegate approve`) is left out
            approved = load_approvals(ctx.workspace.root)
        except ApprovalError as exc:
            return CheckOutcome(score=0.0, error=str(exc))
        findings = [f for f in findings if approval_key(f) not in approved]
        findings.sort(key=lambda f: (f.path, f.range.start.line, f.range.start.character))
        return CheckOutcome(findings=findings, score=0.0 if findings else 1.0, passed=not findings)
