"""The language server's loop monitor notes where its event loop was stuck: the stack of
the worst stall, not only its length."""

from __future__ import annotations

import asyncio
import time

from phasegate.lsp.stats import STALL, LoopMonitor


def _blocks_the_loop() -> None:
    time.sleep(STALL * 3)  # a synchronous call on the loop: nothing else runs meanwhile


def test_the_worst_stall_names_what_blocked_the_loop() -> None:
    async def main() -> LoopMonitor:
        monitor = LoopMonitor()
        monitor.start()
        await asyncio.sleep(0.2)  # a few beats
        _blocks_the_loop()
        await asyncio.sleep(0.2)
        monitor.stop()
        return monitor

    monitor = asyncio.run(main())
    assert monitor.max_lag > STALL
    assert any("_blocks_the_loop" in frame for frame in monitor.worst_stack), monitor.worst_stack
