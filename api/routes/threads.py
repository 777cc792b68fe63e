"""Thread endpoints: create, search, count, prune, get, patch, delete, copy; the
thread's state (current, at a checkpoint, update) and history; and the thread's event
stream across runs (``GET /threads/{id}/stream``).

Each handler authorizes the request, calls :mod:`evergraph.adapter.resources.threads`
(the stream: :mod:`evergraph.adapter.resources.follow`) and shapes the response (see
docs/architecture.md).
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from fastapi import APIRouter, Header, Query, Request, Response

from evergraph.adapter.ids import new_id, require_uuid
from evergraph.adapter.records.common import public_thread
from evergraph.adapter.resources import follow, threads
from evergraph.adapter.resources.storage import StorageUnsupported, get_thread_storage
from evergraph.adapter.resources.ttl import ttl_view
from evergraph.api.auth import authorize
from evergraph.api.deps import ServicesDep
from evergraph.api.errors import ApiError
from evergraph.api.models import (
    INT64_MAX,
    HistoryRequest,
    StateAtCheckpoint,
    StateUpdate,
    ThreadCount,
    ThreadCreate,
    ThreadPatch,
    ThreadPrune,
    ThreadSearch,
    ThreadTTL,
)
from evergraph.api.responses import json_response, paginate, select_fields, sort_records
from evergraph.api.sse import sse_frames, sse_response

__all__ = [
    "copy_thread",
    "count_threads",
    "create_thread",
    "delete_thread",
    "get_history",
    "get_state",
    "get_state_at",
    "get_state_at_checkpoint",
    "get_thread",
    "get_storage",
    "join_thread_stream",
    "patch_thread",
    "post_history",
    "prune_threads",
    "router",
    "search_threads",
    "update_state",
]

router = APIRouter(tags=["threads"])


def _ttl(value: ThreadTTL | float | None) -> dict[str, Any] | float | None:
    """The request's ``ttl`` as :func:`~evergraph.adapter.resources.threads.ttl_setting` reads it."""
    return {"strategy": value.strategy, "ttl": value.ttl} if isinstance(value, ThreadTTL) else value


# -------------------------------------------------------------------------------- threads


@router.post("/threads")
async def create_thread(request: Request, services: ServicesDep, body: ThreadCreate | None = None):
    """Create a thread (``if_exists``: ``raise`` → 409, ``do_nothing`` → the existing
    one). ``supersteps`` pre-fill its state through LangGraph's bulk update, on the
    graph named by ``metadata.graph_id``."""
    body = body or ThreadCreate()
    thread_id = require_uuid(body.thread_id, "thread") if body.thread_id is not None else new_id()
    ttl = threads.ttl_setting(_ttl(body.ttl))
    value: dict[str, Any] = {
        "thread_id": thread_id, "metadata": copy.deepcopy(body.metadata or {}), "if_exists": body.if_exists or "raise",
    }
    if ttl is not None:
        value["ttl"] = ttl
    flt = await authorize(request, "threads", "create", value)
    thread = await threads.create_thread(
        services,
        thread_id,
        value.get("metadata") or {},
        if_exists=body.if_exists or "raise",
        ttl=ttl,
        supersteps=[step.model_dump() for step in body.supersteps or []],
        flt=flt,
    )
    return public_thread(thread)


@router.post("/threads/search")
async def search_threads(request: Request, services: ServicesDep, body: ThreadSearch | None = None):
    """Threads matching ``ids``/``status``/``metadata``/``values`` and not
    ``exclude_metadata``, one page, with ``X-Pagination-*`` headers; ``extract`` adds
    an ``extracted`` object."""
    body = body or ThreadSearch()
    threads.check_extract(body.extract)
    ids = None
    if body.ids is not None:
        ids = [require_uuid(i, "thread") for i in body.ids]
        if not ids:
            return json_response([], headers={"X-Pagination-Total": str(body.offset)})
    flt = await authorize(request, "threads", "search", {
        "metadata": body.metadata or {}, "values": body.values or {}, "status": body.status,
        "limit": body.limit, "offset": body.offset, "ids": ids,
    })
    items = await threads.search_threads(
        services, ids=ids, status=body.status, metadata=body.metadata, values=body.values, flt=flt,
        exclude_metadata=body.exclude_metadata,
    )
    items = sort_records(items, body.sort_by or "updated_at", body.sort_order, "thread_id")
    page, headers = paginate(items, body.limit, body.offset)
    out = []
    for t in page:
        doc = public_thread(t)
        extracted = {alias: threads.extract_path(doc, path) for alias, path in (body.extract or {}).items()}
        doc = select_fields(doc, body.select)
        if body.select and "interrupts" in body.select and doc.get("interrupts") is None:
            doc["interrupts"] = {}
        if body.extract:
            doc["extracted"] = extracted
        out.append(doc)
    return json_response(out, headers=headers)


@router.post("/threads/count")
async def count_threads(request: Request, services: ServicesDep, body: ThreadCount | None = None) -> int:
    """The number of threads matching ``metadata``/``values``/``status`` and not
    ``exclude_metadata`` (an integer)."""
    body = body or ThreadCount()
    flt = await authorize(request, "threads", "search", {
        "metadata": body.metadata or {}, "values": body.values or {}, "status": body.status,
    })
    return await threads.count_threads(
        services, status=body.status, metadata=body.metadata, values=body.values, flt=flt,
        exclude_metadata=body.exclude_metadata,
    )


@router.post("/threads/prune")
async def prune_threads(request: Request, body: ThreadPrune, services: ServicesDep):
    """``delete``: remove the threads entirely; ``keep_latest``: keep each thread with
    only its latest checkpoint. Returns ``{"pruned_count": n}`` (unknown ids are
    skipped)."""
    ids = list(dict.fromkeys(require_uuid(t, "thread") for t in body.thread_ids))

    async def delete_filter(thread_id: str) -> dict[str, Any] | None:
        return await authorize(request, "threads", "delete", {"thread_id": thread_id})

    return {"pruned_count": await threads.prune_threads(services, ids, body.strategy, delete_filter)}


@router.get("/threads/{thread_id}")
async def get_thread(
    request: Request, thread_id: str, services: ServicesDep, include: list[str] | None = Query(None)
):
    """One thread; 404 ``Thread with ID <id> not found``. ``include=ttl`` adds the
    ``ttl`` that applies to it (its own or ``checkpointer.ttl.default_ttl``) as
    ``{"strategy", "ttl_minutes", "expires_at"}`` (adapter/resources/ttl.py)."""
    flt = await authorize(request, "threads", "read", {"thread_id": thread_id})
    thread = await threads.get_thread(services, thread_id, flt)
    doc = public_thread(thread)
    wanted = {part.strip() for item in include or [] for part in item.split(",") if part.strip()}
    if "ttl" in wanted:
        ttl = ttl_view(thread, services.registry.config.thread_ttl)
        if ttl is not None:
            doc["ttl"] = ttl
    return doc


@router.patch("/threads/{thread_id}")
async def patch_thread(
    request: Request,
    thread_id: str,
    services: ServicesDep,
    body: ThreadPatch | None = None,
    prefer: str | None = Header(None),
):
    """Merge ``metadata`` into the thread's (and set ``ttl``); ``Prefer:
    return=minimal`` answers 204 without a body."""
    body = body or ThreadPatch()
    value: dict[str, Any] = {"thread_id": thread_id, "metadata": copy.deepcopy(body.metadata or {})}
    flt = await authorize(request, "threads", "update", value)
    updated = await threads.update_thread(
        services, thread_id, metadata=value.get("metadata") or {}, ttl=_ttl(body.ttl), flt=flt
    )
    if prefer and "return=minimal" in prefer.replace(" ", "").lower():
        return Response(status_code=204)
    return public_thread(updated)


@router.delete("/threads/{thread_id}", status_code=204)
async def delete_thread(request: Request, thread_id: str, services: ServicesDep):
    """Delete a thread, its runs and its checkpoints (204; 404 if unknown)."""
    flt = await authorize(request, "threads", "delete", {"thread_id": thread_id})
    await threads.delete_thread(services, thread_id, flt)
    return Response(status_code=204)


@router.post("/threads/{thread_id}/copy")
async def copy_thread(request: Request, thread_id: str, services: ServicesDep):
    """A new thread (random uuid4) with the same metadata and a copy of every
    checkpoint; the response has no ``values``, ``interrupts`` or ``error`` key, as
    langgraph-api 0.16.7 answers."""
    source = await threads.get_thread(
        services, thread_id, await authorize(request, "threads", "read", {"thread_id": thread_id})
    )
    value = {"thread_id": str(uuid.uuid4()), "metadata": copy.deepcopy(source.get("metadata") or {})}
    await authorize(request, "threads", "create", value)
    thread = await threads.copy_thread(services, source, value["thread_id"], value.get("metadata") or {})
    return {k: v for k, v in public_thread(thread).items() if k not in ("values", "interrupts", "error")}


# ---------------------------------------------------------------------------------- state


@router.get("/threads/{thread_id}/state")
async def get_state(
    request: Request,
    thread_id: str,
    services: ServicesDep,
    subgraphs: bool = False,
    select: list[str] | None = Query(None),
):
    """The thread's current ThreadState (the empty state when it has none)."""
    flt = await authorize(request, "threads", "read", {"thread_id": thread_id})
    return await threads.get_state(services, thread_id, subgraphs=subgraphs, select=select, flt=flt)


@router.get("/threads/{thread_id}/state/{checkpoint_id}")
async def get_state_at(
    request: Request,
    thread_id: str,
    checkpoint_id: str,
    services: ServicesDep,
    subgraphs: bool = False,
    select: list[str] | None = Query(None),
):
    """ThreadState at ``checkpoint_id`` (an unknown id gives empty values, as
    langgraph-api 0.16.7 answers)."""
    flt = await authorize(request, "threads", "read", {"thread_id": thread_id})
    return await threads.get_state(
        services, thread_id, checkpoint={"checkpoint_id": checkpoint_id}, subgraphs=subgraphs, select=select, flt=flt
    )


@router.post("/threads/{thread_id}/state/checkpoint")
async def get_state_at_checkpoint(request: Request, thread_id: str, body: StateAtCheckpoint, services: ServicesDep):
    """ThreadState at ``body.checkpoint`` (``checkpoint_id``, ``checkpoint_ns``…)."""
    flt = await authorize(request, "threads", "read", {"thread_id": thread_id})
    return await threads.get_state(
        services, thread_id, checkpoint=body.checkpoint, subgraphs=body.subgraphs, select=body.select, flt=flt
    )


@router.post("/threads/{thread_id}/state")
async def update_state(request: Request, thread_id: str, body: StateUpdate, services: ServicesDep):
    """Apply ``values`` as if ``as_node`` returned them (LangGraph ``aupdate_state``),
    on the latest checkpoint or, forking, on ``checkpoint``/``checkpoint_id``.

    400 ``Node <x> does not exist`` (and LangGraph's other invalid-update errors),
    nothing written.
    """
    flt = await authorize(request, "threads", "update", {"thread_id": thread_id})
    return await threads.update_state(
        services, thread_id, values=body.values, as_node=body.as_node, checkpoint=body.checkpoint,
        checkpoint_id=body.checkpoint_id, flt=flt,
    )


# -------------------------------------------------------------------------------- history


@router.post("/threads/{thread_id}/history")
async def post_history(request: Request, thread_id: str, services: ServicesDep, body: HistoryRequest | None = None):
    """The thread's ThreadStates, newest first; ``before`` is
    ``{"configurable": {"checkpoint_id": …}}`` (a bare string gives 422, as
    langgraph-api 0.16.7 answers)."""
    body = body or HistoryRequest()
    flt = await authorize(request, "threads", "read", {"thread_id": thread_id})
    return await threads.get_history(
        services, thread_id, limit=body.limit, before=body.before, metadata=body.metadata,
        checkpoint=body.checkpoint, select=body.select, flt=flt,
    )


@router.get("/threads/{thread_id}/history")
async def get_history(
    request: Request,
    thread_id: str,
    services: ServicesDep,
    limit: int = Query(1, ge=1, le=INT64_MAX),
    before: str | None = None,
    select: list[str] | None = Query(None),
):
    """``GET`` form of the history: ``limit`` 1 by default (as langgraph-api 0.16.7);
    ``before`` is a checkpoint id; ``select`` (repeated or comma-separated) keeps
    top-level fields or ``values.<key>``, as in ``POST``."""
    flt = await authorize(request, "threads", "read", {"thread_id": thread_id})
    before_config = {"configurable": {"checkpoint_id": before}} if before else None
    fields = [part.strip() for item in select or [] for part in item.split(",") if part.strip()] or None
    return await threads.get_history(
        services, thread_id, limit=limit, before=before_config, select=fields, flt=flt
    )


# ------------------------------------------------------------------------------ thread stream


@router.get("/threads/{thread_id}/stream")
async def join_thread_stream(
    request: Request,
    thread_id: str,
    services: ServicesDep,
    stream_modes: list[str] | None = Query(None),
    stream_mode: list[str] | None = Query(None),
    last_event_id: str | None = Header(None),
):
    """The thread's event stream across runs (SSE; every event has an ``id:``). It
    stays open (heartbeats) until the client leaves. Without ``Last-Event-ID`` it
    carries events published from now on; with one, every retained event strictly
    after it (``-1``: from the start). Reads ``stream_modes`` as langgraph-api 0.16.7
    does and, without it, ``stream_mode`` (what the SDK's ``join_stream`` sends, which
    0.16.7 ignores).

    404 unknown thread; 422 invalid mode or an id that is not ``<ms>-<n>`` (or ``-1``).
    """
    flt = await authorize(request, "threads", "read", {"thread_id": thread_id})
    events = await follow.open_thread_stream(
        services, thread_id, stream_modes=stream_modes or stream_mode, last_event_id=last_event_id, flt=flt
    )
    return sse_response(
        sse_frames(events, with_id=True),
        headers={},
        interval=services.settings.heartbeat_interval,
    )


# ------------------------------------------------------------------------------- storage


@router.get("/threads/{thread_id}/storage")
async def get_storage(request: Request, thread_id: str, services: ServicesDep):
    """Bytes the thread occupies in the checkpointer: ``{"thread_id", "total_bytes",
    "checkpoints", "channel_values", "pending_writes"}`` (langgraph-api 0.16.7's
    ``ThreadStorage``); 404 unknown thread, 422 not a UUID, 501 when the checkpointer
    cannot report it."""
    flt = await authorize(request, "threads", "read", {"thread_id": thread_id})
    try:
        return await get_thread_storage(services, thread_id, flt)
    except StorageUnsupported:
        raise ApiError(501, "Checkpoint storage is only reported for the built-in checkpointer.") from None
