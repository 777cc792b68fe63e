"""Double texting, as langgraph-api 0.16.7 handles it: a second run on a thread whose
first run is still busy, under each ``multitask_strategy``; the thread's workflow
decides, so two API processes cannot both accept a ``reject`` run."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client

from evergraph.adapter.process.devserver import free_port
from tests.conftest import GRAPHS_CONFIG, EvergraphProcess, evergraph_env, wait_for

BUSY = "Thread is already running a task. Wait for it to finish or choose a different multitask strategy."


def _human(text: str, sleep: float = 0.0) -> dict:
    return {"messages": [{"role": "user", "content": text}], "sleep": sleep}


def _contents(state: dict) -> list[str]:
    return [m["content"] for m in state["values"]["messages"]]


async def _status(client, tid: str, rid: str) -> str:
    return (await client.runs.get(tid, rid))["status"]


async def _first_running(client, tid: str, sleep: float = 5.0) -> dict:
    run = await client.runs.create(tid, "chat", input=_human("hi", sleep))
    await wait_for(lambda: _is(client, tid, run["run_id"], "running"))
    return run


async def _is(client, tid: str, rid: str, status: str) -> bool:
    return await _status(client, tid, rid) == status


@pytest.mark.parametrize("endpoint", ["create", "stream", "wait"])
async def test_reject_answers_409_and_first_run_continues(client, http, endpoint):
    tid = (await client.threads.create())["thread_id"]
    first = await _first_running(client, tid, sleep=1.5)
    path = {"create": "runs", "stream": "runs/stream", "wait": "runs/wait"}[endpoint]
    resp = http.post(
        f"/threads/{tid}/{path}",
        json={"assistant_id": "chat", "input": _human("second"), "multitask_strategy": "reject"},
    )
    assert resp.status_code == 409
    assert resp.json() == {"detail": BUSY}
    await client.runs.join(tid, first["run_id"])
    assert await _status(client, tid, first["run_id"]) == "success"
    assert [r["run_id"] for r in await client.runs.list(tid)] == [first["run_id"]]  # nothing recorded
    assert _contents(await client.threads.get_state(tid)) == ["hi", "echo: hi"]


async def test_reject_through_the_sdk_raises_conflict(client):
    from langgraph_sdk.errors import ConflictError

    tid = (await client.threads.create())["thread_id"]
    first = await _first_running(client, tid, sleep=1.5)
    with pytest.raises(ConflictError):
        await client.runs.create(tid, "chat", input=_human("second"), multitask_strategy="reject")
    await client.runs.join(tid, first["run_id"])


async def test_reject_counts_queued_runs_as_busy(client):
    tid = (await client.threads.create())["thread_id"]
    first = await _first_running(client, tid, sleep=1.0)
    queued = await client.runs.create(tid, "chat", input=_human("second", sleep=1.0))
    await client.runs.join(tid, first["run_id"])
    # the first run is over; the queued one keeps the thread busy
    assert await _status(client, tid, queued["run_id"]) in ("pending", "running")
    with pytest.raises(Exception) as err:
        await client.runs.create(tid, "chat", input=_human("third"), multitask_strategy="reject")
    assert err.value.response.status_code == 409
    await client.runs.join(tid, queued["run_id"])
    assert len(await client.runs.list(tid)) == 2


async def test_enqueue_runs_in_fifo_order(client):
    tid = (await client.threads.create())["thread_id"]
    first = await _first_running(client, tid, sleep=1.0)
    later = [await client.runs.create(tid, "chat", input=_human(f"msg{i}")) for i in range(4)]
    assert all(r["status"] == "pending" and r["multitask_strategy"] == "enqueue" for r in later)
    assert (await client.threads.get(tid))["status"] == "busy"
    await client.runs.join(tid, later[-1]["run_id"])
    assert _contents(await client.threads.get_state(tid)) == [
        "hi", "echo: hi", *[x for i in range(4) for x in (f"msg{i}", f"echo: msg{i}")]
    ]
    statuses = [r["status"] for r in await client.runs.list(tid, limit=10)]
    assert statuses == ["success"] * 5
    assert first["multitask_strategy"] == "enqueue"


async def test_interrupt_displaces_the_running_run_and_keeps_its_input(client):
    tid = (await client.threads.create())["thread_id"]
    first = await _first_running(client, tid, sleep=30)
    second = await client.runs.create(tid, "chat", input=_human("second"), multitask_strategy="interrupt")
    assert second["status"] == "pending" and second["multitask_strategy"] == "interrupt"
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await wait_for(lambda: _is(client, tid, first["run_id"], "interrupted"), timeout=10)
    assert loop.time() - t0 < 1.5  # "within a second" plus polling
    await client.runs.join(tid, second["run_id"])
    assert await _status(client, tid, second["run_id"]) == "success"
    assert _contents(await client.threads.get_state(tid)) == ["hi", "second", "echo: second"]
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_rollback_deletes_the_running_run_and_its_checkpoints(client):
    tid = (await client.threads.create())["thread_id"]
    first = await _first_running(client, tid, sleep=30)
    second = await client.runs.create(tid, "chat", input=_human("second"), multitask_strategy="rollback")
    await client.runs.join(tid, second["run_id"])
    with pytest.raises(Exception) as err:
        await client.runs.get(tid, first["run_id"])
    assert err.value.response.status_code == 404
    assert _contents(await client.threads.get_state(tid)) == ["second", "echo: second"]
    history = await client.threads.get_history(tid, limit=100)
    assert {h["metadata"].get("run_id") for h in history} == {second["run_id"]}
    assert [r["run_id"] for r in await client.runs.list(tid)] == [second["run_id"]]


async def test_interrupt_also_cancels_queued_runs(client):
    tid = (await client.threads.create())["thread_id"]
    first = await _first_running(client, tid, sleep=30)
    queued = await client.runs.create(tid, "chat", input=_human("queued"))
    last = await client.runs.create(tid, "chat", input=_human("last"), multitask_strategy="interrupt")
    await client.runs.join(tid, last["run_id"])
    assert await _status(client, tid, first["run_id"]) == "interrupted"
    assert await _status(client, tid, queued["run_id"]) == "interrupted"
    assert _contents(await client.threads.get_state(tid)) == ["hi", "last", "echo: last"]


# ------------------------------------------------------------- two API processes


@pytest.fixture(scope="module")
def two_apis(temporal_server, data_root: Path):
    """Two ``evergraph serve`` processes and one ``evergraph worker`` sharing Temporal
    and one data folder."""
    ports = [free_port(), free_port()]
    env = evergraph_env(
        temporal_server.address, data_root / "two-apis", EVERGRAPH_TASK_QUEUE=f"two-apis-{ports[0]}",
        EVERGRAPH_CONFIG=str(GRAPHS_CONFIG),
    )
    worker = EvergraphProcess(["worker"], env, data_root / "two-apis-worker.log")
    apis = [EvergraphProcess(["serve", "--port", str(p)], env, data_root / f"two-apis-{p}.log") for p in ports]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        for api, url in zip(apis, urls):
            api.wait_ready(url)
        yield urls
    finally:
        for api in apis:
            api.stop()
        worker.stop()


async def test_twenty_concurrent_rejects_through_two_apis_accept_exactly_one(two_apis):
    clients = [get_client(url=u) for u in two_apis]
    tid = (await clients[0].threads.create())["thread_id"]
    body = {"assistant_id": "chat", "input": _human("race", sleep=3), "multitask_strategy": "reject"}
    async with httpx.AsyncClient(timeout=60) as http:
        responses = await asyncio.gather(
            *(http.post(f"{two_apis[i % 2]}/threads/{tid}/runs", json=body) for i in range(20))
        )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 19, codes
    [accepted] = [r.json() for r in responses if r.status_code == 200]
    for c in clients:
        assert [r["run_id"] for r in await c.runs.list(tid)] == [accepted["run_id"]]
    await clients[1].runs.join(tid, accepted["run_id"])
    state = await clients[1].threads.get_state(tid)
    assert _contents(state) == ["race", "echo: race"]
