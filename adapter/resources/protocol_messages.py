"""The ``messages`` and ``tools`` channels of the v2 thread protocol, from the
``messages-tuple`` chunks a run streams (``[message, metadata]``, serialised
LangChain messages).

The shapes are those of the protocol's CDDL (PyPI ``langchain-protocol`` 0.0.20,
``MessagesData`` / ``ToolsData``) as the SDK's ``AsyncChatModelStream`` and
``ToolCallsDecoder`` (``langgraph-sdk`` 0.4.14) read them:

* an AI (or human / system) message is ``message-start {role, id}``, then one
  content block per text part and per tool call, each ``content-block-start`` /
  ``content-block-delta`` / ``content-block-finish`` with a wire ``index``
  (text: ``text-delta``; tool calls: a ``tool_call_chunk`` block growing by
  ``tool-call-delta {args}`` and finished as ``tool_call`` with parsed ``args``,
  or ``invalid_tool_call`` when they are not JSON), then ``message-finish``
  (``usage`` when the model reported token counts);
* reasoning a model streams (a content block ``{"type": "reasoning", "reasoning"}``
  (LangChain's v1 standard block) or ``{"type": "reasoning", "summary": [{text}]}``
  (OpenAI's Responses API), an Anthropic ``{"type": "thinking", "thinking"}``
  block, or ``additional_kwargs.reasoning_content``) is one ``reasoning`` content
  block of its message, growing by ``reasoning-delta {reasoning}`` and finished as
  ``{"type": "reasoning", "reasoning"}``;
* a tool call of a finished AI message becomes ``tools {event: "tool-started",
  tool_call_id, tool_name, input}`` when the next task of its namespace starts
  (or, at the latest, with its result), and the tool's ``ToolMessage`` becomes
  ``tool-finished {tool_call_id, output}`` (``tool-error {message}`` for a
  message with ``status: "error"``). Tool messages are not sent on ``messages``;
* what a running tool streams (LangGraph's ``ToolRuntime.emit_output_delta``, or a
  ``get_stream_writer()`` write inside the tool call: the ``tools`` run stream mode's
  ``on_tool_event``, adapter/execution/tools_stream.py) becomes ``tool-output-delta
  {tool_call_id, delta}`` between the call's ``tool-started`` and its end.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MessageStreams", "Plain", "reasoning_of", "text_of"]

Plain = tuple[str, list[str], Any]
"""One translated event: ``(method, namespace, data)``."""

_ROLES = {"ai": "ai", "AIMessageChunk": "ai", "human": "human", "HumanMessageChunk": "human",
          "system": "system", "SystemMessageChunk": "system"}


def text_of(content: Any) -> str:
    """The text of a message ``content`` (a string, or a list of blocks whose
    ``text`` blocks are joined)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
                parts.append(block["text"])
        return "".join(parts)
    return ""


def reasoning_of(message: dict[str, Any]) -> str:
    """The reasoning text a serialised message (chunk) carries: its ``reasoning``
    / ``thinking`` content blocks (a Responses API ``summary`` list's texts
    included), else ``additional_kwargs.reasoning_content``; ``""`` for none."""
    parts: list[str] = []
    content = message.get("content")
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "reasoning" and isinstance(block.get("reasoning"), str):
            parts.append(block["reasoning"])
        elif kind == "reasoning" and isinstance(block.get("summary"), list):
            parts.extend(s["text"] for s in block["summary"] if isinstance(s, dict) and isinstance(s.get("text"), str))
        elif kind == "thinking" and isinstance(block.get("thinking"), str):
            parts.append(block["thinking"])
    if not parts:
        extra = (message.get("additional_kwargs") or {}).get("reasoning_content")
        if isinstance(extra, str):
            parts.append(extra)
    return "".join(parts)


def _root_task(metadata: Any) -> str | None:
    """The id of the root task a chunk's metadata names (first segment
    ``<node>:<task_id>`` of ``langgraph_checkpoint_ns``)."""
    if not isinstance(metadata, dict):
        return None
    ns = metadata.get("langgraph_checkpoint_ns") or metadata.get("checkpoint_ns")
    if not isinstance(ns, str) or ":" not in ns:
        return None
    return ns.split("|", 1)[0].rpartition(":")[2] or None


class _Open:
    """One message being streamed: its blocks in wire order."""

    def __init__(self, ns: list[str], task: str | None) -> None:
        self.ns = ns
        self.task = task
        self.blocks: dict[Any, dict[str, Any]] = {}  # key -> {index, type, ...}
        self.usage: dict[str, int] | None = None
        self.tool_calls: list[dict[str, Any]] = []

    def block(self, key: Any, start: dict[str, Any], out: list[Plain]) -> dict[str, Any]:
        state = self.blocks.get(key)
        if state is None:
            state = self.blocks[key] = {"index": len(self.blocks), **start}
            content = dict(start)
            if content["type"] == "text":
                content["text"] = ""
            elif content["type"] == "reasoning":
                content["reasoning"] = ""
            elif content["type"] == "tool_call_chunk":
                content["args"] = ""
            out.append(("messages", self.ns, {"event": "content-block-start", "index": state["index"], "content": content}))
        return state


def _finished_block(state: dict[str, Any]) -> dict[str, Any]:
    if state["type"] == "text":
        return {"type": "text", "text": state["text"]}
    if state["type"] == "reasoning":
        return {"type": "reasoning", "reasoning": state["reasoning"]}
    args = state.get("args") or ""
    try:
        parsed = json.loads(args) if args.strip() else {}
    except ValueError as exc:
        parsed, error = None, f"arguments are not JSON: {exc}"
    else:
        error = None if isinstance(parsed, dict) else "arguments are not a JSON object"
    if error is not None:
        return {"type": "invalid_tool_call", "id": state.get("id"), "name": state.get("name"), "args": args,
                "error": error}
    return {"type": "tool_call", "id": state.get("id"), "name": state.get("name") or "", "args": parsed}


class MessageStreams:
    """The ``messages`` / ``tools`` translation state of one run."""

    def __init__(self) -> None:
        self.open: dict[str, _Open] = {}
        self.done: set[str] = set()
        self.pending_tools: dict[str, dict[str, Any]] = {}  # tool_call_id -> {ns, name, input}
        self.started_tools: set[str] = set()

    # -------------------------------------------------------------- messages

    def chunk(self, ns: list[str], data: Any) -> list[Plain]:
        """Events for one ``messages-tuple`` chunk ``[message, metadata]``."""
        if not isinstance(data, (list, tuple)) or not data or not isinstance(data[0], dict):
            return []
        msg = data[0]
        kind = msg.get("type")
        if kind in ("tool", "ToolMessageChunk"):
            return self._tool_result(ns, msg)
        role = _ROLES.get(kind)
        mid = msg.get("id")
        if role is None or not isinstance(mid, str) or mid in self.done:
            return []
        out: list[Plain] = []
        state = self.open.get(mid)
        if state is None:
            state = self.open[mid] = _Open(ns, _root_task(data[1] if len(data) > 1 else None))
            out.append(("messages", ns, {"event": "message-start", "role": role, "id": mid}))
        reasoning = reasoning_of(msg)
        if reasoning:
            block = state.block("reasoning", {"type": "reasoning"}, out)
            block["reasoning"] = block.get("reasoning", "") + reasoning
            out.append(("messages", ns, {"event": "content-block-delta", "index": block["index"],
                                         "delta": {"type": "reasoning-delta", "reasoning": reasoning}}))
        text = text_of(msg.get("content"))
        if text:
            block = state.block("text", {"type": "text"}, out)
            block["text"] = block.get("text", "") + text
            out.append(("messages", ns, {"event": "content-block-delta", "index": block["index"],
                                         "delta": {"type": "text-delta", "text": text}}))
        whole = not str(kind or "").endswith("Chunk")
        if whole:
            for call in msg.get("tool_calls") or []:
                if isinstance(call, dict):
                    self._whole_tool_call(state, call, out)
        else:
            for chunk in msg.get("tool_call_chunks") or []:
                if isinstance(chunk, dict):
                    self._tool_call_chunk(state, chunk, out)
        usage = msg.get("usage_metadata")
        if isinstance(usage, dict):
            total = state.usage or {}
            for key in ("input_tokens", "output_tokens", "total_tokens"):
                if isinstance(usage.get(key), int):
                    total[key] = total.get(key, 0) + usage[key]
            state.usage = total
        if whole or msg.get("chunk_position") == "last":
            out.extend(self.finish(mid))
        return out

    @staticmethod
    def _tool_call_chunk(state: _Open, chunk: dict[str, Any], out: list[Plain]) -> None:
        index = chunk.get("index")
        key = ("tool", index if index is not None else chunk.get("id"))
        block = state.block(key, {"type": "tool_call_chunk", "id": chunk.get("id"), "name": chunk.get("name")}, out)
        for field in ("id", "name"):
            if block.get(field) is None and chunk.get(field) is not None:
                block[field] = chunk[field]
        args = chunk.get("args")
        if isinstance(args, str) and args:
            block["args"] = block.get("args", "") + args
            out.append(("messages", state.ns, {"event": "content-block-delta", "index": block["index"],
                                               "delta": {"type": "tool-call-delta", "args": args}}))

    @staticmethod
    def _whole_tool_call(state: _Open, call: dict[str, Any], out: list[Plain]) -> None:
        args = json.dumps(call.get("args") or {}, separators=(",", ":"))
        block = state.block(("tool", call.get("id")), {"type": "tool_call_chunk", "id": call.get("id"),
                                                       "name": call.get("name")}, out)
        block["args"] = args
        out.append(("messages", state.ns, {"event": "content-block-delta", "index": block["index"],
                                           "delta": {"type": "tool-call-delta", "args": args}}))

    def finish(self, mid: str) -> list[Plain]:
        """Close message ``mid``: each block's ``content-block-finish``, then
        ``message-finish``; its tool calls wait for their tools to start."""
        state = self.open.pop(mid)
        self.done.add(mid)
        out: list[Plain] = []
        for block in state.blocks.values():
            final = _finished_block(block)
            out.append(("messages", state.ns, {"event": "content-block-finish", "index": block["index"],
                                               "content": final}))
            if final["type"] == "tool_call" and isinstance(final.get("id"), str):
                self.pending_tools[final["id"]] = {"ns": state.ns, "name": final["name"], "input": final["args"]}
        finish: dict[str, Any] = {"event": "message-finish"}
        if state.usage:
            finish["usage"] = state.usage
        out.append(("messages", state.ns, finish))
        return out

    def close_all(self, ns: list[str] | None = None) -> list[Plain]:
        """Finish every open message (the run ended, or a root step), or those at
        ``ns`` and below (a step of that subgraph ended; subgraphs running in
        parallel keep theirs open)."""
        out: list[Plain] = []
        for mid, state in list(self.open.items()):
            if ns is None or state.ns[: len(ns)] == ns:
                out.extend(self.finish(mid))
        return out

    def abort_task(self, task_id: Any) -> list[Plain]:
        """``messages {event: "error", code: "attempt_restarted"}`` for each message
        still open from an earlier attempt of root task ``task_id``."""
        out: list[Plain] = []
        for mid, state in list(self.open.items()):
            if state.task != task_id:
                continue
            del self.open[mid]
            self.done.add(mid)
            out.append(("messages", state.ns, {
                "event": "error", "code": "attempt_restarted",
                "message": "the node attempt streaming this message was restarted",
            }))
        return out

    # ----------------------------------------------------------------- tools

    def _started(self, call_id: str) -> list[Plain]:
        info = self.pending_tools.get(call_id)
        if info is None or call_id in self.started_tools:
            return []
        self.started_tools.add(call_id)
        return [("tools", info["ns"], {"event": "tool-started", "tool_call_id": call_id,
                                       "tool_name": info["name"], "input": info["input"]})]

    def task_started(self, ns: list[str], task: Any) -> list[Plain]:
        """``tool-started`` for the tool calls a task starting in ``ns`` runs: the
        one its input names (a ``Send`` per tool call), else every pending call of
        ``ns`` (a tool node given the whole state)."""
        if not isinstance(task, dict):
            return []
        payload = task.get("input")
        if isinstance(payload, dict) and isinstance(payload.get("tool_call"), dict):
            call_id = payload["tool_call"].get("id")
            return self._started(call_id) if isinstance(call_id, str) else []
        out: list[Plain] = []
        for call_id, info in list(self.pending_tools.items()):
            if info["ns"] == ns:
                out.extend(self._started(call_id))
        return out

    def tool_delta(self, ns: list[str], call_id: str, delta: Any) -> list[Plain]:
        """``tools {event: "tool-output-delta", tool_call_id, delta}`` for a chunk a
        running tool streamed (its ``tool-started`` first, if not sent yet); ``delta``
        is text (the spec's type): a string as it is, any other value as JSON. Nothing
        once the call finished."""
        if call_id in self.done:
            return []
        out = self._started(call_id)
        info = self.pending_tools.get(call_id)
        text = delta if isinstance(delta, str) else json.dumps(delta, separators=(",", ":"), default=str)
        out.append(("tools", info["ns"] if info else ns,
                    {"event": "tool-output-delta", "tool_call_id": call_id, "delta": text}))
        return out

    def _tool_result(self, ns: list[str], msg: dict[str, Any]) -> list[Plain]:
        call_id = msg.get("tool_call_id")
        if not isinstance(call_id, str) or call_id in self.done:
            return []
        self.done.add(call_id)
        if call_id not in self.pending_tools:
            self.pending_tools[call_id] = {"ns": ns, "name": msg.get("name") or "", "input": None}
        out = self._started(call_id)
        tool_ns = self.pending_tools[call_id]["ns"]
        if msg.get("status") == "error":
            out.append(("tools", tool_ns, {"event": "tool-error", "tool_call_id": call_id,
                                           "message": text_of(msg.get("content")) or "tool failed"}))
        else:
            output = {k: v for k, v in msg.items() if v is not None and v != {} and v != []}
            out.append(("tools", tool_ns, {"event": "tool-finished", "tool_call_id": call_id, "output": output}))
        return out
