"""Records on PostgreSQL (``EVERGRAPH_TEST_POSTGRES_URI``, set by ``.ci/run``) give the
same answers as the SQLite default, for the same sequence of calls, and hold under
concurrent writers; LangGraph's Postgres checkpointer with Evergraph's deletion
helpers."""

from __future__ import annotations

import asyncio
import os
import uuid
from contextlib import AsyncExitStack

import pytest

from evergraph.adapter.records.sqlite import Records, new_thread

PG_URI = os.environ.get("EVERGRAPH_TEST_POSTGRES_URI")
pytestmark = pytest.mark.skipif(
    not PG_URI, reason="EVERGRAPH_TEST_POSTGRES_URI is not set (.ci/run starts a PostgreSQL server and sets it)"
)


def _uid() -> str:
    return str(uuid.uuid4())


async def _script(records, ids: dict[str, str]) -> list:
    """Every Records method, with results normalised (timestamps made at call time dropped)."""
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
    out.append(norm(await records.update_assistant(_uid(), {"name": "x"})))
    out.append(norm(await records.assistant_versions(ids["a"])))
    out.append(norm(await records.set_latest_assistant_version(ids["a"], 1)))
    out.append(norm(await records.set_latest_assistant_version(ids["a"], 9)))
    out.append(norm(await records.get_assistant(ids["a"])))
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
    out.append(norm(await records.update_thread(_uid(), status="busy")))
    out.append(norm(await records.get_run(ids["r"])))
    out.append(norm(await records.get_run(ids["r"], thread_id=_uid())))
    out.append(norm(await records.list_runs(ids["t"], limit=5)))
    out.append(norm(await records.active_runs(ids["t"])))
    out.append(norm(await records.set_run_status(ids["r"], "success")))
    out.append(norm(await records.list_runs(ids["t"], status="success")))
    out.append(norm(await records.active_runs(ids["t"])))
    out.append(norm(await records.list_threads(ids=[ids["t"], _uid()])))
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


async def test_postgres_records_match_sqlite(tmp_path):
    from evergraph.adapter.records.postgres import PostgresRecords

    ids = {"a": _uid(), "t": _uid(), "r": _uid()}
    sqlite = await Records(tmp_path / "r.sqlite").open()
    pg = await PostgresRecords(PG_URI).open()
    try:
        expected = await _script(sqlite, ids)
        got = await _script(pg, ids)
    finally:
        await sqlite.close()
        await pg.close()
    assert got == expected
    assert expected[0][1] is True and expected[1][1] is False  # the script checks something


async def test_concurrent_writers_keep_put_run_and_versions_consistent():
    from evergraph.adapter.records.postgres import PostgresRecords

    # two "processes": separate pools
    p1 = await PostgresRecords(PG_URI).open()
    p2 = await PostgresRecords(PG_URI).open()
    try:
        tid, aid = _uid(), _uid()
        t = new_thread(tid, {})
        results = await asyncio.gather(*[(p1 if i % 2 else p2).put_thread(t, if_exists="do_nothing") for i in range(10)])
        assert sum(created for _, created in results) == 1
        a = {"assistant_id": aid, "graph_id": "chain", "config": {}, "context": {}, "metadata": {}, "name": "n",
             "description": None, "version": 1, "created_at": "x", "updated_at": "x"}
        await p1.put_assistant(a)
        await asyncio.gather(*[(p1 if i % 2 else p2).update_assistant(aid, {"name": f"n{i}"}) for i in range(10)])
        versions = [v["version"] for v in await p2.assistant_versions(aid)]
        assert versions == list(range(11, 0, -1))
        run_ids = [_uid() for _ in range(10)]
        base = {"thread_id": tid, "assistant_id": aid, "created_at": "c", "updated_at": "c", "status": "pending",
                "metadata": {}, "multitask_strategy": None, "kwargs": {}, "on_completion": None}
        await asyncio.gather(*[(p1 if i % 2 else p2).put_run({**base, "run_id": r}) for i, r in enumerate(run_ids)])
        assert len(await p1.active_runs(tid)) == 10
        assert (await p2.get_thread(tid))["status"] == "busy"
        await p1.delete_thread(tid)
        await p1.delete_assistant(aid)
    finally:
        await p1.close()
        await p2.close()


async def test_postgres_checkpointer_deletes_runs_and_collapses():
    """The Postgres saver behind SharedSaver: rollback deletes a run's checkpoints,
    durability=exit collapse keeps the last one re-parented, a second process sees it."""
    from langgraph.graph import END, START, StateGraph
    from typing_extensions import TypedDict

    from evergraph.adapter.graphs.checkpoint import open_postgres_checkpointer

    class S(TypedDict):
        log: list[str]

    def step(name):
        return lambda s: {"log": s["log"] + [name]}

    builder = StateGraph(S)
    for n in ("a", "b", "c"):
        builder.add_node(n, step(n))
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "c")
    builder.add_edge("c", END)

    async with AsyncExitStack() as stack:
        saver = await open_postgres_checkpointer(PG_URI, stack)
        other = await open_postgres_checkpointer(PG_URI, stack)
        graph = builder.compile(checkpointer=saver)
        tid = _uid()
        cfg = {"configurable": {"thread_id": tid}}
        r1, r2 = _uid(), _uid()
        await graph.ainvoke({"log": []}, {**cfg, "metadata": {"run_id": r1}})
        n1 = len([t async for t in saver.alist(cfg)])
        await graph.ainvoke({"log": ["again"]}, {**cfg, "metadata": {"run_id": r2}})
        assert len([t async for t in saver.alist(cfg)]) == 2 * n1
        await saver.adelete_for_runs([r2])
        state = await builder.compile(checkpointer=other).aget_state(cfg)
        assert state.values == {"log": ["a", "b", "c"]}
        assert len([t async for t in other.alist(cfg)]) == n1
        # collapse run r1: one root checkpoint of r1 remains, parented on what preceded r1 (none)
        await saver.acollapse_run(tid, r1)
        left = [t async for t in other.alist(cfg)]
        assert len(left) == 1 and left[0].parent_config is None
        assert (await builder.compile(checkpointer=other).aget_state(cfg)).values == {"log": ["a", "b", "c"]}
        await saver.adelete_thread(tid)
        assert [t async for t in other.alist(cfg)] == []
