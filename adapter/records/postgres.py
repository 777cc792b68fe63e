"""The Postgres record store (``EVERGRAPH_DATABASE_URI=postgresql://…``), for several
API and worker processes on several machines.

:class:`PostgresRecords` implements :class:`adapter.records.protocol.RecordStore` (which
documents each method) with the results of the SQLite default; each method is one
transaction. Where SQLite serialises writers with ``BEGIN IMMEDIATE``, this module
locks the rows it reads before writing them (``SELECT … FOR UPDATE``) and uses
``INSERT … ON CONFLICT`` for the idempotent inserts. JSON columns are ``text``
holding the same JSON the SQLite tables hold (so key order and every value survive
as written), and text columns sort bytewise (``COLLATE "C"``), as in SQLite. The
statements it shares with the SQLite store are in :mod:`adapter.records.sql`.

See docs/architecture.md for the layers.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Iterable, Mapping, TypeVar, Unpack

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from evergraph.adapter.graphs.checkpoint import pg_advisory_lock
from evergraph.adapter.ids import iso, now
from evergraph.adapter.records import common, sql
from evergraph.adapter.records.types import (
    Assistant, AssistantPatch, OnConflictBehavior, RunRecord, RunStatus, ThreadRecord, ThreadUpdate,
)

__all__ = ["SQL", "PostgresRecords"]

# advisory lock key serialising schema creation by processes starting together
_SCHEMA_LOCK = 0x45766572  # "Ever"

_Result = TypeVar("_Result")

SQL = sql.Dialect("%s", prefix="evergraph_", collate=' COLLATE "C"')
"""The shared statements, spelled for Postgres (tables prefixed ``evergraph_``, ids and
timestamps sorted bytewise as in SQLite)."""
_FOR_UPDATE = " FOR UPDATE"


async def _one(conn: AsyncConnection[DictRow], statement: str, params: Iterable[Any] = ()) -> Any:
    """The first row of ``statement`` as a record, or ``None``."""
    row = await (await conn.execute(statement, tuple(params))).fetchone()
    return None if row is None else common.decode_row(row)


async def _insert(conn: AsyncConnection[DictRow], row: sql.Row, tail: str = "") -> int:
    """Insert one row (``tail``: an ``ON CONFLICT`` clause); the number of rows written."""
    table, columns, record = row
    cur = await conn.execute(SQL.insert(table, columns, tail=tail), common.row_values(columns, record))
    return cur.rowcount


async def _make_latest(conn: AsyncConnection[DictRow], assistant_id: str, version: Mapping[str, Any]) -> None:
    """Write ``version``'s fields (and ``updated_at``) into the assistant's row."""
    columns = common.ASSISTANT_UPDATE_COLUMNS
    await conn.execute(
        SQL.update("assistants", columns, "assistant_id"), (*common.row_values(columns, version), assistant_id)
    )


class PostgresRecords(sql.SqlRecords):
    """The records in PostgreSQL (:class:`~adapter.records.protocol.RecordStore`).

    Args:
        uri: libpq connection URI (``postgresql://user:password@host:port/db``).
        max_size: most connections this process opens.
    """

    dialect = SQL

    def __init__(self, uri: str, max_size: int = 10) -> None:
        self.uri = uri
        self._pool: AsyncConnectionPool[AsyncConnection[DictRow]] = AsyncConnectionPool(
            uri, min_size=1, max_size=max_size, open=False, kwargs={"row_factory": dict_row},
            check=AsyncConnectionPool.check_connection,
        )

    async def open(self) -> PostgresRecords:
        """Connect and create the tables (idempotent; safe when several processes start
        at once).

        Raises:
            psycopg.OperationalError / psycopg_pool.PoolTimeout: the server is unreachable.
        """
        await self._pool.open(wait=True, timeout=30)
        async with await AsyncConnection.connect(self.uri, autocommit=True, row_factory=dict_row) as conn:
            await pg_advisory_lock(conn, _SCHEMA_LOCK)
            try:
                for statement in SQL.schema():
                    await conn.execute(statement)
                for table, columns in sql.ADDED_COLUMNS.items():  # a database made before them
                    for column in columns:
                        await conn.execute(SQL.add_column(table, column, if_not_exists=True))
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK,))
        return self

    async def close(self) -> None:
        """Close every connection."""
        await self._pool.close()

    async def _tx(self, fn: Callable[[AsyncConnection[DictRow]], Awaitable[_Result]]) -> _Result:
        async with self._pool.connection() as conn, conn.transaction():
            return await fn(conn)

    async def _query(self, statement: str, params: Iterable[Any] = ()) -> list[Any]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(statement, tuple(params))
            return [common.decode_row(r) for r in await cur.fetchall()]

    async def _put(
        self, select: str, key: str, if_exists: OnConflictBehavior, result: Any, first: sql.Row, *more: sql.Row
    ) -> Any:
        """See :meth:`SqlRecords._put`: inserts first (``ON CONFLICT DO NOTHING``), so
        concurrent puts of one id create it once."""

        async def fn(conn: AsyncConnection[DictRow]) -> tuple[Any, bool]:
            id_column = first[1][0]
            if not await _insert(conn, first, f"ON CONFLICT ({id_column}) DO NOTHING"):
                return common.taken(await _one(conn, SQL(select), (key,)), if_exists, key)
            for row in more:
                await _insert(conn, row)
            return result, True

        return await self._tx(fn)

    async def _delete(self, templates: tuple[str, ...], key: str) -> bool:
        """See :meth:`SqlRecords._delete`."""

        async def fn(conn: AsyncConnection[DictRow]) -> bool:
            counts = [(await conn.execute(SQL(template), (key,))).rowcount for template in templates]
            return counts[0] > 0

        return await self._tx(fn)

    # ------------------------------------------------------------------ assistants

    async def update_assistant(self, assistant_id: str, patch: AssistantPatch) -> Assistant | None:
        """See :meth:`RecordStore.update_assistant`."""

        async def fn(conn: AsyncConnection[DictRow]) -> Assistant | None:
            current = await _one(conn, SQL(sql.SELECT_ASSISTANT) + _FOR_UPDATE, (assistant_id,))
            if current is None:
                return None
            top = await _one(conn, SQL(sql.MAX_VERSION), (assistant_id,))
            ts = iso(now())
            new = common.revise_assistant(current, patch, top["v"], ts)
            await _make_latest(conn, assistant_id, new)
            await _insert(conn, ("assistant_versions", common.VERSION_COLUMNS, {**new, "created_at": ts}))
            return new

        return await self._tx(fn)

    async def set_latest_assistant_version(self, assistant_id: str, version: int) -> Assistant | None:
        """See :meth:`RecordStore.set_latest_assistant_version`."""

        async def fn(conn: AsyncConnection[DictRow]) -> Assistant | None:
            if await _one(conn, SQL(sql.SELECT_ASSISTANT) + _FOR_UPDATE, (assistant_id,)) is None:
                return None
            stored = await _one(conn, SQL(sql.SELECT_VERSION), (assistant_id, version))
            if stored is None:
                return None
            await _make_latest(conn, assistant_id, {**stored, "updated_at": iso(now())})
            return await _one(conn, SQL(sql.SELECT_ASSISTANT), (assistant_id,))

        return await self._tx(fn)

    # --------------------------------------------------------------------- threads

    async def update_thread(self, thread_id: str, **fields: Unpack[ThreadUpdate]) -> ThreadRecord | None:
        """See :meth:`RecordStore.update_thread`."""

        async def fn(conn: AsyncConnection[DictRow]) -> ThreadRecord | None:
            current = await _one(conn, SQL(sql.SELECT_THREAD) + _FOR_UPDATE, (thread_id,))
            if current is None:
                return None
            sets = common.thread_changes(current, dict(fields), iso(now()))
            await conn.execute(SQL.update("threads", tuple(sets), "thread_id"), (*sets.values(), thread_id))
            return await _one(conn, SQL(sql.SELECT_THREAD), (thread_id,))

        return await self._tx(fn)

    # ------------------------------------------------------------------------ runs

    async def put_run(self, r: RunRecord) -> RunRecord:
        """See :meth:`RecordStore.put_run`."""

        async def fn(conn: AsyncConnection[DictRow]) -> RunRecord:
            if await _insert(conn, ("runs", common.RUN_COLUMNS, r), "ON CONFLICT (run_id) DO NOTHING"):
                await conn.execute(SQL(sql.MARK_THREAD_BUSY), (iso(now()), r["thread_id"]))
            return r

        return await self._tx(fn)

    async def set_run_status(
        self, run_id: str, status: RunStatus, cancel_reason: str | None = None
    ) -> RunRecord | None:
        """See :meth:`RecordStore.set_run_status`."""

        async def fn(conn: AsyncConnection[DictRow]) -> RunRecord | None:
            await conn.execute(SQL(sql.SET_RUN_STATUS), (status, iso(now()), cancel_reason, run_id))
            return await _one(conn, SQL(sql.SELECT_RUN), (run_id,))

        return await self._tx(fn)

    # -------------------------------------------------------------------- webhooks

    async def put_webhook(self, run_id: str, url: str, body: dict[str, Any]) -> None:
        """See :meth:`RecordStore.put_webhook`."""
        row = ("webhooks", common.WEBHOOK_COLUMNS, {"run_id": run_id, "url": url, "body": body})
        replace = "ON CONFLICT (run_id) DO UPDATE SET url=EXCLUDED.url, body=EXCLUDED.body"

        async def fn(conn: AsyncConnection[DictRow]) -> None:
            await _insert(conn, row, replace)

        await self._tx(fn)
