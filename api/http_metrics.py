"""Counting HTTP requests as langgraph-api 0.16.7 does: ``lg_api_http_requests_total``
and ``lg_api_http_requests_latency`` (milliseconds) by method, route template and
status (adapter/observability/metrics.py). A request counts once its response is
done (a stream when it ends); a request that matched no route (404, or answered before
routing: Evergraph's authentication runs before routing, so its 401s are not counted,
where langgraph-api, authenticating after routing, counts them) is not counted, nor
are ``/ok``, ``/info``, ``/metrics``, ``/docs`` and ``/openapi.json``, which
langgraph-api leaves out too.
"""

from __future__ import annotations

import time
from typing import Any

from evergraph.adapter.observability.metrics import observe_http

__all__ = ["HttpMetrics", "NOT_COUNTED"]

#: route paths (also under ``http.mount_prefix``: matched by their end) not counted
NOT_COUNTED = ("/ok", "/info", "/metrics", "/docs", "/openapi.json")


class HttpMetrics:
    """ASGI middleware around the served app.

    Args:
        app: the app to measure.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:
        # the wrapped app's attributes (``router``, ``state``) stay reachable
        return getattr(self.app, name)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0

        async def send_status(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            path = getattr(scope.get("route"), "path", None)
            if status and path and not path.endswith(NOT_COUNTED):
                observe_http(scope.get("method", ""), path, status, time.perf_counter() - start)
