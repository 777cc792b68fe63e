"""System endpoints, compared with langgraph-api 0.16.7's answers and checked on the
wire with plain HTTP: the SDK calls none of them."""

from __future__ import annotations

import langgraph.version
import pytest

OK_BODY = {"ok": True, "services": {}}


@pytest.mark.parametrize("path", ["/ok", "/", "/ok?check_db=1"])
def test_health(http, path):
    """The same body on all three, as langgraph-api 0.16.7 answers."""
    r = http.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == OK_BODY
    assert r.headers["vary"] == "Origin"


def test_info_shape(http):
    """langgraph-api 0.16.7's keys: version, langgraph_py_version, flags, host."""
    r = http.get("/info")
    assert r.status_code == 200
    info = r.json()
    assert set(info) == {"version", "langgraph_py_version", "flags", "host"}
    assert isinstance(info["version"], str) and info["version"]
    # the LangGraph version the server really runs
    assert info["langgraph_py_version"] == langgraph.version.__version__
    assert set(info["flags"]) == {
        "assistants", "crons", "langsmith", "langsmith_tracing_replicas", "langsmith_tracing_session_on_runs",
        "mcp",  # Evergraph's: /mcp is served (langgraph-api 0.16.7 has no such flag)
        "a2a",  # Evergraph's: /a2a is served (langgraph-api 0.16.7 has no such flag either)
    }
    assert all(isinstance(v, bool) for v in info["flags"].values())
    assert info["flags"]["assistants"] is True
    assert info["flags"]["langsmith"] is False
    assert info["host"] == {
        "kind": "self-hosted",
        "project_id": None,
        "host_revision_id": None,
        "revision_id": None,
        "tenant_id": None,
    }


def test_openapi_document(http):
    """An OpenAPI 3 document listing the API's paths."""
    r = http.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"]
    paths = doc["paths"]
    for path, method in [
        ("/ok", "get"),
        ("/info", "get"),
        ("/assistants", "post"),
        ("/assistants/search", "post"),
        ("/assistants/count", "post"),
        ("/assistants/{assistant_id}", "get"),
        ("/assistants/{assistant_id}", "patch"),
        ("/assistants/{assistant_id}", "delete"),
        ("/assistants/{assistant_id}/graph", "get"),
        ("/assistants/{assistant_id}/schemas", "get"),
        ("/assistants/{assistant_id}/subgraphs", "get"),
        ("/assistants/{assistant_id}/versions", "post"),
        ("/assistants/{assistant_id}/latest", "post"),
        ("/threads", "post"),
        ("/threads/search", "post"),
        ("/threads/count", "post"),
        ("/threads/{thread_id}", "get"),
        ("/threads/{thread_id}", "patch"),
        ("/threads/{thread_id}", "delete"),
        ("/threads/{thread_id}/copy", "post"),
        ("/threads/{thread_id}/state", "get"),
        ("/threads/{thread_id}/state", "post"),
        ("/threads/{thread_id}/state/{checkpoint_id}", "get"),
        ("/threads/{thread_id}/state/checkpoint", "post"),
        ("/threads/{thread_id}/history", "post"),
        ("/threads/{thread_id}/runs", "post"),
        ("/threads/{thread_id}/runs", "get"),
        ("/threads/{thread_id}/runs/stream", "post"),
        ("/threads/{thread_id}/runs/wait", "post"),
        ("/threads/{thread_id}/runs/{run_id}", "get"),
        ("/threads/{thread_id}/runs/{run_id}/join", "get"),
        ("/threads/{thread_id}/runs/{run_id}/stream", "get"),
        ("/threads/{thread_id}/runs/{run_id}/cancel", "post"),
        ("/runs", "post"),
        ("/runs/stream", "post"),
        ("/runs/wait", "post"),
    ]:
        assert path in paths, f"{path} missing from /openapi.json"
        assert method in paths[path], f"{method.upper()} {path} missing from /openapi.json"


def test_unknown_route_is_404_not_found(http):
    """An unknown route is a JSON 404 ``Not Found``, as langgraph-api 0.16.7 answers."""
    r = http.get("/nope")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {"detail": "Not Found"}
    assert r.headers["vary"] == "Origin"


def test_wrong_method_is_405(http):
    """PUT /threads → 405 with ``allow: POST``, as langgraph-api 0.16.7 answers."""
    r = http.put("/threads", json={})
    assert r.status_code == 405
    assert r.json() == {"detail": "Method Not Allowed"}
    assert r.headers["allow"] == "POST"
    assert r.headers["vary"] == "Origin"
    before = http.post("/threads/count", json={}).json()
    assert http.put("/threads", json={}).status_code == 405
    assert http.post("/threads/count", json={}).json() == before  # nothing created


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("GET", "/info", None),
        ("POST", "/threads/count", {}),
        ("POST", "/assistants/search", {"limit": 1}),
        ("GET", "/threads/abc", None),  # 422
        ("GET", "/threads/00000000-0000-4000-8000-000000000000", None),  # 404
        ("POST", "/threads/search", {"limit": "ten"}),  # 422 schema
    ],
)
def test_every_response_varies_on_origin(http, method, path, body):
    """All responses carry ``vary: Origin`` (errors included), as in langgraph-api 0.16.7."""
    r = http.request(method, path, json=body)
    assert r.headers.get("vary") == "Origin", (r.status_code, dict(r.headers))
