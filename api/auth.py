"""The FastAPI side of authentication and authorization (core:
:mod:`evergraph.adapter.resources.auth`).

:class:`AuthMiddleware` authenticates every HTTP and WebSocket request (except the
liveness, info and OpenAPI pages) before routing and keeps the user in the ASGI
scope (``scope["evergraph_user"]``; :func:`current_user`). Route handlers call
:func:`authorize` with the resource, action and value LangGraph defines for the
endpoint, and apply the returned filter with :func:`visible` or hand it to the
core's resource functions: a record the filter hides answers 404, as langgraph-api
0.16.7 does. See docs/architecture.md for the layers.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from starlette.requests import HTTPConnection, Request

from evergraph.adapter.resources.auth import AuthError, Authenticator, AuthUser, RequestInfo, visible
from evergraph.adapter.graphs.server_runtime import REQUEST_USER
from evergraph.api.errors import ApiError

__all__ = [
    "OPEN_PATHS",
    "REFUSED_KEY",
    "USER_KEY",
    "AuthMiddleware",
    "authenticator_of",
    "authorize",
    "authorizes",
    "current_user",
    "visible",
]

#: paths that never need credentials (liveness probes, server info, metrics, API docs;
#: langgraph-api 0.16.7 serves /metrics outside its authentication too)
OPEN_PATHS = frozenset({"/ok", "/info", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})

USER_KEY = "evergraph_user"
#: set (``True``) in the ASGI scope of a request authentication refused, before any
#: routing: :mod:`evergraph.api.http_metrics` counts it with the empty path, as
#: langgraph-api 0.16.7 does
REFUSED_KEY = "evergraph_auth_refused"


class AuthMiddleware:
    """ASGI middleware running :meth:`Authenticator.authenticate` on every request.

    A refused HTTP request gets ``{"detail": message}`` with the handler's status
    (401/403…); a refused WebSocket is closed (code 4401/4403) before it is
    accepted.
    """

    def __init__(self, app: Any, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket") or not self.authenticator.enabled:
            await self.app(scope, receive, send)
            return
        path = scope.get("path") or "/"
        # the path inside the app: without ``http.mount_prefix`` (a Mount's root_path)
        root = scope.get("root_path") or ""
        route_path = (path[len(root):] or "/") if root and path.startswith(root) else path
        if route_path in OPEN_PATHS or route_path == "/" or (scope["type"] == "http" and scope.get("method") == "OPTIONS"):
            await self.app(scope, receive, send)
            return
        conn = Request(scope, receive) if scope["type"] == "http" else HTTPConnection(scope, receive)
        info = RequestInfo(
            method=scope.get("method") or "WEBSOCKET",
            path=path,
            headers=list(scope.get("headers") or []),
            query_params=dict(conn.query_params),
            # auth runs before routing: no path parameters yet, as in langgraph-api 0.16.7
            path_params={},
            request=conn,
            scope=scope,
        )
        try:
            user = await self.authenticator.authenticate(info)
        except AuthError as exc:
            scope[REFUSED_KEY] = True
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 4000 + exc.status, "reason": exc.detail[:120]})
                return
            response = JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)
            await response(scope, receive, send)
            return
        scope[USER_KEY] = user
        # graph factories called while serving this request get the user as runtime.user
        token = REQUEST_USER.set(user)
        try:
            await self.app(scope, receive, send)
        finally:
            REQUEST_USER.reset(token)


def authenticator_of(conn: HTTPConnection) -> Authenticator | None:
    """The app's :class:`Authenticator` (``None`` when the app was built without one)."""
    return getattr(conn.app.state, "authenticator", None)


def authorizes(conn: HTTPConnection) -> bool:
    """Whether ``@auth.on`` handlers are registered (so values may be stamped)."""
    authenticator = authenticator_of(conn)
    return authenticator is not None and authenticator.authorizes


def current_user(conn: HTTPConnection) -> AuthUser | None:
    """The user the middleware authenticated for this request (``None``: no auth)."""
    return conn.scope.get(USER_KEY)


async def authorize(conn: HTTPConnection, resource: str, action: str, value: dict[str, Any]) -> dict[str, Any] | None:
    """Run the ``@auth.on`` handler for ``resource``.``action`` on ``value`` (which the
    handler may change in place: read the fields back from it).

    Returns:
        The handler's filter (``None``: no restriction).

    Raises:
        ApiError: 403 ``Forbidden`` (or the handler's own ``HTTPException``).
    """
    authenticator = authenticator_of(conn)
    if authenticator is None or not authenticator.authorizes:
        return None
    try:
        return await authenticator.authorize(current_user(conn), resource, action, value)
    except AuthError as exc:
        error = ApiError(exc.status, exc.detail)
        error.headers = exc.headers
        raise error from None
