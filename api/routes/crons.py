"""Cron endpoints: create (stateless and on a thread), get, update, delete, search,
count. Each cron is a Temporal Schedule; the logic is
:mod:`evergraph.adapter.resources.crons` (see docs/architecture.md).
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar, Literal, Union

from fastapi import APIRouter, Request, Response
from fastapi.responses import ORJSONResponse
from pydantic import BaseModel, ConfigDict

from evergraph.adapter.ids import iso, now, require_uuid
from evergraph.adapter.resources import crons, threads
from evergraph.adapter.resources.assistants import NOT_FOUND_FOR_RUN, resolve_cron_assistant
from evergraph.adapter.services import Services
from evergraph.api.auth import authorize, current_user, visible
from evergraph.api.deps import ServicesDep
from evergraph.api.errors import ApiError, not_found
from evergraph.api.models import JsonBody, RunCreate, StreamMode

__all__ = [
    "CronCount",
    "CronCreate",
    "CronPatch",
    "CronSearch",
    "CronSelectField",
    "count_crons",
    "create_cron",
    "create_thread_cron",
    "delete_cron",
    "get_cron",
    "router",
    "search_crons",
    "update_cron",
]

router = APIRouter(tags=["crons"])

CronSelectField = Literal[
    "cron_id", "assistant_id", "thread_id", "end_time", "schedule", "timezone", "created_at", "updated_at",
    "user_id", "payload", "next_run_date", "metadata", "now", "on_run_completed", "enabled",
]
"""``select`` values of ``POST /runs/crons/search`` (the SDK's ``CronSelectField``)."""


class CronCreate(RunCreate):
    """Body of ``POST /runs/crons`` and ``POST /threads/{id}/runs/crons``: the run
    fields of :class:`~evergraph.api.models.RunCreate` plus the schedule's. Unknown fields
    are ignored."""

    schedule: str
    end_time: Union[str, None] = None
    enabled: Union[bool, None] = None
    timezone: Union[str, None] = None
    on_run_completed: Union[Literal["delete", "keep"], None] = None

    #: langgraph-api 0.16.7's cron 422s name no schema
    _schema_name: ClassVar[str | None] = None


class CronPatch(JsonBody):
    """Body of ``PATCH /runs/crons/{id}``: any create field; absent fields stay,
    ``end_time: null`` clears the end time."""

    model_config = ConfigDict(extra="ignore")

    schedule: Union[str, None] = None
    end_time: Union[str, None] = None
    input: Any = None
    metadata: Union[dict[str, Any], None] = None
    config: Union[dict[str, Any], None] = None
    context: Union[dict[str, Any], None] = None
    webhook: Union[str, None] = None
    interrupt_before: Union[Literal["*"], list[str], None] = None
    interrupt_after: Union[Literal["*"], list[str], None] = None
    on_run_completed: Union[Literal["delete", "keep"], None] = None
    enabled: Union[bool, None] = None
    timezone: Union[str, None] = None
    stream_mode: Union[StreamMode, list[StreamMode], None] = None
    stream_subgraphs: Union[bool, None] = None
    stream_resumable: Union[bool, None] = None
    durability: Union[Literal["sync", "async", "exit"], None] = None
    multitask_strategy: Union[Literal["reject", "enqueue", "interrupt", "rollback"], None] = None


class CronSearch(JsonBody):
    """Body of ``POST /runs/crons/search``."""

    model_config = ConfigDict(extra="ignore")

    assistant_id: Union[str, None] = None
    thread_id: Union[str, None] = None
    enabled: Union[bool, None] = None
    metadata: Union[dict[str, Any], None] = None
    limit: int = 10
    offset: int = 0
    sort_by: Union[Literal[crons.SORT_KEYS], None] = None  # type: ignore[valid-type]
    sort_order: Union[Literal["asc", "desc"], None] = None
    select: Union[list[CronSelectField], None] = None


class CronCount(JsonBody):
    """Body of ``POST /runs/crons/count``."""

    model_config = ConfigDict(extra="ignore")

    assistant_id: Union[str, None] = None
    thread_id: Union[str, None] = None
    metadata: Union[dict[str, Any], None] = None


def _sent(body: BaseModel) -> dict[str, Any]:
    """The declared fields the client sent (``None`` values included)."""
    declared = type(body).model_fields
    return {k: v for k, v in body.model_dump(exclude_unset=True).items() if k in declared}


async def _create(request: Request, services: Services, thread_id: str | None, body: CronCreate) -> dict[str, Any]:
    """Authorize (``crons.create``, which may stamp metadata, and ``assistants.read``)
    and create the cron; returns the Cron object."""
    sent = {k: v for k, v in _sent(body).items() if v is not None}
    user = current_user(request)
    value: dict[str, Any] = {
        "payload": copy.deepcopy(sent), "schedule": body.schedule, "cron_id": None, "thread_id": thread_id,
        "user_id": user.identity if user is not None else None, "end_time": body.end_time,
        "metadata": copy.deepcopy(sent.get("metadata") or {}),
    }
    await authorize(request, "crons", "create", value)
    if value.get("metadata"):
        sent["metadata"] = value["metadata"]
    assistant = await resolve_cron_assistant(services, body.assistant_id)
    assistant_filter = await authorize(request, "assistants", "read", {"assistant_id": assistant["assistant_id"]})
    if not visible(assistant, assistant_filter):
        raise not_found(NOT_FOUND_FOR_RUN)
    return await crons.create_cron(services, thread_id, assistant, sent)


async def _visible_cron(request: Request, services: Services, cron_id: str, action: str, **value: Any) -> str:
    """``cron_id`` (canonical) once the ``crons.<action>`` auth handler allowed the
    request; 404 ``Not Found`` when its filter hides the cron (nothing is read when
    it returns no filter)."""
    flt = await authorize(request, "crons", action, {"cron_id": cron_id, **value})
    cron_id = require_uuid(cron_id, "cron")
    if flt is not None and not visible(await crons.get_cron(services, cron_id), flt):
        raise not_found()
    return cron_id


@router.post("/runs/crons")
async def create_cron(request: Request, body: CronCreate, services: ServicesDep):
    """Create a stateless cron (each tick runs on a new thread; ``on_run_completed``
    ``delete``, the default, or ``keep`` it). Returns the Cron object; 422 for an
    invalid schedule, time zone or end time."""
    return await _create(request, services, None, body)


@router.post("/threads/{thread_id}/runs/crons")
async def create_thread_cron(request: Request, thread_id: str, body: CronCreate, services: ServicesDep):
    """Create a cron whose runs go to ``thread_id`` (404 when the thread does not
    exist). Returns the Cron object (``on_run_completed`` null)."""
    flt = await authorize(request, "threads", "read", {"thread_id": thread_id})
    thread = await threads.get_thread(services, thread_id, flt)
    return await _create(request, services, thread["thread_id"], body)


@router.get("/runs/crons/{cron_id}")
async def get_cron(request: Request, cron_id: str, services: ServicesDep):
    """One Cron object; 404 ``Not Found``."""
    flt = await authorize(request, "crons", "read", {"cron_id": cron_id})
    cron = await crons.get_cron(services, require_uuid(cron_id, "cron"))
    if cron is None or not visible(cron, flt):
        raise not_found()
    return cron


@router.patch("/runs/crons/{cron_id}")
async def update_cron(request: Request, cron_id: str, body: CronPatch, services: ServicesDep):
    """Update a cron's schedule, state (``enabled``) and payload; returns the Cron
    object. 404 ``Not Found``; 422 for an invalid schedule or time zone (nothing
    changes)."""
    changes = {k: v for k, v in _sent(body).items() if v is not None or k == "end_time"}
    cron_id = await _visible_cron(request, services, cron_id, "update", payload=changes, schedule=body.schedule)
    cron = await crons.update_cron(services, cron_id, changes)
    if cron is None:
        raise not_found()
    return cron


@router.delete("/runs/crons/{cron_id}", status_code=204)
async def delete_cron(request: Request, cron_id: str, services: ServicesDep):
    """Delete a cron (its schedule); 204, or 404 ``Not Found``."""
    cron_id = await _visible_cron(request, services, cron_id, "delete")
    if not await crons.delete_cron(services, cron_id):
        raise not_found()
    return Response(status_code=204)


def _filters(body: CronSearch | CronCount) -> dict[str, Any]:
    return {
        "assistant_id": require_uuid(body.assistant_id, "assistant") if body.assistant_id else None,
        "thread_id": require_uuid(body.thread_id, "thread") if body.thread_id else None,
        "metadata": body.metadata or None,
    }


@router.post("/runs/crons/search")
async def search_crons(request: Request, body: CronSearch, services: ServicesDep):
    """Crons matching the filters, sorted (default ``created_at`` descending) and
    paginated by ``limit``/``offset``; ``select`` picks fields. ``assistant_id`` must
    be a UUID (422 ``Invalid assistant ID: must be a UUID``, as langgraph-api 0.16.7 answers).
    Header ``X-Pagination-Total``: the number of matches."""
    if body.limit < 0 or body.offset < 0:
        raise ApiError(422, "limit and offset must not be negative")
    flt = await authorize(request, "crons", "search", {
        "assistant_id": body.assistant_id, "thread_id": body.thread_id, "limit": body.limit, "offset": body.offset,
    })
    found = [c for c in await crons.list_crons(services, enabled=body.enabled, **_filters(body)) if visible(c, flt)]
    page = crons.sort_crons(found, body.sort_by, body.sort_order)[body.offset : body.offset + body.limit]
    if body.select:
        stamp = iso(now())
        page = [{k: (stamp if k == "now" else c.get(k)) for k in body.select} for c in page]
    return ORJSONResponse(page, headers={"x-pagination-total": str(len(found))})


@router.post("/runs/crons/count")
async def count_crons(request: Request, body: CronCount, services: ServicesDep):
    """The number of crons matching the filters (an integer)."""
    flt = await authorize(request, "crons", "search", {"assistant_id": body.assistant_id, "thread_id": body.thread_id})
    return len([c for c in await crons.list_crons(services, **_filters(body)) if visible(c, flt)])
