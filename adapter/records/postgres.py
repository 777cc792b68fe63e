"""Evergraph's records on PostgreSQL (``EVERGRAPH_DATABASE_URI=postgresql://…``), for
several API and worker processes on several machines.

:class:`PostgresRecords` has the methods, arguments and results of
:class:`adapter.records.sqlite.Records` (the SQLite default); each method is one
transaction. Where SQLite serialises writers with ``BEGIN IMMEDIATE``, this module
locks the rows it reads before writing them (``SELECT … FOR UPDATE``) and uses
``INSERT … ON CONFLICT`` for the idempotent inserts. JSON columns are ``text``
holding the same JSON the SQLite tables hold (so key order and every value survive
as written), and text columns sort bytewise (``COLLATE "C"``), as in SQLite.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from evergraph.adapter import serde
from evergraph.adapter.ids import iso, now

_C = 'COLLATE "C"'
_SCHEMA = [
    f"""CREATE TABLE IF NOT EXISTS evergraph_assistants (
    assistant_id TEXT {_C} PRIMARY KEY,
    graph_id TEXT NOT NULL,
    config TEXT NOT NULL,
    context TEXT NOT NULL,
    metadata TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    version INTEGER NOT NULL,
    created_at TEXT {_C} NOT NULL,
    updated_at TEXT {_C} NOT NULL
)""",
    f"""CREATE TABLE IF NOT EXISTS evergraph_assistant_versions (
    assistant_id TEXT {_C} NOT NULL,
    version INTEGER NOT NULL,
    graph_id TEXT NOT NULL,
    config TEXT NOT NULL,
    context TEXT NOT NULL,
    metadata TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    created_at TEXT {_C} NOT NULL,
    PRIMARY KEY (assistant_id, version)
)""",
    f"""CREATE TABLE IF NOT EXISTS evergraph_threads (
    thread_id TEXT {_C} PRIMARY KEY,
    created_at TEXT {_C} NOT NULL,
    updated_at TEXT {_C} NOT NULL,
    state_updated_at TEXT {_C} NOT NULL,
    metadata TEXT NOT NULL,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    "values" TEXT,
    interrupts TEXT,
    error TEXT,
    ttl TEXT
)""",
    f"""CREATE TABLE IF NOT EXISTS evergraph_runs (
    run_id TEXT {_C} PRIMARY KEY,
    thread_id TEXT {_C} NOT NULL,
    assistant_id TEXT NOT NULL,
    created_at TEXT {_C} NOT NULL,
    updated_at TEXT {_C} NOT NULL,
    status TEXT NOT NULL,
    metadata TEXT NOT NULL,
    multitask_strategy TEXT,
    kwargs TEXT NOT NULL,
    temporary INTEGER NOT NULL DEFAULT 0,
    on_completion TEXT
)""",
    "CREATE INDEX IF NOT EXISTS evergraph_runs_thread ON evergraph_runs(thread_id, created_at)",
    f"""CREATE TABLE IF NOT EXISTS evergraph_webhooks (
    run_id TEXT {_C} PRIMARY KEY,
    url TEXT NOT NULL,
    body TEXT NOT NULL
)""",
]
# advisory lock key serialising schema creation by processes starting together
_SCHEMA_LOCK = 0x45766572  # "Ever"

_JSON_FIELDS = {"config", "context", "metadata", "values", "interrupts", "error", "kwargs", "ttl"}

_A, _V, _T, _R = "evergraph_assistants", "evergraph_assistant_versions", "evergraph_threads", "evergraph_runs"


def _row(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {k: json.loads(v) if k in _JSON_FIELDS and v is not None else v for k, v in row.items()}


def _j(value: Any) -> str:
    return serde.dumps(value).decode()


def _jn(value: Any) -> str | None:
    return None if value is None else _j(value)


class PostgresRecords:
    """Async access to the records in PostgreSQL (same interface as
    :class:`adapter.records.sqlite.Records`).

    Args:
        uri: libpq connection URI (``postgresql://user:password@host:port/db``).
        max_size: most connections this process opens.
    """

    def __init__(self, uri: str, max_size: int = 10) -> None:
        self.uri = uri
        self._pool = AsyncConnectionPool(
            uri, min_size=1, max_size=max_size, open=False, kwargs={"row_factory": dict_row},
            check=AsyncConnectionPool.check_connection,
        )

    async def open(self) -> PostgresRecords:
        """Connect and create the tables (idempotent; safe when several processes start
        at once).

        Raises:
            psycopg.OperationalError / psycopg_pool.PoolTimeout: the server is unreachable.
        """
        from evergraph.adapter.graphs.checkpoint import pg_advisory_lock

        await self._pool.open(wait=True, timeout=30)
        async with await AsyncConnection.connect(self.uri, autocommit=True, row_factory=dict_row) as conn:
            await pg_advisory_lock(conn, _SCHEMA_LOCK)
            try:
                for statement in _SCHEMA:
                    await conn.execute(statement)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK,))
        return self

    async def close(self) -> None:
        """Close every connection."""
        await self._pool.close()

    async def _tx(self, fn) -> Any:
        async with self._pool.connection() as conn, conn.transaction():
            return await fn(conn)

    async def _query(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(sql, tuple(params))
            return [_row(r) for r in await cur.fetchall()]

    @staticmethod
    async def _one(conn: AsyncConnection, sql: str, params: Iterable[Any] = ()) -> dict[str, Any] | None:
        cur = await conn.execute(sql, tuple(params))
        return _row(await cur.fetchone())

    # ------------------------------------------------------------------ assistants

    async def put_assistant(self, a: dict[str, Any], *, if_exists: str = "raise") -> tuple[dict[str, Any], bool]:
        """See :meth:`adapter.records.sqlite.Records.put_assistant`.

        Raises:
            KeyError: the id exists and ``if_exists == "raise"``.
        """

        async def fn(conn: AsyncConnection):
            cur = await conn.execute(
                f"INSERT INTO {_A} VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (assistant_id) DO NOTHING",
                (a["assistant_id"], a["graph_id"], _j(a["config"]), _j(a["context"]), _j(a["metadata"]),
                 a["name"], a.get("description"), a["version"], a["created_at"], a["updated_at"]),
            )
            if cur.rowcount == 0:
                if if_exists == "do_nothing":
                    return await self._one(conn, f"SELECT * FROM {_A} WHERE assistant_id=%s", (a["assistant_id"],)), False
                raise KeyError(a["assistant_id"])
            await conn.execute(
                f"INSERT INTO {_V} VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                (a["assistant_id"], a["version"], a["graph_id"], _j(a["config"]), _j(a["context"]),
                 _j(a["metadata"]), a["name"], a.get("description"), a["created_at"]),
            )
            return a, True

        return await self._tx(fn)

    async def get_assistant(self, assistant_id: str) -> dict[str, Any] | None:
        """The assistant, or ``None``."""
        rows = await self._query(f"SELECT * FROM {_A} WHERE assistant_id=%s", (assistant_id,))
        return rows[0] if rows else None

    async def update_assistant(self, assistant_id: str, patch: dict[str, Any]) -> dict[str, Any] | None:
        """See :meth:`adapter.records.sqlite.Records.update_assistant`."""

        async def fn(conn: AsyncConnection):
            current = await self._one(conn, f"SELECT * FROM {_A} WHERE assistant_id=%s FOR UPDATE", (assistant_id,))
            if current is None:
                return None
            cur = await conn.execute(f"SELECT MAX(version) AS v FROM {_V} WHERE assistant_id=%s", (assistant_id,))
            max_version = (await cur.fetchone())["v"]
            ts = iso(now())
            new = dict(current)
            for key in ("graph_id", "config", "context", "name", "description"):
                if key in patch and patch[key] is not None:
                    new[key] = patch[key]
            if patch.get("metadata") is not None:
                new["metadata"] = {**current["metadata"], **patch["metadata"]}
            new["version"] = (max_version or 0) + 1
            new["updated_at"] = ts
            await conn.execute(
                f"UPDATE {_A} SET graph_id=%s, config=%s, context=%s, metadata=%s, name=%s, description=%s,"
                " version=%s, updated_at=%s WHERE assistant_id=%s",
                (new["graph_id"], _j(new["config"]), _j(new["context"]), _j(new["metadata"]), new["name"],
                 new.get("description"), new["version"], ts, assistant_id),
            )
            await conn.execute(
                f"INSERT INTO {_V} VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                (assistant_id, new["version"], new["graph_id"], _j(new["config"]), _j(new["context"]),
                 _j(new["metadata"]), new["name"], new.get("description"), ts),
            )
            return new

        return await self._tx(fn)

    async def delete_assistant(self, assistant_id: str) -> bool:
        """Delete the assistant and its versions; whether it existed."""

        async def fn(conn: AsyncConnection) -> bool:
            n = (await conn.execute(f"DELETE FROM {_A} WHERE assistant_id=%s", (assistant_id,))).rowcount
            await conn.execute(f"DELETE FROM {_V} WHERE assistant_id=%s", (assistant_id,))
            return n > 0

        return await self._tx(fn)

    async def list_assistants(self) -> list[dict[str, Any]]:
        """Every assistant, newest first."""
        return await self._query(f"SELECT * FROM {_A} ORDER BY created_at DESC, assistant_id DESC")

    async def assistant_versions(self, assistant_id: str) -> list[dict[str, Any]]:
        """The assistant's versions, newest first."""
        return await self._query(f"SELECT * FROM {_V} WHERE assistant_id=%s ORDER BY version DESC", (assistant_id,))

    async def set_latest_assistant_version(self, assistant_id: str, version: int) -> dict[str, Any] | None:
        """See :meth:`adapter.records.sqlite.Records.set_latest_assistant_version`."""

        async def fn(conn: AsyncConnection):
            if await self._one(conn, f"SELECT 1 FROM {_A} WHERE assistant_id=%s FOR UPDATE", (assistant_id,)) is None:
                return None
            v = await self._one(conn, f"SELECT * FROM {_V} WHERE assistant_id=%s AND version=%s", (assistant_id, version))
            if v is None:
                return None
            await conn.execute(
                f"UPDATE {_A} SET graph_id=%s, config=%s, context=%s, metadata=%s, name=%s, description=%s,"
                " version=%s, updated_at=%s WHERE assistant_id=%s",
                (v["graph_id"], _j(v["config"]), _j(v["context"]), _j(v["metadata"]), v["name"],
                 v.get("description"), version, iso(now()), assistant_id),
            )
            return await self._one(conn, f"SELECT * FROM {_A} WHERE assistant_id=%s", (assistant_id,))

        return await self._tx(fn)

    # --------------------------------------------------------------------- threads

    async def put_thread(self, t: dict[str, Any], *, if_exists: str = "raise") -> tuple[dict[str, Any], bool]:
        """See :meth:`adapter.records.sqlite.Records.put_thread`.

        Raises:
            KeyError: the id exists and ``if_exists == "raise"``.
        """

        async def fn(conn: AsyncConnection):
            cur = await conn.execute(
                f'INSERT INTO {_T} (thread_id, created_at, updated_at, state_updated_at, metadata, status,'
                ' config, "values", interrupts, error, ttl) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)'
                " ON CONFLICT (thread_id) DO NOTHING",
                (t["thread_id"], t["created_at"], t["updated_at"], t["state_updated_at"], _j(t["metadata"]),
                 t["status"], _j(t.get("config") or {}), _jn(t.get("values")), _jn(t.get("interrupts")),
                 _jn(t.get("error")), _jn(t.get("ttl"))),
            )
            if cur.rowcount == 0:
                if if_exists == "do_nothing":
                    return await self._one(conn, f"SELECT * FROM {_T} WHERE thread_id=%s", (t["thread_id"],)), False
                raise KeyError(t["thread_id"])
            return t, True

        return await self._tx(fn)

    async def get_thread(self, thread_id: str) -> dict[str, Any] | None:
        """The thread, or ``None``."""
        rows = await self._query(f"SELECT * FROM {_T} WHERE thread_id=%s", (thread_id,))
        return rows[0] if rows else None

    async def update_thread(self, thread_id: str, **fields: Any) -> dict[str, Any] | None:
        """See :meth:`adapter.records.sqlite.Records.update_thread` (``metadata`` merged)."""

        async def fn(conn: AsyncConnection):
            current = await self._one(conn, f"SELECT * FROM {_T} WHERE thread_id=%s FOR UPDATE", (thread_id,))
            if current is None:
                return None
            sets: dict[str, Any] = {"updated_at": fields.pop("updated_at", None) or iso(now())}
            if "metadata" in fields:
                sets["metadata"] = _j({**current["metadata"], **(fields.pop("metadata") or {})})
            for key, value in fields.items():
                sets[key] = _j(value) if key in _JSON_FIELDS and value is not None else value
            cols = ", ".join(f'"{k}"=%s' for k in sets)
            await conn.execute(f"UPDATE {_T} SET {cols} WHERE thread_id=%s", (*sets.values(), thread_id))
            return await self._one(conn, f"SELECT * FROM {_T} WHERE thread_id=%s", (thread_id,))

        return await self._tx(fn)

    async def delete_thread(self, thread_id: str) -> bool:
        """Delete the thread and its runs; whether it existed."""

        async def fn(conn: AsyncConnection) -> bool:
            n = (await conn.execute(f"DELETE FROM {_T} WHERE thread_id=%s", (thread_id,))).rowcount
            await conn.execute(f"DELETE FROM {_R} WHERE thread_id=%s", (thread_id,))
            return n > 0

        return await self._tx(fn)

    async def list_threads(self, ids: list[str] | None = None, status: str | None = None) -> list[dict[str, Any]]:
        """Threads (only ``ids`` / ``status`` when given), newest first."""
        sql, params, where = f"SELECT * FROM {_T}", [], []
        if ids:
            where.append("thread_id = ANY(%s)")
            params.append(list(ids))
        if status:
            where.append("status=%s")
            params.append(status)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, thread_id DESC"
        return await self._query(sql, params)

    # ------------------------------------------------------------------------ runs

    async def put_run(self, r: dict[str, Any]) -> dict[str, Any]:
        """Insert run ``r`` and mark its thread ``busy`` in one transaction; a run
        already stored is left as it is (idempotent)."""

        async def fn(conn: AsyncConnection):
            cur = await conn.execute(
                f"INSERT INTO {_R} VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (run_id) DO NOTHING",
                (r["run_id"], r["thread_id"], r["assistant_id"], r["created_at"], r["updated_at"], r["status"],
                 _j(r["metadata"]), r.get("multitask_strategy"), _j(r["kwargs"]), int(bool(r.get("temporary"))),
                 r.get("on_completion")),
            )
            if cur.rowcount:
                await conn.execute(
                    f"UPDATE {_T} SET status='busy', updated_at=%s WHERE thread_id=%s", (iso(now()), r["thread_id"])
                )
            return r

        return await self._tx(fn)

    async def get_run(self, run_id: str, thread_id: str | None = None) -> dict[str, Any] | None:
        """The run (of ``thread_id`` when given), or ``None``."""
        if thread_id is None:
            rows = await self._query(f"SELECT * FROM {_R} WHERE run_id=%s", (run_id,))
        else:
            rows = await self._query(f"SELECT * FROM {_R} WHERE run_id=%s AND thread_id=%s", (run_id, thread_id))
        return rows[0] if rows else None

    async def list_runs(
        self, thread_id: str, *, limit: int = 10, offset: int = 0, status: str | None = None
    ) -> list[dict[str, Any]]:
        """The thread's runs, newest first, paged."""
        sql, params = f"SELECT * FROM {_R} WHERE thread_id=%s", [thread_id]
        if status:
            sql += " AND status=%s"
            params.append(status)
        sql += " ORDER BY created_at DESC, run_id DESC LIMIT %s OFFSET %s"
        params.extend([limit, offset])
        return await self._query(sql, params)

    async def active_runs(self, thread_id: str) -> list[dict[str, Any]]:
        """Runs of the thread that are ``pending`` or ``running``, oldest first."""
        return await self._query(
            f"SELECT * FROM {_R} WHERE thread_id=%s AND status IN ('pending','running') ORDER BY created_at, run_id",
            (thread_id,),
        )

    async def set_run_status(self, run_id: str, status: str) -> dict[str, Any] | None:
        """Set the run's status; the updated run or ``None``."""

        async def fn(conn: AsyncConnection):
            await conn.execute(f"UPDATE {_R} SET status=%s, updated_at=%s WHERE run_id=%s", (status, iso(now()), run_id))
            return await self._one(conn, f"SELECT * FROM {_R} WHERE run_id=%s", (run_id,))

        return await self._tx(fn)

    async def delete_run(self, run_id: str) -> bool:
        """Delete the run record; whether it existed."""

        async def fn(conn: AsyncConnection) -> bool:
            return (await conn.execute(f"DELETE FROM {_R} WHERE run_id=%s", (run_id,))).rowcount > 0

        return await self._tx(fn)

    # -------------------------------------------------------------------- webhooks

    async def put_webhook(self, run_id: str, url: str, body: dict[str, Any]) -> None:
        """See :meth:`adapter.records.sqlite.Records.put_webhook`."""

        async def fn(conn: AsyncConnection) -> None:
            await conn.execute(
                "INSERT INTO evergraph_webhooks VALUES (%s,%s,%s) "
                "ON CONFLICT (run_id) DO UPDATE SET url=EXCLUDED.url, body=EXCLUDED.body",
                (run_id, url, _j(body)),
            )

        await self._tx(fn)

    async def get_webhook(self, run_id: str) -> dict[str, Any] | None:
        """See :meth:`adapter.records.sqlite.Records.get_webhook`."""
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT url, body FROM evergraph_webhooks WHERE run_id=%s", (run_id,))
            row = await cur.fetchone()
        if row is None:
            return None
        url, body = (row["url"], row["body"]) if isinstance(row, dict) else row
        return {"url": url, "body": json.loads(body)}

    async def delete_webhook(self, run_id: str) -> None:
        """See :meth:`adapter.records.sqlite.Records.delete_webhook`."""

        async def fn(conn: AsyncConnection) -> None:
            await conn.execute("DELETE FROM evergraph_webhooks WHERE run_id=%s", (run_id,))

        await self._tx(fn)
