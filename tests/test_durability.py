"""Runs outlive processes, losing nothing and running no completed node again:
``kill -9`` of the worker or of the API process mid-run, a restart of the Temporal dev
server, and a run long enough to continue-as-new. Real processes, real signals."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client

from evergraph.adapter.process.devserver import free_port, start_dev_server
from tests.conftest import GRAPHS_CONFIG, EvergraphProcess, evergraph_env, split_starter, wait_for


def _count(folder: Path, name: str) -> int:
    path = folder / name
    return len(path.read_text()) if path.exists() else 0


def _kill9(proc: EvergraphProcess) -> None:
    os.killpg(proc.process.pid, signal.SIGKILL)
    proc.process.wait()


async def test_two_thousand_supersteps_continue_as_new(client, temporal_client):
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(
        tid, "loop", input={"n": 0, "target": 2000}, config={"recursion_limit": 2100}, durability="exit"
    )
    result = await client.runs.join(tid, run["run_id"])
    assert result == {"n": 2000, "target": 2000}
    assert (await client.runs.get(tid, run["run_id"]))["status"] == "success"

    async def statuses():
        executions = [w async for w in temporal_client.list_workflows(f"WorkflowId = 'run-{run['run_id']}'")]
        names = sorted(w.status.name for w in executions)
        # the result is published just before the last execution completes
        return names if "RUNNING" not in names else None

    names = await wait_for(statuses, timeout=30)
    assert "CONTINUED_AS_NEW" in names and names.count("COMPLETED") == 1, names


@pytest.fixture
def split_processes(temporal_server, data_root: Path, tmp_path: Path, request):
    """A factory for ``evergraph serve`` / ``evergraph worker`` processes sharing one
    data folder and task queue (stopped at the end); an indirect parameter sets
    ``EVERGRAPH_NODE_ACTIVITIES`` (default ``activity``)."""
    port = free_port()
    env = evergraph_env(
        temporal_server.address, tmp_path / "data", EVERGRAPH_TASK_QUEUE=f"durable-{port}",
        EVERGRAPH_CONFIG=str(GRAPHS_CONFIG), EVERGRAPH_NODE_ACTIVITIES=getattr(request, "param", "activity"),
    )
    start = split_starter(env, tmp_path, port)
    yield start
    for proc in start.started:
        proc.stop()


# regular node activities, and local ones (whose completed attempts were in a workflow
# task the kill cut short: their writes were committed, so the replay skips them)
@pytest.mark.parametrize("split_processes", ["activity", "local"], indirect=True)
async def test_worker_kill_9_mid_node_loses_nothing_and_reruns_no_completed_node(split_processes, tmp_path):
    counts = tmp_path / "counts"
    counts.mkdir()
    split_processes("serve")
    worker = split_processes("worker")
    client = get_client(url=split_processes.url)
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(tid, "counting", input={"dir": str(counts), "sleep": 3})
    await wait_for(lambda: (counts / "slow.running").exists(), timeout=60)
    _kill9(worker)
    split_processes("worker")
    result = await client.runs.join(tid, run["run_id"])
    assert result["done"] == ["first", "second", "slow", "last"]
    assert (await client.runs.get(tid, run["run_id"]))["status"] == "success"
    # completed nodes never ran again; the node that was running when its worker died
    # ran again on the new worker (its first attempt never finished)
    assert _count(counts, "first.started") == 1 and _count(counts, "second.started") == 1
    assert _count(counts, "slow.started") == 2 and _count(counts, "slow.finished") == 1
    assert _count(counts, "last.started") == 1


async def _sse_events(url: str, path: str, last_event_id: str | None, limit: int | None = None) -> list[tuple]:
    """(event, id, data) of an SSE stream, up to ``limit`` events."""
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    events, current = [], {}
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        async with http.stream("GET", path, headers=headers) as resp:
            assert resp.status_code == 200
            async for line in resp.aiter_lines():
                if line.startswith("event: "):
                    current["event"] = line[7:]
                elif line.startswith("data: "):
                    current["data"] = line[6:]
                elif line.startswith("id: "):
                    current["id"] = line[4:]
                elif line == "" and current:
                    events.append((current.get("event"), current.get("id"), current.get("data")))
                    current = {}
                    if limit is not None and len(events) >= limit:
                        break
    return events


async def test_api_kill_9_then_rejoin_with_last_event_id(split_processes, tmp_path):
    counts = tmp_path / "counts"
    counts.mkdir()
    api = split_processes("serve")
    split_processes("worker")
    client = get_client(url=split_processes.url)
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(
        tid, "counting", input={"dir": str(counts), "sleep": 3}, stream_mode=["values", "updates"], stream_resumable=True
    )
    path = f"/threads/{tid}/runs/{run['run_id']}/stream"
    first = await _sse_events(split_processes.url, path, "-1", limit=3)
    assert all(eid for _, eid, _ in first)
    _kill9(api)
    await wait_for(lambda: (counts / "slow.running").exists(), timeout=60)
    split_processes("serve")  # a new API process on the same port
    rest = await _sse_events(split_processes.url, path, first[-1][1])
    assert (await client.runs.get(tid, run["run_id"]))["status"] == "success"
    everything = await _sse_events(split_processes.url, path, "-1")
    assert first + rest == everything  # every event exactly once, in order
    assert [e for e, _, _ in everything].count("updates") == 4


async def test_temporal_dev_server_restart_mid_run(data_root: Path, tmp_path: Path):
    port, ui_port = free_port(), free_port()
    folder = tmp_path / "temporal"
    server = await start_dev_server(folder, port=port, ui_port=ui_port)
    counts = tmp_path / "counts"
    counts.mkdir()
    api_port = free_port()
    env = evergraph_env(server.address, tmp_path / "data", EVERGRAPH_TASK_QUEUE=f"restart-{api_port}")
    proc = EvergraphProcess(["dev", "--config", str(GRAPHS_CONFIG), "--port", str(api_port)], env, tmp_path / "dev.log")
    url = f"http://127.0.0.1:{api_port}"
    try:
        proc.wait_ready(url)
        client = get_client(url=url)
        tid = (await client.threads.create())["thread_id"]
        run = await client.runs.create(tid, "counting", input={"dir": str(counts), "sleep": 3})
        await wait_for(lambda: (counts / "slow.running").exists(), timeout=60)
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait()
        server = await start_dev_server(folder, port=port, ui_port=ui_port)
        result = await asyncio.wait_for(client.runs.join(tid, run["run_id"]), timeout=120)
        assert result["done"] == ["first", "second", "slow", "last"]
        assert (await client.runs.get(tid, run["run_id"]))["status"] == "success"
        assert _count(counts, "first.started") == 1 and _count(counts, "last.started") == 1
    finally:
        proc.stop()
        server.stop()


class CuttingProxy:
    """A TCP proxy in front of the API that closes every connection ``cut_after``
    seconds after it opened (a load balancer with a short idle/lifetime limit)."""

    def __init__(self, upstream_port: int, cut_after: float) -> None:
        self.upstream_port = upstream_port
        self.cut_after = cut_after
        self.cuts = 0
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()

        pipes = asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)
        try:
            await asyncio.wait_for(asyncio.shield(pipes), self.cut_after)
        except asyncio.TimeoutError:
            self.cuts += 1
        finally:
            for w in (writer, up_writer):
                w.close()
            pipes.cancel()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


@pytest.mark.parametrize("cut_after", [float(os.environ.get("EVERGRAPH_TEST_CUT_AFTER", "1.5"))])
async def test_stream_cut_by_a_proxy_delivers_every_event_through_sdk_reconnects(server, cut_after):
    proxy = CuttingProxy(int(server.rsplit(":", 1)[1]), cut_after)
    port = await proxy.start()
    try:
        client = get_client(url=f"http://127.0.0.1:{port}")
        tid = (await client.threads.create())["thread_id"]
        count = 100
        parts = [
            p
            async for p in client.runs.stream(
                tid, "ticks", input={"count": count, "every": 0.05}, stream_mode="custom", stream_resumable=True
            )
        ]
        ticks = [p.data["tick"] for p in parts if p.event == "custom"]
        assert ticks == list(range(count))  # all of them, once each, in order
        assert proxy.cuts >= 2  # the stream really was cut several times
    finally:
        await proxy.stop()


async def test_optional_run_cap_ends_the_run_with_timeout(temporal_server, tmp_path: Path):
    """``BG_JOB_TIMEOUT_SECS`` (langgraph-api's name) caps a run; by default there is none."""
    port = free_port()
    env = evergraph_env(
        temporal_server.address, tmp_path / "data", EVERGRAPH_TASK_QUEUE=f"capped-{port}", BG_JOB_TIMEOUT_SECS="2"
    )
    proc = EvergraphProcess(["dev", "--config", str(GRAPHS_CONFIG), "--port", str(port)], env, tmp_path / "dev.log")
    url = f"http://127.0.0.1:{port}"
    try:
        proc.wait_ready(url)
        client = get_client(url=url)
        tid = (await client.threads.create())["thread_id"]
        run = await client.runs.create(tid, "chat", input={"messages": [{"role": "user", "content": "hi"}], "sleep": 30})
        result = await asyncio.wait_for(client.runs.join(tid, run["run_id"]), timeout=60)
        assert result == {"__error__": {"error": "TimeoutError", "message": "run exceeded 2 s"}}
        timed_out = await client.runs.get(tid, run["run_id"])
        assert timed_out["status"] == "timeout" and timed_out["cancel_reason"] == "run exceeded 2 s"
        thread = await client.threads.get(tid)
        assert thread["status"] == "error" and thread["error"]["error"] == "TimeoutError"
        # the thread takes the next run as usual
        done = await client.runs.wait(tid, "chat", input={"messages": [{"role": "user", "content": "again"}], "sleep": 0})
        assert done["messages"][-1]["content"] == "echo: again"
    finally:
        proc.stop()
