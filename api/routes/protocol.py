"""Routes of the v2 thread-centric protocol (API.md §3.9), used by the SDK's
``client.threads.stream(...)``: ``POST /threads/{id}/commands`` and the thread's
event stream ``POST /threads/{id}/stream/events`` (SSE) or
``WS /threads/{id}/stream/events``. The protocol itself is in
:mod:`adapter.resources.protocol`.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, AsyncIterator

from fastapi import APIRouter, Depends, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import ORJSONResponse

from evergraph.adapter import serde

from evergraph.adapter.resources import protocol
from evergraph.adapter.broker.memory import StreamEvent
from evergraph.adapter.services import Services
from evergraph.api.auth import authorize, authorizes, visible
from evergraph.api.deps import services as get_services
from evergraph.api.errors import ApiError, require_uuid

router = APIRouter(tags=["protocol"])


def _hub(app: Any, services: Services) -> protocol.ProtocolHub:
    hub = getattr(app.state, "protocol_hub", None)
    if hub is None:
        hub = app.state.protocol_hub = protocol.ProtocolHub(services)
    return hub


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return serde.loads(raw) if raw.strip() else None
    except ValueError:
        raise ApiError(422, "Invalid JSON in request body") from None


async def _authorized_command(conn: Any, services: Services, thread_id: str, body: Any) -> tuple[Any, bool]:
    """Authorize a protocol command that starts a run (``run.start``,
    ``input.respond``) as ``threads.create_run``; the handler may stamp
    ``params.metadata``. Returns the (possibly stamped) body and whether the thread
    must receive the stamped metadata after the command (it did not exist).

    Raises:
        ApiError: 403 from the handler; 404 when its filter hides the thread.
    """
    if not isinstance(body, dict) or body.get("method") not in ("run.start", "input.respond"):
        return body, False
    params = body.get("params") if isinstance(body.get("params"), dict) else {}
    value: dict[str, Any] = {
        "thread_id": thread_id, "assistant_id": params.get("assistant_id"),
        "metadata": dict(params.get("metadata") or {}) if isinstance(params.get("metadata"), dict) else {},
        "kwargs": {"input": params.get("input"), "config": params.get("config"), "context": params.get("context")},
    }
    flt = await authorize(conn, "threads", "create_run", value)
    thread = await services.records.get_thread(thread_id)
    if thread is not None and not visible(thread, flt):
        raise ApiError(404, f"Thread with ID {thread_id} not found")
    if not authorizes(conn):
        return body, False
    body = {**body, "params": {**params, "metadata": value.get("metadata") or {}}}
    return body, thread is None and bool(value.get("metadata"))


async def _stamp_thread(services: Services, thread_id: str, body: Any) -> None:
    metadata = (body.get("params") or {}).get("metadata") or {}
    await services.records.update_thread(thread_id, metadata=metadata)


async def _check_readable(conn: Any, services: Services, thread_id: str) -> None:
    """404 when the ``threads.read`` auth filter hides the (existing) thread."""
    flt = await authorize(conn, "threads", "read", {"thread_id": thread_id})
    if flt is not None:
        thread = await services.records.get_thread(thread_id)
        if thread is not None and not visible(thread, flt):
            raise ApiError(404, f"Thread with ID {thread_id} not found")


@router.post("/threads/{thread_id}/commands")
async def thread_command(thread_id: str, request: Request, services: Services = Depends(get_services)):
    """Run one protocol command (``run.start``, ``input.respond``). The answer is
    always HTTP 200: ``{"type":"success","id","result","meta"}`` or
    ``{"type":"error","id","error":<code>,"message"}``.

    Raises:
        ApiError: 422 for a thread id that is not a UUID or a body that is not JSON.
    """
    thread_id = require_uuid(thread_id, "thread")
    body = await _json_body(request)
    body, stamp = await _authorized_command(request, services, thread_id, body)
    result = await protocol.handle_command(services, _hub(request.app, services), thread_id, body)
    if stamp and result.get("type") == "success":
        await _stamp_thread(services, thread_id, body)
    return ORJSONResponse(result)


def _sse_frame(event: dict[str, Any]) -> bytes:
    from evergraph.api.sse import frame

    return frame(StreamEvent(str(event["seq"]), event["method"], protocol.event_json(event)), with_id=True)


@router.post("/threads/{thread_id}/stream/events")
async def thread_events_sse(thread_id: str, request: Request, services: Services = Depends(get_services)):
    """The thread's v2 events as SSE (``event: <method>``, ``data: <event>``,
    ``id: <seq>``), filtered by the body ``{channels, namespaces?, depth?, since?}``.
    Stays open across runs (heartbeats) until the client leaves. The thread need
    not exist yet: ``run.start`` creates it.

    Raises:
        ApiError: 422 for a thread id that is not a UUID or an invalid filter.
    """
    from evergraph.api.sse import sse_response

    thread_id = require_uuid(thread_id, "thread")
    await _check_readable(request, services, thread_id)
    try:
        sub = protocol.parse_subscription(await _json_body(request))
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    log = _hub(request.app, services).log(thread_id)

    def accept(event: dict[str, Any]) -> bool:
        return protocol.matches(event, sub["channels"], sub["namespaces"], sub["depth"])

    async def body() -> AsyncIterator[bytes]:
        async for event in log.iterate(sub["since"], accept):
            yield _sse_frame(event)

    return sse_response(body(), headers={}, interval=services.settings.heartbeat_interval)


@router.websocket("/threads/{thread_id}/stream/events")
async def thread_events_ws(websocket: WebSocket, thread_id: str):
    """The thread's v2 events over a WebSocket. Every inbound frame is a command:
    ``subscription.subscribe`` (``params``: ``{channels, namespaces?, depth?,
    since?}``; the first one starts the events, later ones widen them),
    ``subscription.unsubscribe`` (``{subscription_id}``), or any command of
    ``POST /commands``. Each command is answered with its response frame; events
    are sent as the same JSON objects as on SSE. A thread id that is not a UUID
    closes the socket with code 4422.
    """
    services: Services = websocket.app.state.services
    await websocket.accept()
    try:
        thread_id = require_uuid(thread_id, "thread")
    except ApiError:
        await websocket.close(code=4422, reason="Invalid thread ID: must be a UUID")
        return
    try:
        await _check_readable(websocket, services, thread_id)
    except ApiError as exc:
        await websocket.close(code=4000 + exc.status_code, reason=str(exc.detail)[:120])
        return
    hub = _hub(websocket.app, services)
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
                    command, stamp = await _authorized_command(websocket, services, thread_id, command)
                except ApiError as exc:
                    code = "permission_denied" if exc.status_code == 403 else "invalid_argument"
                    await send(protocol.error(command_id, code, str(exc.detail)))
                    continue
                result = await protocol.handle_command(services, hub, thread_id, command)
                if stamp and result.get("type") == "success":
                    await _stamp_thread(services, thread_id, command)
                await send(result)
    except WebSocketDisconnect:
        pass
    finally:
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(BaseException):
                await pump
