"""Thread time-to-live (``langgraph.json`` ``checkpointer.ttl`` and a thread's own
``ttl``), swept by a Temporal Schedule (adapter/resources/ttl.py).

An ``evergraph dev`` of its own (sharing the session's Temporal dev server) runs with a
3-second default TTL and a sweep every 1.2 s (fractions of a minute are Evergraph's
extension for tests). Its threads are observed through the official SDK, its SQLite
files and the Temporal client. Nothing is mocked; every wait polls on a deadline.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from langgraph_sdk import get_client
from langgraph_sdk.errors import NotFoundError
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer

from evergraph.adapter.graphs.config import ConfigError, ThreadTTLConfig, load_config
from evergraph.adapter.process.devserver import free_port
from evergraph.adapter.process.settings import Settings
from evergraph.adapter.process.temporal import DATA_CONVERTER, sandboxed_runner
from evergraph.adapter.resources.ttl import ensure_sweep_schedule, sweep_schedule_id
from evergraph.workflows.sweep import ThreadSweepWorkflow

from tests.conftest import ROOT, EvergraphProcess, evergraph_env, running_evergraph, wait_for

GRAPHS = ROOT / "tests" / "graphs"
#: minutes: a thread without a ttl of its own expires 3 s after its last activity
DEFAULT_TTL = 0.05
#: minutes between sweeps (1.2 s)
SWEEP_MINUTES = 0.02


def _config(folder: Path, ttl: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "langgraph.json"
    path.write_text(json.dumps({
        "dependencies": [str(GRAPHS)],
        "graphs": {"chain": f"{GRAPHS / 'basic.py'}:chain"},
        "checkpointer": {"ttl": ttl},
    }))
    return path


async def _drop_schedule(temporal_client, task_queue: str) -> None:
    """Delete the sweep Schedule of a deployment whose processes stopped, and end the
    sweep it started that no worker will run, so the session's Temporal stays quiet."""
    try:
        await temporal_client.get_schedule_handle(sweep_schedule_id(task_queue)).delete()
    except RPCError:
        pass
    query = f"WorkflowType = 'ThreadSweepWorkflow' AND TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'"
    async for wf in temporal_client.list_workflows(query):
        try:
            await temporal_client.get_workflow_handle(wf.id, run_id=wf.run_id).terminate("test deployment stopped")
        except RPCError:
            pass


@pytest_asyncio.fixture(scope="module")
async def ttl_server(temporal_server, temporal_client, data_root: Path):
    """``(url, data_dir, task_queue)`` of an ``evergraph dev`` sweeping every 1.2 s."""
    config = _config(data_root / "ttl-config", {
        "strategy": "delete", "default_ttl": DEFAULT_TTL, "sweep_interval_minutes": SWEEP_MINUTES, "sweep_limit": 50,
    })
    with running_evergraph("dev", config, temporal_server.address, data_root, "ttl") as url:
        queue = f"evergraph-tests-{url.rsplit(':', 1)[1]}"
        yield url, data_root / "ttl", queue
    await _drop_schedule(temporal_client, queue)


def _count(db: Path, sql: str, *params: str) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute(sql, params).fetchone()[0]


async def _gone(client, thread_id: str) -> bool:
    try:
        await client.threads.get(thread_id)
    except NotFoundError:
        return True
    return False


async def _workflow_closed(temporal_client, workflow_id: str) -> bool:
    try:
        desc = await temporal_client.get_workflow_handle(workflow_id).describe()
    except RPCError as err:
        return err.status == RPCStatusCode.NOT_FOUND
    return desc.status != WorkflowExecutionStatus.RUNNING


async def test_expired_threads_are_deleted_everywhere(ttl_server, temporal_client):
    url, data_dir, task_queue = ttl_server
    client = get_client(url=url)
    doomed = await client.threads.create(graph_id="chain")
    run = await client.runs.create(doomed["thread_id"], "chain", input={"n": 0})
    await client.runs.join(doomed["thread_id"], run["run_id"])
    # a ttl of its own, longer than the default: stays
    kept = await client.threads.create(graph_id="chain", ttl={"ttl": 10, "strategy": "delete"})
    # the default ttl, but used all along: stays
    touched = await client.threads.create(graph_id="chain")
    tid = doomed["thread_id"]
    checkpoints = data_dir / "checkpoints.sqlite"
    records = data_dir / "evergraph.sqlite"
    assert _count(checkpoints, "SELECT count(*) FROM checkpoints WHERE thread_id=?", tid) > 1
    assert _count(records, "SELECT count(*) FROM runs WHERE thread_id=?", tid) == 1

    shown = await client.threads.get(tid, include=["ttl"])
    assert shown["ttl"]["strategy"] == "delete" and shown["ttl"]["ttl_minutes"] == DEFAULT_TTL
    expires = datetime.fromisoformat(shown["ttl"]["expires_at"])
    assert expires - datetime.fromisoformat(shown["updated_at"]) == timedelta(minutes=DEFAULT_TTL)
    assert (await client.threads.get(kept["thread_id"], include=["ttl"]))["ttl"]["ttl_minutes"] == 10
    assert "ttl" not in await client.threads.get(tid)  # only when asked for

    async def doomed_gone() -> bool:
        await client.threads.update(touched["thread_id"], metadata={"touch": datetime.now().isoformat()})
        return await _gone(client, tid)

    await wait_for(doomed_gone, timeout=60, interval=0.5)
    assert _count(checkpoints, "SELECT count(*) FROM checkpoints WHERE thread_id=?", tid) == 0
    assert _count(checkpoints, "SELECT count(*) FROM writes WHERE thread_id=?", tid) == 0
    assert _count(records, "SELECT count(*) FROM runs WHERE thread_id=?", tid) == 0
    assert await _workflow_closed(temporal_client, f"thread-{tid}")
    with pytest.raises(NotFoundError):
        await client.runs.get(tid, run["run_id"])
    for other in (kept, touched):
        assert (await client.threads.get(other["thread_id"]))["thread_id"] == other["thread_id"]

    # the sweeps are a Temporal Schedule's actions
    handle = temporal_client.get_schedule_handle(sweep_schedule_id(task_queue))
    desc = await handle.describe()
    assert desc.schedule.action.workflow == "ThreadSweepWorkflow"
    assert desc.schedule.spec.intervals[0].every == timedelta(minutes=SWEEP_MINUTES)
    assert (await desc.memo())["evergraph"] == "thread-ttl"
    assert desc.info.recent_actions

    # a finished sweep's real history replays in Temporal's workflow sandbox
    query = f"WorkflowType = 'ThreadSweepWorkflow' AND TaskQueue = '{task_queue}' AND ExecutionStatus = 'Completed'"
    finished = [wf async for wf in temporal_client.list_workflows(query, limit=1)]
    assert finished
    handle = temporal_client.get_workflow_handle(finished[0].id, run_id=finished[0].run_id)
    assert set(await handle.result()) == {"deleted", "pruned"}
    replayer = Replayer(workflows=[ThreadSweepWorkflow], workflow_runner=sandboxed_runner(), data_converter=DATA_CONVERTER)
    await replayer.replay_workflow(await handle.fetch_history())


async def test_keep_latest_keeps_only_the_latest_checkpoint(ttl_server):
    url, data_dir, _ = ttl_server
    client = get_client(url=url)
    thread = await client.threads.create(graph_id="chain", ttl={"ttl": DEFAULT_TTL, "strategy": "keep_latest"})
    tid = thread["thread_id"]
    await client.runs.wait(tid, "chain", input={"n": 0})
    before = await client.threads.get_state(tid)
    assert len(await client.threads.get_history(tid, limit=20)) > 1

    async def pruned() -> bool:
        return len(await client.threads.get_history(tid, limit=20)) == 1

    await wait_for(pruned, timeout=60, interval=0.5)
    after = await client.threads.get_state(tid)
    assert after["values"] == before["values"] == {"log": ["step1", "step2", "step3"], "n": 3}
    assert after["checkpoint"]["checkpoint_id"] == before["checkpoint"]["checkpoint_id"]
    assert (await client.threads.get(tid, include=["ttl"]))["ttl"]["strategy"] == "keep_latest"
    # the thread still runs from its latest state
    result = await client.runs.wait(tid, "chain", input={"n": 10})
    assert result["n"] == 13


async def test_serve_and_two_workers_share_one_schedule(temporal_server, temporal_client, data_root: Path):
    """Three processes of one deployment start at once: each writes the Schedule (the
    first creates it, the others update it), and the workers sweep."""
    config = _config(data_root / "ttl-split-config", {"default_ttl": DEFAULT_TTL, "sweep_interval_minutes": SWEEP_MINUTES})
    port = free_port()
    queue = f"ttl-split-{port}"
    env = evergraph_env(temporal_server.address, data_root / "ttl-split", EVERGRAPH_TASK_QUEUE=queue,
                        EVERGRAPH_CONFIG=str(config))
    procs = [
        EvergraphProcess(["worker"], env, data_root / "ttl-split-worker1.log"),
        EvergraphProcess(["worker"], env, data_root / "ttl-split-worker2.log"),
        EvergraphProcess(["serve", "--port", str(port)], env, data_root / "ttl-split-api.log"),
    ]
    url = f"http://127.0.0.1:{port}"
    try:
        procs[2].wait_ready(url)
        for proc in procs[:2]:
            await wait_for(lambda proc=proc: "Ready." in proc.output() or proc.process.poll() is not None, timeout=60)
            assert proc.process.poll() is None, proc.output()
        client = get_client(url=url)
        thread = await client.threads.create(graph_id="chain")
        await wait_for(lambda: _gone(client, thread["thread_id"]), timeout=60, interval=0.5)
        desc = await temporal_client.get_schedule_handle(sweep_schedule_id(queue)).describe()
        assert desc.schedule.action.task_queue == queue
    finally:
        for proc in procs:
            proc.stop()
        await _drop_schedule(temporal_client, queue)


async def test_the_schedule_is_written_idempotently(temporal_client, tmp_path):
    settings = Settings.from_env({"EVERGRAPH_TASK_QUEUE": f"ttl-idempotent-{free_port()}",
                                  "EVERGRAPH_DATA_DIR": str(tmp_path)})
    handle = temporal_client.get_schedule_handle(sweep_schedule_id(settings.task_queue))
    try:
        first = ThreadTTLConfig(sweep_interval_minutes=2, sweep_limit=5)
        # several processes start at once: the first creates it, the others update it
        for config in (first, first, ThreadTTLConfig(sweep_interval_minutes=3, sweep_limit=7)):
            assert await ensure_sweep_schedule(temporal_client, settings, config) == handle.id
        desc = await handle.describe()
        assert desc.schedule.spec.intervals[0].every == timedelta(minutes=3)
        assert desc.schedule.action.task_queue == settings.task_queue
        # without checkpointer.ttl there is no schedule
        assert await ensure_sweep_schedule(temporal_client, settings, None) is None
        with pytest.raises(RPCError):
            await handle.describe()
        assert await ensure_sweep_schedule(temporal_client, settings, None) is None
    finally:
        try:
            await handle.delete()
        except RPCError:
            pass


@pytest.mark.parametrize(
    ("ttl", "named"),
    [
        ({"stratgy": "delete"}, "'checkpointer.ttl.stratgy'"),
        ({"strategy": "archive"}, "'checkpointer.ttl.strategy'"),
        ({"default_ttl": -1}, "'checkpointer.ttl.default_ttl'"),
        ({"default_ttl": "60"}, "'checkpointer.ttl.default_ttl'"),
        ({"sweep_interval_minutes": 0}, "'checkpointer.ttl.sweep_interval_minutes'"),
        ({"sweep_limit": 1.5}, "'checkpointer.ttl.sweep_limit'"),
        ({"sweep_limit": 0}, "'checkpointer.ttl.sweep_limit'"),
        ("60", "'checkpointer.ttl' must be an object"),
    ],
)
def test_bad_ttl_config_is_named(tmp_path, ttl, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_config(_config(tmp_path, ttl))


def test_ttl_config_defaults(tmp_path):
    assert load_config(_config(tmp_path, {})).thread_ttl == ThreadTTLConfig(
        strategy="delete", default_ttl=None, sweep_interval_minutes=5.0, sweep_limit=10000
    )
    assert load_config(_config(tmp_path, None)).thread_ttl is None


def test_bad_ttl_config_stops_start_up(tmp_path):
    config = _config(tmp_path, {"default_ttl": 60, "sweep_limt": 10})
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVERGRAPH_")}
    env.update(TEMPORAL_ADDRESS="127.0.0.1:1")
    result = subprocess.run(
        [sys.executable, "-m", "evergraph.adapter.process.cli", "serve", "--config", str(config),
         "--data-dir", str(tmp_path / "d"), "--port", str(free_port())],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "'checkpointer.ttl.sweep_limt'" in result.stderr
