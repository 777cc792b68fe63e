"""Run state changes, seen once each: one log line (logger ``evergraph.runs``) and the
run metrics of :mod:`.metrics`, at the points where a run's record changes status:

* :func:`accepted`: the thread's workflow accepted the run and its record is stored
  (``pending``; ``queued`` when another run of the thread is pending or running);
* :func:`started`: the driver marked it ``running``;
* :func:`finished`: ``finish_run`` recorded its end: ``success``, ``error``,
  ``interrupted``, ``timeout``; ``cancelled`` when it ended before it ran (a queued run
  cancelled), ``rolled back`` when ``rollback`` deleted it.

Every line carries ``run_id``, ``thread_id``, ``assistant_id`` and ``graph_id`` as
fields (JSON keys with ``EVERGRAPH_LOG_FORMAT=json``). Callers do not wait on anything
here but :func:`accepted`'s one records query.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Mapping

from evergraph.adapter.records.types import ENDED_RUN_STATUSES
from evergraph.adapter.observability import metrics
from evergraph.adapter.observability.logs import fields
from evergraph.workflows.types import RunInput, RunOutcome

__all__ = ["accepted", "finished", "started"]

logger = logging.getLogger("evergraph.runs")

#: run statuses that end a run
_ENDED = ENDED_RUN_STATUSES
#: longest error message put on a line, characters
_MESSAGE_CHARS = 500


def _ids(run: RunInput) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "thread_id": run.thread_id,
        "assistant_id": run.assistant_id,
        "graph_id": run.graph_id,
    }


def _since(value: Any) -> float | None:
    """Seconds from the ISO 8601 time ``value`` to now, or ``None``."""
    try:
        ts = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return max(0.0, (datetime.now(timezone.utc) - ts).total_seconds())


async def accepted(records: Any, run: RunInput) -> None:
    """The run's record was stored ``pending`` by the thread's workflow.

    Args:
        records: the process's record store (its ``active_runs`` tells whether the
            run waits behind another run of its thread).
        run: the run's ids.

    Raises:
        Exception: the record store's failure (the caller's activity retries it).
    """
    active = await records.active_runs(run.thread_id)
    ahead = sum(1 for r in active if r["run_id"] != run.run_id)
    metrics.run_submitted(run.graph_id, queued=ahead > 0)
    if logger.isEnabledFor(logging.INFO):
        event = "queued" if ahead else "pending"
        logger.info("run %s", event, extra=fields(**_ids(run), status="pending", runs_ahead=ahead or None))


def started(run: RunInput, record: Mapping[str, Any]) -> None:
    """The run went ``running``; ``record`` is its record as it was (``created_at``)."""
    wait = _since(record.get("created_at"))
    metrics.run_started(run.graph_id, wait)
    if logger.isEnabledFor(logging.INFO):
        logger.info(
            "run running",
            extra=fields(**_ids(run), status="running", queue_wait_s=None if wait is None else round(wait, 3)),
        )


def finished(run: RunInput, outcome: RunOutcome, record: Mapping[str, Any] | None) -> None:
    """The run ended with ``outcome`` (recorded just before); ``record`` is its record
    as it was before (``None``: unknown). A record that had already ended (a retried
    ``finish_run``) is not counted again."""
    previous = record.get("status") if record is not None else None
    if previous in _ENDED:
        return
    ran = previous == "running"
    duration = _since(record.get("updated_at")) if ran and record is not None else None
    metrics.run_finished(outcome.status, run.graph_id, duration)
    if outcome.rollback:
        event = "rolled back"
    elif previous == "pending" and outcome.status == "interrupted":
        event = "cancelled"
    else:
        event = outcome.status
    failed = outcome.status in ("error", "timeout")
    level = logging.WARNING if failed else logging.INFO
    if logger.isEnabledFor(level):
        message = (outcome.message or "")[:_MESSAGE_CHARS] if failed else None
        logger.log(
            level,
            "run %s",
            event,
            extra=fields(
                **_ids(run),
                status=outcome.status,
                duration_s=None if duration is None else round(duration, 3),
                error=outcome.error if failed else None,
                message=message,
                cancel_reason=getattr(outcome, "cancel_reason", None),
                thread_status=outcome.thread_status,
            ),
        )
