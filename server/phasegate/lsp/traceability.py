"""Where each requirement id is defined, designed, implemented and tested.

Definitions and design sections come from :mod:`phasegate.documents` (parsed per
content, so cheap to ask again). Mentions in source and test files are indexed once, in
a worker thread, on the first hover, then kept up to date from the changed paths the
scheduler sees — a one-file change re-reads one file.

Spec Kit and Kiro ids are scoped by feature folder (:mod:`phasegate.features`): a mention
is resolved in the file it is in (:meth:`TraceIndex.resolve`), and the design, source and
test mentions listed for a requirement are those that resolve to it.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from phasegate.workspace import matches

if TYPE_CHECKING:
    from phasegate.documents import DesignRef, IdRef, Requirement
    from phasegate.features import RequirementScopes, Resolution
    from phasegate.live.engine import Engine


@dataclass(frozen=True)
class Mention:
    path: str
    line: int
    start: int
    end: int


class TraceIndex:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._refs: dict[str, list[IdRef]] | None = None
        self._lock = threading.Lock()
        self._building: asyncio.Future[None] | None = None

    # -- patterns -------------------------------------------------------------------------
    def _patterns(self) -> tuple[list[str], list[str]]:
        cfg = self.engine.config
        if cfg is None:
            return [], []
        return list(cfg.artifacts.sources), list(cfg.artifacts.tests)

    def _indexed(self, rel: str) -> bool:
        sources, tests = self._patterns()
        return matches(rel, sources) or matches(rel, tests)

    def _scan(self, rel: str) -> list[IdRef]:
        from phasegate.documents import find_id_references, id_regex_for

        cfg = self.engine.config
        text = self.engine.workspace.read_text(rel)
        if text is None or cfg is None:
            return []
        return find_id_references(text, id_regex_for(cfg))

    def _build(self) -> dict[str, list[IdRef]]:
        sources, tests = self._patterns()
        refs: dict[str, list[IdRef]] = {}
        for rel in self.engine.workspace.glob(sources + tests):
            found = self._scan(rel)
            if found:
                refs[rel] = found
        return refs

    async def ensure(self) -> None:
        if self._refs is not None:
            return
        if self._building is None:
            loop = asyncio.get_running_loop()
            self._building = loop.create_future()
            try:
                refs = await asyncio.to_thread(self._build)
                with self._lock:
                    self._refs = refs
            finally:
                self._building.set_result(None)
                self._building = None
        else:
            await asyncio.shield(self._building)

    def update(self, rels: set[str]) -> None:
        """Paths changed: re-scan those the index covers (no-op until it is built)."""
        if self._refs is None:
            return
        for rel in rels:
            found = self._scan(rel) if self._indexed(rel) else []
            with self._lock:
                if found:
                    self._refs[rel] = found
                else:
                    self._refs.pop(rel, None)

    def reset(self) -> None:
        with self._lock:
            self._refs = None

    # -- queries --------------------------------------------------------------------------
    def requirement(self, rid: str) -> Requirement | None:
        from phasegate.documents import requirement_index

        cfg = self.engine.config
        if cfg is None:
            return None
        return requirement_index(self.engine.workspace, cfg).get(rid)

    def design(self, rid: str) -> list[DesignRef]:
        from phasegate.documents import design_locations

        cfg = self.engine.config
        if cfg is None:
            return []
        return design_locations(self.engine.workspace, cfg).get(rid, [])

    def mentions(self, rid: str) -> tuple[list[Mention], list[Mention]]:
        """(implemented: source mentions, tested: test mentions)."""
        _sources, tests = self._patterns()
        impl: list[Mention] = []
        tested: list[Mention] = []
        with self._lock:
            items = sorted((self._refs or {}).items())
        for rel, refs in items:
            hits = [Mention(rel, r.line, r.start, r.end) for r in refs if r.id == rid]
            if not hits:
                continue
            (tested if matches(rel, tests) else impl).extend(hits)
        return impl, tested

    # -- feature scopes ---------------------------------------------------------------
    def scopes(self) -> RequirementScopes | None:
        from phasegate.features import load_scopes

        cfg = self.engine.config
        return load_scopes(self.engine.workspace, cfg) if cfg is not None else None

    def _linked(self, rel: str) -> set[str]:
        """Features whose tasks.md names the test file ``rel``."""
        from phasegate.features import scope_of
        from phasegate.tasks import TASKS_GLOBS, PathIndex, parse_tasks

        _sources, tests = self._patterns()
        if not matches(rel, tests):
            return set()
        ws = self.engine.workspace
        index = PathIndex([rel])
        out: set[str] = set()
        for path in ws.glob(TASKS_GLOBS):
            text = ws.read_text(path)
            if text and any(index.match(p) for p in parse_tasks(text, path).files):
                out.add(scope_of(path))
        out.discard("")
        return out

    def resolve(self, rel: str | None, text: str, ref: IdRef) -> Resolution | None:
        """What the mention ``ref`` of the file ``rel`` (text ``text``) refers to."""
        from phasegate.documents import id_regex_for
        from phasegate.features import scoped_references

        cfg = self.engine.config
        scopes = self.scopes()
        if cfg is None or scopes is None:
            return None
        path = rel or ""
        refs = [
            r
            for r in scoped_references(text, id_regex_for(cfg))
            if r.line == ref.line and r.start == ref.start and r.id == ref.id
        ]
        if not refs:
            return None
        fscope = scopes.file_scope(path, text, self._linked(path) if rel else ())
        return scopes.resolve(refs[0], fscope)

    def _resolves_to(self, rel: str, line: int, start: int, key: tuple[str, str]) -> bool:
        from phasegate.documents import IdRef

        text = self.engine.workspace.read_text(rel)
        if text is None:
            return False
        res = self.resolve(rel, text, IdRef(key[1], line, start, start))
        return res is not None and res.key == key

    def scoped_design(self, key: tuple[str, str]) -> list[DesignRef]:
        """Design mentions that resolve to the requirement ``key`` (scope, id)."""
        scopes = self.scopes()
        refs = self.design(key[1])
        if scopes is None or not scopes.multi:
            return refs
        return [d for d in refs if self._resolves_to(d.path, d.line, d.start, key)]

    def scoped_mentions(self, key: tuple[str, str]) -> tuple[list[Mention], list[Mention]]:
        """(implemented, tested) mentions that resolve to the requirement ``key``."""
        impl, tested = self.mentions(key[1])
        scopes = self.scopes()
        if scopes is None or not scopes.multi:
            return impl, tested

        def keep(ms: list[Mention]) -> list[Mention]:
            return [m for m in ms if self._resolves_to(m.path, m.line, m.start, key)]

        return keep(impl), keep(tested)

    def id_at(self, text: str, line: int, character: int) -> IdRef | None:
        """The requirement id under (line, character) in ``text``."""
        from phasegate.documents import find_id_references, id_regex_for, split_lines

        cfg = self.engine.config
        lines = split_lines(text)
        if cfg is None or line >= len(lines):
            return None
        for ref in find_id_references(lines[line], id_regex_for(cfg)):
            if ref.start <= character <= ref.end:
                return type(ref)(ref.id, line, ref.start, ref.end)
        return None
