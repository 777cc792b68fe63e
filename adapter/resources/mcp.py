"""What ``/mcp`` (the Model Context Protocol endpoint, ``api/routes/mcp.py``) makes of
assistants, runs and interrupts; no HTTP and no MCP types here, only plain values.

* Each assistant is one tool. Its name is the assistant's name made a valid MCP tool
  name (:func:`tool_name`, the rule langgraph-api 0.16.7 applies: runs of whitespace
  become ``_``, characters outside ``[A-Za-z0-9_.-]`` are dropped, at most 128 of
  them); its title the assistant's name; its description the assistant's, or
  ``"Tool based on the <name> assistant"``; its input schema the graph's input schema,
  with lists of LangChain messages turned into one string (:func:`simplify_schema`).
  Of assistants whose names give the same tool name, the first listed wins.
* ``tools/list`` pages through the assistants by offset: the cursor is the offset of
  the next page, as a decimal string (:func:`page_offset`).
* A call runs the assistant on a new thread and waits for the end of the run. A graph
  that stopped on ``interrupt()`` comes back paused (:func:`paused`): one elicitation
  per interrupt and an opaque ``request_state`` (:class:`PausedCall`) that a later
  call of the same tool hands back with the answers (:func:`resume_command`) to
  resume the thread. Nothing of the pause lives in the API process: the thread, its
  checkpoint and its Temporal workflow hold it, so it survives restarts.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from evergraph.adapter.errors import Invalid

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_TOOL_NAME",
    "SEARCH_LIMIT",
    "PausedCall",
    "call_result",
    "decode_state",
    "encode_state",
    "page_offset",
    "paused",
    "resume_command",
    "simplify_schema",
    "tool_name",
    "tool_of",
]

#: assistants per ``tools/list`` page unless ``EVERGRAPH_MCP_PAGE_SIZE`` says otherwise
DEFAULT_PAGE_SIZE = 100
#: how many assistants a call searches for its tool name (langgraph-api 0.16.7: 1000)
SEARCH_LIMIT = 1000
#: the longest MCP tool name (MCP 2025-11-25)
MAX_TOOL_NAME = 128
#: the key of the one answer field of an interrupt without a usable ``response_schema``
ANSWER_FIELD = "resume"

_WHITESPACE = re.compile(r"\s+")
_NOT_NAME = re.compile(r"[^A-Za-z0-9_.\-]")
#: LangChain message classes whose lists a tool schema presents as one user message
_MESSAGE_DEFS = frozenset(
    f"{kind}{suffix}"
    for kind in ("AI", "Human", "Chat", "System", "Function", "Tool")
    for suffix in ("Message", "MessageChunk")
)
_SUPPORT_DEFS = frozenset(
    {"ToolCall", "ToolCallChunk", "InvalidToolCall", "UsageMetadata", "InputTokenDetails", "OutputTokenDetails"}
)
_STATE_VERSION = 1
#: primitive JSON Schema types an elicitation form may ask for (MCP's restricted schema)
_FORM_TYPES = frozenset({"string", "number", "integer", "boolean"})


def tool_name(assistant_name: str) -> str:
    """The MCP tool name of an assistant called ``assistant_name`` ("" when nothing of
    it is valid: such an assistant is not listed)."""
    return _NOT_NAME.sub("", _WHITESPACE.sub("_", assistant_name.strip()))[:MAX_TOOL_NAME]


def _is_message_list(prop: Any) -> bool:
    if not isinstance(prop, dict) or prop.get("type") != "array" or not isinstance(prop.get("items"), dict):
        return False
    items = prop["items"]
    choices = items.get("oneOf") or items.get("anyOf") or []
    refs = (c.get("$ref", "") for c in choices if isinstance(c, dict))
    return any(ref.startswith("#/$defs/") and ref[len("#/$defs/"):] in _MESSAGE_DEFS for ref in refs)


def simplify_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of a graph's input JSON Schema fit for a tool: when it refers to
    LangChain message classes, their definitions go and each list of messages
    becomes a string (the user message to send); it is always ``type: object``."""
    out = json.loads(json.dumps(schema))  # a deep copy of plain JSON
    defs = out.get("$defs")
    if isinstance(defs, dict) and set(defs) & _MESSAGE_DEFS:
        for name in _MESSAGE_DEFS | _SUPPORT_DEFS:
            defs.pop(name, None)
        if not defs:
            del out["$defs"]
        props = out.get("properties")
        for key, prop in (props.items() if isinstance(props, dict) else ()):
            if _is_message_list(prop):
                props[key] = {
                    "type": "string",
                    "title": prop.get("title", key),
                    "description": "The user message to send to the agent.",
                }
    out.setdefault("type", "object")
    return out


def tool_of(assistant: dict[str, Any], input_schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """The MCP ``Tool`` (wire field names) for ``assistant`` (a record as
    ``/assistants/search`` returns it) whose graph has ``input_schema``; ``None`` when
    the assistant cannot be a tool (no valid name, or no input schema)."""
    name = tool_name(str(assistant.get("name") or ""))
    if not name or input_schema is None:
        return None
    return {
        "name": name,
        "title": assistant["name"],
        "description": assistant.get("description") or f"Tool based on the {assistant['name']} assistant",
        "inputSchema": simplify_schema(input_schema),
        "annotations": {
            "readOnlyHint": False,
            "destructiveHint": False,
            "idempotentHint": False,
            "openWorldHint": True,
        },
    }


def page_offset(cursor: str | None) -> int:
    """The assistant offset a ``tools/list`` cursor stands for (``None``: 0).

    Raises:
        Invalid: the cursor is not one this server handed out (not a decimal number).
    """
    if cursor is None:
        return 0
    if not cursor.isdigit() or len(cursor) > 18:
        raise Invalid(f"cursor: not a cursor of this server: {cursor[:40]!r}")
    return int(cursor)


def call_result(value: Any) -> dict[str, Any]:
    """The ``CallToolResult`` (wire field names) for the final values of a run as
    ``/runs/wait`` gave them: an error (``{"__error__": {"error", "message"}}``) is
    ``isError`` with ``"<error>: <message>"``; else the text is ``repr(value)`` as
    langgraph-api 0.16.7 sends it, and a mapping of values is also the structured
    content."""
    if isinstance(value, dict) and "__error__" in value:
        error = value["__error__"] if isinstance(value["__error__"], dict) else {}
        text = ": ".join(str(p) for p in (error.get("error"), error.get("message")) if p) or "the run failed"
        return {"content": [{"type": "text", "text": text}], "isError": True}
    result: dict[str, Any] = {"content": [{"type": "text", "text": repr(value)}]}
    if isinstance(value, dict):
        result["structuredContent"] = value
    return result


@dataclass(frozen=True)
class PausedCall:
    """What a paused tool call's ``request_state`` carries.

    Attributes:
        tool: the tool name the call was made with.
        assistant_id: the assistant that runs.
        thread_id: the thread waiting on the interrupts.
        interrupt_ids: the ids of the interrupts asked (each is one elicitation, keyed
            by its id).
        answer_fields: per interrupt id, whether its answer is the one field
            ``"resume"`` (``True``) or the whole form (``False``).
    """

    tool: str
    assistant_id: str
    thread_id: str
    interrupt_ids: tuple[str, ...]
    answer_fields: tuple[bool, ...]


def encode_state(call: PausedCall) -> str:
    """``call`` as an opaque ``request_state`` (base64url of JSON). It is not secret and
    not signed: resuming goes through the API as the caller, whose access to the
    thread is checked there, and a thread that is not waiting is refused."""
    raw = {
        "v": _STATE_VERSION,
        "tool": call.tool,
        "assistant_id": call.assistant_id,
        "thread_id": call.thread_id,
        "interrupts": [[i, f] for i, f in zip(call.interrupt_ids, call.answer_fields, strict=True)],
    }
    return base64.urlsafe_b64encode(json.dumps(raw, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_state(state: str, tool: str) -> PausedCall:
    """The :class:`PausedCall` a ``request_state`` of :func:`encode_state` stands for.

    Raises:
        Invalid: not such a state, or one handed out for another tool.
    """
    try:
        raw = json.loads(base64.urlsafe_b64decode(state + "=" * (-len(state) % 4)))
        if raw.get("v") != _STATE_VERSION:
            raise ValueError(raw.get("v"))
        call = PausedCall(
            tool=str(raw["tool"]),
            assistant_id=str(raw["assistant_id"]),
            thread_id=str(raw["thread_id"]),
            interrupt_ids=tuple(str(i) for i, _ in raw["interrupts"]),
            answer_fields=tuple(bool(f) for _, f in raw["interrupts"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, UnicodeDecodeError):
        raise Invalid("requestState: not a request state of this server") from None
    if call.tool != tool:
        raise Invalid(f"requestState: it belongs to a call of tool {call.tool!r}, not {tool!r}")
    return call


def _form_schema(response_schema: Any) -> dict[str, Any] | None:
    """``response_schema`` when an elicitation form can ask for it as it is (an object
    of primitive properties), else ``None``."""
    if not isinstance(response_schema, dict) or response_schema.get("type") != "object":
        return None
    props = response_schema.get("properties")
    if not isinstance(props, dict) or not props:
        return None
    if not all(isinstance(p, dict) and p.get("type") in _FORM_TYPES for p in props.values()):
        return None
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if isinstance(response_schema.get("required"), list):
        schema["required"] = response_schema["required"]
    return schema


def _message(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def paused(tool: str, assistant_id: str, thread_id: str, interrupts: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``InputRequiredResult`` (wire field names) of a call whose run stopped on
    ``interrupts`` (``[{"id", "value", "response_schema"?}]`` as ``__interrupt__``
    lists them): one form elicitation per interrupt, keyed by the interrupt's id, whose
    message is the interrupt's value (JSON unless a string) and whose form is the
    interrupt's ``response_schema`` when it is a flat object, else one string field
    ``resume``; the interrupt itself rides in the elicitation's ``_meta``
    (``langgraph/interrupt``)."""
    requests: dict[str, Any] = {}
    ids: list[str] = []
    fields: list[bool] = []
    for item in interrupts:
        interrupt_id = str(item.get("id"))
        form = _form_schema(item.get("response_schema"))
        one_field = form is None
        if one_field:
            form = {
                "type": "object",
                "properties": {ANSWER_FIELD: {"type": "string", "description": "The answer to the interrupt."}},
                "required": [ANSWER_FIELD],
            }
        requests[interrupt_id] = {
            "method": "elicitation/create",
            "params": {
                "mode": "form",
                "message": _message(item.get("value")),
                "requestedSchema": form,
                "_meta": {"langgraph/interrupt": {"id": interrupt_id, "value": item.get("value")}},
            },
        }
        ids.append(interrupt_id)
        fields.append(one_field)
    state = encode_state(PausedCall(tool, assistant_id, thread_id, tuple(ids), tuple(fields)))
    return {"resultType": "input_required", "inputRequests": requests, "requestState": state}


def resume_command(call: PausedCall, responses: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
    """The ``command`` that resumes ``call``'s thread with the client's answers.

    Args:
        call: the decoded ``request_state``.
        responses: the client's ``inputResponses``: per interrupt id an elicitation
            result ``{"action": "accept"|"decline"|"cancel", "content": {...}}``.

    Returns:
        ``{"resume": value}`` for one interrupt, ``{"resume": {id: value}}`` for several;
        a value is the form's ``resume`` field, or the whole form when the interrupt
        asked for its own ``response_schema``.

    Raises:
        Invalid: an interrupt has no accepted answer (the message names it).
    """
    responses = responses or {}
    values: dict[str, Any] = {}
    for interrupt_id, one_field in zip(call.interrupt_ids, call.answer_fields, strict=True):
        answer = responses.get(interrupt_id)
        if not isinstance(answer, dict):
            raise Invalid(f"inputResponses: no answer to interrupt {interrupt_id!r}")
        if answer.get("action") != "accept":
            raise Invalid(f"inputResponses.{interrupt_id}: the interrupt was not answered ({answer.get('action')})")
        content = answer.get("content") or {}
        if one_field:
            if ANSWER_FIELD not in content:
                raise Invalid(f"inputResponses.{interrupt_id}.content.{ANSWER_FIELD}: missing")
            values[interrupt_id] = content[ANSWER_FIELD]
        else:
            values[interrupt_id] = dict(content)
    if len(values) == 1:
        return {"resume": next(iter(values.values()))}
    return {"resume": values}
