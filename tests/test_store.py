"""The store through the official SDK, compared with langgraph-api 0.16.7's answers,
its TTL expiry, semantic search with the index ``tests/graphs/langgraph.json``
configures (``store_graphs.embed``: letter counts, so scores are computable here),
and a graph whose nodes use the same store through ``runtime.store`` / ``get_store()``.

Every test works under its own random namespace root, so tests do not see each
other's items in the session's one store.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import time
import uuid
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.errors import UnprocessableEntityError

from evergraph.adapter.process.devserver import free_port
from tests.conftest import ROOT, EvergraphProcess, evergraph_env, wait_for
from tests.graphs.store_graphs import embed

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")


def root() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


def cosine(a: str, b: str) -> float:
    x, y = embed([a])[0], embed([b])[0]
    dot = sum(p * q for p, q in zip(x, y))
    return dot / (math.sqrt(sum(p * p for p in x)) * math.sqrt(sum(q * q for q in y)))


async def test_put_get_delete_like_s12(client, http):
    """As in langgraph-api 0.16.7: put → 204 (SDK returns None), get → the item with
    ISO timestamps, a missing or deleted key → ``200 null``."""
    ns = [root(), "users"]
    assert await client.store.put_item(ns, "u1", {"name": "ada", "age": 36}) is None
    item = await client.store.get_item(ns, "u1")
    assert set(item) == {"namespace", "key", "value", "created_at", "updated_at"}
    assert item["namespace"] == ns and item["key"] == "u1" and item["value"] == {"name": "ada", "age": 36}
    assert TS.match(item["created_at"]) and TS.match(item["updated_at"])

    r = http.get("/store/items", params={"namespace": ".".join(ns), "key": "missing"})
    assert r.status_code == 200 and r.text == "null"
    assert await client.store.get_item(ns, "missing") is None

    r = http.request("PUT", "/store/items", json={"namespace": ns, "key": "u9", "value": {}})
    assert r.status_code == 204 and r.content == b""

    await client.store.put_item(ns, "u1", {"name": "ada", "age": 37})
    assert (await client.store.get_item(ns, "u1"))["value"] == {"name": "ada", "age": 37}

    assert await client.store.delete_item(ns, "u1") is None
    assert await client.store.get_item(ns, "u1") is None
    assert (await client.store.get_item(ns, "u9"))["value"] == {}
    # deleting what is not there is not an error
    await client.store.delete_item(ns, "u1")


async def test_search_filter_limit_offset(client):
    """As in langgraph-api 0.16.7: filter by value fields, page with limit/offset;
    without a semantic query every score is null."""
    r = root()
    await client.store.put_item([r, "users"], "u1", {"name": "ada", "age": 36})
    await client.store.put_item([r, "users"], "u2", {"name": "bob", "age": 40})
    await client.store.put_item([r, "teams"], "t1", {"name": "core"})
    await client.store.put_item([f"{r}x", "users"], "other", {"name": "ada"})  # not under the prefix

    found = await client.store.search_items([r], filter={"name": "ada"}, limit=10, offset=0)
    assert [(i["namespace"], i["key"], i["value"], i["score"]) for i in found["items"]] == [
        ([r, "users"], "u1", {"name": "ada", "age": 36}, None)
    ]
    assert set(found["items"][0]) == {"namespace", "key", "value", "created_at", "updated_at", "score"}

    everything = (await client.store.search_items([r]))["items"]
    assert sorted(i["key"] for i in everything) == ["t1", "u1", "u2"]
    assert all(i["score"] is None for i in everything)
    pages = [(await client.store.search_items([r], limit=1, offset=n))["items"] for n in range(4)]
    assert [len(p) for p in pages] == [1, 1, 1, 0]
    assert sorted(p[0]["key"] for p in pages[:3]) == ["t1", "u1", "u2"]

    older = await client.store.search_items([r, "users"], filter={"age": {"$gt": 36}})
    assert [i["key"] for i in older["items"]] == ["u2"]
    assert (await client.store.search_items([r, "teams"]))["items"][0]["key"] == "t1"


async def test_semantic_search_scores(client):
    """With ``store.index`` configured (fields ``["text"]``), ``query`` ranks items
    by cosine similarity of their embeddings and reports it as ``score``. Items put
    with ``index=False`` or without the field have no vector and are not returned by
    a query search; ``index=[paths]`` embeds other fields of that item."""
    r = root()
    ns = [r, "docs"]
    texts = {"a": "apples and bananas", "b": "zebra quiz", "c": "banana bread"}
    for key, text in texts.items():
        await client.store.put_item(ns, key, {"text": text})
    await client.store.put_item(ns, "hidden", {"text": "apples and bananas"}, index=False)
    await client.store.put_item(ns, "untexted", {"title": "apples"})
    await client.store.put_item(ns, "titled", {"title": "bananas", "text": "zzz"}, index=["title"])

    query = "bananas"
    found = (await client.store.search_items([r], query=query, limit=10))["items"]
    expected = {k: cosine(query, t) for k, t in {**texts, "titled": "bananas"}.items()}
    assert sorted(i["key"] for i in found) == sorted(expected)
    assert [i["key"] for i in found] == sorted(expected, key=lambda k: -expected[k])
    for i in found:
        assert i["score"] == pytest.approx(expected[i["key"]], abs=1e-4)
    assert found[0]["key"] == "titled" and found[0]["score"] == pytest.approx(1.0, abs=1e-4)

    top = (await client.store.search_items([r], query=query, limit=2))["items"]
    assert [i["key"] for i in top] == [i["key"] for i in found[:2]]
    filtered = (await client.store.search_items([r], query=query, filter={"text": "zebra quiz"}))["items"]
    assert [i["key"] for i in filtered] == ["b"]
    # a plain search still lists every item, unscored
    plain = (await client.store.search_items([r], limit=20))["items"]
    assert len(plain) == 6 and all(i["score"] is None for i in plain)

    # re-putting an item re-embeds it; deleting it drops it from query results
    await client.store.put_item(ns, "b", {"text": "bananas"})
    again = (await client.store.search_items([r], query=query))["items"]
    assert {i["key"]: i["score"] for i in again}["b"] == pytest.approx(1.0, abs=1e-4)
    await client.store.delete_item(ns, "b")
    assert "b" not in [i["key"] for i in (await client.store.search_items([r], query=query))["items"]]


async def test_list_namespaces(client):
    """As in langgraph-api 0.16.7: prefix, max_depth (truncated and de-duplicated),
    suffix, limit and offset."""
    r = root()
    for ns in ([r, "users"], [r, "teams"], [r, "users", "prefs"], [r, "teams", "prefs"], [f"{r}z", "users"]):
        await client.store.put_item(ns, "k", {"v": 1})

    listed = await client.store.list_namespaces(prefix=[r])
    assert listed == {"namespaces": [[r, "teams"], [r, "teams", "prefs"], [r, "users"], [r, "users", "prefs"]]}
    assert await client.store.list_namespaces(prefix=[r], max_depth=1) == {"namespaces": [[r]]}
    assert (await client.store.list_namespaces(prefix=[r], max_depth=2))["namespaces"] == [[r, "teams"], [r, "users"]]
    assert (await client.store.list_namespaces(prefix=[r], suffix=["prefs"]))["namespaces"] == [
        [r, "teams", "prefs"], [r, "users", "prefs"]
    ]
    assert (await client.store.list_namespaces(prefix=[r, "*", "prefs"]))["namespaces"] == [
        [r, "teams", "prefs"], [r, "users", "prefs"]
    ]
    assert (await client.store.list_namespaces(prefix=[r], limit=2, offset=1))["namespaces"] == [
        [r, "teams", "prefs"], [r, "users"]
    ]


def test_namespace_and_body_errors(http, sync_client):
    """As in langgraph-api 0.16.7: a bad namespace label is a text/plain 422; a
    non-object value a JSON-schema 422."""
    r = http.put("/store/items", json={"namespace": ["a.b"], "key": "k", "value": {}})
    assert r.status_code == 422
    assert r.text == "Namespace label 'a.b' must be a non-empty string without periods"
    assert r.headers["content-type"].startswith("text/plain")

    r = http.put("/store/items", json={"namespace": ["x"], "key": "k", "value": "not-an-object"})
    assert r.status_code == 422
    assert r.json() == {
        "detail": '"not-an-object" is not of type "object"\n\nFailed validating "type" in schema["properties"]'
        '["value"]\n\nOn instance["value"]:\n    "not-an-object"'
    }
    r = http.put("/store/items", json={"namespace": ["x"], "value": {}})
    assert r.status_code == 422 and r.json()["detail"].startswith('"key" is a required property')

    r = http.get("/store/items", params={"namespace": "a..b", "key": "k"})
    assert r.status_code == 422 and r.text == "Namespace label '' must be a non-empty string without periods"
    r = http.request("DELETE", "/store/items", json={"namespace": ["a.b"], "key": "k"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/plain")

    # through the SDK: its typed error; the text/plain body is on the response
    with pytest.raises(UnprocessableEntityError) as caught:
        sync_client.store.search_items(["x", ""])
    assert caught.value.response.text == "Namespace label '' must be a non-empty string without periods"
    with pytest.raises(UnprocessableEntityError) as caught:
        sync_client.store.list_namespaces(prefix=["x.y"])
    assert caught.value.response.text == "Namespace label 'x.y' must be a non-empty string without periods"
    with pytest.raises(UnprocessableEntityError, match='is not of type "integer"'):
        sync_client.store.search_items(["x"], limit="ten")
    # LangGraph's own rule: no namespace under the reserved root label
    with pytest.raises(UnprocessableEntityError) as caught:
        sync_client.store.put_item(["langgraph", "x"], "k", {})
    assert "langgraph" in caught.value.response.text


async def test_ttl_expiry(client):
    """An item put with ``ttl`` (minutes; 0.02 = 1.2 s) is deleted by the sweeper
    (``store.ttl.sweep_interval_minutes`` 0.01 in the test config); items without a
    TTL stay. Reads with ``refresh_ttl=False`` do not extend it."""
    r = root()
    await client.store.put_item([r], "short", {"v": 1}, ttl=0.02)
    await client.store.put_item([r], "forever", {"v": 2})
    assert (await client.store.get_item([r], "short", refresh_ttl=False))["value"] == {"v": 1}
    started = time.monotonic()
    await wait_for(lambda: _gone(client, [r], "short"), timeout=30)
    assert time.monotonic() - started > 0.5
    assert (await client.store.get_item([r], "forever"))["value"] == {"v": 2}
    assert [i["key"] for i in (await client.store.search_items([r]))["items"]] == ["forever"]


async def _gone(client, ns, key) -> bool:
    return await client.store.get_item(ns, key, refresh_ttl=False) is None


async def test_refresh_ttl_on_read(client):
    """Reads with ``refresh_ttl=True`` (the configured default ``refresh_on_read``)
    restart an item's TTL: read every 0.3 s it outlives its 3 s TTL; left alone, it
    expires."""
    r = root()
    await client.store.put_item([r], "kept", {"v": 1}, ttl=0.05)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        assert await client.store.get_item([r], "kept", refresh_ttl=True) is not None
        await asyncio.sleep(0.3)
    # search refreshes too (refresh_on_read)
    assert [i["key"] for i in (await client.store.search_items([r]))["items"]] == ["kept"]
    await wait_for(lambda: _gone(client, [r], "kept"), timeout=30)


async def test_graph_nodes_share_the_store(client):
    """A graph's async node uses ``runtime.store`` and its sync node ``get_store()``
    inside their Temporal activities; they see what the API put, and the API sees
    what they put."""
    user = root()
    await client.store.put_item(["memories", user], "profile", {"lang": "en"}, index=False)
    thread = await client.threads.create()
    first = await client.runs.wait(thread["thread_id"], "store_memory", input={"user": user, "note": "apples"})
    assert first["count"] == 1 and first["profile"] == {"lang": "en"}
    assert first["recalled"] == [["note-1", pytest.approx(1.0, abs=1e-4)]]

    second = await client.runs.wait(thread["thread_id"], "store_memory", input={"user": user, "note": "bananas"})
    assert second["count"] == 2
    assert [k for k, _ in second["recalled"]] == ["note-2", "note-1"]
    assert second["recalled"][1][1] == pytest.approx(cosine("bananas", "apples"), abs=1e-4)

    assert (await client.store.get_item(["memories", user], "counter"))["value"] == {"count": 2}
    assert (await client.store.get_item(["memories", user], "note-2"))["value"] == {"text": "bananas"}
    found = (await client.store.search_items(["memories", user], query="bananas"))["items"]
    assert [i["key"] for i in found] == ["note-2", "note-1"]


PG_URI = os.environ.get("EVERGRAPH_TEST_POSTGRES_URI")


@pytest.mark.skipif(not PG_URI, reason="EVERGRAPH_TEST_POSTGRES_URI is not set (.ci/run starts PostgreSQL and sets it)")
async def test_store_on_postgres(temporal_server, tmp_path: Path):
    """With ``EVERGRAPH_DATABASE_URI=postgresql://…`` the store is LangGraph's
    ``AsyncPostgresStore``: items put through the API, by a node, TTL expiry."""
    config = tmp_path / "langgraph.json"
    graphs = ROOT / "tests" / "graphs"
    config.write_text(
        '{"graphs": {"store_memory": "%s/store_graphs.py:memory"}, "store": {"ttl": {"sweep_interval_minutes": 0.01}}}'
        % graphs.as_posix()
    )
    port = free_port()
    proc = EvergraphProcess(
        ["dev", "--config", str(config), "--port", str(port)],
        evergraph_env(
            temporal_server.address, tmp_path / "data", EVERGRAPH_DATABASE_URI=PG_URI,
            EVERGRAPH_TASK_QUEUE=f"evergraph-pg-store-{port}",
        ),
        tmp_path / "evergraph.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        proc.wait_ready(url)
        client = get_client(url=url)
        user = root()
        await client.store.put_item(["memories", user], "profile", {"lang": "pg"})
        thread = await client.threads.create()
        out = await client.runs.wait(thread["thread_id"], "store_memory", input={"user": user, "note": "x"})
        assert out["profile"] == {"lang": "pg"} and out["count"] == 1
        assert (await client.store.get_item(["memories", user], "counter"))["value"] == {"count": 1}
        listed = await client.store.list_namespaces(prefix=["memories", user])
        assert listed["namespaces"] == [["memories", user]]
        await client.store.put_item([user], "short", {"v": 1}, ttl=0.02)
        await wait_for(lambda: _gone(client, [user], "short"), timeout=30)
        async with httpx.AsyncClient(base_url=url) as http:
            r = await http.put("/store/items", json={"namespace": ["a.b"], "key": "k", "value": {}})
            assert r.status_code == 422 and r.headers["content-type"].startswith("text/plain")
    finally:
        proc.stop()


@pytest.mark.parametrize(
    ("store", "message"),
    [
        ({"index": {"embed": "./store_graphs.py:embed"}}, "'store.index.dims' must be a positive integer"),
        ({"index": {"dims": 4, "embed": "nothing"}}, "'store.index.embed' must be"),
        ({"index": {"dims": 4, "embed": "x:y", "distance_type": "manhattan"}}, "'store.index.distance_type'"),
        ({"ttl": {"default_ttl": -1}}, "'store.ttl.default_ttl' must be a positive number of minutes"),
        ({"ttl": {"refresh_on_read": "yes"}}, "'store.ttl.refresh_on_read' must be true or false"),
    ],
)
def test_store_config_errors(tmp_path: Path, store, message):
    """``langgraph.json``'s ``store`` key is checked when the file is loaded, naming the key."""
    import json

    from evergraph.adapter.graphs.config import ConfigError, load_config

    path = tmp_path / "langgraph.json"
    path.write_text(json.dumps({"graphs": {"g": "./g.py:graph"}, "store": store}))
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(path)


def test_store_embed_that_does_not_load(tmp_path: Path):
    """A missing ``embed`` file stops start-up with a message naming ``store.index.embed``."""
    from evergraph.adapter.graphs.config import ConfigError, StoreConfig
    from evergraph.adapter.graphs.store import load_embeddings

    with pytest.raises(ConfigError, match="store.index.embed './nope.py:embed'.*file not found"):
        load_embeddings(StoreConfig(index={"dims": 4, "embed": "./nope.py:embed"}, base_dir=tmp_path))
    graphs = ROOT / "tests" / "graphs"
    vectors = load_embeddings(StoreConfig(index={"dims": 26, "embed": "./store_graphs.py:embed"}, base_dir=graphs))
    assert vectors.embed_query("ab") == embed(["ab"])[0]
