"""A2A (Agent2Agent) endpoints, as langgraph-api 0.16.7 serves them: JSON-RPC 2.0 at
``POST /a2a/{assistant_id}`` (``message/send``, ``message/stream`` (SSE),
``tasks/get``, ``tasks/cancel``, and A2A 1.0's ``SendMessage``,
``SendStreamingMessage``, ``GetTask``, ``CancelTask``), and the agent card at
``GET /a2a/{assistant_id}``, ``/a2a/{assistant_id}/.well-known/agent-card.json``
(and ``agent.json``) and ``/.well-known/agent-card.json?assistant_id=``.

Tasks are ordinary Evergraph runs on threads (:mod:`evergraph.adapter.resources.a2a`
has the mapping); runs are created through the same path as ``/threads/{id}/runs``
(authorization included). ``langgraph.json`` ``http.disable_a2a`` removes the router.
JSON-RPC errors are answered with HTTP 200, as JSON-RPC 2.0 asks.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from evergraph.adapter.errors import EvergraphError, NotFound
from evergraph.adapter.execution.runconfig import COMPAT_API_VERSION
from evergraph.adapter.resources import a2a, runs, threads
from evergraph.adapter.resources.assistants import assistant_schemas, get_assistant
from evergraph.adapter.services import Services
from evergraph.api.auth import authorize
from evergraph.api.deps import ServicesDep
from evergraph.api.models import RunCreate
from evergraph.api.routes.runs import create_authorized_run
from evergraph.api.sse import sse_response

__all__ = ["agent_card", "agent_card_by_query", "endpoint", "router"]

router = APIRouter(tags=["a2a"])
logger = logging.getLogger(__name__)

#: slash-named (A2A 0.x) methods and their A2A 1.0 names; answers to the former use 0.x spelling
_ALIASES = {
    "message/send": "SendMessage",
    "message/stream": "SendStreamingMessage",
    "tasks/get": "GetTask",
    "tasks/cancel": "CancelTask",
}
_KNOWN = {"SendMessage", "SendStreamingMessage", "GetTask", "CancelTask", "ListTasks", "GetExtendedAgentCard"}
_MAX_HISTORY = 10


def _rpc_error(code: int, message: str, rpc_id: Any = None) -> JSONResponse:
    return JSONResponse({"jsonrpc": "2.0", "id": rpc_id, "error": {"code": code, "message": message}})


def _error(code: int, message: str, data: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **({"data": data} if data is not None else {})}}


def _plain_error(message: str, status: int) -> Response:
    return Response(orjson.dumps({"error": message}), status_code=status, media_type="application/json")


def _accepts(header: str, media_type: str) -> bool:
    for item in header.split(","):
        candidate = item.split(";", 1)[0].strip().lower()
        if candidate in ("*/*", media_type) or (candidate.endswith("/*") and media_type.startswith(candidate[:-1])):
            return True
    return False


# ------------------------------------------------------------------ agent card


def _base_url(request: Request, assistant_id: str) -> str:
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
        flt = await authorize(request, "assistants", "read", {"assistant_id": assistant_id})
        try:
            assistant = await get_assistant(services, assistant_id, flt)
        except NotFound as exc:
            raise ValueError(f"Assistant '{assistant_id}' not found") from exc
        except EvergraphError as exc:
            raise ValueError(f"Failed to get assistant '{assistant_id}': {exc.message}") from exc
        schemas = await assistant_schemas(services, assistant)
        card = a2a.agent_card(assistant, schemas, _base_url(request, assistant_id), COMPAT_API_VERSION)
    except ValueError as exc:
        body = {"error": {"code": a2a.INVALID_PARAMS, "message": str(exc)}}
        return Response(orjson.dumps(body), status_code=400, media_type="application/json")
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
        body = {"error": {"code": a2a.INVALID_PARAMS, "message": "Missing required query parameter: assistant_id"}}
        return Response(orjson.dumps(body), status_code=400, media_type="application/json")
    return await _card(request, services, assistant_id)


# ------------------------------------------------------------------ JSON-RPC endpoint


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
        return _rpc_error(a2a.PARSE_ERROR, "Invalid JSON payload")
    if not isinstance(message, dict):
        return _rpc_error(a2a.INVALID_REQUEST, "Invalid message format: expected object")
    rpc_id, method = message.get("id"), message.get("method")
    if message.get("jsonrpc") != "2.0":
        return _rpc_error(
            a2a.INVALID_REQUEST, "Invalid JSON-RPC message: missing or invalid jsonrpc version",
            rpc_id if isinstance(rpc_id, (str, int, float)) else None,
        )
    legacy = isinstance(method, str) and method in _ALIASES
    if legacy:
        method = _ALIASES[method]
    if rpc_id is not None and (isinstance(rpc_id, bool) or not isinstance(rpc_id, (str, int, float))):
        return _rpc_error(a2a.INVALID_REQUEST, "Invalid JSON-RPC request: 'id' must be a string, number, or null")
    if method is not None and not isinstance(method, str):
        return _rpc_error(a2a.METHOD_NOT_FOUND, "Method not found: method must be a string", rpc_id)
    if method is not None and method not in _KNOWN:
        return _rpc_error(a2a.METHOD_NOT_FOUND, f"Method not found: {method}", rpc_id)
    params = message.get("params", {})
    if method in ("SendMessage", "SendStreamingMessage"):
        if not isinstance(params, dict):
            return _rpc_error(a2a.INVALID_PARAMS, "Invalid params: must be an object", rpc_id)
        if not isinstance(params.get("message"), dict) or not params["message"]:
            return _rpc_error(a2a.INVALID_PARAMS, "Missing or invalid 'message' in params", rpc_id)
    accept = request.headers.get("accept") or ""
    if method == "SendStreamingMessage" and not _accepts(accept, "text/event-stream"):
        return _plain_error("Accept header must include text/event-stream for streaming", 400)
    if method != "SendStreamingMessage" and not _accepts(accept, "application/json"):
        return _plain_error("Accept header must include application/json", 400)
    if rpc_id is None:
        return _rpc_error(a2a.INVALID_REQUEST, "Invalid message format: must be a JSON-RPC request or notification")
    if not method:
        if "result" in message or "error" in message:
            return Response(status_code=202)
        return _rpc_error(a2a.INVALID_REQUEST, "Invalid JSON-RPC request: missing 'method' field", rpc_id)
    try:
        assistant_id = str(uuid.UUID(assistant_id))
    except ValueError:
        return _rpc_error(a2a.INVALID_PARAMS, "Invalid assistant ID: must be a UUID", rpc_id)
    if not isinstance(params, dict):
        return _rpc_error(a2a.INVALID_PARAMS, "Invalid params: must be an object", rpc_id)
    if method == "SendStreamingMessage":
        return _stream(request, services, params, assistant_id, rpc_id, legacy)
    try:
        if method == "SendMessage":
            answer = await _send(request, services, params, assistant_id)
        elif method == "GetTask":
            answer = await _get_task(request, services, params, assistant_id)
        elif method == "CancelTask":
            answer = await _cancel_task(request, services, params, assistant_id)
        elif method == "ListTasks":
            answer = await _list_tasks(request, services, params, assistant_id)
        else:  # GetExtendedAgentCard: the public card (no extended one)
            answer = await _extended_card(request, services, assistant_id)
    except HTTPException:
        raise  # an auth handler's refusal keeps its status, as on the REST routes
    except Exception:
        logger.exception("A2A %s for assistant %s failed", method, assistant_id)
        answer = _error(a2a.INTERNAL_ERROR, "Internal server error")
    body = {"jsonrpc": "2.0", "id": rpc_id, **answer}
    return JSONResponse(a2a.legacy_shape(body) if legacy else body)


# ------------------------------------------------------------------ message/send and message/stream


class _Prepared:
    """A validated message: the run to create for it."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


async def _thread_interrupted(services: Services, context_id: str) -> bool:
    thread = await services.records.get_thread(context_id)
    return thread is not None and thread.get("status") == "interrupted"


async def _prepare(request: Request, services: Services, params: dict[str, Any], assistant_id: str) -> _Prepared | dict:
    """Validate a ``message/send``/``message/stream`` request; the run to create, or
    an ``{"error": ...}`` answer."""
    configuration = params.get("configuration") or {}
    if not isinstance(configuration, dict):
        return _error(a2a.INVALID_PARAMS, "Invalid params: 'configuration' must be an object")
    history_length = configuration.get("historyLength")
    if history_length is not None and (
        not isinstance(history_length, int) or isinstance(history_length, bool) or history_length < 0
    ):
        return _error(a2a.INVALID_PARAMS, "historyLength must be a non-negative integer")
    if history_length is not None and history_length > _MAX_HISTORY:
        return _error(a2a.INVALID_PARAMS, f"historyLength cannot exceed {_MAX_HISTORY}")
    message = params["message"]
    message_id = message.get("messageId")
    if not message_id:
        return _error(a2a.INVALID_PARAMS, "Missing required 'messageId' in message")
    if not message.get("role"):
        return _error(a2a.INVALID_PARAMS, "Missing required 'role' in message")
    parts = message.get("parts", [])
    if not isinstance(parts, list):
        return _error(a2a.INVALID_PARAMS, "Invalid params: 'parts' must be an array")
    if not parts:
        return _error(a2a.INVALID_PARAMS, "Message must contain at least one part")
    try:
        flt = await authorize(request, "assistants", "read", {"assistant_id": assistant_id})
        assistant = await get_assistant(services, assistant_id, flt)
    except NotFound:
        return _error(a2a.INVALID_PARAMS, f"Assistant '{assistant_id}' not found")
    try:
        a2a.supports_messages(await assistant_schemas(services, assistant), parts)
    except ValueError as exc:
        return _error(a2a.INVALID_PARAMS, str(exc))
    context_id, task_id = message.get("contextId"), message.get("taskId")
    if context_id is not None and not isinstance(context_id, str):
        return _error(a2a.INVALID_PARAMS, "contextId must be a string")
    if task_id is not None and not isinstance(task_id, str):
        return _error(a2a.INVALID_PARAMS, "taskId must be a string")
    requested_context = context_id
    task_ids: dict[str, str] = {}
    task_start_id = None
    if task_id is None:
        try:
            context_id = str(uuid.UUID(context_id)) if context_id else str(uuid.uuid4())
        except ValueError:
            return _error(a2a.INVALID_PARAMS, f"contextId must be a UUID (got {context_id!r})")
        task_start_id = str(uuid.uuid4())
    else:
        read = await authorize(request, "threads", "read", {"thread_id": context_id or a2a.parse_task_id(task_id)[0]})
        task = await a2a.resolve_task(services, task_id=task_id, context_id=context_id, assistant_id=assistant_id, flt=read)
        if task is None:
            return _error(a2a.TASK_NOT_FOUND, f"Task not found: {task_id}")
        if task.state in a2a.TERMINAL_STATES:
            return _error(a2a.UNSUPPORTED_OPERATION, "A terminal task cannot accept another message")
        context_id, task_ids = task.context_id, task.task_ids_by_start_id
    try:
        graph_input = a2a.message_input(
            parts, message.get("role"), message_id, task_id=task_id, task_start_id=task_start_id
        )
    except a2a.PartsError as exc:
        return _error(a2a.CONTENT_TYPE_NOT_SUPPORTED, str(exc))
    command = message.get("command")
    if command is not None and not isinstance(command, dict):
        return _error(a2a.INVALID_PARAMS, "command must be an object")
    if command and command.get("resume") and not requested_context:
        return _error(a2a.INVALID_PARAMS, "contextId is required when resuming a task with command.resume")
    if command and command.get("resume") and task_id is None:
        return _error(a2a.INVALID_PARAMS, "taskId is required when resuming a task")
    if command is None:
        try:
            found, value = a2a.resume_of_parts(parts)
        except ValueError as exc:
            return _error(a2a.INVALID_PARAMS, str(exc))
        if found:
            if task_id is None:
                return _error(a2a.INVALID_PARAMS, "contextId and taskId are required when resuming a task")
            if not await _thread_interrupted(services, context_id):
                return _error(a2a.INVALID_PARAMS, "Task is not awaiting input")
            graph_input.pop("resume", None)
            command = {"resume": value}
        elif task_id is not None and (text := a2a.text_of_parts(parts)) is not None:
            if await _thread_interrupted(services, context_id):
                # the text of a message to a task waiting on interrupt() is its answer
                graph_input.pop("messages", None)
                command = {"resume": text}
    return _Prepared(
        assistant=assistant,
        context_id=context_id,
        task_id=task_id,
        task_start_id=task_start_id,
        task_ids=task_ids,
        input=None if command is not None and not graph_input else graph_input,
        command=command,
        context=params.get("context"),
        history_length=history_length,
        message=message,
    )


async def _create_run(request: Request, services: Services, prep: _Prepared, stream_mode: list[str] | None):
    """Create the run of a prepared message (as ``POST /threads/{id}/runs``); the run
    record, or an ``{"error": ...}`` answer."""
    stamp = {
        **({"task_id": prep.task_id} if prep.task_id else {}),
        **({"task_start_id": prep.task_start_id} if prep.task_start_id else {}),
    }
    body: dict[str, Any] = {
        "assistant_id": str(prep.assistant["assistant_id"]),
        "input": prep.input,
        "command": prep.command,
        "metadata": {"a2a": stamp},
        "if_not_exists": "create",
    }
    if isinstance(prep.context, dict):
        body["context"] = prep.context
    if stream_mode:
        body["stream_mode"] = stream_mode
    try:
        run, _ = await create_authorized_run(request, services, prep.context_id, RunCreate.model_validate(body))
    except NotFound:
        return _error(a2a.INVALID_PARAMS, f"Assistant '{prep.assistant['assistant_id']}' not found")
    except EvergraphError as exc:
        return _error(a2a.INVALID_PARAMS, f"Failed to create run: {exc.message}")
    except Exception as exc:  # an auth handler's refusal (HTTPException)
        status = getattr(exc, "status_code", None)
        if status == 403:
            return _error(a2a.INVALID_PARAMS, "Access denied to assistant or thread")
        if status is not None:
            return _error(a2a.INVALID_PARAMS, f"Failed to create run: {getattr(exc, 'detail', exc)}")
        raise
    return run


async def _send(request: Request, services: Services, params: dict[str, Any], assistant_id: str) -> dict[str, Any]:
    prep = await _prepare(request, services, params, assistant_id)
    if isinstance(prep, dict):
        return prep
    run = await _create_run(request, services, prep, None)
    if "error" in run:
        return run
    context_id = run["thread_id"]
    task_id = prep.task_id or a2a.make_task_id(context_id, run["run_id"])
    task_ids = dict(prep.task_ids)
    if prep.task_start_id:
        task_ids.setdefault(prep.task_start_id, task_id)
    result = orjson.loads(await runs.wait_result(services, run))
    return {
        "result": a2a.task_from_result(
            result, task_id=task_id, context_id=context_id, assistant_id=assistant_id,
            history_length=prep.history_length, task_ids_by_start_id=task_ids,
        )
    }


def _payload(data: Any) -> bytes:
    # no raw Unicode line separators in an SSE data line
    return (
        orjson.dumps(data)
        .replace(b"\xc2\x85", b"\\u0085")
        .replace(b"\xe2\x80\xa8", b"\\u2028")
        .replace(b"\xe2\x80\xa9", b"\\u2029")
    )


def _stream(
    request: Request, services: Services, params: dict[str, Any], assistant_id: str, rpc_id: Any, legacy: bool
) -> Response:
    """``message/stream``: SSE ``message`` events, each a JSON-RPC response: the
    submitted task, the reply's text so far as it streams (``working`` status
    updates), then the response (or ``Interrupt``) artifact and the final status."""

    async def updates() -> AsyncIterator[dict[str, Any]]:
        prep = await _prepare(request, services, params, assistant_id)
        if isinstance(prep, dict):
            yield prep
            return
        run = await _create_run(request, services, prep, ["messages", "values"])
        if "error" in run:
            yield run
            return
        context_id = run["thread_id"]
        task_id = prep.task_id or a2a.make_task_id(context_id, run["run_id"])
        yield {
            "result": {
                "task": {
                    "kind": "task",
                    "id": task_id,
                    "contextId": context_id,
                    "history": [{"kind": "message", **prep.message, "taskId": task_id, "contextId": context_id}],
                    "status": {"state": "TASK_STATE_SUBMITTED", "timestamp": a2a.now()},
                }
            }
        }
        # no bare ``working`` update: langgraph-api 0.16.7 spends the run's first
        # ``metadata`` event on learning the run id, so none reaches its clients
        result, err = None, None
        async for event in runs.run_events(services, run, after=None, from_start=True):
            name = event.event.split("|")[0]
            if name == "error":
                err = orjson.loads(event.data)
            elif name == "values":
                err, result = None, orjson.loads(event.data)
            elif name.startswith("messages"):
                update = a2a.stream_message_update(orjson.loads(event.data), task_id=task_id, context_id=context_id)
                if update is not None:
                    yield {"result": update}
        # the run's join body settles the outcome (values, ``__interrupt__`` or ``__error__``)
        final = orjson.loads(await runs.wait_result(services, run))
        if isinstance(final, dict) and "__error__" in final:
            error = final["__error__"]
            err = err or {"message": error.get("message") if isinstance(error, dict) else error}
        elif final is not None:
            result = final
        interrupted = isinstance(result, dict) and "__interrupt__" in result
        status: dict[str, Any]
        record = await services.records.get_run(run["run_id"])
        if record is not None and record["status"] == "interrupted":  # cancelled (tasks/cancel)
            status = {"state": "TASK_STATE_CANCELED"}
            interrupted = False
        elif err:
            text = err.get("message") if isinstance(err, dict) else err
            status = {
                "state": "TASK_STATE_FAILED",
                "message": a2a.agent_message([{"kind": "text", "text": str(text or "")}], task_id, context_id),
            }
        elif interrupted:
            status = {"state": "TASK_STATE_INPUT_REQUIRED"}
        else:
            status = {"state": "TASK_STATE_COMPLETED"}
            yield {
                "result": {
                    "taskId": task_id, "contextId": context_id, "kind": "artifact-update",
                    "artifact": a2a.response_artifact(a2a.response_parts(result), assistant_id),
                    "append": False, "lastChunk": True,
                }
            }
        if interrupted:
            yield {
                "result": {
                    "taskId": task_id, "contextId": context_id, "kind": "artifact-update",
                    "artifact": a2a.interrupt_artifact(result["__interrupt__"]),
                }
            }
        status["timestamp"] = a2a.now()
        yield {"result": {"taskId": task_id, "contextId": context_id, "kind": "status-update", "status": status, "final": True}}

    async def frames() -> AsyncIterator[bytes]:
        try:
            async for answer in updates():
                body = {"jsonrpc": "2.0", "id": rpc_id, **answer}
                yield b"event: message\r\ndata: " + _payload(a2a.legacy_shape(body) if legacy else body) + b"\r\n\r\n"
        except Exception:
            logger.exception("A2A message/stream for assistant %s failed", assistant_id)
            body = {"jsonrpc": "2.0", "id": rpc_id, **_error(a2a.INTERNAL_ERROR, "Internal server error")}
            yield b"event: message\r\ndata: " + _payload(body) + b"\r\n\r\n"

    return sse_response(frames(), headers={}, interval=services.settings.heartbeat_interval)


# ------------------------------------------------------------------ tasks/get and tasks/cancel


def _task_params(params: dict[str, Any]) -> tuple[str, str | None] | dict:
    task_id, context_id = params.get("id"), params.get("contextId")
    if not task_id:
        return _error(a2a.INVALID_PARAMS, "Missing required parameter: id (task_id)")
    if not isinstance(task_id, str) or (context_id is not None and not isinstance(context_id, str)):
        return _error(a2a.INVALID_PARAMS, "Task id and contextId must be strings")
    return task_id, context_id


async def _find(request: Request, services: Services, task_id: str, context_id: str | None, assistant_id: str, action: str):
    flt = await authorize(request, "threads", action, {"thread_id": context_id or a2a.parse_task_id(task_id)[0]})
    return await a2a.resolve_task(services, task_id=task_id, context_id=context_id, assistant_id=assistant_id, flt=flt)


async def _get_task(request: Request, services: Services, params: dict[str, Any], assistant_id: str) -> dict[str, Any]:
    parsed = _task_params(params)
    if isinstance(parsed, dict):
        return parsed
    task_id, context_id = parsed
    history_length = params.get("historyLength")
    task = await _find(request, services, task_id, context_id, assistant_id, "read")
    if task is None:
        where = f" in context '{context_id}'" if context_id else ""
        return _error(a2a.TASK_NOT_FOUND, f"Task not found: {task_id}{where}")
    if history_length is not None and (
        not isinstance(history_length, int) or isinstance(history_length, bool) or history_length < 0
    ):
        return _error(a2a.INVALID_PARAMS, "historyLength must be a non-negative integer")
    if history_length is not None and history_length > _MAX_HISTORY:
        return _error(a2a.INVALID_PARAMS, f"historyLength cannot exceed {_MAX_HISTORY}")
    body: dict[str, Any] = {
        "kind": "task",
        "id": task.task_id,
        "contextId": task.context_id,
        "status": {"state": task.state, "timestamp": task.timestamp},
    }
    if history_length != 0:
        # the messages as the task's latest run left them (none for a run without checkpoints)
        states = await threads.get_history(services, task.context_id, limit=1, metadata={"run_id": task.run["run_id"]})
        values = states[0].get("values") if states else None
        messages = values.get("messages") if isinstance(values, dict) else None
        body["history"] = a2a.to_history(
            messages or [], task.task_id, task.context_id,
            history_length=history_length, task_ids_by_start_id=task.task_ids_by_start_id,
        )
    if task.state == "TASK_STATE_COMPLETED":
        body["status"]["message"] = a2a.agent_message([{"kind": "text", "text": "Task completed successfully"}], task_id)
    elif task.state == "TASK_STATE_FAILED":
        text = f"Task failed with status: {task.run.get('status')}"
        body["status"]["message"] = a2a.agent_message([{"kind": "text", "text": text}], task_id)
    return {"result": body}


async def _cancel_waiting(request: Request, services: Services, task: a2a.A2ATask, assistant_id: str) -> None:
    """Cancel a task waiting on ``interrupt()``: a cancelled run records the task's
    end (its latest run, so the task reads ``canceled``), and the thread's pending
    interrupt is closed (its state written as ``__end__``)."""
    meta = (task.run.get("metadata") or {}).get("a2a")
    stamp = {**(meta if isinstance(meta, dict) else {}), "task_id": task.task_id}
    body = RunCreate.model_validate({"assistant_id": assistant_id, "metadata": {"a2a": stamp}, "after_seconds": 3600})
    marker, _ = await create_authorized_run(request, services, task.context_id, body)
    try:
        await runs.cancel_runs(services, [marker])
        await runs.wait_stopped(services, marker["run_id"])
        await threads.update_state(services, task.context_id, values=None, as_node="__end__")
    except Exception:
        await runs.delete_run(services, marker)
        raise


async def _cancel_task(request: Request, services: Services, params: dict[str, Any], assistant_id: str) -> dict[str, Any]:
    parsed = _task_params(params)
    if isinstance(parsed, dict):
        return parsed
    task_id, context_id = parsed
    task = await _find(request, services, task_id, context_id, assistant_id, "update")
    if task is None:
        return _error(a2a.TASK_NOT_FOUND, f"Task not found: {task_id}")
    if task.state in a2a.TERMINAL_STATES:
        return _error(a2a.TASK_NOT_CANCELABLE, "Task is not cancelable in its current state")
    try:
        if task.state == "TASK_STATE_INPUT_REQUIRED":
            await _cancel_waiting(request, services, task, assistant_id)
        elif task.run.get("status") not in ("pending", "running"):
            return _error(a2a.TASK_NOT_CANCELABLE, "Task has no active run to cancel")
        else:
            try:
                await runs.cancel_runs(services, [task.run])
            except NotFound:
                pass  # it ended meanwhile
            await runs.wait_stopped(services, task.run["run_id"])
    except EvergraphError as exc:
        return _error(a2a.INTERNAL_ERROR, f"Failed to cancel task: {exc.message}")
    return {
        "result": {
            "kind": "task",
            "id": task_id,
            "contextId": task.context_id,
            "status": {
                "state": "TASK_STATE_CANCELED",
                "timestamp": a2a.now(),
                "message": a2a.agent_message([{"kind": "text", "text": "Task was canceled"}], task_id),
            },
        }
    }


# ------------------------------------------------------------------ ListTasks, GetExtendedAgentCard

_STATES_V1 = {
    "submitted": "TASK_STATE_SUBMITTED", "working": "TASK_STATE_WORKING", "completed": "TASK_STATE_COMPLETED",
    "failed": "TASK_STATE_FAILED", "canceled": "TASK_STATE_CANCELED", "input-required": "TASK_STATE_INPUT_REQUIRED",
    "rejected": "TASK_STATE_REJECTED", "auth-required": "TASK_STATE_AUTH_REQUIRED",
}


def _list_params(params: dict[str, Any]) -> dict[str, Any] | tuple:
    """Validated ``ListTasks`` params, or an ``{"error": ...}`` answer naming the bad one."""
    size = params.get("pageSize")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 100):
        return _error(a2a.INVALID_PARAMS, "pageSize must be an integer between 1 and 100.")
    history = params.get("historyLength")
    if history is not None and (not isinstance(history, int) or isinstance(history, bool) or history < 0):
        return _error(a2a.INVALID_PARAMS, "historyLength must be a non-negative integer")
    if history is not None and history > _MAX_HISTORY:
        return _error(a2a.INVALID_PARAMS, f"historyLength cannot exceed {_MAX_HISTORY}")
    status = params.get("status")
    status = _STATES_V1.get(status, status) if isinstance(status, str) else status
    if status is not None and status not in _STATES_V1.values():
        return _error(a2a.INVALID_PARAMS, f"Invalid status value: '{status}'.")
    after = params.get("statusTimestampAfter")
    if after is not None:
        try:
            if not isinstance(after, str):
                raise ValueError(after)
            datetime.fromisoformat(after.replace("Z", "+00:00"))
        except ValueError:
            return _error(a2a.INVALID_PARAMS, "statusTimestampAfter must be a valid ISO 8601 timestamp.")
    token = params.get("pageToken")
    if token is not None and not isinstance(token, str):
        return _error(a2a.INVALID_PARAMS, "pageToken must be a string.")
    if token and not token.isdigit():
        return _error(a2a.INVALID_PARAMS, "Invalid pageToken.")
    context_id = params.get("contextId")
    if context_id is not None and not isinstance(context_id, str):
        return _error(a2a.INVALID_PARAMS, "contextId must be a string.")
    return (size or 50, history, status, after, int(token) if token else 0, context_id)


async def _list_tasks(request: Request, services: Services, params: dict[str, Any], assistant_id: str) -> dict[str, Any]:
    """``ListTasks``: the assistant's tasks, newest first, a page of ``pageSize``
    (default 50) from the offset ``pageToken``; filters ``contextId``, ``status``,
    ``statusTimestampAfter``; ``history`` per ``historyLength``; ``artifacts`` empty
    unless ``includeArtifacts``."""
    parsed = _list_params(params)
    if isinstance(parsed, dict):
        return parsed
    size, history_length, status, after, offset, context_id = parsed
    flt = await authorize(request, "threads", "search", {
        "metadata": {}, "values": {}, "status": None, "limit": 1000, "offset": 0,
        "ids": [context_id] if context_id else None,
    })
    found = await a2a.list_tasks(services, assistant_id=assistant_id, context_id=context_id, flt=flt)
    found = [
        item for item in found
        if (status is None or item[0]["status"]["state"] == status)
        and (after is None or item[0]["status"]["timestamp"] >= after)
    ]
    page = found[offset : offset + size]
    tasks = []
    for task, run, starts in page:
        if not params.get("includeArtifacts", False):
            task["artifacts"] = []
        if history_length != 0:
            states = await threads.get_history(services, task["contextId"], limit=1, metadata={"run_id": run["run_id"]})
            values = states[0].get("values") if states else None
            messages = values.get("messages") if isinstance(values, dict) else None
            task["history"] = a2a.to_history(
                messages or [], task["id"], task["contextId"], history_length=history_length, task_ids_by_start_id=starts
            )
        tasks.append(task)
    following = offset + len(tasks)
    return {
        "result": {
            "tasks": tasks,
            "totalSize": len(found),
            "pageSize": len(tasks),
            "nextPageToken": str(following) if following < len(found) else "",
        }
    }


async def _extended_card(request: Request, services: Services, assistant_id: str) -> dict[str, Any]:
    """``GetExtendedAgentCard``: the public agent card."""
    response = await _card(request, services, assistant_id)
    body = orjson.loads(response.body)
    if response.status_code != 200:
        return {"error": body["error"]}
    return {"result": body}
