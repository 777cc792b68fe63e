"""The example agent (LangGraph's prebuilt tool-calling agent with the fake streaming
model) served by a second `evergraph dev` on the examples' langgraph.json."""

from __future__ import annotations

from pathlib import Path

import pytest
from langgraph_sdk import get_client

from tests.conftest import ROOT, running_evergraph


@pytest.fixture(scope="module")
def examples_server(temporal_server, data_root: Path):
    with running_evergraph("dev", ROOT / "examples" / "langgraph.json", temporal_server.address, data_root, "examples") as url:
        yield url


async def test_agent_streams_tokens_and_calls_tools(examples_server):
    client = get_client(url=examples_server)
    thread = await client.threads.create()
    parts = [
        p
        async for p in client.runs.stream(
            thread["thread_id"],
            "agent",
            input={"messages": [{"role": "user", "content": "What's the weather in Paris?"}]},
            stream_mode=["messages-tuple", "updates"],
        )
    ]
    messages = [p.data for p in parts if p.event == "messages"]
    chunks = [m for m, meta in messages if m["type"] == "AIMessageChunk"]
    assert len(chunks) > 5
    assert messages[0][1]["langgraph_node"] == "model"
    text = "".join(c["content"] for c in chunks if isinstance(c["content"], str))
    assert "The result is: The weather in Paris is sunny, 22°C." in text
    updates = [p.data for p in parts if p.event == "updates"]
    assert [list(u) for u in updates] == [["model"], ["tools"], ["model"]]
    assert updates[0]["model"]["messages"][0]["tool_calls"][0]["name"] == "get_weather"
    state = await client.threads.get_state(thread["thread_id"])
    assert [m["type"] for m in state["values"]["messages"]] == ["human", "ai", "tool", "ai"]


async def test_examples_timeouts_graph_loads(examples_server):
    client = get_client(url=examples_server)
    body = await client.runs.wait(None, "timeouts", input={"mode": "slow_sync", "log": []}, raise_error=False)
    assert body["__error__"]["error"] == "NodeTimeoutError"
