"""Evergraph's own records: assistants (with versions), threads and runs.

LangGraph state (checkpoints, pending writes) is *not* here: it lives in LangGraph's
checkpointer (:mod:`adapter.graphs.checkpoint`). These tables hold what the Agent Server API
returns about assistants, threads and runs, with the same field names (reference
API.md §3.8, §3.5.3).

One SQLite file, WAL mode, shared safely by several processes on one machine
(``evergraph serve`` and ``evergraph worker``). Each method is one transaction, so a
failed request writes nothing.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any, Iterable

from evergraph.adapter import serde
from evergraph.adapter.ids import iso, now

_SCHEMA = """
CREATE TABLE IF NOT EXISTS assistants (
    assistant_id TEXT PRIMARY KEY,
    graph_id TEXT NOT NULL,
    config TEXT NOT NULL,
    context TEXT NOT NULL,
    metadata TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS assistant_versions (
    assistant_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    graph_id TEXT NOT NULL,
    config TEXT NOT NULL,
    context TEXT NOT NULL,
    metadata TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (assistant_id, version)
);
CREATE TABLE IF NOT EXISTS threads (
    thread_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    state_updated_at TEXT NOT NULL,
    metadata TEXT NOT NULL,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    "values" TEXT,
    interrupts TEXT,
    error TEXT,
    ttl TEXT
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    thread_id TEXT NOT NULL,
    assistant_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    status TEXT NOT NULL,
    metadata TEXT NOT NULL,
    multitask_strategy TEXT,
    kwargs TEXT NOT NULL,
    temporary INTEGER NOT NULL DEFAULT 0,
    on_completion TEXT
);
CREATE INDEX IF NOT EXISTS runs_thread ON runs(thread_id, created_at);
CREATE TABLE IF NOT EXISTS webhooks (
    run_id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    body TEXT NOT NULL
);
"""

_JSON_FIELDS = {"config", "context", "metadata", "values", "interrupts", "error", "kwargs", "ttl"}


def _row(cursor: sqlite3.Cursor, row: tuple) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for (name, *_), value in zip(cursor.description, row):
        if name in _JSON_FIELDS and value is not None:
            value = json.loads(value)
        out[name] = value
    return out


def _j(value: Any) -> str:
    return serde.dumps(value).decode()


def matches(doc: dict[str, Any] | None, flt: dict[str, Any] | None) -> bool:
    """JSON containment as the server's ``metadata``/``values`` filters use it.

    ``flt`` matches when every key of it equals (recursively contains) the same key
    in ``doc``.
    """
    if not flt:
        return True
    if not isinstance(doc, dict):
        return False
    for key, want in flt.items():
        if key not in doc:
            return False
        have = doc[key]
        if isinstance(want, dict):
            if not matches(have, want):
                return False
        elif have != want:
            return False
    return True


class Records:
    """Async access to the records database.

    Args:
        path: SQLite file (created with its folder if missing).

    All methods run on one background thread holding one connection, so calls from
    the event loop never block it and writes are serialised within the process.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._executor = None

    async def open(self) -> Records:
        """Create the folder, the file and the tables (idempotent)."""
        from concurrent.futures import ThreadPoolExecutor

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evergraph-records")

        def _open() -> sqlite3.Connection:
            conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.executescript(_SCHEMA)
            return conn

        self._conn = await self._call(_open)
        return self

    async def close(self) -> None:
        """Close the connection and its thread."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await self._call(conn.close)
        if self._executor is not None:
            self._executor.shutdown(wait=False)

    async def _call(self, fn, *args):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    async def _tx(self, fn) -> Any:
        """Run ``fn(conn)`` inside ``BEGIN IMMEDIATE … COMMIT`` on the records thread."""

        def run() -> Any:
            assert self._conn is not None, "Records.open() was not called"
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

    async def _query(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            assert self._conn is not None, "Records.open() was not called"
            cur = self._conn.execute(sql, tuple(params))
            return [_row(cur, r) for r in cur.fetchall()]

        return await self._call(run)

    # ------------------------------------------------------------------ assistants

    async def put_assistant(self, a: dict[str, Any], *, if_exists: str = "raise") -> tuple[dict[str, Any], bool]:
        """Insert assistant ``a`` (all Assistant fields) and its version row.

        Returns:
            ``(assistant, created)``; with ``if_exists="do_nothing"`` an existing
            assistant is returned unchanged with ``created=False``.

        Raises:
            KeyError: the id exists and ``if_exists == "raise"``.
        """

        def fn(conn: sqlite3.Connection):
            cur = conn.execute("SELECT * FROM assistants WHERE assistant_id=?", (a["assistant_id"],))
            row = cur.fetchone()
            if row is not None:
                if if_exists == "do_nothing":
                    return _row(cur, row), False
                raise KeyError(a["assistant_id"])
            conn.execute(
                "INSERT INTO assistants VALUES (?,?,?,?,?,?,?,?,?,?)",
                (a["assistant_id"], a["graph_id"], _j(a["config"]), _j(a["context"]), _j(a["metadata"]),
                 a["name"], a.get("description"), a["version"], a["created_at"], a["updated_at"]),
            )
            conn.execute(
                "INSERT INTO assistant_versions VALUES (?,?,?,?,?,?,?,?,?)",
                (a["assistant_id"], a["version"], a["graph_id"], _j(a["config"]), _j(a["context"]),
                 _j(a["metadata"]), a["name"], a.get("description"), a["created_at"]),
            )
            return a, True

        return await self._tx(fn)

    async def get_assistant(self, assistant_id: str) -> dict[str, Any] | None:
        rows = await self._query("SELECT * FROM assistants WHERE assistant_id=?", (assistant_id,))
        return rows[0] if rows else None

    async def update_assistant(self, assistant_id: str, patch: dict[str, Any]) -> dict[str, Any] | None:
        """Create a new version from ``patch`` (fields given replace the latest version's)
        and make it latest. Metadata is merged. Returns ``None`` if unknown."""

        def fn(conn: sqlite3.Connection):
            cur = conn.execute("SELECT * FROM assistants WHERE assistant_id=?", (assistant_id,))
            row = cur.fetchone()
            if row is None:
                return None
            current = _row(cur, row)
            (max_version,) = conn.execute(
                "SELECT MAX(version) FROM assistant_versions WHERE assistant_id=?", (assistant_id,)
            ).fetchone()
            ts = iso(now())
            new = dict(current)
            for key in ("graph_id", "config", "context", "name", "description"):
                if key in patch and patch[key] is not None:
                    new[key] = patch[key]
            if patch.get("metadata") is not None:
                new["metadata"] = {**current["metadata"], **patch["metadata"]}
            new["version"] = (max_version or 0) + 1
            new["updated_at"] = ts
            conn.execute(
                "UPDATE assistants SET graph_id=?, config=?, context=?, metadata=?, name=?, description=?,"
                " version=?, updated_at=? WHERE assistant_id=?",
                (new["graph_id"], _j(new["config"]), _j(new["context"]), _j(new["metadata"]), new["name"],
                 new.get("description"), new["version"], ts, assistant_id),
            )
            conn.execute(
                "INSERT INTO assistant_versions VALUES (?,?,?,?,?,?,?,?,?)",
                (assistant_id, new["version"], new["graph_id"], _j(new["config"]), _j(new["context"]),
                 _j(new["metadata"]), new["name"], new.get("description"), ts),
            )
            return new

        return await self._tx(fn)

    async def delete_assistant(self, assistant_id: str) -> bool:
        def fn(conn: sqlite3.Connection) -> bool:
            n = conn.execute("DELETE FROM assistants WHERE assistant_id=?", (assistant_id,)).rowcount
            conn.execute("DELETE FROM assistant_versions WHERE assistant_id=?", (assistant_id,))
            return n > 0

        return await self._tx(fn)

    async def list_assistants(self) -> list[dict[str, Any]]:
        return await self._query("SELECT * FROM assistants ORDER BY created_at DESC, assistant_id DESC")

    async def assistant_versions(self, assistant_id: str) -> list[dict[str, Any]]:
        return await self._query(
            "SELECT * FROM assistant_versions WHERE assistant_id=? ORDER BY version DESC", (assistant_id,)
        )

    async def set_latest_assistant_version(self, assistant_id: str, version: int) -> dict[str, Any] | None:
        """Make ``version`` the assistant's current one; ``None`` if id or version is unknown."""

        def fn(conn: sqlite3.Connection):
            cur = conn.execute(
                "SELECT * FROM assistant_versions WHERE assistant_id=? AND version=?", (assistant_id, version)
            )
            row = cur.fetchone()
            if row is None:
                return None
            v = _row(cur, row)
            ts = iso(now())
            conn.execute(
                "UPDATE assistants SET graph_id=?, config=?, context=?, metadata=?, name=?, description=?,"
                " version=?, updated_at=? WHERE assistant_id=?",
                (v["graph_id"], _j(v["config"]), _j(v["context"]), _j(v["metadata"]), v["name"],
                 v.get("description"), version, ts, assistant_id),
            )
            cur = conn.execute("SELECT * FROM assistants WHERE assistant_id=?", (assistant_id,))
            return _row(cur, cur.fetchone())

        return await self._tx(fn)

    # --------------------------------------------------------------------- threads

    async def put_thread(self, t: dict[str, Any], *, if_exists: str = "raise") -> tuple[dict[str, Any], bool]:
        """Insert thread ``t``; see :meth:`put_assistant` for ``if_exists``.

        Raises:
            KeyError: the id exists and ``if_exists == "raise"``.
        """

        def fn(conn: sqlite3.Connection):
            cur = conn.execute("SELECT * FROM threads WHERE thread_id=?", (t["thread_id"],))
            row = cur.fetchone()
            if row is not None:
                if if_exists == "do_nothing":
                    return _row(cur, row), False
                raise KeyError(t["thread_id"])
            conn.execute(
                'INSERT INTO threads (thread_id, created_at, updated_at, state_updated_at, metadata, status,'
                ' config, "values", interrupts, error, ttl) VALUES (?,?,?,?,?,?,?,?,?,?,?)',
                (t["thread_id"], t["created_at"], t["updated_at"], t["state_updated_at"], _j(t["metadata"]),
                 t["status"], _j(t.get("config") or {}), None if t.get("values") is None else _j(t["values"]),
                 None if t.get("interrupts") is None else _j(t["interrupts"]),
                 None if t.get("error") is None else _j(t["error"]),
                 None if t.get("ttl") is None else _j(t["ttl"])),
            )
            return t, True

        return await self._tx(fn)

    async def get_thread(self, thread_id: str) -> dict[str, Any] | None:
        rows = await self._query("SELECT * FROM threads WHERE thread_id=?", (thread_id,))
        return rows[0] if rows else None

    async def update_thread(self, thread_id: str, **fields: Any) -> dict[str, Any] | None:
        """Set thread columns (``metadata`` is *merged*; others replaced); bumps ``updated_at``.

        Returns the updated thread or ``None`` if unknown.
        """

        def fn(conn: sqlite3.Connection):
            cur = conn.execute("SELECT * FROM threads WHERE thread_id=?", (thread_id,))
            row = cur.fetchone()
            if row is None:
                return None
            current = _row(cur, row)
            sets: dict[str, Any] = {"updated_at": fields.pop("updated_at", None) or iso(now())}
            if "metadata" in fields:
                sets["metadata"] = _j({**current["metadata"], **(fields.pop("metadata") or {})})
            for key, value in fields.items():
                sets[key] = _j(value) if key in _JSON_FIELDS and value is not None else value
            cols = ", ".join(f'"{k}"=?' for k in sets)
            conn.execute(f"UPDATE threads SET {cols} WHERE thread_id=?", (*sets.values(), thread_id))
            cur = conn.execute("SELECT * FROM threads WHERE thread_id=?", (thread_id,))
            return _row(cur, cur.fetchone())

        return await self._tx(fn)

    async def delete_thread(self, thread_id: str) -> bool:
        def fn(conn: sqlite3.Connection) -> bool:
            n = conn.execute("DELETE FROM threads WHERE thread_id=?", (thread_id,)).rowcount
            conn.execute("DELETE FROM runs WHERE thread_id=?", (thread_id,))
            return n > 0

        return await self._tx(fn)

    async def list_threads(self, ids: list[str] | None = None, status: str | None = None) -> list[dict[str, Any]]:
        sql, params = "SELECT * FROM threads", []
        where = []
        if ids:
            where.append(f"thread_id IN ({','.join('?' * len(ids))})")
            params.extend(ids)
        if status:
            where.append("status=?")
            params.append(status)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, thread_id DESC"
        return await self._query(sql, params)

    # ------------------------------------------------------------------------ runs

    async def put_run(self, r: dict[str, Any]) -> dict[str, Any]:
        """Insert run ``r`` (all Run fields plus ``temporary`` and ``on_completion``) and
        mark its thread ``busy``, in one transaction. Idempotent: a run already stored
        is left as it is (a retried local activity)."""

        def fn(conn: sqlite3.Connection):
            inserted = conn.execute(
                "INSERT OR IGNORE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (r["run_id"], r["thread_id"], r["assistant_id"], r["created_at"], r["updated_at"], r["status"],
                 _j(r["metadata"]), r.get("multitask_strategy"), _j(r["kwargs"]), int(bool(r.get("temporary"))),
                 r.get("on_completion")),
            ).rowcount
            if inserted:
                conn.execute(
                    "UPDATE threads SET status='busy', updated_at=? WHERE thread_id=?", (iso(now()), r["thread_id"])
                )
            return r

        return await self._tx(fn)

    async def get_run(self, run_id: str, thread_id: str | None = None) -> dict[str, Any] | None:
        if thread_id is None:
            rows = await self._query("SELECT * FROM runs WHERE run_id=?", (run_id,))
        else:
            rows = await self._query("SELECT * FROM runs WHERE run_id=? AND thread_id=?", (run_id, thread_id))
        return rows[0] if rows else None

    async def list_runs(
        self, thread_id: str, *, limit: int = 10, offset: int = 0, status: str | None = None
    ) -> list[dict[str, Any]]:
        sql, params = "SELECT * FROM runs WHERE thread_id=?", [thread_id]
        if status:
            sql += " AND status=?"
            params.append(status)
        sql += " ORDER BY created_at DESC, run_id DESC LIMIT ? OFFSET ?"
        params.extend([limit, offset])
        return await self._query(sql, params)

    async def active_runs(self, thread_id: str) -> list[dict[str, Any]]:
        """Runs of the thread that are ``pending`` or ``running``, oldest first."""
        return await self._query(
            "SELECT * FROM runs WHERE thread_id=? AND status IN ('pending','running') ORDER BY created_at, run_id",
            (thread_id,),
        )

    async def set_run_status(self, run_id: str, status: str) -> dict[str, Any] | None:
        def fn(conn: sqlite3.Connection):
            conn.execute("UPDATE runs SET status=?, updated_at=? WHERE run_id=?", (status, iso(now()), run_id))
            cur = conn.execute("SELECT * FROM runs WHERE run_id=?", (run_id,))
            row = cur.fetchone()
            return None if row is None else _row(cur, row)

        return await self._tx(fn)

    async def delete_run(self, run_id: str) -> bool:
        return await self._tx(lambda conn: conn.execute("DELETE FROM runs WHERE run_id=?", (run_id,)).rowcount > 0)

    # -------------------------------------------------------------------- webhooks

    async def put_webhook(self, run_id: str, url: str, body: dict[str, Any]) -> None:
        """Stage the webhook delivery of a finished run (the outbox; replaces one
        already staged for the run)."""
        await self._tx(
            lambda conn: conn.execute("INSERT OR REPLACE INTO webhooks VALUES (?,?,?)", (run_id, url, _j(body)))
        )

    async def get_webhook(self, run_id: str) -> dict[str, Any] | None:
        """The staged delivery ``{"url", "body"}`` of ``run_id``, or None."""
        rows = await self._query("SELECT url, body FROM webhooks WHERE run_id=?", (run_id,))
        return {"url": rows[0]["url"], "body": json.loads(rows[0]["body"])} if rows else None

    async def delete_webhook(self, run_id: str) -> None:
        """Drop the staged delivery of ``run_id`` (delivered or given up)."""
        await self._tx(lambda conn: conn.execute("DELETE FROM webhooks WHERE run_id=?", (run_id,)))


def new_thread(thread_id: str, metadata: dict[str, Any], *, status: str = "idle", **fields: Any) -> dict[str, Any]:
    """A thread record as :meth:`Records.put_thread` takes it, stamped now; ``fields``
    (``config``, ``values``, ``ttl``…) override the empty defaults."""
    ts = iso(now())
    return {
        "thread_id": thread_id, "created_at": ts, "updated_at": ts, "state_updated_at": ts,
        "metadata": metadata, "status": status, "config": {}, "values": None, **fields,
    }


def public_run(r: dict[str, Any]) -> dict[str, Any]:
    """The Run object as the API returns it (API.md §3.5.3), without internal columns."""
    return {
        "run_id": r["run_id"],
        "thread_id": r["thread_id"],
        "assistant_id": r["assistant_id"],
        "created_at": r["created_at"],
        "updated_at": r["updated_at"],
        "status": r["status"],
        "metadata": r["metadata"],
        "multitask_strategy": r["multitask_strategy"],
        "kwargs": r["kwargs"],
        "langsmith_session_name": None,
    }


def public_thread(t: dict[str, Any]) -> dict[str, Any]:
    """The Thread object (API.md §3.8). ``interrupts``/``error`` appear once set."""
    out = {
        "thread_id": t["thread_id"],
        "created_at": t["created_at"],
        "updated_at": t["updated_at"],
        "state_updated_at": t["state_updated_at"],
        "metadata": t["metadata"],
        "status": t["status"],
        "config": t["config"],
        "values": t["values"],
    }
    if t.get("interrupts") is not None:
        out["interrupts"] = t["interrupts"]
    if t.get("interrupts") is not None or t.get("error") is not None:
        out["error"] = t.get("error")
    return out


def public_assistant(a: dict[str, Any]) -> dict[str, Any]:
    """The Assistant object (API.md §3.8)."""
    return {
        "assistant_id": a["assistant_id"],
        "graph_id": a["graph_id"],
        "config": a["config"],
        "context": a["context"],
        "metadata": a["metadata"],
        "name": a["name"],
        "description": a.get("description"),
        "version": a["version"],
        "created_at": a["created_at"],
        "updated_at": a["updated_at"],
    }
