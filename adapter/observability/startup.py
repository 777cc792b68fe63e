"""What an ``evergraph`` process sets up for metrics and logs at start-up, called by
the composition root (``adapter/process/cli.py``): the log format and filter, the
Temporal runtime with the SDK's metrics, and the worker's metrics endpoint."""

from __future__ import annotations

from contextlib import AsyncExitStack

from temporalio.runtime import Runtime

from evergraph.adapter.graphs.httpconfig import HttpConfig
from evergraph.adapter.observability import logs, metrics
from evergraph.adapter.observability.endpoint import serve_metrics
from evergraph.adapter.observability.temporal_metrics import temporal_runtime
from evergraph.adapter.process.settings import Settings

__all__ = ["configure_logging", "runtime_for", "start_worker_metrics"]


def configure_logging(settings: Settings) -> None:
    """Log as ``settings.log_format`` says, at ``settings.log_level``, through the
    secret filter (:func:`.logs.configure`)."""
    logs.configure(fmt=settings.log_format, level=settings.log_level)


def serves_metrics(settings: Settings, command: str, http: HttpConfig) -> bool:
    """Whether a process of ``command`` (``dev``, ``serve``, ``worker``) shows metrics
    anywhere: the API's ``/metrics`` (unless ``langgraph.json`` ``http.disable_meta``)
    or the worker's endpoint (``EVERGRAPH_WORKER_METRICS_PORT``)."""
    api = command in ("dev", "serve") and not http.is_disabled("disable_meta")
    worker = command in ("dev", "worker") and settings.worker_metrics_port is not None
    return api or worker


def runtime_for(settings: Settings, command: str, http: HttpConfig) -> Runtime | None:
    """The Temporal runtime of the process's client (``None``: the SDK's default): with
    the SDK's Prometheus metrics when the process shows metrics, with the SDK core's
    logs through Python logging when logs are JSON (:func:`.temporal_metrics.temporal_runtime`).

    Raises:
        RuntimeError: the SDK could not start its exporter.
    """
    return temporal_runtime(
        metrics=serves_metrics(settings, command, http), forward_logs=settings.log_format == "json"
    )


def start_worker_metrics(settings: Settings, stack: AsyncExitStack) -> None:
    """For a process that runs a worker: show its slot gauges and, with
    ``EVERGRAPH_WORKER_METRICS_PORT``, serve its metrics there until ``stack`` closes.

    Raises:
        SettingsError: the port cannot be bound (the message names the variable).
    """
    metrics.register_worker(settings.max_concurrent_nodes)
    if settings.worker_metrics_port is not None:
        endpoint = serve_metrics(settings.worker_metrics_host, settings.worker_metrics_port)
        stack.callback(endpoint.close)
        print(f"Worker metrics: http://{settings.worker_metrics_host}:{endpoint.port}/metrics", flush=True)
