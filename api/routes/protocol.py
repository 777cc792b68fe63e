"""Routes of the v2 thread-centric protocol, used by the SDK's
``client.threads.stream(...)``: ``POST /threads/{id}/commands`` and the thread's
event stream ``POST /threads/{id}/stream/events`` (SSE) or
``WS /threads/{id}/stream/events``. The protocol itself is in
:mod:`evergraph.adapter.resources.protocol` (see docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, AsyncIterator

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import ORJSONResponse
from starlette.requests import HTTPConnection

from evergraph.adapter import serde
from evergraph.adapter.broker.protocol import StreamEvent
from evergraph.adapter.errors import EvergraphError
from evergraph.adapter.ids import require_uuid
from evergraph.adapter.resources import protocol, threads
from evergraph.adapter.services import Services
from evergraph.api.auth import authorize, authorizes, current_user
from evergraph.api.deps import ProtocolHubDep, ServicesDep
from evergraph.api.errors import ApiError, status_of
from evergraph.api.headers import run_headers
from evergraph.api.sse import frame, sse_response

__all__ = [
    "RUN_COMMANDS",
    "router",
    "thread_command",
    "thread_events_sse",
    "thread_events_ws",
]

router = APIRouter(tags=["protocol"])

#: protocol commands that start a run, authorized as ``threads.create_run``
RUN_COMMANDS = ("run.start", "input.respond", "input.inject", "state.fork")

#: protocol commands that read the thread, authorized as ``threads.read``
READ_COMMANDS = ("agent.getTree", "state.get", "state.listCheckpoints")


#: langgraph-api 0.16.7's answer (400 ``{"detail"}``) to a body that is not JSON
INVALID_JSON = "Invalid JSON body"
#: its protocol error message for a command without an integer ``id`` or a string
#: ``method`` (HTTP 400 on ``POST /commands``, an error frame on the WebSocket)
MALFORMED = "Protocol commands must include an integer id and string method."
#: its error frame for a WebSocket frame that is not JSON
NOT_JSON_FRAME = "Protocol commands must be valid JSON."


async def _json_body(request: Request) -> Any:
    """The request's JSON body (``None`` when empty). Raises ApiError 400 (langgraph-api
    0.16.7's ``Invalid JSON body``) when it is not JSON."""
    raw = await request.body()
    try:
        return serde.loads(raw) if raw.strip() else None
    except ValueError:
        raise ApiError(400, INVALID_JSON) from None


def _malformed(body: Any) -> bool:
    """Whether ``body`` lacks the integer ``id`` or string ``method`` of a command."""
    return (
        not isinstance(body, dict)
        or not isinstance(body.get("id"), int) or isinstance(body.get("id"), bool)
        or not isinstance(body.get("method"), str)
    )


async def _authorized_command(conn: HTTPConnection, services: Services, thread_id: str, body: Any) -> tuple[Any, bool]:
    """Authorize a protocol command that starts a run (``run.start``,
    ``input.respond``) as ``threads.create_run``; the handler may stamp
    ``params.metadata``. Returns the (possibly stamped) body and whether the thread
    must receive the stamped metadata after the command (it did not exist).

    Raises:
        ApiError: 403 from the handler. NotFound: its filter hides the thread.
    """
    if isinstance(body, dict) and body.get("method") in READ_COMMANDS:
        await _check_readable(conn, services, thread_id)
        return body, False
    if not isinstance(body, dict) or body.get("method") not in RUN_COMMANDS:
        return body, False
    params = body.get("params") if isinstance(body.get("params"), dict) else {}
    value: dict[str, Any] = {
        "thread_id": thread_id, "assistant_id": params.get("assistant_id"),
        "metadata": dict(params.get("metadata") or {}) if isinstance(params.get("metadata"), dict) else {},
        "kwargs": {"input": params.get("input"), "config": params.get("config"), "context": params.get("context")},
    }
    flt = await authorize(conn, "threads", "create_run", value)
    thread = await threads.visible_thread(services, thread_id, flt)
    if not authorizes(conn):
        return body, False
    body = {**body, "params": {**params, "metadata": value.get("metadata") or {}}}
    return body, thread is None and bool(value.get("metadata"))


async def _command(
    conn: HTTPConnection, services: Services, hub: protocol.ProtocolHub, thread_id: str, body: Any
) -> dict[str, Any]:
    """Authorize and run one command; a thread the command created takes the
    metadata the auth handler stamped."""
    body, stamp = await _authorized_command(conn, services, thread_id, body)
    user = current_user(conn)
    # langgraph.json http.configurable_headers: as for REST runs, from this request
    # (a WebSocket's: its handshake)
    headers = run_headers(conn.headers.items(), services.registry.config.http.configurable_headers)
    result = await protocol.handle_command(
        services, hub, thread_id, body, user=user.dict() if user else None, headers=headers
    )
    if stamp and result.get("type") == "success":
        await threads.stamp_metadata(services, thread_id, (body.get("params") or {}).get("metadata") or {})
    return result


async def _check_readable(conn: HTTPConnection, services: Services, thread_id: str) -> None:
    """NotFound (404) when the ``threads.read`` auth filter hides the (existing) thread."""
    flt = await authorize(conn, "threads", "read", {"thread_id": thread_id})
    if flt is not None:
        await threads.visible_thread(services, thread_id, flt)


@router.post("/threads/{thread_id}/commands")
async def thread_command(thread_id: str, request: Request, services: ServicesDep, hub: ProtocolHubDep):
    """Run one protocol command (``run.start``, ``input.respond``, ``input.inject``,
    ``agent.getTree``, ``state.get``, ``state.listCheckpoints``, ``state.fork``).
    The answer is HTTP 200: ``{"type":"success","id","result","meta"}`` or
    ``{"type":"error","id","error":<code>,"message"}`` (bad params: ``invalid_argument``).

    Before the command runs: 422 for a thread id that is not a UUID; 400 for a body
    that is not JSON (``{"detail": "Invalid JSON body"}``) or a command without an
    integer ``id`` and a string ``method`` (the protocol error body), as langgraph-api
    0.16.7; 403 when the auth handler denies the command (``threads.create_run`` for
    the commands that start a run, ``threads.read`` for the others), 404 when its
    filter hides the thread.
    """
    thread_id = require_uuid(thread_id, "thread")
    body = await _json_body(request)
    if _malformed(body):
        command_id = body.get("id") if isinstance(body, dict) else None
        return ORJSONResponse(protocol.error(command_id, "invalid_argument", MALFORMED), status_code=400)
    return ORJSONResponse(await _command(request, services, hub, thread_id, body))


def stream_failure(exc: BaseException) -> dict[str, Any]:
    """The unsolicited error frame (``{"type": "error", "id": null, "error",
    "message"}``) sent just before a thread stream whose read failed is closed;
    the SDK (``langgraph-sdk`` 0.4.14 ``stream_error_frame``) reads it as the
    stream's failure."""
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return protocol.error(None, "unknown_error", message)


async def _sse(v2_events: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    """v2 events as SSE frames: ``event: <method>``, ``data: <event>``, ``id:
    <seq>``; a failed read ends with ``event: error`` carrying
    :func:`stream_failure` (no ``id``: it is not an event of the log)."""
    try:
        async for event in v2_events:
            yield frame(StreamEvent(str(event["seq"]), event["method"], protocol.event_json(event)), with_id=True)
    except Exception as exc:  # noqa: BLE001 - reported to the client, then the stream ends
        yield b"event: error\r\ndata: " + protocol.event_json(stream_failure(exc)) + b"\r\n\r\n"
    finally:
        aclose = getattr(v2_events, "aclose", None)
        if aclose is not None:
            await aclose()


@router.post("/threads/{thread_id}/stream/events")
async def thread_events_sse(thread_id: str, request: Request, services: ServicesDep, hub: ProtocolHubDep):
    """The thread's v2 events as SSE (``event: <method>``, ``data: <event>``,
    ``id: <seq>``), filtered by the body ``{channels, namespaces?, depth?, since?}``.
    Stays open across runs (heartbeats) until the client leaves. The thread need
    not exist yet: ``run.start`` creates it.

    400 for missing or unknown ``channels`` (as langgraph-api 0.16.7), 422 for a
    thread id that is not a UUID or another invalid filter field.
    """
    thread_id = require_uuid(thread_id, "thread")
    await _check_readable(request, services, thread_id)
    try:
        sub = protocol.parse_subscription(await _json_body(request))
    except protocol.ChannelError as exc:
        raise ApiError(400, str(exc)) from None
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    log = hub.log(thread_id)

    def accept(event: dict[str, Any]) -> bool:
        return protocol.matches(event, sub["channels"], sub["namespaces"], sub["depth"])

    return sse_response(
        _sse(log.iterate(sub["since"], accept)),
        headers={},
        interval=services.settings.heartbeat_interval,
    )


def _close_code(exc: Exception) -> tuple[int, str]:
    """WebSocket close code (4000 + HTTP status) and reason for a refused request."""
    if isinstance(exc, ApiError):
        return 4000 + exc.status_code, str(exc.detail)[:120]
    assert isinstance(exc, EvergraphError)
    return 4000 + status_of(exc), exc.message[:120]


@router.websocket("/threads/{thread_id}/stream/events")
async def thread_events_ws(websocket: WebSocket, thread_id: str, services: ServicesDep, hub: ProtocolHubDep):
    """The thread's v2 events over a WebSocket. Every inbound frame is a command:
    ``subscription.subscribe`` (``params``: ``{channels, namespaces?, depth?,
    since?}``; the first one starts the events, later ones widen them; result
    ``{subscription_id, replayed_events}``), ``subscription.reconnect`` (the same
    with a required ``since`` — the last ``seq`` the client processed — and an
    optional ``subscription_id`` to keep: a socket that replaced a dropped one
    gets exactly the events after ``since``), ``subscription.unsubscribe``
    (``{subscription_id}``), or any command of ``POST /commands``. Each command is
    answered with its response frame; events are sent as the same JSON objects as
    on SSE. A refused socket closes with 4000 + the HTTP status (4422 for a
    thread id that is not a UUID, 4403 / 4404 from the auth handler); a failed
    read sends ``{"type": "error", "id": null, …}`` and closes with 1011.
    """
    await websocket.accept()
    try:
        thread_id = require_uuid(thread_id, "thread")
    except EvergraphError:
        await websocket.close(code=4422, reason="Invalid thread ID: must be a UUID")
        return
    try:
        await _check_readable(websocket, services, thread_id)
    except (ApiError, EvergraphError) as exc:
        code, reason = _close_code(exc)
        await websocket.close(code=code, reason=reason)
        return
    log = hub.log(thread_id)
    subscriptions: dict[str, dict[str, Any]] = {}
    send_lock = asyncio.Lock()
    pump: asyncio.Task | None = None

    async def send(obj: dict[str, Any]) -> None:
        async with send_lock:
            await websocket.send_text(serde.dumps(obj).decode())

    def accept(event: dict[str, Any]) -> bool:
        return any(
            protocol.matches(event, s["channels"], s["namespaces"], s["depth"]) for s in list(subscriptions.values())
        )

    async def run_pump(since: int | None) -> None:
        try:
            async for event in log.iterate(since, accept):
                await send(event)
        except Exception as exc:  # noqa: BLE001 - reported to the client, then the socket closes
            with contextlib.suppress(Exception):
                await send(stream_failure(exc))
                await websocket.close(code=1011, reason="thread stream failed")

    def replayed(sub: dict[str, Any]) -> int:
        return sum(
            1 for e in log.events[log.position(sub["since"]):]
            if protocol.matches(e, sub["channels"], sub["namespaces"], sub["depth"])
        ) if sub["since"] is not None else 0

    try:
        while True:
            raw = await websocket.receive_text()
            try:
                command = serde.loads(raw)
            except ValueError:
                await send(protocol.error(None, "invalid_argument", NOT_JSON_FRAME))
                continue
            method = command.get("method") if isinstance(command, dict) else None
            command_id = command.get("id") if isinstance(command, dict) else None
            if _malformed(command):
                await send(protocol.error(command_id, "invalid_argument", MALFORMED))
                continue
            if method in ("subscription.subscribe", "subscription.reconnect"):
                params = command.get("params")
                try:
                    sub = protocol.parse_subscription(params)
                    if method == "subscription.reconnect" and sub["since"] is None:
                        raise ValueError("subscription.reconnect requires a non-negative integer since")
                except ValueError as exc:
                    await send(protocol.error(command_id, "invalid_argument", str(exc)))
                    continue
                wanted = params.get("subscription_id") if method == "subscription.reconnect" else None
                sub_id = wanted if isinstance(wanted, str) and wanted else f"sub-{len(subscriptions) + 1}-{command_id}"
                subscriptions[sub_id] = sub
                count = replayed(sub) if pump is None else 0
                result: dict[str, Any] = {"subscription_id": sub_id, "replayed_events": count}
                if method == "subscription.reconnect":
                    result.update(restored=True, missed_events=count)
                await send(protocol.success(command_id, result, log.last_seq))
                if pump is None:
                    pump = asyncio.ensure_future(run_pump(sub["since"]))
            elif method == "subscription.unsubscribe":
                sub_id = (command.get("params") or {}).get("subscription_id")
                if subscriptions.pop(sub_id, None) is None:
                    await send(protocol.error(command_id, "no_such_subscription", f"No subscription {sub_id!r}"))
                else:
                    await send(protocol.success(command_id, {}, log.last_seq))
            else:
                try:
                    result = await _command(websocket, services, hub, thread_id, command)
                except (ApiError, EvergraphError) as exc:
                    status, detail = (
                        (exc.status_code, str(exc.detail)) if isinstance(exc, ApiError) else (status_of(exc), exc.message)
                    )
                    # refused before it ran: by the auth handler (403), its filter hid
                    # the thread (404), or the core refused the request
                    code = {403: "permission_denied", 404: "no_such_run"}.get(status, "invalid_argument")
                    await send(protocol.error(command_id, code, detail))
                    continue
                await send(result)
    except WebSocketDisconnect:
        pass
    finally:
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(BaseException):
                await pump
