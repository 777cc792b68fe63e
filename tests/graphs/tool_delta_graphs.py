"""Graph for tests/test_protocol_errors.py: a tool that streams its output.

* ``proto_tool_delta``: ``ChatOpenAI`` (``langchain-openai``) against the provider
  server named by ``configurable.provider_url`` (tests/providers.py, whose script calls
  the offered tool with the user's text), bound to ``spell``, and LangGraph's
  ``ToolNode``. ``spell`` streams each letter of its ``query`` through LangGraph's
  ``ToolRuntime.emit_output_delta`` before it answers.
"""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, ToolRuntime, tools_condition


@tool
def spell(query: str, runtime: ToolRuntime) -> str:
    """Spell ``query`` out letter by letter."""
    for letter in query:
        runtime.emit_output_delta(letter)
    return f"spelled {query}"


async def agent(state: MessagesState, config: RunnableConfig) -> dict:
    """The model step, bound to ``spell``."""
    model = ChatOpenAI(model="gpt-tools", base_url=config["configurable"]["provider_url"], api_key="test",
                       max_retries=0)
    return {"messages": [await model.bind_tools([spell]).ainvoke(state["messages"])]}


_g = StateGraph(MessagesState)
_g.add_node("agent", agent)
_g.add_node("tools", ToolNode([spell]))
_g.add_edge(START, "agent")
_g.add_conditional_edges("agent", tools_condition)
_g.add_edge("tools", "agent")
#: agent → (tool call) tools → agent → END
proto_tool_delta = _g.compile()
