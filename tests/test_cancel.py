"""Cancel, as langgraph-api 0.16.7 does it: interrupt and rollback, ``wait``, many runs
at once, queued runs, client disconnects; the cancellation reaches the node attempt in
the worker."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.conftest import wait_for

NO_MATCHING = (
    "No matching runs to cancel. Please verify the thread ID and run IDs are correct, "
    "and the runs haven't been deleted or completed."
)


def _human(text: str, sleep: float = 0.0, marker: str | None = None) -> dict:
    body = {"messages": [{"role": "user", "content": text}], "sleep": sleep}
    if marker:
        body["marker"] = marker
    return body


async def _status(client, tid: str, rid: str) -> str:
    return (await client.runs.get(tid, rid))["status"]


async def _running(client, tid: str, rid: str) -> None:
    async def check():
        return await _status(client, tid, rid) == "running"

    await wait_for(check)


async def test_cancel_interrupt_reaches_the_node_attempt(client, tmp_path: Path):
    marker = tmp_path / "finished"
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(tid, "chat", input=_human("hi", sleep=4, marker=str(marker)))
    await _running(client, tid, run["run_id"])
    await asyncio.sleep(0.3)  # let the node attempt start its sleep
    await client.runs.cancel(tid, run["run_id"])  # wait=0: 202
    await wait_for(lambda: _is(client, tid, run["run_id"], "interrupted"), timeout=5)
    thread = await client.threads.get(tid)
    assert thread["status"] == "interrupted"
    assert thread["error"]["error"] == "UserInterrupt"
    # the input checkpoint stays (partial state)
    assert [m["content"] for m in (await client.threads.get_state(tid))["values"]["messages"]] == ["hi"]
    # the node was cancelled in the worker: it never reaches the line after its sleep
    await asyncio.sleep(5)
    assert not marker.exists()
    assert [m["content"] for m in (await client.threads.get_state(tid))["values"]["messages"]] == ["hi"]


async def _is(client, tid, rid, status) -> bool:
    return await _status(client, tid, rid) == status


def test_cancel_wait_answers_200_once_stopped(http, sync_client):
    tid = sync_client.threads.create()["thread_id"]
    run = sync_client.runs.create(tid, "chat", input=_human("hi", sleep=30))
    for _ in range(600):
        if sync_client.runs.get(tid, run["run_id"])["status"] == "running":
            break
        import time

        time.sleep(0.05)
    resp = http.post(f"/threads/{tid}/runs/{run['run_id']}/cancel", params={"wait": 1})
    assert resp.status_code == 200 and resp.json() == {}
    assert sync_client.runs.get(tid, run["run_id"])["status"] == "interrupted"


def test_cancel_without_wait_answers_202_empty(http, sync_client):
    tid = sync_client.threads.create()["thread_id"]
    run = sync_client.runs.create(tid, "chat", input=_human("hi", sleep=30))
    resp = http.post(f"/threads/{tid}/runs/{run['run_id']}/cancel")
    assert resp.status_code == 202 and resp.content == b""
    sync_client.runs.join(tid, run["run_id"])
    assert sync_client.runs.get(tid, run["run_id"])["status"] == "interrupted"


async def test_cancel_rollback_deletes_run_and_checkpoints(client):
    tid = (await client.threads.create())["thread_id"]
    done = await client.runs.wait(tid, "chat", input=_human("first"))
    before = await client.threads.get_history(tid, limit=100)
    run = await client.runs.create(tid, "chat", input=_human("second", sleep=30))
    await _running(client, tid, run["run_id"])
    await client.runs.cancel(tid, run["run_id"], wait=True, action="rollback")
    with pytest.raises(Exception) as err:
        await client.runs.get(tid, run["run_id"])
    assert err.value.response.status_code == 404
    assert await client.threads.get_history(tid, limit=100) == before
    state = await client.threads.get_state(tid)
    assert [m["content"] for m in state["values"]["messages"]] == [m["content"] for m in done["messages"]]
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_cancel_a_queued_run_before_it_starts(client):
    tid = (await client.threads.create())["thread_id"]
    first = await client.runs.create(tid, "chat", input=_human("first", sleep=1.5))
    queued = await client.runs.create(tid, "chat", input=_human("queued"))
    await client.runs.cancel(tid, queued["run_id"])
    # decided by the thread's workflow before the call returns
    assert await _status(client, tid, queued["run_id"]) == "interrupted"
    await client.runs.join(tid, first["run_id"])
    assert await _status(client, tid, first["run_id"]) == "success"
    contents = [m["content"] for m in (await client.threads.get_state(tid))["values"]["messages"]]
    assert contents == ["first", "echo: first"]  # the queued run never ran


async def test_cancel_many_by_thread_and_status(client, http):
    tid = (await client.threads.create())["thread_id"]
    first = await client.runs.create(tid, "chat", input=_human("first", sleep=30))
    queued = await client.runs.create(tid, "chat", input=_human("queued"))
    await _running(client, tid, first["run_id"])
    # a status cancels the runs of every thread: with a thread_id it is refused, as
    # langgraph-api 0.16.7 refuses it (status alone: tests/test_surface.py)
    resp = http.post("/runs/cancel", json={"thread_id": tid, "status": "pending"})
    assert resp.status_code == 422
    assert await _status(client, tid, queued["run_id"]) == "pending"
    await client.runs.cancel_many(thread_id=tid, run_ids=[queued["run_id"]])
    assert await _status(client, tid, queued["run_id"]) == "interrupted"
    assert await _status(client, tid, first["run_id"]) == "running"
    await client.runs.cancel_many(thread_id=tid, run_ids=[first["run_id"]])
    await wait_for(lambda: _is(client, tid, first["run_id"], "interrupted"), timeout=10)
    resp = http.post("/runs/cancel", json={"thread_id": tid, "run_ids": [first["run_id"], queued["run_id"]]})
    # both ended: langgraph-api 0.16.7 finds them but none it can cancel
    assert resp.status_code == 404 and resp.json() == {"detail": NO_MATCHING}


async def test_stream_on_disconnect_cancel(server, client):
    tid = (await client.threads.create())["thread_id"]
    body = {"assistant_id": "chat", "input": _human("hi", sleep=30), "on_disconnect": "cancel", "stream_mode": ["values"]}
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        async with http.stream("POST", f"/threads/{tid}/runs/stream", json=body) as resp:
            async for line in resp.aiter_lines():
                if line.startswith("event: values"):
                    break
    [run] = await client.runs.list(tid)
    await wait_for(lambda: _is(client, tid, run["run_id"], "interrupted"), timeout=15)


async def test_join_stream_cancel_on_disconnect(server, client):
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(tid, "chat", input=_human("hi", sleep=30))
    await _running(client, tid, run["run_id"])
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        async with http.stream(
            "GET", f"/threads/{tid}/runs/{run['run_id']}/stream", params={"cancel_on_disconnect": "true"}
        ) as resp:
            assert resp.status_code == 200
            async for line in resp.aiter_lines():
                if line.startswith(":") or line.startswith("event"):
                    break
    await wait_for(lambda: _is(client, tid, run["run_id"], "interrupted"), timeout=15)


async def test_on_disconnect_continue_keeps_running(server, client):
    tid = (await client.threads.create())["thread_id"]
    body = {"assistant_id": "chat", "input": _human("hi", sleep=1), "stream_mode": ["values"]}
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        async with http.stream("POST", f"/threads/{tid}/runs/stream", json=body) as resp:
            async for line in resp.aiter_lines():
                if line.startswith("event: values"):
                    break
    [run] = await client.runs.list(tid)
    await client.runs.join(tid, run["run_id"])
    assert await _status(client, tid, run["run_id"]) == "success"


async def test_cancel_errors(client, http):
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(tid, "chat", input=_human("hi"))
    await client.runs.join(tid, run["run_id"])
    before = await client.threads.get_history(tid)
    resp = http.post(f"/threads/{tid}/runs/{run['run_id']}/cancel")
    assert resp.status_code == 404 and resp.json() == {"detail": NO_MATCHING}
    unknown = "01a1fc12-0000-7000-8000-000000000000"
    resp = http.post(f"/threads/{tid}/runs/{unknown}/cancel")
    assert resp.status_code == 404 and resp.json() == {"detail": "No runs found to cancel."}
    resp = http.post(f"/threads/{tid}/runs/{run['run_id']}/cancel", params={"action": "explode"})
    assert resp.status_code == 422
    assert await _status(client, tid, run["run_id"]) == "success"
    assert await client.threads.get_history(tid) == before


async def test_after_seconds_keeps_a_run_pending_and_can_be_cancelled(client):
    tid = (await client.threads.create())["thread_id"]
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    run = await client.runs.create(tid, "chat", input=_human("later"), after_seconds=1)
    await asyncio.sleep(0.5)
    assert await _status(client, tid, run["run_id"]) == "pending"
    await client.runs.join(tid, run["run_id"])
    assert loop.time() - t0 >= 1.0
    assert await _status(client, tid, run["run_id"]) == "success"

    delayed = await client.runs.create(tid, "chat", input=_human("never"), after_seconds=30)
    await client.runs.cancel(tid, delayed["run_id"])
    await wait_for(lambda: _is(client, tid, delayed["run_id"], "interrupted"), timeout=10)
    contents = [m["content"] for m in (await client.threads.get_state(tid))["values"]["messages"]]
    assert "never" not in contents


async def test_deleting_a_busy_thread_stops_its_workflows(client, temporal_client):
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(tid, "chat", input=_human("hi", sleep=30))
    queued = await client.runs.create(tid, "chat", input=_human("queued"))
    await _running(client, tid, run["run_id"])
    await client.threads.delete(tid)

    async def closed(workflow_id: str):
        desc = await temporal_client.get_workflow_handle(workflow_id).describe()
        return desc.status.name if desc.status.name != "RUNNING" else None

    assert await wait_for(lambda: closed(f"thread-{tid}"), timeout=15) == "TERMINATED"
    # the running run is cancelled, not failed, although its thread is gone
    assert await wait_for(lambda: closed(f"run-{run['run_id']}"), timeout=15) in ("COMPLETED", "CANCELED")
    with pytest.raises(Exception) as err:
        await temporal_client.get_workflow_handle(f"run-{queued['run_id']}").describe()
    assert "not found" in str(err.value).lower()  # the queued run never started
