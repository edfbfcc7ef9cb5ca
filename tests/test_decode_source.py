"""IMPL-SYNTAX and IMPL-STUB decode a file as Python does: the fast path for plain UTF-8
(no BOM, no coding cookie) gives exactly what ``tokenize.detect_encoding`` and a decode
give, and every other file takes that careful path, with its precise reasons."""

from __future__ import annotations

import io
import tokenize

from hypothesis import given, settings
from hypothesis import strategies as st

from phasegate.checks.implementation.syntax import decode_source


def reference(data: bytes) -> str | None:
    """The text Python reads from ``data``, or None when it cannot decode it (or it
    holds a NUL byte)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return None
    return None if "\x00" in text else text


CASES = [
    b"",
    b"x = 1\n",
    b"\xef\xbb\xbfx = 1\n",  # a BOM: utf-8-sig, the BOM is not text
    b"# -*- coding: latin-1 -*-\ns = '\xe9'\n",
    b"#!/usr/bin/env python\n# coding: cp1252\ns = '\x80'\n",
    b"x = 1\n# coding: latin-1\n",  # a cookie on line 2 after code: not a cookie
    b"x = 1\ny = 2\n# coding: latin-1\ns = '\xe9'\n",  # line 3: not a cookie, not UTF-8
    b"# coding: no-such-codec\n",
    b"s = '\xff\xfe'\n",  # not UTF-8, no cookie
    b"\xff\n# coding: utf-8\n",
    b"x = 'caf\xc3\xa9'\n",
    b"x = 1\x00\n",
    b"x = 1\ry = 2\r# coding: latin-1\r",  # old Mac line ends: one line for readline
    b"# coding=utf-8\r\nx = 1\r\n",
    b"\xef\xbb\xbf# coding: latin-1\n",  # a BOM and another cookie: an error
    "# décodé\nx = 1\n".encode(),
    b"#!python\n#vim: set fileencoding=ascii :\nx = 1\n",
]


def test_decoding_is_pythons() -> None:
    for data in CASES:
        text, problem = decode_source(data)
        assert text == reference(data), data
        assert (problem is None) == (text is not None), data


PIECES = [b"x = 1", b"# coding: latin-1", b"# -*- coding: utf-8 -*-", b"\xe9", b"\xc3\xa9"]
PIECES += [b"\xef\xbb\xbf", b"\x00", b"\r", b"\n", b"# vim: fileencoding=cp1252", b"'\x80'"]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(PIECES),
        max_size=8,
    )
)
def test_any_mix_decodes_as_python_does(parts: list[bytes]) -> None:
    data = b"".join(parts)
    text, _problem = decode_source(data)
    assert text == reference(data)
