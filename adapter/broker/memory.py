"""Stream broker: carries a run's stream events from where they happen (the driver and
node attempts in a worker) to the API processes that serve SSE and long-polls.

Event ids have the Redis-stream form ``<epoch-ms>-<n>`` that the reference server
uses (API.md §2.3). They increase strictly across *all* runs of one broker (not only
within a run), so they serve directly as SSE ``id:`` lines and ``Last-Event-ID``
cursors, for a run's stream and for a thread's stream (§3.5.4), which is the
concatenation of its runs' streams.

Every stream ends with the control event :data:`END` (with an id of its own), which
:meth:`StreamBroker.subscribe` yields last; the thread stream sends it as its
``metadata {"status": "run_done"}`` bracket.

:class:`MemoryBroker` serves the embedded default, where ``evergraph dev`` runs API
and worker in one process. Publishing is thread-safe (node attempts publish from
their own threads); readers wait on the broker's event loop. Only a window of each
run's most recent events stays in Python memory; older ones are spilled to a SQLite
file, so a stream's memory stays bounded however long the run.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator

from evergraph.adapter import serde

END = "__end__"
"""Name of the control event that closes a run's stream (never sent as such to clients)."""


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


def next_event_id(last: tuple[int, int]) -> tuple[int, int]:
    """The id after ``last``: ``(now_ms, 0)``, or ``(last_ms, n+1)`` when the clock
    has not moved past ``last_ms`` (same millisecond, or a clock step back)."""
    ms = int(time.time() * 1000)
    return (ms, 0) if ms > last[0] else (last[0], last[1] + 1)


class StartWatch(ABC):
    """Run ids whose streams start after the watch was made (see
    :meth:`StreamBroker.watch_starts`). Use as an async iterator; :meth:`close` it."""

    @abstractmethod
    def __aiter__(self) -> AsyncIterator[str]: ...

    @abstractmethod
    def close(self) -> None:
        """Stop watching."""


class StreamBroker(ABC):
    """Where runs' stream events go. Implementations must keep per-run order and give
    ids that increase across runs."""

    @abstractmethod
    def publish(self, run_id: str, event: str, data: Any) -> None:
        """Append an event (``data`` is JSON-encoded here); callable from any thread.
        Ignored once the run's stream has ended."""

    @abstractmethod
    def end(self, run_id: str) -> None:
        """Close the run's stream with an :data:`END` event; readers drain and stop.
        Any thread; idempotent."""

    @abstractmethod
    def subscribe(
        self, run_id: str, after: str | None = None, *, from_start: bool = False
    ) -> AsyncIterator[StreamEvent]:
        """Events of ``run_id`` strictly after id ``after`` (all of them with
        ``from_start``; without either, only events published from now on), then
        live ones, ending with the :data:`END` event.

        A run whose stream has ended yields nothing more than what the cursor
        selects (so ``after=None`` on an ended run yields nothing)."""

    @abstractmethod
    async def has_stream(self, run_id: str) -> bool:
        """Whether the run's stream has started (an event was published or it ended)."""

    @abstractmethod
    def watch_starts(self) -> StartWatch:
        """Watch for runs whose stream starts (first event, or an end without events)
        from now on. Must be called on the broker's loop."""


# ---------------------------------------------------------------------------- memory


@dataclass
class _RunStream:
    events: list[StreamEvent] = field(default_factory=list)
    base: int = 0  # absolute index of events[0]; indexes below live in the spill
    ended: bool = False
    ended_at: float = 0.0
    changed: asyncio.Event | None = None

    @property
    def size(self) -> int:
        return self.base + len(self.events)


class _Spill:
    """Evicted events of a :class:`MemoryBroker`, in a SQLite file (thread-safe)."""

    def __init__(self, path: Path | None) -> None:
        self._tmp = None
        if path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="evergraph-stream-")
            path = Path(self._tmp.name) / "spill.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=OFF")
        self._conn.execute("DROP TABLE IF EXISTS spill")
        self._conn.execute(
            "CREATE TABLE spill (run_id TEXT, idx INTEGER, ms INTEGER, n INTEGER, event TEXT, data BLOB,"
            " PRIMARY KEY (run_id, idx)) WITHOUT ROWID"
        )
        self._lock = threading.Lock()

    def put(self, run_id: str, first: int, events: list[StreamEvent]) -> None:
        rows = []
        for i, e in enumerate(events):
            ms, n = parse_event_id(e.id)  # type: ignore[misc]
            rows.append((run_id, first + i, ms, n, e.event, e.data))
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany("INSERT OR REPLACE INTO spill VALUES (?,?,?,?,?,?)", rows)
            self._conn.execute("COMMIT")

    def get(self, run_id: str, start: int, stop: int, limit: int = 256) -> list[StreamEvent]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT ms, n, event, data FROM spill WHERE run_id=? AND idx>=? AND idx<? ORDER BY idx LIMIT ?",
                (run_id, start, stop, limit),
            ).fetchall()
        return [StreamEvent(f"{ms}-{n}", event, bytes(data)) for ms, n, event, data in rows]

    def first_after(self, run_id: str, cursor: tuple[int, int]) -> int | None:
        ms, n = cursor
        with self._lock:
            row = self._conn.execute(
                "SELECT MIN(idx) FROM spill WHERE run_id=? AND (ms>? OR (ms=? AND n>?))", (run_id, ms, ms, n)
            ).fetchone()
        return row[0] if row else None

    def drop(self, run_ids: list[str]) -> None:
        with self._lock:
            self._conn.executemany("DELETE FROM spill WHERE run_id=?", [(r,) for r in run_ids])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
        if self._tmp is not None:
            self._tmp.cleanup()


class QueueStartWatch(StartWatch):
    """A :class:`StartWatch` fed through an asyncio queue by its broker, which keeps
    its open watches in ``watches`` (the watch leaves it on :meth:`close`)."""

    def __init__(self, watches: set[QueueStartWatch]) -> None:
        self.watches = watches
        self.queue: asyncio.Queue[str] = asyncio.Queue()

    async def __aiter__(self) -> AsyncIterator[str]:
        while True:
            yield await self.queue.get()

    def close(self) -> None:
        self.watches.discard(self)


class MemoryBroker(StreamBroker):
    """In-process broker for the embedded default.

    Args:
        loop: the loop readers run on (the API's).
        retention: seconds a finished run's events stay available for
            ``Last-Event-ID`` replay and ``join``.
        window: events of each run kept in Python memory (the replay window); once a
            run has ``2 * window`` in memory, all but the last ``window`` move to the
            spill file. Readers behind the window read from the spill.
        spill_path: SQLite file for evicted events (recreated empty); default a file in
            a private temporary folder removed by :meth:`close`.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        retention: float = 3600.0,
        window: int = 1000,
        spill_path: Path | None = None,
    ) -> None:
        self.loop = loop
        self.retention = retention
        self.window = max(1, window)
        self._runs: dict[str, _RunStream] = {}
        self._lock = threading.Lock()
        self._last = (0, 0)
        self._spill = _Spill(spill_path)
        self._watches: set[QueueStartWatch] = set()

    def close(self) -> None:
        """Remove the spill file."""
        self._spill.close()

    def _next_id(self) -> str:
        self._last = next_event_id(self._last)
        return f"{self._last[0]}-{self._last[1]}"

    def _stream(self, run_id: str) -> _RunStream:
        s = self._runs.get(run_id)
        if s is None:
            s = self._runs[run_id] = _RunStream()
        return s

    def _notify(self, run_id: str, started: bool) -> None:
        s = self._runs.get(run_id)
        if s is not None and s.changed is not None:
            changed, s.changed = s.changed, asyncio.Event()
            changed.set()
        if started:
            for watch in list(self._watches):
                watch.queue.put_nowait(run_id)

    def _call_on_loop(self, fn, *args) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            fn(*args)
        else:
            self.loop.call_soon_threadsafe(fn, *args)

    def _append(self, run_id: str, s: _RunStream, event: StreamEvent) -> bool:
        started = s.size == 0 and not s.ended
        s.events.append(event)
        if len(s.events) >= 2 * self.window:
            evict = len(s.events) - self.window
            self._spill.put(run_id, s.base, s.events[:evict])
            del s.events[:evict]
            s.base += evict
        return started

    def publish(self, run_id: str, event: str, data: Any) -> None:
        payload = serde.dumps(data)
        with self._lock:
            s = self._stream(run_id)
            if s.ended:
                return
            started = self._append(run_id, s, StreamEvent(self._next_id(), event, payload))
        self._call_on_loop(self._notify, run_id, started)

    def end(self, run_id: str) -> None:
        with self._lock:
            s = self._stream(run_id)
            if s.ended:
                return
            started = self._append(run_id, s, StreamEvent(self._next_id(), END, b"null"))
            s.ended = True
            s.ended_at = time.monotonic()
            self._gc()
        self._call_on_loop(self._notify, run_id, started)

    def _gc(self) -> None:
        cutoff = time.monotonic() - self.retention
        old = [r for r, s in self._runs.items() if s.ended and s.ended_at < cutoff]
        for rid in old:
            del self._runs[rid]
        if old:
            self._spill.drop(old)

    async def has_stream(self, run_id: str) -> bool:
        s = self._runs.get(run_id)
        return s is not None and (s.size > 0 or s.ended)

    def watch_starts(self) -> StartWatch:
        watch = QueueStartWatch(self._watches)
        self._watches.add(watch)
        return watch

    def _start_index(self, run_id: str, s: _RunStream, cursor: tuple[int, int]) -> int:
        """Absolute index of the first event of ``s`` with an id after ``cursor``."""
        with self._lock:
            events, base = list(s.events), s.base
        if base and (not events or parse_event_id(events[0].id) > cursor):
            found = self._spill.first_after(run_id, cursor)
            if found is not None:
                return found
        lo, hi = 0, len(events)
        while lo < hi:
            mid = (lo + hi) // 2
            if parse_event_id(events[mid].id) <= cursor:
                lo = mid + 1
            else:
                hi = mid
        return base + lo

    def _read(self, run_id: str, s: _RunStream, index: int) -> tuple[list[StreamEvent], asyncio.Event]:
        """Events from absolute ``index`` on (a batch), and the event to wait on when
        there are none."""
        with self._lock:
            if s.changed is None:
                s.changed = asyncio.Event()
            changed = s.changed
            if index >= s.base:
                return s.events[index - s.base : index - s.base + 256], changed
            base = s.base
        return self._spill.get(run_id, index, base), changed

    async def subscribe(
        self, run_id: str, after: str | None = None, *, from_start: bool = False
    ) -> AsyncIterator[StreamEvent]:
        with self._lock:
            s = self._stream(run_id)
            size = s.size
        cursor = (-1, -1) if from_start else parse_event_id(after)
        if cursor is None:
            if s.ended:
                return
            index = size  # no cursor: live events only, from now on
        elif cursor == (-1, -1):
            index = 0
        else:
            index = self._start_index(run_id, s, cursor)
        while True:
            batch, changed = self._read(run_id, s, index)
            if not batch:
                if s.ended and index >= s.size:
                    return
                await changed.wait()
                continue
            for event in batch:
                index += 1
                yield event
                if event.event == END:
                    return
