"""LangGraph's checkpointer, shared by the driver and node attempts of one process.

:class:`SharedSaver` wraps a real LangGraph saver (``AsyncSqliteSaver`` embedded) and
adds two things Evergraph needs, delegating everything else:

* **one home event loop**: node attempts run on their own event loops in worker
  threads (so a blocking node cannot stall workflows or heartbeats); their async
  checkpointer calls (subgraphs inside a node save checkpoints too) are forwarded to
  the loop that owns the database connection;
* **drain**: :meth:`SharedSaver.drain` waits until every write submitted so far is
  durable. The driver calls it before handing tasks to the workflow, because a node
  attempt, possibly on another worker, reconstructs its task from the saved
  checkpoint and pending writes.

See docs/architecture.md, "One run's path", step 5.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, AsyncIterator, Sequence

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from evergraph.adapter.setup_lock import setup_lock

__all__ = ["SharedSaver", "open_checkpointer", "open_pg_pool", "open_postgres_checkpointer", "pg_advisory_lock"]

logger = logging.getLogger(__name__)


class SharedSaver(BaseCheckpointSaver):
    """A LangGraph checkpointer usable from any thread's event loop. Every
    ``BaseCheckpointSaver`` method runs ``inner``'s async form on ``home``; the sync
    forms block their (non-home) thread until it has.

    Args:
        inner: the real saver; its async methods run on ``home``.
        home: the event loop that owns ``inner``'s connection.
    """

    def __init__(self, inner: BaseCheckpointSaver, home: asyncio.AbstractEventLoop) -> None:
        super().__init__(serde=inner.serde)
        self.inner = inner
        self.home = home
        self._inflight: set[Any] = set()  # asyncio futures of the home loop, thread-safe futures

    # -- plumbing --------------------------------------------------------------

    async def _on_home(self, coro) -> Any:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.home:
            fut = asyncio.ensure_future(coro)
            tracked: Any = fut
        else:
            # track the thread-safe future, not the caller loop's wrapper: drain()
            # runs on the home loop and cannot await another loop's future
            tracked = asyncio.run_coroutine_threadsafe(coro, self.home)
            fut = asyncio.wrap_future(tracked)
        self._inflight.add(tracked)
        tracked.add_done_callback(self._inflight.discard)
        return await fut

    async def drain(self) -> None:
        """Wait until every checkpoint and write submitted so far is stored (home loop).

        Cancelling this wait cancels only the wait: the saves in flight are every run's
        of this process, not the caller's alone (``asyncio.gather`` would cancel them
        all with it; a local node attempt cancelled by Temporal while its driver drained
        so dropped another run's checkpoint, whose run then ended a node short or
        failed with ``TaskMismatchError``: tests/test_local_activities.py)."""
        while self._inflight:
            await asyncio.wait([asyncio.wrap_future(f) for f in list(self._inflight)])

    @property
    def config_specs(self) -> list:
        """``inner``'s config specs."""
        return self.inner.config_specs

    def get_next_version(self, current: Any, channel: Any) -> Any:
        """``inner``'s next channel version after ``current``."""
        return self.inner.get_next_version(current, channel)

    # -- async API ----------------------------------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint ``config`` names (the latest of its thread without a
        ``checkpoint_id``) with its pending writes, or ``None``."""
        return await self._on_home(self.inner.aget_tuple(config))

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Checkpoints matching ``config``, ``filter`` (on metadata) and ``before``,
        newest first, at most ``limit``; read in full on the home loop first."""

        async def collect() -> list[CheckpointTuple]:
            return [t async for t in self.inner.alist(config, filter=filter, before=before, limit=limit)]

        for item in await self._on_home(collect()):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store ``checkpoint``; its metadata gains ``thread_id`` as in langgraph-api
        0.16.7's checkpoints (LangGraph drops the key). Returns its config."""
        thread_id = config.get("configurable", {}).get("thread_id")
        if thread_id is not None and "thread_id" not in metadata:
            metadata = {**metadata, "thread_id": str(thread_id)}
        return await self._on_home(self.inner.aput(config, checkpoint, metadata, new_versions))

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's pending ``writes`` (``[(channel, value)]``) on the checkpoint
        ``config`` names."""
        return await self._on_home(self.inner.aput_writes(config, writes, task_id, task_path))

    async def adelete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint and write of ``thread_id``."""
        return await self._on_home(self.inner.adelete_thread(thread_id))

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete every checkpoint (all namespaces) and pending write made by ``run_ids``
        (found through LangGraph's own metadata filter on ``run_id``). Mirrors
        langgraph-api's ``multitask_strategy=rollback`` / ``cancel(action=rollback)``.
        Uses the saver's own ``adelete_for_runs`` where it has one."""
        try:
            await self._on_home(self.inner.adelete_for_runs(run_ids))
            return
        except NotImplementedError:
            pass
        rows = []
        for run_id in run_ids:
            async for t in self.alist(None, filter={"run_id": run_id}):
                c = t.config["configurable"]
                rows.append((c["thread_id"], c.get("checkpoint_ns", ""), c["checkpoint_id"]))
        await self._on_home(self._delete_rows(rows))

    async def acollapse_run(self, thread_id: str, run_id: str) -> None:
        """Keep only the last root checkpoint ``run_id`` made on ``thread_id``, re-parented
        onto the checkpoint the run started from: LangGraph's ``durability="exit"``
        outcome (in langgraph-api 0.16.7 the history then holds only the final
        checkpoint). Evergraph runs such a run with per-step checkpoints, because each
        node attempt rebuilds its task from the checkpoint it reads, then collapses
        them when the run ends.

        Nothing is deleted when the final checkpoint still rebuilds a ``DeltaChannel``
        from the writes stored on its ancestors (its metadata counts updates since
        the channel's last snapshot): those writes are the state. Nor when the saver
        cannot delete single checkpoints. Idempotent."""
        own = [t async for t in self.alist({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}},
                                           filter={"run_id": run_id})]
        if len(own) < 2:
            return
        keep, drop = own[0], own[1:]
        if (keep.metadata or {}).get("counters_since_delta_snapshot"):
            logger.info("run %s: durability=exit keeps its checkpoints (delta channels need them)", run_id)
            return
        parent = (drop[-1].parent_config or {}).get("configurable", {}).get("checkpoint_id")
        rows = [(thread_id, "", t.config["configurable"]["checkpoint_id"]) for t in drop]
        try:
            await self._on_home(
                self._delete_rows(rows, reparent=(thread_id, keep.config["configurable"]["checkpoint_id"], parent))
            )
        except NotImplementedError as exc:
            logger.warning("run %s: durability=exit keeps every checkpoint: %s", run_id, exc)

    async def _delete_rows(self, rows: list[tuple[str, str, str]], reparent: tuple | None = None) -> None:
        """Delete the given ``(thread_id, checkpoint_ns, checkpoint_id)`` checkpoints with
        their writes and optionally re-parent one checkpoint, in one transaction.

        Raises:
            NotImplementedError: the saver is neither the SQLite nor the Postgres one.
        """
        if _is_postgres(self.inner):
            return await self._delete_rows_pg(rows, reparent)
        conn = getattr(self.inner, "conn", None)
        if conn is None:
            raise NotImplementedError(f"{type(self.inner).__name__} cannot delete single checkpoints")
        async with self.inner.lock:
            for thread_id, ns, checkpoint_id in rows:
                await conn.execute(
                    "DELETE FROM checkpoints WHERE thread_id=? AND checkpoint_ns=? AND checkpoint_id=?",
                    (thread_id, ns, checkpoint_id),
                )
                await conn.execute(
                    "DELETE FROM writes WHERE thread_id=? AND checkpoint_ns=? AND checkpoint_id=?",
                    (thread_id, ns, checkpoint_id),
                )
            if reparent is not None:
                thread_id, checkpoint_id, parent = reparent
                await conn.execute(
                    "UPDATE checkpoints SET parent_checkpoint_id=? WHERE thread_id=? AND checkpoint_ns='' "
                    "AND checkpoint_id=?",
                    (parent, thread_id, checkpoint_id),
                )
            await conn.commit()

    async def _delete_rows_pg(self, rows: list[tuple[str, str, str]], reparent: tuple | None) -> None:
        """:meth:`_delete_rows` on langgraph-checkpoint-postgres' tables. Channel values
        (``checkpoint_blobs``) are shared between checkpoints by version and stay: a
        blob no checkpoint names is never read (new versions carry a random suffix)."""
        # deferred: Postgres is opt-in (EVERGRAPH_DATABASE_URI). ``_ainternal`` is
        # private to langgraph-checkpoint-postgres, pinned for 3.2 (>=3.2,<3.3)
        from langgraph.checkpoint.postgres import _ainternal

        async with self.inner.lock, _ainternal.get_connection(self.inner.conn) as conn:
            async with conn.transaction():
                for thread_id, ns, checkpoint_id in rows:
                    for table in ("checkpoints", "checkpoint_writes"):
                        await conn.execute(
                            f"DELETE FROM {table} WHERE thread_id=%s AND checkpoint_ns=%s AND checkpoint_id=%s",
                            (thread_id, ns, checkpoint_id),
                        )
                if reparent is not None:
                    thread_id, checkpoint_id, parent = reparent
                    await conn.execute(
                        "UPDATE checkpoints SET parent_checkpoint_id=%s WHERE thread_id=%s AND checkpoint_ns='' "
                        "AND checkpoint_id=%s",
                        (parent, thread_id, checkpoint_id),
                    )

    async def aget_delta_channel_history(self, *args: Any, **kwargs: Any) -> Any:
        """``inner``'s ``aget_delta_channel_history`` (writes that rebuild a
        ``DeltaChannel``), on the home loop."""
        return await self._on_home(self.inner.aget_delta_channel_history(*args, **kwargs))

    # -- sync API (graph.invoke/get_state from sync code in a worker thread) -----

    def _sync(self, coro) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.home).result()

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Sync :meth:`aget_tuple` (not on the home loop's thread: it would deadlock)."""
        return self._sync(self.inner.aget_tuple(config))

    def list(self, config, *, filter=None, before=None, limit=None):  # noqa: A003
        """Sync :meth:`alist`."""

        async def collect():
            return [t async for t in self.inner.alist(config, filter=filter, before=before, limit=limit)]

        return iter(self._sync(collect()))

    def put(self, config, checkpoint, metadata, new_versions):
        """Sync form of ``inner.aput``."""
        return self._sync(self.inner.aput(config, checkpoint, metadata, new_versions))

    def put_writes(self, config, writes, task_id, task_path=""):
        """Sync :meth:`aput_writes`."""
        return self._sync(self.inner.aput_writes(config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        """Sync :meth:`adelete_thread`."""
        return self._sync(self.inner.adelete_thread(thread_id))


async def open_checkpointer(path: Path, stack: AsyncExitStack) -> SharedSaver:
    """Open (and create) the SQLite checkpoint database at ``path``.

    The connection closes when ``stack`` closes. Must be called on the loop that will
    be the saver's home (the process's main loop).

    Raises:
        sqlite3.OperationalError: the file cannot be opened or created.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    saver = await stack.enter_async_context(AsyncSqliteSaver.from_conn_string(str(path)))
    async with setup_lock(path):
        await saver.setup()
        await saver.conn.execute("PRAGMA journal_mode=WAL")
    await saver.conn.execute("PRAGMA busy_timeout=30000")
    return SharedSaver(saver, asyncio.get_running_loop())


def _is_postgres(saver: BaseCheckpointSaver) -> bool:
    # only a process that opened the Postgres saver has imported its module
    aio = sys.modules.get("langgraph.checkpoint.postgres.aio")
    return aio is not None and isinstance(saver, aio.AsyncPostgresSaver)


_SETUP_LOCK = 0x4C475350  # pg advisory lock key serialising concurrent setup() calls


async def open_postgres_checkpointer(uri: str, stack: AsyncExitStack, max_size: int = 4) -> SharedSaver:
    """Open LangGraph's ``AsyncPostgresSaver`` on a connection pool to ``uri`` and run
    its migrations (under an advisory lock, so processes starting together do not race).

    Args:
        uri: libpq connection URI (``postgresql://user:password@host:port/db``).
        stack: closes the pool when it closes.
        max_size: most connections of the pool (the saver serialises its own calls).

    Must be called on the loop that will be the saver's home.

    Raises:
        psycopg_pool.PoolTimeout: the server is unreachable.
        TimeoutError: another process held the migrations' lock for 120 s.
    """
    # deferred: Postgres is opt-in (EVERGRAPH_DATABASE_URI), and psycopg with
    # langgraph-checkpoint-postgres adds about 60 ms to every process's start
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    pool = await open_pg_pool(uri, stack, max_size)
    saver = AsyncPostgresSaver(conn=pool)
    async with pool.connection() as conn:
        await pg_advisory_lock(conn, _SETUP_LOCK)
        try:
            await saver.setup()
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK,))
    return SharedSaver(saver, asyncio.get_running_loop())


async def open_pg_pool(uri: str, stack: AsyncExitStack, max_size: int) -> Any:
    """An open psycopg ``AsyncConnectionPool`` to ``uri`` as LangGraph's Postgres saver
    and store need it (autocommit, no prepared statements, dict rows), closed with
    ``stack``; at most ``max_size`` connections.

    Raises:
        psycopg_pool.PoolTimeout: the server did not answer within 30 s.
    """
    # deferred: Postgres is opt-in (see open_postgres_checkpointer)
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    pool = AsyncConnectionPool(
        uri, min_size=1, max_size=max_size, open=False,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        check=AsyncConnectionPool.check_connection,
    )
    await pool.open(wait=True, timeout=30)
    stack.push_async_callback(pool.close)
    return pool


async def pg_advisory_lock(conn: Any, key: int, timeout: float = 120.0) -> None:
    """Take the session advisory lock ``key`` on ``conn`` (an autocommit psycopg
    ``AsyncConnection``), polling with ``pg_try_advisory_lock`` every 50 ms.

    A process blocked in ``pg_advisory_lock`` would hold a snapshot that the lock
    holder's ``CREATE INDEX CONCURRENTLY`` (in LangGraph's migrations) waits for: a
    deadlock between processes starting together. Polling holds none.

    Raises:
        TimeoutError: not acquired within ``timeout`` seconds.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        cur = await conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (key,))
        row = await cur.fetchone()
        if (row["ok"] if isinstance(row, dict) else row[0]) is True:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"Postgres advisory lock {key} not acquired within {timeout}s")
        await asyncio.sleep(0.05)
