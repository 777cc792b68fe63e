"""Submitting and cancelling runs on Temporal (used by the API).

A run is queued on its thread's ``ThreadWorkflow`` (``thread-<thread_id>``) by
signal-with-start, which starts the workflow if the thread has none running; the
thread workflow then runs it as the child ``RunWorkflow`` ``run-<run_id>``.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from adapter.ids import run_workflow_id, thread_workflow_id
from adapter.services import Services
from workflows import search
from workflows.thread import ThreadWorkflow
from workflows.types import CancelRun, RunInput, SubmitRun


def run_input(services: Services, run: dict[str, Any], graph_id: str) -> RunInput:
    """The workflow's view of a run record."""
    return RunInput(
        run_id=run["run_id"],
        thread_id=run["thread_id"],
        assistant_id=run["assistant_id"],
        graph_id=graph_id,
        run_timeout=services.settings.run_timeout,
    )


async def submit_run(services: Services, run: dict[str, Any], graph_id: str) -> None:
    """Queue ``run`` on its thread's workflow (starting that workflow if needed)."""
    client: Client = services.temporal
    inp = run_input(services, run, graph_id)
    await client.start_workflow(
        ThreadWorkflow.run,
        args=[run["thread_id"], None],
        id=thread_workflow_id(run["thread_id"]),
        task_queue=services.settings.task_queue,
        start_signal="submit_run",
        start_signal_args=[SubmitRun(run=inp)],
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        search_attributes=TypedSearchAttributes([SearchAttributePair(search.THREAD_ID, run["thread_id"])]),
    )


async def cancel_run(services: Services, run: dict[str, Any], action: str = "interrupt") -> None:
    """Cancel ``run``: drop it from its thread's queue if it has not started, and
    request cancellation of its ``RunWorkflow`` (which cancels the node attempts in
    flight) if it has. Missing workflows are ignored."""
    client: Client = services.temporal
    try:
        await client.get_workflow_handle(thread_workflow_id(run["thread_id"])).signal(
            "cancel_run", CancelRun(run_id=run["run_id"], action=action)
        )
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
    try:
        await client.get_workflow_handle(run_workflow_id(run["run_id"])).cancel()
    except RPCError as err:
        if err.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise


TERMINAL = ("success", "error", "interrupted", "timeout")


class RunRejected(Exception):
    """A run cannot be created; ``status`` and ``detail`` are the HTTP answer."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


CONTEXT_AND_CONFIGURABLE = (
    "Cannot specify both configurable and context. Prefer setting context alone. Context was "
    "introduced in LangGraph 0.6.0 and is the long term planned replacement for configurable."
)


def build_run(
    *,
    run_id: str,
    thread_id: str,
    assistant: dict[str, Any],
    body: dict[str, Any],
    temporary: bool,
) -> dict[str, Any]:
    """The run record for a create request, in langgraph-api's shape (API.md §3.5.3).

    ``config`` merges the assistant's config with the request's; ``configurable``
    gains ``run_id``, ``thread_id``, ``graph_id``, ``assistant_id``, ``user_id`` and the
    request's ``context`` (flagged ``__context_provided__``); ``metadata`` is the
    assistant's metadata plus ``graph_id``/``assistant_id`` plus the request's.
    """
    import copy
    import uuid

    from adapter.ids import iso, now

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
            "langgraph_auth_user": None,
            "langgraph_auth_user_id": "",
            "langgraph_auth_permissions": [],
            "langgraph_request_id": str(uuid.uuid4()),
            "run_id": run_id,
            "thread_id": thread_id,
            "graph_id": graph_id,
            "assistant_id": assistant["assistant_id"],
            "user_id": "",
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


async def create_run(
    services: Services, thread_id: str | None, assistant: dict[str, Any], body: dict[str, Any]
) -> dict[str, Any]:
    """Validate, record and submit a run; returns the run record.

    Args:
        thread_id: the thread, or ``None`` for a stateless run (a temporary thread is
            made and, with ``on_completion="delete"``, removed afterwards).
        assistant: the resolved assistant record.
        body: the request body (API.md §3.5.1 fields).

    Raises:
        RunRejected: 400 (context with configurable), 404 (thread missing and
            ``if_not_exists`` is not ``create``), 503 (Temporal unreachable; nothing
            is kept).
    """
    from adapter.ids import new_id
    from adapter.storage import new_thread

    records = services.records
    if body.get("context") and (body.get("config") or {}).get("configurable"):
        raise RunRejected(400, CONTEXT_AND_CONFIGURABLE)
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
                raise RunRejected(404, "Thread or assistant not found.")
            await records.put_thread(new_thread(thread_id, owner, status="busy"), if_exists="do_nothing")
            created_thread = True
    run = build_run(run_id=new_id(), thread_id=thread_id, assistant=assistant, body=body, temporary=temporary)
    await records.put_run(run)
    previous_status = None
    if not created_thread:
        previous_status = thread["status"]
        await records.update_thread(thread_id, status="busy")
    try:
        await submit_run(services, run, assistant["graph_id"])
    except Exception as exc:
        await records.delete_run(run["run_id"])
        if created_thread:
            await records.delete_thread(thread_id)
        else:
            await records.update_thread(thread_id, status=previous_status)
        raise RunRejected(503, f"Could not submit the run to Temporal: {exc}") from exc
    return run
