"""Graphs moving large values (tests/test_payloads.py): a run input, a node write,
a resume value, each of any size."""

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt


class State(TypedDict, total=False):
    doc: str
    size: int
    made: str
    seen: int
    answer: Any


def grow(state: State) -> State:
    """Reads the input document; writes ``size`` characters when asked to."""
    out: State = {"seen": len(state.get("doc") or "")}
    if state.get("size"):
        out["made"] = "x" * state["size"]
    return out


def ask(state: State) -> State:
    """Waits for an answer of any size."""
    return {"answer": interrupt({"seen": state.get("seen", 0)})}


_p = StateGraph(State)
_p.add_node("grow", grow)
_p.add_edge(START, "grow")
_p.add_edge("grow", END)
#: one node: reads ``doc``, writes ``made`` of ``size`` characters
payloads = _p.compile()

_a = StateGraph(State)
_a.add_node("grow", grow)
_a.add_node("ask", ask)
_a.add_edge(START, "grow")
_a.add_edge("grow", "ask")
_a.add_edge("ask", END)
#: grow, then interrupt for an answer
payloads_ask = _a.compile()
