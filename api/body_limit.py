"""The request body size limit: a body longer than ``Settings.max_request_bytes``
(``EVERGRAPH_MAX_REQUEST_BYTES`` / ``HTTP_MAX_REQUEST_BODY_BYTES``, default 300 MiB as
langgraph-api 0.16) is answered 413 ``{"detail": "Request body too large (limit: N
bytes)"}`` — langgraph-api's status and wording — before any route sees it, so a
refused request records nothing.

The body is counted as it streams in (a ``Content-Length`` that is already too large
is refused without reading; a chunked upload is refused when its count passes the
limit) and handed to the app only once it is complete and within the limit. The rest
of a refused body is read and dropped, up to :data:`DRAIN_BYTES`, so that a client
still uploading gets to read the answer instead of a reset connection.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

import orjson

__all__ = ["DRAIN_BYTES", "BodyLimitMiddleware", "too_large"]

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: bytes of a refused body read and dropped before answering (more: the answer is
#: sent at once and the connection may be reset under the client)
DRAIN_BYTES = 64 * 1024 * 1024


def too_large(limit: int) -> str:
    """The 413 detail for ``limit`` bytes (langgraph-api's wording)."""
    return f"Request body too large (limit: {limit} bytes)"


class BodyLimitMiddleware:
    """ASGI middleware refusing HTTP request bodies longer than ``max_bytes``.

    Args:
        app: the ASGI app it wraps.
        max_bytes: the largest body accepted, in bytes.
    """

    def __init__(self, app: Callable[..., Awaitable[None]], max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(receive, send, more=declared <= self.max_bytes + DRAIN_BYTES)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(receive, send, more=message.get("more_body", False))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # e.g. http.disconnect, for streaming responses

        await self.app(scope, replay, send)

    async def _refuse(self, receive: Receive, send: Send, *, more: bool) -> None:
        """Drop the rest of the body (up to :data:`DRAIN_BYTES`), then answer 413."""
        drained = 0
        while more and drained < DRAIN_BYTES:
            message = await receive()
            if message["type"] != "http.request":
                return
            drained += len(message.get("body", b""))
            more = message.get("more_body", False)
        payload = orjson.dumps({"detail": too_large(self.max_bytes)})
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        if more:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
