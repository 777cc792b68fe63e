"""The core's side of the activity ports (``activities/ports.py``): objects that give
Evergraph's activities their work, built by the worker bootstrap
(``adapter/process/temporal.py``). They translate the core's errors into the activity
layer's: a failure worth retrying becomes a
:class:`~evergraph.activities.errors.TransientError`. See docs/architecture.md, "The
layers"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional

from evergraph.activities.errors import TransientError
from evergraph.adapter.resources.crons import fire_cron
from evergraph.adapter.execution.claims import slim_outcome
from evergraph.adapter.execution.driver import DriverRegistry
from evergraph.adapter.errors import NotFound, Unavailable
from evergraph.adapter.execution.finish import finish_run
from evergraph.adapter.execution.node_attempt import run_node_attempt
from evergraph.adapter.observability import metrics
from evergraph.adapter.resources.runs import accept_run, resume_thread
from evergraph.adapter.services import Services
from evergraph.adapter.resources.webhooks import ATTEMPTS, WebhookFailed, send_staged
from evergraph.workflows.types import (
    AdvanceRequest,
    AdvanceResponse,
    FinishInput,
    NodeInput,
    NodeOutput,
    RunInput,
    RunOutcome,
    SubmitRun,
    TaskResult,
)

__all__ = ["CronFiring", "NodeRunner", "RunBookkeeping", "ThreadBookkeeping"]


class NodeRunner:
    """:class:`~evergraph.activities.ports.NodePort` on this process's services.

    Args:
        services: process services.
        drivers: the worker's driver registry (commits local attempts' writes).
    """

    def __init__(self, services: Services, drivers: DriverRegistry) -> None:
        self.services = services
        self.drivers = drivers

    async def run_attempt(self, inp: NodeInput, *, attempt: int, heartbeat: Callable[[], None]) -> NodeOutput:
        """See :func:`evergraph.adapter.execution.node_attempt.run_node_attempt`; its
        duration, outcome and retry are recorded (:func:`metrics.node_attempt`)."""
        with metrics.node_attempt(inp.run.graph_id, inp.task.name, attempt) as seen:
            out = await run_node_attempt(self.services, inp, attempt=attempt, heartbeat=heartbeat)
            if out.interrupts:
                seen.outcome = "interrupt"
            return out

    async def commit_local(self, inp: NodeInput, out: NodeOutput) -> None:
        """See :meth:`evergraph.adapter.execution.driver.RunDriver.commit_local`."""
        result = TaskResult(inp.task.task_id, writes=out.writes, interrupts=out.interrupts, elapsed=out.elapsed)
        await self.drivers.commit_local(inp.run.run_id, result)


class RunBookkeeping:
    """:class:`~evergraph.activities.ports.RunPort`: the drivers of the runs this
    worker hosts, outcome recording and webhook delivery.

    Args:
        services: process services.
        drivers: the worker's driver registry.
    """

    def __init__(self, services: Services, drivers: DriverRegistry) -> None:
        self.services = services
        self.drivers = drivers

    async def advance(self, req: AdvanceRequest) -> AdvanceResponse:
        """See :meth:`evergraph.adapter.execution.driver.DriverRegistry.advance`."""
        return await self.drivers.advance(req)

    async def finish_run(self, inp: FinishInput) -> RunOutcome:
        """Drop the run's driver, then record its outcome
        (:func:`evergraph.adapter.execution.finish.finish_run`)."""
        self.drivers.cancel(inp.run.run_id)
        outcome = await finish_run(self.services, inp.run, inp.outcome)
        # what goes back to the workflows stays small (claims.py)
        return slim_outcome(outcome, self.services.settings.claim_check_bytes)

    async def send_webhook(self, run_id: str, attempt: int) -> None:
        """One delivery attempt (:func:`evergraph.adapter.resources.webhooks.send_staged`); the
        attempt numbered :data:`~evergraph.adapter.resources.webhooks.ATTEMPTS` is the last.

        Raises:
            TransientError: kind ``WebhookFailed``, a transport error or 5xx answer.
        """
        try:
            await send_staged(self.services, run_id, final_attempt=attempt >= ATTEMPTS)
        except WebhookFailed as err:
            raise TransientError(str(err), kind="WebhookFailed") from err


class ThreadBookkeeping:
    """:class:`~evergraph.activities.ports.ThreadPort` on this process's records.

    Args:
        services: process services.
    """

    def __init__(self, services: Services) -> None:
        self.services = services

    async def accept_run(self, msg: SubmitRun) -> None:
        """See :func:`evergraph.adapter.resources.runs.accept_run`."""
        await accept_run(self.services, msg)

    async def resume_thread(self, thread_id: str, command: dict[str, Any]) -> RunInput:
        """See :func:`evergraph.adapter.resources.runs.resume_thread`.

        Raises:
            NotFound: the thread or its assistant no longer exists.
        """
        try:
            return await resume_thread(self.services, thread_id, command)
        except LookupError as err:
            raise NotFound(str(err)) from None


class CronFiring:
    """:class:`~evergraph.activities.ports.CronPort` on this process's services.

    Args:
        services: process services.
    """

    def __init__(self, services: Services) -> None:
        self.services = services

    async def fire_cron(self, cron: dict[str, Any]) -> Optional[dict[str, Any]]:
        """See :func:`evergraph.adapter.resources.crons.fire_cron`.

        Raises:
            TransientError: kind ``Unavailable``, Temporal could not take the run.
        """
        try:
            return await fire_cron(self.services, cron)
        except Unavailable as err:
            raise TransientError(err.message, kind="Unavailable") from err
