"""A big diagnostics update goes out in short turns of the event loop: however slow a
file's diagnostics are to build (its text is read, and a read can wait for the
interpreter lock a busy analysis thread holds), the loop serves other work between
turns, and every file is published once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from lsprotocol import types

from phasegate.lsp.diagnostics import PUBLISH_SLICE, Diagnostics


def test_a_big_update_is_published_in_short_turns(tmp_path: Path) -> None:
    async def main() -> tuple[int, int, list[str]]:
        published: list[str] = []
        server = SimpleNamespace(
            engine=SimpleNamespace(root=tmp_path, problems=[], live=None),
            loop=asyncio.get_running_loop(),
            text_document_publish_diagnostics=lambda p: published.append(p.uri),
            core=SimpleNamespace(documents=set()),
        )
        diagnostics = Diagnostics(cast(Any, server))

        def slow_build(rel: str) -> list[types.Diagnostic]:
            time.sleep(PUBLISH_SLICE / 4)
            start, end = types.Position(line=0, character=0), types.Position(line=0, character=1)
            return [types.Diagnostic(range=types.Range(start=start, end=end), message=rel)]

        diagnostics.build = slow_build  # type: ignore[method-assign]
        ticks = 0

        async def other_work() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0)
                ticks += 1

        ticker = asyncio.create_task(other_work())
        diagnostics.update({f"m{i}.py" for i in range(40)})
        first_turn = len(published)
        while diagnostics.pending:
            await asyncio.sleep(0)
        ticker.cancel()
        return first_turn, ticks, published

    first_turn, ticks, published = asyncio.run(main())
    assert 1 <= first_turn < 40  # not all in one turn
    assert ticks > 0  # other work ran between the turns
    assert sorted(published) == sorted({(tmp_path / f"m{i}.py").as_uri() for i in range(40)})
