"""The SQL the SQLite and Postgres record stores share: each statement written once,
with ``?`` placeholders and ``{table}`` names that a :class:`Dialect` spells for its
database, and the methods of :class:`~adapter.records.protocol.RecordStore` that are
the same on both (:class:`SqlRecords`: every read, insert and delete).

What differs between the backends (transactions, row locks, idempotent inserts, the
writes that read first) stays in :mod:`adapter.records.sqlite` and
:mod:`adapter.records.postgres`.

See docs/architecture.md for the layers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Sequence

from evergraph.adapter.records.common import (
    ASSISTANT_COLUMNS, BLOB_COLUMNS, RUN_COLUMNS, THREAD_COLUMNS, VERSION_COLUMNS, WEBHOOK_COLUMNS, staged_webhook,
)
from evergraph.adapter.ids import iso, now
from evergraph.adapter.records.types import (
    ActiveRunStats, Assistant, AssistantVersion, OnConflictBehavior, RunRecord, RunStatus, StagedWebhook, ThreadRecord,
    ThreadStatus,
)

__all__ = [
    "ACTIVE_RUNS",
    "ACTIVE_RUN_STATS",
    "ADDED_COLUMNS",
    "ASSISTANT_VERSIONS",
    "BLOB_EXISTS",
    "BLOB_INDEXES",
    "COLUMNS",
    "DELETE_ASSISTANT",
    "DELETE_BLOB",
    "DELETE_RUN",
    "DELETE_RUN_BLOBS",
    "DELETE_THREAD",
    "DELETE_WEBHOOK",
    "Dialect",
    "LIST_ASSISTANTS",
    "MARK_THREAD_BUSY",
    "MAX_VERSION",
    "Row",
    "SELECT_ASSISTANT",
    "SELECT_BLOB",
    "SELECT_RUN",
    "SELECT_THREAD",
    "SELECT_VERSION",
    "SET_RUN_STATUS",
    "SqlRecords",
    "TABLES",
]

#: a row to insert: (table, columns, record)
Row = tuple[str, tuple[str, ...], Any]

#: the tables, by their SQLite names (a :class:`Dialect` may prefix them), and their columns
COLUMNS = {
    "assistants": ASSISTANT_COLUMNS,
    "assistant_versions": VERSION_COLUMNS,
    "threads": THREAD_COLUMNS,
    "runs": RUN_COLUMNS,
    "webhooks": WEBHOOK_COLUMNS,
    "blobs": BLOB_COLUMNS,
}
TABLES = tuple(COLUMNS)
#: each table's primary key
_KEYS = {
    "assistants": ("assistant_id",), "assistant_versions": ("assistant_id", "version"), "threads": ("thread_id",),
    "runs": ("run_id",), "webhooks": ("run_id",), "blobs": ("blob_id",),
}
#: text columns that sort and compare bytewise (ids, timestamps): SQLite does so anyway,
#: Postgres is told with its dialect's ``collate``
_BYTEWISE = {
    "assistants": {"assistant_id", "created_at", "updated_at"},
    "assistant_versions": {"assistant_id", "created_at"},
    "threads": {"thread_id", "created_at", "updated_at", "state_updated_at"},
    "runs": {"run_id", "thread_id", "created_at", "updated_at"},
    "webhooks": {"run_id"},
    "blobs": {"blob_id", "thread_id", "run_id", "created_at"},
}
_INTEGERS = {"version": "INTEGER NOT NULL", "temporary": "INTEGER NOT NULL DEFAULT 0"}
_NULLABLE = {
    "description", "values", "interrupts", "error", "ttl", "multitask_strategy", "on_completion", "cancel_reason",
}
#: columns added after their table was first released, ``{table: (column, …)}``: a
#: database made before them gets them at start-up (:meth:`Dialect.added_columns`);
#: all of them are nullable text
ADDED_COLUMNS = {"runs": ("cancel_reason",)}

#: the statements both backends run, as templates for :meth:`Dialect.__call__`
SELECT_ASSISTANT = "SELECT * FROM {assistants} WHERE assistant_id=?"
LIST_ASSISTANTS = "SELECT * FROM {assistants} ORDER BY created_at DESC, assistant_id DESC"
ASSISTANT_VERSIONS = "SELECT * FROM {assistant_versions} WHERE assistant_id=? ORDER BY version DESC"
SELECT_VERSION = "SELECT * FROM {assistant_versions} WHERE assistant_id=? AND version=?"
MAX_VERSION = "SELECT MAX(version) AS v FROM {assistant_versions} WHERE assistant_id=?"
SELECT_THREAD = "SELECT * FROM {threads} WHERE thread_id=?"
SELECT_RUN = "SELECT * FROM {runs} WHERE run_id=?"
ACTIVE_RUNS = (
    "SELECT * FROM {runs} WHERE thread_id=? AND status IN ('pending','running') ORDER BY created_at, run_id"
)
#: :meth:`RecordStore.active_run_stats` in one statement (one row): window functions
#: number each thread's active runs (oldest first), count them and its running ones,
#: and number the pending runs (oldest first) for their median; the partial index
#: ``{runs}_active`` (:meth:`Dialect.schema`) holds exactly the rows it reads
ACTIVE_RUN_STATS = """
WITH active AS (
    SELECT status, created_at,
        ROW_NUMBER() OVER (PARTITION BY thread_id ORDER BY created_at, run_id) AS nth,
        COUNT(*) OVER (PARTITION BY thread_id) AS on_thread,
        SUM(CASE WHEN status='running' THEN 1 ELSE 0 END) OVER (PARTITION BY thread_id) AS running_on_thread
    FROM {runs} WHERE status IN ('pending','running')
), waiting AS (
    SELECT created_at, ROW_NUMBER() OVER (ORDER BY created_at) AS k, COUNT(*) OVER () AS n
    FROM active WHERE status='pending'
)
SELECT
    (SELECT COUNT(*) FROM waiting) AS n_pending,
    (SELECT COUNT(*) FROM active WHERE status='running') AS n_running,
    (SELECT MIN(created_at) FROM waiting) AS oldest_pending,
    (SELECT MIN(created_at) FROM active WHERE status='pending' AND running_on_thread=0) AS oldest_unblocked_pending,
    (SELECT MIN(created_at) FROM waiting WHERE k=(n+1)/2) AS median_low,
    (SELECT MIN(created_at) FROM waiting WHERE k=n/2+1) AS median_high,
    (SELECT COUNT(*) FROM active WHERE nth>1) AS queued,
    (SELECT COALESCE(MAX(on_thread), 1) - 1 FROM active) AS queued_per_thread_max,
    (SELECT COUNT(*) FROM active WHERE nth=2) AS threads_with_queue
"""
#: the threads a TTL sweep looks at: with a ttl of their own (or updated before a time)
TTL_CANDIDATES = "SELECT thread_id, status, updated_at, ttl FROM {threads} WHERE ttl IS NOT NULL"
TTL_ORDER = " ORDER BY updated_at, thread_id"
MARK_THREAD_BUSY = "UPDATE {threads} SET status='busy', updated_at=? WHERE thread_id=?"
SET_RUN_STATUS = "UPDATE {runs} SET status=?, updated_at=?, cancel_reason=? WHERE run_id=?"
#: deletions: the first statement's row count says whether the record existed
DELETE_ASSISTANT = (
    "DELETE FROM {assistants} WHERE assistant_id=?", "DELETE FROM {assistant_versions} WHERE assistant_id=?"
)
DELETE_THREAD = (
    "DELETE FROM {threads} WHERE thread_id=?", "DELETE FROM {runs} WHERE thread_id=?",
    "DELETE FROM {blobs} WHERE thread_id=?",
)
DELETE_RUN = ("DELETE FROM {runs} WHERE run_id=?", "DELETE FROM {blobs} WHERE run_id=?")
#: large values stored by reference (claim checks, adapter/execution/claims.py)
SELECT_BLOB = "SELECT data FROM {blobs} WHERE blob_id=?"
BLOB_EXISTS = "SELECT blob_id FROM {blobs} WHERE blob_id=?"
DELETE_BLOB = ("DELETE FROM {blobs} WHERE blob_id=?",)
DELETE_RUN_BLOBS = ("DELETE FROM {blobs} WHERE run_id=?",)
#: the indexes of the blobs table, by run and by thread (their deletions look them up)
BLOB_INDEXES = ("run_id", "thread_id")
DELETE_WEBHOOK = ("DELETE FROM {webhooks} WHERE run_id=?",)


@lru_cache(maxsize=256)
def _spell(template: str, mark: str, prefix: str) -> str:
    return template.format(**{name: prefix + name for name in TABLES}).replace("?", mark)


@dataclass(frozen=True)
class Dialect:
    """How one database spells the shared statements.

    Args:
        mark: the parameter placeholder (``?`` for SQLite, ``%s`` for psycopg).
        prefix: put before every table name.
        collate: see :attr:`collate`.
    """

    mark: str
    prefix: str = ""
    collate: str = ""
    """Appended to the type of the bytewise text columns (``' COLLATE "C"'``)."""

    def table(self, name: str) -> str:
        """The database's name of table ``name`` (one of :data:`TABLES`)."""
        return self.prefix + name

    def __call__(self, template: str) -> str:
        """``template`` with its ``{table}`` names and ``?`` placeholders spelled."""
        return _spell(template, self.mark, self.prefix)

    def schema(self) -> list[str]:
        """``CREATE TABLE IF NOT EXISTS`` of every table and ``CREATE INDEX IF NOT
        EXISTS`` of the indexes: runs by thread, the active runs (partial), blobs by
        run and by thread."""
        statements = []
        for table, columns in COLUMNS.items():
            keys = _KEYS[table]
            lines = []
            for column in columns:
                if column in _INTEGERS:
                    kind = _INTEGERS[column]
                else:
                    kind = "TEXT" + (self.collate if column in _BYTEWISE[table] else "")
                    if keys == (column,):
                        kind += " PRIMARY KEY"
                    elif column not in _NULLABLE:
                        kind += " NOT NULL"
                lines.append(f'"{column}" {kind}')
            if len(keys) > 1:
                lines.append(f"PRIMARY KEY ({', '.join(keys)})")
            statements.append(f"CREATE TABLE IF NOT EXISTS {self.table(table)} (\n    " + ",\n    ".join(lines) + "\n)")
        runs = self.table("runs")
        statements.append(f"CREATE INDEX IF NOT EXISTS {runs}_thread ON {runs}(thread_id, created_at)")
        # the active runs only (ACTIVE_RUN_STATS, ACTIVE_RUNS): small however many runs ended
        statements.append(
            f"CREATE INDEX IF NOT EXISTS {runs}_active ON {runs}(thread_id, created_at, run_id, status)"
            " WHERE status IN ('pending','running')"
        )
        blobs = self.table("blobs")
        statements.extend(f"CREATE INDEX IF NOT EXISTS {blobs}_{c} ON {blobs}({c})" for c in BLOB_INDEXES)
        return statements

    def add_column(self, table: str, column: str, if_not_exists: bool = False) -> str:
        """``ALTER TABLE table ADD COLUMN column TEXT`` (nullable) for a database made
        before ``column`` (one of :data:`ADDED_COLUMNS`); ``if_not_exists`` adds Postgres'
        guard (SQLite has none: its store asks ``PRAGMA table_info`` first)."""
        guard = "IF NOT EXISTS " if if_not_exists else ""
        return f'ALTER TABLE {self.table(table)} ADD COLUMN {guard}"{column}" TEXT'

    def insert(self, table: str, columns: Sequence[str], verb: str = "INSERT", tail: str = "") -> str:
        """``verb INTO table (columns…) VALUES (…) tail``: ``verb`` may be SQLite's
        ``INSERT OR IGNORE`` / ``INSERT OR REPLACE``, ``tail`` an ``ON CONFLICT`` clause."""
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join([self.mark] * len(columns))
        return f"{verb} INTO {self.table(table)} ({names}) VALUES ({marks}) {tail}".rstrip()

    def update(self, table: str, columns: Sequence[str], key: str) -> str:
        """``UPDATE table SET column=…, … WHERE key=…`` (parameters: the columns' values,
        then the key's)."""
        sets = ", ".join(f'"{c}"={self.mark}' for c in columns)
        return f"UPDATE {self.table(table)} SET {sets} WHERE {key}={self.mark}"

    def list_threads(self, ids: list[str] | None, status: str | None) -> tuple[str, list[Any]]:
        """The query of :meth:`RecordStore.list_threads` and its parameters."""
        where: list[str] = []
        params: list[Any] = []
        if ids:
            where.append(f"thread_id IN ({', '.join([self.mark] * len(ids))})")
            params.extend(ids)
        if status:
            where.append(f"status={self.mark}")
            params.append(status)
        sql = f"SELECT * FROM {self.table('threads')}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return sql + " ORDER BY created_at DESC, thread_id DESC", params

    def ttl_candidates(self, updated_before: str | None) -> tuple[str, list[Any]]:
        """The query of :meth:`RecordStore.ttl_candidates` and its parameters."""
        if updated_before is None:
            return self(TTL_CANDIDATES + TTL_ORDER), []
        return self(TTL_CANDIDATES + " OR updated_at < ?" + TTL_ORDER), [updated_before]

    def list_runs(self, thread_id: str, limit: int, offset: int, status: str | None) -> tuple[str, list[Any]]:
        """The query of :meth:`RecordStore.list_runs` and its parameters."""
        m = self.mark
        sql = f"SELECT * FROM {self.table('runs')} WHERE thread_id={m}"
        params: list[Any] = [thread_id]
        if status:
            sql += f" AND status={m}"
            params.append(status)
        params.extend([limit, offset])
        return sql + f" ORDER BY created_at DESC, run_id DESC LIMIT {m} OFFSET {m}", params


class SqlRecords:
    """The methods of :class:`~adapter.records.protocol.RecordStore` that are the same on
    both backends, on the backend's :attr:`dialect` and three primitives: :meth:`_query`,
    :meth:`_put` and :meth:`_delete`."""

    dialect: Dialect

    async def _query(self, statement: str, params: Iterable[Any] = ()) -> list[Any]:
        """The rows of ``statement``, decoded (:func:`adapter.records.common.decode_row`)."""
        raise NotImplementedError

    async def _put(
        self, select: str, key: str, if_exists: OnConflictBehavior, result: Any, first: Row, *more: Row
    ) -> Any:
        """In one transaction: insert ``first`` (whose first column is its id, ``key``)
        and ``more``, and answer ``(result, True)``; or, when the id is taken, answer
        with the row the template ``select`` finds (:func:`adapter.records.common.taken`)."""
        raise NotImplementedError

    async def _delete(self, templates: tuple[str, ...], key: str) -> bool:
        """In one transaction, run the deletion ``templates`` for ``key``; whether the
        first one deleted a row."""
        raise NotImplementedError

    async def _first(self, template: str, params: Iterable[Any]) -> Any:
        rows = await self._query(self.dialect(template), params)
        return rows[0] if rows else None

    async def get_assistant(self, assistant_id: str) -> Assistant | None:
        """See :meth:`RecordStore.get_assistant`."""
        return await self._first(SELECT_ASSISTANT, (assistant_id,))

    async def list_assistants(self) -> list[Assistant]:
        """See :meth:`RecordStore.list_assistants`."""
        return await self._query(self.dialect(LIST_ASSISTANTS))

    async def assistant_versions(self, assistant_id: str) -> list[AssistantVersion]:
        """See :meth:`RecordStore.assistant_versions`."""
        return await self._query(self.dialect(ASSISTANT_VERSIONS), (assistant_id,))

    async def get_thread(self, thread_id: str) -> ThreadRecord | None:
        """See :meth:`RecordStore.get_thread`."""
        return await self._first(SELECT_THREAD, (thread_id,))

    async def list_threads(
        self, ids: list[str] | None = None, status: ThreadStatus | None = None
    ) -> list[ThreadRecord]:
        """See :meth:`RecordStore.list_threads`."""
        return await self._query(*self.dialect.list_threads(ids, status))

    async def ttl_candidates(self, updated_before: str | None = None) -> list[ThreadRecord]:
        """See :meth:`RecordStore.ttl_candidates`."""
        return await self._query(*self.dialect.ttl_candidates(updated_before))

    async def get_run(self, run_id: str, thread_id: str | None = None) -> RunRecord | None:
        """See :meth:`RecordStore.get_run`."""
        run = await self._first(SELECT_RUN, (run_id,))
        return run if run is None or thread_id is None or run["thread_id"] == thread_id else None

    async def list_runs(
        self, thread_id: str, *, limit: int = 10, offset: int = 0, status: RunStatus | None = None
    ) -> list[RunRecord]:
        """See :meth:`RecordStore.list_runs`."""
        return await self._query(*self.dialect.list_runs(thread_id, limit, offset, status))

    async def active_runs(self, thread_id: str) -> list[RunRecord]:
        """See :meth:`RecordStore.active_runs`."""
        return await self._query(self.dialect(ACTIVE_RUNS), (thread_id,))

    async def active_run_stats(self) -> ActiveRunStats:
        """See :meth:`RecordStore.active_run_stats`."""
        (row,) = await self._query(self.dialect(ACTIVE_RUN_STATS))
        low, high = row.pop("median_low"), row.pop("median_high")
        ints = ("n_pending", "n_running", "queued", "queued_per_thread_max", "threads_with_queue")
        return ActiveRunStats(
            **{k: int(row[k] or 0) for k in ints},
            oldest_pending=row["oldest_pending"],
            oldest_unblocked_pending=row["oldest_unblocked_pending"],
            median_pending=None if low is None else (low, high),
        )

    async def get_webhook(self, run_id: str) -> StagedWebhook | None:
        """See :meth:`RecordStore.get_webhook`."""
        return staged_webhook(await self._first("SELECT url, body FROM {webhooks} WHERE run_id=?", (run_id,)))

    async def put_assistant(
        self, a: Assistant, *, if_exists: OnConflictBehavior = "raise"
    ) -> tuple[Assistant, bool]:
        """See :meth:`RecordStore.put_assistant`."""
        rows = ("assistants", ASSISTANT_COLUMNS, a), ("assistant_versions", VERSION_COLUMNS, a)
        return await self._put(SELECT_ASSISTANT, a["assistant_id"], if_exists, a, *rows)

    async def put_thread(
        self, t: ThreadRecord, *, if_exists: OnConflictBehavior = "raise"
    ) -> tuple[ThreadRecord, bool]:
        """See :meth:`RecordStore.put_thread`."""
        row = ("threads", THREAD_COLUMNS, {**t, "config": t.get("config") or {}})
        return await self._put(SELECT_THREAD, t["thread_id"], if_exists, t, row)

    async def delete_assistant(self, assistant_id: str) -> bool:
        """See :meth:`RecordStore.delete_assistant`."""
        return await self._delete(DELETE_ASSISTANT, assistant_id)

    async def delete_thread(self, thread_id: str) -> bool:
        """See :meth:`RecordStore.delete_thread`."""
        return await self._delete(DELETE_THREAD, thread_id)

    async def delete_run(self, run_id: str) -> bool:
        """See :meth:`RecordStore.delete_run`."""
        return await self._delete(DELETE_RUN, run_id)

    async def delete_webhook(self, run_id: str) -> None:
        """See :meth:`RecordStore.delete_webhook`."""
        await self._delete(DELETE_WEBHOOK, run_id)

    async def put_blob(self, blob_id: str, data: str, *, thread_id: str, run_id: str) -> None:
        """See :meth:`RecordStore.put_blob`."""
        row = {"blob_id": blob_id, "thread_id": thread_id, "run_id": run_id, "created_at": iso(now()), "data": data}
        await self._put(BLOB_EXISTS, blob_id, "do_nothing", None, ("blobs", BLOB_COLUMNS, row))

    async def get_blob(self, blob_id: str) -> str | None:
        """See :meth:`RecordStore.get_blob`."""
        row = await self._first(SELECT_BLOB, (blob_id,))
        return None if row is None else row["data"]

    async def delete_blob(self, blob_id: str) -> bool:
        """See :meth:`RecordStore.delete_blob`."""
        return await self._delete(DELETE_BLOB, blob_id)

    async def delete_run_blobs(self, run_id: str) -> bool:
        """See :meth:`RecordStore.delete_run_blobs`."""
        return await self._delete(DELETE_RUN_BLOBS, run_id)
