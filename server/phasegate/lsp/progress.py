"""Work-done progress for long commands: begin / report / end, cancellable.

The server creates the token (``window/workDoneProgress/create``) when the client
supports work-done progress; a ``window/workDoneProgress/cancel`` for it calls the
``on_cancel`` callback. Without client support every method is a no-op.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
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
