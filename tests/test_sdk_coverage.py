"""Every method of the official Python SDK (``langgraph_sdk``) has a server counterpart.

:data:`SDK_ENDPOINTS` maps each public method of the SDK's async clients to the
endpoints it calls, read once from the SDK's source (``langgraph_sdk/_async/*.py``
and the v2 stream transports). The tests check that

* the table lists exactly the SDK's public methods (an SDK upgrade that adds,
  renames or drops a method fails here until the table and the server follow);
* every path the SDK's source spells appears in the table;
* every endpoint of the table is an operation of the ``/openapi.json`` the session
  server serves (so it is routed and documented).
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import httpx
import langgraph_sdk
import pytest
from langgraph_sdk import get_client, get_sync_client

#: method → endpoints ``(HTTP method, path template)`` the method may call
SDK_ENDPOINTS: dict[str, tuple[tuple[str, str], ...]] = {
    # ------------------------------------------------------------------ assistants
    "assistants.get": (("GET", "/assistants/{assistant_id}"),),
    "assistants.get_graph": (("GET", "/assistants/{assistant_id}/graph"),),
    "assistants.get_schemas": (("GET", "/assistants/{assistant_id}/schemas"),),
    "assistants.get_subgraphs": (
        ("GET", "/assistants/{assistant_id}/subgraphs"),
        ("GET", "/assistants/{assistant_id}/subgraphs/{namespace}"),
    ),
    "assistants.create": (("POST", "/assistants"),),
    "assistants.update": (("PATCH", "/assistants/{assistant_id}"),),
    "assistants.delete": (("DELETE", "/assistants/{assistant_id}"),),
    "assistants.search": (("POST", "/assistants/search"),),
    "assistants.count": (("POST", "/assistants/count"),),
    "assistants.get_versions": (("POST", "/assistants/{assistant_id}/versions"),),
    "assistants.set_latest": (("POST", "/assistants/{assistant_id}/latest"),),
    # --------------------------------------------------------------------- threads
    "threads.get": (("GET", "/threads/{thread_id}"),),
    "threads.create": (("POST", "/threads"),),
    "threads.update": (("PATCH", "/threads/{thread_id}"),),
    "threads.delete": (("DELETE", "/threads/{thread_id}"),),
    "threads.search": (("POST", "/threads/search"),),
    "threads.count": (("POST", "/threads/count"),),
    "threads.copy": (("POST", "/threads/{thread_id}/copy"),),
    "threads.prune": (("POST", "/threads/prune"),),
    "threads.get_state": (
        ("GET", "/threads/{thread_id}/state"),
        ("GET", "/threads/{thread_id}/state/{checkpoint_id}"),
        ("POST", "/threads/{thread_id}/state/checkpoint"),
    ),
    "threads.update_state": (("POST", "/threads/{thread_id}/state"),),
    "threads.get_history": (("POST", "/threads/{thread_id}/history"),),
    "threads.join_stream": (("GET", "/threads/{thread_id}/stream"),),
    # v2 protocol session; with transport="websocket" the events come from the
    # WebSocket route of the same path, which OpenAPI cannot describe (see
    # test_the_v2_websocket_route_exists); the session also reads the graph and state
    "threads.stream": (
        ("POST", "/threads/{thread_id}/commands"),
        ("POST", "/threads/{thread_id}/stream/events"),
        ("GET", "/assistants/{assistant_id}/graph"),
        ("GET", "/threads/{thread_id}/state"),
    ),
    # ------------------------------------------------------------------------ runs
    "runs.stream": (
        ("POST", "/threads/{thread_id}/runs/stream"),
        ("POST", "/runs/stream"),
        # reconnect target sent in ``Location``
        ("GET", "/threads/{thread_id}/runs/{run_id}/stream"),
        ("GET", "/threads/{thread_id}/runs/{run_id}"),
    ),
    "runs.create": (("POST", "/threads/{thread_id}/runs"), ("POST", "/runs")),
    "runs.create_batch": (("POST", "/runs/batch"),),
    "runs.wait": (
        ("POST", "/threads/{thread_id}/runs/wait"),
        ("POST", "/runs/wait"),
        ("GET", "/threads/{thread_id}/runs/{run_id}/join"),  # reconnect target
    ),
    "runs.list": (("GET", "/threads/{thread_id}/runs"),),
    "runs.get": (("GET", "/threads/{thread_id}/runs/{run_id}"),),
    "runs.cancel": (("POST", "/threads/{thread_id}/runs/{run_id}/cancel"),),
    "runs.cancel_many": (("POST", "/runs/cancel"),),
    "runs.join": (("GET", "/threads/{thread_id}/runs/{run_id}/join"),),
    "runs.join_stream": (("GET", "/threads/{thread_id}/runs/{run_id}/stream"),),
    "runs.delete": (("DELETE", "/threads/{thread_id}/runs/{run_id}"),),
    # ----------------------------------------------------------------------- crons
    "crons.create_for_thread": (("POST", "/threads/{thread_id}/runs/crons"),),
    "crons.create": (("POST", "/runs/crons"),),
    "crons.delete": (("DELETE", "/runs/crons/{cron_id}"),),
    "crons.update": (("PATCH", "/runs/crons/{cron_id}"),),
    "crons.search": (("POST", "/runs/crons/search"),),
    "crons.count": (("POST", "/runs/crons/count"),),
    # ----------------------------------------------------------------------- store
    "store.put_item": (("PUT", "/store/items"),),
    "store.get_item": (("GET", "/store/items"),),
    "store.delete_item": (("DELETE", "/store/items"),),
    "store.search_items": (("POST", "/store/items/search"),),
    "store.list_namespaces": (("POST", "/store/namespaces"),),
    # -------------------------------------------------------------------- top level
    "aclose": (),  # closes the client's HTTP connections; no request
}

#: the top-level client's attributes that are sub-clients, not endpoints
SUB_CLIENTS = ("assistants", "threads", "runs", "crons", "store")

#: top-level attributes that are not endpoint methods (``http`` is the raw HTTP client)
NOT_METHODS = {"http", *SUB_CLIENTS}

SDK_DIR = Path(langgraph_sdk.__file__).parent


def _public_methods(obj: object) -> set[str]:
    return {
        name for name, member in inspect.getmembers(type(obj))
        if not name.startswith("_") and callable(member) and name not in NOT_METHODS
    }


def sdk_methods(client: object) -> set[str]:
    """``group.method`` for every public method of the client's sub-clients, plus
    the client's own public methods."""
    names = set(_public_methods(client))
    for group in SUB_CLIENTS:
        names |= {f"{group}.{m}" for m in _public_methods(getattr(client, group))}
    return names


def test_the_table_lists_every_method_of_the_async_sdk():
    """The mapping is explicit: a method the SDK adds or drops fails here."""
    client = get_client(url="http://127.0.0.1:9")
    methods = sdk_methods(client)
    assert len(methods) > 40
    assert sorted(methods - set(SDK_ENDPOINTS)) == [], "SDK methods without a row in SDK_ENDPOINTS"
    assert sorted(set(SDK_ENDPOINTS) - methods) == [], "rows of SDK_ENDPOINTS the SDK no longer has"


def test_the_sync_sdk_has_the_same_methods():
    """The sync client mirrors the async one (``aclose`` is ``close``)."""
    sync_methods = sdk_methods(get_sync_client(url="http://127.0.0.1:9"))
    async_methods = sdk_methods(get_client(url="http://127.0.0.1:9"))
    assert sync_methods - {"close"} == async_methods - {"aclose"}


_PARAM = re.compile(r"\{_quote_path_param\((?:[\w.]*\.)?(\w+)\)\}")
_SDK_PATH = re.compile(r'f?"(/(?:assistants|threads|runs|store)[^"]*)"')


def sdk_source_paths() -> set[str]:
    """Every API path literal in the SDK's async clients and stream transports, as a
    template (``f"/threads/{_quote_path_param(thread_id)}"`` → ``/threads/{thread_id}``)."""
    files = [*sorted((SDK_DIR / "_async").glob("*.py")), *sorted((SDK_DIR / "stream").rglob("*.py"))]
    paths: set[str] = set()
    for file in files:
        for literal in _SDK_PATH.findall(file.read_text()):
            paths.add(_PARAM.sub(r"{\1}", literal))
    return paths


def test_every_path_in_the_sdk_source_is_in_the_table():
    """A path the SDK starts calling (or renames) is missing from the table."""
    paths = sdk_source_paths()
    assert "/threads/{thread_id}/runs/{run_id}/cancel" in paths  # the reading works
    tabled = {path for endpoints in SDK_ENDPOINTS.values() for _, path in endpoints}
    assert sorted(paths - tabled) == []


@pytest.fixture(scope="module")
def openapi(server: str) -> dict:
    """The OpenAPI document the session server serves."""
    r = httpx.get(f"{server}/openapi.json", timeout=30)
    assert r.status_code == 200
    return r.json()


def _operations(openapi: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, ops in openapi["paths"].items() for method in ops}


@pytest.mark.parametrize("sdk_method", sorted(SDK_ENDPOINTS))
def test_every_sdk_endpoint_is_a_documented_route(openapi: dict, sdk_method: str):
    """Each endpoint an SDK method calls is an operation of our ``/openapi.json``."""
    missing = [e for e in SDK_ENDPOINTS[sdk_method] if e not in _operations(openapi)]
    assert missing == [], f"{sdk_method}: no route for {missing}"


def test_the_v2_websocket_route_exists(server: str):
    """``threads.stream(transport="websocket")`` reads events from a WebSocket at
    ``/threads/{thread_id}/stream/events`` (not expressible in OpenAPI): a plain GET
    of that path is refused as a WebSocket route is, not as an unknown path."""
    r = httpx.get(
        f"{server}/threads/00000000-0000-4000-8000-000000000000/stream/events",
        headers={"connection": "upgrade", "upgrade": "websocket", "sec-websocket-version": "13",
                 "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ=="},
        timeout=10,
    )
    assert r.status_code == 101, (r.status_code, r.text)
