"""Graphs that use real model client libraries the way users write them: each client is
created ONCE, when this module is imported, and used from async nodes
(tests/test_model_clients.py, config tests/graphs/langgraph_models.json).

The clients talk to :class:`tests.providers.ProviderServer` on loopback; the test sets
``PROVIDER_OPENAI_BASE_URL`` (ending in ``/v1``) and ``PROVIDER_ANTHROPIC_BASE_URL``
for the ``evergraph`` processes. Process-wide objects like these belong to the event
loop they are first used on (``langchain-openai`` 1.7 and ``langchain-anthropic`` 1.7
keep one cached ``httpx.AsyncClient`` per base URL and timeout, see their
``_client_utils.py``, whose pooled connections belong to that loop; CPython's
``asyncio.Semaphore`` binds to the loop it first has to wait on), so they only keep
working when node code runs on a loop that outlives a node attempt.

Graphs (the test's "client kinds"):

* ``openai_chat``: ``ChatOpenAI.ainvoke`` (streamed by LangGraph's messages handler
  when the run streams ``messages-tuple``).
* ``openai_stream``: ``ChatOpenAI.astream`` in the node, token by token.
* ``openai_tools``: ``ChatOpenAI.bind_tools`` + LangGraph's ``ToolNode`` running
  :func:`weather`, in a hand-written ``StateGraph`` loop.
* ``init_chat``: ``init_chat_model("openai:gpt-4o-mini")`` in LangChain's
  ``create_agent`` loop with :func:`weather`.
* ``anthropic_agent``: ``ChatAnthropic`` in ``create_agent`` with :func:`weather`.
* ``openai_sdk``: the ``openai`` SDK's ``AsyncOpenAI``; two parallel nodes, one plain
  and one streamed (``stream_options.include_usage``) completion.
* ``httpx_client``: an ``httpx.AsyncClient``; two parallel nodes, a JSON POST and a
  streamed (SSE) POST to the Chat Completions endpoint.
* ``rate_limited``: four parallel nodes whose ``ChatOpenAI`` calls go through
  ``asyncio.Semaphore(2)``; each records whether it had to wait.
"""

from __future__ import annotations

import asyncio
import json
import operator
import os
from typing import Annotated, TypedDict

import httpx
from langchain.agents import create_agent
from langchain.chat_models import init_chat_model
from langchain_anthropic import ChatAnthropic
from langchain_core.messages import AIMessageChunk, message_chunk_to_message
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from openai import AsyncOpenAI


def _env(name: str) -> str:
    try:
        return os.environ[name]
    except KeyError:
        raise RuntimeError(f"{name} is not set: tests/test_model_clients.py sets it for the evergraph processes") from None


OPENAI_BASE_URL = _env("PROVIDER_OPENAI_BASE_URL")
ANTHROPIC_BASE_URL = _env("PROVIDER_ANTHROPIC_BASE_URL")

#: model names: the provider server counts requests per model
OPENAI_MODEL = "gpt-4o"
INIT_MODEL_NAME = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-haiku-4-5"
SDK_MODEL = "gpt-4.1"
HTTPX_MODEL = "gpt-4.1-nano"
LIMITED_MODEL_NAME = "gpt-4.1-mini"
#: calls of LIMITED_MODEL_NAME that may be in flight at once in one worker process
LIMIT_SLOTS = 2

# --- created once, at import time ------------------------------------------------

#: stream_usage: ask for the usage chunk (langchain-openai 1.7 only does so by default
#: for OpenAI's own base URL, chat_models/base.py)
CHAT_OPENAI = ChatOpenAI(model=OPENAI_MODEL, base_url=OPENAI_BASE_URL, api_key="test", stream_usage=True)
INIT_MODEL = init_chat_model(f"openai:{INIT_MODEL_NAME}", base_url=OPENAI_BASE_URL, api_key="test")
CHAT_ANTHROPIC = ChatAnthropic(model=ANTHROPIC_MODEL, base_url=ANTHROPIC_BASE_URL, api_key="test")
LIMITED_MODEL = ChatOpenAI(model=LIMITED_MODEL_NAME, base_url=OPENAI_BASE_URL, api_key="test")
OPENAI_SDK = AsyncOpenAI(base_url=OPENAI_BASE_URL, api_key="test")
HTTP = httpx.AsyncClient(base_url=OPENAI_BASE_URL, timeout=30)
#: rate-limits LIMITED_MODEL calls
LIMIT = asyncio.Semaphore(LIMIT_SLOTS)


@tool
async def weather(city: str) -> str:
    """The weather in ``city`` (a name); deterministic."""
    return f"Sunny, 21 degrees in {city}"


# --- ChatOpenAI -----------------------------------------------------------------


async def answer(state: MessagesState) -> dict:
    """One ``ChatOpenAI`` call on the conversation."""
    return {"messages": [await CHAT_OPENAI.ainvoke(state["messages"])]}


_chat = StateGraph(MessagesState)
_chat.add_node("answer", answer)
_chat.add_edge(START, "answer")
_chat.add_edge("answer", END)
openai_chat = _chat.compile()


class StreamState(MessagesState):
    """Messages, and ``chunks``: how many chunks the last ``astream`` gave."""

    chunks: int


async def stream_answer(state: StreamState) -> dict:
    """Streams a ``ChatOpenAI`` answer token by token; keeps the whole message (with
    the usage of the final usage chunk) and the number of chunks."""
    chunks: list[AIMessageChunk] = [c async for c in CHAT_OPENAI.astream(state["messages"])]
    whole = chunks[0]
    for c in chunks[1:]:
        whole = whole + c
    return {"messages": [message_chunk_to_message(whole)], "chunks": len(chunks)}


_stream = StateGraph(StreamState)
_stream.add_node("answer", stream_answer)
_stream.add_edge(START, "answer")
_stream.add_edge("answer", END)
openai_stream = _stream.compile()

CHAT_OPENAI_TOOLS = CHAT_OPENAI.bind_tools([weather])


async def agent(state: MessagesState) -> dict:
    """The model step of a tool-calling loop: ``ChatOpenAI`` with :func:`weather` bound."""
    return {"messages": [await CHAT_OPENAI_TOOLS.ainvoke(state["messages"])]}


_tools = StateGraph(MessagesState)
_tools.add_node("agent", agent)
_tools.add_node("tools", ToolNode([weather]))
_tools.add_edge(START, "agent")
_tools.add_conditional_edges("agent", tools_condition, ["tools", END])
_tools.add_edge("tools", "agent")
openai_tools = _tools.compile()

# --- init_chat_model and ChatAnthropic in LangChain's agent loop -------------------

init_chat = create_agent(INIT_MODEL, tools=[weather])
anthropic_agent = create_agent(CHAT_ANTHROPIC, tools=[weather])

# --- the openai SDK, httpx, a semaphore ---------------------------------------------


class PromptState(TypedDict, total=False):
    """``prompt`` (the run's input text), the nodes' ``replies`` and, per rate-limited
    call, whether it ``waited`` for the semaphore (both accumulate over a thread's runs)."""

    prompt: str
    replies: Annotated[list[str], operator.add]
    waited: Annotated[list[bool], operator.add]


async def sdk_create(state: PromptState) -> dict:
    """A plain completion with the module-level ``AsyncOpenAI``."""
    done = await OPENAI_SDK.chat.completions.create(
        model=SDK_MODEL, messages=[{"role": "user", "content": f"plain {state['prompt']}"}]
    )
    return {"replies": [done.choices[0].message.content]}


async def sdk_stream(state: PromptState) -> dict:
    """A streamed completion with the module-level ``AsyncOpenAI``; the reply ends with
    the usage chunk's ``completion_tokens``."""
    stream = await OPENAI_SDK.chat.completions.create(
        model=SDK_MODEL,
        messages=[{"role": "user", "content": f"streamed {state['prompt']}"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage = "", None
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        if chunk.usage is not None:
            usage = chunk.usage.completion_tokens
    return {"replies": [f"{text} [{usage} tokens]"]}


_sdk = StateGraph(PromptState)
_sdk.add_node("sdk_create", sdk_create)
_sdk.add_node("sdk_stream", sdk_stream)
_sdk.add_edge(START, "sdk_create")
_sdk.add_edge(START, "sdk_stream")
openai_sdk = _sdk.compile()


async def http_post(state: PromptState) -> dict:
    """A JSON POST with the module-level ``httpx.AsyncClient``."""
    response = await HTTP.post(
        "/chat/completions",
        json={"model": HTTPX_MODEL, "messages": [{"role": "user", "content": f"post {state['prompt']}"}]},
    )
    response.raise_for_status()
    return {"replies": [response.json()["choices"][0]["message"]["content"]]}


async def http_sse(state: PromptState) -> dict:
    """A streamed POST with the module-level ``httpx.AsyncClient``, reading the
    Server-Sent Events line by line."""
    text = ""
    body = {"model": HTTPX_MODEL, "stream": True, "messages": [{"role": "user", "content": f"sse {state['prompt']}"}]}
    async with HTTP.stream("POST", "/chat/completions", json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                for choice in json.loads(line[6:])["choices"]:
                    text += choice["delta"].get("content") or ""
    return {"replies": [text]}


_http = StateGraph(PromptState)
_http.add_node("http_post", http_post)
_http.add_node("http_sse", http_sse)
_http.add_edge(START, "http_post")
_http.add_edge(START, "http_sse")
httpx_client = _http.compile()


def _limited(n: int):
    async def limited(state: PromptState) -> dict:
        """A ``ChatOpenAI`` call rate-limited by the module-level semaphore; records
        whether the semaphore was taken when the node arrived."""
        waited = LIMIT.locked()
        async with LIMIT:
            reply = await LIMITED_MODEL.ainvoke(f"limited{n} {state['prompt']}")
        return {"replies": [reply.content], "waited": [waited]}

    return limited


_limit = StateGraph(PromptState)
for _n in range(4):
    _limit.add_node(f"limited{_n}", _limited(_n))
    _limit.add_edge(START, f"limited{_n}")
rate_limited = _limit.compile()
