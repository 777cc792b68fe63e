"""A deterministic, offline chat model for the Evergraph examples and tests.

`FakeChatModel` is a real `BaseChatModel` subclass (not a mock): it goes through
LangChain's normal invoke/stream machinery, so callbacks such as
`on_llm_new_token` fire and LangGraph's `stream_mode="messages"` sees one chunk
per word.

Policy (identical for invoke and stream, so tests can assert on it):

1. The last message is a `ToolMessage` -> answer
   ``"The result is: <content>."`` where ``<content>`` is the text of the
   trailing tool message(s) (several are joined with ``"; "``), with one
   trailing ``"."`` removed before the final ``"."`` is added.
2. The last message is a `HumanMessage`, tools are bound and the text triggers
   one of them -> an `AIMessage` with empty content and a single tool call
   whose id is ``"call_<n>"``, ``n`` being 1 + the number of tool calls
   already present in the conversation:
   * text contains "weather" (any case) and a tool named ``get_weather`` is
     bound -> ``get_weather(city=<last capitalized word, not counting the
     first word, or "Paris">)``;
   * text contains a digit and a ``+`` or ``*`` and a tool named
     ``calculator`` is bound -> ``calculator(expression=<the longest run of
     digits, spaces, . + - * / ( )>)``.
3. Otherwise -> ``"You said: <text of the last human message>"``.

Text is streamed word by word: the first chunk is the first word and every
following chunk is ``" " + word``, so concatenating the chunks gives exactly
the full text. The final chunk has ``chunk_position="last"`` and carries
``finish_reason`` in its response metadata. A tool call is streamed as one
chunk holding the tool call chunk (name, id, JSON args), which is also the
final chunk.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

MODEL_NAME = "evergraph-fake"

# A run of characters that can make up an arithmetic expression.
_EXPR_RUN = re.compile(r"[0-9.\s+\-*/()]+")


def _text_of(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    # List-of-blocks content: keep the text parts.
    parts: list[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "".join(parts)


def _city_from(text: str) -> str:
    words = [re.sub(r"[^A-Za-z\-]", "", w) for w in text.split()[1:]]
    capitalized = [w for w in words if w and w[0].isupper() and w != "I"]
    return capitalized[-1] if capitalized else "Paris"


def _expression_from(text: str) -> str | None:
    if not re.search(r"\d", text) or not re.search(r"[+*]", text):
        return None
    candidates = [
        m.group(0).strip()
        for m in _EXPR_RUN.finditer(text)
        if re.search(r"\d", m.group(0))
    ]
    if not candidates:
        return None
    expr = max(candidates, key=len)
    # Drop a sentence-final period ("2 + 2.").
    return expr.rstrip(".").strip() or None


class FakeChatModel(BaseChatModel):
    """Deterministic fake chat model with tool calling and word-level streaming."""

    token_delay: float = 0.0
    """Seconds to sleep before each streamed chunk (0 = no delay)."""

    tools: list[dict[str, Any]] | None = None
    """OpenAI-format tool schemas set by `bind_tools`."""

    tool_choice: Any = None
    """Recorded from `bind_tools`; not otherwise used."""

    @property
    def _llm_type(self) -> str:
        return MODEL_NAME

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": MODEL_NAME, "token_delay": self.token_delay}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: Any = None,
        **kwargs: Any,
    ) -> FakeChatModel:
        """Return a copy of this model that knows about `tools`."""
        schemas = [convert_to_openai_tool(t) for t in tools]
        return self.model_copy(update={"tools": schemas, "tool_choice": tool_choice})

    # ------------------------------------------------------------------ policy

    def _tool_names(self) -> set[str]:
        return {t["function"]["name"] for t in (self.tools or []) if "function" in t}

    def _decide(self, messages: list[BaseMessage]) -> tuple[str, dict[str, Any] | None]:
        """Return (text, tool_call) for the conversation; exactly one is non-empty."""
        if not messages:
            return "You said: ", None
        last = messages[-1]

        if isinstance(last, ToolMessage):
            results: list[str] = []
            for m in reversed(messages):
                if not isinstance(m, ToolMessage):
                    break
                results.append(_text_of(m))
            content = "; ".join(reversed(results)).strip()
            if content.endswith("."):
                content = content[:-1]
            return f"The result is: {content}.", None

        if isinstance(last, HumanMessage):
            text = _text_of(last)
            names = self._tool_names()
            call: dict[str, Any] | None = None
            if "get_weather" in names and "weather" in text.lower():
                call = {"name": "get_weather", "args": {"city": _city_from(text)}}
            elif "calculator" in names and (expr := _expression_from(text)):
                call = {"name": "calculator", "args": {"expression": expr}}
            if call is not None:
                n = 1 + sum(
                    len(m.tool_calls) for m in messages if isinstance(m, AIMessage)
                )
                call["id"] = f"call_{n}"
                return "", call
            return f"You said: {text}", None

        last_human = next(
            (m for m in reversed(messages) if isinstance(m, HumanMessage)), None
        )
        return f"You said: {_text_of(last_human) if last_human else ''}", None

    @staticmethod
    def _metadata(finish_reason: str) -> dict[str, Any]:
        return {"model_name": MODEL_NAME, "finish_reason": finish_reason}

    def _chunks(self, messages: list[BaseMessage]) -> Iterator[ChatGenerationChunk]:
        text, call = self._decide(messages)
        if call is not None:
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content="",
                    tool_call_chunks=[
                        {
                            "type": "tool_call_chunk",
                            "name": call["name"],
                            "args": json.dumps(call["args"]),
                            "id": call["id"],
                            "index": 0,
                        }
                    ],
                    chunk_position="last",
                    response_metadata=self._metadata("tool_calls"),
                )
            )
            return
        words = text.split(" ")
        for i, word in enumerate(words):
            is_last = i == len(words) - 1
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content=word if i == 0 else " " + word,
                    chunk_position="last" if is_last else None,
                    response_metadata=self._metadata("stop") if is_last else {},
                )
            )

    # --------------------------------------------------------- LangChain hooks
    # `_stream`/`_astream` only yield chunks: BaseChatModel itself reports each
    # one to the callbacks (`on_llm_new_token`), and it uses them for
    # invoke/ainvoke too whenever a streaming callback handler is attached
    # (e.g. LangGraph's stream_mode="messages").

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text, call = self._decide(messages)
        if call is not None:
            message = AIMessage(
                content="",
                tool_calls=[{**call, "type": "tool_call"}],
                response_metadata=self._metadata("tool_calls"),
            )
        else:
            message = AIMessage(content=text, response_metadata=self._metadata("stop"))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in self._chunks(messages):
            if self.token_delay:
                time.sleep(self.token_delay)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._chunks(messages):
            if self.token_delay:
                await asyncio.sleep(self.token_delay)
            yield chunk
