"""A2A at ``/a2a/{assistant_id}`` (api/routes/a2a.py, adapter/resources/a2a*.py),
driven by the official ``a2a-sdk`` client over real HTTP against the session's
``evergraph dev``: the agent card, ``message/send``, ``message/stream``, a task that
waits on ``interrupt()`` and is continued by a second message, ``tasks/get`` with
``historyLength`` and ``historyScope``, data-only messages, tool results, failed
tasks, ``tasks/cancel``, the methods langgraph-api 0.16.7 does not serve (push
notification configs, ``tasks/resubscribe``), JSON-RPC errors; and, in processes of
their own, a custom auth handler (another user's tasks, threads and assistants) and
``langgraph.json`` ``http.disable_a2a``.

The slash-named methods go through the SDK's A2A 0.3 JSON-RPC transport
(``CompatJsonRpcTransport``), the A2A 1.0 names (``SendMessage``, ``GetTask`` ...)
through its ``JsonRpcTransport``. Every expected answer was observed on
langgraph-api 0.16.7 (``langgraph dev``) with the same graphs:
tests/graphs/a2a_graphs.py.
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
    DeleteTaskPushNotificationConfigRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTasksRequest,
    Message,
    Part,
    Role,
    SendMessageRequest,
    SubscribeToTaskRequest,
    TaskPushNotificationConfig,
    TaskState,
)
from a2a.utils.errors import (
    MethodNotFoundError,
    TaskNotCancelableError,
    TaskNotFoundError,
)
from google.protobuf import json_format

from tests.conftest import ROOT, running_evergraph


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


async def _rpc(a2a_http, url: str, method: str, params, headers=None) -> dict:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    response = await a2a_http.post(url, json=body, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()


def _history_texts(task: dict) -> list[str]:
    return ["".join(p.get("text", "") for p in m["parts"]) for m in task.get("history", [])]


async def test_history_scope(server, client, a2a_http):
    """``historyScope`` (param, or the ``LangGraph-A2A-History-Scope`` header the card
    declares): ``context`` is the whole conversation, ``task`` the task's own turns."""
    aid = await _assistant(client, "a2a_echo")
    url = f"{server}/a2a/{aid}"
    legacy, v1 = _transports(a2a_http, server, aid)
    first = (await legacy.send_message(_message("alpha"))).task
    second = (await v1.send_message(_message("beta", context_id=first.context_id))).task
    everything = ["alpha", "echo: alpha", "beta", "echo: beta"]
    assert [_texts(m.parts) for m in second.history] == everything
    # GetTask: context scope by default; task scope by param or header
    assert _history_texts((await _rpc(a2a_http, url, "tasks/get", {"id": second.id}))["result"]) == everything
    own = await _rpc(a2a_http, url, "tasks/get", {"id": second.id, "historyScope": "task"})
    assert _history_texts(own["result"]) == ["beta", "echo: beta"]
    by_header = await _rpc(a2a_http, url, "GetTask", {"id": second.id}, {"LangGraph-A2A-History-Scope": "task"})
    assert _history_texts(by_header["result"]) == ["beta", "echo: beta"]
    assert {m["taskId"] for m in by_header["result"]["history"]} == {second.id}
    # the first task, as its own run left the thread, and only its last message
    assert _history_texts((await _rpc(a2a_http, url, "tasks/get", {"id": first.id, "historyScope": "task"}))["result"]) == [
        "alpha", "echo: alpha"
    ]
    last = await _rpc(a2a_http, url, "tasks/get", {"id": first.id, "historyScope": "task", "historyLength": 1})
    assert _history_texts(last["result"]) == ["echo: alpha"]
    assert "history" not in (await _rpc(a2a_http, url, "tasks/get", {"id": first.id, "historyLength": 0}))["result"]
    # message/send: configuration.historyScope, or the header
    params = {
        "message": {"messageId": str(uuid.uuid4()), "role": "user", "contextId": first.context_id,
                    "parts": [{"kind": "text", "text": "gamma"}]},
        "configuration": {"historyScope": "task"},
    }
    assert _history_texts((await _rpc(a2a_http, url, "message/send", params))["result"]) == ["gamma", "echo: gamma"]
    params = {"message": {**params["message"], "messageId": str(uuid.uuid4()), "parts": [{"kind": "text", "text": "delta"}]}}
    sent = await _rpc(a2a_http, url, "message/send", params, {"LangGraph-A2A-History-Scope": "task"})
    assert _history_texts(sent["result"]) == ["delta", "echo: delta"]
    # ListTasks takes it too
    listed = await _rpc(a2a_http, url, "ListTasks", {"contextId": first.context_id, "historyScope": "task"})
    assert [_history_texts(t) for t in listed["result"]["tasks"]] == [
        ["delta", "echo: delta"], ["gamma", "echo: gamma"], ["beta", "echo: beta"], ["alpha", "echo: alpha"]
    ]
    # bad values, named
    scope_error = {"code": -32602, "message": "historyScope must be 'context' or 'task'"}
    assert (await _rpc(a2a_http, url, "tasks/get", {"id": first.id, "historyScope": "all"}))["error"] == scope_error
    bad_send = {"message": {**params["message"], "messageId": "m"}, "configuration": {"historyScope": "all"}}
    assert (await _rpc(a2a_http, url, "message/send", bad_send))["error"] == scope_error
    for value, text in ((11, "historyLength cannot exceed 10"), (-1, "historyLength must be a non-negative integer"),
                        ("2", "historyLength must be a non-negative integer")):
        answer = await _rpc(a2a_http, url, "tasks/get", {"id": first.id, "historyLength": value})
        assert answer["error"] == {"code": -32602, "message": text}
    # a bare run id names the task together with its context
    run_id = first.id.split(":", 1)[1]
    by_run = await _rpc(a2a_http, url, "tasks/get", {"id": run_id, "contextId": first.context_id})
    assert by_run["result"]["id"] == run_id and by_run["result"]["status"]["state"] == "completed"
    assert (await _rpc(a2a_http, url, "tasks/get", {"id": run_id}))["error"] == {
        "code": -32001, "message": f"Task not found: {run_id}"
    }
    elsewhere = str(uuid.uuid4())
    assert (await _rpc(a2a_http, url, "tasks/get", {"id": first.id, "contextId": elsewhere}))["error"] == {
        "code": -32001, "message": f"Task not found: {first.id} in context '{elsewhere}'"
    }


async def test_data_only_message(server, client, a2a_http):
    """A message of data parts only: its keys are the graph's input, the reply is the
    run's own new message, and the task's history starts there."""
    aid = await _assistant(client, "a2a_echo")
    url = f"{server}/a2a/{aid}"
    first = (await _rpc(a2a_http, url, "message/send", {"message": {
        "messageId": str(uuid.uuid4()), "role": "user", "parts": [{"kind": "text", "text": "hello"}]}}))["result"]
    data = {"messageId": str(uuid.uuid4()), "role": "user", "contextId": first["contextId"],
            "parts": [{"kind": "data", "data": {"note": "n1"}}]}
    task = (await _rpc(a2a_http, url, "message/send", {"message": data}))["result"]
    assert task["status"]["state"] == "completed"
    assert task["artifacts"][0]["parts"] == [{"kind": "text", "text": "echo: echo: hello (n1)"}]
    assert _history_texts(task) == ["hello", "echo: hello", "echo: echo: hello (n1)"]
    assert task["history"][-1]["taskId"] == task["id"] and task["history"][0]["taskId"] == first["id"]
    own = (await _rpc(a2a_http, url, "tasks/get", {"id": task["id"], "historyScope": "task"}))["result"]
    assert _history_texts(own) == ["echo: echo: hello (n1)"]
    # on a new context
    fresh = {"messageId": str(uuid.uuid4()), "role": "user", "parts": [{"kind": "data", "data": {"note": "n2"}}]}
    task = (await _rpc(a2a_http, url, "message/send", {"message": fresh}))["result"]
    assert task["artifacts"][0]["parts"] == [{"kind": "text", "text": "echo:  (n2)"}]
    assert _history_texts(task) == ["echo:  (n2)"]


async def test_tool_results_and_failures(server, client, a2a_http):
    """Tool output is never agent prose: a tool result correlated by ``tool_call_id``
    is a ``tool_results`` data part, in the history and in the stream. A graph that
    raises ends the task ``failed``."""
    aid = await _assistant(client, "a2a_echo")
    url = f"{server}/a2a/{aid}"
    legacy, _ = _transports(a2a_http, server, aid)
    tool_data = {"tool_results": [{"toolCallId": "call-1", "content": "42", "name": "lookup", "status": "success"}]}
    task = (await _rpc(a2a_http, url, "message/send", {"message": {
        "messageId": str(uuid.uuid4()), "role": "user", "parts": [{"kind": "text", "text": "use the tool"}]}}))["result"]
    assert task["artifacts"][0]["parts"] == [{"kind": "text", "text": "The answer is 42."}]
    assert [(m["role"], m["parts"]) for m in task["history"]] == [
        ("user", [{"kind": "text", "text": "use the tool"}]),
        ("agent", [{"kind": "data", "data": tool_data}]),
        ("agent", [{"kind": "text", "text": "The answer is 42."}]),
    ]
    events = [e async for e in legacy.send_message_streaming(_message("use the tool"))]
    updates = [json_format.MessageToDict(e.status_update) for e in events if e.WhichOneof("payload") == "status_update"]
    assert updates[0]["status"]["message"]["parts"] == [{"data": tool_data}]
    assert updates[1]["status"]["message"]["parts"] == [{"text": "The answer is 42."}]
    assert updates[-1]["status"]["state"] == "TASK_STATE_COMPLETED"
    # a failing graph
    failed = (await _rpc(a2a_http, url, "message/send", {"message": {
        "messageId": str(uuid.uuid4()), "role": "user", "parts": [{"kind": "text", "text": "fail"}]}}))["result"]
    assert failed["status"]["state"] == "failed" and failed["history"] == []
    assert failed["status"]["message"]["parts"] == [{"kind": "text", "text": "Error executing assistant: ValueError"}]
    got = (await _rpc(a2a_http, url, "tasks/get", {"id": failed["id"]}))["result"]
    assert got["status"]["message"]["parts"] == [{"kind": "text", "text": "Task failed with status: error"}]
    assert _history_texts(got) == ["fail"]
    events = [e async for e in legacy.send_message_streaming(_message("fail"))]
    final = events[-1].status_update
    assert final.status.state == TaskState.TASK_STATE_FAILED
    assert _texts(final.status.message.parts) == "asked to fail"
    listed = await _rpc(a2a_http, url, "ListTasks", {"status": "failed", "contextId": failed["contextId"]})
    assert [t["id"] for t in listed["result"]["tasks"]] == [failed["id"]]


async def test_streaming_with_the_a2a_1_0_names(server, client, a2a_http):
    """``SendStreamingMessage`` answers as langgraph-api 0.16.7 does: ``{"task": T}``
    first (A2A 1.0), then the events in their 0.3 shape (``kind``, ``final``,
    ``append``/``lastChunk``) with 1.0 states; a2a-sdk's 1.0 client reads the task
    and none of the events (so does it against langgraph-api)."""
    aid = await _assistant(client, "a2a_echo")
    url = f"{server}/a2a/{aid}"
    _, v1 = _transports(a2a_http, server, aid)
    events = [e async for e in v1.send_message_streaming(_message("one two"))]
    assert events[0].WhichOneof("payload") == "task"
    assert events[0].task.status.state == TaskState.TASK_STATE_SUBMITTED
    assert [e.WhichOneof("payload") for e in events[1:]] == [None] * (len(events) - 1)
    body = {"jsonrpc": "2.0", "id": "s", "method": "SendStreamingMessage",
            "params": {"message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "one two"}]}}}
    async with a2a_http.stream("POST", url, json=body, headers={"accept": "text/event-stream"}) as response:
        assert response.headers["content-type"] == "text/event-stream"
        lines = [line async for line in response.aiter_lines() if line]
    assert set(lines[0::2]) == {"event: message"}
    answers = [json.loads(line.removeprefix("data: ")) for line in lines[1::2]]
    assert {a["id"] for a in answers} == {"s"}
    results = [a["result"] for a in answers]
    task = results[0]["task"]
    assert task["history"] == [{"kind": "message", "messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "one two"}],
                                "taskId": task["id"], "contextId": task["contextId"]}]
    assert [r["kind"] for r in results[1:]] == ["status-update"] * (len(results) - 3) + ["artifact-update", "status-update"]
    working = results[1:-2]
    assert all(r["status"]["state"] == "TASK_STATE_WORKING" and r["final"] is False for r in working)
    assert working[-1]["status"]["message"]["role"] == "ROLE_AGENT"
    artifact = results[-2]
    assert artifact["append"] is False and artifact["lastChunk"] is True
    assert artifact["artifact"]["parts"] == [{"kind": "text", "text": "echo: one two"}]
    assert results[-1]["final"] is True and results[-1]["status"]["state"] == "TASK_STATE_COMPLETED"
    assert set(results[-1]["status"]) == {"state", "timestamp"}


async def test_methods_langgraph_api_does_not_serve(server, client, a2a_http):
    """The card says ``pushNotifications: false``; the push notification config
    methods and ``tasks/resubscribe`` are unknown methods (-32601), under both
    protocol versions, as in langgraph-api 0.16.7."""
    aid = await _assistant(client, "a2a_echo")
    for transport in _transports(a2a_http, server, aid):
        calls = [
            transport.create_task_push_notification_config(
                TaskPushNotificationConfig(task_id="t", url="http://127.0.0.1:9/hook")
            ),
            transport.get_task_push_notification_config(GetTaskPushNotificationConfigRequest(task_id="t", id="c")),
            transport.list_task_push_notification_configs(ListTaskPushNotificationConfigsRequest(task_id="t")),
            transport.delete_task_push_notification_config(DeleteTaskPushNotificationConfigRequest(task_id="t", id="c")),
        ]
        for call in calls:
            with pytest.raises(MethodNotFoundError):
                await call
        with pytest.raises(MethodNotFoundError):
            async for _event in transport.subscribe(SubscribeToTaskRequest(id="t")):
                pass
    url = f"{server}/a2a/{aid}"
    for method in ("tasks/pushNotificationConfig/set", "tasks/resubscribe", "CreateTaskPushNotificationConfig",
                   "SubscribeToTask", "tasks/list", "agent/getAuthenticatedExtendedCard"):
        answer = await _rpc(a2a_http, url, method, {"id": "t"})
        assert answer["error"] == {"code": -32601, "message": f"Method not found: {method}"}


async def test_request_errors_as_langgraph_api(server, client, a2a_http):
    aid = await _assistant(client, "a2a_echo")
    url = f"{server}/a2a/{aid}"

    def message(**fields):
        return {"message": {"messageId": str(uuid.uuid4()), "role": "user", "parts": [{"kind": "text", "text": "x"}], **fields}}

    cases = [
        ({**message(), "configuration": []}, "Invalid params: 'configuration' must be an object"),
        (message(contextId="not-a-uuid"), "Failed to create run: Invalid thread ID"),
        (message(contextId=5), "contextId must be a string"),
        ({"message": {"messageId": "m", "parts": [{"kind": "text", "text": "x"}]}}, "Missing required 'role' in message"),
        ({"message": {"messageId": "m", "role": "user", "parts": {}}}, "Invalid params: 'parts' must be an array"),
    ]
    for params, text in cases:
        assert (await _rpc(a2a_http, url, "message/send", params))["error"] == {"code": -32602, "message": text}
    missing = str(uuid.uuid4())
    assert (await _rpc(a2a_http, f"{server}/a2a/{missing}", "message/send", message()))["error"] == {
        "code": -32602, "message": f"Assistant '{missing}' not found"
    }
    assert (await _rpc(a2a_http, f"{server}/a2a/{missing}", "GetExtendedAgentCard", {}))["error"] == {
        "code": -32602, "message": f"Assistant '{missing}' not found"
    }
    file_both = {"messageId": "m", "role": "user", "parts": [{"kind": "file", "file": {"bytes": "aGk=", "uri": "http://x"}}]}
    assert (await _rpc(a2a_http, url, "message/send", {"message": file_both}))["error"] == {
        "code": -32005, "message": "FilePart 'file' must contain only one of 'bytes' or 'uri'."
    }
    # a boolean id is a number to JSON-RPC here, as in langgraph-api 0.16.7
    answer = (await a2a_http.post(url, json={"jsonrpc": "2.0", "id": True, "method": "tasks/get", "params": {"id": "x:y"}})).json()
    assert answer == {"jsonrpc": "2.0", "id": True, "error": {"code": -32001, "message": "Task not found: x:y"}}
    # errors before a stream's run: one SSE event
    body = {"jsonrpc": "2.0", "id": 2, "method": "message/stream",
            "params": {"message": {"messageId": "m", "role": "user", "parts": [{"kind": "text", "text": "x"}],
                                   "taskId": f"{uuid.uuid4()}:{uuid.uuid4()}"}}}
    async with a2a_http.stream("POST", url, json=body, headers={"accept": "text/event-stream"}) as response:
        lines = [line async for line in response.aiter_lines() if line]
    assert lines[0] == "event: message" and len(lines) == 2
    assert json.loads(lines[1].removeprefix("data: "))["error"]["code"] == -32001
    # another assistant's task is not found
    other = await _assistant(client, "a2a_asker")
    task = (await _rpc(a2a_http, url, "message/send", message()))["result"]
    assert (await _rpc(a2a_http, f"{server}/a2a/{other}", "tasks/get", {"id": task["id"]}))["error"]["code"] == -32001


def test_auth(temporal_server, data_root: Path):
    """With a custom auth handler (tests/graphs/auth_handlers.py: everything filtered
    by owner), another user's task is not found, their thread cannot take a message,
    their assistant has no card; without a token the endpoints answer 401."""
    folder = data_root / "a2a-auth"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("a2a_graphs.py", "auth_handlers.py"):
        (folder / name).write_text((ROOT / "tests" / "graphs" / name).read_text())
    config = folder / "langgraph.json"
    config.write_text(json.dumps({
        "dependencies": ["."],
        "graphs": {"a2a_echo": "./a2a_graphs.py:echo"},
        "auth": {"path": "./auth_handlers.py:auth"},
    }))
    alice, bob = {"Authorization": "Bearer token-alice"}, {"Authorization": "Bearer token-bob"}
    with running_evergraph("dev", config, temporal_server.address, data_root, "a2a-auth") as url, httpx.Client(
        base_url=url, timeout=60
    ) as http:

        def rpc(assistant_id: str, method: str, params: dict, headers: dict) -> dict:
            response = http.post(f"/a2a/{assistant_id}", json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
                                 headers=headers)
            assert response.status_code == 200, response.text
            return response.json()

        mine = http.post("/assistants", json={"graph_id": "a2a_echo"}, headers=alice).json()["assistant_id"]
        theirs = http.post("/assistants", json={"graph_id": "a2a_echo"}, headers=bob).json()["assistant_id"]
        assert http.get(f"/a2a/{mine}/.well-known/agent-card.json", headers=alice).json()["name"] == "Untitled"
        refused = http.get(f"/a2a/{mine}/.well-known/agent-card.json", headers=bob)
        assert refused.status_code == 400
        assert refused.json() == {"error": {"code": -32602, "message": f"Assistant '{mine}' not found"}}
        for path in (f"/a2a/{mine}", f"/.well-known/agent-card.json?assistant_id={mine}"):
            assert http.get(path).status_code == 401
        assert http.post(f"/a2a/{mine}", json={"jsonrpc": "2.0", "id": 1, "method": "tasks/get"}).status_code == 401
        message = {"messageId": str(uuid.uuid4()), "role": "user", "parts": [{"kind": "text", "text": "hi"}]}
        task = rpc(mine, "message/send", {"message": message}, alice)["result"]
        assert task["status"]["state"] == "completed"
        not_found = {"code": -32001, "message": f"Task not found: {task['id']}"}
        assert rpc(mine, "tasks/get", {"id": task["id"]}, bob)["error"] == not_found
        assert rpc(theirs, "tasks/get", {"id": task["id"]}, bob)["error"] == not_found
        assert rpc(mine, "tasks/cancel", {"id": task["id"]}, bob)["error"] == not_found
        continued = {**message, "messageId": str(uuid.uuid4()), "contextId": task["contextId"], "taskId": task["id"]}
        assert rpc(theirs, "message/send", {"message": continued}, bob)["error"] == not_found
        assert rpc(mine, "message/send", {"message": message}, bob)["error"] == {
            "code": -32602, "message": f"Assistant '{mine}' not found"
        }
        into_their_thread = {**message, "messageId": str(uuid.uuid4()), "contextId": task["contextId"]}
        assert rpc(theirs, "message/send", {"message": into_their_thread}, bob)["error"] == {
            "code": -32602,
            "message": f"Thread '{task['contextId']}' not found. Please create the thread first before sending messages to it.",
            "data": {"thread_id": task["contextId"], "error_type": "thread_not_found"},
        }
        assert rpc(theirs, "ListTasks", {}, bob)["result"]["tasks"] == []
        assert [t["id"] for t in rpc(mine, "ListTasks", {}, alice)["result"]["tasks"]] == [task["id"]]
