"""Graphs with a ``messages`` state for the A2A tests (tests/test_a2a.py): a chat
model that streams its reply token by token (or, asked to ``use the tool``, calls a
tool first; asked to ``fail``, raises), an agent that asks a question with
``interrupt()`` before answering, and one that waits (for cancellation)."""

import asyncio
from typing import Annotated, TypedDict

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import interrupt


class State(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    note: str


def _last_text(state: State) -> str:
    return str(state["messages"][-1].content) if state.get("messages") else ""


async def reply(state: State) -> State:
    """Answer ``echo: <last message>`` through a chat model that streams each word."""
    if _last_text(state) == "fail":
        raise ValueError("asked to fail")
    if _last_text(state) == "use the tool":
        call = {"name": "lookup", "args": {"q": "answer"}, "id": "call-1", "type": "tool_call"}
        return {
            "messages": [
                AIMessage(content="", tool_calls=[call]),
                ToolMessage(content="42", tool_call_id="call-1", name="lookup"),
                AIMessage(content="The answer is 42."),
            ]
        }
    text = f"echo: {_last_text(state)}" + (f" ({state['note']})" if state.get("note") else "")
    model = GenericFakeChatModel(messages=iter([AIMessage(content=text)]))
    return {"messages": [await model.ainvoke(state["messages"])]}


def ask(state: State) -> State:
    """Ask for a name with ``interrupt()``, then greet it."""
    name = interrupt({"question": "What is your name?"})
    return {"messages": [AIMessage(content=f"Hello, {name}!")]}


async def wait(state: State) -> State:
    """Wait until cancelled (at most an hour)."""
    await asyncio.sleep(3600)
    return {"messages": [AIMessage(content="done waiting")]}


def _one(name: str, node) -> object:
    return StateGraph(State).add_node(name, node).add_edge(START, name).add_edge(name, END).compile()


echo = _one("reply", reply)
asker = _one("ask", ask)
waiter = _one("wait", wait)
