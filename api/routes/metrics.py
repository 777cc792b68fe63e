"""``GET /metrics``: Prometheus metrics of this process in the text exposition format
(or, with ``?format=json``, langgraph-api 0.16.7's JSON summary), as langgraph-api
serves them: without authentication, not shadowed by ``langgraph.json``'s ``http.app``,
removed with ``http.disable_meta``. What is measured: adapter/observability/metrics.py.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from evergraph.adapter.observability import metrics
from evergraph.adapter.services import Services

__all__ = ["router"]

router = APIRouter(tags=["system"])


async def _queue(services: Services) -> metrics.QueueStats:
    """The deployment's pending and running runs: one records query
    (:meth:`RecordStore.active_run_stats`), however many threads are busy."""
    return metrics.queue_stats(await services.records.active_run_stats())


@router.get(
    "/metrics",
    summary="System Metrics",
    responses={200: {"content": {"text/plain": {}, "application/json": {}}}},
)
async def system_metrics(
    request: Request,
    format: str = Query(  # noqa: A002 - the query parameter's name
        "prometheus", description="Response format: prometheus (default) or json"
    ),
) -> Response:
    """Metrics in the Prometheus text format, or JSON with ``format=json`` (any other
    value: Prometheus, as langgraph-api 0.16.7 answers). The queue gauges are read
    from the records at each scrape, in one query."""
    services: Services = request.app.state.services
    stats = await _queue(services)
    if format == "json":
        return JSONResponse(metrics.json_snapshot(stats))
    metrics.set_queue(stats)
    body = await asyncio.to_thread(metrics.exposition)  # may read the Temporal SDK's exporter
    return Response(body, media_type=metrics.CONTENT_TYPE)
