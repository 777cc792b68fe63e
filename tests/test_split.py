"""Production shape on one machine: `evergraph serve` and `evergraph worker` as separate
processes sharing Temporal and the data folder (stream events cross processes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from langgraph_sdk import get_client

from evergraph.adapter.process.devserver import free_port
from tests.conftest import GRAPHS_CONFIG, EvergraphProcess, evergraph_env


@pytest.fixture(scope="module")
def split_server(temporal_server, data_root: Path):
    port = free_port()
    env = evergraph_env(
        temporal_server.address, data_root / "split", EVERGRAPH_TASK_QUEUE=f"split-{port}", EVERGRAPH_CONFIG=str(GRAPHS_CONFIG)
    )
    worker = EvergraphProcess(["worker"], env, data_root / "split-worker.log")
    api = EvergraphProcess(["serve", "--port", str(port)], env, data_root / "split-api.log")
    url = f"http://127.0.0.1:{port}"
    try:
        api.wait_ready(url)
        yield url
    finally:
        api.stop()
        worker.stop()


async def test_stream_and_wait_across_processes(split_server):
    client = get_client(url=split_server)
    thread = await client.threads.create()
    parts = [
        p
        async for p in client.runs.stream(
            thread["thread_id"], "chain", input={"log": []}, stream_mode=["updates", "custom"]
        )
    ]
    assert [p.event for p in parts] == ["metadata"] + ["custom", "updates"] * 3
    result = await client.runs.wait(thread["thread_id"], "chain", input={"log": []})
    assert result["log"] == ["step1", "step2", "step3"] * 2
    runs = await client.runs.list(thread["thread_id"])
    assert [r["status"] for r in runs] == ["success", "success"]
