"""Measuring the server itself: event-loop lag (is anything blocking it?) and memory."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import sys
import threading
import time
import traceback
from collections import deque

TICK = 0.05  # seconds between two loop-lag samples
# A loop late by more than this has the stack it is stuck in noted (the worst such stall
# is kept): what blocked it, rather than only that something did.
STALL = 0.1


class LoopMonitor:
    """Samples how late the event loop wakes up: a blocked loop shows as lag. A watchdog
    thread notes where the loop's thread is when it is late by more than :data:`STALL`
    (``worst_stack``: the innermost frames of the worst stall seen)."""

    def __init__(self) -> None:
        self.max_lag = 0.0
        self.samples: deque[float] = deque(maxlen=2000)
        self.worst_stack: list[str] = []
        self._worst_stall = 0.0
        self._task: asyncio.Task[None] | None = None
        self._beat = time.monotonic()
        self._loop_thread: int | None = None
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None

    def start(self) -> None:
        if self._task is None:
            self._loop_thread = threading.get_ident()
            self._beat = time.monotonic()
            self._task = asyncio.get_running_loop().create_task(self._run())
            self._stop.clear()
            self._watchdog = threading.Thread(
                target=self._watch, name="phasegate-loop-watchdog", daemon=True
            )
            self._watchdog.start()

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._stop.set()
        self._watchdog = None

    async def _run(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                t0 = time.monotonic()
                await asyncio.sleep(TICK)
                now = time.monotonic()
                self._beat = now
                lag = max(0.0, now - t0 - TICK)
                self.samples.append(lag)
                self.max_lag = max(self.max_lag, lag)

    def _watch(self) -> None:
        noted_beat = -1.0
        while not self._stop.wait(TICK):
            beat = self._beat
            stalled = time.monotonic() - beat - TICK
            if beat == noted_beat:  # the stall whose stack is kept goes on
                self._worst_stall = max(self._worst_stall, stalled)
                continue
            if stalled <= STALL or stalled <= self._worst_stall:
                continue
            frame = sys._current_frames().get(self._loop_thread or -1)
            if frame is None:
                continue
            self._worst_stall = stalled
            noted_beat = beat  # one stack per stall (the first moment past STALL)
            self.worst_stack = [
                f"{f.filename}:{f.lineno} {f.name}" for f in traceback.extract_stack(frame)[-12:]
            ]

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
