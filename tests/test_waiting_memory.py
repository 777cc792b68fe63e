"""Threads waiting at ``interrupt()`` cost bounded memory (README "Waiting threads"):
the worker keeps at most ``EVERGRAPH_MAX_CACHED_WORKFLOWS`` workflows in memory and a
thread pushed out of that cache resumes correctly by replay; the in-process broker of
``evergraph dev`` keeps the events of only its most recently ended runs in memory (the
rest in its spill file, still readable) and holds each event in a buffer of its own
size."""

from __future__ import annotations

import asyncio
import tracemalloc

import pytest
from langgraph_sdk import get_client

from evergraph.adapter.broker.memory import MemoryBroker
from evergraph.adapter.broker.protocol import END
from evergraph.adapter.process.settings import Settings, SettingsError
from tests.conftest import GRAPHS_CONFIG, running_evergraph
from tests.test_metrics import scrape, value

THREADS = 30
CACHE = 5


async def test_threads_evicted_from_a_small_workflow_cache_resume_by_replay(temporal_server, data_root):
    env = {"EVERGRAPH_MAX_CACHED_WORKFLOWS": str(CACHE)}
    with running_evergraph("dev", GRAPHS_CONFIG, temporal_server.address, data_root, "small-cache", **env) as url:
        client = get_client(url=url)
        tids: list[str] = []

        async def wait_at_interrupt() -> None:
            tid = (await client.threads.create())["thread_id"]
            tids.append(tid)  # in creation order: the first ones are the oldest
            result = await client.runs.wait(tid, "approval", input={"log": []})
            assert result["log"] == ["draft"] and "__interrupt__" in result, result

        for _ in range(THREADS):  # one at a time: no run is pushed out of the cache mid-run
            await wait_at_interrupt()
        for tid in tids:
            assert (await client.threads.get(tid))["status"] == "interrupted"

        samples = scrape(f"{url}/metrics")
        # 30 open thread workflows, at most 5 of them in the worker's memory
        assert 0 < value(samples, "temporal_sticky_cache_size") <= CACHE
        # (prometheus_client's parser adds _total to the SDK's counter)
        assert value(samples, "temporal_sticky_cache_total_forced_eviction_total") >= THREADS - CACHE
        # the broker's memory holds the events of these few runs (spill bound not reached)
        assert value(samples, "evergraph_stream_events_in_memory") > 0

        # the oldest threads were evicted long ago: their workflows replay, then resume
        for tid in tids[:3] + tids[-2:]:
            result = await client.runs.wait(tid, "approval", command={"resume": f"yes {tid}"})
            assert result["log"] == ["draft", "ask", "act"], result
            assert result["answers"] == [f"yes {tid}"], result
            assert (await client.threads.get(tid))["status"] == "idle"
        for tid in tids[3:-2]:  # the others still wait, untouched
            assert (await client.threads.get(tid))["status"] == "interrupted"
        after = scrape(f"{url}/metrics")
        assert value(after, "temporal_sticky_cache_size") <= CACHE


def test_max_cached_workflows_setting():
    assert Settings.from_env({}).max_cached_workflows == 1000
    assert Settings.from_env({"EVERGRAPH_MAX_CACHED_WORKFLOWS": "5"}).max_cached_workflows == 5
    for bad in ("0", "-1", "many"):
        with pytest.raises(SettingsError, match="EVERGRAPH_MAX_CACHED_WORKFLOWS"):
            Settings.from_env({"EVERGRAPH_MAX_CACHED_WORKFLOWS": bad})


async def test_memory_broker_moves_events_of_older_ended_runs_to_its_spill(tmp_path):
    broker = MemoryBroker(asyncio.get_running_loop(), spill_path=tmp_path / "spill.sqlite", ended_window=3)
    expected = {f"r{i}": [f'{{"i":{i},"j":{j}}}'.encode() for j in range(4)] for i in range(20)}
    try:
        reader = None
        for i in range(20):
            for j in range(4):
                broker.publish(f"r{i}", "values", {"i": i, "j": j})
            if i == 0:  # a reader part-way through r0 when r0's events leave memory
                reader = broker.subscribe("r0", from_start=True)
                first = await reader.__anext__()
            broker.end(f"r{i}")
        # at most 2 * 3 ended runs (4 events and the end each) keep their events in memory
        assert broker.events_held() <= 2 * 3 * 5
        assert broker.events_in_memory("r0") == 0
        assert broker.events_in_memory("r19") == 5
        rest = [e async for e in reader]
        assert [first.data] + [e.data for e in rest[:-1]] == expected["r0"]
        assert rest[-1].event == END
        # nothing is left to wake the readers of ended runs
        assert all(broker._runs[f"r{i}"].changed is None for i in range(20))
        for run in ("r0", "r10", "r19"):
            events = [e async for e in broker.subscribe(run, from_start=True)]
            assert [e.data for e in events[:-1]] == expected[run]
            assert events[-1].event == END
            assert [e async for e in broker.subscribe(run, events[1].id)] == events[2:]
            assert await broker.has_stream(run)
    finally:
        broker.close()


async def test_memory_broker_holds_each_event_in_a_buffer_of_its_size(tmp_path):
    broker = MemoryBroker(asyncio.get_running_loop(), spill_path=tmp_path / "spill.sqlite")
    n = 500
    try:
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for i in range(n):
                broker.publish("r1", "custom", {"i": i})
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert broker.events_in_memory("r1") == n
        # each event (its object, id and payload) well under 1 KiB; a payload kept in
        # the serializer's 4 KiB output buffer would make it more than 4 KiB
        assert grown < n * 1024, grown / n
    finally:
        broker.close()
