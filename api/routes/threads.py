"""Thread endpoints (API.md §3.3) and thread state / checkpoint endpoints (§3.4).

Thread records live in :class:`adapter.records.sqlite.Records`; state is read and written
through LangGraph (``aget_state``, ``aget_state_history``, ``aupdate_state``,
``abulk_update_state``) on the thread's graph bound to Evergraph's checkpointer, so
LangGraph alone decides what an update means. Observed shapes: transcripts s02, s09,
s13.
"""

from __future__ import annotations

import copy
import logging
import re
import uuid
from typing import Any, AsyncIterator, Iterable

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from langgraph.channels.delta import DeltaChannel
from langgraph.errors import InvalidUpdateError
from langgraph.pregel import Pregel
from langgraph.types import StateUpdate

from evergraph.adapter import serde
from evergraph.adapter.resources.assistants import assistant_config
from evergraph.adapter.ids import iso, new_id, now, parse_uuid
from evergraph.adapter.execution.runconfig import _command as command_from_json
from evergraph.adapter.services import Services
from evergraph.adapter.graphs.state import EMPTY_STATE, bound_graph, snapshot_json, thread_interrupts
from evergraph.adapter.records.sqlite import matches, new_thread, public_thread
from evergraph.api.auth import authorize, visible
from evergraph.api.deps import services as get_services
from evergraph.api.errors import ApiError, require_uuid
from evergraph.api.models import (
    HistoryRequest,
    StateAtCheckpoint,
    StateUpdate as StateUpdateBody,
    Superstep,
    ThreadCount,
    ThreadCreate,
    ThreadPatch,
    ThreadPrune,
    ThreadSearch,
    ThreadTTL,
)
from evergraph.api.responses import json_response, paginate, select_fields, sort_records

log = logging.getLogger(__name__)

router = APIRouter(tags=["threads"])

STATE_FIELDS = (
    "values", "next", "tasks", "metadata", "created_at", "checkpoint", "parent_checkpoint",
    "interrupts", "checkpoint_id", "parent_checkpoint_id",
)
MAX_EXTRACT = 10


# ------------------------------------------------------------------------------ helpers


def thread_not_found(thread_id: str) -> ApiError:
    """404 ``Thread with ID <id> not found``."""
    return ApiError(404, f"Thread with ID {thread_id} not found")


async def _get_thread(services: Services, thread_id: str, flt: dict[str, Any] | None = None) -> dict[str, Any]:
    thread_id = require_uuid(thread_id, "thread")
    thread = await services.records.get_thread(thread_id)
    if thread is None or not visible(thread, flt):
        raise thread_not_found(thread_id)
    return thread


async def _authorized_thread(
    request: Request, services: Services, thread_id: str, action: str, **value: Any
) -> dict[str, Any]:
    """The thread, after the ``threads.<action>`` auth handler allowed the request;
    404 ``Thread with ID <id> not found`` when its filter hides the thread."""
    flt = await authorize(request, "threads", action, {"thread_id": thread_id, **value})
    return await _get_thread(services, thread_id, flt)


def _ttl(value: ThreadTTL | float | None) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, ThreadTTL):
        return {"strategy": value.strategy, "ttl": value.ttl}
    if value < 0:
        raise ApiError(422, f"ttl must be a non-negative number of minutes, got {value}")
    return {"strategy": "delete", "ttl": value}


async def _cancel_active_runs(services: Services, thread_id: str) -> None:
    """Stop the thread's workflow and running runs before the thread goes away."""
    if services.temporal is None:
        return
    from evergraph.adapter.resources.runs import close_thread

    try:
        await close_thread(services, thread_id)
    except Exception as exc:  # the thread is deleted anyway; its runs end on their own
        log.warning("could not stop the workflows of deleted thread %s: %s", thread_id, exc)


async def delete_thread_everywhere(services: Services, thread_id: str) -> bool:
    """Delete a thread: cancel its active runs, drop its record and runs, and its
    checkpoints. Returns whether the thread existed."""
    await _cancel_active_runs(services, thread_id)
    existed = await services.records.delete_thread(thread_id)
    await services.saver.adelete_thread(thread_id)
    return existed


async def _state_graph(services: Services, thread: dict[str, Any]) -> tuple[Pregel, dict[str, Any]] | None:
    """The thread's graph (bound to the checkpointer) and the config that addresses
    its state, or ``None`` when the thread has no known graph yet.

    The graph is ``metadata.graph_id``: set by the first run, or given at creation.
    """
    metadata = thread.get("metadata") or {}
    graph_id = metadata.get("graph_id")
    if not isinstance(graph_id, str) or graph_id not in services.registry:
        return None
    base: dict[str, Any] = {}
    assistant_id = parse_uuid(metadata.get("assistant_id") or "")
    if assistant_id:
        assistant = await services.records.get_assistant(assistant_id)
        if assistant is not None and assistant["graph_id"] == graph_id:
            base = assistant_config(assistant)
    factory_config = {**base, "configurable": {**base.get("configurable", {}), "thread_id": thread["thread_id"]}}
    graph = await bound_graph(services, graph_id, factory_config)
    return graph, {"configurable": {"thread_id": thread["thread_id"], "checkpoint_ns": "", "graph_id": graph_id}}


def _select_state(state: dict[str, Any], select: Iterable[str] | None) -> dict[str, Any]:
    """ThreadState restricted to ``select``: top-level fields, or ``values.<key>``
    for single state keys.

    Raises:
        ApiError: 422 naming an unknown field.
    """
    if not select:
        return state
    fields: list[str] = []
    value_keys: list[str] = []
    for item in select:
        if item.startswith("values."):
            value_keys.append(item[len("values."):])
        elif item in STATE_FIELDS:
            fields.append(item)
        else:
            raise ApiError(
                422, f"select: unknown field '{item}'; expected one of {list(STATE_FIELDS)} or 'values.<key>'"
            )
    out = {k: state.get(k) for k in STATE_FIELDS if k in fields}
    if value_keys and "values" not in fields:
        values = state.get("values")
        out["values"] = (
            {k: values[k] for k in value_keys if k in values} if isinstance(values, dict) else values
        )
    return out


def _checkpoint_fields(checkpoint: dict[str, Any] | None, field: str) -> dict[str, Any]:
    """The ``configurable`` keys that address ``checkpoint`` (``checkpoint_id``,
    ``checkpoint_ns``, ``checkpoint_map``…); its ``thread_id`` is ignored, the path
    names the thread.

    Raises:
        ApiError: 422 naming ``<field>.<key>`` when an id or namespace is not a
            string, or the map not an object.
    """
    out: dict[str, Any] = {}
    for key, value in (checkpoint or {}).items():
        if key == "thread_id" or value is None:
            continue
        if key in ("checkpoint_id", "checkpoint_ns") and not isinstance(value, str):
            raise ApiError(422, f"{field}.{key}: must be a string (got {value!r})")
        if key == "checkpoint_map" and not isinstance(value, dict):
            raise ApiError(422, f"{field}.{key}: must be an object (got {value!r})")
        out[key] = value
    return out


def _is_empty(snapshot: Any) -> bool:
    """True for the snapshot LangGraph gives a thread without any checkpoint."""
    return snapshot.metadata is None and snapshot.created_at is None and not snapshot.values


def _update_response(config: dict[str, Any]) -> dict[str, Any]:
    conf = config.get("configurable", {})
    ref = {
        "thread_id": conf.get("thread_id"),
        "checkpoint_ns": conf.get("checkpoint_ns", ""),
        "checkpoint_id": conf.get("checkpoint_id"),
    }
    return {"checkpoint": ref, "configurable": dict(ref), "checkpoint_id": ref["checkpoint_id"]}


async def _refresh_thread(
    services: Services, thread: dict[str, Any], graph: Pregel, config: dict[str, Any]
) -> dict[str, Any]:
    """Copy the thread's latest state into its record (values, interrupts, status)."""
    snapshot = await graph.aget_state({"configurable": dict(config["configurable"])})
    ts = iso(now())
    active = await services.records.active_runs(thread["thread_id"])
    if active:
        status = "busy"
    else:
        status = "interrupted" if snapshot.next else "idle"
    updated = await services.records.update_thread(
        thread["thread_id"],
        values=serde.to_jsonable(snapshot.values) if snapshot.values is not None else None,
        interrupts=thread_interrupts(snapshot),
        error=None,
        status=status,
        state_updated_at=ts,
        updated_at=ts,
    )
    return updated or thread


def _superstep_updates(supersteps: list[Superstep]) -> list[list[StateUpdate]]:
    return [
        [
            StateUpdate(command_from_json(u.command) if u.command else u.values, u.as_node)
            for u in step.updates
        ]
        for step in supersteps
    ]


_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")


def _is_path(path: str) -> bool:
    """Whether ``path`` is a non-empty ``key(.key|[index])*`` path for ``extract``."""
    pos = 0
    for match in _PATH_TOKEN.finditer(path):
        is_key = match.group(1) is not None
        expected = "" if pos == 0 or not is_key else "."
        if path[pos:match.start()] != expected or (pos == 0 and not is_key):
            return False
        pos = match.end()
    return pos > 0 and pos == len(path)


def _extract_path(doc: Any, path: str) -> Any:
    """The value at ``path`` (``a.b[0].c``, ``values.messages[-1]``) or ``None``."""
    pos = 0
    current = doc
    for match in _PATH_TOKEN.finditer(path):
        if match.start() != pos and path[pos:match.start()] != ".":
            return None
        pos = match.end()
        key, index = match.group(1), match.group(2)
        if key is not None:
            current = current.get(key) if isinstance(current, dict) else None
        else:
            i = int(index)
            current = current[i] if isinstance(current, list) and -len(current) <= i < len(current) else None
        if current is None:
            return None
    return current


def _thread_filter(items: list[dict[str, Any]], metadata=None, values=None) -> list[dict[str, Any]]:
    return [
        t for t in items
        if matches(t.get("metadata") or {}, metadata) and (not values or matches(t.get("values"), values))
    ]


# ----------------------------------------------------------------- checkpoint copy/prune


async def _copy_checkpoints(services: Services, source: str, target: str) -> None:
    """Replay every checkpoint (all namespaces, ids kept) and pending write of
    ``source`` into ``target``, parents first."""
    saver = services.saver
    tuples = [t async for t in saver.alist({"configurable": {"thread_id": source}})]
    tuples.sort(key=lambda t: (t.config["configurable"].get("checkpoint_ns", ""), t.checkpoint["id"]))
    for t in tuples:
        conf = t.config["configurable"]
        parent = (t.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        put_config: dict[str, Any] = {"configurable": {"thread_id": target, "checkpoint_ns": conf.get("checkpoint_ns", "")}}
        if parent:
            put_config["configurable"]["checkpoint_id"] = parent
        metadata = dict(t.metadata or {})
        if "thread_id" in metadata:
            metadata["thread_id"] = target
        stored = await saver.aput(put_config, t.checkpoint, metadata, dict(t.checkpoint.get("channel_versions", {})))
        await _put_writes(saver, stored, t.pending_writes or [])


async def _put_writes(saver: Any, config: dict[str, Any], pending: list[tuple[str, str, Any]]) -> None:
    by_task: dict[str, list[tuple[str, Any]]] = {}
    for task_id, channel, value in pending:
        by_task.setdefault(task_id, []).append((channel, value))
    for task_id, writes in by_task.items():
        await saver.aput_writes(config, writes, task_id)


def _uses_delta_channels(graph: Pregel) -> bool:
    if any(isinstance(c, DeltaChannel) for c in graph.channels.values()):
        return True
    return any(
        isinstance(sub, Pregel) and _uses_delta_channels(sub) for _, sub in graph.get_subgraphs(recurse=False)
    )


async def _keep_latest(services: Services, thread: dict[str, Any]) -> bool:
    """Keep only the latest checkpoint of each namespace (and its pending writes).

    Threads whose graph is unknown or uses delta channels (whose values are rebuilt
    from older checkpoints) are left untouched; returns whether the thread was pruned.
    """
    found = await _state_graph(services, thread)
    if found is None or _uses_delta_channels(found[0]):
        return False
    saver = services.saver
    thread_id = thread["thread_id"]
    latest: dict[str, Any] = {}
    async for t in saver.alist({"configurable": {"thread_id": thread_id}}):
        ns = t.config["configurable"].get("checkpoint_ns", "")
        if ns not in latest or t.checkpoint["id"] > latest[ns].checkpoint["id"]:
            latest[ns] = t
    await saver.adelete_thread(thread_id)
    for ns, t in latest.items():
        stored = await saver.aput(
            {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns}},
            t.checkpoint,
            dict(t.metadata or {}),
            dict(t.checkpoint.get("channel_versions", {})),
        )
        await _put_writes(saver, stored, t.pending_writes or [])
    return True


# -------------------------------------------------------------------------------- threads


@router.post("/threads")
async def create_thread(
    request: Request, body: ThreadCreate | None = None, services: Services = Depends(get_services)
):
    """Create a thread (``if_exists``: ``raise`` → 409, ``do_nothing`` → the existing
    one). ``supersteps`` pre-fill its state through LangGraph's bulk update, on the
    graph named by ``metadata.graph_id``."""
    body = body or ThreadCreate()
    thread_id = require_uuid(body.thread_id, "thread") if body.thread_id is not None else new_id()
    metadata = copy.deepcopy(body.metadata or {})
    ttl = _ttl(body.ttl)
    value: dict[str, Any] = {"thread_id": thread_id, "metadata": metadata, "if_exists": body.if_exists or "raise"}
    if ttl is not None:
        value["ttl"] = ttl
    flt = await authorize(request, "threads", "create", value)
    metadata = value.get("metadata") or {}
    updates = None
    if body.supersteps:
        graph_id = metadata.get("graph_id")
        if not graph_id:
            raise ApiError(
                422, "supersteps need the thread's graph: give metadata.graph_id (one of "
                f"{services.registry.graph_ids!r})"
            )
        if graph_id not in services.registry:
            raise ApiError(
                422, f"supersteps: metadata.graph_id '{graph_id}' is not a graph; expected one of "
                f"{services.registry.graph_ids!r}"
            )
        try:
            updates = _superstep_updates(body.supersteps)
        except (TypeError, ValueError) as exc:
            raise ApiError(422, f"supersteps: invalid command: {exc}") from None
    record = new_thread(thread_id, metadata, ttl=ttl)
    try:
        thread, created = await services.records.put_thread(record, if_exists=body.if_exists or "raise")
    except KeyError:
        raise ApiError(409, f"Thread with ID {thread_id} already exists") from None
    if not created and not visible(thread, flt):
        raise ApiError(409, f"Thread with ID {thread_id} already exists")
    if created and updates:
        try:
            found = await _state_graph(services, thread)
            assert found is not None
            graph, config = found
            await graph.abulk_update_state(config, updates)
            thread = await _refresh_thread(services, thread, graph, config)
        except Exception as exc:
            await services.records.delete_thread(thread_id)
            await services.saver.adelete_thread(thread_id)
            if isinstance(exc, InvalidUpdateError):
                raise ApiError(400, str(exc)) from None
            if isinstance(exc, (ValueError, TypeError, KeyError)):
                raise ApiError(422, f"supersteps could not be applied: {type(exc).__name__}: {exc}") from None
            raise
    return public_thread(thread)


@router.post("/threads/search")
async def search_threads(
    request: Request, body: ThreadSearch | None = None, services: Services = Depends(get_services)
):
    """Threads matching ``ids``/``status``/``metadata``/``values``, one page, with
    ``X-Pagination-*`` headers; ``extract`` adds an ``extracted`` object."""
    body = body or ThreadSearch()
    if body.extract and len(body.extract) > MAX_EXTRACT:
        raise ApiError(422, f"extract: at most {MAX_EXTRACT} paths are allowed, got {len(body.extract)}")
    for alias, path in (body.extract or {}).items():
        if not _is_path(path):
            raise ApiError(422, f"extract.{alias}: invalid path {path!r} (expected keys and [index]es, e.g. values.messages[-1])")
    ids = None
    if body.ids is not None:
        ids = [require_uuid(i, "thread") for i in body.ids]
        if not ids:
            return json_response([], headers={"X-Pagination-Total": str(body.offset)})
    flt = await authorize(request, "threads", "search", {
        "metadata": body.metadata or {}, "values": body.values or {}, "status": body.status,
        "limit": body.limit, "offset": body.offset, "ids": ids,
    })
    items = await services.records.list_threads(ids=ids, status=body.status)
    items = [t for t in _thread_filter(items, body.metadata, body.values) if visible(t, flt)]
    items = sort_records(items, body.sort_by or "updated_at", body.sort_order, "thread_id")
    page, headers = paginate(items, body.limit, body.offset)
    out = []
    for t in page:
        doc = public_thread(t)
        if body.extract:
            extracted = {alias: _extract_path(doc, path) for alias, path in body.extract.items()}
        doc = select_fields(doc, body.select)
        if body.select and "interrupts" in body.select and doc.get("interrupts") is None:
            doc["interrupts"] = {}
        if body.extract:
            doc["extracted"] = extracted
        out.append(doc)
    return json_response(out, headers=headers)


@router.post("/threads/count")
async def count_threads(
    request: Request, body: ThreadCount | None = None, services: Services = Depends(get_services)
) -> int:
    """The number of threads matching ``metadata``/``values``/``status`` (an integer)."""
    body = body or ThreadCount()
    flt = await authorize(request, "threads", "search", {
        "metadata": body.metadata or {}, "values": body.values or {}, "status": body.status,
    })
    items = await services.records.list_threads(status=body.status)
    return len([t for t in _thread_filter(items, body.metadata, body.values) if visible(t, flt)])


@router.post("/threads/prune")
async def prune_threads(request: Request, body: ThreadPrune, services: Services = Depends(get_services)):
    """``delete``: remove the threads entirely; ``keep_latest``: keep each thread with
    only its latest checkpoint. Returns ``{"pruned_count": n}`` (unknown ids are
    skipped)."""
    ids = list(dict.fromkeys(require_uuid(t, "thread") for t in body.thread_ids))
    pruned = 0
    for thread_id in ids:
        flt = await authorize(request, "threads", "delete", {"thread_id": thread_id})
        thread = await services.records.get_thread(thread_id)
        if thread is None or not visible(thread, flt):
            continue
        if body.strategy == "delete":
            if await delete_thread_everywhere(services, thread_id):
                pruned += 1
        elif await _keep_latest(services, thread):
            pruned += 1
    return {"pruned_count": pruned}


@router.get("/threads/{thread_id}")
async def get_thread(
    request: Request, thread_id: str, include: list[str] | None = Query(None),
    services: Services = Depends(get_services),
):
    """One thread; 404 ``Thread with ID <id> not found``. ``include=ttl`` adds the
    thread's ``ttl`` when it has one."""
    thread = await _authorized_thread(request, services, thread_id, "read")
    doc = public_thread(thread)
    wanted = {part.strip() for item in include or [] for part in item.split(",") if part.strip()}
    if "ttl" in wanted and thread.get("ttl") is not None:
        doc["ttl"] = thread["ttl"]
    return doc


@router.patch("/threads/{thread_id}")
async def patch_thread(
    request: Request,
    thread_id: str,
    body: ThreadPatch | None = None,
    prefer: str | None = Header(None),
    services: Services = Depends(get_services),
):
    """Merge ``metadata`` into the thread's (and set ``ttl``); ``Prefer:
    return=minimal`` answers 204 without a body."""
    body = body or ThreadPatch()
    value: dict[str, Any] = {"thread_id": thread_id, "metadata": copy.deepcopy(body.metadata or {})}
    flt = await authorize(request, "threads", "update", value)
    thread = await _get_thread(services, thread_id, flt)
    fields: dict[str, Any] = {"metadata": value.get("metadata") or {}}
    if body.ttl is not None:
        fields["ttl"] = _ttl(body.ttl)
    updated = await services.records.update_thread(thread["thread_id"], **fields)
    if updated is None:
        raise thread_not_found(thread["thread_id"])
    if prefer and "return=minimal" in prefer.replace(" ", "").lower():
        return Response(status_code=204)
    return public_thread(updated)


@router.delete("/threads/{thread_id}", status_code=204)
async def delete_thread(request: Request, thread_id: str, services: Services = Depends(get_services)):
    """Delete a thread, its runs and its checkpoints (204; 404 if unknown)."""
    thread = await _authorized_thread(request, services, thread_id, "delete")
    if not await delete_thread_everywhere(services, thread["thread_id"]):
        raise thread_not_found(thread["thread_id"])
    return Response(status_code=204)


@router.post("/threads/{thread_id}/copy")
async def copy_thread(request: Request, thread_id: str, services: Services = Depends(get_services)):
    """A new thread (random uuid4) with the same metadata and a copy of every
    checkpoint; the response has no ``values`` key (s02 [35])."""
    source = await _authorized_thread(request, services, thread_id, "read")
    target = str(uuid.uuid4())
    value = {"thread_id": target, "metadata": copy.deepcopy(source.get("metadata") or {})}
    await authorize(request, "threads", "create", value)
    try:
        await _copy_checkpoints(services, source["thread_id"], target)
    except Exception:
        await services.saver.adelete_thread(target)
        raise
    ts = iso(now())
    record = {
        "thread_id": target,
        "created_at": ts,
        "updated_at": ts,
        "state_updated_at": ts,
        "metadata": value.get("metadata") or {},
        "status": "idle" if source.get("status") == "busy" else source.get("status") or "idle",
        "config": copy.deepcopy(source.get("config") or {}),
        "values": source.get("values"),
        "interrupts": source.get("interrupts"),
        "error": source.get("error"),
        "ttl": source.get("ttl"),
    }
    try:
        thread, _ = await services.records.put_thread(record)
    except BaseException:
        await services.saver.adelete_thread(target)
        raise
    return {k: v for k, v in public_thread(thread).items() if k not in ("values", "interrupts", "error")}


# ---------------------------------------------------------------------------------- state


async def _state(
    request: Request, services: Services, thread_id: str, checkpoint: dict[str, Any] | None, subgraphs: bool,
    select: list[str] | None,
) -> dict[str, Any]:
    thread = await _authorized_thread(request, services, thread_id, "read")
    found = await _state_graph(services, thread)
    if found is None:
        return _select_state(copy.deepcopy(EMPTY_STATE), select)
    graph, config = found
    conf = config["configurable"]
    if checkpoint:
        conf.update(_checkpoint_fields(checkpoint, "checkpoint"))
    snapshot = await graph.aget_state(config, subgraphs=subgraphs)
    if not checkpoint and _is_empty(snapshot):
        return _select_state(copy.deepcopy(EMPTY_STATE), select)
    return _select_state(snapshot_json(snapshot), select)


@router.get("/threads/{thread_id}/state")
async def get_state(
    request: Request,
    thread_id: str,
    subgraphs: bool = False,
    select: list[str] | None = Query(None),
    services: Services = Depends(get_services),
):
    """The thread's current ThreadState (the empty state when it has none)."""
    return await _state(request, services, thread_id, None, subgraphs, select)


@router.get("/threads/{thread_id}/state/{checkpoint_id}")
async def get_state_at(
    request: Request,
    thread_id: str,
    checkpoint_id: str,
    subgraphs: bool = False,
    select: list[str] | None = Query(None),
    services: Services = Depends(get_services),
):
    """ThreadState at ``checkpoint_id`` (an unknown id gives empty values, as in s09)."""
    return await _state(request, services, thread_id, {"checkpoint_id": checkpoint_id}, subgraphs, select)


@router.post("/threads/{thread_id}/state/checkpoint")
async def get_state_at_checkpoint(
    request: Request, thread_id: str, body: StateAtCheckpoint, services: Services = Depends(get_services)
):
    """ThreadState at ``body.checkpoint`` (``checkpoint_id``, ``checkpoint_ns``…)."""
    return await _state(request, services, thread_id, body.checkpoint, body.subgraphs, body.select)


@router.post("/threads/{thread_id}/state")
async def update_state(
    request: Request, thread_id: str, body: StateUpdateBody, services: Services = Depends(get_services)
):
    """Apply ``values`` as if ``as_node`` returned them (LangGraph ``aupdate_state``),
    on the latest checkpoint or, forking, on ``checkpoint``/``checkpoint_id``.

    400 ``Node <x> does not exist`` (and LangGraph's other invalid-update errors),
    nothing written.
    """
    thread = await _authorized_thread(request, services, thread_id, "update")
    fork = _checkpoint_fields(body.checkpoint, "checkpoint")
    if body.checkpoint_id:
        fork["checkpoint_id"] = body.checkpoint_id
    found = await _state_graph(services, thread)
    if found is None:
        raise ApiError(
            400,
            f"Thread {thread['thread_id']} has no graph to update: it has not run yet and was not "
            "created with metadata.graph_id",
        )
    graph, config = found
    conf = config["configurable"]
    conf.update(fork)
    if "checkpoint_id" in fork and await services.saver.aget_tuple(config) is None:
        # LangGraph would write a checkpoint whose parent does not exist
        raise ApiError(
            404, f"Checkpoint {fork['checkpoint_id']} not found in thread {thread['thread_id']}"
        )
    try:
        new_config = await graph.aupdate_state(config, body.values, as_node=body.as_node)
    except InvalidUpdateError as exc:
        raise ApiError(400, str(exc)) from None
    except (TypeError, ValueError) as exc:  # a reducer refused the values; nothing was written
        node = f"node {body.as_node}" if body.as_node else "the last node"
        raise ApiError(400, f"values could not be applied as {node}: {type(exc).__name__}: {exc}") from None
    latest = {"configurable": {"thread_id": thread["thread_id"], "checkpoint_ns": "", "graph_id": conf["graph_id"]}}
    await _refresh_thread(services, thread, graph, latest)
    return _update_response(new_config)


# -------------------------------------------------------------------------------- history


async def _history(
    request: Request,
    services: Services,
    thread_id: str,
    *,
    limit: int,
    before: dict[str, Any] | None,
    metadata: dict[str, Any] | None,
    checkpoint: dict[str, Any] | None,
    select: list[str] | None,
) -> list[dict[str, Any]]:
    thread = await _authorized_thread(request, services, thread_id, "read")
    found = await _state_graph(services, thread)
    if found is None:
        return []
    graph, config = found
    config["configurable"].update(_checkpoint_fields(checkpoint, "checkpoint"))
    if before is not None:
        inner = before.get("configurable", before)
        if not isinstance(inner, dict):
            raise ApiError(422, f"before.configurable: must be an object (got {inner!r})")
        before = {"configurable": _checkpoint_fields(inner, "before.configurable")}
    return [
        _select_state(snapshot_json(s), select)
        async for s in graph.aget_state_history(config, filter=metadata or None, before=before, limit=limit)
    ]


@router.post("/threads/{thread_id}/history")
async def post_history(
    request: Request, thread_id: str, body: HistoryRequest | None = None, services: Services = Depends(get_services)
):
    """The thread's ThreadStates, newest first; ``before`` is
    ``{"configurable": {"checkpoint_id": …}}`` (a string gives 422, as in s09)."""
    body = body or HistoryRequest()
    return await _history(
        request, services, thread_id, limit=body.limit, before=body.before, metadata=body.metadata,
        checkpoint=body.checkpoint, select=body.select,
    )


@router.get("/threads/{thread_id}/history")
async def get_history(
    request: Request,
    thread_id: str,
    limit: int = Query(10, ge=1),
    before: str | None = None,
    services: Services = Depends(get_services),
):
    """``GET`` form of the history: ``before`` is a checkpoint id."""
    before_config = {"configurable": {"checkpoint_id": before}} if before else None
    return await _history(
        request, services, thread_id, limit=limit, before=before_config, metadata=None, checkpoint=None, select=None
    )


# ------------------------------------------------------------------------------ thread stream

THREAD_STREAM_MODES = ("run_modes", "lifecycle", "state_update")
"""Values of ``stream_modes`` on ``GET /threads/{id}/stream`` (API.md §3.5.4)."""


def _thread_stream_modes(values: list[str] | None) -> set[str]:
    """``stream_modes`` (comma-separated and/or repeated) as a set; default ``run_modes``.

    Raises:
        ApiError: 422 naming an unknown mode.
    """
    modes = {part.strip() for item in values or [] for part in item.split(",") if part.strip()}
    for mode in sorted(modes):
        if mode not in THREAD_STREAM_MODES:
            raise ApiError(422, f"Invalid stream mode: {mode!r}. Expected one of: {', '.join(THREAD_STREAM_MODES)}")
    return modes or {"run_modes"}


async def thread_events(
    services: Services, thread_id: str, modes: set[str], cursor: tuple[int, int]
) -> AsyncIterator[bytes]:
    """SSE frames of every run of ``thread_id`` whose events have ids after ``cursor``
    (``(-1, -1)``: from the start), run after run in creation order, then of each run
    that starts later; never ends by itself.

    Each run's events are bracketed by its own first event ``metadata {run_id,
    attempt}`` and, from the broker's end-of-stream event (same id),
    ``metadata {status: "run_done", run_id}``. Events carry ``id:`` whether or not
    the run is resumable. ``lifecycle`` keeps only the two brackets; ``run_modes``
    adds the run's own events; ``state_update`` adds nothing (the reference server
    sent nothing for it during runs, transcript s06).
    """
    from collections import deque

    from evergraph.adapter.broker.memory import END, StreamEvent
    from evergraph.api.sse import frame

    broker, records = services.broker, services.records
    with_runs = "run_modes" in modes
    with_lifecycle = with_runs or "lifecycle" in modes
    after = f"{cursor[0]}-{cursor[1]}" if cursor != (-1, -1) else None
    watch = broker.watch_starts()
    try:
        queue: deque[str] = deque()
        seen: set[str] = set()
        for run in reversed(await records.list_runs(thread_id, limit=100_000)):
            if await broker.has_stream(run["run_id"]):
                queue.append(run["run_id"])
                seen.add(run["run_id"])
        starts = watch.__aiter__()
        while True:
            while queue:
                run_id = queue.popleft()
                async for event in broker.subscribe(run_id, after, from_start=after is None):
                    if event.event == END:
                        if with_lifecycle:
                            done = serde.dumps({"status": "run_done", "run_id": run_id})
                            yield frame(StreamEvent(event.id, "metadata", done), with_id=True)
                    elif event.event.startswith("__"):
                        continue
                    elif with_runs or (event.event == "metadata" and with_lifecycle):
                        yield frame(event, with_id=True)
            run_id = await starts.__anext__()
            if run_id in seen:
                continue
            run = await records.get_run(run_id)
            if run is not None and run["thread_id"] == thread_id:
                seen.add(run_id)
                queue.append(run_id)
    finally:
        watch.close()


@router.get("/threads/{thread_id}/stream")
async def join_thread_stream(
    request: Request,
    thread_id: str,
    stream_modes: list[str] | None = Query(None),
    last_event_id: str | None = Header(None),
    services: Services = Depends(get_services),
):
    """The thread's event stream across runs (SSE, API.md §3.5.4). It stays open
    (heartbeats) until the client leaves. Without ``Last-Event-ID`` it carries events
    published from now on; with one, every retained event strictly after it (``-1``:
    from the start). Reads ``stream_modes`` as the reference server does (the SDK
    sends ``stream_mode``, which is ignored, so it gets ``run_modes``).

    Raises:
        ApiError: 404 unknown thread; 422 invalid mode or an id that is not
            ``<ms>-<n>`` (or ``-1``).
    """
    import time

    from evergraph.adapter.broker.memory import parse_event_id
    from evergraph.api.sse import sse_response

    thread = await _authorized_thread(request, services, thread_id, "read")
    modes = _thread_stream_modes(stream_modes)
    if last_event_id is not None and last_event_id.strip():
        cursor = parse_event_id(last_event_id)
        if cursor is None:
            raise ApiError(422, "Invalid last-event-id: must be a valid Redis stream ID")
    else:
        # "from now on": everything with an id from this millisecond on
        cursor = (int(time.time() * 1000) - 1, 2**62)
    return sse_response(
        thread_events(services, thread["thread_id"], modes, cursor),
        headers={},
        interval=services.settings.heartbeat_interval,
    )
