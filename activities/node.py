"""The node-attempt activity. Its activity type is ``<graph_id>.<node>`` (a dynamic
activity), so the Temporal UI lists node names; attempts, timeouts and failures are
Temporal's own. The work is in :func:`adapter.node_attempt.run_node_attempt`."""


import dataclasses
from datetime import timedelta
from collections.abc import Sequence

from temporalio import activity
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

from evergraph.adapter.node_attempt import NodeAttemptError, TaskMismatchError, run_node_attempt
from evergraph.adapter.services import Services
from evergraph.workflows.types import NodeInput, NodeOutput


class NodeActivities:
    """Holds the process services for the node-attempt activity.

    Args:
        services: process services (graphs, checkpointer, broker…).
    """

    def __init__(self, services: Services) -> None:
        self.services = services

    @activity.defn(dynamic=True)
    async def node_attempt(self, args: Sequence[RawValue]) -> NodeOutput:
        """Run one attempt of a node.

        Raises:
            ApplicationError: the node raised or timed out; ``type`` is the exception
                class name, details hold a :class:`~workflows.types.TaskError`,
                ``non_retryable`` / ``next_retry_delay`` follow LangGraph's retry policy.
        """
        inp = activity.payload_converter().from_payload(args[0].payload, NodeInput)
        try:
            return await run_node_attempt(
                self.services, inp, attempt=activity.info().attempt, heartbeat=activity.heartbeat
            )
        except NodeAttemptError as err:
            raise ApplicationError(
                err.error.message,
                dataclasses.asdict(err.error),
                type=err.error.error,
                non_retryable=err.retry_in is None,
                next_retry_delay=timedelta(seconds=err.retry_in) if err.retry_in is not None else None,
            ) from None
        except TaskMismatchError as err:
            raise ApplicationError(str(err), type="TaskMismatchError", non_retryable=True) from None
