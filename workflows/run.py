"""``RunWorkflow``: one LangGraph run.

The loop is small and deterministic: ask the driver (``advance`` local activity) what
to do, start one activity per task (activity type ``<graph_id>.<node>``, timeouts and
retries from the node's LangGraph policies), wait for any to finish, report back.
All LangGraph state stays in the checkpointer; this history holds ids, task
descriptors and node writes. ``finish_run`` (local activity) records the outcome and
``send_webhook`` (activity) delivers the run's webhook, if it has one. The local
activities are retried only for transient failures, boundedly
(:data:`~evergraph.workflows.retry.BOOKKEEPING_RETRY`); when ``advance`` fails for
good the run ends ``error`` with the failure's type and message, and when
``finish_run`` does, :func:`finish` records that failure instead. Between
supersteps, with no node attempt in flight, a long run continues-as-new
(:data:`MAX_HISTORY_EVENTS`), carrying only the next ``advance`` number and results.
See docs/architecture.md, "One run's path", step 3.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    FailureError,
    TimeoutError,
    TimeoutType,
)

with workflow.unsafe.imports_passed_through():
    from evergraph.workflows.retry import BOOKKEEPING_RETRY
    from evergraph.workflows import search
    from evergraph.workflows.types import (
        AdvanceRequest,
        AdvanceResponse,
        CancelRun,
        FinishInput,
        NodeInput,
        NodeOutput,
        RunCarry,
        RunInput,
        RunOutcome,
        TaskError,
        TaskResult,
        TaskSpec,
    )

__all__ = [
    "LIVENESS_TIMEOUT",
    "LOCAL_FLUSH_CHARS",
    "LOCAL_FLUSH_MARKERS",
    "LOST_WORKER_RETRIES",
    "MAX_HISTORY_EVENTS",
    "UNBOUNDED",
    "RunWorkflow",
    "deliver_webhook",
    "failed_outcome",
    "finish",
    "local_failure",
]

#: start-to-close of a node attempt whose node has no ``run_timeout`` (no cap)
UNBOUNDED = timedelta(days=3650)
#: heartbeat timeout of node attempts without ``idle_timeout``: detects a lost worker
#: (attempts heartbeat every second, see adapter.execution.node_attempt.LIVENESS_INTERVAL)
LIVENESS_TIMEOUT = timedelta(seconds=10)
#: workflow-side re-dispatches of a task whose worker was lost (not a node failure)
LOST_WORKER_RETRIES = 100
#: history length (events) past which a run continues-as-new between supersteps,
#: well before Temporal's limits (a superstep of one node takes about 8 events)
MAX_HISTORY_EVENTS = 10_000

#: local node attempts' markers (one per attempt, one per ``advance`` after it) and
#: result characters after which the workflow lets its workflow task complete at a
#: superstep boundary (a 1 ms timer, which the dev server fires about 1 s later): local
#: activities' markers reach the history only when the workflow task completes, and one
#: completion must stay well inside the Temporal server's gRPC message limit (4 MB by
#: default)
LOCAL_FLUSH_MARKERS = 200
LOCAL_FLUSH_CHARS = 1 << 20

_LOCAL = dict(start_to_close_timeout=timedelta(minutes=10), retry_policy=BOOKKEEPING_RETRY)


#: webhook delivery: 3 attempts, 1 s then 2 s apart (adapter.resources.webhooks.ATTEMPTS)
_WEBHOOK = dict(
    start_to_close_timeout=timedelta(seconds=30),
    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_attempts=3),
)


async def deliver_webhook(run: RunInput, outcome: RunOutcome) -> None:
    """Run the ``send_webhook`` activity when ``finish_run`` staged a delivery; a
    delivery that keeps failing is given up (logged), never failing the run."""
    if not outcome.webhook:
        return
    try:
        await workflow.execute_activity("send_webhook", run.run_id, **_WEBHOOK)
    except ActivityError as err:
        workflow.logger.warning("webhook of run %s not delivered: %s", run.run_id, err.cause or err)


def local_failure(err: FailureError) -> BaseException:
    """What made a local activity fail for good. The SDK raises it as it is (an
    ``ApplicationError``, ``CancelledError`` or ``TimeoutError``; seen with
    temporalio 1.35) or wrapped in an ``ActivityError``: both are unwrapped here."""
    return err.cause if isinstance(err, ActivityError) and err.cause is not None else err


def failed_outcome(err: FailureError) -> RunOutcome:
    """The ``error`` outcome of a run whose own activity (``advance``, ``finish_run``)
    failed for good: the failure's type (the exception's class name, see
    :mod:`evergraph.activities.errors`) and message; the stream gets its ``error`` event."""
    failure = local_failure(err)
    if isinstance(failure, ApplicationError) and failure.type:
        error, message = failure.type, failure.message
    else:  # e.g. the activity's own start-to-close timeout
        error, message = type(failure).__name__, str(failure)
    return RunOutcome(status="error", error=error, message=message, publish_error=True)


async def finish(run: RunInput, outcome: RunOutcome) -> RunOutcome:
    """Record ``outcome`` with the ``finish_run`` local activity and return it as
    recorded. If ``finish_run`` fails for good, run it once more to record that
    failure as the run's ``error`` (or, if it was cancelled, the same outcome again);
    if that fails too, give up, logged, returning the error outcome: no workflow
    waits for ever on a run it cannot record."""
    try:
        return await workflow.execute_local_activity(
            "finish_run", FinishInput(run=run, outcome=outcome), result_type=RunOutcome, **_LOCAL
        )
    except FailureError as err:
        workflow.logger.warning("finish_run of run %s failed: %s", run.run_id, local_failure(err))
        if not isinstance(local_failure(err), CancelledError):
            outcome = failed_outcome(err)
    try:
        return await workflow.execute_local_activity(
            "finish_run", FinishInput(run=run, outcome=outcome), result_type=RunOutcome, **_LOCAL
        )
    except FailureError as err:
        workflow.logger.error(
            "run %s ended %s but could not be recorded: %s", run.run_id, outcome.status, local_failure(err)
        )
        outcome.thread_status = "error"
        return outcome


def _retry_policy(spec: TaskSpec) -> RetryPolicy:
    if spec.retry is None:
        return RetryPolicy(maximum_attempts=1)
    r = spec.retry
    return RetryPolicy(
        initial_interval=timedelta(seconds=r.initial_interval),
        backoff_coefficient=max(1.0, r.backoff_coefficient),
        maximum_interval=timedelta(seconds=max(r.maximum_interval, r.initial_interval)),
        maximum_attempts=r.maximum_attempts,
    )


@workflow.defn(name="RunWorkflow")
class RunWorkflow:
    """Drives one run; see the module docstring. Cancelling the workflow (Temporal
    cancellation, or the ``cancel`` signal with an action) cancels the node attempts
    in flight and ends the run ``interrupted``; ``action="rollback"`` also deletes it."""

    def __init__(self) -> None:
        self._status = "pending"
        self._cancel_action = "interrupt"
        self._cancel_reason: str | None = None
        self._main: asyncio.Task | None = None
        self._cancel_requested = False

    @workflow.query(name="status")
    def status(self) -> str:
        """The run's status as this workflow knows it."""
        return self._status

    @workflow.signal(name="cancel")
    def cancel(self, msg: CancelRun) -> None:
        """Stop the run: ``msg.action`` is ``interrupt`` (the run ends ``interrupted``)
        or ``rollback`` (the run and its checkpoints are deleted), the actions of
        langgraph-api's ``POST /threads/{id}/runs/{run_id}/cancel``. Sent by the
        thread's workflow, which decides cancellations."""
        self._cancel_action, self._cancel_reason = msg.action, msg.reason
        self._cancel_requested = True
        if self._main is not None and not self._main.done():
            self._main.cancel()

    def _start(self, run: RunInput, spec: TaskSpec) -> Any:
        activity_id = f"{spec.step}:{spec.name}:{spec.task_id}:{workflow.info().run_id[:8]}:{self._dispatches}"
        if spec.local:
            self._unrecorded += 2
            # a node without TimeoutPolicy: a local activity on this worker (no server
            # round trip per attempt); a lost worker shows as a workflow task timeout,
            # after which another worker replays the run and runs the attempt again
            return workflow.start_local_activity(
                spec.activity_type,
                NodeInput(run=run, task=spec),
                result_type=NodeOutput,
                activity_id=activity_id,
                start_to_close_timeout=UNBOUNDED,
                retry_policy=_retry_policy(spec),
            )
        return workflow.start_activity(
            spec.activity_type,
            NodeInput(run=run, task=spec),
            result_type=NodeOutput,
            activity_id=activity_id,
            start_to_close_timeout=timedelta(seconds=spec.run_timeout) if spec.run_timeout else UNBOUNDED,
            heartbeat_timeout=timedelta(seconds=spec.idle_timeout) if spec.idle_timeout else LIVENESS_TIMEOUT,
            retry_policy=_retry_policy(spec),
        )

    @workflow.run
    async def run(self, run: RunInput, carry: RunCarry | None = None) -> RunOutcome:
        """Drive ``run`` to its end; ``carry`` continues a run after continue-as-new."""
        self._main = asyncio.current_task()
        self._status = "running"
        self._dispatches = 0
        self._advance_cancels = 0
        self._unrecorded = 0  # local markers since the last flush (see LOCAL_FLUSH_MARKERS)
        self._unrecorded_chars = 0
        self._recorded_length = workflow.info().get_current_history_length()
        if carry is None:
            workflow.upsert_search_attributes([search.STATUS.value_set("running")])
        running: dict[str, Any] = {}
        specs: dict[str, TaskSpec] = {}
        lost: dict[str, int] = {}
        results: list[TaskResult] = list(carry.results) if carry else []
        seq = carry.seq if carry else 0
        try:
            while True:
                if workflow.info().get_current_history_length() != self._recorded_length:
                    # a workflow task completed meanwhile (e.g. Temporal's own workflow
                    # task heartbeat during a long local activity): markers are recorded
                    self._recorded_length = workflow.info().get_current_history_length()
                    self._unrecorded = self._unrecorded_chars = 0
                if not running and (
                    self._unrecorded >= LOCAL_FLUSH_MARKERS or self._unrecorded_chars >= LOCAL_FLUSH_CHARS
                ):
                    await workflow.sleep(timedelta(milliseconds=1))
                    self._unrecorded = self._unrecorded_chars = 0
                if not running and self._history_is_long():
                    workflow.continue_as_new(args=[run, RunCarry(seq=seq, results=results)])
                try:
                    response: AdvanceResponse = await workflow.execute_local_activity(
                        "advance", AdvanceRequest(run=run, seq=seq, results=results), result_type=AdvanceResponse, **_LOCAL
                    )
                except FailureError as err:
                    if isinstance(local_failure(err), CancelledError):
                        if self._cancel_requested or asyncio.current_task().cancelling():
                            raise asyncio.CancelledError from None  # the run was cancelled meanwhile
                        if self._advance_cancels < LOST_WORKER_RETRIES:
                            # nobody cancelled the run: the SDK cancelled the local activity
                            # when its workflow task timed out; ask again
                            self._advance_cancels += 1
                            continue
                    workflow.logger.warning("advance of run %s failed: %s", run.run_id, local_failure(err))
                    for handle in running.values():
                        handle.cancel()
                    outcome = failed_outcome(err)
                    break
                seq += 1
                results = []
                for task_id in response.cancel:
                    handle = running.pop(task_id, None)
                    if handle is not None:
                        handle.cancel()
                if response.outcome is not None:
                    outcome = response.outcome
                    break
                for spec in response.tasks:
                    if spec.task_id not in running:
                        specs[spec.task_id] = spec
                        self._dispatches += 1
                        running[spec.task_id] = self._start(run, spec)
                if not running:
                    continue
                await workflow.wait(list(running.values()), return_when=asyncio.FIRST_COMPLETED)
                for task_id, handle in list(running.items()):
                    if not handle.done():
                        continue
                    del running[task_id]
                    result = self._result(specs[task_id], handle)
                    if result is None:  # worker lost: dispatch again
                        lost[task_id] = lost.get(task_id, 0) + 1
                        if lost[task_id] <= LOST_WORKER_RETRIES:
                            self._dispatches += 1
                            running[task_id] = self._start(run, specs[task_id])
                            continue
                        result = TaskResult(task_id, error=TaskError("WorkerLost", "node attempt lost its worker too often"))
                    if specs[task_id].local:
                        self._unrecorded_chars += len(result.writes or "") + len(result.interrupts or "")
                    results.append(result)
        except asyncio.CancelledError:
            for handle in running.values():
                handle.cancel()
            outcome = RunOutcome(
                status="interrupted", rollback=self._cancel_action == "rollback", cancel_reason=self._cancel_reason
            )
        self._status = outcome.status
        self._main = None
        workflow.upsert_search_attributes([search.STATUS.value_set(outcome.status)])
        parent = workflow.info().parent
        if parent is not None:
            # before the outcome is published: a client that sees the run end and
            # double-texts at once must find the thread no longer busy
            try:
                await workflow.get_external_workflow_handle(parent.workflow_id).signal("run_ended", run.run_id)
            except Exception as err:  # noqa: BLE001 - e.g. the thread was deleted meanwhile
                workflow.logger.info("run_ended not delivered to %s: %s", parent.workflow_id, err)
        outcome = await finish(run, outcome)
        if outcome.status != self._status:  # finish_run failed the run (e.g. state not serialisable)
            self._status = outcome.status
            workflow.upsert_search_attributes([search.STATUS.value_set(outcome.status)])
        await deliver_webhook(run, outcome)
        return outcome

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() + self._unrecorded > MAX_HISTORY_EVENTS
        )

    @staticmethod
    def _result(spec: TaskSpec, handle: Any) -> TaskResult | None:
        try:
            out: NodeOutput = handle.result()
            return TaskResult(spec.task_id, writes=out.writes, interrupts=out.interrupts, elapsed=out.elapsed)
        except FailureError as err:  # an ActivityError; a local activity's own failure may come unwrapped
            cause = local_failure(err)
            if isinstance(cause, TimeoutError):
                if cause.type == TimeoutType.HEARTBEAT and not spec.idle_timeout:
                    return None  # liveness heartbeats stopped: the worker died
                kind = "idle" if cause.type == TimeoutType.HEARTBEAT else "run"
                elapsed = spec.idle_timeout if kind == "idle" else spec.run_timeout
                return TaskResult(spec.task_id, timeout_kind=kind, elapsed=elapsed)
            if isinstance(cause, ApplicationError):
                details = cause.details[0] if cause.details else None
                if isinstance(details, dict) and "error" in details:
                    return TaskResult(spec.task_id, error=TaskError(**details))
                return TaskResult(spec.task_id, error=TaskError(cause.type or "ApplicationError", cause.message))
            if isinstance(cause, CancelledError):
                if spec.local:
                    # not asked for (a cancelled handle is never read): the SDK cancels a
                    # local attempt whose workflow task timed out and reports it to the
                    # replayed workflow; dispatch it again, as for a lost worker
                    return None
                return TaskResult(spec.task_id, error=TaskError("CancelledError", "node attempt cancelled"))
            return TaskResult(spec.task_id, error=TaskError(type(cause).__name__, str(cause)))
