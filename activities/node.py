"""The node-attempt activity. Its activity type is ``<graph_id>.<node>`` (a dynamic
activity), so the Temporal UI lists node names; attempts, timeouts and failures are
Temporal's own. The work is done by the core's :class:`~evergraph.activities.ports.NodePort`
(``adapter/execution/node_attempt.py``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta

from temporalio import activity
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

from evergraph.activities.errors import NodeAttemptError, TaskMismatchError
from evergraph.activities.ports import NodePort
from evergraph.workflows.types import NodeInput, NodeOutput

__all__ = ["NodeActivities"]


def _no_heartbeat() -> None:
    pass


class NodeActivities:
    """The node-attempt activity.

    Args:
        nodes: runs the attempts (the core's node runner).
    """

    def __init__(self, nodes: NodePort) -> None:
        self.nodes = nodes

    @activity.defn(dynamic=True)
    async def node_attempt(self, args: Sequence[RawValue]) -> NodeOutput:
        """Run one attempt of a node.

        Raises:
            ApplicationError: the node raised or timed out; ``type`` is the exception
                class name, details hold a :class:`~evergraph.workflows.types.TaskError`,
                ``non_retryable`` / ``next_retry_delay`` follow LangGraph's retry policy.
        """
        inp = activity.payload_converter().from_payload(args[0].payload, NodeInput)
        info = activity.info()
        # a local activity has no heartbeat timeout: its worker's liveness is the
        # workflow task's (see workflows/run.py)
        heartbeat = _no_heartbeat if info.is_local else activity.heartbeat
        try:
            out = await self.nodes.run_attempt(inp, attempt=info.attempt, heartbeat=heartbeat)
            if info.is_local:
                await self.nodes.commit_local(inp, out)
            return out
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
