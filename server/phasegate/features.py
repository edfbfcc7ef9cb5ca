"""Feature folders: the scope of Spec Kit and Kiro requirement ids.

Spec Kit numbers each feature's requirements from 1 (``specs/001-auth/spec.md`` and
``specs/002-billing/spec.md`` both define ``FR-001``) and Kiro does too
(``.kiro/specs/<feature>/requirements.md``: ``Requirement 1`` is ``REQ-1`` in every
feature). An id is therefore scoped: the *feature* is the folder under ``specs/`` or
``.kiro/specs/`` (``001-auth``), and phasegate's own documents (``docs/requirements.md``)
form the global scope ``""``.

A reference to an id resolves to one definition, in this order (see ``docs/documents.md``,
"Feature scopes"):

1. a qualified reference ``<feature>/<ID>`` (``001-auth/FR-001``, also inside a path such
   as ``specs/001-auth/FR-001``) resolves to that feature's definition, always;
2. the features named on the reference's line; then those named *around* it (in the
   Markdown headings above it; in code, on the nearest line above it that names one, up
   to six lines up: Kiro's ``Feature: csv-export, Property 1`` tags); then the feature
   the file lives in; then the features the file is linked to (its path or its text
   names the feature folder, or the feature's ``tasks.md`` names the file): the first of
   these groups in which the id is defined decides, and when several features of that
   group define it, the reference is *ambiguous* and resolves to none;
3. a definition in phasegate's own (global) documents;
4. outside feature folders only: the one feature that defines the id; when several do,
   the reference is ambiguous and resolves to none. With one feature in the workspace,
   every unqualified reference resolves to it.

A feature is *named* by its folder name with its dashes (``001-auth``, ``csv-export``;
any case), by a path to its folder (``specs/auth``: the only way to name a one-word
folder), by Kiro's ``Feature: <name>`` tag, or for a numbered Spec Kit folder by its
number next to "spec" or "feature" (``spec-017``, ``Feature 017``, ``017 spec``) when no
other folder has that number.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from phasegate.documents import (
    REQ_ID_RE,
    find_id_references,
    load_requirement_docs,
    outline,
    split_lines,
)

if TYPE_CHECKING:
    from phasegate.config import Config
    from phasegate.documents import Requirement, RequirementsDoc
    from phasegate.workspace import Workspace

GLOBAL = ""  # the scope of phasegate's own documents

_FEATURE_PATH_RE = re.compile(r"(?:^|/)(?P<folder>(?:\.kiro/)?specs/(?P<name>[^/]+))/[^/]")
_QUALIFIER_RE = re.compile(r"(?:^|[^\w.-])(?P<q>[\w.-]+)/$")
_NUMBERED_RE = re.compile(r"^(?P<n>\d{3,5})-\w")
_NEAR_LINES = 6  # code files: a feature named this many lines above a reference counts
_RANGE_ID_RE = re.compile(r"(?P<p>[A-Z][A-Z0-9]*)-(?P<n>\d+)")
_RANGE_SEP_RE = re.compile(r"\s*(?:through|thru|to|\.\.\.?|\u2013|\u2014|-)\s*", re.I)
_MAX_RANGE = 50
_WITHDRAWN_RE = re.compile(
    r"^[\s*_(\[~`]*(?:removed|deprecated|withdrawn|obsolete|superseded|dropped|deleted|"
    # the word must stand apart ("Removed: old export", "**Deprecated** …"): a title
    # such as "Deprecated version attribute" names a requirement about deprecation
    r"retired|out of scope)(?:[*`]+|_+(?!\w)|\s*[-\u2013\u2014:|)\]]|\s*$)|^~~",
    re.I,
)


@dataclass(frozen=True)
class Feature:
    """A feature folder: ``name`` ``001-auth``, ``folder`` ``specs/001-auth``."""

    name: str
    folder: str


def feature_of(path: str) -> Feature | None:
    """The feature folder a workspace-relative path lies in (``specs/<f>/...``,
    ``.kiro/specs/<f>/...``), or None."""
    m = _FEATURE_PATH_RE.search(path.replace("\\", "/"))
    if m is None:
        return None
    return Feature(m["name"], m["folder"])


def scope_of(path: str) -> str:
    """The scope of a document: its feature's name, or ``""`` (global)."""
    f = feature_of(path)
    return f.name if f is not None else GLOBAL


def qualified(scope: str, rid: str) -> str:
    """How to write an id so that it resolves anywhere: ``001-auth/FR-001`` (``FR-001``
    in the global scope)."""
    return f"{scope}/{rid}" if scope else rid


# -- references ------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopedRef:
    """A mention of a requirement id; ``qualifier`` is the feature written before it
    (``001-auth/FR-001``), or None."""

    id: str
    line: int
    start: int
    end: int
    qualifier: str | None = None


def scoped_references(
    text: str, pattern: re.Pattern[str] | None = None, *, aliases: bool = True
) -> list[ScopedRef]:
    """Every id mentioned in ``text`` (as :func:`phasegate.documents.find_id_references`),
    with the ``<feature>/`` written right before it, if any. A range ``FR-021 through
    FR-024`` (also ``to``, ``thru``, ``..``, an en or em dash) mentions the ids between
    its ends too (at most 50), each located on the whole range."""
    lines = split_lines(text)
    out: list[ScopedRef] = []
    refs = find_id_references(text, pattern or REQ_ID_RE, aliases=aliases)
    for i, r in enumerate(refs):
        q = None
        if r.start > 0 and lines[r.line][r.start - 1] == "/":
            m = _QUALIFIER_RE.search(lines[r.line][: r.start])
            q = m["q"] if m else None
        out.append(ScopedRef(r.id, r.line, r.start, r.end, q))
        nxt = refs[i + 1] if i + 1 < len(refs) else None
        if nxt is None or nxt.line != r.line:
            continue
        a, b = _RANGE_ID_RE.fullmatch(r.id), _RANGE_ID_RE.fullmatch(nxt.id)
        between = lines[r.line][r.end : nxt.start]
        if a and b and a["p"] == b["p"] and _RANGE_SEP_RE.fullmatch(between):
            lo, hi = int(a["n"]), int(b["n"])
            width = len(a["n"]) if a["n"].startswith("0") else 0
            if lo < hi <= lo + _MAX_RANGE:
                for n in range(lo + 1, hi):
                    out.append(ScopedRef(f"{a['p']}-{n:0{width}d}", r.line, r.start, nxt.end, q))
    return out


def withdrawn(req: Requirement) -> bool:
    """True for a requirement its document marks as removed or put off
    (``**FR-013** *(Removed)*``, ``~~FR-004~~``, "Deprecated: ...", "Query API (Future)",
    a ``**Status**: deferred`` label): nothing needs to trace it yet."""
    return bool(_WITHDRAWN_RE.match(req.title)) or req.retired


# -- naming features -------------------------------------------------------------------


class FeatureNames:
    """Finds the features a text or a path names (see the module docstring)."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = sorted(set(names))
        self._lower = {n.lower(): n for n in self.names}
        alts: list[str] = []
        for n in sorted(self.names, key=len, reverse=True):
            esc = re.escape(n)
            if "-" in n or any(c.isdigit() for c in n):
                alts.append(esc)
        path_alts = "|".join(re.escape(n) for n in sorted(self.names, key=len, reverse=True))
        numbers: dict[str, list[str]] = {}
        for n in self.names:
            m = _NUMBERED_RE.match(n)
            if m:
                numbers.setdefault(m["n"], []).append(n)
        self._numbers = {k: v[0] for k, v in numbers.items() if len(v) == 1}
        parts = []
        if alts:
            parts.append(r"(?<![\w-])(?P<bare>" + "|".join(alts) + r")(?![\w-])")
        if path_alts:
            parts.append(r"(?:^|[^\w-])specs/(?P<path>" + path_alts + r")(?![\w-])")
            parts.append(r"\bFeature:\s*(?P<tag>" + path_alts + r")(?![\w-])")
        if self._numbers:
            nums = "|".join(sorted(self._numbers))
            parts.append(r"\b(?:specs?|features?)[ _:#-]{0,2}(?P<num>" + nums + r")(?!\d)")
            parts.append(r"(?<![\w-])(?P<num2>" + nums + r")[ _-]?(?:spec|feature)\b")
        self._re = re.compile("|".join(parts), re.I) if parts else None
        self._path_re = (
            re.compile(
                r"(?<![A-Za-z0-9])(?P<name>"
                + "|".join(
                    re.escape(n.lower()).replace(r"\-", "[-_]")
                    for n in sorted(self.names, key=len, reverse=True)
                )
                + r")(?![A-Za-z0-9])"
            )
            if self.names
            else None
        )

    def in_line(self, line: str) -> set[str]:
        """Features named in one line of text."""
        if self._re is None:
            return set()
        found: set[str] = set()
        for m in self._re.finditer(line):
            groups = m.groupdict()
            num = groups.get("num") or groups.get("num2")
            if num is not None:
                found.add(self._numbers[num])
                continue
            raw = next((g for g in (groups.get(k) for k in ("bare", "path", "tag")) if g), "")
            name = self._lower.get(raw.lower()) if raw else None
            if name is not None:
                found.add(name)
        return found

    def in_path(self, path: str) -> set[str]:
        """Features whose name is part of a path (``tests/001_auth/test_x.py``)."""
        if self._path_re is None:
            return set()
        out = set()
        for m in self._path_re.finditer(path.lower()):
            key = m["name"].replace("_", "-")
            name = self._lower.get(key)
            if name is None:  # a name written with underscores of its own
                name = next((n for n in self.names if n.lower().replace("_", "-") == key), None)
            if name is not None:
                out.add(name)
        return out


# -- the scope of a file ---------------------------------------------------------------


@dataclass
class FileScope:
    """What a file's references resolve against: the features named on each line, the
    features named around it (the Markdown headings above it; in code, the nearest line
    above it that names one, up to six lines up), the file's own feature, and the
    features the whole file is linked to."""

    path: str
    own: str | None
    linked: frozenset[str]
    on_line: dict[int, frozenset[str]] = field(default_factory=dict)
    around: dict[int, frozenset[str]] = field(default_factory=dict)

    def tiers(self, line: int) -> list[Iterable[str]]:
        """The groups of features a reference on ``line`` resolves in, in order."""
        out: list[Iterable[str]] = [
            self.on_line.get(line, frozenset()),
            self.around.get(line, frozenset()),
        ]
        if self.own is not None:
            out.append((self.own,))
        out.append(self.linked)
        return out


_Named = dict[int, frozenset[str]]


def _named_markdown(lines: Sequence[str], text: str, names: FeatureNames) -> tuple[_Named, _Named]:
    """Markdown: features named on each line, and in the headings whose section holds it."""
    on_line = {k: frozenset(f) for k, s in enumerate(lines) if (f := names.in_line(s))}
    if not on_line:
        return {}, {}
    ol = outline(text)
    heads = [(h.line, h.end, on_line[h.line]) for h in ol.headings if h.line in on_line]
    around: _Named = {}
    for start, end, found in heads:
        for k in range(start + 1, end):
            around[k] = around.get(k, frozenset()) | found
    return on_line, around


def _named_code(lines: Sequence[str], names: FeatureNames) -> tuple[_Named, _Named]:
    """Code: features named on each line, and on the nearest line above it (at most six
    lines up) that names one."""
    on_line = {k: frozenset(f) for k, s in enumerate(lines) if (f := names.in_line(s))}
    around: _Named = {}
    for k in sorted(on_line):
        for j in range(k + 1, min(len(lines), k + 1 + _NEAR_LINES)):
            if j in on_line:
                break
            around[j] = on_line[k]
    return on_line, around


# -- resolution ------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolution:
    """Where a reference leads: ``requirement`` (None when unresolved) in ``scope``; when
    ambiguous, ``candidates`` are the features that define the id."""

    requirement: Requirement | None
    scope: str = GLOBAL
    candidates: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str] | None:
        r = self.requirement
        return (self.scope, r.id) if r is not None else None


class RequirementScopes:
    """The requirement definitions of a workspace by scope, and reference resolution."""

    def __init__(self, docs: Sequence[RequirementsDoc]) -> None:
        self.docs = list(docs)
        self.features: dict[str, Feature] = {}
        self.defs: dict[str, dict[str, Requirement]] = {}
        self.doc_scope: dict[str, str] = {}
        for doc in docs:
            f = feature_of(doc.path)
            scope = f.name if f is not None else GLOBAL
            if f is not None:
                self.features.setdefault(f.name, f)
            self.doc_scope[doc.path] = scope
            table = self.defs.setdefault(scope, {})
            for r in doc.requirements:
                table.setdefault(r.id, r)
        self.names = FeatureNames(self.features)

    # -- definitions ------------------------------------------------------------------
    def scope_of(self, req: Requirement) -> str:
        return self.doc_scope.get(req.path, scope_of(req.path))

    def key(self, req: Requirement) -> tuple[str, str]:
        return (self.scope_of(req), req.id)

    def defined_in(self, rid: str) -> list[str]:
        """The scopes that define ``rid`` (global first, then features by name)."""
        return sorted((s for s, t in self.defs.items() if rid in t), key=lambda s: (s != "", s))

    def describe(self, req: Requirement) -> str:
        """``FR-001 of 001-auth`` (just the id in the global scope)."""
        scope = self.scope_of(req)
        return f"{req.id} of {scope}" if scope else req.id

    @property
    def multi(self) -> bool:
        """True when more than one feature (or a feature and global documents) exist."""
        return len(self.defs) > 1

    # -- files ------------------------------------------------------------------------
    def file_scope(self, path: str, text: str, linked: Iterable[str] = ()) -> FileScope:
        """The scope of a file: its feature, the features near each of its lines, and the
        features its path or text names plus ``linked`` (e.g. named by a tasks.md)."""
        own_f = feature_of(path)
        own = own_f.name if own_f is not None and own_f.name in self.features else None
        lines = split_lines(text)
        if path.endswith((".md", ".markdown")):
            on_line, around = _named_markdown(lines, text, self.names)
        else:
            on_line, around = _named_code(lines, self.names)
        named: set[str] = set(linked) | self.names.in_path(path)
        for found in on_line.values():
            named |= found
        named &= set(self.features)
        if own is not None:
            named.discard(own)
        return FileScope(path, own, frozenset(named), on_line, around)

    def _tier(self, rid: str, names: Iterable[str]) -> Resolution | None:
        hits = sorted(n for n in names if rid in self.defs.get(n, {}))
        if len(hits) == 1:
            return Resolution(self.defs[hits[0]][rid], hits[0])
        if hits:
            return Resolution(None, GLOBAL, tuple(hits))
        return None

    def resolve(self, ref: ScopedRef, scope: FileScope) -> Resolution:
        """The definition ``ref`` (in the file of ``scope``) refers to (module docstring)."""
        rid = ref.id
        if ref.qualifier is not None:
            q = self._canonical(ref.qualifier)
            if q is not None:
                req = self.defs.get(q, {}).get(rid)
                return Resolution(req, q) if req is not None else Resolution(None)
        for names in scope.tiers(ref.line):
            got = self._tier(rid, names)
            if got is not None:
                return got
        glob = self.defs.get(GLOBAL, {}).get(rid)
        if glob is not None:
            return Resolution(glob, GLOBAL)
        if scope.own is not None:
            return Resolution(None)
        got = self._tier(rid, self.features)
        return got if got is not None else Resolution(None)

    def _canonical(self, qualifier: str) -> str | None:
        if qualifier in self.features:
            return qualifier
        low = qualifier.lower()
        return next((n for n in self.features if n.lower() == low), None)

    def references(
        self,
        path: str,
        text: str,
        pattern: re.Pattern[str] | None = None,
        linked: Iterable[str] = (),
        *,
        aliases: bool = True,
    ) -> list[tuple[ScopedRef, Resolution]]:
        """Every id mentioned in a file, each with what it resolves to."""
        refs = scoped_references(text, pattern, aliases=aliases)
        if not refs:
            return []
        scope = self.file_scope(path, text, linked)
        return [(r, self.resolve(r, scope)) for r in refs]

    def hint(self, rid: str, candidates: Sequence[str]) -> str:
        """How to write an ambiguous reference so that it resolves."""
        first = candidates[0] if candidates else "<feature>"
        return (
            f"{rid} is defined in {len(candidates)} features ({', '.join(candidates)}): "
            f"write {qualified(first, rid)} (the feature folder, a slash, the id) or name "
            "the feature in the file"
        )


# -- cache -----------------------------------------------------------------------------

_SCOPES: OrderedDict[tuple[object, ...], RequirementScopes] = OrderedDict()
_SCOPES_LOCK = threading.Lock()


def requirement_scopes(docs: Sequence[RequirementsDoc]) -> RequirementScopes:
    """The (cached) scopes of a set of parsed requirements documents."""
    key = tuple(id(d) for d in docs)
    with _SCOPES_LOCK:
        hit = _SCOPES.get(key)
        if hit is not None and all(a is b for a, b in zip(hit.docs, docs, strict=True)):
            _SCOPES.move_to_end(key)
            return hit
    built = RequirementScopes(docs)
    with _SCOPES_LOCK:
        _SCOPES[key] = built
        while len(_SCOPES) > 16:
            _SCOPES.popitem(last=False)
    return built


def load_scopes(
    workspace: Workspace, config: Config, patterns: Sequence[str] | None = None
) -> RequirementScopes:
    """The requirement scopes of a workspace (documents parsed and cached by content)."""
    return requirement_scopes(load_requirement_docs(workspace, config, patterns))


__all__ = [
    "GLOBAL",
    "Feature",
    "FeatureNames",
    "FileScope",
    "RequirementScopes",
    "Resolution",
    "ScopedRef",
    "feature_of",
    "load_scopes",
    "qualified",
    "requirement_scopes",
    "scope_of",
    "scoped_references",
    "withdrawn",
]
