"""Taking turns at opening one SQLite file: processes that share a data folder (an API
and a worker started together, ``evergraph serve`` beside ``evergraph worker``) open
the same records, broker, checkpoint and store files at once. Switching a file to WAL
mode and creating tables need an exclusive lock that SQLite refuses at once (its busy
handler is not consulted when waiting could deadlock), and LangGraph's store
migrations are not safe to run twice concurrently; so each opener holds an exclusive
``flock`` on ``<file>.setup-lock`` while it sets the file up. See docs/architecture.md."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

__all__ = ["setup_lock"]


@contextlib.asynccontextmanager
async def setup_lock(database: Path) -> AsyncIterator[None]:
    """Hold an exclusive ``flock`` on ``<database>.setup-lock`` (created if missing)
    across processes while the body sets ``database`` up; waits for the holder.

    Args:
        database: the SQLite file being opened.
    """
    # deferred: fcntl exists on POSIX only, so the module stays importable elsewhere
    import fcntl

    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".setup-lock"), "a+") as f:
        await asyncio.to_thread(fcntl.flock, f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
