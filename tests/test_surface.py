"""The rest of langgraph-api's REST surface (issue 13, item 4): every operation of
the official OpenAPI document, ``/threads/{id}/storage``, ``/docs``, cancelling runs
by status alone, ``exclude_metadata``, history ``select``, the thread stream's
``stream_mode``, the ``lifecycle`` mode refused on v1 run streams and run ``kwargs``.

Facts come from langgraph dev (langgraph-api 0.16.7) observed side by side with the
graphs of tests/graphs/surface_graphs.py; the official operation list is
tests/official_openapi_operations.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from pathlib import Path

import pytest
from langgraph_sdk.errors import UnprocessableEntityError

from tests.conftest import wait_for

OFFICIAL = json.loads((Path(__file__).parent / "official_openapi_operations.json").read_text())["operations"]

#: served by other work (issue 13 items 2 and 3)
ELSEWHERE = ("/mcp", "/a2a/")

CANCEL_STATUS_ALONE = (
    "When providing a 'status', 'thread_id' and 'run_ids' must be omitted. "
    "The 'status' parameter cancels all runs with the given status, regardless of thread or run ID."
)


async def _status(client, tid: str, rid: str) -> str:
    return (await client.runs.get(tid, rid))["status"]


async def _until(client, tid: str, rid: str, *wanted: str, timeout: float = 30) -> None:
    async def check():
        return await _status(client, tid, rid) in wanted

    await wait_for(check, timeout=timeout)


# ------------------------------------------------------------------------ the document


def test_every_official_operation_is_served(http):
    spec = http.get("/openapi.json").json()
    ours = {f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops}
    wanted = {op for op in OFFICIAL if not any(op.split(" ", 1)[1].startswith(p) for p in ELSEWHERE)}
    assert wanted - ours == set()


def test_docs_page(http):
    r = http.get("/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in r.text


# ------------------------------------------------------------------------------ storage


def _sections_add_up(report: dict) -> None:
    assert set(report) == {"thread_id", "total_bytes", "checkpoints", "channel_values", "pending_writes"}
    assert set(report["channel_values"]) == {"count", "bytes", "by_channel"}
    assert report["total_bytes"] == (
        report["checkpoints"]["bytes"] + report["channel_values"]["bytes"] + report["pending_writes"]["bytes"]
    )


async def test_thread_storage(client, http):
    tid = (await client.threads.create())["thread_id"]
    empty = http.get(f"/threads/{tid}/storage")
    assert empty.status_code == 200
    assert empty.json() == {
        "thread_id": tid,
        "total_bytes": 0,
        "checkpoints": {"count": 0, "bytes": 0},
        "channel_values": {"count": 0, "bytes": 0, "by_channel": {}},
        "pending_writes": {"count": 0, "bytes": 0},
    }
    await client.runs.wait(tid, "surface_steps", input={"a": 1})
    report = http.get(f"/threads/{tid}/storage").json()
    _sections_add_up(report)
    history = await client.threads.get_history(tid, limit=100)
    assert report["checkpoints"]["count"] == len(history) == 4  # input, one, two + the empty start
    assert report["checkpoints"]["bytes"] > 0 and report["pending_writes"]["count"] > 0
    r = http.get(f"/threads/{uuid.uuid4()}/storage")
    assert r.status_code == 404
    r = http.get("/threads/not-a-uuid/storage")
    assert r.status_code == 422


@pytest.mark.skipif(
    not os.environ.get("EVERGRAPH_TEST_POSTGRES_URI"),
    reason="EVERGRAPH_TEST_POSTGRES_URI is not set (.ci/run starts a PostgreSQL server and sets it)",
)
async def test_thread_storage_on_postgres():
    """langgraph-checkpoint-postgres keeps channel values other than strings and
    numbers apart (``checkpoint_blobs``): they are counted per channel, in
    langgraph-api 0.16.7's shape."""
    from contextlib import AsyncExitStack

    from evergraph.adapter.graphs.checkpoint import open_postgres_checkpointer
    from evergraph.adapter.graphs.checkpoint_storage import thread_storage
    from tests.graphs.surface_graphs import _steps

    async with AsyncExitStack() as stack:
        saver = await open_postgres_checkpointer(os.environ["EVERGRAPH_TEST_POSTGRES_URI"], stack)
        tid = str(uuid.uuid4())
        assert (await thread_storage(saver, tid))["total_bytes"] == 0
        await _steps.compile(checkpointer=saver).ainvoke({"a": 1}, {"configurable": {"thread_id": tid}})
        report = {"thread_id": tid, **await thread_storage(saver, tid)}
        _sections_add_up(report)
        assert report["checkpoints"]["count"] == 4
        by_channel = report["channel_values"]["by_channel"]
        # the saver keeps strings and numbers (a, b) inside the checkpoint row
        assert "a" not in by_channel and by_channel["log"]["versions"] == 2
        assert by_channel["log"]["bytes"] > 0 and report["pending_writes"]["count"] > 0
        await saver.adelete_thread(tid)


# ------------------------------------------------------------------- cancel by status


async def test_cancel_by_status_alone_cancels_every_threads_runs(client, http):
    ta = (await client.threads.create())["thread_id"]
    tb = (await client.threads.create())["thread_id"]
    ra = await client.runs.create(ta, "surface_wait", input={"sleep": 60})
    rb = await client.runs.create(tb, "surface_wait", input={"sleep": 60})
    queued = await client.runs.create(tb, "surface_wait", input={"sleep": 0})
    await _until(client, ta, ra["run_id"], "running")
    await _until(client, tb, rb["run_id"], "running")

    assert http.post("/runs/cancel", json={"status": "pending"}).status_code == 204
    await _until(client, tb, queued["run_id"], "interrupted", timeout=15)
    assert await _status(client, ta, ra["run_id"]) == "running"
    assert await _status(client, tb, rb["run_id"]) == "running"

    await client.runs.cancel_many(status="running")
    await _until(client, ta, ra["run_id"], "interrupted", timeout=15)
    await _until(client, tb, rb["run_id"], "interrupted", timeout=15)


def _one_of(instance: str, verdict: str) -> dict:
    """langgraph-api 0.16.7's 422 body when a ``RunsCancel`` body fits neither or both
    of its forms (``instance``: the body as compact JSON, keys sorted)."""
    return {"detail": f"{instance} {verdict} of the schemas listed in the 'oneOf' keyword\n\n"
                      f'Failed validating "oneOf" in schema\n\nOn instance:\n    {instance}'}


def test_cancel_many_takes_status_alone_or_thread_and_run_ids(http):
    tid, rid = str(uuid.uuid4()), str(uuid.uuid4())
    for body in ({"status": "all", "thread_id": tid}, {"status": "pending", "run_ids": [rid]}):
        r = http.post("/runs/cancel", json=body)
        assert r.status_code == 422, body
        assert r.json() == {"detail": CANCEL_STATUS_ALONE}
    neither = "is not valid under any"
    assert http.post("/runs/cancel", json={}).json() == _one_of("{}", neither)
    r = http.post("/runs/cancel", json={"thread_id": tid})
    assert r.status_code == 422 and r.json() == _one_of(f'{{"thread_id":"{tid}"}}', neither)
    r = http.post("/runs/cancel", json={"run_ids": [rid]})
    assert r.status_code == 422 and r.json() == _one_of(f'{{"run_ids":["{rid}"]}}', neither)
    r = http.post("/runs/cancel", json={"thread_id": tid, "status": "all", "run_ids": [rid]})
    both = f'{{"run_ids":["{rid}"],"status":"all","thread_id":"{tid}"}}'
    assert r.status_code == 422 and r.json() == _one_of(both, "is valid under more than one")


# --------------------------------------------------------------- search, count, history


async def test_exclude_metadata(client):
    mark = str(uuid.uuid4())
    keep = await client.threads.create(metadata={"mark": mark, "kind": "keep"})
    await client.threads.create(metadata={"mark": mark, "kind": "drop"})
    await client.threads.create(metadata={"mark": mark, "kind": "drop", "extra": 1})
    http = client.http
    found = await http.post("/threads/search", json={"metadata": {"mark": mark}, "exclude_metadata": {"kind": "drop"}})
    assert [t["thread_id"] for t in found] == [keep["thread_id"]]
    count = await http.post("/threads/count", json={"metadata": {"mark": mark}, "exclude_metadata": {"kind": "drop"}})
    assert count == 1
    # every pair must match to exclude
    count = await http.post("/threads/count", json={"metadata": {"mark": mark}, "exclude_metadata": {"kind": "drop", "extra": 1}})
    assert count == 2
    with pytest.raises(UnprocessableEntityError):
        await http.post("/threads/search", json={"exclude_metadata": "kind"})


async def test_history_select_get_and_post(client, http):
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, "surface_steps", input={"a": 1})
    posted = await client.threads.get_history(tid, limit=2, select=["values.a"])
    assert posted == [{"values": {"a": 2}}, {"values": {"a": 2}}]
    got = http.get(f"/threads/{tid}/history", params={"limit": 2, "select": ["values.b", "next"]})
    assert got.status_code == 200
    assert got.json() == [{"values": {"b": "a is 2"}, "next": []}, {"values": {}, "next": ["two"]}]
    got = http.get(f"/threads/{tid}/history", params={"limit": 1, "select": "values.log,next"})
    assert got.json() == [{"values": {"log": ["one", "two"]}, "next": []}]
    assert http.get(f"/threads/{tid}/history", params={"select": "bogus"}).status_code == 422
    # GET answers one state unless asked for more, as langgraph-api 0.16.7 does
    assert len(http.get(f"/threads/{tid}/history").json()) == 1


# ------------------------------------------------------------------------ thread stream


async def _thread_events(client, tid: str, **kwargs) -> list[tuple[str, dict]]:
    events = []

    async def read():
        async for part in await client.threads.join_stream(tid, last_event_id="-1", **kwargs):
            events.append((part.event, part.data))
            if part.event == "metadata" and part.data.get("status") == "run_done":
                return

    await asyncio.wait_for(read(), 30)
    return events


async def test_thread_stream_takes_stream_mode(client, http):
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(tid, "surface_steps", input={"a": 1}, stream_mode=["values", "updates"])
    await client.runs.join(tid, run["run_id"])
    # the SDK sends stream_mode; lifecycle keeps only the run's bracketing metadata events
    lifecycle = await _thread_events(client, tid, stream_mode="lifecycle")
    assert [e for e, _ in lifecycle] == ["metadata", "metadata"]
    assert lifecycle[0][1]["run_id"] == run["run_id"] and lifecycle[1][1]["status"] == "run_done"
    everything = await _thread_events(client, tid)  # run_modes
    assert {e for e, _ in everything} == {"metadata", "values", "updates"}
    r = http.get(f"/threads/{tid}/stream", params={"stream_mode": "bogus"})
    assert r.status_code == 422


# ---------------------------------------------------------------------------- runs


def _anyof(shown: str, schema: str | None) -> dict:
    where = f'["components"]["schemas"]["{schema}"]' if schema else ""
    return {"detail": f"{shown} is not valid under any of the schemas listed in the 'anyOf' keyword\n\n"
                      f'Failed validating "anyOf" in schema{where}["properties"]["stream_mode"]\n\n'
                      f'On instance["stream_mode"]:\n    {shown}'}


async def test_lifecycle_stream_mode_on_v1_runs(client, http):
    """The SDK's ``lifecycle`` run stream mode: every v1 run endpoint refuses it with
    langgraph-api 0.16.7's 422, whose wording names the schema on the stream and wait
    endpoints only (observed with ``tools``, which 0.16.7 refuses alike; Evergraph
    serves ``tools``, tests/test_tools_mode.py)."""
    tid = (await client.threads.create())["thread_id"]
    body = {"assistant_id": "surface_tools", "input": {"messages": [{"role": "user", "content": "paris"}]}}
    where = {
        f"/threads/{tid}/runs": None, f"/threads/{tid}/runs/stream": "RunCreateStateful",
        f"/threads/{tid}/runs/wait": "RunCreateStateful", "/runs": None,
        "/runs/stream": "RunCreateStateless", "/runs/wait": "RunCreateStateless",
        f"/threads/{tid}/runs/crons": None, "/runs/crons": None,
    }
    for path, schema in where.items():
        extra = {"schedule": "0 0 1 1 *"} if path.endswith("/crons") else {}
        for mode, shown in (
            (["lifecycle"], '["lifecycle"]'), ("lifecycle", '"lifecycle"'),
            (["updates", "lifecycle"], '["updates","lifecycle"]'),
        ):
            r = http.post(path, json={**body, **extra, "stream_mode": mode})
            assert (r.status_code, r.json()) == (422, _anyof(shown, schema)), (path, mode)
    assert await client.runs.list(tid) == []


async def test_run_kwargs_as_official(client, http):
    tid = (await client.threads.create())["thread_id"]
    before_ms = int(time.time() * 1000)
    body = {
        "assistant_id": "surface_steps", "input": {"a": 5}, "metadata": {"m": 1},
        "config": {"tags": ["t1"], "recursion_limit": 7, "configurable": {"k": "v"}},
        "stream_mode": ["values", "updates"], "stream_subgraphs": True, "stream_resumable": True,
        "interrupt_before": ["two"], "interrupt_after": ["one"], "feedback_keys": ["score"],
        "durability": "sync", "checkpoint_during": False, "multitask_strategy": "enqueue",
        "if_not_exists": "reject", "on_disconnect": "continue", "after_seconds": 0,
        "langsmith_tracer": {"project_name": "p"},
    }
    created = http.post(f"/threads/{tid}/runs", json=body).json()
    after_ms = int(time.time() * 1000)
    run = await client.runs.get(tid, created["run_id"])
    kwargs = run["kwargs"]
    assert kwargs == created["kwargs"]
    config = kwargs.pop("config")
    assert kwargs == {
        "input": {"a": 5}, "command": None, "context": {"k": "v"}, "stream_mode": ["values", "updates"],
        "interrupt_before": ["two"], "interrupt_after": ["one"], "webhook": None, "feedback_keys": ["score"],
        "temporary": False, "subgraphs": True, "resumable": True, "checkpoint_during": False, "durability": "sync",
    }
    assert config["tags"] == ["t1"] and config["recursion_limit"] == 7
    configurable = config["configurable"]
    assert before_ms <= configurable.pop("__request_start_time_ms__") <= after_ms
    assert isinstance(configurable.pop("langgraph_request_id"), str)
    assert configurable == {
        "k": "v",
        "langgraph_auth_user": None, "langgraph_auth_user_id": "", "langgraph_auth_permissions": [],
        "__langsmith_project__": "p", "__langsmith_example_id__": None, "__after_seconds__": 0,
        "run_id": run["run_id"], "thread_id": tid, "graph_id": "surface_steps",
        "assistant_id": run["assistant_id"], "user_id": "",
    }
    assert run["metadata"] == {**config["metadata"]} and run["metadata"]["m"] == 1

    delayed = http.post(f"/threads/{tid}/runs", json={"assistant_id": "surface_steps", "input": {"a": 1}, "after_seconds": 1.5})
    assert delayed.json()["kwargs"]["config"]["configurable"]["__after_seconds__"] == 1.5
    # a stateless run is temporary only when its thread goes with it
    kept = await client.runs.create(None, "surface_steps", input={"a": 1}, on_completion="keep")
    gone = await client.runs.create(None, "surface_steps", input={"a": 1})
    assert kept["kwargs"]["temporary"] is False and gone["kwargs"]["temporary"] is True
    assert "__langsmith_project__" not in gone["kwargs"]["config"]["configurable"]
    await client.runs.join(tid, delayed.json()["run_id"])


async def test_runs_select_cancel_reason(client, http):
    """A cancelled run carries ``cancel_reason`` (tests/test_cancel_reason.py has every
    path); the SDK lists it among the fields ``select`` may name."""
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(tid, "surface_wait", input={"sleep": 60})
    await _until(client, tid, run["run_id"], "running")
    await client.runs.cancel(tid, run["run_id"], wait=True)
    cancelled = await client.runs.get(tid, run["run_id"])
    assert cancelled["status"] == "interrupted" and cancelled["cancel_reason"].startswith("interrupt requested")
    r = http.get(f"/threads/{tid}/runs", params={"select": ["run_id", "bogus"]})
    assert r.status_code == 422 and r.json()["detail"].startswith("Invalid select columns: ['bogus']")
    r = http.get(f"/threads/{tid}/runs", params={"select": ["run_id", "status"]})
    assert r.json() == [{"run_id": run["run_id"], "status": "interrupted"}]
