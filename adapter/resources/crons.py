"""Crons (``/runs/crons``, ``/threads/{id}/runs/crons``) as Temporal Schedules.

Each cron **is** the Temporal Schedule ``cron-<cron_id>``; there is no other record of
it, so what a person does to the schedule in the Temporal UI (pause, unpause, trigger,
delete) is what the API reports:

* the schedule's action starts ``CronWorkflow`` (:mod:`evergraph.workflows.cron`) with the
  **cron document** as its one argument: the API's Cron object without ``enabled``
  and ``next_run_date`` (``cron_id, assistant_id, thread_id, user_id, end_time,
  schedule, timezone, payload, metadata, on_run_completed, created_at, updated_at``).
  Updating a cron rewrites that argument and the spec in one schedule update. A
  ``payload`` too large for a Temporal payload (a big ``input``) is kept there as a
  claim on a blob of the records store (adapter/execution/claims.py), read back
  wherever the document is read and deleted with the cron;
* its spec is the cron's 5-field ``schedule`` (``cron_expressions``), ``timezone``
  (``time_zone_name``, UTC when unset) and ``end_time`` (``end_at``);
* ``enabled`` is ``not state.paused`` and ``next_run_date`` the schedule's next
  action time;
* its memo (set once) marks it as Evergraph's and names the task queue (the
  deployment) and graph it belongs to; its search attributes ``EvergraphAssistantId``,
  ``EvergraphGraphId`` and (thread crons) ``EvergraphThreadId`` make it findable in
  the UI and narrow the schedule listing behind ``search`` and ``count``, which then
  describe each candidate and filter in Python.

A tick (or a trigger) runs ``CronWorkflow``, whose local activity ``cron_fire`` calls
:func:`fire_cron`: an ordinary run through
:func:`evergraph.adapter.resources.runs.create_run` with the cron's payload and
``cron_id`` in ``config.configurable``. See docs/architecture.md for the layers.
"""

from __future__ import annotations

import asyncio
import copy
from datetime import datetime, timezone
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleDescription,
    ScheduleHandle,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from evergraph.adapter import serde
from evergraph.adapter.execution import claims
from evergraph.adapter.errors import Conflict, EvergraphError, Invalid, NotFound, Refused, Unavailable
from evergraph.adapter.ids import iso, new_id, now
from evergraph.adapter.resources.assistants import resolve_assistant
from evergraph.adapter.resources.runs import CONTEXT_AND_CONFIGURABLE, create_run
from evergraph.adapter.services import Services
from evergraph.workflows import search
from evergraph.workflows.cron import CronWorkflow

__all__ = [
    "CRON_KEYS",
    "LISTING_WAIT",
    "MEMO_KIND",
    "SCHEDULE_FIELDS",
    "SORT_KEYS",
    "CronFireRefused",
    "check_schedule",
    "check_timezone",
    "create_cron",
    "cron_object",
    "delete_cron",
    "fire_cron",
    "get_cron",
    "invalid_schedule",
    "invalid_timezone",
    "list_crons",
    "parse_end_time",
    "run_body",
    "schedule_id",
    "sort_crons",
    "update_cron",
]

#: memo key/value marking a schedule as an Evergraph cron
MEMO_KIND = ("evergraph", "cron")

#: body fields of a cron request that describe the schedule, not the run it makes
SCHEDULE_FIELDS = ("schedule", "end_time", "timezone", "enabled", "on_run_completed")

#: the Cron object's keys, in langgraph-api 0.16.7's order
CRON_KEYS = (
    "cron_id", "assistant_id", "thread_id", "user_id", "end_time", "schedule", "timezone", "payload",
    "next_run_date", "metadata", "on_run_completed", "enabled", "created_at", "updated_at",
)

SORT_KEYS = ("cron_id", "assistant_id", "thread_id", "created_at", "updated_at", "next_run_date", "end_time")
"""``sort_by`` values of ``POST /runs/crons/search`` (the SDK's ``CronSortBy``)."""


def schedule_id(cron_id: str) -> str:
    """Temporal Schedule id of a cron: ``cron-<cron_id>``."""
    return f"cron-{cron_id}"


def invalid_schedule(schedule: Any) -> Invalid:
    """422 for a schedule that is not a 5-field cron, in langgraph-api 0.16.7's words."""
    return Invalid(
        f"Invalid cron schedule: '{schedule}'. Reason: Invalid cron schedule. Ensure the schedule uses the "
        "standard cron format (minute hour day_of_month month day_of_week). Example: '*/5 * * * *' for every "
        "5 minutes.",
    )


def invalid_timezone(tz: Any) -> Invalid:
    """422 for a ``timezone`` that is not an IANA time zone name."""
    return Invalid(f"Invalid timezone: '{tz}'. Use an IANA time zone name such as 'America/New_York'.")


def check_schedule(schedule: Any) -> str:
    """``schedule`` if it has the 5 fields of standard cron syntax (the ranges are
    checked by Temporal when the schedule is written).

    Raises:
        Invalid: ``Invalid cron schedule: '…'. Reason: …`` (langgraph-api 0.16.7's text).
    """
    if not isinstance(schedule, str) or len(schedule.split()) != 5:
        raise invalid_schedule(schedule)
    return schedule


def check_timezone(tz: Any) -> str | None:
    """``tz`` (an IANA name such as ``Europe/Paris``) or ``None`` for UTC.

    Raises:
        Invalid: ``Invalid timezone: '…'`` for a name the tz database lacks.
    """
    if tz is None:
        return None
    if not isinstance(tz, str) or not tz:
        raise invalid_timezone(tz)
    try:
        ZoneInfo(tz)
    except (ValueError, KeyError, OSError):
        raise invalid_timezone(tz) from None
    return tz


def parse_end_time(value: Any) -> datetime | None:
    """``end_time`` (ISO-8601; a naive time is UTC) as an aware datetime, or ``None``.

    Raises:
        Invalid: it is not an ISO-8601 date-time.
    """
    if value is None:
        return None
    try:
        ts = datetime.fromisoformat(str(value))
    except ValueError:
        raise Invalid(f"Invalid end_time: '{value}'. Expected an ISO-8601 date-time.") from None
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


def _spec(cron: dict[str, Any]) -> ScheduleSpec:
    end = parse_end_time(cron.get("end_time"))
    return ScheduleSpec(cron_expressions=[cron["schedule"]], time_zone_name=cron.get("timezone") or None, end_at=end)


def _search_attributes(cron: dict[str, Any], graph_id: str) -> TypedSearchAttributes:
    pairs = [SearchAttributePair(search.ASSISTANT_ID, cron["assistant_id"]), SearchAttributePair(search.GRAPH_ID, graph_id)]
    if cron.get("thread_id"):
        pairs.append(SearchAttributePair(search.THREAD_ID, cron["thread_id"]))
    return TypedSearchAttributes(pairs)


def _action(services: Services, cron: dict[str, Any], graph_id: str) -> ScheduleActionStartWorkflow:
    return ScheduleActionStartWorkflow(
        CronWorkflow.run,
        cron,
        # Temporal appends the tick's time: cron-<cron_id>-<timestamp>
        id=schedule_id(cron["cron_id"]),
        task_queue=services.settings.task_queue,
        typed_search_attributes=_search_attributes(cron, graph_id),
    )


def _schedule_rpc_error(err: RPCError, cron: dict[str, Any]) -> EvergraphError:
    """A schedule write Temporal refused, as the API's answer."""
    if err.status == RPCStatusCode.INVALID_ARGUMENT:
        if "time zone" in err.message:
            return invalid_timezone(cron.get("timezone"))
        if "schedule spec" in err.message:
            return invalid_schedule(cron.get("schedule"))
        return Invalid(err.message)
    return Unavailable(f"Could not write the cron's Temporal Schedule: {err.message}")


def _blob_owner(cron_id: str) -> str:
    """The owner of a cron's payload blob (thread and run of :meth:`RecordStore.put_blob`)."""
    return f"cron-{cron_id}"


async def _stored(services: Services, cron: dict[str, Any]) -> dict[str, Any]:
    """``cron`` as its schedule keeps it: a payload too large for a Temporal payload
    (a big ``input``) replaced by a claim on a blob of the records store
    (adapter/execution/claims.py), deleted with the cron."""
    owner = _blob_owner(cron["cron_id"])
    payload = await claims.check_in(
        services.records, serde.dumps(cron.get("payload") or {}).decode(),
        limit=services.settings.claim_check_bytes, thread_id=owner, run_id=owner, kind="cron",
    )
    return {**cron, "payload": payload} if claims.is_claim(payload) else cron


async def open_cron(services: Services, cron: dict[str, Any]) -> dict[str, Any]:
    """``cron`` (as its schedule keeps it) with a payload sent by claim read back.

    Raises:
        claims.ClaimMissing: the payload's blob is gone.
    """
    if not claims.is_claim(cron.get("payload")):
        return cron
    return {**cron, "payload": serde.loads(await claims.check_out(services.records, cron["payload"]))}


async def _decode_cron(services: Services, desc: ScheduleDescription) -> dict[str, Any] | None:
    """The cron document of a schedule, its payload read back (:func:`open_cron`)."""
    cron = await _raw_cron(services.temporal, desc)
    return None if cron is None else await open_cron(services, cron)


async def _raw_cron(client: Client, desc: ScheduleDescription) -> dict[str, Any] | None:
    action = desc.schedule.action
    if not isinstance(action, ScheduleActionStartWorkflow) or action.workflow != "CronWorkflow" or not action.args:
        return None
    args = action.args
    if not isinstance(args[0], dict):  # raw payloads from the server
        args = await client.data_converter.decode(list(args), [dict])
    return args[0] if isinstance(args[0], dict) else None


async def _is_ours(services: Services, desc: ScheduleDescription) -> bool:
    memo = await desc.memo()
    return memo.get(MEMO_KIND[0]) == MEMO_KIND[1] and memo.get("task_queue") == services.settings.task_queue


def cron_object(cron: dict[str, Any], desc: ScheduleDescription) -> dict[str, Any]:
    """The API's Cron object from the cron document and the schedule's description
    (``enabled`` = not paused; ``next_run_date`` = next action time, ISO-8601 UTC, or
    ``None`` once ``end_time`` has passed)."""
    upcoming = desc.info.next_action_times
    extra = {
        "enabled": not desc.schedule.state.paused,
        "next_run_date": upcoming[0].astimezone(timezone.utc).isoformat() if upcoming else None,
    }
    return {k: extra[k] if k in extra else cron.get(k) for k in CRON_KEYS}


async def _describe(services: Services, cron_id: str) -> tuple[ScheduleHandle, ScheduleDescription, dict[str, Any]] | None:
    """Handle, description and document of the cron, or None when there is no such
    Evergraph cron in this deployment."""
    client: Client = services.temporal
    handle = client.get_schedule_handle(schedule_id(cron_id))
    try:
        desc = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    if not await _is_ours(services, desc):
        return None
    cron = await _decode_cron(services, desc)
    if cron is None:
        return None
    return handle, desc, cron


def _with_cron_id(config: Any, cron_id: str) -> dict[str, Any]:
    config = copy.deepcopy(config) if isinstance(config, dict) else {}
    config["configurable"] = {**(config.get("configurable") or {}), "cron_id": cron_id}
    return config


async def create_cron(
    services: Services, thread_id: str | None, assistant: dict[str, Any], body: dict[str, Any]
) -> dict[str, Any]:
    """Create a cron: its Temporal Schedule ``cron-<cron_id>``, paused if ``enabled``
    is false.

    Args:
        thread_id: the thread its runs go to, or ``None`` for a stateless cron (each
            tick makes a new thread; ``on_run_completed`` ``delete`` (default) or
            ``keep`` decides whether it is deleted after the run).
        assistant: the resolved assistant record.
        body: the request body as sent (the run fields plus ``schedule``,
            ``end_time``, ``timezone``, ``enabled``, ``on_run_completed``; keys the
            client did not send are absent). It becomes the cron's ``payload``, with ``assistant_id``
            resolved and ``config.configurable.cron_id`` added.

    Returns:
        The Cron object.

    Raises:
        Invalid: bad schedule, time zone or end time. Refused: both ``context``
            and ``config.configurable``. Unavailable: Temporal refused the write.
            Nothing is created on error.
    """
    schedule = check_schedule(body.get("schedule"))
    tz = check_timezone(body.get("timezone"))
    end = parse_end_time(body.get("end_time"))
    if body.get("context") and (body.get("config") or {}).get("configurable"):
        raise Refused(CONTEXT_AND_CONFIGURABLE)
    cron_id = new_id()
    payload = {k: v for k, v in body.items() if k not in ("assistant_id", "config")}
    payload["assistant_id"] = assistant["assistant_id"]
    payload["config"] = _with_cron_id(body.get("config"), cron_id)
    ts = iso(now())
    cron = {
        "cron_id": cron_id,
        "assistant_id": assistant["assistant_id"],
        "thread_id": thread_id,
        "user_id": "",
        "end_time": iso(end) if end else None,
        "schedule": schedule,
        "timezone": tz,
        "payload": payload,
        "metadata": body.get("metadata") or {},
        "on_run_completed": (body.get("on_run_completed") or "delete") if thread_id is None else None,
        "created_at": ts,
        "updated_at": ts,
    }
    graph_id = assistant["graph_id"]
    client: Client = services.temporal
    try:
        stored = await _stored(services, cron)
        handle = await client.create_schedule(
            schedule_id(cron_id),
            Schedule(
                action=_action(services, stored, graph_id),
                spec=_spec(cron),
                # CronWorkflow only creates a run: let every tick start one, but never
                # pile up more than one behind a slow one
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.BUFFER_ONE),
                state=ScheduleState(paused=body.get("enabled") is False, note="disabled through the API"
                                    if body.get("enabled") is False else None),
            ),
            memo={
                MEMO_KIND[0]: MEMO_KIND[1],
                "task_queue": services.settings.task_queue,
                "graph_id": graph_id,
                "cron_id": cron_id,
            },
            search_attributes=_search_attributes(cron, graph_id),
        )
    except RPCError as err:
        await services.records.delete_run_blobs(_blob_owner(cron_id))
        raise _schedule_rpc_error(err, cron) from None
    except ScheduleAlreadyRunningError:  # a UUIDv7 collision: not expected
        raise Conflict(f"Cron {cron_id} already exists") from None
    await _until_listed(client, schedule_id(cron_id))
    return cron_object(cron, await handle.describe())


#: longest wait for a new schedule to show in Temporal's schedule listing, seconds
LISTING_WAIT = 10.0


async def _until_listed(client: Client, sid: str) -> None:
    """Wait (at most :data:`LISTING_WAIT` s) until Temporal's schedule listing, which
    lags behind writes, shows schedule ``sid``, so a search right after a create finds
    the new cron. Returns without waiting on servers that refuse the query."""
    deadline = asyncio.get_running_loop().time() + LISTING_WAIT
    delay = 0.01
    while True:
        try:
            async for _ in await client.list_schedules(query=f"ScheduleId = {_quote(sid)}"):
                return
        except RPCError:
            return
        if asyncio.get_running_loop().time() > deadline:
            return
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.2)


async def get_cron(services: Services, cron_id: str) -> dict[str, Any] | None:
    """The Cron object of ``cron_id``, or ``None`` when this deployment has no such
    cron (its schedule is missing or not an Evergraph cron of this task queue)."""
    found = await _describe(services, cron_id)
    return cron_object(found[2], found[1]) if found else None


async def update_cron(services: Services, cron_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
    """Apply a ``PATCH /runs/crons/{id}`` body to the cron's schedule in one schedule
    update: spec (``schedule``, ``timezone``, ``end_time``; ``end_time: null``
    clears it), paused state (``enabled``) and the cron document (top-level fields
    and ``payload``, which takes every field sent, as langgraph-api 0.16.7's does).

    Args:
        changes: the fields the client sent (absent keys are left unchanged).

    Returns:
        The updated Cron object, or ``None`` when there is no such cron.

    Raises:
        Invalid: bad schedule, time zone or end time (nothing changes).
        Refused: both ``context`` and ``config.configurable`` result.
    """
    if "schedule" in changes:
        check_schedule(changes["schedule"])
    if "timezone" in changes:
        check_timezone(changes["timezone"])
    end = parse_end_time(changes.get("end_time"))
    found = await _describe(services, cron_id)
    if found is None:
        return None
    handle, _, _ = found
    client: Client = services.temporal
    result: dict[str, Any] = {}

    async def updater(inp: ScheduleUpdateInput) -> ScheduleUpdate:
        desc = inp.description
        raw = await _raw_cron(client, desc) or {}
        result["old_payload"] = raw.get("payload")
        cron = copy.deepcopy(await open_cron(services, raw) if raw else {})
        payload = cron.setdefault("payload", {})
        for key, value in changes.items():
            if key == "config":
                payload["config"] = _with_cron_id(value, cron_id)
            elif key != "assistant_id":
                payload[key] = value
        if payload.get("context") and {k: v for k, v in payload["config"].get("configurable", {}).items()
                                       if k != "cron_id"}:
            raise Refused(CONTEXT_AND_CONFIGURABLE)
        if "schedule" in changes:
            cron["schedule"] = changes["schedule"]
        if "timezone" in changes:
            cron["timezone"] = changes["timezone"]
        if "end_time" in changes:
            cron["end_time"] = iso(end) if end else None
        if "metadata" in changes:
            cron["metadata"] = changes["metadata"] or {}
        if "on_run_completed" in changes and cron.get("thread_id") is None:
            cron["on_run_completed"] = changes["on_run_completed"] or "delete"
        cron["updated_at"] = iso(now())
        memo = await desc.memo()
        graph_id = memo.get("graph_id") or ""
        sched = desc.schedule
        stored = await _stored(services, cron)
        result["new_payload"] = stored.get("payload")
        sched.action = _action(services, stored, graph_id)
        if any(k in changes for k in ("schedule", "timezone", "end_time")):
            sched.spec = _spec(cron)
        if changes.get("enabled") is not None:
            paused = not changes["enabled"]
            if paused != sched.state.paused:
                sched.state.paused = paused
                sched.state.note = "disabled through the API" if paused else "enabled through the API"
        result["cron"] = cron
        return ScheduleUpdate(schedule=sched, search_attributes=_search_attributes(cron, graph_id))

    try:
        await handle.update(updater)
    except RPCError as err:
        await claims.forget(services.records, result.get("new_payload"))
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise _schedule_rpc_error(err, {**result.get("cron", {}), **changes}) from None
    if result.get("old_payload") != result.get("new_payload"):
        await claims.forget(services.records, result.get("old_payload"))
    desc = await handle.describe()
    cron = await _decode_cron(services, desc) or result["cron"]
    return cron_object(cron, desc)


async def delete_cron(services: Services, cron_id: str) -> bool:
    """Delete the cron's schedule (runs it already made are kept). Returns False when
    there is no such cron."""
    found = await _describe(services, cron_id)
    if found is None:
        return False
    try:
        await found[0].delete()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    await services.records.delete_run_blobs(_blob_owner(cron_id))
    return True


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


async def list_crons(
    services: Services,
    *,
    assistant_id: str | None = None,
    thread_id: str | None = None,
    enabled: bool | None = None,
    metadata: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Every Cron object of this deployment matching the filters (unsorted).

    Temporal's schedule listing is narrowed by the search attributes
    ``EvergraphAssistantId`` / ``EvergraphThreadId`` and the memo (Evergraph cron of
    this task queue); each candidate is then described, so ``enabled``, the document
    and ``next_run_date`` are the schedule's current ones, and ``enabled`` and
    ``metadata`` (exact match of every key) are filtered here.

    Args:
        assistant_id, thread_id: canonical UUID strings.
    """
    client: Client = services.temporal
    clauses = []
    if assistant_id:
        clauses.append(f"{search.ASSISTANT_ID.name} = {_quote(assistant_id)}")
    if thread_id:
        clauses.append(f"{search.THREAD_ID.name} = {_quote(thread_id)}")
    ids = []
    async for listed in await client.list_schedules(query=" AND ".join(clauses) or None):
        memo = await listed.memo()
        if memo.get(MEMO_KIND[0]) == MEMO_KIND[1] and memo.get("task_queue") == services.settings.task_queue:
            ids.append(memo.get("cron_id") or listed.id.removeprefix("cron-"))
    semaphore = asyncio.Semaphore(20)

    async def one(cron_id: str) -> dict[str, Any] | None:
        async with semaphore:
            found = await _describe(services, cron_id)
        return cron_object(found[2], found[1]) if found else None

    crons = [c for c in await asyncio.gather(*(one(i) for i in ids)) if c is not None]
    return [
        c
        for c in crons
        if (assistant_id is None or c["assistant_id"] == assistant_id)
        and (thread_id is None or c["thread_id"] == thread_id)
        and (enabled is None or c["enabled"] == enabled)
        and all((c.get("metadata") or {}).get(k, _MISSING) == v for k, v in (metadata or {}).items())
    ]


_MISSING = object()


def sort_crons(crons: Iterable[dict[str, Any]], sort_by: str | None, sort_order: str | None) -> list[dict[str, Any]]:
    """``crons`` sorted by ``sort_by`` (default ``created_at``) in ``sort_order``
    (default ``desc``); ``None`` values sort first in ascending order."""
    key = sort_by or "created_at"
    reverse = (sort_order or "desc") == "desc"
    return sorted(crons, key=lambda c: (c.get(key) is not None, c.get(key) or "", c["cron_id"]), reverse=reverse)


# ----------------------------------------------------------------------------- firing


class CronFireRefused(Exception):
    """A tick of the cron cannot make a run (thread or assistant gone, payload
    refused); retrying will not help."""


def run_body(cron: dict[str, Any]) -> dict[str, Any]:
    """The run-create body of one tick: the cron's payload without its schedule
    fields, ``cron_id`` in ``config.configurable`` (or, when the payload has a
    ``context``, in the context, which LangGraph copies into ``configurable``, since a
    run may not carry both), and for a stateless cron ``on_completion`` from
    ``on_run_completed``."""
    payload = copy.deepcopy(cron.get("payload") or {})
    body = {k: v for k, v in payload.items() if k not in SCHEDULE_FIELDS}
    body["config"] = _with_cron_id(body.get("config"), cron["cron_id"])
    if body.get("context"):
        configurable = {k: v for k, v in body["config"]["configurable"].items() if k != "cron_id"}
        body["context"] = {**body["context"], "cron_id": cron["cron_id"]}
        body["config"]["configurable"] = configurable
        if not configurable:
            del body["config"]["configurable"]
    if cron.get("thread_id") is None:
        body["on_completion"] = cron.get("on_run_completed") or "delete"
    return body


async def fire_cron(services: Services, cron: dict[str, Any]) -> dict[str, Any] | None:
    """Create the run of one tick of ``cron`` (a cron document) with
    :func:`evergraph.adapter.resources.runs.create_run`, honouring the payload's ``multitask_strategy``.

    Returns:
        ``{"run_id", "thread_id"}`` of the new run, or ``None`` when the cron's thread
        refused it (409: ``multitask_strategy="reject"`` while the thread is busy)
        or when its thread or assistant no longer exists (404), in which case the
        cron's schedule is deleted.

    Raises:
        CronFireRefused: the run is refused with another 4xx.
        Unavailable: Temporal could not take the run (worth retrying).
    """
    try:
        body = run_body(await open_cron(services, cron))
    except claims.ClaimMissing as err:  # the cron was deleted meanwhile
        raise CronFireRefused(f"cron {cron['cron_id']}: {err}") from None
    try:
        assistant = await resolve_assistant(services, cron["assistant_id"])
        run = await create_run(services, cron.get("thread_id"), assistant, body)
    except Conflict:
        return None
    except NotFound:
        # its thread or assistant was deleted: the cron goes with it, as
        # langgraph-api's crons go with their thread and assistant
        await _delete_schedule(services, cron["cron_id"])
        return None
    except Unavailable:
        raise
    except EvergraphError as err:
        raise CronFireRefused(f"cron {cron['cron_id']}: {type(err).__name__}: {err.message}") from None
    return {"run_id": run["run_id"], "thread_id": run["thread_id"]}


async def _delete_schedule(services: Services, cron_id: str) -> None:
    try:
        await services.temporal.get_schedule_handle(schedule_id(cron_id)).delete()
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
    await services.records.delete_run_blobs(_blob_owner(cron_id))

