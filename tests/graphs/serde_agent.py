"""LangChain's ``create_agent`` with a name and one tool, on a real ``ChatOpenAI``
client that talks to :class:`tests.providers.ProviderServer` (the test sets
``PROVIDER_OPENAI_BASE_URL``); config tests/graphs/langgraph_serde.json, used by
tests/test_serialization.py."""

from __future__ import annotations

import os

from langchain.agents import create_agent
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI


@tool
def lookup(city: str) -> str:
    """Look up the weather of a city."""
    return f"sunny in {city}"


MODEL = ChatOpenAI(model="gpt-4o", base_url=os.environ["PROVIDER_OPENAI_BASE_URL"], api_key="test")

#: a named agent: its AI messages carry ``name="helper"``
agent = create_agent(MODEL, tools=[lookup], name="helper")
