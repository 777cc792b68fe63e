"""Creating, submitting and cancelling runs on Temporal (used by the API, crons and
the v2 protocol).

A run is handed to its thread's ``ThreadWorkflow`` (``thread-<thread_id>``) by
update-with-start, which starts the workflow if the thread has none running; the
thread workflow then runs it as the child ``RunWorkflow`` ``run-<run_id>``
(docs/architecture.md, "One run's path").
"""

from __future__ import annotations

import copy
import re
import uuid
from typing import Any, AsyncIterator

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from evergraph.adapter import serde
from evergraph.adapter.broker.protocol import StreamEvent
from evergraph.adapter.errors import Conflict, EvergraphError, Invalid, NotFound, Refused, Unavailable
from evergraph.adapter.execution.finish import RESULT
from evergraph.adapter.graphs.state import bound_graph, wait_body
from evergraph.adapter.ids import iso, new_id, now, thread_workflow_id
from evergraph.adapter.records.common import new_thread
from evergraph.adapter.records.types import Assistant, RunRecord
from evergraph.adapter.resources.auth import AuthFilter, visible
from evergraph.adapter.resources.webhooks import check_webhook
from evergraph.adapter.services import Services
from evergraph.workflows import search
from evergraph.workflows.thread import BUSY, ThreadWorkflow
from evergraph.workflows.types import CancelRun, RunInput, SubmitRun, ThreadInput

__all__ = [
    "CONTEXT_AND_CONFIGURABLE",
    "NO_MATCHING",
    "RUN_NOT_FOUND_RESULT",
    "TERMINAL",
    "RunNotActive",
    "accept_run",
    "build_run",
    "cancel_if_active",
    "cancel_run",
    "cancel_runs",
    "create_run",
    "delete_run",
    "find_run",
    "get_run",
    "list_runs",
    "resume_thread",
    "run_events",
    "run_input",
    "runs_to_cancel",
    "submit_run",
    "wait_result",
    "wait_stopped",
]


def run_input(services: Services, run: dict[str, Any], graph_id: str, after_seconds: float | None = None) -> RunInput:
    """The workflow's view of a run record."""
    return RunInput(
        run_id=run["run_id"],
        thread_id=run["thread_id"],
        assistant_id=run["assistant_id"],
        graph_id=graph_id,
        run_timeout=services.settings.run_timeout,
        after_seconds=after_seconds,
    )


async def submit_run(
    services: Services, run: dict[str, Any], graph_id: str, strategy: str = "enqueue", after_seconds: float | None = None
) -> None:
    """Hand ``run`` to its thread's workflow with update-with-start (starting the
    workflow if the thread has none running). The workflow stores the record once it
    accepts the run.

    Raises:
        Conflict: ``strategy="reject"`` and the thread is busy (409).
        RPCError / WorkflowUpdateFailedError: Temporal could not take the run.
    """
    client: Client = services.temporal
    start = WithStartWorkflowOperation(
        ThreadWorkflow.run,
        ThreadInput(run["thread_id"]),
        id=thread_workflow_id(run["thread_id"]),
        task_queue=services.settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=TypedSearchAttributes([SearchAttributePair(search.THREAD_ID, run["thread_id"])]),
    )
    msg = SubmitRun(run=run_input(services, run, graph_id, after_seconds), record=run, multitask_strategy=strategy)
    try:
        await client.execute_update_with_start_workflow(ThreadWorkflow.submit_run, msg, start_workflow_operation=start)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type == "ThreadBusy":
            raise Conflict(BUSY) from None
        raise


class RunNotActive(Exception):
    """The run is neither queued nor running on its thread (nothing to cancel)."""


async def cancel_run(services: Services, run: dict[str, Any], action: str = "interrupt") -> None:
    """Ask ``run``'s thread workflow to cancel it (Temporal update ``cancel_run``): a
    queued run ends ``interrupted`` (or is deleted, ``action="rollback"``) before this
    returns; a running run is signalled to stop and ends shortly after.

    Raises:
        RunNotActive: the thread's workflow does not hold this run (finished already,
            or the thread has no workflow).
    """
    client: Client = services.temporal
    handle = client.get_workflow_handle(thread_workflow_id(run["thread_id"]))
    try:
        await handle.execute_update(ThreadWorkflow.cancel_run, CancelRun(run_id=run["run_id"], action=action))
    except WorkflowUpdateFailedError as err:
        raise RunNotActive(str(err.cause or err)) from None
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise RunNotActive(err.message) from None
        raise


async def accept_run(services: Services, msg: SubmitRun) -> None:
    """Store an accepted run's record and mark its thread ``busy`` (local activity of
    the thread workflow; idempotent)."""
    await services.records.put_run(msg.record)


async def resume_thread(services: Services, thread_id: str, command: dict[str, Any]) -> RunInput:
    """Create the run a ``resume`` signal asks for: a run on ``thread_id`` with
    ``command`` and no input, on the assistant of the thread's last run (its
    metadata), exactly as ``POST /threads/{id}/runs`` with ``command`` would.

    Raises:
        LookupError: the thread or its assistant no longer exists.
    """
    thread = await services.records.get_thread(thread_id)
    if thread is None:
        raise LookupError(f"thread {thread_id} not found")
    assistant_id = (thread.get("metadata") or {}).get("assistant_id")
    assistant = await services.records.get_assistant(assistant_id) if assistant_id else None
    if assistant is None:
        raise LookupError(f"thread {thread_id}: assistant {assistant_id!r} not found")
    run = build_run(
        run_id=new_id(),
        thread_id=thread_id,
        assistant=assistant,
        body={"assistant_id": assistant["assistant_id"], "command": command, "metadata": {"source": "signal"}},
        temporary=False,
    )
    await services.records.put_run(run)
    return run_input(services, run, assistant["graph_id"])


TERMINAL = ("success", "error", "interrupted", "timeout")
"""Statuses of a run that has ended."""


CONTEXT_AND_CONFIGURABLE = (
    "Cannot specify both configurable and context. Prefer setting context alone. Context was "
    "introduced in LangGraph 0.6.0 and is the long term planned replacement for configurable."
)
"""400 body (langgraph-api 0.16.7's text) for a request with both ``context`` and
``config.configurable``."""

#: LangGraph's interrupt ids: xxh3-128 hex digests
_INTERRUPT_ID = re.compile(r"[0-9a-f]{32}")


def build_run(
    *,
    run_id: str,
    thread_id: str,
    assistant: Assistant,
    body: dict[str, Any],
    temporary: bool,
    user: dict[str, Any] | None = None,
) -> RunRecord:
    """The run record for a create request, in langgraph-api 0.16.7's Run shape.

    ``config`` merges the assistant's config with the request's; ``configurable``
    gains ``run_id``, ``thread_id``, ``graph_id``, ``assistant_id``, ``user_id`` and the
    request's ``context`` (flagged ``__context_provided__``); ``metadata`` is the
    assistant's metadata plus ``graph_id``/``assistant_id`` plus the request's.
    ``user`` is the authenticated user's fields (``identity``, ``permissions``…), given
    to the graph as ``langgraph_auth_user``/``_user_id``/``_permissions`` and
    ``user_id`` in ``configurable``, as langgraph-api does.
    """
    graph_id = assistant["graph_id"]
    a_config = copy.deepcopy(assistant.get("config") or {})
    r_config = copy.deepcopy(body.get("config") or {})
    config = {**a_config, **{k: v for k, v in r_config.items() if k != "configurable"}}
    context = {**(assistant.get("context") or {}), **(body.get("context") or {})}
    configurable = {**a_config.get("configurable", {}), **r_config.get("configurable", {})}
    if body.get("context"):
        configurable.update(body["context"])
        configurable["__context_provided__"] = True
    checkpoint_id = body.get("checkpoint_id") or (body.get("checkpoint") or {}).get("checkpoint_id")
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    configurable.update(
        {
            # the authenticated user, as langgraph-api gives it to the graph
            "langgraph_auth_user": user,
            "langgraph_auth_user_id": (user or {}).get("identity", ""),
            "langgraph_auth_permissions": list((user or {}).get("permissions") or []),
            "langgraph_request_id": str(uuid.uuid4()),
            "run_id": run_id,
            "thread_id": thread_id,
            "graph_id": graph_id,
            "assistant_id": assistant["assistant_id"],
            "user_id": (user or {}).get("identity", ""),
        }
    )
    metadata = {
        **(assistant.get("metadata") or {}),
        "graph_id": graph_id,
        "assistant_id": assistant["assistant_id"],
        **(body.get("metadata") or {}),
    }
    config["configurable"] = configurable
    config["metadata"] = dict(metadata)
    modes = body.get("stream_mode") or ["values"]
    if isinstance(modes, str):
        modes = [modes]
    ts = iso(now())
    return {
        "run_id": run_id,
        "thread_id": thread_id,
        "assistant_id": assistant["assistant_id"],
        "created_at": ts,
        "updated_at": ts,
        "status": "pending",
        "metadata": metadata,
        "multitask_strategy": body.get("multitask_strategy") or "enqueue",
        "kwargs": {
            "input": body.get("input"),
            "command": body.get("command"),
            "config": config,
            "context": context,
            "stream_mode": modes,
            "interrupt_before": body.get("interrupt_before"),
            "interrupt_after": body.get("interrupt_after"),
            "webhook": body.get("webhook"),
            "feedback_keys": body.get("feedback_keys"),
            "temporary": temporary,
            "subgraphs": bool(body.get("stream_subgraphs")),
            "resumable": bool(body.get("stream_resumable")),
            "checkpoint_during": body.get("checkpoint_during", True),
            "durability": body.get("durability") or "async",
        },
        "temporary": temporary,
        "on_completion": body.get("on_completion") or ("delete" if temporary else None),
    }


async def _check_checkpoint(services: Services, thread_id: str, body: dict[str, Any]) -> None:
    """Refuse a run from a checkpoint (``checkpoint_id`` or ``checkpoint``) the thread
    does not have; LangGraph would otherwise start from empty state under a parent
    that does not exist.

    Raises:
        Invalid: the id is not a string. NotFound: the thread has no such checkpoint.
    """
    checkpoint = body.get("checkpoint") or {}
    checkpoint_id = body.get("checkpoint_id") or checkpoint.get("checkpoint_id")
    if checkpoint_id is None:
        return
    if not isinstance(checkpoint_id, str):
        raise Invalid(f"checkpoint_id must be a string, got {type(checkpoint_id).__name__}")
    ref = {"thread_id": thread_id, "checkpoint_ns": checkpoint.get("checkpoint_ns") or "", "checkpoint_id": checkpoint_id}
    if await services.saver.aget_tuple({"configurable": ref}) is None:
        raise NotFound(f"Checkpoint {checkpoint_id} not found in thread {thread_id}")


def _check_resume_ids(thread: dict[str, Any], command: Any) -> None:
    """Refuse a ``command.resume`` map (interrupt id → value; a map whose keys all look
    like LangGraph's interrupt ids, 32 lower-case hex digits, as LangGraph itself
    recognises one) that names an interrupt the thread is not waiting on. Skipped
    while a run is in flight, since that run may change the pending interrupts.

    Raises:
        Refused: naming the unknown ids and the pending ones.
    """
    resume = command.get("resume") if isinstance(command, dict) else None
    if not isinstance(resume, dict) or not resume or not all(
        isinstance(k, str) and _INTERRUPT_ID.fullmatch(k) for k in resume
    ):
        return
    if thread.get("status") == "busy":
        return
    pending = {i["id"] for items in (thread.get("interrupts") or {}).values() for i in items if "id" in i}
    unknown = sorted(set(resume) - pending)
    if unknown:
        raise Refused(
            f"command.resume names interrupt id(s) {unknown} that thread {thread['thread_id']} is not waiting on; "
            f"pending interrupt ids: {sorted(pending)}",
        )


async def create_run(
    services: Services,
    thread_id: str | None,
    assistant: dict[str, Any],
    body: dict[str, Any],
    user: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Validate, record and submit a run; returns the run record.

    Args:
        thread_id: the thread, or ``None`` for a stateless run (a temporary thread is
            made and, with ``on_completion="delete"``, removed afterwards).
        assistant: the resolved assistant record.
        body: the request body (the fields of langgraph-api 0.16.7's ``RunCreateStateful``).
        user: the authenticated user's fields, or None without authentication.

    Raises:
        Refused: ``context`` with ``config.configurable``.
        NotFound: the thread is missing and ``if_not_exists`` is not ``create``.
        Conflict: ``multitask_strategy="reject"`` on a busy thread, decided by the
            thread's workflow.
        Unavailable: Temporal could not take the run.
        Nothing is kept for a rejected run.
    """
    records = services.records
    if body.get("context") and (body.get("config") or {}).get("configurable"):
        raise Refused(CONTEXT_AND_CONFIGURABLE)
    await check_webhook(services, body)
    temporary = thread_id is None
    created_thread = False
    owner = {"graph_id": assistant["graph_id"], "assistant_id": assistant["assistant_id"]}
    if temporary:
        thread_id = new_id()
        await records.put_thread(new_thread(thread_id, owner, status="busy"))
        created_thread = True
    else:
        thread = await records.get_thread(thread_id)
        if thread is None:
            if body.get("if_not_exists") != "create":
                raise NotFound("Thread or assistant not found.")
            await records.put_thread(new_thread(thread_id, owner, status="busy"), if_exists="do_nothing")
            created_thread = True
    if not created_thread:
        _check_resume_ids(thread, body.get("command"))
        await _check_checkpoint(services, thread_id, body)
    run = build_run(
        run_id=new_id(), thread_id=thread_id, assistant=assistant, body=body, temporary=temporary, user=user
    )
    try:
        await submit_run(
            services, run, assistant["graph_id"], body.get("multitask_strategy") or "enqueue", body.get("after_seconds")
        )
    except Exception as exc:
        if created_thread:
            await records.delete_thread(thread_id)
        if isinstance(exc, EvergraphError):
            raise
        raise Unavailable(f"Could not submit the run to Temporal: {exc}") from exc
    return run


# ------------------------------------------------------------------------- reading runs


RUN_NOT_FOUND_RESULT = serde.dumps({"__error__": {"error": "HTTPException", "message": "404: Run not found"}})
"""The ``/wait`` / ``/join`` body for a run that does not exist (any more), as
langgraph-api 0.16.7 answers it (with status 200)."""

NO_MATCHING = (
    "No matching runs to cancel. Please verify the thread ID and run IDs are correct, "
    "and the runs haven't been deleted or completed."
)
"""404 body (langgraph-api 0.16.7's text) when nothing can be cancelled."""


async def find_run(
    services: Services, thread_id: str, run_id: str, flt: AuthFilter = None
) -> dict[str, Any] | None:
    """The record of run ``run_id`` of thread ``thread_id`` (canonical UUIDs), or
    ``None`` when there is none or the auth filter ``flt`` hides its thread (the
    thread is read only when there is a filter)."""
    run = await services.records.get_run(run_id, thread_id)
    if run is not None and flt is not None and not visible(await services.records.get_thread(thread_id), flt):
        return None
    return run


async def get_run(
    services: Services, thread_id: str, run_id: str, flt: AuthFilter = None, *, missing: str = "Not Found"
) -> dict[str, Any]:
    """The run's record (:func:`find_run`).

    Raises:
        NotFound: ``missing`` (default ``Not Found``) when there is none.
    """
    run = await find_run(services, thread_id, run_id, flt)
    if run is None:
        raise NotFound(missing)
    return run


async def list_runs(
    services: Services, thread_id: str, *, limit: int, offset: int, status: str | None = None
) -> list[dict[str, Any]]:
    """A page of the thread's run records, newest first, optionally with ``status``."""
    return await services.records.list_runs(thread_id, limit=limit, offset=offset, status=status or None)


def run_events(
    services: Services,
    run: dict[str, Any],
    *,
    after: str | None,
    from_start: bool,
    modes: set[str] | None = None,
) -> AsyncIterator[StreamEvent]:
    """``run``'s events after id ``after`` (or all, ``from_start``; or only new ones),
    ending when the run's stream ends; control events are left out.

    Args:
        modes: wire names of the stream modes to keep (``messages`` for
            ``messages-tuple``); ``error`` events are always kept. This filter also
            applies to replayed events, as langgraph-api 0.16.7's ``stream_mode``
            filter on join does (a ``custom`` filter drops ``metadata``).
    """

    async def gen() -> AsyncIterator[StreamEvent]:
        async for event in services.broker.subscribe(run["run_id"], after, from_start=from_start):
            if event.event.startswith("__"):
                continue
            if modes and event.event != "error" and event.event.split("|")[0].split("/")[0] not in modes:
                continue
            yield event

    return gen()


async def wait_result(services: Services, run: dict[str, Any]) -> bytes:
    """The ``/wait`` / ``/join`` body of ``run`` (JSON bytes), waiting for it to end:
    the result the run published, or, when the broker no longer holds the run's
    events, one rebuilt from the records and the thread's state
    (:data:`RUN_NOT_FOUND_RESULT` for a deleted run)."""
    async for event in services.broker.subscribe(run["run_id"], from_start=True):
        if event.event == RESULT:
            return event.data
    # the broker no longer holds this run's events: answer from the records
    record = await services.records.get_run(run["run_id"])
    if record is None:
        return RUN_NOT_FOUND_RESULT
    if record["status"] == "error":
        thread = await services.records.get_thread(run["thread_id"])
        return serde.dumps({"__error__": (thread or {}).get("error")})
    graph = await bound_graph(services, run["metadata"].get("graph_id") or run["kwargs"]["config"]["configurable"]["graph_id"])
    snapshot = await graph.aget_state({"configurable": {"thread_id": run["thread_id"]}})
    return serde.dumps(wait_body(snapshot))


async def wait_stopped(services: Services, run_id: str) -> bytes:
    """``{}`` (JSON bytes) once the run's stream has ended."""
    async for _event in services.broker.subscribe(run_id, from_start=True):
        pass
    return b"{}"


# ------------------------------------------------------------------ deleting, cancelling


async def cancel_if_active(services: Services, run_id: str) -> None:
    """Cancel the run (action ``interrupt``) if it has not ended; nothing when it
    has ended or is gone."""
    record = await services.records.get_run(run_id)
    if record is not None and record["status"] not in TERMINAL:
        try:
            await cancel_run(services, record)
        except RunNotActive:
            pass


async def delete_run(services: Services, run: dict[str, Any]) -> None:
    """Delete a run record; a run that has not ended is cancelled first."""
    if run["status"] not in TERMINAL:
        try:
            await cancel_run(services, run)
        except RunNotActive:
            pass
    await services.records.delete_run(run["run_id"])


async def runs_to_cancel(
    services: Services, *, run_ids: list[str] | None, thread_id: str | None, status: str | None
) -> list[dict[str, Any]]:
    """The runs a cancel-many request names: ``run_ids`` (of ``thread_id`` when
    given; unknown ones skipped), else the active runs of ``thread_id``, kept when
    their status is ``status`` (``pending``, ``running``; ``all`` or ``None``: both)."""
    records = services.records
    runs: list[dict[str, Any]] = []
    if run_ids:
        for run_id in run_ids:
            run = await records.get_run(run_id, thread_id)
            if run is not None:
                runs.append(run)
    elif thread_id:
        runs = await records.active_runs(thread_id)
    wanted = {"pending": ("pending",), "running": ("running",)}.get(status or "all", ("pending", "running"))
    return [r for r in runs if r["status"] in wanted]


async def cancel_runs(services: Services, runs: list[dict[str, Any]], action: str = "interrupt") -> int:
    """Cancel each of ``runs`` (:func:`cancel_run`; ``action`` ``interrupt`` or
    ``rollback``); returns how many were cancelled.

    Raises:
        NotFound: :data:`NO_MATCHING` when none could be (none given, or all
            ended already).
    """
    cancelled = 0
    for run in runs:
        if run["status"] in TERMINAL:
            continue
        try:
            await cancel_run(services, run, action)
            cancelled += 1
        except RunNotActive:
            pass
    if not cancelled:
        raise NotFound(NO_MATCHING)
    return cancelled
