"""Node code runs on one long-lived event loop per worker (adapter/execution/node_loop.py).

Module-level asyncio objects of a graph keep working across node attempts, runs and
threads; a node that blocks the loop is timed out on time and stalls the other runs'
attempts only until its own timeout fires.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from langgraph_sdk import get_client

from tests.conftest import GRAPHS_CONFIG, running_evergraph


async def test_module_level_asyncio_objects_work_across_attempts_runs_and_threads(client):
    """``loops.py`` binds a module-level Semaphore(1) and Queue to the loop of the
    first attempt that contends for them (4 parallel branches per run); on one loop
    per attempt the second attempt fails with 'bound to a different event loop'."""
    threads = [(await client.threads.create())["thread_id"] for _ in range(2)]

    async def one(i: int) -> dict:
        return await client.runs.wait(threads[i % 2], "shared_objects", input={"log": []})

    results = []
    for batch in range(3):
        results += await asyncio.gather(*(one(batch * 4 + i) for i in range(4)))
    for result in results:
        assert "__error__" not in result, result
        assert sorted(result["log"][-4:]) == ["got0", "got1", "got2", "got3"]
    for thread_id in threads:
        runs = await client.runs.list(thread_id, limit=20)
        assert [r["status"] for r in runs] == ["success"] * 6


@pytest.fixture(scope="module")
def own_server(temporal_server, data_root: Path):
    """A worker of its own: the blocking test retires its node loop."""
    with running_evergraph("dev", GRAPHS_CONFIG, temporal_server.address, data_root, "node-loop") as url:
        yield url


async def test_a_blocking_node_stalls_other_runs_only_until_its_timeout(own_server):
    """Run B (8 async nodes of 0.1 s) shares the node loop with run A's node, which
    blocks it with ``time.sleep(8)`` under ``idle_timeout=1``. A ends with
    ``NodeTimeoutError`` after about 1 s; B's attempt starved on the blocked loop is
    started again on a new loop and B finishes long before the 8 s block ends."""
    client = get_client(url=own_server)
    ta, tb = (await client.threads.create())["thread_id"], (await client.threads.create())["thread_id"]
    # warm the worker (graphs loaded, loop running) so timings measure the loop only
    assert (await client.runs.wait(tb, "ticking", input={"log": []}))["log"][-1] == "tick7"

    started = time.monotonic()
    blocked = asyncio.ensure_future(client.runs.wait(ta, "blocker", input={"log": [], "seconds": 8}, raise_error=False))
    # wait until A's node holds the loop (its run is running and a task started)
    async def a_running() -> bool:
        runs = await client.runs.list(ta, limit=1)
        return bool(runs) and runs[0]["status"] == "running"

    deadline = time.monotonic() + 20
    while not await a_running():
        assert time.monotonic() < deadline, "run A did not start"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    ticked = await client.runs.wait(tb, "ticking", input={"log": []})
    b_done = time.monotonic() - started
    a_result = await blocked
    a_done = time.monotonic() - started

    assert a_result.get("__error__", {}).get("error") == "NodeTimeoutError", (a_result, b_done, a_done)
    assert ticked["log"][-8:] == [f"tick{i}" for i in range(8)], ticked
    assert "__error__" not in ticked, ticked
    # the block lasts 8 s; A's idle timeout is 1 s: B must not wait for the block
    assert b_done < 6.0, f"run B took {b_done:.2f} s while A blocked the loop"
    assert a_done < 6.0, f"run A's timeout took {a_done:.2f} s"

    # the worker keeps serving on the new loop
    again = await client.runs.wait(tb, "ticking", input={"log": []})
    assert again["log"][-1] == "tick7"


def test_finished_attempts_are_not_kept():
    """The node loop keeps no attempt (nor its task and context) once it has ended."""
    import gc

    from evergraph.adapter.execution.node_loop import NodeLoops

    async def attempt(loop):
        await asyncio.sleep(0)
        # a child task, as LangGraph creates for a node's coroutine
        await asyncio.create_task(asyncio.sleep(0))
        return "done"

    loops = NodeLoops()
    hosted = [loops.start("n", attempt) for _ in range(200)]
    assert [h.future.result(timeout=10) for h in hosted] == ["done"] * 200
    node_loop = loops.current
    del hosted
    gc.collect()
    assert node_loop.attempts() == []
    assert len(node_loop._owners) == 0
