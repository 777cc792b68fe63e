"""A graph whose state, stream writes, ``Send``s, ``Command``s and interrupts carry
every kind of value the API has to turn into JSON (tests/test_serialization.py):
LangChain messages (an ``AIMessage`` with tool calls, a ``ToolMessage``), a
``Document``, a pydantic model, a dataclass, datetimes, a UUID, bytes, a set.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import operator
import uuid
from typing import Annotated, Any, TypedDict

from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command, Send, interrupt
from pydantic import BaseModel


class Point(BaseModel):
    x: int
    y: float
    label: str | None = None


@dataclasses.dataclass
class Box:
    name: str
    size: int = 3


WHEN = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.timezone.utc)
NAIVE = dt.datetime(2024, 5, 6, 7, 8, 9)
DAY = dt.date(2024, 5, 6)
UID = uuid.UUID("12345678-1234-5678-1234-567812345678")


def values() -> dict[str, Any]:
    """The mixed bag every channel carries."""
    return {
        "point": Point(x=1, y=2.5),
        "box": Box("b"),
        "when": WHEN,
        "naive": NAIVE,
        "day": DAY,
        "uid": UID,
        "raw": b"bytes\x00\xff",
        "doc": Document(page_content="hello", metadata={"source": "s"}, id="doc-1"),
        "tags": ("a", "b"),
    }


class State(TypedDict, total=False):
    messages: Annotated[list, add_messages]
    items: Annotated[list, operator.add]
    bag: Any
    answer: Any


def start(state: State) -> State:
    get_stream_writer()({"bag": values(), "send": Send("fan", {"x": 0}), "command": Command(goto="finish", update={"a": 1})})
    return {
        "messages": [
            HumanMessage("hi", id="h-1"),
            AIMessage(
                "",
                id="ai-1",
                name="planner",
                tool_calls=[{"name": "lookup", "args": {"q": "x"}, "id": "call-1", "type": "tool_call"}],
            ),
            ToolMessage("found", tool_call_id="call-1", id="tool-1", name="lookup"),
        ],
        "bag": values(),
    }


def route(state: State) -> list[Send]:
    return [Send("fan", {"x": 1, "point": Point(x=3, y=4.0)}), Send("fan", {"x": 2, "point": Point(x=5, y=6.0)})]


def fan(arg: dict[str, Any]) -> Command:
    return Command(update={"items": [arg["x"]]}, goto="finish")


def finish(state: State) -> State:
    answer = interrupt({"question": "ok?", "point": Point(x=9, y=9.5, label="q"), "when": WHEN, "box": Box("i")})
    return {"answer": answer}


_b = StateGraph(State)
_b.add_node("start", start)
_b.add_node("fan", fan)
_b.add_node("finish", finish)
_b.add_edge(START, "start")
_b.add_conditional_edges("start", route, ["fan"])
_b.add_edge("finish", END)
#: start → Send × 2 → fan (Command goto) → finish (interrupt)
showcase = _b.compile()
