"""Recording a run's end: run status, thread status/values/interrupts/error, the
``/wait`` result on the stream, stateless-thread clean-up, then closing the stream.

Thread statuses follow langgraph-api 0.16.7: ``busy`` while another run is queued,
``error`` after a failed run, ``interrupted`` when the state waits at an interrupt or
the run was cancelled (``error`` then holds ``UserInterrupt``), else ``idle``.
See docs/architecture.md, "One run's path", step 7.
"""

from __future__ import annotations

import logging

from langgraph.types import StateSnapshot

from evergraph.activities.errors import is_transient
from evergraph.adapter import serde
from evergraph.adapter.ids import iso, now
from evergraph.adapter.observability import runs as run_states
from evergraph.adapter.services import Services
from evergraph.adapter.graphs.state import bound_graph, thread_interrupts, wait_body
from evergraph.adapter.resources.webhooks import stage as stage_webhook
from evergraph.workflows.types import RunInput, RunOutcome

__all__ = ["RESULT", "finish_run"]

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

    What retrying cannot fix does not stop the outcome from being recorded: a graph
    that cannot be built, or a state LangGraph cannot read, counts as unreadable (the
    thread keeps its previous values); a state that cannot be serialised as JSON turns
    a ``success`` outcome into ``error`` with the serialiser's exception; a run record
    deleted meanwhile still has its thread's status recorded and its stream ended.
    With ``outcome.publish_error`` the stream gets the outcome's ``error`` event.

    Args:
        services: process services.
        run: the run's ids.
        outcome: how the run ended (from the driver or the workflow); updated in
            place and returned.

    Raises:
        Exception: a failure of the records, checkpointer or broker propagates; the
            activity retries the transient ones
            (:func:`evergraph.activities.errors.is_transient`).
    """
    records, broker = services.records, services.broker
    record = await records.get_run(run.run_id)  # None: deleted meanwhile
    if outcome.rollback:
        await services.saver.adelete_for_runs([run.run_id])
        if record is not None:
            await records.delete_run(run.run_id)
    elif record is not None and (record["kwargs"].get("durability") or "async") == "exit":
        await services.saver.acollapse_run(run.thread_id, run.run_id)
    thread = await records.get_thread(run.thread_id)
    snapshot = await _read_state(services, run, record)
    values = result = None
    if snapshot is not None:
        try:
            values = serde.to_jsonable(snapshot.values)
            result = wait_body(snapshot)
            outcome.interrupts = thread_interrupts(snapshot)
        except Exception as exc:  # e.g. orjson's TypeError for a dict with tuple keys
            logger.warning("state of thread %s after run %s cannot be serialised: %r", run.thread_id, run.run_id, exc)
            snapshot = None
            if outcome.status == "success":
                outcome.status, outcome.error = "error", type(exc).__name__
                outcome.message = f"the run's state cannot be serialised as JSON: {exc}"
                outcome.publish_error = True
    if snapshot is None:
        outcome.interrupts = {}
    if outcome.status in ("error", "timeout") or snapshot is None:
        body = {"__error__": {"error": outcome.error or "Error", "message": outcome.message or ""}}
    else:
        body = result
    if thread is not None:
        active = [r for r in await records.active_runs(run.thread_id) if r["run_id"] != run.run_id]
        error = None
        if outcome.status in ("error", "timeout"):
            status, error = "error", {"error": outcome.error, "message": outcome.message}
        elif outcome.status == "interrupted" and not outcome.rollback:
            status = "interrupted"
            error = {
                "error": "UserInterrupt",
                # the reason langgraph-api 0.16.7 hands the run (its UserInterrupt's
                # text): the cancel endpoint's, placeholders left as they are, by default
                "message": outcome.cancel_reason or "interrupt requested via POST /threads/{thread_id}/runs/{run_id}/cancel",
            }
        elif snapshot is not None and snapshot.next:
            status = "interrupted"
        else:
            status = "idle"
        if active:
            status = "busy"
        ts = iso(now())
        outcome.thread_status = status
        await records.update_thread(
            run.thread_id,
            status=status,
            values=values if snapshot is not None else thread["values"],
            interrupts=outcome.interrupts,
            error=error,
            metadata={"graph_id": run.graph_id, "assistant_id": run.assistant_id},
            state_updated_at=ts,
            updated_at=ts,
        )
    if outcome.publish_error:
        broker.publish(run.run_id, "error", {"error": outcome.error or "Error", "message": outcome.message or ""})
    # the run's node writes sent by reference are in the checkpointer now (claims.py)
    await records.delete_run_blobs(run.run_id)
    if record is None:
        broker.end(run.run_id)  # no result: a join answers 404, as for any deleted run
        return outcome
    if not outcome.rollback:
        # last: whoever sees the run ended finds the thread's status and interrupts
        await records.set_run_status(run.run_id, outcome.status, outcome.cancel_reason)
    run_states.finished(run, outcome, record)  # its log line and metrics
    broker.publish(run.run_id, RESULT, body)
    if record.get("temporary") and (record.get("on_completion") or "delete") == "delete":
        await records.delete_thread(run.thread_id)
        await services.saver.adelete_thread(run.thread_id)
    outcome.webhook = await stage_webhook(services, record, outcome, body)
    broker.end(run.run_id)
    return outcome


async def _read_state(services: Services, run: RunInput, record: dict | None) -> StateSnapshot | None:
    """The thread's state after ``run`` as LangGraph reads it, or ``None`` when it is
    unreadable: the graph cannot be built (its factory raises, whatever the error; the
    driver has already failed the run with it) or LangGraph cannot read the state
    (e.g. pending writes that cannot apply, the run's own error).

    Raises:
        Exception: a transient checkpointer failure (see
            :func:`evergraph.activities.errors.is_transient`), so the activity is retried.
    """
    config = record["kwargs"].get("config") if record is not None else None
    try:
        graph = await bound_graph(services, run.graph_id, config)
    except Exception as exc:
        logger.info("graph %s cannot be built after run %s: %r", run.graph_id, run.run_id, exc)
        return None
    try:
        return await graph.aget_state({"configurable": {"thread_id": run.thread_id}})
    except Exception as exc:
        if is_transient(exc):
            raise
        logger.info("state of thread %s unreadable after run %s: %r", run.thread_id, run.run_id, exc)
        return None
