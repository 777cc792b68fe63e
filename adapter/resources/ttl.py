"""Thread time-to-live: ``langgraph.json`` ``checkpointer.ttl`` and a thread's own
``ttl`` (``POST /threads``, ``PATCH /threads/{id}``), swept by a Temporal Schedule.

* **When a thread expires.** A thread's ``ttl`` (``{"strategy", "ttl"}``, minutes, as
  :func:`evergraph.adapter.resources.threads.ttl_setting` stores it) wins; a thread
  without one takes ``checkpointer.ttl.default_ttl`` and ``strategy``. It expires that
  many minutes after its last activity (its ``updated_at``: a run, a state update, a
  ``PATCH``), so a thread in use never expires. A busy thread (a run pending or
  running) is never swept.
* **What happens then.** ``delete``: the thread goes everywhere, as ``DELETE
  /threads/{id}`` does it (:func:`~evergraph.adapter.resources.threads.delete_thread_everywhere`:
  its crons' schedules and Temporal workflows stopped, its record, runs and blobs, its
  checkpoints through LangGraph's ``adelete_thread``). ``keep_latest``: the thread
  stays with only its latest checkpoint (as ``POST /threads/prune`` does it) and its
  clock starts again.
* **Who sweeps.** The Temporal Schedule ``evergraph-thread-ttl-<task queue>`` starts
  ``ThreadSweepWorkflow`` (:mod:`evergraph.workflows.sweep`) every
  ``sweep_interval_minutes`` (overlapping sweeps are skipped); its activity
  ``sweep_threads`` (:mod:`evergraph.activities.sweep`) handles at most
  ``sweep_limit`` expired threads, those that expired first first. Every process
  (``dev``, ``serve``, ``worker``) writes the Schedule at start-up
  (:func:`ensure_sweep_schedule`): the first creates it, the others update it to the
  same content; without ``checkpointer.ttl`` it is deleted.

See docs/architecture.md for the layers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Mapping

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from evergraph.adapter.graphs.config import ThreadTTLConfig
from evergraph.adapter.ids import iso, now
from evergraph.adapter.process.settings import Settings
from evergraph.adapter.resources.threads import delete_thread_everywhere, prune_threads
from evergraph.adapter.services import Services
from evergraph.workflows.sweep import ThreadSweepWorkflow

__all__ = [
    "MEMO_KIND",
    "ThreadSweeper",
    "ensure_sweep_schedule",
    "expires_at",
    "sweep_expired",
    "sweep_schedule_id",
    "thread_ttl",
    "ttl_view",
]

log = logging.getLogger(__name__)

#: memo key/value marking a schedule as Evergraph's thread TTL sweep
MEMO_KIND = ("evergraph", "thread-ttl")


def sweep_schedule_id(task_queue: str) -> str:
    """Id of the TTL sweep Schedule of the deployment on ``task_queue``:
    ``evergraph-thread-ttl-<task_queue>`` (also the id prefix of its workflows)."""
    return f"evergraph-thread-ttl-{task_queue}"


def thread_ttl(thread: Mapping[str, Any], config: ThreadTTLConfig | None) -> tuple[str, float] | None:
    """``(strategy, minutes)`` of the time-to-live that applies to ``thread`` (a
    record): its own ``ttl`` (strategy defaulting to the config's), else
    ``config.default_ttl``; ``None`` when neither is set."""
    own = thread.get("ttl")
    default_strategy = config.strategy if config is not None else "delete"
    if isinstance(own, Mapping) and own.get("ttl") is not None:
        return str(own.get("strategy") or default_strategy), float(own["ttl"])
    if config is not None and config.default_ttl is not None:
        return config.strategy, config.default_ttl
    return None


def expires_at(thread: Mapping[str, Any], config: ThreadTTLConfig | None) -> datetime | None:
    """When ``thread`` (a record with ``updated_at``) expires: ``updated_at`` plus its
    time-to-live (:func:`thread_ttl`), or ``None`` when it has none."""
    ttl = thread_ttl(thread, config)
    if ttl is None:
        return None
    return datetime.fromisoformat(thread["updated_at"]) + timedelta(minutes=ttl[1])


def ttl_view(thread: Mapping[str, Any], config: ThreadTTLConfig | None) -> dict[str, Any] | None:
    """``ttl`` of ``GET /threads/{id}?include=ttl``, in langgraph-api 0.16.7's shape:
    ``{"strategy", "ttl_minutes", "expires_at"}`` (ISO 8601 UTC), or ``None``."""
    ttl = thread_ttl(thread, config)
    if ttl is None:
        return None
    return {"strategy": ttl[0], "ttl_minutes": ttl[1], "expires_at": iso(expires_at(thread, config))}


async def sweep_expired(
    services: Services, limit: int, *, heartbeat: Callable[[], None] | None = None, at: datetime | None = None
) -> dict[str, int]:
    """Delete or prune (:func:`thread_ttl`'s strategy) at most ``limit`` threads
    expired at ``at`` (default now), those that expired first first; busy threads are
    skipped. Each thread is read again just before it is handled, so one touched
    meanwhile stays.

    Args:
        limit: most threads handled.
        heartbeat: called after each thread (the activity's heartbeat).

    Returns:
        ``{"deleted": n, "pruned": n}``.

    Raises:
        Exception: a failure of the records, the checkpointer or Temporal propagates
            (what was done stays done; the next sweep finds the rest).
    """
    config = services.registry.config.thread_ttl
    at = at or now()
    before = None
    if config is not None and config.default_ttl is not None:
        before = iso(at - timedelta(minutes=config.default_ttl))
    expired: list[tuple[datetime, str]] = []
    for candidate in await services.records.ttl_candidates(before):
        when = expires_at(candidate, config)
        if candidate.get("status") != "busy" and when is not None and when <= at:
            expired.append((when, candidate["thread_id"]))
    expired.sort()
    counts = {"deleted": 0, "pruned": 0}
    for _, thread_id in expired[:limit]:
        thread = await services.records.get_thread(thread_id)
        when = expires_at(thread, config) if thread is not None else None
        if thread is None or thread.get("status") == "busy" or when is None or when > at:
            continue
        strategy = thread_ttl(thread, config)[0]  # type: ignore[index]
        if strategy == "keep_latest":
            if await prune_threads(services, [thread_id], "keep_latest", _no_filter):
                counts["pruned"] += 1
            # its clock starts again, pruned or not (a graph that cannot be pruned)
            await services.records.update_thread(thread_id, updated_at=iso(now()))
        elif await delete_thread_everywhere(services, thread_id):
            counts["deleted"] += 1
        if heartbeat is not None:
            heartbeat()
    if expired:
        log.info("thread TTL sweep: %s of %d expired threads", counts, len(expired))
    return counts


async def _no_filter(thread_id: str) -> None:
    """The sweep acts for the deployment, not for a user: no auth filter."""
    return None


class ThreadSweeper:
    """:class:`~evergraph.activities.sweep.SweepPort` on this process's services.

    Args:
        services: process services.
    """

    def __init__(self, services: Services) -> None:
        self.services = services

    async def sweep_threads(self, limit: int, *, heartbeat: Callable[[], None]) -> dict[str, int]:
        """See :func:`sweep_expired`."""
        return await sweep_expired(self.services, limit, heartbeat=heartbeat)


def _schedule(settings: Settings, config: ThreadTTLConfig) -> Schedule:
    sid = sweep_schedule_id(settings.task_queue)
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ThreadSweepWorkflow.run,
            {"limit": config.sweep_limit},
            # Temporal appends the tick's time
            id=sid,
            task_queue=settings.task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(minutes=config.sweep_interval_minutes))]),
        # a sweep still running when the next is due: the next is skipped
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_sweep_schedule(client: Client, settings: Settings, config: ThreadTTLConfig | None) -> str | None:
    """Create or update the TTL sweep Schedule (:func:`sweep_schedule_id`) of the
    deployment on ``settings.task_queue`` from ``config`` (``checkpointer.ttl``); delete
    it when ``config`` is ``None``. Safe when several processes start at once.

    Returns:
        The Schedule's id, or ``None`` when there is none.

    Raises:
        temporalio.service.RPCError: Temporal refused the write.
    """
    sid = sweep_schedule_id(settings.task_queue)
    handle = client.get_schedule_handle(sid)
    if config is None:
        try:
            await handle.delete()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
        return None
    schedule = _schedule(settings, config)
    try:
        await client.create_schedule(
            sid, schedule, memo={MEMO_KIND[0]: MEMO_KIND[1], "task_queue": settings.task_queue}
        )
    except ScheduleAlreadyRunningError:

        def updater(inp: ScheduleUpdateInput) -> ScheduleUpdate:
            # keep a pause set by an operator in the Temporal UI
            schedule.state = inp.description.schedule.state
            return ScheduleUpdate(schedule=schedule)

        await handle.update(updater)
    return sid
