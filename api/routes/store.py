"""Store endpoints: put, get, delete and search items, list namespaces.

They use the process's LangGraph store (:mod:`evergraph.adapter.graphs.store`), the
same store graphs see as ``runtime.store``. Bodies are checked here so that errors
read like langgraph-api 0.16.7's JSON-schema messages; a namespace label that is
empty or contains a period gives a **text/plain** 422, as langgraph-api 0.16.7
answers. See docs/architecture.md for the layers.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Request, Response
from langgraph.store.base import InvalidNamespaceError

from evergraph.adapter import serde
from evergraph.adapter.ids import iso
from evergraph.api.auth import authorize
from evergraph.api.deps import ServicesDep
from evergraph.api.models import MAX_JSON_DEPTH, MAX_TTL_MINUTES, check_json_value

__all__ = [
    "delete_item",
    "get_item",
    "item_json",
    "list_namespaces",
    "put_item",
    "router",
    "search_items",
]

router = APIRouter(tags=["store"])

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class _Invalid(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _schema_error(message: str) -> _Invalid:
    return _Invalid(Response(serde.dumps({"detail": message}), status_code=422, media_type="application/json"))


def _label_error(label: Any) -> _Invalid:
    return _Invalid(
        Response(
            f"Namespace label '{label}' must be a non-empty string without periods",
            status_code=422,
            media_type="text/plain",
        )
    )


def _check(body: dict[str, Any], field: str, types: tuple[str, ...], required: bool = False) -> Any:
    """``body[field]`` if it is of one of ``types`` (JSON-schema names)."""
    if field not in body:
        if required:
            raise _schema_error(
                f'"{field}" is a required property\n\nFailed validating "required" in schema\n\n'
                f"On instance:\n    {_dumps(body)}"
            )
        return None
    value = body[field]
    if not any(_TYPES[t](value) for t in types):
        kind = f'type "{types[0]}"' if len(types) == 1 else "types " + ", ".join(f'"{t}"' for t in types)
        raise _schema_error(
            f'{_dumps(value)} is not of {kind}\n\nFailed validating "type" in schema["properties"]["{field}"]\n\n'
            f'On instance["{field}"]:\n    {_dumps(value)}'
        )
    return value


def _check_minimum(field: str, value: Any, minimum: int) -> None:
    if value is not None and value < minimum:
        raise _schema_error(
            f'{value} is less than the minimum of {minimum}\n\nFailed validating "minimum" in '
            f'schema["properties"]["{field}"]\n\nOn instance["{field}"]:\n    {value}'
        )


def _check_maximum(field: str, value: Any, maximum: int) -> None:
    if value is not None and value > maximum:
        raise _schema_error(
            f'{value} is greater than the maximum of {maximum}\n\nFailed validating "maximum" in '
            f'schema["properties"]["{field}"]\n\nOn instance["{field}"]:\n    {value}'
        )


def _labels(field: str, value: list[Any] | None, wildcard: bool = False) -> tuple[str, ...]:
    """``value`` as a namespace tuple; every label a non-empty string without ``.``
    (``*`` allowed when ``wildcard``: a prefix/suffix of ``list_namespaces``)."""
    if value is None:
        return ()
    for i, label in enumerate(value):
        if not isinstance(label, str):
            raise _schema_error(
                f'{_dumps(label)} is not of type "string"\n\nFailed validating "type" in '
                f'schema["properties"]["{field}"]["items"]\n\nOn instance["{field}"][{i}]:\n    {_dumps(label)}'
            )
        if not label or "." in label:
            raise _label_error(label)
    return tuple(value)


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        raise _schema_error("Invalid JSON in request body") from None
    except RecursionError:  # api.nesting refuses such bodies first; kept for direct callers
        raise _schema_error(f"body: nested too deep to parse (at most {MAX_JSON_DEPTH} levels)") from None
    if not isinstance(body, dict):
        raise _schema_error(
            f'{_dumps(body)} is not of type "object"\n\nFailed validating "type" in schema\n\n'
            f"On instance:\n    {_dumps(body)}"
        )
    try:
        check_json_value(body)
    except ValueError as exc:
        raise _schema_error(str(exc)) from None
    return body


def _ts(value: datetime) -> str | None:
    if value.tzinfo is None:  # SQLite's CURRENT_TIMESTAMP is UTC without an offset
        value = value.replace(tzinfo=timezone.utc)
    return iso(value)


def item_json(item: Any, with_score: bool = False) -> dict[str, Any]:
    """A LangGraph ``Item`` / ``SearchItem`` in langgraph-api 0.16.7's wire shape:
    ``{namespace, key, value, created_at, updated_at}`` plus ``score`` (a float, or
    ``None`` without a semantic query) when ``with_score``."""
    out = {
        "namespace": list(item.namespace),
        "key": item.key,
        "value": item.value,
        "created_at": _ts(item.created_at),
        "updated_at": _ts(item.updated_at),
    }
    if with_score:
        out["score"] = getattr(item, "score", None)
    return out


def _json(content: Any, status: int = 200) -> Response:
    return Response(serde.dumps(content), status_code=status, media_type="application/json")


_ITEM_SCHEMA = {
    "type": "object",
    "required": ["namespace", "key", "value"],
    "properties": {
        "namespace": {"type": "array", "items": {"type": "string"}},
        "key": {"type": "string"},
        "value": {"type": "object"},
        "index": {"anyOf": [{"const": False}, {"type": "array", "items": {"type": "string"}}, {"type": "null"}]},
        "ttl": {
            "type": ["number", "null"], "minimum": 0, "maximum": MAX_TTL_MINUTES,
            "description": "minutes until the item expires",
        },
    },
}


def _openapi_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


async def _scoped(request: Request, action: str, value: dict[str, Any]) -> dict[str, Any]:
    """``value`` after the ``store.<action>`` auth handler ran on it: handlers scope
    store operations by rewriting ``value["namespace"]`` (a tuple), as LangGraph
    documents; a returned filter is ignored for the store. The rewritten namespace's
    labels are checked like the request's."""
    value["namespace"] = tuple(value["namespace"]) if value.get("namespace") is not None else None
    before = value["namespace"]
    await authorize(request, "store", action, value)
    if value.get("namespace") is not None and value["namespace"] != before:
        value["namespace"] = _labels("namespace", list(value["namespace"]))
    return value


async def _store_call(coro: Any) -> Any:
    """Await a store operation; the store's own refusals are the client's 422s."""
    try:
        return await coro
    except InvalidNamespaceError as exc:
        raise _Invalid(Response(str(exc), status_code=422, media_type="text/plain")) from None
    except ValueError as exc:  # e.g. LangGraph's "Invalid filter key"
        raise _schema_error(f"store refused the request: {exc}") from None


@router.put("/store/items", status_code=204, openapi_extra=_openapi_body(_ITEM_SCHEMA))
async def put_item(request: Request, services: ServicesDep) -> Response:
    """Store or replace an item: body ``{namespace: [str], key: str, value: {...},
    index?: false | [json paths], ttl?: minutes | null}``; 204."""
    try:
        body = await _body(request)
        namespace = _check(body, "namespace", ("array",), required=True)
        key = _check(body, "key", ("string",), required=True)
        value = _check(body, "value", ("object",), required=True)
        index = body.get("index")
        if index is not None and index is not False and not (
            isinstance(index, list) and all(isinstance(f, str) for f in index)
        ):
            raise _schema_error(
                f'{_dumps(index)} is not valid under any of the given schemas\n\nFailed validating "anyOf" in '
                f'schema["properties"]["index"]\n\nOn instance["index"]:\n    {_dumps(index)}'
            )
        ttl = _check(body, "ttl", ("number", "null"))
        _check_minimum("ttl", ttl, 0)
        _check_maximum("ttl", ttl, MAX_TTL_MINUTES)  # minutes; the store's expiry is a datetime
        ns = _labels("namespace", namespace)
        scoped = await _scoped(request, "put", {"namespace": ns, "key": key, "value": value, "index": index})
        ns, key, value, index = scoped["namespace"] or (), scoped["key"], scoped["value"], scoped["index"]
        await _store_call(services.store.aput(ns, key, value, index=index, ttl=ttl))
    except _Invalid as exc:
        return exc.response
    return Response(status_code=204)


@router.get("/store/items")
async def get_item(
    request: Request,
    services: ServicesDep,
    namespace: str = "",
    key: str | None = None,
    refresh_ttl: bool | None = None,
) -> Response:
    """The item at ``key`` in the dot-joined ``namespace`` (``?namespace=a.b&key=k``),
    or ``null`` (200) when there is none; ``refresh_ttl`` (true/false) overrides the
    store's ``refresh_on_read``."""
    try:
        if key is None:
            raise _schema_error("'key' is a required property")
        ns = _labels("namespace", namespace.split(".") if namespace else [])
        scoped = await _scoped(request, "get", {"namespace": ns, "key": key})
        ns, key = scoped["namespace"] or (), scoped["key"]
        item = await _store_call(services.store.aget(ns, key, refresh_ttl=refresh_ttl))
    except _Invalid as exc:
        return exc.response
    return _json(None if item is None else item_json(item))


@router.delete(
    "/store/items",
    status_code=204,
    openapi_extra=_openapi_body(
        {"type": "object", "required": ["key"], "properties": {
            "namespace": {"type": "array", "items": {"type": "string"}}, "key": {"type": "string"}}}
    ),
)
async def delete_item(request: Request, services: ServicesDep) -> Response:
    """Delete the item ``{namespace: [str], key: str}`` (JSON body); 204 whether or
    not it existed."""
    try:
        body = await _body(request)
        namespace = _check(body, "namespace", ("array",))
        key = _check(body, "key", ("string",), required=True)
        ns = _labels("namespace", namespace)
        scoped = await _scoped(request, "delete", {"namespace": ns, "key": key})
        ns, key = scoped["namespace"] or (), scoped["key"]
        await _store_call(services.store.adelete(ns, key))
    except _Invalid as exc:
        return exc.response
    return Response(status_code=204)


@router.post(
    "/store/items/search",
    openapi_extra=_openapi_body(
        {"type": "object", "properties": {
            "namespace_prefix": {"type": ["array", "null"], "items": {"type": "string"}},
            "filter": {"type": ["object", "null"]},
            "limit": {"type": "integer", "default": 10, "minimum": 0},
            "offset": {"type": "integer", "default": 0, "minimum": 0},
            "query": {"type": ["string", "null"]},
            "refresh_ttl": {"type": ["boolean", "null"]},
        }}
    ),
)
async def search_items(request: Request, services: ServicesDep) -> Response:
    """Items under ``namespace_prefix`` matching ``filter`` (value fields equal, or
    operators ``$eq $ne $gt $gte $lt $lte``), ``limit`` (10) from ``offset`` (0).
    With a ``query`` and an index in ``langgraph.json``, items are ranked by
    similarity and ``score`` is set; otherwise ``score`` is ``null``.
    Response ``{"items": [Item + score]}``."""
    try:
        body = await _body(request)
        prefix = _check(body, "namespace_prefix", ("array", "null"))
        filter_ = _check(body, "filter", ("object", "null"))
        limit = _check(body, "limit", ("integer",))
        offset = _check(body, "offset", ("integer",))
        _check_minimum("limit", limit, 0)
        _check_minimum("offset", offset, 0)
        query = _check(body, "query", ("string", "null"))
        refresh_ttl = _check(body, "refresh_ttl", ("boolean", "null"))
        ns = _labels("namespace_prefix", prefix)
        scoped = await _scoped(request, "search", {
            "namespace": ns, "filter": filter_, "limit": 10 if limit is None else limit, "offset": offset or 0,
            "query": query,
        })
        ns, filter_, limit, offset, query = (
            scoped["namespace"] or (), scoped["filter"], scoped["limit"], scoped["offset"], scoped["query"]
        )
        items = await _store_call(
            services.store.asearch(
                ns, query=query or None, filter=filter_ or None,
                limit=10 if limit is None else limit, offset=offset or 0, refresh_ttl=refresh_ttl,
            )
        )
    except _Invalid as exc:
        return exc.response
    return _json({"items": [item_json(i, with_score=True) for i in items]})


@router.post(
    "/store/namespaces",
    openapi_extra=_openapi_body(
        {"type": "object", "properties": {
            "prefix": {"type": ["array", "null"], "items": {"type": "string"}},
            "suffix": {"type": ["array", "null"], "items": {"type": "string"}},
            "max_depth": {"type": ["integer", "null"], "minimum": 1},
            "limit": {"type": "integer", "default": 100, "minimum": 0},
            "offset": {"type": "integer", "default": 0, "minimum": 0},
        }}
    ),
)
async def list_namespaces(request: Request, services: ServicesDep) -> Response:
    """Namespaces (sorted) starting with ``prefix`` and ending with ``suffix`` (``*``
    matches any one label), cut to ``max_depth`` labels and de-duplicated, ``limit``
    (100) from ``offset`` (0). Response ``{"namespaces": [[str, ...], ...]}``."""
    try:
        body = await _body(request)
        prefix = _check(body, "prefix", ("array", "null"))
        suffix = _check(body, "suffix", ("array", "null"))
        max_depth = _check(body, "max_depth", ("integer", "null"))
        limit = _check(body, "limit", ("integer",))
        offset = _check(body, "offset", ("integer",))
        _check_minimum("max_depth", max_depth, 1)
        _check_minimum("limit", limit, 0)
        _check_minimum("offset", offset, 0)
        scoped = await _scoped(request, "list_namespaces", {
            "namespace": _labels("prefix", prefix) or None, "suffix": _labels("suffix", suffix) or None,
            "max_depth": max_depth, "limit": 100 if limit is None else limit, "offset": offset or 0,
        })
        max_depth, limit, offset = scoped["max_depth"], scoped["limit"], scoped["offset"]
        namespaces = await _store_call(
            services.store.alist_namespaces(
                prefix=scoped["namespace"] or None,
                suffix=scoped["suffix"] or None,
                max_depth=max_depth,
                limit=100 if limit is None else limit,
                offset=offset or 0,
            )
        )
    except _Invalid as exc:
        return exc.response
    return _json({"namespaces": [list(ns) for ns in namespaces]})
