"""The whole v2 thread protocol (PyPI ``langchain-protocol`` 0.0.20's commands and
channels) driven through ``langgraph-sdk`` 0.4.14's ``client.threads.stream(...)``
helpers over SSE and WebSocket, against the session's ``evergraph dev``:

* a tool-calling agent (``ChatOpenAI`` of ``langchain-openai`` against the local
  provider server of tests/providers.py): ``thread.messages`` (text and tool-call
  content blocks), ``thread.tool_calls`` handles, ``tool-call-delta`` on the wire;
* an agent with subagents as subgraphs: ``thread.subgraphs`` handles for the
  direct children, their ``messages``, ``lifecycle`` of every namespace,
  ``agent.getTree``;
* a graph emitting extension events: ``thread.extensions[name]`` and ``custom``;
* ``state.get`` / ``state.listCheckpoints`` / ``state.fork`` / ``input.inject``,
  ``subscription.reconnect`` after a dropped WebSocket, and the errors.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from websockets.asyncio.client import connect as ws_connect

from tests.graphs.streams import ANSWER
from tests.providers import ProviderServer

TRANSPORTS = ["sse", "websocket"]
ALL = ["lifecycle", "values", "updates", "messages", "custom", "input", "tasks", "tools", "checkpoints"]
SIDE = ["updates", "checkpoints", "tasks"]  #: channels of side events (no seq of their own)
MAIN = [c for c in ALL if c not in SIDE]
WEATHER = "Sunny, 21 degrees in Paris"


@pytest.fixture(scope="module")
def providers():
    """The local OpenAI-compatible provider server."""
    server = ProviderServer().start()
    yield server
    server.stop()


@pytest.fixture
async def ahttp(server: str):
    async with httpx.AsyncClient(base_url=server, timeout=60) as c:
        yield c


def _blocks(text: str) -> list[dict]:
    out = []
    for block in text.split("\r\n\r\n"):
        for line in block.split("\r\n"):
            if line.startswith("data: "):
                out.append(json.loads(line[6:]))
    return out


def _root_terminal(events: list[dict]) -> bool:
    return any(
        e.get("method") == "lifecycle" and not e["params"]["namespace"]
        and e["params"]["data"]["event"] in ("completed", "failed", "interrupted")
        for e in events
    )


async def _read(http: httpx.AsyncClient, tid: str, body: dict, until=_root_terminal) -> list[dict]:
    """The SSE event stream of ``tid`` read until ``until(events)``."""
    buf = ""
    async with http.stream("POST", f"/threads/{tid}/stream/events", json=body) as r:
        assert r.status_code == 200, await r.aread()
        async for chunk in r.aiter_text():
            buf += chunk
            events = _blocks(buf[: buf.rfind("\r\n\r\n") + 4])
            if until(events):
                return events
    raise AssertionError(f"stream closed early: {buf[-500:]!r}")


async def _command(http: httpx.AsyncClient, tid: str, cid: int, method: str, params: dict) -> dict:
    r = await http.post(f"/threads/{tid}/commands", json={"id": cid, "method": method, "params": params})
    assert r.status_code == 200, r.text
    return r.json()


def _data(events: list[dict], method: str, ns: list[str] | None = None) -> list:
    return [e["params"]["data"] for e in events
            if e["method"] == method and (ns is None or e["params"]["namespace"] == ns)]


# ------------------------------------------------------------------- tool agent


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("graph", ["proto_tools", "proto_create_agent"])
async def test_tool_agent_messages_and_tool_calls(client, providers, transport, graph):
    """``thread.messages`` gives one chat-model stream per model call (the first
    carrying the tool call, the second the answer) and ``thread.tool_calls`` one
    handle per tool call, with its input and output."""
    async with client.threads.stream(assistant_id=graph, transport=transport) as thread:
        async def messages():  # the projection feeds the streams while it is iterated
            return [s async for s in thread.messages]

        async def tool_calls():
            return [h async for h in thread.tool_calls]

        m_task, t_task = asyncio.ensure_future(messages()), asyncio.ensure_future(tool_calls())
        await thread.run.start(input={"messages": [{"role": "user", "content": "Paris"}]},
                               config={"configurable": {"provider_url": providers.openai_base_url}})
        output = await thread.output.with_timeout(60)
        streams = [((await s.text), (await s).tool_calls) for s in await asyncio.wait_for(m_task, 30)]
        calls = [(h.name, h.input, await h.output) for h in await asyncio.wait_for(t_task, 30)]
    assert [m["type"] for m in output["messages"]] == ["human", "ai", "tool", "ai"]
    assert len(streams) == 2
    (text1, calls1), (text2, calls2) = streams
    assert text1 == "" and [(c["name"], c["args"]) for c in calls1] == [("weather", {"city": "Paris"})]
    assert text2 == f"Tool said: {WEATHER}" and calls2 == []
    assert len(calls) == 1
    name, args, result = calls[0]
    assert name == "weather" and args == {"city": "Paris"}
    assert result["type"] == "tool" and result["content"] == WEATHER
    assert result["tool_call_id"] == calls1[0]["id"]


async def test_tool_agent_wire(ahttp, providers):
    """On the wire: the tool call is a ``tool_call_chunk`` block growing by
    ``tool-call-delta`` and finished as ``tool_call`` with parsed args; the tools
    channel has ``tool-started`` then ``tool-finished``; message-finish carries
    the usage the model reported."""
    tid = str(uuid.uuid4())
    resp = await _command(ahttp, tid, 1, "run.start", {
        "assistant_id": "proto_tools", "input": {"messages": [{"role": "user", "content": "Paris"}]},
        "config": {"configurable": {"provider_url": providers.openai_base_url}},
    })
    assert resp["type"] == "success", resp
    events = await _read(ahttp, tid, {"channels": ["lifecycle", "messages", "tools"], "since": 0})
    msgs = _data(events, "messages", [])
    first = msgs[: [m["event"] for m in msgs].index("message-finish") + 1]
    starts = [m for m in first if m["event"] == "content-block-start"]
    assert [s["content"]["type"] for s in starts] == ["tool_call_chunk"]
    index = starts[0]["index"]
    deltas = [m["delta"] for m in first if m["event"] == "content-block-delta"]
    assert deltas and all(d["type"] == "tool-call-delta" for d in deltas)
    assert json.loads("".join(d["args"] for d in deltas)) == {"city": "Paris"}
    finish = [m for m in first if m["event"] == "content-block-finish"]
    assert finish == [{"event": "content-block-finish", "index": index, "content": {
        "type": "tool_call", "id": starts[0]["content"]["id"], "name": "weather", "args": {"city": "Paris"}}}]
    assert first[-1]["event"] == "message-finish" and first[-1]["usage"]["input_tokens"] > 0
    tools = _data(events, "tools", [])
    assert [t["event"] for t in tools] == ["tool-started", "tool-finished"]
    call_id = starts[0]["content"]["id"]
    assert tools[0] == {"event": "tool-started", "tool_call_id": call_id, "tool_name": "weather",
                        "input": {"city": "Paris"}}
    assert tools[1]["tool_call_id"] == call_id and tools[1]["output"]["content"] == WEATHER
    # the tool ran between the two model calls
    order = [(e["method"], e["params"]["data"].get("event")) for e in events if e["method"] in ("tools", "messages")]
    assert order.index(("tools", "tool-started")) < order.index(("messages", "message-start"), 1)


# -------------------------------------------------------------------- subagents


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("graph", ["proto_subagents", "proto_parallel"])
async def test_subagents_as_handles(client, transport, graph):
    """``thread.subgraphs`` yields a handle per direct child (the two subagents,
    one after the other or in parallel; not the grandchild), named after its
    node, whose ``messages`` are its own model's tokens."""
    async with client.threads.stream(assistant_id=graph, transport=transport) as thread:
        async def discover():
            return [h async for h in thread.subgraphs]

        task = asyncio.ensure_future(discover())
        await thread.run.start(input={"messages": [{"role": "user", "content": "go"}]})
        output = await thread.output.with_timeout(60)
        handles = await asyncio.wait_for(task, 30)
        texts = {}
        for handle in handles:
            streams = [s async for s in handle.messages]  # fed while iterated
            texts[handle.graph_name] = [await s.text for s in streams]
    assert sorted(h.graph_name for h in handles) == ["critic", "researcher"]
    assert all(len(h.namespace) == 1 and h.namespace[0] == f"{h.graph_name}:{h.trigger_call_id}" for h in handles)
    assert all(h.status == "completed" for h in handles)
    assert texts == {"critic": ["critique looks fine"], "researcher": ["research findings ready"]}
    assert sorted(m["content"] for m in output["messages"][1:]) == [
        "critique looks fine", "looked up sources", "research findings ready"]


async def test_subagent_lifecycle_and_tree(ahttp):
    """Each namespace is announced by ``lifecycle started`` before its first event
    and ended by ``lifecycle completed``; ``agent.getTree`` gives the nesting."""
    tid = str(uuid.uuid4())
    await _command(ahttp, tid, 1, "run.start", {"assistant_id": "proto_subagents",
                                                "input": {"messages": [{"role": "user", "content": "go"}]}})
    events = await _read(ahttp, tid, {"channels": ALL, "since": 0})
    seen: dict[tuple, str] = {}
    for e in events:
        ns = tuple(e["params"]["namespace"])
        if e["method"] == "lifecycle" and ns:
            data = e["params"]["data"]
            if data["event"] == "started":
                assert ns not in seen
                name, _, trigger = ns[-1].partition(":")
                assert data == {"event": "started", "namespace": list(ns), "graph_name": name, "trigger_call_id": trigger}
            else:
                assert data == {"event": "completed", "graph_name": ns[-1].partition(":")[0]}
            seen[ns] = data["event"]
        elif ns:
            assert seen.get(ns) == "started", (e, seen)
    names = sorted(tuple(s.partition(":")[0] for s in ns) for ns in seen)
    assert names == [("critic",), ("researcher",), ("researcher", "lookup")]
    assert set(seen.values()) == {"completed"}

    tree = await _command(ahttp, tid, 2, "agent.getTree", {})
    assert tree["type"] == "success", tree
    root = tree["result"]["tree"]
    assert root["namespace"] == [] and root["graph_name"] == "proto_subagents" and root["status"] == "completed"
    kids = {c["graph_name"]: c for c in root["children"]}
    assert set(kids) == {"critic", "researcher"} and all(c["status"] == "completed" for c in kids.values())
    assert [g["graph_name"] for g in kids["researcher"]["children"]] == ["lookup"]
    assert "children" not in kids["critic"]
    run_id = next(e["event_id"] for e in events if e["method"] == "lifecycle").split(":")[1]
    same = await _command(ahttp, tid, 3, "agent.getTree", {"run_id": run_id})
    assert same["result"] == tree["result"]
    missing = await _command(ahttp, tid, 4, "agent.getTree", {"run_id": str(uuid.uuid4())})
    assert missing["type"] == "error" and missing["error"] == "no_such_run"
    # subgraph values carry their namespace; depth 0 keeps the root only
    root_only = await _read(ahttp, tid, {"channels": ALL, "namespaces": [[]], "depth": 0, "since": 0})
    assert root_only == [e for e in events if not e["params"]["namespace"]]


# ------------------------------------------------------------------- extensions


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_extensions(client, transport):
    """``thread.extensions[name]`` yields that extension's events as the node
    wrote them; other names and plain custom data do not reach it."""
    async with client.threads.stream(assistant_id="proto_extensions", transport=transport) as thread:
        async def ext(name):
            return [e async for e in thread.extensions[name]]

        progress, status = asyncio.ensure_future(ext("progress")), asyncio.ensure_future(ext("status"))
        await thread.run.start(input={"steps": []})
        output = await thread.output.with_timeout(60)
        progress, status = await asyncio.wait_for(progress, 30), await asyncio.wait_for(status, 30)
    assert output == {"steps": [1, 2, 3]}
    assert progress == [{"name": "progress", "payload": {"step": s}} for s in (1, 2, 3)]
    assert status == [{"name": "status", "payload": "done"}]


async def test_custom_channel(ahttp):
    """``custom`` carries the extension events in order (``custom:<name>`` only
    that name's); plain stream-writer data is not sent, as langgraph-api 0.16.7
    does not."""
    tid = str(uuid.uuid4())
    await _command(ahttp, tid, 1, "run.start", {"assistant_id": "proto_extensions", "input": {"steps": []}})
    events = await _read(ahttp, tid, {"channels": ["lifecycle", "custom"], "since": 0})
    assert [e["method"] for e in events] == ["lifecycle"] + ["custom"] * 4 + ["lifecycle"]
    assert _data(events, "custom") == [
        {"name": "progress", "payload": {"step": 1}}, {"name": "progress", "payload": {"step": 2}},
        {"name": "progress", "payload": {"step": 3}}, {"name": "status", "payload": "done"},
    ]
    named = await _read(ahttp, tid, {"channels": ["lifecycle", "custom:status"], "since": 0})
    assert _data(named, "custom") == [{"name": "status", "payload": "done"}]


# ---------------------------------------------------------------- state commands


async def test_state_commands_and_fork(ahttp):
    """``state.get`` (keys, namespace), ``state.listCheckpoints`` (limit, before),
    ``state.fork`` from an earlier checkpoint (a new run on the same thread whose
    events continue the log), and their errors."""
    tid = str(uuid.uuid4())
    await _command(ahttp, tid, 1, "run.start", {"assistant_id": "agent",
                                                "input": {"messages": [{"role": "user", "content": "hi"}]}})
    events = await _read(ahttp, tid, {"channels": ["lifecycle"], "since": 0})
    history = (await ahttp.post(f"/threads/{tid}/history", json={"limit": 10})).json()
    cps = [{"id": h["checkpoint"]["checkpoint_id"], "step": h["metadata"]["step"]} for h in reversed(history)]
    assert [c["step"] for c in cps] == [-1, 0, 1, 2]

    state = await _command(ahttp, tid, 2, "state.get", {"namespace": []})
    assert state["type"] == "success", state
    assert state["result"]["values"]["log"] == ["writer(user=None)", "chat"]
    assert state["result"]["checkpoint"] == {"id": cps[-1]["id"]}
    only = await _command(ahttp, tid, 3, "state.get", {"namespace": [], "keys": ["log"]})
    assert only["result"]["values"] == {"log": ["writer(user=None)", "chat"]}
    nowhere = await _command(ahttp, tid, 4, "state.get", {"namespace": ["nope:1"]})
    assert nowhere["type"] == "error" and nowhere["error"] == "no_such_namespace"

    page = await _command(ahttp, tid, 5, "state.listCheckpoints", {"limit": 2})
    listed = page["result"]["checkpoints"]
    assert [c["id"] for c in listed] == [cps[3]["id"], cps[2]["id"]]
    assert [c["step"] for c in listed] == [2, 1] and listed[0]["node_name"] == "chat"
    assert all(isinstance(c["timestamp"], str) and c["timestamp"] for c in listed)
    rest = await _command(ahttp, tid, 6, "state.listCheckpoints", {"before": listed[-1]["id"]})
    assert [c["id"] for c in rest["result"]["checkpoints"]] == [cps[1]["id"], cps[0]["id"]]
    bad = await _command(ahttp, tid, 7, "state.listCheckpoints", {"before": str(uuid.uuid4())})
    assert bad["error"] == "no_such_checkpoint"

    # fork from the checkpoint before "chat" ran: chat runs again on that state
    last_seq = events[-1]["seq"]
    forked = await _command(ahttp, tid, 8, "state.fork", {"checkpoint_id": cps[2]["id"]})
    assert forked["type"] == "success", forked
    assert forked["result"]["thread_id"] == tid and forked["meta"] == {"applied_through_seq": last_seq}
    after = await _read(ahttp, tid, {"channels": ["lifecycle", "values"], "since": last_seq})
    assert after[0]["event_id"] == f"synth:{forked['result']['run_id']}:lc||running"
    assert after[-2]["params"]["data"]["log"] == ["writer(user=None)", "chat"]
    state = await _command(ahttp, tid, 9, "state.get", {"namespace": []})
    assert [m["content"] for m in state["result"]["values"]["messages"]] == ["hi", ANSWER]
    missing = await _command(ahttp, tid, 10, "state.fork", {"checkpoint_id": str(uuid.uuid4())})
    assert missing["type"] == "error" and missing["error"] == "no_such_checkpoint"
    invalid = await _command(ahttp, tid, 11, "state.fork", {})
    assert invalid["error"] == "invalid_argument"
    fresh = await _command(ahttp, str(uuid.uuid4()), 12, "state.get", {"namespace": []})
    assert fresh["error"] == "no_such_run"


async def test_input_inject(ahttp):
    """``input.inject`` appends a user message through a run queued on the thread."""
    tid = str(uuid.uuid4())
    await _command(ahttp, tid, 1, "run.start", {"assistant_id": "agent",
                                                "input": {"messages": [{"role": "user", "content": "hi"}]}})
    injected = await _command(ahttp, tid, 2, "input.inject",
                              {"namespace": [], "message": {"role": "user", "content": "more"}})
    assert injected["type"] == "success" and injected["result"] == {}, injected
    events = await _read(ahttp, tid, {"channels": ["lifecycle"], "since": 0},
                         lambda ev: [e["params"]["data"]["event"] for e in ev] == ["running", "completed"] * 2)
    assert len(events) == 4
    state = await _command(ahttp, tid, 3, "state.get", {"namespace": [], "keys": ["messages"]})
    assert [m["content"] for m in state["result"]["values"]["messages"]] == ["hi", ANSWER, "more", ANSWER]
    bad = await _command(ahttp, tid, 4, "input.inject", {"namespace": [], "message": {"role": "ai", "content": "x"}})
    assert bad["error"] == "invalid_argument"
    deep = await _command(ahttp, tid, 5, "input.inject", {"namespace": ["x:1"], "message": {"role": "user", "content": "x"}})
    assert deep["error"] == "no_such_namespace"


# ---------------------------------------------------------------- reconnecting


async def test_websocket_reconnect_misses_and_repeats_nothing(server, ahttp):
    """A WebSocket dropped mid-run and replaced by one that sends
    ``subscription.reconnect {since: <last seq seen>}`` receives exactly the
    events after it: together the two sockets saw the log once, in order."""
    tid = str(uuid.uuid4())
    url = server.replace("http://", "ws://") + f"/threads/{tid}/stream/events"
    first: list[dict] = []
    async with ws_connect(url) as ws:
        await ws.send(json.dumps({"id": 1, "method": "subscription.subscribe", "params": {"channels": MAIN}}))
        assert json.loads(await ws.recv())["type"] == "success"
        await _command(ahttp, tid, 2, "run.start", {"assistant_id": "proto_subagents",
                                                    "input": {"messages": [{"role": "user", "content": "go"}]}})
        while len(first) < 6:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if frame.get("type") == "event":
                first.append(frame)
    # the socket is gone; the run goes on
    second: list[dict] = []
    async with ws_connect(url) as ws:
        await ws.send(json.dumps({"id": 3, "method": "subscription.reconnect",
                                  "params": {"channels": MAIN, "since": first[-1]["seq"], "subscription_id": "mine"}}))
        reply = json.loads(await ws.recv())
        assert reply["type"] == "success" and reply["result"]["subscription_id"] == "mine", reply
        while not _root_terminal(second):
            frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if frame.get("type") == "event":
                second.append(frame)
    seqs = [e["seq"] for e in first + second]
    assert seqs == list(range(1, len(seqs) + 1))
    replay = await _read(ahttp, tid, {"channels": MAIN, "since": 0})
    assert first + second == replay


# ------------------------------------------------------------------------ errors


async def test_errors(server, ahttp):
    """422 before the stream starts for bad filters and ids; WebSocket refusals
    close with 4000 + status; bad commands answer protocol errors; a run that
    fails ends with ``lifecycle failed``."""
    tid = str(uuid.uuid4())
    r = await ahttp.post(f"/threads/{tid}/stream/events", json={"channels": ["lifecycle"], "since": -1})
    assert r.status_code == 422 and "since" in r.text
    r = await ahttp.post(f"/threads/{tid}/stream/events", json={"channels": "values"})
    assert r.status_code == 400 and r.json() == {"detail": "channels is required and must be a non-empty array"}
    async with ws_connect(server.replace("http://", "ws://") + "/threads/not-a-uuid/stream/events") as ws:
        with pytest.raises(Exception) as closed:
            await ws.recv()
    assert closed.value.rcvd.code == 4422
    async with ws_connect(server.replace("http://", "ws://") + f"/threads/{tid}/stream/events") as ws:
        await ws.send(json.dumps({"id": 1, "method": "subscription.reconnect", "params": {"channels": ["values"]}}))
        reply = json.loads(await ws.recv())
        assert reply["type"] == "error" and reply["error"] == "invalid_argument" and "since" in reply["message"]
        await ws.send(json.dumps({"id": 2, "method": "subscription.unsubscribe", "params": {"subscription_id": "x"}}))
        assert json.loads(await ws.recv())["error"] == "no_such_subscription"
    sub = await _command(ahttp, tid, 3, "subscription.subscribe", {"channels": ["values"]})
    assert sub["type"] == "error" and sub["error"] == "not_supported"
    tree = await _command(ahttp, tid, 4, "agent.getTree", {})
    assert tree["error"] == "no_such_run"
    await _command(ahttp, tid, 5, "run.start", {"assistant_id": "failing", "input": {}})
    events = await _read(ahttp, tid, {"channels": ["lifecycle"], "since": 0})
    assert events[-1]["params"]["data"]["event"] == "failed" and events[-1]["params"]["data"]["error"]


# ------------------------------------------------- updates, checkpoints, tasks


async def test_updates_checkpoints_and_tasks_on_the_wire(ahttp):
    """Subscribed to, ``updates`` carries ``{node, values}`` per node update at its
    namespace, ``checkpoints`` the spec's envelope ``{id, parent_id?, step,
    source}`` per checkpoint (the ids ``state.listCheckpoints`` lists), ``tasks``
    LangGraph's task start / result payloads; every event of a subgraph namespace
    follows its ``lifecycle started``. These side events take no ``seq`` of their
    own: the main events are the same, with the same ``seq``, as for a
    subscription without them, and a side event carries the ``seq`` of the main
    event before it."""
    tid = str(uuid.uuid4())
    await _command(ahttp, tid, 1, "run.start", {"assistant_id": "proto_subagents",
                                                "input": {"messages": [{"role": "user", "content": "go"}]}})
    events = await _read(ahttp, tid, {"channels": ALL, "since": 0})
    main = await _read(ahttp, tid, {"channels": MAIN, "since": 0})
    assert [e for e in events if e["method"] not in SIDE] == main
    assert [e["seq"] for e in main] == list(range(1, len(main) + 1))
    last_main = 0
    for e in events:
        if e["method"] in SIDE:
            assert e["seq"] == last_main, e
        else:
            last_main = e["seq"]
    assert len({e["event_id"] for e in events}) == len(events)
    started: set[tuple] = set()
    for e in events:
        ns = tuple(e["params"]["namespace"])
        if e["method"] == "lifecycle" and e["params"]["data"]["event"] == "started":
            started.add(ns)
        elif ns:
            assert ns in started, e

    def names(ns_names: tuple) -> list:
        return [d["node"] for e in events if e["method"] == "updates"
                and tuple(s.partition(":")[0] for s in e["params"]["namespace"]) == ns_names
                for d in [e["params"]["data"]]]

    assert names(()) == ["researcher", "critic"]
    assert names(("researcher",)) == ["lookup", "write"]
    assert names(("researcher", "lookup")) == ["search"]
    assert names(("critic",)) == ["review"]
    root_updates = _data(events, "updates", [])
    # a subgraph node's update is the subgraph's output state (LangGraph's own update)
    assert root_updates[1]["values"]["messages"][-1]["content"] == "critique looks fine"
    assert list(root_updates[1]["values"]["messages"][-1])[:3] == ["type", "content", "id"]  # compacted
    assert all(set(u) == {"node", "values"} for u in _data(events, "updates"))

    checkpoints = _data(events, "checkpoints", [])
    assert [(c["step"], c["source"]) for c in checkpoints] == [(-1, "input"), (0, "loop"), (1, "loop"), (2, "loop")]
    assert "parent_id" not in checkpoints[0]
    assert [c["parent_id"] for c in checkpoints[1:]] == [c["id"] for c in checkpoints[:-1]]
    assert all(set(c) <= {"id", "parent_id", "step", "source"} for c in _data(events, "checkpoints"))
    listed = await _command(ahttp, tid, 2, "state.listCheckpoints", {})
    assert {c["id"] for c in listed["result"]["checkpoints"]} == {c["id"] for c in checkpoints}
    state = (await ahttp.get(f"/threads/{tid}/state")).json()
    assert state["checkpoint"]["checkpoint_id"] == checkpoints[-1]["id"]

    tasks = _data(events, "tasks", [])
    starts = [t for t in tasks if "triggers" in t]
    results = [t for t in tasks if "result" in t]
    assert [t["name"] for t in starts] == ["researcher", "critic"]
    assert [t["id"] for t in results] == [t["id"] for t in starts]
    assert all(not t["error"] for t in results)
    children = sorted(tuple(e["params"]["namespace"]) for e in events
                      if e["method"] == "lifecycle" and len(e["params"]["namespace"]) == 1)
    assert sorted({(f"{t['name']}:{t['id']}",) for t in starts}) == sorted(set(children))

    # a subscription without the side channels sees exactly what it saw before
    lifecycle = await _read(ahttp, tid, {"channels": ["lifecycle"], "since": 0})
    assert lifecycle == [e for e in main if e["method"] == "lifecycle"]


async def test_side_events_and_the_since_cursor(ahttp):
    """``since: N`` replays the main events after ``N`` and the side events from
    ``N`` on (those that follow main event ``N``): a client whose last event was
    main event ``N`` misses nothing."""
    tid = str(uuid.uuid4())
    await _command(ahttp, tid, 1, "run.start", {"assistant_id": "proto_subagents",
                                                "input": {"messages": [{"role": "user", "content": "go"}]}})
    events = await _read(ahttp, tid, {"channels": ALL, "since": 0})
    mains = [i for i, e in enumerate(events) if e["method"] not in SIDE]
    # a main event followed by side events
    i = next(i for i in mains if i + 1 < len(events) and events[i + 1]["method"] in SIDE)
    cursor = events[i]["seq"]
    replay = await _read(ahttp, tid, {"channels": ALL, "since": cursor})
    assert replay == events[i + 1:]
    side_only = await _read(ahttp, tid, {"channels": ["lifecycle", "checkpoints"], "since": cursor})
    assert side_only == [e for e in events[i + 1:] if e["method"] in ("lifecycle", "checkpoints")]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_sdk_updates_checkpoints_tasks_and_grandchildren(client, transport):
    """``thread.interleave_projections`` yields the root's ``updates``,
    ``checkpoints`` and ``tasks`` payloads; a subagent handle's own ``subgraphs``
    finds its child (the grandchild ``lookup``, from ``tasks`` events), which ends
    ``completed`` and streams its own model's tokens."""
    async with client.threads.stream(assistant_id="proto_subagents", transport=transport) as thread:
        async def interleaved():
            out = []
            async for channel, item in thread.interleave_projections(["updates", "checkpoints", "tasks"]):
                out.append((channel, item))
                if channel == "updates" and "critic" == item.get("node"):
                    return out

        async def children():
            return [h async for h in thread.subgraphs]

        tasks = [asyncio.ensure_future(f()) for f in (interleaved, children)]
        await thread.run.start(input={"messages": [{"role": "user", "content": "go"}]})
        await thread.output.with_timeout(60)
        mixed, handles = await asyncio.wait_for(asyncio.gather(*tasks), 60)
        researcher = next(h for h in handles if h.graph_name == "researcher")
        grandchildren = await asyncio.wait_for(_collect(researcher.subgraphs), 30)
        texts = [[await s.text for s in await asyncio.wait_for(_collect(g.messages), 30)] for g in grandchildren]
        critic = next(h for h in handles if h.graph_name == "critic")
        none = await asyncio.wait_for(_collect(critic.subgraphs), 30)
    assert [i["node"] for c, i in mixed if c == "updates"] == ["researcher", "critic"]
    assert [(i["step"], i["source"]) for c, i in mixed if c == "checkpoints"][:2] == [(-1, "input"), (0, "loop")]
    assert [i["name"] for c, i in mixed if c == "tasks" and "triggers" in i] == ["researcher", "critic"]
    assert [g.graph_name for g in grandchildren] == ["lookup"]
    assert grandchildren[0].namespace[0] == researcher.namespace[0] and len(grandchildren[0].namespace) == 2
    assert grandchildren[0].status == "completed"
    assert texts == [["looked up sources"]]
    assert none == []


async def _collect(aiterable) -> list:
    return [x async for x in aiterable]


# ---------------------------------------------------------------------- reasoning


async def test_reasoning_deltas_on_the_wire(ahttp):
    """A model streaming reasoning (a v1 ``reasoning`` block, an Anthropic
    ``thinking`` block, ``additional_kwargs.reasoning_content``) before its text:
    one ``reasoning`` content block growing by ``reasoning-delta``, then the text
    block, each finished with its whole content."""
    tid = str(uuid.uuid4())
    await _command(ahttp, tid, 1, "run.start", {"assistant_id": "proto_reasoning",
                                                "input": {"messages": [{"role": "user", "content": "why?"}]}})
    events = await _read(ahttp, tid, {"channels": ["lifecycle", "messages"], "since": 0})
    msgs = _data(events, "messages", [])
    assert [m["event"] for m in msgs] == (
        ["message-start", "content-block-start"] + ["content-block-delta"] * 3
        + ["content-block-start"] + ["content-block-delta"] * 2
        + ["content-block-finish", "content-block-finish", "message-finish"])
    assert msgs[1] == {"event": "content-block-start", "index": 0, "content": {"type": "reasoning", "reasoning": ""}}
    assert [m["delta"] for m in msgs[2:5]] == [{"type": "reasoning-delta", "reasoning": r}
                                               for r in ("Let me ", "think it ", "through.")]
    assert msgs[5] == {"event": "content-block-start", "index": 1, "content": {"type": "text", "text": ""}}
    assert msgs[8] == {"event": "content-block-finish", "index": 0,
                       "content": {"type": "reasoning", "reasoning": "Let me think it through."}}
    assert msgs[9] == {"event": "content-block-finish", "index": 1, "content": {"type": "text", "text": "The answer is 42."}}


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_sdk_message_reasoning(client, transport):
    """The SDK's chat-model stream gives the reasoning and the text apart."""
    async with client.threads.stream(assistant_id="proto_reasoning", transport=transport) as thread:
        async def messages():
            return [s async for s in thread.messages]

        task = asyncio.ensure_future(messages())
        await thread.run.start(input={"messages": [{"role": "user", "content": "why?"}]})
        await thread.output.with_timeout(60)
        streams = await asyncio.wait_for(task, 30)
        texts = [(await s.reasoning, await s.text) for s in streams]
    assert texts == [("Let me think it through.", "The answer is 42.")]
