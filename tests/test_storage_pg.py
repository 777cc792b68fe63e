"""LangGraph's Postgres checkpointer with Evergraph's deletion helpers, on PostgreSQL
(``EVERGRAPH_TEST_POSTGRES_URI``, set by ``.ci/run``).

The Postgres record store runs the record store conformance suite
(tests/test_record_store_conformance.py), with the SQLite one."""

from __future__ import annotations

import os
import uuid
from contextlib import AsyncExitStack

import pytest

PG_URI = os.environ.get("EVERGRAPH_TEST_POSTGRES_URI")
pytestmark = pytest.mark.skipif(
    not PG_URI, reason="EVERGRAPH_TEST_POSTGRES_URI is not set (.ci/run starts a PostgreSQL server and sets it)"
)


def _uid() -> str:
    return str(uuid.uuid4())


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
