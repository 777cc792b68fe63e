"""The v2 thread-centric protocol (langgraph-api 0.16.7's ``/threads/{id}/commands``
and ``/threads/{id}/stream/events``, PyPI ``langchain-protocol`` 0.0.20's CDDL):
commands and the thread's event log.

``client.threads.stream(...)`` of the official SDK sends commands to
``POST /threads/{id}/commands`` and reads the thread's events from
``POST``/``WS /threads/{id}/stream/events``. Each event is

``{"type":"event","event_id","seq","method","params":{"namespace","timestamp","data"}}``

with ``seq`` increasing by one per event across every run of the thread.

Commands (:func:`handle_command`): ``run.start``, ``input.respond``,
``input.inject``, ``agent.getTree``, ``state.get``, ``state.listCheckpoints``,
``state.fork`` (the state and input ones in
:mod:`evergraph.adapter.resources.protocol_commands`); the ``subscription.*``
commands belong to the WebSocket (api/routes/protocol.py).

Runs started through the protocol are ordinary Evergraph runs (Temporal
workflows) streaming :data:`RUN_STREAM_MODES` with subgraphs into the stream
broker; :class:`ThreadLog` reads those runs' broker events in creation order and
translates them (:class:`RunTranslator`):

* the run's first event (``metadata``) → ``lifecycle {event: "running", graph_name}``,
  then, for a run resuming interrupts by id, ``input.answered {interrupt_ids}`` (npm
  ``@langchain/protocol`` 0.0.21's event, which the JS SDK reads to hide interrupts
  another client answered);
* ``values`` → ``values`` (messages in the compact form langgraph-api sends), except
  a root ``values`` carrying ``__interrupt__``, which becomes one ``input.requested
  {interrupt_id, payload}`` per interrupt;
* ``messages`` chunks → ``messages`` content blocks (text and tool calls with
  ``tool-call-delta``) and tool results → ``tools``
  (:mod:`evergraph.adapter.resources.protocol_messages`);
* ``custom`` data written as ``{name, payload}`` → that extension event on
  ``custom`` (see :data:`RUN_STREAM_MODES` for what is not sent);
* ``tools`` ``on_tool_event`` (a running tool's streamed output) → ``tools
  {event: "tool-output-delta", tool_call_id, delta}``;
* a subgraph's namespace → ``lifecycle started`` / ``completed`` … at that
  namespace (:mod:`evergraph.adapter.resources.protocol_namespaces`), from the
  ``tasks`` events;
* ``updates`` / ``checkpoints`` / ``tasks`` → side events on those channels
  (``updates {node, values}``, ``checkpoints {id, parent_id?, step, source}``,
  ``tasks`` with LangGraph's task payload;
  :mod:`evergraph.adapter.resources.protocol_side`), which take no ``seq`` of
  their own (:class:`ThreadLog`);
* the run's end → ``lifecycle`` ``interrupted`` (waiting on ``interrupt()``),
  ``completed``, or ``failed`` (an error, or a cancelled or deleted run);
* a node attempt that starts again (worker death, retry; the broker's ``__attempt__``
  control event seen twice for one task) → ``messages {event: "error", code:
  "attempt_restarted"}`` for each message its earlier attempt left open (the re-run
  streams its messages anew, with new ids); a root ``values`` equal to the previous
  one (a rebuilt driver sending its step's values again) is dropped.

The translation is a pure function of the thread's runs and their broker events, so
``seq`` numbers and ``event_id`` s are the same in every API process that reads the
same broker (as long as the broker still retains the thread's runs): a ``since``
cursor from one process is valid in another, and a reconnecting client misses and
repeats nothing. The thread's runs are followed with
:func:`evergraph.adapter.resources.follow.follow_runs`, as the thread stream of
``GET /threads/{id}/stream`` follows them. If reading them fails, iterators raise
:class:`~evergraph.adapter.errors.Unavailable` (the routes send a final ``error``
frame). See docs/architecture.md for the layers.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from contextlib import aclosing
from typing import Any, AsyncIterator, Callable

from evergraph.adapter import serde
from evergraph.adapter.aio import wait_event
from evergraph.adapter.broker.protocol import END, StreamEvent
from evergraph.adapter.errors import EvergraphError, Unavailable
from evergraph.adapter.execution.node_attempt import ATTEMPT
from evergraph.adapter.resources import protocol_commands
from evergraph.adapter.resources.assistants import resolve_assistant
from evergraph.adapter.resources.auth import AuthError
from evergraph.adapter.resources.follow import follow_runs
from evergraph.adapter.resources.protocol_messages import MessageStreams, Plain
from evergraph.adapter.resources.protocol_namespaces import NamespaceTracker
from evergraph.adapter.resources.protocol_side import (
    SideBuffer,
    checkpoint_data,
    updates_data,
)
from evergraph.adapter.resources.runs import create_run
from evergraph.adapter.services import Services

__all__ = [
    "CHANNELS",
    "ERROR_CODES",
    "RUN_STREAM_MODES",
    "ProtocolHub",
    "RunTranslator",
    "ChannelError",
    "ThreadLog",
    "channel_of",
    "compact_message",
    "compact_values",
    "error",
    "event_json",
    "handle_command",
    "matches",
    "resumed_ids",
    "parse_subscription",
    "success",
]

logger = logging.getLogger(__name__)

CHANNELS = ("values", "updates", "messages", "tools", "lifecycle", "input", "checkpoints", "tasks", "custom")
"""Channels a subscription may name (plus ``custom:<name>``)."""

RUN_STREAM_MODES = ["values", "messages-tuple", "custom", "tasks", "tools", "updates", "checkpoints"]
"""Run stream modes of protocol runs: what the translator reads. langgraph-api
0.16.7 runs protocol runs through LangGraph 1.2's ``astream_events(version="v3")``,
whose event log has no ``updates``, ``checkpoints`` or ``tasks`` events and no
plain stream-writer data (observed side by side with langgraph 1.2.24); the
thread's ``seq`` numbers count the main events, so Evergraph's main events are
the same. ``updates``, ``checkpoints`` and ``tasks`` become the spec's side events
of those channels (:mod:`evergraph.adapter.resources.protocol_side`, numbered
as :class:`ThreadLog` says); ``tasks`` also start tool calls and end subgraph
namespaces, as LangGraph's stream transformers fold them. ``custom``
data a node writes as exactly ``{"name": str, "payload": …}`` is an extension
event (``custom {name, payload}``, the ``custom:<name>`` channel that
``thread.extensions[name]`` reads); other custom data is not sent. Of ``tools``
only what a running tool streams is read (``tool-output-delta``); a tool's start
and end come from ``tasks`` and its ``ToolMessage``, as before."""

NAMESPACED_MODES = frozenset({"values", "messages", "custom", "tasks"})
"""Modes whose namespaced events make a subgraph namespace known."""

SIDE_CHANNELS = frozenset({"updates", "checkpoints", "tasks"})
"""Channels whose events are *side events* of the log (:mod:`~evergraph.adapter.resources.protocol_side`):
they take no ``seq`` of their own, so the main events keep langgraph-api 0.16.7's
numbers whether or not anyone subscribes to these channels."""

ERROR_CODES = (
    "invalid_argument",
    "unknown_command",
    "unknown_error",
    "no_such_run",
    "no_such_subscription",
    "no_such_namespace",
    "no_such_interrupt",
    "no_such_checkpoint",
    "permission_denied",
    "not_supported",
)

_MESSAGE_TYPES = {"human", "ai", "system", "tool", "function", "chat", "remove"}


# ------------------------------------------------------------------------ filtering


def channel_of(event: dict[str, Any]) -> str | None:
    """The subscription channel of a v2 event (``input.requested`` and
    ``input.answered`` → ``input``,
    named custom events → ``custom:<name>``), as the SDK infers it."""
    method = event.get("method")
    if method in ("input.requested", "input.answered"):
        return "input"
    if method == "custom":
        data = event["params"].get("data")
        name = data.get("name") if isinstance(data, dict) else None
        return f"custom:{name}" if name else "custom"
    return method if method in CHANNELS else None


def _prefix_match(namespace: list[str], prefix: list[str]) -> bool:
    if len(prefix) > len(namespace):
        return False
    for seg, candidate in zip(prefix, namespace):
        if candidate == seg or (":" not in seg and candidate.partition(":")[0] == seg):
            continue
        return False
    return True


def matches(event: dict[str, Any], channels: list[str], namespaces: list[list[str]] | None, depth: int | None) -> bool:
    """Whether ``event`` passes a subscription filter: its channel is listed
    (``custom`` covers ``custom:<name>``), and its namespace starts with one of
    ``namespaces`` (a segment without ``:`` also matches ``<segment>:<task id>``)
    at most ``depth`` levels below it. No ``namespaces``: every namespace."""
    channel = channel_of(event)
    if channel is None:
        return False
    if channel not in channels and not (channel.startswith("custom:") and "custom" in channels):
        return False
    if not namespaces:
        return True
    ns = event["params"]["namespace"]
    for prefix in namespaces:
        if _prefix_match(ns, prefix) and (depth is None or len(ns) - len(prefix) <= depth):
            return True
    return False


class ChannelError(ValueError):
    """A subscription's ``channels`` are missing or name an unknown channel
    (langgraph-api 0.16.7 answers an SSE request with 400 for these)."""


def parse_subscription(params: Any) -> dict[str, Any]:
    """Validate ``{channels, namespaces?, depth?, since?}``; returns it normalised.

    Raises:
        ChannelError: bad ``channels`` (HTTP 400 before an SSE stream).
        ValueError: another bad field (422), the message for an
            ``invalid_argument`` error.
    """
    if not isinstance(params, dict):
        raise ChannelError("channels is required and must be a non-empty array")
    channels = params.get("channels")
    if not isinstance(channels, list) or not channels or not all(isinstance(c, str) for c in channels):
        raise ChannelError("channels is required and must be a non-empty array")
    unknown = [c for c in channels if c not in CHANNELS and not (c.startswith("custom:") and len(c) > 7)]
    if unknown:
        raise ChannelError(f"channels contains unsupported entries: {', '.join(unknown)}. "
                           f"Allowed: {', '.join(CHANNELS)}, or any `custom:<name>`.")
    namespaces = params.get("namespaces")
    if namespaces is not None and (
        not isinstance(namespaces, list)
        or not all(isinstance(n, list) and all(isinstance(s, str) for s in n) for n in namespaces)
    ):
        raise ValueError("namespaces must be a list of namespaces (lists of strings)")
    depth = params.get("depth")
    if depth is not None and (not isinstance(depth, int) or isinstance(depth, bool) or depth < 0):
        raise ValueError("depth must be a non-negative integer")
    since = params.get("since")
    if since is not None and (not isinstance(since, int) or isinstance(since, bool) or since < 0):
        raise ValueError("since must be a non-negative integer seq")
    return {"channels": channels, "namespaces": namespaces, "depth": depth, "since": since}


# ----------------------------------------------------------------------- translation


def compact_message(message: dict[str, Any]) -> dict[str, Any]:
    """A serialised LangChain message as the protocol's ``values`` carry it:
    ``type``, ``content`` and ``id`` first, fields that are null or empty dropped."""
    out = {k: message[k] for k in ("type", "content", "id") if k in message}
    for k, v in message.items():
        if k not in out and v is not None and v != {} and v != []:
            out[k] = v
    return out


def compact_values(values: Any) -> Any:
    """State values with every list of serialised messages compacted."""
    if not isinstance(values, dict):
        return values
    out = {}
    for k, v in values.items():
        if isinstance(v, list) and v and all(
            isinstance(m, dict) and m.get("type") in _MESSAGE_TYPES and "content" in m for m in v
        ):
            v = [compact_message(m) for m in v]
        out[k] = v
    return out


def _split_name(name: str) -> tuple[str, list[str]]:
    """Broker event name ``mode|ns1|ns2`` → ``(mode, [ns1, ns2])``."""
    mode, *ns = name.split("|")
    return mode, ns


def _ms(event_id: str) -> int:
    ms, _, _ = event_id.partition("-")
    return int(ms) if ms.isdigit() else int(time.time() * 1000)


class RunTranslator:
    """Translates one run's broker events into v2 events (without ``seq``).

    Args:
        run_id: the run.
        graph_name: its graph id (``lifecycle.graph_name``).
        run_status: coroutine giving the run record's status (``None``: deleted),
            read when the run ends, to tell a cancelled run from a finished one.
        answers: the interrupt ids the run resumes by id (its ``command.resume``
            map): ``input.answered {interrupt_ids}`` follows its ``lifecycle running``.
    """

    def __init__(self, run_id: str, graph_name: str | None, run_status: Callable[[], Any],
                 answers: list[str] | None = None) -> None:
        self.run_id = run_id
        self.graph_name = graph_name
        self.answers = answers or []
        self._run_status = run_status
        self._started = False
        self._terminal = False
        self._error: str | None = None
        self._asked: set[str] = set()
        self.messages = MessageStreams()
        self.namespaces = NamespaceTracker(graph_name)
        self._attempted: set[Any] = set()  # root tasks whose attempt started
        self._last_values: bytes | None = None  # the last root values event's data
        self._side = SideBuffer(lambda ns: ns in self.namespaces.nodes)
        self._side_seen: set[tuple] = set()  # checkpoints and task starts / results sent

    def _lifecycle(self, phase: str, ts: int, **extra: Any) -> list[tuple[str, int, str, list[str], Any]]:
        self.namespaces.status = phase
        data = {"event": phase, "graph_name": self.graph_name, **extra}
        return [(f"synth:{self.run_id}:lc||{phase}", ts, "lifecycle", [], data)]

    def _input(self, interrupt: dict[str, Any], ts: int) -> list[tuple]:
        iid = interrupt.get("id")
        if not isinstance(iid, str) or iid in self._asked:
            return []
        self._asked.add(iid)
        data = {"interrupt_id": iid, "payload": interrupt.get("value")}
        return [(f"synth:{self.run_id}:input||{iid}", ts, "input.requested", [], data)]

    def _end(self, event_id: str, ts: int, plain: list[Plain], phase: str, **extra: Any) -> list[tuple]:
        """The run's last events: open messages and namespaces closed, then the
        root lifecycle ``phase``."""
        plain = plain + self.messages.close_all() + self.namespaces.finish(phase, extra.get("error"))
        self._terminal = True
        return self._number(event_id, plain) + self._sides(ts, []) + self._lifecycle(phase, ts, **extra)

    def _sides(self, ts: int, new: list[tuple[str, str, list[str], Any]]) -> list[tuple]:
        """Side events (``updates``, ``checkpoints``, ``tasks``) ready to go:
        ``new`` ones and held ones whose namespace is announced now; all held ones
        once the run has ended."""
        ready = self._side.drain() + new if self._terminal else self._side.add(new)
        return [(eid, ts, method, ns, data) for eid, method, ns, data in ready]

    async def feed(self, event: StreamEvent) -> list[tuple[str, int, str, list[str], Any]]:
        """v2 events ``(event_id, timestamp_ms, method, namespace, data)`` for one
        broker event of the run. Events derived from broker event ``X`` get the
        ids ``X``, ``X.1``, ``X.2`` … (langgraph-api's form); synthetic ones
        (lifecycle, input) ``synth:<run_id>:…``."""
        ts = _ms(event.id)
        if event.event == END:
            if not self._terminal:
                return self._end(event.id, ts, [], "failed", error="run ended without a result")
            return []
        mode, ns = _split_name(event.event)
        if mode == "metadata" and not ns:
            if not self._started:
                self._started = True
                out = self._lifecycle("running", ts)
                if self.answers:  # the npm protocol 0.0.21's event: other clients stop offering them
                    out.append((f"synth:{self.run_id}:answered", ts, "input.answered", [],
                                {"interrupt_ids": list(self.answers)}))
                return out
            return []
        if self._terminal:
            return []
        plain: list[Plain] = []
        side: list[tuple[str, str, list[str], Any]] = []
        if ns and mode in NAMESPACED_MODES:
            plain.extend(self.namespaces.seen(ns))
        if mode == ATTEMPT and not ns:
            data = serde.loads(event.data)
            task_id = data.get("task_id") if isinstance(data, dict) else None
            if task_id in self._attempted:
                plain.extend(self.messages.abort_task(task_id))
            self._attempted.add(task_id)
        elif mode == "values":
            if not ns:
                # a driver rebuilt after a worker death sends its step's values again
                if event.data == self._last_values:
                    return self._number(event.id, plain)
                self._last_values = event.data
            data = serde.loads(event.data)
            if isinstance(data, dict) and "__interrupt__" in data:
                if not ns:
                    plain.extend(self.messages.close_all())
                    synth_after = [x for i in data["__interrupt__"] or [] if isinstance(i, dict)
                                   for x in self._input(i, ts)]
                    return self._number(event.id, plain) + synth_after
                return self._number(event.id, plain)
            plain.extend(self.messages.close_all(ns or None))
            plain.append(("values", ns, compact_values(data)))
        elif mode == "messages":
            plain.extend(self.messages.chunk(ns, serde.loads(event.data)))
        elif mode == "custom":
            data = serde.loads(event.data)
            if isinstance(data, dict) and set(data) == {"name", "payload"} and isinstance(data["name"], str):
                plain.append(("custom", ns, data))
        elif mode == "tasks":
            data = serde.loads(event.data)
            if isinstance(data, dict) and "triggers" in data:
                plain.extend(self.messages.task_started(ns, data))
            elif isinstance(data, dict):
                plain.extend(self.namespaces.task_result(ns, data))
            # one start and one result per task: a re-run attempt (worker death) sends its start again
            key = ("tasks", tuple(ns), data.get("id"), "triggers" in data) if isinstance(data, dict) else None
            if key is not None and key not in self._side_seen:
                self._side_seen.add(key)
                side.append((f"{event.id}.tasks", "tasks", ns, data))
        elif mode == "updates":
            side.extend(
                (f"{event.id}.updates" + (f".{i}" if i else ""), "updates", ns, d)
                for i, d in enumerate(updates_data(serde.loads(event.data), compact_values))
            )
        elif mode == "checkpoints":
            checkpoint = checkpoint_data(serde.loads(event.data))
            # a rebuilt driver may send its step's checkpoint again
            if checkpoint is not None and ("cp", tuple(ns), checkpoint["id"]) not in self._side_seen:
                self._side_seen.add(("cp", tuple(ns), checkpoint["id"]))
                side.append((f"{event.id}.checkpoints", "checkpoints", ns, checkpoint))
        elif mode == "tools":
            data = serde.loads(event.data)
            if isinstance(data, dict) and data.get("event") == "on_tool_event" and isinstance(data.get("toolCallId"), str):
                plain.extend(self.messages.tool_delta(ns, data["toolCallId"], data.get("data")))
        elif mode == "error" and not ns:
            data = serde.loads(event.data)
            self._error = data.get("message") if isinstance(data, dict) else str(data)
        elif mode == "__result__":
            body = serde.loads(event.data)
            if isinstance(body, dict) and "__error__" in body:
                err = body["__error__"] or {}
                message = self._error or f"{err.get('error')}: {err.get('message')}"
                return self._end(event.id, ts, plain, "failed", error=message)
            interrupts = body.get("__interrupt__") if isinstance(body, dict) else None
            if interrupts:
                plain.extend(self.messages.close_all())
                out = self._number(event.id, plain + self.namespaces.finish("interrupted"))
                for i in interrupts:
                    if isinstance(i, dict):
                        out.extend(self._input(i, ts))
                self._terminal = True
                return out + self._sides(ts, []) + self._lifecycle("interrupted", ts)
            status = await self._run_status()
            if status == "interrupted":
                return self._end(event.id, ts, plain, "failed", error="UserInterrupt: the run was cancelled")
            if status is None:
                return self._end(event.id, ts, plain, "failed", error="the run was deleted")
            return self._end(event.id, ts, plain, "completed")
        return self._number(event.id, plain) + self._sides(ts, side)

    @staticmethod
    def _number(event_id: str, plain: list[Plain]) -> list[tuple]:
        ts = _ms(event_id)
        return [
            (event_id if i == 0 else f"{event_id}.{i}", ts, method, ns, data)
            for i, (method, ns, data) in enumerate(plain)
        ]


# ---------------------------------------------------------------------------- the log


class ThreadLog:
    """A thread's v2 events in this process, in order.

    Main events (every channel but :data:`SIDE_CHANNELS`) are numbered ``seq`` 1,
    2, 3 … as langgraph-api 0.16.7 numbers its log; a side event carries the
    ``seq`` of the main event before it (0 before the first), so ``seq`` never
    decreases. A ``since`` cursor ``N`` (:meth:`position`) gives the main events
    after ``N`` and the side events from ``N`` on: a client whose last event was
    the main event ``N`` misses nothing, and one whose last event was a side event
    at ``N`` may get that side event again (same ``event_id``; langgraph-sdk
    0.4.14 drops events whose ``event_id`` it has seen).

    A follower task reads every run of the thread that has a stream in the broker,
    oldest first, then each run that starts later. Subscribers iterate with
    :meth:`iterate`; the :class:`ProtocolHub` drops a log nobody used for a while
    (rebuilding it later gives the same ``seq`` numbers).
    """

    def __init__(self, services: Services, thread_id: str) -> None:
        self.services = services
        self.thread_id = thread_id
        self.events: list[dict[str, Any]] = []
        self.run_ids: list[str] = []  # run of events[i]
        self._main: list[int] = []  # index in events of the main event with seq i + 1
        self.ended: set[str] = set()
        self.delivered: set[str] = set()  # runs a subscriber without ``since`` was sent
        self.subscribers = 0
        self.last_used = time.monotonic()
        self.translators: dict[str, RunTranslator] = {}  # run id -> its translator (agent.getTree)
        self.failure: BaseException | None = None
        self._changed = asyncio.Event()
        self.task = asyncio.ensure_future(self._follow())

    def _append(self, run_id: str, items: list[tuple]) -> None:
        for event_id, ts, method, ns, data in items:
            if method not in SIDE_CHANNELS:
                self._main.append(len(self.events))
            self.events.append({
                "type": "event",
                "event_id": event_id,
                "seq": len(self._main),
                "method": method,
                "params": {"namespace": ns, "timestamp": ts, "data": data},
            })
            self.run_ids.append(run_id)
        if items:
            self._wake()

    @property
    def last_seq(self) -> int:
        """The ``seq`` of the last main event (0 for none)."""
        return len(self._main)

    def position(self, since: int | None) -> int:
        """The index in :attr:`events` a ``since`` cursor replays from: just after
        the main event ``since`` (0 for ``None`` or 0; the end past the last)."""
        if not since:
            return 0
        if since > len(self._main):
            return len(self.events)
        return self._main[since - 1] + 1

    @property
    def changed(self) -> asyncio.Event:
        """An event set at the log's next change (new events, a run fully read)."""
        return self._changed

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _follow(self) -> None:
        try:
            async with aclosing(follow_runs(self.services, self.thread_id)) as runs:
                async for run_id in runs:
                    await self._drain(run_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # subscribers get a final error frame
            logger.exception("protocol log of thread %s stopped", self.thread_id)
            self.failure = exc
            self._wake()

    async def _drain(self, run_id: str) -> None:
        records = self.services.records
        record = await records.get_run(run_id)
        graph_name = None
        if record:  # the run's metadata names it unless the run made its thread
            graph_name = record["metadata"].get("graph_id") or (
                ((record.get("kwargs") or {}).get("config") or {}).get("configurable") or {}).get("graph_id")

        async def status() -> str | None:
            r = await records.get_run(run_id)
            return r["status"] if r else None

        translator = self.translators[run_id] = RunTranslator(run_id, graph_name, status, resumed_ids(record))
        async for event in self.services.broker.subscribe(run_id, None, from_start=True):
            self._append(run_id, await translator.feed(event))
            if event.event == END:
                break
        self.ended.add(run_id)
        self._wake()

    async def settle(self, timeout: float = 5.0) -> int:
        """Wait (up to ``timeout`` s) until every run of the thread that has ended
        is fully in the log; returns the last ``seq`` (0 for none)."""
        records, broker = self.services.records, self.services.broker
        deadline = time.monotonic() + timeout
        while True:
            changed = self._changed
            missing = [
                r["run_id"]
                for r in await records.list_runs(self.thread_id, limit=100_000)
                if r["status"] not in ("pending", "running")
                and r["run_id"] not in self.ended
                and await broker.has_stream(r["run_id"])
            ]
            left = deadline - time.monotonic()
            if not missing or left <= 0 or self.task.done():
                return self.last_seq
            await wait_event(changed, min(left, 0.2))

    async def _excluded_runs(self) -> set[str]:
        """Runs a subscriber without ``since`` skips: every finished run except the
        latest when the thread waits on its interrupt or no such subscriber has
        been sent that run yet (a run that ended before its starter's stream
        connected)."""
        records = self.services.records
        runs = list(reversed(await records.list_runs(self.thread_id, limit=100_000)))
        thread = await records.get_thread(self.thread_id)
        excluded = set()
        for i, run in enumerate(runs):
            if run["status"] in ("pending", "running"):
                continue
            latest = i == len(runs) - 1
            if latest and ((thread or {}).get("status") == "interrupted" or run["run_id"] not in self.delivered):
                continue
            excluded.add(run["run_id"])
        return excluded

    async def iterate(
        self, since: int | None, accept: Callable[[dict[str, Any]], bool]
    ) -> AsyncIterator[dict[str, Any]]:
        """The log's events that ``accept`` passes, then live ones; never ends.

        Args:
            since: a ``seq`` cursor: events with a greater ``seq``. ``None``: from
                the first event of the thread's current run (the oldest pending or
                running one; else the latest, if its thread waits on an interrupt
                or it was never sent to a subscriber without cursor), else only
                runs that start from now on.
        """
        self.subscribers += 1
        try:
            excluded: set[str] = set()
            if since is None:
                excluded = await self._excluded_runs()
            index = self.position(since)
            while True:
                while index < len(self.events):
                    event, run_id = self.events[index], self.run_ids[index]
                    index += 1
                    if run_id in excluded or (since and not _after(event, since)):
                        continue
                    if since is None:
                        self.delivered.add(run_id)
                    if accept(event):
                        yield event
                changed = self._changed
                if self.task.done():
                    if self.failure is not None:
                        raise Unavailable(f"The thread's event stream failed: {self.failure}")
                    return
                await changed.wait()
        finally:
            self.subscribers -= 1
            self.last_used = time.monotonic()


def _after(event: dict[str, Any], since: int) -> bool:
    """Whether ``event`` is past a ``since`` cursor (see :class:`ThreadLog`)."""
    return event["seq"] > since or (event["seq"] == since and event["method"] in SIDE_CHANNELS)


class ProtocolHub:
    """The process's :class:`ThreadLog` s, one per thread being followed.

    Args:
        linger: seconds a log nobody iterates is kept (its ``delivered`` marks with
            it) before its follower stops.
    """

    def __init__(self, services: Services, linger: float = 300.0) -> None:
        self.services = services
        self.linger = linger
        self._logs: dict[str, ThreadLog] = {}

    def tree(self, thread_id: str, run_id: str | None) -> dict[str, Any] | None:
        """The ``AgentTreeNode`` of run ``run_id`` (default: the thread's latest run
        in the log), or ``None`` when the log has no such run."""
        log = self.log(thread_id)
        if run_id is None:
            run_id = log.run_ids[-1] if log.run_ids else None
        translator = log.translators.get(run_id) if run_id else None
        return translator.namespaces.tree() if translator else None

    def log(self, thread_id: str) -> ThreadLog:
        """The thread's log, created (and its follower started) on first use."""
        self._gc()
        log = self._logs.get(thread_id)
        if log is None or log.task.done():
            log = self._logs[thread_id] = ThreadLog(self.services, thread_id)
        log.last_used = time.monotonic()
        return log

    def _gc(self) -> None:
        cutoff = time.monotonic() - self.linger
        for tid, log in list(self._logs.items()):
            if log.subscribers == 0 and log.last_used < cutoff:
                log.task.cancel()
                del self._logs[tid]


# ------------------------------------------------------------------------- commands


def error(command_id: Any, code: str, message: str) -> dict[str, Any]:
    """A protocol error response (sent with HTTP 200)."""
    return {"type": "error", "id": command_id, "error": code, "message": message}


def success(command_id: Any, result: dict[str, Any], seq: int) -> dict[str, Any]:
    """A protocol success response with ``meta.applied_through_seq``."""
    return {"type": "success", "id": command_id, "result": result, "meta": {"applied_through_seq": seq}}


def _rejection(exc: Exception) -> tuple[str, str] | None:
    """The protocol error code and message for a command the core refused, or ``None``
    for an unexpected failure."""
    if isinstance(exc, EvergraphError):
        return ("unknown_error" if isinstance(exc, Unavailable) else "invalid_argument"), exc.message
    if isinstance(exc, AuthError):
        return ("permission_denied" if exc.status == 403 else "invalid_argument"), exc.detail
    return None


async def handle_command(
    services: Services, hub: ProtocolHub, thread_id: str, body: Any, *,
    user: dict[str, Any] | None = None, headers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run one protocol command on ``thread_id`` and return its response object.

    ``user`` (the authenticated user's fields) and ``headers`` (the request's headers
    that ``langgraph.json`` ``http.configurable_headers`` lets through, as for REST
    runs) go to every run a command starts (``run.start``, ``input.respond``,
    ``input.inject``, ``state.fork``), as :func:`~adapter.resources.runs.create_run`
    takes them; langgraph-api 0.16.7 passes the ``POST /commands`` request's headers
    to ``run.start`` likewise.

    ``run.start`` creates a run (and the thread when missing) and returns
    ``{"run_id"}``; ``input.respond`` starts a run resuming the named interrupt(s)
    and returns ``{}``; ``agent.getTree {run_id?}`` returns ``{tree}`` (the
    namespaces of that run, default the latest); ``state.*`` and ``input.inject``
    see :mod:`evergraph.adapter.resources.protocol_commands`. ``subscription.*``
    answer ``not_supported`` here (WebSocket commands). ``meta.applied_through_seq`` is the thread's last ``seq``
    before the command's run: a stream opened with it as ``since`` gets every
    event of that run and none of earlier finished runs.
    """
    if not isinstance(body, dict):
        return error(None, "invalid_argument", "A command must be a JSON object")
    command_id = body.get("id")
    if not isinstance(command_id, int) or isinstance(command_id, bool):
        return error(None, "invalid_argument", "Command id must be an integer")
    method = body.get("method")
    if not isinstance(method, str):
        return error(command_id, "invalid_argument", "Command method must be a string")
    params = body.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        return error(command_id, "invalid_argument", "Command params must be an object")
    log = hub.log(thread_id)
    extras = {"user": user, "headers": headers}
    try:
        if method == "run.start":
            return await _run_start(services, hub, thread_id, command_id, params, extras)
        if method == "input.respond":
            return await _input_respond(services, hub, thread_id, command_id, params, extras)
        if method == "agent.getTree":
            run_id = params.get("run_id")
            if run_id is not None and not isinstance(run_id, str):
                return error(command_id, "invalid_argument", "params.run_id must be a string")
            seq = await log.settle()
            tree = hub.tree(thread_id, run_id)
            if tree is None:
                return error(command_id, "no_such_run",
                             f"No run {run_id} on thread {thread_id}" if run_id else f"Thread {thread_id} has no run")
            return success(command_id, {"tree": tree}, seq)
        if method == "state.get":
            result = await protocol_commands.state_get(services, thread_id, params)
            return success(command_id, result, log.last_seq)
        if method == "state.listCheckpoints":
            result = await protocol_commands.state_list_checkpoints(services, thread_id, params)
            return success(command_id, result, log.last_seq)
        if method == "state.fork":
            result, seq = await protocol_commands.state_fork(
                services, thread_id, params, _run_body, log.settle, **extras
            )
            return success(command_id, result, seq)
        if method == "input.inject":
            result, seq = await protocol_commands.input_inject(
                services, thread_id, params, _run_body, log.settle, **extras
            )
            return success(command_id, result, seq)
    except protocol_commands.CommandError as exc:
        return error(command_id, exc.code, exc.message)
    except Exception as exc:  # noqa: BLE001 - every failure is a protocol error body
        rejected = _rejection(exc)
        if rejected is not None:
            return error(command_id, *rejected)
        logger.exception("protocol command %s on thread %s failed", method, thread_id)
        return error(command_id, "unknown_error", f"{type(exc).__name__}: {exc}")
    if method.startswith("subscription."):
        return error(command_id, "not_supported",
                     f"{method} is a command of the WebSocket /threads/{{thread_id}}/stream/events; "
                     "an SSE stream takes its filter in the request body")
    return error(command_id, "unknown_command", f"Unknown protocol command: {method}")


def _run_body(params: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "stream_mode": list(RUN_STREAM_MODES),
        "stream_subgraphs": True,
        "stream_resumable": True,
        "if_not_exists": "create",
    }
    for key in ("config", "metadata", "context", "multitask_strategy"):
        if params.get(key) is not None:
            body[key] = params[key]
    return body


async def _run_start(services: Services, hub: ProtocolHub, thread_id: str, command_id: int,
                     params: dict[str, Any], extras: dict[str, Any]) -> dict[str, Any]:
    assistant_id = params.get("assistant_id")
    if not isinstance(assistant_id, str) or not assistant_id:
        return error(command_id, "invalid_argument", "run.start requires params.assistant_id")
    for key in ("config", "metadata", "context"):
        if params.get(key) is not None and not isinstance(params[key], dict):
            return error(command_id, "invalid_argument", f"params.{key} must be an object")
    assistant = await resolve_assistant(services, assistant_id)
    seq = await hub.log(thread_id).settle()
    body = {**_run_body(params), "assistant_id": assistant_id, "input": params.get("input")}
    run = await create_run(services, thread_id, assistant, body, **extras)
    return success(command_id, {"run_id": run["run_id"]}, seq)


async def _input_respond(services: Services, hub: ProtocolHub, thread_id: str, command_id: int,
                         params: dict[str, Any], extras: dict[str, Any]) -> dict[str, Any]:
    if "responses" in params:
        entries = params["responses"]
        if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
            return error(command_id, "invalid_argument", "params.responses must be a non-empty list of objects")
    else:
        entries = [params]
    resume: dict[str, Any] = {}
    for entry in entries:
        iid = entry.get("interrupt_id")
        if not isinstance(iid, str) or not iid:
            return error(command_id, "invalid_argument", "input.respond requires interrupt_id")
        if "response" not in entry:
            return error(command_id, "invalid_argument", "input.respond requires response")
        resume[iid] = entry["response"]
    thread, unknown = await _pending(services, hub, thread_id, set(resume))
    if thread is None or unknown:
        return error(command_id, "no_such_interrupt",
                     f"No pending interrupt with id {', '.join(unknown or sorted(resume))} on thread {thread_id}")
    runs = await services.records.list_runs(thread_id, limit=1)
    assistant_id = (thread.get("metadata") or {}).get("assistant_id") or (runs[0]["assistant_id"] if runs else None)
    if assistant_id is None:
        return error(command_id, "no_such_run", f"Thread {thread_id} has no run to resume")
    assistant = await resolve_assistant(services, assistant_id)
    command: dict[str, Any] = {"resume": resume}
    for key in ("update", "goto"):
        if params.get(key) is not None:
            command[key] = params[key]
    seq = await hub.log(thread_id).settle()
    body = {**_run_body(params), "assistant_id": assistant["assistant_id"], "command": command}
    await create_run(services, thread_id, assistant, body, **extras)
    return success(command_id, {}, seq)


async def _pending(services: Services, hub: ProtocolHub, thread_id: str, ids: set[str],
                   timeout: float = 30.0) -> tuple[dict[str, Any] | None, list[str]]:
    """The thread record and which of ``ids`` it is not waiting on. ``input.requested``
    is sent while the interrupted run is still finishing, so a client may answer
    before the thread records the interrupt: while a run of the thread is active,
    wait (up to ``timeout`` s) for it to end before calling an id unknown."""
    records = services.records
    log = hub.log(thread_id)
    deadline = time.monotonic() + timeout
    while True:
        changed = log.changed
        thread = await records.get_thread(thread_id)
        pending = {
            i["id"]
            for items in ((thread or {}).get("interrupts") or {}).values()
            for i in items
            if isinstance(i, dict) and "id" in i
        }
        unknown = sorted(ids - pending)
        left = deadline - time.monotonic()
        if not unknown or thread is None or left <= 0 or not await records.active_runs(thread_id):
            return thread, unknown
        await wait_event(changed, min(left, 0.2))


_INTERRUPT_ID = re.compile(r"[0-9a-f]{32}")
"""LangGraph's interrupt ids: xxh3-128 hex digests."""


def resumed_ids(run: dict[str, Any] | None) -> list[str]:
    """The interrupt ids run ``run`` answers by id: the keys of its ``command.resume``
    when that is a map of interrupt ids (``input.respond``, or a REST run's
    ``command={"resume": {id: value}}``); else none."""
    command = ((run or {}).get("kwargs") or {}).get("command")
    resume = command.get("resume") if isinstance(command, dict) else None
    if isinstance(resume, dict) and resume and all(isinstance(k, str) and _INTERRUPT_ID.fullmatch(k) for k in resume):
        return list(resume)
    return []


def event_json(event: dict[str, Any]) -> bytes:
    """One event as compact JSON bytes."""
    return serde.dumps(event)
