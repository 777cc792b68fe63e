"""Threads: their records, their state and checkpoints, copying, pruning and deleting
them everywhere.

The thread endpoints (``api/routes/threads.py``) call these functions; following a
thread's runs and their events is :mod:`evergraph.adapter.resources.follow`. See
docs/architecture.md for the layers.

Thread records live in the record store (``services.records``). A thread's state is
read and written through LangGraph (``aget_state``, ``aget_state_history``,
``aupdate_state``, ``abulk_update_state``) on the thread's graph bound to Evergraph's
checkpointer, so LangGraph alone decides what an update means.

Every error is a domain error of ``adapter/errors.py``; the messages are the API's
``detail`` texts.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any, Awaitable, Callable, Iterable, Mapping

from langgraph.channels.delta import DeltaChannel
from langgraph.errors import InvalidUpdateError
from langgraph.pregel import Pregel
from langgraph.types import StateUpdate
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from evergraph.adapter import serde
from evergraph.adapter.errors import Conflict, Invalid, NotFound, Refused
from evergraph.adapter.execution.runconfig import command_from_json
from evergraph.adapter.graphs.state import EMPTY_STATE, bound_graph, snapshot_json, thread_interrupts
from evergraph.adapter.ids import iso, now, parse_uuid, require_uuid, run_workflow_id, thread_workflow_id
from evergraph.adapter.records.common import matches, new_thread
from evergraph.adapter.resources.assistants import assistant_config
from evergraph.adapter.resources.auth import AuthFilter, visible
from evergraph.adapter.resources.crons import delete_cron, list_crons
from evergraph.adapter.services import Services

__all__ = [
    "MAX_EXTRACT",
    "STATE_FIELDS",
    "check_extract",
    "close_thread",
    "copy_thread",
    "count_threads",
    "create_thread",
    "delete_assistant_threads",
    "delete_thread",
    "delete_thread_everywhere",
    "extract_path",
    "get_history",
    "get_state",
    "get_thread",
    "is_path",
    "prune_threads",
    "search_threads",
    "stamp_metadata",
    "thread_not_found",
    "thread_status",
    "thread_visible",
    "ttl_setting",
    "update_state",
    "update_thread",
    "visible_thread",
]

log = logging.getLogger(__name__)

STATE_FIELDS = (
    "values", "next", "tasks", "metadata", "created_at", "checkpoint", "parent_checkpoint",
    "interrupts", "checkpoint_id", "parent_checkpoint_id",
)
"""Top-level fields of a ThreadState that ``select`` may name."""

MAX_EXTRACT = 10
"""Most ``extract`` paths one thread search may ask for."""


# ------------------------------------------------------------------------------ records


def thread_not_found(thread_id: str) -> NotFound:
    """Not found (404) ``Thread with ID <id> not found``."""
    return NotFound(f"Thread with ID {thread_id} not found")


async def get_thread(services: Services, thread_id: str, flt: AuthFilter = None) -> dict[str, Any]:
    """The thread record of ``thread_id`` (any UUID spelling).

    Args:
        flt: the auth handler's filter; a thread it hides is not found.

    Raises:
        Invalid: ``thread_id`` is not a UUID. NotFound: no such thread, or hidden.
    """
    thread_id = require_uuid(thread_id, "thread")
    thread = await services.records.get_thread(thread_id)
    if thread is None or not visible(thread, flt):
        raise thread_not_found(thread_id)
    return thread


async def visible_thread(services: Services, thread_id: str, flt: AuthFilter) -> dict[str, Any] | None:
    """The record of a thread that may not exist yet (``None`` then), for requests
    that create it on first use.

    Raises:
        NotFound: the thread exists but ``flt`` hides it.
    """
    thread = await services.records.get_thread(thread_id)
    if thread is not None and not visible(thread, flt):
        raise thread_not_found(thread_id)
    return thread


async def thread_visible(services: Services, thread_id: str, flt: AuthFilter) -> bool:
    """Whether the auth filter ``flt`` lets the caller act on thread ``thread_id``:
    always without a filter (nothing is read), else when the thread exists and its
    metadata passes the filter."""
    return flt is None or visible(await services.records.get_thread(thread_id), flt)


async def stamp_metadata(services: Services, thread_id: str, metadata: dict[str, Any]) -> None:
    """Merge ``metadata`` into the thread's, so the auth filters that let a user
    create a thread through a run also let them read it."""
    await services.records.update_thread(thread_id, metadata=metadata)


def ttl_setting(value: Mapping[str, Any] | float | None) -> dict[str, Any] | None:
    """A thread's stored ``ttl``: ``{"strategy", "ttl"}`` (minutes) from the request's
    ``{"strategy", "ttl"}`` object or bare number of minutes (strategy ``delete``).

    Raises:
        Invalid: a negative number of minutes.
    """
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {"strategy": value["strategy"], "ttl": value["ttl"]}
    if value < 0:
        raise Invalid(f"ttl must be a non-negative number of minutes, got {value}")
    return {"strategy": "delete", "ttl": value}


def thread_status(busy: bool, snapshot: Any) -> str:
    """A thread's status from its state: ``busy`` while a run is pending or running,
    ``interrupted`` when its state waits on nodes (an interrupt), else ``idle``."""
    if busy:
        return "busy"
    return "interrupted" if snapshot.next else "idle"


async def _refresh_thread(
    services: Services, thread: dict[str, Any], graph: Pregel, config: dict[str, Any]
) -> dict[str, Any]:
    """Copy the thread's latest state into its record (values, interrupts, status)."""
    snapshot = await graph.aget_state({"configurable": dict(config["configurable"])})
    ts = iso(now())
    status = thread_status(bool(await services.records.active_runs(thread["thread_id"])), snapshot)
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


async def _state_graph(
    services: Services, thread: dict[str, Any], access: str = "threads.read"
) -> tuple[Pregel, dict[str, Any]] | None:
    """The thread's graph (bound to the checkpointer) and the config that addresses
    its state, or ``None`` when the thread has no known graph yet. ``access`` is
    the access context a graph factory is called for (``threads.read`` or
    ``threads.update``).

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
    graph = await bound_graph(services, graph_id, factory_config, access=access)
    return graph, {"configurable": {"thread_id": thread["thread_id"], "checkpoint_ns": "", "graph_id": graph_id}}


def _superstep_updates(supersteps: list[Mapping[str, Any]]) -> list[list[StateUpdate]]:
    """``supersteps`` (``{"updates": [{"values", "command", "as_node"}]}`` each) as
    LangGraph's bulk-update argument."""
    return [
        [
            StateUpdate(command_from_json(u["command"]) if u.get("command") else u.get("values"), u.get("as_node"))
            for u in step["updates"]
        ]
        for step in supersteps
    ]


async def create_thread(
    services: Services,
    thread_id: str,
    metadata: dict[str, Any],
    *,
    if_exists: str = "raise",
    ttl: dict[str, Any] | None = None,
    supersteps: list[Mapping[str, Any]] | None = None,
    flt: AuthFilter = None,
) -> dict[str, Any]:
    """Create a thread and return its record.

    Args:
        thread_id: a canonical UUID string.
        metadata: the thread's metadata; ``metadata.graph_id`` names its graph.
        if_exists: ``raise`` (409 for an existing id) or ``do_nothing`` (the
            existing thread is returned).
        ttl: the stored ttl (:func:`ttl_setting`).
        supersteps: ``[{"updates": [{"values", "command", "as_node"}]}]`` applied to the
            new thread's state through LangGraph's ``abulk_update_state`` on the graph
            named by ``metadata.graph_id``.
        flt: the auth handler's filter; an existing thread it hides is a conflict.

    Raises:
        Invalid: ``supersteps`` without ``metadata.graph_id``, on an unknown graph,
            with an invalid command, or values the graph refuses (nothing is kept).
        Conflict: ``Thread with ID <id> already exists``.
        Refused: LangGraph refused an update (e.g. an unknown ``as_node``).
    """
    updates = None
    if supersteps:
        graph_id = metadata.get("graph_id")
        if not graph_id:
            raise Invalid(
                "supersteps need the thread's graph: give metadata.graph_id (one of "
                f"{services.registry.graph_ids!r})"
            )
        if graph_id not in services.registry:
            raise Invalid(
                f"supersteps: metadata.graph_id '{graph_id}' is not a graph; expected one of "
                f"{services.registry.graph_ids!r}"
            )
        try:
            updates = _superstep_updates(supersteps)
        except (TypeError, ValueError) as exc:
            raise Invalid(f"supersteps: invalid command: {exc}") from None
    record = new_thread(thread_id, metadata, ttl=ttl)
    try:
        thread, created = await services.records.put_thread(record, if_exists=if_exists)
    except KeyError:
        raise Conflict(f"Thread with ID {thread_id} already exists") from None
    if not created and not visible(thread, flt):
        raise Conflict(f"Thread with ID {thread_id} already exists")
    if created and updates:
        try:
            found = await _state_graph(services, thread, "threads.update")
            assert found is not None
            graph, config = found
            await graph.abulk_update_state(config, updates)
            thread = await _refresh_thread(services, thread, graph, config)
        except Exception as exc:
            await services.records.delete_thread(thread_id)
            await services.saver.adelete_thread(thread_id)
            if isinstance(exc, InvalidUpdateError):
                raise Refused(str(exc)) from None
            if isinstance(exc, (ValueError, TypeError, KeyError)):
                raise Invalid(f"supersteps could not be applied: {type(exc).__name__}: {exc}") from None
            raise
    return thread


async def update_thread(
    services: Services,
    thread_id: str,
    *,
    metadata: dict[str, Any],
    ttl: Mapping[str, Any] | float | None = None,
    flt: AuthFilter = None,
) -> dict[str, Any]:
    """Merge ``metadata`` into the thread's and, when given, set its ``ttl`` (as
    :func:`ttl_setting` reads it); returns the updated record.

    Raises:
        Invalid: ``thread_id`` is not a UUID, or a negative ttl.
        NotFound: no such thread (or hidden by ``flt``).
    """
    thread = await get_thread(services, thread_id, flt)
    fields: dict[str, Any] = {"metadata": metadata}
    if ttl is not None:
        fields["ttl"] = ttl_setting(ttl)
    updated = await services.records.update_thread(thread["thread_id"], **fields)
    if updated is None:
        raise thread_not_found(thread["thread_id"])
    return updated


# ------------------------------------------------------------------------------ search


_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")


def is_path(path: str) -> bool:
    """Whether ``path`` is a non-empty ``key(.key|[index])*`` path for ``extract``."""
    pos = 0
    for match in _PATH_TOKEN.finditer(path):
        is_key = match.group(1) is not None
        expected = "" if pos == 0 or not is_key else "."
        if path[pos:match.start()] != expected or (pos == 0 and not is_key):
            return False
        pos = match.end()
    return pos > 0 and pos == len(path)


def check_extract(extract: Mapping[str, str] | None) -> None:
    """Check a thread search's ``extract`` (alias → path).

    Raises:
        Invalid: more than :data:`MAX_EXTRACT` paths, or a path that is not
            ``key(.key|[index])*``.
    """
    if extract and len(extract) > MAX_EXTRACT:
        raise Invalid(f"extract: at most {MAX_EXTRACT} paths are allowed, got {len(extract)}")
    for alias, path in (extract or {}).items():
        if not is_path(path):
            raise Invalid(
                f"extract.{alias}: invalid path {path!r} (expected keys and [index]es, e.g. values.messages[-1])"
            )


def extract_path(doc: Any, path: str) -> Any:
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


def _matching(
    items: list[dict[str, Any]],
    metadata: dict[str, Any] | None,
    values: dict[str, Any] | None,
    flt: AuthFilter,
    exclude_metadata: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    return [
        t for t in items
        if matches(t.get("metadata") or {}, metadata)
        and not (exclude_metadata and matches(t.get("metadata") or {}, exclude_metadata))
        and (not values or matches(t.get("values"), values))
        and visible(t, flt)
    ]


async def search_threads(
    services: Services,
    *,
    ids: list[str] | None = None,
    status: str | None = None,
    metadata: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
    flt: AuthFilter = None,
    exclude_metadata: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Thread records (unsorted) among ``ids`` (canonical UUIDs; ``None``: all) with
    ``status`` whose metadata and values contain ``metadata`` and ``values``, whose
    metadata does not contain every pair of ``exclude_metadata`` (a non-empty object),
    and that ``flt`` lets the caller see."""
    items = await services.records.list_threads(ids=ids, status=status)
    return _matching(items, metadata, values, flt, exclude_metadata)


async def count_threads(
    services: Services,
    *,
    status: str | None = None,
    metadata: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
    flt: AuthFilter = None,
    exclude_metadata: dict[str, Any] | None = None,
) -> int:
    """The number of threads :func:`search_threads` would find (all ids)."""
    return len(await search_threads(
        services, status=status, metadata=metadata, values=values, flt=flt, exclude_metadata=exclude_metadata
    ))


# --------------------------------------------------------------------- delete, copy, prune


async def close_thread(services: Services, thread_id: str) -> None:
    """Stop everything Temporal does for a thread that is being deleted: delete its
    crons' schedules, terminate its workflow (queued runs never start) and cancel the
    workflows of its running runs. Missing workflows are ignored.

    Raises:
        RPCError: Temporal refused for another reason than a missing workflow.
    """
    client: Client = services.temporal
    for cron in await list_crons(services, thread_id=thread_id):
        await delete_cron(services, cron["cron_id"])
    try:
        await client.get_workflow_handle(thread_workflow_id(thread_id)).terminate("thread deleted")
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
    for run in await services.records.active_runs(thread_id):
        try:
            await client.get_workflow_handle(run_workflow_id(run["run_id"])).cancel()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise


async def delete_thread_everywhere(services: Services, thread_id: str) -> bool:
    """Delete a thread: stop its workflows (:func:`close_thread`; a failure there is
    logged, the thread is deleted anyway and its runs end on their own), drop its
    record and runs, and its checkpoints. Returns whether the thread existed."""
    if services.temporal is not None:
        try:
            await close_thread(services, thread_id)
        except Exception as exc:  # the thread is deleted anyway; its runs end on their own
            log.warning("could not stop the workflows of deleted thread %s: %s", thread_id, exc)
    existed = await services.records.delete_thread(thread_id)
    await services.saver.adelete_thread(thread_id)
    return existed


async def delete_thread(services: Services, thread_id: str, flt: AuthFilter = None) -> None:
    """Delete a thread, its runs and its checkpoints.

    Raises:
        Invalid: ``thread_id`` is not a UUID. NotFound: no such thread (or hidden).
    """
    thread = await get_thread(services, thread_id, flt)
    if not await delete_thread_everywhere(services, thread["thread_id"]):
        raise thread_not_found(thread["thread_id"])


async def delete_assistant_threads(services: Services, assistant_id: str) -> None:
    """Delete (:func:`delete_thread_everywhere`) every thread whose
    ``metadata.assistant_id`` is ``assistant_id``."""
    for thread in await services.records.list_threads():
        if (thread.get("metadata") or {}).get("assistant_id") == assistant_id:
            await delete_thread_everywhere(services, thread["thread_id"])


async def _put_writes(saver: Any, config: dict[str, Any], pending: list[tuple[str, str, Any]]) -> None:
    by_task: dict[str, list[tuple[str, Any]]] = {}
    for task_id, channel, value in pending:
        by_task.setdefault(task_id, []).append((channel, value))
    for task_id, writes in by_task.items():
        await saver.aput_writes(config, writes, task_id)


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


async def copy_thread(
    services: Services, source: dict[str, Any], target_id: str, metadata: dict[str, Any]
) -> dict[str, Any]:
    """A new thread ``target_id`` with ``metadata`` and a copy of every checkpoint of
    thread ``source`` (a record); its record copies the source's values, interrupts,
    error, config and ttl, and its status (``idle`` for a busy source). Nothing is
    kept when the copy fails. Returns the new record."""
    try:
        await _copy_checkpoints(services, source["thread_id"], target_id)
    except Exception:
        await services.saver.adelete_thread(target_id)
        raise
    ts = iso(now())
    record = {
        "thread_id": target_id,
        "created_at": ts,
        "updated_at": ts,
        "state_updated_at": ts,
        "metadata": metadata,
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
        await services.saver.adelete_thread(target_id)
        raise
    return thread


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


async def prune_threads(
    services: Services,
    thread_ids: Iterable[str],
    strategy: str,
    filter_for: Callable[[str], Awaitable[AuthFilter]],
) -> int:
    """Prune threads; returns how many were pruned (unknown or hidden ids are skipped).

    Args:
        thread_ids: canonical UUIDs, each pruned once.
        strategy: ``delete`` removes the threads entirely; ``keep_latest`` keeps each
            with only its latest checkpoint per namespace (threads whose graph is
            unknown or uses delta channels are left as they are and not counted).
        filter_for: the auth filter for deleting one thread (called per thread, in
            order; it may raise to refuse the request).
    """
    pruned = 0
    for thread_id in thread_ids:
        flt = await filter_for(thread_id)
        thread = await services.records.get_thread(thread_id)
        if thread is None or not visible(thread, flt):
            continue
        if strategy == "delete":
            if await delete_thread_everywhere(services, thread_id):
                pruned += 1
        elif await _keep_latest(services, thread):
            pruned += 1
    return pruned


# -------------------------------------------------------------------------------- state


def _select_state(state: dict[str, Any], select: Iterable[str] | None) -> dict[str, Any]:
    """ThreadState restricted to ``select``: top-level fields, or ``values.<key>``
    for single state keys.

    Raises:
        Invalid: naming an unknown field.
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
            raise Invalid(f"select: unknown field '{item}'; expected one of {list(STATE_FIELDS)} or 'values.<key>'")
    out = {k: state.get(k) for k in STATE_FIELDS if k in fields}
    if value_keys and "values" not in fields:
        values = state.get("values")
        out["values"] = (
            {k: values[k] for k in value_keys if k in values} if isinstance(values, dict) else values
        )
    return out


def _checkpoint_fields(checkpoint: Mapping[str, Any] | None, field: str) -> dict[str, Any]:
    """The ``configurable`` keys that address ``checkpoint`` (``checkpoint_id``,
    ``checkpoint_ns``, ``checkpoint_map``…); its ``thread_id`` is ignored, the path
    names the thread.

    Raises:
        Invalid: naming ``<field>.<key>`` when an id or namespace is not a string,
            or the map not an object.
    """
    out: dict[str, Any] = {}
    for key, value in (checkpoint or {}).items():
        if key == "thread_id" or value is None:
            continue
        if key in ("checkpoint_id", "checkpoint_ns") and not isinstance(value, str):
            raise Invalid(f"{field}.{key}: must be a string (got {value!r})")
        if key == "checkpoint_map" and not isinstance(value, dict):
            raise Invalid(f"{field}.{key}: must be an object (got {value!r})")
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


async def get_state(
    services: Services,
    thread_id: str,
    *,
    checkpoint: Mapping[str, Any] | None = None,
    subgraphs: bool = False,
    select: list[str] | None = None,
    flt: AuthFilter = None,
) -> dict[str, Any]:
    """The thread's ThreadState (JSON-safe): the latest, or at ``checkpoint``
    (``checkpoint_id``, ``checkpoint_ns``, ``checkpoint_map``). A thread without a
    graph or a checkpoint has the empty state; an unknown checkpoint id gives empty
    values, as LangGraph reads it.

    Args:
        subgraphs: include the state of subgraphs in ``tasks``.
        select: top-level fields or ``values.<key>`` to keep (all when empty).

    Raises:
        Invalid: bad thread id, checkpoint field or ``select`` field.
        NotFound: no such thread (or hidden by ``flt``).
    """
    thread = await get_thread(services, thread_id, flt)
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


async def update_state(
    services: Services,
    thread_id: str,
    *,
    values: Any,
    as_node: str | None = None,
    checkpoint: Mapping[str, Any] | None = None,
    checkpoint_id: str | None = None,
    flt: AuthFilter = None,
) -> dict[str, Any]:
    """Apply ``values`` as if ``as_node`` returned them (LangGraph ``aupdate_state``),
    on the latest checkpoint or, forking, on ``checkpoint``/``checkpoint_id``; the
    thread's record then takes the new latest state. Returns
    ``{"checkpoint", "configurable", "checkpoint_id"}`` of the new checkpoint.

    Raises:
        Invalid: bad thread id or checkpoint field.
        NotFound: no such thread (or hidden), or no such checkpoint to fork from.
        Refused: the thread has no graph yet, or LangGraph refused the update
            (``Node <x> does not exist``, a reducer refusing the values); nothing is
            written.
    """
    thread = await get_thread(services, thread_id, flt)
    fork = _checkpoint_fields(checkpoint, "checkpoint")
    if checkpoint_id:
        fork["checkpoint_id"] = checkpoint_id
    found = await _state_graph(services, thread, "threads.update")
    if found is None:
        raise Refused(
            f"Thread {thread['thread_id']} has no graph to update: it has not run yet and was not "
            "created with metadata.graph_id"
        )
    graph, config = found
    conf = config["configurable"]
    conf.update(fork)
    if "checkpoint_id" in fork and await services.saver.aget_tuple(config) is None:
        # LangGraph would write a checkpoint whose parent does not exist
        raise NotFound(f"Checkpoint {fork['checkpoint_id']} not found in thread {thread['thread_id']}")
    try:
        new_config = await graph.aupdate_state(config, values, as_node=as_node)
    except InvalidUpdateError as exc:
        raise Refused(str(exc)) from None
    except (TypeError, ValueError) as exc:  # a reducer refused the values; nothing was written
        node = f"node {as_node}" if as_node else "the last node"
        raise Refused(f"values could not be applied as {node}: {type(exc).__name__}: {exc}") from None
    latest = {"configurable": {"thread_id": thread["thread_id"], "checkpoint_ns": "", "graph_id": conf["graph_id"]}}
    await _refresh_thread(services, thread, graph, latest)
    return _update_response(new_config)


async def get_history(
    services: Services,
    thread_id: str,
    *,
    limit: int,
    before: Mapping[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    checkpoint: Mapping[str, Any] | None = None,
    select: list[str] | None = None,
    flt: AuthFilter = None,
) -> list[dict[str, Any]]:
    """The thread's ThreadStates, newest first (LangGraph ``aget_state_history``).

    Args:
        limit: most states returned.
        before: ``{"configurable": {"checkpoint_id": …}}`` (or the inner object):
            only states older than that checkpoint.
        metadata: only checkpoints whose metadata contains it.
        checkpoint: the namespace / checkpoint to list from.
        select: as for :func:`get_state`.

    Raises:
        Invalid: bad thread id, checkpoint field, ``before`` or ``select`` field.
        NotFound: no such thread (or hidden by ``flt``).
    """
    thread = await get_thread(services, thread_id, flt)
    found = await _state_graph(services, thread)
    if found is None:
        return []
    graph, config = found
    config["configurable"].update(_checkpoint_fields(checkpoint, "checkpoint"))
    before_config = None
    if before is not None:
        inner = before.get("configurable", before)
        if not isinstance(inner, dict):
            raise Invalid(f"before.configurable: must be an object (got {inner!r})")
        before_config = {"configurable": _checkpoint_fields(inner, "before.configurable")}
    return [
        _select_state(snapshot_json(s), select)
        async for s in graph.aget_state_history(config, filter=metadata or None, before=before_config, limit=limit)
    ]
