"""Graphs for the stream-mode tests (tests/test_stream_modes.py).

``agent`` and ``nested`` have the shape of the graphs langgraph-api 0.16.7's stream
modes were observed with, so event sequences and payloads can be compared with what
it sent. ``gated`` streams tokens from a chat model and, after the first
token, waits for a file to appear: only a client that received that token while the
node runs can create it.
"""

import asyncio
import operator
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AnyMessage
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.runtime import Runtime

#: what the fake model answers; it streams one chunk per word and per space
ANSWER = "hello from the fake model"


class State(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    log: Annotated[list[str], operator.add]
    gate: str


@dataclass
class Context:
    user: str | None = None


def _model(text: str = ANSWER) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(content=text)]))


def writer(state: State, runtime: Runtime[Context]) -> State:
    """Reports progress through the stream writer and logs the context's user."""
    write = get_stream_writer()
    write({"progress": "start"})
    user = runtime.context.user if runtime.context else None
    write({"progress": "done"})
    return {"log": [f"writer(user={user})"]}


def route(state: State) -> str:
    return "chat"


async def chat(state: State) -> State:
    """Answers with the fake chat model (streamed token by token when a stream
    handler listens)."""
    reply = await _model().ainvoke(state["messages"])
    return {"messages": [reply], "log": ["chat"]}


_a = StateGraph(State, context_schema=Context)
_a.add_node("writer", writer)
_a.add_node("chat", chat)
_a.add_edge(START, "writer")
_a.add_conditional_edges("writer", route, ["chat"])
_a.add_edge("chat", END)
#: writer (custom events) -> route -> chat (fake model), as in the graph langgraph-api
#: 0.16.7 was observed with
agent = _a.compile()


class LogState(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def inner_step(state: LogState) -> LogState:
    get_stream_writer()({"inner": True})
    return {"log": ["inner_step"]}


_i = StateGraph(LogState)
_i.add_node("inner_step", inner_step)
_i.add_edge(START, "inner_step")
_i.add_edge("inner_step", END)

_n = StateGraph(LogState)
_n.add_node("inner", _i.compile())
_n.add_edge(START, "inner")
_n.add_edge("inner", END)
#: a node that is a subgraph, as in the ``nested`` graph langgraph-api 0.16.7 was
#: observed with
nested = _n.compile()


async def _wait_for_file(path: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not Path(path).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"nobody opened the gate {path}")
        await asyncio.sleep(0.02)


async def talk(state: State) -> State:
    """Streams the fake model's answer; after the first token, waits until the
    file ``state["gate"]`` exists, then streams the rest."""
    chunks: list[Any] = []
    async for chunk in _model("one two three").astream(state["messages"]):
        chunks.append(chunk)
        if len(chunks) == 1:
            await _wait_for_file(state["gate"])
    message = chunks[0]
    for c in chunks[1:]:
        message = message + c
    return {"messages": [AIMessage(content=message.content, id=message.id)], "log": ["talk"]}


_g = StateGraph(State)
_g.add_node("talk", talk)
_g.add_edge(START, "talk")
_g.add_edge("talk", END)
#: one node whose model stream pauses after the first token until a file appears
gated = _g.compile()


_ic = StateGraph(State)
_ic.add_node("chat", chat)
_ic.add_edge(START, "chat")
_ic.add_edge("chat", END)

_nc = StateGraph(State)
_nc.add_node("inner", _ic.compile())
_nc.add_edge(START, "inner")
_nc.add_edge("inner", END)
#: the fake model called inside a subgraph node (namespaced token events)
nested_chat = _nc.compile()
