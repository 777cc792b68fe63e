"""Graph output -> A2A, as langgraph-api 0.16.7 maps it (used by
:mod:`evergraph.adapter.resources.a2a`): a run's reply as the ``Assistant Response``
artifact, its interrupts as the ``Interrupt`` artifact, a thread's messages as a
task's ``history``, ``messages`` stream events as ``working`` status updates.

- Only public prose becomes text: human and AI messages (by ``type`` or ``role``);
  system messages and tool output never do. A tool result correlated by
  ``tool_call_id`` is published as a data part ``{"tool_results": [{"toolCallId",
  "content", "name", "status"}]}`` of an agent message (``A2A_ALLOWED_TOOL_CALL_RESULTS``,
  a comma-separated list of tool names, narrows which).
- Provenance: the first message of a task carries ``additional_kwargs.a2a`` with its
  ``task_start_id`` (a later one: ``task_id``); the messages after it belong to that
  task until the next stamped one (:func:`to_history`).
"""

from __future__ import annotations

import base64
import binascii
import os
import uuid
from dataclasses import dataclass
from typing import Any

from evergraph.adapter.resources.a2a_wire import (
    INVALID_AGENT_RESPONSE,
    A2AError,
    HistoryScope,
    agent_message,
    now,
)

__all__ = [
    "RunMessages",
    "content_parts",
    "current_turn",
    "interrupt_artifact",
    "response_artifact",
    "response_artifact_update",
    "response_parts",
    "role_of",
    "stream_message_update",
    "task_from_result",
    "to_history",
]

_USER_TYPES = {"human", "humanmessage", "humanmessagechunk"}
_AGENT_TYPES = {"ai", "aimessage", "aimessagechunk"}
_ROLE_TYPES = {"chat", "chatmessage", "chatmessagechunk"}
_MEDIA_BLOCKS = {"audio", "file", "image", "video"}


def _label(value: Any) -> str:
    return value.lower().replace("_", "").replace("-", "") if isinstance(value, str) else ""


def role_of(message: dict[str, Any]) -> str | None:
    """``ROLE_USER``/``ROLE_AGENT`` of a LangChain message dict, ``None`` for others
    (system, tool, or a type and role that disagree)."""
    kind, role = _label(message.get("type")), _label(message.get("role"))
    by_type = by_role = None
    if kind:
        if kind in _USER_TYPES:
            by_type = "ROLE_USER"
        elif kind in _AGENT_TYPES:
            by_type = "ROLE_AGENT"
        elif kind not in _ROLE_TYPES:
            return None
    if role:
        if role in ("human", "user"):
            by_role = "ROLE_USER"
        elif role in ("agent", "assistant"):
            by_role = "ROLE_AGENT"
        else:
            return None
    if by_type and by_role and by_type != by_role:
        return None
    return by_type or by_role


def _invalid(message: str) -> A2AError:
    return A2AError(INVALID_AGENT_RESPONSE, message)


def _file_part(block: dict[str, Any]) -> dict[str, Any]:
    """An A2A file part of a LangChain media block (``base64``/``data``/``url``).

    Raises:
        A2AError: -32006 when the block has no usable source, bad base64, or a
            ``mime_type``/filename that is not a string.
    """
    source = next((key for key in ("base64", "data", "url") if block.get(key) is not None), None)
    if source is None:
        raise _invalid("Media content blocks must contain 'base64', 'data', or 'url'.")
    value = block[source]
    file: dict[str, Any] = {}
    if source == "url":
        if not isinstance(value, str) or not value:
            raise _invalid("Media content block 'url' must be a non-empty string.")
        file["uri"] = value
    else:
        if source == "data" and isinstance(value, (bytes, bytearray)):
            value = base64.b64encode(value).decode("ascii")
        if not isinstance(value, str):
            raise _invalid(f"Media content block '{source}' must be base64-encoded text or bytes.")
        compact = "".join(value.split())
        try:
            decoded = base64.b64decode(compact + "=" * (-len(compact) % 4), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _invalid(f"Media content block '{source}' must contain valid base64 data.") from exc
        file["bytes"] = base64.b64encode(decoded).decode("ascii")
    mime = block.get("mime_type")
    if mime is not None:
        if not isinstance(mime, str):
            raise _invalid("Media content block 'mime_type' must be a string.")
        if mime:
            file["mimeType"] = mime
    name = block.get("filename")
    if name is None and isinstance(block.get("extras"), dict):
        name = block["extras"].get("filename")
    if name is not None:
        if not isinstance(name, str):
            raise _invalid("Media content block filename must be a string.")
        if name:
            file["name"] = name
    return {"kind": "file", "file": file}


def content_parts(content: Any) -> list[dict[str, Any]]:
    """A2A parts of a message's content: runs of text joined into text parts, media
    blocks as file parts (other blocks left out).

    Raises:
        A2AError: -32006 for a media block that cannot be a file part.
    """
    if isinstance(content, str):
        return [{"kind": "text", "text": content}]
    if content is None:
        return []
    if not isinstance(content, list):
        return [{"kind": "text", "text": str(content)}]
    parts: list[dict[str, Any]] = []
    texts: list[str] = []
    for block in content:
        if isinstance(block, str):
            texts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            if isinstance(block.get("text"), str):
                texts.append(block["text"])
        elif isinstance(block, dict) and block.get("type") in _MEDIA_BLOCKS:
            if texts:
                parts.append({"kind": "text", "text": "".join(texts)})
                texts = []
            parts.append(_file_part(block))
    if texts:
        parts.append({"kind": "text", "text": "".join(texts)})
    return parts


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            b if isinstance(b, str) else b["text"]
            for b in content
            if isinstance(b, str) or (isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str))
        )
    return "" if content is None else str(content)


def _has_content(parts: list[dict[str, Any]]) -> bool:
    return any(p.get("kind") in ("data", "file") or (p.get("kind") == "text" and p.get("text")) for p in parts)


def _allowed_tools() -> set[str] | None:
    raw = os.environ.get("A2A_ALLOWED_TOOL_CALL_RESULTS")
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def _tool_result(message: dict[str, Any]) -> dict[str, Any] | None:
    """``{"toolCallId", "content", "name", "status"}`` of a tool message correlated by
    ``tool_call_id`` (``None`` for any other message, or a tool not allowed)."""
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        return None
    allowed = _allowed_tools()
    if allowed is not None and message.get("name") not in allowed:
        return None
    result: dict[str, Any] = {"toolCallId": call_id}
    if message.get("content") not in (None, ""):
        result["content"] = message["content"]
    for key in ("name", "status"):
        if isinstance(message.get(key), str) and message[key]:
            result[key] = message[key]
    return result


def _tool_results_part(results: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": "data", "data": {"tool_results": results}}


def current_turn(messages: list[Any]) -> list[Any]:
    """The messages after the last user message (all of them without one)."""
    for index in range(len(messages) - 1, -1, -1):
        if isinstance(messages[index], dict) and role_of(messages[index]) == "ROLE_USER":
            return messages[index + 1 :]
    return messages


def response_parts(result: Any, turn: list[Any] | None = None) -> list[dict[str, Any]]:
    """The parts of a run's reply: the content of the last agent message with content
    in ``turn`` (default: the current turn of ``result["messages"]``); the result as
    text when it has no messages."""
    if not isinstance(result, dict) or "__error__" in result or not isinstance(result.get("messages"), list) or not result["messages"]:
        return [{"kind": "text", "text": str(result)}]
    turn = current_turn(result["messages"]) if turn is None else turn
    for message in reversed(turn):
        if isinstance(message, dict) and role_of(message) == "ROLE_AGENT" and "content" in message:
            parts = content_parts(message["content"])
            if _has_content(parts):
                return parts
    return [{"kind": "text", "text": ""}]


def interrupt_artifact(interrupts: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``Interrupt`` artifact: one data part ``{"id", "value"[, "response_schema"]}``
    per interrupt."""
    parts = []
    for item in interrupts:
        data = {"id": item.get("id"), "value": item.get("value")}
        if item.get("response_schema") is not None:
            data["response_schema"] = item["response_schema"]
        parts.append({"kind": "data", "data": data})
    return {
        "artifactId": str(uuid.uuid4()),
        "name": "Interrupt",
        "description": "Agent requires input to continue",
        "parts": parts,
    }


def response_artifact(parts: list[dict[str, Any]], assistant_id: str) -> dict[str, Any]:
    """The ``Assistant Response`` artifact carrying a reply's parts."""
    return {
        "artifactId": str(uuid.uuid4()),
        "name": "Assistant Response",
        "description": f"Response from assistant {assistant_id}",
        "parts": parts,
    }


def response_artifact_update(parts: list[dict[str, Any]], *, task_id: str, context_id: str, assistant_id: str) -> dict[str, Any]:
    """The ``artifact-update`` a stream ends a completed task with: the whole reply,
    ``append`` false and ``lastChunk`` true."""
    return {
        "taskId": task_id,
        "contextId": context_id,
        "kind": "artifact-update",
        "artifact": response_artifact(parts, assistant_id),
        "append": False,
        "lastChunk": True,
    }


def stream_message_update(items: Any, *, task_id: str, context_id: str) -> dict[str, Any] | None:
    """The ``working`` status update of a ``messages`` stream event's items (message
    dicts): their public text as one text part, correlated tool results as a data
    part; ``None`` when there is neither."""
    if not isinstance(items, list) or not items:
        return None
    texts: list[str] = []
    tools: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if role_of(item) is None:
            if (tool := _tool_result(item)) is not None:
                tools.append(tool)
            continue
        if text := _content_text(item.get("content")):
            texts.append(text)
    parts = ([{"kind": "text", "text": "".join(texts)}] if texts else []) + ([_tool_results_part(tools)] if tools else [])
    if not parts:
        return None
    return {
        "taskId": task_id,
        "contextId": context_id,
        "kind": "status-update",
        "status": {"state": "TASK_STATE_WORKING", "message": agent_message(parts, task_id, context_id), "timestamp": now()},
        "final": False,
    }


@dataclass(frozen=True)
class RunMessages:
    """A run's messages and where the ones it added begin.

    Attributes:
        messages: the thread's messages as the run left them.
        added_from: index of the first message the run added (``None``: unknown).
    """

    messages: list[Any]
    added_from: int | None

    @classmethod
    def between(cls, before: list[Any], messages: list[Any]) -> RunMessages:
        """``messages`` after a run that started from ``before``: the added ones follow
        ``before`` when it is their prefix, else the last message whose id ``before``
        knows (unknown when ``before``'s ids are missing or repeated)."""
        if messages[: len(before)] == before:
            return cls(messages, len(before))
        ids = {m.get("id") for m in before if isinstance(m, dict)}
        if len(ids) != len(before) or None in ids:
            return cls(messages, None)
        last = max((i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("id") in ids), default=-1)
        return cls(messages, last + 1)

    @property
    def added(self) -> list[Any] | None:
        """The messages the run added (``None``: unknown)."""
        return None if self.added_from is None else self.messages[self.added_from :]

    def stamped(self, task_id: str) -> list[Any]:
        """The messages, the first added one stamped with ``task_id`` when it carries
        no provenance yet (a data-only message's reply)."""
        if self.added_from is None or self.added_from >= len(self.messages):
            return self.messages
        first = self.messages[self.added_from]
        if not isinstance(first, dict):
            return self.messages
        kwargs = dict(first["additional_kwargs"]) if isinstance(first.get("additional_kwargs"), dict) else {}
        stored = dict(kwargs["a2a"]) if isinstance(kwargs.get("a2a"), dict) else {}
        if stored.get("task_id") or stored.get("task_start_id"):
            return self.messages
        messages = list(self.messages)
        messages[self.added_from] = {**first, "additional_kwargs": {**kwargs, "a2a": {**stored, "task_id": task_id}}}
        return messages


def to_history(
    messages: list[Any],
    task_id: str,
    context_id: str,
    *,
    history_length: int | None = None,
    scope: HistoryScope = "context",
    task_ids_by_start_id: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The thread's messages as A2A messages of ``task_id``'s history.

    A stamped message opens its task's segment (by ``task_id``, or ``task_start_id``
    through ``task_ids_by_start_id``; a stamp of a task not known there is dropped).
    In ``context`` scope, messages before any stamp count as ``task_id``'s; in
    ``task`` scope only ``task_id``'s own messages are kept. Human and AI messages
    become text/file parts (an AI message without content is left out), correlated
    tool results data-only agent messages. The last ``history_length`` are kept
    (all when ``None``).

    Raises:
        A2AError: -32006 for a media block that cannot be a file part.
    """
    current: str | None = None if scope == "task" else task_id
    known = set(task_ids_by_start_id.values()) if task_ids_by_start_id is not None else None
    out: list[dict[str, Any]] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        kwargs = message.get("additional_kwargs")
        stamp = kwargs.get("a2a") if isinstance(kwargs, dict) else None
        stamp = stamp if isinstance(stamp, dict) else {}
        stored_task, stored_start = stamp.get("task_id"), stamp.get("task_start_id")
        if isinstance(stored_task, str) and stored_task:
            current = stored_task if known is None or stored_task == task_id or stored_task in known else None
        elif isinstance(stored_start, str) and stored_start:
            if task_ids_by_start_id is not None:
                current = task_ids_by_start_id.get(stored_start)
            elif scope == "task":
                current = None
        if current is None:
            continue
        role = role_of(message)
        if role is None:
            tool = _tool_result(message)
            if tool is None:
                continue
            role, parts = "ROLE_AGENT", [_tool_results_part([tool])]
        else:
            parts = content_parts(message.get("content", ""))
            if role == "ROLE_AGENT" and not _has_content(parts):
                continue
            parts = parts or [{"kind": "text", "text": ""}]
        out.append(
            {
                "kind": "message",
                "role": role,
                "parts": parts,
                "messageId": message.get("id") or str(uuid.uuid4()),
                "taskId": current,
                "contextId": context_id,
            }
        )
    if scope == "task":
        out = [m for m in out if m["taskId"] == task_id]
    if history_length is None:
        return out
    return out[-history_length:] if history_length else []


def task_from_result(
    result: Any,
    *,
    task_id: str,
    context_id: str,
    assistant_id: str,
    history_length: int | None = None,
    scope: HistoryScope = "context",
    task_ids_by_start_id: dict[str, str] | None = None,
    turn: list[Any] | None = None,
) -> dict[str, Any]:
    """The ``{"task": Task}`` a ``message/send`` answers with, from the run's join
    body ``result``: ``failed`` with the error (``__error__``), ``input-required``
    with an ``Interrupt`` artifact (``__interrupt__``), else ``completed`` with an
    ``Assistant Response`` artifact (the reply in ``turn``, when given).

    Raises:
        A2AError: -32006 for a reply that cannot be put into parts.
    """
    result = result if isinstance(result, dict) else {"value": result}
    history = to_history(
        result.get("messages") or [], task_id, context_id,
        history_length=history_length, scope=scope, task_ids_by_start_id=task_ids_by_start_id,
    )
    task: dict[str, Any] = {"kind": "task", "id": task_id, "contextId": context_id}
    if history_length != 0:
        task["history"] = history
    if "__error__" in result:
        error = result["__error__"]
        text = error.get("error") if isinstance(error, dict) else error
        task["status"] = {
            "state": "TASK_STATE_FAILED",
            "message": agent_message([{"kind": "text", "text": f"Error executing assistant: {text}"}], task_id, context_id),
        }
    elif "__interrupt__" in result:
        task["status"] = {"state": "TASK_STATE_INPUT_REQUIRED", "timestamp": now()}
        task["artifacts"] = [interrupt_artifact(result["__interrupt__"])]
    else:
        task["status"] = {"state": "TASK_STATE_COMPLETED", "timestamp": now()}
        task["artifacts"] = [response_artifact(response_parts(result, turn), assistant_id)]
    return {"task": task}
