"""A2A tasks on Evergraph's runs and threads, as langgraph-api 0.16.7 maps them (used
by :mod:`evergraph.adapter.resources.a2a`).

- A task's ``contextId`` is a thread id; a task id is ``"<thread id>:<run id>"`` of
  the run that started it (a bare run id with the ``contextId`` beside it names it
  too). A later message to the task (resuming an ``interrupt()``) starts another run
  whose metadata records ``{"a2a": {"task_id": ...}}``; the first run's records
  ``{"a2a": {"task_start_id": ...}}``, the id its first message is stamped with.
- Task states, from the task's latest run: ``pending`` -> ``submitted``, ``running``
  -> ``working``, ``success`` -> ``completed`` (``input-required`` when that run is
  the thread's latest and the thread is interrupted), ``interrupted`` (cancelled) ->
  ``canceled``, ``error``/``timeout`` -> ``failed``.
- A task the caller may not see (its thread hidden by the auth filter, another
  assistant's run) is not found.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from evergraph.adapter.resources.a2a_output import RunMessages, to_history
from evergraph.adapter.resources.a2a_wire import HistoryScope, now
from evergraph.adapter.resources.auth import visible
from evergraph.adapter.resources.runs import find_run
from evergraph.adapter.resources.threads import get_history, search_threads
from evergraph.adapter.services import Services

__all__ = [
    "A2ATask",
    "context_runs",
    "list_tasks",
    "make_task_id",
    "parse_task_id",
    "resolve_task",
    "run_messages",
    "task_history",
    "task_id_of_run",
    "task_ids_by_start_id",
    "task_state",
]

_RUN_STATES = {
    "pending": "TASK_STATE_SUBMITTED",
    "running": "TASK_STATE_WORKING",
    "success": "TASK_STATE_COMPLETED",
    "interrupted": "TASK_STATE_CANCELED",
    "error": "TASK_STATE_FAILED",
    "timeout": "TASK_STATE_FAILED",
}
#: the most runs of a thread, and threads, a task look-up reads
_RUN_SCAN_LIMIT = 1000


def make_task_id(context_id: str, run_id: str) -> str:
    """The task id of the run ``run_id`` that started a task on thread ``context_id``."""
    return f"{context_id}:{run_id}"


def parse_task_id(task_id: str) -> tuple[str, str]:
    """``(context id, run id)`` of a task id; the context id is ``""`` for a bare run id."""
    if ":" in task_id:
        context_id, run_id = task_id.split(":", 1)
        return context_id, run_id
    return "", task_id


def _a2a_meta(run: dict[str, Any]) -> dict[str, Any]:
    meta = (run.get("metadata") or {}).get("a2a")
    return meta if isinstance(meta, dict) else {}


def task_id_of_run(context_id: str, run: dict[str, Any]) -> str:
    """The id of the task ``run`` (of thread ``context_id``) belongs to."""
    stored = _a2a_meta(run).get("task_id")
    return stored if isinstance(stored, str) and stored else make_task_id(context_id, str(run["run_id"]))


async def context_runs(services: Services, context_id: str) -> list[dict[str, Any]]:
    """The runs of thread ``context_id`` (at most 1000), as a task look-up reads them."""
    return await services.records.list_runs(context_id, limit=_RUN_SCAN_LIMIT, offset=0, status=None)


async def _latest_messages(services: Services, context_id: str, metadata: dict[str, str]) -> list[Any] | None:
    states = await get_history(services, context_id, limit=1, metadata=metadata)
    if not states:
        return None
    values = states[0].get("values")
    return (values.get("messages") if isinstance(values, dict) else None) or []


async def run_messages(services: Services, context_id: str, run_id: str) -> RunMessages:
    """The messages of thread ``context_id`` as run ``run_id`` left them (its latest
    checkpoint), and which of them it added (against its ``input`` checkpoint); no
    messages for a run without checkpoints."""
    messages = await _latest_messages(services, context_id, {"run_id": run_id})
    if messages is None:
        return RunMessages([], None)
    before = await _latest_messages(services, context_id, {"run_id": run_id, "source": "input"})
    return RunMessages(messages, None) if before is None else RunMessages.between(before, messages)


async def task_history(
    services: Services, task_id: str, context_id: str, run: dict[str, Any], *,
    history_length: int | None, scope: HistoryScope, task_ids: dict[str, str],
) -> list[dict[str, Any]]:
    """The history of a stored task whose latest run is ``run``: the thread's messages
    as that run left them (:func:`run_messages`, the first it added stamped with the
    task), as A2A messages (:func:`~evergraph.adapter.resources.a2a_output.to_history`).

    Raises:
        A2AError: -32006 for a message that cannot be put into parts.
    """
    added = await run_messages(services, context_id, str(run["run_id"]))
    return to_history(
        added.stamped(task_id), task_id, context_id,
        history_length=history_length, scope=scope, task_ids_by_start_id=task_ids,
    )


def _stamp(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value or "")


@dataclass(frozen=True)
class A2ATask:
    """A task found by :func:`resolve_task`.

    Attributes:
        task_id: the task id as asked for.
        context_id: its thread id.
        run: the record of the task's latest run.
        state: the A2A task state (``TASK_STATE_*``).
        timestamp: ISO time of the latest run's last change.
        task_ids_by_start_id: task ids of the context, by the ``task_start_id`` their
            first message carries (provenance for
            :func:`evergraph.adapter.resources.a2a_output.to_history`).
    """

    task_id: str
    context_id: str
    run: dict[str, Any]
    state: str
    timestamp: str
    task_ids_by_start_id: dict[str, str] = field(default_factory=dict)


def task_state(run: dict[str, Any], thread: dict[str, Any] | None) -> str:
    """The A2A state of a task whose latest run is ``run``; ``thread`` is given when
    that run is the thread's latest (an interrupted thread: ``input-required``)."""
    state = _RUN_STATES.get(run.get("status", ""), "TASK_STATE_SUBMITTED")
    if run.get("status") == "success" and thread is not None and thread.get("status") == "interrupted":
        return "TASK_STATE_INPUT_REQUIRED"
    return state


def task_ids_by_start_id(runs: list[dict[str, Any]], context_id: str, assistant_id: str) -> dict[str, str]:
    """``task_start_id`` -> task id for the runs of ``assistant_id`` on a thread."""
    out: dict[str, str] = {}
    for run in runs:
        if str(run.get("assistant_id")) != assistant_id:
            continue
        start = _a2a_meta(run).get("task_start_id")
        if isinstance(start, str) and start:
            out[start] = task_id_of_run(context_id, run)
    return out


async def resolve_task(
    services: Services, *, task_id: str, context_id: str | None, assistant_id: str, flt: Any = None
) -> A2ATask | None:
    """The task ``task_id`` of assistant ``assistant_id``, or ``None`` when there is
    none (unknown ids, another assistant's run, a context that does not match, a
    thread hidden by the auth filter ``flt``)."""
    parsed_context, anchor_id = parse_task_id(task_id)
    if parsed_context and context_id and parsed_context != context_id:
        return None
    context = context_id or parsed_context
    try:
        uuid.UUID(context)
        uuid.UUID(anchor_id)
    except ValueError:
        return None
    context, anchor_id = str(uuid.UUID(context)), str(uuid.UUID(anchor_id))
    anchor = await find_run(services, context, anchor_id, flt)
    if anchor is None or str(anchor.get("assistant_id")) != assistant_id:
        return None
    stored = _a2a_meta(anchor).get("task_id")
    if isinstance(stored, str) and stored and stored != task_id:
        return None
    thread = await services.records.get_thread(context)
    runs = await context_runs(services, context)
    newest = max(runs, key=lambda r: (_stamp(r.get("created_at")), str(r["run_id"])), default=None)
    latest, is_newest = anchor, newest is not None and newest["run_id"] == anchor["run_id"]
    mine = sorted(
        (r for r in runs if str(r.get("assistant_id")) == assistant_id),
        key=lambda r: (_stamp(r.get("created_at")), str(r["run_id"])),
        reverse=True,
    )
    for run in mine:
        if run["run_id"] == anchor_id or _a2a_meta(run).get("task_id") == task_id:
            latest, is_newest = run, newest is not None and run["run_id"] == newest["run_id"]
            break
    return A2ATask(
        task_id=task_id,
        context_id=context,
        run=latest,
        state=task_state(latest, thread if is_newest else None),
        timestamp=_stamp(latest.get("updated_at") or latest.get("created_at")) or now(),
        task_ids_by_start_id=task_ids_by_start_id(runs, context, assistant_id),
    )


async def list_tasks(
    services: Services, *, assistant_id: str, context_id: str | None, flt: Any = None
) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, str]]]:
    """Every task of ``assistant_id`` (one per task id, its latest run), on thread
    ``context_id`` or on the 1000 most recently updated threads ``flt`` lets the
    caller see, newest first.

    Returns:
        ``(task, run, task ids by start id)`` per task; ``task`` is ``{"kind": "task",
        "id", "contextId", "status": {"state", "timestamp"}}``.
    """
    if context_id is not None:
        try:
            context_id = str(uuid.UUID(context_id))
        except ValueError:
            return []
        found = await services.records.get_thread(context_id)
        threads = [found] if found is not None and visible(found, flt) else []
    else:
        threads = sorted(await search_threads(services, flt=flt), key=lambda t: _stamp(t.get("updated_at")), reverse=True)
        threads = threads[:_RUN_SCAN_LIMIT]
    out = []
    seen: set[str] = set()
    for thread in threads:
        tid = str(thread["thread_id"])
        runs = await context_runs(services, tid)
        newest = max(runs, key=lambda r: (_stamp(r.get("created_at")), str(r["run_id"])), default=None)
        starts = task_ids_by_start_id(runs, tid, assistant_id)
        mine = sorted(
            (r for r in runs if str(r.get("assistant_id")) == assistant_id),
            key=lambda r: (_stamp(r.get("created_at")), str(r["run_id"])),
            reverse=True,
        )
        for run in mine:
            task_id = task_id_of_run(tid, run)
            if task_id in seen:
                continue
            seen.add(task_id)
            state = task_state(run, thread if newest is not None and run["run_id"] == newest["run_id"] else None)
            stamp = _stamp(run.get("updated_at") or run.get("created_at")) or now()
            task = {"kind": "task", "id": task_id, "contextId": tid, "status": {"state": state, "timestamp": stamp}}
            out.append((task, run, starts))
    out.sort(key=lambda item: item[0]["status"]["timestamp"], reverse=True)
    return out
