"""The engine's file watcher: watchfiles, or polling; changes after ``start`` are seen."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from phasegate.live.watch import FileWatcher, Prefer

WAIT = 60.0  # bounds a failure only


class Seen:
    def __init__(self) -> None:
        self.paths: set[str] = set()
        self._changed = asyncio.Event()

    def __call__(self, rels: set[str]) -> None:
        self.paths |= rels
        self._changed.set()

    async def until(self, *wanted: str) -> None:
        async def wait() -> None:
            while not set(wanted) <= self.paths:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), WAIT)


@pytest.mark.parametrize("prefer", ["auto", "poll"])
async def test_changes_after_start_are_reported(tmp_path: Path, prefer: Prefer) -> None:
    (tmp_path / ".gitignore").write_text("ignored.py\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "old.py").write_text("A = 1\n")
    (tmp_path / "gone.py").write_text("B = 1\n")
    seen = Seen()
    watcher = FileWatcher(
        tmp_path,
        keep=lambda rel: not rel.startswith("skip"),
        on_paths=seen,
        prefer=prefer,
        poll_interval=0.05,
    )
    kind = await watcher.start()
    assert kind == ("poll" if prefer == "poll" else "watchfiles")
    try:
        (tmp_path / "skip.py").write_text("x = 1\n")  # refused by ``keep``
        (tmp_path / "pkg" / "new.py").write_text("C = 1\n")
        (tmp_path / "pkg" / "old.py").write_text("A = 22\n")
        (tmp_path / "gone.py").unlink()
        await seen.until("pkg/new.py", "pkg/old.py", "gone.py")
        assert "skip.py" not in seen.paths
    finally:
        await watcher.stop()
    assert watcher.kind == "off"


async def test_polling_lists_as_the_workspace_does(tmp_path: Path) -> None:
    """Polling never sees ignored files (.gitignore, the always-ignored folders)."""
    (tmp_path / ".gitignore").write_text("ignored.py\n")
    (tmp_path / "node_modules").mkdir()
    seen = Seen()
    watcher = FileWatcher(tmp_path, keep=lambda _rel: True, on_paths=seen, prefer="poll")
    watcher.poll_interval = 0.05
    await watcher.start()
    try:
        (tmp_path / "ignored.py").write_text("x = 1\n")
        (tmp_path / "node_modules" / "lib.js").write_text("x\n")
        (tmp_path / "seen.py").write_text("x = 1\n")  # reported after the others
        await seen.until("seen.py")
        (tmp_path / "seen2.py").write_text("x = 1\n")
        await seen.until("seen2.py")
        assert seen.paths == {"seen.py", "seen2.py"}
    finally:
        await watcher.stop()
