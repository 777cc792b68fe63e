"""Stream broker: carries a run's stream events from where they happen (the driver and
node attempts in a worker) to the API processes that serve SSE and long-polls.

Event ids have the Redis-stream form ``<epoch-ms>-<n>`` that the reference server
uses (API.md §2.3), strictly increasing per run, so they serve directly as SSE
``id:`` lines and ``Last-Event-ID`` cursors.

:class:`MemoryBroker` serves the embedded default, where ``evergraph dev`` runs API
and worker in one process. Publishing is thread-safe (node attempts publish from
their own threads); readers wait on the broker's event loop.
"""

from __future__ import annotations

import asyncio
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

from adapter import serde

END = "__end__"
"""Name of the control event that closes a run's stream (never sent to clients)."""


@dataclass(frozen=True)
class StreamEvent:
    """One event: ``id`` (``ms-n``), SSE ``event`` name and JSON ``data`` bytes."""

    id: str
    event: str
    data: bytes


def parse_event_id(value: str | None) -> tuple[int, int] | None:
    """``"ms-n"`` as a sortable tuple; ``"-1"`` is "before everything"; else ``None``."""
    if value is None:
        return None
    value = value.strip()
    if value == "-1":
        return (-1, -1)
    ms, sep, n = value.partition("-")
    if not sep or not ms.isdigit() or not n.isdigit():
        return None
    return (int(ms), int(n))


class StreamBroker(ABC):
    """Where runs' stream events go. Implementations must keep per-run order."""

    @abstractmethod
    def publish(self, run_id: str, event: str, data: Any) -> None:
        """Append an event (``data`` is JSON-encoded here); callable from any thread."""

    @abstractmethod
    def end(self, run_id: str) -> None:
        """Mark the run's stream finished; readers drain and stop. Any thread."""

    @abstractmethod
    def subscribe(
        self, run_id: str, after: str | None = None, *, from_start: bool = False
    ) -> AsyncIterator[StreamEvent]:
        """Events of ``run_id`` strictly after id ``after`` (or all with
        ``from_start``), then live ones, until the run's stream ends."""



@dataclass
class _RunStream:
    events: list[StreamEvent] = field(default_factory=list)
    ended: bool = False
    ended_at: float = 0.0
    cond: asyncio.Condition | None = None


class MemoryBroker(StreamBroker):
    """In-process broker for the embedded default.

    Args:
        loop: the loop readers run on (the API's).
        retention: seconds a finished run's events stay available for
            ``Last-Event-ID`` replay and ``join``.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, retention: float = 3600.0) -> None:
        self.loop = loop
        self.retention = retention
        self._runs: dict[str, _RunStream] = {}
        self._lock = threading.Lock()
        self._last = (0, 0)

    def _next_id(self) -> str:
        ms = int(time.time() * 1000)
        last_ms, last_n = self._last
        self._last = (ms, 0) if ms > last_ms else (last_ms, last_n + 1)
        return f"{self._last[0]}-{self._last[1]}"

    def _stream(self, run_id: str) -> _RunStream:
        s = self._runs.get(run_id)
        if s is None:
            s = self._runs[run_id] = _RunStream()
        return s

    def _notify(self, run_id: str) -> None:
        s = self._runs.get(run_id)
        if s is not None and s.cond is not None:
            cond = s.cond

            async def wake() -> None:
                async with cond:
                    cond.notify_all()

            asyncio.ensure_future(wake())

    def _call_on_loop(self, fn, *args) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            fn(*args)
        else:
            self.loop.call_soon_threadsafe(fn, *args)

    def publish(self, run_id: str, event: str, data: Any) -> None:
        payload = serde.dumps(data)
        with self._lock:
            s = self._stream(run_id)
            if s.ended:
                return
            s.events.append(StreamEvent(self._next_id(), event, payload))
        self._call_on_loop(self._notify, run_id)

    def end(self, run_id: str) -> None:
        with self._lock:
            s = self._stream(run_id)
            s.ended = True
            s.ended_at = time.monotonic()
            self._gc()
        self._call_on_loop(self._notify, run_id)

    def _gc(self) -> None:
        cutoff = time.monotonic() - self.retention
        for rid in [r for r, s in self._runs.items() if s.ended and s.ended_at < cutoff]:
            del self._runs[rid]

    async def subscribe(
        self, run_id: str, after: str | None = None, *, from_start: bool = False
    ) -> AsyncIterator[StreamEvent]:
        with self._lock:
            s = self._stream(run_id)
            if s.cond is None:
                s.cond = asyncio.Condition()
        cursor = (-1, -1) if from_start else parse_event_id(after)
        if cursor is None:
            # no cursor: live events only, from now on
            index = len(s.events)
        else:
            index = 0
            while index < len(s.events) and parse_event_id(s.events[index].id) <= cursor:
                index += 1
        while True:
            while index < len(s.events):
                yield s.events[index]
                index += 1
            if s.ended:
                return
            async with s.cond:
                if index >= len(s.events) and not s.ended:
                    await s.cond.wait()
