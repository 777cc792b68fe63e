"""Local activity of ``CronWorkflow``: ``cron_fire`` creates the run of one cron tick."""

from __future__ import annotations

from typing import Any, Optional

from temporalio import activity

from evergraph.activities.errors import classified
from evergraph.activities.ports import CronPort

__all__ = ["CronActivities"]


class CronActivities:
    """The cron-tick activity.

    Args:
        crons: the core's cron firing.
    """

    def __init__(self, crons: CronPort) -> None:
        self.crons = crons

    @activity.defn(name="cron_fire")
    async def cron_fire(self, cron: dict[str, Any]) -> Optional[dict[str, Any]]:
        """Create the run of one tick of ``cron`` (a cron document).

        Returns:
            ``{"run_id", "thread_id"}`` of the new run, or ``None`` when the thread
            refused it (``multitask_strategy="reject"`` while busy).

        Raises:
            ApplicationError: non-retryable when the cron's payload is refused (type
                ``CronFireRefused``); retryable when Temporal could not take the run
                (type ``Unavailable``); others as
                :func:`~evergraph.activities.errors.classified` says.
        """
        with classified():
            return await self.crons.fire_cron(cron)
