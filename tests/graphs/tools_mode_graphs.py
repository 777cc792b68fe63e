"""Graph for tests/test_tools_mode.py (the ``tools`` run stream mode).

* ``tools_mode``: a tool-calling agent: ``ChatOpenAI`` (``langchain-openai``) against
  the provider server named by the run's ``configurable.provider_url`` (tests/
  providers.py, whose script calls the first offered tool with the user's text),
  bound to the one tool named by ``configurable.tool``, and LangGraph's ``ToolNode``
  with all three tools (tool errors handled: the error goes back to the model):
  ``lookup`` answers, ``explode`` raises, ``progress`` writes two chunks through
  ``get_stream_writer()`` before answering.
* ``tools_mode_nested``: one node ``outer`` running ``tools_mode`` as a subgraph.
"""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.config import get_stream_writer
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition


@tool
def lookup(query: str) -> str:
    """Look ``query`` up and say what was found."""
    return f"found {query}"


@tool
def explode(query: str) -> str:
    """Fail on ``query``."""
    raise ValueError(f"cannot look up {query}")


@tool
def progress(query: str) -> str:
    """Look ``query`` up, reporting progress through the stream writer."""
    writer = get_stream_writer()
    writer({"step": 1, "of": query})
    writer({"step": 2, "of": query})
    return f"done {query}"


TOOLS = {t.name: t for t in (lookup, explode, progress)}


async def agent(state: MessagesState, config: RunnableConfig) -> dict:
    """The model step, bound to the tool ``configurable.tool`` (``lookup`` by default)."""
    conf = config["configurable"]
    model = ChatOpenAI(model="gpt-tools", base_url=conf["provider_url"], api_key="test", max_retries=0)
    reply = await model.bind_tools([TOOLS[conf.get("tool") or "lookup"]]).ainvoke(state["messages"])
    return {"messages": [reply]}


_g = StateGraph(MessagesState)
_g.add_node("agent", agent)
_g.add_node("tools", ToolNode(list(TOOLS.values()), handle_tool_errors=True))
_g.add_edge(START, "agent")
_g.add_conditional_edges("agent", tools_condition)
_g.add_edge("tools", "agent")
#: agent → (tool call) tools → agent → END
tools_mode = _g.compile()


async def _outer(state: MessagesState) -> dict:
    return await tools_mode.ainvoke(state)


_n = StateGraph(MessagesState)
_n.add_node("outer", _outer)
_n.add_edge(START, "outer")
#: one node running ``tools_mode`` as a subgraph (its tool events are namespaced)
tools_mode_nested = _n.compile()
