"""Scale-out on real parts: ``evergraph serve`` ×2 and ``evergraph worker`` ×2 on the
session's Temporal, with PostgreSQL for records and checkpoints and Redis Streams for
run streams (``EVERGRAPH_TEST_POSTGRES_URI`` / ``EVERGRAPH_TEST_REDIS_URI``, which
``.ci/run`` sets after starting both servers). Each process has a data folder of its
own, so nothing reaches another process through local files."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from langgraph_sdk import get_client

from evergraph.adapter.broker.protocol import parse_event_id
from evergraph.adapter.process.devserver import free_port
from tests.conftest import GRAPHS_CONFIG, EvergraphProcess, evergraph_env

PG_URI = os.environ.get("EVERGRAPH_TEST_POSTGRES_URI")
REDIS_URI = os.environ.get("EVERGRAPH_TEST_REDIS_URI")
pytestmark = pytest.mark.skipif(
    not (PG_URI and REDIS_URI),
    reason="EVERGRAPH_TEST_POSTGRES_URI and EVERGRAPH_TEST_REDIS_URI are not set "
    "(.ci/run starts PostgreSQL and Redis and sets them)",
)

RUNS = 50


@pytest.fixture(scope="module")
def fresh_database():
    """A new, empty PostgreSQL database for this module (dropped afterwards)."""
    import psycopg

    name = f"evergraph_scale_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URI, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(PG_URI)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(PG_URI, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def scale_out(temporal_server, data_root: Path, fresh_database: str):
    """Two APIs and two workers; yields ``(api_urls, task_queue, processes)``."""
    queue = f"scale-out-{free_port()}"
    root = data_root / "scale-out"
    # the test graphs' config without the store's semantic index: Postgres needs the
    # pgvector extension for it, which Debian's postgresql package does not carry
    # (Evergraph then refuses to start, naming the extension)
    config = json.loads(GRAPHS_CONFIG.read_text())
    config.get("store", {}).pop("index", None)
    config["dependencies"] = [str(GRAPHS_CONFIG.parent)]
    config["graphs"] = {
        k: (str(GRAPHS_CONFIG.parent / v[2:]) if v.startswith("./") else v) for k, v in config["graphs"].items()
    }
    config_path = data_root / "scale-out-langgraph.json"
    config_path.write_text(json.dumps(config))

    def env(name: str) -> dict[str, str]:
        return evergraph_env(
            temporal_server.address, root / name, EVERGRAPH_TASK_QUEUE=queue, EVERGRAPH_CONFIG=str(config_path),
            EVERGRAPH_DATABASE_URI=fresh_database, EVERGRAPH_REDIS_URI=REDIS_URI,
        )

    workers = [EvergraphProcess(["worker"], env(f"worker{i}"), root.with_name(f"scale-out-worker{i}.log"))
               for i in range(2)]
    ports = [free_port(), free_port()]
    apis = [EvergraphProcess(["serve", "--port", str(p)], env(f"api{i}"), root.with_name(f"scale-out-api{i}.log"))
            for i, p in enumerate(ports)]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        for api, url in zip(apis, urls):
            api.wait_ready(url)
        for w in workers:
            w.wait_worker_ready()
        yield urls, queue, workers + apis
    finally:
        for p in apis + workers:
            p.stop()



def _triples(parts) -> list[tuple]:
    return [(p.event, p.data, p.id) for p in parts]


async def _one_run(i: int, urls: list[str]) -> tuple[str, str, list, list]:
    """Create a streamed resumable run on API ``i % 2``; join it from ``-1`` on the other."""
    creator, joiner = get_client(url=urls[i % 2]), get_client(url=urls[(i + 1) % 2])
    tid = (await creator.threads.create(metadata={"scale_out": i}))["thread_id"]
    stream = creator.runs.stream(
        tid, "chain", input={"log": [f"run{i}"], "sleep": 0.2}, stream_mode=["values", "updates", "custom"],
        stream_resumable=True,
    )
    first = await stream.__anext__()
    assert first.event == "metadata", first
    rid = first.data["run_id"]
    joined_task = asyncio.ensure_future(_collect(joiner.runs.join_stream(tid, rid, last_event_id="-1")))
    streamed = [first] + [p async for p in stream]
    joined = await joined_task
    return tid, rid, streamed, joined


async def _collect(it) -> list:
    return [p async for p in it]


async def test_fifty_concurrent_runs_across_two_apis_and_two_workers(scale_out, temporal_client):
    urls, _queue, processes = scale_out
    started = time.monotonic()
    results = await asyncio.wait_for(asyncio.gather(*(_one_run(i, urls) for i in range(RUNS))), 240)
    elapsed = time.monotonic() - started
    print(f"\n{RUNS} concurrent streamed runs through 2 APIs / 2 workers: {elapsed:.1f} s")

    all_ids = []
    for i, (tid, rid, streamed, joined) in enumerate(results):
        # the other API replays exactly what the creating API streamed, ids included
        assert _triples(joined) == _triples(streamed), f"run {i}"
        events = [p.event for p in streamed]
        assert events[0] == "metadata" and streamed[0].data == {"run_id": rid, "attempt": 1}
        assert [p.data for p in streamed if p.event == "custom"] == [{"node": f"step{k}"} for k in (1, 2, 3)]
        assert [list(p.data) for p in streamed if p.event == "updates"] == [["step1"], ["step2"], ["step3"]]
        assert streamed[-1].event == "values"
        assert streamed[-1].data["log"] == [f"run{i}", "step1", "step2", "step3"]
        ids = [parse_event_id(p.id) for p in streamed]
        assert None not in ids and ids == sorted(set(ids))
        all_ids.extend(ids)
    assert len(set(all_ids)) == len(all_ids)  # ids are unique across every run

    # final state and records, read through the API that did not create the run
    async def check(i: int, tid: str, rid: str) -> None:
        other = get_client(url=urls[(i + 1) % 2])
        run = await other.runs.get(tid, rid)
        assert run["status"] == "success"
        state = await other.threads.get_state(tid)
        assert state["values"] == {"log": [f"run{i}", "step1", "step2", "step3"], "n": 3, "sleep": 0.2}
        assert state["next"] == []
        thread = await other.threads.get(tid)
        assert thread["status"] == "idle" and thread["metadata"]["scale_out"] == i

    await asyncio.gather(*(check(i, tid, rid) for i, (tid, rid, _s, _j) in enumerate(results)))

    # both workers ran node attempts (identity "<pid>@<host>" of each worker process)
    worker_pids = {str(p.process.pid) for p in processes[:2]}
    seen: set[str] = set()
    for _tid, rid, _s, _j in results:
        async for event in temporal_client.get_workflow_handle(f"run-{rid}").fetch_history_events():
            if event.HasField("activity_task_started_event_attributes"):
                seen.add(event.activity_task_started_event_attributes.identity.split("@")[0])
    assert worker_pids <= seen, (worker_pids, seen)
