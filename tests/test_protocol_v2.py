"""The v2 thread protocol, as langgraph-api 0.16.7 serves it: the official SDK's
``client.threads.stream(...)`` over SSE and WebSocket, and the wire shapes of
``POST /threads/{id}/commands`` and ``/threads/{id}/stream/events`` checked with httpx
and a raw WebSocket client, against the session's ``evergraph dev``."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from websockets.asyncio.client import connect as ws_connect

from tests.conftest import wait_for
from tests.graphs.streams import ANSWER

TRANSPORTS = ["sse", "websocket"]
#: the channels langgraph-api 0.16.7 sends events on (its log has no updates or tasks
#: events; Evergraph's are side events, tests/test_protocol_full.py)
ALL = ["lifecycle", "values", "messages", "custom", "input", "tools"]

#: the event methods langgraph-api 0.16.7 sent for a run of the agent graph on all
#: channels, in order: seq 1..18
S14B_METHODS = (
    ["lifecycle", "values", "values"]
    + ["messages"] * 13
    + ["values", "lifecycle"]
)
S14B_MESSAGE_EVENTS = (
    ["message-start", "content-block-start"] + ["content-block-delta"] * 9 + ["content-block-finish", "message-finish"]
)


def _sse_events(text: str) -> list[tuple[str, dict, str]]:
    """``(event, data, id)`` of each SSE block, checking the CRLF framing and the
    field order event, data, id."""
    out = []
    for block in text.split("\r\n\r\n"):
        lines = [line for line in block.split("\r\n") if line and not line.startswith(":")]
        if not lines:
            continue
        assert [line.split(":", 1)[0] for line in lines] == ["event", "data", "id"], block
        out.append((lines[0][7:], json.loads(lines[1][6:]), lines[2][4:]))
    return out


async def _read_sse(http: httpx.AsyncClient, thread_id: str, body: dict, until) -> list[tuple[str, dict, str]]:
    """POST the event stream and read it until ``until(events)`` holds."""
    buf = ""
    async with http.stream("POST", f"/threads/{thread_id}/stream/events", json=body) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
        async for chunk in r.aiter_text():
            buf += chunk
            events = _sse_events(buf[: buf.rfind("\r\n\r\n") + 4])
            if until(events):
                return events
    raise AssertionError(f"stream closed early: {buf!r}")


def _terminal(events) -> bool:
    """The root's lifecycle ended (subgraph namespaces have lifecycle events too)."""
    return any(d["method"] == "lifecycle" and not d["params"]["namespace"]
               and d["params"]["data"]["event"] in ("completed", "failed") for _, d, _ in events)


def _interrupted(events) -> bool:
    return any(d["method"] == "lifecycle" and d["params"]["data"]["event"] == "interrupted" for _, d, _ in events)


async def _interrupted_thread(client, thread_id: str):
    thread = await client.threads.get(thread_id)
    return thread if thread["status"] == "interrupted" else None


async def _command(http: httpx.AsyncClient, thread_id: str, cid: int, method: str, params: dict) -> dict:
    r = await http.post(f"/threads/{thread_id}/commands", json={"id": cid, "method": method, "params": params})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
async def ahttp(server: str):
    async with httpx.AsyncClient(base_url=server, timeout=60) as c:
        yield c


# ------------------------------------------------------------------------------- SDK


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_sdk_stream_tokens_and_output(client, transport):
    """run.start through the SDK; a raw subscription sees lifecycle running →
    completed around values and the model's tokens as content-block deltas; the
    output is the thread's final state."""
    async with client.threads.stream(assistant_id="agent", transport=transport) as thread:
        started = await thread.run.start(input={"messages": [{"role": "user", "content": "hi"}]})
        assert set(started) == {"run_id"}
        events = [e async for e in thread.subscribe(["lifecycle", "values", "messages"])]
        output = await thread.output.with_timeout(30)
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs))
    phases = [e["params"]["data"]["event"] for e in events if e["method"] == "lifecycle"]
    assert phases == ["running", "completed"]
    assert all(e["params"]["data"]["graph_name"] == "agent" for e in events if e["method"] == "lifecycle")
    deltas = [
        e["params"]["data"]["delta"]["text"]
        for e in events
        if e["method"] == "messages" and e["params"]["data"]["event"] == "content-block-delta"
    ]
    assert "".join(deltas) == ANSWER and len(deltas) == 9
    assert output["log"] == ["writer(user=None)", "chat"]
    assert [m["content"] for m in output["messages"]] == ["hi", ANSWER]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_sdk_interrupt_and_respond(client, transport):
    """An ``interrupt()`` reaches the SDK as ``thread.interrupted`` with the id the
    thread reports; ``run.respond`` resumes it and the output has the answer."""
    async with client.threads.stream(assistant_id="approval", transport=transport) as thread:
        await thread.run.start(input={"log": []})
        await wait_for(lambda: thread.interrupted, timeout=30)
        # answered at once: the run that asked may still be recording the interrupt
        assert await thread.run.respond("yes") == {}
        output = await thread.output.with_timeout(30)
        runs = await client.runs.list(thread.thread_id)
        first = min(runs, key=lambda r: r["created_at"])
        history = await client.threads.get_history(thread.thread_id, limit=100)
        ids = [i["id"] for s in history for i in s["interrupts"]]
        assert len(runs) == 2 and first["status"] == "success"
        assert thread.interrupts == [] and ids  # cleared by the terminal lifecycle
    assert output == {"log": ["draft", "ask", "act"], "answers": ["yes"]}


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_sdk_interrupt_ids(client, transport):
    """``thread.interrupts`` holds the id the thread reports once the run ended."""
    async with client.threads.stream(assistant_id="approval", transport=transport) as thread:
        await thread.run.start(input={"log": []})
        await wait_for(lambda: thread.interrupted, timeout=30)
        stored = await wait_for(
            lambda: _interrupted_thread(client, thread.thread_id), timeout=30
        )
        ids = [i["id"] for items in stored["interrupts"].values() for i in items]
        assert [p["interrupt_id"] for p in thread.interrupts] == ids
        assert thread.interrupts[0]["namespace"] == []
        assert await thread.run.respond("yes") == {}
        output = await thread.output.with_timeout(30)
    assert output == {"log": ["draft", "ask", "act"], "answers": ["yes"]}


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_sdk_second_session_on_existing_thread(client, transport):
    """A new session on a thread whose last run completed does not see that run's
    ``completed`` as its own: its output is the state after its own run."""
    thread_id = str(uuid.uuid4())
    async with client.threads.stream(thread_id, assistant_id="agent", transport=transport) as thread:
        await thread.run.start(input={"messages": [{"role": "user", "content": "one"}]})
        first = await thread.output.with_timeout(30)
    assert len(first["messages"]) == 2
    async with client.threads.stream(thread_id, assistant_id="agent", transport=transport) as thread:
        await thread.run.start(input={"messages": [{"role": "user", "content": "two"}]})
        second = await thread.output.with_timeout(30)
    assert [m["content"] for m in second["messages"]] == ["one", ANSWER, "two", ANSWER]


# ------------------------------------------------------------------------------ wire


async def test_wire_matches_s14b(ahttp):
    """Stream opened on a thread that does not exist yet, then run.start: the
    events, their order, seq/id lines and shapes are those langgraph-api 0.16.7 sent
    for the same run (agent graph, all channels)."""
    tid = str(uuid.uuid4())
    reader = asyncio.ensure_future(_read_sse(ahttp, tid, {"channels": ALL}, _terminal))
    # the stream is open once the log follows the thread; run.start creates the thread
    resp = await _command(ahttp, tid, 1, "run.start", {"assistant_id": "agent", "input": {"messages": [{"role": "user", "content": "hi"}]}})
    assert resp["type"] == "success" and resp["id"] == 1 and set(resp["result"]) == {"run_id"}
    assert resp["meta"] == {"applied_through_seq": 0}
    run_id = resp["result"]["run_id"]
    events = await asyncio.wait_for(reader, 30)
    assert [name for name, _, _ in events] == S14B_METHODS
    assert [d["seq"] for _, d, _ in events] == list(range(1, 19))
    assert [sid for _, _, sid in events] == [str(i) for i in range(1, 19)]
    for name, d, _ in events:
        assert list(d) == ["type", "event_id", "seq", "method", "params"]
        assert d["type"] == "event" and d["method"] == name
        assert list(d["params"]) == ["namespace", "timestamp", "data"] and d["params"]["namespace"] == []
    first, last = events[0][1], events[-1][1]
    assert first["event_id"] == f"synth:{run_id}:lc||running"
    assert first["params"]["data"] == {"event": "running", "graph_name": "agent"}
    assert last["event_id"] == f"synth:{run_id}:lc||completed"
    assert last["params"]["data"] == {"event": "completed", "graph_name": "agent"}
    values = [d["params"]["data"] for name, d, _ in events if name == "values"]
    assert values[0]["log"] == [] and values[1]["log"] == ["writer(user=None)"]
    human = values[0]["messages"][0]
    assert set(human) == {"type", "content", "id"} and human["type"] == "human" and human["content"] == "hi"
    msgs = [d["params"]["data"] for name, d, _ in events if name == "messages"]
    assert [m["event"] for m in msgs] == S14B_MESSAGE_EVENTS
    assert msgs[0]["role"] == "ai" and msgs[0]["id"] == values[2]["messages"][1]["id"]
    assert msgs[1] == {"event": "content-block-start", "index": 0, "content": {"type": "text", "text": ""}}
    assert msgs[2] == {"event": "content-block-delta", "index": 0, "delta": {"type": "text-delta", "text": "hello"}}
    assert msgs[-2] == {"event": "content-block-finish", "index": 0, "content": {"type": "text", "text": ANSWER}}
    assert msgs[-1] == {"event": "message-finish"}
    event_ids = [d["event_id"] for _, d, _ in events]
    assert len(set(event_ids)) == len(event_ids)
    # the thread exists now, with the run's graph and assistant
    thread = (await ahttp.get(f"/threads/{tid}")).json()
    assert thread["status"] == "idle" and thread["metadata"]["graph_id"] == "agent"

    # replays with the since cursor, and the filter of the SDK's lifecycle watcher
    # (channels lifecycle and input)
    replay = await _read_sse(ahttp, tid, {"channels": ALL, "since": 5}, _terminal)
    assert [d["seq"] for _, d, _ in replay] == list(range(6, 19))
    assert [d for _, d, _ in replay] == [d for _, d, _ in events[5:]]
    watcher = await _read_sse(ahttp, tid, {"channels": ["lifecycle", "input"], "since": 0}, _terminal)
    assert [(d["seq"], d["params"]["data"]["event"]) for _, d, _ in watcher] == [(1, "running"), (18, "completed")]

    # a second run continues the thread's seq; applied_through_seq is where it starts
    resp = await _command(ahttp, tid, 2, "run.start", {"assistant_id": "agent", "input": {"messages": [{"role": "user", "content": "again"}]}})
    assert resp["meta"] == {"applied_through_seq": 18}
    more = await _read_sse(ahttp, tid, {"channels": ["lifecycle"], "since": 18}, _terminal)
    assert [d["seq"] for _, d, _ in more] == [19, 19 + 17]
    assert more[0][1]["event_id"] == f"synth:{resp['result']['run_id']}:lc||running"


async def test_wire_interrupt_and_respond(ahttp):
    """input.requested {interrupt_id, payload} then lifecycle interrupted (as in
    langgraph-api 0.16.7);
    input.respond answers ``{}`` and a run resumes the interrupt; the same stream
    carries the resumed run with seq continuing."""
    tid = str(uuid.uuid4())
    resp = await _command(ahttp, tid, 1, "run.start", {"assistant_id": "approval", "input": {"log": []}})
    assert resp["type"] == "success"
    events = await _read_sse(ahttp, tid, {"channels": ["lifecycle", "values", "input"], "since": 0}, _interrupted)
    assert [d["method"] for _, d, _ in events] == ["lifecycle", "values", "values", "input.requested", "lifecycle"]
    asked = events[3][1]
    interrupt_id = asked["params"]["data"]["interrupt_id"]
    assert asked["params"]["data"] == {"interrupt_id": interrupt_id, "payload": {"question": "approve ask?"}}
    assert asked["event_id"] == f"synth:{resp['result']['run_id']}:input||{interrupt_id}"
    assert events[4][1]["params"]["data"] == {"event": "interrupted", "graph_name": "approval"}
    last_seq = events[-1][1]["seq"]

    wrong = await _command(ahttp, tid, 2, "input.respond", {"interrupt_id": "0" * 32, "namespace": [], "response": "x"})
    assert wrong["type"] == "error" and wrong["id"] == 2 and wrong["error"] == "no_such_interrupt"
    ok = await _command(ahttp, tid, 3, "input.respond", {"interrupt_id": interrupt_id, "namespace": [], "response": "ok"})
    assert ok == {"type": "success", "id": 3, "result": {}, "meta": {"applied_through_seq": last_seq}}
    after = await _read_sse(ahttp, tid, {"channels": ["lifecycle", "values"], "since": last_seq}, _terminal)
    assert after[0][1]["seq"] == last_seq + 1
    assert [d["params"]["data"]["event"] for _, d, _ in after if d["method"] == "lifecycle"] == ["running", "completed"]
    assert after[-2][1]["params"]["data"] == {"log": ["draft", "ask", "act"], "answers": ["ok"]}
    state = (await ahttp.get(f"/threads/{tid}/state")).json()
    assert state["values"]["answers"] == ["ok"] and state["next"] == []


async def test_wire_failed_run(ahttp):
    """A run whose node raises ends with lifecycle failed and the error."""
    tid = str(uuid.uuid4())
    await _command(ahttp, tid, 1, "run.start", {"assistant_id": "failing", "input": {}})
    events = await _read_sse(ahttp, tid, {"channels": ["lifecycle"], "since": 0}, _terminal)
    last = events[-1][1]["params"]["data"]
    assert last["event"] == "failed" and last["graph_name"] == "failing" and last["error"]


async def test_wire_namespaces_and_depth(ahttp):
    """Subgraph events carry their namespace (``node:task_id``); ``namespaces`` and
    ``depth`` filter them as the SDK's matcher does."""
    tid = str(uuid.uuid4())
    await _command(ahttp, tid, 1, "run.start", {"assistant_id": "nested_chat", "input": {"messages": [{"role": "user", "content": "hi"}]}})
    everything = await _read_sse(ahttp, tid, {"channels": ["lifecycle", "messages", "values"], "since": 0}, _terminal)
    inner = [d for _, d, _ in everything if d["params"]["namespace"]]
    assert inner and all(len(d["params"]["namespace"]) == 1 and d["params"]["namespace"][0].startswith("inner:") for d in inner)
    deltas = [d["params"]["data"]["delta"]["text"] for d in inner if d["method"] == "messages" and d["params"]["data"]["event"] == "content-block-delta"]
    assert "".join(deltas) == ANSWER
    root_only = await _read_sse(ahttp, tid, {"channels": ["lifecycle", "messages", "values"], "namespaces": [[]], "depth": 0, "since": 0}, _terminal)
    assert [d for _, d, _ in root_only] == [d for _, d, _ in everything if not d["params"]["namespace"]]
    scoped = await _read_sse(ahttp, tid, {"channels": ["messages", "lifecycle"], "namespaces": [["inner"]], "since": 0},
                             lambda ev: len(ev) >= len([d for d in inner if d["method"] != "values"]))
    # the subgraph's own lifecycle (started / completed at its namespace) and messages
    assert [d for _, d, _ in scoped] == [d for d in inner if d["method"] != "values"]


async def test_command_errors(ahttp):
    """Errors come in 200 bodies with the protocol's error codes (``unknown_command``,
    ``invalid_argument``…); bad thread ids and filters 422."""
    tid = str(uuid.uuid4())
    assert await _command(ahttp, tid, 3, "no.such", {}) == {
        "type": "error", "id": 3, "error": "unknown_command", "message": "Unknown protocol command: no.such",
    }
    missing = await _command(ahttp, tid, 4, "run.start", {"input": {}})
    assert missing["type"] == "error" and missing["error"] == "invalid_argument" and missing["id"] == 4
    bad = await _command(ahttp, tid, 5, "run.start", {"assistant_id": "nope", "input": {}})
    assert bad["error"] == "invalid_argument" and "Invalid assistant" in bad["message"]
    r = await ahttp.post(f"/threads/{tid}/commands", json={"method": "run.start"})
    assert (r.status_code, r.json()) == (400, {  # as langgraph-api 0.16.7
        "type": "error", "id": None, "error": "invalid_argument",
        "message": "Protocol commands must include an integer id and string method.",
    })
    r = await ahttp.post(f"/threads/{tid}/commands", content=b"{")
    assert (r.status_code, r.json()) == (400, {"detail": "Invalid JSON body"})
    assert (await ahttp.get(f"/threads/{tid}")).status_code == 404  # nothing was created
    r = await ahttp.post("/threads/not-a-uuid/commands", json={"id": 1, "method": "run.start", "params": {}})
    assert r.status_code == 422 and r.json() == {"detail": "Invalid thread ID: must be a UUID"}
    r = await ahttp.post(f"/threads/{tid}/stream/events", json={"channels": ["nope"]})
    assert r.status_code == 400 and "nope" in r.json()["detail"]  # as langgraph-api 0.16.7


async def test_websocket_raw(server, ahttp):
    """The WebSocket takes ``subscription.subscribe`` as its first frame, answers it,
    then sends the same event objects as SSE; commands work over it too."""
    tid = str(uuid.uuid4())
    url = server.replace("http://", "ws://") + f"/threads/{tid}/stream/events"
    async with ws_connect(url) as ws:
        await ws.send(json.dumps({"id": 1, "method": "subscription.subscribe", "params": {"channels": ALL}}))
        reply = json.loads(await ws.recv())
        assert reply["type"] == "success" and reply["id"] == 1 and "subscription_id" in reply["result"]
        await ws.send(json.dumps({"id": 2, "method": "run.start", "params": {"assistant_id": "agent", "input": {"messages": [{"role": "user", "content": "hi"}]}}}))
        frames = []
        while not _terminal([(None, f, None) for f in frames if f.get("type") == "event"]):
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
    started = [f for f in frames if f.get("type") == "success"]
    assert len(started) == 1 and started[0]["id"] == 2 and set(started[0]["result"]) == {"run_id"}
    ws_events = [f for f in frames if f.get("type") == "event"]
    assert [e["method"] for e in ws_events] == S14B_METHODS
    sse = await _read_sse(ahttp, tid, {"channels": ALL, "since": 0}, _terminal)
    assert ws_events == [d for _, d, _ in sse]
