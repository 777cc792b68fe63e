"""Node timeouts enforced by the Temporal server (``run_timeout`` → start-to-close,
``idle_timeout`` → heartbeat timeout), through the official SDK.

Bounds here are generous (the exact figures are the benchmark's job): each graph node
sleeps 3 s against a 1 s timeout, so "timed out" means well before 3 s.
"""

from __future__ import annotations

import time

import pytest
from temporalio.api.enums.v1 import EventType



async def _run(client, mode: str):
    thread = await client.threads.create()
    started = time.monotonic()
    parts = [
        p
        async for p in client.runs.stream(
            thread["thread_id"], "timeouts", input={"mode": mode, "log": []}, stream_mode=["values", "custom"]
        )
    ]
    return thread["thread_id"], parts, time.monotonic() - started


async def test_sync_node_with_run_timeout_is_enforced(client):
    tid, parts, elapsed = await _run(client, "sync_sleep")
    assert parts[-1].event == "error"
    assert parts[-1].data["error"] == "NodeTimeoutError"
    assert "run timeout of 1.000s" in parts[-1].data["message"]
    assert elapsed < 2.5, elapsed
    run = (await client.runs.list(tid))[0]
    assert run["status"] == "error"


async def test_blocking_async_node_is_timed_out_on_time(client):
    tid, parts, elapsed = await _run(client, "blocking_async")
    assert parts[-1].event == "error"
    assert parts[-1].data["error"] == "NodeTimeoutError"
    assert "idle timeout of 1.000s" in parts[-1].data["message"]
    assert elapsed < 2.5, elapsed


async def test_silent_node_idle_timeout_in_wait(client):
    thread = await client.threads.create()
    body = await client.runs.wait(
        thread["thread_id"], "timeouts", input={"mode": "silent", "log": []}, raise_error=False
    )
    assert body["__error__"]["error"] == "NodeTimeoutError"
    assert "idle timeout" in body["__error__"]["message"]


async def test_heartbeats_keep_an_idle_timeout_alive(client):
    tid, parts, elapsed = await _run(client, "heartbeat")
    assert parts[-1].event == "values"
    assert parts[-1].data["log"] == ["heartbeat finished"]
    assert elapsed >= 2.0


async def test_stream_writes_keep_an_auto_idle_timeout_alive(client):
    tid, parts, elapsed = await _run(client, "streaming")
    assert [p.data for p in parts if p.event == "custom"] == [{"progress": i} for i in range(4)]
    assert parts[-1].data["log"] == ["streaming finished"]


async def _scheduled(client, temporal_client, tid):
    run = (await client.runs.list(tid))[0]
    handle = temporal_client.get_workflow_handle(f"run-{run['run_id']}")
    return [
        e.activity_task_scheduled_event_attributes
        async for e in handle.fetch_history_events()
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


async def test_timeouts_are_temporal_activity_timeouts(client, temporal_client):
    tid, _, _ = await _run(client, "sync_sleep")
    scheduled = await _scheduled(client, temporal_client, tid)
    assert [s.activity_type.name for s in scheduled] == ["timeouts.sync_sleep"]
    assert scheduled[0].start_to_close_timeout.ToTimedelta().total_seconds() == pytest.approx(1.0)
    tid, _, _ = await _run(client, "blocking_async")
    scheduled = await _scheduled(client, temporal_client, tid)
    assert [s.activity_type.name for s in scheduled] == ["timeouts.blocking_async"]
    assert scheduled[0].heartbeat_timeout.ToTimedelta().total_seconds() == pytest.approx(1.0)


async def test_retry_attempts_are_activity_attempts(client, temporal_client, tmp_path):
    counter = tmp_path / "calls"
    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], "flaky", input={"log": [], "counter_file": str(counter)})
    run = (await client.runs.list(thread["thread_id"]))[0]
    handle = temporal_client.get_workflow_handle(f"run-{run['run_id']}")
    events = [e async for e in handle.fetch_history_events()]
    started = [
        e.activity_task_started_event_attributes
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    ]
    assert len(started) == 1 and started[0].attempt == 3
    assert started[0].last_failure.message == "transient failure 2"
    scheduled = [
        e.activity_task_scheduled_event_attributes
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert scheduled[0].retry_policy.maximum_attempts == 3
    assert scheduled[0].activity_type.name == "flaky.flaky"
