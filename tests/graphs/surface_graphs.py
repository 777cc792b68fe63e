"""Graphs for tests/test_surface.py (the rest of the official REST surface).

* ``surface_steps``: ``one`` → ``two`` over a state of three keys (``a``, ``b``,
  ``log``), so a history ``select`` of some keys and of ``values.<key>`` has
  something to leave out;
* ``surface_wait``: one node that sleeps ``sleep`` seconds (0 by default), so a run
  stays ``running`` until it is cancelled;
* ``surface_tools``: a tool-calling agent, a ``ChatOpenAI`` model (langchain-openai)
  bound to one tool, against the OpenAI-compatible server whose base URL is
  ``PROVIDER_OPENAI_BASE_URL`` (tests/providers.py); the model is built when the node
  runs, so the module imports without that variable.
"""

import asyncio
import operator
import os
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AnyMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode, tools_condition


class StepsState(TypedDict, total=False):
    a: int
    b: str
    log: Annotated[list[str], operator.add]


def _one(state: StepsState) -> StepsState:
    return {"a": (state.get("a") or 0) + 1, "log": ["one"]}


def _two(state: StepsState) -> StepsState:
    return {"b": f"a is {state.get('a')}", "log": ["two"]}


_steps = StateGraph(StepsState)
_steps.add_node("one", _one)
_steps.add_node("two", _two)
_steps.add_edge(START, "one")
_steps.add_edge("one", "two")
_steps.add_edge("two", END)
#: START → one (a += 1) → two (b = "a is <a>") → END
surface_steps = _steps.compile()


class WaitState(TypedDict, total=False):
    sleep: float
    done: bool


async def _wait(state: WaitState) -> WaitState:
    await asyncio.sleep(float(state.get("sleep") or 0))
    return {"done": True}


_waiting = StateGraph(WaitState)
_waiting.add_node("wait", _wait)
_waiting.add_edge(START, "wait")
_waiting.add_edge("wait", END)
#: one node that sleeps ``sleep`` seconds
surface_wait = _waiting.compile()


@tool
def lookup(query: str) -> str:
    """Look ``query`` up and say what was found."""
    return f"found {query}"


class AgentState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]


async def _model(state: AgentState) -> dict[str, Any]:
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(
        model="surface-model",
        base_url=os.environ.get("PROVIDER_OPENAI_BASE_URL", "http://127.0.0.1:9/v1"),
        api_key="test-key",
        max_retries=0,
    ).bind_tools([lookup])
    return {"messages": [await model.ainvoke(state["messages"])]}


_agent = StateGraph(AgentState)
_agent.add_node("model", _model)
_agent.add_node("tools", ToolNode([lookup]))
_agent.add_edge(START, "model")
_agent.add_conditional_edges("model", tools_condition)
_agent.add_edge("tools", "model")
#: model → (tool call) tools → model → END
surface_tools = _agent.compile()
