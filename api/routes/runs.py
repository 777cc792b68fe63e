"""Run endpoints: create / stream / wait on threads and stateless, batch, get, list,
delete, join, join stream, cancel, cancel many.

Each handler authorizes the request, calls :mod:`evergraph.adapter.resources.runs`
and shapes the response (see docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any, AsyncIterator, Literal

import orjson
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import ORJSONResponse

from evergraph.adapter.errors import NotFound
from evergraph.adapter.ids import require_uuid
from evergraph.adapter.records.common import public_run
from evergraph.adapter.resources import runs, threads
from evergraph.adapter.resources.assistants import NOT_FOUND_FOR_RUN, resolve_assistant
from evergraph.adapter.services import Services
from evergraph.api.auth import authorize, authorizes, current_user, visible
from evergraph.api.deps import ServicesDep
from evergraph.api.errors import ApiError
from evergraph.api.headers import run_headers
from evergraph.api.models import (
    INT64_MAX,
    CancelMany,
    RunCreate,
    RunCreateBackground,
    RunCreateStateless,
    RunCreateStatelessBackground,
)
from evergraph.api.sse import longpoll_response, sse_frames, sse_response

__all__ = [
    "CANCEL_STATUS_ALONE",
    "RUN_FIELDS",
    "RUN_KWARGS",
    "cancel",
    "cancel_many",
    "create_authorized_run",
    "create_batch",
    "create_stateless_run",
    "create_thread_run",
    "delete_run",
    "get_run",
    "join_run",
    "join_run_stream",
    "list_runs",
    "router",
    "stream_stateless_run",
    "stream_thread_run",
    "wait_stateless_run",
    "wait_thread_run",
]

router = APIRouter(tags=["runs"])

#: 422 of ``POST /runs/cancel`` when ``status`` comes with ``thread_id``/``run_ids``
#: (langgraph-api 0.16.7's words)
CANCEL_STATUS_ALONE = (
    "When providing a 'status', 'thread_id' and 'run_ids' must be omitted. "
    "The 'status' parameter cancels all runs with the given status, regardless of thread or run ID."
)


def _paths(run: dict[str, Any], stateless_stream: bool = False) -> tuple[str, str]:
    base = f"/threads/{run['thread_id']}/runs/{run['run_id']}"
    if stateless_stream:
        return f"/runs/{run['run_id']}", f"/runs/{run['run_id']}/stream"
    return base, f"{base}/stream"


#: the fields of a Run object, the ones ``GET /threads/{id}/runs?select=`` may name
RUN_FIELDS = (
    "run_id", "thread_id", "assistant_id", "created_at", "updated_at", "status", "metadata", "kwargs",
    "multitask_strategy", "langsmith_session_name", "cancel_reason",
)

#: the request fields an auth handler sees (and may stamp) as ``value["kwargs"]``
RUN_KWARGS = ("input", "command", "config", "context", "stream_mode", "interrupt_before", "interrupt_after", "webhook")


async def create_authorized_run(
    request: Request, services: Services, thread_id: str | None, body: RunCreate
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Authorize (``threads.create_run``, which may stamp metadata and kwargs, and
    ``assistants.read``) and create the run; returns the run and assistant records.

    Raises:
        NotFound: ``Thread or assistant not found.`` when a filter hides either.
    """
    payload = body.model_dump(exclude_unset=False)
    value: dict[str, Any] = {
        "thread_id": thread_id,
        "assistant_id": body.assistant_id,
        "run_id": None,
        "status": "pending",
        "metadata": copy.deepcopy(payload.get("metadata") or {}),
        "prevent_insert_if_inflight": True,
        "multitask_strategy": payload.get("multitask_strategy") or "enqueue",
        "if_not_exists": payload.get("if_not_exists") or "reject",
        "after_seconds": payload.get("after_seconds") or 0,
        "kwargs": {k: copy.deepcopy(payload.get(k)) for k in RUN_KWARGS},
    }
    flt = await authorize(request, "threads", "create_run", value)
    stamped = authorizes(request)
    if stamped:
        payload["metadata"] = value.get("metadata") or {}
        payload.update({k: v for k, v in (value.get("kwargs") or {}).items() if k in RUN_KWARGS})
    assistant = await resolve_assistant(services, body.assistant_id)
    assistant_filter = await authorize(request, "assistants", "read", {"assistant_id": assistant["assistant_id"]})
    if not visible(assistant, assistant_filter):
        raise NotFound(NOT_FOUND_FOR_RUN)
    existed = False
    if thread_id is not None:
        try:
            existed = await threads.visible_thread(services, thread_id, flt) is not None
        except NotFound:
            raise NotFound(NOT_FOUND_FOR_RUN) from None
    user = current_user(request)
    # langgraph.json http.configurable_headers: request headers the run's configurable gets
    passed = run_headers(request.headers.items(), services.registry.config.http.configurable_headers)
    run = await runs.create_run(
        services, thread_id, assistant, payload, user=user.dict() if user else None, headers=passed
    )
    if stamped and not existed and payload["metadata"]:
        await threads.stamp_metadata(services, run["thread_id"], payload["metadata"])
    return run, assistant


def _events(run: dict[str, Any], events: AsyncIterator[Any]) -> AsyncIterator[bytes]:
    """SSE frames of a run's events; ``id:`` lines only for resumable runs."""
    return sse_frames(events, with_id=bool(run["kwargs"].get("resumable")))


def _cancel_on_disconnect(services: Services, run: dict[str, Any], enabled: bool):
    if not enabled:
        return None

    async def cancel() -> None:
        await runs.cancel_if_active(services, run["run_id"])

    return cancel


# ------------------------------------------------------------------ create


@router.post("/threads/{thread_id}/runs")
async def create_thread_run(request: Request, thread_id: str, body: RunCreateBackground, services: ServicesDep):
    """Create a background run on a thread; 200 with the pending Run."""
    thread_id = require_uuid(thread_id, "thread")
    run, _ = await create_authorized_run(request, services, thread_id, body)
    content_location, _ = _paths(run)
    return ORJSONResponse(public_run(run), headers={"content-location": content_location})


@router.post("/runs")
async def create_stateless_run(request: Request, body: RunCreateStatelessBackground, services: ServicesDep):
    """Create a background run on a temporary thread."""
    run, _ = await create_authorized_run(request, services, None, body)
    return ORJSONResponse(public_run(run), headers={"content-location": f"/runs/{run['run_id']}"})


@router.post("/runs/batch")
async def create_batch(request: Request, body: list[RunCreateStateless], services: ServicesDep):
    """Create several stateless background runs."""
    if not body:
        raise ApiError(422, "body must be a non-empty list of run payloads")
    return [public_run((await create_authorized_run(request, services, None, b))[0]) for b in body]


def _stream(services: Services, run: dict[str, Any], body: RunCreate, stateless: bool):
    content_location, location = _paths(run, stateless_stream=stateless)
    if not stateless:
        content_location = _paths(run)[0]
    return sse_response(
        _events(run, runs.run_events(services, run, after=None, from_start=True)),
        headers={"location": location, "content-location": content_location},
        interval=services.settings.heartbeat_interval,
        on_disconnect=_cancel_on_disconnect(services, run, body.on_disconnect == "cancel"),
    )


@router.post("/threads/{thread_id}/runs/stream")
async def stream_thread_run(request: Request, thread_id: str, body: RunCreate, services: ServicesDep):
    """Create a run and stream its events (SSE)."""
    thread_id = require_uuid(thread_id, "thread")
    run, _ = await create_authorized_run(request, services, thread_id, body)
    return _stream(services, run, body, stateless=False)


@router.post("/runs/stream")
async def stream_stateless_run(request: Request, body: RunCreateStateless, services: ServicesDep):
    """Create a stateless run and stream its events (SSE)."""
    run, _ = await create_authorized_run(request, services, None, body)
    return _stream(services, run, body, stateless=True)


def _wait(services: Services, run: dict[str, Any], on_disconnect: bool):
    content_location = _paths(run)[0]
    return longpoll_response(
        lambda: runs.wait_result(services, run),
        headers={"location": f"{content_location}/join", "content-location": content_location},
        interval=services.settings.heartbeat_interval,
        on_disconnect=_cancel_on_disconnect(services, run, on_disconnect),
    )


@router.post("/threads/{thread_id}/runs/wait")
async def wait_thread_run(request: Request, thread_id: str, body: RunCreate, services: ServicesDep):
    """Create a run and wait for its final state (long-poll JSON)."""
    thread_id = require_uuid(thread_id, "thread")
    run, _ = await create_authorized_run(request, services, thread_id, body)
    return _wait(services, run, body.on_disconnect == "cancel")


@router.post("/runs/wait")
async def wait_stateless_run(request: Request, body: RunCreateStateless, services: ServicesDep):
    """Create a stateless run and wait for its final state (long-poll JSON)."""
    run, _ = await create_authorized_run(request, services, None, body)
    return _wait(services, run, body.on_disconnect == "cancel")


# ------------------------------------------------------------------ read & control


async def _thread_run(
    request: Request, services: Services, thread_id: str, run_id: str, action: str = "read"
) -> dict[str, Any]:
    """The run, after the ``threads.<action>`` auth handler allowed the request; 404
    ``Not Found`` when it is unknown or its thread is hidden by the handler's filter."""
    flt = await authorize(request, "threads", action, {"thread_id": thread_id, "run_id": run_id})
    return await runs.get_run(services, require_uuid(thread_id, "thread"), require_uuid(run_id, "run"), flt)


@router.get("/threads/{thread_id}/runs")
async def list_runs(
    request: Request,
    thread_id: str,
    services: ServicesDep,
    limit: int = Query(10, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=INT64_MAX),
    status: str | None = None,
    select: list[str] | None = Query(None),
):
    """Runs of a thread, newest first; 404 if the thread is unknown; 422 when
    ``select`` names a field a Run does not have. A selected ``cancel_reason`` is
    ``null`` on a run that was not cancelled (unselected, it is left out)."""
    unknown = [field for field in select or [] if field not in RUN_FIELDS]
    if unknown:
        raise ApiError(422, f"Invalid select columns: {unknown}. Expected: {{{', '.join(map(repr, RUN_FIELDS))}}}")
    flt = await authorize(request, "threads", "read", {"thread_id": thread_id})
    thread = await threads.get_thread(services, thread_id, flt)
    found = [public_run(r) for r in await runs.list_runs(
        services, thread["thread_id"], limit=limit, offset=offset, status=status
    )]
    if select:
        found = [{k: v for k, v in ({"cancel_reason": None} | r).items() if k in select} for r in found]
    return found


@router.get("/threads/{thread_id}/runs/{run_id}")
async def get_run(request: Request, thread_id: str, run_id: str, services: ServicesDep):
    """One run; 404 ``Not Found`` if unknown."""
    return public_run(await _thread_run(request, services, thread_id, run_id))


@router.delete("/threads/{thread_id}/runs/{run_id}", status_code=204)
async def delete_run(request: Request, thread_id: str, run_id: str, services: ServicesDep):
    """Delete a run record (a running run is cancelled first)."""
    await runs.delete_run(services, await _thread_run(request, services, thread_id, run_id, "delete"))
    return Response(status_code=204)


@router.get("/threads/{thread_id}/runs/{run_id}/join")
async def join_run(request: Request, thread_id: str, run_id: str, services: ServicesDep):
    """Wait for a run to end and return its final state (long-poll JSON). An unknown
    run, or one whose thread the auth filter hides, is 404 ``Not Found`` as ``GET``
    of the run answers (langgraph-api 0.16.7 answers 200 with a ``404: Run not
    found`` error body); a run deleted while it is awaited still ends the long-poll
    with that body."""
    run = await _thread_run(request, services, thread_id, run_id)
    base = f"/threads/{run['thread_id']}/runs/{run['run_id']}"

    async def result() -> bytes:
        return await runs.wait_result(services, run)

    return longpoll_response(
        result, headers={"location": f"{base}/join", "content-location": base},
        interval=services.settings.heartbeat_interval,
    )


async def _nothing() -> AsyncIterator[bytes]:
    """An SSE body that ends after half a second without an event (joining a run
    that has ended, without a cursor)."""
    await asyncio.sleep(0.5)
    return
    yield b""  # pragma: no cover


@router.get("/threads/{thread_id}/runs/{run_id}/stream")
async def join_run_stream(
    request: Request,
    thread_id: str,
    run_id: str,
    services: ServicesDep,
    cancel_on_disconnect: str = "false",
    stream_mode: list[str] | None = Query(None),
    last_event_id: str | None = Header(None),
):
    """Join a run's event stream (SSE). With ``Last-Event-ID`` (resumable runs),
    replays events strictly after that id (``-1``: from the start), then follows.
    ``stream_mode`` keeps only those modes, replay included."""
    run = await _thread_run(request, services, thread_id, run_id)
    modes = {m for m in (stream_mode or []) if m}
    modes = {"messages" if m == "messages-tuple" else m for m in modes} or None
    resumable = bool(run["kwargs"].get("resumable"))
    from_start = resumable and last_event_id is not None and last_event_id.strip() == "-1"
    after = last_event_id if resumable and not from_start else None
    finished = run["status"] in runs.TERMINAL
    if finished and not (resumable and last_event_id is not None):
        body = _nothing()
    else:
        body = _events(run, runs.run_events(services, run, after=after, from_start=from_start, modes=modes))
    base = f"/threads/{run['thread_id']}/runs/{run['run_id']}"
    return sse_response(
        body,
        headers={"location": f"{base}/stream", "content-location": base},
        interval=services.settings.heartbeat_interval,
        on_disconnect=_cancel_on_disconnect(services, run, cancel_on_disconnect.lower() in ("true", "yes", "1")),
    )


@router.post("/threads/{thread_id}/runs/{run_id}/cancel")
async def cancel(
    request: Request,
    thread_id: str,
    run_id: str,
    services: ServicesDep,
    wait: str = "0",
    action: Literal["interrupt", "rollback"] = "interrupt",
    reason: str | None = None,
):
    """Cancel a pending or running run: 202 (``wait=0``) or 200 ``{}`` once it stopped.
    The run's ``cancel_reason`` is langgraph-api's text for this endpoint, prefixed
    ``taken:`` with ``reason=taken`` (the JS SDK's option for a run whose input the
    caller took over; 422 for another value, or with ``action=rollback``)."""
    if reason is not None and reason != "taken":
        raise ApiError(422, f"Invalid reason: {reason!r}. Expected: 'taken'")
    if reason == "taken" and action != "interrupt":
        raise ApiError(422, "reason=taken is only valid with action=interrupt")
    flt = await authorize(request, "threads", "update", {"thread_id": thread_id, "run_id": run_id, "action": action})
    thread_id = require_uuid(thread_id, "thread")
    run_id = require_uuid(run_id, "run")
    run = await runs.get_run(services, thread_id, run_id, flt, missing="No runs found to cancel.")
    why = runs.CANCEL_REQUESTED.format(action=action)
    await runs.cancel_runs(services, [run], action, runs.CANCEL_TAKEN + why if reason else why)
    if wait.lower() not in ("1", "true", "yes"):
        return Response(status_code=202)
    base = f"/threads/{thread_id}/runs/{run_id}"
    return longpoll_response(
        lambda: runs.wait_stopped(services, run_id),
        headers={"location": f"{base}/join", "content-location": base},
        interval=services.settings.heartbeat_interval,
    )


def _check_cancel_many(body: CancelMany) -> None:
    """``POST /runs/cancel`` takes ``status`` alone, or ``thread_id`` with ``run_ids``
    (langgraph-api 0.16.7's ``RunsCancel`` ``oneOf``).

    Raises:
        ApiError: 422 with langgraph-api 0.16.7's message: the body matches neither
            form, or both; :data:`CANCEL_STATUS_ALONE` when ``status`` comes with
            only one of ``thread_id``/``run_ids``.
    """
    given = body.model_fields_set | set(body.model_extra or {})
    by_status = "status" in given
    by_ids = {"thread_id", "run_ids"} <= given
    if by_status == by_ids:
        instance = body.model_dump(include=given) | dict(body.model_extra or {})
        try:
            shown = orjson.dumps(instance, option=orjson.OPT_SORT_KEYS).decode()
        except TypeError:  # what orjson cannot write (integers past 64 bits, lone surrogates)
            shown = json.dumps(instance, sort_keys=True, separators=(",", ":"))
        verdict = "is valid under more than one" if by_status else "is not valid under any"
        raise ApiError(
            422,
            f"{shown} {verdict} of the schemas listed in the 'oneOf' keyword\n\n"
            f'Failed validating "oneOf" in schema\n\nOn instance:\n    {shown}',
        )
    if by_status and (body.thread_id or body.run_ids):
        raise ApiError(422, CANCEL_STATUS_ALONE)


@router.post("/runs/cancel", status_code=204)
async def cancel_many(
    request: Request,
    body: CancelMany,
    services: ServicesDep,
    action: Literal["interrupt", "rollback"] = "interrupt",
):
    """Cancel several runs: ``thread_id`` with ``run_ids``, or ``status`` alone (the
    matching runs of every thread); 404 when none can be, 422 when ``status`` comes
    with ``thread_id`` or ``run_ids``."""
    _check_cancel_many(body)
    run_ids = [require_uuid(rid, "run") for rid in body.run_ids or []]
    thread_id = body.thread_id if run_ids or not body.thread_id else require_uuid(body.thread_id, "thread")
    found = await runs.runs_to_cancel(services, run_ids=run_ids, thread_id=thread_id, status=body.status)
    allowed: dict[str, bool] = {}
    for r in found:
        if r["thread_id"] not in allowed:
            flt = await authorize(request, "threads", "update", {"thread_id": r["thread_id"], "action": action})
            allowed[r["thread_id"]] = await threads.thread_visible(services, r["thread_id"], flt)
    why = runs.CANCEL_MANY_REQUESTED.format(action=action)
    await runs.cancel_runs(services, [r for r in found if allowed[r["thread_id"]]], action, why)
    return Response(status_code=204)
