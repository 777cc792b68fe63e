"""A stream broker on a SQLite file, for ``evergraph serve`` and ``evergraph worker``
running as separate processes on one machine.

Events are rows ordered by an autoincrement key; readers in other processes poll
(every ``poll_interval`` seconds), readers in the publishing process are woken at
once. Several machines need a networked broker (Redis Streams, planned with the
scale-out setup).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, AsyncIterator

from adapter import serde
from adapter.broker import StreamBroker, StreamEvent, parse_event_id

_SCHEMA = """
CREATE TABLE IF NOT EXISTS stream_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    id TEXT NOT NULL,
    event TEXT NOT NULL,
    data BLOB NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS stream_events_run ON stream_events(run_id, seq);
CREATE TABLE IF NOT EXISTS stream_ends (run_id TEXT PRIMARY KEY, ended REAL NOT NULL);
"""


class SqliteBroker(StreamBroker):
    """See the module docstring.

    Args:
        path: SQLite file shared by the processes.
        loop: the loop readers run on.
        poll_interval: seconds between polls for events from other processes.
        retention: seconds finished runs' events are kept.
    """

    def __init__(self, path: Path, loop: asyncio.AbstractEventLoop, poll_interval: float = 0.05,
                 retention: float = 3600.0) -> None:
        self.path = Path(path)
        self.loop = loop
        self.poll_interval = poll_interval
        self.retention = retention
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._last = (0, 0)
        self._wake = asyncio.Event()

    async def open(self) -> SqliteBroker:
        """Create the file and tables."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(_SCHEMA)
        self._conn = conn
        return self

    async def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _next_id(self, conn: sqlite3.Connection, run_id: str) -> str:
        row = conn.execute(
            "SELECT id FROM stream_events WHERE run_id=? ORDER BY seq DESC LIMIT 1", (run_id,)
        ).fetchone()
        last = parse_event_id(row[0]) if row else (0, 0)
        ms = int(time.time() * 1000)
        new = (ms, 0) if ms > last[0] else (last[0], last[1] + 1)
        return f"{new[0]}-{new[1]}"

    def _poke(self) -> None:
        def wake() -> None:
            self._wake.set()
            self._wake = asyncio.Event()

        self.loop.call_soon_threadsafe(wake)

    def publish(self, run_id: str, event: str, data: Any) -> None:
        payload = serde.dumps(data)
        with self._lock:
            conn = self._conn
            if conn is None or conn.execute("SELECT 1 FROM stream_ends WHERE run_id=?", (run_id,)).fetchone():
                return
            conn.execute(
                "INSERT INTO stream_events (run_id, id, event, data, created) VALUES (?,?,?,?,?)",
                (run_id, self._next_id(conn, run_id), event, payload, time.time()),
            )
        self._poke()

    def end(self, run_id: str) -> None:
        with self._lock:
            conn = self._conn
            if conn is None:
                return
            now = time.time()
            conn.execute("INSERT OR IGNORE INTO stream_ends VALUES (?,?)", (run_id, now))
            old = [r[0] for r in conn.execute("SELECT run_id FROM stream_ends WHERE ended<?", (now - self.retention,))]
            for rid in old:
                conn.execute("DELETE FROM stream_events WHERE run_id=?", (rid,))
                conn.execute("DELETE FROM stream_ends WHERE run_id=?", (rid,))
        self._poke()

    def _fetch(self, run_id: str, after_seq: int) -> tuple[list[tuple[int, StreamEvent]], bool]:
        with self._lock:
            assert self._conn is not None
            rows = self._conn.execute(
                "SELECT seq, id, event, data FROM stream_events WHERE run_id=? AND seq>? ORDER BY seq",
                (run_id, after_seq),
            ).fetchall()
            ended = bool(self._conn.execute("SELECT 1 FROM stream_ends WHERE run_id=?", (run_id,)).fetchone())
        return [(seq, StreamEvent(id_, event, bytes(data))) for seq, id_, event, data in rows], ended

    async def subscribe(
        self, run_id: str, after: str | None = None, *, from_start: bool = False
    ) -> AsyncIterator[StreamEvent]:
        cursor = (-1, -1) if from_start else parse_event_id(after)
        events, ended = self._fetch(run_id, 0)
        if cursor is None:
            seq = events[-1][0] if events else 0
            events = []
        else:
            seq = 0
            events = [(s, e) for s, e in events if parse_event_id(e.id) > cursor] or []
            if not events:
                seq = max([0] + [s for s, _ in self._fetch(run_id, 0)[0]])
        while True:
            for s, event in events:
                seq = max(seq, s)
                yield event
            if ended and not events:
                return
            if not events:
                wake = self._wake
                try:
                    await asyncio.wait_for(wake.wait(), self.poll_interval)
                except asyncio.TimeoutError:
                    pass
            events, ended = self._fetch(run_id, seq)
