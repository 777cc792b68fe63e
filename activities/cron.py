"""Local activity of ``CronWorkflow``: ``cron_fire`` creates the run of one cron tick."""

from __future__ import annotations

from typing import Any, Optional

from temporalio import activity

from evergraph.adapter.services import Services


class CronActivities:
    """Activities bound to this worker's services.

    Args:
        services: process services (records, registry, Temporal client).
    """

    def __init__(self, services: Services) -> None:
        self.services = services

    @activity.defn(name="cron_fire")
    async def cron_fire(self, cron: dict[str, Any]) -> Optional[dict[str, Any]]:
        """Create the run of one tick of ``cron`` (a cron document); see
        :func:`adapter.crons.fire_cron`.

        Returns:
            ``{"run_id", "thread_id"}`` of the new run, or ``None`` when the thread
            refused it (``multitask_strategy="reject"`` while busy).

        Raises:
            ApplicationError (non-retryable): the cron's thread or assistant is gone
                or its payload is refused (4xx); other errors as
                :func:`~evergraph.activities.errors.classified` says (transient ones
                are retried).
        """
        from temporalio.exceptions import ApplicationError

        from evergraph.activities.errors import classified
        from evergraph.adapter.crons import CronFireRefused, fire_cron
        from evergraph.adapter.errors import Unavailable

        # Unavailable: Temporal could not take the run
        with classified(transient=(Unavailable,)):
            try:
                return await fire_cron(self.services, cron)
            except CronFireRefused as err:
                raise ApplicationError(str(err), type="CronFireRefused", non_retryable=True) from None
