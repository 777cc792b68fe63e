"""System endpoints: ``/ok``, ``/``, ``/info`` (see docs/architecture.md)."""

from __future__ import annotations

import langgraph.version
from fastapi import APIRouter

from evergraph.adapter.execution.runconfig import COMPAT_API_VERSION

__all__ = [
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
async def info() -> dict:
    """Server info, as Studio and the JS tooling read it."""
    return {
        "version": COMPAT_API_VERSION,
        "langgraph_py_version": langgraph.version.__version__,
        "flags": {
            "assistants": True,
            "crons": True,
            "langsmith": False,
            "langsmith_tracing_replicas": True,
            "langsmith_tracing_session_on_runs": True,
        },
        "host": {
            "kind": "self-hosted",
            "project_id": None,
            "host_revision_id": None,
            "revision_id": None,
            "tenant_id": None,
        },
    }
