"""The worker's own metrics endpoint (``EVERGRAPH_WORKER_METRICS_PORT``): a small HTTP
server on a thread of its own that answers ``GET /metrics`` (and ``GET /``) with
:func:`.metrics.exposition`, the process's metrics and the Temporal SDK's. It runs
beside the worker whether or not the API shares the process, so a scrape target per
worker process stays the same when ``evergraph dev`` splits into processes.
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from evergraph.adapter.observability.metrics import CONTENT_TYPE, exposition
from evergraph.adapter.process.settings import SettingsError

__all__ = ["MetricsEndpoint", "serve_metrics"]

logger = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    server_version = "evergraph-metrics"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path.split("?", 1)[0] not in ("/metrics", "/"):
            self.send_error(404, "Not Found: the metrics are at /metrics")
            return
        try:
            body = exposition()
        except Exception as exc:  # noqa: BLE001 - a scrape must get an answer
            logger.warning("metrics exposition failed: %r", exc)
            self.send_error(500, "metrics exposition failed")
            return
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's name
        logger.debug("metrics endpoint: " + format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a scrape in flight does not hold the process at exit


class MetricsEndpoint:
    """A running endpoint; :meth:`close` stops it.

    Attributes:
        host, port: where it listens (``port`` is the bound one).
    """

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self._server = server
        self.host, self.port = server.server_address[:2]
        self._thread = threading.Thread(target=server.serve_forever, name="evergraph-metrics", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving and release the port (waits for the serving thread)."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_metrics(host: str, port: int) -> MetricsEndpoint:
    """Serve this process's metrics on ``host:port`` until closed.

    Raises:
        SettingsError: the address cannot be bound (in use, not local); the message
            names ``EVERGRAPH_WORKER_METRICS_PORT``.
    """
    try:
        server = _Server((host, port), _Handler)
    except OSError as exc:
        raise SettingsError(
            f"EVERGRAPH_WORKER_METRICS_PORT: cannot serve metrics on {host}:{port}: {exc.strerror or exc}"
        ) from None
    return MetricsEndpoint(server)
