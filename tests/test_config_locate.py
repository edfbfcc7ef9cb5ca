"""The TOML key locator: line and column of key paths in TOML text."""

from __future__ import annotations

import textwrap
from typing import Any

from phasegate.config import Config
from phasegate.docgen import config_to_toml
from phasegate.toml_locate import KeyPath, key_positions, locate, toml_loads

TRICKY = textwrap.dedent(
    '''
    # [not.a.table] = 1
    title = "a # not a comment ] }"
    "quoted key" = 1
    site."google.com".up = true
    text = """
    [fake]
    x = 1
    """
    lit = \'\'\'c:\\path\\\'\'\'
    nums = [
      1, # one
      [2, 3],
      { deep = { er = "x" } },
    ]

    [a.b] # comment
    c = 1

    [[arr]]
    v = 1

    [[arr]]
    v = 2
      [[arr.sub]]
      w = 1
      [arr.sub.opt]
      z = 1
      [[arr.sub]]
      w = 2

    [[arr]]
    v = 3
    '''
).lstrip("\n")

EXPECTED: dict[KeyPath, tuple[int, int]] = {
    ("title",): (2, 1),
    ("quoted key",): (3, 1),
    ("site", "google.com", "up"): (4, 19),
    ("text",): (5, 1),
    ("lit",): (9, 1),
    ("nums",): (10, 1),
    ("nums", 0): (11, 3),
    ("nums", 1): (12, 3),
    ("nums", 1, 1): (12, 7),
    ("nums", 2, "deep", "er"): (13, 14),
    ("a", "b"): (16, 1),
    ("a", "b", "c"): (17, 1),
    ("arr", 0): (19, 1),
    ("arr", 0, "v"): (20, 1),
    ("arr", 1): (22, 1),
    ("arr", 1, "v"): (23, 1),
    ("arr", 1, "sub", 0): (24, 3),
    ("arr", 1, "sub", 0, "w"): (25, 3),
    ("arr", 1, "sub", 0, "opt"): (26, 3),
    ("arr", 1, "sub", 0, "opt", "z"): (27, 3),
    ("arr", 1, "sub", 1): (28, 3),
    ("arr", 1, "sub", 1, "w"): (29, 3),
    ("arr", 2, "v"): (32, 1),
}


def test_tricky_document_is_valid_toml() -> None:
    data = toml_loads(TRICKY)
    assert data["text"] == "[fake]\nx = 1\n"
    assert data["arr"][1]["sub"][0]["opt"] == {"z": 1}


def test_positions_of_tricky_document() -> None:
    positions = key_positions(TRICKY)
    for path, where in EXPECTED.items():
        assert positions.get(path) == where, path
    assert ("fake",) not in positions
    assert ("not",) not in positions


def test_locate_falls_back_to_enclosing_key() -> None:
    assert locate(TRICKY, ("arr", 1, "sub", 0, "missing")) == (24, 3, ("arr", 1, "sub", 0))
    assert locate(TRICKY, ("nowhere", "x")) == (1, 1, ())


def test_multiline_basic_string_with_escaped_quotes() -> None:
    text = 'a = """x\\"""y"""\nb = 2\n'
    assert toml_loads(text) == {"a": 'x"""y', "b": 2}
    assert key_positions(text)[("b",)] == (2, 1)


def _leaves(data: Any, path: KeyPath = ()) -> list[KeyPath]:
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in _leaves(v, (*path, k))]
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return [p for i, v in enumerate(data) for p in _leaves(v, (*path, i))]
    return [path]


def test_every_key_of_the_default_file_is_located_on_its_own_line() -> None:
    text = config_to_toml(Config(), comments=True, full_items=True)
    lines = text.splitlines()
    positions = key_positions(text)
    leaves = _leaves(toml_loads(text))
    assert len(leaves) > 60
    for path in leaves:
        line, col = positions[path]
        assert lines[line - 1][col - 1 :].startswith(f"{path[-1]} ="), path
