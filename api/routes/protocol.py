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
from evergraph.api.auth import authorize, authorizes
from evergraph.api.deps import ProtocolHubDep, ServicesDep
from evergraph.api.errors import ApiError, status_of
from evergraph.api.sse import sse_frames, sse_response

__all__ = [
    "RUN_COMMANDS",
    "router",
    "thread_command",
    "thread_events_sse",
    "thread_events_ws",
]

router = APIRouter(tags=["protocol"])

#: protocol commands that start a run, authorized as ``threads.create_run``
RUN_COMMANDS = ("run.start", "input.respond")


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return serde.loads(raw) if raw.strip() else None
    except ValueError:
        raise ApiError(422, "Invalid JSON in request body") from None


async def _authorized_command(conn: HTTPConnection, services: Services, thread_id: str, body: Any) -> tuple[Any, bool]:
    """Authorize a protocol command that starts a run (``run.start``,
    ``input.respond``) as ``threads.create_run``; the handler may stamp
    ``params.metadata``. Returns the (possibly stamped) body and whether the thread
    must receive the stamped metadata after the command (it did not exist).

    Raises:
        ApiError: 403 from the handler. NotFound: its filter hides the thread.
    """
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
    result = await protocol.handle_command(services, hub, thread_id, body)
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
    """Run one protocol command (``run.start``, ``input.respond``). The answer is
    always HTTP 200: ``{"type":"success","id","result","meta"}`` or
    ``{"type":"error","id","error":<code>,"message"}``.

    422 for a thread id that is not a UUID or a body that is not JSON.
    """
    thread_id = require_uuid(thread_id, "thread")
    body = await _json_body(request)
    return ORJSONResponse(await _command(request, services, hub, thread_id, body))


async def _events(v2_events: AsyncIterator[dict[str, Any]]) -> AsyncIterator[StreamEvent]:
    """v2 events as SSE events: ``event: <method>``, ``data: <event>``, ``id: <seq>``."""
    async for event in v2_events:
        yield StreamEvent(str(event["seq"]), event["method"], protocol.event_json(event))


@router.post("/threads/{thread_id}/stream/events")
async def thread_events_sse(thread_id: str, request: Request, services: ServicesDep, hub: ProtocolHubDep):
    """The thread's v2 events as SSE (``event: <method>``, ``data: <event>``,
    ``id: <seq>``), filtered by the body ``{channels, namespaces?, depth?, since?}``.
    Stays open across runs (heartbeats) until the client leaves. The thread need
    not exist yet: ``run.start`` creates it.

    422 for a thread id that is not a UUID or an invalid filter.
    """
    thread_id = require_uuid(thread_id, "thread")
    await _check_readable(request, services, thread_id)
    try:
        sub = protocol.parse_subscription(await _json_body(request))
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    log = hub.log(thread_id)

    def accept(event: dict[str, Any]) -> bool:
        return protocol.matches(event, sub["channels"], sub["namespaces"], sub["depth"])

    return sse_response(
        sse_frames(_events(log.iterate(sub["since"], accept)), with_id=True),
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
    since?}``; the first one starts the events, later ones widen them),
    ``subscription.unsubscribe`` (``{subscription_id}``), or any command of
    ``POST /commands``. Each command is answered with its response frame; events
    are sent as the same JSON objects as on SSE. A thread id that is not a UUID
    closes the socket with code 4422.
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
        async for event in log.iterate(since, accept):
            await send(event)

    try:
        while True:
            raw = await websocket.receive_text()
            try:
                command = serde.loads(raw)
            except ValueError:
                await send(protocol.error(None, "invalid_argument", "Frames must be JSON commands"))
                continue
            method = command.get("method") if isinstance(command, dict) else None
            command_id = command.get("id") if isinstance(command, dict) else None
            if method == "subscription.subscribe":
                try:
                    sub = protocol.parse_subscription(command.get("params"))
                except ValueError as exc:
                    await send(protocol.error(command_id, "invalid_argument", str(exc)))
                    continue
                sub_id = f"sub-{len(subscriptions) + 1}-{command_id}"
                subscriptions[sub_id] = sub
                await send(protocol.success(command_id, {"subscription_id": sub_id}, len(log.events)))
                if pump is None:
                    pump = asyncio.ensure_future(run_pump(sub["since"]))
            elif method == "subscription.unsubscribe":
                sub_id = (command.get("params") or {}).get("subscription_id")
                if subscriptions.pop(sub_id, None) is None:
                    await send(protocol.error(command_id, "no_such_subscription", f"No subscription {sub_id!r}"))
                else:
                    await send(protocol.success(command_id, {}, len(log.events)))
            else:
                try:
                    result = await _command(websocket, services, hub, thread_id, command)
                except (ApiError, EvergraphError) as exc:
                    status, detail = (
                        (exc.status_code, str(exc.detail)) if isinstance(exc, ApiError) else (status_of(exc), exc.message)
                    )
                    code = "permission_denied" if status == 403 else "invalid_argument"
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
