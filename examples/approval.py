"""Human approval with `interrupt()`.

draft  -> proposes an action for the request
review -> pauses the run with interrupt({"question": "Approve?", "action": ...});
          the run resumes with Command(resume=<answer>)
act    -> runs only if the answer was an approval; otherwise the run ends.

An answer approves when it is True, a string such as "yes"/"approve", or a
dict with a truthy "approved" key. No checkpointer is set: interrupts need one
and the server provides it.
"""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt


class State(TypedDict, total=False):
    request: str
    action: str
    approved: bool
    result: str


def draft(state: State) -> dict:
    request = state.get("request") or "do nothing"
    return {"action": f"execute: {request}"}


def _is_approval(answer: Any) -> bool:
    if isinstance(answer, dict):
        return bool(answer.get("approved"))
    if isinstance(answer, str):
        return answer.strip().lower() in {"y", "yes", "ok", "approve", "approved", "true"}
    return answer is True


def review(state: State) -> dict:
    answer = interrupt({"question": "Approve?", "action": state["action"]})
    return {"approved": _is_approval(answer)}


def act(state: State) -> dict:
    return {"result": f"done: {state['action']}"}


def after_review(state: State) -> str:
    return "act" if state.get("approved") else END


builder = StateGraph(State)
builder.add_node("draft", draft)
builder.add_node("review", review)
builder.add_node("act", act)
builder.add_edge(START, "draft")
builder.add_edge("draft", "review")
builder.add_conditional_edges("review", after_review, ["act", END])
builder.add_edge("act", END)

graph = builder.compile()
