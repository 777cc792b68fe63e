"""Runs through the official SDK: create/join/wait/stream on threads and stateless,
every issue-2 stream mode, errors, list/get/delete/cancel, and the wire format."""

from __future__ import annotations

import httpx
import pytest
from langgraph_sdk.schema import StreamPart

from evergraph.adapter.process.settings import Settings, SettingsError
from tests.conftest import wait_for


async def _collect(stream) -> list[StreamPart]:
    return [part async for part in stream]


async def test_wait_returns_final_values(client):
    thread = await client.threads.create()
    result = await client.runs.wait(thread["thread_id"], "chain", input={"log": [], "n": 0})
    assert result == {"log": ["step1", "step2", "step3"], "n": 3}
    state = await client.threads.get_state(thread["thread_id"])
    assert state["values"] == result
    assert state["next"] == []
    thread = await client.threads.get(thread["thread_id"])
    assert thread["status"] == "idle"
    assert thread["values"] == result
    assert thread["metadata"]["graph_id"] == "chain"


async def test_background_run_then_join(client):
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "parallel", input={"log": []})
    assert run["status"] == "pending"
    assert run["multitask_strategy"] == "enqueue"
    assert run["kwargs"]["config"]["configurable"]["run_id"] == run["run_id"]
    joined = await client.runs.join(thread["thread_id"], run["run_id"])
    assert joined["log"][0] == "a" and sorted(joined["log"][1:3]) == ["b", "c"] and joined["log"][3] == "d"
    got = await client.runs.get(thread["thread_id"], run["run_id"])
    assert got["status"] == "success"
    runs = await client.runs.list(thread["thread_id"])
    assert [r["run_id"] for r in runs] == [run["run_id"]]


async def test_runs_on_one_thread_run_in_order(client):
    thread = await client.threads.create()
    tid = thread["thread_id"]
    first = await client.runs.create(tid, "slow", input={"log": ["first"], "sleep": 0.5})
    second = await client.runs.create(tid, "slow", input={"log": ["second"]})
    assert (await client.threads.get(tid))["status"] == "busy"
    await client.runs.join(tid, second["run_id"])
    assert (await client.runs.get(tid, first["run_id"]))["status"] == "success"
    state = await client.threads.get_state(tid)
    assert state["values"]["log"] == ["first", "step1", "second", "step1"]
    listed = await client.runs.list(tid)
    assert [r["run_id"] for r in listed] == [second["run_id"], first["run_id"]]


async def test_stream_values_updates_custom_together(client):
    thread = await client.threads.create()
    parts = await _collect(
        client.runs.stream(
            thread["thread_id"], "chain", input={"log": [], "n": 0}, stream_mode=["values", "updates", "custom"]
        )
    )
    events = [p.event for p in parts]
    assert events[0] == "metadata"
    assert parts[0].data["attempt"] == 1
    values = [p.data for p in parts if p.event == "values"]
    assert values[0] == {"log": [], "n": 0}
    assert values[-1] == {"log": ["step1", "step2", "step3"], "n": 3}
    updates = [p.data for p in parts if p.event == "updates"]
    assert updates == [
        {"step1": {"log": ["step1"], "n": 1}},
        {"step2": {"log": ["step2"], "n": 2}},
        {"step3": {"log": ["step3"], "n": 3}},
    ]
    assert [p.data for p in parts if p.event == "custom"] == [{"node": "step1"}, {"node": "step2"}, {"node": "step3"}]
    # each node's custom event precedes its update
    assert events.index("custom") < events.index("updates")


async def test_stream_default_mode_is_values(client):
    thread = await client.threads.create()
    parts = await _collect(client.runs.stream(thread["thread_id"], "chain", input={"log": []}))
    assert {p.event for p in parts} == {"metadata", "values"}


async def test_stateless_runs(client):
    result = await client.runs.wait(None, "chain", input={"log": []})
    assert result["log"] == ["step1", "step2", "step3"]
    parts = await _collect(client.runs.stream(None, "chain", input={"log": []}, stream_mode="updates"))
    assert [p.event for p in parts] == ["metadata", "updates", "updates", "updates"]
    run = await client.runs.create(None, "chain", input={"log": []}, on_completion="keep")
    joined = await client.runs.join(run["thread_id"], run["run_id"])
    assert joined["log"] == ["step1", "step2", "step3"]
    kept = await client.threads.get(run["thread_id"])
    assert kept["metadata"]["graph_id"] == "chain"


async def test_graph_error_reaches_stream_and_wait(client):
    thread = await client.threads.create()
    parts = await _collect(client.runs.stream(thread["thread_id"], "failing", input={"log": []}))
    assert parts[-1].event == "error"
    assert parts[-1].data == {"error": "Boom", "message": "the node exploded"}
    runs = await client.runs.list(thread["thread_id"])
    assert runs[0]["status"] == "error"
    assert (await client.threads.get(thread["thread_id"]))["status"] == "error"
    with pytest.raises(Exception, match="Boom: the node exploded"):
        await client.runs.wait(thread["thread_id"], "failing", input={"log": []})
    body = await client.runs.wait(thread["thread_id"], "failing", input={"log": []}, raise_error=False)
    assert body == {"__error__": {"error": "Boom", "message": "the node exploded"}}


async def test_retries_follow_the_retry_policy(client, tmp_path):
    counter = tmp_path / "calls"
    result = await client.runs.wait(None, "flaky", input={"log": [], "counter_file": str(counter)})
    assert result["log"] == ["flaky after 3 calls"]
    assert counter.read_text() == "3"


async def test_factory_graph_and_env(client):
    result = await client.runs.wait(None, "factory", input={"log": []})
    assert result["log"] == ["env=from-langgraph-json"]


async def test_join_stream_of_finished_run_is_empty(client):
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "chain", input={"log": []})
    await client.runs.join(thread["thread_id"], run["run_id"])
    parts = await _collect(client.runs.join_stream(thread["thread_id"], run["run_id"]))
    assert parts == []


async def test_join_stream_of_running_run(client):
    thread = await client.threads.create()
    tid = thread["thread_id"]
    run = await client.runs.create(tid, "slow", input={"log": [], "sleep": 1.0}, stream_mode=["values", "updates"])
    await wait_for(lambda: _status(client, tid, run["run_id"], "running"))
    parts = await _collect(client.runs.join_stream(tid, run["run_id"], stream_mode="updates"))
    assert [p.event for p in parts] == ["updates"]
    assert parts[0].data == {"step1": {"log": ["step1"], "n": 1}}


async def _status(client, tid, rid, status):
    return (await client.runs.get(tid, rid))["status"] == status


async def test_cancel_running_run(client):
    thread = await client.threads.create()
    tid = thread["thread_id"]
    run = await client.runs.create(tid, "slow", input={"log": [], "sleep": 30})
    await wait_for(lambda: _status(client, tid, run["run_id"], "running"))
    await client.runs.cancel(tid, run["run_id"], wait=True)
    assert (await client.runs.get(tid, run["run_id"]))["status"] == "interrupted"
    thread = await client.threads.get(tid)
    assert thread["status"] == "interrupted"
    assert thread["error"]["error"] == "UserInterrupt"
    with pytest.raises(httpx.HTTPStatusError) as err:
        await client.runs.cancel(tid, run["run_id"])
    assert err.value.response.status_code == 404


async def test_delete_run(client):
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "chain", input={"log": []})
    await client.runs.join(thread["thread_id"], run["run_id"])
    await client.runs.delete(thread["thread_id"], run["run_id"])
    assert await client.runs.list(thread["thread_id"]) == []


def test_sync_client_wait_and_stream(sync_client):
    thread = sync_client.threads.create()
    result = sync_client.runs.wait(thread["thread_id"], "chain", input={"log": []})
    assert result["log"] == ["step1", "step2", "step3"]
    events = [p.event for p in sync_client.runs.stream(thread["thread_id"], "chain", input={"log": []}, stream_mode="updates")]
    assert events == ["metadata", "updates", "updates", "updates"]


# ------------------------------------------------------------------ wire format


def test_sse_framing_matches_the_reference(http):
    thread = http.post("/threads", json={}).json()
    with http.stream(
        "POST",
        f"/threads/{thread['thread_id']}/runs/stream",
        json={"assistant_id": "chain", "input": {"log": []}, "stream_mode": ["updates"], "stream_resumable": True},
        headers={"accept": "text/event-stream"},
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-accel-buffering"] == "no"
        run_path = response.headers["content-location"]
        assert response.headers["location"] == f"{run_path}/stream"
        raw = b"".join(response.iter_raw())
    blocks = [b for b in raw.split(b"\r\n\r\n") if b]
    first = blocks[0].split(b"\r\n")
    assert first[0] == b"event: metadata"
    assert first[1].startswith(b"data: {")
    assert first[2].startswith(b"id: ")
    ids = []
    for block in blocks:
        lines = block.split(b"\r\n")
        assert [line.split(b":")[0] for line in lines] == [b"event", b"data", b"id"]
        ids.append(tuple(int(x) for x in lines[2][4:].split(b"-")))
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    # the terminal status is visible once the stream has closed
    assert http.get(run_path).json()["status"] == "success"


def test_non_resumable_stream_has_no_ids(http):
    thread = http.post("/threads", json={}).json()
    with http.stream(
        "POST", f"/threads/{thread['thread_id']}/runs/stream", json={"assistant_id": "chain", "input": {"log": []}}
    ) as response:
        raw = b"".join(response.iter_raw())
    assert b"\r\nid: " not in raw and raw.startswith(b"event: metadata\r\n")


def test_stream_sends_heartbeats_while_idle(http):
    # tests run the server with EVERGRAPH_SSE_HEARTBEAT=1 (the default is 5 s)
    thread = http.post("/threads", json={}).json()
    with http.stream(
        "POST",
        f"/threads/{thread['thread_id']}/runs/stream",
        json={"assistant_id": "slow", "input": {"log": [], "sleep": 2.5}, "stream_mode": "updates"},
    ) as response:
        raw = b"".join(response.iter_raw())
    assert b": heartbeat\r\n\r\n" in raw


def test_wait_headers_and_padding(http):
    thread = http.post("/threads", json={}).json()
    response = http.post(
        f"/threads/{thread['thread_id']}/runs/wait",
        json={"assistant_id": "slow", "input": {"log": [], "sleep": 2.5}},
    )
    assert response.status_code == 200
    run_path = response.headers["content-location"]
    assert response.headers["location"] == f"{run_path}/join"
    assert response.text.startswith("\n")  # padding while the run was in progress
    assert response.json()["log"] == ["step1"]


async def test_invalid_concurrent_update_is_a_run_error(client):
    """LangGraph's own InvalidUpdateError, raised while applying a superstep's writes."""
    body = await client.runs.wait(None, "conflict", input={"log": []}, raise_error=False)
    assert body["__error__"]["error"] == "InvalidUpdateError"
    assert "At key 'n'" in body["__error__"]["message"]


async def test_default_recursion_limit_is_langgraph_api_s(client):
    """Without ``recursion_limit`` in the run's config a run may take 10011 supersteps
    (``LANGGRAPH_DEFAULT_RECURSION_LIMIT``'s default in langgraph-api), not
    in-process LangGraph's 25: a 40-superstep loop succeeds; the run's own
    ``recursion_limit`` still bounds it."""
    thread = await client.threads.create()
    result = await client.runs.wait(thread["thread_id"], "loop", input={"n": 0, "target": 40})
    assert result["n"] == 40, result
    bounded = await client.threads.create()
    failed = await client.runs.wait(
        bounded["thread_id"], "loop", input={"n": 0, "target": 40}, config={"recursion_limit": 10}, raise_error=False
    )
    assert failed["__error__"]["error"] == "GraphRecursionError", failed


def test_default_recursion_limit_setting():
    """``LANGGRAPH_DEFAULT_RECURSION_LIMIT`` sets the default; a bad value names it."""
    assert Settings.from_env({}).default_recursion_limit == 10011
    assert Settings.from_env({"LANGGRAPH_DEFAULT_RECURSION_LIMIT": "50"}).default_recursion_limit == 50
    with pytest.raises(SettingsError, match="LANGGRAPH_DEFAULT_RECURSION_LIMIT"):
        Settings.from_env({"LANGGRAPH_DEFAULT_RECURSION_LIMIT": "many"})
