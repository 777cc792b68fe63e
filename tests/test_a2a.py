"""A2A at ``/a2a/{assistant_id}`` (api/routes/a2a.py), driven by the official
``a2a-sdk`` client over real HTTP against the session's ``evergraph dev``: the agent
card, ``message/send``, ``message/stream``, a task that waits on ``interrupt()`` and
is continued by a second message, ``tasks/get``, ``tasks/cancel``, JSON-RPC errors,
and ``langgraph.json`` ``http.disable_a2a`` in a process of its own.

The slash-named methods go through the SDK's A2A 0.3 JSON-RPC transport
(``CompatJsonRpcTransport``), the A2A 1.0 names (``SendMessage``, ``GetTask``)
through its ``JsonRpcTransport``. Graphs: tests/graphs/a2a_graphs.py.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from a2a.client.card_resolver import A2ACardResolver
from a2a.client.transports.jsonrpc import JsonRpcTransport
from a2a.compat.v0_3.jsonrpc_transport import CompatJsonRpcTransport
from a2a.types.a2a_pb2 import (
    CancelTaskRequest,
    GetTaskRequest,
    ListTasksRequest,
    Message,
    Part,
    Role,
    SendMessageRequest,
    TaskState,
)
from a2a.utils.errors import TaskNotCancelableError, TaskNotFoundError
from google.protobuf import json_format

from tests.conftest import running_evergraph


async def _assistant(client, graph_id: str) -> str:
    found = await client.assistants.search(graph_id=graph_id, limit=1)
    return found[0]["assistant_id"]


@pytest_asyncio.fixture
async def a2a_http():
    async with httpx.AsyncClient(timeout=60) as c:
        yield c


def _transports(a2a_http: httpx.AsyncClient, server: str, assistant_id: str):
    url = f"{server}/a2a/{assistant_id}"
    return CompatJsonRpcTransport(a2a_http, None, url), JsonRpcTransport(a2a_http, None, url)


def _message(text: str, *, context_id: str = "", task_id: str = "") -> SendMessageRequest:
    return SendMessageRequest(
        message=Message(
            message_id=str(uuid.uuid4()), role=Role.ROLE_USER, parts=[Part(text=text)],
            context_id=context_id, task_id=task_id,
        )
    )


def _texts(parts) -> str:
    return "".join(p.text for p in parts)


async def test_agent_card(server, client, a2a_http):
    aid = await _assistant(client, "a2a_echo")
    card = await A2ACardResolver(a2a_http, f"{server}/a2a/{aid}").get_agent_card()
    assert card.name == "a2a_echo"
    assert card.supported_interfaces[0].url == f"{server}/a2a/{aid}"
    assert card.supported_interfaces[0].protocol_binding == "JSONRPC"
    assert card.capabilities.streaming and not card.capabilities.push_notifications
    assert list(card.default_input_modes) == ["application/json", "text/plain"]
    assert card.skills[0].id == f"{aid}-main"
    raw = (await a2a_http.get(f"{server}/.well-known/agent-card.json", params={"assistant_id": aid})).json()
    assert raw["skills"][0]["metadata"]["inputSchema"]["supportsA2A"] is True
    assert raw["url"] == f"{server}/a2a/{aid}" and raw["version"] == "0.16.7"
    assert (await a2a_http.get(f"{server}/a2a/{aid}")).json() == raw  # GET on the agent URL
    missing = await a2a_http.get(f"{server}/a2a/{uuid.uuid4()}/.well-known/agent-card.json")
    assert missing.status_code == 400 and missing.json()["error"]["code"] == -32602
    no_id = await a2a_http.get(f"{server}/.well-known/agent-card.json")
    assert no_id.status_code == 400
    assert no_id.json()["error"]["message"] == "Missing required query parameter: assistant_id"


async def test_message_send_and_get(server, client, a2a_http):
    aid = await _assistant(client, "a2a_echo")
    legacy, v1 = _transports(a2a_http, server, aid)
    task = (await legacy.send_message(_message("hello there"))).task
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert task.artifacts[0].name == "Assistant Response"
    assert _texts(task.artifacts[0].parts) == "echo: hello there"
    assert task.id == f"{task.context_id}:{task.id.split(':', 1)[1]}"
    assert [m.role for m in task.history] == [Role.ROLE_USER, Role.ROLE_AGENT]
    # the task is a run on the thread named by the context id
    state = await client.threads.get_state(task.context_id)
    assert [m["content"] for m in state["values"]["messages"]] == ["hello there", "echo: hello there"]
    run_id = task.id.split(":", 1)[1]
    run = await client.runs.get(task.context_id, run_id)
    assert run["status"] == "success" and run["assistant_id"] == aid
    got = await legacy.get_task(GetTaskRequest(id=task.id))
    assert got.status.state == TaskState.TASK_STATE_COMPLETED
    assert _texts(got.status.message.parts) == "Task completed successfully"
    assert [_texts(m.parts) for m in got.history] == ["hello there", "echo: hello there"]
    # A2A 1.0 method names answer in 1.0 spelling (ROLE_*, TASK_STATE_*)
    again = (await v1.send_message(_message("second", context_id=task.context_id))).task
    assert again.context_id == task.context_id and again.id != task.id
    assert _texts(again.artifacts[0].parts) == "echo: second"
    got1 = await v1.get_task(GetTaskRequest(id=again.id, history_length=1))
    assert got1.status.state == TaskState.TASK_STATE_COMPLETED
    assert [_texts(m.parts) for m in got1.history] == ["echo: second"]
    wire = await a2a_http.post(
        f"{server}/a2a/{aid}", json={"jsonrpc": "2.0", "id": 7, "method": "GetTask", "params": {"id": again.id}}
    )
    assert wire.json()["result"]["status"]["state"] == "TASK_STATE_COMPLETED"
    wire0 = await a2a_http.post(
        f"{server}/a2a/{aid}", json={"jsonrpc": "2.0", "id": 8, "method": "tasks/get", "params": {"id": again.id}}
    )
    assert wire0.json()["result"]["status"]["state"] == "completed"
    assert wire0.json()["result"]["kind"] == "task"
    # ListTasks: the context's two tasks, newest first, paged
    listed = await v1.list_tasks(ListTasksRequest(context_id=task.context_id, page_size=1))
    assert listed.total_size == 2 and [t.id for t in listed.tasks] == [again.id]
    rest = await v1.list_tasks(ListTasksRequest(context_id=task.context_id, page_token=listed.next_page_token))
    assert [t.id for t in rest.tasks] == [task.id] and rest.next_page_token == ""
    assert [_texts(m.parts) for m in rest.tasks[0].history] == ["hello there", "echo: hello there"]
    extended = await a2a_http.post(
        f"{server}/a2a/{aid}", json={"jsonrpc": "2.0", "id": 9, "method": "GetExtendedAgentCard", "params": {}}
    )
    assert extended.json()["result"]["skills"][0]["id"] == f"{aid}-main"


async def test_streamed_reply(server, client, a2a_http):
    aid = await _assistant(client, "a2a_echo")
    legacy, _ = _transports(a2a_http, server, aid)
    events = [e async for e in legacy.send_message_streaming(_message("one two three four"))]
    kinds = [e.WhichOneof("payload") for e in events]
    assert kinds[0] == "task" and events[0].task.status.state == TaskState.TASK_STATE_SUBMITTED
    task_id = events[0].task.id
    updates = [e.status_update for e in events if e.WhichOneof("payload") == "status_update"]
    assert all(u.status.state == TaskState.TASK_STATE_WORKING for u in updates[:-1])
    tokens = [_texts(u.status.message.parts) for u in updates if u.status.message.parts]
    # the reply as it grows, token by token ("messages" stream mode: messages/partial)
    assert len(tokens) > 2 and tokens[-1] == "echo: one two three four"
    assert all(later.startswith(earlier) for earlier, later in zip(tokens, tokens[1:]))
    artifact = next(e.artifact_update for e in events if e.WhichOneof("payload") == "artifact_update")
    assert _texts(artifact.artifact.parts) == "echo: one two three four"
    assert kinds[-1] == "status_update" and updates[-1].status.state == TaskState.TASK_STATE_COMPLETED
    assert all(u.task_id == task_id for u in updates)
    got = await legacy.get_task(GetTaskRequest(id=task_id))
    assert got.status.state == TaskState.TASK_STATE_COMPLETED


async def test_interrupt_is_input_required_and_a_second_message_continues(server, client, a2a_http):
    aid = await _assistant(client, "a2a_asker")
    legacy, _ = _transports(a2a_http, server, aid)
    task = (await legacy.send_message(_message("hi"))).task
    assert task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    interrupt = json_format.MessageToDict(task.artifacts[0].parts[0].data)
    assert task.artifacts[0].name == "Interrupt"
    assert interrupt["value"] == {"question": "What is your name?"} and interrupt["id"]
    got = await legacy.get_task(GetTaskRequest(id=task.id))
    assert got.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    # the answer, streamed: the text of a message to the waiting task resumes interrupt()
    events = [
        e async for e in legacy.send_message_streaming(_message("Ada", context_id=task.context_id, task_id=task.id))
    ]
    assert events[0].task.id == task.id
    final = events[-1].status_update
    assert final.status.state == TaskState.TASK_STATE_COMPLETED
    artifact = next(e.artifact_update for e in events if e.WhichOneof("payload") == "artifact_update")
    assert _texts(artifact.artifact.parts) == "Hello, Ada!"
    got = await legacy.get_task(GetTaskRequest(id=task.id))
    assert got.status.state == TaskState.TASK_STATE_COMPLETED
    assert [_texts(m.parts) for m in got.history] == ["hi", "Hello, Ada!"]
    assert {m.task_id for m in got.history} == {task.id}
    # a completed task takes no more messages
    with pytest.raises(Exception) as refused:
        await legacy.send_message(_message("again", context_id=task.context_id, task_id=task.id))
    assert "terminal task" in str(refused.value)


async def test_streamed_interrupt(server, client, a2a_http):
    aid = await _assistant(client, "a2a_asker")
    legacy, _ = _transports(a2a_http, server, aid)
    events = [e async for e in legacy.send_message_streaming(_message("hi"))]
    artifact = next(e.artifact_update for e in events if e.WhichOneof("payload") == "artifact_update")
    assert artifact.artifact.name == "Interrupt"
    assert events[-1].status_update.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    # a data part {"resume": value} answers the interrupt too
    task = events[0].task
    body = {
        "jsonrpc": "2.0", "id": 1, "method": "message/send",
        "params": {"message": {
            "messageId": str(uuid.uuid4()), "role": "user", "contextId": task.context_id, "taskId": task.id,
            "parts": [{"kind": "data", "data": {"resume": "Bob"}}],
        }},
    }
    answer = (await a2a_http.post(f"{server}/a2a/{aid}", json=body)).json()["result"]
    assert answer["status"]["state"] == "completed" and answer["id"] == task.id
    assert answer["artifacts"][0]["parts"] == [{"kind": "text", "text": "Hello, Bob!"}]
    again = (await a2a_http.post(f"{server}/a2a/{aid}", json=body)).json()
    assert again["error"] == {"code": -32004, "message": "A terminal task cannot accept another message"}


async def test_cancel_running_and_waiting_tasks(server, client, a2a_http):
    waiter = await _assistant(client, "a2a_waiter")
    legacy, _ = _transports(a2a_http, server, waiter)
    stream = legacy.send_message_streaming(_message("wait please"))
    first = await anext(stream)
    task_id = first.task.id
    assert first.task.status.state == TaskState.TASK_STATE_SUBMITTED
    canceled = await legacy.cancel_task(CancelTaskRequest(id=task_id))
    assert canceled.status.state == TaskState.TASK_STATE_CANCELED
    rest = [e async for e in stream]
    assert rest[-1].status_update.status.state == TaskState.TASK_STATE_CANCELED
    got = await legacy.get_task(GetTaskRequest(id=task_id))
    assert got.status.state == TaskState.TASK_STATE_CANCELED
    assert (await client.runs.get(first.task.context_id, task_id.split(":", 1)[1]))["status"] == "interrupted"
    with pytest.raises(TaskNotCancelableError):
        await legacy.cancel_task(CancelTaskRequest(id=task_id))
    # a task waiting on interrupt(): cancelled, and the thread no longer waits
    asker = await _assistant(client, "a2a_asker")
    legacy2, _ = _transports(a2a_http, server, asker)
    task = (await legacy2.send_message(_message("hi"))).task
    assert task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    canceled = await legacy2.cancel_task(CancelTaskRequest(id=task.id))
    assert canceled.status.state == TaskState.TASK_STATE_CANCELED
    got = await legacy2.get_task(GetTaskRequest(id=task.id))
    assert got.status.state == TaskState.TASK_STATE_CANCELED
    assert list(got.history) == []  # the cancelling run wrote no messages
    assert (await client.threads.get(task.context_id))["status"] == "idle"


async def test_json_rpc_errors(server, client, a2a_http):
    aid = await _assistant(client, "a2a_echo")
    legacy, _ = _transports(a2a_http, server, aid)
    with pytest.raises(TaskNotFoundError):
        await legacy.get_task(GetTaskRequest(id=f"{uuid.uuid4()}:{uuid.uuid4()}"))
    url = f"{server}/a2a/{aid}"

    async def rpc(body, **kw):
        r = await a2a_http.post(url, content=body if isinstance(body, bytes) else json.dumps(body), **kw)
        assert r.status_code == 200, r.text
        return r.json()

    assert (await rpc(b"{nope"))["error"]["code"] == -32700
    assert (await rpc({"jsonrpc": "2.0", "id": 1, "method": "tasks/nope"}))["error"]["code"] == -32601
    assert (await rpc({"jsonrpc": "1.0", "id": 1, "method": "tasks/get"}))["error"]["code"] == -32600
    bad_params = await rpc({"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {}})
    assert bad_params["error"] == {"code": -32602, "message": "Missing or invalid 'message' in params"}
    no_id = await rpc({"jsonrpc": "2.0", "id": 1, "method": "tasks/get", "params": {}})
    assert no_id["error"]["code"] == -32602
    not_uuid = await a2a_http.post(
        f"{server}/a2a/a2a_echo", json={"jsonrpc": "2.0", "id": 2, "method": "tasks/get", "params": {"id": "x"}}
    )
    assert not_uuid.json()["error"] == {"code": -32602, "message": "Invalid assistant ID: must be a UUID"}
    wrong_part = await rpc(
        {"jsonrpc": "2.0", "id": 3, "method": "message/send",
         "params": {"message": {"messageId": "m", "role": "user", "parts": [{"kind": "data", "data": [1]}]}}}
    )
    assert wrong_part["error"]["code"] == -32005
    # a graph without a messages key refuses text parts, naming its fields
    other = await _assistant(client, "approval")
    no_messages = await a2a_http.post(
        f"{server}/a2a/{other}",
        json={"jsonrpc": "2.0", "id": 4, "method": "message/send",
              "params": {"message": {"messageId": "m", "role": "user", "parts": [{"kind": "text", "text": "hi"}]}}},
    )
    assert no_messages.json()["error"]["code"] == -32602
    assert "'messages'" in no_messages.json()["error"]["message"]
    stream_wrong_accept = await a2a_http.post(
        url, json={"jsonrpc": "2.0", "id": 5, "method": "message/stream", "params": {"message": {"x": 1}}},
        headers={"accept": "application/json"},
    )
    assert stream_wrong_accept.status_code == 400
    assert (await a2a_http.delete(url)).status_code == 405


async def test_info_flag(server, a2a_http):
    assert (await a2a_http.get(f"{server}/info")).json()["flags"]["a2a"] is True


GRAPH = """
from typing import Annotated, TypedDict
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages


class State(TypedDict):
    messages: Annotated[list, add_messages]


graph = StateGraph(State).add_node("n", lambda s: {}).add_edge(START, "n").add_edge("n", END).compile()
"""


def test_disable_a2a(temporal_server, data_root: Path):
    folder = data_root / "a2a-off"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "g.py").write_text(GRAPH)
    config = folder / "langgraph.json"
    config.write_text(json.dumps({"graphs": {"g": "./g.py:graph"}, "http": {"disable_a2a": True}}))
    with running_evergraph("serve", config, temporal_server.address, data_root, "a2a-off") as url:
        aid = httpx.post(f"{url}/assistants/search", json={"graph_id": "g"}, timeout=30).json()[0]["assistant_id"]
        assert httpx.get(f"{url}/info", timeout=30).json()["flags"]["a2a"] is False
        for method, path in (
            ("POST", f"/a2a/{aid}"),
            ("GET", f"/a2a/{aid}"),
            ("GET", f"/a2a/{aid}/.well-known/agent-card.json"),
            ("GET", f"/.well-known/agent-card.json?assistant_id={aid}"),
        ):
            r = httpx.request(method, f"{url}{path}", json={"jsonrpc": "2.0", "id": 1, "method": "tasks/get"}, timeout=30)
            assert r.status_code == 404, (path, r.status_code, r.text)
        assert httpx.get(f"{url}/assistants/{aid}", timeout=30).status_code == 200
