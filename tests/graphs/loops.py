"""Graphs for the node loop (adapter/execution/node_loop.py): a node that blocks the loop, a
chain of ordinary async nodes that must keep finishing meanwhile, and a node that
uses process-wide asyncio objects created at import time."""

import asyncio
import operator
import time
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import TimeoutPolicy

#: created once at import, as users create rate limiters and queues
LIMIT = asyncio.Semaphore(1)
EVENTS: asyncio.Queue = asyncio.Queue()


class State(TypedDict, total=False):
    seconds: float
    log: Annotated[list[str], operator.add]


async def block(state: State) -> State:
    time.sleep(state.get("seconds", 8))  # holds the node loop; idle_timeout=1 ends it
    return {"log": ["block finished"]}


blocker = (
    StateGraph(State)
    .add_node("block", block, timeout=TimeoutPolicy(idle_timeout=1.0))
    .add_edge(START, "block")
    .add_edge("block", END)
    .compile()
)


def _step(i: int):
    async def step(state: State) -> State:
        await asyncio.sleep(0.1)
        return {"log": [f"tick{i}"]}

    return step


_ticking = StateGraph(State)
_previous = START
for _i in range(8):
    _ticking.add_node(f"tick{_i}", _step(_i))
    _ticking.add_edge(_previous, f"tick{_i}")
    _previous = f"tick{_i}"
_ticking.add_edge(_previous, END)
ticking = _ticking.compile()


async def _limited(i: int) -> str:
    async with LIMIT:  # contended by the parallel branches: binds to the node loop
        await EVENTS.put(i)
        await asyncio.sleep(0.01)
        return f"got{await EVENTS.get()}"


def _branch(i: int):
    async def branch(state: State) -> State:
        return {"log": [await _limited(i)]}

    return branch


_shared = StateGraph(State)
for _i in range(4):
    _shared.add_node(f"b{_i}", _branch(_i))
    _shared.add_edge(START, f"b{_i}")
    _shared.add_edge(f"b{_i}", END)
shared = _shared.compile()
