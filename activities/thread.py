"""Local activities of ``ThreadWorkflow``: ``accept_run`` (store an accepted run's
record) and ``resume_thread`` (create the run a ``resume`` signal asks for)."""

from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from evergraph.activities.errors import classified
from evergraph.adapter.runs import accept_run, resume_thread
from evergraph.adapter.services import Services
from evergraph.workflows.types import RunInput, SubmitRun


class ThreadActivities:
    """Activities bound to this worker's services.

    Args:
        services: process services (records).
    """

    def __init__(self, services: Services) -> None:
        self.services = services

    @activity.defn(name="accept_run")
    async def accept_run(self, msg: SubmitRun) -> None:
        """Store the record of a run the thread accepted; mark the thread busy.

        Raises:
            ApplicationError: see :func:`~evergraph.activities.errors.classified`.
        """
        with classified():
            await accept_run(self.services, msg)

    @activity.defn(name="resume_thread")
    async def resume_thread(self, thread_id: str, command: dict[str, Any]) -> RunInput:
        """Create and store a run on ``thread_id`` carrying ``command``; returns its ids.

        Raises:
            ApplicationError: type ``NotFound`` (non-retryable) when the thread or its
                assistant is gone; others see :func:`~evergraph.activities.errors.classified`.
        """
        with classified():
            try:
                return await resume_thread(self.services, thread_id, command)
            except LookupError as err:
                raise ApplicationError(str(err), type="NotFound", non_retryable=True) from None
