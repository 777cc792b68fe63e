"""The ``tools`` run stream mode on v1 run streams.

LangGraph 1.2 has a ``tools`` stream mode of its own: its ``StreamToolCallHandler``
(``langgraph.pregel._tools``) turns LangChain's ``on_tool_start``/``on_tool_end``/
``on_tool_error`` callbacks into chunks ``(namespace, "tools", {event: "tool-started" |
"tool-output-delta" | "tool-finished" | "tool-error", tool_call_id, …})``; node
attempts attach it like ``Pregel.astream`` does (:mod:`adapter.execution.node_attempt`).
:class:`ToolsWire` reshapes those chunks into the event the SDKs read (langgraph-sdk
0.4.14's ``"tools"`` mode, the JS SDK 1.15's ``ToolStreamEventData``):

* ``tool-started`` → ``{event: "on_tool_start", toolCallId, name, input}``
* ``tool-output-delta`` → ``{event: "on_tool_event", toolCallId, name, data}``
* ``tool-finished`` → ``{event: "on_tool_end", toolCallId, name, output}``
* ``tool-error`` → ``{event: "on_tool_error", toolCallId, name, error}`` (the
  exception's text)

``toolCallId`` is the tool call id LangChain passes to the callbacks (``ToolNode``'s
``tool_call_id``), else the tool run's id, as LangGraph's handler chooses.

``on_tool_event`` carries what a running tool streams: LangGraph's own
``ToolRuntime.emit_output_delta(...)``, and what the tool writes with
``get_stream_writer()`` (:func:`tool_writer`: while a tool call runs, a stream-writer
write also goes to that call's ``tools`` channel; it still reaches ``custom`` when
that mode is requested too). ``dispatch_custom_event`` is not forwarded: it is a
callback event, served by the ``events`` mode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# LangGraph's private tools-stream handler and its per-call writer, pinned for
# langgraph 1.2 (>=1.2.22,<1.3 in pyproject.toml)
from langgraph.pregel._tools import StreamToolCallHandler, _tool_call_writer

__all__ = ["StreamToolCallHandler", "ToolsWire", "tool_writer"]

_KINDS = {
    "tool-started": ("on_tool_start", "input"),
    "tool-output-delta": ("on_tool_event", "delta"),
    "tool-finished": ("on_tool_end", "output"),
    "tool-error": ("on_tool_error", "message"),
}
_FIELDS = {"on_tool_start": "input", "on_tool_event": "data", "on_tool_end": "output", "on_tool_error": "error"}


class ToolsWire:
    """Reshapes LangGraph ``tools`` chunks' payloads (see the module docstring) for one
    run or node attempt; remembers each open call's tool name, which LangGraph only
    gives on ``tool-started``."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}

    def encode(self, payload: Any) -> dict[str, Any] | None:
        """A LangGraph ``tools`` payload (``{"event": "tool-…", "tool_call_id", …}``) as
        the wire's ``{"event": "on_tool_…", "toolCallId", "name", <field>}``, or
        ``None`` for a payload of another shape."""
        if not isinstance(payload, dict) or payload.get("event") not in _KINDS:
            return None
        event, source = _KINDS[payload["event"]]
        call_id = payload.get("tool_call_id")
        if event == "on_tool_start":
            self._names[call_id] = payload.get("tool_name") or ""
            name = self._names[call_id]
        elif event == "on_tool_event":
            name = self._names.get(call_id, "")
        else:
            name = self._names.pop(call_id, "")
        out: dict[str, Any] = {"event": event}
        if call_id is not None:
            out["toolCallId"] = call_id
        out["name"] = name
        out[_FIELDS[event]] = payload.get(source)
        return out


def tool_writer(custom: Callable[[Any], None] | None) -> Callable[[Any], None]:
    """A node attempt's stream writer (``Runtime.stream_writer``) when ``tools`` is
    requested: inside a tool call (LangGraph's ``StreamToolCallHandler`` set the call's
    writer) a write becomes that call's ``tool-output-delta``; ``custom`` (the
    ``custom`` mode's writer, or ``None`` when that mode is not requested) also gets
    every write."""

    def write(chunk: Any) -> None:
        delta = _tool_call_writer.get()
        if delta is not None:
            delta(chunk)
        if custom is not None:
            custom(chunk)

    return write
