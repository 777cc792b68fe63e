"""Values of any size an agent uses (issue 12, item 3; DESIGN.md non-negotiable 6):
run inputs, commands (``resume``, ``update``, ``goto``), ``update_state`` values and
node writes of 3 MB and 10 MB work through every run path, travelling by reference
(adapter/execution/claims.py), never inside a Temporal payload; a body past the
configured maximum is answered 413 before anything is recorded; a refused submission
leaves the thread exactly as it was.

Run with ``-s`` to see the latency report (``test_latency_report``).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client

from evergraph.adapter.process.devserver import free_port
from tests.conftest import GRAPHS_CONFIG, EvergraphProcess, evergraph_env, wait_for

MB = 1024 * 1024
SIZES = [3 * MB, 10 * MB]
#: the limit of the extra API process of the 413 tests, bytes
SMALL_LIMIT = 2 * MB
#: the graphs of this file alone, for the extra processes
PAYLOADS_CONFIG = GRAPHS_CONFIG.with_name("langgraph_payloads.json")


def _doc(size: int) -> str:
    return "d" * size


@pytest.fixture
def big_client(server: str):
    """The SDK client with a timeout fit for 10 MB bodies on a shared machine."""
    return get_client(url=server, timeout=httpx.Timeout(120.0))


async def _snapshot(client, thread_id: str) -> dict:
    """What a refused submission must leave as it was."""
    thread = await client.threads.get(thread_id)
    return {
        "status": thread["status"],
        "values": thread["values"],
        "runs": [(r["run_id"], r["status"]) for r in await client.runs.list(thread_id)],
        "history": [s["checkpoint"]["checkpoint_id"] for s in await client.threads.get_history(thread_id)],
        "state": (await client.threads.get_state(thread_id))["values"],
    }


async def _history_bounded(temporal_client, thread_id: str, run_id: str, limit: int = 512 * 1024) -> None:
    """No payload of the run's or the thread's workflow history is anywhere near
    Temporal's limits: each event stays under ``limit`` bytes serialized."""
    for wid in (f"run-{run_id}", f"thread-{thread_id}"):
        history = await temporal_client.get_workflow_handle(wid).fetch_history()
        for event in history.events:
            size = event.ByteSize()
            assert size < limit, f"{wid}: event {event.event_id} ({event.event_type}) holds {size} bytes"


def _blobs(data_root: Path, run_id: str) -> int:
    """How many blobs of ``run_id`` the session server's records database holds."""
    with sqlite3.connect(data_root / "dev" / "evergraph.sqlite") as conn:
        return conn.execute("SELECT count(*) FROM blobs WHERE run_id=?", (run_id,)).fetchone()[0]


# ------------------------------------------------------------------ run inputs


@pytest.mark.parametrize("size", SIZES, ids=["3MB", "10MB"])
async def test_large_input_stream(big_client, temporal_client, data_root: Path, size):
    thread = await big_client.threads.create()
    tid = thread["thread_id"]
    parts = [p async for p in big_client.runs.stream(tid, "payloads", input={"doc": _doc(size)}, stream_mode="updates")]
    assert [p.data for p in parts if p.event == "updates"] == [{"grow": {"seen": size}}]
    assert not [p for p in parts if p.event == "error"]
    state = await big_client.threads.get_state(tid)
    assert len(state["values"]["doc"]) == size and state["values"]["seen"] == size
    thread = await big_client.threads.get(tid)
    assert thread["status"] == "idle"
    runs = await big_client.runs.list(tid)
    assert [r["status"] for r in runs] == ["success"]
    assert len(runs[0]["kwargs"]["input"]["doc"]) == size
    await _history_bounded(temporal_client, tid, runs[0]["run_id"])
    assert _blobs(data_root, runs[0]["run_id"]) == 0
    # the thread takes the next run (the 3 MB case used to leave it busy for good)
    assert (await big_client.runs.wait(tid, "payloads", input={"doc": "small"}))["seen"] == 5


@pytest.mark.parametrize("size", SIZES, ids=["3MB", "10MB"])
async def test_large_input_wait_create_join_stateless(big_client, size):
    thread = await big_client.threads.create()
    tid = thread["thread_id"]
    result = await big_client.runs.wait(tid, "payloads", input={"doc": _doc(size)})
    assert result["seen"] == size and len(result["doc"]) == size
    run = await big_client.runs.create(tid, "payloads", input={"doc": _doc(size) + "!"})
    joined = await big_client.runs.join(tid, run["run_id"])
    assert joined["seen"] == size + 1
    assert (await big_client.runs.get(tid, run["run_id"]))["status"] == "success"
    history = await big_client.threads.get_history(tid)
    assert [s["values"].get("seen") for s in history][:1] == [size + 1]
    # stateless: a temporary thread, deleted afterwards with its blobs
    stateless = await big_client.runs.wait(None, "payloads", input={"doc": _doc(size)})
    assert stateless["seen"] == size


# ------------------------------------------------------------------ node writes


@pytest.mark.parametrize("size", [3 * MB, 10 * MB, 20 * MB], ids=["3MB", "10MB", "20MB"])
async def test_large_node_write(big_client, temporal_client, data_root: Path, size):
    thread = await big_client.threads.create()
    tid = thread["thread_id"]
    run = await big_client.runs.create(tid, "payloads", input={"doc": "", "size": size})
    result = await big_client.runs.join(tid, run["run_id"])
    assert "__error__" not in result, result
    assert len(result["made"]) == size
    assert (await big_client.runs.get(tid, run["run_id"]))["status"] == "success"
    state = await big_client.threads.get_state(tid)
    assert len(state["values"]["made"]) == size
    await _history_bounded(temporal_client, tid, run["run_id"])
    assert _blobs(data_root, run["run_id"]) == 0  # deleted when the run finished


# ------------------------------------------------------------------ commands, state


@pytest.mark.parametrize("size", SIZES, ids=["3MB", "10MB"])
async def test_large_resume_value(big_client, temporal_client, size):
    thread = await big_client.threads.create()
    tid = thread["thread_id"]
    await big_client.runs.wait(tid, "payloads_ask", input={"doc": "q"})
    assert (await big_client.threads.get(tid))["status"] == "interrupted"
    parts = [
        p async for p in big_client.runs.stream(
            tid, "payloads_ask", command={"resume": _doc(size)}, stream_mode="updates"
        )
    ]
    assert not [p for p in parts if p.event == "error"], parts
    state = await big_client.threads.get_state(tid)
    assert len(state["values"]["answer"]) == size and state["next"] == []
    runs = await big_client.runs.list(tid)
    await _history_bounded(temporal_client, tid, runs[0]["run_id"])


@pytest.mark.parametrize("size", SIZES, ids=["3MB", "10MB"])
async def test_large_command_update_and_goto(big_client, size):
    thread = await big_client.threads.create()
    tid = thread["thread_id"]
    await big_client.runs.wait(tid, "payloads", input={"doc": "first"})
    result = await big_client.runs.wait(tid, "payloads", command={"update": {"doc": _doc(size)}, "goto": "grow"})
    assert result["seen"] == size and len(result["doc"]) == size


@pytest.mark.parametrize("size", SIZES, ids=["3MB", "10MB"])
async def test_large_update_state_and_history(big_client, size):
    thread = await big_client.threads.create()
    tid = thread["thread_id"]
    await big_client.runs.wait(tid, "payloads", input={"doc": "first"})
    await big_client.threads.update_state(tid, {"doc": _doc(size)}, as_node="grow")
    state = await big_client.threads.get_state(tid)
    assert len(state["values"]["doc"]) == size
    history = await big_client.threads.get_history(tid)
    assert len(history[0]["values"]["doc"]) == size
    # the next run reads it from the checkpointer
    assert (await big_client.runs.wait(tid, "payloads", input={"size": 1}))["seen"] == size


# ------------------------------------------------------------------ 413 and refusals


#: the environment of :func:`small_server`, for processes sharing its data and task queue
_SMALL_ENV: dict[str, str] = {}


@pytest.fixture(scope="module")
def small_server(temporal_server, data_root: Path):
    """An extra ``evergraph dev`` whose request limit is :data:`SMALL_LIMIT` bytes,
    set under langgraph-api's name (``HTTP_MAX_REQUEST_BODY_BYTES``)."""
    port = free_port()
    env = evergraph_env(
        temporal_server.address, data_root / "small-limit",
        EVERGRAPH_TASK_QUEUE=f"evergraph-tests-{port}", HTTP_MAX_REQUEST_BODY_BYTES=str(SMALL_LIMIT),
    )
    _SMALL_ENV.update(env)
    proc = EvergraphProcess(
        ["dev", "--config", str(PAYLOADS_CONFIG), "--port", str(port)], env, data_root / "small-limit.log"
    )
    url = f"http://127.0.0.1:{port}"
    try:
        proc.wait_ready(url)
        yield url
    finally:
        proc.stop()


class TcpProxy:
    """A real TCP relay on loopback (its own thread and event loop) to ``target``
    (``host:port``); :meth:`cut` closes it and every connection through it, as when
    Temporal becomes unreachable."""

    def __init__(self, target: str) -> None:
        self.host, port = target.rsplit(":", 1)
        self.target_port = int(port)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.writers: set[asyncio.StreamWriter] = set()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(10)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._relay, "127.0.0.1", self.port))
        ready.set()
        self.loop.run_forever()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.host, self.target_port)
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        async def close() -> None:
            self.server.close()
            for w in list(self.writers):
                w.close()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def _too_large(http: httpx.Client, path: str, body: dict, *, chunked: bool) -> httpx.Response:
    data = json.dumps(body).encode()
    assert len(data) > SMALL_LIMIT
    if chunked:  # no Content-Length: counted as it streams
        def chunks():
            for i in range(0, len(data), 64 * 1024):
                yield data[i : i + 64 * 1024]

        return http.post(path, content=chunks(), headers={"content-type": "application/json"})
    return http.post(path, content=data, headers={"content-type": "application/json"})


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_body_past_the_limit_is_413_and_records_nothing(small_server, chunked):
    client = get_client(url=small_server, timeout=httpx.Timeout(60.0))
    thread = await client.threads.create()
    tid = thread["thread_id"]
    await client.runs.wait(tid, "payloads", input={"doc": "before"})
    before = await _snapshot(client, tid)
    big = {"assistant_id": "payloads", "input": {"doc": _doc(SMALL_LIMIT + 1024)}}
    with httpx.Client(base_url=small_server, timeout=60) as http:
        for path in (f"/threads/{tid}/runs", f"/threads/{tid}/runs/wait", f"/threads/{tid}/runs/stream"):
            response = _too_large(http, path, big, chunked=chunked)
            assert response.status_code == 413, response.text
            assert response.json() == {"detail": f"Request body too large (limit: {SMALL_LIMIT} bytes)"}
        response = _too_large(http, f"/threads/{tid}/state", {"values": {"doc": _doc(SMALL_LIMIT)}}, chunked=chunked)
        assert response.status_code == 413
        # a thread it would create is not created either
        fresh = "6a0c5d3e-0000-4000-8000-00000000000" + ("1" if chunked else "2")
        response = _too_large(http, f"/threads/{fresh}/runs", {**big, "if_not_exists": "create"}, chunked=chunked)
        assert response.status_code == 413
        assert http.get(f"/threads/{fresh}").status_code == 404
        response = _too_large(http, "/runs/wait", big, chunked=chunked)
        assert response.status_code == 413
        # under the limit, the same server takes a body
        assert http.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "payloads", "input": {"doc": "ok"}}).status_code == 200
    after = await _snapshot(client, tid)
    assert after["status"] == before["status"] == "idle"
    assert after["runs"][1:] == before["runs"] and len(after["runs"]) == len(before["runs"]) + 1
    assert after["history"][-len(before["history"]):] == before["history"]


async def test_refused_submission_leaves_the_thread_as_it_was(small_server):
    client = get_client(url=small_server, timeout=httpx.Timeout(60.0))
    thread = await client.threads.create()
    tid = thread["thread_id"]
    await client.runs.wait(tid, "payloads_ask", input={"doc": "q"})
    before = await _snapshot(client, tid)
    assert before["status"] == "interrupted"
    with httpx.Client(base_url=small_server, timeout=60) as http:
        big = {"assistant_id": "payloads_ask", "command": {"resume": _doc(SMALL_LIMIT)}}
        assert _too_large(http, f"/threads/{tid}/runs", big, chunked=False).status_code == 413
    assert await _snapshot(client, tid) == before


async def test_submission_temporal_cannot_take_leaves_nothing(small_server, temporal_server, data_root: Path):
    """An API process whose Temporal becomes unreachable (a real TCP relay, cut)
    answers 503 and leaves no run, no thread and no ``busy`` status behind: on an
    existing thread, on a thread it would create, and for a stateless run."""
    client = get_client(url=small_server, timeout=httpx.Timeout(60.0))
    thread = await client.threads.create()
    tid = thread["thread_id"]
    await client.runs.wait(tid, "payloads", input={"doc": "before"})
    before = await _snapshot(client, tid)
    threads_before = await client.threads.count()
    proxy = TcpProxy(temporal_server.address)
    port = free_port()
    api = EvergraphProcess(
        ["serve", "--config", str(PAYLOADS_CONFIG), "--port", str(port)],
        {**_SMALL_ENV, "TEMPORAL_ADDRESS": proxy.address}, data_root / "cut-temporal.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        api.wait_ready(url)
        proxy.cut()
        fresh = "6a0c5d3e-0000-4000-8000-000000000003"
        with httpx.Client(base_url=url, timeout=120) as http:
            for size in (10, MB):  # inline and by reference (under the 2 MB limit)
                body = {"assistant_id": "payloads", "input": {"doc": _doc(size)}}
                assert http.post(f"/threads/{tid}/runs", json=body).status_code == 503
                assert http.post(f"/threads/{fresh}/runs", json={**body, "if_not_exists": "create"}).status_code == 503
                assert http.post("/runs", json=body).status_code == 503
    finally:
        api.stop()
        proxy.stop()
    assert await _snapshot(client, tid) == before
    assert await client.threads.count() == threads_before
    with httpx.Client(base_url=small_server, timeout=60) as http:
        assert http.get(f"/threads/{fresh}").status_code == 404
    # no blob of the refused submissions is left (the records database of the servers)
    with sqlite3.connect(data_root / "small-limit" / "evergraph.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM blobs").fetchone()[0] == 0


# ------------------------------------------------------------------ Postgres


PG_URI = os.environ.get("EVERGRAPH_TEST_POSTGRES_URI")


@pytest.mark.skipif(not PG_URI, reason="EVERGRAPH_TEST_POSTGRES_URI is not set (.ci/run sets it)")
async def test_large_values_on_postgres(temporal_server, data_root: Path):
    """The claim checks on the production backend: an ``evergraph dev`` whose records
    and checkpoints are in Postgres (a fresh database) takes a 10 MB input and a 10 MB
    node write, and keeps no blob once the runs have finished."""
    import psycopg  # deferred: only this test needs it

    name = f"payloads_{uuid.uuid4().hex[:12]}"
    async with await psycopg.AsyncConnection.connect(PG_URI, autocommit=True) as conn:
        await conn.execute(f'CREATE DATABASE "{name}"')
    uri = PG_URI.rsplit("/", 1)[0] + "/" + name
    port = free_port()
    proc = EvergraphProcess(
        ["dev", "--config", str(PAYLOADS_CONFIG), "--port", str(port)],
        evergraph_env(temporal_server.address, data_root / "pg-payloads", EVERGRAPH_TASK_QUEUE=f"evergraph-tests-{port}",
                      EVERGRAPH_DATABASE_URI=uri),
        data_root / "pg-payloads.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        proc.wait_ready(url)
        client = get_client(url=url, timeout=httpx.Timeout(120.0))
        tid = (await client.threads.create())["thread_id"]
        assert (await client.runs.wait(tid, "payloads", input={"doc": _doc(10 * MB)}))["seen"] == 10 * MB
        result = await client.runs.wait(tid, "payloads", input={"doc": "", "size": 10 * MB})
        assert len(result["made"]) == 10 * MB
        async with await psycopg.AsyncConnection.connect(uri) as conn:
            assert (await (await conn.execute("SELECT count(*) FROM evergraph_blobs")).fetchone())[0] == 0
    finally:
        proc.stop()
        async with await psycopg.AsyncConnection.connect(PG_URI, autocommit=True) as conn:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ------------------------------------------------------------------ numbers


async def test_latency_report(big_client, capsys):
    """Run latency (``runs.wait`` on a new thread) of a 1 KB input and node write
    against 3, 10 and 50 MB ones, in one session: printed; asserts only that each
    works."""
    rows = []
    for label, body, tries in [
        ("input 1 KB", {"doc": _doc(1024)}, 3),
        ("input 3 MB", {"doc": _doc(3 * MB)}, 2),
        ("input 10 MB", {"doc": _doc(10 * MB)}, 2),
        ("input 50 MB", {"doc": _doc(50 * MB)}, 1),
        ("node write 1 KB", {"doc": "", "size": 1024}, 3),
        ("node write 3 MB", {"doc": "", "size": 3 * MB}, 2),
        ("node write 10 MB", {"doc": "", "size": 10 * MB}, 2),
        ("node write 50 MB", {"doc": "", "size": 50 * MB}, 1),
    ]:
        times = []
        for _ in range(tries):
            t = await big_client.threads.create()
            start = time.perf_counter()
            result = await big_client.runs.wait(t["thread_id"], "payloads", input=body)
            times.append(time.perf_counter() - start)
            assert "__error__" not in result
            await big_client.threads.delete(t["thread_id"])
        rows.append((label, min(times)))
    with capsys.disabled():
        print("\nrun latency (runs.wait on a new thread, best of 1-3, seconds):")
        for label, seconds in rows:
            print(f"  {label:<18} {seconds:6.2f}")


# ------------------------------------------------------------------ crons


@pytest.mark.parametrize("size", SIZES, ids=["3MB", "10MB"])
async def test_large_cron_payload(big_client, temporal_client, data_root: Path, size):
    """A cron keeps its payload by reference: create, read, update and a tick work
    with a large input, and the schedule itself stays small."""
    thread = await big_client.threads.create()
    tid = thread["thread_id"]
    cron = await big_client.crons.create_for_thread(tid, "payloads", schedule="0 0 1 1 *", input={"doc": _doc(size)})
    cid = cron["cron_id"]
    try:
        assert len(cron["payload"]["input"]["doc"]) == size
        [listed] = await big_client.crons.search(thread_id=tid)
        assert len(listed["payload"]["input"]["doc"]) == size
        await big_client.crons.update(cid, input={"doc": _doc(size) + "!"})
        with sqlite3.connect(data_root / "dev" / "evergraph.sqlite") as conn:  # the old payload's blob is gone
            assert conn.execute("SELECT count(*) FROM blobs WHERE run_id=?", (f"cron-{cid}",)).fetchone()[0] == 1
        handle = temporal_client.get_schedule_handle(f"cron-{cid}")
        desc = await handle.describe()
        assert desc.raw_description.ByteSize() < 64 * 1024
        await handle.trigger()
        runs = await wait_for(lambda: big_client.runs.list(tid), timeout=60, interval=0.2)
        result = await big_client.runs.join(tid, runs[0]["run_id"])
        assert result["seen"] == size + 1
    finally:
        await big_client.crons.delete(cid)
    # the payload's blob went with the cron (the session server's records database)
    with sqlite3.connect(data_root / "dev" / "evergraph.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM blobs WHERE run_id=?", (f"cron-{cid}",)).fetchone()[0] == 0
