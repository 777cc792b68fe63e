"""Evergraph's Prometheus metrics, in the process-wide registry of ``prometheus_client``.

Where langgraph-api 0.16.7 has a metric, it has its name, type, labels and unit
(milliseconds for its latencies); Evergraph's own are ``evergraph_*``, durations in
seconds. Every series a process records shows on every endpoint of that process: the
API's ``GET /metrics`` (``api/routes/metrics.py``) and the worker's own endpoint
(:mod:`.endpoint`, ``EVERGRAPH_WORKER_METRICS_PORT``). So under ``evergraph dev``
(API and worker in one process) ``/metrics`` shows the worker's run and node metrics
too; a separate ``evergraph worker`` shows them on its own port only. The Temporal
SDK's metrics (:mod:`.temporal_metrics`) are appended to both as a text source
(:func:`add_text_source`).

No label takes unbounded values: no thread or run ids; ``graph_id`` and ``node`` come
from ``langgraph.json``'s graphs, ``path`` is the route template
(``/threads/{thread_id}/runs``), never the raw path.

Metrics that only one kind of process sets are registered by that process
(:func:`register_api`, :func:`register_worker`), so a worker does not show a queue
gauge stuck at 0, nor the API worker-slot gauges. See README "Observability: metrics
and logs".
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator

import prometheus_client
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, generate_latest

from evergraph.adapter.records.types import ActiveRunStats

__all__ = [
    "BROKER_LAG",
    "CONTENT_TYPE",
    "HTTP_LATENCY",
    "HTTP_REQUESTS",
    "NODE_ATTEMPT_DURATION",
    "NODE_RETRIES",
    "NODE_TIMEOUTS",
    "QueueStats",
    "RUNS",
    "RUNS_QUEUED",
    "RUN_DURATION",
    "RUN_EXECUTION_LATENCY",
    "RUN_QUEUE_WAIT",
    "SSE_STREAMS",
    "STREAM_EVENTS_IN_MEMORY",
    "add_text_source",
    "exposition",
    "json_snapshot",
    "node_attempt",
    "node_timed_out",
    "observe_broker_lag",
    "observe_http",
    "queue_stats",
    "register_api",
    "register_worker",
    "register_stream_memory",
    "run_finished",
    "run_started",
    "run_submitted",
    "set_queue",
    "sse_stream",
]

logger = logging.getLogger(__name__)

# langgraph-api 0.16.7 shows no ``*_created`` series; neither does Evergraph
prometheus_client.disable_created_metrics()

#: the content type of the text exposition format (as langgraph-api 0.16.7 answers)
CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST

#: langgraph-api 0.16.7's latency buckets, milliseconds (10 ms … 1 h)
LATENCY_BUCKETS_MS = (10, 100, 500, 1000, 5000, 15000, 30000, 60000, 120000, 300000, 600000, 1800000, 3600000)
#: run durations and queue waits, seconds
RUN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 21600, 86400)
#: node attempts, seconds
NODE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600)
#: broker lag, seconds
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

# --------------------------------------------------------- langgraph-api's names

HTTP_REQUESTS = Counter(
    "lg_api_http_requests", "Total number of HTTP requests.", ["method", "path", "status"]
)
HTTP_LATENCY = Histogram(
    "lg_api_http_requests_latency",
    "HTTP request latency in milliseconds",
    ["method", "path"],
    buckets=LATENCY_BUCKETS_MS,
)
RUN_EXECUTION_LATENCY = Histogram(
    "lg_api_run_execution_latency",
    "Run execution time in milliseconds, from running to its end",
    ["status"],
    buckets=LATENCY_BUCKETS_MS,
)

# ------------------------------------------------------------- Evergraph's own

RUNS = Counter(
    "evergraph_runs",
    "Runs that reached a status: pending (accepted), running, then one of success, error, interrupted, timeout",
    ["status", "graph_id"],
)
RUNS_QUEUED = Counter(
    "evergraph_runs_queued", "Runs accepted while another run of their thread was pending or running", ["graph_id"]
)
RUN_DURATION = Histogram(
    "evergraph_run_duration_seconds",
    "Run duration in seconds, from running to its end (runs that never ran are not counted)",
    ["status", "graph_id"],
    buckets=RUN_BUCKETS,
)
RUN_QUEUE_WAIT = Histogram(
    "evergraph_run_queue_wait_seconds",
    "Seconds from a run's creation to its start (queue, multitask wait and after_seconds)",
    ["graph_id"],
    buckets=RUN_BUCKETS,
)
NODE_ATTEMPT_DURATION = Histogram(
    "evergraph_node_attempt_duration_seconds",
    "Node attempt duration in seconds, by outcome: success, interrupt, error, timeout, cancelled",
    ["graph_id", "node", "outcome"],
    buckets=NODE_BUCKETS,
)
NODE_RETRIES = Counter(
    "evergraph_node_retries", "Node attempts after the first one of their task (Temporal attempt > 1)", ["graph_id", "node"]
)
NODE_TIMEOUTS = Counter(
    "evergraph_node_timeouts",
    "Node attempts ended by their TimeoutPolicy, by kind: idle (idle_timeout) or run (run_timeout)",
    ["graph_id", "node", "kind"],
)

# registered by register_api() / register_worker(): only where they mean something
SSE_STREAMS = Gauge("evergraph_sse_streams_open", "SSE responses this process is streaming now", registry=None)
#: registered by register_stream_memory(): the in-process broker of ``evergraph dev``
STREAM_EVENTS_IN_MEMORY = Gauge(
    "evergraph_stream_events_in_memory",
    "Run stream events the in-process broker holds in memory (the rest of those retained are in its spill file)",
    registry=None,
)


#: observed once per SSE event (registered with the API's metrics only)
BROKER_LAG = Histogram(
    "evergraph_broker_lag_seconds",
    "Seconds from an event's publication (its id's time) to its SSE frame; replays after a reconnect count their age",
    buckets=LAG_BUCKETS,
    registry=None,
)
_QUEUE_GAUGES = {
    "n_pending": Gauge("lg_api_num_pending_runs", "The number of runs currently pending", registry=None),
    "n_running": Gauge("lg_api_num_running_runs", "The number of runs currently running", registry=None),
    "pending_runs_wait_time_max_secs": Gauge(
        "lg_api_pending_runs_wait_time_max", "The maximum time a run has been pending, in seconds", registry=None
    ),
    "pending_runs_wait_time_med_secs": Gauge(
        "lg_api_pending_runs_wait_time_med", "The median pending wait time across runs, in seconds", registry=None
    ),
    "pending_unblocked_runs_wait_time_max_secs": Gauge(
        "lg_api_pending_unblocked_runs_wait_time_max",
        "The maximum time a run has been pending excluding runs blocked by another run on the same thread, in seconds",
        registry=None,
    ),
    "queued": Gauge(
        "evergraph_queued_runs", "Runs waiting behind another run of their thread, all threads", registry=None
    ),
    "queued_per_thread_max": Gauge(
        "evergraph_queued_runs_per_thread_max", "The most runs waiting behind another run on one thread", registry=None
    ),
    "threads_with_queue": Gauge(
        "evergraph_threads_with_queued_runs", "Threads with at least one run waiting behind another", registry=None
    ),
}
_WORKERS_MAX = Gauge("lg_api_workers_max", "The maximum number of node attempts this worker runs at once", registry=None)
_WORKERS_ACTIVE = Gauge("lg_api_workers_active", "The number of node attempts this worker runs now", registry=None)
_WORKERS_AVAILABLE = Gauge("lg_api_workers_available", "Node attempt slots of this worker free now", registry=None)

_lock = threading.Lock()
_registered: set[str] = set()
_slots = {"max": 0, "active": 0}
_text_sources: list[Callable[[], bytes]] = []


def _register(group: str, collectors: Iterable[Any]) -> None:
    with _lock:
        if group in _registered:
            return
        for collector in collectors:
            REGISTRY.register(collector)
        _registered.add(group)


def register_api() -> None:
    """Show the API's own metrics in this process (open SSE streams, broker lag, the
    queue gauges ``/metrics`` refreshes). Idempotent."""
    _register("api", [SSE_STREAMS, BROKER_LAG, *_QUEUE_GAUGES.values()])


def register_worker(max_concurrent_nodes: int) -> None:
    """Show this process's worker slots as langgraph-api's ``lg_api_workers_max`` /
    ``_active`` / ``_available`` gauges: node attempts at once (``max_concurrent_nodes``,
    ``EVERGRAPH_MAX_CONCURRENT_NODES``), running, free. Idempotent."""
    _slots["max"] = max_concurrent_nodes
    _WORKERS_MAX.set_function(lambda: _slots["max"])
    _WORKERS_ACTIVE.set_function(lambda: _slots["active"])
    _WORKERS_AVAILABLE.set_function(lambda: max(0, _slots["max"] - _slots["active"]))
    _register("worker", [_WORKERS_MAX, _WORKERS_ACTIVE, _WORKERS_AVAILABLE])


def register_stream_memory(count: Callable[[], int]) -> None:
    """Show ``count()`` (events the in-process broker of ``evergraph dev`` holds in
    memory, :meth:`~evergraph.adapter.broker.memory.MemoryBroker.events_held`) as the
    ``evergraph_stream_events_in_memory`` gauge, read at each scrape. Idempotent (the
    last ``count`` wins)."""
    STREAM_EVENTS_IN_MEMORY.set_function(count)
    _register("stream", [STREAM_EVENTS_IN_MEMORY])


def add_text_source(source: Callable[[], bytes]) -> None:
    """Append ``source()`` (text exposition format, e.g. the Temporal SDK's exporter
    read over loopback) to every exposition of this process. ``source`` must not
    raise; it answers ``b""`` when it has nothing."""
    with _lock:
        _text_sources.append(source)


def exposition() -> bytes:
    """This process's metrics in the text exposition format: the registry, then each
    text source. Blocking (a text source may read over loopback): call it from a
    thread in async code."""
    parts = [generate_latest(REGISTRY)]
    for source in list(_text_sources):
        text = source()
        if text:
            parts.append(text if text.endswith(b"\n") else text + b"\n")
    return b"".join(parts)


# ----------------------------------------------------------------- recording


def observe_http(method: str, path: str, status: int, seconds: float) -> None:
    """One answered HTTP request on route template ``path``, ``seconds`` long (stored
    in milliseconds, as langgraph-api does)."""
    HTTP_REQUESTS.labels(method, path, str(status)).inc()
    HTTP_LATENCY.labels(method, path).observe(seconds * 1000.0)


def run_submitted(graph_id: str, *, queued: bool) -> None:
    """A run was accepted (status ``pending``); ``queued``: behind another active run
    of its thread."""
    RUNS.labels("pending", graph_id).inc()
    if queued:
        RUNS_QUEUED.labels(graph_id).inc()


def run_started(graph_id: str, queue_wait: float | None) -> None:
    """A run went ``running`` after ``queue_wait`` seconds since its creation
    (``None``: unknown)."""
    RUNS.labels("running", graph_id).inc()
    if queue_wait is not None:
        RUN_QUEUE_WAIT.labels(graph_id).observe(max(0.0, queue_wait))


def run_finished(status: str, graph_id: str, duration: float | None) -> None:
    """A run ended with ``status``; ``duration``: seconds since it went ``running``
    (``None`` when it never ran, e.g. cancelled while queued)."""
    RUNS.labels(status, graph_id).inc()
    if duration is not None:
        duration = max(0.0, duration)
        RUN_DURATION.labels(status, graph_id).observe(duration)
        RUN_EXECUTION_LATENCY.labels(status).observe(duration * 1000.0)


@dataclass
class AttemptSeen:
    """What :func:`node_attempt` records; set :attr:`outcome` for a successful
    attempt that interrupted (``"interrupt"``)."""

    outcome: str = "success"


def _failed_outcome(exc: BaseException) -> str:
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    # activities.errors.NodeAttemptError carries the node's failure as ``error``
    kind = getattr(getattr(exc, "error", None), "error", None)
    return "timeout" if kind == "NodeTimeoutError" else "error"


@contextmanager
def node_attempt(graph_id: str, node: str, attempt: int) -> Iterator[AttemptSeen]:
    """Record one node attempt around its execution: its duration by outcome
    (``success`` unless the body sets another or raises: ``cancelled`` for
    ``asyncio.CancelledError``, ``timeout`` for a ``NodeTimeoutError`` failure, else
    ``error``), a retry when ``attempt`` (Temporal's, 1-based) is above 1, and the
    attempt in the worker-slot gauges. Exceptions propagate unchanged."""
    if attempt > 1:
        NODE_RETRIES.labels(graph_id, node).inc()
    seen = AttemptSeen()
    _slots["active"] += 1
    start = time.monotonic()
    try:
        yield seen
    except BaseException as exc:
        seen.outcome = _failed_outcome(exc)
        raise
    finally:
        _slots["active"] -= 1
        NODE_ATTEMPT_DURATION.labels(graph_id, node, seen.outcome).observe(time.monotonic() - start)


def node_timed_out(graph_id: str, node: str, kind: str) -> None:
    """A node attempt exceeded its ``idle`` or ``run`` timeout."""
    NODE_TIMEOUTS.labels(graph_id, node, kind).inc()


@contextmanager
def sse_stream() -> Iterator[None]:
    """Count an SSE response as open while the body runs."""
    SSE_STREAMS.inc()
    try:
        yield
    finally:
        SSE_STREAMS.dec()


def observe_broker_lag(event_id: str, now: float | None = None) -> None:
    """Observe the age of the event ``event_id`` (``<epoch-ms>-<n>``, its publication
    time) at ``now`` (epoch seconds; default the current time). Other ids are ignored."""
    try:
        published = int(event_id.partition("-")[0]) / 1000.0
    except ValueError:
        return
    BROKER_LAG.observe(max(0.0, (time.time() if now is None else now) - published))


# ------------------------------------------------------------------- queue


@dataclass(frozen=True)
class QueueStats:
    """Pending and running runs of the whole deployment, as ``/metrics`` reports them.

    Attributes:
        n_pending, n_running: runs ``pending`` / ``running``.
        pending_runs_wait_time_max_secs, pending_runs_wait_time_med_secs: the longest
            and the median time a pending run has waited, seconds (``None``: none pending).
        pending_unblocked_runs_wait_time_max_secs: the same, of pending runs whose thread
            runs nothing (``None``: none).
        queued: runs waiting behind another active run of their thread.
        queued_per_thread_max: the most such runs on one thread.
        threads_with_queue: threads with at least one such run.
    """

    n_pending: int = 0
    n_running: int = 0
    pending_runs_wait_time_max_secs: float | None = None
    pending_runs_wait_time_med_secs: float | None = None
    pending_unblocked_runs_wait_time_max_secs: float | None = None
    queued: int = 0
    queued_per_thread_max: int = 0
    threads_with_queue: int = 0

    def official(self) -> dict[str, Any]:
        """The ``queue`` object of langgraph-api 0.16.7's ``/metrics?format=json``."""
        return {
            "n_pending": self.n_pending,
            "pending_runs_wait_time_max_secs": self.pending_runs_wait_time_max_secs,
            "pending_runs_wait_time_med_secs": self.pending_runs_wait_time_med_secs,
            "pending_unblocked_runs_wait_time_max_secs": self.pending_unblocked_runs_wait_time_max_secs,
            "n_running": self.n_running,
        }


def _parse(value: str | None) -> datetime | None:
    """The ISO 8601 time ``value`` (UTC when it names no zone), or ``None``."""
    if value is None:
        return None
    try:
        ts = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


def _wait(created: str | None, now: datetime) -> float | None:
    ts = _parse(created)
    return None if ts is None else max(0.0, (now - ts).total_seconds())


def queue_stats(active: ActiveRunStats, now: datetime | None = None) -> QueueStats:
    """:class:`QueueStats` at ``now`` (default: the current time) of ``active``, what
    :meth:`RecordStore.active_run_stats` counted: wait times are seconds from the
    runs' ``created_at`` to ``now`` (the median one from the middle of the two middle
    runs')."""
    now = now or datetime.now(timezone.utc)
    median = None
    if active["median_pending"] is not None:
        low, high = (_parse(ts) for ts in active["median_pending"])
        if low is not None and high is not None:
            median = max(0.0, (now - (low + (high - low) / 2)).total_seconds())
    return QueueStats(
        n_pending=active["n_pending"],
        n_running=active["n_running"],
        pending_runs_wait_time_max_secs=_wait(active["oldest_pending"], now),
        pending_runs_wait_time_med_secs=median,
        pending_unblocked_runs_wait_time_max_secs=_wait(active["oldest_unblocked_pending"], now),
        queued=active["queued"],
        queued_per_thread_max=active["queued_per_thread_max"],
        threads_with_queue=active["threads_with_queue"],
    )


def set_queue(stats: QueueStats) -> None:
    """Set the queue gauges (registered by :func:`register_api`) to ``stats``; a wait
    time with no pending run reads 0."""
    for key, gauge in _QUEUE_GAUGES.items():
        gauge.set(getattr(stats, key) or 0)


def json_snapshot(stats: QueueStats) -> dict[str, Any]:
    """``/metrics?format=json`` in langgraph-api 0.16.7's shape: ``queue`` (see
    :meth:`QueueStats.official`), ``api.http_requests_total`` (``[{method, path,
    status, count}]``) and, where a worker runs, ``workers`` (``max``, ``active``,
    ``available``)."""
    requests = [
        {
            "method": sample.labels["method"],
            "path": sample.labels["path"],
            "status": int(sample.labels["status"]) if sample.labels["status"].isdigit() else sample.labels["status"],
            "count": int(sample.value),
        }
        for family in HTTP_REQUESTS.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    ]
    out: dict[str, Any] = {"queue": stats.official(), "api": {"http_requests_total": requests}}
    if "worker" in _registered:
        out["workers"] = {
            "max": _slots["max"],
            "active": _slots["active"],
            "available": max(0, _slots["max"] - _slots["active"]),
        }
    return out
