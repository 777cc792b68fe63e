"""The stream broker: carries a run's stream events from where they happen (the driver
and node attempts in a worker) to the API processes that serve SSE and long-polls.

Event ids have the Redis-stream form ``<epoch-ms>-<n>``, as the LangGraph Agent Server
sends them in SSE ``id:`` lines. They increase strictly across *all* runs of one broker
(not only within a run), so they serve directly as SSE ids and ``Last-Event-ID``
cursors, for a run's stream and for a thread's stream, which is the concatenation of
its runs' streams.

Every stream ends with the control event :data:`END` (with an id of its own), which
:meth:`StreamBroker.subscribe` yields last; the thread stream sends it as its
``metadata {"status": "run_done"}`` bracket.

Three backends implement :class:`StreamBroker`: :class:`adapter.broker.memory.MemoryBroker`
(API and worker in one process), :class:`adapter.broker.sqlite.SqliteBroker` (processes
on one machine) and :class:`adapter.broker.redis.RedisBroker` (any number of machines).
All pass ``tests/test_broker_conformance.py``. How each is made, opened and closed is
its own.

See docs/architecture.md for the layers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, AsyncIterator, Protocol, runtime_checkable

__all__ = [
    "BEFORE_EVERYTHING",
    "END",
    "StartWatch",
    "StreamBroker",
    "StreamEvent",
    "format_event_id",
    "next_event_id",
    "parse_event_id",
    "subscribe_cursor",
]

END = "__end__"
"""Name of the control event that closes a run's stream (never sent as such to clients)."""

BEFORE_EVERYTHING = (-1, -1)
"""The cursor ``"-1"``: before every event (a subscription from the start)."""


@dataclass(frozen=True)
class StreamEvent:
    """One event: ``id`` (``ms-n``), SSE ``event`` name and JSON ``data`` bytes."""

    id: str
    event: str
    data: bytes


def parse_event_id(value: str | None) -> tuple[int, int] | None:
    """``"ms-n"`` as a sortable tuple; ``"-1"`` is :data:`BEFORE_EVERYTHING`; anything
    else (``None``, garbage) is ``None``."""
    if value is None:
        return None
    value = value.strip()
    if value == "-1":
        return BEFORE_EVERYTHING
    ms, sep, n = value.partition("-")
    if not sep or not ms.isdigit() or not n.isdigit():
        return None
    return (int(ms), int(n))


def format_event_id(key: tuple[int, int]) -> str:
    """``(ms, n)`` as the id ``"ms-n"``."""
    return f"{key[0]}-{key[1]}"


def next_event_id(last: tuple[int, int]) -> tuple[int, int]:
    """The id after ``last``: ``(now_ms, 0)``, or ``(last_ms, n+1)`` when the clock
    has not moved past ``last_ms`` (same millisecond, or a clock step back)."""
    ms = int(time.time() * 1000)
    return (ms, 0) if ms > last[0] else (last[0], last[1] + 1)


def subscribe_cursor(after: str | None, from_start: bool) -> tuple[int, int] | None:
    """Where :meth:`StreamBroker.subscribe` starts: :data:`BEFORE_EVERYTHING` with
    ``from_start``, else ``after`` parsed (``None``: no usable cursor, live events
    only)."""
    return BEFORE_EVERYTHING if from_start else parse_event_id(after)


@runtime_checkable
class StartWatch(Protocol):
    """Run ids whose streams start after the watch was made (see
    :meth:`StreamBroker.watch_starts`). Use as an async iterator; :meth:`close` it."""

    def __aiter__(self) -> AsyncIterator[str]:
        """The run ids, in the order their streams started."""
        ...

    def close(self) -> None:
        """Stop watching."""
        ...


@runtime_checkable
class StreamBroker(Protocol):
    """Where runs' stream events go. Implementations keep per-run order and give ids
    that increase across runs (see the module docstring)."""

    def publish(self, run_id: str, event: str, data: Any) -> None:
        """Append an event to the run's stream: ``data`` is JSON-encoded here (Evergraph's
        serialiser). Callable from any thread; never blocks on readers. Ignored once the
        run's stream has ended."""
        ...

    def end(self, run_id: str) -> None:
        """Close the run's stream with an :data:`END` event (data ``null``); readers
        drain and stop. Any thread; idempotent (a second call adds nothing). Once it
        returns, every event published before it can be read."""
        ...

    def subscribe(
        self, run_id: str, after: str | None = None, *, from_start: bool = False
    ) -> AsyncIterator[StreamEvent]:
        """Events of ``run_id``, then live ones as they are published, ending with the
        :data:`END` event.

        Args:
            after: a cursor (``Last-Event-ID``): only events with ids strictly after it
                (``"-1"``: all of them). ``None`` or an unparsable value: only events
                published from now on.
            from_start: all events, whatever ``after`` says.

        A run whose stream has ended yields nothing more than what the cursor selects
        (so ``after=None`` on an ended run yields nothing). Read on the broker's loop.
        """
        ...

    async def has_stream(self, run_id: str) -> bool:
        """Whether the run's stream has started (an event was published or it ended)
        and is still kept."""
        ...

    def watch_starts(self) -> StartWatch:
        """Watch for runs whose stream starts (first event, or an end without events)
        from now on; a broker whose feed of starts lags (Redis) may also report a
        start from shortly before, so consumers skip runs they already know
        (``adapter/resources/follow.py``). Call on the broker's loop."""
        ...
