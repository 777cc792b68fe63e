"""Node timeouts with LangGraph's `TimeoutPolicy` (langgraph >= 1.2).

Pick a node with the input's `mode`, e.g. ``{"mode": "heartbeat"}``:

* ``slow_sync``      sync node, ``run_timeout=1`` s, sleeps 3 s -> times out
                     (only on Evergraph, see below).
* ``blocking_async`` async node that blocks the event loop with
                     ``time.sleep(3)``, ``idle_timeout=1`` s.
* ``heartbeat``      async node, ``idle_timeout=1`` s, ``refresh_on="heartbeat"``;
                     works 2 s in total but calls ``runtime.heartbeat()`` every
                     0.5 s -> finishes.
* ``stream_progress`` async node, ``idle_timeout=1`` s (``refresh_on="auto"``);
                     writes a custom stream event every 0.5 s, which counts as
                     progress -> finishes.
* ``ok``             fast node (also the fallback for an unknown mode).

Every node appends one line to ``log``.

Why ``graph`` is the uncompiled builder: plain LangGraph accepts
``add_node(..., timeout=...)`` on a sync function, but ``builder.compile()``
then raises (observed with langgraph 1.2.22)::

    ValueError: Node timeouts are only supported for async nodes because sync
    Python execution cannot be safely cancelled in-process. Node 'slow_sync'
    is sync.

so a compiled graph cannot be built here. Servers (``langgraph dev`` and
Evergraph) accept a ``StateGraph`` builder and compile it themselves;
Evergraph relaxes the sync-timeout check because it runs each node as a
Temporal activity, which it can time out and abandon from outside. Under plain
``langgraph dev`` this graph therefore fails to load; drop ``slow_sync`` to try
the other nodes there.
"""

from __future__ import annotations

import asyncio
import operator
import time
from typing import Annotated, TypedDict

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import TimeoutPolicy


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    mode: str


def slow_sync(state: State) -> dict:
    # A sync node cannot be cancelled in-process: plain LangGraph refuses the
    # timeout at compile time. On Evergraph the 1 s run_timeout fires while the
    # node is still sleeping, so this node fails with a timeout.
    time.sleep(3)
    return {"log": ["slow_sync: finished (the timeout did not fire)"]}


async def blocking_async(state: State) -> dict:
    # time.sleep() blocks the event loop, so asyncio-based cancellation cannot
    # run until the node returns. In plain LangGraph 1.2.22 this node finishes
    # after 3 s despite idle_timeout=1 (see TimeoutPolicy's "Cooperative
    # cancellation" note). A timeout enforced from outside the process (as a
    # Temporal activity timeout is) does not depend on the loop being free.
    time.sleep(3)
    return {"log": ["blocking_async: finished (the timeout did not fire)"]}


async def heartbeat(state: State, runtime: Runtime) -> dict:
    # LangGraph injects `runtime` into a node that declares this parameter.
    # Under refresh_on="heartbeat" only runtime.heartbeat() resets the 1 s
    # idle timer, so 4 x 0.5 s of work succeeds although it takes ~2 s.
    for _ in range(4):
        await asyncio.sleep(0.5)
        runtime.heartbeat()
    return {"log": ["heartbeat: finished after 4 heartbeats"]}


async def stream_progress(state: State) -> dict:
    # Under refresh_on="auto" custom stream writes count as progress, so the
    # 1 s idle timeout is reset every 0.5 s and the node finishes (~2 s).
    write = get_stream_writer()
    for i in range(1, 5):
        await asyncio.sleep(0.5)
        write({"progress": i, "of": 4})
    return {"log": ["stream_progress: finished after 4 stream events"]}


def ok(state: State) -> dict:
    # No timeout, returns immediately.
    return {"log": ["ok: finished"]}


_NODES = ("slow_sync", "blocking_async", "heartbeat", "stream_progress", "ok")


def route(state: State) -> str:
    mode = state.get("mode", "ok")
    return mode if mode in _NODES else "ok"


builder = StateGraph(State)
builder.add_node("slow_sync", slow_sync, timeout=TimeoutPolicy(run_timeout=1.0))
builder.add_node(
    "blocking_async", blocking_async, timeout=TimeoutPolicy(idle_timeout=1.0)
)
builder.add_node(
    "heartbeat",
    heartbeat,
    timeout=TimeoutPolicy(idle_timeout=1.0, refresh_on="heartbeat"),
)
builder.add_node(
    "stream_progress", stream_progress, timeout=TimeoutPolicy(idle_timeout=1.0)
)
builder.add_node("ok", ok)
builder.add_conditional_edges(START, route, list(_NODES))
for _name in _NODES:
    builder.add_edge(_name, END)

# Not compiled here: builder.compile() raises ValueError because of the sync
# node with a timeout (see the module docstring). The server compiles it.
graph = builder
