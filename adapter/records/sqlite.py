"""The SQLite record store, Evergraph's default: one file in WAL mode, shared safely by
several processes on one machine (``evergraph serve`` and ``evergraph worker``).

:class:`SqliteRecords` implements :class:`adapter.records.protocol.RecordStore` (which
documents each method); each method is one ``BEGIN IMMEDIATE`` transaction, so a failed
request writes nothing. The statements it shares with the Postgres store are in
:mod:`adapter.records.sql`.

See docs/architecture.md for the layers.
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, TypeVar, Unpack

from evergraph.adapter.ids import iso, now
from evergraph.adapter.records import common, sql
from evergraph.adapter.records.types import (
    Assistant, AssistantPatch, OnConflictBehavior, RunRecord, RunStatus, ThreadRecord, ThreadUpdate,
)
from evergraph.adapter.setup_lock import setup_lock

__all__ = ["SQL", "SqliteRecords"]

_T = TypeVar("_T")

SQL = sql.Dialect("?")
"""The shared statements, spelled for SQLite."""
_SCHEMA = ";\n".join(SQL.schema())


def _decoded_row(cursor: sqlite3.Cursor, row: tuple) -> dict[str, Any]:
    """Row factory: rows as records (JSON columns parsed)."""
    return common.decode_row({name: value for (name, *_), value in zip(cursor.description, row)})


def _insert(conn: sqlite3.Connection, row: sql.Row, verb: str = "INSERT") -> int:
    """Insert one row; the number of rows written (0 when ``INSERT OR IGNORE`` ignored it)."""
    table, columns, record = row
    return conn.execute(SQL.insert(table, columns, verb), common.row_values(columns, record)).rowcount


def _make_latest(conn: sqlite3.Connection, assistant_id: str, version: Mapping[str, Any]) -> None:
    """Write ``version``'s fields (and ``updated_at``) into the assistant's row."""
    columns = common.ASSISTANT_UPDATE_COLUMNS
    values = common.row_values(columns, version)
    conn.execute(SQL.update("assistants", columns, "assistant_id"), (*values, assistant_id))


class SqliteRecords(sql.SqlRecords):
    """The records in one SQLite file (:class:`~adapter.records.protocol.RecordStore`).

    Args:
        path: SQLite file (created with its folder if missing).

    All methods run on one background thread holding one connection, so calls from
    the event loop never block it and writes are serialised within the process.
    """

    dialect = SQL

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None

    async def open(self) -> SqliteRecords:
        """Create the folder, the file and the tables (idempotent)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evergraph-records")

        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.executescript(_SCHEMA)
            for table, columns in sql.ADDED_COLUMNS.items():  # a file made before them
                have = {row[1] for row in conn.execute(f"PRAGMA table_info({SQL.table(table)})")}
                for column in columns:
                    if column not in have:
                        conn.execute(SQL.add_column(table, column))
            conn.row_factory = _decoded_row
            return conn

        async with setup_lock(self.path):
            self._conn = await self._call(connect)
        return self

    async def close(self) -> None:
        """Close the connection and its thread."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await self._call(conn.close)
        if self._executor is not None:
            self._executor.shutdown(wait=False)

    async def _call(self, fn: Callable[..., _T], *args: Any) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    async def _tx(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``fn(conn)`` inside ``BEGIN IMMEDIATE … COMMIT`` on the records thread."""

        def run() -> _T:
            assert self._conn is not None, "SqliteRecords.open() was not called"
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return await self._call(run)

    async def _query(self, statement: str, params: Iterable[Any] = ()) -> list[Any]:
        def run() -> list[Any]:
            assert self._conn is not None, "SqliteRecords.open() was not called"
            return self._conn.execute(statement, tuple(params)).fetchall()

        return await self._call(run)

    async def _put(
        self, select: str, key: str, if_exists: OnConflictBehavior, result: Any, first: sql.Row, *more: sql.Row
    ) -> Any:
        """See :meth:`SqlRecords._put`: looks the id up first (writers are serialised)."""

        def fn(conn: sqlite3.Connection) -> tuple[Any, bool]:
            stored = conn.execute(SQL(select), (key,)).fetchone()
            if stored is not None:
                return common.taken(stored, if_exists, key)
            for row in (first, *more):
                _insert(conn, row)
            return result, True

        return await self._tx(fn)

    async def _delete(self, templates: tuple[str, ...], key: str) -> bool:
        """See :meth:`SqlRecords._delete`."""

        def fn(conn: sqlite3.Connection) -> bool:
            counts = [conn.execute(SQL(template), (key,)).rowcount for template in templates]
            return counts[0] > 0

        return await self._tx(fn)

    # ------------------------------------------------------------------ assistants

    async def update_assistant(self, assistant_id: str, patch: AssistantPatch) -> Assistant | None:
        """See :meth:`RecordStore.update_assistant`."""

        def fn(conn: sqlite3.Connection) -> Assistant | None:
            current = conn.execute(SQL(sql.SELECT_ASSISTANT), (assistant_id,)).fetchone()
            if current is None:
                return None
            top = conn.execute(SQL(sql.MAX_VERSION), (assistant_id,)).fetchone()
            ts = iso(now())
            new = common.revise_assistant(current, patch, top["v"], ts)
            _make_latest(conn, assistant_id, new)
            _insert(conn, ("assistant_versions", common.VERSION_COLUMNS, {**new, "created_at": ts}))
            return new

        return await self._tx(fn)

    async def set_latest_assistant_version(self, assistant_id: str, version: int) -> Assistant | None:
        """See :meth:`RecordStore.set_latest_assistant_version`."""

        def fn(conn: sqlite3.Connection) -> Assistant | None:
            stored = conn.execute(SQL(sql.SELECT_VERSION), (assistant_id, version)).fetchone()
            if stored is None:
                return None
            _make_latest(conn, assistant_id, {**stored, "updated_at": iso(now())})
            return conn.execute(SQL(sql.SELECT_ASSISTANT), (assistant_id,)).fetchone()

        return await self._tx(fn)

    # --------------------------------------------------------------------- threads

    async def update_thread(self, thread_id: str, **fields: Unpack[ThreadUpdate]) -> ThreadRecord | None:
        """See :meth:`RecordStore.update_thread`."""

        def fn(conn: sqlite3.Connection) -> ThreadRecord | None:
            current = conn.execute(SQL(sql.SELECT_THREAD), (thread_id,)).fetchone()
            if current is None:
                return None
            sets = common.thread_changes(current, dict(fields), iso(now()))
            conn.execute(SQL.update("threads", tuple(sets), "thread_id"), (*sets.values(), thread_id))
            return conn.execute(SQL(sql.SELECT_THREAD), (thread_id,)).fetchone()

        return await self._tx(fn)

    # ------------------------------------------------------------------------ runs

    async def put_run(self, r: RunRecord) -> RunRecord:
        """See :meth:`RecordStore.put_run`."""

        def fn(conn: sqlite3.Connection) -> RunRecord:
            if _insert(conn, ("runs", common.RUN_COLUMNS, r), verb="INSERT OR IGNORE"):
                conn.execute(SQL(sql.MARK_THREAD_BUSY), (iso(now()), r["thread_id"]))
            return r

        return await self._tx(fn)

    async def set_run_status(
        self, run_id: str, status: RunStatus, cancel_reason: str | None = None
    ) -> RunRecord | None:
        """See :meth:`RecordStore.set_run_status`."""

        def fn(conn: sqlite3.Connection) -> RunRecord | None:
            conn.execute(SQL(sql.SET_RUN_STATUS), (status, iso(now()), cancel_reason, run_id))
            return conn.execute(SQL(sql.SELECT_RUN), (run_id,)).fetchone()

        return await self._tx(fn)

    # -------------------------------------------------------------------- webhooks

    async def put_webhook(self, run_id: str, url: str, body: dict[str, Any]) -> None:
        """See :meth:`RecordStore.put_webhook`."""
        row = ("webhooks", common.WEBHOOK_COLUMNS, {"run_id": run_id, "url": url, "body": body})
        await self._tx(lambda conn: _insert(conn, row, verb="INSERT OR REPLACE"))
