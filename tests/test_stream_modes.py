"""Every run stream mode on the wire, through the official SDK, compared with what
langgraph-api 0.16.7 sent for the same graphs (``tests/graphs/streams.py`` has the
graphs' shape). Ids and timestamps aside, event names, order and payload fields are
langgraph-api 0.16.7's.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from tests.graphs.streams import ANSWER

HI = {"messages": [{"role": "user", "content": "hi"}]}
#: the fake model's chunks: one per word and per space, the last one marked "last"
TOKENS = ["hello", " ", "from", " ", "the", " ", "fake", " ", "model"]

#: fields of an AIMessageChunk in a ``messages`` (messages-tuple) event, as
#: langgraph-api 0.16.7 sends it
CHUNK_KEYS = [
    "content", "additional_kwargs", "response_metadata", "type", "name", "id",
    "tool_calls", "invalid_tool_calls", "usage_metadata", "tool_call_chunks", "chunk_position",
]
#: fields of the accumulated message in ``messages/partial``, as langgraph-api 0.16.7
#: sends it
MESSAGE_KEYS = [
    "content", "additional_kwargs", "response_metadata", "type", "name", "id",
    "tool_calls", "invalid_tool_calls", "usage_metadata",
]
#: keys of a token's metadata besides the run's own metadata (created_by, graph_id…),
#: as langgraph-api 0.16.7 sends them
TOKEN_META_KEYS = {
    "thread_id", "run_id", "ls_integration", "langgraph_step", "langgraph_node", "langgraph_triggers",
    "langgraph_path", "langgraph_checkpoint_ns", "checkpoint_ns", "ls_provider", "ls_model_type", "lc_versions",
}
STATE_KEYS = {"config", "parent_config", "values", "metadata", "next", "tasks"}


async def _stream(client, graph: str, modes, *, input=HI, thread_id=None, **kwargs):
    if thread_id is None:
        thread_id = (await client.threads.create())["thread_id"]
    parts = [
        p async for p in client.runs.stream(thread_id, graph, input=input, stream_mode=modes, **kwargs)
    ]
    assert parts[0].event == "metadata"
    return thread_id, parts


def _names(parts) -> list[str]:
    return [p.event for p in parts]


def _check_token_metadata(meta: dict, thread_id: str, run_id: str, node: str, step: int, triggers: list[str]) -> None:
    assert TOKEN_META_KEYS <= set(meta), TOKEN_META_KEYS - set(meta)
    assert meta["thread_id"] == thread_id and meta["run_id"] == run_id
    assert meta["graph_id"] in ("agent", "nested_chat") and meta["run_attempt"] == 1
    assert meta["langgraph_node"] == node and meta["langgraph_step"] == step
    assert meta["langgraph_triggers"] == triggers
    assert meta["langgraph_path"] == ["__pregel_pull", node]
    assert meta["checkpoint_ns"] == meta["langgraph_checkpoint_ns"]
    assert meta["ls_integration"] == "langchain_chat_model"
    assert meta["ls_provider"] == "genericfakechatmodel" and meta["ls_model_type"] == "chat"


# ---------------------------------------------------------------- loop modes


async def test_values_mode(client):
    """The state after input, after ``writer``, after ``chat``."""
    _, parts = await _stream(client, "agent", "values", context={"user": "s"})
    assert _names(parts) == ["metadata", "values", "values", "values"]
    values = [p.data for p in parts[1:]]
    assert [v["log"] for v in values] == [[], ["writer(user=s)"], ["writer(user=s)", "chat"]]
    human = values[0]["messages"][0]
    assert list(human) == ["content", "additional_kwargs", "response_metadata", "type", "name", "id"]
    assert human["content"] == "hi" and human["type"] == "human"
    ai = values[2]["messages"][1]
    assert list(ai) == MESSAGE_KEYS
    assert ai["content"] == ANSWER and ai["type"] == "ai" and ai["tool_calls"] == []


async def test_updates_and_custom_modes(client):
    """One update per node; ``custom`` is what the node wrote."""
    _, parts = await _stream(client, "agent", "updates", context={"user": "s"})
    assert _names(parts) == ["metadata", "updates", "updates"]
    assert parts[1].data == {"writer": {"log": ["writer(user=s)"]}}
    assert list(parts[2].data) == ["chat"] and parts[2].data["chat"]["log"] == ["chat"]
    assert parts[2].data["chat"]["messages"][0]["content"] == ANSWER
    _, parts = await _stream(client, "agent", "custom")
    assert _names(parts) == ["metadata", "custom", "custom"]
    assert [p.data for p in parts[1:]] == [{"progress": "start"}, {"progress": "done"}]


async def test_combined_modes_interleave_as_the_reference(client):
    """Values, updates, messages-tuple and custom on one stream, in langgraph-api
    0.16.7's order (custom before its node's update, tokens before chat's)."""
    thread_id, parts = await _stream(client, "agent", ["values", "updates", "messages-tuple", "custom"])
    assert _names(parts) == [
        "metadata", "values", "custom", "custom", "updates", "values", *["messages"] * 9, "updates", "values",
    ]
    assert parts[4].data == {"writer": {"log": ["writer(user=None)"]}}
    tokens = [p.data for p in parts if p.event == "messages"]
    assert parts[-2].data["chat"]["messages"][0]["id"] == tokens[0][0]["id"]


async def test_messages_tuple_mode(client):
    """One ``messages`` event per token, ``[chunk, metadata]``; the last
    chunk has ``chunk_position: "last"``."""
    thread_id, parts = await _stream(client, "agent", "messages-tuple", context={"user": "s"})
    run_id = parts[0].data["run_id"]
    assert _names(parts) == ["metadata", *["messages"] * 9]
    chunks = [p.data[0] for p in parts[1:]]
    assert [c["content"] for c in chunks] == TOKENS
    assert all(list(c) == CHUNK_KEYS for c in chunks)
    assert {c["type"] for c in chunks} == {"AIMessageChunk"}
    assert [c["chunk_position"] for c in chunks] == [None] * 8 + ["last"]
    assert len({c["id"] for c in chunks}) == 1 and chunks[0]["id"].startswith("lc_run--")
    for p in parts[1:]:
        _check_token_metadata(p.data[1], thread_id, run_id, "chat", 2, ["branch:to:chat"])
    assert parts[1].data[1]["checkpoint_ns"].startswith("chat:")


async def test_messages_mode_sends_metadata_then_accumulated_partials(client):
    """``messages/metadata`` once per message, then one ``messages/partial``
    per token with the whole message so far (type ``ai``)."""
    thread_id, parts = await _stream(client, "agent", "messages", context={"user": "s"})
    run_id = parts[0].data["run_id"]
    assert _names(parts) == ["metadata", "messages/metadata", *["messages/partial"] * 9]
    (msg_id, entry), = parts[1].data.items()
    assert list(entry) == ["metadata"]
    _check_token_metadata(entry["metadata"], thread_id, run_id, "chat", 2, ["branch:to:chat"])
    partials = [p.data for p in parts[2:]]
    assert all(len(p) == 1 and list(p[0]) == MESSAGE_KEYS for p in partials)
    assert [p[0]["content"] for p in partials] == ["".join(TOKENS[: i + 1]) for i in range(9)]
    assert {p[0]["type"] for p in partials} == {"ai"} and {p[0]["id"] for p in partials} == {msg_id}
    state = await client.threads.get_state(thread_id)
    assert state["values"]["messages"][-1]["content"] == partials[-1][0]["content"] == ANSWER


async def test_tasks_mode(client):
    """A start ``{id,name,input,triggers,metadata}`` and a result
    ``{id,name,error,result,interrupts}`` per task."""
    _, parts = await _stream(client, "agent", "tasks", context={"user": "s"})
    assert _names(parts) == ["metadata"] + ["tasks"] * 4
    start, result, chat_start, chat_result = (p.data for p in parts[1:])
    assert list(start) == ["id", "name", "input", "triggers", "metadata"]
    assert list(result) == ["id", "name", "error", "result", "interrupts"]
    assert start["id"] == result["id"] and start["name"] == "writer"
    assert start["triggers"] == ["branch:to:writer"] and start["input"]["log"] == []
    assert start["metadata"]["graph_id"] == "agent" and start["metadata"]["run_id"] == parts[0].data["run_id"]
    assert result == {"id": start["id"], "name": "writer", "error": None, "result": {"log": ["writer(user=s)"]}, "interrupts": []}
    assert chat_start["triggers"] == ["branch:to:chat"] and chat_result["result"]["log"] == ["chat"]


async def test_checkpoints_mode_matches_the_thread_history(client):
    """One ``{config, parent_config, values, metadata, next, tasks}`` per
    checkpoint; they are the thread's checkpoints, without Evergraph's private keys."""
    thread_id, parts = await _stream(client, "agent", "checkpoints", context={"user": "s"})
    assert _names(parts) == ["metadata"] + ["checkpoints"] * 4
    cps = [p.data for p in parts[1:]]
    assert all(set(c) == STATE_KEYS for c in cps)
    assert [c["next"] for c in cps] == [["__start__"], ["writer"], ["chat"], []]
    assert [c["metadata"]["source"] for c in cps] == ["input", "loop", "loop", "loop"]
    assert [[t["name"] for t in c["tasks"]] for c in cps] == [["__start__"], ["writer"], ["chat"], []]
    assert all(t["state"] is None and t["interrupts"] == [] for c in cps for t in c["tasks"])
    assert cps[0]["parent_config"] is None
    for c in cps:
        conf = c["config"]["configurable"]
        assert conf["thread_id"] == thread_id and conf["checkpoint_ns"] == "" and conf["user"] == "s"
        assert conf["graph_id"] == "agent" and not any(k.startswith("__context") for k in conf)
    for parent, child in zip(cps, cps[1:]):
        assert child["parent_config"]["configurable"]["checkpoint_id"] == parent["config"]["configurable"]["checkpoint_id"]
    history = await client.threads.get_history(thread_id)
    assert [h["checkpoint"]["checkpoint_id"] for h in reversed(history)] == [
        c["config"]["configurable"]["checkpoint_id"] for c in cps
    ]


async def test_debug_mode(client):
    """Checkpoints, tasks and task results by step; checkpoint payloads
    carry langgraph-api's ``checkpoint``/``parent_checkpoint`` summaries."""
    thread_id, parts = await _stream(client, "agent", "debug", context={"user": "s"})
    assert _names(parts) == ["metadata"] + ["debug"] * 8
    debug = [p.data for p in parts[1:]]
    assert [(d["step"], d["type"]) for d in debug] == [
        (-1, "checkpoint"), (0, "checkpoint"), (1, "task"), (1, "task_result"),
        (1, "checkpoint"), (2, "task"), (2, "task_result"), (2, "checkpoint"),
    ]
    assert all(list(d) == ["step", "timestamp", "type", "payload"] for d in debug)
    for d in debug:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", d["timestamp"])
        if d["type"] != "checkpoint":
            continue
        payload = d["payload"]
        assert set(payload) == STATE_KEYS | {"checkpoint", "parent_checkpoint"}
        conf = payload["config"]["configurable"]
        assert payload["checkpoint"] == {"checkpoint_id": conf["checkpoint_id"], "thread_id": thread_id, "checkpoint_ns": ""}
        assert not any(k.startswith("__context") for k in conf)
    assert debug[0]["payload"]["parent_checkpoint"] is None
    assert debug[1]["payload"]["parent_checkpoint"] == debug[0]["payload"]["checkpoint"]
    task, result = debug[2]["payload"], debug[3]["payload"]
    assert list(task) == ["id", "name", "input", "triggers", "metadata"] and task["name"] == "writer"
    assert result == {"id": task["id"], "name": "writer", "error": None, "result": {"log": ["writer(user=s)"]}, "interrupts": []}


# ---------------------------------------------------------------- events


#: (event, name, tags, parent names) of every record, in order, as langgraph-api
#: 0.16.7 sent them
EVENTS = [
    ("on_chain_start", "agent", [], []),
    ("on_chain_start", "writer", ["graph:step:1"], ["agent"]),
    ("on_chain_start", "route", ["seq:step:3"], ["agent", "writer"]),
    ("on_chain_end", "route", ["seq:step:3"], ["agent", "writer"]),
    ("on_chain_stream", "writer", ["graph:step:1"], ["agent"]),
    ("on_chain_end", "writer", ["graph:step:1"], ["agent"]),
    ("on_chain_start", "chat", ["graph:step:2"], ["agent"]),
    ("on_chat_model_start", "GenericFakeChatModel", ["seq:step:1"], ["agent", "chat"]),
    *[("on_chat_model_stream", "GenericFakeChatModel", ["seq:step:1"], ["agent", "chat"])] * 9,
    ("on_chat_model_end", "GenericFakeChatModel", ["seq:step:1"], ["agent", "chat"]),
    ("on_chain_stream", "chat", ["graph:step:2"], ["agent"]),
    ("on_chain_end", "chat", ["graph:step:2"], ["agent"]),
    ("on_chain_end", "agent", [], []),
]


async def test_events_mode_is_langchains_event_stream(client):
    """astream_events v2 records of the whole run: the graph's root run (id = the
    run id) from the driver, the nodes' runs and everything inside them from the node
    attempts, with langgraph-api 0.16.7's names, tags and parents."""
    thread_id, parts = await _stream(client, "agent", "events", context={"user": "s"})
    run_id = parts[0].data["run_id"]
    records = [p.data for p in parts[1:]]
    assert _names(parts) == ["metadata"] + ["events"] * len(EVENTS)
    names = {r["run_id"]: r["name"] for r in records}
    assert [(r["event"], r["name"], r["tags"], [names[i] for i in r["parent_ids"]]) for r in records] == EVENTS
    assert all(set(r) == {"event", "data", "name", "tags", "run_id", "metadata", "parent_ids"} for r in records)
    root_start, root_end = records[0], records[-1]
    assert root_start["run_id"] == root_end["run_id"] == run_id
    assert root_start["data"] == {"input": HI}
    state = await client.threads.get_state(thread_id)
    assert list(root_end["data"]) == ["output"] and root_end["data"]["output"] == state["values"]
    assert root_start["metadata"]["ls_integration"] == "langgraph"
    assert root_start["metadata"]["thread_id"] == thread_id and root_start["metadata"]["run_id"] == run_id
    writer_start = records[1]
    assert writer_start["data"]["input"]["log"] == [] and writer_start["metadata"]["langgraph_node"] == "writer"
    assert records[4]["data"] == {"chunk": {"log": ["writer(user=s)"]}}
    assert records[5]["data"]["output"] == {"log": ["writer(user=s)"]}
    streams = [r for r in records if r["event"] == "on_chat_model_stream"]
    assert [r["data"]["chunk"]["content"] for r in streams] == TOKENS
    model_end = records[-4]
    assert model_end["data"]["output"]["content"] == ANSWER and model_end["data"]["output"]["type"] == "ai"
    assert model_end["data"]["input"]["messages"][0][0]["content"] == "hi"
    assert model_end["metadata"]["ls_integration"] == "langchain_chat_model"


# ---------------------------------------------------------------- subgraphs


#: debug, values, updates and custom of a graph whose node is a subgraph, as
#: langgraph-api 0.16.7 sent them
SUBGRAPH_EVENTS = [
    "metadata", "debug", "values", "debug", "debug",
    "debug|inner:T", "values|inner:T", "debug|inner:T", "debug|inner:T", "custom|inner:T",
    "updates|inner:T", "debug|inner:T", "values|inner:T", "debug|inner:T",
    "updates", "debug", "values", "debug",
]


async def test_stream_subgraphs_names_events_by_namespace(client):
    """``mode|node:task_id``; the task id is the subgraph node's task."""
    modes = ["debug", "values", "updates", "custom"]
    thread_id, parts = await _stream(client, "nested", modes, input={"log": ["x"]}, stream_subgraphs=True)
    inner_task = parts[4].data["payload"]
    assert parts[4].data["type"] == "task" and inner_task["name"] == "inner"
    ns = f"inner:{inner_task['id']}"
    assert _names(parts) == [n.replace("inner:T", ns) for n in SUBGRAPH_EVENTS]
    by_name = [(p.event, p.data) for p in parts]
    assert by_name[6] == (f"values|{ns}", {"log": ["x"]})
    assert by_name[9] == (f"custom|{ns}", {"inner": True})
    assert by_name[10] == (f"updates|{ns}", {"inner_step": {"log": ["inner_step"]}})
    assert by_name[14] == ("updates", {"inner": {"log": ["x", "inner_step"]}})
    assert by_name[16] == ("values", {"log": ["x", "x", "inner_step"]})
    # a subgraph task's state becomes a checkpoint summary; subgraph checkpoints name their map
    assert parts[3].data["payload"]["tasks"] == [
        {"id": inner_task["id"], "name": "inner", "interrupts": [], "checkpoint": {"thread_id": thread_id, "checkpoint_ns": ns}}
    ]
    inner_cp = parts[5].data["payload"]["checkpoint"]
    assert inner_cp["checkpoint_ns"] == ns and set(inner_cp["checkpoint_map"]) == {"", ns}
    # without stream_subgraphs: only the parent graph's events
    _, parts = await _stream(client, "nested", ["updates"], input={"log": ["x"]}, thread_id=thread_id)
    assert _names(parts) == ["metadata", "updates"]


async def test_every_mode_of_a_subgraph_is_namespaced(client):
    """All nine modes at once with ``stream_subgraphs``: every event the subgraph
    produces is named ``mode|inner:<task id>``; ``events`` records are never named by
    namespace (they carry their parents instead)."""
    modes = ["values", "updates", "messages-tuple", "messages", "custom", "events", "debug", "tasks", "checkpoints"]
    thread_id, parts = await _stream(client, "nested_chat", modes, stream_subgraphs=True)
    inner_id = next(p.data["id"] for p in parts if p.event == "tasks" and p.data["name"] == "inner")
    ns = f"inner:{inner_id}"
    namespaced = {p.event.split("|")[0] for p in parts if p.event.endswith(f"|{ns}")}
    assert namespaced == {
        "values", "updates", "messages", "messages/metadata", "messages/partial", "debug", "tasks", "checkpoints",
    }
    assert all(p.event.endswith(f"|{ns}") for p in parts if p.event.startswith("messages"))
    assert {p.event for p in parts if "|" not in p.event} == {
        "metadata", "values", "updates", "debug", "tasks", "checkpoints", "events",
    }
    tokens = [p.data[0]["content"] for p in parts if p.event == f"messages|{ns}"]
    assert tokens == TOKENS
    partials = [p.data[0]["content"] for p in parts if p.event == f"messages/partial|{ns}"]
    assert partials[-1] == ANSWER
    chat_meta = next(p.data[1] for p in parts if p.event == f"messages|{ns}")
    assert chat_meta["langgraph_checkpoint_ns"].startswith(f"{ns}|chat:")
    events = [p.data for p in parts if p.event == "events"]
    names = {e["run_id"]: e["name"] for e in events}
    model_start = next(e for e in events if e["event"] == "on_chat_model_start")
    assert [names.get(i) for i in model_start["parent_ids"]] == ["nested_chat", "inner", "LangGraph", "chat"]


# ---------------------------------------------------------------- liveness


async def test_tokens_reach_the_client_while_the_node_runs(client, tmp_path: Path):
    """The node streams one token, then waits until the file ``gate`` exists, which
    the test creates only once that token has arrived: the run can only finish if
    tokens travel while their node attempt is still running."""
    gate = tmp_path / f"gate-{uuid.uuid4().hex}"
    thread_id = (await client.threads.create())["thread_id"]
    seen: list[str] = []
    status_at_first_token = None
    async for part in client.runs.stream(
        thread_id, "gated", input={**HI, "gate": str(gate)}, stream_mode=["messages-tuple", "updates"]
    ):
        if part.event == "messages":
            seen.append(part.data[0]["content"])
            if len(seen) == 1:
                assert not gate.exists()
                run = await client.runs.get(thread_id, part.data[1]["run_id"])
                status_at_first_token = run["status"]
                gate.write_text("open")
        elif part.event == "updates":
            assert part.data["talk"]["messages"][0]["content"] == "one two three"
    assert status_at_first_token == "running"
    assert seen == ["one", " ", "two", " ", "three"]


# ---------------------------------------------------------------- refused modes


@pytest.mark.parametrize("mode", ["lifecycle"])
async def test_lifecycle_is_refused_like_the_reference(http, mode):
    """422 with langgraph-api 0.16.7's JSON-schema message, exactly (0.16.7 refuses
    ``tools`` alike; Evergraph serves it, tests/test_tools_mode.py)."""
    thread_id = http.post("/threads", json={}).json()["thread_id"]
    r = http.post(f"/threads/{thread_id}/runs/stream", json={"assistant_id": "agent", "input": HI, "stream_mode": mode})
    assert r.status_code == 422
    assert r.json() == {
        "detail": f'"{mode}" is not valid under any of the schemas listed in the \'anyOf\' keyword\n\n'
        'Failed validating "anyOf" in schema["components"]["schemas"]["RunCreateStateful"]["properties"]["stream_mode"]\n\n'
        f'On instance["stream_mode"]:\n    "{mode}"'
    }
    r = http.post("/runs/stream", json={"assistant_id": "agent", "input": HI, "stream_mode": ["values", mode]})
    assert r.status_code == 422
    assert 'schema["components"]["schemas"]["RunCreateStateless"]' in r.json()["detail"]
    assert http.get(f"/threads/{thread_id}/runs").json() == []
