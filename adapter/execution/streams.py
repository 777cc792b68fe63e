"""Run stream modes on the wire: from LangGraph's stream chunks and LangChain's
callback events to the SSE events langgraph-api 0.16.7 sends for each ``stream_mode``
(docs/architecture.md, "One run's path", step 6).

Everything here starts from LangGraph's or LangChain's own output and only reshapes
it the way langgraph-api 0.16.7 does:

* :class:`WireEncoder` turns ``Pregel.astream`` chunks ``(namespace, mode, data)``
  into ``(event name, data)`` pairs: ``values``, ``updates``, ``custom``, ``tasks``
  as they are; ``debug`` and ``checkpoints`` with the request-only keys of the
  run's ``configurable`` removed and, for ``debug`` checkpoints, the
  ``checkpoint``/``parent_checkpoint`` summaries langgraph-api adds; LangGraph's
  ``messages`` chunks (from its ``StreamMessagesHandler``) as ``messages`` for the
  API's ``messages-tuple`` mode and as ``messages/metadata`` + accumulated
  ``messages/partial`` (``messages/complete`` for whole messages) for the API's
  ``messages`` mode. Namespaced chunks (``stream_subgraphs``) are named
  ``mode|node:task_id``. LangGraph's ``tools`` chunks (its ``StreamToolCallHandler``)
  become ``tools`` events (:class:`adapter.execution.tools_stream.ToolsWire`).
* :class:`EventsTracer` is LangChain's ``astream_events`` v2 tracer
  (``_AstreamEventsCallbackHandler``) publishing each record as an ``events``
  event instead of queueing it, without runs tagged ``langsmith:hidden``
  (LangGraph's internal ``__start__`` task and channel writers).
"""

from __future__ import annotations

import threading
from typing import Any, Callable
from uuid import UUID

from langchain_core.messages import BaseMessage, BaseMessageChunk, convert_to_messages
from langchain_core.messages.utils import message_chunk_to_message

# langchain-core's private astream_events tracer, pinned for langchain-core 1.7
# (>=1.7.2,<1.8 in pyproject.toml)
from langchain_core.tracers.event_stream import _AstreamEventsCallbackHandler
from langgraph.constants import TAG_HIDDEN

from evergraph.adapter.execution.runconfig import event_name
from evergraph.adapter.execution.tools_stream import ToolsWire

__all__ = [
    "LOOP_MODES",
    "PRIVATE_CONFIGURABLE",
    "Emit",
    "EventsTracer",
    "HELD_EVENTS",
    "WireEncoder",
    "checkpoint_payload",
    "config_checkpoint",
    "debug_payload",
]

#: keys Evergraph keeps in a run's ``configurable`` that langgraph-api does not show
#: in stream payloads (the flag that the request carried a ``context``)
PRIVATE_CONFIGURABLE = frozenset({"__context_provided__"})

#: API stream modes served by LangGraph's ``Pregel.astream`` output (in the driver,
#: and in node attempts for subgraphs)
LOOP_MODES = frozenset({"values", "updates", "custom", "debug", "tasks", "checkpoints"})

#: ``events`` records held back until the next record (see :class:`EventsTracer`)
HELD_EVENTS = frozenset({"on_chat_model_end", "on_llm_end", "on_tool_end"})

Emit = Callable[[str, Any], None]
"""Publishes one wire event: ``(event name, JSON-able data)``."""


def _public_config(config: Any) -> Any:
    if not isinstance(config, dict) or not isinstance(config.get("configurable"), dict):
        return config
    configurable = config["configurable"]
    if not PRIVATE_CONFIGURABLE.intersection(configurable):
        return config
    return {**config, "configurable": {k: v for k, v in configurable.items() if k not in PRIVATE_CONFIGURABLE}}


def config_checkpoint(config: Any) -> dict[str, Any] | None:
    """langgraph-api's summary of a checkpoint config: ``checkpoint_id`` (if any),
    ``thread_id``, ``checkpoint_ns`` and ``checkpoint_map`` (if any), taken from
    ``config["configurable"]``; ``None`` without a ``thread_id``."""
    if not isinstance(config, dict):
        return None
    conf = config.get("configurable") or {}
    if "thread_id" not in conf:
        return None
    out: dict[str, Any] = {}
    if "checkpoint_id" in conf:
        out["checkpoint_id"] = conf["checkpoint_id"]
    out["thread_id"] = conf["thread_id"]
    if "checkpoint_ns" in conf:
        out["checkpoint_ns"] = conf["checkpoint_ns"] or ""
    if "checkpoint_map" in conf:
        out["checkpoint_map"] = conf["checkpoint_map"]
    return out


def checkpoint_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """A ``checkpoints`` chunk (LangGraph's ``{config, parent_config, values,
    metadata, next, tasks}``) as sent: private ``configurable`` keys removed."""
    out = dict(payload)
    for key in ("config", "parent_config"):
        if key in out:
            out[key] = _public_config(out[key])
    return out


def debug_payload(chunk: dict[str, Any]) -> dict[str, Any]:
    """A ``debug`` chunk (``{step, timestamp, type, payload}``) as sent. For
    ``type == "checkpoint"`` the payload gains ``checkpoint``/``parent_checkpoint``
    (see :func:`config_checkpoint`) and each task's ``state`` config becomes a
    ``checkpoint`` summary, as langgraph-api does; tasks without state keep
    ``"state": null``."""
    if chunk.get("type") != "checkpoint" or not isinstance(chunk.get("payload"), dict):
        return chunk
    payload = checkpoint_payload(chunk["payload"])
    payload["checkpoint"] = config_checkpoint(payload.get("config"))
    payload["parent_checkpoint"] = config_checkpoint(payload.get("parent_config"))
    tasks = []
    for task in payload.get("tasks") or []:
        if isinstance(task, dict) and task.get("state"):
            state = task["state"]
            task = {k: v for k, v in task.items() if k != "state"}
            task["checkpoint"] = config_checkpoint(getattr(state, "config", state))
        tasks.append(task)
    payload["tasks"] = tasks
    return {**chunk, "payload": payload}


class WireEncoder:
    """Encodes LangGraph stream chunks of one run (or one node attempt of it) as
    API events.

    Args:
        requested: the run's API stream modes (``stream_mode``).
        subgraphs: ``stream_subgraphs``; without it, namespaced chunks are dropped.

    The ``messages`` accumulation state lives in the encoder: chunks of one
    message must go through the same encoder (they do: one LLM call streams inside
    one node attempt).
    """

    def __init__(self, requested: tuple[str, ...] | list[str], subgraphs: bool) -> None:
        self.requested = frozenset(requested)
        self.subgraphs = subgraphs
        self._messages: dict[str, BaseMessage] = {}
        self._tools = ToolsWire()

    def langgraph_modes(self) -> set[str]:
        """LangGraph stream modes these API modes need (``messages-tuple`` and
        ``messages`` both come from LangGraph's ``messages``; ``events`` from
        callbacks, not from a stream mode; ``tools`` from LangGraph's ``tools``)."""
        modes = {m for m in self.requested if m in LOOP_MODES}
        if self.requested & {"messages", "messages-tuple"}:
            modes.add("messages")
        if "tools" in self.requested:
            modes.add("tools")
        return modes

    def encode(self, chunk: tuple) -> list[tuple[str, Any]]:
        """``(namespace, mode, data)`` → the ``(event name, data)`` pairs to send."""
        ns, mode, data = chunk
        ns = tuple(ns)
        if ns and not self.subgraphs:
            return []
        out: list[tuple[str, Any]] = []
        if mode == "messages":
            if "messages-tuple" in self.requested:
                out.append(("messages", data))
            if "messages" in self.requested:
                out.extend(self._accumulate(data))
        elif mode == "tools":
            if "tools" in self.requested and (event := self._tools.encode(data)) is not None:
                out.append(("tools", event))
        elif mode in self.requested and mode in LOOP_MODES:
            if mode == "debug":
                data = debug_payload(data)
            elif mode == "checkpoints":
                data = checkpoint_payload(data)
            out.append((mode, data))
        return [(event_name(name, ns), d) for name, d in out]

    def _accumulate(self, data: tuple) -> list[tuple[str, Any]]:
        message, metadata = data
        if isinstance(message, dict):
            message = convert_to_messages([message])[0]
        out: list[tuple[str, Any]] = []
        key = message.id
        if key in self._messages:
            self._messages[key] = self._messages[key] + message  # type: ignore[operator]
        else:
            self._messages[key] = message
            out.append(("messages/metadata", {key: {"metadata": metadata}}))
        name = "messages/partial" if isinstance(message, BaseMessageChunk) else "messages/complete"
        out.append((name, [message_chunk_to_message(self._messages[key])]))
        return out


class EventsTracer(_AstreamEventsCallbackHandler):
    """LangChain's ``astream_events`` v2 tracer, publishing every record through
    ``emit("events", record)`` as it happens (any thread).

    Args:
        emit: publishes one wire event.
        root_run_id: the run id of the graph's root run when this tracer sees it
            (the driver): its end record loses ``data.input``, as ``astream_events``
            does; with ``skip_root_start`` its start record is not sent again (a
            driver rebuilt after a worker restart).
        skip_root_start: see ``root_run_id``.

    Records of runs tagged ``langsmith:hidden`` (LangGraph internals) are dropped,
    as langgraph-api drops them. The end record of a model or tool call
    (:data:`HELD_EVENTS`) is sent when the next record arrives (or on
    :meth:`flush`), so it carries the output as the calling code left it.
    """

    def __init__(self, emit: Emit, *, root_run_id: UUID | None = None, skip_root_start: bool = False) -> None:
        super().__init__()
        self._emit = emit
        self._root = str(root_run_id) if root_run_id is not None else None
        self._skip_root_start = skip_root_start
        self._held: list[Any] = []
        self._hold_lock = threading.Lock()

    def flush(self) -> None:
        """Send the record held back (see :data:`HELD_EVENTS`), if any."""
        with self._hold_lock:
            held, self._held = self._held, []
        for record in held:
            self._emit("events", record)

    def _send(self, event: Any, event_type: str) -> None:
        if TAG_HIDDEN in (event.get("tags") or ()):
            return
        # a held record is sent before the next visible one: what the node did to
        # its output in between (``create_agent`` naming the model's message, the
        # node's writes giving a tool message its id) shows, as in langgraph-api
        # 0.16.7's events
        self.flush()
        if event.get("event") in HELD_EVENTS:
            with self._hold_lock:
                self._held.append(event)
            return
        if self._root is not None and event.get("run_id") == self._root:
            if event["event"].endswith("_start") and self._skip_root_start:
                return
            if event["event"].endswith("_end"):
                event = {**event, "data": {k: v for k, v in event.get("data", {}).items() if k != "input"}}
            elif event["event"].endswith("_stream"):
                return  # the root's own output chunks are the other stream modes
        self._emit("events", event)
