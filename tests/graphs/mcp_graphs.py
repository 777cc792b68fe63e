"""Graphs that ``tests/test_mcp.py`` calls as MCP tools through ``/mcp``."""

from typing import Any

from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import interrupt
from typing_extensions import TypedDict


class EchoIn(TypedDict):
    text: str


class EchoState(EchoIn, total=False):
    reply: str


def _shout(state: EchoState) -> dict:
    return {"reply": state["text"].upper()}


#: ``{"text"}`` in, ``{"text", "reply"}`` out; no interrupt
echo = (
    StateGraph(EchoState, input_schema=EchoIn).add_node("shout", _shout).add_edge(START, "shout").add_edge("shout", END)
).compile()


class AskState(TypedDict, total=False):
    question: str
    answer: Any


def _ask(state: AskState) -> dict:
    return {"answer": interrupt(f"May I {state['question']}?")}


#: stops on ``interrupt("May I <question>?")``; the answer becomes ``answer``
ask = StateGraph(AskState).add_node("ask", _ask).add_edge(START, "ask").add_edge("ask", END).compile()

FORM = {
    "type": "object",
    "properties": {"approved": {"type": "boolean"}, "note": {"type": "string"}},
    "required": ["approved"],
}


def _form(state: AskState) -> dict:
    return {"answer": interrupt({"review": state["question"]}, response_schema=FORM)}


#: stops on an interrupt that brings its own ``response_schema`` (a flat form)
form = StateGraph(AskState).add_node("form", _form).add_edge(START, "form").add_edge("form", END).compile()


def _reply(state: MessagesState) -> dict:
    return {"messages": [{"role": "ai", "content": f"heard {len(state['messages'])}"}]}


#: a messages graph: its tool schema takes the user message as one string
chat = StateGraph(MessagesState).add_node("reply", _reply).add_edge(START, "reply").add_edge("reply", END).compile()
