"""A2A (Agent2Agent) over HTTP, as langgraph-api 0.16.7 serves it: JSON-RPC 2.0 at
``POST /a2a/{assistant_id}`` (``message/send``, ``message/stream`` (SSE),
``tasks/get``, ``tasks/cancel``, and A2A 1.0's ``SendMessage``,
``SendStreamingMessage``, ``GetTask``, ``CancelTask``, ``ListTasks``,
``GetExtendedAgentCard``), and the agent card at ``GET /a2a/{assistant_id}``,
``/a2a/{assistant_id}/.well-known/agent-card.json`` (and ``agent.json``) and
``/.well-known/agent-card.json?assistant_id=``.

This module only does HTTP: it checks the JSON-RPC envelope, calls the A2A core
(:mod:`evergraph.adapter.resources.a2a`, :mod:`evergraph.adapter.resources.a2a_stream`)
with an :class:`~evergraph.adapter.resources.a2a.A2AAccess` of the request (the
auth handler, and run creation through the path of ``/threads/{id}/runs``), and
turns its :class:`~evergraph.adapter.resources.a2a_wire.A2AError` into a JSON-RPC
error, answered with HTTP 200 as JSON-RPC 2.0 asks. Answers to the slash-named
(A2A 0.x) methods use 0.x spelling (``user``, ``completed``, an unwrapped task).
``langgraph.json`` ``http.disable_a2a`` removes the router.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
from evergraph.adapter.resources import a2a
from evergraph.adapter.resources.a2a_list import list_tasks
from evergraph.adapter.resources.a2a_stream import stream_message
from evergraph.adapter.resources.a2a_wire import (
    HISTORY_SCOPE_HEADER,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    A2AError,
    legacy_shape,
)
from evergraph.adapter.services import Services
from evergraph.api.auth import authorize
from evergraph.api.deps import ServicesDep
from evergraph.api.models import RunCreate
from evergraph.api.routes.runs import create_authorized_run
from evergraph.api.sse import sse_response
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException

__all__ = ["agent_card", "agent_card_by_query", "endpoint", "router"]

router = APIRouter(tags=["a2a"])
logger = logging.getLogger(__name__)

#: slash-named (A2A 0.x) methods and their A2A 1.0 names
_ALIASES = {
    "message/send": "SendMessage",
    "message/stream": "SendStreamingMessage",
    "tasks/get": "GetTask",
    "tasks/cancel": "CancelTask",
}
#: the methods served (anything else, push notifications and ``tasks/resubscribe``
#: included, is -32601 as in langgraph-api 0.16.7)
_METHODS = {
    "SendMessage": a2a.send_message,
    "GetTask": a2a.get_task,
    "CancelTask": a2a.cancel_task,
    "ListTasks": list_tasks,
}
_KNOWN = {*_METHODS, "SendStreamingMessage", "GetExtendedAgentCard"}


class _Access:
    """The request's :class:`~evergraph.adapter.resources.a2a.A2AAccess`."""

    def __init__(self, request: Request, services: Services) -> None:
        self.request = request
        self.services = services
        self.scope_header = request.headers.get(HISTORY_SCOPE_HEADER)

    async def authorize(self, resource: str, action: str, value: dict[str, Any]) -> Any:
        return await authorize(self.request, resource, action, value)

    async def create_run(self, thread_id: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            run, _ = await create_authorized_run(self.request, self.services, thread_id, RunCreate.model_validate(body))
        except ValidationError as exc:
            raise A2AError(INVALID_PARAMS, f"Invalid request: {exc.errors()[0].get('msg')}") from None
        except HTTPException as exc:  # an auth handler's refusal, as langgraph-api 0.16.7 maps it
            if exc.status_code == 403:
                raise A2AError(INVALID_PARAMS, "Access denied to assistant or thread") from None
            raise A2AError(INVALID_PARAMS, f"Failed to create run: {exc.detail}") from None
        return run


def _rpc_error(code: int, message: str, rpc_id: Any = None) -> JSONResponse:
    return JSONResponse({"jsonrpc": "2.0", "id": rpc_id, "error": {"code": code, "message": message}})


def _plain_error(message: str, status: int) -> Response:
    return Response(orjson.dumps({"error": message}), status_code=status, media_type="application/json")


def _card_error(message: str) -> Response:
    body = {"error": {"code": INVALID_PARAMS, "message": message}}
    return Response(orjson.dumps(body), status_code=400, media_type="application/json")


def _accepts(header: str, media_type: str) -> bool:
    for item in header.split(","):
        candidate = item.split(";", 1)[0].strip().lower()
        if candidate in ("*/*", media_type) or (candidate.endswith("/*") and media_type.startswith(candidate[:-1])):
            return True
    return False


# ------------------------------------------------------------------ agent card


def _base_url(request: Request, assistant_id: str) -> str:
    """The server's public URL: ``LANGGRAPH_API_URL``, else the request's (scheme from
    ``X-Forwarded-Proto``, any mount prefix kept)."""
    configured = os.environ.get("LANGGRAPH_API_URL")
    if configured:
        return configured.rstrip("/")
    scheme = request.headers.get("x-forwarded-proto") or request.url.scheme
    host = request.url.hostname or "localhost"
    port = request.url.port
    path = (
        request.url.path.removesuffix("/.well-known/agent-card.json")
        .removesuffix("/.well-known/agent.json")
        .removesuffix(f"/a2a/{assistant_id}")
    )
    default_port = (scheme == "http" and port == 80) or (scheme == "https" and port == 443)
    return f"{scheme}://{host}{'' if not port or default_port else f':{port}'}{path}"


async def _card(request: Request, services: Services, assistant_id: str) -> Response:
    """The agent card, or 400 ``{"error": {"code": -32602, "message"}}`` naming the
    assistant that cannot be read."""
    try:
        card = await a2a.card(_Access(request, services), assistant_id, _base_url(request, assistant_id))
    except A2AError as exc:
        return _card_error(exc.message)
    return JSONResponse(card)


# langgraph-api 0.16.7's OpenAPI document lists only ``POST /a2a/{assistant_id}``
@router.get("/a2a/{assistant_id}/.well-known/agent-card.json", include_in_schema=False)
@router.get("/a2a/{assistant_id}/.well-known/agent.json", include_in_schema=False)
async def agent_card(request: Request, assistant_id: str, services: ServicesDep) -> Response:
    """The A2A agent card of one assistant (400 when it cannot be read)."""
    return await _card(request, services, assistant_id)


@router.get("/.well-known/agent-card.json", include_in_schema=False)
async def agent_card_by_query(request: Request, services: ServicesDep, assistant_id: str | None = None) -> Response:
    """The agent card of ``?assistant_id=`` (else ``DEFAULT_A2A_ASSISTANT_ID``); 400
    when neither names one."""
    assistant_id = assistant_id or os.environ.get("DEFAULT_A2A_ASSISTANT_ID")
    if not assistant_id:
        return _card_error("Missing required query parameter: assistant_id")
    return await _card(request, services, assistant_id)


# ------------------------------------------------------------------ JSON-RPC endpoint


def _envelope(message: Any, accept: str) -> tuple[Any, str, bool, dict[str, Any]] | Response:
    """``(id, method, legacy, params)`` of a JSON-RPC request, or the response that
    refuses it (in langgraph-api 0.16.7's order of checks)."""
    if not isinstance(message, dict):
        return _rpc_error(INVALID_REQUEST, "Invalid message format: expected object")
    rpc_id, method = message.get("id"), message.get("method")
    if message.get("jsonrpc") != "2.0":
        valid_id = rpc_id if isinstance(rpc_id, (str, int, float)) else None
        return _rpc_error(INVALID_REQUEST, "Invalid JSON-RPC message: missing or invalid jsonrpc version", valid_id)
    legacy = isinstance(method, str) and method in _ALIASES
    if legacy:
        method = _ALIASES[method]
    if rpc_id is not None and not isinstance(rpc_id, (str, int, float)):
        return _rpc_error(INVALID_REQUEST, "Invalid JSON-RPC request: 'id' must be a string, number, or null")
    if method is not None and not isinstance(method, str):
        return _rpc_error(METHOD_NOT_FOUND, "Method not found: method must be a string", rpc_id)
    if method is not None and method not in _KNOWN:
        return _rpc_error(METHOD_NOT_FOUND, f"Method not found: {method}", rpc_id)
    params = message.get("params", {})
    if method in ("SendMessage", "SendStreamingMessage"):
        if not isinstance(params, dict):
            return _rpc_error(INVALID_PARAMS, "Invalid params: must be an object", rpc_id)
        if not isinstance(params.get("message"), dict) or not params["message"]:
            return _rpc_error(INVALID_PARAMS, "Missing or invalid 'message' in params", rpc_id)
    if method == "SendStreamingMessage" and not _accepts(accept, "text/event-stream"):
        return _plain_error("Accept header must include text/event-stream for streaming", 400)
    if method != "SendStreamingMessage" and not _accepts(accept, "application/json"):
        return _plain_error("Accept header must include application/json", 400)
    if rpc_id is None:
        return _rpc_error(INVALID_REQUEST, "Invalid message format: must be a JSON-RPC request or notification")
    if not method:
        if "result" in message or "error" in message:
            return Response(status_code=202)  # a JSON-RPC response: acknowledged
        return _rpc_error(INVALID_REQUEST, "Invalid JSON-RPC request: missing 'method' field", rpc_id)
    return rpc_id, method, legacy, params


@router.post("/a2a/{assistant_id}")
@router.api_route("/a2a/{assistant_id}", methods=["GET", "DELETE"], include_in_schema=False)
@router.api_route("/a2a/{assistant_id}/", methods=["GET", "POST", "DELETE"], include_in_schema=False)
async def endpoint(request: Request, assistant_id: str, services: ServicesDep) -> Response:
    """``GET``: the agent card; ``POST``: one JSON-RPC request; ``DELETE``: 405."""
    if request.method == "GET":
        return await _card(request, services, assistant_id)
    if request.method != "POST":
        return Response(status_code=405)
    try:
        message = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return _rpc_error(PARSE_ERROR, "Invalid JSON payload")
    parsed = _envelope(message, request.headers.get("accept") or "")
    if isinstance(parsed, Response):
        return parsed
    rpc_id, method, legacy, params = parsed
    try:
        assistant_id = str(uuid.UUID(assistant_id))
    except ValueError:
        return _rpc_error(INVALID_PARAMS, "Invalid assistant ID: must be a UUID", rpc_id)
    if not isinstance(params, dict):
        return _rpc_error(INVALID_PARAMS, "Invalid params: must be an object", rpc_id)
    access = _Access(request, services)
    if method == "SendStreamingMessage":
        return _stream(access, params, assistant_id, rpc_id, legacy)
    try:
        if method == "GetExtendedAgentCard":
            answer = {"result": await a2a.extended_card(access, assistant_id, _base_url(request, assistant_id))}
        else:
            answer = await _METHODS[method](access, params, assistant_id)
    except A2AError as exc:
        answer = {"error": exc.body()}
    except Exception:  # an auth handler's refusal included, as langgraph-api 0.16.7 answers it
        logger.exception("A2A %s for assistant %s failed", method, assistant_id)
        answer = {"error": {"code": INTERNAL_ERROR, "message": "Internal server error"}}
    body = {"jsonrpc": "2.0", "id": rpc_id, **answer}
    return JSONResponse(legacy_shape(body) if legacy else body)


def _payload(data: Any) -> bytes:
    # no raw Unicode line separators in an SSE data line
    return (
        orjson.dumps(data)
        .replace(b"\xc2\x85", b"\\u0085")
        .replace(b"\xe2\x80\xa8", b"\\u2028")
        .replace(b"\xe2\x80\xa9", b"\\u2029")
    )


def _stream(access: _Access, params: dict[str, Any], assistant_id: str, rpc_id: Any, legacy: bool) -> Response:
    """``message/stream``: one SSE ``message`` event per answer of
    :func:`~evergraph.adapter.resources.a2a_stream.stream_message`, each a JSON-RPC
    response (content type ``text/event-stream``, as langgraph-api 0.16.7 sends)."""

    async def frames() -> AsyncIterator[bytes]:
        try:
            async for answer in stream_message(access, params, assistant_id):
                body = {"jsonrpc": "2.0", "id": rpc_id, **answer}
                yield b"event: message\r\ndata: " + _payload(legacy_shape(body) if legacy else body) + b"\r\n\r\n"
        except Exception:
            logger.exception("A2A message/stream for assistant %s failed", assistant_id)
            body = {"jsonrpc": "2.0", "id": rpc_id, "error": {"code": INTERNAL_ERROR, "message": "Internal server error"}}
            yield b"event: message\r\ndata: " + _payload(body) + b"\r\n\r\n"

    return sse_response(
        frames(), headers={"content-type": "text/event-stream"}, interval=access.services.settings.heartbeat_interval
    )
