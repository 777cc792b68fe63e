"""The FastAPI application of the Evergraph API: the routers, the mapping of domain
errors to HTTP, authentication and ``vary: Origin`` (docs/architecture.md, "The
layers")."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, ORJSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from evergraph.adapter.errors import EvergraphError
from evergraph.adapter.resources.auth import build_authenticator
from evergraph.adapter.services import Services
from evergraph.api.auth import AuthMiddleware
from evergraph.api.errors import domain_error_handler, validation_handler
from evergraph.api.routes import assistants, crons, protocol, runs, store, system, threads

__all__ = ["create_app"]


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))


def create_app(services: Services) -> FastAPI:
    """The API app bound to ``services`` (graphs, records, checkpointer, broker,
    Temporal client).

    Raises:
        ConfigError: ``langgraph.json``'s ``auth.path`` cannot be loaded.
    """
    app = FastAPI(
        title="Evergraph",
        description="LangGraph Agent Server API, executed on Temporal",
        version="0.1.0",
        default_response_class=ORJSONResponse,
        # the SDK always sends application/json; raw clients may not (langgraph-api parses anyway)
        strict_content_type=False,
    )
    app.state.services = services
    auth_config = services.registry.config.auth
    authenticator = build_authenticator(auth_config, services.settings.api_keys)
    app.state.authenticator = authenticator
    app.add_exception_handler(RequestValidationError, validation_handler)
    app.add_exception_handler(EvergraphError, domain_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error)

    @app.middleware("http")
    async def vary_origin(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("vary", "Origin")
        return response

    app.include_router(system.router)
    app.include_router(assistants.router)
    app.include_router(threads.router)
    app.include_router(runs.router)
    app.include_router(crons.router)
    app.include_router(protocol.router)
    app.include_router(store.router)
    # added last, so it wraps every route (and the vary middleware)
    app.add_middleware(AuthMiddleware, authenticator=authenticator)
    if auth_config is not None and auth_config.openapi:
        _document_security(app, auth_config.openapi)
    return app


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
