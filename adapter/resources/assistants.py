"""Assistants: creating, reading, versioning and searching them, the system assistant
of every graph, resolving the ``assistant_id`` of a request body, and the graph-shape
views of an assistant (``/graph``, ``/schemas``, ``/subgraphs``), computed by
LangGraph itself.

Shapes and messages are langgraph-api 0.16.7's. See docs/architecture.md for the
layers.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import warnings
from typing import Any, Iterable

from langgraph.pregel import Pregel
from pydantic import TypeAdapter, create_model

from evergraph.adapter import serde
from evergraph.adapter.ids import iso, now, parse_uuid, require_uuid, system_assistant_id
from evergraph.adapter.errors import Conflict, Invalid, NotFound, Refused
from evergraph.adapter.graphs.registry import import_target
from evergraph.adapter.records.common import matches
from evergraph.adapter.resources.auth import AuthFilter, visible
from evergraph.adapter.resources.runs import CONTEXT_AND_CONFIGURABLE
from evergraph.adapter.records.types import Assistant
from evergraph.adapter.services import Services

__all__ = [
    "DEFAULT_GRAPH_NAME",
    "NOT_FOUND_FOR_RUN",
    "assistant_config",
    "assistant_not_found",
    "assistant_versions",
    "check_new_assistant",
    "create_assistant",
    "delete_assistant",
    "get_assistant",
    "patch_assistant",
    "search_assistants",
    "set_latest_version",
    "stored_config",
    "stored_context",
    "assistant_graph",
    "assistant_schemas",
    "assistant_subgraphs",
    "ensure_system_assistants",
    "graph_json",
    "graph_not_found",
    "graph_schemas",
    "parse_xray",
    "resolve_assistant",
    "resolve_cron_assistant",
    "resolve_path_assistant",
    "system_assistant",
    "system_assistant_name",
]

log = logging.getLogger(__name__)

NOT_FOUND_FOR_RUN = "Thread or assistant not found."
"""404 body of run (and cron) creation with an unknown assistant UUID or a thread
the caller may not see, as langgraph-api 0.16.7 answers."""


def graph_not_found(services: Services, graph_id: str) -> NotFound:
    """Not found (404) ``Graph 'x' not found. Expected one of: ['agent', 'nested']``."""
    return NotFound(f"Graph '{graph_id}' not found. Expected one of: {services.registry.graph_ids!r}")


#: the name LangGraph gives a compiled graph that was not given one
DEFAULT_GRAPH_NAME = "LangGraph"


def system_assistant_name(services: Services, graph_id: str) -> str:
    """The name of ``graph_id``'s system assistant, as langgraph-api 0.16.7 names it:
    the compiled graph's own ``name`` when ``langgraph.json`` names a compiled graph
    whose name is not LangGraph's default (``compile(name=...)``), else the graph id
    (factories and builders included: their graph is not known before a run)."""
    try:
        obj = import_target(services.registry.spec(graph_id))
    except Exception:  # noqa: BLE001 - unknown graph id, or not importable here: the id it is
        return graph_id
    name = getattr(obj, "name", None) if isinstance(obj, Pregel) else None
    return name if isinstance(name, str) and name and name != DEFAULT_GRAPH_NAME else graph_id


def system_assistant(services: Services, graph_id: str, ts: str | None = None) -> Assistant:
    """The system assistant record of ``graph_id`` (not stored by this function):
    named by :func:`system_assistant_name`, described by ``langgraph.json``."""
    ts = ts or iso(now())
    try:
        description = services.registry.spec(graph_id).description
    except KeyError:
        description = None
    return {
        "assistant_id": system_assistant_id(graph_id),
        "graph_id": graph_id,
        "config": {},
        "context": {},
        "metadata": {"created_by": "system"},
        "name": system_assistant_name(services, graph_id),
        "description": description,
        "version": 1,
        "created_at": ts,
        "updated_at": ts,
    }


async def ensure_system_assistants(services: Services) -> None:
    """Create, at start-up, the system assistant of every graph in ``langgraph.json``.

    Its id is :func:`evergraph.adapter.ids.system_assistant_id`, its name
    :func:`system_assistant_name`, its description that of ``langgraph.json``, its
    metadata ``{"created_by": "system"}``, with empty ``config``/``context`` and
    version 1, as langgraph-api 0.16.7 makes them. An existing one is left as it is,
    except that a name or description that no longer matches the graph's becomes a
    new version with the current ones (as langgraph-api 0.16.7 does at start-up), so
    restarts and several API processes are harmless.
    """
    for graph_id in services.registry.graph_ids:
        wanted = system_assistant(services, graph_id)
        stored, created = await services.records.put_assistant(wanted, if_exists="do_nothing")
        if created:
            continue
        patch: dict[str, Any] = {}
        if stored.get("name") != wanted["name"]:
            patch["name"] = wanted["name"]
        if wanted["description"] is not None and stored.get("description") != wanted["description"]:
            patch["description"] = wanted["description"]  # (a patch cannot clear one)
        if patch:
            await services.records.update_assistant(stored["assistant_id"], patch)


async def resolve_assistant(services: Services, assistant_id: str) -> dict[str, Any]:
    """The assistant record a request body's ``assistant_id`` names.

    Args:
        assistant_id: an assistant UUID, or a graph id of ``langgraph.json`` (which
            names that graph's system assistant, as langgraph-api 0.16.7 accepts in
            run and cron creation).

    Returns:
        The assistant record (all Assistant fields).

    Raises:
        NotFound: ``Thread or assistant not found.`` for a UUID no assistant
            has. Invalid: ``Invalid assistant: '<id>'. Must be either: …`` listing the
            registered graphs when the value is neither a UUID nor a graph id.
    """
    if isinstance(assistant_id, str) and assistant_id in services.registry:
        record = await services.records.get_assistant(system_assistant_id(assistant_id))
        if record is None:  # deleted through the API: bring it back, as at start-up
            record, _ = await services.records.put_assistant(
                system_assistant(services, assistant_id), if_exists="do_nothing"
            )
        return record
    parsed = parse_uuid(assistant_id)
    if parsed is None:
        graphs = ", ".join(services.registry.graph_ids)
        raise Invalid(
            f"Invalid assistant: '{assistant_id}'. Must be either:\n"
            f"- A valid assistant UUID, or\n"
            f"- One of the registered graphs: {graphs}",
        )
    record = await services.records.get_assistant(parsed)
    if record is None:
        raise NotFound(NOT_FOUND_FOR_RUN)
    return record


async def resolve_cron_assistant(services: Services, assistant_id: str) -> dict[str, Any]:
    """The assistant record a cron create request's ``assistant_id`` names (a UUID or
    a graph id, as :func:`resolve_assistant`).

    Raises:
        NotFound: ``Assistant '<id>' not found`` for a value that is neither a graph
            id nor the UUID of an assistant, as langgraph-api 0.16.7 answers cron
            creation (404 for a non-UUID too, where run creation answers 422).
    """
    try:
        return await resolve_assistant(services, assistant_id)
    except (Invalid, NotFound):
        raise NotFound(f"Assistant '{assistant_id}' not found") from None


def resolve_path_assistant(services: Services, assistant_id: str) -> str:
    """The assistant UUID for an ``{assistant_id}`` path parameter of
    ``GET /assistants/{assistant_id}/graph``, the one assistant path langgraph-api
    0.16.7 lets name a graph: a graph id of ``langgraph.json`` becomes its system
    assistant's id; anything else is returned as given (checked as a UUID by
    :func:`get_assistant`, so an unknown non-UUID is 422 ``Invalid assistant ID:
    must be a UUID``, as there)."""
    if isinstance(assistant_id, str) and assistant_id in services.registry:
        return system_assistant_id(assistant_id)
    return assistant_id


# ------------------------------------------------------------------------------- records


def assistant_not_found(assistant_id: str) -> NotFound:
    """Not found (404) ``Assistant with ID <id> not found``."""
    return NotFound(f"Assistant with ID {assistant_id} not found")


async def get_assistant(
    services: Services, assistant_id: str, flt: AuthFilter = None, *, missing: str | None = None
) -> dict[str, Any]:
    """The assistant record of ``assistant_id`` (a UUID; graph ids are refused here).

    Args:
        flt: the auth handler's filter; an assistant it hides is not found.
        missing: the not-found message (default ``Assistant with ID <id> not found``).

    Raises:
        Invalid: not a UUID. NotFound: no such assistant, or hidden.
    """
    assistant_id = require_uuid(assistant_id, "assistant")
    record = await services.records.get_assistant(assistant_id)
    if record is None or not visible(record, flt):
        raise NotFound(missing) if missing is not None else assistant_not_found(assistant_id)
    return record


def _check_context(config: dict[str, Any] | None, context: dict[str, Any] | None) -> None:
    if context and (config or {}).get("configurable"):
        raise Refused(CONTEXT_AND_CONFIGURABLE)


def stored_config(config: dict[str, Any] | None, context: dict[str, Any] | None) -> dict[str, Any]:
    """The config an assistant stores: ``context`` is copied into
    ``config.configurable``, as langgraph-api 0.16.7 stores it."""
    config = copy.deepcopy(config or {})
    if context:
        config["configurable"] = copy.deepcopy(context)
    return config


def stored_context(config: dict[str, Any] | None, context: dict[str, Any] | None) -> dict[str, Any] | None:
    """The context an assistant stores: a non-empty ``config.configurable`` becomes
    the context too (langgraph-api 0.16.7 keeps the two alike), else ``context``
    (``None``: none given)."""
    configurable = (config or {}).get("configurable")
    if configurable:
        return copy.deepcopy(configurable)
    return copy.deepcopy(context) if context is not None else None


def check_new_assistant(
    services: Services, graph_id: str, config: dict[str, Any] | None, context: dict[str, Any] | None
) -> None:
    """Check a create request before it is authorized.

    Raises:
        NotFound: ``graph_id`` is not a graph of ``langgraph.json``.
        Refused: both ``context`` and ``config.configurable``.
    """
    if graph_id not in services.registry:
        raise graph_not_found(services, graph_id)
    _check_context(config, context)


async def create_assistant(
    services: Services,
    assistant_id: str,
    graph_id: str,
    *,
    config: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    name: str | None = None,
    description: str | None = None,
    if_exists: str = "raise",
    flt: AuthFilter = None,
) -> dict[str, Any]:
    """Store a new assistant (version 1; name ``Untitled`` by default) and return its
    record; with ``if_exists="do_nothing"`` an existing one is returned unchanged.
    Call :func:`check_new_assistant` first.

    Raises:
        Conflict: ``Assistant <id> already exists`` (``if_exists="raise"``, or an
            existing assistant ``flt`` hides).
    """
    ts = iso(now())
    record = {
        "assistant_id": assistant_id,
        "graph_id": graph_id,
        "config": stored_config(config, context),
        "context": stored_context(config, context) or {},
        "metadata": metadata or {},
        "name": name or "Untitled",
        "description": description,
        "version": 1,
        "created_at": ts,
        "updated_at": ts,
    }
    try:
        stored, created = await services.records.put_assistant(record, if_exists=if_exists)
    except KeyError:
        raise Conflict(f"Assistant {assistant_id} already exists") from None
    if not created and not visible(stored, flt):
        raise Conflict(f"Assistant {assistant_id} already exists")
    return stored


async def patch_assistant(
    services: Services,
    assistant_id: str,
    *,
    graph_id: str | None = None,
    config: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    name: str | None = None,
    description: str | None = None,
    flt: AuthFilter = None,
) -> dict[str, Any]:
    """Make a new version of the assistant from the given fields (``None``: kept) and
    make it latest; returns the new record. ``metadata`` is merged; a given
    ``context`` replaces the context and becomes ``config.configurable`` of the given
    ``config`` (or of an empty one, as langgraph-api 0.16.7 does).

    Raises:
        Invalid: not a UUID. NotFound: no such assistant (or hidden), or
            ``graph_id`` is not a graph. Refused: both ``context`` and
            ``config.configurable``.
    """
    current = await get_assistant(services, assistant_id, flt)
    if graph_id is not None and graph_id not in services.registry:
        raise graph_not_found(services, graph_id)
    _check_context(config, context)
    patch: dict[str, Any] = {
        "graph_id": graph_id,
        "metadata": metadata,
        "name": name or None,
        "description": description or None,
    }
    if context is not None:
        patch["context"] = copy.deepcopy(context)
        patch["config"] = stored_config(config, context)
    elif config is not None:
        patch["config"] = copy.deepcopy(config)
        if config.get("configurable"):
            patch["context"] = stored_context(config, None)
    updated = await services.records.update_assistant(current["assistant_id"], patch)
    if updated is None:  # deleted meanwhile
        raise assistant_not_found(current["assistant_id"])
    return updated


async def delete_assistant(services: Services, assistant_id: str) -> None:
    """Delete the assistant with canonical id ``assistant_id`` and its versions.

    Raises:
        NotFound: ``Assistant with ID <id> not found``.
    """
    if not await services.records.delete_assistant(assistant_id):
        raise assistant_not_found(assistant_id)


async def search_assistants(
    services: Services,
    *,
    metadata: dict[str, Any] | None = None,
    graph_id: str | None = None,
    name: str | None = None,
    flt: AuthFilter = None,
) -> list[dict[str, Any]]:
    """Assistant records (unsorted) of ``graph_id`` whose name contains ``name``
    (case-insensitive) and whose metadata contains ``metadata``, that ``flt`` lets
    the caller see."""
    out = []
    for a in await services.records.list_assistants():
        if graph_id is not None and a["graph_id"] != graph_id:
            continue
        if name is not None and name.lower() not in (a.get("name") or "").lower():
            continue
        if not matches(a.get("metadata") or {}, metadata):
            continue
        out.append(a)
    return [a for a in out if visible(a, flt)]


async def assistant_versions(
    services: Services, assistant_id: str, *, metadata: dict[str, Any] | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    """A page of the versions (newest first) of the assistant with canonical id
    ``assistant_id`` whose metadata contains ``metadata``."""
    versions = [
        v for v in await services.records.assistant_versions(assistant_id)
        if matches(v.get("metadata") or {}, metadata)
    ]
    return versions[offset: offset + limit]


async def set_latest_version(services: Services, assistant_id: str, version: int) -> dict[str, Any]:
    """Make ``version`` the current one of the assistant with canonical id
    ``assistant_id``; returns the record.

    Raises:
        NotFound: ``Version <n> of assistant <id> not found``.
    """
    updated = await services.records.set_latest_assistant_version(assistant_id, version)
    if updated is None:
        raise NotFound(f"Version {version} of assistant {assistant_id} not found")
    return updated


# ---------------------------------------------------------------------------- graph views


def assistant_config(assistant: dict[str, Any]) -> dict[str, Any]:
    """The ``RunnableConfig`` a graph factory gets for ``assistant`` outside a run."""
    config = copy.deepcopy(assistant.get("config") or {})
    configurable = dict(config.get("configurable") or {})
    configurable.update(assistant.get("context") or {})
    configurable.setdefault("graph_id", assistant["graph_id"])
    configurable.setdefault("assistant_id", assistant["assistant_id"])
    config["configurable"] = configurable
    return config


async def assistant_graph(services: Services, assistant: dict[str, Any]) -> Pregel:
    """The compiled graph of ``assistant`` (factories are called with its config).
    A graph that kept LangGraph's default name is named after its graph id, as
    langgraph-api 0.16.7 names the graph it serves (so its state schema's title is
    ``<graph_id>_state``).

    Raises:
        NotFound: the assistant's graph is no longer in ``langgraph.json``.
    """
    graph_id = assistant["graph_id"]
    if graph_id not in services.registry:
        raise graph_not_found(services, graph_id)
    graph = await services.registry.get(graph_id, assistant_config(assistant), access="assistants.read", store=services.store)
    if graph.name == DEFAULT_GRAPH_NAME:
        graph = graph.copy(update={"name": graph_id})
    return graph


def parse_xray(value: str | None) -> bool | int:
    """The ``xray`` query value of ``/assistants/{id}/graph``, as langgraph-api 0.16.7
    reads it: absent or empty → ``False``; ``true``/``True`` → ``True``;
    ``false``/``False`` → ``False``; a positive integer → that subgraph depth.

    Raises:
        Invalid: naming the value for anything else (``0``, negative numbers,
            ``yes``, ``TRUE``…: 422 there too).
    """
    if value is None or value == "":
        return False
    if value in ("true", "True"):
        return True
    if value in ("false", "False"):
        return False
    message = f"Invalid xray value: '{value}'. Must be true, false or a positive integer"
    try:
        depth = int(value)
    except ValueError:
        raise Invalid(message) from None
    if depth <= 0:
        raise Invalid(message)
    return depth


async def graph_json(graph: Pregel, xray: bool | int) -> dict[str, Any]:
    """``{"nodes": [...], "edges": [...]}`` of LangGraph's drawable graph, with or
    without ``xray``: each runnable node is ``{"id", "type": "runnable", "data":
    {"name"}}`` (langgraph-api 0.16.7 drops the LangChain class path LangGraph puts
    in ``data.id``), ``__end__`` a bare ``{"id"}``; edges as LangGraph draws them."""
    drawable = await graph.aget_graph(xray=xray)
    doc = serde.to_jsonable(drawable.to_json())
    for node in doc.get("nodes", []):
        data = node.get("data")
        if node.get("type") == "runnable" and isinstance(data, dict):
            data.pop("id", None)
    return doc


def _safe(label: str, fn, *fallbacks) -> Any:
    """``fn()``, else the first fallback that works, else ``None`` (logged)."""
    for attempt in (fn, *fallbacks):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return attempt()
        except Exception as exc:  # a schema LangGraph/pydantic cannot express
            log.debug("schema %s: %s: %s", label, type(exc).__name__, exc)
    log.warning("could not build the %s JSON schema; answering null", label)
    return None


def _channels_jsonschema(graph: Pregel, keys: Iterable[str], title: str) -> dict[str, Any]:
    """A JSON schema with one optional property per channel in ``keys``, typed by the
    channel's update type (``Any`` where pydantic cannot express that type)."""
    fields: dict[str, Any] = {}
    for key in keys:
        channel = graph.channels.get(key)
        typ = getattr(channel, "UpdateType", Any)
        try:
            create_model(key, value=(typ, None)).model_json_schema()
        except Exception:
            typ = Any
        fields[key] = (typ, None)
    return create_model(title, **fields).model_json_schema()


def _state_jsonschema(graph: Pregel) -> dict[str, Any]:
    return _channels_jsonschema(graph, graph.stream_channels_list, graph.get_name("State"))


def _input_keys(graph: Pregel) -> list[str]:
    """The state keys the graph's input accepts: the fields of its input type (a
    ``TypedDict``, dataclass or model) when the input is one channel, else the input
    channels."""
    channels = graph.input_channels
    if not isinstance(channels, str):
        return list(channels)
    input_type = getattr(graph.channels.get(channels), "ValueType", None)
    keys: dict[str, None] = {}
    for cls in reversed(getattr(input_type, "__mro__", ())):
        keys.update(dict.fromkeys(getattr(cls, "__annotations__", {})))
    keys.update(dict.fromkeys(getattr(input_type, "__annotations__", {})))
    found = [k for k in keys if k in graph.channels]
    if not found:
        raise ValueError(f"no state keys in the input type {input_type!r}")
    return found


def _input_jsonschema_from_channels(graph: Pregel) -> dict[str, Any]:
    """The input schema built from the state channels, for input types pydantic
    cannot express (``typing.TypedDict`` on Python < 3.12)."""
    return _channels_jsonschema(graph, _input_keys(graph), graph.get_name("Input"))


#: keys langgraph-api 0.16.7 leaves out of a graph's ``config_schema``: LangGraph's
#: own configurable keys
_HIDDEN_CONFIGURABLE = ("__pregel_checkpointer", "__pregel_store", "checkpoint_id", "checkpoint_ns", "thread_id")


def _config_jsonschema(graph: Pregel) -> dict[str, Any]:
    """The JSON schema of the ``configurable`` part of the graph's config alone (not
    the whole ``RunnableConfig``), titled after the graph's config/context type, as
    langgraph-api 0.16.7 answers; ``{}`` when the graph declares no configurable."""
    fields = getattr(graph.config_schema(), "model_fields", None) or {}
    if "configurable" not in fields:
        return {}
    schema = TypeAdapter(fields["configurable"].annotation).json_schema()
    if schema:
        for key in _HIDDEN_CONFIGURABLE:
            (schema.get("properties") or {}).pop(key, None)
    config_type = getattr(graph, "config_type", None)
    if config_type is not None and hasattr(config_type, "__name__"):
        schema["title"] = config_type.__name__
    return schema


def graph_schemas(graph: Pregel) -> dict[str, Any]:
    """``input_schema``, ``output_schema``, ``state_schema``, ``config_schema`` and
    ``context_schema`` of ``graph`` as LangGraph derives them (JSON Schema).

    A schema pydantic cannot express (for example a ``typing.TypedDict`` state on
    Python < 3.12) falls back to LangGraph's channel-based schema, else ``null``.
    """
    return {
        "input_schema": _safe(
            "input",
            graph.get_input_jsonschema,
            lambda: Pregel.get_input_jsonschema(graph),
            lambda: _input_jsonschema_from_channels(graph),
        ),
        "output_schema": _safe(
            "output", graph.get_output_jsonschema, lambda: Pregel.get_output_jsonschema(graph)
        ),
        "state_schema": _safe("state", lambda: _state_jsonschema(graph)),
        "config_schema": _safe("config", lambda: _config_jsonschema(graph)),
        "context_schema": _safe("context", graph.get_context_jsonschema),
    }


async def assistant_schemas(services: Services, assistant: dict[str, Any]) -> dict[str, Any]:
    """The ``/assistants/{id}/schemas`` body: ``graph_id`` plus :func:`graph_schemas`."""
    graph = await assistant_graph(services, assistant)
    schemas = await asyncio.to_thread(graph_schemas, graph)
    return serde.to_jsonable({"graph_id": assistant["graph_id"], **schemas})


async def assistant_subgraphs(
    services: Services, assistant: dict[str, Any], namespace: str | None, recurse: bool
) -> dict[str, Any]:
    """``{"<namespace>": {input_schema, output_schema, state_schema, config_schema,
    context_schema}}`` for the graph's subgraphs (``|``-joined namespaces when
    recursing), optionally only the one at ``namespace``."""
    graph = await assistant_graph(services, assistant)
    found = [(ns, sub) async for ns, sub in graph.aget_subgraphs(namespace=namespace, recurse=recurse)]

    def build() -> dict[str, Any]:
        return {ns: graph_schemas(sub) for ns, sub in found if isinstance(sub, Pregel)}

    return serde.to_jsonable(await asyncio.to_thread(build))
