"""Hearing about changed files without an editor: :mod:`watchfiles`, else polling.

:class:`FileWatcher` reports the workspace-relative paths that were created, changed or
deleted under a workspace root, in batches, on the event loop. Paths the ``keep``
predicate refuses (ignored files, ``.phasegate/``) are dropped before they are reported.

* ``watchfiles`` (the operating system's notifications) when it can be imported and
  started;
* else, or when it fails while watching (too many watches, a file system that sends no
  notifications), **polling**: the workspace's files are listed (``.gitignore`` and the
  always-ignored folders applied, as :class:`phasegate.workspace.Workspace` lists them)
  and stat'ed every ``poll_interval`` seconds; a path whose (mtime, ctime, size, inode)
  changed, appeared or disappeared is reported. An ignored file is never seen this way;
  a ``.gitignore`` is listed like any file.

:meth:`FileWatcher.start` returns once changes made from then on are seen: the
notifications are set up, or the first listing for polling is taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Literal

from phasegate.workspace import PathOutsideWorkspace, Workspace

log = logging.getLogger(__name__)

WatchKind = Literal["watchfiles", "poll", "off"]
Prefer = Literal["auto", "watchfiles", "poll"]
POLL_INTERVAL = 1.0  # seconds between two listings when polling

Signature = tuple[int, int, int, int]


def _listing(root: Path) -> dict[str, Signature]:
    """Every file of the workspace (as :meth:`Workspace.files` lists them, its
    ``.gitignore`` read again) with its stat signature."""
    ws = Workspace(root)
    out: dict[str, Signature] = {}
    base = str(ws.root)
    for rel in ws.files():
        try:
            st = os.stat(os.path.join(base, rel))
        except OSError:
            continue
        out[rel] = (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)
    return out


class FileWatcher:
    """Reports changed files under ``root`` to ``on_paths`` (on the event loop)."""

    def __init__(
        self,
        root: Path,
        keep: Callable[[str], bool],
        on_paths: Callable[[set[str]], None],
        *,
        prefer: Prefer = "auto",
        poll_interval: float = POLL_INTERVAL,
        on_message: Callable[[str], None] | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.keep = keep
        self.on_paths = on_paths
        self.prefer = prefer
        self.poll_interval = poll_interval
        self.on_message = on_message or (lambda _text: None)
        self.kind: WatchKind = "off"
        self._workspace = Workspace(self.root)  # for relpath only
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None

    async def start(self) -> WatchKind:
        """Start watching; returns the kind used once changes made from now on are seen."""
        self._stop = asyncio.Event()
        if self.prefer != "poll" and self._watchfiles_available():
            changes = self._awatch()
            first: asyncio.Future[set[tuple[Any, str]]] = asyncio.ensure_future(changes.__anext__())
            # The first step of ``first`` sets up the notifications (watchfiles makes its
            # watcher before it first waits) and runs before this coroutine resumes.
            await asyncio.sleep(0)
            if not first.done():
                self.kind = "watchfiles"
                self._task = asyncio.get_running_loop().create_task(self._follow(changes, first))
                return self.kind
            exc = first.exception() if not first.cancelled() else None
            self.on_message(f"cannot watch files ({exc}); polling every {self.poll_interval:g} s")
        await self._start_polling()
        return self.kind

    @staticmethod
    def _watchfiles_available() -> bool:
        try:
            import watchfiles  # noqa: F401
        except ImportError:  # pragma: no cover - a declared dependency
            return False
        return True

    def _rel(self, path: str) -> str | None:
        try:
            return self._workspace.relpath(path)
        except (PathOutsideWorkspace, ValueError):
            return None

    def _report(self, rels: set[str]) -> None:
        rels = {r for r in rels if self.keep(r)}
        if rels:
            self.on_paths(rels)

    def _awatch(self) -> AsyncIterator[set[tuple[Any, str]]]:
        import watchfiles

        assert self._stop is not None

        def keep(_change: watchfiles.Change, path: str) -> bool:
            rel = self._rel(path)
            return rel is not None and self.keep(rel)

        return watchfiles.awatch(
            self.root,
            watch_filter=keep,
            debounce=50,
            step=10,
            stop_event=self._stop,
            recursive=True,
            ignore_permission_denied=True,
        )

    async def _follow(
        self,
        changes: AsyncIterator[set[tuple[Any, str]]],
        first: asyncio.Future[set[tuple[Any, str]]],
    ) -> None:
        assert self._stop is not None
        try:
            batch = await first
            while True:
                rels = {r for _c, p in batch if (r := self._rel(p)) is not None}
                if rels:
                    self.on_paths(rels)
                batch = await changes.__anext__()
        except StopAsyncIteration:  # stopped
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the watcher must not take the face down: poll instead
            if self._stop.is_set():
                return
            self.on_message(f"file watcher stopped ({exc}); polling every {self.poll_interval:g} s")
            log.warning("watchfiles failed: %s", exc)
            await self._start_polling()

    async def _start_polling(self) -> None:
        listing = await asyncio.to_thread(_listing, self.root)
        self.kind = "poll"
        self._task = asyncio.get_running_loop().create_task(self._poll(listing))

    async def _poll(self, last: dict[str, Signature]) -> None:
        assert self._stop is not None
        while not self._stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.poll_interval)
            if self._stop.is_set():
                return
            try:
                now = await asyncio.to_thread(_listing, self.root)
            except Exception as exc:  # keep polling: the next listing may work
                log.warning("listing the workspace failed: %s", exc)
                continue
            changed = {p for p, sig in now.items() if last.get(p) != sig}
            changed |= last.keys() - now.keys()
            last = now
            if changed:
                self._report(changed)

    async def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
        task = self._task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            self._task = None
        self.kind = "off"
