"""Local activities of ``ThreadWorkflow``: ``accept_run`` (store an accepted run's
record) and ``resume_thread`` (create the run a ``resume`` signal asks for)."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from evergraph.activities.errors import classified
from evergraph.activities.ports import ThreadPort
from evergraph.workflows.types import RunInput, SubmitRun

__all__ = ["ThreadActivities"]


class ThreadActivities:
    """The thread's bookkeeping activities.

    Args:
        threads: the core's thread bookkeeping (records).
    """

    def __init__(self, threads: ThreadPort) -> None:
        self.threads = threads

    @activity.defn(name="accept_run")
    async def accept_run(self, msg: SubmitRun) -> None:
        """Store the record of a run the thread accepted; mark the thread busy.

        Raises:
            ApplicationError: see :func:`~evergraph.activities.errors.classified`.
        """
        with classified():
            await self.threads.accept_run(msg)

    @activity.defn(name="resume_thread")
    async def resume_thread(self, thread_id: str, command: dict[str, Any]) -> RunInput:
        """Create and store a run on ``thread_id`` carrying ``command``; returns its ids.

        Raises:
            ApplicationError: type ``NotFound`` (non-retryable) when the thread or its
                assistant is gone; others see :func:`~evergraph.activities.errors.classified`.
        """
        with classified():
            return await self.threads.resume_thread(thread_id, command)
