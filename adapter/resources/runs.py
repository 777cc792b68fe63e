"""Creating, submitting and cancelling runs on Temporal (used by the API, crons and
the v2 protocol).

A run is handed to its thread's ``ThreadWorkflow`` (``thread-<thread_id>``) by
update-with-start, which starts the workflow if the thread has none running; the
thread workflow then runs it as the child ``RunWorkflow`` ``run-<run_id>``
(docs/architecture.md, "One run's path").
"""

from __future__ import annotations

import asyncio
import copy
import logging
import re
import time
import uuid
from typing import Any, AsyncIterator

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from evergraph.adapter import serde
from evergraph.adapter.broker.protocol import StreamEvent
from evergraph.adapter.errors import Conflict, EvergraphError, Invalid, NotFound, Refused, Unavailable
from evergraph.adapter.execution import claims
from evergraph.adapter.execution.finish import RESULT
from evergraph.adapter.graphs.state import bound_graph, wait_body
from evergraph.adapter.observability import runs as run_states, tracing
from evergraph.adapter.ids import iso, new_id, now, thread_workflow_id
from evergraph.adapter.records.common import new_thread
from evergraph.adapter.records.types import ENDED_RUN_STATUSES, Assistant, RunRecord
from evergraph.adapter.resources.auth import AuthFilter, visible
from evergraph.adapter.resources.webhooks import check_webhook
from evergraph.adapter.services import Services
from evergraph.workflows import search
from evergraph.workflows.thread import BUSY, ThreadWorkflow
from evergraph.workflows.types import CancelRun, RunInput, SubmitRun, ThreadInput

logger = logging.getLogger(__name__)

__all__ = [
    "UNDO_TIMEOUT",
    "CONTEXT_AND_CONFIGURABLE",
    "NO_MATCHING",
    "NO_RUNS_FOUND",
    "RUN_NOT_FOUND_RESULT",
    "TERMINAL",
    "RunNotActive",
    "accept_run",
    "build_run",
    "CANCEL_MANY_REQUESTED",
    "CANCEL_ON_DISCONNECT",
    "CANCEL_REQUESTED",
    "CANCEL_TAKEN",
    "cancel_if_active",
    "cancel_run",
    "cancel_runs",
    "thread_config",
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


def run_input(
    services: Services, run: dict[str, Any], graph_id: str, after_seconds: float | None = None,
    trace: dict[str, str] | None = None,
) -> RunInput:
    """The workflow's view of a run record; ``trace`` is the W3C trace context its
    workflow continues (adapter/observability/tracing.py)."""
    return RunInput(
        run_id=run["run_id"],
        thread_id=run["thread_id"],
        assistant_id=run["assistant_id"],
        graph_id=graph_id,
        run_timeout=services.settings.run_timeout,
        after_seconds=after_seconds,
        trace=trace,
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
    # a large record (input, command, config) travels by reference (claims.py)
    ref = await claims.check_in(
        services.records, serde.dumps(run).decode(), limit=services.settings.claim_check_bytes,
        thread_id=run["thread_id"], run_id=run["run_id"], kind="record",
    )
    msg = SubmitRun(
        run=run_input(services, run, graph_id, after_seconds, trace=tracing.run_context(run, graph_id, strategy)),
        record={} if claims.is_claim(ref) else run,
        multitask_strategy=strategy,
        record_ref=ref if claims.is_claim(ref) else None,
    )
    try:
        await client.execute_update_with_start_workflow(ThreadWorkflow.submit_run, msg, start_workflow_operation=start)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type == "ThreadBusy":
            await claims.forget(services.records, msg.record_ref)
            raise Conflict(BUSY) from None
        raise


class RunNotActive(Exception):
    """The run is neither queued nor running on its thread (nothing to cancel)."""


async def cancel_run(
    services: Services, run: dict[str, Any], action: str = "interrupt", reason: str | None = None
) -> None:
    """Ask ``run``'s thread workflow to cancel it (Temporal update ``cancel_run``): a
    queued run ends ``interrupted`` (or is deleted, ``action="rollback"``) before this
    returns; a running run is signalled to stop and ends shortly after. ``reason``
    (one of the ``CANCEL_*`` texts) becomes the run's ``cancel_reason``.

    Raises:
        RunNotActive: the thread's workflow does not hold this run (finished already,
            or the thread has no workflow).
    """
    client: Client = services.temporal
    handle = client.get_workflow_handle(thread_workflow_id(run["thread_id"]))
    try:
        await handle.execute_update(
            ThreadWorkflow.cancel_run, CancelRun(run_id=run["run_id"], action=action, reason=reason)
        )
    except WorkflowUpdateFailedError as err:
        raise RunNotActive(str(err.cause or err)) from None
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise RunNotActive(err.message) from None
        raise


async def accept_run(services: Services, msg: SubmitRun) -> None:
    """Store an accepted run's record and mark its thread ``busy`` (local activity of
    the thread workflow; idempotent). A record sent by reference is read from its
    blob, which is then deleted.

    Raises:
        claims.ClaimMissing: the record's blob is gone and the run was not stored: the
            API gave the submission up (:func:`create_run`), so it must not run.
    """
    records = services.records
    if msg.record_ref is None:
        await records.put_run(msg.record)
    else:
        if await records.get_run(msg.run.run_id) is None:  # else: a retried activity
            await records.put_run(serde.loads(await claims.check_out(records, msg.record_ref)))
        await claims.forget(records, msg.record_ref)
    await run_states.accepted(records, msg.run)  # "run pending" / "run queued": log line, metrics


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
        thread_metadata=thread.get("metadata"),
    )
    await services.records.put_run(run)
    # a run no request created: a trace of its own, linked to the signal's handling
    trace = tracing.new_trace(
        "evergraph.resume", thread_id=thread_id, run_id=run["run_id"], assistant_id=assistant["assistant_id"],
        graph_id=assistant["graph_id"],
    )
    accepted = run_input(services, run, assistant["graph_id"], trace=trace)
    await run_states.accepted(services.records, accepted)  # "run pending" / "run queued": log line, metrics
    return accepted


TERMINAL = ENDED_RUN_STATUSES
"""Statuses of a run that has ended."""


CONTEXT_AND_CONFIGURABLE = (
    "Cannot specify both configurable and context. Prefer setting context alone. Context was "
    "introduced in LangGraph 0.6.0 and is the long term planned replacement for configurable."
)
"""400 body (langgraph-api 0.16.7's text) for a request with both ``context`` and
``config.configurable``."""

#: LangGraph's interrupt ids: xxh3-128 hex digests
_INTERRUPT_ID = re.compile(r"[0-9a-f]{32}")


def _tracer_keys(tracer: Any) -> dict[str, Any]:
    """The ``configurable`` keys langgraph-api 0.16.7 records for a run's
    ``langsmith_tracer`` (``{project_name?, example_id?}``): none without one."""
    if not tracer or not isinstance(tracer, dict):
        return {}
    return {"__langsmith_project__": tracer.get("project_name"), "__langsmith_example_id__": tracer.get("example_id")}


def build_run(
    *,
    run_id: str,
    thread_id: str,
    assistant: Assistant,
    body: dict[str, Any],
    temporary: bool,
    user: dict[str, Any] | None = None,
    headers: dict[str, Any] | None = None,
    thread_metadata: dict[str, Any] | None = None,
) -> RunRecord:
    """The run record for a create request, in langgraph-api 0.16.7's Run shape.

    ``config`` merges the assistant's config with the request's; ``configurable``
    gains ``run_id``, ``thread_id``, ``graph_id``, ``assistant_id``, ``user_id`` and the
    request's ``context`` (flagged ``__context_provided__``); ``metadata`` is, as
    langgraph-api 0.16.7 merges it, the assistant's metadata, then
    ``thread_metadata`` (the thread's, for a thread that existed before the run;
    ``None`` for a thread the run creates) with ``graph_id``/``assistant_id``, the
    request's ``config.metadata`` and its ``metadata``, with ``assistant_id`` always
    the run's assistant. A ``checkpoint`` object's keys all go to ``configurable``.
    ``user`` is the authenticated user's fields (``identity``, ``permissions``…), given
    to the graph as ``langgraph_auth_user``/``_user_id``/``_permissions`` and
    ``user_id`` in ``configurable``, as langgraph-api does. ``headers`` are the
    request headers ``langgraph.json`` ``http.configurable_headers`` lets through
    (``api/headers.py``), added to ``configurable`` after the request's values.
    """
    graph_id = assistant["graph_id"]
    a_config = copy.deepcopy(assistant.get("config") or {})
    r_config = copy.deepcopy(body.get("config") or {})
    config = {**a_config, **{k: v for k, v in r_config.items() if k != "configurable"}}
    # without a ``context``, the request's ``configurable`` is the run's context too, as
    # langgraph-api 0.16.7 mirrors it (the graph gets the keys its context schema
    # names: ``runconfig.graph_context``)
    context = {
        **(assistant.get("context") or {}),
        **copy.deepcopy(body.get("context") or r_config.get("configurable") or {}),
    }
    configurable = {**a_config.get("configurable", {}), **r_config.get("configurable", {})}
    if body.get("context"):
        configurable.update(body["context"])
        configurable["__context_provided__"] = True
    checkpoint_id = body.get("checkpoint_id") or (body.get("checkpoint") or {}).get("checkpoint_id")
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    if isinstance(body.get("checkpoint"), dict):  # all its keys, as langgraph-api 0.16.7 copies them
        configurable.update(copy.deepcopy(body["checkpoint"]))
    configurable.update(headers or {})
    configurable.update(
        {
            # the authenticated user, as langgraph-api gives it to the graph
            "langgraph_auth_user": user,
            "langgraph_auth_user_id": (user or {}).get("identity", ""),
            "langgraph_auth_permissions": list((user or {}).get("permissions") or []),
            "langgraph_request_id": str(uuid.uuid4()),
            **_tracer_keys(body.get("langsmith_tracer")),
            # as langgraph-api 0.16.7 records them: when the request came (ms since the
            # epoch) and its after_seconds (0 when not given)
            "__request_start_time_ms__": int(time.time() * 1000),
            "__after_seconds__": body["after_seconds"] if body.get("after_seconds") is not None else 0,
            "run_id": run_id,
            "thread_id": thread_id,
            "graph_id": graph_id,
            "assistant_id": assistant["assistant_id"],
            "user_id": (user or {}).get("identity", ""),
        }
    )
    metadata = {
        **(assistant.get("metadata") or {}),
        # an existing thread's metadata with the run's graph and assistant (a thread
        # the run creates has none yet: langgraph-api 0.16.7 merges no graph_id then)
        **({**thread_metadata, "graph_id": graph_id, "assistant_id": assistant["assistant_id"]}
           if thread_metadata is not None else {}),
        **(r_config.get("metadata") or {}),
        **(body.get("metadata") or {}),
    }
    metadata["assistant_id"] = assistant["assistant_id"]
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
            # langgraph-api 0.16.7: a stateless run is temporary only when its thread
            # goes with it (on_completion "delete", the default)
            "temporary": temporary and (body.get("on_completion") or "delete") == "delete",
            "subgraphs": bool(body.get("stream_subgraphs")),
            "resumable": bool(body.get("stream_resumable")),
            "checkpoint_during": True if body.get("checkpoint_during") is None else body["checkpoint_during"],
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


def _check_interrupt_nodes(services: Services, graph_id: str, body: dict[str, Any]) -> None:
    """Refuse ``interrupt_before``/``interrupt_after`` lists naming a node the graph
    (its subgraphs included) does not have: LangGraph would never pause there, and
    langgraph-api 0.16.7 accepts them silently. Skipped for graph factories, whose
    nodes may depend on the run's config.

    Raises:
        Invalid: naming the field, the unknown names and the graph's nodes.
    """
    fields = {k: body.get(k) for k in ("interrupt_before", "interrupt_after")}
    fields = {k: v for k, v in fields.items() if isinstance(v, list) and v}
    if not fields:
        return
    graph = services.registry.static_graph(graph_id) if graph_id in services.registry else None
    if graph is None:
        return
    nodes = set(graph.nodes)
    try:
        for _, sub in graph.get_subgraphs(recurse=True):
            nodes |= set(sub.nodes)
    except Exception:  # noqa: BLE001 - subgraphs LangGraph cannot list: top-level nodes only
        pass
    for field, names in fields.items():
        unknown = [n for n in names if n not in nodes]
        if unknown:
            known = sorted(n for n in nodes if not n.startswith("__"))
            raise Invalid(f"{field}: graph {graph_id!r} has no node(s) {unknown}; its nodes: {known}")


async def create_run(
    services: Services,
    thread_id: str | None,
    assistant: dict[str, Any],
    body: dict[str, Any],
    user: dict[str, Any] | None = None,
    headers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Validate, record and submit a run; returns the run record.

    Args:
        thread_id: the thread, or ``None`` for a stateless run (a temporary thread is
            made and, with ``on_completion="delete"``, removed afterwards).
        assistant: the resolved assistant record.
        body: the request body (the fields of langgraph-api 0.16.7's ``RunCreateStateful``).
        user: the authenticated user's fields, or None without authentication.
        headers: request headers for ``configurable`` (see :func:`build_run`).

    Raises:
        Refused: ``context`` with ``config.configurable``.
        Invalid: ``interrupt_before``/``interrupt_after`` name nodes the graph lacks.
        NotFound: the thread is missing and ``if_not_exists`` is not ``create``.
        Conflict: ``multitask_strategy="reject"`` on a busy thread, decided by the
            thread's workflow.
        Unavailable: Temporal could not take the run.
        Nothing is kept for a rejected run.
    """
    records = services.records
    if body.get("context") and (body.get("config") or {}).get("configurable"):
        raise Refused(CONTEXT_AND_CONFIGURABLE)
    _check_interrupt_nodes(services, assistant["graph_id"], body)
    await check_webhook(services, body)
    temporary = thread_id is None
    created_thread = False
    thread: dict[str, Any] | None = None
    # a thread the run creates: langgraph-api 0.16.7's metadata and config for it
    owner = {
        "graph_id": assistant["graph_id"], "assistant_id": assistant["assistant_id"],
        **((body.get("config") or {}).get("metadata") or {}), **(body.get("metadata") or {}),
    }
    new_config = thread_config(assistant, None, body.get("config"))
    if temporary:
        thread_id = new_id()
        await records.put_thread(new_thread(thread_id, owner, status="busy", config=new_config))
        created_thread = True
    else:
        thread = await records.get_thread(thread_id)
        if thread is None:
            if body.get("if_not_exists") != "create":
                raise NotFound("Thread or assistant not found.")
            await records.put_thread(
                new_thread(thread_id, owner, status="busy", config=new_config), if_exists="do_nothing"
            )
            created_thread = True
    if not created_thread:
        _check_resume_ids(thread, body.get("command"))
        await _check_checkpoint(services, thread_id, body)
    run = build_run(
        run_id=new_id(), thread_id=thread_id, assistant=assistant, body=body, temporary=temporary, user=user,
        headers=headers, thread_metadata=None if created_thread else thread.get("metadata"),
    )
    # an idle thread takes the run's config, as langgraph-api 0.16.7 sets it (put back
    # below if the run is not taken)
    previous_config = None
    if not created_thread and thread.get("status") != "busy":
        previous_config = thread.get("config") or {}
        await records.update_thread(
            thread_id, config=thread_config(assistant, previous_config, body.get("config")),
            updated_at=thread["updated_at"],
        )
    try:
        await submit_run(
            services, run, assistant["graph_id"], body.get("multitask_strategy") or "enqueue", body.get("after_seconds")
        )
    except Exception as exc:
        if created_thread:
            await records.delete_thread(thread_id)
        if previous_config is not None:
            await _restore_thread_config(services, thread, previous_config)
        if not created_thread and not isinstance(exc, Conflict):
            await _undo_submission(services, run, thread)
        if isinstance(exc, EvergraphError):
            raise
        raise Unavailable(f"Could not submit the run to Temporal: {exc}") from exc
    return run


def thread_config(
    assistant: dict[str, Any], thread_config: dict[str, Any] | None, run_config: dict[str, Any] | None
) -> dict[str, Any]:
    """A thread's ``config`` once a run is made on it, as langgraph-api 0.16.7 keeps
    it: the assistant's config, then the thread's (``None`` for a thread the run
    creates), then the run request's ``config``, key by key (top-level keys only),
    with ``configurable`` the assistant's ``configurable`` updated by the thread's
    (the run's own ``configurable`` is not kept).

    Args:
        assistant: the run's assistant record.
        thread_config: the thread's ``config`` before the run.
        run_config: the request body's ``config``.
    """
    a_config = assistant.get("config") or {}
    merged = {**copy.deepcopy(a_config), **copy.deepcopy(thread_config or {}), **copy.deepcopy(run_config or {})}
    merged["configurable"] = {
        **copy.deepcopy(a_config.get("configurable") or {}),
        **copy.deepcopy((thread_config or {}).get("configurable") or {}),
    }
    return merged


async def _restore_thread_config(services: Services, thread: dict[str, Any], config: dict[str, Any]) -> None:
    """Put back the ``config`` a thread had before a run that was not taken; never
    raises (the submission's error is what the caller reports)."""
    try:
        await services.records.update_thread(thread["thread_id"], config=config, updated_at=thread["updated_at"])
    except Exception as err:  # noqa: BLE001 - best effort
        logger.warning("thread %s: could not restore its config: %r", thread["thread_id"], err)


#: seconds the API waits for the thread's workflow to roll back a run whose
#: submission failed (it may be unreachable: that is often why the submission failed)
UNDO_TIMEOUT = 10.0


async def _undo_submission(services: Services, run: dict[str, Any], thread: dict[str, Any]) -> None:
    """Leave nothing of a run whose submission failed (Temporal unreachable, update
    timed out, the thread's workflow failing…): the run's blobs are deleted first, so
    a workflow that has not stored the record yet can no longer do so
    (:func:`accept_run` fails without it); a record stored already is rolled back
    through the thread's workflow (``cancel_run``, ``rollback``) when it answers
    within :data:`UNDO_TIMEOUT` seconds, and deleted here in any case, the thread
    getting back the status it had (``thread``, read before the submission) unless
    another run is active on it. Never raises: the submission's own error is what the
    caller reports."""
    records = services.records
    try:
        await records.delete_run_blobs(run["run_id"])
        if await records.get_run(run["run_id"]) is None:
            return
        try:
            async with asyncio.timeout(UNDO_TIMEOUT):
                await cancel_run(services, run, "rollback")
        except Exception as err:  # noqa: BLE001 - best effort, then by hand
            logger.warning("run %s: rollback after a failed submission failed: %r", run["run_id"], err)
        await records.delete_run(run["run_id"])
        if not [r for r in await records.active_runs(run["thread_id"]) if r["run_id"] != run["run_id"]]:
            await records.update_thread(
                run["thread_id"], status=thread.get("status") or "idle", updated_at=thread.get("updated_at")
            )
    except Exception as err:  # noqa: BLE001 - reported by the caller's error
        logger.warning("run %s: could not undo a failed submission: %r", run["run_id"], err)


# ------------------------------------------------------------------------- reading runs


RUN_NOT_FOUND_RESULT = serde.dumps({"__error__": {"error": "HTTPException", "message": "404: Run not found"}})
"""The ``/wait`` / ``/join`` body for a run that does not exist (any more), as
langgraph-api 0.16.7 answers it (with status 200)."""

NO_MATCHING = (
    "No matching runs to cancel. Please verify the thread ID and run IDs are correct, "
    "and the runs haven't been deleted or completed."
)
"""404 body (langgraph-api 0.16.7's text) when the runs to cancel have all ended."""

NO_RUNS_FOUND = "No runs found to cancel."
"""404 body (langgraph-api 0.16.7's text) when no run matches a cancel request."""


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

# Why a run was cancelled, as its ``cancel_reason`` says: langgraph-api 0.16.7's reason
# texts (it hands them to the cancelled run; the braces of the first are literal). A
# double-text's is in workflows/thread.py (``superseded by run …``), a run timeout's
# is the run's error message.
CANCEL_REQUESTED = "{action} requested via POST /threads/{{thread_id}}/runs/{{run_id}}/cancel"
"""``POST /threads/{thread_id}/runs/{run_id}/cancel``; ``.format(action=…)``."""
CANCEL_MANY_REQUESTED = "{action} requested via POST /runs/cancel"
"""``POST /runs/cancel``; ``.format(action=…)``."""
CANCEL_ON_DISCONNECT = "client disconnected from the run stream (on_disconnect=cancel)"
"""A stream, join or wait whose client left with ``on_disconnect=cancel``."""
CANCEL_TAKEN = "taken:"
"""Prefix of the reason when the canceller took the run's input over (``reason=taken``
of the JS SDK's ``runs.cancel``, whose docs say the server records a reason starting so)."""


async def cancel_if_active(services: Services, run_id: str, reason: str | None = CANCEL_ON_DISCONNECT) -> None:
    """Cancel the run (action ``interrupt``, ``cancel_reason`` ``reason``) if it has
    not ended; nothing when it has ended or is gone."""
    record = await services.records.get_run(run_id)
    if record is not None and record["status"] not in TERMINAL:
        try:
            await cancel_run(services, record, reason=reason)
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
    given; unknown ones skipped; ended ones kept, so :func:`cancel_runs` can tell
    "none found" from "none cancellable", as langgraph-api 0.16.7 does), else the
    active runs of ``thread_id`` or, with neither, of every thread, kept when their
    status is ``status`` (``pending``, ``running``; ``all`` or ``None``: both). A
    thread holds an active run only while it is ``busy`` (the record store marks it
    so with the run), so only busy threads are looked at."""
    records = services.records
    runs: list[dict[str, Any]] = []
    if run_ids:
        for run_id in run_ids:
            run = await records.get_run(run_id, thread_id)
            if run is not None:
                runs.append(run)
        if status is None:
            return runs
    elif thread_id:
        runs = await records.active_runs(thread_id)
    elif status is not None:
        for thread in await records.list_threads(status="busy"):
            runs += await records.active_runs(thread["thread_id"])
    wanted = {"pending": ("pending",), "running": ("running",)}.get(status or "all", ("pending", "running"))
    return [r for r in runs if r["status"] in wanted]


async def cancel_runs(
    services: Services, runs: list[dict[str, Any]], action: str = "interrupt", reason: str | None = None
) -> int:
    """Cancel each of ``runs`` (:func:`cancel_run`; ``action`` ``interrupt`` or
    ``rollback``; ``reason`` their ``cancel_reason``); returns how many were cancelled.

    Raises:
        NotFound: :data:`NO_RUNS_FOUND` when ``runs`` is empty; :data:`NO_MATCHING`
            when none of them could be cancelled (all ended already), as
            langgraph-api 0.16.7 answers both.
    """
    if not runs:
        raise NotFound(NO_RUNS_FOUND)
    cancelled = 0
    for run in runs:
        if run["status"] in TERMINAL:
            continue
        try:
            await cancel_run(services, run, action, reason)
            cancelled += 1
        except RunNotActive:
            pass
    if not cancelled:
        raise NotFound(NO_MATCHING)
    return cancelled
