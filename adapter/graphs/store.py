"""LangGraph's store, shared by the API, the driver and node attempts of one process.

The store is LangGraph's own: ``AsyncSqliteStore`` (langgraph-checkpoint-sqlite) in
``<data dir>/store.sqlite`` for the embedded default, ``AsyncPostgresStore``
(langgraph-checkpoint-postgres) when ``EVERGRAPH_DATABASE_URI`` is ``postgresql://``.
``langgraph.json``'s ``store.index`` (semantic search) and ``store.ttl`` configure it
as they configure langgraph-api's store (:class:`adapter.graphs.config.StoreConfig`).

:class:`SharedStore` wraps it the way :class:`adapter.graphs.checkpoint.SharedSaver` wraps the
checkpointer: node attempts run on their own event loops in worker threads, so every
operation is forwarded to the loop that owns the database connection (the "home"
loop). Graphs see it as ``runtime.store`` / ``get_store()``.

SQLite's semantic search needs the ``sqlite-vec`` distance functions. When Python's
``sqlite3`` module cannot load extensions (a common build setting, e.g. pyenv's
default), Evergraph registers the same three functions (``vec_distance_cosine``,
``vec_distance_L2``, ``vec_distance_L1``) in Python on the store's connection; the
store's own SQL then runs unchanged. Every stored vector is scored for a query, which
suits the embedded default's size; Postgres uses pgvector. See docs/architecture.md,
"The layers".
"""

from __future__ import annotations

import array
import asyncio
import logging
import math
import sqlite3
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Iterable

import aiosqlite
from langgraph.store.base import BaseStore, Op, Result, ensure_embeddings, validate_op_namespace
from langgraph.store.sqlite.aio import AsyncSqliteStore

from evergraph.adapter.graphs.checkpoint import open_pg_pool, pg_advisory_lock
from evergraph.adapter.graphs.config import ConfigError, GraphSpec, StoreConfig
from evergraph.adapter.graphs.registry import GraphLoadError, import_target
from evergraph.adapter.setup_lock import setup_lock

__all__ = [
    "DEFAULT_SWEEP_MINUTES",
    "EvergraphSqliteStore",
    "SharedStore",
    "load_embeddings",
    "open_postgres_store",
    "open_sqlite_store",
    "open_store",
    "sqlite_loads_extensions",
]

logger = logging.getLogger(__name__)

#: minutes between sweeps of expired items when ``store.ttl.sweep_interval_minutes``
#: is not set (LangGraph's stores use the same default)
DEFAULT_SWEEP_MINUTES = 5.0


def _validated(ops: Iterable[Op]) -> list[Op]:
    """``ops`` as a list, each namespace checked as LangGraph's stores check it.

    Raises:
        InvalidNamespaceError: a namespace label is empty or contains a period.
    """
    ops = list(ops)
    for op in ops:
        validate_op_namespace(op)
    return ops


class SharedStore(BaseStore):
    """A LangGraph ``BaseStore`` usable from any thread's event loop.

    Every ``abatch`` runs ``inner.abatch`` on ``home``; the sync ``batch`` (sync nodes,
    which LangGraph runs in executor threads) blocks its thread until the home loop
    has run it. All of ``BaseStore``'s methods (``aget``, ``aput``, ``asearch``,
    ``alist_namespaces``, their sync forms…) go through these two.

    Args:
        inner: the real store (``AsyncSqliteStore`` or ``AsyncPostgresStore``).
        home: the event loop that owns ``inner``'s connection.

    Attributes:
        ttl_config: the effective ``TTLConfig`` (``refresh_on_read``, ``default_ttl``
            in minutes, ``sweep_interval_minutes``); defaults of TTL and refresh
            apply from it.
        index_config: the inner store's index configuration, or ``None`` (no
            semantic search: ``query`` is ignored and scores are ``None``).
    """

    supports_ttl = True

    def __init__(self, inner: BaseStore, home: asyncio.AbstractEventLoop) -> None:
        self.inner = inner
        self.home = home
        self.ttl_config = inner.ttl_config
        self.index_config = getattr(inner, "index_config", None)

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run ``ops`` (LangGraph ``GetOp``/``PutOp``/``SearchOp``/``ListNamespacesOp``)
        from synchronous code in another thread; returns one result per op.

        Raises:
            asyncio.InvalidStateError: called on the home loop's thread (it would
                deadlock; use ``abatch``).
            InvalidNamespaceError: a namespace label is empty or contains a period.
        """
        ops = _validated(ops)
        if self._on_home():
            raise asyncio.InvalidStateError("synchronous store calls on the store's own event loop; use the async API")
        return asyncio.run_coroutine_threadsafe(self.inner.abatch(ops), self.home).result()

    def _on_home(self) -> bool:
        """Whether the caller runs on the store's home loop."""
        try:
            return asyncio.get_running_loop() is self.home
        except RuntimeError:
            return False

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Run ``ops`` on the home loop from any loop; returns one result per op
        (``Item | None`` for gets, ``list[SearchItem]`` for searches, ``list[tuple]``
        for namespace listings, ``None`` for puts and deletes).

        Raises:
            InvalidNamespaceError: a namespace label is empty or contains a period.
        """
        ops = _validated(ops)
        if self._on_home():
            return await self.inner.abatch(ops)
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.inner.abatch(ops), self.home))


# ------------------------------------------------------------------------------ config


def load_embeddings(config: StoreConfig) -> Any:
    """The embeddings that ``store.index.embed`` names, as LangGraph's
    ``ensure_embeddings`` accepts them.

    ``"./file.py:attr"`` (relative to the ``langgraph.json``) and
    ``"package.module:attr"`` import ``attr``: a LangChain ``Embeddings`` object or a
    function ``list[str] -> list[list[float]]`` (sync or async). Anything else, e.g.
    ``"openai:text-embedding-3-small"``, goes to LangChain's ``init_embeddings``.

    Raises:
        ConfigError: the file, module or attribute is missing, or the provider
            cannot be initialised; the message names ``store.index.embed``.
    """
    embed = (config.index or {})["embed"]
    target, _, attr = embed.rpartition(":")
    spec = GraphSpec("store_index_embed", target, attr, None, config.base_dir)
    try:
        if spec.is_file or "." in target:
            obj = import_target(spec)
        else:
            obj = embed
        return ensure_embeddings(obj)
    except GraphLoadError as exc:
        raise ConfigError(f"langgraph.json store.index.embed {embed!r}: {exc}") from None
    except Exception as exc:
        raise ConfigError(f"langgraph.json: store.index.embed {embed!r}: {type(exc).__name__}: {exc}") from None


def _index_config(config: StoreConfig) -> dict[str, Any] | None:
    if not config.index:
        return None
    index = dict(config.index)
    index["embed"] = load_embeddings(config)
    fields = index.get("fields") or ["$"]
    index["fields"] = fields  # AsyncPostgresStore's key
    index["text_fields"] = fields  # AsyncSqliteStore's key
    return index


def _ttl_config(config: StoreConfig) -> dict[str, Any]:
    ttl: dict[str, Any] = {"refresh_on_read": True, "sweep_interval_minutes": DEFAULT_SWEEP_MINUTES}
    ttl.update({k: v for k, v in (config.ttl or {}).items() if v is not None})
    return ttl


# ------------------------------------------------------------------------------ SQLite


def _floats(blob: bytes) -> array.array:
    return array.array("f", blob)


def _vec_distance_cosine(a: bytes | None, b: bytes | None) -> float | None:
    if a is None or b is None:
        return None
    x, y = _floats(a), _floats(b)
    dot = sum(p * q for p, q in zip(x, y))
    norm = math.sqrt(sum(p * p for p in x)) * math.sqrt(sum(q * q for q in y))
    return 1.0 - dot / norm if norm else 1.0


def _vec_distance_l2(a: bytes | None, b: bytes | None) -> float | None:
    if a is None or b is None:
        return None
    return math.sqrt(sum((p - q) ** 2 for p, q in zip(_floats(a), _floats(b))))


def _vec_distance_l1(a: bytes | None, b: bytes | None) -> float | None:
    if a is None or b is None:
        return None
    return sum(abs(p - q) for p, q in zip(_floats(a), _floats(b)))


def sqlite_loads_extensions() -> bool:
    """Whether this Python's ``sqlite3`` can load extensions such as ``sqlite-vec``."""
    return hasattr(sqlite3.Connection, "enable_load_extension")


class EvergraphSqliteStore(AsyncSqliteStore):
    """``AsyncSqliteStore`` whose semantic index also works where ``sqlite3`` cannot
    load the ``sqlite-vec`` extension: :meth:`setup` then creates LangGraph's vector
    table itself and registers sqlite-vec's three distance functions in Python
    (same arguments, float32 blobs, same results). Everything else is LangGraph's."""

    async def setup(self) -> None:
        """Create the store's tables (LangGraph's migrations) and, with an index,
        its vector table and distance functions. Idempotent."""
        if not self.index_config or sqlite_loads_extensions():
            return await super().setup()
        if self.is_setup:
            return
        index, self.index_config = self.index_config, None
        try:
            await super().setup()
        finally:
            self.index_config = index
        async with self.lock:
            for name, fn in (
                ("vec_distance_cosine", _vec_distance_cosine),
                ("vec_distance_L2", _vec_distance_l2),
                ("vec_distance_L1", _vec_distance_l1),
            ):
                await self.conn.create_function(name, 2, fn, deterministic=True)
            await self.conn.execute("CREATE TABLE IF NOT EXISTS vector_migrations (v INTEGER PRIMARY KEY)")
            async with self.conn.execute("SELECT v FROM vector_migrations ORDER BY v DESC LIMIT 1") as cur:
                row = await cur.fetchone()
            version = -1 if row is None else row[0]
            for v, sql in enumerate(self.VECTOR_MIGRATIONS[version + 1 :], start=version + 1):
                await self.conn.executescript(sql)
                await self.conn.execute("INSERT INTO vector_migrations (v) VALUES (?)", (v,))


async def open_sqlite_store(path: Path, config: StoreConfig, stack: AsyncExitStack) -> SharedStore:
    """Open (and create) the SQLite store at ``path`` with ``config``'s index and TTL,
    and start its TTL sweeper. ``stack`` stops the sweeper and closes the connection.
    Must be called on the loop that will be the store's home (the main loop).

    Raises:
        ConfigError: ``store.index.embed`` cannot be loaded.
    """
    index = _index_config(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(str(path), isolation_level=None)
    stack.push_async_callback(conn.close)
    await conn.execute("PRAGMA busy_timeout=30000")
    # LangGraph's vector rows cascade from their item (delete, re-put, TTL sweep)
    await conn.execute("PRAGMA foreign_keys=ON")
    inner = EvergraphSqliteStore(conn, index=index, ttl=_ttl_config(config))
    # An API and a worker process starting together on one data folder take turns:
    # two connections switching a new file to WAL at once deadlock, and SQLite fails
    # one of them at once with "database is locked" (no busy wait), and LangGraph's
    # migrations (ALTER TABLE …) are not safe to run twice at once
    async with setup_lock(path):
        await conn.execute("PRAGMA journal_mode=WAL")
        await inner.setup()
    return await _share(inner, stack)


# ------------------------------------------------------------------------------ Postgres

_SETUP_LOCK = 0x4C475354  # pg advisory lock key serialising concurrent store setup() calls


async def open_postgres_store(uri: str, config: StoreConfig, stack: AsyncExitStack, max_size: int = 4) -> SharedStore:
    """Open LangGraph's ``AsyncPostgresStore`` on its own connection pool to ``uri``,
    run its migrations under an advisory lock (processes starting together do not
    race) and start its TTL sweeper. A configured index needs the ``vector``
    (pgvector) extension in that database.

    Args:
        uri: libpq connection URI (``postgresql://user:password@host:port/db``).
        config: ``langgraph.json``'s ``store`` settings.
        stack: stops the sweeper and closes the pool when it closes.
        max_size: most connections of the pool.

    Raises:
        ConfigError: ``store.index.embed`` cannot be loaded.
        psycopg_pool.PoolTimeout: the server is unreachable.
        TimeoutError: another process held the migrations' lock for 120 s.
    """
    # deferred: Postgres is opt-in (EVERGRAPH_DATABASE_URI), and psycopg adds about
    # 60 ms to every process's start
    from langgraph.store.postgres.aio import AsyncPostgresStore

    index = _index_config(config)
    pool = await open_pg_pool(uri, stack, max_size)
    inner = AsyncPostgresStore(conn=pool, index=index, ttl=_ttl_config(config))
    async with pool.connection() as conn:
        await pg_advisory_lock(conn, _SETUP_LOCK)
        try:
            await inner.setup()
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK,))
    return await _share(inner, stack)


async def _share(inner: Any, stack: AsyncExitStack) -> SharedStore:
    await inner.start_ttl_sweeper()

    async def close() -> None:
        await inner.stop_ttl_sweeper(timeout=5)
        # the queue consumer of AsyncBatchedBaseStore, a private attribute in
        # langgraph-checkpoint 4.3 (>=4.3,<5 in pyproject.toml)
        task = getattr(inner, "_task", None)
        if task is not None:
            task.cancel()

    stack.push_async_callback(close)
    return SharedStore(inner, asyncio.get_running_loop())


async def open_store(settings: Any, config: StoreConfig, stack: AsyncExitStack) -> SharedStore:
    """The process's store: Postgres when ``settings.uses_postgres``, else SQLite in
    ``store.sqlite`` beside ``settings.sqlite_path``.

    Args:
        settings: the process's :class:`~evergraph.adapter.process.settings.Settings`.
        config: ``langgraph.json``'s ``store`` settings.
        stack: stops the TTL sweeper and closes the connections when it closes.

    Raises:
        ConfigError: ``store.index.embed`` cannot be loaded.
        psycopg_pool.PoolTimeout: Postgres is unreachable.
    """
    if settings.uses_postgres:
        return await open_postgres_store(settings.database_uri, config, stack)
    return await open_sqlite_store(settings.sqlite_path.with_name("store.sqlite"), config, stack)
