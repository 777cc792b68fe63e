"""Recording a run's end: run status, thread status/values/interrupts/error, the
``/wait`` result on the stream, stateless-thread clean-up, then closing the stream.

Thread statuses follow API.md §4.1: ``busy`` while another run is queued, ``error``
after a failed run, ``interrupted`` when the state waits at an interrupt or the run
was cancelled (``error`` then holds ``UserInterrupt``), else ``idle``.
"""

from __future__ import annotations

import logging

from evergraph.adapter import serde
from evergraph.adapter.ids import iso, now
from evergraph.adapter.services import Services
from evergraph.adapter.state import bound_graph, thread_interrupts, wait_body
from evergraph.adapter.webhooks import stage as stage_webhook
from evergraph.workflows.types import RunInput, RunOutcome

logger = logging.getLogger(__name__)

RESULT = "__result__"
"""Internal stream event carrying the ``/wait`` body; never sent to SSE clients."""


async def finish_run(services: Services, run: RunInput, outcome: RunOutcome) -> RunOutcome:
    """Record ``outcome`` for ``run`` (idempotent: safe to retry).

    A ``rollback`` outcome deletes the run record and every checkpoint the run made
    (langgraph-api's ``action=rollback``); a ``durability="exit"`` run keeps only its
    final checkpoint. A run with a ``webhook`` has its delivery staged for the
    workflow's ``send_webhook`` activity. Returns ``outcome`` with ``thread_status``,
    ``interrupts`` and ``webhook`` filled in, for the workflows.
    """
    records, broker = services.records, services.broker
    record = await records.get_run(run.run_id)
    if record is None:  # deleted meanwhile
        broker.end(run.run_id)
        return outcome
    if outcome.rollback:
        await services.saver.adelete_for_runs([run.run_id])
        await records.delete_run(run.run_id)
    elif (record["kwargs"].get("durability") or "async") == "exit":
        await services.saver.acollapse_run(run.thread_id, run.run_id)
    thread = await records.get_thread(run.thread_id)
    graph = await bound_graph(services, run.graph_id, record["kwargs"].get("config"))
    try:
        snapshot = await graph.aget_state({"configurable": {"thread_id": run.thread_id}})
    except Exception as exc:  # e.g. pending writes that cannot apply (the run's own error)
        logger.info("state of thread %s unreadable after run %s: %r", run.thread_id, run.run_id, exc)
        snapshot = None
    if outcome.status in ("error", "timeout") or snapshot is None:
        body = {"__error__": {"error": outcome.error or "Error", "message": outcome.message or ""}}
    else:
        body = wait_body(snapshot)
    if thread is not None:
        active = [r for r in await records.active_runs(run.thread_id) if r["run_id"] != run.run_id]
        error = None
        if outcome.status in ("error", "timeout"):
            status, error = "error", {"error": outcome.error, "message": outcome.message}
        elif outcome.status == "interrupted" and not outcome.rollback:
            status = "interrupted"
            error = {
                "error": "UserInterrupt",
                "message": f"interrupt requested via POST /threads/{run.thread_id}/runs/{run.run_id}/cancel",
            }
        elif snapshot is not None and snapshot.next:
            status = "interrupted"
        else:
            status = "idle"
        if active:
            status = "busy"
        ts = iso(now())
        outcome.thread_status = status
        outcome.interrupts = thread_interrupts(snapshot) if snapshot is not None else {}
        await records.update_thread(
            run.thread_id,
            status=status,
            values=serde.to_jsonable(snapshot.values) if snapshot is not None else thread["values"],
            interrupts=outcome.interrupts,
            error=error,
            metadata={"graph_id": run.graph_id, "assistant_id": run.assistant_id},
            state_updated_at=ts,
            updated_at=ts,
        )
    if not outcome.rollback:
        # last: whoever sees the run ended finds the thread's status and interrupts
        await records.set_run_status(run.run_id, outcome.status)
    broker.publish(run.run_id, RESULT, body)
    if record.get("temporary") and (record.get("on_completion") or "delete") == "delete":
        await records.delete_thread(run.thread_id)
        await services.saver.adelete_thread(run.thread_id)
    outcome.webhook = await stage_webhook(services, record, outcome, body)
    broker.end(run.run_id)
    return outcome
