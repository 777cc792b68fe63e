"""The Temporal SDK's own metrics (worker task slots, poll and request latencies,
activity and workflow task latencies: the SDK's ``temporal_*`` metrics) and logs, through
the Temporal runtime that Evergraph's client is connected with.

The SDK's Prometheus exporter listens on a loopback port picked at start-up that
nobody scrapes directly: its text is appended to this process's own exposition
(:func:`.metrics.add_text_source`), so the API's ``/metrics`` (when the API shares
the process) and the worker's endpoint show the SDK's metrics too, one scrape target
per process. The SDK's names, labels and units are its own defaults (histograms in
milliseconds, counters without ``_total``), which Temporal's own SDK dashboards expect.
"""

from __future__ import annotations

import logging
import socket
import urllib.error
import urllib.request

from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from evergraph.adapter.observability.metrics import add_text_source

__all__ = ["temporal_runtime"]

logger = logging.getLogger(__name__)

#: seconds a scrape waits for the SDK's exporter
READ_TIMEOUT = 2.0


def _loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reader(url: str):
    def read() -> bytes:
        try:
            with urllib.request.urlopen(url, timeout=READ_TIMEOUT) as response:  # noqa: S310 - loopback http
                return response.read()
        except (OSError, urllib.error.URLError) as exc:
            logger.debug("Temporal SDK metrics unreadable at %s: %r", url, exc)
            return b""

    return read


def temporal_runtime(*, metrics: bool, forward_logs: bool) -> Runtime | None:
    """The Temporal runtime for this process's client and worker, or ``None`` for the
    SDK's default runtime (neither option wanted).

    Args:
        metrics: export the SDK's metrics with its Prometheus exporter on a free
            loopback port and append them to this process's exposition.
        forward_logs: send the SDK core's own log lines (warnings and errors) through
            Python's ``logging`` (logger ``temporalio.core``), so JSON logs and the
            secret filter of :mod:`.logs` apply to them; else the core writes them itself.

    Raises:
        RuntimeError: the SDK could not start its exporter.
    """
    if not metrics and not forward_logs:
        return None
    prometheus = None
    if metrics:
        port = _loopback_port()
        prometheus = PrometheusConfig(bind_address=f"127.0.0.1:{port}")
    logging_config = LoggingConfig(filter=TelemetryFilter(core_level="WARN", other_level="ERROR"))
    if forward_logs:
        logging_config = LoggingConfig(
            filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
            forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
        )
    runtime = Runtime(telemetry=TelemetryConfig(logging=logging_config, metrics=prometheus))
    if prometheus is not None:
        add_text_source(_reader(f"http://{prometheus.bind_address}/metrics"))
    return runtime
