"""The v2 thread protocol's error behaviour, the runs its commands start, and
``tool-output-delta``:

* every command added with the whole protocol (``input.inject``, ``agent.getTree``,
  ``state.get``, ``state.listCheckpoints``, ``state.fork``; the ``subscription.*``
  ones live on the WebSocket) and the run-starting ones are refused before they run:
  403 when the auth handler denies them, 404 when its filter hides the thread, 400
  for a malformed command and 422 for a bad thread id, with the protocol's
  ``invalid_argument`` for bad params; a refused WebSocket closes with 4000 + the
  status, a refused command on an open one answers its error frame;
* a run that fails ends its events with ``lifecycle failed`` (the thread stream stays
  open for the next run), and a thread stream whose read fails (Redis killed under
  it) ends with the unsolicited ``{"type": "error", "id": null}`` frame, on SSE and
  on the WebSocket;
* ``langgraph.json`` ``http.configurable_headers`` reach the runs commands start (from
  the ``POST /commands`` request, or the WebSocket's handshake), as for REST runs,
  but not a cron's runs (langgraph-api 0.16.7 schedules them with no headers);
* a tool streaming its output (LangGraph's ``ToolRuntime.emit_output_delta``) gives
  ``tools {event: "tool-output-delta"}``, read through the SDK's tool-call handles; a
  failing tool ``tool-error``;
* a run resuming interrupts by id sends ``input.answered`` (npm ``@langchain/protocol``
  0.0.21);
* the SDK helpers no other test reads: ``thread.values``, ``thread.events``,
  ``thread.interleave_projections``, ``thread.subagents``, ``thread.agent.get_tree``.

The auth tests run against an extra ``evergraph dev`` with tests/graphs/auth_handlers.py
(tests/test_auth.py's starter).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid

import httpx
import pytest
from langgraph_sdk import get_client
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import ROOT, wait_for
from tests.providers import ProviderServer
from tests.test_auth import ALICE, BOB, READER, _start
from tests.test_redis_scale import Stack, private_redis  # noqa: F401 (fixture)

GRAPHS = ROOT / "tests" / "graphs"
OUTSIDER = {"Authorization": "Bearer token-outsider"}  # every action refused
TEAM = {"x-team": "red", "x-other": "not passed"}
TRANSPORTS = ["sse", "websocket"]
#: the commands that start a run (authorized as threads.create_run) and those that
#: read the thread (threads.read), with good params for a thread that ran ``chain``
RUN_COMMANDS = {
    "run.start": lambda aid, cp: {"assistant_id": aid, "input": {"n": 0}},
    "input.respond": lambda aid, cp: {"interrupt_id": "i", "response": "ok", "namespace": []},
    "input.inject": lambda aid, cp: {"namespace": [], "message": {"role": "user", "content": "hi"}},
    "state.fork": lambda aid, cp: {"checkpoint_id": cp},
}
READ_COMMANDS = {
    "agent.getTree": lambda aid, cp: {},
    "state.get": lambda aid, cp: {"namespace": []},
    "state.listCheckpoints": lambda aid, cp: {"namespace": []},
}
#: params each command refuses with invalid_argument
BAD_PARAMS = {
    "run.start": {"assistant_id": 7},
    "input.respond": {"response": "ok"},
    "input.inject": {"namespace": [], "message": {"role": "bot", "content": "hi"}},
    "state.fork": {},
    "agent.getTree": {"run_id": 7},
    "state.get": {"namespace": "root"},
    "state.listCheckpoints": {"limit": 0},
}


@pytest.fixture(scope="module")
def auth_url(temporal_server, tmp_path_factory):
    """``evergraph dev`` with tests/graphs/auth_handlers.py and
    ``http.configurable_headers`` letting ``x-team`` through."""
    folder = tmp_path_factory.mktemp("protocol-errors-config")
    config = folder / "langgraph.json"
    config.write_text(json.dumps({
        "dependencies": [str(GRAPHS)],
        "graphs": {"chain": f"{GRAPHS}/basic.py:chain", "failing": f"{GRAPHS}/basic.py:failing"},
        "auth": {"path": f"{GRAPHS}/auth_handlers.py:auth"},
        "http": {"configurable_headers": {"includes": ["x-team"]}},
    }))
    proc, url = _start(tmp_path_factory, temporal_server, config, "protocol-errors")
    yield url
    proc.stop()


@pytest.fixture
async def alices_thread(auth_url):
    """A thread of Alice's on which ``chain`` ran: ``(thread_id, assistant_id,
    checkpoint_id)``."""
    alice = get_client(url=auth_url, headers=ALICE)
    aid = (await alice.assistants.create("chain"))["assistant_id"]
    tid = (await alice.threads.create())["thread_id"]
    await alice.runs.wait(tid, aid, input={"n": 0})
    cp = (await alice.threads.get_state(tid))["checkpoint"]["checkpoint_id"]
    return tid, aid, cp


def _ws(url: str, tid: str) -> str:
    return url.replace("http://", "ws://") + f"/threads/{tid}/stream/events"


async def _closed_with(url: str, headers: dict) -> int:
    async with ws_connect(url, additional_headers=headers) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    return closed.value.rcvd.code


# ------------------------------------------------------------------ refused before they run


async def test_every_command_is_refused_before_it_runs(auth_url, alices_thread):
    tid, aid, cp = alices_thread
    alice = get_client(url=auth_url, headers=ALICE)
    before = [r["run_id"] for r in await alice.runs.list(tid)]
    commands = {**RUN_COMMANDS, **READ_COMMANDS}
    async with httpx.AsyncClient(base_url=auth_url, timeout=30) as http:
        for i, (method, params) in enumerate(commands.items()):
            body = {"id": i, "method": method, "params": params(aid, cp)}
            r = await http.post(f"/threads/{tid}/commands", json=body, headers=OUTSIDER)
            assert r.status_code == 403, (method, r.text)
            r = await http.post(f"/threads/{tid}/commands", json=body, headers=BOB)  # hidden from Bob
            assert r.status_code == 404, (method, r.text)
            if method in RUN_COMMANDS:  # a reader may not run (denied before the filter applies)
                r = await http.post(f"/threads/{tid}/commands", json=body, headers=READER)
                assert r.status_code == 403, (method, r.text)
            r = await http.post(f"/threads/{tid}/commands", headers=ALICE,
                                json={"id": i, "method": method, "params": BAD_PARAMS[method]})
            assert r.status_code == 200, (method, r.text)
            assert (r.json()["type"], r.json()["id"], r.json()["error"]) == ("error", i, "invalid_argument"), method
            r = await http.post("/threads/not-a-uuid/commands", json=body, headers=ALICE)
            assert (r.status_code, r.json()) == (422, {"detail": "Invalid thread ID: must be a UUID"})
            r = await http.post(f"/threads/{tid}/commands", json={"method": method}, headers=ALICE)
            assert r.status_code == 400 and r.json()["error"] == "invalid_argument", method
        # a refused SSE stream: before it starts
        stream = f"/threads/{tid}/stream/events"
        assert (await http.post(stream, json={"channels": ["values"]}, headers=OUTSIDER)).status_code == 403
        assert (await http.post(stream, json={"channels": ["values"]}, headers=BOB)).status_code == 404
        r = await http.post("/threads/not-a-uuid/stream/events", json={"channels": ["values"]}, headers=ALICE)
        assert r.status_code == 422
        r = await http.post(stream, json={"channels": ["values"], "since": "x"}, headers=ALICE)
        assert r.status_code == 422
        r = await http.post(stream, content=b"{", headers=ALICE)
        assert (r.status_code, r.json()) == (400, {"detail": "Invalid JSON body"})
    # nothing ran
    assert [r["run_id"] for r in await alice.runs.list(tid)] == before


async def test_refused_websocket_closes_with_4000_plus_status(auth_url, alices_thread):
    """The socket carries ``subscription.subscribe`` / ``unsubscribe`` / ``reconnect``:
    refused, it closes before any of them (a browser cannot read a refused upgrade's
    status); a command refused on an open socket answers its error frame."""
    tid, aid, cp = alices_thread
    assert await _closed_with(_ws(auth_url, tid), OUTSIDER) == 4403
    assert await _closed_with(_ws(auth_url, tid), BOB) == 4404
    assert await _closed_with(_ws(auth_url, "not-a-uuid"), ALICE) == 4422
    # the reader's own (new) thread: readable, but the reader may not start runs
    async with ws_connect(_ws(auth_url, str(uuid.uuid4())), additional_headers=READER) as ws:
        await ws.send(json.dumps({"id": 1, "method": "subscription.subscribe", "params": {"channels": ["values"]}}))
        assert json.loads(await ws.recv())["type"] == "success"
        for i, (method, params) in enumerate(RUN_COMMANDS.items(), start=2):
            await ws.send(json.dumps({"id": i, "method": method, "params": params(aid, cp)}))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 30))
            assert (reply["type"], reply["id"], reply["error"]) == ("error", i, "permission_denied"), reply
        await ws.send(json.dumps({"method": "state.get"}))
        assert json.loads(await ws.recv()) == {
            "type": "error", "id": None, "error": "invalid_argument",
            "message": "Protocol commands must include an integer id and string method.",
        }
        await ws.send("{")
        assert json.loads(await ws.recv())["message"] == "Protocol commands must be valid JSON."


# ------------------------------------------------------------------ failures mid-stream


def _sse_events(text: str) -> list[dict]:
    out = []
    for block in text.split("\r\n\r\n"):
        lines = block.split("\r\n")
        data = [line[6:] for line in lines if line.startswith("data: ")]
        name = next((line[7:] for line in lines if line.startswith("event: ")), None)
        if data and name != "heartbeat":
            out.append({"sse_event": name, **json.loads(data[0])})
    return out


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_failed_run_ends_with_lifecycle_failed_and_the_stream_goes_on(server, transport):
    """A run that raises ends its events with root ``lifecycle failed`` and the error;
    the thread stream stays open and carries the thread's next run."""
    tid = str(uuid.uuid4())
    events: list[dict] = []

    def failed_then_completed() -> bool:
        phases = [e["params"]["data"]["event"] for e in events
                  if e.get("method") == "lifecycle" and not e["params"]["namespace"]]
        return "failed" in phases and phases[-1] == "completed"

    async with httpx.AsyncClient(base_url=server, timeout=60) as http:
        async def command(cid: int, graph: str) -> None:
            r = await http.post(f"/threads/{tid}/commands", json={
                "id": cid, "method": "run.start", "params": {"assistant_id": graph, "input": {}}})
            assert r.json()["type"] == "success", r.text

        if transport == "sse":
            async def read() -> None:
                buf = ""
                async with http.stream("POST", f"/threads/{tid}/stream/events",
                                       json={"channels": ["lifecycle"], "since": 0}) as r:
                    async for chunk in r.aiter_text():
                        buf += chunk
                        events[:] = _sse_events(buf[: buf.rfind("\r\n\r\n") + 4])
                        if failed_then_completed():
                            return
            reader = asyncio.ensure_future(read())
            await command(1, "failing")
            await wait_for(lambda: any(e.get("method") == "lifecycle" and e["params"]["data"]["event"] == "failed"
                                       for e in events))
            await command(2, "chain")
            await asyncio.wait_for(reader, 60)
        else:
            async with ws_connect(_ws(server, tid)) as ws:
                await ws.send(json.dumps({"id": 1, "method": "subscription.subscribe",
                                          "params": {"channels": ["lifecycle"]}}))
                await ws.recv()
                await ws.send(json.dumps({"id": 2, "method": "run.start",
                                          "params": {"assistant_id": "failing", "input": {}}}))
                sent_second = False
                while not failed_then_completed():
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
                    if frame.get("type") == "event":
                        events.append(frame)
                        if frame["params"]["data"]["event"] == "failed" and not sent_second:
                            sent_second = True
                            await ws.send(json.dumps({"id": 3, "method": "run.start",
                                                      "params": {"assistant_id": "chain", "input": {}}}))
    phases = [e["params"]["data"] for e in events if not e["params"]["namespace"]]
    failed = next(p for p in phases if p["event"] == "failed")
    assert failed["graph_name"] == "failing" and failed["error"]
    assert [p["event"] for p in phases] == ["running", "failed", "running", "completed"]


async def test_stream_failure_ends_with_an_error_frame(temporal_server, tmp_path, private_redis):  # noqa: F811
    """Redis (the stream broker) killed while a run streams: the SSE stream's last
    event is ``error`` with the unsolicited error frame, and the WebSocket sends that
    frame and closes with 1011, as the SDK's ``stream_error_frame`` reads them."""
    uri, redis_proc = private_redis
    with Stack(temporal_server.address, tmp_path, uri) as stack:
        tid = str(uuid.uuid4())
        async with httpx.AsyncClient(base_url=stack.url, timeout=60) as http:
            r = await http.post(f"/threads/{tid}/commands", json={
                "id": 1, "method": "run.start",
                "params": {"assistant_id": "ticks", "input": {"count": 600, "every": 0.05}}})
            assert r.json()["type"] == "success", r.text
            sse_text = ""
            sse_open = asyncio.Event()

            async def read_sse() -> None:
                nonlocal sse_text
                async with http.stream("POST", f"/threads/{tid}/stream/events",
                                       json={"channels": ["lifecycle", "values"], "since": 0}) as r:
                    assert r.status_code == 200
                    async for chunk in r.aiter_text():
                        sse_text += chunk
                        if "event: lifecycle" in sse_text:
                            sse_open.set()

            ws_frames: list[dict] = []
            ws_open = asyncio.Event()
            closed: list[int] = []

            async def read_ws() -> None:
                async with ws_connect(_ws(stack.url, tid)) as ws:
                    await ws.send(json.dumps({"id": 1, "method": "subscription.subscribe",
                                              "params": {"channels": ["lifecycle", "values"], "since": 0}}))
                    try:
                        while True:
                            ws_frames.append(json.loads(await ws.recv()))
                            if any(f.get("method") == "lifecycle" for f in ws_frames):
                                ws_open.set()
                    except ConnectionClosed as exc:
                        closed.append(exc.rcvd.code)

            readers = [asyncio.ensure_future(read_sse()), asyncio.ensure_future(read_ws())]
            await asyncio.wait_for(asyncio.gather(sse_open.wait(), ws_open.wait()), 60)
            os.killpg(redis_proc.pid, signal.SIGKILL)
            await asyncio.wait_for(asyncio.gather(*readers), 60)
    last = _sse_events(sse_text)[-1]
    assert last["sse_event"] == "error", sse_text[-500:]
    assert last["type"] == "error" and last["id"] is None and last["error"] == "unknown_error"
    assert "Redis" in last["message"]
    assert ws_frames[-1]["type"] == "error" and ws_frames[-1]["id"] is None and "Redis" in ws_frames[-1]["message"]
    assert closed == [1011]


# ------------------------------------------------------------------ configurable headers


async def test_configurable_headers_reach_protocol_runs_not_cron_runs(auth_url, alices_thread, temporal_client):
    tid, aid, cp = alices_thread
    alice = get_client(url=auth_url, headers=ALICE)
    async with httpx.AsyncClient(base_url=auth_url, timeout=30, headers={**ALICE, **TEAM}) as http:
        r = await http.post(f"/threads/{tid}/commands", json={
            "id": 1, "method": "run.start", "params": {"assistant_id": aid, "input": {"n": 0}}})
        rid = r.json()["result"]["run_id"]
        r = await http.post(f"/threads/{tid}/commands", json={
            "id": 2, "method": "state.fork", "params": {"checkpoint_id": cp}})
        forked = r.json()["result"]["run_id"]
    for run_id in (rid, forked):
        conf = (await alice.runs.get(tid, run_id))["kwargs"]["config"]["configurable"]
        assert conf["x-team"] == "red" and "x-other" not in conf
        assert conf["langgraph_auth_user_id"] == "alice" and conf["langgraph_auth_user"]["identity"] == "alice"
        await alice.runs.join(tid, run_id)
    # over the WebSocket: its handshake's headers
    async with ws_connect(_ws(auth_url, tid), additional_headers={**ALICE, "x-team": "blue"}) as ws:
        await ws.send(json.dumps({"id": 1, "method": "run.start", "params": {"assistant_id": aid, "input": {"n": 0}}}))
        reply = json.loads(await ws.recv())
        while reply.get("type") == "event":
            reply = json.loads(await ws.recv())
    conf = (await alice.runs.get(tid, reply["result"]["run_id"]))["kwargs"]["config"]["configurable"]
    assert conf["x-team"] == "blue"
    await alice.runs.join(tid, reply["result"]["run_id"])
    # a cron's runs get none: langgraph-api 0.16.7 schedules them with no request headers
    team_alice = get_client(url=auth_url, headers={**ALICE, **TEAM})
    cron = await team_alice.crons.create_for_thread(tid, aid, schedule="0 0 31 2 *", input={"n": 0})
    try:
        handle = temporal_client.get_schedule_handle(f"cron-{cron['cron_id']}")
        await handle.trigger()

        async def fired():
            actions = (await handle.describe()).info.recent_actions
            return actions[0] if actions else None

        action = await wait_for(fired, timeout=30, interval=0.2)
        result = await temporal_client.get_workflow_handle(action.action.workflow_id).result()
        conf = (await alice.runs.get(tid, result["run_id"]))["kwargs"]["config"]["configurable"]
        assert "x-team" not in conf and conf["cron_id"] == cron["cron_id"]
        await alice.runs.join(tid, result["run_id"])
    finally:
        await alice.crons.delete(cron["cron_id"])


# ------------------------------------------------------------------ tool-output-delta


@pytest.fixture(scope="module")
def providers():
    server = ProviderServer().start()
    yield server
    server.stop()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_tool_output_delta_through_the_sdk_handle(client, providers, transport):
    """``thread.tool_calls`` handles stream the tool's output deltas, then its output."""
    async with client.threads.stream(assistant_id="proto_tool_delta", transport=transport) as thread:
        async def tool_calls():  # the projection feeds the handles while it is iterated
            return [h async for h in thread.tool_calls]

        task = asyncio.ensure_future(tool_calls())
        await thread.run.start(input={"messages": [{"role": "user", "content": "Paris"}]},
                               config={"configurable": {"provider_url": providers.openai_base_url}})
        await thread.output.with_timeout(60)
        calls = [(h.name, h.input, [d async for d in h.deltas], await h.output)
                 for h in await asyncio.wait_for(task, 30)]
    assert len(calls) == 1
    name, args, deltas, output = calls[0]
    assert (name, args, deltas) == ("spell", {"query": "Paris"}, list("Paris"))
    assert output["content"] == "spelled Paris"


async def test_tool_output_delta_on_the_wire(server, providers):
    tid = str(uuid.uuid4())
    async with httpx.AsyncClient(base_url=server, timeout=60) as http:
        r = await http.post(f"/threads/{tid}/commands", json={"id": 1, "method": "run.start", "params": {
            "assistant_id": "proto_tool_delta", "input": {"messages": [{"role": "user", "content": "ab"}]},
            "config": {"configurable": {"provider_url": providers.openai_base_url}}}})
        assert r.json()["type"] == "success"
        buf = ""
        async with http.stream("POST", f"/threads/{tid}/stream/events",
                               json={"channels": ["tools", "lifecycle"], "since": 0}) as r:
            async for chunk in r.aiter_text():
                buf += chunk
                if '"completed"' in buf:
                    break
    tools = [e["params"]["data"] for e in _sse_events(buf) if e.get("method") == "tools"]
    call_id = tools[0]["tool_call_id"]
    assert [(t["event"], t.get("delta")) for t in tools] == [
        ("tool-started", None), ("tool-output-delta", "a"), ("tool-output-delta", "b"), ("tool-finished", None),
    ]
    assert all(t["tool_call_id"] == call_id for t in tools)


# ------------------------------------------------------------------ input.answered


async def test_input_answered_when_a_run_resumes_interrupts(server):
    """A run answering interrupts by id starts with ``lifecycle running`` then
    ``input.answered {interrupt_ids}`` on the ``input`` channel (npm
    ``@langchain/protocol`` 0.0.21), so other clients stop offering them."""
    tid = str(uuid.uuid4())
    async with httpx.AsyncClient(base_url=server, timeout=60) as http:
        async def read(since: int, until: str) -> list[dict]:
            buf = ""
            async with http.stream("POST", f"/threads/{tid}/stream/events",
                                   json={"channels": ["lifecycle", "input"], "since": since}) as r:
                async for chunk in r.aiter_text():
                    buf += chunk
                    events = _sse_events(buf[: buf.rfind("\r\n\r\n") + 4])
                    if any(e.get("method") == "lifecycle" and e["params"]["data"]["event"] == until for e in events):
                        return events
            raise AssertionError(buf[-500:])

        r = await http.post(f"/threads/{tid}/commands", json={
            "id": 1, "method": "run.start", "params": {"assistant_id": "approval", "input": {"log": []}}})
        asked = await read(0, "interrupted")
        iid = next(e for e in asked if e["method"] == "input.requested")["params"]["data"]["interrupt_id"]
        assert not any(e["method"] == "input.answered" for e in asked)  # a run.start answers nothing
        r = await http.post(f"/threads/{tid}/commands", json={
            "id": 2, "method": "input.respond", "params": {"interrupt_id": iid, "namespace": [], "response": "ok"}})
        last = r.json()["meta"]["applied_through_seq"]
        after = await read(last, "completed")
    assert [e["method"] for e in after] == ["lifecycle", "input.answered", "lifecycle"]
    answered = after[1]
    assert answered["params"] == {"namespace": [], "timestamp": answered["params"]["timestamp"],
                                  "data": {"interrupt_ids": [iid]}}
    assert answered["seq"] == after[0]["seq"] + 1


# ------------------------------------------------------------------ the SDK's other helpers


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_sdk_values_events_interleave_subagents_and_tree(client, transport):
    """The ``client.threads.stream`` helpers no other test reads: ``thread.values``
    (state snapshots, the last one the output), ``thread.events`` (every channel),
    ``thread.interleave_projections``, ``thread.subagents`` (the subgraphs'
    alias), and ``thread.agent.get_tree()`` (the assistant's drawing). (A handle's
    own ``subgraphs``, which discovers grandchildren from ``tasks`` events: see
    test_protocol_full.py::test_sdk_updates_checkpoints_tasks_and_grandchildren.)"""
    async with client.threads.stream(assistant_id="proto_subagents", transport=transport) as thread:
        async def everything():
            out = []
            async for event in thread.events:
                if event.get("type") != "event":
                    continue  # over a WebSocket, the stream's own subscribe answer (the SDK skips it too)
                out.append(event)
                if (event["method"] == "lifecycle" and not event["params"]["namespace"]
                        and event["params"]["data"]["event"] == "completed"):
                    return out

        async def interleaved():
            out = []
            async for channel, item in thread.interleave_projections(["values", "subgraphs"]):
                out.append((channel, item))
                if channel == "subgraphs" and item.graph_name == "critic":
                    return out

        async def children():
            return [h async for h in thread.subagents]

        tasks = [asyncio.ensure_future(f()) for f in (everything, interleaved, children)]
        await thread.run.start(input={"messages": [{"role": "user", "content": "go"}]})

        async def snapshots():
            out = []
            async for snapshot in thread.values:
                out.append(snapshot)
                if len(snapshot.get("messages") or []) == 4:
                    return out

        values = await asyncio.wait_for(snapshots(), 60)
        output = await thread.output.with_timeout(60)
        events, mixed, handles = await asyncio.wait_for(asyncio.gather(*tasks), 60)
        tree = await thread.agent.get_tree()
    # the events carry messages in langgraph-api's compact form; the output is the state
    assert [(m["type"], m["content"], m["id"]) for m in values[-1]["messages"]] == [
        (m["type"], m["content"], m["id"]) for m in output["messages"]]
    assert [m["content"] for m in output["messages"]][1:] == [
        "looked up sources", "research findings ready", "critique looks fine"]
    methods = {e["method"] for e in events}
    assert {"lifecycle", "values", "messages"} <= methods
    assert {e["params"]["namespace"][0].split(":")[0] for e in events if e["params"]["namespace"]} == {
        "researcher", "critic"}
    assert [c for c, _ in mixed][0] == "values" and [i.graph_name for c, i in mixed if c == "subgraphs"] == [
        "researcher", "critic"]
    assert sorted(h.graph_name for h in handles) == ["critic", "researcher"]
    assert {n["id"] for n in tree["nodes"]} >= {"__start__", "researcher", "critic", "__end__"}


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_failing_tool_gives_tool_error(client, providers, transport):
    """A tool that raises (``ToolNode`` handing the error back to the model) ends its
    handle with ``tool-error``: the handle's ``output`` raises with the message."""
    async with client.threads.stream(assistant_id="tools_mode", transport=transport) as thread:
        async def tool_calls():
            return [h async for h in thread.tool_calls]

        task = asyncio.ensure_future(tool_calls())
        await thread.run.start(input={"messages": [{"role": "user", "content": "Paris"}]},
                               config={"configurable": {"provider_url": providers.openai_base_url, "tool": "explode"}})
        await thread.output.with_timeout(60)
        [handle] = await asyncio.wait_for(task, 30)
        with pytest.raises(RuntimeError, match="cannot look up Paris"):
            await handle.output
    assert handle.name == "explode" and handle.input == {"query": "Paris"}


async def test_websocket_unsubscribe_stops_that_subscriptions_events(server):
    """``subscription.unsubscribe {subscription_id}`` answers ``{}``; the socket's
    other subscriptions go on, the unsubscribed channel's events stop."""
    tid = str(uuid.uuid4())
    async with ws_connect(_ws(server, tid)) as ws:
        await ws.send(json.dumps({"id": 1, "method": "subscription.subscribe", "params": {"channels": ["lifecycle"]}}))
        await ws.send(json.dumps({"id": 2, "method": "subscription.subscribe", "params": {"channels": ["values"]}}))
        replies = [json.loads(await ws.recv()) for _ in range(2)]
        values_sub = next(r for r in replies if r["id"] == 2)["result"]["subscription_id"]
        await ws.send(json.dumps({"id": 3, "method": "subscription.unsubscribe",
                                  "params": {"subscription_id": values_sub}}))
        reply = json.loads(await ws.recv())
        assert (reply["type"], reply["id"], reply["result"]) == ("success", 3, {})
        await ws.send(json.dumps({"id": 4, "method": "run.start", "params": {"assistant_id": "chain", "input": {}}}))
        frames = []
        while not any(f.get("method") == "lifecycle" and f["params"]["data"]["event"] == "completed" for f in frames):
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
    events = [f for f in frames if f.get("type") == "event"]
    assert [e["params"]["data"]["event"] for e in events] == ["running", "completed"]
