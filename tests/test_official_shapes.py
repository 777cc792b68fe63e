"""REST shapes compared with what langgraph-api 0.16.7 (``langgraph dev``) answered
for the graphs of tests/graphs/shapes.py: graph ids in assistant paths, system
assistant names, ``/schemas``, ``/graph`` drawings, run/checkpoint metadata, the
thread ``config``, ``configurable`` mirrored into ``context``, and cancelling runs
that have ended. Expected values are the reference server's answers."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from langgraph.pregel.remote import RemoteGraph
from langgraph_sdk.errors import NotFoundError, UnprocessableEntityError

from evergraph.adapter.ids import system_assistant_id
from tests.conftest import running_evergraph

CTX = system_assistant_id("shapes_context")
CONF = system_assistant_id("shapes_config")
NOT_A_UUID = {"detail": "Invalid assistant ID: must be a UUID"}
NO_MATCHING = {
    "detail": "No matching runs to cancel. Please verify the thread ID and run IDs are correct, "
    "and the runs haven't been deleted or completed."
}
NO_RUNS_FOUND = {"detail": "No runs found to cancel."}


def _node(node_id: str) -> dict:
    return {"id": node_id, "type": "runnable", "data": {"name": node_id}}


#: langgraph-api 0.16.7's drawings of shapes_context (xray 2 and up, and true, are alike)
FLAT = {
    "nodes": [_node("__start__"), _node("record"), _node("sub"), {"id": "__end__"}],
    "edges": [
        {"source": "__start__", "target": "record"},
        {"source": "record", "target": "__end__", "conditional": True},
        {"source": "record", "target": "sub", "conditional": True},
        {"source": "sub", "target": "__end__"},
    ],
}


def _xray(leaf: str) -> dict:
    return {
        "nodes": [_node("__start__"), _node("record"), {"id": "__end__"}, _node("sub:inner"), _node(leaf)],
        "edges": [
            {"source": "__start__", "target": "record"},
            {"source": "record", "target": "__end__", "conditional": True},
            {"source": "record", "target": "sub:inner", "conditional": True},
            {"source": leaf, "target": "__end__"},
            {"source": "sub:inner", "target": leaf},
        ],
    }


XRAY_1 = _xray("sub:deep")
XRAY_FULL = _xray("sub:deep:deepest")

_TEXT = {"title": "Text", "type": "string"}
_LOG = {"items": {"type": "string"}, "title": "Log", "type": "array"}
_SEEN = {"additionalProperties": True, "title": "Seen", "type": "object"}


def _io(title: str, **props: dict) -> dict:
    return {"properties": props, "title": title, "type": "object"}


def _state(title: str, **props: dict) -> dict:
    return {"properties": {k: {"default": None, **v} for k, v in props.items()}, "title": title, "type": "object"}


def _schemas(graph_id: str, state_title: str, ctx_title: str, **ctx_props: dict) -> dict:
    context = {"properties": ctx_props, "title": ctx_title, "type": "object"}
    return {
        "graph_id": graph_id,
        "input_schema": _io("State", text=_TEXT, log=_LOG, seen=_SEEN),
        "output_schema": _io("State", text=_TEXT, log=_LOG, seen=_SEEN),
        "state_schema": _state(state_title, text=_TEXT, log=_LOG, seen=_SEEN),
        "config_schema": context,
        "context_schema": context,
    }


_MODEL = {"title": "Model", "type": "string"}

#: /schemas of shapes_context (context_schema=Ctx) and shapes_config (config_schema=Conf)
CTX_SCHEMAS = _schemas(
    "shapes_context", "ShapesContextGraphState", "Ctx", model=_MODEL,
    temperature={"title": "Temperature", "type": "number"},
)
CONF_SCHEMAS = _schemas(
    "shapes_config", "shapes_config_state", "Conf", model=_MODEL,
    user_name={"title": "User Name", "type": "string"},
)
_INNER = {
    "input_schema": _io("Inner", text=_TEXT, log=_LOG),
    "output_schema": _io("Inner", text=_TEXT, log=_LOG),
    "state_schema": _state("LangGraphState", text=_TEXT, log=_LOG),
    "config_schema": {},
    "context_schema": None,
}


# -------------------------------------------------------------- graph ids in assistant paths


def test_remote_graph_draws_a_graph_named_by_its_graph_id(server):
    """``RemoteGraph("<graph id>").get_graph()`` works: ``/graph`` takes a graph id."""
    remote = RemoteGraph("shapes_context", url=server)
    flat = remote.get_graph()
    assert list(flat.nodes) == ["__start__", "record", "sub", "__end__"]
    xray = remote.get_graph(xray=True)
    assert list(xray.nodes) == ["__start__", "record", "__end__", "sub:inner", "sub:deep:deepest"]
    assert list(remote.get_graph(xray=1).nodes) == ["__start__", "record", "__end__", "sub:inner", "sub:deep"]


async def test_remote_graph_draws_asynchronously_too(server):
    drawn = await RemoteGraph("shapes_config", url=server).aget_graph(xray=True)
    assert list(drawn.nodes) == ["__start__", "record", "__end__"]


@pytest.mark.parametrize("xray", [None, "true", "1", "2"])
def test_graph_by_graph_id_is_the_system_assistants_graph(http, xray):
    params = {} if xray is None else {"xray": xray}
    by_graph = http.get("/assistants/shapes_context/graph", params=params)
    assert by_graph.status_code == 200
    assert by_graph.json() == http.get(f"/assistants/{CTX}/graph", params=params).json()


def test_graph_of_an_unknown_non_uuid_is_422(http):
    r = http.get("/assistants/no-such-graph/graph")
    assert (r.status_code, r.json()) == (422, NOT_A_UUID)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "", None),
        ("PATCH", "", {"metadata": {"a": 1}}),
        ("DELETE", "", None),
        ("GET", "/schemas", None),
        ("GET", "/subgraphs", None),
        ("GET", "/subgraphs/sub", None),
        ("POST", "/versions", {}),
        ("POST", "/latest", {"version": 1}),
    ],
)
def test_other_assistant_paths_refuse_a_graph_id(http, method, path, body):
    """langgraph-api 0.16.7 takes a graph id in ``/graph`` only: 422 elsewhere."""
    for name in ("shapes_context", "no-such-graph"):
        r = http.request(method, f"/assistants/{name}{path}", json=body)
        assert (r.status_code, r.json()) == (422, NOT_A_UUID), (method, name, path)


async def test_runs_and_crons_take_a_graph_id(client, http):
    run = await client.runs.create(None, "shapes_config", input={"text": "x"}, on_completion="keep")
    assert run["assistant_id"] == CONF
    await client.runs.join(run["thread_id"], run["run_id"])
    cron = await client.crons.create("shapes_config", schedule="0 0 1 1 *")
    try:
        assert cron["assistant_id"] == CONF and cron["payload"]["assistant_id"] == CONF
    finally:
        await client.crons.delete(cron["cron_id"])


async def test_cron_with_an_unknown_assistant_is_404(client, http):
    """Cron creation answers 404 ``Assistant '<id>' not found`` for an unknown UUID
    and for a non-UUID that is no graph (run creation: 422 for the latter)."""
    tid = (await client.threads.create())["thread_id"]
    unknown = str(uuid.uuid4())
    for value in ("nope", unknown):
        for path in ("/runs/crons", f"/threads/{tid}/runs/crons"):
            r = http.post(path, json={"assistant_id": value, "schedule": "0 0 1 1 *"})
            assert (r.status_code, r.json()) == (404, {"detail": f"Assistant '{value}' not found"}), (path, value)
    with pytest.raises(UnprocessableEntityError):
        await client.runs.create(tid, "nope", input={})
    assert await client.crons.search(thread_id=tid) == []


# ---------------------------------------------------------------------- system assistants


@pytest.mark.parametrize(
    ("graph_id", "name"),
    [("shapes_context", "ShapesContextGraph"), ("shapes_config", "shapes_config"), ("shapes_factory", "shapes_factory")],
)
async def test_system_assistant_name(client, graph_id, name):
    """A compiled graph's own name (``compile(name=...)``) names its system assistant;
    LangGraph's default name and factories give the graph id."""
    system = await client.assistants.get(system_assistant_id(graph_id))
    assert (system["name"], system["graph_id"], system["metadata"]) == (name, graph_id, {"created_by": "system"})
    assert (system["description"], system["config"], system["context"], system["version"]) == (None, {}, {}, 1)


# -------------------------------------------------------------------------- graph views


async def test_schemas_of_a_graph_with_a_context_schema(client):
    assert await client.assistants.get_schemas(CTX) == CTX_SCHEMAS


async def test_schemas_of_a_graph_with_only_a_config_schema(client):
    assert await client.assistants.get_schemas(CONF) == CONF_SCHEMAS


async def test_subgraph_schemas(client):
    assert await client.assistants.get_subgraphs(CTX, recurse=True) == {"sub": _INNER, "sub|deep": _INNER}


@pytest.mark.parametrize(
    ("xray", "expected"),
    [(None, FLAT), ("false", FLAT), ("1", XRAY_1), ("2", XRAY_FULL), ("3", XRAY_FULL), ("true", XRAY_FULL),
     ("True", XRAY_FULL)],
)
def test_graph_drawings(http, xray, expected):
    """Every node of every drawing carries ``type`` and ``data.name``."""
    r = http.get(f"/assistants/{CTX}/graph", params={} if xray is None else {"xray": xray})
    assert (r.status_code, r.json()) == (200, expected)


@pytest.mark.parametrize("xray", ["0", "-1", "yes", "TRUE", "1.5"])
def test_graph_with_a_bad_xray_is_422(http, xray):
    r = http.get(f"/assistants/{CTX}/graph", params={"xray": xray})
    assert r.status_code == 422
    assert r.json()["detail"].startswith(f"Invalid xray value: '{xray}'")


# ------------------------------------------------------------------------ run metadata


async def test_run_and_checkpoint_metadata(server, client):
    thread = await client.threads.create(metadata={"m": 1})
    tid = thread["thread_id"]
    out = await client.runs.wait(tid, "shapes_context", input={"text": "hi"}, metadata={"mine": "x"},
                                 context={"model": "m1"})
    [run] = await client.runs.list(tid)
    rid = run["run_id"]
    owner = {"graph_id": "shapes_context", "assistant_id": CTX}
    # the run: assistant metadata, then the thread's, then the request's
    assert run["metadata"] == {"created_by": "system", "m": 1, **owner, "mine": "x"}
    assert await client.runs.get(tid, rid) == run
    assert run["kwargs"]["checkpoint_during"] is True
    seen = out["seen"]
    ns = seen["metadata"]["langgraph_checkpoint_ns"]
    assert ns.startswith("record:")
    server_keys = {
        "run_attempt": 1, "langgraph_api_version": "0.16.7", "langgraph_host": "self-hosted",
        "langgraph_api_url": server,
    }
    assert seen["metadata"] == {
        "created_by": "system", "m": 1, **owner, "mine": "x", **server_keys,
        "langgraph_version": seen["metadata"]["langgraph_version"], "thread_id": tid, "run_id": rid,
        "langgraph_step": 1, "langgraph_node": "record", "langgraph_checkpoint_ns": ns,
    }
    configurable = seen["configurable"]
    assert configurable == {
        "model": "m1", "langgraph_auth_user": None, "langgraph_auth_user_id": "", "langgraph_auth_permissions": "<list>",
        "langgraph_request_id": configurable["langgraph_request_id"], "run_id": rid, "thread_id": tid,
        **owner, "user_id": "", "checkpoint_map": "<dict>", "checkpoint_id": None, "checkpoint_ns": ns,
        # nodes of langgraph-api 0.16.7 see these too (tests/test_surface.py)
        "__after_seconds__": 0, "__request_start_time_ms__": configurable["__request_start_time_ms__"],
    }
    state = await client.threads.get_state(tid)
    expected = {
        "model": "m1", **owner, "user_id": "", "created_by": "system", "m": 1, "mine": "x", **server_keys,
        "langgraph_version": seen["metadata"]["langgraph_version"], "thread_id": tid, "run_id": rid,
        "source": "loop", "step": 2, "parents": {}, "langgraph_auth_user_id": "",
        "langgraph_request_id": configurable["langgraph_request_id"],
    }
    assert state["metadata"] == expected
    history = await client.threads.get_history(tid)
    assert history[0]["metadata"] == expected
    assert {h["metadata"]["mine"] for h in history} == {"x"}


# ------------------------------------------------------------------------- thread config


async def test_thread_config_before_and_after_a_run(client):
    tid = (await client.threads.create(metadata={"t": "cfg"}))["thread_id"]
    assert (await client.threads.get(tid))["config"] == {}
    await client.runs.wait(tid, "shapes_config", input={"text": "x"}, config={"tags": ["t1"], "recursion_limit": 33})
    thread = await client.threads.get(tid)
    assert thread["config"] == {"tags": ["t1"], "recursion_limit": 33, "configurable": {}}
    [found] = await client.threads.search(metadata={"t": "cfg", "graph_id": "shapes_config"}, limit=1)
    assert found["thread_id"] == tid and found["config"] == thread["config"]

    assistant = await client.assistants.create(
        "shapes_config", config={"tags": ["a"], "configurable": {"model": "am"}}
    )
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, assistant["assistant_id"], input={"text": "x"},
                           config={"configurable": {"user_name": "u"}})
    assert (await client.threads.get(tid))["config"] == {"tags": ["a"], "configurable": {"model": "am"}}


async def test_thread_a_run_creates_has_the_runs_metadata_and_config(client):
    tid = str(uuid.uuid4())
    await client.runs.wait(tid, "shapes_config", input={"text": "x"}, if_not_exists="create",
                           metadata={"rm": 3}, config={"tags": ["z"]})
    thread = await client.threads.get(tid)
    assert thread["metadata"] == {"graph_id": "shapes_config", "assistant_id": CONF, "rm": 3}
    assert thread["config"] == {"tags": ["z"], "configurable": {}}


# --------------------------------------------------------------- configurable and context


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"config": {"configurable": {"model": "c1", "extra": 1}}}, {"model": "c1"}),
        ({"context": {"model": "k", "extra": 2}}, {"model": "k"}),
        ({}, None),
    ],
)
@pytest.mark.parametrize("graph_id", ["shapes_config", "shapes_context"])
async def test_runtime_context_of_a_run(client, graph_id, body, expected):
    """A request's ``configurable`` is its context when it gives none; the graph sees
    the keys its context schema names (and ``None`` without any context)."""
    out = await client.runs.wait(None, graph_id, input={"text": "x"}, **body)
    assert out["seen"]["context"] == expected


async def test_assistant_configurable_is_its_context(client):
    created = await client.assistants.create("shapes_context", config={"configurable": {"model": "am", "zzz": 1}})
    assert (created["context"], created["config"]) == ({"model": "am", "zzz": 1}, {"configurable": {"model": "am", "zzz": 1}})
    aid = created["assistant_id"]
    assert (await client.runs.wait(None, aid, input={"text": "x"}))["seen"]["context"] == {"model": "am"}
    out = await client.runs.wait(None, aid, input={"text": "x"}, context={"temperature": 0.5})
    assert out["seen"]["context"] == {"model": "am", "temperature": 0.5}
    patched = await client.assistants.update(aid, config={"configurable": {"model": "pm"}})
    assert (patched["context"], patched["config"]) == ({"model": "pm"}, {"configurable": {"model": "pm"}})
    patched = await client.assistants.update(aid, config={"tags": ["x"]})
    assert (patched["context"], patched["config"]) == ({"model": "pm"}, {"tags": ["x"]})
    patched = await client.assistants.update(aid, context={"model": "q"})
    assert (patched["context"], patched["config"]) == ({"model": "q"}, {"configurable": {"model": "q"}})


# ------------------------------------------------------------------ cancelling ended runs


async def test_cancel_of_ended_runs(client, http):
    """A run that ended (``success``, ``error``) cannot be cancelled: 404, on both
    routes, as langgraph-api 0.16.7 answers; an unknown run id: 404 ``No runs
    found to cancel.``; the runs keep their status."""
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, "shapes_config", input={"text": "x"})
    await client.runs.wait(tid, "shapes_config", input={"text": "fail"}, raise_error=False)
    ended = {r["status"]: r["run_id"] for r in await client.runs.list(tid)}
    assert set(ended) == {"success", "error"}
    for status, rid in ended.items():
        for params in ({}, {"wait": "true"}, {"action": "rollback"}):
            r = http.post(f"/threads/{tid}/runs/{rid}/cancel", params=params)
            assert (r.status_code, r.json()) == (404, NO_MATCHING), (status, params)
        r = http.post("/runs/cancel", json={"thread_id": tid, "run_ids": [rid]})
        assert (r.status_code, r.json()) == (404, NO_MATCHING), status
    r = http.post("/runs/cancel", json={"thread_id": tid, "run_ids": [*ended.values(), str(uuid.uuid4())]})
    assert (r.status_code, r.json()) == (404, NO_MATCHING)
    unknown = str(uuid.uuid4())
    r = http.post(f"/threads/{tid}/runs/{unknown}/cancel")
    assert (r.status_code, r.json()) == (404, NO_RUNS_FOUND)
    r = http.post("/runs/cancel", json={"thread_id": tid, "run_ids": [unknown]})
    assert (r.status_code, r.json()) == (404, NO_RUNS_FOUND)
    assert {r["status"]: r["run_id"] for r in await client.runs.list(tid)} == ended
    with pytest.raises(NotFoundError):
        await client.runs.cancel(tid, unknown)


# ------------------------------------------------- system assistants across restarts

_NAMED_GRAPH = '''
from typing_extensions import TypedDict

from langgraph.graph import END, START, StateGraph


class S(TypedDict, total=False):
    text: str


_b = StateGraph(S)
_b.add_node("step", lambda state: {{"text": "done"}})
_b.add_edge(START, "step")
_b.add_edge("step", END)
graph = _b.compile(name={name!r})
'''


def test_system_assistant_follows_the_graphs_name_and_description_across_restarts(temporal_server, data_root):
    """A system assistant stored by an earlier start whose graph's name or
    ``langgraph.json`` description changed gets a new version with the current ones
    at start-up (as langgraph-api 0.16.7 does); an unchanged one stays as it is."""
    folder = data_root / "renamed_graphs"
    folder.mkdir(exist_ok=True)
    config = folder / "langgraph.json"
    aid = system_assistant_id("renamed")

    def start(name: str, description: str | None):
        (folder / "renamed.py").write_text(_NAMED_GRAPH.format(name=name))
        entry = {"path": "./renamed.py:graph", **({"description": description} if description else {})}
        config.write_text(json.dumps({"dependencies": ["."], "graphs": {"renamed": entry}}))
        return running_evergraph("dev", config, temporal_server.address, data_root, "renamed")

    def system(url: str) -> dict:
        return httpx.get(f"{url}/assistants/{aid}", timeout=30).json()

    with start("FirstName", None) as url:
        first = system(url)
        assert (first["name"], first["description"], first["version"]) == ("FirstName", None, 1)
    with start("SecondName", "described now") as url:
        second = system(url)
        assert (second["name"], second["description"], second["version"]) == ("SecondName", "described now", 2)
        assert second["metadata"] == {"created_by": "system"}
    with start("SecondName", "described now") as url:
        assert system(url)["version"] == 2
        assert len(httpx.post(f"{url}/assistants/{aid}/versions", json={}, timeout=30).json()) == 2


async def test_run_kwargs_key_by_key(client, http):
    """``kwargs`` of ``GET /threads/{id}/runs/{run_id}`` as langgraph-api 0.16.7 recorded
    them at creation (observed side by side with the graph ``a → b``; the reference
    server's in-memory runtime later adds what the running graph wrote into the same
    dict, which a stored run does not): a webhook, a command, a ``checkpoint`` object
    (all its keys in ``configurable``), ``context`` (mirrored into ``configurable``,
    flagged), and a run that makes its thread (no ``graph_id`` in the metadata)."""
    def stable(kwargs: dict) -> dict:
        configurable = kwargs["config"]["configurable"]
        assert isinstance(configurable.pop("__request_start_time_ms__"), int)
        assert isinstance(configurable.pop("langgraph_request_id"), str)
        return kwargs

    tid = (await client.threads.create(metadata={"t": 1}))["thread_id"]
    aid = system_assistant_id("chain")
    base = {
        "__after_seconds__": 0, "langgraph_auth_user": None, "langgraph_auth_user_id": "",
        "langgraph_auth_permissions": [], "graph_id": "chain", "assistant_id": aid, "user_id": "",
    }
    first = http.post(f"/threads/{tid}/runs", json={
        "assistant_id": "chain", "input": {"n": 0}, "webhook": "http://127.0.0.1:9/hook",
        "interrupt_before": ["step2"], "stream_mode": "updates",
    }).json()
    await client.runs.join(tid, first["run_id"])
    run = await client.runs.get(tid, first["run_id"])
    assert run["metadata"] == {"created_by": "system", "t": 1, "graph_id": "chain", "assistant_id": aid}
    assert stable(run["kwargs"]) == {
        "input": {"n": 0}, "command": None,
        "config": {"configurable": {**base, "run_id": first["run_id"], "thread_id": tid},
                   "metadata": run["metadata"]},
        "context": {}, "stream_mode": ["updates"], "interrupt_before": ["step2"], "interrupt_after": None,
        "webhook": "http://127.0.0.1:9/hook", "feedback_keys": None, "temporary": False, "subgraphs": False,
        "resumable": False, "checkpoint_during": True, "durability": "async",
    }
    # a command, from a checkpoint object
    cp = (await client.threads.get_state(tid))["checkpoint"]
    command = await client.runs.create(
        tid, "chain", command={"update": {"n": 5}, "goto": "step3"},
        checkpoint={"checkpoint_id": cp["checkpoint_id"], "checkpoint_ns": ""},
    )
    await client.runs.join(tid, command["run_id"])
    kwargs = stable((await client.runs.get(tid, command["run_id"]))["kwargs"])
    assert kwargs["command"] == {"update": {"n": 5}, "goto": "step3"} and kwargs["input"] is None
    assert kwargs["config"]["configurable"] == {
        "checkpoint_id": cp["checkpoint_id"], "checkpoint_ns": "", **base,
        "run_id": command["run_id"], "thread_id": tid,
    }
    # context: mirrored into configurable and flagged, as the reference server records it
    ctx = await client.runs.create(tid, "chain", input={"n": 1}, context={"c": 1})
    await client.runs.join(tid, ctx["run_id"])
    configurable = (await client.runs.get(tid, ctx["run_id"]))["kwargs"]["config"]["configurable"]
    assert {k: configurable[k] for k in ("c", "__context_provided__")} == {"c": 1, "__context_provided__": True}
    # a run that makes its thread: the thread had no metadata to merge, so no graph_id
    stateless = await client.runs.create(None, "chain", input={"n": 1}, on_completion="keep")
    await client.runs.join(stateless["thread_id"], stateless["run_id"])
    made = await client.runs.get(stateless["thread_id"], stateless["run_id"])
    assert made["metadata"] == {"created_by": "system", "assistant_id": aid}
    assert made["kwargs"]["config"]["metadata"] == made["metadata"]
    assert made["kwargs"]["temporary"] is False
