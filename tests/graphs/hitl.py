"""Graphs for human-in-the-loop, double-texting and cancel tests."""

import asyncio
import operator
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, AnyMessage
from langgraph.channels.delta import DeltaChannel
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import interrupt


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    answers: Annotated[list[Any], operator.add]


def _log(name: str):
    def node(state: State) -> State:
        return {"log": [name]}

    node.__name__ = name
    return node


def _ask(name: str):
    def node(state: State) -> State:
        answer = interrupt({"question": f"approve {name}?"})
        return {"log": [name], "answers": [answer]}

    node.__name__ = name
    return node


def _graph(edges: list[tuple[str, str]], nodes: dict, **compile_kwargs):
    b = StateGraph(State)
    for name, fn in nodes.items():
        b.add_node(name, fn)
    for a, c in edges:
        b.add_edge(a, c)
    return b.compile(**compile_kwargs)


#: draft -> ask (interrupt) -> act
approval = _graph(
    [(START, "draft"), ("draft", "ask"), ("ask", "act"), ("act", END)],
    {"draft": _log("draft"), "ask": _ask("ask"), "act": _log("act")},
)

#: two nodes of one superstep both interrupt
parallel_ask = _graph(
    [(START, "left"), (START, "right"), ("left", "join"), ("right", "join"), ("join", END)],
    {"left": _ask("left"), "right": _ask("right"), "join": _log("join")},
)

_inner = _graph([(START, "inner_ask"), ("inner_ask", END)], {"inner_ask": _ask("inner_ask")})

#: the interrupt happens inside a subgraph node
sub_ask = _graph(
    [(START, "before"), ("before", "sub"), ("sub", "after"), ("after", END)],
    {"before": _log("before"), "sub": _inner, "after": _log("after")},
)

#: a static breakpoint set at compile time
breakpoints = _graph(
    [(START, "one"), ("one", "two"), ("two", "three"), ("three", END)],
    {"one": _log("one"), "two": _log("two"), "three": _log("three")},
    interrupt_before=["two"],
)

#: the same chain without compile-time breakpoints (for per-run/assistant ones)
steps = _graph(
    [(START, "one"), ("one", "two"), ("two", "three"), ("three", END)],
    {"one": _log("one"), "two": _log("two"), "three": _log("three")},
)


class ChatState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    sleep: float
    marker: str


async def respond(state: ChatState) -> ChatState:
    """Sleeps ``sleep`` seconds, touches ``marker`` (a file path) if given, then
    answers the last message."""
    if state.get("sleep"):
        await asyncio.sleep(state["sleep"])
    if state.get("marker"):
        Path(state["marker"]).write_text("node finished")
    return {"messages": [AIMessage(content=f"echo: {state['messages'][-1].content}")]}


_chat = StateGraph(ChatState)
_chat.add_node("respond", respond)
_chat.add_edge(START, "respond")
_chat.add_edge("respond", END)
#: one slow-able chat turn (double texting and cancel)
chat = _chat.compile()


def _concat(state: list[str], writes: list[list[str]]) -> list[str]:
    """``DeltaChannel`` reducer: append every batch of writes, in order."""
    return [*state, *(item for batch in writes for item in batch)]


class DeltaState(TypedDict, total=False):
    log: Annotated[list[str], DeltaChannel(_concat)]


def _delta_log(name: str):
    def node(state: DeltaState) -> DeltaState:
        return {"log": [name]}

    node.__name__ = name
    return node


_delta = StateGraph(DeltaState)
for _name in ("one", "two", "three"):
    _delta.add_node(_name, _delta_log(_name))
_delta.add_edge(START, "one")
_delta.add_edge("one", "two")
_delta.add_edge("two", "three")
_delta.add_edge("three", END)
#: ``steps`` with ``log`` in a ``DeltaChannel`` (stored as writes, rebuilt from ancestors)
delta_steps = _delta.compile()
