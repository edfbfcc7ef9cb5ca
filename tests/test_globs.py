"""Input patterns are matched as pathspec's GitIgnoreSpec matches them: the joined
expression used when no pattern negates gives the same answer as pathspec for every
check's default patterns and for tricky hand-written ones, on realistic and on generated
paths."""

from __future__ import annotations

import pathspec
from hypothesis import given, settings
from hypothesis import strategies as st

from phasegate.checks.base import registered_checks
from phasegate.config import Config
from phasegate.workspace import _compile

TRICKY = [
    ("*.py",),
    ("**/*.py",),
    ("src/**/*.py", "tests/**"),
    ("/README.md",),
    ("docs/",),
    ("docs/*.md", "!docs/draft.md"),
    ("a/**/b",),
    ("**/test_*.py", "**/*_test.py"),
    ("[Dd]ockerfile*", "*.y?ml"),
    ("foo/bar/",),
    ("*.md", "!README.md", "README.md"),
    ("\\#notes", "name\\ with\\ space"),
    ("",),
    ("# a comment",),
]

PATHS = [
    "README.md",
    "readme.rst",
    "a/README.md",
    "docs/requirements.md",
    "docs/draft.md",
    "docs/sub/x.md",
    "docs",
    "pkg/__init__.py",
    "pkg/mod.py",
    "pkg.py/inner.txt",
    "src/app/main.py",
    "tests/test_app.py",
    "tests/unit/app_test.py",
    "a/x/y/b",
    "a/b",
    "Dockerfile",
    "dockerfile.dev",
    "ci.yml",
    ".github/workflows/ci.yaml",
    "foo/bar/baz.txt",
    "foo/bar",
    "#notes",
    "name with space",
    "pyproject.toml",
    "package.json",
]


def pattern_sets() -> list[tuple[str, ...]]:
    config = Config()
    sets = list(TRICKY)
    for cls in registered_checks().values():
        sets.append(tuple(cls.default_inputs(config)))
        exclude = tuple(cls.default_exclude(config))
        if exclude:
            sets.append(exclude)
    return sets


def test_every_default_and_tricky_pattern_set_agrees_with_pathspec() -> None:
    for patterns in pattern_sets():
        spec = pathspec.GitIgnoreSpec.from_lines(patterns)
        ours = _compile(patterns)
        for path in PATHS:
            assert ours.match_file(path) == spec.match_file(path), (patterns, path)


segment = st.sampled_from(
    ["docs", "src", "tests", "a", "b", "pkg", "README.md", "x.py", "test_x.py", "Dockerfile"]
) | st.text(alphabet="abcXYZ._-", min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(
    segments=st.lists(segment, min_size=1, max_size=5),
    index=st.integers(min_value=0, max_value=10_000),
)
def test_generated_paths_agree_with_pathspec(segments: list[str], index: int) -> None:
    path = "/".join(segments)
    sets = pattern_sets()
    patterns = sets[index % len(sets)]
    spec = pathspec.GitIgnoreSpec.from_lines(patterns)
    assert _compile(patterns).match_file(path) == spec.match_file(path), (patterns, path)
