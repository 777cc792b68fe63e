"""What a client following a run's stream sees when the worker dies mid-node (kill -9):
the node's attempt runs again on another worker and re-emits its events (at-least-once,
with new ids), and the ``events`` stream mode marks the restart as LangGraph 1.2 marks
a ``RetryPolicy`` retry in ``astream_events`` v2: a fresh ``on_chain_start`` of the
node (new ``run_id``, same ``langgraph_step``/``langgraph_node``) before the re-run's
events, with no end for the abandoned attempt. Nothing is lost. Real processes, real
signals (``tests/test_durability.py``'s machinery)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from langgraph_sdk import get_client

from evergraph.adapter.process.devserver import free_port
from tests.conftest import GRAPHS_CONFIG, evergraph_env, split_starter
from tests.test_durability import _kill9


def graphs_config(folder: Path, names: tuple[str, ...]) -> Path:
    """A ``langgraph.json`` serving only the test graphs ``names`` (absolute paths)."""
    config = json.loads(GRAPHS_CONFIG.read_text())
    graphs = {k: v for k, v in config["graphs"].items() if k in names}
    path = folder / "langgraph.json"
    path.write_text(json.dumps({
        "dependencies": [str(GRAPHS_CONFIG.parent)],
        "graphs": {k: str(GRAPHS_CONFIG.parent / v[2:]) if v.startswith("./") else v for k, v in graphs.items()},
    }))
    return path


@pytest.fixture
def split_processes(temporal_server, tmp_path: Path):
    """``evergraph serve`` / ``evergraph worker`` processes sharing one data folder and
    task queue, serving the ``ticks`` and ``gated`` graphs (as in
    tests/test_durability.py)."""
    port = free_port()
    env = evergraph_env(
        temporal_server.address, tmp_path / "data", EVERGRAPH_TASK_QUEUE=f"restart-{port}",
        EVERGRAPH_CONFIG=str(graphs_config(tmp_path, ("ticks", "gated"))),
    )
    start = split_starter(env, tmp_path, port)
    yield start
    for proc in start.started:
        proc.stop()

COUNT = 60


async def test_worker_kill_9_mid_node_marks_the_restart_before_re_emitted_events(split_processes):
    split_processes("serve")
    worker = split_processes("worker")
    client = get_client(url=split_processes.url)
    tid = (await client.threads.create())["thread_id"]
    parts = []
    killed = False

    async def follow() -> None:
        nonlocal killed
        async for part in client.runs.stream(
            tid, "ticks", input={"count": COUNT, "every": 0.1}, stream_mode=["events", "custom", "tasks", "debug", "updates", "values"],
            stream_resumable=True,
        ):
            parts.append(part)
            if not killed and part.event == "custom" and part.data["tick"] == 5:
                killed = True
                _kill9(worker)
                split_processes("worker")

    await asyncio.wait_for(follow(), 180)
    assert killed
    assert (await client.runs.get(tid, parts[0].data["run_id"]))["status"] == "success"

    def is_start(p) -> bool:
        return p.event == "events" and p.data["event"] == "on_chain_start" and p.data["name"] == "ticker"

    starts = [i for i, p in enumerate(parts) if is_start(p)]
    assert len(starts) == 2, [(p.event, p.data.get("event"), p.data.get("name")) for p in parts if p.event == "events"]
    first, second = (parts[i].data for i in starts)
    # the restart marker: a new run of the same node in the same step, as a RetryPolicy retry
    assert first["run_id"] != second["run_id"]
    for key in ("langgraph_step", "langgraph_node", "langgraph_checkpoint_ns"):
        assert first["metadata"][key] == second["metadata"][key], key
    assert second["parent_ids"] == first["parent_ids"]
    ticks_before = [p.data["tick"] for p in parts[: starts[1]] if p.event == "custom"]
    ticks_after = [p.data["tick"] for p in parts[starts[1]:] if p.event == "custom"]
    # the dead attempt's events came first; the re-run re-emits all of its own after the marker
    assert ticks_before == list(range(len(ticks_before))) and len(ticks_before) >= 6
    assert ticks_after == list(range(COUNT))
    # the abandoned attempt never ends; the re-run ends once
    ends = [p.data["run_id"] for p in parts if p.event == "events" and p.data["event"] == "on_chain_end"
            and p.data["name"] == "ticker"]
    assert ends == [second["run_id"]]
    # tasks: the rebuilt driver sends the task's start again (same id); one result
    task_starts = [p.data["id"] for p in parts if p.event == "tasks" and "triggers" in p.data]
    assert len(task_starts) == 2 and len(set(task_starts)) == 1, task_starts
    assert len([p for p in parts if p.event == "tasks" and "result" in p.data]) == 1
    # every event kept its place: ids strictly increase, none repeats
    ids = [tuple(map(int, p.id.split("-"))) for p in parts]
    assert ids == sorted(set(ids))


async def test_worker_kill_9_mid_message_closes_it_with_an_error_in_the_v2_protocol(split_processes, tmp_path):
    """v2 thread protocol: the message the dead attempt was streaming ends with a
    ``messages {event: "error"}`` (LangChain's message-error event) before the re-run
    streams its message anew, under a new id; the run completes."""
    import httpx

    from tests.test_protocol_v2 import _command, _read_sse, _terminal

    split_processes("serve")
    worker = split_processes("worker")
    gate = tmp_path / "gate"
    killed = []

    def until(events) -> bool:
        if not killed and any(d["params"]["data"].get("event") == "content-block-delta"
                              for name, d, _ in events if name == "messages"):
            killed.append(True)
            _kill9(worker)
            split_processes("worker")
            gate.write_text("open")
        return _terminal(events)

    async with httpx.AsyncClient(base_url=split_processes.url, timeout=120) as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        reader = asyncio.ensure_future(_read_sse(http, tid, {"channels": ["messages", "lifecycle"]}, until))
        await asyncio.sleep(0.5)  # the log follows the thread before the run starts
        resp = await _command(http, tid, 1, "run.start", {
            "assistant_id": "gated", "input": {"messages": [{"role": "user", "content": "hi"}], "gate": str(gate)},
        })
        assert resp["type"] == "success", resp
        events = await asyncio.wait_for(reader, 150)
    assert killed, [(name, d["params"]["data"]) for name, d, _ in events]
    msgs = [d["params"]["data"] for name, d, _ in events if name == "messages"]
    kinds = [m["event"] for m in msgs]
    assert kinds[:3] == ["message-start", "content-block-start", "content-block-delta"], kinds
    assert kinds[3] == "error", kinds
    assert msgs[3]["code"] == "attempt_restarted" and "restarted" in msgs[3]["message"]
    assert kinds[4:6] == ["message-start", "content-block-start"] and kinds[-1] == "message-finish", kinds
    assert msgs[4]["id"] != msgs[0]["id"]
    text = "".join(m["delta"]["text"] for m in msgs[4:] if m["event"] == "content-block-delta")
    assert text == "one two three"
    assert kinds.count("message-finish") == 1
    last = [d["params"]["data"] for name, d, _ in events if name == "lifecycle"][-1]
    assert last["event"] == "completed", last
