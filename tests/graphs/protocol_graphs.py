"""Graphs for the v2 thread-protocol tests (tests/test_protocol_full.py).

* ``proto_tools``: a tool-calling agent: ``ChatOpenAI`` (``langchain-openai``) with
  :func:`weather` bound, and LangGraph's ``ToolNode``. The model's base URL is
  the run's ``configurable.provider_url`` (the tests' local provider server of
  tests/providers.py), so the session's server needs no provider settings.
* ``proto_create_agent``: the same model and tool in LangChain's ``create_agent``
  (a graph factory: the model is built per run).
* ``proto_subagents``: a supervisor running two subagents as subgraphs, one after
  the other, ``researcher`` (which itself runs a ``lookup`` subgraph) and
  ``critic``; each subagent answers with a streamed fake chat model.
* ``proto_extensions``: a node emitting extension events (``{name, payload}``
  through the stream writer) and one plain custom event.
"""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AnyMessage
from langchain_core.runnables import RunnableConfig
from langchain_openai import ChatOpenAI
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode, tools_condition


async def weather(city: str) -> str:
    """The weather in ``city``."""
    return f"Sunny, 21 degrees in {city}"


async def agent(state: MessagesState, config: RunnableConfig) -> dict:
    """The model step: ``ChatOpenAI`` with :func:`weather` bound, against the
    provider server named by ``configurable.provider_url``."""
    url = config["configurable"]["provider_url"]
    model = ChatOpenAI(model="gpt-proto", base_url=url, api_key="test", stream_usage=True)
    reply = await model.bind_tools([weather]).ainvoke(state["messages"])
    return {"messages": [reply]}


_t = StateGraph(MessagesState)
_t.add_node("agent", agent)
_t.add_node("tools", ToolNode([weather]))
_t.add_edge(START, "agent")
_t.add_conditional_edges("agent", tools_condition)
_t.add_edge("tools", "agent")
proto_tools = _t.compile()


def proto_create_agent(config: RunnableConfig):
    """LangChain's ``create_agent`` (one ``Send`` per tool call) with the same model
    and tool, built per run for the run's ``configurable.provider_url``."""
    url = (config.get("configurable") or {}).get("provider_url") or "http://127.0.0.1:9/v1"
    model = ChatOpenAI(model="gpt-proto", base_url=url, api_key="test", stream_usage=True)
    return create_agent(model, tools=[weather])


class SubState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    notes: list[str]


def _fake(text: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(content=text)]))


async def lookup_step(state: SubState) -> dict:
    reply = await _fake("looked up sources").ainvoke(state["messages"])
    return {"messages": [reply]}


_l = StateGraph(SubState)
_l.add_node("search", lookup_step)
_l.add_edge(START, "search")
_l.add_edge("search", END)
lookup = _l.compile()


async def research_step(state: SubState) -> dict:
    reply = await _fake("research findings ready").ainvoke(state["messages"])
    return {"messages": [reply]}


_r = StateGraph(SubState)
_r.add_node("lookup", lookup)
_r.add_node("write", research_step)
_r.add_edge(START, "lookup")
_r.add_edge("lookup", "write")
_r.add_edge("write", END)
researcher = _r.compile()


async def critic_step(state: SubState) -> dict:
    reply = await _fake("critique looks fine").ainvoke(state["messages"])
    return {"messages": [reply]}


_c = StateGraph(SubState)
_c.add_node("review", critic_step)
_c.add_edge(START, "review")
_c.add_edge("review", END)
critic = _c.compile()

_s = StateGraph(SubState)
_s.add_node("researcher", researcher)
_s.add_node("critic", critic)
_s.add_edge(START, "researcher")
_s.add_edge("researcher", "critic")
_s.add_edge("critic", END)
proto_subagents = _s.compile()


class ExtState(TypedDict, total=False):
    steps: list[int]


def emit(state: ExtState) -> dict[str, Any]:
    """Three ``progress`` extension events, one ``status`` event, one plain custom
    event."""
    write = get_stream_writer()
    for step in (1, 2, 3):
        write({"name": "progress", "payload": {"step": step}})
    write({"name": "status", "payload": "done"})
    write({"plain": True})
    return {"steps": [1, 2, 3]}


_e = StateGraph(ExtState)
_e.add_node("emit", emit)
_e.add_edge(START, "emit")
_e.add_edge("emit", END)
proto_extensions = _e.compile()

_p = StateGraph(SubState)
_p.add_node("researcher", researcher)
_p.add_node("critic", critic)
_p.add_edge(START, "researcher")
_p.add_edge(START, "critic")
_p.add_edge("researcher", END)
_p.add_edge("critic", END)
#: the two subagents in parallel (one superstep)
proto_parallel = _p.compile()


# ---------------------------------------------------------------- reasoning model

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

#: what :class:`ReasoningModel` streams: reasoning slices in the three forms models
#: send them (LangChain's v1 ``reasoning`` block, an Anthropic ``thinking`` block,
#: ``additional_kwargs.reasoning_content``), then the answer's text
REASONING_CHUNKS = [
    {"content": [{"type": "reasoning", "reasoning": "Let me ", "index": 0}]},
    {"content": [{"type": "thinking", "thinking": "think it ", "index": 0}]},
    {"content": "", "additional_kwargs": {"reasoning_content": "through."}},
    {"content": "The answer "},
    {"content": "is 42."},
]


class ReasoningModel(BaseChatModel):
    """A chat model streaming :data:`REASONING_CHUNKS` (no provider)."""

    @property
    def _llm_type(self) -> str:
        return "reasoning-fake"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content="The answer is 42."))])

    async def _astream(self, messages, stop=None, run_manager=None, **kwargs):
        for i, fields in enumerate(REASONING_CHUNKS):
            last = i == len(REASONING_CHUNKS) - 1
            yield ChatGenerationChunk(message=AIMessageChunk(**fields, chunk_position="last" if last else None))


async def think(state: MessagesState) -> dict:
    reply = await ReasoningModel().ainvoke(state["messages"])
    return {"messages": [reply]}


_th = StateGraph(MessagesState)
_th.add_node("think", think)
_th.add_edge(START, "think")
_th.add_edge("think", END)
#: one node calling :class:`ReasoningModel`
proto_reasoning = _th.compile()
