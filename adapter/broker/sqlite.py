"""A stream broker on a SQLite file (:class:`SqliteBroker`, a
:class:`~adapter.broker.protocol.StreamBroker`), for ``evergraph serve`` and
``evergraph worker`` running as separate processes on one machine.

Events are rows ordered by an autoincrement key; each is given its id in the same
write transaction as the id of the row before it, so ids increase across all runs
and processes (see :mod:`adapter.broker.protocol`). Readers in other processes poll (every
``poll_interval`` seconds), readers in the publishing process are woken at once, and
readers fetch bounded batches, so a long run's events stay in the file. Several
machines need a networked broker (:mod:`adapter.broker.redis`).

See docs/architecture.md for the layers.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, AsyncIterator

from evergraph.adapter import serde
from evergraph.adapter.aio import wait_event
from evergraph.adapter.broker.protocol import (
    END, StartWatch, StreamEvent, format_event_id, next_event_id, subscribe_cursor,
)
from evergraph.adapter.setup_lock import setup_lock

__all__ = ["SqliteBroker"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS stream_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    ms INTEGER NOT NULL,
    n INTEGER NOT NULL,
    event TEXT NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS stream_log_run ON stream_log(run_id, seq);
CREATE TABLE IF NOT EXISTS stream_runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL UNIQUE,
    ended REAL
);
"""

_BATCH = 256


class _SqliteStartWatch:
    """The runs started after ``seq`` in ``stream_runs``, polled like events."""

    def __init__(self, broker: SqliteBroker, seq: int) -> None:
        self.broker = broker
        self.seq = seq
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[str]:
        while not self.closed:
            rows = self.broker._q("SELECT seq, run_id FROM stream_runs WHERE seq>? ORDER BY seq", (self.seq,))
            for seq, run_id in rows:
                self.seq = seq
                yield run_id
            if not rows:
                await self.broker._sleep()

    def close(self) -> None:
        self.closed = True


class SqliteBroker:
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
        self._wake = asyncio.Event()

    async def open(self) -> SqliteBroker:
        """Create the file and tables."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        async with setup_lock(self.path):
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

    def _q(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            if self._conn is None:
                return []
            return self._conn.execute(sql, params).fetchall()

    async def _sleep(self) -> None:
        await wait_event(self._wake, self.poll_interval)

    def _poke(self) -> None:
        def wake() -> None:
            self._wake.set()
            self._wake = asyncio.Event()

        self.loop.call_soon_threadsafe(wake)

    def _append(self, conn: sqlite3.Connection, run_id: str, event: str, payload: bytes) -> None:
        """Insert one event with the next id; inside a write transaction."""
        row = conn.execute("SELECT ms, n FROM stream_log ORDER BY seq DESC LIMIT 1").fetchone()
        ms, n = next_event_id(tuple(row) if row else (0, 0))
        conn.execute(
            "INSERT INTO stream_log (run_id, ms, n, event, data) VALUES (?,?,?,?,?)", (run_id, ms, n, event, payload)
        )

    def publish(self, run_id: str, event: str, data: Any) -> None:
        """See :meth:`StreamBroker.publish`."""
        self._write(run_id, event, serde.dumps(data))

    def end(self, run_id: str) -> None:
        """See :meth:`StreamBroker.end`; also deletes the runs that ended more than
        ``retention`` seconds ago."""
        self._write(run_id, END, b"null", ending=True)

    def _write(self, run_id: str, event: str, payload: bytes, ending: bool = False) -> None:
        """Append one event to a stream that has not ended, in one write transaction;
        ``ending`` marks the stream ended and drops the expired ones."""
        with self._lock:
            conn = self._conn
            if conn is None:
                return
            now = time.time() if ending else None
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT ended FROM stream_runs WHERE run_id=?", (run_id,)).fetchone()
                if row is not None and row[0] is not None:
                    conn.execute("ROLLBACK")
                    return
                if row is None:
                    conn.execute("INSERT INTO stream_runs (run_id, ended) VALUES (?,?)", (run_id, now))
                elif ending:
                    conn.execute("UPDATE stream_runs SET ended=? WHERE run_id=?", (now, run_id))
                self._append(conn, run_id, event, payload)
                if now is not None:
                    expired = now - self.retention
                    old = [r[0] for r in conn.execute("SELECT run_id FROM stream_runs WHERE ended<?", (expired,))]
                    for rid in old:
                        conn.execute("DELETE FROM stream_log WHERE run_id=?", (rid,))
                        conn.execute("DELETE FROM stream_runs WHERE run_id=?", (rid,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        self._poke()

    async def has_stream(self, run_id: str) -> bool:
        """See :meth:`StreamBroker.has_stream`."""
        return bool(self._q("SELECT 1 FROM stream_runs WHERE run_id=?", (run_id,)))

    def watch_starts(self) -> StartWatch:
        """See :meth:`StreamBroker.watch_starts`."""
        rows = self._q("SELECT MAX(seq) FROM stream_runs")
        return _SqliteStartWatch(self, (rows[0][0] if rows else None) or 0)

    def _ended(self, run_id: str) -> bool:
        rows = self._q("SELECT ended FROM stream_runs WHERE run_id=?", (run_id,))
        return bool(rows) and rows[0][0] is not None

    async def subscribe(
        self, run_id: str, after: str | None = None, *, from_start: bool = False
    ) -> AsyncIterator[StreamEvent]:
        """See :meth:`StreamBroker.subscribe`."""
        cursor = subscribe_cursor(after, from_start)
        if cursor is None:
            if self._ended(run_id):
                return
            rows = self._q("SELECT MAX(seq) FROM stream_log WHERE run_id=?", (run_id,))
            seq = (rows[0][0] if rows else None) or 0
        else:
            ms, n = cursor
            rows = self._q(
                "SELECT MIN(seq) FROM stream_log WHERE run_id=? AND (ms>? OR (ms=? AND n>?))", (run_id, ms, ms, n)
            )
            first = rows[0][0] if rows else None
            if first is not None:
                seq = first - 1
            else:
                rows = self._q("SELECT MAX(seq) FROM stream_log WHERE run_id=?", (run_id,))
                seq = (rows[0][0] if rows else None) or 0
        page = "SELECT seq, ms, n, event, data FROM stream_log WHERE run_id=? AND seq>? ORDER BY seq LIMIT ?"
        while True:
            rows = self._q(page, (run_id, seq, _BATCH))
            if not rows:
                if not self._ended(run_id):
                    await self._sleep()
                    continue
                # ended after the fetch above: its END row is newer, fetch once more
                rows = self._q(page, (run_id, seq, _BATCH))
                if not rows:
                    return
            for row_seq, ms, n, event, data in rows:
                seq = row_seq
                yield StreamEvent(format_event_id((ms, n)), event, bytes(data))
                if event == END:
                    return
