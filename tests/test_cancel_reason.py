"""A run's ``cancel_reason`` (langgraph-sdk 0.4.13+ ``Run.cancel_reason``): why it was
cancelled, in langgraph-api 0.16.7's reason texts, on every path that cancels a run
and on every answer that carries a run object; left out of runs that were not
cancelled. The record stores keep it in a column added to databases made before it."""

from __future__ import annotations

import os
import sqlite3

import httpx
import pytest
from evergraph.adapter.records.common import new_thread
from evergraph.adapter.records.protocol import RecordStore
from evergraph.adapter.records.sqlite import SqliteRecords

from tests.conftest import wait_for
from tests.test_record_store_conformance import opener, run_record, store, uid  # noqa: F401 (fixtures)

SINGLE = "interrupt requested via POST /threads/{thread_id}/runs/{run_id}/cancel"


async def _status(client, tid: str, rid: str) -> str:
    return (await client.runs.get(tid, rid))["status"]


async def _until(client, tid: str, rid: str, status: str) -> None:
    async def check():
        return await _status(client, tid, rid) == status

    await wait_for(check)


async def _running_run(client) -> tuple[str, str]:
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(tid, "surface_wait", input={"sleep": 60})
    await _until(client, tid, run["run_id"], "running")
    return tid, run["run_id"]


async def test_rest_cancel_records_the_endpoints_reason(client, http):
    tid, rid = await _running_run(client)
    await client.runs.cancel(tid, rid, wait=True)
    run = await client.runs.get(tid, rid)
    assert run["status"] == "interrupted" and run["cancel_reason"] == SINGLE
    # the same run object in a list, and as a selected column
    assert [r["cancel_reason"] for r in await client.runs.list(tid)] == [SINGLE]
    r = http.get(f"/threads/{tid}/runs", params={"select": ["run_id", "cancel_reason"]})
    assert r.status_code == 200 and r.json() == [{"cancel_reason": SINGLE, "run_id": rid}]
    # the thread's error carries the same reason, as langgraph-api's UserInterrupt text
    assert (await client.threads.get(tid))["error"] == {"error": "UserInterrupt", "message": SINGLE}
    # a run that was not cancelled has no cancel_reason; selected, it is null
    done = await client.runs.wait(tid, "surface_wait", input={"sleep": 0})
    assert done is not None
    latest = (await client.runs.list(tid))[0]
    assert latest["status"] == "success" and "cancel_reason" not in latest
    r = http.get(f"/threads/{tid}/runs", params={"select": ["cancel_reason"]})
    assert r.json() == [{"cancel_reason": None}, {"cancel_reason": SINGLE}]


async def test_cancel_taken_prefixes_the_reason(client, http):
    tid, rid = await _running_run(client)
    for bad, detail in (
        ({"reason": "bored"}, "Invalid reason: 'bored'. Expected: 'taken'"),
        ({"reason": "taken", "action": "rollback"}, "reason=taken is only valid with action=interrupt"),
    ):
        r = http.post(f"/threads/{tid}/runs/{rid}/cancel", params=bad)
        assert (r.status_code, r.json()) == (422, {"detail": detail})
    assert await _status(client, tid, rid) == "running"  # nothing half-done
    r = http.post(f"/threads/{tid}/runs/{rid}/cancel", params={"reason": "taken", "wait": "1"})
    assert r.status_code == 200
    assert (await client.runs.get(tid, rid))["cancel_reason"] == "taken:" + SINGLE


async def test_cancel_many_of_a_queued_run(client):
    tid, first = await _running_run(client)
    queued = await client.runs.create(tid, "surface_wait", input={"sleep": 0}, multitask_strategy="enqueue")
    await client.runs.cancel_many(thread_id=tid, run_ids=[queued["run_id"]])
    await _until(client, tid, queued["run_id"], "interrupted")
    run = await client.runs.get(tid, queued["run_id"])
    assert run["cancel_reason"] == "interrupt requested via POST /runs/cancel"
    assert "cancel_reason" not in await client.runs.get(tid, first)
    await client.runs.cancel(tid, first, wait=True)


async def test_double_text_interrupt_names_the_run_that_superseded_it(client):
    tid, first = await _running_run(client)
    second = await client.runs.create(tid, "surface_wait", input={"sleep": 0}, multitask_strategy="interrupt")
    await client.runs.join(tid, second["run_id"])
    old = await client.runs.get(tid, first)
    assert old["status"] == "interrupted"
    assert old["cancel_reason"] == f"superseded by run {second['run_id']} (multitask_strategy=interrupt)"
    assert "cancel_reason" not in await client.runs.get(tid, second["run_id"])


async def test_client_disconnect_with_on_disconnect_cancel(client, server):
    tid = (await client.threads.create())["thread_id"]
    body = {"assistant_id": "surface_wait", "input": {"sleep": 60}, "on_disconnect": "cancel", "stream_mode": "values"}
    async with httpx.AsyncClient(base_url=server, timeout=60) as http:
        async with http.stream("POST", f"/threads/{tid}/runs/stream", json=body) as response:
            async for line in response.aiter_lines():
                if line.startswith("event: metadata"):
                    break  # leave while the run sleeps
    rid = (await client.runs.list(tid))[0]["run_id"]
    await _until(client, tid, rid, "interrupted")
    assert (await client.runs.get(tid, rid))["cancel_reason"] == (
        "client disconnected from the run stream (on_disconnect=cancel)"
    )


# ------------------------------------------------------------------ the record stores


async def test_store_keeps_the_reason_and_leaves_it_out_when_null(store: RecordStore):  # noqa: F811
    t = new_thread(uid(), {})
    await store.put_thread(t)
    r = run_record(t["thread_id"])
    await store.put_run(r)
    assert "cancel_reason" not in await store.get_run(r["run_id"])
    done = await store.set_run_status(r["run_id"], "interrupted", "why")
    assert done["cancel_reason"] == "why" and (await store.get_run(r["run_id"]))["cancel_reason"] == "why"
    assert [x.get("cancel_reason") for x in await store.list_runs(t["thread_id"])] == ["why"]


async def test_sqlite_file_made_before_the_column_gets_it(tmp_path):
    path = tmp_path / "records.sqlite"
    old = SqliteRecords(path)
    await old.open()
    await old.close()
    with sqlite3.connect(path) as conn:  # the runs table as released before cancel_reason
        conn.execute("ALTER TABLE runs DROP COLUMN cancel_reason")
        assert "cancel_reason" not in {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    records = await SqliteRecords(path).open()
    try:
        t = new_thread(uid(), {})
        await records.put_thread(t)
        r = run_record(t["thread_id"])
        await records.put_run(r)
        assert (await records.set_run_status(r["run_id"], "interrupted", "why"))["cancel_reason"] == "why"
    finally:
        await records.close()


@pytest.mark.skipif(
    not os.environ.get("EVERGRAPH_TEST_POSTGRES_URI"), reason="EVERGRAPH_TEST_POSTGRES_URI is not set"
)
async def test_postgres_database_made_before_the_column_gets_it(opener):  # noqa: F811
    if opener.kind != "postgres":
        pytest.skip("Postgres only")
    import psycopg

    await opener.open()
    async with await psycopg.AsyncConnection.connect(opener.uri, autocommit=True) as conn:
        await conn.execute("ALTER TABLE evergraph_runs DROP COLUMN cancel_reason")
    again = await opener.open()  # another process starting on the old database
    t = new_thread(uid(), {})
    await again.put_thread(t)
    r = run_record(t["thread_id"])
    await again.put_run(r)
    assert (await again.set_run_status(r["run_id"], "interrupted", "why"))["cancel_reason"] == "why"
