"""Small graphs the test-suite drives through the API."""

import asyncio
import operator
import os
from pathlib import Path
from typing import Annotated, TypedDict

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    n: int
    sleep: float
    counter_file: str


def _step(name: str, count: bool = True):
    async def node(state: State) -> State:
        get_stream_writer()({"node": name})
        if state.get("sleep"):
            await asyncio.sleep(state["sleep"])
        if not count:
            return {"log": [name]}
        return {"log": [name], "n": state.get("n", 0) + 1}

    node.__name__ = name
    return node


def _chain(n: int) -> StateGraph:
    b = StateGraph(State)
    names = [f"step{i}" for i in range(1, n + 1)]
    for name in names:
        b.add_node(name, _step(name))
    b.add_edge(START, names[0])
    for a, c in zip(names, names[1:]):
        b.add_edge(a, c)
    b.add_edge(names[-1], END)
    return b


#: 3 async nodes in a row
chain = _chain(3).compile()

#: fan-out / fan-in: a -> (b, c) -> d
_p = StateGraph(State)
for _n in "abcd":
    _p.add_node(_n, _step(_n, count=False))
_p.add_edge(START, "a")
_p.add_edge("a", "b")
_p.add_edge("a", "c")
_p.add_edge(["b", "c"], "d")
_p.add_edge("d", END)
parallel = _p.compile()


class Boom(ValueError):
    """The error the failing graph raises."""


async def explode(state: State) -> State:
    raise Boom("the node exploded")


_f = StateGraph(State)
_f.add_node("ok", _step("ok", count=False))
_f.add_node("explode", explode)
_f.add_edge(START, "ok")
_f.add_edge("ok", "explode")
_f.add_edge("explode", END)
failing = _f.compile()


def flaky_node(state: State) -> State:
    """Fails until it has been called 3 times (counted in a file), then succeeds."""
    path = Path(state["counter_file"])
    calls = int(path.read_text() or "0") + 1 if path.exists() else 1
    path.write_text(str(calls))
    if calls < 3:
        raise ConnectionError(f"transient failure {calls}")
    return {"log": [f"flaky after {calls} calls"]}


_fl = StateGraph(State)
_fl.add_node("flaky", flaky_node, retry_policy=RetryPolicy(max_attempts=3, initial_interval=0.1, jitter=False))
_fl.add_edge(START, "flaky")
_fl.add_edge("flaky", END)
flaky = _fl.compile()

#: one node that sleeps ``state["sleep"]`` seconds (for cancel and double-texting)
slow = _chain(1).compile()


def make_graph(config):
    """A factory taking the run's config, as langgraph.json allows."""
    tag = os.environ.get("EVERGRAPH_TEST_ENV", "unset")

    async def env_node(state: State) -> State:
        return {"log": [f"env={tag}"]}

    b = StateGraph(State)
    b.add_node("env_node", env_node)
    b.add_edge(START, "env_node")
    b.add_edge("env_node", END)
    return b.compile()


#: two parallel nodes writing the same single-value key: LangGraph's
#: InvalidUpdateError when the superstep's writes are applied
_c = StateGraph(State)
_c.add_node("left", _step("left"))
_c.add_node("right", _step("right"))
_c.add_edge(START, "left")
_c.add_edge(START, "right")
_c.add_edge(["left", "right"], END)
conflict = _c.compile()
