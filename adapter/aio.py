"""A bounded wait on an ``asyncio.Event`` that a cancellation always ends."""

from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until ``event`` is set or ``timeout`` seconds pass; ``True`` if it was set.

    Uses ``asyncio.timeout``, not ``asyncio.wait_for``: on Python 3.11 ``wait_for``
    returns and drops a cancellation that arrives in the loop turn the wait completes
    in (CPython gh-86296, fixed in 3.12), so a loop waiting that way could never be
    cancelled (``tests/test_cancellation.py``).

    Raises:
        asyncio.CancelledError: the waiting task was cancelled.
    """
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True
