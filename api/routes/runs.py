"""Run endpoints (API.md §3.5): create / stream / wait on threads and stateless,
batch, get, list, delete, join, join stream, cancel, cancel many."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, ClassVar, Literal, Union, get_args

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import ORJSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from evergraph.adapter import serde
from evergraph.adapter.resources.assistants import resolve_assistant
from evergraph.adapter.execution.finish import RESULT
from evergraph.adapter.resources.runs import TERMINAL, RunNotActive, cancel_run, create_run
from evergraph.adapter.services import Services
from evergraph.adapter.graphs.state import bound_graph, wait_body
from evergraph.adapter.records.sqlite import public_run
from evergraph.api.auth import authorize, authorizes, check_thread, current_user, visible
from evergraph.api.deps import services as get_services
from evergraph.api.errors import ApiError, not_found, require_uuid
from evergraph.api.models import JsonBody
from evergraph.api.sse import frame, longpoll_response, sse_response

router = APIRouter(tags=["runs"])

StreamMode = Literal[
    "values", "updates", "messages", "messages-tuple", "custom", "events", "debug", "tasks", "checkpoints"
]
"""Run stream modes the server accepts (API.md §2.2); the SDK's ``tools`` and
``lifecycle`` are refused with 422, as by the reference server (s04)."""

_STREAM_MODES = frozenset(get_args(StreamMode))


def _stream_mode_error(schema: str, value: Any) -> ApiError:
    """The reference server's 422 for a bad ``stream_mode`` (s04 [48], s13 [10]): its
    JSON-schema ``anyOf`` message, naming ``schema`` (``RunCreateStateful`` or
    ``RunCreateStateless``) and showing the value as JSON."""
    shown = serde.dumps(value).decode()
    return ApiError(
        422,
        f"{shown} is not valid under any of the schemas listed in the 'anyOf' keyword\n\n"
        f'Failed validating "anyOf" in schema["components"]["schemas"]["{schema}"]["properties"]["stream_mode"]\n\n'
        f'On instance["stream_mode"]:\n    {shown}',
    )


class RunCreate(JsonBody):
    """Body of every run-creating endpoint (API.md §3.5.1). Unknown fields are ignored;
    values that could not be stored are refused (:class:`api.models.JsonBody`)."""

    model_config = ConfigDict(extra="allow")

    assistant_id: str
    input: Any = None
    command: Union[dict[str, Any], None] = None
    metadata: Union[dict[str, Any], None] = None
    config: Union[dict[str, Any], None] = None
    context: Union[dict[str, Any], None] = None
    stream_mode: Union[StreamMode, list[StreamMode], None] = None
    stream_subgraphs: bool = False
    stream_resumable: bool = False
    interrupt_before: Union[Literal["*"], list[str], None] = None
    interrupt_after: Union[Literal["*"], list[str], None] = None
    checkpoint: Union[dict[str, Any], None] = None
    checkpoint_id: Union[str, None] = None
    multitask_strategy: Union[Literal["reject", "enqueue", "interrupt", "rollback"], None] = None
    if_not_exists: Union[Literal["reject", "create"], None] = None
    on_disconnect: Union[Literal["cancel", "continue"], None] = None
    on_completion: Union[Literal["delete", "keep"], None] = None
    after_seconds: Union[float, None] = Field(default=None, ge=0)
    webhook: Union[str, None] = None
    durability: Union[Literal["sync", "async", "exit"], None] = None
    checkpoint_during: Union[bool, None] = None
    feedback_keys: Union[list[str], None] = None

    #: name of this body's schema in the reference's OpenAPI document (error messages)
    _schema_name: ClassVar[str] = "RunCreateStateful"

    @field_validator("stream_mode", mode="before")
    @classmethod
    def _check_stream_mode(cls, value: Any) -> Any:
        """A mode or a list of modes of :data:`StreamMode`, else the reference's 422."""
        if value is None or (isinstance(value, str) and value in _STREAM_MODES):
            return value
        if isinstance(value, list) and all(isinstance(v, str) and v in _STREAM_MODES for v in value):
            return value
        raise _stream_mode_error(cls._schema_name, value)


class RunCreateStateless(RunCreate):
    """Body of the stateless run endpoints (``/runs``, ``/runs/stream``, ``/runs/wait``,
    ``/runs/batch``); same fields as :class:`RunCreate`."""

    _schema_name: ClassVar[str] = "RunCreateStateless"


class CancelMany(BaseModel):
    """Body of ``POST /runs/cancel``."""

    model_config = ConfigDict(extra="allow")
    thread_id: Union[str, None] = None
    run_ids: Union[list[str], None] = None
    status: Union[Literal["pending", "running", "all"], None] = None


def _paths(run: dict[str, Any], stateless_stream: bool = False) -> tuple[str, str]:
    base = f"/threads/{run['thread_id']}/runs/{run['run_id']}"
    if stateless_stream:
        return f"/runs/{run['run_id']}", f"/runs/{run['run_id']}/stream"
    return base, f"{base}/stream"


_RUN_KWARGS = ("input", "command", "config", "context", "stream_mode", "interrupt_before", "interrupt_after", "webhook")
MISSING_THREAD_OR_ASSISTANT = "Thread or assistant not found."


async def _create(
    request: Request, services: Services, thread_id: str | None, body: RunCreate
) -> tuple[dict[str, Any], dict[str, Any]]:
    import copy

    payload = body.model_dump(exclude_unset=False)
    # auth: threads.create_run may stamp metadata/kwargs and restrict the thread it runs on
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
        "kwargs": {k: copy.deepcopy(payload.get(k)) for k in _RUN_KWARGS},
    }
    flt = await authorize(request, "threads", "create_run", value)
    stamped = authorizes(request)
    if stamped:
        payload["metadata"] = value.get("metadata") or {}
        payload.update({k: v for k, v in (value.get("kwargs") or {}).items() if k in _RUN_KWARGS})
    assistant = await resolve_assistant(services, body.assistant_id)
    assistant_filter = await authorize(request, "assistants", "read", {"assistant_id": assistant["assistant_id"]})
    if not visible(assistant, assistant_filter):
        raise ApiError(404, MISSING_THREAD_OR_ASSISTANT)
    existed = False
    if thread_id is not None:
        thread = await services.records.get_thread(thread_id)
        existed = thread is not None
        if existed and not visible(thread, flt):
            raise ApiError(404, MISSING_THREAD_OR_ASSISTANT)
    user = current_user(request)
    run = await create_run(services, thread_id, assistant, payload, user=user.dict() if user else None)
    if stamped and not existed and payload["metadata"]:
        # the thread this run created carries the run's (stamped) metadata, so the
        # auth filters that let the user create it also let them read it
        await services.records.update_thread(run["thread_id"], metadata=payload["metadata"])
    return run, assistant


def _event_stream(
    services: Services,
    run: dict[str, Any],
    *,
    after: str | None,
    from_start: bool,
    modes: set[str] | None = None,
) -> AsyncIterator[bytes]:
    """SSE frames of ``run``'s events after ``after`` (or all, ``from_start``; or only
    new ones), ending when the run's stream ends. ``id:`` lines only for resumable
    runs (API.md §2.3). ``modes`` (wire names, ``messages`` for ``messages-tuple``)
    filters every event but ``error``, replay included, as the reference's
    ``stream_mode`` filter on join does (s06: a ``custom`` filter drops ``metadata``)."""
    with_id = bool(run["kwargs"].get("resumable"))

    async def gen() -> AsyncIterator[bytes]:
        async for event in services.broker.subscribe(run["run_id"], after, from_start=from_start):
            if event.event.startswith("__"):
                continue
            if modes and event.event != "error" and event.event.split("|")[0].split("/")[0] not in modes:
                continue
            yield frame(event, with_id=with_id)

    return gen()


async def _result(services: Services, run: dict[str, Any]) -> bytes:
    """The ``/wait``/``/join`` body of ``run``, waiting for it to end."""
    async for event in services.broker.subscribe(run["run_id"], from_start=True):
        if event.event == RESULT:
            return event.data
    # the broker no longer holds this run's events: answer from the records
    record = await services.records.get_run(run["run_id"])
    if record is None:
        return serde.dumps({"__error__": {"error": "HTTPException", "message": "404: Run not found"}})
    if record["status"] == "error":
        thread = await services.records.get_thread(run["thread_id"])
        return serde.dumps({"__error__": (thread or {}).get("error")})
    graph = await bound_graph(services, run["metadata"].get("graph_id") or run["kwargs"]["config"]["configurable"]["graph_id"])
    snapshot = await graph.aget_state({"configurable": {"thread_id": run["thread_id"]}})
    return serde.dumps(wait_body(snapshot))


def _cancel_on_disconnect(services: Services, run: dict[str, Any], enabled: bool):
    if not enabled:
        return None

    async def cancel() -> None:
        record = await services.records.get_run(run["run_id"])
        if record is not None and record["status"] not in TERMINAL:
            try:
                await cancel_run(services, record)
            except RunNotActive:
                pass

    return cancel


# ------------------------------------------------------------------ create


@router.post("/threads/{thread_id}/runs")
async def create_thread_run(
    request: Request, thread_id: str, body: RunCreate, services: Services = Depends(get_services)
):
    """Create a background run on a thread; 200 with the pending Run."""
    thread_id = require_uuid(thread_id, "thread")
    run, _ = await _create(request, services, thread_id, body)
    content_location, _ = _paths(run)
    return ORJSONResponse(public_run(run), headers={"content-location": content_location})


@router.post("/runs")
async def create_stateless_run(
    request: Request, body: RunCreateStateless, services: Services = Depends(get_services)
):
    """Create a background run on a temporary thread."""
    run, _ = await _create(request, services, None, body)
    return ORJSONResponse(public_run(run), headers={"content-location": f"/runs/{run['run_id']}"})


@router.post("/runs/batch")
async def create_batch(
    request: Request, body: list[RunCreateStateless], services: Services = Depends(get_services)
):
    """Create several stateless background runs."""
    if not body:
        raise ApiError(422, "body must be a non-empty list of run payloads")
    return [public_run((await _create(request, services, None, b))[0]) for b in body]


def _stream(services: Services, run: dict[str, Any], body: RunCreate, stateless: bool):
    content_location, location = _paths(run, stateless_stream=stateless)
    if not stateless:
        content_location = _paths(run)[0]
    return sse_response(
        _event_stream(services, run, after=None, from_start=True),
        headers={"location": location, "content-location": content_location},
        interval=services.settings.heartbeat_interval,
        on_disconnect=_cancel_on_disconnect(services, run, body.on_disconnect == "cancel"),
    )


@router.post("/threads/{thread_id}/runs/stream")
async def stream_thread_run(
    request: Request, thread_id: str, body: RunCreate, services: Services = Depends(get_services)
):
    """Create a run and stream its events (SSE)."""
    thread_id = require_uuid(thread_id, "thread")
    run, _ = await _create(request, services, thread_id, body)
    return _stream(services, run, body, stateless=False)


@router.post("/runs/stream")
async def stream_stateless_run(
    request: Request, body: RunCreateStateless, services: Services = Depends(get_services)
):
    """Create a stateless run and stream its events (SSE)."""
    run, _ = await _create(request, services, None, body)
    return _stream(services, run, body, stateless=True)


def _wait(services: Services, run: dict[str, Any], on_disconnect: bool):
    content_location = _paths(run)[0]
    return longpoll_response(
        lambda: _result(services, run),
        headers={"location": f"{content_location}/join", "content-location": content_location},
        interval=services.settings.heartbeat_interval,
        on_disconnect=_cancel_on_disconnect(services, run, on_disconnect),
    )


@router.post("/threads/{thread_id}/runs/wait")
async def wait_thread_run(
    request: Request, thread_id: str, body: RunCreate, services: Services = Depends(get_services)
):
    """Create a run and wait for its final state (long-poll JSON)."""
    thread_id = require_uuid(thread_id, "thread")
    run, _ = await _create(request, services, thread_id, body)
    return _wait(services, run, body.on_disconnect == "cancel")


@router.post("/runs/wait")
async def wait_stateless_run(
    request: Request, body: RunCreateStateless, services: Services = Depends(get_services)
):
    """Create a stateless run and wait for its final state (long-poll JSON)."""
    run, _ = await _create(request, services, None, body)
    return _wait(services, run, body.on_disconnect == "cancel")


# ------------------------------------------------------------------ read & control


async def _thread_run(
    request: Request, services: Services, thread_id: str, run_id: str, action: str = "read"
) -> dict[str, Any]:
    """The run, after the ``threads.<action>`` auth handler allowed the request; 404
    ``Not Found`` when it is unknown or its thread is hidden by the handler's filter."""
    flt = await authorize(request, "threads", action, {"thread_id": thread_id, "run_id": run_id})
    thread_id = require_uuid(thread_id, "thread")
    run_id = require_uuid(run_id, "run")
    run = await services.records.get_run(run_id, thread_id)
    if run is None:
        raise not_found()
    await check_thread(services, thread_id, flt, not_found())
    return run


@router.get("/threads/{thread_id}/runs")
async def list_runs(
    request: Request,
    thread_id: str,
    limit: int = Query(10, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    status: str | None = None,
    select: list[str] | None = Query(None),
    services: Services = Depends(get_services),
):
    """Runs of a thread, newest first; 404 if the thread is unknown."""
    flt = await authorize(request, "threads", "read", {"thread_id": thread_id})
    thread_id = require_uuid(thread_id, "thread")
    if not visible(await services.records.get_thread(thread_id), flt):
        raise not_found(f"Thread with ID {thread_id} not found")
    runs = [public_run(r) for r in await services.records.list_runs(thread_id, limit=limit, offset=offset, status=status or None)]
    if select:
        runs = [{k: v for k, v in r.items() if k in select} for r in runs]
    return runs


@router.get("/threads/{thread_id}/runs/{run_id}")
async def get_run(request: Request, thread_id: str, run_id: str, services: Services = Depends(get_services)):
    """One run; 404 ``Not Found`` if unknown."""
    return public_run(await _thread_run(request, services, thread_id, run_id))


@router.delete("/threads/{thread_id}/runs/{run_id}", status_code=204)
async def delete_run(request: Request, thread_id: str, run_id: str, services: Services = Depends(get_services)):
    """Delete a run record (a running run is cancelled first)."""
    run = await _thread_run(request, services, thread_id, run_id, "delete")
    if run["status"] not in TERMINAL:
        try:
            await cancel_run(services, run)
        except RunNotActive:
            pass
    await services.records.delete_run(run["run_id"])
    return Response(status_code=204)


@router.get("/threads/{thread_id}/runs/{run_id}/join")
async def join_run(request: Request, thread_id: str, run_id: str, services: Services = Depends(get_services)):
    """Wait for a run to end and return its final state (long-poll JSON)."""
    flt = await authorize(request, "threads", "read", {"thread_id": thread_id, "run_id": run_id})
    thread_id = require_uuid(thread_id, "thread")
    run_id = require_uuid(run_id, "run")
    run = await services.records.get_run(run_id, thread_id)
    if run is not None and flt is not None and not visible(await services.records.get_thread(thread_id), flt):
        run = None
    base = f"/threads/{thread_id}/runs/{run_id}"
    headers = {"location": f"{base}/join", "content-location": base}
    if run is None:
        async def missing() -> bytes:
            return serde.dumps({"__error__": {"error": "HTTPException", "message": "404: Run not found"}})

        return longpoll_response(missing, headers=headers, interval=services.settings.heartbeat_interval)
    return longpoll_response(lambda: _result(services, run), headers=headers, interval=services.settings.heartbeat_interval)


@router.get("/threads/{thread_id}/runs/{run_id}/stream")
async def join_run_stream(
    request: Request,
    thread_id: str,
    run_id: str,
    cancel_on_disconnect: str = "false",
    stream_mode: list[str] | None = Query(None),
    last_event_id: str | None = Header(None),
    services: Services = Depends(get_services),
):
    """Join a run's event stream (SSE). With ``Last-Event-ID`` (resumable runs),
    replays events strictly after that id (``-1``: from the start), then follows."""
    run = await _thread_run(request, services, thread_id, run_id)
    modes = {m for m in (stream_mode or []) if m}
    modes = {"messages" if m == "messages-tuple" else m for m in modes} or None
    resumable = bool(run["kwargs"].get("resumable"))
    from_start = resumable and last_event_id is not None and last_event_id.strip() == "-1"
    after = last_event_id if resumable and not from_start else None
    finished = run["status"] in TERMINAL
    if finished and not (resumable and last_event_id is not None):
        async def empty() -> AsyncIterator[bytes]:
            await asyncio.sleep(0.5)
            return
            yield b""  # pragma: no cover

        body = empty()
    else:
        body = _event_stream(services, run, after=after, from_start=from_start, modes=modes)
    base = f"/threads/{run['thread_id']}/runs/{run['run_id']}"
    return sse_response(
        body,
        headers={"location": f"{base}/stream", "content-location": base},
        interval=services.settings.heartbeat_interval,
        on_disconnect=_cancel_on_disconnect(services, run, cancel_on_disconnect.lower() in ("true", "yes", "1")),
    )


NO_MATCHING = (
    "No matching runs to cancel. Please verify the thread ID and run IDs are correct, "
    "and the runs haven't been deleted or completed."
)


@router.post("/threads/{thread_id}/runs/{run_id}/cancel")
async def cancel(
    request: Request,
    thread_id: str,
    run_id: str,
    wait: str = "0",
    action: Literal["interrupt", "rollback"] = "interrupt",
    services: Services = Depends(get_services),
):
    """Cancel a pending or running run: 202 (``wait=0``) or 200 ``{}`` once it stopped."""
    flt = await authorize(request, "threads", "update", {"thread_id": thread_id, "run_id": run_id, "action": action})
    thread_id = require_uuid(thread_id, "thread")
    run_id = require_uuid(run_id, "run")
    run = await services.records.get_run(run_id, thread_id)
    if run is None:
        raise not_found("No runs found to cancel.")
    await check_thread(services, thread_id, flt, not_found("No runs found to cancel."))
    if run["status"] in TERMINAL:
        raise not_found(NO_MATCHING)
    try:
        await cancel_run(services, run, action)
    except RunNotActive:
        raise not_found(NO_MATCHING) from None
    if wait.lower() not in ("1", "true", "yes"):
        return Response(status_code=202)

    async def stopped() -> bytes:
        async for _event in services.broker.subscribe(run_id, from_start=True):
            pass
        return b"{}"

    base = f"/threads/{thread_id}/runs/{run_id}"
    return longpoll_response(
        stopped, headers={"location": f"{base}/join", "content-location": base}, interval=services.settings.heartbeat_interval
    )


@router.post("/runs/cancel", status_code=204)
async def cancel_many(
    request: Request,
    body: CancelMany,
    action: Literal["interrupt", "rollback"] = "interrupt",
    services: Services = Depends(get_services),
):
    """Cancel several runs (by ids, by thread, or by status)."""
    records = services.records
    runs: list[dict[str, Any]] = []
    if body.run_ids:
        for rid in body.run_ids:
            r = await records.get_run(require_uuid(rid, "run"), body.thread_id)
            if r is not None:
                runs.append(r)
    elif body.thread_id:
        runs = await records.active_runs(require_uuid(body.thread_id, "thread"))
    wanted = {"pending": ("pending",), "running": ("running",)}.get(body.status or "all", ("pending", "running"))
    runs = [r for r in runs if r["status"] in wanted]
    allowed: dict[str, bool] = {}
    for r in runs:
        if r["thread_id"] not in allowed:
            flt = await authorize(request, "threads", "update", {"thread_id": r["thread_id"], "action": action})
            allowed[r["thread_id"]] = flt is None or visible(await records.get_thread(r["thread_id"]), flt)
    runs = [r for r in runs if allowed[r["thread_id"]]]
    if not runs:
        raise not_found(NO_MATCHING)
    cancelled = 0
    for r in runs:
        try:
            await cancel_run(services, r, action)
            cancelled += 1
        except RunNotActive:
            pass
    if not cancelled:
        raise not_found(NO_MATCHING)
    return Response(status_code=204)
