"""Assistants through the official SDK, compared with what langgraph-api 0.16.7
answers: system assistants, CRUD, versions, search/count, and the graph views (graph,
schemas, subgraphs)."""

from __future__ import annotations

import json
import textwrap
import uuid

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.errors import BadRequestError, ConflictError, NotFoundError, UnprocessableEntityError

from evergraph.adapter.ids import system_assistant_id
from tests.conftest import GRAPHS_CONFIG, running_evergraph

#: graph ids of tests/graphs/langgraph.json, in file order
GRAPH_IDS = list(json.loads(GRAPHS_CONFIG.read_text())["graphs"])

ASSISTANT_KEYS = {
    "assistant_id", "graph_id", "config", "context", "metadata", "name", "description", "version",
    "created_at", "updated_at",
}
VERSION_KEYS = ASSISTANT_KEYS - {"updated_at"}  # langgraph-api 0.16.7's versions carry no updated_at


def _tag() -> str:
    return uuid.uuid4().hex


def _without_times(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in ("created_at", "updated_at")}


# ------------------------------------------------------------------------ system assistants


def test_system_assistant_id_matches_the_reference():
    """langgraph-api 0.16.7's system assistant ids, for graphs ``agent`` and ``nested``."""
    assert system_assistant_id("agent") == "fe096781-5601-53d2-b2f6-0d3403f7e9ca"
    assert system_assistant_id("nested") == "0813419b-f0e6-579e-bdee-18d9fdf48632"
    assert uuid.UUID(system_assistant_id("chain")).version == 5


@pytest.mark.parametrize("graph_id", GRAPH_IDS)
async def test_system_assistant_per_graph(client, graph_id):
    """One system assistant per graph, created at start-up, as in langgraph-api 0.16.7."""
    found = await client.assistants.search(graph_id=graph_id, metadata={"created_by": "system"})
    assert len(found) == 1
    system = found[0]
    assert set(system) == ASSISTANT_KEYS
    assert _without_times(system) == {
        "assistant_id": system_assistant_id(graph_id),
        "graph_id": graph_id,
        "config": {},
        "context": {},
        "metadata": {"created_by": "system"},
        # a compiled graph's own name, else the graph id (tests/test_official_shapes.py)
        "name": {"shapes_context": "ShapesContextGraph"}.get(graph_id, graph_id),
        "description": None,
        "version": 1,
    }
    assert await client.assistants.get(system["assistant_id"]) == system


# ----------------------------------------------------------------------------------- create


async def test_create_with_everything_then_if_exists(client):
    """As in langgraph-api 0.16.7: context is copied into config.configurable;
    ``raise`` → 409, ``do_nothing`` → the existing assistant unchanged."""
    assistant_id = str(uuid.uuid4())
    created = await client.assistants.create(
        "chain",
        config={"tags": ["anchor"], "recursion_limit": 30},
        context={"user": "alice"},
        metadata={"team": "anchor"},
        assistant_id=assistant_id,
        name="anchor-assistant",
        description="created by the tests",
    )
    assert set(created) == ASSISTANT_KEYS
    assert _without_times(created) == {
        "assistant_id": assistant_id,
        "graph_id": "chain",
        "config": {"tags": ["anchor"], "recursion_limit": 30, "configurable": {"user": "alice"}},
        "context": {"user": "alice"},
        "metadata": {"team": "anchor"},
        "name": "anchor-assistant",
        "description": "created by the tests",
        "version": 1,
    }
    assert created["created_at"] == created["updated_at"]
    assert await client.assistants.get(assistant_id) == created

    with pytest.raises(ConflictError) as err:
        await client.assistants.create("chain", assistant_id=assistant_id)
    assert err.value.status_code == 409
    assert err.value.body == {"detail": f"Assistant {assistant_id} already exists"}

    same = await client.assistants.create(
        "parallel", assistant_id=assistant_id, if_exists="do_nothing", name="ignored", metadata={"x": 1}
    )
    assert same == created
    assert await client.assistants.get(assistant_id) == created
    assert len(await client.assistants.get_versions(assistant_id)) == 1


async def test_create_generates_an_id(client):
    created = await client.assistants.create("parallel", name="generated")
    assert uuid.UUID(created["assistant_id"])
    assert created["assistant_id"] != system_assistant_id("parallel")
    assert (created["graph_id"], created["name"], created["version"]) == ("parallel", "generated", 1)
    assert (created["config"], created["context"], created["metadata"]) == ({}, {}, {})
    assert await client.assistants.get(created["assistant_id"]) == created


async def test_create_with_unknown_graph_is_404(client):
    """404 ``Graph 'x' not found. Expected one of: [...]``, as langgraph-api 0.16.7
    answers; nothing is created."""
    before = await client.assistants.count()
    with pytest.raises(NotFoundError) as err:
        await client.assistants.create("no-such-graph", metadata={"t": _tag()})
    assert err.value.body == {"detail": f"Graph 'no-such-graph' not found. Expected one of: {GRAPH_IDS!r}"}
    assert await client.assistants.count() == before


async def test_create_with_configurable_and_context_is_400(client):
    """``config.configurable`` and ``context`` together: 400 with langgraph-api
    0.16.7's message; nothing is created."""
    tag = _tag()
    with pytest.raises(BadRequestError) as err:
        await client.assistants.create(
            "chain", config={"configurable": {"temp": 1}}, context={"user": "x"}, metadata={"t": tag}
        )
    assert err.value.body == {
        "detail": "Cannot specify both configurable and context. Prefer setting context alone. Context was "
        "introduced in LangGraph 0.6.0 and is the long term planned replacement for configurable."
    }
    assert await client.assistants.count(metadata={"t": tag}) == 0


async def test_update_with_configurable_and_context_is_400_and_makes_no_version(client):
    """The 400 for ``configurable`` with ``context`` applies to ``update`` too, as in
    langgraph-api 0.16.7; nothing changes."""
    created = await client.assistants.create("chain", context={"user": "alice"})
    with pytest.raises(BadRequestError) as err:
        await client.assistants.update(
            created["assistant_id"], config={"configurable": {"temp": 1}}, context={"user": "bob"}
        )
    assert err.value.body["detail"].startswith("Cannot specify both configurable and context.")
    assert await client.assistants.get(created["assistant_id"]) == created
    assert [v["version"] for v in await client.assistants.get_versions(created["assistant_id"])] == [1]


async def test_config_without_configurable_and_context_together_are_accepted(client):
    """Only ``config.configurable`` conflicts with ``context``: other config keys
    (tags, recursion_limit) go with it, and ``context`` becomes ``configurable``, as
    in langgraph-api 0.16.7."""
    created = await client.assistants.create(
        "chain", config={"tags": ["t"], "recursion_limit": 30}, context={"user": "alice"}
    )
    assert created["config"] == {"tags": ["t"], "recursion_limit": 30, "configurable": {"user": "alice"}}
    assert created["context"] == {"user": "alice"}
    # configurable alone is kept as given, and becomes the context too (as langgraph-api
    # 0.16.7 keeps them alike; tests/test_official_shapes.py)
    only = await client.assistants.create("chain", config={"configurable": {"temp": 1}})
    assert (only["config"], only["context"]) == ({"configurable": {"temp": 1}}, {"temp": 1})


def test_create_without_graph_id_is_422(http):
    """``graph_id`` is required: 422 whose message names it."""
    before = http.post("/assistants/count", json={}).json()
    r = http.post("/assistants", json={})
    assert r.status_code == 422
    assert "graph_id" in r.json()["detail"] and "required" in r.json()["detail"]
    assert http.post("/assistants/count", json={}).json() == before


# -------------------------------------------------------------------------------------- get


async def test_get_unknown_is_404_not_found(client):
    """An unknown assistant is 404 ``Not Found``, as langgraph-api 0.16.7 answers."""
    with pytest.raises(NotFoundError) as err:
        await client.assistants.get(str(uuid.uuid4()))
    assert err.value.body == {"detail": "Not Found"}


@pytest.mark.parametrize("bad_id", ["chain", "not a uuid or graph"])
async def test_get_with_a_non_uuid_is_422(client, bad_id):
    """A graph id is not accepted in the path: 422, as in langgraph-api 0.16.7."""
    with pytest.raises(UnprocessableEntityError) as err:
        await client.assistants.get(bad_id)
    assert err.value.body == {"detail": "Invalid assistant ID: must be a UUID"}


# --------------------------------------------------------------- update, versions, latest


async def test_update_versions_and_set_latest(client, http):
    """As in langgraph-api 0.16.7: every patch is a new version; versions newest
    first; set_latest takes the version from the body (the query form is 422)."""
    created = await client.assistants.create(
        "chain",
        config={"tags": ["anchor"], "recursion_limit": 30},
        context={"user": "alice"},
        metadata={"team": "anchor"},
        name="v1",
        description="first",
    )
    aid = created["assistant_id"]

    v2 = await client.assistants.update(aid, metadata={"team": "anchor2"}, name="v2")
    assert v2["version"] == 2
    assert v2["name"] == "v2"
    assert v2["metadata"]["team"] == "anchor2"
    assert v2["config"] == created["config"]
    assert v2["context"] == created["context"]
    assert v2["description"] == "first"
    assert v2["created_at"] == created["created_at"]
    assert v2["updated_at"] > created["updated_at"]

    # a given context replaces the config's configurable; tags are lost (as in
    # langgraph-api 0.16.7)
    v3 = await client.assistants.update(aid, context={"user": "carol"})
    assert v3["version"] == 3
    assert v3["name"] == "v2"
    assert v3["context"] == {"user": "carol"}
    assert v3["config"] == {"configurable": {"user": "carol"}}
    assert v3["metadata"] == v2["metadata"]
    assert await client.assistants.get(aid) == v3

    versions = await client.assistants.get_versions(aid)
    assert [(v["version"], v["name"]) for v in versions] == [(3, "v2"), (2, "v2"), (1, "v1")]
    assert all(set(v) == VERSION_KEYS for v in versions)
    assert versions[2]["config"] == created["config"] and versions[2]["metadata"] == {"team": "anchor"}
    assert [v["version"] for v in await client.assistants.get_versions(aid, limit=1)] == [3]
    assert [v["version"] for v in await client.assistants.get_versions(aid, limit=1, offset=1)] == [2]
    assert [v["version"] for v in await client.assistants.get_versions(aid, metadata={"team": "anchor"})] == [1]

    latest = await client.assistants.set_latest(aid, 1)
    assert latest["version"] == 1
    assert latest["name"] == "v1"
    assert latest["metadata"] == {"team": "anchor"}
    assert latest["config"] == created["config"]
    # langgraph-api 0.16.7 answered the v1 config beside the *v3* context ("carol"),
    # an assistant whose context and config.configurable disagree; Evergraph restores
    # the whole version, so both are v1's
    assert latest["context"] == {"user": "alice"}
    assert latest["config"]["configurable"] == latest["context"]
    got = await client.assistants.get(aid)
    assert (got["version"], got["name"]) == (1, "v1")
    # setting the latest version does not make a new one
    assert [v["version"] for v in await client.assistants.get_versions(aid)] == [3, 2, 1]

    r = http.post(f"/assistants/{aid}/latest", params={"version": 2})
    assert r.status_code == 422
    assert r.json() == {"detail": "Invalid JSON in request body"}
    assert (await client.assistants.get(aid))["version"] == 1


async def test_set_latest_to_an_unknown_version_is_404_and_changes_nothing(client, http):
    created = await client.assistants.create("chain", name="one")
    aid = created["assistant_id"]
    await client.assistants.update(aid, name="two")
    with pytest.raises(NotFoundError) as err:
        await client.assistants.set_latest(aid, 7)
    assert err.value.body == {"detail": f"Version 7 of assistant {aid} not found"}
    assert (await client.assistants.get(aid))["name"] == "two"
    r = http.post(f"/assistants/{aid}/latest", json={"version": 0})
    assert r.status_code == 422 and "version" in r.json()["detail"]
    r = http.post(f"/assistants/{aid}/latest", json={})
    assert r.status_code == 422 and r.json() == {"detail": "'version' is a required property"}
    with pytest.raises(NotFoundError):
        await client.assistants.set_latest(str(uuid.uuid4()), 1)


async def test_set_latest_then_update_makes_the_next_version(client):
    """Versions keep counting from the highest one, not from the current one."""
    created = await client.assistants.create("chain", name="one", metadata={"k": 1})
    aid = created["assistant_id"]
    await client.assistants.update(aid, name="two")
    await client.assistants.set_latest(aid, 1)
    v3 = await client.assistants.update(aid, metadata={"k": 3})
    assert (v3["version"], v3["name"], v3["metadata"]) == (3, "one", {"k": 3})
    assert [v["version"] for v in await client.assistants.get_versions(aid)] == [3, 2, 1]


async def test_update_unknown_assistant_is_404(client):
    with pytest.raises(NotFoundError):
        await client.assistants.update(str(uuid.uuid4()), name="x")


# ------------------------------------------------------------------------------- delete


async def test_delete(client, http):
    """204, then 404 ``Not Found`` on get and a named 404 on delete, as in
    langgraph-api 0.16.7."""
    created = await client.assistants.create("chain", name="to-delete")
    aid = created["assistant_id"]
    r = http.delete(f"/assistants/{aid}")
    assert r.status_code == 204
    assert r.content == b""
    with pytest.raises(NotFoundError) as err:
        await client.assistants.get(aid)
    assert err.value.body == {"detail": "Not Found"}
    with pytest.raises(NotFoundError) as err:
        await client.assistants.delete(aid)
    assert err.value.body == {"detail": f"Assistant with ID {aid} not found"}
    assert not [a for a in await client.assistants.search(graph_id="chain", limit=100) if a["assistant_id"] == aid]


async def test_delete_through_the_sdk(client):
    created = await client.assistants.create("chain")
    assert await client.assistants.delete(created["assistant_id"]) is None
    with pytest.raises(NotFoundError):
        await client.assistants.get(created["assistant_id"])


# ------------------------------------------------------------------------- search, count


async def test_search_and_count(client, http):
    """Filters, paging, sorting, select, and the ``X-Pagination-Next`` header read by
    ``response_format="object"``, as langgraph-api 0.16.7 serves them."""
    tag = _tag()
    names = ["c-asst", "a-asst", "b-asst"]
    made = []
    for i, name in enumerate(names):
        made.append(
            await client.assistants.create(
                "parallel" if i == 2 else "chain", name=name, metadata={"t": tag, "i": i}
            )
        )

    found = await client.assistants.search(metadata={"t": tag}, limit=10)
    assert sorted(a["assistant_id"] for a in found) == sorted(a["assistant_id"] for a in made)
    assert all(set(a) == ASSISTANT_KEYS for a in found)
    assert await client.assistants.count(metadata={"t": tag}) == 3

    by_graph = await client.assistants.search(metadata={"t": tag}, graph_id="parallel")
    assert [a["assistant_id"] for a in by_graph] == [made[2]["assistant_id"]]
    assert await client.assistants.count(metadata={"t": tag}, graph_id="chain") == 2
    assert await client.assistants.count(metadata={"t": tag, "i": 1}) == 1
    assert await client.assistants.search(metadata={"t": tag}, graph_id="slow") == []

    asc = await client.assistants.search(metadata={"t": tag}, sort_by="name", sort_order="asc")
    assert [a["name"] for a in asc] == ["a-asst", "b-asst", "c-asst"]
    desc = await client.assistants.search(metadata={"t": tag}, sort_by="name", sort_order="desc")
    assert [a["name"] for a in desc] == ["c-asst", "b-asst", "a-asst"]
    by_created = await client.assistants.search(metadata={"t": tag}, sort_by="created_at", sort_order="asc")
    assert [a["name"] for a in by_created] == names

    page1 = await client.assistants.search(
        metadata={"t": tag}, sort_by="name", sort_order="asc", limit=2, response_format="object"
    )
    assert [a["name"] for a in page1["assistants"]] == ["a-asst", "b-asst"]
    assert page1["next"] == "2"
    page2 = await client.assistants.search(
        metadata={"t": tag}, sort_by="name", sort_order="asc", limit=2, offset=2, response_format="object"
    )
    assert [a["name"] for a in page2["assistants"]] == ["c-asst"]
    assert page2["next"] is None
    exact = await client.assistants.search(metadata={"t": tag}, limit=3, response_format="object")
    assert len(exact["assistants"]) == 3 and exact["next"] is None

    r = http.post(
        "/assistants/search",
        json={"metadata": {"t": tag}, "limit": 1, "offset": 0, "sort_by": "name", "sort_order": "asc"},
    )
    assert r.headers["x-pagination-next"] == "1"

    selected = await client.assistants.search(
        metadata={"t": tag}, select=["assistant_id", "name"], sort_by="name", sort_order="asc"
    )
    assert selected == [{"assistant_id": a["assistant_id"], "name": a["name"]} for a in sorted(made, key=lambda a: a["name"])]


async def test_search_select_every_field_and_a_bad_field(client, http):
    """``select`` keeps the requested keys only, for any Assistant field; a field an
    Assistant does not have is 422 naming ``select``."""
    tag = _tag()
    made = await client.assistants.create("chain", name="sel", metadata={"t": tag})
    fields = sorted(ASSISTANT_KEYS)
    for field in fields:
        found = await client.assistants.search(metadata={"t": tag}, select=[field])
        assert found == [{field: made[field]}], field
    everything = await client.assistants.search(metadata={"t": tag}, select=fields)
    assert everything == [made]
    r = http.post("/assistants/search", json={"metadata": {"t": tag}, "select": ["assistant_id", "nope"]})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("select.1:")


async def test_search_by_graph_id_includes_the_system_assistant(client):
    found = await client.assistants.search(graph_id="conflict", limit=100)
    assert system_assistant_id("conflict") in [a["assistant_id"] for a in found]
    assert all(a["graph_id"] == "conflict" for a in found)
    assert await client.assistants.count(graph_id="conflict") == len(found)


# ---------------------------------------------------------------------------- graph views

CHAIN_GRAPH = {
    "nodes": [
        {"id": "__start__", "type": "runnable", "data": {"name": "__start__"}},
        {"id": "step1", "type": "runnable", "data": {"name": "step1"}},
        {"id": "step2", "type": "runnable", "data": {"name": "step2"}},
        {"id": "step3", "type": "runnable", "data": {"name": "step3"}},
        {"id": "__end__"},
    ],
    "edges": [
        {"source": "__start__", "target": "step1"},
        {"source": "step1", "target": "step2"},
        {"source": "step2", "target": "step3"},
        {"source": "step3", "target": "__end__"},
    ],
}


@pytest.mark.parametrize("xray", [False, True, 1])
async def test_get_graph_of_chain(client, xray):
    """As langgraph-api 0.16.7 draws a graph: nodes
    ``{"id","type":"runnable","data":{"name"}}`` and a bare ``{"id":"__end__"}``;
    edges ``{"source","target"}``."""
    graph = await client.assistants.get_graph(system_assistant_id("chain"), xray=xray)
    assert graph == CHAIN_GRAPH


@pytest.mark.parametrize("xray", ["maybe", "-1", "1.5", "0"])
def test_get_graph_with_a_bad_xray_is_422(http, xray):
    """422 as langgraph-api 0.16.7 answers (``0`` included); the message names the value."""
    r = http.get(f"/assistants/{system_assistant_id('chain')}/graph", params={"xray": xray})
    assert r.status_code == 422
    assert r.json() == {"detail": f"Invalid xray value: '{xray}'. Must be true, false or a positive integer"}


async def test_get_graph_of_fan_out(client):
    graph = await client.assistants.get_graph(system_assistant_id("parallel"))
    assert {n["id"] for n in graph["nodes"]} == {"__start__", "a", "b", "c", "d", "__end__"}
    edges = {(e["source"], e["target"]) for e in graph["edges"]}
    assert edges == {("__start__", "a"), ("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("d", "__end__")}


async def test_get_graph_of_unknown_assistant_is_404(client):
    with pytest.raises(NotFoundError):
        await client.assistants.get_graph(str(uuid.uuid4()))


async def test_get_schemas(client):
    """graph_id plus five JSON schemas, as langgraph-api 0.16.7 answers."""
    schemas = await client.assistants.get_schemas(system_assistant_id("chain"))
    assert set(schemas) == {
        "graph_id", "input_schema", "output_schema", "state_schema", "config_schema", "context_schema",
    }
    assert schemas["graph_id"] == "chain"
    for key in ("input_schema", "output_schema", "state_schema"):
        assert schemas[key]["type"] == "object", key
        assert {"log", "n", "sleep", "counter_file"} <= set(schemas[key]["properties"]), key
    assert schemas["input_schema"]["properties"]["log"]["type"] == "array"


async def test_get_subgraphs_of_a_flat_graph_is_empty(client):
    aid = system_assistant_id("chain")
    assert await client.assistants.get_subgraphs(aid) == {}
    assert await client.assistants.get_subgraphs(aid, recurse=True) == {}


# ------------------------------------------ a graph with a subgraph (langgraph-api 0.16.7's answers)

NESTED_GRAPH = textwrap.dedent(
    '''
    import operator
    from typing import Annotated

    from typing_extensions import TypedDict
    from langgraph.graph import END, START, StateGraph


    class Inner(TypedDict):
        log: Annotated[list[str], operator.add]


    def inner_step(state: Inner) -> Inner:
        return {"log": ["inner_step"]}


    _inner = StateGraph(Inner)
    _inner.add_node("inner_step", inner_step)
    _inner.add_edge(START, "inner_step")
    _inner.add_edge("inner_step", END)

    _outer = StateGraph(Inner)
    _outer.add_node("inner", _inner.compile())
    _outer.add_edge(START, "inner")
    _outer.add_edge("inner", END)
    graph = _outer.compile()
    '''
)

#: three levels: deep → middle → leaf → leaf_step
DEEP_GRAPH = textwrap.dedent(
    '''
    import operator
    from typing import Annotated

    from typing_extensions import TypedDict
    from langgraph.graph import END, START, StateGraph


    class S(TypedDict):
        log: Annotated[list[str], operator.add]


    def leaf_step(state: S) -> S:
        return {"log": ["leaf_step"]}


    def _chain(name, node, action):
        b = StateGraph(S)
        b.add_node(node, action)
        b.add_edge(START, node)
        b.add_edge(node, END)
        return b.compile(name=name)


    graph = _chain("deep", "middle", _chain("middle", "leaf", _chain("leaf", "leaf_step", leaf_step)))
    '''
)

#: a graph whose input type (a ``typing.TypedDict``, which pydantic cannot express on
#: Python < 3.12) is narrower than its state
NARROW_GRAPH = textwrap.dedent(
    '''
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph


    class Question(TypedDict):
        question: str


    class State(Question, total=False):
        answer: str


    def answer(state: State) -> State:
        return {"answer": state["question"].upper()}


    _b = StateGraph(State, input_schema=Question)
    _b.add_node("answer", answer)
    _b.add_edge(START, "answer")
    _b.add_edge("answer", END)
    graph = _b.compile()
    '''
)


@pytest.fixture(scope="module")
def nested_server(temporal_server, data_root):
    """A second ``evergraph dev`` serving the ``nested`` graph that langgraph-api 0.16.7
    was observed with."""
    folder = data_root / "nested_graphs"
    folder.mkdir(exist_ok=True)
    (folder / "nested.py").write_text(NESTED_GRAPH)
    (folder / "narrow.py").write_text(NARROW_GRAPH)
    (folder / "deep.py").write_text(DEEP_GRAPH)
    config = folder / "langgraph.json"
    graphs = {"nested": "./nested.py:graph", "narrow": "./narrow.py:graph", "deep": "./deep.py:graph"}
    config.write_text(json.dumps({"dependencies": ["."], "graphs": graphs}))
    with running_evergraph("dev", config, temporal_server.address, data_root, "nested") as url:
        yield url


SUBGRAPH_KEYS = {"input_schema", "output_schema", "state_schema", "config_schema", "context_schema"}


async def test_subgraphs_and_xray_of_a_nested_graph(nested_server):
    client = get_client(url=nested_server)
    aid = "0813419b-f0e6-579e-bdee-18d9fdf48632"  # langgraph-api 0.16.7's id of graph "nested"
    system = await client.assistants.get(aid)
    assert (system["graph_id"], system["name"], system["metadata"]) == ("nested", "nested", {"created_by": "system"})

    subgraphs = await client.assistants.get_subgraphs(aid)
    assert list(subgraphs) == ["inner"]
    assert set(subgraphs["inner"]) == SUBGRAPH_KEYS
    assert subgraphs["inner"]["input_schema"]["properties"]["log"]["type"] == "array"
    assert list(await client.assistants.get_subgraphs(aid, recurse=True)) == ["inner"]
    only = await client.assistants.get_subgraphs(aid, namespace="inner")
    assert list(only) == ["inner"] and set(only["inner"]) == SUBGRAPH_KEYS

    flat = await client.assistants.get_graph(aid)
    assert [n["id"] for n in flat["nodes"]] == ["__start__", "inner", "__end__"]
    assert all(n.get("type") == "runnable" for n in flat["nodes"] if n["id"] != "__end__")
    # langgraph-api 0.16.7's answer, verbatim (transcripts/s01_assistants.txt, [38])
    assert await client.assistants.get_graph(aid, xray=1) == {
        "nodes": [
            {"id": "__start__", "type": "runnable", "data": {"name": "__start__"}},
            {"id": "__end__"},
            {"id": "inner:inner_step", "type": "runnable", "data": {"name": "inner:inner_step"}},
        ],
        "edges": [
            {"source": "__start__", "target": "inner:inner_step"},
            {"source": "inner:inner_step", "target": "__end__"},
        ],
    }
    assert await client.assistants.get_graph(aid, xray=True) == await client.assistants.get_graph(aid, xray=1)
    # as in langgraph-api 0.16.7, a subgraph's config schema is {} and its context schema null
    assert (subgraphs["inner"]["config_schema"], subgraphs["inner"]["context_schema"]) == ({}, None)


async def test_subgraphs_and_xray_depth_of_a_deeper_graph(nested_server):
    """``recurse`` lists ``parent|child`` namespaces; a namespace selects one
    subgraph (``middle|leaf`` only with ``recurse``); ``xray`` as an int is a depth."""
    client = get_client(url=nested_server)
    aid = system_assistant_id("deep")
    assert list(await client.assistants.get_subgraphs(aid)) == ["middle"]
    assert list(await client.assistants.get_subgraphs(aid, recurse=True)) == ["middle", "middle|leaf"]
    assert list(await client.assistants.get_subgraphs(aid, namespace="middle")) == ["middle"]
    assert list(await client.assistants.get_subgraphs(aid, namespace="middle|leaf", recurse=True)) == ["middle|leaf"]
    assert await client.assistants.get_subgraphs(aid, namespace="middle|leaf") == {}
    assert await client.assistants.get_subgraphs(aid, namespace="nope", recurse=True) == {}
    leaf = (await client.assistants.get_subgraphs(aid, recurse=True))["middle|leaf"]
    assert leaf["state_schema"]["properties"]["log"]["type"] == "array"

    def ids(graph: dict) -> list[str]:
        return [n["id"] for n in graph["nodes"]]

    assert ids(await client.assistants.get_graph(aid)) == ["__start__", "middle", "__end__"]
    assert ids(await client.assistants.get_graph(aid, xray=False)) == ["__start__", "middle", "__end__"]
    with pytest.raises(UnprocessableEntityError):  # as langgraph-api 0.16.7 answers xray=0
        await client.assistants.get_graph(aid, xray=0)
    assert ids(await client.assistants.get_graph(aid, xray=1)) == ["__start__", "__end__", "middle:leaf"]
    assert ids(await client.assistants.get_graph(aid, xray=2)) == ["__start__", "__end__", "middle:leaf:leaf_step"]
    assert ids(await client.assistants.get_graph(aid, xray=True)) == ["__start__", "__end__", "middle:leaf:leaf_step"]


async def test_schemas_of_a_narrower_input_type(nested_server):
    """The input schema lists only the input type's keys; the state and output
    schemas every state key (even for a ``typing.TypedDict`` on Python 3.11)."""
    client = get_client(url=nested_server)
    schemas = await client.assistants.get_schemas(system_assistant_id("narrow"))
    assert schemas["graph_id"] == "narrow"
    assert set(schemas["input_schema"]["properties"]) == {"question"}
    assert schemas["input_schema"]["properties"]["question"]["type"] == "string"
    assert set(schemas["state_schema"]["properties"]) == {"question", "answer"}
    assert set(schemas["output_schema"]["properties"]) == {"question", "answer"}


async def test_nested_server_lists_its_own_graphs_in_errors(nested_server):
    """The 404 and 422 messages that list the registered graphs list those of *this*
    server."""
    async with httpx.AsyncClient(base_url=nested_server) as http:
        r = await http.post("/assistants", json={"graph_id": "chain"})
        assert r.status_code == 404
        assert r.json() == {"detail": "Graph 'chain' not found. Expected one of: ['nested', 'narrow', 'deep']"}
