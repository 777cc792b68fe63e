"""``ThreadSweepWorkflow``: what the thread time-to-live Schedule
(``evergraph-thread-ttl-<task queue>``, see :mod:`adapter.resources.ttl`) starts every
``checkpointer.ttl.sweep_interval_minutes``.

Its one argument is ``{"limit": n}`` (``checkpointer.ttl.sweep_limit``). It runs the
activity ``sweep_threads`` once, which deletes or prunes at most ``n`` expired threads,
and ends with that activity's counts ``{"deleted", "pruned"}``. No LangGraph state and
no thread list pass through its history.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

__all__ = ["ThreadSweepWorkflow"]


@workflow.defn(name="ThreadSweepWorkflow")
class ThreadSweepWorkflow:
    """See the module docstring."""

    @workflow.run
    async def run(self, sweep: dict[str, Any]) -> dict[str, Any]:
        """Sweep expired threads once; ``sweep`` is ``{"limit": n}``; returns
        ``{"deleted": n, "pruned": n}``."""
        return await workflow.execute_activity(
            "sweep_threads",
            sweep,
            start_to_close_timeout=timedelta(minutes=30),
            # the activity heartbeats after each thread it handles
            heartbeat_timeout=timedelta(minutes=2),
            # a sweep is idempotent: what a failed attempt left is found again
            retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=1)),
            result_type=dict[str, Any],
        )
