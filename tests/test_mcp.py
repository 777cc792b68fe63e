"""``/mcp``: the official ``mcp`` client SDK (streamable HTTP) against the session's
API: assistants listed as tools page by page, a call, an ``interrupt()`` that comes
back paused and is resumed by a later call (on a new connection), the ``Origin``
check, ``/info`` ``flags.mcp``, and ``http.disable_mcp`` (an API process of its own,
as ``tests/test_http_config.py`` starts them). Graphs: ``tests/graphs/mcp_graphs.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import httpx2
import mcp_types as types
import pytest
from evergraph.adapter.process.devserver import free_port
from evergraph.adapter.resources.mcp import decode_state
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.conftest import EvergraphProcess, evergraph_env

GRAPHS = Path(__file__).resolve().parent / "graphs"
API_KEY = "mcp-test-key"


async def _all_tools(client: Client) -> tuple[list[types.Tool], int]:
    """Every tool, following ``nextCursor``; and how many pages that took."""
    tools: list[types.Tool] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await client.list_tools(cursor=cursor)
        pages += 1
        tools += page.tools
        cursor = page.next_cursor
        if cursor is None:
            return tools, pages


async def test_tools_are_the_assistants(server):
    async with Client(f"{server}/mcp") as client:
        tools, _ = await _all_tools(client)
    by_name = {t.name: t for t in tools}
    echo = by_name["mcp_echo"]
    assert echo.title == "mcp_echo"
    assert echo.description == "Tool based on the mcp_echo assistant"
    assert echo.input_schema["type"] == "object"
    assert echo.input_schema["properties"]["text"]["type"] == "string"
    assert echo.input_schema["required"] == ["text"]
    # a list of LangChain messages is offered as the one user message
    chat = by_name["mcp_chat"].input_schema
    assert chat["properties"]["messages"]["type"] == "string"
    assert "$defs" not in chat
    assert "broken_factory" not in by_name  # no schema, no tool


async def test_call_returns_the_final_values(server, client):
    async with Client(f"{server}/mcp") as mcp:
        result = await mcp.call_tool("mcp_echo", {"text": "hi"})
        chat = await mcp.call_tool("mcp_chat", {"messages": "hello"})
    assert not result.is_error
    assert result.structured_content == {"text": "hi", "reply": "HI"}
    assert result.content[0].text == repr({"text": "hi", "reply": "HI"})
    assert chat.structured_content["messages"][-1]["content"] == "heard 1"
    async with Client(f"{server}/mcp") as mcp:
        # a run that fails is the tool's error (the model may correct itself)
        failed = await mcp.call_tool("mcp_echo", {"wrong": 1})
        assert failed.is_error and failed.content[0].text
        # an unknown tool is a protocol error
        with pytest.raises(MCPError, match="Unknown tool"):
            await mcp.call_tool("no_such_tool", {})


async def test_interrupt_pauses_and_a_later_call_resumes(server, client):
    async with Client(f"{server}/mcp") as mcp:
        first = await mcp.session.call_tool("mcp_ask", {"question": "deploy"}, allow_input_required=True)
    assert isinstance(first, types.InputRequiredResult)
    [(key, request)] = first.input_requests.items()
    assert request.method == "elicitation/create"
    assert request.params.message == "May I deploy?"
    assert request.params.requested_schema["required"] == ["resume"]
    # the pause is an ordinary interrupted Evergraph thread
    paused = decode_state(first.request_state, "mcp_ask")
    thread = await client.threads.get(paused.thread_id)
    assert thread["status"] == "interrupted"
    assert thread["interrupts"]

    answer = {key: types.ElicitResult(action="accept", content={"resume": "yes"})}
    async with Client(f"{server}/mcp") as later:  # a new connection: nothing lives in the API process
        with pytest.raises(MCPError, match="requestState"):
            await later.call_tool("mcp_echo", {}, input_responses=answer, request_state=first.request_state)
        done = await later.call_tool("mcp_ask", {"question": "deploy"}, input_responses=answer, request_state=first.request_state)
        assert done.structured_content == {"question": "deploy", "answer": "yes"}
        # the thread is no longer waiting: the same state cannot resume it twice
        with pytest.raises(MCPError, match="not waiting"):
            await later.call_tool("mcp_ask", {}, input_responses=answer, request_state=first.request_state)
    thread = await client.threads.get(paused.thread_id)
    assert thread["status"] == "idle"
    runs = await client.runs.list(paused.thread_id)
    assert sorted(r["status"] for r in runs) == ["success", "success"]


async def test_interrupt_with_its_own_form_through_the_elicitation_callback(server):
    asked: list[types.ElicitRequestParams] = []

    async def elicit(context, params):
        asked.append(params)
        return types.ElicitResult(action="accept", content={"approved": True, "note": "fine"})

    async with Client(f"{server}/mcp", elicitation_callback=elicit) as mcp:
        result = await mcp.call_tool("mcp_form", {"question": "the release"})
    assert result.structured_content["answer"] == {"approved": True, "note": "fine"}
    [params] = asked
    assert json.loads(params.message) == {"review": "the release"}
    assert params.requested_schema["properties"] == {"approved": {"type": "boolean"}, "note": {"type": "string"}}


async def test_legacy_protocol_gets_the_pause_in_meta(server, client):
    async with Client(f"{server}/mcp", mode="legacy") as mcp:
        assert mcp.protocol_version == "2025-11-25"
        first = await mcp.call_tool("mcp_ask", {"question": "merge"})
        assert first.structured_content["__interrupt__"][0]["value"] == "May I merge?"
        paused = first.meta["langgraph/paused"]
        [key] = paused["inputRequests"]
        answer = {key: types.ElicitResult(action="accept", content={"resume": "ok"})}
        done = await mcp.call_tool("mcp_ask", {}, input_responses=answer, request_state=paused["requestState"])
    assert done.structured_content == {"question": "merge", "answer": "ok"}


def test_origin_is_checked(server):
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
    }
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    bad = httpx.post(f"{server}/mcp", json=initialize, headers={**headers, "origin": "http://rebound.example"}, timeout=30)
    assert bad.status_code == 403
    assert "Origin" in bad.json()["error"]["message"]
    good = httpx.post(f"{server}/mcp", json=initialize, headers={**headers, "origin": "http://localhost:5173"}, timeout=30)
    assert good.status_code == 200, good.text
    assert good.json()["result"]["capabilities"]["tools"] is not None
    assert httpx.get(f"{server}/info", timeout=30).json()["flags"]["mcp"] is True


def _serve(temporal_server, data_root: Path, name: str, config: dict, **env: str):
    folder = data_root / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "langgraph.json"
    path.write_text(json.dumps({"dependencies": [str(GRAPHS)], **config}))
    port = free_port()
    proc = EvergraphProcess(
        ["serve", "--config", str(path), "--port", str(port)],
        evergraph_env(temporal_server.address, folder / "data", EVERGRAPH_TASK_QUEUE=f"{name}-{port}", **env),
        data_root / f"{name}.log",
    )
    return proc, f"http://127.0.0.1:{port}"


async def test_tools_list_is_paginated_and_authenticated(temporal_server, data_root):
    graphs = {g: f"{GRAPHS}/mcp_graphs.py:{g}" for g in ("echo", "ask", "form")}
    proc, url = _serve(
        temporal_server, data_root, "mcp-pages", {"graphs": graphs}, EVERGRAPH_MCP_PAGE_SIZE="2", EVERGRAPH_API_KEYS=API_KEY
    )
    try:
        proc.wait_ready(url)
        async with httpx.AsyncClient(timeout=30) as plain:
            refused = await plain.post(f"{url}/mcp", json={}, headers={"accept": "application/json"})
        assert refused.status_code == 401
        # the key reaches the assistants the tools are made of (in-process API calls)
        keyed = httpx2.AsyncClient(headers={"x-api-key": API_KEY}, timeout=60)
        async with keyed, Client(streamable_http_client(f"{url}/mcp", http_client=keyed)) as mcp:
            first = await mcp.list_tools()
            assert [t.name for t in first.tools] and len(first.tools) == 2 and first.next_cursor == "2"
            second = await mcp.list_tools(cursor=first.next_cursor)
            assert len(second.tools) == 1 and second.next_cursor is None
            assert sorted(t.name for t in first.tools + second.tools) == ["ask", "echo", "form"]
            with pytest.raises(MCPError, match="cursor"):
                await mcp.list_tools(cursor="not-a-cursor")
    finally:
        proc.stop()


def test_disable_mcp_answers_404(temporal_server, data_root):
    config = {"graphs": {"echo": f"{GRAPHS}/mcp_graphs.py:echo"}, "http": {"disable_mcp": True}}
    proc, url = _serve(temporal_server, data_root, "mcp-off", config)
    try:
        proc.wait_ready(url)
        r = httpx.post(f"{url}/mcp", json={}, headers={"accept": "application/json"}, timeout=30)
        assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
        assert httpx.get(f"{url}/info", timeout=30).json()["flags"]["mcp"] is False
    finally:
        proc.stop()
