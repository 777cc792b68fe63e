"""Node timeouts that in-process LangGraph cannot enforce, and two it can.

``builder`` is exported uncompiled on purpose: ``StateGraph.compile()`` refuses the sync
node with a timeout in plain LangGraph; Evergraph compiles it and enforces the
timeout in the Temporal server.
"""

import asyncio
import operator
import time
from typing import Annotated, TypedDict

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import TimeoutPolicy


class State(TypedDict, total=False):
    mode: str
    log: Annotated[list[str], operator.add]


def sync_sleep(state: State) -> State:
    time.sleep(3)
    return {"log": ["sync_sleep finished"]}


async def blocking_async(state: State) -> State:
    time.sleep(3)  # blocks the event loop: plain LangGraph overruns its idle timeout
    return {"log": ["blocking_async finished"]}


async def heartbeat(state: State, runtime: Runtime) -> State:
    for _ in range(4):
        await asyncio.sleep(0.5)
        runtime.heartbeat()
    return {"log": ["heartbeat finished"]}


async def silent(state: State) -> State:
    await asyncio.sleep(3)  # no progress signal at all
    return {"log": ["silent finished"]}


async def streaming(state: State) -> State:
    writer = get_stream_writer()
    for i in range(4):
        await asyncio.sleep(0.5)
        writer({"progress": i})
    return {"log": ["streaming finished"]}


builder = StateGraph(State)
builder.add_node("sync_sleep", sync_sleep, timeout=TimeoutPolicy(run_timeout=1.0))
builder.add_node("blocking_async", blocking_async, timeout=TimeoutPolicy(idle_timeout=1.0))
builder.add_node("heartbeat", heartbeat, timeout=TimeoutPolicy(idle_timeout=1.0, refresh_on="heartbeat"))
builder.add_node("silent", silent, timeout=TimeoutPolicy(idle_timeout=1.0, refresh_on="heartbeat"))
builder.add_node("streaming", streaming, timeout=TimeoutPolicy(idle_timeout=1.0))
builder.add_conditional_edges(
    START, lambda s: s["mode"], ["sync_sleep", "blocking_async", "heartbeat", "silent", "streaming"]
)
for _name in ("sync_sleep", "blocking_async", "heartbeat", "silent", "streaming"):
    builder.add_edge(_name, END)
