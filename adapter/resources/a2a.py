"""A2A (Agent2Agent) on Evergraph's runs: the mapping between A2A messages, tasks
and agent cards and Evergraph's assistants, threads and runs, as langgraph-api
0.16.7 maps them (``/a2a/{assistant_id}``, served by :mod:`evergraph.api.routes.a2a`).

- A task's ``contextId`` is a thread id; a task id is ``"<thread id>:<run id>"`` of
  the run that started it; a later message to the task (resuming an ``interrupt()``)
  starts another run whose metadata records ``{"a2a": {"task_id": ...}}``.
- A message's text parts become one ``{"role": "human", "content": ...}`` message
  each under the graph's ``messages`` key; data parts become top-level input keys.
- Task states: run ``pending`` -> ``submitted``, ``running`` -> ``working``,
  ``success`` -> ``completed`` (``input-required`` when the thread is interrupted),
  ``interrupted`` (cancelled) -> ``canceled``, ``error``/``timeout`` -> ``failed``.

States and roles are kept in A2A 1.0's enum names (``TASK_STATE_WORKING``,
``ROLE_AGENT``); :func:`legacy_shape` turns a response into the 0.x spelling that
the slash-named methods (``message/send`` ...) answer with.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from evergraph.adapter.resources.auth import visible
from evergraph.adapter.resources.runs import find_run
from evergraph.adapter.resources.threads import search_threads
from evergraph.adapter.services import Services

__all__ = [
    "CONTENT_TYPE_NOT_SUPPORTED",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "TASK_NOT_CANCELABLE",
    "TASK_NOT_FOUND",
    "TERMINAL_STATES",
    "UNSUPPORTED_OPERATION",
    "A2ATask",
    "PartsError",
    "agent_card",
    "agent_message",
    "content_parts",
    "interrupt_artifact",
    "legacy_shape",
    "list_tasks",
    "make_task_id",
    "message_input",
    "now",
    "parse_task_id",
    "resolve_task",
    "response_artifact",
    "response_parts",
    "resume_of_parts",
    "role_of",
    "stream_message_update",
    "supports_messages",
    "task_from_result",
    "task_ids_by_start_id",
    "task_state",
    "text_of_parts",
    "to_history",
]

# JSON-RPC 2.0 error codes, and A2A's own (server range), as langgraph-api 0.16.7 uses them
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
TASK_NOT_FOUND = -32001
TASK_NOT_CANCELABLE = -32002
UNSUPPORTED_OPERATION = -32004
CONTENT_TYPE_NOT_SUPPORTED = -32005

TERMINAL_STATES = frozenset({"TASK_STATE_COMPLETED", "TASK_STATE_FAILED", "TASK_STATE_CANCELED", "TASK_STATE_REJECTED"})

_ROLES_LEGACY = {"ROLE_USER": "user", "ROLE_AGENT": "agent"}
_STATES_LEGACY = {
    "TASK_STATE_SUBMITTED": "submitted",
    "TASK_STATE_WORKING": "working",
    "TASK_STATE_COMPLETED": "completed",
    "TASK_STATE_FAILED": "failed",
    "TASK_STATE_CANCELED": "canceled",
    "TASK_STATE_INPUT_REQUIRED": "input-required",
    "TASK_STATE_REJECTED": "rejected",
    "TASK_STATE_AUTH_REQUIRED": "auth-required",
}
_RUN_STATES = {
    "pending": "TASK_STATE_SUBMITTED",
    "running": "TASK_STATE_WORKING",
    "success": "TASK_STATE_COMPLETED",
    "interrupted": "TASK_STATE_CANCELED",
    "error": "TASK_STATE_FAILED",
    "timeout": "TASK_STATE_FAILED",
}
_DEFAULT_MODES = ("application/json", "text/plain")
HISTORY_SCOPE_URI = "https://langchain.com/a2a/extensions/history-scope/v1"
_RUN_SCAN_LIMIT = 1000

_USER_TYPES = {"human", "humanmessage", "humanmessagechunk"}
_AGENT_TYPES = {"ai", "aimessage", "aimessagechunk"}
_ROLE_TYPES = {"chat", "chatmessage", "chatmessagechunk"}


class PartsError(ValueError):
    """A message's parts cannot be turned into graph input (A2A -32005)."""


def now() -> str:
    """The current UTC time, ISO 8601."""
    return datetime.now(UTC).isoformat()


def legacy_shape(data: Any) -> Any:
    """``data`` in A2A 0.x spelling: roles ``user``/``agent``, states ``working`` ...,
    and ``{"result": {"task": T}}`` unwrapped to ``{"result": T}``."""
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key == "role" and isinstance(value, str):
                out[key] = _ROLES_LEGACY.get(value, value)
            elif key == "state" and isinstance(value, str):
                out[key] = _STATES_LEGACY.get(value, value)
            elif key == "result" and isinstance(value, dict) and list(value) == ["task"]:
                out[key] = legacy_shape(value["task"])
            else:
                out[key] = legacy_shape(value)
        return out
    if isinstance(data, list):
        return [legacy_shape(item) for item in data]
    return data


def make_task_id(context_id: str, run_id: str) -> str:
    """The task id of the run ``run_id`` that started a task on thread ``context_id``."""
    return f"{context_id}:{run_id}"


def parse_task_id(task_id: str) -> tuple[str, str]:
    """``(context id, run id)`` of a task id; the context id is ``""`` for a bare run id."""
    if ":" in task_id:
        context_id, run_id = task_id.split(":", 1)
        return context_id, run_id
    return "", task_id


def _a2a_meta(run: dict[str, Any]) -> dict[str, Any]:
    meta = (run.get("metadata") or {}).get("a2a")
    return meta if isinstance(meta, dict) else {}


def _stamp(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value or "")


@dataclass(frozen=True)
class A2ATask:
    """A task found by :func:`resolve_task`.

    Attributes:
        task_id: the task id as asked for.
        context_id: its thread id.
        run: the record of the task's latest run.
        state: the A2A task state (``TASK_STATE_*``).
        timestamp: ISO time of the latest run's last change.
        task_ids_by_start_id: task ids of the context, by the ``task_start_id`` their
            first message carries (for provenance in :func:`to_history`).
    """

    task_id: str
    context_id: str
    run: dict[str, Any]
    state: str
    timestamp: str
    task_ids_by_start_id: dict[str, str] = field(default_factory=dict)


def task_state(run: dict[str, Any], thread: dict[str, Any] | None) -> str:
    """The A2A state of a task whose latest run is ``run``; ``thread`` is given when
    that run is the thread's latest (an interrupted thread: ``input-required``)."""
    state = _RUN_STATES.get(run.get("status", ""), "TASK_STATE_SUBMITTED")
    if run.get("status") == "success" and thread is not None and thread.get("status") == "interrupted":
        return "TASK_STATE_INPUT_REQUIRED"
    return state


def task_ids_by_start_id(runs: list[dict[str, Any]], context_id: str, assistant_id: str) -> dict[str, str]:
    """``task_start_id`` -> task id for the runs of ``assistant_id`` on a thread."""
    out: dict[str, str] = {}
    for run in runs:
        if str(run.get("assistant_id")) != assistant_id:
            continue
        start = _a2a_meta(run).get("task_start_id")
        if isinstance(start, str) and start:
            out[start] = _a2a_meta(run).get("task_id") or make_task_id(context_id, str(run["run_id"]))
    return out


async def resolve_task(
    services: Services, *, task_id: str, context_id: str | None, assistant_id: str, flt: Any = None
) -> A2ATask | None:
    """The task ``task_id`` of assistant ``assistant_id``, or ``None`` when there is
    none (unknown ids, another assistant's run, a context that does not match, a
    thread hidden by the auth filter ``flt``)."""
    parsed_context, anchor_id = parse_task_id(task_id)
    if parsed_context and context_id and parsed_context != context_id:
        return None
    context = context_id or parsed_context
    try:
        uuid.UUID(context)
        uuid.UUID(anchor_id)
    except ValueError:
        return None
    context, anchor_id = str(uuid.UUID(context)), str(uuid.UUID(anchor_id))
    anchor = await find_run(services, context, anchor_id, flt)
    if anchor is None or str(anchor.get("assistant_id")) != assistant_id:
        return None
    stored = _a2a_meta(anchor).get("task_id")
    if isinstance(stored, str) and stored and stored != task_id:
        return None
    thread = await services.records.get_thread(context)
    runs = await services.records.list_runs(context, limit=_RUN_SCAN_LIMIT, offset=0, status=None)
    newest = max(runs, key=lambda r: (_stamp(r.get("created_at")), str(r["run_id"])), default=None)
    latest, is_newest = anchor, newest is not None and newest["run_id"] == anchor["run_id"]
    mine = sorted(
        (r for r in runs if str(r.get("assistant_id")) == assistant_id),
        key=lambda r: (_stamp(r.get("created_at")), str(r["run_id"])),
        reverse=True,
    )
    for run in mine:
        if run["run_id"] == anchor_id or _a2a_meta(run).get("task_id") == task_id:
            latest, is_newest = run, newest is not None and run["run_id"] == newest["run_id"]
            break
    return A2ATask(
        task_id=task_id,
        context_id=context,
        run=latest,
        state=task_state(latest, thread if is_newest else None),
        timestamp=_stamp(latest.get("updated_at") or latest.get("created_at")) or now(),
        task_ids_by_start_id=task_ids_by_start_id(runs, context, assistant_id),
    )


async def list_tasks(
    services: Services, *, assistant_id: str, context_id: str | None, flt: Any = None
) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, str]]]:
    """Every task of ``assistant_id`` (one per task id, its latest run), on thread
    ``context_id`` or on the 1000 most recently updated threads ``flt`` lets the
    caller see, newest first.

    Returns:
        ``(task, run, task ids by start id)`` per task; ``task`` is ``{"kind": "task",
        "id", "contextId", "status": {"state", "timestamp"}}``.
    """
    if context_id is not None:
        try:
            context_id = str(uuid.UUID(context_id))
        except ValueError:
            return []
        found = await services.records.get_thread(context_id)
        threads = [found] if found is not None and visible(found, flt) else []
    else:
        threads = sorted(await search_threads(services, flt=flt), key=lambda t: _stamp(t.get("updated_at")), reverse=True)
        threads = threads[:_RUN_SCAN_LIMIT]
    out = []
    seen: set[str] = set()
    for thread in threads:
        tid = str(thread["thread_id"])
        runs = await services.records.list_runs(tid, limit=_RUN_SCAN_LIMIT, offset=0, status=None)
        newest = max(runs, key=lambda r: (_stamp(r.get("created_at")), str(r["run_id"])), default=None)
        starts = task_ids_by_start_id(runs, tid, assistant_id)
        mine = sorted(
            (r for r in runs if str(r.get("assistant_id")) == assistant_id),
            key=lambda r: (_stamp(r.get("created_at")), str(r["run_id"])),
            reverse=True,
        )
        for run in mine:
            task_id = _a2a_meta(run).get("task_id") or make_task_id(tid, str(run["run_id"]))
            if task_id in seen:
                continue
            seen.add(task_id)
            state = task_state(run, thread if newest is not None and run["run_id"] == newest["run_id"] else None)
            stamp = _stamp(run.get("updated_at") or run.get("created_at")) or now()
            task = {"kind": "task", "id": task_id, "contextId": tid, "status": {"state": state, "timestamp": stamp}}
            out.append((task, run, starts))
    out.sort(key=lambda item: item[0]["status"]["timestamp"], reverse=True)
    return out


# ------------------------------------------------------------------ A2A -> graph input


def supports_messages(schemas: dict[str, Any], parts: list[Any]) -> None:
    """Check that a graph takes ``messages`` when ``parts`` has text or file parts.

    Raises:
        ValueError: the graph's input schema has no ``messages`` (message names the
            fields it has).
    """
    if not any(isinstance(p, dict) and ("text" in p or "file" in p) for p in parts):
        return
    schema = schemas.get("input_schema") or schemas.get("state_schema")
    graph_id = schemas.get("graph_id")
    if not schema:
        raise ValueError(
            f"Graph '{graph_id}' has no input schema: A2A text or file parts need an input schema with a 'messages' field."
        )
    properties = schema.get("properties") or {}
    if "messages" not in properties:
        raise ValueError(
            f"Graph '{graph_id}' does not support A2A conversational messages: its input schema must include a "
            f"'messages' field to accept text or file parts. Available input fields: {list(properties)}"
        )


def _file_block(part: dict[str, Any]) -> dict[str, Any]:
    file = part.get("file")
    if not isinstance(file, dict):
        raise PartsError("FilePart must contain a 'file' object with 'bytes' or 'uri'.")
    data, uri = file.get("bytes"), file.get("uri")
    if (data is None) == (uri is None):
        raise PartsError("FilePart 'file' must contain exactly one of 'bytes' or 'uri'.")
    mime = file.get("mimeType")
    top = mime.split("/", 1)[0].strip().lower() if isinstance(mime, str) else ""
    block: dict[str, Any] = {"type": top if top in ("image", "audio", "video") else "file"}
    block["base64" if data is not None else "url"] = data if data is not None else uri
    if mime:
        block["mime_type"] = mime
    if file.get("name"):
        block["extras"] = {"filename": file["name"]}
    return block


def message_input(
    parts: list[Any], role: str, message_id: str, *, task_id: str | None = None, task_start_id: str | None = None
) -> dict[str, Any]:
    """The graph input of an A2A message: text parts as messages under ``messages``
    (one message of content blocks when a file part is present), data parts' objects
    merged in as top-level keys. The messages carry ``additional_kwargs.a2a`` with
    ``task_id`` / ``task_start_id`` (provenance for :func:`to_history`).

    Args:
        parts: the message's parts (``{"text"}``, ``{"file"}``, ``{"data"}``).
        role: ``ROLE_USER``/``user`` or ``ROLE_AGENT``/``agent``.

    Raises:
        PartsError: a part is not an object, has several kinds, an unknown kind, a
            data part that is not an object, or no usable part at all.
    """
    graph_role = "human" if role in ("ROLE_USER", "user") else "assistant"
    with_blocks = any(isinstance(p, dict) and "file" in p for p in parts)
    messages: list[dict[str, Any]] = []
    blocks: list[dict[str, Any]] = []
    data: dict[str, Any] = {}
    for part in parts:
        if not isinstance(part, dict):
            raise PartsError("Each message part must be an object. A2A agents support 'text', 'data', and 'file' parts only.")
        kinds = [k for k in ("text", "file", "data") if k in part]
        if len(kinds) > 1:
            raise PartsError(f"Each message part must contain exactly one of 'text', 'file', or 'data'. Got multiple: {kinds}.")
        if "text" in part:
            if with_blocks:
                blocks.append({"type": "text", "text": part["text"]})
            else:
                messages.append({"role": graph_role, "content": part["text"], "id": message_id})
        elif "file" in part:
            blocks.append(_file_block(part))
        elif "data" in part:
            if not isinstance(part["data"], dict):
                raise PartsError("DataPart must contain a JSON object in the 'data' field")
            data.update(part["data"])
        else:
            raise PartsError("Unsupported part type. A2A agents support 'text', 'data', and 'file' parts only.")
    if with_blocks:
        messages.append({"role": graph_role, "content": blocks, "id": message_id})
    if task_id or task_start_id:
        stamp = {**({"task_id": task_id} if task_id else {}), **({"task_start_id": task_start_id} if task_start_id else {})}
        for message in messages:
            message["additional_kwargs"] = {"a2a": stamp}
    if not messages and not data:
        raise PartsError("Message must contain at least one valid text, data, or file part")
    return {**({"messages": messages} if messages else {}), **data}


def text_of_parts(parts: list[Any]) -> str | None:
    """The text parts of a message joined by newlines (``None`` without any)."""
    texts = [p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)]
    return "\n".join(texts) if texts else None


def resume_of_parts(parts: list[Any]) -> tuple[bool, Any]:
    """``(found, value)`` of a ``{"data": {"resume": value}}`` part.

    Raises:
        ValueError: more than one such part.
    """
    values = [p["data"]["resume"] for p in parts if isinstance(p, dict) and isinstance(p.get("data"), dict) and "resume" in p["data"]]
    if len(values) > 1:
        raise ValueError("Only one resume value is allowed in data parts")
    return (True, values[0]) if values else (False, None)


# ------------------------------------------------------------------ graph output -> A2A


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


def content_parts(content: Any) -> list[dict[str, Any]]:
    """A2A parts of a message's content: its text joined into text parts, media
    blocks as file parts."""
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
        elif isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif isinstance(block, dict) and block.get("type") in ("audio", "file", "image", "video"):
            if texts:
                parts.append({"kind": "text", "text": "".join(texts)})
                texts = []
            file: dict[str, Any] = {}
            if block.get("url"):
                file["uri"] = block["url"]
            elif block.get("base64") or block.get("data"):
                file["bytes"] = block.get("base64") or block.get("data")
            if block.get("mime_type"):
                file["mimeType"] = block["mime_type"]
            parts.append({"kind": "file", "file": file})
    if texts:
        parts.append({"kind": "text", "text": "".join(texts)})
    return parts


def _has_content(parts: list[dict[str, Any]]) -> bool:
    return any(p.get("kind") in ("data", "file") or (p.get("kind") == "text" and p.get("text")) for p in parts)


def response_parts(result: Any) -> list[dict[str, Any]]:
    """The parts of a run's reply: the content of the last agent message after the
    last user message of ``result["messages"]``; the result as text when it has no
    messages."""
    if not isinstance(result, dict) or "__error__" in result or not isinstance(result.get("messages"), list) or not result["messages"]:
        return [{"kind": "text", "text": str(result)}]
    messages = result["messages"]
    turn = messages
    for index in range(len(messages) - 1, -1, -1):
        if isinstance(messages[index], dict) and role_of(messages[index]) == "ROLE_USER":
            turn = messages[index + 1 :]
            break
    for message in reversed(turn):
        if isinstance(message, dict) and role_of(message) == "ROLE_AGENT" and "content" in message:
            parts = content_parts(message["content"])
            if _has_content(parts):
                return parts
    return [{"kind": "text", "text": ""}]


def interrupt_artifact(interrupts: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``Interrupt`` artifact: one data part ``{"id", "value"}`` per interrupt."""
    return {
        "artifactId": str(uuid.uuid4()),
        "name": "Interrupt",
        "description": "Agent requires input to continue",
        "parts": [{"kind": "data", "data": {"id": i.get("id"), "value": i.get("value")}} for i in interrupts],
    }


def response_artifact(parts: list[dict[str, Any]], assistant_id: str) -> dict[str, Any]:
    """The ``Assistant Response`` artifact carrying a reply's parts."""
    return {
        "artifactId": str(uuid.uuid4()),
        "name": "Assistant Response",
        "description": f"Response from assistant {assistant_id}",
        "parts": parts,
    }


def to_history(
    messages: list[Any],
    task_id: str,
    context_id: str,
    *,
    history_length: int | None = None,
    task_ids_by_start_id: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The thread's user and agent messages as A2A messages (system and tool messages
    left out), each with the task it belongs to: a message stamped by
    :func:`message_input` opens that task's segment; earlier ones count as
    ``task_id``'s. The last ``history_length`` are kept (all when ``None``)."""
    current: str | None = task_id
    out: list[dict[str, Any]] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        stamp = (message.get("additional_kwargs") or {}).get("a2a")
        if isinstance(stamp, dict):
            if stamp.get("task_id"):
                current = stamp["task_id"]
            elif stamp.get("task_start_id") and task_ids_by_start_id is not None:
                current = task_ids_by_start_id.get(stamp["task_start_id"], current)
        role = role_of(message)
        if role is None or current is None:
            continue
        parts = content_parts(message.get("content", ""))
        if role == "ROLE_AGENT" and not _has_content(parts):
            continue
        out.append(
            {
                "kind": "message",
                "role": role,
                "parts": parts or [{"kind": "text", "text": ""}],
                "messageId": message.get("id") or str(uuid.uuid4()),
                "taskId": current,
                "contextId": context_id,
            }
        )
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
    task_ids_by_start_id: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The ``{"task": Task}`` a ``message/send`` answers with, from the run's join
    body ``result``: ``failed`` with the error (``__error__``), ``input-required``
    with an ``Interrupt`` artifact (``__interrupt__``), else ``completed`` with an
    ``Assistant Response`` artifact."""
    result = result if isinstance(result, dict) else {"value": result}
    task: dict[str, Any] = {"kind": "task", "id": task_id, "contextId": context_id}
    if history_length != 0:
        task["history"] = to_history(
            result.get("messages") or [], task_id, context_id,
            history_length=history_length, task_ids_by_start_id=task_ids_by_start_id,
        )
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
        task["artifacts"] = [response_artifact(response_parts(result), assistant_id)]
    return {"task": task}


def agent_message(parts: list[dict[str, Any]], task_id: str, context_id: str | None = None) -> dict[str, Any]:
    """An agent message of ``parts`` in task ``task_id``."""
    message = {"kind": "message", "role": "ROLE_AGENT", "parts": parts, "messageId": str(uuid.uuid4()), "taskId": task_id}
    if context_id is not None:
        message["contextId"] = context_id
    return message


def stream_message_update(items: Any, *, task_id: str, context_id: str) -> dict[str, Any] | None:
    """The ``working`` status update carrying the text of a ``messages`` stream
    event's items (a message chunk and its metadata), or ``None`` when they hold
    no user or agent text."""
    if not isinstance(items, list):
        return None
    texts = []
    for item in items:
        if isinstance(item, dict) and role_of(item) is not None:
            text = "".join(p.get("text", "") for p in content_parts(item.get("content")) if p.get("kind") == "text")
            if text:
                texts.append(text)
    if not texts:
        return None
    return {
        "taskId": task_id,
        "contextId": context_id,
        "kind": "status-update",
        "status": {
            "state": "TASK_STATE_WORKING",
            "message": agent_message([{"kind": "text", "text": "".join(texts)}], task_id, context_id),
            "timestamp": now(),
        },
        "final": False,
    }


# ------------------------------------------------------------------ agent card


def _modes(assistant: dict[str, Any]) -> tuple[list[str], list[str]]:
    meta = (assistant.get("metadata") or {}).get("a2a")
    if meta is None:
        return list(_DEFAULT_MODES), list(_DEFAULT_MODES)
    if not isinstance(meta, dict):
        raise ValueError("Assistant metadata.a2a must be an object.")
    out = []
    for name in ("input_modes", "output_modes"):
        value = meta.get(name)
        if value is None:
            out.append(list(_DEFAULT_MODES))
            continue
        if not isinstance(value, list) or not value or not all(isinstance(m, str) and m.strip() for m in value):
            raise ValueError(f"Assistant metadata.a2a.{name} must be a non-empty array of strings.")
        out.append([m.strip() for m in value])
    return out[0], out[1]


def agent_card(assistant: dict[str, Any], schemas: dict[str, Any], base_url: str, version: str) -> dict[str, Any]:
    """The A2A agent card of ``assistant``: one skill (the assistant), JSON-RPC at
    ``<base_url>/a2a/<assistant id>``, streaming on, no push notifications.

    Args:
        schemas: the assistant's ``/schemas`` body.
        base_url: the server's public URL, no trailing slash.
        version: the version the card reports.

    Raises:
        ValueError: the assistant's ``metadata.a2a`` modes are malformed.
    """
    assistant_id = str(assistant["assistant_id"])
    schema = schemas.get("input_schema") or schemas.get("state_schema") or {}
    properties = schema.get("properties") or {}
    name = assistant["name"]
    description = assistant.get("description") or f"{name} assistant"
    inputs, outputs = _modes(assistant)
    url = f"{base_url}/a2a/{assistant_id}"
    return {
        "name": name,
        "description": description,
        "url": url,
        "supportedInterfaces": [{"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
        "capabilities": {
            "streaming": True,
            "pushNotifications": False,
            "stateTransitionHistory": False,
            "extensions": [
                {
                    "uri": HISTORY_SCOPE_URI,
                    "description": "Choose task-only or full-context response history",
                    "required": False,
                    "params": {
                        "header": "LangGraph-A2A-History-Scope",
                        "values": ["context", "task"],
                        "default": "context",
                        "methods": ["SendMessage", "GetTask", "ListTasks"],
                    },
                }
            ],
        },
        "defaultInputModes": inputs,
        "defaultOutputModes": outputs,
        "skills": [
            {
                "id": f"{assistant_id}-main",
                "name": f"{name} Capabilities",
                "description": description,
                "tags": ["assistant", "langgraph"],
                "examples": [],
                "inputModes": inputs,
                "outputModes": outputs,
                "metadata": {
                    "inputSchema": {
                        "required": schema.get("required", []),
                        "properties": sorted(properties),
                        "supportsA2A": "messages" in properties,
                    }
                },
            }
        ],
        "version": version,
    }
