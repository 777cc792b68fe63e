"""CORS for the API: Starlette's ``CORSMiddleware`` configured from ``langgraph.json``
``http.cors``, with langgraph-api 0.16.7's defaults, and Chrome's Private Network
Access answer under ``evergraph dev``.

Without ``http.cors`` any origin may call (``Access-Control-Allow-Origin: *``, no
credentials), every method and request header is allowed, and the pagination and
``content-location`` headers are readable (:data:`DEFAULT_EXPOSE_HEADERS`), as
langgraph-api does under ``langgraph dev`` and in its server image alike. With
``http.cors`` its keys are passed to ``CORSMiddleware`` as they are: a key not given
takes Starlette's default (no origin, ``GET`` only, no extra header, nothing exposed,
``max_age`` 600 s), again as in langgraph-api.

Under ``dev`` (``private_network=True``) every ``OPTIONS`` response carries
``Access-Control-Allow-Private-Network: true`` (what langgraph-api's ``langgraph dev``
sends), and a preflight that asks for private-network access
(``Access-Control-Request-Private-Network: true``) is answered 200. langgraph-api
0.16.7 answers those preflights 400 ``Disallowed CORS private-network`` (Starlette 1.x
checks the request header), which Chrome treats as a refusal; Evergraph accepts them,
since the header is sent precisely so that a public page may call a local server.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from evergraph.adapter.graphs.httpconfig import HttpConfig

__all__ = ["DEFAULT_EXPOSE_HEADERS", "PrivateNetworkMiddleware", "cors_middleware", "cors_options"]

#: response headers a browser may read without ``http.cors`` (langgraph-api 0.16.7)
DEFAULT_EXPOSE_HEADERS = ("x-pagination-total", "x-pagination-next", "content-location")


class PrivateNetworkMiddleware:
    """ASGI middleware adding ``Access-Control-Allow-Private-Network: true`` to the
    response of every HTTP ``OPTIONS`` request (preflight or not, any status)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "OPTIONS":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["access-control-allow-private-network"] = "true"
            await send(message)

        await self.app(scope, receive, send_with_header)


def cors_options(http: HttpConfig, *, private_network: bool) -> dict[str, Any]:
    """The keyword arguments of ``CORSMiddleware`` for ``http`` (see the module
    docstring for the defaults)."""
    if http.cors is None:
        options: dict[str, Any] = {
            "allow_origins": ("*",),
            "allow_credentials": False,
            "allow_methods": ("*",),
            "allow_headers": ("*",),
            "expose_headers": DEFAULT_EXPOSE_HEADERS,
        }
    else:
        options = dict(http.cors)
    options["allow_private_network"] = private_network
    return options


def cors_middleware(http: HttpConfig, *, private_network: bool) -> list[Middleware]:
    """The CORS middleware, outermost first, for an app's ``user_middleware``.

    Args:
        http: the parsed ``langgraph.json`` ``http`` key.
        private_network: answer Chrome's Private Network Access (``evergraph dev``).
    """
    stack = [Middleware(CORSMiddleware, **cors_options(http, private_network=private_network))]
    if private_network:
        stack.insert(0, Middleware(PrivateNetworkMiddleware))
    return stack
