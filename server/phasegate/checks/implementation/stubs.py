"""IMPL-STUB: functions that are only stubs, and TODO/FIXME/XXX comments.

A stub is a function or method whose body (a docstring aside) is only ``pass``, ``...``
or ``raise NotImplementedError``. Not stubs:

- abstract methods (``@abstractmethod``), ``@overload`` signatures, command groups
  (``@click.group()``), members of ``Protocol`` classes;
- declarations for type checkers only (under ``if TYPE_CHECKING:``);
- a base-class method that a subclass in the same module overrides (an abstract method
  by convention, or a hook whose default does nothing);
- ``__exit__`` / ``__aexit__`` that are only ``pass`` or ``...`` (nothing to clean up);
- a body that is only a docstring, and anything in a ``.pyi`` stub file.

A finding is silenced by ``# phasegate: ignore[IMPL-STUB]`` (or ``# phasegate: ignore``)
on the line it is reported on: the ``def`` line, or the marker comment's line. Comments
are read with :mod:`tokenize`, so a marker in a string is not a comment. Test files
(``artifacts.tests``) are excluded by default.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Literal, NamedTuple

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
# no-op bodies that mean something: a context manager with nothing to clean up
_NOOP_HOOKS = frozenset({"__exit__", "__aexit__"})
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


class _Fun(NamedTuple):
    node: _Fn
    qualname: str
    protocol: bool  # a member of a Protocol class
    typing_only: bool  # under ``if TYPE_CHECKING:``
    owner: ast.ClassDef | None  # the class it is a method of


def _functions(tree: ast.AST) -> Iterator[_Fun]:
    """Every function with its qualified name, its class and where it is declared."""

    def visit(
        children: Iterable[ast.AST],
        prefix: str,
        protocol: bool,
        typing_only: bool,
        owner: ast.ClassDef | None,
    ) -> Iterator[_Fun]:
        for child in children:
            if isinstance(child, ast.ClassDef):
                is_proto = any(_name(b) == "Protocol" for b in child.bases)
                inner = ast.iter_child_nodes(child)
                yield from visit(inner, f"{prefix}{child.name}.", is_proto, typing_only, child)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield _Fun(child, f"{prefix}{child.name}", protocol, typing_only, owner)
                inner = ast.iter_child_nodes(child)
                yield from visit(inner, f"{prefix}{child.name}.", False, typing_only, None)
            elif isinstance(child, ast.If) and _name(child.test) == "TYPE_CHECKING":
                yield from visit(child.body, prefix, protocol, True, owner)
                yield from visit(child.orelse, prefix, protocol, typing_only, owner)
            elif isinstance(child, ast.stmt):  # if / try / with …: still the same scope
                inner = ast.iter_child_nodes(child)
                yield from visit(inner, prefix, protocol, typing_only, owner)

    yield from visit(ast.iter_child_nodes(tree), "", False, False, None)


def _overridden(tree: ast.AST) -> set[tuple[str, str]]:
    """(class name, method name) pairs that a subclass in the same module overrides."""
    classes = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    out: set[tuple[str, str]] = set()
    for cls in classes:
        methods = {
            n.name for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
        for base in cls.bases:
            base_name = _name(base)
            if base_name and base_name != cls.name:
                out.update((base_name, m) for m in methods)
    return out


_SUPPRESS = re.compile(r"#.*\bphasegate:\s*ignore(?:\[([^\]]*)\])?")


def suppressed(line: str, check_id: str) -> bool:
    """Whether ``line`` carries ``# phasegate: ignore`` (for every check) or
    ``# phasegate: ignore[ID, ...]`` naming ``check_id``."""
    m = _SUPPRESS.search(line)
    if m is None:
        return False
    ids = m.group(1)
    return ids is None or check_id in {i.strip() for i in ids.split(",")}


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
        "methods, `@overload`s, `@click.group()`s, `Protocol` members, declarations "
        "under `if TYPE_CHECKING:`, base-class methods a subclass in the module "
        "overrides, no-op `__exit__`s and `.pyi` files excepted), and so is every "
        "TODO/FIXME/XXX comment, on the marker itself. `# phasegate: ignore[IMPL-STUB]` "
        "on the reported line silences a finding. Test files are excluded. Score: the "
        "share of files without findings (a package's `__init__.py` without findings "
        "does not count: it holds no implementation to judge). Weighs as much as the "
        "syntax and lint checks together, so a package of stubs does not pass the gate."
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
            overridden: set[tuple[str, str]] | None = None
            for fun in _functions(tree):
                fn = fun.node
                if fun.protocol or fun.typing_only:
                    continue
                if any(_name(d) in _EXEMPT_DECORATORS for d in fn.decorator_list):
                    continue
                kind = stub_kind(fn)
                if kind is None:
                    continue
                if fun.owner is not None:
                    if fn.name in _NOOP_HOOKS and "NotImplementedError" not in kind:
                        continue
                    if overridden is None:
                        overridden = _overridden(tree)
                    if (fun.owner.name, fn.name) in overridden:
                        continue
                findings.append(
                    ctx.finding(
                        path,
                        f"`{fun.qualname}` is a stub: its body is only {kind}. Implement it.",
                        _name_range(lines, fn),
                    )
                )
        if opts.comment_severity != "off" and opts.comment_markers:
            findings += self._comments(ctx, path, text, opts)
        if "phasegate:" in text:
            check_id = ctx.check.id
            findings = [
                f
                for f in findings
                if not (
                    0 <= f.range.start.line < len(lines)
                    and suppressed(lines[f.range.start.line], check_id)
                )
            ]
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
