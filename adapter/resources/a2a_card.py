"""The A2A agent card of an assistant, key by key as langgraph-api 0.16.7 serves it
(``/a2a/{assistant_id}/.well-known/agent-card.json`` and the other card paths of
``api/routes/a2a.py``): one skill (the assistant), JSON-RPC at
``<base url>/a2a/<assistant id>`` (A2A protocol 1.0), streaming on, no push
notifications, the history-scope extension; input and output modes from the
assistant's ``metadata.a2a.input_modes``/``output_modes``.
"""

from __future__ import annotations

from typing import Any

from evergraph.adapter.resources.a2a_wire import (
    HISTORY_SCOPE_HEADER,
    HISTORY_SCOPE_URI,
    INVALID_PARAMS,
    A2AError,
)

__all__ = ["agent_card"]

_DEFAULT_MODES = ("application/json", "text/plain")


def _modes(assistant: dict[str, Any]) -> tuple[list[str], list[str]]:
    metadata = assistant.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise A2AError(INVALID_PARAMS, "Assistant metadata must be an object.")
    meta = metadata.get("a2a")
    if meta is None:
        return list(_DEFAULT_MODES), list(_DEFAULT_MODES)
    if not isinstance(meta, dict):
        raise A2AError(INVALID_PARAMS, "Assistant metadata.a2a must be an object.")
    out = []
    for name in ("input_modes", "output_modes"):
        value = meta.get(name)
        if value is None:
            out.append(list(_DEFAULT_MODES))
            continue
        if not isinstance(value, list) or not value or not all(isinstance(m, str) and m.strip() for m in value):
            raise A2AError(INVALID_PARAMS, f"Assistant metadata.a2a.{name} must be a non-empty array of strings.")
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
        A2AError: -32602 when the assistant's ``metadata.a2a`` modes are malformed.
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
                        "header": HISTORY_SCOPE_HEADER,
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
