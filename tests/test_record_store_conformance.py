"""One conformance suite for every record store (:class:`adapter.records.protocol.RecordStore`):
SQLite and Postgres run the same tests, method by method.

Postgres is real (``EVERGRAPH_TEST_POSTGRES_URI``, set by ``.ci/run``); each test gets
a schema of its own there, so lists hold only what the test wrote. Without the URI the
Postgres tests are skipped. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import datetime
from typing import Any

import pytest

from evergraph.adapter.records.common import matches, new_thread, public_assistant, public_run, public_thread
from evergraph.adapter.records.protocol import RecordStore
from evergraph.adapter.records.sqlite import SqliteRecords
from evergraph.adapter.records.types import Assistant, RunRecord

PG_URI = os.environ.get("EVERGRAPH_TEST_POSTGRES_URI")
NEEDS_POSTGRES = pytest.mark.skipif(
    not PG_URI, reason="EVERGRAPH_TEST_POSTGRES_URI is not set (.ci/run starts a PostgreSQL server and sets it)"
)
KINDS = ["sqlite", pytest.param("postgres", marks=NEEDS_POSTGRES)]


async def _new_schema() -> tuple[str, str]:
    """A fresh schema in ``EVERGRAPH_TEST_POSTGRES_URI``'s database, and a URI whose
    tables go there."""
    import psycopg  # deferred: only the Postgres tests need it

    schema = f"conformance_{uuid.uuid4().hex[:16]}"
    async with await psycopg.AsyncConnection.connect(PG_URI, autocommit=True) as conn:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    return schema, f"{PG_URI}{'&' if '?' in PG_URI else '?'}options=-csearch_path%3D{schema}"


async def _drop_schema(schema: str) -> None:
    import psycopg  # deferred: only the Postgres tests need it

    async with await psycopg.AsyncConnection.connect(PG_URI, autocommit=True) as conn:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
async def pg_schema_uri():
    """A URI of ``EVERGRAPH_TEST_POSTGRES_URI`` whose tables go to a fresh schema."""
    schema, uri = await _new_schema()
    yield uri
    await _drop_schema(schema)


class Opener:
    """Opens stores of one backend on one database (several, as several processes
    would), and closes them at the end of the test."""

    def __init__(self, kind: str, tmp_path) -> None:
        self.kind = kind
        self.path = tmp_path / "records.sqlite"
        self.schema: str | None = None
        self.uri: str | None = None
        self.opened: list[RecordStore] = []

    async def open(self) -> RecordStore:
        if self.kind == "sqlite":
            store: RecordStore = await SqliteRecords(self.path).open()
        else:
            from evergraph.adapter.records.postgres import PostgresRecords  # deferred: psycopg

            if self.uri is None:
                self.schema, self.uri = await _new_schema()
            store = await PostgresRecords(self.uri).open()
        self.opened.append(store)
        return store

    async def close(self) -> None:
        for store in self.opened:
            await store.close()
        if self.schema is not None:
            await _drop_schema(self.schema)


@pytest.fixture(params=KINDS)
async def opener(request, tmp_path):
    opener = Opener(request.param, tmp_path)
    yield opener
    await opener.close()


@pytest.fixture
async def store(opener: Opener) -> RecordStore:
    return await opener.open()


def uid() -> str:
    return str(uuid.uuid4())


def stamp(day: int, second: int = 0) -> str:
    return f"2024-01-{day:02d}T00:00:{second:02d}+00:00"


def assistant(assistant_id: str | None = None, **fields: Any) -> Assistant:
    return {
        "assistant_id": assistant_id or uid(), "graph_id": "chain", "config": {"configurable": {"x": 1}},
        "context": {"c": 1}, "metadata": {"k": "v", "z": [1, 2]}, "name": "n", "description": None, "version": 1,
        "created_at": stamp(1), "updated_at": stamp(1), **fields,
    }


def run_record(thread_id: str, run_id: str | None = None, **fields: Any) -> RunRecord:
    return {
        "run_id": run_id or uid(), "thread_id": thread_id, "assistant_id": uid(), "created_at": stamp(3),
        "updated_at": stamp(3), "status": "pending", "metadata": {"m": 1}, "multitask_strategy": "reject",
        "kwargs": {"input": {"b": 1, "a": 2}, "config": {}}, "temporary": False, "on_completion": None, **fields,
    }


def is_recent(ts: str, since: datetime) -> bool:
    return datetime.fromisoformat(ts) >= since


# ----------------------------------------------------------------------- the protocol


async def test_the_store_satisfies_the_protocol(store: RecordStore):
    assert isinstance(store, RecordStore)


# ------------------------------------------------------------------------ assistants


async def test_put_and_get_assistant(store: RecordStore):
    a = assistant(metadata={"owner": "me", "nested": {"a": "\u00e9\u0000"}}, config={"b": 1, "a": {"y": 2, "x": 1}})
    assert await store.get_assistant(a["assistant_id"]) is None
    stored, created = await store.put_assistant(a)
    assert created and stored == a
    got = await store.get_assistant(a["assistant_id"])
    assert got == a
    assert list(got["config"]) == ["b", "a"] and list(got["config"]["a"]) == ["y", "x"]  # key order survives
    # an id taken: raise, or answer the stored assistant unchanged
    with pytest.raises(KeyError):
        await store.put_assistant({**a, "name": "other"})
    again, created = await store.put_assistant({**a, "name": "other"}, if_exists="do_nothing")
    assert not created and again == a
    (version,) = await store.assistant_versions(a["assistant_id"])
    assert version == {k: v for k, v in a.items() if k != "updated_at"}


async def test_update_assistant_makes_a_new_version(store: RecordStore):
    before = datetime.now().astimezone()
    a = assistant()
    await store.put_assistant(a)
    updated = await store.update_assistant(
        a["assistant_id"], {"metadata": {"m": 2}, "name": "n2", "description": None, "config": None}
    )
    assert updated is not None
    assert updated["version"] == 2 and updated["name"] == "n2"
    assert updated["metadata"] == {"k": "v", "z": [1, 2], "m": 2}  # merged
    assert updated["config"] == a["config"] and updated["description"] is None  # None leaves a field as it is
    assert updated["created_at"] == a["created_at"] and is_recent(updated["updated_at"], before)
    assert await store.get_assistant(a["assistant_id"]) == updated
    third = await store.update_assistant(
        a["assistant_id"], {"graph_id": "other", "context": {"d": 2}, "description": "described"}
    )
    assert (third["version"], third["graph_id"], third["context"], third["description"]) == (
        3, "other", {"d": 2}, "described"
    )
    versions = await store.assistant_versions(a["assistant_id"])
    assert [v["version"] for v in versions] == [3, 2, 1]  # newest first
    assert versions[0]["created_at"] == third["updated_at"]
    assert versions[1]["name"] == "n2" and versions[2]["name"] == "n"
    assert await store.update_assistant(uid(), {"name": "x"}) is None


async def test_set_latest_assistant_version(store: RecordStore):
    a = assistant()
    await store.put_assistant(a)
    await store.update_assistant(a["assistant_id"], {"name": "n2", "metadata": {"m": 2}})
    back = await store.set_latest_assistant_version(a["assistant_id"], 1)
    assert back is not None
    assert (back["version"], back["name"], back["metadata"]) == (1, "n", a["metadata"])
    assert back["created_at"] == a["created_at"] and back["updated_at"] > a["updated_at"]
    assert await store.get_assistant(a["assistant_id"]) == back
    assert len(await store.assistant_versions(a["assistant_id"])) == 2  # no version added
    # a new version goes past the highest, not past the current one
    assert (await store.update_assistant(a["assistant_id"], {"name": "n3"}))["version"] == 3
    assert await store.set_latest_assistant_version(a["assistant_id"], 9) is None
    assert await store.set_latest_assistant_version(uid(), 1) is None
    assert (await store.get_assistant(a["assistant_id"]))["version"] == 3


async def test_delete_assistant(store: RecordStore):
    a = assistant()
    await store.put_assistant(a)
    await store.update_assistant(a["assistant_id"], {"name": "n2"})
    assert await store.delete_assistant(a["assistant_id"]) is True
    assert await store.delete_assistant(a["assistant_id"]) is False
    assert await store.get_assistant(a["assistant_id"]) is None
    assert await store.assistant_versions(a["assistant_id"]) == []
    assert await store.assistant_versions(uid()) == []
    # the id is free again, from version 1
    assert (await store.put_assistant(a))[1] is True


async def test_list_assistants_newest_first(store: RecordStore):
    assert await store.list_assistants() == []
    older = assistant(created_at=stamp(1))
    tie = sorted([assistant(created_at=stamp(2)), assistant(created_at=stamp(2))], key=lambda a: a["assistant_id"])
    for a in (older, *tie):
        await store.put_assistant(a)
    listed = await store.list_assistants()
    assert [a["assistant_id"] for a in listed] == [a["assistant_id"] for a in (tie[1], tie[0], older)]
    assert listed[-1] == older


# --------------------------------------------------------------------------- threads


async def test_put_and_get_thread(store: RecordStore):
    t = new_thread(uid(), {"owner": "me", "nested": {"a": "\u00e9\u0000"}})
    assert await store.get_thread(t["thread_id"]) is None
    stored, created = await store.put_thread(t)
    assert created and stored == t
    got = await store.get_thread(t["thread_id"])
    # every column, those not set None
    assert got == {**t, "interrupts": None, "error": None, "ttl": None}
    with pytest.raises(KeyError):
        await store.put_thread(t)
    again, created = await store.put_thread({**t, "metadata": {}}, if_exists="do_nothing")
    assert not created and again == got
    # a thread without config is stored with {}; every field round-trips
    full = {
        **new_thread(uid(), {}, status="interrupted", values={"b": [1], "a": None}),
        "interrupts": {"task": [{"value": "q", "id": "i1"}]}, "error": {"error": "E", "message": "m"},
        "ttl": {"strategy": "delete", "ttl": 5},
    }
    del full["config"]
    await store.put_thread(full)
    assert await store.get_thread(full["thread_id"]) == {**full, "config": {}}


async def test_update_thread(store: RecordStore):
    before = datetime.now().astimezone()
    t = new_thread(uid(), {"a": 1, "b": {"c": 1}})
    t["created_at"] = t["updated_at"] = t["state_updated_at"] = stamp(2)
    await store.put_thread(t)
    updated = await store.update_thread(
        t["thread_id"], metadata={"b": {"d": 2}, "e": 3}, values={"x": [1]}, status="interrupted",
        interrupts={"t": [{"value": 1, "id": "i"}]}, error={"error": "E", "message": "m"},
        ttl={"strategy": "delete", "ttl": 1}, config={"configurable": {"k": 1}},
    )
    assert updated is not None
    assert updated["metadata"] == {"a": 1, "b": {"d": 2}, "e": 3}  # merged at the top level
    assert (updated["values"], updated["status"], updated["config"]) == (
        {"x": [1]}, "interrupted", {"configurable": {"k": 1}}
    )
    assert updated["interrupts"] == {"t": [{"value": 1, "id": "i"}]}
    assert updated["error"] == {"error": "E", "message": "m"} and updated["ttl"] == {"strategy": "delete", "ttl": 1}
    assert is_recent(updated["updated_at"], before)
    assert (updated["created_at"], updated["state_updated_at"]) == (stamp(2), stamp(2))
    assert await store.get_thread(t["thread_id"]) == updated
    # None clears; updated_at and state_updated_at as given
    cleared = await store.update_thread(
        t["thread_id"], values=None, interrupts=None, error=None, ttl=None, metadata=None,
        state_updated_at=stamp(5), updated_at=stamp(6),
    )
    assert (cleared["values"], cleared["interrupts"], cleared["error"], cleared["ttl"]) == (None, None, None, None)
    assert cleared["metadata"] == updated["metadata"]  # None merges nothing
    assert (cleared["state_updated_at"], cleared["updated_at"]) == (stamp(5), stamp(6))
    assert await store.update_thread(uid(), status="busy") is None
    with pytest.raises(TypeError):
        await store.update_thread(t["thread_id"], status="busy", not_a_column=1)
    assert (await store.get_thread(t["thread_id"]))["status"] == "interrupted"  # nothing written


async def test_delete_thread_deletes_its_runs(store: RecordStore):
    t, other = new_thread(uid(), {}), new_thread(uid(), {})
    await store.put_thread(t)
    await store.put_thread(other)
    mine, theirs = run_record(t["thread_id"]), run_record(other["thread_id"])
    await store.put_run(mine)
    await store.put_run(theirs)
    assert await store.delete_thread(t["thread_id"]) is True
    assert await store.delete_thread(t["thread_id"]) is False
    assert await store.get_thread(t["thread_id"]) is None
    assert await store.get_run(mine["run_id"]) is None
    assert await store.list_runs(t["thread_id"]) == []
    assert await store.get_run(theirs["run_id"]) is not None


async def test_list_threads_filters(store: RecordStore):
    assert await store.list_threads() == []
    threads = []
    for day, status in ((1, "idle"), (2, "busy"), (3, "idle"), (3, "interrupted")):
        t = new_thread(uid(), {"n": len(threads)}, status=status)
        t["created_at"] = stamp(day)
        threads.append(t)
        await store.put_thread(t)
    tie = sorted(threads[2:], key=lambda t: t["thread_id"], reverse=True)
    newest_first = [t["thread_id"] for t in (*tie, threads[1], threads[0])]
    assert [t["thread_id"] for t in await store.list_threads()] == newest_first
    assert [t["thread_id"] for t in await store.list_threads(ids=[])] == newest_first  # empty: no filter
    some = [threads[0]["thread_id"], threads[2]["thread_id"], uid()]
    assert [t["thread_id"] for t in await store.list_threads(ids=some)] == [
        threads[2]["thread_id"], threads[0]["thread_id"]
    ]
    assert [t["thread_id"] for t in await store.list_threads(status="idle")] == [
        threads[2]["thread_id"], threads[0]["thread_id"]
    ]
    assert [t["thread_id"] for t in await store.list_threads(ids=some, status="busy")] == []
    assert [t["thread_id"] for t in await store.list_threads(ids=some, status="idle")] == [
        threads[2]["thread_id"], threads[0]["thread_id"]
    ]
    assert (await store.list_threads(status="interrupted"))[0] == {
        **threads[3], "interrupts": None, "error": None, "ttl": None
    }


async def test_ttl_candidates(store: RecordStore):
    assert await store.ttl_candidates() == []
    own_old = new_thread(uid(), {}, ttl={"strategy": "delete", "ttl": 1})
    own_old["updated_at"] = stamp(2)
    own_new = new_thread(uid(), {}, ttl={"strategy": "keep_latest", "ttl": 5})
    own_new["updated_at"] = stamp(9)
    plain_old = new_thread(uid(), {}, status="busy")
    plain_old["updated_at"] = stamp(1)
    plain_new = new_thread(uid(), {})
    plain_new["updated_at"] = stamp(8)
    for t in (own_new, plain_new, own_old, plain_old):
        await store.put_thread(t)
    # with a ttl of their own, least recently updated first
    got = await store.ttl_candidates()
    assert [t["thread_id"] for t in got] == [own_old["thread_id"], own_new["thread_id"]]
    assert {k: got[0][k] for k in ("status", "updated_at", "ttl")} == {
        "status": "idle", "updated_at": stamp(2), "ttl": {"strategy": "delete", "ttl": 1}
    }
    # and those last updated before a time
    got = await store.ttl_candidates(stamp(5))
    assert [(t["thread_id"], t["status"]) for t in got] == [
        (plain_old["thread_id"], "busy"), (own_old["thread_id"], "idle"), (own_new["thread_id"], "idle")
    ]
    assert got[0]["ttl"] is None


# ------------------------------------------------------------------------------ runs


async def test_put_run_marks_the_thread_busy_once(store: RecordStore):
    t = new_thread(uid(), {})
    t["updated_at"] = stamp(1)
    await store.put_thread(t)
    r = run_record(t["thread_id"], temporary=True, on_completion="delete")
    assert await store.put_run(r) == r
    thread = await store.get_thread(t["thread_id"])
    assert thread["status"] == "busy" and thread["updated_at"] > stamp(1)
    assert await store.get_run(r["run_id"]) == r
    # idempotent: the stored run stays as it is, the thread too
    await store.update_thread(t["thread_id"], status="idle")
    assert await store.put_run({**r, "status": "running", "metadata": {"other": 1}}) is not None
    assert (await store.get_thread(t["thread_id"]))["status"] == "idle"
    assert await store.get_run(r["run_id"]) == r
    # temporary round-trips as a bool
    plain = run_record(t["thread_id"])
    del plain["temporary"], plain["on_completion"]
    await store.put_run(plain)
    assert await store.get_run(plain["run_id"]) == {**plain, "temporary": False, "on_completion": None}


async def test_get_run_of_a_thread(store: RecordStore):
    t = new_thread(uid(), {})
    await store.put_thread(t)
    r = run_record(t["thread_id"])
    await store.put_run(r)
    assert await store.get_run(r["run_id"], t["thread_id"]) == r
    assert await store.get_run(r["run_id"], thread_id=uid()) is None
    assert await store.get_run(uid()) is None


async def test_list_runs_pages_and_filters(store: RecordStore):
    t, other = new_thread(uid(), {}), new_thread(uid(), {})
    await store.put_thread(t)
    await store.put_thread(other)
    runs = []
    for i in range(7):
        r = run_record(t["thread_id"], created_at=stamp(3, i // 2), status="success" if i % 3 == 0 else "error")
        runs.append(r)
        await store.put_run(r)
    await store.put_run(run_record(other["thread_id"]))
    newest_first = [r["run_id"] for r in sorted(runs, key=lambda r: (r["created_at"], r["run_id"]), reverse=True)]
    assert [r["run_id"] for r in await store.list_runs(t["thread_id"], limit=100)] == newest_first
    assert [r["run_id"] for r in await store.list_runs(t["thread_id"])] == newest_first  # default limit 10
    assert [r["run_id"] for r in await store.list_runs(t["thread_id"], limit=3)] == newest_first[:3]
    assert [r["run_id"] for r in await store.list_runs(t["thread_id"], limit=3, offset=3)] == newest_first[3:6]
    assert [r["run_id"] for r in await store.list_runs(t["thread_id"], limit=3, offset=6)] == newest_first[6:]
    assert await store.list_runs(t["thread_id"], offset=7) == []
    successes = [rid for rid in newest_first if next(r for r in runs if r["run_id"] == rid)["status"] == "success"]
    assert [r["run_id"] for r in await store.list_runs(t["thread_id"], status="success")] == successes
    assert [r["run_id"] for r in await store.list_runs(t["thread_id"], status="success", limit=1, offset=1)] == [
        successes[1]
    ]
    assert await store.list_runs(t["thread_id"], status="timeout") == []
    assert await store.list_runs(uid()) == []


async def test_active_runs_oldest_first(store: RecordStore):
    t = new_thread(uid(), {})
    await store.put_thread(t)
    done = run_record(t["thread_id"], created_at=stamp(1), status="success")
    running = run_record(t["thread_id"], created_at=stamp(2), status="running")
    pending = run_record(t["thread_id"], created_at=stamp(3), status="pending")
    for r in (pending, done, running):
        await store.put_run(r)
    assert [r["run_id"] for r in await store.active_runs(t["thread_id"])] == [running["run_id"], pending["run_id"]]
    assert await store.active_runs(uid()) == []


async def test_active_run_stats_count_every_thread_in_one_answer(store: RecordStore):
    empty = {
        "n_pending": 0, "n_running": 0, "oldest_pending": None, "oldest_unblocked_pending": None,
        "median_pending": None, "queued": 0, "queued_per_thread_max": 0, "threads_with_queue": 0,
    }
    assert await store.active_run_stats() == empty
    a, b, c, d = (new_thread(uid(), {}) for _ in range(4))
    for t in (a, b, c, d):
        await store.put_thread(t)
    runs = {
        # a: one ended, one running, two queued behind it (the oldest pending run is blocked)
        "a-done": run_record(a["thread_id"], created_at=stamp(1), status="success"),
        "a-running": run_record(a["thread_id"], created_at=stamp(1, 1), status="running"),
        "a-1": run_record(a["thread_id"], created_at=stamp(2)),
        "a-2": run_record(a["thread_id"], created_at=stamp(4)),
        # b: one pending run, nothing running (the oldest unblocked one)
        "b-1": run_record(b["thread_id"], created_at=stamp(3)),
        # c: two pending, nothing running: one waits behind the other
        "c-1": run_record(c["thread_id"], created_at=stamp(6)),
        "c-2": run_record(c["thread_id"], created_at=stamp(6, 1)),
        # d: running alone
        "d-running": run_record(d["thread_id"], created_at=stamp(5), status="running"),
    }
    for r in runs.values():
        await store.put_run(r)
    assert await store.active_run_stats() == {
        "n_pending": 5, "n_running": 2, "oldest_pending": stamp(2), "oldest_unblocked_pending": stamp(3),
        "median_pending": (stamp(4), stamp(4)), "queued": 3, "queued_per_thread_max": 2, "threads_with_queue": 2,
    }
    # an even number pending: the middle two; b's run ended: c's is the oldest unblocked
    await store.set_run_status(runs["b-1"]["run_id"], "success")
    assert await store.active_run_stats() == {
        "n_pending": 4, "n_running": 2, "oldest_pending": stamp(2), "oldest_unblocked_pending": stamp(6),
        "median_pending": (stamp(4), stamp(6)), "queued": 3, "queued_per_thread_max": 2, "threads_with_queue": 2,
    }
    # a's running run ends: its first pending run is next, one queued behind it
    await store.set_run_status(runs["a-running"]["run_id"], "interrupted")
    assert await store.active_run_stats() == {
        "n_pending": 4, "n_running": 1, "oldest_pending": stamp(2), "oldest_unblocked_pending": stamp(2),
        "median_pending": (stamp(4), stamp(6)), "queued": 2, "queued_per_thread_max": 1, "threads_with_queue": 2,
    }
    for r in runs.values():
        await store.set_run_status(r["run_id"], "success")
    assert await store.active_run_stats() == empty


async def test_set_run_status(store: RecordStore):
    t = new_thread(uid(), {})
    await store.put_thread(t)
    r = run_record(t["thread_id"])
    await store.put_run(r)
    running = await store.set_run_status(r["run_id"], "running")
    assert running == {**r, "status": "running", "updated_at": running["updated_at"]}
    assert running["updated_at"] > r["updated_at"]
    assert [x["run_id"] for x in await store.active_runs(t["thread_id"])] == [r["run_id"]]
    assert (await store.set_run_status(r["run_id"], "success"))["status"] == "success"
    assert await store.active_runs(t["thread_id"]) == []
    done = await store.get_run(r["run_id"])
    assert done == {**r, "status": "success", "updated_at": done["updated_at"]}
    assert await store.set_run_status(uid(), "success") is None


async def test_delete_run(store: RecordStore):
    t = new_thread(uid(), {})
    await store.put_thread(t)
    r = run_record(t["thread_id"])
    await store.put_run(r)
    assert await store.delete_run(r["run_id"]) is True
    assert await store.delete_run(r["run_id"]) is False
    assert await store.get_run(r["run_id"]) is None
    assert await store.get_thread(t["thread_id"]) is not None  # the thread stays


# -------------------------------------------------------------------------- webhooks


async def test_webhook_outbox(store: RecordStore):
    run_id = uid()
    assert await store.get_webhook(run_id) is None
    await store.put_webhook(run_id, "http://a/hook", {"n": 1, "values": {"y": [1, 2], "x": None}})
    staged = await store.get_webhook(run_id)
    assert staged == {"url": "http://a/hook", "body": {"n": 1, "values": {"y": [1, 2], "x": None}}}
    assert list(staged["body"]["values"]) == ["y", "x"]
    await store.put_webhook(run_id, "http://b/hook", {"n": 2})  # replaces
    assert await store.get_webhook(run_id) == {"url": "http://b/hook", "body": {"n": 2}}
    other = uid()
    await store.put_webhook(other, "http://c/hook", {})
    await store.delete_webhook(run_id)
    assert await store.get_webhook(run_id) is None
    await store.delete_webhook(run_id)  # nothing staged: no error
    assert await store.get_webhook(other) == {"url": "http://c/hook", "body": {}}


# ----------------------------------------------------------------------------- blobs


async def test_blobs_store_large_text_once(store: RecordStore):
    tid, rid = uid(), uid()
    big = "é" + "x" * (12 * 1024 * 1024) + '{"k": "\\u0000"}'  # 12 MB, non-ASCII, JSON escapes
    assert await store.get_blob("b1") is None
    await store.put_blob("b1", big, thread_id=tid, run_id=rid)
    await store.put_blob("b1", "other", thread_id=tid, run_id=rid)  # idempotent: the first data stays
    assert await store.get_blob("b1") == big
    assert await store.delete_blob("b1") is True
    assert await store.delete_blob("b1") is False
    assert await store.get_blob("b1") is None


async def test_blobs_go_with_their_run_and_thread(store: RecordStore):
    t = new_thread(uid(), {})
    await store.put_thread(t)
    r1, r2 = run_record(t["thread_id"]), run_record(t["thread_id"])
    await store.put_run(r1)
    await store.put_run(r2)
    for name, run in (("a", r1), ("b", r1), ("c", r2)):
        await store.put_blob(name, name * 3, thread_id=t["thread_id"], run_id=run["run_id"])
    await store.put_blob("orphan", "o", thread_id=t["thread_id"], run_id=uid())  # a run never recorded
    await store.put_blob("elsewhere", "e", thread_id=uid(), run_id=uid())
    assert await store.delete_run_blobs(r1["run_id"]) is True
    assert await store.delete_run_blobs(r1["run_id"]) is False
    assert [await store.get_blob(n) for n in "abc"] == [None, None, "ccc"]
    assert await store.get_run(r1["run_id"]) is not None  # the record stays
    await store.delete_run(r2["run_id"])
    assert await store.get_blob("c") is None
    await store.delete_thread(t["thread_id"])
    assert await store.get_blob("orphan") is None
    assert await store.get_blob("elsewhere") == "e"


# ------------------------------------------------------------- several processes


async def test_concurrent_writers_keep_put_run_and_versions_consistent(opener: Opener):
    """Two stores on one database (two processes) writing at once."""
    p1, p2 = await opener.open(), await opener.open()
    tid, aid = uid(), uid()
    t = new_thread(tid, {})
    results = await asyncio.gather(*[(p1 if i % 2 else p2).put_thread(t, if_exists="do_nothing") for i in range(10)])
    assert sum(created for _, created in results) == 1
    a = assistant(aid, config={}, context={}, metadata={}, created_at="x", updated_at="x")
    await p1.put_assistant(a)
    await asyncio.gather(*[(p1 if i % 2 else p2).update_assistant(aid, {"name": f"n{i}"}) for i in range(10)])
    versions = [v["version"] for v in await p2.assistant_versions(aid)]
    assert versions == list(range(11, 0, -1))
    run_ids = [uid() for _ in range(10)]
    base = {"thread_id": tid, "assistant_id": aid, "created_at": "c", "updated_at": "c", "status": "pending",
            "metadata": {}, "multitask_strategy": None, "kwargs": {}, "on_completion": None}
    await asyncio.gather(*[(p1 if i % 2 else p2).put_run({**base, "run_id": r}) for i, r in enumerate(run_ids)])
    assert len(await p1.active_runs(tid)) == 10
    assert (await p2.get_thread(tid))["status"] == "busy"
    await p1.delete_thread(tid)
    await p1.delete_assistant(aid)
    assert await p2.get_thread(tid) is None and await p2.get_assistant(aid) is None


# ------------------------------------------------- the same answers on every backend


async def _script(records: RecordStore, ids: dict[str, str]) -> list:
    """Every method, with results normalised (timestamps made at call time dropped)."""
    out: list = []

    def norm(x):
        if isinstance(x, dict):
            return {k: norm(v) for k, v in x.items() if k not in ("updated_at", "created_at", "state_updated_at")}
        if isinstance(x, (list, tuple)):
            return [norm(v) for v in x]
        return x

    a = {"assistant_id": ids["a"], "graph_id": "chain", "config": {"configurable": {"x": 1}}, "context": {},
         "metadata": {"k": "v", "z": [1, 2]}, "name": "n", "description": None, "version": 1,
         "created_at": "2024-01-01T00:00:00+00:00", "updated_at": "2024-01-01T00:00:00+00:00"}
    out.append(norm(await records.put_assistant(a)))
    out.append(norm(await records.put_assistant(a, if_exists="do_nothing")))
    with pytest.raises(KeyError):
        await records.put_assistant(a)
    out.append(norm(await records.update_assistant(ids["a"], {"metadata": {"m": 2}, "name": "n2"})))
    out.append(norm(await records.update_assistant(uid(), {"name": "x"})))
    out.append(norm(await records.assistant_versions(ids["a"])))
    out.append(norm(await records.set_latest_assistant_version(ids["a"], 1)))
    out.append(norm(await records.set_latest_assistant_version(ids["a"], 9)))
    out.append(norm(await records.get_assistant(ids["a"])))
    out.append(norm(await records.list_assistants()))
    t = new_thread(ids["t"], {"owner": "me", "nested": {"a": "\u00e9\u0000"}})
    t["created_at"] = t["updated_at"] = t["state_updated_at"] = "2024-01-02T00:00:00+00:00"
    out.append(norm(await records.put_thread(t)))
    out.append(norm(await records.put_thread(t, if_exists="do_nothing")))
    with pytest.raises(KeyError):
        await records.put_thread(t)
    run = {"run_id": ids["r"], "thread_id": ids["t"], "assistant_id": ids["a"], "created_at": "2024-01-03",
           "updated_at": "2024-01-03", "status": "pending", "metadata": {}, "multitask_strategy": "reject",
           "kwargs": {"input": {"b": 1, "a": 2}}, "temporary": False, "on_completion": None}
    out.append(norm(await records.put_run(run)))
    out.append((await records.get_thread(ids["t"]))["status"])
    await records.update_thread(ids["t"], status="idle")
    out.append(norm(await records.put_run(run)))  # idempotent: the thread stays idle
    out.append((await records.get_thread(ids["t"]))["status"])
    out.append(norm(await records.update_thread(ids["t"], metadata={"more": 1}, values={"x": [1]}, error=None)))
    out.append(norm(await records.update_thread(uid(), status="busy")))
    out.append(norm(await records.get_run(ids["r"])))
    out.append(norm(await records.get_run(ids["r"], thread_id=uid())))
    out.append(norm(await records.list_runs(ids["t"], limit=5)))
    out.append(norm(await records.active_runs(ids["t"])))
    out.append(norm(await records.active_run_stats()))
    out.append(norm(await records.set_run_status(ids["r"], "success")))
    out.append(norm(await records.list_runs(ids["t"], status="success")))
    out.append(norm(await records.active_runs(ids["t"])))
    out.append(norm(await records.active_run_stats()))
    out.append(norm(await records.list_threads(ids=[ids["t"], uid()])))
    out.append(norm(await records.list_threads(ids=[ids["t"]], status="busy")))
    out.append(await records.delete_run(ids["r"]))
    out.append(await records.delete_run(ids["r"]))
    # the webhook outbox
    out.append(await records.get_webhook(ids["r"]))
    await records.put_webhook(ids["r"], "http://a/hook", {"n": 1, "values": {"x": [1, 2]}})
    await records.put_webhook(ids["r"], "http://b/hook", {"n": 2})
    out.append(await records.get_webhook(ids["r"]))
    assert out[-1] == {"url": "http://b/hook", "body": {"n": 2}}
    await records.delete_webhook(ids["r"])
    out.append(await records.get_webhook(ids["r"]))
    out.append(await records.delete_thread(ids["t"]))
    out.append(await records.delete_assistant(ids["a"]))
    out.append(await records.delete_assistant(ids["a"]))
    return out


@NEEDS_POSTGRES
async def test_postgres_gives_the_answers_of_sqlite(tmp_path, pg_schema_uri):
    from evergraph.adapter.records.postgres import PostgresRecords  # deferred: psycopg

    ids = {"a": uid(), "t": uid(), "r": uid()}
    sqlite = await SqliteRecords(tmp_path / "r.sqlite").open()
    pg = await PostgresRecords(pg_schema_uri).open()
    try:
        expected = await _script(sqlite, ids)
        got = await _script(pg, ids)
    finally:
        await sqlite.close()
        await pg.close()
    assert got == expected
    assert expected[0][1] is True and expected[1][1] is False  # the script checks something


# ------------------------------------------------------------------ record helpers


def test_matches_is_json_containment():
    doc = {"a": 1, "b": {"c": [1, 2], "d": {"e": None}}}
    assert matches(doc, None) and matches(doc, {})
    assert matches(doc, {"a": 1}) and matches(doc, {"b": {"d": {"e": None}}})
    assert matches(doc, {"b": {"c": [1, 2]}})
    assert not matches(doc, {"b": {"c": [1]}})  # lists compare whole
    assert not matches(doc, {"a": 2}) and not matches(doc, {"x": None})
    assert not matches(None, {"a": 1}) and not matches({"a": 1}, {"a": {"b": 1}})


def test_public_shapes():
    t = new_thread("t", {"m": 1}, ttl={"strategy": "delete", "ttl": 1})
    assert set(public_thread(t)) == {
        "thread_id", "created_at", "updated_at", "state_updated_at", "metadata", "status", "config", "values"
    }
    assert public_thread({**t, "error": {"error": "E"}})["error"] == {"error": "E"}
    shown = public_thread({**t, "interrupts": {}, "error": None})
    assert shown["interrupts"] == {} and shown["error"] is None
    r = run_record("t", temporary=True)
    assert public_run(r) == {
        **{k: v for k, v in r.items() if k not in ("temporary", "on_completion")}, "langsmith_session_name": None
    }
    a = assistant()
    assert public_assistant({**a, "extra": 1}) == a
