"""The FastAPI application of the Evergraph API: the routers ``langgraph.json``
``http`` leaves enabled, the mapping of domain errors to HTTP, CORS and
authentication (docs/architecture.md, "The layers"); :func:`create_server_app` composes
it with ``http.app`` and ``http.mount_prefix`` (``api/custom_app.py``)."""

from __future__ import annotations

from collections.abc import Sequence
import warnings
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import FastAPIDeprecationWarning, RequestValidationError
from fastapi.responses import JSONResponse, ORJSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware

from evergraph.adapter.errors import EvergraphError
from evergraph.adapter.graphs.httpconfig import HttpConfig
from evergraph.adapter.observability import tracing
from evergraph.adapter.resources.auth import build_authenticator
from evergraph.adapter.services import Services
from evergraph.api.auth import AuthMiddleware
from evergraph.api.body_limit import BodyLimitMiddleware
from evergraph.api.cors import cors_middleware
from evergraph.api.custom_app import compose, load_custom_app, prefixed, split_middleware
from evergraph.api.errors import domain_error_handler, validation_handler
from evergraph.api.nesting import NestingLimitMiddleware
from evergraph.api.routes import a2a, assistants, crons, mcp, protocol, runs, store, system, threads
from evergraph.api.routes.metrics import router as metrics_router
from evergraph.api.http_metrics import HttpMetrics
from evergraph.adapter.observability.metrics import register_api

__all__ = ["ServedApp", "create_app", "create_server_app", "load_custom_app"]

# FastAPI 0.165 deprecates ORJSONResponse as a default response class; it still
# serialises our routes' plain dicts (no response models) fastest, so the warning,
# printed on a user's first request, is silenced here
warnings.filterwarnings("ignore", message="ORJSONResponse is deprecated", category=FastAPIDeprecationWarning)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))


def _disabled_ok() -> dict:
    """``/ok`` under ``http.disable_meta``: ``{"ok": true}``, with no checks."""
    return {"ok": True}


def _routers(http: HttpConfig) -> list[APIRouter]:
    """The routers ``http``'s ``disable_*`` flags leave, grouped as langgraph-api
    0.16.7 groups its routes: crons go with ``disable_runs``, and the thread protocol
    (``/threads/{id}/commands``, ``/stream/events``) with ``disable_runs`` or
    ``disable_event_streaming``; ``/mcp`` (:mod:`evergraph.api.routes.mcp`) goes with
    ``disable_mcp``, ``/a2a`` and the agent cards (:mod:`evergraph.api.routes.a2a`)
    with ``disable_a2a``. ``disable_ui`` has nothing to remove: Evergraph serves no ``/ui``."""
    off = http.is_disabled
    chosen = [] if off("disable_meta") else [system.router, metrics_router]  # /metrics: a meta route, as in langgraph-api
    if not off("disable_assistants"):
        chosen.append(assistants.router)
    if not off("disable_threads"):
        chosen.append(threads.router)
    if not off("disable_runs"):
        chosen += [runs.router, crons.router]
        if not off("disable_event_streaming"):
            chosen.append(protocol.router)
    if not off("disable_store"):
        chosen.append(store.router)
    if not off("disable_mcp"):
        chosen.append(mcp.build_router(http))
    if not off("disable_a2a"):
        chosen.append(a2a.router)  # /a2a/{assistant_id} and the agent cards
    return chosen


def create_app(
    services: Services,
    *,
    cors: bool = True,
    private_network: bool = False,
    inner_middleware: Sequence[Middleware] = (),
) -> FastAPI:
    """The API app bound to ``services`` (graphs, records, checkpointer, broker,
    Temporal client), with the routes ``langgraph.json`` ``http`` leaves enabled.

    Args:
        services: the process services.
        cors: wrap the app in the CORS middleware of ``http.cors``
            (:mod:`evergraph.api.cors`); ``False`` when a custom app wraps it instead.
        private_network: answer Chrome's Private Network Access (``evergraph dev``).
        inner_middleware: middleware run after authentication, outermost first (a
            custom app's middleware under ``http.middleware_order: "auth_first"``).

    Raises:
        ConfigError: ``langgraph.json``'s ``auth.path`` cannot be loaded.
    """
    http = services.registry.config.http
    meta = not http.is_disabled("disable_meta")
    app = FastAPI(
        title="Evergraph",
        description="LangGraph Agent Server API, executed on Temporal",
        version="0.1.0",
        default_response_class=ORJSONResponse,
        # the SDK always sends application/json; raw clients may not (langgraph-api parses anyway)
        strict_content_type=False,
        # http.disable_meta removes /docs and /openapi.json too
        openapi_url="/openapi.json" if meta else None,
        # /docs is a route of api/routes/system.py, listed in the OpenAPI document as
        # langgraph-api 0.16.7 lists it
        docs_url=None,
        redoc_url="/redoc" if meta else None,
    )
    app.state.services = services
    if meta:
        register_api()  # the API's gauges on /metrics (adapter/observability/metrics.py)
    auth_config = services.registry.config.auth
    authenticator = build_authenticator(auth_config, services.settings.api_keys)
    app.state.authenticator = authenticator
    app.add_exception_handler(RequestValidationError, validation_handler)
    app.add_exception_handler(EvergraphError, domain_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    if not meta:
        app.add_api_route("/ok", _disabled_ok, methods=["GET"], include_in_schema=False)
    for router in _routers(http):
        app.include_router(router)
    # outermost first: CORS answers preflights and decorates every response (401s,
    # 413s and 422s included; it also sets ``vary: Origin``), then authentication
    app.user_middleware = [
        *(cors_middleware(http, private_network=private_network) if cors else []),
        Middleware(AuthMiddleware, authenticator=authenticator),
        Middleware(BodyLimitMiddleware, max_bytes=services.settings.max_request_bytes),
        Middleware(NestingLimitMiddleware),  # bodies too deep for the JSON parser: 422, unread
        *inner_middleware,
    ]
    if auth_config is not None and auth_config.openapi:
        _document_security(app, auth_config.openapi)
    tracing.instrument_app(app)  # a server span per request, when tracing is on
    return app


@dataclass
class ServedApp:
    """What :func:`create_server_app` returns.

    Attributes:
        app: the ASGI app to serve.
        lifespan: whether ``app`` has a lifespan to run (a custom app's): serve it
            with the ASGI lifespan protocol on.
    """

    app: Any
    lifespan: bool


def create_server_app(services: Services, *, dev: bool = False) -> ServedApp:
    """The app a process serves: the API with ``langgraph.json`` ``http.app`` and
    ``http.mount_prefix`` applied (:mod:`evergraph.api.custom_app`).

    Args:
        services: the process services.
        dev: ``evergraph dev``: CORS answers Chrome's Private Network Access
            (:mod:`evergraph.api.cors`); ``False`` for ``evergraph serve``.

    Raises:
        ConfigError: ``http.app`` or ``auth.path`` cannot be loaded.
    """
    http = services.registry.config.http
    if http.app:
        user = load_custom_app(http)
        _, inner = split_middleware(user, http)
        api = create_app(services, cors=False, inner_middleware=inner)
        root: Any = compose(user, api, http, private_network=dev)
    else:
        root = create_app(services, private_network=dev)
    lifespan = bool(http.app)
    if http.mount_prefix:
        root = prefixed(root, http.mount_prefix, root.router.lifespan_context if lifespan else None)
    if not http.is_disabled("disable_meta"):
        root = HttpMetrics(root)  # lg_api_http_requests_* on /metrics
    return ServedApp(root, lifespan)


def _document_security(app: FastAPI, security: dict) -> None:
    """Add ``langgraph.json`` ``auth.openapi`` (``securitySchemes``, ``security``) to
    the app's OpenAPI document."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = build()
            if security.get("securitySchemes"):
                schema.setdefault("components", {}).setdefault("securitySchemes", {}).update(security["securitySchemes"])
            if security.get("security") is not None:
                schema["security"] = security["security"]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
