"""The ``tools`` run stream mode on v1 run streams (adapter/execution/tools_stream.py):
a tool-calling agent (``tests/graphs/tools_mode_graphs.py``: a real ``ChatOpenAI``
against the local provider server of tests/providers.py and LangGraph's
``ToolNode``) streamed through the official SDK with ``stream_mode="tools"``.

langgraph-api 0.16.7 refuses ``tools`` with 422; the event shapes are langgraph-sdk
0.4.14's ``tools`` mode as the JS SDK 1.15 types them (``ToolStreamEventData``)."""

from __future__ import annotations

import pytest

from tests.providers import ProviderServer

PARIS = {"messages": [{"role": "user", "content": "Paris"}]}


@pytest.fixture(scope="module")
def providers():
    """The local OpenAI-compatible provider server."""
    server = ProviderServer().start()
    yield server
    server.stop()


def _config(providers: ProviderServer, tool: str = "lookup") -> dict:
    return {"configurable": {"provider_url": providers.openai_base_url, "tool": tool}}


async def _stream(client, tid: str, mode, providers, tool: str = "lookup") -> list[tuple[str, object]]:
    parts = []
    async for part in client.runs.stream(
        tid, "tools_mode", input=PARIS, stream_mode=mode, config=_config(providers, tool)
    ):
        parts.append((part.event, part.data))
    return parts


def _tools(parts) -> list[dict]:
    return [data for event, data in parts if event == "tools"]


async def _tool_call_id(client, tid: str) -> str:
    messages = (await client.threads.get_state(tid))["values"]["messages"]
    return messages[1]["tool_calls"][0]["id"]


async def test_start_then_end_with_call_id_input_and_output(client, providers):
    tid = (await client.threads.create())["thread_id"]
    parts = await _stream(client, tid, "tools", providers)
    assert [e for e, _ in parts] == ["metadata", "tools", "tools"], parts
    start, end = _tools(parts)
    call_id = await _tool_call_id(client, tid)
    assert start == {"event": "on_tool_start", "toolCallId": call_id, "name": "lookup", "input": {"query": "Paris"}}
    assert (end["event"], end["toolCallId"], end["name"]) == ("on_tool_end", call_id, "lookup")
    output = end["output"]
    assert (output["type"], output["content"], output["tool_call_id"]) == ("tool", "found Paris", call_id), output
    # the run went on: the model saw the tool's answer
    messages = (await client.threads.get_state(tid))["values"]["messages"]
    assert messages[-1]["content"] == "Tool said: found Paris"


async def test_failing_tool_gives_on_tool_error(client, providers):
    tid = (await client.threads.create())["thread_id"]
    parts = await _stream(client, tid, ["tools"], providers, tool="explode")
    events = _tools(parts)
    call_id = await _tool_call_id(client, tid)
    assert [(e["event"], e["toolCallId"], e["name"]) for e in events] == [
        ("on_tool_start", call_id, "explode"), ("on_tool_error", call_id, "explode"),
    ], parts
    assert "cannot look up Paris" in events[1]["error"]
    assert "output" not in events[1]


async def test_stream_writer_in_a_tool_gives_on_tool_event(client, providers):
    tid = (await client.threads.create())["thread_id"]
    parts = await _stream(client, tid, ["tools", "custom"], providers, tool="progress")
    call_id = await _tool_call_id(client, tid)
    shown = [(e, d["event"], d["toolCallId"], d["name"]) if e == "tools" else (e, d) for e, d in parts[1:]]
    steps = [{"step": 1, "of": "Paris"}, {"step": 2, "of": "Paris"}]
    # each write is the call's on_tool_event and, with ``custom`` requested, still a custom event
    assert shown == [
        ("tools", "on_tool_start", call_id, "progress"),
        ("tools", "on_tool_event", call_id, "progress"), ("custom", steps[0]),
        ("tools", "on_tool_event", call_id, "progress"), ("custom", steps[1]),
        ("tools", "on_tool_end", call_id, "progress"),
    ], parts
    assert [d["data"] for d in _tools(parts) if d["event"] == "on_tool_event"] == steps
    # without ``custom`` the writes are tool events only
    tid = (await client.threads.create())["thread_id"]
    parts = await _stream(client, tid, "tools", providers, tool="progress")
    assert [e for e, _ in parts].count("custom") == 0
    assert [d["event"] for d in _tools(parts)] == ["on_tool_start", "on_tool_event", "on_tool_event", "on_tool_end"]


async def test_with_values(client, providers):
    tid = (await client.threads.create())["thread_id"]
    parts = await _stream(client, tid, ["tools", "values"], providers)
    kinds = []
    for event, data in parts[1:]:
        kinds.append(data["event"] if event == "tools" else f"values:{len(data['messages'])}")
    # the tool runs after the state holds the model's tool call, before it holds the result
    assert kinds == ["values:1", "values:2", "on_tool_start", "on_tool_end", "values:3", "values:4"], parts


async def test_subgraph_tools_are_namespaced(client, providers):
    """Tools of a subgraph: ``tools|outer:<task id>`` once each with
    ``stream_subgraphs``, nothing without (as LangGraph's own ``tools`` mode)."""
    for subgraphs in (True, False):
        tid = (await client.threads.create())["thread_id"]
        parts = [
            (p.event, p.data) async for p in client.runs.stream(
                tid, "tools_mode_nested", input=PARIS, stream_mode="tools", stream_subgraphs=subgraphs,
                config=_config(providers),
            )
        ]
        tools = [(e.split("|")[0], e.split("|")[1].split(":")[0], d["event"]) for e, d in parts if e.startswith("tools")]
        expected = [("tools", "outer", "on_tool_start"), ("tools", "outer", "on_tool_end")] if subgraphs else []
        assert tools == expected, parts


async def test_every_run_endpoint_accepts_tools(client, providers, http):
    config = _config(providers)
    tid = (await client.threads.create())["thread_id"]
    body = {"assistant_id": "tools_mode", "input": PARIS, "config": config}
    # the SDK's ``wait`` sends no stream_mode: plain HTTP
    for path, mode in ((f"/threads/{tid}/runs/wait", ["tools"]), ("/runs/wait", "tools")):
        waited = http.post(path, json={**body, "stream_mode": mode})
        assert waited.status_code == 200, (path, waited.text)
        assert waited.json()["messages"][-1]["content"] == "Tool said: found Paris"
    stateless = [
        (p.event, p.data) async for p in client.runs.stream(
            None, "tools_mode", input=PARIS, stream_mode=["tools"], config=config
        )
    ]
    assert [d["event"] for d in _tools(stateless)] == ["on_tool_start", "on_tool_end"], stateless
    # a background run, joined from its start
    run = await client.runs.create(
        tid, "tools_mode", input=PARIS, stream_mode=["tools"], stream_resumable=True, config=config
    )
    joined = [
        (p.event, p.data) async for p in client.runs.join_stream(tid, run["run_id"], last_event_id="-1")
    ]
    assert [d["event"] for d in _tools(joined)] == ["on_tool_start", "on_tool_end"], joined
    assert (await client.runs.get(tid, run["run_id"]))["kwargs"]["stream_mode"] == ["tools"]
    batch = http.post("/runs/batch", json=[{**body, "stream_mode": ["tools"]}])
    assert batch.status_code == 200, batch.text
    for path in (f"/threads/{tid}/runs/crons", "/runs/crons"):
        r = http.post(path, json={"assistant_id": "tools_mode", "schedule": "0 0 1 1 *", "stream_mode": "tools"})
        assert r.status_code == 200, (path, r.text)
        await client.crons.delete(r.json()["cron_id"])
