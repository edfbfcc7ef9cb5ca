"""Find the line and column of a key path in TOML text.

The standard ``tomllib`` parser returns plain data with no positions. To report a
configuration error at the line of the offending key, :func:`key_positions` walks the
TOML text once and records where every key, table header, array-of-tables element and
array element starts, under its full path::

    [[phases]]              ("phases", 0)
    name = "x"              ("phases", 0, "name")
    [[phases.checks]]       ("phases", 0, "checks", 0)
    id = "A"                ("phases", 0, "checks", 0, "id")
    t = { a = 1 }           ("phases", 0, "checks", 0, "t", "a")
    l = [1, {b = 2}]        ("…", "l", 0) and ("…", "l", 1, "b")

Dotted keys (``a.b = 1``), inline tables, arrays spanning lines, quoted keys and
multi-line strings are handled. The text is expected to be valid TOML (it is scanned
after ``tomllib`` accepted it); on anything unexpected the scanner stops and keeps what
it has, so :func:`locate` still falls back to the nearest enclosing key or table header.
"""

from __future__ import annotations

import bisect
import contextlib
import sys
from collections.abc import Sequence
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

TOMLDecodeError = tomllib.TOMLDecodeError

PathPart = str | int
KeyPath = tuple[PathPart, ...]

_BARE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class _Stop(Exception):
    pass


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line_starts = [0]
        for i, ch in enumerate(text):
            if ch == "\n":
                self.line_starts.append(i + 1)
        self.positions: dict[KeyPath, tuple[int, int]] = {}
        self.array_tables: dict[KeyPath, int] = {}
        self.current: KeyPath = ()

    # -- helpers -------------------------------------------------------------------------
    def linecol(self, pos: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        i = bisect.bisect_right(self.line_starts, pos) - 1
        return i + 1, pos - self.line_starts[i] + 1

    def record(self, path: KeyPath, pos: int) -> None:
        if path not in self.positions:
            self.positions[path] = self.linecol(pos)

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def eof(self) -> bool:
        return self.pos >= len(self.text)

    def skip_ws(self) -> None:
        while not self.eof() and self.text[self.pos] in " \t":
            self.pos += 1

    def skip_comment(self) -> None:
        if self.peek() == "#":
            while not self.eof() and self.text[self.pos] != "\n":
                self.pos += 1

    def skip_ws_nl_comments(self) -> None:
        while not self.eof():
            ch = self.text[self.pos]
            if ch in " \t\r\n":
                self.pos += 1
            elif ch == "#":
                self.skip_comment()
            else:
                break

    def expect(self, s: str) -> None:
        if self.peek(len(s)) != s:
            raise _Stop
        self.pos += len(s)

    # -- strings and keys ----------------------------------------------------------------
    def read_string(self) -> str:
        t = self.text
        if t.startswith('"""', self.pos) or t.startswith("'''", self.pos):
            quote = t[self.pos : self.pos + 3]
            end = t.find(quote, self.pos + 3)
            while end != -1 and quote == '"""' and _escaped(t, end):
                end = t.find(quote, end + 1)
            if end == -1:
                raise _Stop
            # up to two more quotes right before the closing ones belong to the content
            extra = 0
            while extra < 2 and t[end + 3 : end + 4] == quote[0]:
                end += 1
                extra += 1
            value = t[self.pos + 3 : end]
            self.pos = end + 3
            return value
        quote = t[self.pos]
        i = self.pos + 1
        out: list[str] = []
        while i < len(t):
            ch = t[i]
            if ch == "\n":
                raise _Stop
            if quote == '"' and ch == "\\":
                out.append(_unescape(t, i))
                i += _escape_len(t, i)
                continue
            if ch == quote:
                self.pos = i + 1
                return "".join(out)
            out.append(ch)
            i += 1
        raise _Stop

    def read_key(self) -> list[tuple[str, int]]:
        """A (possibly dotted) key: list of (part, offset of the part)."""
        parts: list[tuple[str, int]] = []
        while True:
            self.skip_ws()
            start = self.pos
            ch = self.peek()
            if ch in ('"', "'"):
                parts.append((self.read_string(), start))
            else:
                while not self.eof() and self.text[self.pos] in _BARE:
                    self.pos += 1
                if self.pos == start:
                    raise _Stop
                parts.append((self.text[start : self.pos], start))
            self.skip_ws()
            if self.peek() == ".":
                self.pos += 1
                continue
            return parts

    # -- values --------------------------------------------------------------------------
    def read_value(self, path: KeyPath) -> None:
        self.skip_ws()
        ch = self.peek()
        if ch == "{":
            self.pos += 1
            while True:
                self.skip_ws_nl_comments()
                if self.peek() == "}":
                    self.pos += 1
                    return
                if self.peek() == ",":
                    self.pos += 1
                    continue
                self.read_keyval(path)
        elif ch == "[":
            self.pos += 1
            index = 0
            while True:
                self.skip_ws_nl_comments()
                if self.peek() == "]":
                    self.pos += 1
                    return
                if self.peek() == ",":
                    self.pos += 1
                    continue
                if self.eof():
                    raise _Stop
                self.record((*path, index), self.pos)
                self.read_value((*path, index))
                index += 1
        elif ch in ('"', "'"):
            self.read_string()
        else:
            start = self.pos
            while not self.eof() and self.text[self.pos] not in ",]}\r\n#":
                self.pos += 1
            if self.pos == start:
                raise _Stop

    def read_keyval(self, table: KeyPath) -> None:
        parts = self.read_key()
        path = table
        for name, offset in parts:
            path = (*path, name)
            self.record(path, offset)
        self.expect("=")
        self.read_value(path)

    # -- document ------------------------------------------------------------------------
    def resolve(self, parts: Sequence[tuple[str, int]], *, is_array: bool) -> KeyPath:
        """Path of a header: every prefix that is an array of tables means its last element."""
        path: KeyPath = ()
        for i, (name, offset) in enumerate(parts):
            path = (*path, name)
            last = i == len(parts) - 1
            self.record(path, offset)
            if path in self.array_tables and not (last and is_array):
                path = (*path, self.array_tables[path] - 1)
        return path

    def document(self) -> None:
        while True:
            self.skip_ws_nl_comments()
            if self.eof():
                return
            start = self.pos
            if self.peek(2) == "[[":
                self.pos += 2
                parts = self.read_key()
                self.expect("]]")
                full = self.resolve(parts, is_array=True)
                index = self.array_tables.get(full, 0)
                self.array_tables[full] = index + 1
                self.current = (*full, index)
                self.record(self.current, start)
            elif self.peek() == "[":
                self.pos += 1
                parts = self.read_key()
                self.expect("]")
                self.current = self.resolve(parts, is_array=False)
                self.positions[self.current] = self.linecol(start)
            else:
                self.read_keyval(self.current)
            self.skip_ws()
            self.skip_comment()


def _escaped(text: str, pos: int) -> bool:
    """True when the character at ``pos`` is preceded by an odd number of backslashes."""
    n = 0
    while pos - n - 1 >= 0 and text[pos - n - 1] == "\\":
        n += 1
    return n % 2 == 1


_SIMPLE_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


def _escape_len(text: str, i: int) -> int:
    kind = text[i + 1 : i + 2]
    if kind == "u":
        return 6
    if kind == "U":
        return 10
    return 2


def _unescape(text: str, i: int) -> str:
    kind = text[i + 1 : i + 2]
    if kind in ("u", "U"):
        digits = text[i + 2 : i + _escape_len(text, i)]
        try:
            return chr(int(digits, 16))
        except ValueError:
            return ""
    return _SIMPLE_ESCAPES.get(kind, kind)


def key_positions(text: str) -> dict[KeyPath, tuple[int, int]]:
    """Every key path of the TOML ``text`` -> (line, column), both 1-based."""
    scanner = _Scanner(text)
    with contextlib.suppress(_Stop, IndexError):
        scanner.document()
    return scanner.positions


def locate(
    text: str | dict[KeyPath, tuple[int, int]], path: Sequence[PathPart]
) -> tuple[int, int, KeyPath]:
    """(line, column, found path) of ``path``, or of its nearest enclosing key or table.

    Falls back to (1, 1, ()) when not even the first component is in the text.
    ``text`` may be the TOML source or the result of :func:`key_positions`.
    """
    positions = key_positions(text) if isinstance(text, str) else text
    p: KeyPath = tuple(path)
    while p:
        if p in positions:
            line, col = positions[p]
            return line, col, p
        p = p[:-1]
    return 1, 1, ()


def toml_loads(text: str) -> dict[str, Any]:
    """Parse TOML with ``tomllib`` (``tomli`` before Python 3.11)."""
    data: dict[str, Any] = tomllib.loads(text)
    return data
