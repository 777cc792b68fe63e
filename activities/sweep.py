"""The activity of ``ThreadSweepWorkflow``: ``sweep_threads`` deletes or prunes the
threads whose time-to-live has passed (``langgraph.json`` ``checkpointer.ttl``, a
thread's own ``ttl``). The work itself is the core's (:class:`SweepPort`, implemented by
:class:`evergraph.adapter.resources.ttl.ThreadSweeper`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from temporalio import activity

from evergraph.activities.errors import classified

__all__ = ["SweepActivities", "SweepPort"]


class SweepPort(Protocol):
    """Sweeps expired threads."""

    async def sweep_threads(self, limit: int, *, heartbeat: Callable[[], None]) -> dict[str, int]:
        """Delete (strategy ``delete``) or prune to their latest checkpoint
        (``keep_latest``) at most ``limit`` expired threads, least recently updated
        first; call ``heartbeat`` after each one.

        Returns:
            ``{"deleted": n, "pruned": n}``.
        """
        ...


class SweepActivities:
    """The sweep activity.

    Args:
        sweeper: the core's sweep.
    """

    def __init__(self, sweeper: SweepPort) -> None:
        self.sweeper = sweeper

    @activity.defn(name="sweep_threads")
    async def sweep_threads(self, sweep: dict[str, Any]) -> dict[str, Any]:
        """One sweep; ``sweep`` is ``{"limit": n}`` (most threads handled, default
        10000). Returns ``{"deleted": n, "pruned": n}``.

        Raises:
            ApplicationError: as :func:`~evergraph.activities.errors.classified` says
                (a storage or Temporal failure is retried by the workflow).
        """
        limit = int(sweep.get("limit") or 10000)
        with classified():
            return dict(await self.sweeper.sweep_threads(limit, heartbeat=activity.heartbeat))
