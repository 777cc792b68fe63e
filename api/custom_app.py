"""How the API (:func:`evergraph.api.app.create_app`) is combined with
``langgraph.json`` ``http.app`` and ``http.mount_prefix``, the way langgraph-api
0.16.7 combines them.

* Custom app (``http.app``, a Starlette or FastAPI app): it becomes the served app.
  Its routes are tried after ``/ok``, ``/docs``, ``/redoc`` and ``/openapi.json``
  (which it cannot shadow) and before ``/``, ``/info`` and every API route (which it
  can: a clash goes to the custom route). Its lifespan runs at start-up and shut-down;
  its exception handlers stay its own. Its middleware runs before authentication
  and CORS (``http.middleware_order`` ``"middleware_first"``, the default) or, with
  ``"auth_first"``, after authentication on the API routes and around each custom
  route. Custom routes are authenticated only with ``http.enable_custom_route_auth``.
* ``http.mount_prefix`` (``"/my-deployment/api"``): everything above is served under
  the prefix; ``/`` and ``/ok`` also answer at the root for health checks.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route

from evergraph.adapter.graphs.httpconfig import HttpConfig
from evergraph.adapter.graphs.registry import import_config_target
from evergraph.api.auth import AuthMiddleware
from evergraph.api.cors import cors_middleware

__all__ = ["FIXED_PATHS", "SHADOWABLE_PATHS", "compose", "load_custom_app", "prefixed", "split_middleware"]

#: API paths a custom app cannot shadow (langgraph-api's "unshadowable" meta routes)
FIXED_PATHS = ("/ok", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")
#: API paths a custom app may shadow
SHADOWABLE_PATHS = ("/", "/info")


def load_custom_app(http: HttpConfig) -> Starlette:
    """Import the app ``http.app`` names (relative to the ``langgraph.json``).

    Raises:
        ConfigError: the file or module does not import, has no such attribute, or
            it is not a Starlette (or FastAPI) app; the message names ``http.app``.
    """
    return import_config_target(
        "http.app", http.app, http.app_target, http.app_attr, http.base_dir, Starlette, "a Starlette or FastAPI app"
    )


def _wrap(routes: list[BaseRoute], middleware: list[Middleware]) -> list[BaseRoute]:
    """Put ``middleware`` (outermost first) around each route's app, in place."""
    for route in routes:
        for cls, args, kwargs in reversed(middleware):
            route.app = cls(route.app, *args, **kwargs)  # type: ignore[attr-defined]
    return routes


async def _ok(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True, "services": {}})


def split_middleware(user: Starlette, http: HttpConfig) -> tuple[list[Middleware], list[Middleware]]:
    """The custom app's own middleware, split by ``http.middleware_order``.

    Returns:
        ``(outer, inner)``: ``outer`` runs before CORS and authentication on every
        request (``"middleware_first"``); ``inner`` runs after authentication on the
        API routes and around each custom route (``"auth_first"``).
    """
    custom = list(user.user_middleware)
    return ([], custom) if http.middleware_order == "auth_first" else (custom, [])


def compose(user: Starlette, api: Any, http: HttpConfig, *, private_network: bool) -> Starlette:
    """Make ``user`` serve ``api`` (the FastAPI app of :func:`evergraph.api.app.create_app`,
    built with ``cors=False`` and the ``inner`` middleware of :func:`split_middleware`)
    behind its own routes, as the module docstring says. Changes ``user`` in place.

    Returns:
        ``user``, to serve.
    """
    outer, inner = split_middleware(user, http)
    auth = [Middleware(AuthMiddleware, authenticator=api.state.authenticator)]
    meta = not http.is_disabled("disable_meta")
    fixed = [Route(path, api) for path in FIXED_PATHS] if meta else []
    shadowable = [Route(path, api) for path in (SHADOWABLE_PATHS if meta else ("/ok",))]
    own = list(user.router.routes)
    _wrap(own, (auth if http.enable_custom_route_auth else []) + inner)
    _wrap(fixed, inner)
    _wrap(shadowable, inner)
    user.router.routes = [*fixed, *own, *shadowable, Mount("", app=api)]
    user.user_middleware = [*outer, *cors_middleware(http, private_network=private_network)]
    user.middleware_stack = None
    return user


def prefixed(root: Any, prefix: str, lifespan: Any = None) -> Starlette:
    """``root`` served under ``prefix`` (``http.mount_prefix``), with ``/`` and ``/ok``
    also answering at the top for health checks; ``lifespan`` is ``root``'s lifespan
    context, if it has one to run."""
    outer = Starlette(routes=[Route("/", _ok), Route("/ok", _ok), Mount(prefix, app=root)], lifespan=lifespan)
    # the lifespan receives ``outer``: what it keeps in ``app.state`` must reach ``root``'s routes
    outer.state = root.state
    return outer
