"""Work-done progress for long commands: begin / report / end, cancellable.

The server creates the token (``window/workDoneProgress/create``) when the client
supports work-done progress; a ``window/workDoneProgress/cancel`` for it calls the
``on_cancel`` callback. Without client support every method is a no-op.

:class:`BackgroundProgress` is the progress of work the server starts by itself (the
workspace analysed in the background when it opens): it takes reports at once and shows
them once the client made the token, until the work is done.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from types import TracebackType
from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from phasegate.lsp.core import PhasegateServer

_ids = itertools.count(1)


class WorkDone:
    def __init__(
        self,
        server: PhasegateServer,
        title: str,
        *,
        cancellable: bool = True,
        on_cancel: Callable[[], None] | None = None,
    ) -> None:
        self.server = server
        self.title = title
        self.cancellable = cancellable
        self.on_cancel = on_cancel
        self.token: str | None = None
        self._last = ""

    def _supported(self) -> bool:
        window = self.server.client_capabilities.window
        return bool(window is not None and window.work_done_progress)

    async def __aenter__(self) -> WorkDone:
        if not self._supported():
            return self
        token = f"phasegate-{next(_ids)}"
        try:
            await asyncio.wait_for(self.server.work_done_progress.create_async(token), 10)
        except Exception:
            return self
        self.token = token
        self.server.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(
                title=self.title, cancellable=self.cancellable, message="starting"
            ),
        )
        fut = self.server.work_done_progress.tokens.get(token)
        if fut is not None:
            fut.add_done_callback(self._cancelled)
        return self

    def _cancelled(self, fut: Future[object]) -> None:
        if fut.cancelled() and self.on_cancel is not None:
            self.on_cancel()

    def report(self, message: str, percentage: int | None = None) -> None:
        if self.token is None or message == self._last:
            return
        self._last = message
        self.server.work_done_progress.report(
            self.token, types.WorkDoneProgressReport(message=message, percentage=percentage)
        )

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.token is None:
            return
        if exc_type is None:
            message = "done"
        elif issubclass(exc_type, asyncio.CancelledError):
            message = "cancelled"
        else:
            message = f"failed: {exc}"
        self.server.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))
        self.server.work_done_progress.tokens.pop(self.token, None)


class BackgroundProgress:
    """Progress of background work: :meth:`report` may be called before the client has
    made the token (the reports are kept, the last one is shown when it is), and
    :meth:`show_until` ends it when the work is done."""

    def __init__(self, server: PhasegateServer, title: str) -> None:
        self.server = server
        self.title = title
        self._shown: WorkDone | None = None
        self._last: tuple[str, int | None] | None = None

    def report(self, message: str, percentage: int | None = None) -> None:
        self._last = (message, percentage)
        if self._shown is not None:
            self._shown.report(message, percentage)

    async def show_until(self, done: Awaitable[object]) -> None:
        """Show the progress (begin, the reports, end) until ``done`` is."""
        async with WorkDone(self.server, self.title, cancellable=False) as wd:
            self._shown = wd
            if self._last is not None:
                wd.report(*self._last)
            try:
                await done
            finally:
                self._shown = None
