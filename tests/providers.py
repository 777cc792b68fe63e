"""Local stand-ins for model providers' HTTP APIs, for tests that use the real client
libraries (``openai``, ``anthropic``, ``langchain-openai``, ``langchain-anthropic``,
``httpx``) against loopback.

:class:`ProviderServer` is one uvicorn server on ``127.0.0.1`` (a free port, in a
background thread of the test process) that speaks

* the OpenAI Chat Completions API, ``POST /v1/chat/completions``: a JSON
  ``chat.completion``, or with ``"stream": true`` Server-Sent Events of
  ``chat.completion.chunk`` objects ending with ``data: [DONE]`` (text deltas,
  tool-call deltas, and with ``stream_options.include_usage`` a final chunk with empty
  ``choices`` and the ``usage``);
* the Anthropic Messages API, ``POST /v1/messages``: a JSON ``message``, or with
  ``"stream": true`` the events ``message_start``, ``content_block_start``,
  ``content_block_delta`` (``text_delta`` / ``input_json_delta``),
  ``content_block_stop``, ``message_delta`` and ``message_stop``; tool calls are
  ``tool_use`` blocks.

Both answer from one deterministic script (:func:`script`): offered tools and a last
message from the user → one call of the first tool, its first string parameter set to
the user's text; a tool result last → ``"Tool said: <result>"``; anything else →
``"Echo: <last message's text>"``. Connections are ordinary HTTP/1.1 keep-alive
connections (uvicorn's), so clients that pool connections reuse them across requests.
:class:`Stats` counts requests per endpoint and model, distinct client connections,
and requests in flight, so tests can assert the server was really used.
"""

from __future__ import annotations

import asyncio
import collections
import json
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

OPENAI_CHAT = "openai.chat_completions"
ANTHROPIC_MESSAGES = "anthropic.messages"


@dataclass
class Reply:
    """What the script answers: either ``text`` or one tool call.

    Attributes:
        text: the assistant's text (``None`` for a tool call).
        tool_name: name of the called tool.
        tool_args: the tool call's arguments (a JSON object).
        prompt_tokens: input size reported as usage (words in the request's messages).
    """

    text: str | None
    tool_name: str | None = None
    tool_args: dict[str, Any] | None = None
    prompt_tokens: int = 0

    def pieces(self) -> list[str]:
        """The text split into stream tokens: each word with its leading blanks."""
        return re.findall(r"\s*\S+", self.text or "")


def _text(content: Any) -> str:
    """Text of an OpenAI / Anthropic message content: a string, or a list of parts or
    blocks (``text`` parts; ``tool_result`` blocks contribute their content)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    out = []
    for part in content:
        if isinstance(part, str):
            out.append(part)
        elif part.get("type") == "text":
            out.append(part.get("text", ""))
        elif part.get("type") == "tool_result":
            out.append(_text(part.get("content")))
    return "".join(out)


def _first_string_param(schema: dict[str, Any]) -> str:
    props = schema.get("properties") or {}
    for name in schema.get("required") or list(props):
        if (props.get(name) or {}).get("type", "string") == "string":
            return name
    return next(iter(props), "input")


def script(messages: list[dict[str, Any]], tools: list[tuple[str, dict[str, Any]]]) -> Reply:
    """The deterministic answer to a conversation.

    Args:
        messages: the conversation in a neutral shape, oldest first: dicts with
            ``role`` (``"user"``, ``"assistant"``, ``"tool"``) and ``text``.
        tools: offered tools as ``(name, JSON schema of the arguments)``.

    Returns:
        A tool call when tools are offered and the last message is the user's; text
        with the tool's result when the last message is a tool result; otherwise an
        echo of the last message's text.
    """
    prompt_tokens = sum(len(m["text"].split()) for m in messages) or 1
    last = messages[-1] if messages else {"role": "user", "text": ""}
    if last["role"] == "tool":
        return Reply(text=f"Tool said: {last['text']}", prompt_tokens=prompt_tokens)
    if tools and last["role"] == "user":
        name, schema = tools[0]
        return Reply(
            text=None, tool_name=name, tool_args={_first_string_param(schema): last["text"]},
            prompt_tokens=prompt_tokens,
        )
    return Reply(text=f"Echo: {last['text']}", prompt_tokens=prompt_tokens)


def _sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    body = data if isinstance(data, str) else json.dumps(data)
    return f"{head}data: {body}\n\n".encode()


def _json_pieces(args: dict[str, Any]) -> list[str]:
    """A JSON object's text cut into a few fragments, as providers stream arguments."""
    raw = json.dumps(args)
    step = max(1, len(raw) // 3)
    return [raw[i : i + step] for i in range(0, len(raw), step)]


@dataclass
class Stats:
    """What the server saw; safe to read from any thread.

    Attributes:
        requests: count per ``(endpoint, model, streamed)``.
        include_usage: streamed OpenAI requests that asked for a usage chunk, per model.
        connections: distinct client connections ``(host, port)`` per endpoint.
        in_flight_max: the most requests of one model being answered at once.
    """

    requests: collections.Counter = field(default_factory=collections.Counter)
    include_usage: collections.Counter = field(default_factory=collections.Counter)
    connections: dict[str, set] = field(default_factory=lambda: collections.defaultdict(set))
    in_flight: collections.Counter = field(default_factory=collections.Counter)
    in_flight_max: collections.Counter = field(default_factory=collections.Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, endpoint: str, model: str | None = None, streamed: bool | None = None) -> int:
        """Requests to ``endpoint``, optionally only of ``model`` and/or only streamed
        (``True``) or non-streamed (``False``) ones."""
        with self.lock:
            return sum(
                n
                for (e, m, s), n in self.requests.items()
                if e == endpoint and model in (None, m) and streamed in (None, s)
            )

    def connection_count(self, endpoint: str) -> int:
        """Distinct client connections that sent requests to ``endpoint``."""
        with self.lock:
            return len(self.connections[endpoint])

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able copy, for failure messages."""
        with self.lock:
            return {
                "requests": {f"{e} {m} {'stream' if s else 'plain'}": n for (e, m, s), n in self.requests.items()},
                "include_usage": dict(self.include_usage),
                "connections": {e: len(c) for e, c in self.connections.items()},
                "in_flight_max": dict(self.in_flight_max),
            }


class ProviderServer:
    """OpenAI- and Anthropic-compatible HTTP server on loopback (see the module doc).

    Args:
        delays: seconds each answer to a model waits before its first byte, by model
            name, to stand for a model's latency (models not listed answer at once).

    Attributes:
        url: ``http://127.0.0.1:<port>`` once started; the OpenAI base URL is
            ``url + "/v1"``, the Anthropic base URL is ``url``.
        stats: what the server saw.
    """

    def __init__(self, delays: dict[str, float] | None = None) -> None:
        self.delays = dict(delays or {})
        self.stats = Stats()
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._openai, methods=["POST"]),
                Route("/v1/messages", self._anthropic, methods=["POST"]),
            ]
        )

    @property
    def openai_base_url(self) -> str:
        """Base URL for OpenAI clients (``base_url=``), ending in ``/v1``."""
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """Base URL for Anthropic clients (``base_url=``)."""
        return self.url

    def start(self) -> "ProviderServer":
        """Listen on a free loopback port and serve from a daemon thread. The socket
        listens before this returns, so clients can connect at once."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(512)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        # keep-alive well above any pause in the tests, so an idle pooled connection is
        # not closed by the server just as a client reuses it (clients would retry then)
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", timeout_keep_alive=120)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="provider-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wait for the server thread to end."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)

    # -- bookkeeping ---------------------------------------------------------

    async def _enter(self, request: Request, endpoint: str, model: str, streamed: bool) -> None:
        with self.stats.lock:
            self.stats.requests[(endpoint, model, streamed)] += 1
            if request.client is not None:
                self.stats.connections[endpoint].add((request.client.host, request.client.port))
            self.stats.in_flight[model] += 1
            self.stats.in_flight_max[model] = max(self.stats.in_flight_max[model], self.stats.in_flight[model])
        if delay := self.delays.get(model):
            await asyncio.sleep(delay)  # the model's latency

    def _leave(self, model: str) -> None:
        with self.stats.lock:
            self.stats.in_flight[model] -= 1

    async def _respond(self, request: Request, endpoint: str, model: str, streamed: bool, make) -> Response:
        """Count the request, then answer with ``make()``: a JSON body, or for a
        streamed request an async iterator of SSE frames."""
        await self._enter(request, endpoint, model, streamed)
        if not streamed:
            try:
                return JSONResponse(make())
            finally:
                self._leave(model)

        async def frames() -> AsyncIterator[bytes]:
            try:
                async for frame in make():
                    yield frame
            finally:
                self._leave(model)

        return StreamingResponse(frames(), media_type="text/event-stream", headers={"cache-control": "no-cache"})

    # -- OpenAI Chat Completions ---------------------------------------------

    async def _openai(self, request: Request) -> Response:
        body = await request.json()
        model = body.get("model", "")
        streamed = bool(body.get("stream"))
        usage_chunk = bool((body.get("stream_options") or {}).get("include_usage"))
        if streamed and usage_chunk:
            with self.stats.lock:
                self.stats.include_usage[model] += 1
        messages = [
            {"role": m.get("role"), "text": _text(m.get("content"))}
            for m in body.get("messages", [])
            if m.get("role") in ("user", "assistant", "tool")
        ]
        tools = [
            (t["function"]["name"], t["function"].get("parameters") or {})
            for t in body.get("tools") or []
            if t.get("type") == "function"
        ]
        reply = script(messages, tools)
        ident = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        call_id = f"call_{uuid.uuid4().hex[:24]}"
        completion_tokens = len(reply.pieces()) if reply.text is not None else len(_json_pieces(reply.tool_args or {}))
        usage = {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": reply.prompt_tokens + completion_tokens,
        }
        finish = "stop" if reply.text is not None else "tool_calls"

        def whole() -> dict[str, Any]:
            message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
            if reply.text is None:
                message["tool_calls"] = [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": reply.tool_name, "arguments": json.dumps(reply.tool_args)},
                    }
                ]
            return {
                "id": ident,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                "usage": usage,
            }

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
            data = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            }
            if usage_chunk:
                data["usage"] = None
            return _sse(data)

        async def stream() -> AsyncIterator[bytes]:
            yield chunk({"role": "assistant", "content": "" if reply.text is not None else None, "refusal": None})
            if reply.text is not None:
                for piece in reply.pieces():
                    yield chunk({"content": piece})
            else:
                yield chunk(
                    {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": call_id,
                                "type": "function",
                                "function": {"name": reply.tool_name, "arguments": ""},
                            }
                        ]
                    }
                )
                for piece in _json_pieces(reply.tool_args or {}):
                    yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
            yield chunk({}, finish)
            if usage_chunk:
                yield _sse(
                    {
                        "id": ident,
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": model,
                        "choices": [],
                        "usage": usage,
                    }
                )
            yield _sse("[DONE]")

        return await self._respond(request, OPENAI_CHAT, model, streamed, stream if streamed else whole)

    # -- Anthropic Messages --------------------------------------------------

    async def _anthropic(self, request: Request) -> Response:
        body = await request.json()
        model = body.get("model", "")
        streamed = bool(body.get("stream"))
        messages = []
        for m in body.get("messages", []):
            content = m.get("content")
            is_result = isinstance(content, list) and any(
                isinstance(b, dict) and b.get("type") == "tool_result" for b in content
            )
            messages.append({"role": "tool" if is_result else m.get("role"), "text": _text(content)})
        tools = [(t["name"], t.get("input_schema") or {}) for t in body.get("tools") or [] if "name" in t]
        reply = script(messages, tools)
        ident = f"msg_{uuid.uuid4().hex[:24]}"
        tool_id = f"toolu_{uuid.uuid4().hex[:24]}"
        stop_reason = "end_turn" if reply.text is not None else "tool_use"
        output_tokens = len(reply.pieces()) if reply.text is not None else len(_json_pieces(reply.tool_args or {}))

        def message(content: list[dict[str, Any]], stop: str | None, out_tokens: int) -> dict[str, Any]:
            return {
                "id": ident,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content,
                "stop_reason": stop,
                "stop_sequence": None,
                "usage": {"input_tokens": reply.prompt_tokens, "output_tokens": out_tokens},
            }

        def whole() -> dict[str, Any]:
            if reply.text is not None:
                block = {"type": "text", "text": reply.text}
            else:
                block = {"type": "tool_use", "id": tool_id, "name": reply.tool_name, "input": reply.tool_args}
            return message([block], stop_reason, output_tokens)

        async def stream() -> AsyncIterator[bytes]:
            yield _sse({"type": "message_start", "message": message([], None, 1)}, "message_start")
            yield _sse({"type": "ping"}, "ping")
            if reply.text is not None:
                start = {"type": "text", "text": ""}
                deltas = [{"type": "text_delta", "text": p} for p in reply.pieces()]
            else:
                start = {"type": "tool_use", "id": tool_id, "name": reply.tool_name, "input": {}}
                deltas = [{"type": "input_json_delta", "partial_json": p} for p in _json_pieces(reply.tool_args or {})]
            yield _sse({"type": "content_block_start", "index": 0, "content_block": start}, "content_block_start")
            for delta in deltas:
                yield _sse({"type": "content_block_delta", "index": 0, "delta": delta}, "content_block_delta")
            yield _sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
            yield _sse(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": output_tokens},
                },
                "message_delta",
            )
            yield _sse({"type": "message_stop"}, "message_stop")

        return await self._respond(request, ANTHROPIC_MESSAGES, model, streamed, stream if streamed else whole)
