"""Bytes a thread occupies in LangGraph's checkpointer (``GET /threads/{id}/storage``).

The report has the shape langgraph-api 0.16.7 answers (its ``ThreadStorage`` schema):
``total_bytes``, ``checkpoints {count, bytes}``, ``channel_values {count, bytes,
by_channel: {<channel>: {versions, bytes}}}`` and ``pending_writes {count, bytes}``,
counted as the saver stores them:

* langgraph-checkpoint-sqlite keeps a checkpoint's channel values inside its
  ``checkpoints`` row, so there they count under ``checkpoints`` and
  ``channel_values`` is empty;
* langgraph-checkpoint-postgres keeps strings and numbers inside the checkpoint
  row too, and every other value in ``checkpoint_blobs`` (one row per channel
  version), counted under ``channel_values`` per channel.
"""

from __future__ import annotations

import sys
from typing import Any

from evergraph.adapter.graphs.checkpoint import SharedSaver

__all__ = ["StorageUnsupported", "thread_storage"]


class StorageUnsupported(Exception):
    """The saver is neither LangGraph's SQLite nor its Postgres saver."""


def _report(checkpoints: tuple[int, int], by_channel: dict[str, dict[str, int]], writes: tuple[int, int]) -> dict:
    channel_bytes = sum(entry["bytes"] for entry in by_channel.values())
    return {
        "total_bytes": checkpoints[1] + channel_bytes + writes[1],
        "checkpoints": {"count": checkpoints[0], "bytes": checkpoints[1]},
        "channel_values": {
            "count": sum(entry["versions"] for entry in by_channel.values()),
            "bytes": channel_bytes,
            "by_channel": by_channel,
        },
        "pending_writes": {"count": writes[0], "bytes": writes[1]},
    }


async def _sqlite(inner: Any, thread_id: str) -> dict[str, Any]:
    async with inner.lock:
        async with inner.conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(checkpoint) + LENGTH(metadata)), 0) FROM checkpoints "
            "WHERE thread_id=?",
            (thread_id,),
        ) as cur:
            checkpoints = tuple(await cur.fetchone())
        async with inner.conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(value)), 0) FROM writes WHERE thread_id=?", (thread_id,)
        ) as cur:
            writes = tuple(await cur.fetchone())
    return _report(checkpoints, {}, writes)


async def _postgres(inner: Any, thread_id: str) -> dict[str, Any]:
    # deferred: Postgres is opt-in; ``_ainternal`` is pinned as in adapter/graphs/checkpoint.py
    from langgraph.checkpoint.postgres import _ainternal

    async with _ainternal.get_connection(inner.conn) as conn:
        async with conn.cursor() as cur:
            await cur.execute(
                "SELECT COUNT(*), COALESCE(SUM(pg_column_size(checkpoint) + pg_column_size(metadata)), 0) "
                "FROM checkpoints WHERE thread_id=%s",
                (thread_id,),
            )
            row = await cur.fetchone()
            checkpoints = tuple(row.values()) if isinstance(row, dict) else tuple(row)
            await cur.execute(
                "SELECT channel, COUNT(*), COALESCE(SUM(COALESCE(octet_length(blob), 0)), 0) "
                "FROM checkpoint_blobs WHERE thread_id=%s GROUP BY channel ORDER BY channel",
                (thread_id,),
            )
            by_channel = {}
            for row in await cur.fetchall():
                channel, versions, size = row.values() if isinstance(row, dict) else row
                by_channel[channel] = {"versions": int(versions), "bytes": int(size)}
            await cur.execute(
                "SELECT COUNT(*), COALESCE(SUM(COALESCE(octet_length(blob), 0)), 0) FROM checkpoint_writes "
                "WHERE thread_id=%s",
                (thread_id,),
            )
            row = await cur.fetchone()
            writes = tuple(row.values()) if isinstance(row, dict) else tuple(row)
    return _report((int(checkpoints[0]), int(checkpoints[1])), by_channel, (int(writes[0]), int(writes[1])))


async def thread_storage(saver: SharedSaver, thread_id: str) -> dict[str, Any]:
    """The storage report of ``thread_id`` (a canonical UUID string) without the
    ``thread_id`` key; sizes in bytes. A thread without checkpoints reports zeros.

    Raises:
        StorageUnsupported: the saver is not LangGraph's SQLite or Postgres saver.
    """
    inner = saver.inner
    aio = sys.modules.get("langgraph.checkpoint.postgres.aio")
    if aio is not None and isinstance(inner, aio.AsyncPostgresSaver):
        return await saver._on_home(_postgres(inner, thread_id))
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    if isinstance(inner, AsyncSqliteSaver):
        return await saver._on_home(_sqlite(inner, thread_id))
    raise StorageUnsupported(f"{type(inner).__name__} does not report its storage")
