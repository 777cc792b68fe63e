"""Values in every stream mode carry langgraph-api 0.16.7's JSON (observed with
``langgraph dev`` on the same graphs; field order aside).

* ``serde_showcase`` (tests/graphs/serde_graphs.py): pydantic models, dataclasses,
  datetimes, a date, a UUID, bytes (base64), a tuple, a ``Document``, LangChain
  messages, ``Send`` (``{"node", "args"}``, also inside ``events`` and ``custom``),
  ``Command`` (its fields; a resume command's ``goto`` is ``null``) and interrupts.
* ``named_agent`` (tests/graphs/serde_agent.py): ``create_agent(..., name="helper")``
  with a tool, on a real ``ChatOpenAI`` against :class:`tests.providers.ProviderServer`:
  the AI messages' ``name`` and the tool message's ``id`` in ``updates`` and
  ``events`` as the official server fills them, and the root run named after the
  agent.
* :func:`evergraph.adapter.serde.dumps` on its own for the encoder's conversions.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import os
import uuid
from pathlib import Path, PurePosixPath

import pytest
from langchain_core.messages import AIMessage
from langgraph.types import Command, Interrupt, Send
from langgraph_sdk import get_client

from evergraph.adapter import serde
from tests.conftest import ROOT, running_evergraph
from tests.providers import ProviderServer

BAG = {
    "box": {"name": "b", "size": 3},
    "day": "2024-05-06",
    "doc": {"id": "doc-1", "metadata": {"source": "s"}, "page_content": "hello", "type": "Document"},
    "naive": "2024-05-06T07:08:09",
    "point": {"label": None, "x": 1, "y": 2.5},
    "raw": base64.b64encode(b"bytes\x00\xff").decode(),
    "tags": ["a", "b"],
    "uid": "12345678-1234-5678-1234-567812345678",
    "when": "2024-05-06T07:08:09.123456+00:00",
}
MESSAGES = [
    {"additional_kwargs": {}, "content": "hi", "id": "h-1", "name": None, "response_metadata": {}, "type": "human"},
    {
        "additional_kwargs": {}, "content": "", "id": "ai-1", "invalid_tool_calls": [], "name": "planner",
        "response_metadata": {}, "type": "ai", "usage_metadata": None,
        "tool_calls": [{"args": {"q": "x"}, "id": "call-1", "name": "lookup", "type": "tool_call"}],
    },
    {
        "additional_kwargs": {}, "artifact": None, "content": "found", "id": "tool-1", "name": "lookup",
        "response_metadata": {}, "status": "success", "tool_call_id": "call-1", "type": "tool",
    },
]
SENDS = [
    {"node": "fan", "args": {"x": 1, "point": {"label": None, "x": 3, "y": 4.0}}},
    {"node": "fan", "args": {"x": 2, "point": {"label": None, "x": 5, "y": 6.0}}},
]
INTERRUPT_VALUE = {
    "box": {"name": "i", "size": 3}, "point": {"label": "q", "x": 9, "y": 9.5}, "question": "ok?",
    "when": "2024-05-06T07:08:09.123456+00:00",
}
MODES = ["values", "updates", "messages", "messages-tuple", "events", "debug", "tasks", "checkpoints", "custom"]


async def _stream(client, thread_id: str, graph: str, mode: str, **kwargs) -> list:
    return [
        (p.event, p.data)
        async for p in client.runs.stream(thread_id, graph, stream_mode=mode, **kwargs)
        if p.event != "metadata"
    ]


def _walk(value):
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


def test_encoder_conversions():
    """The conversions of langgraph-api 0.16.7's JSON encoder."""
    out = serde.loads(serde.dumps({
        "send": Send("n", {"b": b"\x00\x01"}),
        "command": Command(goto=Send("m", 1), update={"k": 1}),
        "interrupt": Interrupt(value={"q": 1}, id="i-1"),
        "message": AIMessage("x", id="m", name="a"),
        "uuid": uuid.UUID(int=1), "path": PurePosixPath("/a/b"), "delta": dt.timedelta(seconds=1.5),
        "int_decimal": decimal.Decimal("3"), "float_decimal": decimal.Decimal("1.25"),
        "set": {1}, "nul": "a\x00b", "surrogate": "a\ud800b",
        "shown": ValueError("bad value"), "hidden": OSError("secret path"), "opaque": object(),
    }))
    assert out["send"] == {"node": "n", "args": {"b": "AAE="}}
    assert out["command"] == {"graph": None, "update": {"k": 1}, "resume": None, "goto": {"node": "m", "args": 1}}
    assert out["interrupt"] == {"value": {"q": 1}, "id": "i-1", "response_schema": None}
    assert out["message"]["name"] == "a" and out["message"]["type"] == "ai"
    assert out["uuid"] == str(uuid.UUID(int=1)) and out["path"] == "/a/b" and out["delta"] == 1.5
    assert out["int_decimal"] == 3 and isinstance(out["int_decimal"], int) and out["float_decimal"] == 1.25
    assert out["set"] == [1] and out["nul"] == "a\ufffdb" and out["surrogate"] == "a?b"
    assert out["shown"] == {"error": "ValueError", "message": "bad value"}
    assert out["hidden"] == {"error": "OSError", "message": "An internal error occurred"}
    assert out["opaque"] is None


@pytest.mark.parametrize("mode", MODES)
async def test_showcase_stream_modes(client, mode: str):
    thread_id = (await client.threads.create())["thread_id"]
    parts = await _stream(client, thread_id, "serde_showcase", mode, input={})
    assert parts and all(name != "error" for name, _ in parts), parts
    datas = [d for _, d in parts]
    everything = list(_walk(datas))
    if mode not in ("messages", "messages-tuple"):
        # every value of the bag, in its official JSON form
        assert BAG in everything, (mode, parts[:3])
    if mode == "values":
        last = datas[-1]
        assert last["bag"] == BAG and last["messages"] == MESSAGES and last["items"] == [1, 2]
        [intr] = last["__interrupt__"]
        assert intr["value"] == INTERRUPT_VALUE and intr["response_schema"] is None and len(intr["id"]) == 32
    if mode == "updates":
        assert datas[0] == {"start": {"bag": BAG, "messages": MESSAGES}}
        assert datas[1:3] == [{"fan": {"items": [1]}}, {"fan": {"items": [2]}}]
        assert datas[3]["__interrupt__"][0]["value"] == INTERRUPT_VALUE
    if mode == "custom":
        assert datas == [{
            "bag": BAG, "send": {"node": "fan", "args": {"x": 0}},
            "command": {"goto": "finish", "graph": None, "resume": None, "update": {"a": 1}},
        }]
    if mode == "messages-tuple":
        assert [d[0] for d in datas] == MESSAGES
    if mode == "messages":
        assert [n for n, _ in parts] == ["messages/metadata", "messages/complete"] * 3
        assert [d[0] for n, d in parts if n == "messages/complete"] == MESSAGES
    if mode == "events":
        ends = [d for d in datas if d["event"] == "on_chain_end" and d["name"] == "route"]
        assert ends and ends[0]["data"]["output"] == SENDS, ends
        assert not any(isinstance(v, str) and v.startswith("Send(") for v in everything)
    if mode in ("debug", "tasks"):
        inputs = [v for v in everything if isinstance(v, dict) and v.get("name") == "fan" and "input" in v]
        assert {"x": 1, "point": {"label": None, "x": 3, "y": 4.0}} in [i["input"] for i in inputs], inputs

    # resuming: the command as LangGraph's input (goto null, as langgraph-api builds it)
    parts = await _stream(client, thread_id, "serde_showcase", mode, command={"resume": {"ok": True}})
    assert all(name != "error" for name, _ in parts), parts
    if mode == "events":
        start = parts[0][1]
        assert start["event"] == "on_chain_start" and start["name"] == "serde_showcase"
        assert start["data"]["input"] == {"goto": None, "graph": None, "resume": {"ok": True}, "update": None}
    if mode == "values":
        assert parts[-1][1]["answer"] == {"ok": True} and parts[-1][1]["bag"] == BAG


# ------------------------------------------------------------------ the named agent


@pytest.fixture(scope="module")
def agent_server(temporal_server, data_root: Path):
    """``evergraph dev`` serving tests/graphs/langgraph_serde.json, its model on a
    :class:`ProviderServer`."""
    providers = ProviderServer().start()
    saved = {k: os.environ.get(k) for k in ("PROVIDER_OPENAI_BASE_URL", "NO_PROXY")}
    os.environ["PROVIDER_OPENAI_BASE_URL"] = providers.openai_base_url
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    try:
        config = ROOT / "tests" / "graphs" / "langgraph_serde.json"
        with running_evergraph("dev", config, temporal_server.address, data_root, "serde-agent") as url:
            yield url
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        providers.stop()


PARIS = {"messages": [{"role": "user", "content": "Paris"}]}


async def test_agent_updates_name_and_ids(agent_server: str):
    client = get_client(url=agent_server)
    thread_id = (await client.threads.create())["thread_id"]
    parts = await _stream(client, thread_id, "named_agent", "updates", input=PARIS)
    messages = [(node, m) for _, d in parts for node, upd in d.items() for m in (upd or {}).get("messages", [])]
    assert [(node, m["type"]) for node, m in messages] == [("model", "ai"), ("tools", "tool"), ("model", "ai")]
    assert [m["name"] for _, m in messages] == ["helper", "lookup", "helper"]
    assert all(m["id"] for _, m in messages), messages
    state = await client.threads.get_state(thread_id)
    assert [m["id"] for m in state["values"]["messages"][1:]] == [m["id"] for _, m in messages]


async def test_agent_events_name_and_ids(agent_server: str):
    client = get_client(url=agent_server)
    thread_id = (await client.threads.create())["thread_id"]
    parts = await _stream(client, thread_id, "named_agent", "events", input=PARIS)
    events = [d for _, d in parts]
    # the root run is the agent's own name, as langgraph-api runs it
    assert events[0]["event"] == "on_chain_start" and events[0]["name"] == "helper"
    assert events[-1]["event"] == "on_chain_end" and events[-1]["name"] == "helper"
    state = await client.threads.get_state(thread_id)
    tool_id = state["values"]["messages"][2]["id"]
    [tool_end] = [e for e in events if e["event"] == "on_tool_end"]
    assert tool_end["data"]["output"]["id"] == tool_id and tool_end["data"]["output"]["name"] == "lookup"
    model_ends = [e for e in events if e["event"] == "on_chat_model_end"]
    assert len(model_ends) == 2 and all(e["data"]["output"]["name"] == "helper" for e in model_ends), model_ends
    # streamed tokens came from the real client
    assert any(e["event"] == "on_chat_model_stream" for e in events)
