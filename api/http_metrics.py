"""Counting HTTP requests as langgraph-api 0.16.7 does: ``lg_api_http_requests_total``
and ``lg_api_http_requests_latency`` (milliseconds) by method, path and status
(adapter/observability/metrics.py). Every answered request counts once its response is
done (a stream when it ends), with the ``path`` label langgraph-api 0.16.7 gives it
(observed on its ``/metrics`` under ``langgraph dev``):

* a request its route answered (any status: 2xx, 404 of a missing record, 405 of a
  known path, 422): the route template (``/threads/{thread_id}``), never the raw path;
* a request refused by a check that langgraph-api runs after routing and Evergraph runs
  before it (the body size limit's 413, :mod:`.nesting`'s 422): the template of the
  route it was sent to, as well;
* a request refused by authentication (401, 403, any status of an ``@auth.authenticate``
  handler; :class:`~evergraph.api.auth.AuthMiddleware` marks it in the ASGI scope) and
  a request that matched no route (404): the empty string.

Not counted, as in langgraph-api: CORS preflights (answered by the CORS middleware),
``/ok``, ``/info``, ``/metrics``, ``/docs``, ``/openapi.json``, and a request whose
client went away before any answer.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.routing import Match, Mount

from evergraph.adapter.observability.metrics import observe_http
from evergraph.api.auth import REFUSED_KEY

__all__ = ["HttpMetrics", "NOT_COUNTED", "path_label"]

#: route paths (also under ``http.mount_prefix``: matched by their end) not counted
NOT_COUNTED = ("/ok", "/info", "/metrics", "/docs", "/openapi.json")


def _template(scope: dict[str, Any]) -> str:
    """The template of the route of the innermost app the request entered
    (``scope["app"]``) that matches it (a full match, else the first partial one: a
    wrong method), or ``""``. Routes are matched as FastAPI's router gives them to
    its OpenAPI document (``iter_route_contexts``: the routes of included routers,
    which Evergraph includes without a prefix) and labelled with the route's own
    ``path``, as ``scope["route"]`` of a routed request is."""
    partial = ""
    routes = getattr(getattr(scope.get("app"), "router", None), "routes", ())
    for context in iter_route_contexts(routes):
        route = context.original_route
        if isinstance(route, Mount):  # a mounted app was entered already, or not matched
            continue
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return getattr(route, "path", "")
        if match == Match.PARTIAL and not partial:
            partial = getattr(route, "path", "")
    return partial


def _preflight(scope: dict[str, Any]) -> bool:
    if scope.get("method") != "OPTIONS":
        return False
    names = {name for name, _ in scope.get("headers") or ()}
    return b"origin" in names and b"access-control-request-method" in names


def path_label(scope: dict[str, Any]) -> str | None:
    """The ``path`` label of an answered HTTP request, from its ASGI ``scope`` as the
    served app left it (see the module docstring), or ``None`` when the request is
    not counted."""
    route = scope.get("route")
    routed = route is not None and not isinstance(route, Mount)  # a Mount: not routed inside it
    if scope.get(REFUSED_KEY):
        path = ""
    elif routed:
        path = getattr(route, "path", "")
    elif _preflight(scope):
        return None
    else:
        path = _template(scope)
    if path and path.endswith(NOT_COUNTED):
        return None
    return path


class HttpMetrics:
    """ASGI middleware around the served app, recording each answered HTTP request
    with :func:`~evergraph.adapter.observability.metrics.observe_http` (method,
    :func:`path_label`, status, seconds from the request to the end of its response).

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
            if status:
                path = path_label(scope)
                if path is not None:
                    observe_http(scope.get("method", ""), path, status, time.perf_counter() - start)
