"""DEP-CHANGELOG: a changelog with at least one version entry.

Where a changelog is looked for, in this order:

* the workspace root: ``CHANGELOG``, ``CHANGES``, ``HISTORY``, ``NEWS``, ``RELEASE_NOTES``,
  ``RELEASES``, ``WHATSNEW`` (any case, ``-``/``_`` variants; no extension or a text one:
  ``.md``, ``.rst``, ``.txt``…);
* the documentation folder (``docs/``, ``doc/``, also a sub-project's; files at any
  depth in it): the same names and ``versions.*`` (``docs/changes.rst``,
  ``docs/versions.rst``, ``docs/release-notes.md``), or a folder of per-release pages
  (``docs/whatsnew/*``, ``docs/releases/*``, ``docs/changelog/*``);
* a sub-project: the same names in a folder up to three levels down
  (``backend/CHANGELOG.md``, ``packages/core/CHANGES.md``), not in tests, fixtures,
  examples, templates, web assets, vendored code or Debian packaging.

A version entry is a line that starts with a version number (``## [1.2.0] - 2024-05-01``,
``## v1.2``, ``1.2.0 (2024-05-01)``, a list item ``- 1.2.0``, ``**1.2.0**``, ``Version 1.2``,
``Release 1.2``, ``Changes in 1.2``, ``What's new in 1.2``), a heading with a version or
an ISO date in it (``pkg 1.2.0 (2024-05-01)`` with an RST underline,
``## 1.0.0 / 2020-01-01``), a ``Released 2024-05-01`` line, or a Sphinx ``:release:`` /
``:version:`` field; a page of a release-notes folder named after a version counts too.
An "Unreleased" section alone does not count.

Fragments whose release notes are assembled elsewhere are a changelog practice too, and
pass: towncrier (a ``[tool.towncrier]`` table, ``towncrier.toml``, a ``newsfragments/``
folder), a ``changelog.d/`` folder (towncrier, scriv), changesets (``.changeset/``), and
release notes generated on the forge (``.github/release-drafter.yml``,
``.github/release.yml``, ``cliff.toml``, release-please, semantic-release).

With none of these, a finding on ``CHANGELOG.md`` (where it should be created); with a
changelog that has no version entry, a finding on its first line.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from phasegate.checks._outcomes import missing_file_outcome
from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.checks.deployment.layout import dir_of, is_project_folder
from phasegate.model import Severity

if TYPE_CHECKING:
    from phasegate.config import Config
    from phasegate.workspace import Workspace

PREFERRED = ("changelog.md", "changes.md", "history.md", "news.md")
NAMES = frozenset(
    {
        "changelog",
        "changes",
        "history",
        "news",
        "change_log",
        "change-log",
        "release_notes",
        "release-notes",
        "releasenotes",
        "releases",
        "whatsnew",
        "whats_new",
        "whats-new",
    }
)
DOC_NAMES = NAMES | {"versions", "version_history", "version-history", "release-history"}
DOC_DIRS = frozenset({"doc", "docs", "documentation"})
TEXT_EXTENSIONS = frozenset(
    {"", ".md", ".markdown", ".rst", ".txt", ".adoc", ".asciidoc", ".org", ".textile"}
)
# Folders of fragments, and configurations of generated release notes: a changelog practice.
FRAGMENT_DIRS = frozenset({"changelog.d", "newsfragments", ".changeset"})
PRACTICE_NAMES = frozenset(  # in the root or in a sub-project
    {
        "towncrier.toml",
        ".towncrier.toml",
        "cliff.toml",
        "release-please-config.json",
        ".release-please-manifest.json",
        ".releaserc",
        ".releaserc.json",
        ".releaserc.yml",
        ".releaserc.yaml",
        ".releaserc.js",
        ".releaserc.cjs",
        "release.config.js",
        "release.config.cjs",
        "release.config.mjs",
    }
)
PRACTICE_PATHS = frozenset(
    {
        ".github/release-drafter.yml",
        ".github/release-drafter.yaml",
        ".github/release.yml",
        ".github/release.yaml",
    }
)

_VERSION = r"v?\d+\.\d+"
VERSION_ENTRY = re.compile(
    r"^\s{0,3}(?:#{1,6}\s*|[-*+]\s+|=+\s*)?[\[`*_\s]*"
    r"(?:version\s+|release[ds]?\s+|changes\s+(?:in|for)\s+(?:version\s+)?|"
    r"what['\u2019]?s\s+new\s+in\s+(?:version\s+)?|v)?\d+\.\d+",
    re.IGNORECASE,
)
_RELEASED_ON = re.compile(r"^\s*\**released\s*(?:on\s*)?:?\s*\**\s*\d{4}-\d{2}-\d{2}", re.I)
_SPHINX_FIELD = re.compile(r":(?:release|version):`?\s*\d+\.\d+")
_ATX = re.compile(r"^\s{0,3}#{1,6}\s+(.*)$")
_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+:.])\1{2,}\s*$")
_IN_HEADING = re.compile(rf"(?<![\w.]){_VERSION}|\b\d{{4}}-\d{{2}}-\d{{2}}\b", re.IGNORECASE)
_VERSION_NAME = re.compile(r"\d+[._]\d+")


def _split(name: str) -> tuple[str, str]:
    """(stem, last extension) of a file name, lower case: ``CHANGES.rst`` -> (changes,
    .rst), ``3.2.rst`` -> (3, .rst)."""
    low = name.lower()
    return low.partition(".")[0], posixpath.splitext(low)[1]


def _doc_index(path: str) -> int | None:
    """Index of the documentation folder (``docs``, ``doc``…) among the folders of
    ``path``, when it is the root's or a sub-project's; else None."""
    parts = path.split("/")[:-1]
    for i, part in enumerate(parts):
        if part.lower() in DOC_DIRS:
            return i if is_project_folder("/".join(parts[:i])) else None
    return None


def _is_doc_path(path: str) -> bool:
    return _doc_index(path) is not None


def _in_release_folder(path: str) -> bool:
    """A page in a release-notes folder of the documentation (``docs/whatsnew/…``)."""
    i = _doc_index(path)
    return i is not None and any(p.lower() in NAMES for p in path.split("/")[i + 1 : -1])


def _named(path: str, names: frozenset[str]) -> bool:
    stem, ext = _split(posixpath.basename(path))
    return stem in names and ext in TEXT_EXTENSIONS


def changelog_candidates(files: list[str]) -> list[str]:
    """Changelog files, best first: the root's, then the documentation's (single files,
    then pages of release-notes folders), then the sub-projects'."""
    root = [f for f in files if "/" not in f and _named(f, NAMES)]

    def rank(f: str) -> tuple[int, str]:
        low = f.lower()
        return (PREFERRED.index(low) if low in PREFERRED else len(PREFERRED), f)

    root.sort(key=rank)
    docs = [f for f in files if _is_doc_path(f) and _named(f, DOC_NAMES)]
    single = set(docs)
    pages = [
        f
        for f in files
        if f not in single
        and _in_release_folder(f)
        and _split(posixpath.basename(f))[1] in TEXT_EXTENSIONS
    ]
    subs = [
        f
        for f in files
        if "/" in f and not _is_doc_path(f) and _named(f, NAMES) and is_project_folder(dir_of(f))
    ]
    return root + sorted(docs, key=lambda f: (f.count("/"), f)) + pages + subs


def find_changelog(files: list[str]) -> str | None:
    """The best changelog file, or None."""
    found = changelog_candidates(files)
    return found[0] if found else None


def practice(files: list[str], pyprojects: dict[str, str | None]) -> str | None:
    """The file that shows a fragments or generated-release-notes practice, or None.
    ``pyprojects`` maps each ``pyproject.toml`` to its text (for ``[tool.towncrier]``)."""
    for f in files:
        folder = dir_of(f)
        if f in PRACTICE_PATHS:
            return f
        if posixpath.basename(f) in PRACTICE_NAMES and is_project_folder(folder):
            return f
        parts = f.split("/")[:-1]
        for i, part in enumerate(parts):
            if part in FRAGMENT_DIRS and is_project_folder("/".join(parts[:i])):
                return f
    for path, text in pyprojects.items():
        if text and re.search(r"^\s*\[tool\.towncrier[\].]", text, re.MULTILINE):
            return path
    return None


def is_release_page(path: str) -> bool:
    """A page of a documentation release-notes folder named after a version
    (``docs/whatsnew/3.2.rst``, ``docs/change_log/release-2.5.md``)."""
    return _in_release_folder(path) and _VERSION_NAME.search(posixpath.basename(path)) is not None


def version_entries(text: str) -> list[int]:
    """0-based lines of the version entries."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        if VERSION_ENTRY.match(line) or _RELEASED_ON.match(line) or _SPHINX_FIELD.search(line):
            out.append(i)
            continue
        atx = _ATX.match(line)
        title = atx.group(1) if atx else None
        if (
            title is None
            and line.strip()
            and i + 1 < len(lines)
            and _UNDERLINE.match(lines[i + 1])
            and not _UNDERLINE.match(line)
        ):
            title = line
        if title is not None and _IN_HEADING.search(title):
            out.append(i)
    return out


_README = re.compile(r"^readme(\.(md|markdown|rst|txt))?$", re.I)
_CHANGES_HEADING = re.compile(
    r"^\s{0,3}(?:#{1,6}\s*)?(?:change ?log|changes|history|release notes|what'?s new|news)"
    r"\s*#*\s*$",
    re.I,
)


def readme_changelog(ws: Workspace, files: list[str]) -> bool:
    """A root README with a changelog section ("Changelog", "History", "Release notes")
    followed by version entries (docopt keeps its changelog there)."""
    for path in files:
        if "/" in path or not _README.match(path):
            continue
        lines = (ws.read_text(path) or "").splitlines()
        for i, line in enumerate(lines):
            if _CHANGES_HEADING.match(line) and version_entries("\n".join(lines[i + 1 :])):
                return True
    return False


def _example(path: str) -> str:
    if path.lower().endswith(".rst"):
        return '"0.1.0 (2024-01-01)" underlined with "-----"'
    return '"## [0.1.0] - 2024-01-01"'


class Changelog(Check):
    id = "DEP-CHANGELOG"
    title = "Changelog"
    description = (
        "A changelog (CHANGELOG.md, CHANGES.rst, HISTORY.*, NEWS.*, RELEASE_NOTES.*, in the "
        "root, in docs/ or in a sub-project) has at least one version entry; changelog "
        "fragments (towncrier, changelog.d/, changesets) or generated release notes "
        "(release-drafter, git-cliff…) count as a changelog."
    )
    scope = "project"
    default_owner = "devops_engineer"
    default_weight = 0.5
    default_severity = Severity.WARNING

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        pats = []
        for n in ("change", "history", "news", "release", "whats"):
            pats += [f"{n.upper()}*", f"{n}*", f"{n.capitalize()}*"]
        return [
            *pats,
            "versions.*",
            "/README*",
            "/readme*",
            "*towncrier.toml",
            "pyproject.toml",
            "cliff.toml",
            ".changeset/*",
            ".releaserc*",
            ".release-please-manifest.json",
        ]

    def run(self, ctx: CheckContext) -> CheckOutcome:
        files = ctx.input_files()
        ws = ctx.workspace
        candidates = changelog_candidates(files)
        first: str | None = None
        if any(is_release_page(path) for path in candidates):
            return CheckOutcome(score=1.0)
        for path in candidates:
            text = ws.read_text(path) or ""
            if version_entries(text):
                return CheckOutcome(score=1.0)
            first = first or path
        pyprojects = {
            f: ws.read_text(f)
            for f in files
            if posixpath.basename(f) == "pyproject.toml" and is_project_folder(dir_of(f))
        }
        if practice(files, pyprojects) is not None:
            return CheckOutcome(score=1.0)
        if first is None and readme_changelog(ws, files):
            return CheckOutcome(score=1.0)
        if first is None:
            return missing_file_outcome(
                ctx,
                "CHANGELOG.md",
                "no changelog: add CHANGELOG.md with a section per released version",
            )
        return CheckOutcome(
            findings=[
                ctx.finding(
                    first,
                    f"{first} has no version entry (e.g. {_example(first)})",
                    line=0,
                )
            ],
            score=0.5,
        )
