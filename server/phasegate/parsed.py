"""Python syntax trees, parsed once per content and shared by the checks that read them.

IMPL-SYNTAX compiles every Python file; IMPL-STUB reads the syntax tree of the files
where a stub or a marker comment can be. Both ask this module, which remembers what it
parsed by the content's hash:

* :func:`parse` is ``ast.parse``: the tree, or why there is none. A content is parsed
  once while its tree is remembered; a thread that asks for a content another thread is
  parsing waits for that parse instead of making a second one.
* :func:`compile_error` is what ``compile(text, filename, "exec", dont_inherit=True)``
  raises (None when the text compiles): the compiler's own checks (``return`` outside a
  function, ``nonlocal`` at module level...) after the parse. When the content's tree is
  remembered it is compiled without parsing again; otherwise the text is compiled, which
  parses it without making the Python objects of a tree that no check may need (as
  costly as the compiler's checks themselves). Either way the outcome is the same.

Remembered, least recently used out first: the trees of at most :data:`MAX_TREES`
contents and :data:`MAX_TREE_CHARS` characters of text in all (the most recent tree
whatever its size, until the next parse), and why at most :data:`MAX_FAILURES` contents
do not parse. The memo serves the checks of one change (a
file saved, the checks that read it run one after the other), not a whole workspace: a
syntax tree takes about 30 bytes per character of its text, and trees kept alive slow
every later parse down (the garbage collector walks them; 40 MB of trees double the cost
of parsing). A cold run over every file parses each file where a check needs its tree.

Warnings the parser and the compiler emit (an invalid escape sequence...) are ignored:
they are not syntax errors. :func:`warnings.catch_warnings` changes process-wide state,
so parsing and compiling here hold one lock while it is in effect.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

MAX_TREES = 4
MAX_TREE_CHARS = 50_000
MAX_FAILURES = 64

# What parsing or compiling Python text can raise for text that is not valid Python, or
# too deep or too big for the interpreter: an outcome, not a crash.
PARSE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError)


@dataclass(frozen=True)
class Parsed:
    """``ast.parse``'s outcome: the tree, or the error that stopped it (tree None)."""

    tree: ast.Module | None
    error: BaseException | None = None


_lock = threading.Lock()  # guards the memo and the counts
_warnings_lock = threading.Lock()  # held while warnings are switched off
_trees: OrderedDict[bytes, tuple[Parsed, int]] = OrderedDict()  # and the text's length
_failures: OrderedDict[bytes, Parsed] = OrderedDict()
_parsing: dict[bytes, threading.Event] = {}
_counts = {"parse": 0, "compile_text": 0, "compile_tree": 0, "hit": 0}


@contextlib.contextmanager
def warnings_off() -> Iterator[None]:
    """Warnings ignored while parsing or compiling, one thread at a time (the warning
    filters are the process's)."""
    with _warnings_lock, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def content_key(text: str) -> bytes:
    """The memo's key for ``text``: the sha1 of its UTF-8 bytes."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).digest()


def _bare(exc: BaseException) -> BaseException:
    """``exc`` without the frames it would keep alive in the memo."""
    exc.__traceback__ = None
    exc.__context__ = None
    return exc


def _remember(key: bytes, parsed: Parsed, chars: int) -> None:
    if parsed.tree is None:
        _failures[key] = parsed
        while len(_failures) > MAX_FAILURES:
            _failures.popitem(last=False)
        return
    _trees[key] = (parsed, chars)
    total = sum(n for _, n in _trees.values())
    # the newest tree stays, whatever its size, until the next: the check that reads the
    # same file next (IMPL-SYNTAX after IMPL-STUB, file by file) uses it
    while len(_trees) > 1 and (len(_trees) > MAX_TREES or total > MAX_TREE_CHARS):
        _, (_, n) = _trees.popitem(last=False)
        total -= n


def _remembered(key: bytes) -> Parsed | None:
    """The remembered outcome of parsing ``key``'s content, made the most recent."""
    kept = _trees.get(key)
    if kept is not None:
        _trees.move_to_end(key)
        return kept[0]
    failed = _failures.get(key)
    if failed is not None:
        _failures.move_to_end(key)
    return failed


def parse(text: str, filename: str = "<unknown>") -> Parsed:
    """``ast.parse(text, filename)``, remembered by content (see the module docs).

    The error of a text that does not parse is the one the first parse raised (its
    ``filename`` is that parse's)."""
    key = content_key(text)
    while True:
        with _lock:
            hit = _remembered(key)
            if hit is not None:
                _counts["hit"] += 1
                return hit
            running = _parsing.get(key)
            if running is None:
                done = _parsing[key] = threading.Event()
                break
        running.wait()  # the other thread's parse is ours too (unless it was forgotten)
    try:
        try:
            with warnings_off():
                result = Parsed(ast.parse(text, filename))
        except PARSE_ERRORS as exc:
            result = Parsed(None, _bare(exc))
        with _lock:
            _counts["parse"] += 1
            _remember(key, result, len(text))
        return result
    finally:
        with _lock:
            del _parsing[key]
        done.set()


def compile_error(text: str, filename: str = "<unknown>") -> BaseException | None:
    """What ``compile(text, filename, "exec", dont_inherit=True)`` raises among
    :data:`PARSE_ERRORS` (None when the text compiles), compiling the remembered tree of
    ``text`` when there is one (see the module docs). Nothing is executed."""
    tree = None
    if _trees:  # no tree at all (a cold run's first check): not even the key is needed
        key = content_key(text)
        with _lock:
            kept = _trees.get(key)
            if kept is not None:
                tree = kept[0].tree
                _trees.move_to_end(key)
    with warnings_off():
        if tree is not None:
            try:
                compile(tree, filename, "exec", dont_inherit=True)
            except SyntaxError as exc:
                _count("compile_tree")
                return _bare(exc)
            except (ValueError, TypeError, RecursionError, MemoryError):
                pass  # the tree's own limits, not the text's: the text decides below
            else:
                _count("compile_tree")
                return None
        _count("compile_text")
        try:
            compile(text, filename, "exec", dont_inherit=True)
        except PARSE_ERRORS as exc:
            return _bare(exc)
    return None


def _count(name: str) -> None:
    with _lock:
        _counts[name] += 1


def counts() -> dict[str, int]:
    """How many times, since the last :func:`clear`, a text was parsed into a tree
    (``parse``), compiled from its text (``compile_text``) or from a remembered tree
    (``compile_tree``), and how many parses the memo answered (``hit``)."""
    with _lock:
        return dict(_counts)


def clear() -> None:
    """Forget every remembered content and reset the counts."""
    with _lock:
        _trees.clear()
        _failures.clear()
        for name in _counts:
            _counts[name] = 0
