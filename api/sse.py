"""SSE and long-poll responses in langgraph-api 0.16.7's wire format.

SSE: ``text/event-stream; charset=utf-8``, CRLF line ends, fields in the order
``event``, ``data``, ``id`` (``id`` only for resumable streams), a ``: heartbeat``
comment every 5 s while idle. sse-starlette writes ``id`` before ``event``; the
framing here is written out because the order is part of what clients see.

Long-poll JSON (``/wait``, ``/join``): headers and 200 at once, a ``\\n`` every 5 s
while the run is in progress, then the JSON body.
"""

from __future__ import annotations

import asyncio
import logging
from typing import AsyncIterator, Awaitable, Callable

import orjson
from starlette.responses import StreamingResponse

from evergraph.adapter.broker.protocol import StreamEvent
from evergraph.adapter.observability.metrics import observe_broker_lag, sse_stream

__all__ = [
    "HEARTBEAT",
    "error_frame",
    "SSE_HEADERS",
    "frame",
    "longpoll_response",
    "sse_frames",
    "sse_response",
    "with_heartbeats",
]

logger = logging.getLogger(__name__)

SSE_HEADERS = {"cache-control": "no-store", "x-accel-buffering": "no"}


def frame(event: StreamEvent, *, with_id: bool) -> bytes:
    """One SSE event: ``event:``, ``data:``, optional ``id:``, blank line (CRLF)."""
    out = b"event: " + event.event.encode() + b"\r\ndata: " + event.data + b"\r\n"
    if with_id:
        out += b"id: " + event.id.encode() + b"\r\n"
    return out + b"\r\n"


HEARTBEAT = b": heartbeat\r\n\r\n"


def error_frame(exc: BaseException) -> bytes:
    """The ``error`` event langgraph-api sends for a failed stream, ``{"error":
    "<ExceptionClass>", "message": "..."}`` (no ``id:``: it is not a stored event),
    for ``exc``."""
    data = orjson.dumps({"error": type(exc).__name__, "message": getattr(exc, "message", None) or str(exc)})
    return b"event: error\r\ndata: " + data + b"\r\n\r\n"


async def sse_frames(events: AsyncIterator[StreamEvent], *, with_id: bool) -> AsyncIterator[bytes]:
    """Each of ``events`` as an SSE frame (:func:`frame`); closing the frames closes
    ``events``. If ``events`` raises (e.g. the stream broker's
    :class:`~adapter.errors.Unavailable`), the stream ends with an ``error`` event
    (:func:`error_frame`), never silently short: clients take ``error`` as the end."""
    try:
        try:
            async for event in events:
                observe_broker_lag(event.id)  # evergraph_broker_lag_seconds
                yield frame(event, with_id=with_id)
        except Exception as exc:
            logger.warning("stream ended by an error: %r", exc)
            yield error_frame(exc)
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


async def with_heartbeats(events: AsyncIterator[bytes], interval: float) -> AsyncIterator[bytes]:
    """Interleave ``HEARTBEAT`` comments every ``interval`` seconds of silence."""
    iterator = events.__aiter__()
    pending: asyncio.Future | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(iterator.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=interval)
            if not done:
                yield HEARTBEAT
                continue
            try:
                item = pending.result()
            except StopAsyncIteration:
                return
            finally:
                pending = None
            yield item
    finally:
        if pending is not None:
            # let the cancelled step finish before closing the generator it runs
            # (``aclose`` on a running async generator raises RuntimeError)
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


def sse_response(
    body: AsyncIterator[bytes],
    *,
    headers: dict[str, str],
    interval: float,
    on_disconnect: Callable[[], Awaitable[None]] | None = None,
) -> StreamingResponse:
    """A streaming SSE response; ``on_disconnect`` runs if the client leaves early."""

    async def gen() -> AsyncIterator[bytes]:
        finished = False
        try:
            with sse_stream():  # evergraph_sse_streams_open
                async for chunk in with_heartbeats(body, interval):
                    yield chunk
            finished = True
        finally:
            if not finished and on_disconnect is not None:
                await asyncio.shield(on_disconnect())

    return StreamingResponse(
        gen(),
        media_type="text/event-stream; charset=utf-8",
        headers={**SSE_HEADERS, **headers},
    )


def longpoll_response(
    result: Callable[[], Awaitable[bytes]],
    *,
    headers: dict[str, str],
    interval: float,
    on_disconnect: Callable[[], Awaitable[None]] | None = None,
) -> StreamingResponse:
    """200 at once, ``\\n`` padding every ``interval`` s, then the bytes ``result()`` gives."""

    async def gen() -> AsyncIterator[bytes]:
        task = asyncio.ensure_future(result())
        finished = False
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=interval)
                if done:
                    break
                yield b"\n"
            yield task.result()
            finished = True
        finally:
            if not task.done():
                task.cancel()
            if not finished and on_disconnect is not None:
                await asyncio.shield(on_disconnect())

    return StreamingResponse(gen(), media_type="application/json", headers=headers)
