"""The A2A (Agent2Agent) vocabulary Evergraph's ``/a2a/{assistant_id}`` speaks, as
langgraph-api 0.16.7 speaks it: JSON-RPC error codes, the :class:`A2AError` the A2A
core raises (``api/routes/a2a.py`` answers it as a JSON-RPC error), task states and
roles, and the checks on ``historyLength`` and ``historyScope`` that several methods
share.

States and roles are kept in A2A 1.0's enum names (``TASK_STATE_WORKING``,
``ROLE_AGENT``); :func:`legacy_shape` turns an answer into the 0.x spelling that the
slash-named methods (``message/send`` ...) answer with.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = [
    "CONTENT_TYPE_NOT_SUPPORTED",
    "HISTORY_SCOPE_HEADER",
    "HISTORY_SCOPE_URI",
    "INTERNAL_ERROR",
    "INVALID_AGENT_RESPONSE",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "MAX_HISTORY_LENGTH",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "STATES_V1",
    "TASK_NOT_CANCELABLE",
    "TASK_NOT_FOUND",
    "TERMINAL_STATES",
    "UNSUPPORTED_OPERATION",
    "A2AError",
    "HistoryScope",
    "agent_message",
    "check_history_length",
    "history_scope",
    "legacy_shape",
    "now",
]

# JSON-RPC 2.0's error codes, and A2A's own (server range), as langgraph-api 0.16.7 uses them
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
TASK_NOT_FOUND = -32001
TASK_NOT_CANCELABLE = -32002
UNSUPPORTED_OPERATION = -32004
CONTENT_TYPE_NOT_SUPPORTED = -32005
INVALID_AGENT_RESPONSE = -32006

TERMINAL_STATES = frozenset({"TASK_STATE_COMPLETED", "TASK_STATE_FAILED", "TASK_STATE_CANCELED", "TASK_STATE_REJECTED"})

#: the most messages ``historyLength`` may ask for
MAX_HISTORY_LENGTH = 10
#: the extension (declared on the agent card) that picks ``context`` or ``task`` history
HISTORY_SCOPE_URI = "https://langchain.com/a2a/extensions/history-scope/v1"
HISTORY_SCOPE_HEADER = "LangGraph-A2A-History-Scope"

HistoryScope = Literal["context", "task"]

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
#: 0.x state names -> 1.0 (``ListTasks`` takes either)
STATES_V1 = {legacy: v1 for v1, legacy in _STATES_LEGACY.items()}


class A2AError(Exception):
    """An A2A method's JSON-RPC error.

    Args:
        code: the JSON-RPC error code (the constants of this module).
        message: what was wrong, naming the input.
        data: the error's optional ``data`` member.
    """

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def body(self) -> dict[str, Any]:
        """The JSON-RPC ``error`` object: ``{"code", "message"[, "data"]}``."""
        return {"code": self.code, "message": self.message, **({"data": self.data} if self.data is not None else {})}


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


def agent_message(parts: list[dict[str, Any]], task_id: str, context_id: str | None = None) -> dict[str, Any]:
    """An agent message of ``parts`` in task ``task_id`` (and context ``context_id``)."""
    message = {"kind": "message", "role": "ROLE_AGENT", "parts": parts, "messageId": str(uuid.uuid4()), "taskId": task_id}
    if context_id is not None:
        message["contextId"] = context_id
    return message


def check_history_length(value: Any) -> int | None:
    """``historyLength`` as given (``None``: all the history).

    Raises:
        A2AError: -32602 when it is not a non-negative integer, or exceeds
            :data:`MAX_HISTORY_LENGTH`.
    """
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise A2AError(INVALID_PARAMS, "historyLength must be a non-negative integer")
    if value > MAX_HISTORY_LENGTH:
        raise A2AError(INVALID_PARAMS, f"historyLength cannot exceed {MAX_HISTORY_LENGTH}")
    return value


def history_scope(options: dict[str, Any], header: str | None) -> HistoryScope:
    """The history an answer carries: ``options["historyScope"]``, else the
    ``LangGraph-A2A-History-Scope`` header ``header``, else ``context`` (the whole
    conversation; ``task``: only the task's own messages).

    Raises:
        A2AError: -32602 for any other value.
    """
    scope = options.get("historyScope")
    if scope is None:
        scope = header if header is not None else "context"
    if scope not in ("context", "task"):
        raise A2AError(INVALID_PARAMS, "historyScope must be 'context' or 'task'")
    return scope
