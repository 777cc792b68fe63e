"""``EVERGRAPH_NODE_ACTIVITIES=local``: nodes without a TimeoutPolicy run as Temporal
local activities (docs/architecture.md, "Local and regular node activities"). Their
attempts are markers in the run's history, their retries Temporal's, their results
reach the history in bounded workflow tasks, and a cancel still reaches a running
attempt (``kill -9`` of a worker in local mode: tests/test_durability.py). One extra
``evergraph dev`` in local mode on the session's Temporal dev server."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest
from langgraph_sdk import get_client
from temporalio.api.enums.v1 import EventType

from langgraph.checkpoint.base import empty_checkpoint

from evergraph.adapter.graphs.checkpoint import open_checkpointer
from evergraph.workflows.run import LOCAL_FLUSH_MARKERS
from tests.conftest import GRAPHS_CONFIG, running_evergraph, wait_for

LOCAL = {"EVERGRAPH_NODE_ACTIVITIES": "local"}


@pytest.fixture(scope="module")
def local_url(temporal_server, tmp_path_factory):
    """The URL of an ``evergraph dev`` in local mode."""
    folder = tmp_path_factory.mktemp("local-mode")
    with running_evergraph("dev", GRAPHS_CONFIG, temporal_server.address, folder, "dev", **LOCAL) as url:
        yield url


async def _history(temporal_client, run_id: str) -> list:
    handle = temporal_client.get_workflow_handle(f"run-{run_id}")
    await handle.result()
    return [e async for e in handle.fetch_history_events()]


def _markers(events: list) -> list[dict]:
    """The local activities' marker data: activity_type, attempt, activity_id…"""
    return [
        json.loads(e.marker_recorded_event_attributes.details["data"].payloads[0].data)
        for e in events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
    ]


async def test_nodes_are_local_activities_named_after_the_node(local_url, temporal_client):
    client = get_client(url=local_url)
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(tid, "parallel", input={"log": []})
    await client.runs.join(tid, run["run_id"])
    events = await _history(temporal_client, run["run_id"])
    assert not [e for e in events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]
    nodes = {m["activity_type"]: m for m in _markers(events) if m["activity_type"].startswith("parallel.")}
    assert sorted(nodes) == ["parallel.a", "parallel.b", "parallel.c", "parallel.d"]
    assert all(m["attempt"] == 1 for m in nodes.values())
    # b and c run in the same superstep (their activity ids start with the step)
    assert nodes["parallel.b"]["activity_id"].split(":")[0] == nodes["parallel.c"]["activity_id"].split(":")[0]


async def test_retries_are_local_activity_attempts(local_url, temporal_client, tmp_path):
    client = get_client(url=local_url)
    tid = (await client.threads.create())["thread_id"]
    result = await client.runs.wait(tid, "flaky", input={"log": [], "counter_file": str(tmp_path / "calls")})
    assert result["log"] == ["flaky after 3 calls"]
    run = (await client.runs.list(tid))[0]
    flaky = [m for m in _markers(await _history(temporal_client, run["run_id"])) if m["activity_type"] == "flaky.flaky"]
    assert len(flaky) == 1 and flaky[0]["attempt"] == 3


async def test_results_reach_the_history_in_bounded_workflow_tasks(local_url, temporal_client):
    """Markers reach the history when a workflow task completes; a long run lets its
    workflow task complete every LOCAL_FLUSH_MARKERS markers, so none grows with the run."""
    client = get_client(url=local_url)
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(
        tid, "loop", input={"n": 0, "target": 600}, config={"recursion_limit": 700}, durability="exit"
    )
    assert await client.runs.join(tid, run["run_id"]) == {"n": 600, "target": 600}
    markers, largest, in_task = 0, 0, 0
    for event in await _history(temporal_client, run["run_id"]):
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            markers += 1
            in_task += 1
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            largest, in_task = max(largest, in_task), 0
    largest = max(largest, in_task)
    assert markers >= 1200  # an advance and a node attempt per superstep
    assert largest <= LOCAL_FLUSH_MARKERS + 4, largest


async def test_cancel_reaches_a_running_local_attempt(local_url, tmp_path):
    client = get_client(url=local_url)
    marker = tmp_path / "finished"
    tid = (await client.threads.create())["thread_id"]
    body = {"messages": [{"role": "user", "content": "hi"}], "sleep": 20, "marker": str(marker)}
    run = await client.runs.create(tid, "chat", input=body)
    await wait_for(lambda: _status(client, tid, run["run_id"], "running"), timeout=30)
    await asyncio.sleep(0.3)
    await client.runs.cancel(tid, run["run_id"])
    # the signal reaches the workflow at its next workflow task heartbeat (<= 8 s)
    await wait_for(lambda: _status(client, tid, run["run_id"], "interrupted"), timeout=15)
    assert not marker.exists()


async def _status(client, tid: str, rid: str, status: str) -> bool:
    return (await client.runs.get(tid, rid))["status"] == status


async def test_a_cancelled_drain_leaves_other_runs_saves_alone(tmp_path):
    """Temporal cancels a local attempt (and an ``advance``) whose workflow task timed
    out, often while its driver waits in ``SharedSaver.drain``. Cancelling that wait
    must not cancel the saves in flight, which belong to every run of the process: a
    dropped checkpoint made another run end ``success`` one node short (``{'n': 9}``
    for the 10-node chain) or fail its next attempt with ``TaskMismatchError``
    (checkpoint not found), 400 runs 100 at a time on a saturated machine."""
    async with contextlib.AsyncExitStack() as stack:
        saver = await open_checkpointer(tmp_path / "checkpoints.sqlite", stack)
        config = {"configurable": {"thread_id": "other-run", "checkpoint_ns": ""}}
        checkpoint = empty_checkpoint()
        async with saver.inner.lock:  # the database is busy: another run's save waits
            save = asyncio.ensure_future(saver.aput(config, checkpoint, {}, {}))
            while not saver._inflight:  # the save is submitted on the next loop turn
                await asyncio.sleep(0)
            drain = asyncio.ensure_future(saver.drain())
            await asyncio.sleep(0)
            drain.cancel("Activity cancelled")
            with pytest.raises(asyncio.CancelledError):
                await drain
        await save
        saved = await saver.aget_tuple(config)
        assert saved is not None and saved.checkpoint["id"] == checkpoint["id"]
