"""Local activities of ``RunWorkflow``: ``advance`` (talk to the run's driver) and
``finish_run`` (record the outcome, update the thread, close the stream), and the
activity ``send_webhook``. Failures are classified by
:func:`evergraph.activities.errors.classified` (transient ones retried, others not)."""

from __future__ import annotations

from temporalio import activity

from evergraph.activities.errors import classified
from evergraph.activities.ports import RunPort
from evergraph.workflows.types import AdvanceRequest, AdvanceResponse, FinishInput, RunOutcome

__all__ = ["RunActivities"]


class RunActivities:
    """The run's bookkeeping activities.

    Args:
        runs: the core's run bookkeeping (driver registry, outcome recording, webhooks).
    """

    def __init__(self, runs: RunPort) -> None:
        self.runs = runs

    @activity.defn(name="advance")
    async def advance(self, req: AdvanceRequest) -> AdvanceResponse:
        """Deliver finished tasks to the run's driver; return what to start next.

        Raises:
            ApplicationError: see :func:`~evergraph.activities.errors.classified`.
        """
        with classified():
            return await self.runs.advance(req)

    @activity.defn(name="send_webhook")
    async def send_webhook(self, run_id: str) -> None:
        """Deliver the staged webhook of a finished run (one attempt; Temporal retries).

        Raises:
            ApplicationError: type ``WebhookFailed`` (retryable) for a transport error
                or 5xx answer; others see :func:`~evergraph.activities.errors.classified`.
        """
        with classified():
            await self.runs.send_webhook(run_id, activity.info().attempt)

    @activity.defn(name="finish_run")
    async def finish_run(self, inp: FinishInput) -> RunOutcome:
        """Record the run's outcome; returns it with the thread's resulting status and
        interrupts.

        Raises:
            ApplicationError: see :func:`~evergraph.activities.errors.classified`.
        """
        with classified():
            return await self.runs.finish_run(inp)
