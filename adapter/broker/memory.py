"""The in-process stream broker, for the embedded default where ``evergraph dev`` runs
API and worker in one process (:class:`MemoryBroker`, a
:class:`~adapter.broker.protocol.StreamBroker`).

Publishing is thread-safe (node attempts publish from their own threads); readers wait
on the broker's event loop. Only a window of each run's most recent events stays in
Python memory; older ones are spilled to a SQLite file, so a stream's memory stays
bounded however long the run. Likewise only the most recently ended runs keep their
events in memory; the events of older ended runs (kept for ``join`` and
``Last-Event-ID`` replay until ``retention`` runs out) wait in the spill file, so
memory does not grow with the number of runs ended within ``retention`` (threads
waiting at an interrupt, README "Waiting threads").

See docs/architecture.md for the layers.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator

from evergraph.adapter import serde
from evergraph.adapter.broker.common import QueueStartWatch
from evergraph.adapter.broker.protocol import (
    BEFORE_EVERYTHING, END, StartWatch, StreamEvent, format_event_id, next_event_id, parse_event_id,
    subscribe_cursor,
)

__all__ = ["MemoryBroker"]


@dataclass(slots=True)
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
        self.put_runs([(run_id, first, events)])

    def put_runs(self, runs: list[tuple[str, int, list[StreamEvent]]]) -> None:
        """Store the events of several runs in one transaction: ``(run_id, absolute
        index of events[0], events)`` each."""
        rows = []
        for run_id, first, events in runs:
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
        return [StreamEvent(format_event_id((ms, n)), event, bytes(data)) for ms, n, event, data in rows]

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


class MemoryBroker:
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
        ended_window: ended runs whose events stay in Python memory; once
            ``2 * ended_window`` ended runs hold events there, the events of all but
            the ``ended_window`` most recently ended move to the spill file (read back
            from there by late readers). Only each run's small bookkeeping record stays
            in memory until ``retention`` runs out.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        retention: float = 3600.0,
        window: int = 1000,
        spill_path: Path | None = None,
        ended_window: int = 256,
    ) -> None:
        self.loop = loop
        self.retention = retention
        self.window = max(1, window)
        self.ended_window = max(1, ended_window)
        self._runs: dict[str, _RunStream] = {}
        #: ended runs whose events are still in memory, oldest end first
        self._ended_in_memory: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._last = (0, 0)
        self._spill = _Spill(spill_path)
        self._watches: set[QueueStartWatch] = set()

    def close(self) -> None:
        """Remove the spill file."""
        self._spill.close()

    def _next_id(self) -> str:
        self._last = next_event_id(self._last)
        return format_event_id(self._last)

    def _stream(self, run_id: str) -> _RunStream:
        s = self._runs.get(run_id)
        if s is None:
            s = self._runs[run_id] = _RunStream()
        return s

    def _notify(self, run_id: str, started: bool) -> None:
        s = self._runs.get(run_id)
        if s is not None and s.changed is not None:
            # an ended stream needs no further event: its readers stop at its end
            changed, s.changed = s.changed, (None if s.ended else asyncio.Event())
            changed.set()
        if started:
            QueueStartWatch.notify(self._watches, run_id)

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
        """See :meth:`StreamBroker.publish`."""
        # a copy of exact size: orjson (3.x) returns its output in a buffer of at
        # least 4 KiB, which the event would otherwise hold until its retention ends
        payload = bytes(memoryview(serde.dumps(data)))
        with self._lock:
            s = self._stream(run_id)
            if s.ended:
                return
            started = self._append(run_id, s, StreamEvent(self._next_id(), event, payload))
        self._call_on_loop(self._notify, run_id, started)

    def end(self, run_id: str) -> None:
        """See :meth:`StreamBroker.end`; also forgets runs that ended more than
        ``retention`` seconds ago."""
        with self._lock:
            s = self._stream(run_id)
            if s.ended:
                return
            started = self._append(run_id, s, StreamEvent(self._next_id(), END, b"null"))
            s.ended = True
            s.ended_at = time.monotonic()
            self._ended_in_memory[run_id] = None
            self._gc()
            self._spill_ended()
        self._call_on_loop(self._notify, run_id, started)

    def _gc(self) -> None:
        cutoff = time.monotonic() - self.retention
        old = [r for r, s in self._runs.items() if s.ended and s.ended_at < cutoff]
        for rid in old:
            del self._runs[rid]
            self._ended_in_memory.pop(rid, None)
        if old:
            self._spill.drop(old)

    def _spill_ended(self) -> None:
        """Once ``2 * ended_window`` ended runs hold events in memory, move the events
        of all but the ``ended_window`` most recently ended to the spill file (called
        with the lock held)."""
        if len(self._ended_in_memory) < 2 * self.ended_window:
            return
        moved: list[tuple[str, _RunStream]] = []
        while len(self._ended_in_memory) > self.ended_window:
            run_id, _ = self._ended_in_memory.popitem(last=False)
            s = self._runs.get(run_id)
            if s is not None and s.events:
                moved.append((run_id, s))
        if moved:
            self._spill.put_runs([(run_id, s.base, s.events) for run_id, s in moved])
        for _, s in moved:
            s.base += len(s.events)
            s.events = []

    async def has_stream(self, run_id: str) -> bool:
        """See :meth:`StreamBroker.has_stream`."""
        s = self._runs.get(run_id)
        return s is not None and (s.size > 0 or s.ended)

    def watch_starts(self) -> StartWatch:
        """See :meth:`StreamBroker.watch_starts`."""
        return QueueStartWatch(self._watches)

    def events_in_memory(self, run_id: str) -> int:
        """How many of the run's events are held in Python memory (the rest, if any, is
        in the spill file)."""
        with self._lock:
            s = self._runs.get(run_id)
            return 0 if s is None else len(s.events)

    def events_held(self) -> int:
        """How many events of all runs are held in Python memory (the
        ``evergraph_stream_events_in_memory`` gauge); bounded by the ``window`` of each
        unfinished run plus the events of at most ``2 * ended_window`` ended runs."""
        with self._lock:
            return sum(len(s.events) for s in self._runs.values())

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
            changed = s.changed
            if changed is None:
                changed = asyncio.Event()
                if not s.ended:  # an ended stream is notified no more: keep none for it
                    s.changed = changed
            if index >= s.base:
                return s.events[index - s.base : index - s.base + 256], changed
            base = s.base
        return self._spill.get(run_id, index, base), changed

    async def subscribe(
        self, run_id: str, after: str | None = None, *, from_start: bool = False
    ) -> AsyncIterator[StreamEvent]:
        """See :meth:`StreamBroker.subscribe`."""
        with self._lock:
            s = self._stream(run_id)
            size = s.size
        cursor = subscribe_cursor(after, from_start)
        if cursor is None:
            if s.ended:
                return
            index = size  # no cursor: live events only, from now on
        elif cursor == BEFORE_EVERYTHING:
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
