"""What the stream brokers share beyond their protocol: a :class:`StartWatch` fed by
its broker through an asyncio queue (the memory and Redis brokers).

See docs/architecture.md for the layers.
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

__all__ = ["QueueStartWatch"]


class QueueStartWatch:
    """A :class:`~adapter.broker.protocol.StartWatch` fed through an asyncio queue by
    its broker, which keeps its open watches in ``watches`` (the watch leaves it on
    :meth:`close`).

    Args:
        watches: the broker's set of open watches; the new watch joins it.
    """

    def __init__(self, watches: set[QueueStartWatch]) -> None:
        self.watches = watches
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        watches.add(self)

    async def __aiter__(self) -> AsyncIterator[str]:
        """The run ids the broker puts in :attr:`queue`, as they come."""
        while True:
            yield await self.queue.get()

    def close(self) -> None:
        """Leave the broker's watches."""
        self.watches.discard(self)

    @staticmethod
    def notify(watches: set[QueueStartWatch], run_id: str) -> None:
        """Tell every open watch of ``watches`` that ``run_id``'s stream started (on
        the watches' loop)."""
        for watch in list(watches):
            watch.queue.put_nowait(run_id)
