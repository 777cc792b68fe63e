"""Assistant endpoints: create, get, patch (new version), delete, search, count,
graph, schemas, subgraphs, versions, set latest version. Shapes and messages are
langgraph-api 0.16.7's; the graph views are computed by
:mod:`evergraph.adapter.resources.assistants` (see docs/architecture.md).
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from evergraph.adapter.ids import require_uuid
from evergraph.adapter.records.common import public_assistant
from evergraph.adapter.resources import assistants, threads
from evergraph.adapter.services import Services
from evergraph.api.auth import authorize
from evergraph.api.deps import ServicesDep
from evergraph.api.errors import ApiError
from evergraph.api.models import (
    AssistantCount,
    AssistantCreate,
    AssistantPatch,
    AssistantSearch,
    AssistantSetLatest,
    AssistantVersionsSearch,
)
from evergraph.api.responses import json_response, paginate, select_fields, sort_records

__all__ = [
    "PLAIN_NOT_FOUND",
    "count_assistants",
    "create_assistant",
    "delete_assistant",
    "get_assistant",
    "get_assistant_graph",
    "get_assistant_schemas",
    "get_assistant_subgraph",
    "get_assistant_subgraphs",
    "list_versions",
    "patch_assistant",
    "router",
    "search_assistants",
    "set_latest_version",
]

router = APIRouter(tags=["assistants"])

#: the not-found message of the read-only views (``GET /assistants/{id}``, the graph views)
PLAIN_NOT_FOUND = "Not Found"


async def _authorized(
    request: Request,
    services: Services,
    assistant_id: str,
    action: str = "read",
    value: dict[str, Any] | None = None,
    missing: str | None = None,
) -> dict[str, Any]:
    """The assistant record, after the ``assistants.<action>`` auth handler allowed the
    request (on ``value``, default ``{"assistant_id": id}``); unknown, or hidden by
    the handler's filter: 404 ``missing`` (default ``Assistant with ID <id> not
    found``)."""
    flt = await authorize(request, "assistants", action, value if value is not None else {"assistant_id": assistant_id})
    return await assistants.get_assistant(services, assistant_id, flt, missing=missing)


def _version_json(v: dict[str, Any]) -> dict[str, Any]:
    """An AssistantVersion (no ``updated_at``), in langgraph-api 0.16.7's key order."""
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
async def create_assistant(request: Request, body: AssistantCreate, services: ServicesDep):
    """Create an assistant; ``if_exists`` ``raise`` (default, 409) or ``do_nothing``."""
    assistants.check_new_assistant(services, body.graph_id, body.config, body.context)
    assistant_id = (
        require_uuid(body.assistant_id, "assistant") if body.assistant_id is not None else str(uuid.uuid4())
    )
    value: dict[str, Any] = {
        "assistant_id": assistant_id, "graph_id": body.graph_id, "config": copy.deepcopy(body.config or {}),
        "context": copy.deepcopy(body.context or {}), "metadata": copy.deepcopy(body.metadata or {}),
        "if_exists": body.if_exists or "raise", "name": body.name or "Untitled",
    }
    flt = await authorize(request, "assistants", "create", value)
    stored = await assistants.create_assistant(
        services, assistant_id, body.graph_id, config=body.config, context=body.context,
        metadata=value.get("metadata") or {}, name=body.name, description=body.description,
        if_exists=body.if_exists or "raise", flt=flt,
    )
    return public_assistant(stored)


@router.post("/assistants/search")
async def search_assistants(request: Request, services: ServicesDep, body: AssistantSearch | None = None):
    """Assistants matching ``metadata``/``graph_id``/``name``, one page, with
    ``X-Pagination-*`` headers."""
    body = body or AssistantSearch()
    flt = await authorize(request, "assistants", "search", {
        "graph_id": body.graph_id, "metadata": body.metadata or {}, "limit": body.limit, "offset": body.offset,
    })
    items = await assistants.search_assistants(
        services, metadata=body.metadata, graph_id=body.graph_id, name=body.name, flt=flt
    )
    items = sort_records(items, body.sort_by or "updated_at", body.sort_order, "assistant_id")
    page, headers = paginate(items, body.limit, body.offset)
    return json_response([select_fields(public_assistant(a), body.select) for a in page], headers=headers)


@router.post("/assistants/count")
async def count_assistants(request: Request, services: ServicesDep, body: AssistantCount | None = None) -> int:
    """The number of assistants matching the filters (a bare integer)."""
    body = body or AssistantCount()
    flt = await authorize(request, "assistants", "search", {"graph_id": body.graph_id, "metadata": body.metadata or {}})
    return len(await assistants.search_assistants(
        services, metadata=body.metadata, graph_id=body.graph_id, name=body.name, flt=flt
    ))


@router.get("/assistants/{assistant_id}")
async def get_assistant(request: Request, assistant_id: str, services: ServicesDep):
    """One assistant; 404 ``Not Found``; 422 if the id is not a UUID (graph ids too,
    as langgraph-api 0.16.7 answers on every assistant path but ``/graph``)."""
    return public_assistant(await _authorized(request, services, assistant_id, missing=PLAIN_NOT_FOUND))


@router.patch("/assistants/{assistant_id}")
async def patch_assistant(request: Request, assistant_id: str, body: AssistantPatch, services: ServicesDep):
    """Make a new version from the given fields and make it latest.

    ``metadata`` is merged. A given ``context`` replaces the context and becomes
    ``config.configurable`` of the given ``config`` (or of an empty one, as
    langgraph-api 0.16.7 does).
    """
    value: dict[str, Any] = {
        "assistant_id": assistant_id, "graph_id": body.graph_id, "config": copy.deepcopy(body.config or {}),
        "context": copy.deepcopy(body.context or {}), "metadata": copy.deepcopy(body.metadata or {}),
        "name": body.name, "version": None,
    }
    flt = await authorize(request, "assistants", "update", value)
    metadata = (value.get("metadata") or {}) if body.metadata is not None or value.get("metadata") else None
    updated = await assistants.patch_assistant(
        services, assistant_id, graph_id=body.graph_id, config=body.config, context=body.context,
        metadata=metadata, name=body.name, description=body.description, flt=flt,
    )
    return public_assistant(updated)


@router.delete("/assistants/{assistant_id}", status_code=204)
async def delete_assistant(
    request: Request, assistant_id: str, services: ServicesDep, delete_threads: bool = False,
):
    """Delete an assistant (204; 404 the second time). With ``delete_threads=true``
    the threads whose ``metadata.assistant_id`` is this assistant go too (their runs
    and checkpoints included)."""
    record = await _authorized(request, services, assistant_id, "delete")
    if delete_threads:
        await threads.delete_assistant_threads(services, record["assistant_id"])
    await assistants.delete_assistant(services, record["assistant_id"])
    return Response(status_code=204)


# -------------------------------------------------------------------------- graph views


@router.get("/assistants/{assistant_id}/graph")
async def get_assistant_graph(request: Request, assistant_id: str, services: ServicesDep, xray: str | None = None):
    """The drawable graph: ``{"nodes": [...], "edges": [...]}``; ``xray`` is
    ``true``/``false`` or a subgraph depth. The assistant may be named by a graph id
    (its system assistant), as langgraph-api 0.16.7 accepts here and only here, so
    ``RemoteGraph("<graph_id>", url=...).get_graph()`` works."""
    assistant_id = assistants.resolve_path_assistant(services, assistant_id)
    record = await _authorized(request, services, assistant_id, missing=PLAIN_NOT_FOUND)
    depth = assistants.parse_xray(xray)
    return await assistants.graph_json(await assistants.assistant_graph(services, record), depth)


@router.get("/assistants/{assistant_id}/schemas")
async def get_assistant_schemas(request: Request, assistant_id: str, services: ServicesDep):
    """``{graph_id, input_schema, output_schema, state_schema, config_schema, context_schema}``."""
    record = await _authorized(request, services, assistant_id, missing=PLAIN_NOT_FOUND)
    return await assistants.assistant_schemas(services, record)


@router.get("/assistants/{assistant_id}/subgraphs")
async def get_assistant_subgraphs(
    request: Request, assistant_id: str, services: ServicesDep, recurse: bool = False,
):
    """Schemas of the graph's subgraphs, keyed by namespace."""
    record = await _authorized(request, services, assistant_id, missing=PLAIN_NOT_FOUND)
    return await assistants.assistant_subgraphs(services, record, None, recurse)


@router.get("/assistants/{assistant_id}/subgraphs/{namespace}")
async def get_assistant_subgraph(
    request: Request, assistant_id: str, namespace: str, services: ServicesDep, recurse: bool = False,
):
    """Schemas of the subgraph at ``namespace`` (``parent|child`` needs ``recurse``)."""
    record = await _authorized(request, services, assistant_id, missing=PLAIN_NOT_FOUND)
    return await assistants.assistant_subgraphs(services, record, namespace, recurse)


# ----------------------------------------------------------------------------- versions


@router.post("/assistants/{assistant_id}/versions")
async def list_versions(
    request: Request, assistant_id: str, services: ServicesDep, body: AssistantVersionsSearch | None = None,
):
    """The assistant's versions, newest first, filtered by ``metadata``."""
    body = body or AssistantVersionsSearch()
    record = await _authorized(request, services, assistant_id)
    versions = await assistants.assistant_versions(
        services, record["assistant_id"], metadata=body.metadata, limit=body.limit, offset=body.offset
    )
    return [_version_json(v) for v in versions]


@router.post("/assistants/{assistant_id}/latest")
async def set_latest_version(
    request: Request, assistant_id: str, services: ServicesDep, body: AssistantSetLatest | None = None,
):
    """Make version ``body.version`` the assistant's current one. The version is read
    from the JSON body only: the query form gives 422, as langgraph-api 0.16.7 answers."""
    if body is None:
        raise ApiError(422, "Invalid JSON in request body")
    record = await _authorized(
        request, services, assistant_id, "update", {"assistant_id": assistant_id, "version": body.version}
    )
    return public_assistant(await assistants.set_latest_version(services, record["assistant_id"], body.version))
