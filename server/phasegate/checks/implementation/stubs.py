"""IMPL-STUB: functions that are only stubs, and TODO/FIXME/XXX comments.

A stub is a function or method whose body (a docstring aside) is only ``pass``, ``...``
or ``raise NotImplementedError``: unfinished work. An empty body that is the finished
design is not a stub. Not stubs:

- framework declarations: abstract methods (``@abstractmethod``), ``@overload``
  signatures, Click/Typer command groups and callbacks (``@click.group()``,
  ``@app.callback()``, ``@app.command(cls=...Group)``, a function passed as
  ``callback=``), pluggy hook specifications (``@hookspec``, a marker made by
  ``HookspecMarker(...)``, anything in a ``hookspecs.py``), members of ``Protocol``
  classes, declarations under ``if TYPE_CHECKING:``, views rendered by the template
  their decorator names (``template=``, ``template_name=``, ``renderer=``);
- shims: a function defined in a branch of an ``if``/``try`` whose other branch defines
  or imports the same name, under an ``if sys.version_info``/``sys.platform`` test, or
  in an ``except`` handler;
- methods of classes meant for subclassing, where a ``pass`` is a default hook and
  ``raise NotImplementedError`` an abstract method by convention: a class named
  ``Base…``/``…Base``/``…Mixin``/``…Interface``/``…ABC``/``Abstract…``, one deriving
  from ``ABC`` (or with ``metaclass=ABCMeta``), whose docstring calls it a base class
  or speaks of subclasses, with an abstract method, or a method a subclass in the same
  module overrides; a ``raise NotImplementedError`` method that another method of its
  class calls (a template method's step) or that is excluded from coverage
  (``# pragma: no cover``). Only the module is looked at: a base class whose
  subclasses all live in other files is not recognised (the check reads one file);
- deliberate no-ops: a ``pass``/``...`` body with a comment saying why (a comment that
  is only a TODO, a pragma or "implement here" gives no reason); a docstring or the
  comment above the function saying why ("does nothing", "no-op", "intentionally",
  "deprecated", "kept for backwards compatibility", "override in subclasses", "hook",
  "not necessary"...); dunder methods (an empty ``__init__``, ``__del__``,
  ``__exit__``…); ``close``/``aclose``/``flush`` methods (nothing to release); signal
  handlers ``(signum, frame)``; functions whose parameters are all named to be ignored
  (``*_, **__``); functions named as no-ops (``noop``, ``nop``, ``do_nothing``,
  ``dummy``, ``placeholder``, ``fake``, ``null``, ``ignore``…); nested functions
  (local callbacks); module-level ``test_*`` functions (empty tests are the testing
  checks' business); methods of null objects (``Null…``, ``Dummy…``, ``Fake…``,
  ``Mock…``, ``Noop…``, ``Ignored…``, ``No…``) and of exception classes; a method that
  turns off what a base class in the module implements; ``camelCase`` methods of a
  class with bases in a snake_case module (overrides of a framework API such as
  ``unittest``'s ``startTest`` or ``logging``'s ``handleError``);
- ``raise NotImplementedError(message)`` where the message explains unsupported,
  removed or subclass-only behaviour ("… is not supported", "not seekable", "use X
  instead", "must be implemented by subclasses") or is computed (``self.error``); a
  bare one, or one saying "TODO", "not implemented (yet)" or "later", is a stub, and
  such a message outweighs any reason given elsewhere;
- a body that is only a docstring, and anything in a ``.pyi`` stub file.

Not implementation, so excluded from the default inputs: test files
(``artifacts.tests``) and a top-level ``testing/``; design and documentation folders
(``docs/``, ``doc/``, ``docs_src/``, Spec Kit ``specs/`` with its contract sketches,
``.kiro/``); type-checking test data (``typesafety/``, ``type_tests/``,
``typing_tests/``, ``test-data/``, a top-level ``typing/``); project templates
(``templates/``, ``…_template/``, ``…-template/``, cookiecutter ``{{…}}/`` folders) and
vendored code (``vendor/``, ``_vendor/``, ``vendored/``).

A marker comment is a marker word used as a marker: at the start of the comment text
(``# TODO``, ``# TODO(name):``, ``# FIXME -``), after a ``#`` or a ``(`` inside the
comment, right after another marker, or followed by ``:`` or ``(`` (``HACK/FIXME:``);
not a word in prose (``# see the TODO list``) nor part of a longer word
(``# XXX-YYY format``, ``TODO.md``). A block of
consecutive comment lines is one finding, on its first marker. Comments are read with
:mod:`tokenize`, so a marker in a string is not a comment.

A finding is silenced by ``# phasegate: ignore[IMPL-STUB]`` (or ``# phasegate: ignore``)
on the line it is reported on: the ``def`` line, or the marker comment's line.

Cost: a file is parsed only when its text can hold a finding, and then through the
parse memo that IMPL-SYNTAX shares (:mod:`phasegate.parsed`: one parse per content).
Whether it can is read from its lines (:func:`may_hold_stub`, :func:`marker_rows`): no
``raise NotImplementedError`` and no ``pass``/``...`` that could begin a function body,
no ``#`` followed by a marker used as one. Comments are tokenized only when a marker may
be in one, from the last fresh start of the tokenizer above the first such line (a
top-level statement) to the last. Why a body is empty is looked for only around the few
functions whose body is a stub, in the lines of text already at hand; facts about the
whole module (its classes, its callbacks) are gathered only when such a function needs
them. The findings are those of parsing and tokenizing every file whole.
"""

from __future__ import annotations

import ast
import functools
import io
import re
import tokenize
import unicodedata
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator

from phasegate import parsed
from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.checks.implementation.syntax import OWNER, PYTHON_SUFFIXES, decode_source
from phasegate.languages import no_python_reason
from phasegate.model import Finding, Range, Severity
from phasegate.suppress import Suppressions
from phasegate.workspace import FileTooLarge

if TYPE_CHECKING:
    from phasegate.config import Config

_ABSTRACT_DECORATORS = frozenset(
    {"abstractmethod", "abstractproperty", "abstractclassmethod", "abstractstaticmethod"}
)
_EXEMPT_DECORATORS = _ABSTRACT_DECORATORS | {
    "overload",
    "group",  # @click.group(), @app.group(): the body is meant to be empty
    "callback",  # @app.callback(): a Typer group's callback
    "hookspec",  # pluggy hook specification
    "HookspecMarker",
}
# folders holding no implementation (gitignore-style: any depth unless anchored by "/")
_NOT_IMPLEMENTATION = (
    "/testing/",
    "docs/",
    "doc/",
    "docs_src/",
    "specs/",
    ".kiro/",
    "typesafety/",
    "type_tests/",
    "typing_tests/",
    "test-data/",
    "/typing/",
    "templates/",
    "*_template/",
    "*-template/",
    "{{*}}/",
    "vendor/",
    "_vendor/",
    "vendored/",
)
# a decorator argument naming the template that renders the view: an empty body is a
# page without data of its own
_TEMPLATE_KEYWORDS = frozenset({"template", "template_name", "renderer"})
# methods for which doing nothing is a complete implementation (nothing to release)
_NOOP_METHODS = frozenset({"close", "aclose", "flush"})
_NOOP_NAME = re.compile(
    r"(?:^|_)(?:noop|nop|no_op|do_nothing|dummy|placeholder)(?:_|$)|^ignored?$",
    re.IGNORECASE,
)
_BASE_CLASS = re.compile(r"(?:Base|Abstract|Mixin|Interface)(?=[A-Z_0-9]|$)|ABC$")
_NULL_CLASS = re.compile(
    r"(?:Null|Noop|NoOp|Nop|Dummy|Fake|Mock|Ignored?)(?=[A-Z_0-9]|$)"
    r"|^_*(?:No(?=[A-Z][a-z])|(?:Dont|Silent|Empty|Disabled|Quiet)(?=[A-Z]))"
)
_EXCEPTION_BASE = re.compile(r"(?:Error|Exception|Warning|Exit)$")
_CAMEL = re.compile(r"[a-z][A-Z]")
_VERSION_ATTRS = frozenset({"version_info", "hexversion", "platform", "implementation"})
_VERSION_NAMES = re.compile(
    r"(?:IS_)?(?:PY_?\d*(?:_\d+)?|PYPY|CPYTHON|WIN(?:DOWS|32)?|MAC(?:OS)?|LINUX|POSIX)"
)
# what a docstring, comment or message says
_SUBCLASS_NOTE = re.compile(
    r"subclass|overrid|\babstract\b|\bbase class\b|must be (?:implemented|provided|defined)"
    r"|\bmust (?:implement|define|provide)\b|should be (?:implemented|overridden)",
    re.IGNORECASE,
)
_TODO = re.compile(r"\b(?:TODO|FIXME|XXX|TBD|WIP)\b", re.IGNORECASE)
_STUB_NOTE = re.compile(
    r"\bimplement|\bnot (?:yet|done)\b|\byet\b|\blater\b"
    r"|\bcoming soon\b|\bstub\b|\bfill (?:in|me)\b|\bhere\b|\byour code\b"
    r"|\bplaceholder\b(?! (?:for|function|so|to)\b)",
    re.IGNORECASE,
)
_REASON_NOTE = re.compile(
    r"\bno-?op\b|\bno[ -]op\b|\bnothing\b|\bintentional|\bdeliberate|\bon purpose\b"
    r"|deprecat|\bbackwards?[- ]compat|\bfor compatibility\b|\bhook\b"
    r"|\bnot (?:needed|required|used|supported|applicable)\b|\bunsupported\b|\bunused\b"
    r"|\bno (?:action|need)\b|\b(?:not |un)necessary\b|\bignored\b|\bdummy\b|\bfake\b|\bstand-?in\b"
    r"|\bplaceholder (?:for|function|so|to)\b"
    r"|\b(?:kept|left) (?:for|so|empty|as)\b|\bfor type[- ]check",
    re.IGNORECASE,
)
_NULL_NOTE = re.compile(r"\bno-?op\b|\bnull object\b|\bdoes nothing\b|\bdummy\b", re.IGNORECASE)
_MESSAGE_STUB = re.compile(
    r"\b(?:TODO|FIXME|XXX|TBD|WIP)\b|\bnot (?:yet )?implemented\b|\bimplement me\b|\byet\b"
    r"|\blater\b|\bfor now\b|\bso far\b|\bcoming soon\b|\bplaceholder\b|\bstub\b"
    r"|\bwork in progress\b",
    re.IGNORECASE,
)
_MESSAGE_DELIBERATE = re.compile(
    r"support|\bremoved\b|deprecat|\bno longer\b|\binstead\b|\buse\b|\bmust\b|\bshould\b"
    r"|\bcannot\b|\bcan'?t\b|\bcan not\b|\bdo(?:es)? not\b|\bdo(?:es)?n'?t\b|\bonly\b"
    r"|\bnot (?:available|possible|allowed|applicable|meaningful|permitted)\b|\bnever\b"
    r"|\bnot \w+able\b|read-?only|immutable|frozen|disabled",
    re.IGNORECASE,
)
_PRAGMA = re.compile(
    r"(?:pragma|noqa|type:|pyright:|mypy:|pylint:|nosec|fmt:|isort:|phasegate:|pyre-"
    r"|coverage:|ruff:)",
    re.IGNORECASE,
)
_NO_COVER = re.compile(r"pragma:\s*no\s*cover", re.IGNORECASE)
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


def _docstring(body: list[ast.stmt]) -> str | None:
    first = body[0] if body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return first.value.value
    return None


class _Stub(NamedTuple):
    kind: str  # "`pass`", "`...`", "`raise NotImplementedError`" (joined by " and ")
    doc: str | None
    raises: list[ast.Raise]


def _stub(fn: _Fn) -> _Stub | None:
    """The stub body of ``fn``, or None when it does real work (or is only a docstring)."""
    body = fn.body
    doc = _docstring(body)
    if doc is not None:
        body = body[1:]
        if not body:
            return None  # a docstring alone documents a hook or a command group
    kinds: set[str] = set()
    raises: list[ast.Raise] = []
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
            raises.append(stmt)
        else:
            return None
    if not kinds:
        return None
    return _Stub(" and ".join(sorted(kinds)), doc, raises)


def stub_kind(fn: _Fn) -> str | None:
    """What the stub body is (``pass``, ``...``...), or None when it does real work."""
    s = _stub(fn)
    return s.kind if s else None


def _message(exc: ast.expr) -> str | None:
    """The literal text of ``NotImplementedError(...)``'s message ("" for none), or None
    when the message is computed (a variable, an attribute, a call): an error path."""
    if not isinstance(exc, ast.Call) or not exc.args:
        return ""
    arg = exc.args[0]
    if isinstance(arg, ast.Constant):
        return arg.value if isinstance(arg.value, str) else None
    formatted = isinstance(arg, (ast.JoinedStr, ast.BinOp)) or (
        isinstance(arg, ast.Call)
        and isinstance(arg.func, ast.Attribute)
        and isinstance(arg.func.value, ast.Constant)
    )  # f"...", "..." % x, "..." + x, "...".format(x)
    if not formatted:
        return None
    return " ".join(
        n.value for n in ast.walk(arg) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    )


def _says_stub(stub: _Stub) -> bool:
    """A ``raise NotImplementedError`` whose message says the work is still to do."""
    for r in stub.raises:
        assert r.exc is not None
        msg = _message(r.exc)
        if msg and _MESSAGE_STUB.search(msg):
            return True
    return False


def _deliberate_raise(stub: _Stub) -> bool:
    """Every ``raise NotImplementedError`` explains unsupported or subclass-only behaviour."""
    if not stub.raises:
        return False
    for r in stub.raises:
        assert r.exc is not None
        msg = _message(r.exc)
        if msg is None:
            continue  # computed message
        if _SUBCLASS_NOTE.search(msg):
            continue
        if not msg or _MESSAGE_STUB.search(msg) or not _MESSAGE_DELIBERATE.search(msg):
            return False
    return True


def _says_subclass_only(stub: _Stub) -> bool:
    """A ``raise NotImplementedError`` whose message or docstring says subclasses provide it."""
    for r in stub.raises:
        assert r.exc is not None
        msg = _message(r.exc)
        if msg and _SUBCLASS_NOTE.search(msg):
            return True
    return bool(stub.raises and stub.doc and _SUBCLASS_NOTE.search(stub.doc))


def _note_is_reason(text: str) -> bool:
    """A docstring or comment above a function that says why its body is empty."""
    if _TODO.search(text):
        return False
    if _SUBCLASS_NOTE.search(text):
        return True
    return not _STUB_NOTE.search(text) and _REASON_NOTE.search(text) is not None


def _comment_is_reason(text: str) -> bool:
    """A comment inside an empty body: any explanation, unless it is only a pragma or a
    note that the work is still to do."""
    note = text.lstrip("#").strip()
    if not note or _PRAGMA.match(note) or _TODO.search(note):
        return False
    if _SUBCLASS_NOTE.search(note) or _REASON_NOTE.search(note):
        return True  # "not necessary to implement": a reason, whatever word it uses
    return not _STUB_NOTE.search(note)


def _bound_names(stmts: Iterable[ast.stmt]) -> set[str]:
    """Names that these statements define or import (for shim detection)."""
    out: set[str] = set()
    for s in stmts:
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(s.name)
        elif isinstance(s, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in s.names)
        elif isinstance(s, ast.Assign):
            out.update(t.id for t in s.targets if isinstance(t, ast.Name))
        elif isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name):
            out.add(s.target.id)
        elif isinstance(s, ast.If):
            out |= _bound_names(s.body) | _bound_names(s.orelse)
        elif isinstance(s, ast.Try):
            out |= _bound_names(s.body)
    return out


def _is_version_test(test: ast.expr) -> bool:
    """``if sys.version_info >= ...``, ``if sys.platform == ...``, ``if PY2``, ``if os.name``."""
    for node in ast.walk(test):
        if isinstance(node, ast.Attribute):
            if node.attr in _VERSION_ATTRS:
                return True
            if node.attr == "name" and isinstance(node.value, ast.Name) and node.value.id == "os":
                return True
        elif isinstance(node, ast.Name) and _VERSION_NAMES.fullmatch(node.id):
            return True
    return False


class _Fun(NamedTuple):
    node: _Fn
    qualname: str
    protocol: bool  # a member of a Protocol class
    typing_only: bool  # under ``if TYPE_CHECKING:``
    owner: ast.ClassDef | None  # the class it is a method of
    nested: bool  # defined inside another function: a local callback
    shim: bool  # a version/platform/import-fallback alternative


def _functions(tree: ast.AST) -> Iterator[_Fun]:
    """Every function with its qualified name, its class and where it is declared."""

    def visit(
        children: Iterable[ast.AST],
        prefix: str,
        protocol: bool,
        typing_only: bool,
        owner: ast.ClassDef | None,
        nested: bool,
        shim: bool,
        alt: frozenset[str],
    ) -> Iterator[_Fun]:
        empty: frozenset[str] = frozenset()
        for child in children:
            if isinstance(child, ast.ClassDef):
                is_proto = any(_name(b) == "Protocol" for b in child.bases)
                inner = _inner_statements(child)
                yield from visit(
                    inner, f"{prefix}{child.name}.", is_proto, typing_only, child, nested,
                    shim, empty,
                )  # fmt: skip
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                alternative = shim or child.name in alt
                yield _Fun(
                    child, f"{prefix}{child.name}", protocol, typing_only, owner, nested,
                    alternative,
                )  # fmt: skip
                inner = _inner_statements(child)
                yield from visit(
                    inner, f"{prefix}{child.name}.", False, typing_only, None, True,
                    alternative, empty,
                )  # fmt: skip
            elif isinstance(child, ast.If) and _name(child.test) == "TYPE_CHECKING":
                yield from visit(child.body, prefix, protocol, True, owner, nested, shim, empty)
                yield from visit(
                    child.orelse, prefix, protocol, typing_only, owner, nested, shim, empty
                )
            elif isinstance(child, ast.If):
                version = shim or _is_version_test(child.test)
                body, orelse = _bound_names(child.body), _bound_names(child.orelse)
                yield from visit(
                    child.body, prefix, protocol, typing_only, owner, nested, version,
                    frozenset(orelse),
                )  # fmt: skip
                yield from visit(
                    child.orelse, prefix, protocol, typing_only, owner, nested, version,
                    frozenset(body),
                )  # fmt: skip
            elif isinstance(child, ast.Try) or type(child).__name__ == "TryStar":
                assert isinstance(child, ast.stmt)
                tried: list[ast.stmt] = getattr(child, "body", [])
                handlers: list[ast.ExceptHandler] = getattr(child, "handlers", [])
                orelse_: list[ast.stmt] = getattr(child, "orelse", [])
                final: list[ast.stmt] = getattr(child, "finalbody", [])
                in_try = frozenset(_bound_names(tried))
                yield from visit(tried, prefix, protocol, typing_only, owner, nested, shim, empty)
                for h in handlers:  # a fallback
                    yield from visit(
                        h.body, prefix, protocol, typing_only, owner, nested, True, in_try
                    )
                yield from visit(orelse_, prefix, protocol, typing_only, owner, nested, shim, empty)
                yield from visit(final, prefix, protocol, typing_only, owner, nested, shim, empty)
            elif isinstance(child, ast.match_case):
                yield from visit(
                    child.body, prefix, protocol, typing_only, owner, nested, shim, empty
                )
            elif isinstance(child, ast.stmt):  # with / for / while …: still the same scope
                inner = _inner_statements(child)
                yield from visit(inner, prefix, protocol, typing_only, owner, nested, shim, empty)

    yield from visit(_inner_statements(tree), "", False, False, None, False, False, frozenset())


def _inner_statements(node: ast.AST) -> Iterator[ast.AST]:
    """The statements (and ``match`` cases) right inside ``node``, in order: the only
    children where a function can be defined (never inside an expression)."""
    for name in ("body", "orelse", "cases"):
        inner = getattr(node, name, None)
        if isinstance(inner, list):
            yield from inner


def _method_nodes(cls: ast.ClassDef) -> list[_Fn]:
    return [n for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


class _ClassFacts:
    """What a class says about the empty methods it holds (computed once per class)."""

    __slots__ = ("_self_calls", "cls", "deliberate", "has_bases")

    def __init__(self, cls: ast.ClassDef) -> None:
        self.cls = cls
        bases = [_name(b) for b in cls.bases]
        self.has_bases = any(b and b != "object" for b in bases)
        doc = _docstring(cls.body) or ""
        name = cls.name.lstrip("_")
        abstract_meta = any(
            kw.arg == "metaclass" and _name(kw.value) == "ABCMeta" for kw in cls.keywords
        )
        # meant for subclassing (its empty methods are hooks or abstract), a null object,
        # or an exception class
        self.deliberate = bool(
            _BASE_CLASS.search(name)
            or abstract_meta
            or any(b in ("ABC", "ABCMeta") for b in bases)
            or (doc and _SUBCLASS_NOTE.search(doc))
            or self._has_abstract_method()
            or _NULL_CLASS.search(name)
            or (doc and _NULL_NOTE.search(doc))
            or any(_EXCEPTION_BASE.search(b) for b in bases if b)
        )
        self._self_calls: set[str] | None = None

    def _has_abstract_method(self) -> bool:
        for m in _method_nodes(self.cls):
            if any(_name(d) in _ABSTRACT_DECORATORS for d in m.decorator_list):
                return True
            s = _stub(m)
            if s is not None and _says_subclass_only(s):
                return True
        return False

    def self_calls(self) -> set[str]:
        """Attributes of ``self``/``cls`` that the class's non-stub methods use."""
        if self._self_calls is None:
            used: set[str] = set()
            for m in _method_nodes(self.cls):
                if _stub(m) is not None:
                    continue
                for node in ast.walk(m):
                    if (
                        isinstance(node, ast.Attribute)
                        and isinstance(node.value, ast.Name)
                        and node.value.id in ("self", "cls")
                    ):
                        used.add(node.attr)
            self._self_calls = used
        return self._self_calls


class _Module:
    """Facts about a whole module, each computed on first use: only files that hold a
    candidate stub pay for them."""

    def __init__(self, tree: ast.AST, text: str | None = None) -> None:
        self.tree = tree
        self._text = text  # the module's text, when at hand: names looked up in it first
        self._classes: dict[str, list[ast.ClassDef]] | None = None
        self._facts: dict[int, _ClassFacts] = {}
        self._overridden: set[tuple[str, str]] | None = None
        self._callbacks: set[str] | None = None
        self._snake_case: bool | None = None

    def facts(self, cls: ast.ClassDef) -> _ClassFacts:
        f = self._facts.get(id(cls))
        if f is None:
            f = self._facts[id(cls)] = _ClassFacts(cls)
        return f

    def classes(self) -> dict[str, list[ast.ClassDef]]:
        if self._classes is None:
            self._classes = {}
            for n in ast.walk(self.tree):
                if isinstance(n, ast.ClassDef):
                    self._classes.setdefault(n.name, []).append(n)
        return self._classes

    def overridden(self, cls: ast.ClassDef, method: str) -> bool:
        """A subclass in the module defines ``method`` too: ``cls`` holds its default."""
        if self._overridden is None:
            self._overridden = set()
            for subs in self.classes().values():
                for sub in subs:
                    methods = {m.name for m in _method_nodes(sub)}
                    for b in sub.bases:
                        base = _name(b)
                        if base and base != sub.name:
                            self._overridden.update((base, m) for m in methods)
        return (cls.name, method) in self._overridden

    def overrides_real(self, cls: ast.ClassDef, method: str) -> bool:
        """A base class in the module implements ``method``: the empty override turns it
        off on purpose."""
        classes = self.classes()
        seen: set[str] = {cls.name}
        todo = [_name(b) for b in cls.bases]
        while todo:
            base = todo.pop()
            if not base or base in seen:
                continue
            seen.add(base)
            for c in classes.get(base, ()):
                if any(m.name == method and _stub(m) is None for m in _method_nodes(c)):
                    return True
                todo.extend(_name(b) for b in c.bases)
        return False

    def callbacks(self) -> set[str]:
        """Names registered as callbacks: passed as ``callback=`` (``typer.Typer(callback=f)``,
        ``click.Group(callback=f)``, ``add_typer(..., callback=f)``), and names bound to a
        pluggy ``HookspecMarker(...)`` (used as decorators)."""
        if self._callbacks is None:
            out: set[str] = set()
            if self._text is not None and not _names_any(
                self._text, ("callback", "HookspecMarker")
            ):
                self._callbacks = out  # neither name is in the text: not in the tree either
                return out
            for node in ast.walk(self.tree):
                if isinstance(node, ast.Call):
                    for kw in node.keywords:
                        if kw.arg == "callback" and isinstance(kw.value, (ast.Name, ast.Attribute)):
                            out.add(_name(kw.value))
                elif (
                    isinstance(node, ast.Assign)
                    and isinstance(node.value, ast.Call)
                    and _name(node.value) == "HookspecMarker"
                ):
                    out.update(t.id for t in node.targets if isinstance(t, ast.Name))
            self._callbacks = out
        return self._callbacks

    def snake_case(self) -> bool:
        """Whether the module names its functions in snake_case rather than camelCase:
        then a camelCase method overrides an API defined elsewhere (``unittest``,
        ``logging``)."""
        if self._snake_case is None:
            snake = camel = 0
            for node in ast.walk(self.tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    name = node.name.strip("_")
                    if _CAMEL.search(name):
                        camel += 1
                    elif "_" in name and name.islower():
                        snake += 1
            self._snake_case = snake > camel
        return self._snake_case


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


def _line(lines: list[str], lineno: int) -> str:
    return lines[lineno - 1] if 0 < lineno <= len(lines) else ""


def _body_comments(lines: list[str], fn: _Fn) -> Iterator[str]:
    """The comments inside ``fn``'s body and after its header's colon, read from the
    lines of text (no tokenization): full comment lines, and what follows the end of a
    statement or of the signature on its line."""
    body = fn.body
    first = body[0].lineno
    last = fn.end_lineno or body[-1].end_lineno or first
    # the signature: from the def line to the last line holding a parameter or annotation
    sig_nodes: list[ast.AST] = [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]
    sig_nodes += [a for a in (fn.args.vararg, fn.args.kwarg, fn.returns) if a is not None]
    sig_nodes += [d for d in (*fn.args.defaults, *fn.args.kw_defaults) if d is not None]
    sig_end, sig_col = fn.lineno, 0
    for n in sig_nodes:
        end = getattr(n, "end_lineno", None) or 0
        col = getattr(n, "end_col_offset", None) or 0
        if (end, col) > (sig_end, sig_col):
            sig_end, sig_col = end, col
    if first > sig_end:
        for lineno in range(sig_end, first):
            text = _line(lines, lineno)
            if lineno == sig_end:
                text = text[sig_col:]
            stripped = text.lstrip()
            if stripped.startswith("#"):
                yield stripped
            else:
                m = re.search(r":\s*(#.*)$", text)
                if m:
                    yield m.group(1)
    stmts = {s.lineno: s for s in body}
    lineno = first
    while lineno <= last:
        s = stmts.get(lineno)
        if s is not None:
            end = s.end_lineno or lineno
            tail = _line(lines, end)[s.end_col_offset or 0 :].lstrip()
            if tail.startswith(";"):
                tail = ""
            if tail.startswith("#"):
                yield tail
            lineno = end + 1
            continue
        stripped = _line(lines, lineno).lstrip()
        if stripped.startswith("#"):
            yield stripped
        lineno += 1


def _comments_above(lines: list[str], fn: _Fn) -> Iterator[str]:
    """The block of comment lines right above the function (or its decorators), or above
    one blank line (a section header: ``# Override-able methods``), indented as the
    ``def`` is (a deeper comment belongs to the body before)."""
    top = min([fn.lineno, *(d.lineno for d in fn.decorator_list)])
    indent = fn.col_offset
    lineno = top - 1
    if lineno > 0 and not _line(lines, lineno).strip():
        lineno -= 1
    for _ in range(8):
        text = _line(lines, lineno) if lineno > 0 else ""
        stripped = text.lstrip()
        if not stripped.startswith("#") or len(text) - len(stripped) != indent:
            break
        yield stripped
        lineno -= 1


class Stubs(Check):
    id = "IMPL-STUB"
    parses_first = True  # the tree of a file it parses serves IMPL-SYNTAX's compile
    title = "No stubs or TODO comments"
    description = (
        "Functions whose body (a docstring aside) is only `pass`, `...` or "
        "`raise NotImplementedError` are findings on the function's name, unless the "
        "empty body is the design: abstract methods, `@overload`s, Click/Typer groups and "
        "callbacks (`@click.group()`, `@app.callback()`, `callback=`), pluggy hook "
        "specifications (`@hookspec`, `hookspecs.py`), `Protocol` members, declarations "
        "under `if TYPE_CHECKING:`, views rendered by their decorator's `template=`, "
        "version/platform/import-fallback shims; methods of classes meant for "
        "subclassing (`Base…`/`…Mixin`/`…Interface`/`ABC` classes, classes with an "
        "abstract method or a docstring speaking of subclasses, methods a subclass in the "
        "module overrides, `raise NotImplementedError` methods another method of the "
        "class calls or marked `# pragma: no cover`); methods of null objects (`Null…`, "
        "`Dummy…`, `Fake…`, `Mock…`) and of exception classes, methods that turn off what "
        "a base class in the module does, camelCase overrides in a snake_case module "
        "(`startTest`); dunder methods, `close`/`flush`, signal handlers, nested "
        "functions, `test_*` functions, functions named as no-ops (`noop`, `do_nothing`, "
        "`dummy`...) or whose parameters are all ignored (`*_, **__`); an empty body with "
        'a comment or docstring saying why ("does nothing", "deprecated", "override in '
        'subclasses"...); `raise NotImplementedError(...)` whose message explains '
        "unsupported, removed or subclass-only behaviour or is computed (a bare one, or "
        'one saying TODO or "not implemented yet", is a stub); and `.pyi` files. Only the '
        "file itself is read, so a base class whose subclasses all live elsewhere is not "
        "recognised by that. Every TODO/FIXME/XXX comment used as a marker (at the start "
        "of the comment, or followed by `:`/`(`; not a word in prose) is a finding on the "
        "marker; a block of consecutive comment lines counts once. "
        "`# phasegate: ignore[IMPL-STUB]` on the reported line silences a finding. Not "
        "implementation, so excluded by default: test files, `docs/`, Spec Kit `specs/` "
        "(contract sketches), `.kiro/`, type-checking test data, project templates and "
        "vendored code. Score: the share of files without findings (a package's "
        "`__init__.py` without findings does not count: it holds no implementation to "
        "judge). Weighs as much as the syntax and lint checks together, so a package of "
        "stubs does not pass the gate."
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
        tests = list(config.artifacts.tests)
        return tests + [p for p in _NOT_IMPLEMENTATION if p not in tests]

    def score_files(self, ctx: CheckContext, per_file: dict[str, list[Finding]]) -> CheckOutcome:
        """The share of files without findings, package ``__init__.py`` files without
        findings left out: they hold no implementation, and counted as clean they would
        lift a package of stubs towards the threshold."""
        if not per_file:
            reason = no_python_reason(ctx.workspace)
            if reason is not None:
                return CheckOutcome(score=1.0, not_applicable=reason)
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
        try:  # a file over the limit is never read: its size comes from stat
            data = ctx.workspace.read_bytes(path, max_bytes=opts.max_bytes)
        except FileTooLarge:
            return []
        if data is None:
            return []
        text, problem = decode_source(data)
        if text is None or problem is not None:
            return []  # IMPL-SYNTAX reports it
        # lines as the parser counts them (str.splitlines also splits on \f, \x1c...)
        lines = (text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text).split(
            "\n"
        )
        base = path.rsplit("/", 1)[-1]
        look_for_stubs = (
            not path.endswith(".pyi")
            and base not in ("hookspecs.py", "hookspec.py")
            and may_hold_stub(text, lines)
        )
        marker_lines = (
            marker_rows(lines, opts.comment_markers)
            if opts.comment_severity != "off" and any(m in text for m in opts.comment_markers)
            else []
        )
        if not look_for_stubs and not marker_lines:
            return []  # nothing in the text can be a finding: no need to parse it
        tree = parsed.parse(text, path).tree  # shared with IMPL-SYNTAX (phasegate.parsed)
        if tree is None:
            return []  # IMPL-SYNTAX reports it
        findings: list[Finding] = []
        if look_for_stubs:
            findings += self._stubs(ctx, path, tree, lines, text)
        if marker_lines:
            findings += self._comments(ctx, path, text, opts, tree, lines, marker_lines)
        if "phasegate:" in text:
            check_id = ctx.check.id
            # a comment the runner's suppression layer honours is left to it, which keeps
            # what it silences (SARIF lists it): only the other forms are applied here
            honoured = Suppressions.of(path, text)
            findings = [
                f
                for f in findings
                if not (
                    0 <= f.range.start.line < len(lines)
                    and suppressed(lines[f.range.start.line], check_id)
                    and not honoured.covers(check_id, f.range.start.line)
                )
            ]
        findings.sort(key=lambda f: (f.range.start.line, f.range.start.character))
        return findings

    def _stubs(
        self, ctx: CheckContext, path: str, tree: ast.AST, lines: list[str], text: str
    ) -> list[Finding]:
        out: list[Finding] = []
        module = _Module(tree, text)
        for fun in _functions(tree):
            fn = fun.node
            if fun.protocol or fun.typing_only or fun.nested or fun.shim:
                continue
            stub = _stub(fn)
            if stub is None or _deliberate(fun, stub, module, lines):
                continue
            out.append(
                ctx.finding(
                    path,
                    f"`{fun.qualname}` is a stub: its body is only {stub.kind}. Implement it.",
                    _name_range(lines, fn),
                )
            )
        return out

    @staticmethod
    def _comments(
        ctx: CheckContext,
        path: str,
        text: str,
        opts: StubOptions,
        tree: ast.Module | None = None,
        lines: list[str] | None = None,
        rows: list[int] | None = None,
    ) -> list[Finding]:
        """The marker comments of ``text``. With its ``tree``, its ``lines`` and the
        ``rows`` where a comment may use a marker (:func:`marker_rows`), only the lines
        from a fresh start before the first of those rows to the last are tokenized."""
        marker = marker_pattern(tuple(opts.comment_markers))
        severity = _SEVERITIES[opts.comment_severity]
        out: list[Finding] = []
        block_end = -2  # the last row of the current comment block
        block_reported = False
        readline = io.StringIO(text).readline
        skipped, last = 0, None
        if tree is not None and lines is not None and rows and "\r" not in text:
            # rows as the tokenizer counts them (it splits lines on "\n" alone)
            skipped, last = _fresh_start(tree, lines, rows[0]), rows[-1] + 1
            for _ in range(skipped):
                readline()
        try:
            for tok in tokenize.generate_tokens(readline):
                row, col = tok.start
                row += skipped
                if last is not None and row > last:
                    break  # no marker comment below
                if tok.type != tokenize.COMMENT:
                    continue
                full_line = not tok.line[:col].strip()
                if row == block_end + 1 and full_line:
                    block_end = row  # the block goes on
                    if block_reported:
                        continue
                else:
                    block_end, block_reported = row, False
                m = _marker_use(marker, tok.string)
                if m is None:
                    continue
                block_reported = True
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


def _marker_use(marker: re.Pattern[str], comment: str) -> re.Match[str] | None:
    """The first marker in ``comment`` used as a marker: at the start of the comment text
    (after ``#``s, or after a ``#`` or a ``(`` inside the comment), right after another
    marker, or followed by ``:`` or ``(`` (``HACK/FIXME: ...``)."""
    prev_end = -1
    for m in marker.finditer(comment):
        before = comment[: m.start()]
        after = comment[m.end() :]
        if (
            re.fullmatch(r"[#!:*>\s-]*", before)
            or re.search(r"#\s*$|\($", before)
            or (prev_end >= 0 and re.fullmatch(r"[\s:,/&+-]*", comment[prev_end : m.start()]))
            or re.match(r"\s*[:(]", after)
        ):
            return m
        prev_end = m.end()
    return None


@functools.lru_cache(maxsize=64)
def marker_pattern(markers: tuple[str, ...]) -> re.Pattern[str]:
    """A marker word, not part of a longer word (``XXX-YYY``, ``TODO.md``)."""
    words = "|".join(map(re.escape, markers))
    return re.compile(rf"(?<![\w.-])({words})(?![\w]|[-.]\w)")


def marker_rows(lines: list[str], markers: Iterable[str]) -> list[int]:
    """The lines (0-based) where a comment may use a marker (:func:`_marker_use`), read
    without tokenizing: a comment is the rest of a line from one of its ``#``, so unless
    the rest of a line from some ``#`` before a marker word uses one, no comment of that
    line does. Tokenizing finds marker comments on these lines only (maybe none)."""
    words = tuple(markers)
    marker = marker_pattern(words)
    rows: list[int] = []
    for row, line in enumerate(lines):
        if "#" not in line or not any(w in line for w in words):
            continue
        if any(
            _marker_use(marker, line[k:]) is not None
            for m in marker.finditer(line)
            for k in _positions(line, "#", m.start())
        ):
            rows.append(row)
    return rows


def _positions(line: str, char: str, end: int) -> Iterator[int]:
    k = line.find(char, 0, end)
    while k >= 0:
        yield k
        k = line.find(char, k + 1, end)


def _fresh_start(tree: ast.Module, lines: list[str], row: int) -> int:
    """A line (0-based) at or above ``row`` from which tokenizing gives the tokens that
    tokenizing the whole text gives there: the first line of a top-level statement that
    starts at its first column, below a line that holds no ``#`` (no comment block goes
    on into it) and does not continue (no backslash); 0 when there is none. At such a
    line the tokenizer is in no bracket, string or continuation, at indentation 0."""
    best = 0
    for node in tree.body:
        decorators: list[ast.expr] = getattr(node, "decorator_list", [])
        first = min([node.lineno, *(d.lineno for d in decorators)]) - 1
        if first > row:
            break
        if first <= 0 or first >= len(lines):
            continue
        starts = lines[first].startswith("@") if decorators else node.col_offset == 0
        above = lines[first - 1]
        if starts and "#" not in above and not above.rstrip().endswith("\\"):
            best = first
    return best


# the statements a stub body is made of (``raise NotImplementedError`` is looked for apart)
_STUB_STATEMENT = re.compile(r"\bpass\b|\.\.\.")
# what may follow a statement on its line: the end of the line, another statement, a
# comment, a line continuation
_STATEMENT_END = re.compile(r"\s*(?:[;#\\]|$)")
# what makes a line's structure uncertain without tokenizing: strings, a line
# continuation, several statements; and brackets (a line may continue another)
_UNSURE = re.compile(r"""['"\\;]""")
_BRACKET = re.compile(r"[()\[\]{}]")
# keywords that only start a compound statement (never a line inside brackets): a
# header starting with one is a block that is not a function, whatever its brackets
_BLOCK_KEYWORD = re.compile(r"(?:class|except|with|while|elif|try|finally|async\s+with)\b")
# a line that is one plain string literal (a docstring), or a stub statement alone
_PLAIN_STRING = re.compile(
    r"""[rRbBuUfF]{0,2}(?:"[^"'\\]*"|'[^"'\\]*'|"{3}[^"'\\]*"{3}|'{3}[^"'\\]*'{3})"""
)
_STUB_LINE = re.compile(r"""(?:pass|\.\.\.)\s*(?:#[^"'\\]*)?""")


def _names_any(text: str, names: Iterable[str]) -> bool:
    """Whether any of these (ASCII) names is in the Python ``text``, identifiers read in
    the NFKC form Python reads them in (a fullwidth ``c`` is a ``c``)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return any(n in text for n in names)


def may_hold_stub(text: str, lines: list[str]) -> bool:
    """Whether a function of this Python text can have a stub body (:func:`_stub`), read
    without parsing: False means that no function of the parsed text has one.

    A stub body's first statement after its docstring is ``raise NotImplementedError``
    (the name in the text, identifiers read as Python reads them), or a ``pass`` or
    ``...`` statement right after the ``def`` header, its docstring and comments. Every
    other ``pass``/``...`` is told apart from the lines alone: it is not where a
    statement can be (``print("...")``), or it is in a comment, or its block's header
    (the first line above it that is not blank, a comment, a plain string or another
    ``pass``) is no ``def``: it has no bracket (a ``def`` has its parameters'
    parentheses) or starts with a keyword such as ``class`` or ``except``; or another
    statement comes before it. A line whose structure is unsure (strings, brackets,
    continuations, tabs) makes the text a candidate: the check then parses it."""
    if _names_any(text, ("NotImplementedError",)):
        return True
    joined = "\n".join(lines) if "\r" in text else text  # what the lines were split from
    for word in ("pass", "..."):
        row, seen, line_start = 0, 0, 0
        at = joined.find(word)
        while at >= 0:  # every occurrence (str.find is much faster than a regex scan)
            if _STUB_STATEMENT.match(joined, at) is not None:
                newlines = joined.count("\n", seen, at)
                if newlines:
                    row += newlines
                    line_start = joined.rfind("\n", seen, at) + 1
                seen = at
                start = at - line_start
                if not _plainly_not_a_stub(lines, row, start, start + len(word)):
                    return True
            at = joined.find(word, at + 1)
    return False


def _continued(lines: list[str], i: int) -> bool:
    """Whether line ``i`` continues the line above (a backslash at its end)."""
    return i > 0 and lines[i - 1].rstrip().endswith("\\")


def _not_a_def_header(lines: list[str], i: int, head: str) -> bool:
    """Whether ``head`` (line ``i`` or its start, ending with ``:``) is plainly the
    header of a block other than a function."""
    if _UNSURE.search(head) or _continued(lines, i):
        return False
    return not _BRACKET.search(head) or _BLOCK_KEYWORD.match(head.lstrip()) is not None


def _plainly_not_a_stub(lines: list[str], i: int, start: int, end: int) -> bool:
    """Whether the ``pass``/``...`` at ``start:end`` of line ``i`` cannot be the first
    statement of a stub body (see :func:`may_hold_stub`); False when unsure."""
    line = lines[i]
    if not _STATEMENT_END.match(line, end):
        return True  # more follows on its line: no statement of its own
    prefix = line[:start]
    if prefix.strip():  # after something on its line
        head = prefix.rstrip()
        if not head.endswith((":", ";")):
            return True  # not where a statement starts
        if "#" in head and not _UNSURE.search(head):
            return True  # in a comment
        return (
            head.endswith(":")
            and not _STUB_STATEMENT.search(head)
            and _not_a_def_header(lines, i, head)
        )
    if prefix.strip(" "):
        return False  # indented with tabs or form feeds
    indent = len(prefix)
    for j in range(i - 1, -1, -1):
        above = lines[j]
        stripped = above.strip()
        if not stripped:
            continue
        if above.rstrip().endswith("\\"):
            return False
        if stripped.startswith("#") and "'" not in stripped and '"' not in stripped:
            continue  # a comment (a quote in it may end a string above: unsure)
        if _PLAIN_STRING.fullmatch(stripped) or _STUB_LINE.fullmatch(stripped):
            continue  # a docstring, another pass
        if _UNSURE.search(above) or _STUB_STATEMENT.search(above) or _continued(lines, j):
            return False
        code = above.split("#", 1)[0].rstrip()
        if not code.endswith(":"):
            # a statement before it (a bracket may end a docstring in parentheses)
            return _BRACKET.search(code) is None
        lead = above[: len(above) - len(above.lstrip())]
        # the block's header, unless deeper (the last line of a def's header, say)
        return not lead.strip(" ") and len(lead) < indent and _not_a_def_header(lines, j, code)
    return True  # at module level


def _signal_handler(fn: _Fn) -> bool:
    """``def handler(signum, frame)``: a signal handler that ignores the signal."""
    names = [a.arg for a in (*fn.args.posonlyargs, *fn.args.args)]
    if names and names[0] in ("self", "cls"):
        names = names[1:]
    return (
        len(names) == 2
        and names[0] in ("signum", "sig", "signal", "signo", "s")
        and (names[1] in ("frame", "stack", "f", "_frame"))
    )


def _declared_empty(fn: _Fn) -> bool:
    """A decorator that makes the empty body the declaration itself."""
    for d in fn.decorator_list:
        name = _name(d)
        if name in _EXEMPT_DECORATORS:
            return True
        if isinstance(d, ast.Call):
            for kw in d.keywords:
                if kw.arg == "cls" and name == "command" and "Group" in _name(kw.value):
                    return True  # @app.command(cls=MyGroup): a group, as a command
                if kw.arg in _TEMPLATE_KEYWORDS:
                    return True  # @view(template="x.html"): the template is the page
    return False


def _ignores_arguments(fn: _Fn) -> bool:
    """``def clear(self, *_, **__)``: every parameter is named to be ignored."""
    a = fn.args
    names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
    names += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
    if names and names[0] in ("self", "cls"):
        names = names[1:]
    return bool(names) and all(not n.strip("_") for n in names)


def _deliberate(fun: _Fun, stub: _Stub, module: _Module, lines: list[str]) -> bool:
    """Whether the stub body of ``fun`` is the finished design (see the module docstring),
    cheapest tests first."""
    fn = fun.node
    name = fn.name
    if _declared_empty(fn):
        return True
    if name.startswith("__") and name.endswith("__"):
        return True  # an empty __init__, __del__, __exit__…: nothing to do there
    if _NOOP_NAME.search(name.lstrip("_")) or _signal_handler(fn) or _ignores_arguments(fn):
        return True
    if name.startswith("test_") and fun.owner is None:
        return True  # an empty test: the testing checks' business, not a stub
    raising = bool(stub.raises)
    if raising and _deliberate_raise(stub):
        return True
    cls = fun.owner
    if cls is not None:
        facts = module.facts(cls)
        if facts.deliberate:
            return True
        if not raising and name in _NOOP_METHODS:
            return True
        if facts.has_bases and _CAMEL.search(name) and module.snake_case():
            return True  # an override of a camelCase framework API
        if module.overridden(cls, name):
            return True  # the default a subclass replaces
        if raising and name in facts.self_calls():
            return True  # a template method's step: abstract by convention
        if facts.has_bases and module.overrides_real(cls, name):
            return True  # turns off what a base class does
    if not _says_stub(stub):  # "not implemented yet" is a stub whatever else is said
        if stub.doc is not None and _note_is_reason(stub.doc):
            return True
        for c in _body_comments(lines, fn):
            if _comment_is_reason(c) if not raising else _note_is_reason(c):
                return True
            if raising and _NO_COVER.search(c):
                return True  # excluded from coverage: an abstract method by convention
        if any(_note_is_reason(c.lstrip("#")) for c in _comments_above(lines, fn)):
            return True
    callbacks = module.callbacks()
    return name in callbacks or any(_name(d) in callbacks for d in fn.decorator_list)
