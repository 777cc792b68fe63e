"""A graph that loops for as many supersteps as its input asks (continue-as-new test),
and a chain whose nodes count their executions in files (durability tests)."""

import asyncio
from pathlib import Path
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class LoopState(TypedDict, total=False):
    n: int
    target: int


async def tick(state: LoopState) -> LoopState:
    return {"n": state.get("n", 0) + 1}


def again(state: LoopState) -> str:
    return "tick" if state.get("n", 0) < state.get("target", 0) else END


_loop = StateGraph(LoopState)
_loop.add_node("tick", tick)
_loop.add_edge(START, "tick")
_loop.add_conditional_edges("tick", again, ["tick", END])
#: ``target`` supersteps of one trivial node each
loop = _loop.compile()


class CountState(TypedDict, total=False):
    dir: str
    sleep: float
    done: list


def _counted(name: str, slow: bool = False):
    async def node(state: CountState) -> CountState:
        folder = Path(state["dir"])
        (folder / f"{name}.started").open("a").write("x")
        if slow:
            (folder / "slow.running").write_text("1")
            await asyncio.sleep(state.get("sleep", 0))
        (folder / f"{name}.finished").open("a").write("x")
        return {"done": [*state.get("done", []), name]}

    node.__name__ = name
    return node


_counting = StateGraph(CountState)
for _name, _slow in (("first", False), ("second", False), ("slow", True), ("last", False)):
    _counting.add_node(_name, _counted(_name, _slow))
_counting.add_edge(START, "first")
_counting.add_edge("first", "second")
_counting.add_edge("second", "slow")
_counting.add_edge("slow", "last")
_counting.add_edge("last", END)
#: first -> second -> slow (sleeps ``sleep`` s) -> last; each node appends one
#: character to ``<dir>/<node>.started`` / ``.finished`` every time it runs
counting = _counting.compile()


class TickState(TypedDict, total=False):
    count: int
    every: float


async def ticker(state: TickState) -> TickState:
    """Emits ``count`` custom events ``{"tick": i}``, one every ``every`` seconds."""
    from langgraph.config import get_stream_writer

    write = get_stream_writer()
    for i in range(state["count"]):
        write({"tick": i})
        await asyncio.sleep(state.get("every", 0.05))
    return {}


_ticks = StateGraph(TickState)
_ticks.add_node("ticker", ticker)
_ticks.add_edge(START, "ticker")
_ticks.add_edge("ticker", END)
#: one node streaming numbered custom events (stream-cut test)
ticks = _ticks.compile()
