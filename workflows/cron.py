"""``CronWorkflow``: what a cron's Temporal Schedule (``cron-<cron_id>``) starts at each
tick, or when a person triggers the schedule in the Temporal UI.

Its one argument is the cron document (the API's Cron object without the fields the
schedule itself holds, ``enabled`` and ``next_run_date``). It creates one ordinary run
from the cron's ``payload`` through the local activity ``cron_fire`` (on the cron's
thread, or stateless with ``on_run_completed`` as the run's ``on_completion``) and ends
with ``{"run_id", "thread_id"}`` of that run, or ``None`` when the thread refused it
(``multitask_strategy="reject"`` on a busy thread). It does not wait for the run.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Optional

from temporalio import workflow
from temporalio.common import RetryPolicy

__all__ = ["CronWorkflow"]


@workflow.defn(name="CronWorkflow")
class CronWorkflow:
    """See the module docstring."""

    @workflow.run
    async def run(self, cron: dict[str, Any]) -> Optional[dict[str, Any]]:
        """Create the run of one tick of ``cron`` (a cron document, see
        :mod:`adapter.resources.crons`); returns ``{"run_id", "thread_id"}`` or ``None``."""
        return await workflow.execute_local_activity(
            "cron_fire",
            cron,
            start_to_close_timeout=timedelta(minutes=1),
            # a retry after a lost answer could create the run twice: retry a few
            # times only, for Temporal or storage being briefly unreachable
            retry_policy=RetryPolicy(maximum_attempts=5, initial_interval=timedelta(seconds=1)),
            result_type=Optional[dict[str, Any]],
        )
