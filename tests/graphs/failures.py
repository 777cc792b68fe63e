"""Graphs whose runs make Evergraph's own activities fail (tests/test_activity_failures.py)."""

from __future__ import annotations

import asyncio
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph


class FactoryError(RuntimeError):
    """What :func:`broken_factory` raises."""


def broken_factory(config):
    """A graph factory that cannot build its graph: every call raises, so the run's
    driver, node attempts and ``finish_run`` cannot build it either."""
    raise FactoryError("cannot build the graph: the factory's settings are missing")


class Bag(TypedDict, total=False):
    sleep: float
    data: Any


async def tuple_keys(state: Bag) -> Bag:
    """Returns a dict keyed by a tuple: LangGraph's checkpointer stores it, JSON cannot."""
    if state.get("sleep"):
        await asyncio.sleep(state["sleep"])
    return {"data": {(1, 2): "a tuple key"}}


_u = StateGraph(Bag)
_u.add_node("tuple_keys", tuple_keys)
_u.add_edge(START, "tuple_keys")
_u.add_edge("tuple_keys", END)
#: ends with a state value the API cannot send as JSON
unserialisable = _u.compile()
