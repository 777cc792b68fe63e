"""System endpoints: ``/ok``, ``/``, ``/info``, ``/docs`` (see docs/architecture.md)."""

from __future__ import annotations

import langgraph.version
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from evergraph.adapter.execution.runconfig import COMPAT_API_VERSION

__all__ = [
    "docs",
    "info",
    "ok",
    "router",
]

router = APIRouter(tags=["system"])


@router.get("/ok")
@router.get("/", include_in_schema=False)
async def ok(check_db: int | None = None) -> dict:
    """Liveness: ``{"ok": true, "services": {}}``."""
    return {"ok": True, "services": {}}


@router.get("/info")
async def info(request: Request) -> dict:
    """Server info, as Studio and the JS tooling read it; ``flags.mcp`` says whether
    ``/mcp`` is served (``langgraph.json`` ``http.disable_mcp`` turns it off),
    ``flags.a2a`` whether ``/a2a`` is (``http.disable_a2a``)."""
    http = request.app.state.services.registry.config.http
    return {
        "version": COMPAT_API_VERSION,
        "langgraph_py_version": langgraph.version.__version__,
        "flags": {
            "assistants": True,
            "crons": True,
            "langsmith": False,
            "langsmith_tracing_replicas": True,
            "langsmith_tracing_session_on_runs": True,
            "mcp": not http.is_disabled("disable_mcp"),
            "a2a": not http.is_disabled("disable_a2a"),  # /a2a/{assistant_id} (api/routes/a2a.py)
        },
        "host": {
            "kind": "self-hosted",
            "project_id": None,
            "host_revision_id": None,
            "revision_id": None,
            "tenant_id": None,
        },
    }


@router.get("/docs", response_class=HTMLResponse)
async def docs(request: Request) -> HTMLResponse:
    """The API reference: an HTML page (Swagger UI) rendering ``/openapi.json``
    (under ``langgraph.json`` ``http.mount_prefix`` when one is set)."""
    root = str(request.scope.get("root_path") or "").rstrip("/")
    return get_swagger_ui_html(openapi_url=f"{root}/openapi.json", title="Evergraph - API reference")
