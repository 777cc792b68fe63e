"""What Evergraph's activities need from the core, as ``typing.Protocol``\\ s.

Activities are the Temporal side of the work; the work itself (LangGraph's loop,
records, the broker) lives in the core (``adapter``), which sits *above* this layer.
So an activity never imports the core: the worker bootstrap
(``adapter/process/temporal.py``) hands each activity group an object that satisfies
its port, and imports flow one way (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional, Protocol

from evergraph.workflows.types import (
    AdvanceRequest,
    AdvanceResponse,
    FinishInput,
    NodeInput,
    NodeOutput,
    RunInput,
    RunOutcome,
    SubmitRun,
)

__all__ = ["CronPort", "NodePort", "RunPort", "ThreadPort"]


class NodePort(Protocol):
    """Runs node attempts."""

    async def run_attempt(self, inp: NodeInput, *, attempt: int, heartbeat: Callable[[], None]) -> NodeOutput:
        """Run one attempt of ``inp.task``.

        Args:
            inp: the run's ids and the task descriptor.
            attempt: Temporal's attempt number (1-based).
            heartbeat: records a Temporal heartbeat; call it on the activity's loop.

        Raises:
            evergraph.activities.errors.NodeAttemptError: the node failed or timed out.
            evergraph.activities.errors.TaskMismatchError: the task cannot be rebuilt.
        """
        ...

    async def commit_local(self, inp: NodeInput, out: NodeOutput) -> None:
        """Save the writes of a finished *local* attempt through the run's driver
        before the local activity completes (its result is recorded in the
        workflow's history only when the workflow task completes)."""
        ...


class RunPort(Protocol):
    """The bookkeeping of ``RunWorkflow``."""

    async def advance(self, req: AdvanceRequest) -> AdvanceResponse:
        """Deliver finished tasks to the run's driver; return what to start next."""
        ...

    async def finish_run(self, inp: FinishInput) -> RunOutcome:
        """Record the run's outcome; returns it with the thread's status and interrupts."""
        ...

    async def send_webhook(self, run_id: str, attempt: int) -> None:
        """Deliver the staged webhook of a finished run; ``attempt`` is 1-based.

        Raises:
            evergraph.activities.errors.TransientError: the attempt failed and may be
                retried (transport error, 5xx).
        """
        ...


class ThreadPort(Protocol):
    """The bookkeeping of ``ThreadWorkflow``."""

    async def accept_run(self, msg: SubmitRun) -> None:
        """Store the record of a run the thread accepted; mark the thread busy."""
        ...

    async def resume_thread(self, thread_id: str, command: dict[str, Any]) -> RunInput:
        """Create and store a run on ``thread_id`` carrying ``command``; returns its ids."""
        ...


class CronPort(Protocol):
    """Fires crons."""

    async def fire_cron(self, cron: dict[str, Any]) -> Optional[dict[str, Any]]:
        """Create the run of one tick of ``cron``; ``None`` when its thread refused it.

        Raises:
            evergraph.activities.errors.TransientError: Temporal could not take the run.
        """
        ...
