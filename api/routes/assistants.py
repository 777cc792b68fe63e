"""Assistant endpoints (API.md §3.2): create, get, patch (new version), delete,
search, count, graph, schemas, subgraphs, versions, set latest version.

Observed shapes: transcript s01.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any, Callable, Iterable

from fastapi import APIRouter, Depends, Request, Response

from evergraph.adapter import serde
from evergraph.adapter.resources.assistants import (
    assistant_graph,
    assistant_schemas,
    assistant_subgraphs,
    graph_json,
    graph_not_found,
    parse_xray,
)
from evergraph.adapter.ids import iso, now
from evergraph.adapter.resources.runs import CONTEXT_AND_CONFIGURABLE
from evergraph.adapter.services import Services
from evergraph.adapter.records.sqlite import matches, public_assistant
from evergraph.api.auth import authorize, visible
from evergraph.api.deps import services as get_services
from evergraph.api.errors import ApiError, not_found, require_uuid
from evergraph.api.responses import json_response, paginate, select_fields, sort_records
from evergraph.api.models import (
    AssistantCount,
    AssistantCreate,
    AssistantPatch,
    AssistantSearch,
    AssistantSetLatest,
    AssistantVersionsSearch,
)

router = APIRouter(tags=["assistants"])


# ------------------------------------------------------------------------------ helpers


async def _get_assistant(
    services: Services,
    assistant_id: str,
    missing: Callable[[str], ApiError],
    request: Request | None = None,
    action: str = "read",
    value: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The assistant record; with ``request``, after the ``assistants.<action>`` auth
    handler allowed it (on ``value``, default ``{"assistant_id": id}``). Unknown, or
    hidden by the handler's filter: ``missing(id)``."""
    flt = None
    if request is not None:
        flt = await authorize(request, "assistants", action, value if value is not None else {"assistant_id": assistant_id})
    assistant_id = require_uuid(assistant_id, "assistant")
    record = await services.records.get_assistant(assistant_id)
    if record is None or not visible(record, flt):
        raise missing(assistant_id)
    return record


def _plain_404(_assistant_id: str) -> ApiError:
    return not_found()


def _named_404(assistant_id: str) -> ApiError:
    return not_found(f"Assistant with ID {assistant_id} not found")


def _check_context(config: dict[str, Any] | None, context: dict[str, Any] | None) -> None:
    if context and (config or {}).get("configurable"):
        raise ApiError(400, CONTEXT_AND_CONFIGURABLE)


def _with_context(config: dict[str, Any] | None, context: dict[str, Any] | None) -> dict[str, Any]:
    """The stored config: ``context`` is copied into ``config.configurable`` (s01 [9])."""
    config = copy.deepcopy(config or {})
    if context:
        config["configurable"] = copy.deepcopy(context)
    return config


def _filter(items: list[dict[str, Any]], *, metadata=None, graph_id=None, name=None) -> list[dict[str, Any]]:
    out = []
    for a in items:
        if graph_id is not None and a["graph_id"] != graph_id:
            continue
        if name is not None and name.lower() not in (a.get("name") or "").lower():
            continue
        if not matches(a.get("metadata") or {}, metadata):
            continue
        out.append(a)
    return out


def _version_json(v: dict[str, Any]) -> dict[str, Any]:
    """An AssistantVersion (no ``updated_at``), in the reference key order."""
    return {
        "assistant_id": v["assistant_id"],
        "version": v["version"],
        "graph_id": v["graph_id"],
        "config": v["config"],
        "context": v["context"],
        "metadata": v["metadata"],
        "created_at": v["created_at"],
        "name": v["name"],
        "description": v.get("description"),
    }


# ------------------------------------------------------------------------------- CRUD


@router.post("/assistants")
async def create_assistant(request: Request, body: AssistantCreate, services: Services = Depends(get_services)):
    """Create an assistant; ``if_exists`` ``raise`` (default, 409) or ``do_nothing``."""
    if body.graph_id not in services.registry:
        raise graph_not_found(services, body.graph_id)
    _check_context(body.config, body.context)
    assistant_id = require_uuid(body.assistant_id, "assistant") if body.assistant_id is not None else str(uuid.uuid4())
    value: dict[str, Any] = {
        "assistant_id": assistant_id, "graph_id": body.graph_id, "config": copy.deepcopy(body.config or {}),
        "context": copy.deepcopy(body.context or {}), "metadata": copy.deepcopy(body.metadata or {}),
        "if_exists": body.if_exists or "raise", "name": body.name or "Untitled",
    }
    flt = await authorize(request, "assistants", "create", value)
    ts = iso(now())
    record = {
        "assistant_id": assistant_id,
        "graph_id": body.graph_id,
        "config": _with_context(body.config, body.context),
        "context": copy.deepcopy(body.context or {}),
        "metadata": value.get("metadata") or {},
        "name": body.name or "Untitled",
        "description": body.description,
        "version": 1,
        "created_at": ts,
        "updated_at": ts,
    }
    try:
        stored, _created = await services.records.put_assistant(record, if_exists=body.if_exists or "raise")
    except KeyError:
        raise ApiError(409, f"Assistant {assistant_id} already exists") from None
    if not _created and not visible(stored, flt):
        raise ApiError(409, f"Assistant {assistant_id} already exists")
    return public_assistant(stored)


@router.post("/assistants/search")
async def search_assistants(
    request: Request, body: AssistantSearch | None = None, services: Services = Depends(get_services)
):
    """Assistants matching ``metadata``/``graph_id``/``name``, one page, with
    ``X-Pagination-*`` headers."""
    body = body or AssistantSearch()
    flt = await authorize(request, "assistants", "search", {
        "graph_id": body.graph_id, "metadata": body.metadata or {}, "limit": body.limit, "offset": body.offset,
    })
    items = _filter(
        await services.records.list_assistants(), metadata=body.metadata, graph_id=body.graph_id, name=body.name
    )
    items = [a for a in items if visible(a, flt)]
    items = sort_records(items, body.sort_by or "updated_at", body.sort_order, "assistant_id")
    page, headers = paginate(items, body.limit, body.offset)
    return json_response([select_fields(public_assistant(a), body.select) for a in page], headers=headers)


@router.post("/assistants/count")
async def count_assistants(
    request: Request, body: AssistantCount | None = None, services: Services = Depends(get_services)
) -> int:
    """The number of assistants matching the filters (a bare integer)."""
    body = body or AssistantCount()
    flt = await authorize(request, "assistants", "search", {"graph_id": body.graph_id, "metadata": body.metadata or {}})
    items = _filter(
        await services.records.list_assistants(), metadata=body.metadata, graph_id=body.graph_id, name=body.name
    )
    return len([a for a in items if visible(a, flt)])


@router.get("/assistants/{assistant_id}")
async def get_assistant(request: Request, assistant_id: str, services: Services = Depends(get_services)):
    """One assistant; 404 ``Not Found``; 422 if the id is not a UUID (graph ids too)."""
    return public_assistant(await _get_assistant(services, assistant_id, _plain_404, request))


@router.patch("/assistants/{assistant_id}")
async def patch_assistant(
    request: Request, assistant_id: str, body: AssistantPatch, services: Services = Depends(get_services)
):
    """Make a new version from the given fields and make it latest.

    ``metadata`` is merged. A given ``context`` replaces the context and becomes
    ``config.configurable`` of the given ``config`` (or of an empty one: s01 [19]).
    """
    value: dict[str, Any] = {
        "assistant_id": assistant_id, "graph_id": body.graph_id, "config": copy.deepcopy(body.config or {}),
        "context": copy.deepcopy(body.context or {}), "metadata": copy.deepcopy(body.metadata or {}),
        "name": body.name, "version": None,
    }
    current = await _get_assistant(services, assistant_id, _named_404, request, "update", value)
    if body.metadata is not None or value.get("metadata"):
        body.metadata = value.get("metadata") or {}
    if body.graph_id is not None and body.graph_id not in services.registry:
        raise graph_not_found(services, body.graph_id)
    _check_context(body.config, body.context)
    patch: dict[str, Any] = {
        "graph_id": body.graph_id,
        "metadata": body.metadata,
        "name": body.name or None,
        "description": body.description or None,
    }
    if body.context is not None:
        patch["context"] = copy.deepcopy(body.context)
        patch["config"] = _with_context(body.config, body.context)
    elif body.config is not None:
        patch["config"] = copy.deepcopy(body.config)
    updated = await services.records.update_assistant(current["assistant_id"], patch)
    if updated is None:  # deleted meanwhile
        raise _named_404(current["assistant_id"])
    return public_assistant(updated)


@router.delete("/assistants/{assistant_id}", status_code=204)
async def delete_assistant(
    request: Request, assistant_id: str, delete_threads: bool = False, services: Services = Depends(get_services)
):
    """Delete an assistant (204; 404 the second time). With ``delete_threads=true``
    the threads whose ``metadata.assistant_id`` is this assistant go too (their runs
    and checkpoints included)."""
    record = await _get_assistant(services, assistant_id, _named_404, request, "delete")
    if delete_threads:
        from evergraph.api.routes.threads import delete_thread_everywhere

        for thread in await services.records.list_threads():
            if (thread.get("metadata") or {}).get("assistant_id") == record["assistant_id"]:
                await delete_thread_everywhere(services, thread["thread_id"])
    if not await services.records.delete_assistant(record["assistant_id"]):
        raise _named_404(record["assistant_id"])
    return Response(status_code=204)


# -------------------------------------------------------------------------- graph views


@router.get("/assistants/{assistant_id}/graph")
async def get_assistant_graph(
    request: Request, assistant_id: str, xray: str | None = None, services: Services = Depends(get_services)
):
    """The drawable graph: ``{"nodes": [...], "edges": [...]}``; ``xray`` is
    ``true``/``false`` or a subgraph depth."""
    record = await _get_assistant(services, assistant_id, _plain_404, request)
    depth = parse_xray(xray)
    return await graph_json(await assistant_graph(services, record), depth)


@router.get("/assistants/{assistant_id}/schemas")
async def get_assistant_schemas(request: Request, assistant_id: str, services: Services = Depends(get_services)):
    """``{graph_id, input_schema, output_schema, state_schema, config_schema, context_schema}``."""
    record = await _get_assistant(services, assistant_id, _plain_404, request)
    return await assistant_schemas(services, record)


@router.get("/assistants/{assistant_id}/subgraphs")
async def get_assistant_subgraphs(
    request: Request, assistant_id: str, recurse: bool = False, services: Services = Depends(get_services)
):
    """Schemas of the graph's subgraphs, keyed by namespace."""
    record = await _get_assistant(services, assistant_id, _plain_404, request)
    return await assistant_subgraphs(services, record, None, recurse)


@router.get("/assistants/{assistant_id}/subgraphs/{namespace}")
async def get_assistant_subgraph(
    request: Request, assistant_id: str, namespace: str, recurse: bool = False, services: Services = Depends(get_services)
):
    """Schemas of the subgraph at ``namespace`` (``parent|child`` needs ``recurse``)."""
    record = await _get_assistant(services, assistant_id, _plain_404, request)
    return await assistant_subgraphs(services, record, namespace, recurse)


# ----------------------------------------------------------------------------- versions


@router.post("/assistants/{assistant_id}/versions")
async def list_versions(
    request: Request, assistant_id: str, body: AssistantVersionsSearch | None = None, services: Services = Depends(get_services)
):
    """The assistant's versions, newest first, filtered by ``metadata``."""
    body = body or AssistantVersionsSearch()
    record = await _get_assistant(services, assistant_id, _named_404, request)
    versions = [
        v for v in await services.records.assistant_versions(record["assistant_id"])
        if matches(v.get("metadata") or {}, body.metadata)
    ]
    return [_version_json(v) for v in versions[body.offset: body.offset + body.limit]]


@router.post("/assistants/{assistant_id}/latest")
async def set_latest_version(
    request: Request, assistant_id: str, body: AssistantSetLatest | None = None, services: Services = Depends(get_services)
):
    """Make version ``body.version`` the assistant's current one. The version is read
    from the JSON body only: the query form gives 422 like the reference (s01 [26])."""
    if body is None:
        raise ApiError(422, "Invalid JSON in request body")
    record = await _get_assistant(
        services, assistant_id, _named_404, request, "update", {"assistant_id": assistant_id, "version": body.version}
    )
    updated = await services.records.set_latest_assistant_version(record["assistant_id"], body.version)
    if updated is None:
        raise not_found(f"Version {body.version} of assistant {record['assistant_id']} not found")
    return public_assistant(updated)
