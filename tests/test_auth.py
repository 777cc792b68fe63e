"""Authentication and authorization (``langgraph.json`` ``auth.path`` and the built-in
API-key mode), through the official SDK against dedicated ``evergraph dev`` processes.

``tests/graphs/auth_handlers.py`` maps bearer tokens to users, stamps
``metadata.owner`` on everything created and filters every read by it; store
namespaces are prefixed with the user's identity. Two users must never see or change
each other's resources through any endpoint.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from langgraph_sdk import Auth, get_client
from langgraph_sdk.errors import NotFoundError, PermissionDeniedError

from evergraph.adapter.resources.auth import AuthError, Authenticator, AuthUser, filter_matches
from evergraph.adapter.process.devserver import free_port
from tests.conftest import GRAPHS_CONFIG, ROOT, EvergraphProcess, evergraph_env, wait_for

AUTH_CONFIG = ROOT / "tests" / "graphs" / "langgraph_auth.json"
ALICE = {"Authorization": "Bearer token-alice"}
BOB = {"Authorization": "Bearer token-bob"}
READER = {"Authorization": "Bearer token-reader"}


def _start(tmp_path_factory, temporal_server, config, name: str, host: str = "127.0.0.1", **env: str):
    port = free_port()
    data = tmp_path_factory.mktemp(name)
    proc = EvergraphProcess(
        ["dev", "--config", str(config), "--port", str(port), "--host", host],
        evergraph_env(temporal_server.address, data / "data", EVERGRAPH_TASK_QUEUE=f"{name}-{port}", **env),
        data / f"{name}.log",
    )
    url = f"http://127.0.0.1:{port}"
    proc.wait_ready(url)
    return proc, url


@pytest.fixture(scope="module")
def auth_server(temporal_server, tmp_path_factory):
    """``evergraph dev`` with ``auth.path`` = tests/graphs/auth_handlers.py:auth."""
    proc, url = _start(tmp_path_factory, temporal_server, AUTH_CONFIG, "auth", host="0.0.0.0")
    yield proc, url
    proc.stop()


@pytest.fixture
def url(auth_server):
    return auth_server[1]


def _clients(url: str):
    return get_client(url=url, headers=ALICE), get_client(url=url, headers=BOB)


async def _hidden(coro) -> None:
    """The call must answer 404 (not 403, not 200)."""
    try:
        await coro
    except NotFoundError:
        return
    except httpx.HTTPStatusError as exc:  # runs.wait / join / cancel(wait) raise plain httpx errors
        assert exc.response.status_code == 404, exc.response.text
        return
    raise AssertionError("another user's resource was visible")


# ------------------------------------------------------------------------ authentication


def test_requests_without_valid_credentials_are_401(url, auth_server):
    with httpx.Client(base_url=url, timeout=30) as http:
        r = http.post("/threads/search", json={})
        assert r.status_code == 401 and r.json() == {"detail": "Missing bearer token"}
        r = http.post("/threads", json={}, headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401 and r.json() == {"detail": "Invalid bearer token"}
        r = http.get(f"/threads/{uuid.uuid4()}/runs/{uuid.uuid4()}/stream", headers={"Authorization": "Basic x"})
        assert r.status_code == 401
        assert http.get("/ok").status_code == 200  # liveness needs no credentials
        assert http.post("/threads/search", json={}, headers=ALICE).status_code == 200
    # the server listens on 0.0.0.0 with auth configured: no warning
    assert "WARNING" not in auth_server[0].output()


def test_the_authenticate_handler_gets_no_path_parameters(url):
    """``@auth.authenticate`` runs before routing: its ``path_params`` are empty, as
    langgraph-api 0.16.7 gives them (its handler sees ``{}`` for
    ``/threads/<id>/runs/<id>`` too)."""
    headers = {"Authorization": "Bearer token-path-params"}
    with httpx.Client(base_url=url, timeout=30) as http:
        for r in (http.get(f"/threads/{uuid.uuid4()}/runs/{uuid.uuid4()}", headers=headers),
                  http.post("/threads/search", json={}, headers=headers)):
            assert r.status_code == 403 and json.loads(r.json()["detail"]) == {"path_params": {}}


# ------------------------------------------------------------------------------ threads


async def test_threads_are_private_to_their_owner(url):
    alice, bob = _clients(url)
    thread = await alice.threads.create(metadata={"topic": "secret", "owner": "bob"})
    tid = thread["thread_id"]
    assert thread["metadata"] == {"topic": "secret", "owner": "alice"}  # stamped over the client's value
    mine = await bob.threads.create(metadata={"topic": "secret"})
    assert mine["metadata"]["owner"] == "bob"

    assert [t["thread_id"] for t in await alice.threads.search(metadata={"topic": "secret"})] == [tid]
    assert [t["thread_id"] for t in await bob.threads.search(metadata={"topic": "secret"})] == [mine["thread_id"]]
    assert tid not in [t["thread_id"] for t in await bob.threads.search(limit=1000)]
    assert await alice.threads.count(metadata={"topic": "secret"}) == 1
    assert await bob.threads.count(metadata={"topic": "secret"}) == 1
    assert await bob.threads.search(ids=[tid]) == []

    await _hidden(bob.threads.get(tid))
    await _hidden(bob.threads.update(tid, metadata={"owner": "bob"}))
    await _hidden(bob.threads.delete(tid))
    await _hidden(bob.threads.copy(tid))
    await _hidden(bob.threads.get_state(tid))
    await _hidden(bob.threads.get_history(tid))
    await _hidden(bob.threads.update_state(tid, {"n": 99}, as_node="step1"))
    async with httpx.AsyncClient(base_url=url, headers=BOB, timeout=30) as http:
        assert (await http.get(f"/threads/{tid}/history")).status_code == 404
        assert (await http.get(f"/threads/{tid}/stream")).status_code == 404
        r = await http.post("/threads", json={"thread_id": tid, "if_exists": "do_nothing"})
        assert r.status_code == 409
        r = await http.post("/threads/prune", json={"thread_ids": [tid]})
        assert r.json() == {"pruned_count": 0}

    # nothing changed for the owner, and the owner can do all of it
    got = await alice.threads.get(tid)
    assert got["metadata"] == {"topic": "secret", "owner": "alice"}
    copied = await alice.threads.copy(tid)
    assert copied["metadata"]["owner"] == "alice"
    assert await alice.threads.count(metadata={"topic": "secret"}) == 2
    await alice.threads.update(tid, metadata={"more": 1})
    await alice.threads.delete(tid)
    await _hidden(alice.threads.get(tid))


async def test_permissions_and_the_most_specific_handler(url):
    alice = get_client(url=url, headers=ALICE)
    reader = get_client(url=url, headers=READER)
    with pytest.raises(PermissionDeniedError, match="Forbidden"):
        await reader.threads.create()
    tid = (await alice.threads.create())["thread_id"]
    # threads.delete has its own handler (403 with its message) over the global one (a filter: 404)
    with pytest.raises(PermissionDeniedError, match="Readers cannot delete"):
        await reader.threads.delete(tid)
    await _hidden(reader.threads.get(tid))
    assert (await alice.threads.get(tid))["thread_id"] == tid


# --------------------------------------------------------------------------------- runs


async def test_runs_are_private_to_the_thread_owner(url):
    alice, bob = _clients(url)
    assistant = await alice.assistants.create("slow", name="alice-slow")
    aid = assistant["assistant_id"]
    assert assistant["metadata"] == {"owner": "alice"}
    tid = (await alice.threads.create())["thread_id"]
    run = await alice.runs.create(tid, aid, input={"sleep": 4, "n": 0})
    rid = run["run_id"]
    assert run["metadata"]["owner"] == "alice"
    # the graph gets the authenticated user, as under langgraph-api
    configurable = run["kwargs"]["config"]["configurable"]
    assert configurable["langgraph_auth_user_id"] == "alice" and configurable["user_id"] == "alice"
    assert configurable["langgraph_auth_permissions"] == ["write"]
    assert configurable["langgraph_auth_user"]["display_name"] == "Alice"

    await _hidden(bob.runs.list(tid))
    await _hidden(bob.runs.get(tid, rid))
    await _hidden(bob.runs.cancel(tid, rid))
    await _hidden(bob.runs.cancel(tid, rid, wait=True))
    await _hidden(bob.runs.delete(tid, rid))
    await _hidden(bob.runs.create(tid, aid, input={"n": 0}))
    bob_assistant = await bob.assistants.create("slow")
    await _hidden(bob.runs.create(tid, bob_assistant["assistant_id"], input={"n": 0}))  # alice's thread
    await _hidden(bob.runs.wait(tid, bob_assistant["assistant_id"], input={"n": 0}))
    await _hidden(bob.runs.create(None, aid, input={"n": 0}))  # alice's assistant
    await _hidden(bob.runs.wait(None, "slow", input={"n": 0}))  # the system assistant has no owner
    with pytest.raises(NotFoundError):
        async for _ in bob.runs.stream(tid, bob_assistant["assistant_id"], input={"n": 0}):
            pass
    with pytest.raises(NotFoundError):
        async for _ in bob.runs.join_stream(tid, rid):
            pass
    await _hidden(bob.runs.join(tid, rid))  # 404 as get answers (langgraph-api 0.16.7: 200 + error body)
    async with httpx.AsyncClient(base_url=url, headers=BOB, timeout=30) as http:
        r = await http.post("/runs/cancel", json={"thread_id": tid, "run_ids": [rid]})
        assert r.status_code == 404
        r = await http.post("/runs/cancel", json={"thread_id": tid})
        assert r.status_code == 422  # neither form of RunsCancel, as langgraph-api 0.16.7 answers
        r = await http.post(f"/threads/{tid}/commands", json={
            "id": 1, "method": "run.start", "params": {"assistant_id": bob_assistant["assistant_id"], "input": {}}})
        assert r.status_code == 404

    # alice's run went on untouched
    assert (await alice.runs.get(tid, rid))["status"] in ("pending", "running")
    assert await alice.runs.join(tid, rid) == {"n": 1, "log": ["step1"], "sleep": 4}
    assert [r["run_id"] for r in await alice.runs.list(tid)] == [rid]

    # a run that creates its thread, and a stateless run: the owner sees what they made
    new_tid = str(uuid.uuid4())
    await alice.runs.wait(new_tid, aid, input={"n": 0}, if_not_exists="create")
    assert (await alice.threads.get(new_tid))["metadata"]["owner"] == "alice"
    await _hidden(bob.threads.get(new_tid))
    stateless = [c async for c in alice.runs.stream(None, aid, input={"n": 0}, stream_mode="values")]
    assert stateless[-1].data["n"] == 1


# --------------------------------------------------------------------------- assistants


async def test_assistants_are_private_to_their_owner(url):
    alice, bob = _clients(url)
    assistant = await alice.assistants.create("chain", metadata={"kind": "mine"}, name="alice-chain")
    aid = assistant["assistant_id"]
    assert assistant["metadata"] == {"kind": "mine", "owner": "alice"}
    found = await alice.assistants.search(limit=1000)
    assert aid in [a["assistant_id"] for a in found]
    assert all(a["metadata"].get("owner") == "alice" for a in found)  # no system or bob assistants
    assert aid not in [a["assistant_id"] for a in await bob.assistants.search(limit=1000)]
    assert await bob.assistants.count(metadata={"kind": "mine"}) == 0
    assert await alice.assistants.count(metadata={"kind": "mine"}) >= 1

    await _hidden(bob.assistants.get(aid))
    await _hidden(bob.assistants.update(aid, metadata={"owner": "bob"}))
    await _hidden(bob.assistants.delete(aid))
    await _hidden(bob.assistants.get_graph(aid))
    await _hidden(bob.assistants.get_schemas(aid))
    await _hidden(bob.assistants.get_subgraphs(aid))
    await _hidden(bob.assistants.get_versions(aid))
    await _hidden(bob.assistants.set_latest(aid, 1))
    async with httpx.AsyncClient(base_url=url, headers=BOB, timeout=30) as http:
        r = await http.post("/assistants", json={"graph_id": "chain", "assistant_id": aid, "if_exists": "do_nothing"})
        assert r.status_code == 409

    assert (await alice.assistants.get(aid))["metadata"] == {"kind": "mine", "owner": "alice"}
    updated = await alice.assistants.update(aid, metadata={"more": 1})
    assert updated["version"] == 2
    await alice.assistants.delete(aid)


# -------------------------------------------------------------------------------- crons


async def test_crons_are_private_to_their_owner(url):
    alice, bob = _clients(url)
    aid = (await alice.assistants.create("chain"))["assistant_id"]
    tid = (await alice.threads.create())["thread_id"]
    cron = await alice.crons.create(aid, schedule="0 0 1 1 *", input={"n": 0}, metadata={"job": "yearly"})
    cid = cron["cron_id"]
    assert cron["metadata"] == {"job": "yearly", "owner": "alice"}
    on_thread = await alice.crons.create_for_thread(tid, aid, schedule="0 0 1 1 *", input={"n": 0})
    try:
        mine = {c["cron_id"] for c in await alice.crons.search(limit=100)}
        assert {cid, on_thread["cron_id"]} <= mine
        assert not {cid, on_thread["cron_id"]} & {c["cron_id"] for c in await bob.crons.search(limit=100)}
        assert await bob.crons.count(assistant_id=aid) == 0
        assert await alice.crons.count(assistant_id=aid) == 2

        await _hidden(bob.crons.update(cid, schedule="0 0 2 1 *"))
        await _hidden(bob.crons.delete(cid))
        await _hidden(bob.crons.create(aid, schedule="0 0 1 1 *"))  # alice's assistant
        bob_aid = (await bob.assistants.create("chain"))["assistant_id"]
        await _hidden(bob.crons.create_for_thread(tid, bob_aid, schedule="0 0 1 1 *"))  # alice's thread
        async with httpx.AsyncClient(base_url=url, headers=BOB, timeout=30) as http:
            assert (await http.get(f"/runs/crons/{cid}")).status_code == 404
        async with httpx.AsyncClient(base_url=url, headers=ALICE, timeout=30) as http:
            got = (await http.get(f"/runs/crons/{cid}")).json()
        assert got["schedule"] == "0 0 1 1 *" and got["metadata"]["owner"] == "alice"
        updated = await alice.crons.update(cid, schedule="0 0 3 1 *")
        assert updated["schedule"] == "0 0 3 1 *"
    finally:
        await alice.crons.delete(cid)
        await alice.crons.delete(on_thread["cron_id"])


# -------------------------------------------------------------------------------- store


async def test_store_items_are_scoped_to_the_user(url):
    alice, bob = _clients(url)
    await alice.store.put_item(["notes"], "plan", {"text": "alice's plan"})
    await bob.store.put_item(["notes"], "plan", {"text": "bob's plan"})

    a_item = await alice.store.get_item(["notes"], "plan")
    b_item = await bob.store.get_item(["notes"], "plan")
    assert a_item["namespace"] == ["alice", "notes"] and a_item["value"] == {"text": "alice's plan"}
    assert b_item["namespace"] == ["bob", "notes"] and b_item["value"] == {"text": "bob's plan"}
    # naming the other user's namespace explicitly only reaches one's own
    assert await bob.store.get_item(["alice", "notes"], "plan") is None
    assert [i["value"]["text"] for i in (await bob.store.search_items(["notes"]))["items"]] == ["bob's plan"]
    assert [i["value"]["text"] for i in (await bob.store.search_items([]))["items"]] == ["bob's plan"]
    assert (await bob.store.list_namespaces())["namespaces"] == [["bob", "notes"]]
    await bob.store.delete_item(["alice", "notes"], "plan")
    await bob.store.delete_item(["notes"], "plan")
    assert await bob.store.get_item(["notes"], "plan") is None
    assert (await alice.store.get_item(["notes"], "plan"))["value"] == {"text": "alice's plan"}


# ------------------------------------------------------------------------ core, no server


async def test_handler_choice_and_filters():
    auth = Auth()
    calls: list[str] = []

    @auth.on
    async def everything(ctx, value):
        calls.append("global")
        return False

    @auth.on.threads
    async def threads_any(ctx, value):
        calls.append("threads")
        return {"owner": ctx.user.identity}

    @auth.on.threads.create
    async def threads_create(ctx, value):
        calls.append("threads.create")
        value["metadata"]["owner"] = ctx.user.identity

    @auth.on(resources="*", actions="search")
    async def any_search(ctx, value):
        calls.append("*.search")
        return {"tags": {"$contains": ctx.user.identity}}

    authenticator = Authenticator(auth)
    user = AuthUser({"identity": "carol", "permissions": ["p"], "team": "x"})
    assert user.team == "x" and user["identity"] == "carol" and user.display_name == "carol"
    value = {"metadata": {}}
    assert await authenticator.authorize(user, "threads", "create", value) is None
    assert value == {"metadata": {"owner": "carol"}}
    assert await authenticator.authorize(user, "threads", "read", {}) == {"owner": "carol"}
    assert await authenticator.authorize(user, "threads", "search", {}) == {"owner": "carol"}
    assert await authenticator.authorize(user, "assistants", "search", {}) == {"tags": {"$contains": "carol"}}
    with pytest.raises(AuthError) as err:
        await authenticator.authorize(user, "crons", "read", {})
    assert err.value.status == 403
    assert calls == ["threads.create", "threads", "threads", "*.search", "global"]

    assert filter_matches({"owner": "a", "x": 1}, {"owner": "a"})
    assert not filter_matches({"owner": "b"}, {"owner": "a"})
    assert not filter_matches({}, {"owner": "a"})
    assert filter_matches({"owner": "a"}, {"owner": {"$eq": "a"}})
    assert filter_matches({"tags": ["a", "b"]}, {"tags": {"$contains": "a"}})
    assert filter_matches({"tags": ["a", "b"]}, {"tags": {"$contains": ["a", "b"]}})
    assert not filter_matches({"tags": ["a"]}, {"tags": {"$contains": ["a", "b"]}})
    assert not filter_matches({"tags": "a"}, {"tags": {"$contains": "a"}})


# ------------------------------------------------------------------------------ API keys


@pytest.fixture(scope="module")
def api_key_server(temporal_server, tmp_path_factory):
    """``evergraph dev`` without auth.path but with EVERGRAPH_API_KEYS."""
    proc, url = _start(
        tmp_path_factory, temporal_server, GRAPHS_CONFIG, "apikeys", host="0.0.0.0",
        EVERGRAPH_API_KEYS="key-one, key-two",
    )
    yield proc, url
    proc.stop()


async def test_api_key_mode(api_key_server):
    proc, url = api_key_server
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        r = await http.post("/threads/search", json={})
        assert r.status_code == 401 and r.json() == {"detail": "Missing x-api-key header"}
        r = await http.post("/threads/search", json={}, headers={"x-api-key": "key-three"})
        assert r.status_code == 401 and r.json() == {"detail": "Invalid API key"}
        assert (await http.get("/ok")).status_code == 200
    one = get_client(url=url, api_key="key-one")
    two = get_client(url=url, api_key="key-two")
    thread = await one.threads.create()
    # every key is the same identity: no isolation between keys
    assert (await two.threads.get(thread["thread_id"]))["thread_id"] == thread["thread_id"]
    result = await two.runs.wait(thread["thread_id"], "chain", input={"n": 0})
    assert result["n"] == 3
    assert "WARNING" not in proc.output()


async def test_warning_without_auth_on_a_public_address(temporal_server, tmp_path_factory):
    proc, _url = _start(tmp_path_factory, temporal_server, GRAPHS_CONFIG, "noauth", host="0.0.0.0")
    try:
        await wait_for(lambda: "WARNING" in proc.output(), timeout=10)
        assert "without authentication" in proc.output() and "EVERGRAPH_API_KEYS" in proc.output()
    finally:
        await asyncio.to_thread(proc.stop)


def test_auth_config_errors_name_the_key(tmp_path):
    from evergraph.adapter.resources.auth import build_authenticator
    from evergraph.adapter.graphs.config import ConfigError, load_config

    (tmp_path / "g.py").write_text("graph = None\nnot_auth = 42\n")
    (tmp_path / "a.py").write_text(
        "from langgraph_sdk import Auth\nauth = Auth()\n\n@auth.authenticate\nasync def f(body):\n    return 'x'\n"
    )

    def config(auth):
        path = tmp_path / "langgraph.json"
        path.write_text(__import__("json").dumps({"graphs": {"g": "./g.py:graph"}, "auth": auth}))
        return load_config(path)

    with pytest.raises(ConfigError, match="'auth.path' must be"):
        config({"path": "./a.py"})
    with pytest.raises(ConfigError, match="auth.cache.ttl_seconds"):
        config({"path": "./a.py:auth", "cache": {"ttl_seconds": -1}})
    with pytest.raises(ConfigError, match=r"auth.path './g.py:not_auth' must name a langgraph_sdk.Auth"):
        build_authenticator(config({"path": "./g.py:not_auth"}).auth)
    with pytest.raises(ConfigError, match=r"auth.path './missing.py:auth'.*not found"):
        build_authenticator(config({"path": "./missing.py:auth"}).auth)
    with pytest.raises(ConfigError, match=r"parameter\(s\) \['body'\]"):
        build_authenticator(config({"path": "./a.py:auth"}).auth)
