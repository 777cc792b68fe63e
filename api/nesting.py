"""Refuse request bodies nested deeper than :data:`~evergraph.api.models.MAX_JSON_DEPTH`
before anything parses them.

Python's JSON parser recurses once per level: a body nested a few hundred levels
deep fails inside FastAPI's body parsing (a 400 that names nothing) or, where a route
parses its own body, as an unhandled ``RecursionError`` (500). The records, the
checkpoints and the responses are written with orjson, which stops at 255 levels.
This middleware scans the raw bytes of every request body, without recursion, and
answers 422 ``{"detail": "<field>: nested deeper than <N> levels"}`` naming the
dotted path of the first container that is too deep (``body`` for the body
itself), in the shape :func:`~evergraph.api.models.check_json_value` uses.
"""

from __future__ import annotations

import json
import re
from typing import Any

from evergraph.api.models import MAX_JSON_DEPTH

__all__ = ["NestingLimitMiddleware", "too_deep"]

#: a JSON string (escapes included) or one structural character
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}:,]')
#: a JSON string, to blank out before counting brackets
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")

_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _printable(path: str) -> str:
    return (path or "body").encode("utf-8", "backslashreplace").decode("utf-8")


def _max_depth(brackets: bytes, limit: int) -> int:
    """Deepest nesting in a string of bracket characters (stops once above ``limit``)."""
    depth = deepest = 0
    for b in brackets:
        if b == 91 or b == 123:  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


def _path_too_deep(body: bytes, limit: int) -> str | None:
    """Dotted path (``a.b[0]``) of the first container at nesting level ``limit`` or
    deeper (the body itself is level 0), or ``None`` (also for malformed JSON, left
    to the parser)."""
    # frames: [is_object, path, index, key, expecting_key]
    stack: list[list[Any]] = []
    for match in _TOKEN.finditer(body):
        token = match.group()
        top = stack[-1] if stack else None
        if token[0] == 34:  # a string
            if top is not None and top[0] and top[4]:
                try:
                    top[3] = str(json.loads(token))
                except ValueError:
                    return None
                top[4] = False
            continue
        char = token[0]
        if char in (91, 123):  # [ {
            if top is None:
                path = ""
            elif top[0]:
                path = f"{top[1]}.{top[3]}" if top[1] else top[3]
            else:
                path = f"{top[1]}[{top[2]}]"
            if len(stack) >= limit:
                return path
            stack.append([char == 123, path, 0, "", char == 123])
        elif char in (93, 125):  # ] }
            if not stack:
                return None
            stack.pop()
        elif char == 44 and top is not None:  # ,
            if top[0]:
                top[4] = True
            else:
                top[2] += 1
    return None


def too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> str | None:
    """The 422 message for a JSON ``body`` nested deeper than ``limit`` levels, or
    ``None`` when it is not (or is not JSON: its parser will say so).

    Args:
        body: the raw request body (UTF-8 JSON).
        limit: most nesting levels allowed (objects and arrays; the body is one).
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return None
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    if _max_depth(brackets, limit) <= limit:
        return None
    path = _path_too_deep(body, limit)
    if path is None:
        return None
    return f"{_printable(path)}: nested deeper than {limit} levels"


class NestingLimitMiddleware:
    """ASGI middleware: a request body nested deeper than ``limit`` levels gets 422
    naming the field (:func:`too_deep`); any other request reaches ``app`` with its
    body unchanged (later ``receive`` calls, e.g. the disconnect, pass through).

    Args:
        app: the ASGI app to wrap.
        limit: most nesting levels allowed (default :data:`MAX_JSON_DEPTH`).
    """

    def __init__(self, app: Any, limit: int = MAX_JSON_DEPTH) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") not in _METHODS_WITH_BODY:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left before sending it all
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        detail = too_deep(body, self.limit)
        if detail is not None:
            payload = json.dumps({"detail": detail}).encode()
            await send({
                "type": "http.response.start",
                "status": 422,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
            })
            await send({"type": "http.response.body", "body": payload})
            return
        await self.app(scope, _replay([{"type": "http.request", "body": body, "more_body": False}], receive), send)


def _replay(messages: list[dict[str, Any]], receive: Any) -> Any:
    """A ``receive`` that returns ``messages`` first, then asks ``receive``."""
    pending = list(messages)

    async def replayed() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
