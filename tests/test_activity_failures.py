"""Failures of Evergraph's own activities (``advance``, ``finish_run``…) are never
retried for ever (activities/errors.py): what retrying cannot fix ends the run
``error`` with the failure's type and message within seconds — in ``join``/``wait``,
the stream's ``error`` event, the run and thread records and Temporal — and a
transient storage failure is retried until it passes.

Each case is driven through the official SDK against the session's ``evergraph dev``;
where the failure needs a hand on the real storage (a record deleted behind the API's
back, a lock held by another connection), the test opens the session server's SQLite
records database itself. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus

from tests.conftest import wait_for

#: seconds within which a failure that retrying cannot fix must end the run
PROMPT = 10.0

FACTORY_MESSAGE = "cannot build the graph: the factory's settings are missing"


def _records_db(data_root: Path) -> Path:
    """The session server's records database (``evergraph dev`` in ``data_root/dev``)."""
    return data_root / "dev" / "evergraph.sqlite"


async def _run_workflow(temporal_client, run_id: str):
    """The run's workflow handle, its result (waited for, the workflow started first
    if it has not yet) and its search attributes."""
    from temporalio.service import RPCError, RPCStatusCode

    handle = temporal_client.get_workflow_handle(f"run-{run_id}")

    async def started():
        try:
            return await handle.describe()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            return None

    await wait_for(started, timeout=PROMPT, interval=0.1)
    result = await asyncio.wait_for(handle.result(), PROMPT)
    desc = await handle.describe()
    attrs = {p.key.name: p.value for p in desc.typed_search_attributes}
    return handle, result, desc, attrs


async def _markers(handle) -> list[tuple[dict, object]]:
    """``(marker data, failure or None)`` of each local activity in the run's history."""
    out = []
    async for event in handle.fetch_history_events():
        if event.HasField("marker_recorded_event_attributes"):
            m = event.marker_recorded_event_attributes
            data = json.loads(m.details["data"].payloads[0].data)
            out.append((data, m.failure if m.HasField("failure") else None))
    return out


async def test_graph_factory_that_raises_ends_the_run_with_its_error(client, temporal_client):
    """The factory raises in the driver (which fails the run with it) and again in
    ``finish_run``, which must still record the run: it counts the state unreadable."""
    tid = (await client.threads.create())["thread_id"]
    started = time.monotonic()
    parts = [p async for p in client.runs.stream(tid, "broken_factory", input={}, stream_mode=["values"])]
    assert time.monotonic() - started < PROMPT
    assert [p.event for p in parts] == ["metadata", "error"]
    assert parts[1].data == {"error": "FactoryError", "message": FACTORY_MESSAGE}
    [run] = await client.runs.list(tid)
    assert run["status"] == "error"
    joined = await asyncio.wait_for(client.runs.join(tid, run["run_id"]), PROMPT)
    assert joined == {"__error__": {"error": "FactoryError", "message": FACTORY_MESSAGE}}
    thread = await client.threads.get(tid)
    assert thread["status"] == "error"
    assert thread["error"] == {"error": "FactoryError", "message": FACTORY_MESSAGE}

    handle, result, desc, attrs = await _run_workflow(temporal_client, run["run_id"])
    assert desc.status == WorkflowExecutionStatus.COMPLETED
    assert (result["status"], result["error"], result["message"]) == ("error", "FactoryError", FACTORY_MESSAGE)
    assert attrs["EvergraphStatus"] == "error"
    # finish_run succeeded at its first attempt: nothing was retried
    assert [(d["activity_type"], d["attempt"], f is None) for d, f in await _markers(handle)] == [
        ("advance", 1, True),
        ("finish_run", 1, True),
    ]

    # a background run and runs.wait end the same way, within seconds
    started = time.monotonic()
    waited = await client.runs.wait(tid, "broken_factory", input={}, raise_error=False)
    assert time.monotonic() - started < PROMPT
    assert waited == {"__error__": {"error": "FactoryError", "message": FACTORY_MESSAGE}}


async def test_state_that_cannot_be_serialised_ends_the_run_with_the_serialiser_error(client, temporal_client):
    """A node returns a dict keyed by a tuple: LangGraph's checkpointer stores it, JSON
    cannot. Streaming only ``custom``, the driver never encodes the state, so it first
    reaches ``finish_run``, which must end the run ``error`` instead of failing."""
    tid = (await client.threads.create())["thread_id"]
    started = time.monotonic()
    parts = [p async for p in client.runs.stream(tid, "unserialisable", input={}, stream_mode="custom")]
    assert time.monotonic() - started < PROMPT
    assert [p.event for p in parts] == ["metadata", "error"]
    assert parts[1].data["error"] == "TypeError"
    assert parts[1].data["message"] == (
        "the run's state cannot be serialised as JSON: Dict key must a type serializable with OPT_NON_STR_KEYS"
    )
    [run] = await client.runs.list(tid)
    assert run["status"] == "error"
    assert await client.runs.join(tid, run["run_id"]) == {"__error__": parts[1].data}
    thread = await client.threads.get(tid)
    assert thread["status"] == "error" and thread["error"] == parts[1].data

    handle, result, desc, attrs = await _run_workflow(temporal_client, run["run_id"])
    assert (result["status"], result["error"]) == ("error", "TypeError")
    # the driver reported success; the search attribute follows what finish_run recorded
    assert attrs["EvergraphStatus"] == "error"

    # streaming the state (runs.wait streams values), the driver meets it first
    started = time.monotonic()
    waited = await client.runs.wait(tid, "unserialisable", input={}, raise_error=False)
    assert time.monotonic() - started < PROMPT
    assert waited == {
        "__error__": {"error": "TypeError", "message": "Dict key must a type serializable with OPT_NON_STR_KEYS"}
    }


async def test_run_record_missing_when_the_run_starts_ends_it_with_lookup_error(client, temporal_client, data_root):
    """The run's record is deleted behind the API's back (the API itself cancels a run
    before deleting it) while the run waits for its ``after_seconds``: ``advance``
    cannot start the driver (``LookupError``), a non-retryable failure, and the
    workflow still records the outcome on the thread and ends."""
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(tid, "chain", input={"log": []}, after_seconds=1)
    with sqlite3.connect(_records_db(data_root), timeout=30) as db:
        assert db.execute("DELETE FROM runs WHERE run_id=?", (run["run_id"],)).rowcount == 1
    message = f"run {run['run_id']} not found"

    handle, result, desc, attrs = await _run_workflow(temporal_client, run["run_id"])
    assert desc.status == WorkflowExecutionStatus.COMPLETED
    assert (result["status"], result["error"], result["message"]) == ("error", "LookupError", message)
    assert attrs["EvergraphStatus"] == "error"
    # in the history: advance failed once, non-retryable, then finish_run recorded it
    markers = await _markers(handle)
    assert [(d["activity_type"], d["attempt"]) for d, _ in markers] == [("advance", 1), ("finish_run", 1)]
    failure = markers[0][1]
    assert failure is not None and failure.message == message
    assert failure.application_failure_info.type == "LookupError"
    assert failure.application_failure_info.non_retryable

    thread = await client.threads.get(tid)
    assert thread["status"] == "error"
    assert thread["error"] == {"error": "LookupError", "message": message}
    with pytest.raises(httpx.HTTPStatusError) as err:  # the record is gone: 404, as GET of the run answers
        await client.runs.join(tid, run["run_id"])
    assert err.value.response.status_code == 404
    # the thread's workflow is not stuck: the next run on the thread runs
    assert await asyncio.wait_for(client.runs.wait(tid, "chain", input={"log": []}), PROMPT) == {
        "log": ["step1", "step2", "step3"],
        "n": 3,
    }

    # the failure path replays deterministically in Temporal's workflow sandbox
    from temporalio.worker import Replayer

    from evergraph.adapter.process.temporal import DATA_CONVERTER, sandboxed_runner
    from evergraph.workflows.run import RunWorkflow
    from evergraph.workflows.thread import ThreadWorkflow

    replayer = Replayer(
        workflows=[ThreadWorkflow, RunWorkflow], workflow_runner=sandboxed_runner(), data_converter=DATA_CONVERTER
    )
    replayed = await replayer.replay_workflow(await handle.fetch_history(), raise_on_replay_failure=False)
    assert replayed.replay_failure is None, replayed.replay_failure


async def test_locked_records_database_is_retried_until_the_lock_goes(client, temporal_client, data_root):
    """Another connection holds the write lock of the real records database while the
    run ends: ``finish_run`` waits out SQLite's busy timeout (30 s), fails with
    ``database is locked`` (transient, so retryable), and its retry records the run
    once the lock is released."""
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(tid, "slow", input={"log": [], "sleep": 1.0})
    rid = run["run_id"]

    async def running():
        return (await client.runs.get(tid, rid))["status"] == "running"

    await wait_for(running, timeout=PROMPT)
    log = data_root / "dev.log"
    db = sqlite3.connect(_records_db(data_root), timeout=30, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")  # the write lock, until ROLLBACK

        def finish_run_failed() -> bool:
            text = log.read_text(errors="replace")
            return any(
                "'activity_type': 'finish_run', 'attempt': 1" in line and f"run-{rid}" in line
                for line in text.splitlines()
                if "Completing activity as failed" in line
            ) and "sqlite3.OperationalError: database is locked" in text

        await wait_for(finish_run_failed, timeout=60, interval=0.2)
    finally:
        db.execute("ROLLBACK")
        db.close()
    released = time.monotonic()
    joined = await asyncio.wait_for(client.runs.join(tid, rid), PROMPT)
    assert time.monotonic() - released < 5
    assert joined == {"log": ["step1"], "n": 1, "sleep": 1.0}
    assert (await client.runs.get(tid, rid))["status"] == "success"
    assert (await client.threads.get(tid))["status"] == "idle"

    handle, result, _, attrs = await _run_workflow(temporal_client, rid)
    assert result["status"] == "success" and attrs["EvergraphStatus"] == "success"
    finishes = [d for d, f in await _markers(handle) if d["activity_type"] == "finish_run"]
    assert len(finishes) == 1 and finishes[0]["attempt"] >= 2


@pytest.mark.parametrize(
    "err, transient",
    [
        (sqlite3.OperationalError("database is locked"), True),
        (sqlite3.OperationalError("no such table: runs"), False),
        (ConnectionRefusedError(111, "Connection refused"), True),
        (TimeoutError(), True),
        (TypeError("Dict key must a type serializable with OPT_NON_STR_KEYS"), False),
        (LookupError("run x not found"), False),
        (KeyError("kwargs"), False),
    ],
)
def test_errors_are_classified(err, transient):
    from evergraph.activities.errors import as_application_error, is_transient

    assert is_transient(err) is transient
    app = as_application_error(err)
    assert app.type == type(err).__name__ and app.non_retryable is not transient


def test_storage_and_broker_errors_are_transient():
    import psycopg
    import psycopg_pool
    import redis.exceptions
    from temporalio.service import RPCError, RPCStatusCode

    from evergraph.activities.errors import is_transient
    from evergraph.workflows.retry import BOOKKEEPING_RETRY

    assert is_transient(psycopg.OperationalError("server closed the connection unexpectedly"))
    assert is_transient(psycopg_pool.PoolTimeout("couldn't get a connection after 30.00 sec"))
    assert is_transient(psycopg.errors.SerializationFailure())
    assert not is_transient(psycopg.errors.UniqueViolation())
    assert is_transient(redis.exceptions.ConnectionError("Error 111 connecting"))
    assert is_transient(redis.exceptions.TimeoutError("Timeout reading from socket"))
    assert not is_transient(redis.exceptions.ResponseError("WRONGTYPE"))
    assert is_transient(RPCError("unavailable", RPCStatusCode.UNAVAILABLE, b""))
    assert not is_transient(RPCError("not found", RPCStatusCode.NOT_FOUND, b""))
    # bounded, as documented: 10 attempts, 1 s doubling to at most 10 s apart
    assert BOOKKEEPING_RETRY.maximum_attempts == 10
    assert BOOKKEEPING_RETRY.initial_interval.total_seconds() == 1
    assert BOOKKEEPING_RETRY.maximum_interval.total_seconds() == 10
