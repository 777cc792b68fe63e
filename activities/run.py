"""Local activities of ``RunWorkflow``: ``advance`` (talk to the run's driver) and
``finish_run`` (record the outcome, update the thread, close the stream), and the
activity ``send_webhook``. Failures are classified by
:func:`evergraph.activities.errors.classified` (transient ones retried, others not)."""

from __future__ import annotations

from temporalio import activity

from evergraph.activities.errors import classified
from evergraph.adapter.driver import DriverRegistry
from evergraph.adapter.finish import finish_run
from evergraph.adapter.services import Services
from evergraph.workflows.types import AdvanceRequest, AdvanceResponse, FinishInput, RunOutcome


class RunActivities:
    """Activities bound to this worker's services and driver registry.

    Args:
        services: process services.
        drivers: the drivers of runs hosted by this worker.
    """

    def __init__(self, services: Services, drivers: DriverRegistry) -> None:
        self.services = services
        self.drivers = drivers

    @activity.defn(name="advance")
    async def advance(self, req: AdvanceRequest) -> AdvanceResponse:
        """Deliver finished tasks to the run's driver; return what to start next.

        Raises:
            ApplicationError: see :func:`~evergraph.activities.errors.classified`.
        """
        with classified():
            return await self.drivers.advance(req)

    @activity.defn(name="send_webhook")
    async def send_webhook(self, run_id: str) -> None:
        """Deliver the staged webhook of a finished run (one attempt; Temporal retries).

        Raises:
            ApplicationError: type ``WebhookFailed`` (retryable) for a transport error
                or 5xx answer; others see :func:`~evergraph.activities.errors.classified`.
        """
        from evergraph.adapter.webhooks import ATTEMPTS, WebhookFailed, send_staged

        with classified(transient=(WebhookFailed,)):
            await send_staged(self.services, run_id, final_attempt=activity.info().attempt >= ATTEMPTS)

    @activity.defn(name="finish_run")
    async def finish_run(self, inp: FinishInput) -> RunOutcome:
        """Record the run's outcome (see :func:`adapter.finish.finish_run`); returns it
        with the thread's resulting status and interrupts.

        Raises:
            ApplicationError: see :func:`~evergraph.activities.errors.classified`.
        """
        with classified():
            self.drivers.cancel(inp.run.run_id)
            return await finish_run(self.services, inp.run, inp.outcome)
