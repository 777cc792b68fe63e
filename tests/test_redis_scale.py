"""The Redis stream broker under load and under failure, on real parts: ``evergraph
serve`` + ``evergraph worker`` on the session's Temporal, sharing one data folder
(SQLite records), with Redis Streams for run streams.

* 300 concurrent ``runs.stream`` through one API process all deliver every event
  (Redis from ``EVERGRAPH_TEST_REDIS_URI``, which ``.ci/run`` sets).
* Redis killed mid-stream: the client gets an SSE ``error`` event, not a silently
  short stream (a private ``redis-server`` of the test's own, started as ``.ci/run``
  starts it).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from langgraph_sdk import get_client

from evergraph.adapter.broker.protocol import parse_event_id
from evergraph.adapter.process.devserver import free_port
from tests.conftest import EvergraphProcess, evergraph_env
from tests.test_restart_marker import graphs_config

REDIS_URI = os.environ.get("EVERGRAPH_TEST_REDIS_URI")

#: concurrent streams through one API process (``EVERGRAPH_TEST_REDIS_STREAMS``)
STREAMS = int(os.environ.get("EVERGRAPH_TEST_REDIS_STREAMS", "300"))



class Stack:
    """One ``evergraph serve`` and one ``evergraph worker`` on ``redis_uri``."""

    def __init__(self, temporal_address: str, folder: Path, redis_uri: str) -> None:
        port = free_port()
        env = evergraph_env(
            temporal_address, folder / "data", EVERGRAPH_TASK_QUEUE=f"redis-scale-{port}",
            EVERGRAPH_CONFIG=str(graphs_config(folder, ("chain", "ticks"))), EVERGRAPH_REDIS_URI=redis_uri,
        )
        self.url = f"http://127.0.0.1:{port}"
        self.api = EvergraphProcess(["serve", "--port", str(port)], env, folder / "api.log")
        self.worker = EvergraphProcess(["worker"], env, folder / "worker.log")

    def __enter__(self) -> Stack:
        try:
            self.api.wait_ready(self.url)
            self.worker.wait_worker_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        for proc in (self.api, self.worker):
            proc.stop()


@pytest.fixture
def private_redis(tmp_path: Path):
    """A ``redis-server`` of this test's own on a free port (as ``.ci/run`` starts
    one); yields ``(uri, process)``."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (.ci/run installs Debian's redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    import redis

    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis(port=port, socket_timeout=1).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0", proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


@pytest.mark.skipif(not REDIS_URI, reason="EVERGRAPH_TEST_REDIS_URI is not set (.ci/run starts Redis and sets it)")
async def test_three_hundred_concurrent_streams_through_one_api_on_redis(temporal_server, tmp_path: Path):
    with Stack(temporal_server.address, tmp_path, REDIS_URI) as stack:
        async def one(i: int) -> list:
            # a client each: one httpx client holds at most 100 connections
            client = get_client(url=stack.url, timeout=300)
            return [
                p async for p in client.runs.stream(
                    None, "chain", input={"log": [f"run{i}"], "sleep": 1.0},
                    stream_mode=["values", "updates", "custom"], stream_resumable=True,
                )
            ]

        started = time.monotonic()
        results = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(STREAMS))), 600)
        elapsed = time.monotonic() - started
        print(f"\n{STREAMS} concurrent streams through one API process on Redis: {elapsed:.1f} s")
        log = stack.api.output()

    for i, parts in enumerate(results):
        events = [p.event for p in parts]
        assert "error" not in events, (i, [p.data for p in parts if p.event == "error"])
        assert events[0] == "metadata", (i, events)
        assert [p.data for p in parts if p.event == "custom"] == [{"node": f"step{k}"} for k in (1, 2, 3)], i
        assert [list(p.data) for p in parts if p.event == "updates"] == [["step1"], ["step2"], ["step3"]], i
        values = [p.data["log"] for p in parts if p.event == "values"]
        assert values == [[f"run{i}"] + [f"step{k}" for k in range(1, n + 1)] for n in range(4)], i
        ids = [parse_event_id(p.id) for p in parts]
        assert None not in ids and ids == sorted(set(ids)), i
    assert "Too many connections" not in log and "MaxConnectionsError" not in log


async def test_redis_killed_mid_stream_ends_the_stream_with_an_error_event(
    temporal_server, tmp_path: Path, private_redis
):
    uri, redis_proc = private_redis
    with Stack(temporal_server.address, tmp_path, uri) as stack:
        client = get_client(url=stack.url)
        parts = []
        stream = client.runs.stream(
            None, "ticks", input={"count": 400, "every": 0.05}, stream_mode="custom", stream_resumable=True
        )

        async def follow() -> None:
            async for part in stream:
                parts.append(part)
                if part.event == "custom" and part.data["tick"] == 10:
                    os.killpg(redis_proc.pid, signal.SIGKILL)

        await asyncio.wait_for(follow(), 60)

    assert parts[0].event == "metadata"
    ticks = [p.data["tick"] for p in parts if p.event == "custom"]
    assert ticks == list(range(len(ticks))) and 10 <= len(ticks) < 400
    last = parts[-1]
    assert last.event == "error", [p.event for p in parts[-3:]]
    assert last.data["error"] == "Unavailable" and "Redis" in last.data["message"], last.data
