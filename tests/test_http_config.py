"""``langgraph.json``'s ``http`` key: CORS (defaults under ``dev`` and ``serve``, a
``cors`` object), a custom app (routes, lifespan, middleware), ``mount_prefix``,
``configurable_headers`` and the ``disable_*`` flags, over real HTTP against real
``evergraph`` processes sharing the session's Temporal dev server.

Reference behaviour: langgraph-api 0.16.7 under ``langgraph dev`` (see api/cors.py and
api/custom_app.py for what was observed and the one deviation).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client

from evergraph.adapter.process.devserver import free_port
from tests.conftest import EvergraphProcess, evergraph_env, wait_for

ORIGIN = "https://app.example"
API_KEY = "http-config-key"
PREFIX = "/my-deployment/api"

GRAPH = """
from typing import TypedDict
from langgraph.graph import StateGraph, START, END

class State(TypedDict, total=False):
    seen: dict

def look(state, config):
    conf = config["configurable"]
    return {"seen": {k: v for k, v in conf.items() if isinstance(v, str) and not k.startswith(("__", "langgraph_"))}}

builder = StateGraph(State)
builder.add_node("look", look)
builder.add_edge(START, "look")
builder.add_edge("look", END)
graph = builder.compile()
"""

CUSTOM_APP = """
import os
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from starlette.middleware.base import BaseHTTPMiddleware

MARKER = Path(os.environ.get("HTTP_TEST_MARKER", "lifespan.txt"))

@asynccontextmanager
async def lifespan(app):
    MARKER.write_text("started\\n")
    app.state.greeting = "hello from the lifespan"
    yield
    with MARKER.open("a") as f:
        f.write("stopped\\n")

app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

class Stamp(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        response = await call_next(request)
        response.headers["x-custom-middleware"] = "seen"
        return response

app.add_middleware(Stamp)

@app.get("/hello")
async def hello(request: Request):
    return {"greeting": request.app.state.greeting}
"""

SHADOWING_ROUTES = """
@app.get("/info")
async def info():
    return {"shadowed": "info"}

@app.get("/ok")
async def ok():
    return {"shadowed": "ok"}
"""


def _write(folder: Path, http: dict, **extra) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "g.py").write_text(GRAPH)
    (folder / "custom.py").write_text(CUSTOM_APP + SHADOWING_ROUTES)
    (folder / "secured.py").write_text(CUSTOM_APP)
    config = folder / "langgraph.json"
    config.write_text(json.dumps({"graphs": {"look": "./g.py:graph"}, "http": http, **extra}))
    return config


@contextlib.contextmanager
def _evergraph(command: str, config: Path, temporal_server, data_root: Path, name: str, **env: str):
    port = free_port()
    proc = EvergraphProcess(
        [command, "--config", str(config), "--port", str(port)],
        evergraph_env(temporal_server.address, data_root / name, EVERGRAPH_TASK_QUEUE=f"http-{name}-{port}", **env),
        data_root / f"{name}.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        proc.wait_ready(url)
        yield proc, url
    finally:
        proc.stop()


def _preflight(url: str, origin: str = ORIGIN, method: str = "POST", **headers: str) -> httpx.Response:
    return httpx.options(
        url,
        headers={"origin": origin, "access-control-request-method": method, **headers},
        timeout=30,
    )


# ------------------------------------------------------------------ defaults under dev


def test_dev_preflight_allows_any_origin_with_private_network(server):
    r = _preflight(
        f"{server}/threads",
        origin="https://studio.example",
        **{"access-control-request-headers": "content-type,x-api-key", "access-control-request-private-network": "true"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["access-control-allow-headers"] == "content-type,x-api-key"
    assert "POST" in r.headers["access-control-allow-methods"]
    assert r.headers["access-control-allow-private-network"] == "true"
    assert "access-control-allow-credentials" not in r.headers
    # any OPTIONS gets the private-network header under dev, as langgraph dev sends it
    plain = httpx.options(f"{server}/threads", timeout=30)
    assert plain.status_code == 405
    assert plain.headers["access-control-allow-private-network"] == "true"


def test_dev_simple_and_error_responses_carry_cors_headers(server):
    headers = {"origin": "https://studio.example"}
    ok = httpx.post(f"{server}/threads/search", json={}, headers=headers, timeout=30)
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "*"
    exposed = [h.strip() for h in ok.headers["access-control-expose-headers"].split(",")]
    assert exposed == ["x-pagination-total", "x-pagination-next", "content-location"]
    assert "Origin" in ok.headers["vary"]
    missing = httpx.get(f"{server}/threads/00000000-0000-0000-0000-000000000000", headers=headers, timeout=30)
    assert missing.status_code == 404 and missing.headers["access-control-allow-origin"] == "*"
    invalid = httpx.post(f"{server}/threads/search", json={"limit": "many"}, headers=headers, timeout=30)
    assert invalid.status_code == 422 and invalid.headers["access-control-allow-origin"] == "*"


def test_dev_sse_response_carries_cors_headers(server):
    with httpx.stream(
        "POST",
        f"{server}/runs/stream",
        json={"assistant_id": "chain", "input": {"log": []}, "stream_mode": ["updates"]},
        headers={"origin": "https://studio.example"},
        timeout=60,
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["access-control-allow-origin"] == "*"
        assert "content-location" in r.headers["access-control-expose-headers"]
        body = b"".join(r.iter_bytes())
    assert b"event: end" in body or b"event: updates" in body


# ------------------------------------------ serve: defaults without private network, disable_*

ROUTE_FLAGS = {
    "disable_assistants": True,
    "disable_threads": True,
    "disable_runs": True,
    "disable_store": True,
    "disable_meta": True,
    "disable_ui": True,
    "disable_mcp": True,
    "disable_a2a": True,
}


@pytest.fixture(scope="module")
def serve_disabled(temporal_server, data_root: Path):
    """`serve` with every route group disabled, and a custom app whose routes are
    authenticated and whose middleware runs after authentication."""
    folder = data_root / "http-disabled"
    http = {**ROUTE_FLAGS, "app": "./secured.py:app", "middleware_order": "auth_first", "enable_custom_route_auth": True}
    config = _write(folder, http)
    with _evergraph(
        "serve", config, temporal_server, data_root, "http-disabled",
        EVERGRAPH_API_KEYS=API_KEY, HTTP_TEST_MARKER=str(folder / "lifespan.txt"),
    ) as (_, url):
        yield url


def test_custom_route_auth_and_auth_first(serve_disabled):
    denied = httpx.get(f"{serve_disabled}/hello", headers={"origin": ORIGIN}, timeout=30)
    assert denied.status_code == 401
    assert denied.headers["access-control-allow-origin"] == "*"
    assert "x-custom-middleware" not in denied.headers  # auth_first: refused before the custom middleware
    allowed = httpx.get(f"{serve_disabled}/hello", headers={"x-api-key": API_KEY}, timeout=30)
    assert allowed.json() == {"greeting": "hello from the lifespan"}
    assert allowed.headers["x-custom-middleware"] == "seen"


def test_serve_default_cors_has_no_private_network(serve_disabled):
    r = _preflight(f"{serve_disabled}/threads", origin="https://studio.example")
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-private-network" not in r.headers
    # a private-network preflight is refused by `serve`, as langgraph-api's server does
    pna = _preflight(f"{serve_disabled}/threads", **{"access-control-request-private-network": "true"})
    assert pna.status_code == 400


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/assistants/search"),
        ("GET", "/assistants/00000000-0000-0000-0000-000000000000"),
        ("POST", "/threads"),
        ("POST", "/threads/search"),
        ("GET", "/threads/00000000-0000-0000-0000-000000000000/state"),
        ("POST", "/runs/wait"),
        ("POST", "/threads/00000000-0000-0000-0000-000000000000/runs"),
        ("POST", "/runs/crons/search"),
        ("POST", "/threads/00000000-0000-0000-0000-000000000000/commands"),
        ("POST", "/store/namespaces"),
        ("GET", "/info"),
        ("GET", "/docs"),
        ("GET", "/openapi.json"),
        ("GET", "/"),
    ],
)
def test_disabled_routes_answer_404(serve_disabled, method, path):
    r = httpx.request(
        method, f"{serve_disabled}{path}", json={}, headers={"origin": ORIGIN, "x-api-key": API_KEY}, timeout=30
    )
    assert r.status_code == 404, (path, r.status_code, r.text)
    assert r.json() == {"detail": "Not Found"}
    assert r.headers["access-control-allow-origin"] == "*"


def test_disable_meta_keeps_a_bare_ok(serve_disabled):
    r = httpx.get(f"{serve_disabled}/ok", timeout=30)
    assert r.status_code == 200 and r.json() == {"ok": True}


# ------------------- custom app, mount_prefix, cors object, headers, webhooks, API keys


class _Hooks(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self):
        _Hooks.received.append(self.rfile.read(int(self.headers.get("content-length") or 0)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def hooks():
    httpd = HTTPServer(("127.0.0.1", 0), _Hooks)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook"
    httpd.shutdown()


@pytest.fixture(scope="module")
def custom(temporal_server, data_root: Path):
    folder = data_root / "http-custom"
    config = _write(
        folder,
        {
            "app": "./custom.py:app",
            "mount_prefix": PREFIX + "/",
            "cors": {
                "allow_origins": [ORIGIN],
                "allow_methods": ["GET", "POST"],
                "allow_headers": ["content-type", "x-api-key"],
                "allow_credentials": True,
                "expose_headers": ["x-pagination-total"],
                "max_age": 42,
            },
            "configurable_headers": {"includes": ["x-*", "my-header"], "excludes": ["x-secret*"]},
            "disable_webhooks": True,
            "disable_event_streaming": True,
        },
        webhooks={"url": {"require_https": False, "disable_loopback": False, "disable_private_ips": False}},
    )
    marker = folder / "lifespan.txt"
    with _evergraph(
        "dev", config, temporal_server, data_root, "http-custom",
        EVERGRAPH_API_KEYS=API_KEY, HTTP_TEST_MARKER=str(marker), EVERGRAPH_LOG_LEVEL="INFO",
    ) as (proc, url):
        yield proc, url, marker


def test_custom_cors_preflight(custom):
    _, url, _ = custom
    api = url + PREFIX
    r = _preflight(f"{api}/threads", **{"access-control-request-headers": "content-type,x-api-key"})
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["access-control-max-age"] == "42"
    assert r.headers["access-control-allow-methods"] == "GET, POST"
    # preflights are answered before authentication: no x-api-key needed
    assert _preflight(f"{api}/threads", method="DELETE").status_code == 400
    refused = _preflight(f"{api}/threads", origin="https://elsewhere.example")
    assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers


def test_custom_cors_on_401_and_allowed_requests(custom):
    _, url, _ = custom
    api = url + PREFIX
    denied = httpx.post(f"{api}/threads/search", json={}, headers={"origin": ORIGIN}, timeout=30)
    assert denied.status_code == 401
    assert denied.headers["access-control-allow-origin"] == ORIGIN
    assert denied.headers["access-control-allow-credentials"] == "true"
    ok = httpx.post(f"{api}/threads/search", json={}, headers={"origin": ORIGIN, "x-api-key": API_KEY}, timeout=30)
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == ORIGIN
    assert ok.headers["access-control-expose-headers"] == "x-pagination-total"
    other = httpx.post(
        f"{api}/threads/search", json={}, headers={"origin": "https://elsewhere.example", "x-api-key": API_KEY}, timeout=30
    )
    assert other.status_code == 200 and "access-control-allow-origin" not in other.headers


def test_custom_routes_lifespan_and_middleware(custom):
    _, url, marker = custom
    api = url + PREFIX
    assert marker.read_text() == "started\n"
    hello = httpx.get(f"{api}/hello", headers={"origin": ORIGIN}, timeout=30)  # custom routes: no auth by default
    assert hello.json() == {"greeting": "hello from the lifespan"}
    assert hello.headers["access-control-allow-origin"] == ORIGIN
    assert hello.headers["x-custom-middleware"] == "seen"
    # a clash: the custom /info wins, the API's /ok does not give way
    assert httpx.get(f"{api}/info", timeout=30).json() == {"shadowed": "info"}
    assert httpx.get(f"{api}/ok", timeout=30).json() == {"ok": True, "services": {}}
    # the custom app's middleware runs on the API's routes too (middleware_first)
    api_response = httpx.post(f"{api}/assistants/search", json={}, headers={"x-api-key": API_KEY}, timeout=30)
    assert api_response.status_code == 200 and api_response.headers["x-custom-middleware"] == "seen"
    # without the prefix only the health checks answer
    assert httpx.get(f"{url}/ok", timeout=30).json()["ok"] is True
    assert httpx.get(f"{url}/hello", timeout=30).status_code == 404
    assert httpx.post(f"{url}/threads/search", json={}, headers={"x-api-key": API_KEY}, timeout=30).status_code == 404


async def test_sdk_at_prefix_with_configurable_headers(custom):
    _, url, _ = custom
    client = get_client(
        url=url + PREFIX,
        api_key=API_KEY,
        headers={
            "x-team": "red",
            "x-secret-token": "hidden",
            "my-header": "mine",
            "other-header": "not included",
        },
    )
    thread = await client.threads.create()
    result = await client.runs.wait(thread["thread_id"], "look", input={})
    seen = result["seen"]
    assert seen["x-team"] == "red" and seen["my-header"] == "mine"
    for absent in ("x-secret-token", "other-header", "x-api-key", "authorization"):
        assert absent not in seen, absent
    assert seen["thread_id"] == thread["thread_id"]


def test_sse_with_credentials_at_prefix(custom):
    _, url, _ = custom
    with httpx.stream(
        "POST",
        f"{url}{PREFIX}/runs/stream",
        json={"assistant_id": "look", "input": {}, "stream_mode": ["values"]},
        headers={"origin": ORIGIN, "x-api-key": API_KEY},
        timeout=60,
    ) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["access-control-allow-origin"] == ORIGIN
        assert r.headers["access-control-allow-credentials"] == "true"
        assert b"event: values" in b"".join(r.iter_bytes())


async def test_disable_event_streaming_and_webhooks(custom, hooks):
    proc, url, _ = custom
    api = url + PREFIX
    http = {"x-api-key": API_KEY}
    thread = httpx.post(f"{api}/threads", json={}, headers=http, timeout=30).json()
    commands = httpx.post(f"{api}/threads/{thread['thread_id']}/commands", json={}, headers=http, timeout=30)
    assert commands.status_code == 404
    run = httpx.post(
        f"{api}/threads/{thread['thread_id']}/runs/wait",
        json={"assistant_id": "look", "input": {}, "webhook": hooks},
        headers=http,
        timeout=60,
    )
    assert run.status_code == 200, run.text
    run_id = run.headers["content-location"].rsplit("/", 1)[1]
    # the worker decides at the run's end; wait for its word, then nothing may have arrived
    await wait_for(lambda: f"run {run_id} sends none" in proc.output(), timeout=30)
    assert _Hooks.received == []


def test_zz_lifespan_shutdown_runs(custom):
    """Runs last in this module: stopping the process runs the custom app's shut-down."""
    proc, _, marker = custom
    proc.stop()
    assert marker.read_text() == "started\nstopped\n"


# ----------------------------------------------------------- start-up errors


def _start(config: Path, tmp: Path) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("EVERGRAPH_")}
    env.update(TEMPORAL_ADDRESS="127.0.0.1:1")
    return subprocess.run(
        [sys.executable, "-m", "evergraph.adapter.process.cli", "serve", "--config", str(config),
         "--data-dir", str(tmp / "d"), "--port", str(free_port())],
        env=env, capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize(
    ("http", "named"),
    [
        ({"disable_thread": True}, "'http.disable_thread'"),
        ({"cors": {"allow_origin": ["*"]}}, "'http.cors.allow_origin'"),
        ({"cors": {"allow_origins": "*"}}, "'http.cors.allow_origins'"),
        ({"cors": {"max_age": "10"}}, "'http.cors.max_age'"),
        ({"disable_runs": "yes"}, "'http.disable_runs'"),
        ({"mount_prefix": "api"}, "'http.mount_prefix'"),
        ({"configurable_headers": {"includes": "x-*"}}, "'http.configurable_headers.includes'"),
        ({"middleware_order": "last"}, "'http.middleware_order'"),
        ({"app": "./custom.py"}, "'http.app'"),
        ({"app": "./custom.py:nothing"}, "http.app './custom.py:nothing'"),
        ({"app": "./g.py:graph"}, "must name a Starlette or FastAPI app"),
        ("everything", "'http' must be an object"),
    ],
)
def test_bad_http_config_stops_start_up(tmp_path, http, named):
    config = _write(tmp_path, http)
    result = _start(config, tmp_path)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert named in result.stderr, result.stderr


def test_failing_lifespan_stops_start_up(temporal_server, data_root: Path):
    folder = data_root / "http-bad-lifespan"
    config = _write(folder, {"app": "./broken.py:app"})
    (folder / "broken.py").write_text(
        "from contextlib import asynccontextmanager\n"
        "from starlette.applications import Starlette\n"
        "@asynccontextmanager\n"
        "async def lifespan(app):\n"
        "    raise RuntimeError('no database for the custom app')\n"
        "    yield\n"
        "app = Starlette(lifespan=lifespan)\n"
    )
    port = free_port()
    proc = EvergraphProcess(
        ["serve", "--config", str(config), "--port", str(port)],
        evergraph_env(temporal_server.address, data_root / "http-bad-lifespan-data"),
        data_root / "http-bad-lifespan.log",
    )
    try:
        assert proc.process.wait(60) == 2
        output = proc.output()
        assert "no database for the custom app" in output and "the API did not start" in output
    finally:
        proc.stop()
