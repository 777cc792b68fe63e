"""Inputs and results of Evergraph's workflows, signals and activities.

Plain dataclasses, so Temporal's default JSON converter carries them and workflow code
can import them inside the sandbox. They hold ids, small descriptors and node writes
(packed with LangGraph's serializer), never a thread's whole state: that lives in
LangGraph's checkpointer, so no payload grows with the length of a conversation
(docs/architecture.md, "One run's path"). A large run record, node writes or
interrupts travel as a claim on a blob of the records store (adapter/execution/claims.py).
Durations are **seconds** (float).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

__all__ = [
    "AdvanceRequest",
    "AdvanceResponse",
    "CancelRun",
    "FinishInput",
    "NodeInput",
    "NodeOutput",
    "RetrySpec",
    "RunCarry",
    "RunInput",
    "RunOutcome",
    "SubmitRun",
    "TaskError",
    "TaskResult",
    "TaskSpec",
    "ThreadInput",
]


@dataclass
class RetrySpec:
    """A LangGraph ``RetryPolicy`` as Temporal activity retry settings.

    Attributes:
        initial_interval: seconds before the first retry.
        backoff_coefficient: multiplier per retry.
        maximum_interval: cap on the interval, seconds.
        maximum_attempts: attempts including the first (LangGraph's ``max_attempts``).
    """

    initial_interval: float = 0.5
    backoff_coefficient: float = 2.0
    maximum_interval: float = 128.0
    maximum_attempts: int = 3


@dataclass
class TaskSpec:
    """One task of a superstep, as the driver asks the workflow to run it.

    Attributes:
        task_id: LangGraph's task id (deterministic from checkpoint, step and node).
        name: node name.
        path: LangGraph task path, JSON-safe (``["__pregel_pull", "node"]`` or
            ``["__pregel_push", idx]``).
        checkpoint_id: the checkpoint the task reads (saved before dispatch).
        step: superstep number.
        stop: LangGraph's step limit (``step + recursion_limit + 1`` at run start).
        activity_type: Temporal activity type, ``"<graph_id>.<node>"``.
        run_timeout: ``TimeoutPolicy.run_timeout`` → start-to-close, seconds or None.
        idle_timeout: ``TimeoutPolicy.idle_timeout`` → heartbeat timeout, seconds or None.
        refresh_on: ``"auto"`` or ``"heartbeat"`` (what refreshes ``idle_timeout``).
        retry: the node's retry policy, or None for a single attempt.
        resuming: LangGraph's loop flag telling subgraphs to resume from their own
            checkpoint (set on the first superstep of a resumed run).
        replay_checkpoint_id: the checkpoint a time-travel run replays from, which
            subgraphs restore their pre-replay checkpoint against; None otherwise.
        local: run the attempt as a Temporal local activity (a node without
            ``TimeoutPolicy`` under ``EVERGRAPH_NODE_ACTIVITIES=local``) instead of a
            regular activity.
    """

    task_id: str
    name: str
    path: list[Any]
    checkpoint_id: str
    step: int
    stop: int
    activity_type: str
    run_timeout: Optional[float] = None
    idle_timeout: Optional[float] = None
    refresh_on: str = "auto"
    retry: Optional[RetrySpec] = None
    resuming: bool = False
    replay_checkpoint_id: Optional[str] = None
    local: bool = False


@dataclass
class TaskError:
    """A node attempt's failure: exception class name, message, and the exception
    packed with LangGraph's serializer when it could be (for the exact class)."""

    error: str
    message: str
    packed: Optional[str] = None


@dataclass
class TaskResult:
    """What one task produced, delivered back to the driver.

    Attributes:
        task_id: the task.
        writes: the task's writes packed with :func:`adapter.serde.pack`
            (``[(channel, value), …]``), including RESUME writes on an interrupt, or,
            when large, a claim on them (``evergraph-claim:…``,
            adapter/execution/claims.py).
        interrupts: packed ``Interrupt`` list (or a claim on it) when the node called
            ``interrupt()``.
        error: the failure, after Temporal exhausted the retries.
        timeout_kind: ``"idle"`` / ``"run"`` when Temporal timed the last attempt out.
        elapsed: seconds the last attempt ran, when known.
    """

    task_id: str
    writes: Optional[str] = None
    interrupts: Optional[str] = None
    error: Optional[TaskError] = None
    timeout_kind: Optional[str] = None
    elapsed: Optional[float] = None


@dataclass
class RunInput:
    """Start argument of ``RunWorkflow`` (ids only; the run record holds the rest).

    Attributes:
        run_id, thread_id, assistant_id, graph_id: the run's ids.
        run_timeout: optional cap on the run, seconds (``EVERGRAPH_RUN_TIMEOUT``).
        after_seconds: seconds the run waits, ``pending``, before it starts.
        trace: the W3C trace context (``traceparent``, ``tracestate``, ``baggage``)
            the run's workflow continues: the request's that created the run, so
            the run's trace roots there and not at the thread workflow's start;
            ``None`` when tracing is off (adapter/observability/tracing.py).
    """

    run_id: str
    thread_id: str
    assistant_id: str
    graph_id: str
    run_timeout: Optional[float] = None
    after_seconds: Optional[float] = None
    trace: Optional[dict[str, str]] = None


@dataclass
class RunCarry:
    """What ``RunWorkflow`` carries over continue-as-new (taken only when no node
    attempt is in flight): the next ``advance`` sequence number and the task results
    not yet delivered to the driver."""

    seq: int
    results: list[TaskResult] = field(default_factory=list)


@dataclass
class AdvanceRequest:
    """Argument of the ``advance`` local activity.

    Attributes:
        run: the run.
        seq: how many advances this run made before (idempotency key).
        results: tasks that finished since the previous advance.
    """

    run: RunInput
    seq: int
    results: list[TaskResult] = field(default_factory=list)


@dataclass
class RunOutcome:
    """How a run ended.

    Attributes:
        status: run status, ``success``/``error``/``interrupted``.
        error, message: the exception class name and message of an ``error`` run.
        rollback: the run was cancelled with ``action="rollback"`` (its record and
            checkpoints are deleted).
        thread_status: the thread's status after the run (``idle``/``busy``/
            ``interrupted``/``error``), filled in by ``finish_run``.
        interrupts: the thread's pending interrupts after the run,
            ``{task_id: [{"id", "value"}]}`` (the thread's ``interrupts`` field),
            filled in by ``finish_run``.
        webhook: a webhook delivery is staged for the ``send_webhook`` activity.
        publish_error: the run's stream has no ``error`` event for this outcome yet
            (the error was not the graph's, e.g. ``advance`` failed): ``finish_run``
            publishes it.
        cancel_reason: why the run was cancelled (the run's ``cancel_reason``),
            ``None`` when it was not.
    """

    status: str
    error: Optional[str] = None
    message: Optional[str] = None
    rollback: bool = False
    thread_status: Optional[str] = None
    interrupts: Optional[dict[str, Any]] = None
    webhook: bool = False
    publish_error: bool = False
    cancel_reason: Optional[str] = None


@dataclass
class AdvanceResponse:
    """The driver's answer: tasks to start, tasks to cancel, or the run's end."""

    tasks: list[TaskSpec] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)
    outcome: Optional[RunOutcome] = None


@dataclass
class NodeInput:
    """Argument of a node-attempt activity."""

    run: RunInput
    task: TaskSpec


@dataclass
class NodeOutput:
    """Result of a node attempt that returned or called ``interrupt()``: ``writes``
    and ``interrupts`` as in :class:`TaskResult` (packed, or claims when large)."""

    writes: str
    interrupts: Optional[str] = None
    elapsed: float = 0.0


@dataclass
class FinishInput:
    """Argument of the ``finish_run`` activity."""

    run: RunInput
    outcome: RunOutcome


@dataclass
class SubmitRun:
    """Argument of the thread workflow's ``submit_run`` update.

    Attributes:
        run: the run's ids.
        record: the run record to store once the thread accepts the run (the fields
            of langgraph-api's Run object plus ``temporary``/``on_completion``);
            nothing is stored for a rejected run.
        multitask_strategy: ``reject``/``enqueue``/``interrupt``/``rollback``, as
            langgraph-api 0.16.7 applies them to a busy thread.
        record_ref: a claim for the record (JSON text) when it is too large to travel
            inline (``record`` is then empty); see adapter/execution/claims.py.
    """

    run: RunInput
    record: dict[str, Any]
    multitask_strategy: str = "enqueue"
    record_ref: Optional[str] = None


@dataclass
class CancelRun:
    """Argument of the ``cancel_run`` update (thread workflow) and the ``cancel``
    signal (run workflow): cancel ``run_id``; ``action`` is ``interrupt`` (the run
    ends ``interrupted``) or ``rollback`` (the run and its checkpoints are deleted);
    ``reason`` says why (recorded as the run's ``cancel_reason``)."""

    run_id: str
    action: str = "interrupt"
    reason: Optional[str] = None


@dataclass
class ThreadInput:
    """Start argument of ``ThreadWorkflow`` (also carried over continue-as-new).

    Attributes:
        thread_id: the thread.
        queue: runs accepted but not started yet, in order.
        thread_status: the thread's status as of the last run (``idle``,
            ``interrupted``, ``error``); ``interrupted`` keeps the workflow waiting.
        interrupts: the pending interrupts as of the last run.
    """

    thread_id: str
    queue: list[RunInput] = field(default_factory=list)
    thread_status: str = "idle"
    interrupts: dict[str, Any] = field(default_factory=dict)
