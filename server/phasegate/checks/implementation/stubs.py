"""IMPL-STUB: functions that are only stubs, and TODO/FIXME/XXX comments.

A stub is a function or method whose body (a docstring aside) is only ``pass``, ``...``
or ``raise NotImplementedError``. Not stubs: abstract methods (``@abstractmethod``),
``@overload`` signatures, command groups (``@click.group()``), members of ``Protocol``
classes, a body that is only a docstring, and anything in a ``.pyi`` stub file. Comments
are read with :mod:`tokenize`, so a marker in a string is not a comment. Test files
(``artifacts.tests``) are excluded by default.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.checks.implementation.syntax import OWNER, PYTHON_SUFFIXES, decode_source
from phasegate.model import Finding, Range, Severity

if TYPE_CHECKING:
    from phasegate.config import Config

_EXEMPT_DECORATORS = frozenset(
    {
        "abstractmethod",
        "abstractproperty",
        "abstractclassmethod",
        "abstractstaticmethod",
        "overload",
        "group",  # @click.group(), @app.group(): the body is meant to be empty
    }
)
_SEVERITIES = {s.label: s for s in Severity}
_Fn = ast.FunctionDef | ast.AsyncFunctionDef


class StubOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment_markers: list[str] = Field(
        default_factory=lambda: ["TODO", "FIXME", "XXX"],
        description="Words that mark an unfinished-work comment (whole words, case-sensitive).",
    )
    comment_severity: Literal["error", "warning", "info", "hint", "off"] = Field(
        "warning", description="Severity of marker comments; `off` ignores them."
    )
    max_bytes: int = Field(5_000_000, gt=0, description="Larger files are skipped.")

    @field_validator("comment_markers")
    @classmethod
    def _words(cls, v: list[str]) -> list[str]:
        for w in v:
            if not re.fullmatch(r"\w+", w):
                raise ValueError(f"comment marker {w!r} must be a single word")
        return v


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def stub_kind(fn: _Fn) -> str | None:
    """What the stub body is (``pass``, ``...``...), or None when it does real work."""
    body = list(fn.body)
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        body = body[1:]
        if not body:
            return None  # a docstring alone documents a hook or a command group
    kinds: set[str] = set()
    for stmt in body:
        if isinstance(stmt, ast.Pass):
            kinds.add("`pass`")
        elif (
            isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Constant)
            and stmt.value.value is Ellipsis
        ):
            kinds.add("`...`")
        elif (
            isinstance(stmt, ast.Raise)
            and stmt.exc is not None
            and _name(stmt.exc) == "NotImplementedError"
        ):
            kinds.add("`raise NotImplementedError`")
        else:
            return None
    return " and ".join(sorted(kinds)) if kinds else None


def _functions(tree: ast.AST) -> Iterator[tuple[_Fn, str, bool]]:
    """Every function with its qualified name and whether it is a Protocol member."""

    def visit(node: ast.AST, prefix: str, protocol: bool) -> Iterator[tuple[_Fn, str, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                is_proto = any(_name(b) == "Protocol" for b in child.bases)
                yield from visit(child, f"{prefix}{child.name}.", is_proto)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield child, f"{prefix}{child.name}", protocol
                yield from visit(child, f"{prefix}{child.name}.", False)
            elif isinstance(child, ast.stmt):
                yield from visit(child, prefix, protocol)

    yield from visit(tree, "", False)


def _name_range(lines: list[str], fn: _Fn) -> Range:
    line = fn.lineno - 1
    text = lines[line] if 0 <= line < len(lines) else ""
    m = re.search(rf"\bdef\s+({re.escape(fn.name)})\b", text)
    if m:
        return Range.lines(line, m.start(1), m.end(1))
    return Range.lines(line, 0, len(text))


class Stubs(Check):
    id = "IMPL-STUB"
    title = "No stubs or TODO comments"
    description = (
        "Functions whose body (a docstring aside) is only `pass`, `...` or "
        "`raise NotImplementedError` are findings on the function's name (abstract "
        "methods, `@overload`s, `@click.group()`s, `Protocol` members and `.pyi` files "
        "excepted), and so is every TODO/FIXME/XXX comment, on the marker itself. Test "
        "files are excluded. Score: the share of files without findings (a package's "
        "`__init__.py` without findings does not count: it holds no implementation to "
        "judge). Weighs as much as the syntax and lint checks together, so a package "
        "of stubs does not pass the gate."
    )
    scope = "file"
    default_owner = OWNER
    default_weight = 2.0
    Options = StubOptions

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return list(config.artifacts.sources)

    @classmethod
    def default_exclude(cls, config: Config) -> list[str]:
        return list(config.artifacts.tests)

    def score_files(self, ctx: CheckContext, per_file: dict[str, list[Finding]]) -> CheckOutcome:
        """The share of files without findings, package ``__init__.py`` files without
        findings left out: they hold no implementation, and counted as clean they would
        lift a package of stubs towards the threshold."""
        judged = {
            p: fs
            for p, fs in per_file.items()
            if fs or p.rsplit("/", 1)[-1] not in ("__init__.py", "__init__.pyi")
        }
        return super().score_files(ctx, judged)

    def check_file(self, ctx: CheckContext, path: str) -> list[Finding]:
        if not path.endswith(PYTHON_SUFFIXES):
            return []
        opts = ctx.options
        assert isinstance(opts, StubOptions)
        data = ctx.workspace.read_bytes(path)
        if data is None or len(data) > opts.max_bytes:
            return []
        text, problem = decode_source(data)
        if text is None or problem is not None:
            return []  # IMPL-SYNTAX reports it
        try:
            tree = ast.parse(text, path)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return []  # IMPL-SYNTAX reports it
        lines = text.splitlines()
        findings: list[Finding] = []
        if not path.endswith(".pyi"):
            for fn, qualname, protocol in _functions(tree):
                if protocol or any(_name(d) in _EXEMPT_DECORATORS for d in fn.decorator_list):
                    continue
                kind = stub_kind(fn)
                if kind is None:
                    continue
                findings.append(
                    ctx.finding(
                        path,
                        f"`{qualname}` is a stub: its body is only {kind}. Implement it.",
                        _name_range(lines, fn),
                    )
                )
        if opts.comment_severity != "off" and opts.comment_markers:
            findings += self._comments(ctx, path, text, opts)
        findings.sort(key=lambda f: (f.range.start.line, f.range.start.character))
        return findings

    @staticmethod
    def _comments(ctx: CheckContext, path: str, text: str, opts: StubOptions) -> list[Finding]:
        marker = re.compile(r"\b(" + "|".join(map(re.escape, opts.comment_markers)) + r")\b")
        severity = _SEVERITIES[opts.comment_severity]
        out: list[Finding] = []
        try:
            for tok in tokenize.generate_tokens(io.StringIO(text).readline):
                if tok.type != tokenize.COMMENT:
                    continue
                row, col = tok.start
                m = marker.search(tok.string)
                if not m:
                    continue
                note = tok.string.lstrip("#").strip()
                if len(note) > 120:
                    note = note[:117] + "..."
                out.append(
                    ctx.finding(
                        path,
                        f"{m.group(1)} comment: {note}",
                        Range.lines(row - 1, col + m.start(1), col + m.end(1)),
                        severity=severity,
                    )
                )
        except (tokenize.TokenError, SyntaxError):
            pass
        return out
