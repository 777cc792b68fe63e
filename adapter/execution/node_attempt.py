"""One node attempt: rebuild a LangGraph task from the saved checkpoint and run it.

The node-attempt activity (``activities/node.py``) calls :func:`run_node_attempt`
through the worker's node port (``adapter/ports.py``); see docs/architecture.md,
"One run's path", step 5.
The task is rebuilt with LangGraph's own ``prepare_single_task`` from the checkpoint
and pending writes the driver saved before dispatching it, so the node sees exactly
the input, config, scratchpad (resume values) and runtime it would see in-process;
its id must match the driver's. It runs through LangGraph's ``arun_with_retry``
(one attempt: Temporal does the retries) on **the node loop**
(:mod:`adapter.execution.node_loop`): one long-lived event loop in a thread of its own, shared by
every attempt of the process as ``langgraph dev`` shares its loop, so process-wide
async objects of user code (model clients, connection pools, semaphores) keep
working, while a node that blocks (``time.sleep`` in an async node, a sync node)
cannot stall the worker's workflows, pollers or heartbeats.

Timeouts: the Temporal server enforces the activity's start-to-close
(``run_timeout``) and heartbeat (``idle_timeout``) timeouts. Progress is what
LangGraph's own ``_TimedAttemptScope`` counts as progress (callback events, writes,
stream-writer output under ``refresh_on="auto"``; ``runtime.heartbeat()`` always); a
watchdog on the worker's loop turns progress into Temporal heartbeats and, on the
same deadlines, ends the attempt locally with LangGraph's ``NodeTimeoutError`` so the
activity slot is freed even when the node stays blocked. The scope is then closed, so
the abandoned node can no longer write or stream; its writes would only have
travelled as the activity's result, which Temporal refuses after a timeout. An
attempt that timed out while blocking the node loop retires that loop; the other
attempts on it start again on a new one (see :mod:`adapter.execution.node_loop`).
"""

from __future__ import annotations

import asyncio
import binascii
import dataclasses
import threading
import time
import uuid
from functools import partial
from typing import Any, Callable

from langchain_core.callbacks.manager import AsyncCallbackManagerForChainRun
from langchain_core.messages import BaseMessage

# LangGraph internals (private modules, ``_TimedAttemptScope`` and its
# ``_last_progress``, ``_coerce_context``), pinned for langgraph 1.2 (>=1.2.22,<1.3 in
# pyproject.toml); tests/test_upstream.py guards the progress scope and the resume map
from langgraph._internal._constants import (
    CONF,
    CONFIG_KEY_CHECKPOINTER,
    CONFIG_KEY_CHECKPOINT_NS,
    CONFIG_KEY_REPLAY_STATE,
    CONFIG_KEY_RESUME_MAP,
    CONFIG_KEY_RESUMING,
    CONFIG_KEY_RUNTIME,
    CONFIG_KEY_SEND,
    CONFIG_KEY_STREAM,
    INPUT,
    NS_SEP,
    NULL_TASK_ID,
)
from langgraph._internal._config import ensure_config, get_async_callback_manager_for_config
from langgraph._internal._replay import ReplayState
from langgraph.config import get_config
from langgraph.errors import GraphInterrupt, NodeTimeoutError
from langgraph.pregel._algo import PregelTaskWrites, apply_writes, checkpoint_null_version, prepare_single_task
from langgraph.pregel._utils import is_xxh3_128_hexdigest
from langgraph.pregel._checkpoint import achannels_from_checkpoint
from langgraph.pregel._messages import StreamMessagesHandler
from langgraph.pregel._retry import _TimedAttemptScope, arun_with_retry
from langgraph.pregel._task_status import read_task_statuses
from langgraph.pregel.main import _coerce_context
from langgraph.pregel.protocol import StreamProtocol
from langgraph.graph.message import add_messages
from langgraph.runtime import Runtime, ServerInfo

from evergraph.activities.errors import NodeAttemptError, TaskMismatchError
from evergraph.adapter import serde
from evergraph.adapter.execution import claims
from evergraph.adapter.execution.calls import FunctionalCalls
from evergraph.adapter.execution.node_loop import HostedAttempt, NodeLoops, node_loops
from evergraph.adapter.execution.policy import retry_decision
from evergraph.adapter.execution.runconfig import RunParams, graph_context, run_params
from evergraph.adapter.graphs.server_runtime import run_user
from evergraph.adapter.observability import metrics, tracing
from evergraph.adapter.process.settings import CLAIM_CHECK_BYTES
from evergraph.adapter.services import Services
from evergraph.adapter.execution.streams import EventsTracer, WireEncoder
from evergraph.adapter.execution.tools_stream import StreamToolCallHandler, tool_writer
from evergraph.workflows.types import NodeInput, NodeOutput, TaskError

__all__ = ["ATTEMPT", "CHECKPOINT_WAIT", "LIVENESS_INTERVAL", "run_node_attempt", "task_error"]

#: control event (not sent to clients) every node attempt publishes before it runs:
#: ``{task_id, name, attempt}`` (Temporal's attempt number of this activity; a task
#: re-dispatched by a driver rebuilt after a worker death starts again at 1). A second
#: one for the same ``task_id`` marks a restart; the re-run's own events follow it
ATTEMPT = "__attempt__"

#: seconds a node attempt waits for the checkpoint (and pending writes) its task is
#: built from to be stored before it fails with ``TaskMismatchError``
CHECKPOINT_WAIT = 10.0

#: seconds between liveness heartbeats of a node attempt without ``idle_timeout``
#: (their answers also deliver Temporal's cancellation to the attempt)
LIVENESS_INTERVAL = 1.0


def task_error(exc: BaseException) -> TaskError:
    """Describe ``exc`` for the driver: class name, message, and the exception packed
    with LangGraph's serializer when it round-trips (never raises). It travels in a
    Temporal failure, so it stays small: past :data:`CLAIM_CHECK_BYTES` characters the
    packed exception is left out and the message shortened."""
    packed: str | None
    try:
        packed = serde.pack(exc)
        if len(packed) > CLAIM_CHECK_BYTES or not isinstance(serde.unpack(packed), BaseException):
            packed = None
    except Exception:
        packed = None
    message = str(exc)
    if len(message) > CLAIM_CHECK_BYTES:
        message = message[:CLAIM_CHECK_BYTES] + f"… ({len(message)} characters)"
    return TaskError(error=type(exc).__name__, message=message, packed=packed)


class _Publisher:
    """Sends a node attempt's stream output to the broker as API events: LangGraph
    stream chunks ``(namespace, mode, data)`` (LangGraph's ``StreamMessagesHandler``,
    the stream writer, subgraph loops) through :class:`adapter.execution.streams.WireEncoder`,
    and callback ``events`` records through :meth:`emit`. Callable from any thread."""

    def __init__(self, services: Services, run_id: str, modes: tuple[str, ...], subgraphs: bool) -> None:
        self.broker = services.broker
        self.run_id = run_id
        self.modes = modes
        self.subgraphs = subgraphs
        self.encoder = WireEncoder(modes, subgraphs)
        self._lock = threading.Lock()
        #: the attempt's ``events`` tracers, flushed when the attempt ends
        self.tracers: list[EventsTracer] = []

    def __call__(self, chunk: tuple) -> None:
        # one lock keeps the message accumulation and the order of its events intact
        with self._lock:
            for name, data in self.encoder.encode(chunk):
                self.emit(name, data)

    def emit(self, name: str, data: Any) -> None:
        """Publish one wire event ``name`` (already namespaced) with JSON-able ``data``."""
        self.broker.publish(self.run_id, name, data)

    def custom(self, value: Any) -> None:
        try:
            ns = tuple(get_config()[CONF][CONFIG_KEY_CHECKPOINT_NS].split(NS_SEP)[:-1])
        except Exception:
            ns = ()
        self((ns, "custom", value))


def _root_run_manager(config: dict[str, Any], run_id: str, handlers: list[Any]) -> AsyncCallbackManagerForChainRun:
    """The graph's root run as LangGraph's loop holds it (``Pregel.astream``): the
    config's callbacks, tags and metadata plus ``ls_integration="langgraph"``, with
    the API run id as run id (the driver's root run has the same id), and
    ``handlers`` (the stream handlers) inherited by every child run. Passed to
    ``prepare_single_task`` as ``manager``, it gives the task's run the parent, the
    ``graph:step:<n>`` tag and the metadata it has in-process."""
    cm = get_async_callback_manager_for_config(config)
    if "ls_integration" not in cm.metadata:
        cm.add_metadata({"ls_integration": "langgraph"})
    manager = AsyncCallbackManagerForChainRun(
        run_id=uuid.UUID(run_id),
        handlers=list(cm.handlers),
        inheritable_handlers=[*cm.inheritable_handlers, *handlers],
        parent_run_id=cm.parent_run_id,
        tags=cm.tags,
        inheritable_tags=cm.inheritable_tags,
        metadata=cm.metadata,
        inheritable_metadata=cm.inheritable_metadata,
    )
    return manager


def _name_messages_on_write(task: Any, graph: Any) -> None:
    """Give messages written to an ``add_messages`` channel without an id their id when
    the node writes them (a uuid4 text, as ``add_messages`` would give them when the
    driver applies the writes), so the node's ``events`` records (a tool's
    ``on_tool_end`` output, sent after the write, see ``streams.HELD_EVENTS``) show the
    id the state gets, as langgraph-api 0.16.7's do."""
    channels = {
        name for name, ch in graph.channels.items() if getattr(ch, "operator", None) is add_messages
    }
    configurable = task.config.get(CONF) or {}
    send = configurable.get(CONFIG_KEY_SEND)
    if not channels or send is None:
        return

    def send_with_ids(writes: Any) -> Any:
        for chan, value in writes:
            if chan in channels:
                for message in value if isinstance(value, (list, tuple)) else (value,):
                    if isinstance(message, BaseMessage) and message.id is None:
                        message.id = str(uuid.uuid4())
        return send(writes)

    configurable[CONFIG_KEY_SEND] = send_with_ids


def _stream_writer(publish: _Publisher, lg_modes: set[str]) -> Callable[[Any], None]:
    """The attempt's ``Runtime.stream_writer``: ``custom`` chunks when that mode is
    requested, and with ``tools`` a running tool's writes as its ``on_tool_event``
    (:func:`adapter.execution.tools_stream.tool_writer`)."""
    custom = publish.custom if "custom" in lg_modes else None
    if "tools" in lg_modes:
        return tool_writer(custom)
    return custom or (lambda _c: None)


def _server_info(config: dict[str, Any]) -> ServerInfo:
    """``runtime.server_info`` of a node attempt: the run's assistant and graph ids and
    its authenticated user (``None`` without authentication), the fields in-process
    LangGraph 1.2 reads from the same ``configurable`` keys for the driver's loop."""
    configurable = config.get("configurable") or {}
    return ServerInfo(
        assistant_id=str(configurable.get("assistant_id") or ""),
        graph_id=str(configurable.get("graph_id") or ""),
        user=run_user(config),
    )


class _Finished(Exception):
    """The task's writes are already saved at its checkpoint (``writes``)."""

    def __init__(self, writes: list[tuple[str, Any]]) -> None:
        super().__init__("task already finished")
        self.writes = writes


async def _prepare(services: Services, inp: NodeInput, publish: _Publisher, p: RunParams):
    spec = inp.task
    graph = await services.registry.get(
        inp.run.graph_id, p.config, access="threads.create_run", store=services.store, context=p.context
    )
    saver = services.saver
    saved = await saver.aget_tuple(
        {"configurable": {"thread_id": inp.run.thread_id, "checkpoint_ns": "", "checkpoint_id": spec.checkpoint_id}}
    )
    if saved is None:
        raise TaskMismatchError(f"checkpoint {spec.checkpoint_id} of thread {inp.run.thread_id} not found")
    checkpoint = saved.checkpoint
    # Pregel's private checkpoint migration (langgraph 1.2), as its loop applies it
    if graph._migrate_checkpoint is not None:
        graph._migrate_checkpoint(checkpoint)
    channels, managed = await achannels_from_checkpoint(graph.channels, checkpoint, saver=saver, config=saved.config)
    pending = [(str(t), c, v) for t, c, v in (saved.pending_writes or [])]
    done = read_task_statuses(w for w in pending if w[0] == spec.task_id).get(spec.task_id)
    if done is not None and done.finished:
        # its writes are saved already: an attempt that ran again after its result
        # was committed (a local activity re-run by a replayed workflow, see
        # RunDriver.commit_local) returns them, as LangGraph's resume hands them back
        raise _Finished(list(done.output))
    # a run's Command(update/goto) is stored as NULL_TASK_ID writes on the checkpoint
    # it starts from; LangGraph's loop (and its state readers) apply them in memory
    # before preparing that superstep's tasks, so the task must see them too
    if null_writes := [(c, v) for t, c, v in pending if t == NULL_TASK_ID]:
        apply_writes(
            checkpoint, channels, [PregelTaskWrites((), INPUT, null_writes, [])], saver.get_next_version,
            graph.trigger_to_nodes,
        )

    lg_modes = publish.encoder.langgraph_modes()
    config = ensure_config(graph.config, p.config)
    # stream handlers on the root run, as Pregel.astream / astream_events attach them
    handlers: list[Any] = []
    if "messages" in lg_modes:
        handlers.append(StreamMessagesHandler(publish, p.subgraphs, parent_ns=()))
    if "tools" in lg_modes:
        handlers.append(StreamToolCallHandler(publish, p.subgraphs, parent_ns=()))
    if "events" in p.stream_modes:
        tracer = EventsTracer(publish.emit)
        publish.tracers.append(tracer)
        handlers.append(tracer)
    manager = _root_run_manager(config, inp.run.run_id, handlers)
    runtime = Runtime(
        context=_coerce_context(graph.context_schema, graph_context(graph, p.context)),
        store=services.store,
        stream_writer=_stream_writer(publish, lg_modes),
        server_info=_server_info(config),
    )
    configurable = {
        **config["configurable"],
        CONFIG_KEY_CHECKPOINTER: saver,
        CONFIG_KEY_RUNTIME: runtime,
        CONFIG_KEY_CHECKPOINT_NS: "",
    }
    resume = p.command.resume if p.command is not None else None
    if isinstance(resume, dict) and all(isinstance(k, str) and is_xxh3_128_hexdigest(k) for k in resume):
        # LangGraph keeps a resume map (interrupt id -> value) in the loop's config,
        # not in a checkpoint write: give the task the same config (pregel/_loop.py)
        configurable[CONFIG_KEY_RESUME_MAP] = resume
    # the loop flags LangGraph's root loop puts in every task's config (pregel/_loop.py)
    configurable[CONFIG_KEY_RESUMING] = spec.resuming
    if spec.replay_checkpoint_id:
        configurable[CONFIG_KEY_REPLAY_STATE] = ReplayState(spec.replay_checkpoint_id)
    if p.subgraphs:
        configurable[CONFIG_KEY_STREAM] = StreamProtocol(publish, lg_modes)
    config["configurable"] = configurable
    task = prepare_single_task(
        tuple(spec.path),
        None,
        checkpoint=checkpoint,
        checkpoint_id_bytes=binascii.unhexlify(checkpoint["id"].replace("-", "")),
        checkpoint_null_version=checkpoint_null_version(checkpoint),
        pending_writes=pending,
        processes=graph.nodes,
        channels=channels,
        managed=managed,
        config=config,
        step=spec.step,
        stop=spec.stop,
        for_execution=True,
        store=services.store,
        checkpointer=saver,
        manager=manager,
        cache_policy=graph.cache_policy,
        retry_policy=graph.retry_policy,
    )
    if task is None or task.id != spec.task_id:
        raise TaskMismatchError(
            f"task {spec.name!r} ({spec.task_id}) is not runnable at checkpoint {spec.checkpoint_id}"
        )
    _name_messages_on_write(task, graph)
    calls = FunctionalCalls(
        graph=graph, checkpoint=checkpoint, channels=channels, managed=managed, pending=pending, saver=saver,
        store=services.store, thread_id=inp.run.thread_id, step=spec.step, stop=spec.stop,
    )
    return task, calls


async def run_node_attempt(
    services: Services,
    inp: NodeInput,
    *,
    attempt: int,
    heartbeat: Callable[[], None],
) -> NodeOutput:
    """Run one attempt of ``inp.task``.

    Args:
        services: process services.
        inp: run ids and the task descriptor.
        attempt: Temporal's attempt number (1-based), for LangGraph's retry bound.
        heartbeat: records a Temporal heartbeat; called on the caller's loop: every
            :data:`LIVENESS_INTERVAL` seconds for a node without ``idle_timeout``,
            else only after progress (checked every quarter of ``idle_timeout``).

    Returns:
        The task's writes (and interrupts, when the node called ``interrupt()``).

    Raises:
        NodeAttemptError: the node raised or exceeded a timeout; ``retry_in`` says
            whether and when LangGraph's retry policy retries it.
        TaskMismatchError: the checkpoint does not produce this task (not retryable).
        asyncio.CancelledError: the activity was cancelled; the node is cancelled
            and can no longer write.
    """
    spec = inp.task
    run = await services.records.get_run(inp.run.run_id)
    if run is None:
        raise TaskMismatchError(f"run {inp.run.run_id} not found")
    params = run_params(run, services.settings.default_recursion_limit)
    publish = _Publisher(services, inp.run.run_id, params.stream_modes, params.subgraphs)
    # a second start of the same task means an earlier attempt may have streamed (a
    # dead worker, a retry): readers that translate streams (the v2 protocol) close
    # what it left open
    publish.emit(ATTEMPT, {"task_id": spec.task_id, "name": spec.name, "attempt": attempt})
    idle, run_timeout = spec.idle_timeout, spec.run_timeout
    # large writes and interrupts travel by reference (adapter/execution/claims.py);
    # the driver reads them only once Temporal accepted this attempt's result
    check_in = partial(
        claims.check_in, services.records, limit=services.settings.claim_check_bytes,
        thread_id=inp.run.thread_id, run_id=inp.run.run_id,
    )
    loops = node_loops()
    start = time.monotonic()
    try:
        task, scope, hosted, policies = await _launch(services, inp, publish, params, loops)
    except _Finished as finished:
        return NodeOutput(writes=await check_in(serde.pack(finished.writes), kind="writes"), elapsed=0.0)
    last_beat = start
    starved_until = start  # starved time does not count as idle
    timeout_kind: str | None = None
    try:
        while True:
            afut = asyncio.wrap_future(hosted.future)
            relocate = asyncio.ensure_future(hosted.relocate.wait())
            try:
                while True:
                    now = time.monotonic()
                    waits = [idle / 4 if idle else LIVENESS_INTERVAL]
                    if run_timeout:
                        waits.append(start + run_timeout - now)
                    if idle:
                        waits.append(max(scope._last_progress, starved_until) + idle - now)
                    await asyncio.wait({afut, relocate}, timeout=max(0.0, min(waits)), return_when=asyncio.FIRST_COMPLETED)
                    if afut.done() or relocate.done():
                        break
                    now = time.monotonic()
                    if hosted.starved(now):
                        # another attempt blocks the node loop: this one is not idle
                        starved_until = now
                    progress = max(scope._last_progress, starved_until)
                    if idle:
                        if progress > last_beat:
                            heartbeat()
                            last_beat = progress
                        if now - progress >= idle:
                            timeout_kind = "idle"
                    else:
                        heartbeat()
                    if run_timeout and now - start >= run_timeout:
                        timeout_kind = "run"
                    if timeout_kind:
                        break
            finally:
                relocate.cancel()
            if afut.done() or timeout_kind:
                break
            # the node loop was retired under this attempt: start it again on the new
            # one; the first start can no longer write or stream
            scope.close()
            hosted.cancel()
            task, scope, hosted, policies = await _launch(services, inp, publish, params, loops)
            starved_until = time.monotonic()
    except asyncio.CancelledError:
        scope.close()
        hosted.cancel()
        raise
    elapsed = time.monotonic() - start
    for tracer in publish.tracers:
        tracer.flush()  # an end record still held back (streams.HELD_EVENTS)

    if timeout_kind is not None:
        tracing.annotate(timeout_kind=timeout_kind)  # on the attempt's span, when tracing is on
        metrics.node_timed_out(inp.run.graph_id, spec.name, timeout_kind)  # evergraph_node_timeouts_total
        scope.close()
        if hosted.holds_loop():
            loops.retire(hosted)
        hosted.cancel()
        exc = NodeTimeoutError(
            spec.name, elapsed, kind=timeout_kind, idle_timeout=idle, run_timeout=run_timeout  # type: ignore[arg-type]
        )
        raise NodeAttemptError(task_error(exc), retry_decision(policies, exc, attempt))
    scope.close()
    interrupts: str | None = None
    try:
        afut.result()
    except GraphInterrupt as exc:
        interrupts = serde.pack(list(exc.args[0]) if exc.args else [])
    except Exception as exc:
        raise NodeAttemptError(task_error(exc), retry_decision(policies, exc, attempt)) from exc
    writes = await check_in(serde.pack(list(task.writes)), kind="writes")
    if interrupts is not None:
        interrupts = await check_in(interrupts, kind="interrupts")
    return NodeOutput(writes=writes, interrupts=interrupts, elapsed=elapsed)


async def _launch(
    services: Services, inp: NodeInput, publish: _Publisher, params: RunParams, loops: NodeLoops
) -> tuple[Any, _TimedAttemptScope, HostedAttempt, Any]:
    """Rebuild the task and start it on the current node loop through LangGraph's
    ``arun_with_retry`` (one attempt: Temporal does the retries), with the
    functional API's calls served by :class:`FunctionalCalls`; ``stream`` runs the
    node with ``astream`` (LangGraph's runner does so when an ``astream_events``
    tracer listens, which yields the nodes' ``on_chain_stream``).

    Returns:
        ``(task, scope, hosted, policies)``: the task (its ``writes`` fill as the node
        writes), the attempt's progress scope, the running attempt, and the task's
        LangGraph retry policies.
    """
    spec = inp.task
    deadline, delay = time.monotonic() + CHECKPOINT_WAIT, 0.005
    while True:
        try:
            task, calls = await _prepare(services, inp, publish, params)
            break
        except TaskMismatchError:
            # the driver's loop saves a superstep's checkpoint and writes in the
            # background (LangGraph's durability "async"); an attempt that starts at
            # once (a local activity) may look before they are stored
            if time.monotonic() >= deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.25)
    policies = task.retry_policy
    scope = _TimedAttemptScope(refresh_on=spec.refresh_on if spec.idle_timeout else None)
    task = dataclasses.replace(task, config=scope.wrap_config(task.config), timeout=None, retry_policy=[])
    stream = "events" in params.stream_modes

    def make(loop: asyncio.AbstractEventLoop):
        return arun_with_retry(task, None, stream=stream, configurable=calls.configurable(task, loop))

    hosted = loops.start(spec.name, make)
    # an abandoned (timed-out) attempt may fail later: nobody awaits it then
    hosted.future.add_done_callback(lambda f: f.cancelled() or f.exception())
    return task, scope, hosted, policies
