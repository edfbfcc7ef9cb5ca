"""Measuring the server itself: event-loop lag (is anything blocking it?) and memory."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import sys
import time
from collections import deque

TICK = 0.05  # seconds between two loop-lag samples


class LoopMonitor:
    """Samples how late the event loop wakes up: a blocked loop shows as lag."""

    def __init__(self) -> None:
        self.max_lag = 0.0
        self.samples: deque[float] = deque(maxlen=2000)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                t0 = time.monotonic()
                await asyncio.sleep(TICK)
                lag = max(0.0, time.monotonic() - t0 - TICK)
                self.samples.append(lag)
                self.max_lag = max(self.max_lag, lag)

    def p99(self) -> float:
        if not self.samples:
            return 0.0
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def rss_bytes() -> int:
    """Current resident set size (peak size where /proc is not available)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            pages = int(fh.read().split()[1])
        return pages * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024
