"""``/mcp``: the Model Context Protocol over its streamable HTTP transport, served by
the official ``mcp`` SDK (its low-level ``Server`` and ``StreamableHTTPSessionManager``,
stateless, JSON responses), each assistant a tool (:mod:`evergraph.adapter.resources.mcp`
says how assistants, runs and interrupts map to MCP).

* Calls reach Evergraph's own API in-process, with the caller's headers (as
  langgraph-api 0.16.7 does): ``/assistants/search`` and ``/assistants/{id}/schemas``
  for ``tools/list``; ``POST /threads`` then ``/threads/{id}/runs/wait`` for
  ``tools/call``. Authentication and ``@auth.on`` handlers apply exactly as to those
  routes (``/mcp`` itself is authenticated by ``api/auth.py`` like every route), and a
  run started by a tool is an ordinary run on a thread (a Temporal workflow).
* An ``interrupt()`` comes back as MCP 2026-07-28's ``InputRequiredResult`` (one
  elicitation per interrupt, and a ``requestState``); the client's retry with
  ``inputResponses`` and that ``requestState`` resumes the thread. A client of an
  older protocol version gets the run's values as a normal result, with that same
  ``InputRequiredResult`` in its ``_meta`` (``langgraph/paused``), and resumes the same
  way (``inputResponses`` and ``requestState`` in its next ``tools/call``).
* DNS-rebinding protection: a request whose ``Origin`` is neither a loopback origin
  (``http(s)://localhost``, ``127.0.0.1``, ``[::1]``, any port) nor one that
  ``langgraph.json`` ``http.cors`` allows by name or ``allow_origin_regex`` is
  answered 403 before anything runs. Requests without ``Origin`` (non-browser
  clients) pass.
* The SDK's session manager needs a running task group: it is started by the first
  request, in a task of its own, and lives as long as the event loop, so the API
  needs no ASGI lifespan (``adapter/process/cli.py`` serves it with lifespan off).
"""

from __future__ import annotations

import asyncio
import contextvars
import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import mcp_types as types
from evergraph.adapter.errors import Invalid
from evergraph.adapter.graphs.httpconfig import HttpConfig
from evergraph.adapter.resources import mcp as core
from fastapi import APIRouter
from mcp.server import Server, ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

__all__ = ["McpEndpoint", "build_router", "origin_allowed"]

MCP_PATHS = ("/mcp", "/mcp/")
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
#: request headers not forwarded to the in-process API calls (they describe the MCP
#: request itself, not the caller)
_OWN_HEADERS = frozenset({
    "host", "content-length", "content-type", "accept", "accept-encoding", "connection",
    "transfer-encoding", "origin", "mcp-protocol-version", "mcp-session-id", "last-event-id",
})
_INTERNAL_BASE = "http://evergraph.internal"


def origin_allowed(origin: str | None, http: HttpConfig) -> bool:
    """Whether a request with this ``Origin`` header may use ``/mcp`` (see the module
    docstring): absent, loopback, or allowed by ``http.cors`` by name or regex (a
    wildcard ``*`` does not count)."""
    if not origin:
        return True
    parts = urlsplit(origin)
    if parts.scheme in ("http", "https") and (parts.hostname or "") in _LOOPBACK:
        return True
    cors = http.cors or {}
    if origin in [o for o in cors.get("allow_origins") or () if o != "*"]:
        return True
    regex = cors.get("allow_origin_regex")
    return bool(regex) and re.fullmatch(regex, origin) is not None


def _forwarded(headers: Any) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in _OWN_HEADERS}


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)


class _Api:
    """Evergraph's own API, called in-process (ASGI) with one MCP request's headers."""

    def __init__(self, ctx: ServerRequestContext) -> None:
        request = ctx.request
        if request is None:  # only HTTP transports reach this server
            raise MCPError(types.INTERNAL_ERROR, "no HTTP request behind this MCP request")
        self.app = request.scope["app"]
        self.services = self.app.state.services
        self.headers = _forwarded(request.headers)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            # an error of a route is its 500 answer here, not an exception
            transport=httpx.ASGITransport(app=self.app, raise_app_exceptions=False),
            base_url=_INTERNAL_BASE,
            headers=self.headers,
            timeout=None,
        )

    @staticmethod
    def ok(response: httpx.Response, what: str) -> Any:
        """The JSON body of a 2xx ``response``.

        Raises:
            MCPError: ``INVALID_PARAMS`` for a 4xx, ``INTERNAL_ERROR`` otherwise,
                with the API's detail.
        """
        if response.is_success:
            return response.json()
        code = types.INVALID_PARAMS if 400 <= response.status_code < 500 else types.INTERNAL_ERROR
        raise MCPError(code, f"{what}: {response.status_code} {_detail(response)}")


async def _list_tools(ctx: ServerRequestContext, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    """``tools/list``: one page of assistants as tools (assistants whose input schema
    cannot be built are left out, as langgraph-api 0.16.7 leaves them out)."""
    api = _Api(ctx)
    try:
        offset = core.page_offset(params.cursor if params else None)
    except Invalid as exc:
        raise MCPError(types.INVALID_PARAMS, str(exc)) from None
    size = api.services.settings.mcp_page_size
    async with api.client() as http:
        found = _Api.ok(
            await http.post("/assistants/search", json={"limit": size, "offset": offset}), "assistants"
        )
        unique: dict[str, dict[str, Any]] = {}
        for assistant in found:
            name = core.tool_name(str(assistant.get("name") or ""))
            if name and name not in unique:
                unique[name] = assistant

        async def tool(assistant: dict[str, Any]) -> dict[str, Any] | None:
            response = await http.get(f"/assistants/{assistant['assistant_id']}/schemas")
            if not response.is_success:
                return None
            return core.tool_of(assistant, response.json().get("input_schema"))

        tools = [t for t in await asyncio.gather(*(tool(a) for a in unique.values())) if t is not None]
    page: dict[str, Any] = {"tools": tools}
    if len(found) == size:
        page["nextCursor"] = str(offset + size)
    return types.ListToolsResult.model_validate(page)


async def _assistant_of(http: httpx.AsyncClient, tool: str) -> dict[str, Any]:
    found = _Api.ok(await http.post("/assistants/search", json={"limit": core.SEARCH_LIMIT}), "assistants")
    matching = [a for a in found if core.tool_name(str(a.get("name") or "")) == tool]
    if not matching:
        raise MCPError(types.INVALID_PARAMS, f"Unknown tool: {tool}")
    if len(matching) > 1:
        raise MCPError(types.INVALID_PARAMS, "Multiple tools found with the same name.")
    return matching[0]


async def _call_tool(
    ctx: ServerRequestContext, params: types.CallToolRequestParams
) -> types.CallToolResult | types.InputRequiredResult:
    """``tools/call``: run the tool's assistant on a new thread and wait for it, or,
    with a ``requestState``, resume the thread it paused with the answers given."""
    api = _Api(ctx)
    async with api.client() as http:
        if params.request_state is not None:
            try:
                call = core.decode_state(params.request_state, params.name)
                answers = {
                    key: value.model_dump(by_alias=True, mode="json", exclude_none=True)
                    for key, value in (params.input_responses or {}).items()
                }
                command = core.resume_command(call, answers)
            except Invalid as exc:
                raise MCPError(types.INVALID_PARAMS, str(exc)) from None
            thread = _Api.ok(await http.get(f"/threads/{call.thread_id}"), "requestState")
            if thread.get("status") != "interrupted":
                status = thread.get("status")
                raise MCPError(types.INVALID_PARAMS, f"requestState: thread {call.thread_id} is not waiting ({status})")
            assistant_id, thread_id = call.assistant_id, call.thread_id
            body: dict[str, Any] = {"assistant_id": assistant_id, "command": command}
        else:
            assistant_id = (await _assistant_of(http, params.name))["assistant_id"]
            thread_id = _Api.ok(await http.post("/threads", json={}), "thread")["thread_id"]
            body = {"assistant_id": assistant_id, "input": params.arguments or {}}
        response = await http.post(f"/threads/{thread_id}/runs/wait", json=body)
    if not response.is_success:
        # the run was refused as given (bad input...): the model may correct itself
        text = f"{response.status_code}: {_detail(response)}"
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)
    value = response.json()
    interrupts = value.get("__interrupt__") if isinstance(value, dict) else None
    if interrupts:
        paused = core.paused(params.name, assistant_id, thread_id, interrupts)
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
            return types.InputRequiredResult.model_validate(paused)
        result = core.call_result(value)
        result["_meta"] = {"langgraph/paused": paused}
        return types.CallToolResult.model_validate(result)
    return types.CallToolResult.model_validate(core.call_result(value))


def _server() -> Server:
    return Server(
        "LangGraph",
        version="0.1.0",
        on_list_tools=_list_tools,
        on_call_tool=_call_tool,
        # Mcp-Param header checks would list every tool (and fetch each schema) per call
        get_tool_input_schema=lambda name: None,
    )


class McpEndpoint:
    """The ASGI app behind ``/mcp``: the ``Origin`` check, then the SDK's stateless
    streamable HTTP session manager, started on first use (module docstring).

    Args:
        http: ``langgraph.json``'s ``http`` (its ``cors`` extends the allowed origins).
    """

    def __init__(self, http: HttpConfig) -> None:
        self.http = http
        self.manager = StreamableHTTPSessionManager(app=_server(), json_response=True, stateless=True)
        self._started: asyncio.Event | None = None
        self._holder: asyncio.Task | None = None

    async def _hold(self) -> None:
        assert self._started is not None
        async with self.manager.run():
            self._started.set()
            await asyncio.Event().wait()  # until the loop ends (cancelled)

    async def _ensure_running(self) -> None:
        """Start the session manager once; return when it runs.

        Raises:
            RuntimeError: the session manager ended (it failed to start).
        """
        if self._started is None:
            self._started = asyncio.Event()
            # a fresh context: the manager's tasks must not inherit this request's
            self._holder = asyncio.get_running_loop().create_task(self._hold(), context=contextvars.Context())
        if not self._started.is_set():
            assert self._holder is not None
            started = asyncio.ensure_future(self._started.wait())
            await asyncio.wait({started, self._holder}, return_when=asyncio.FIRST_COMPLETED)
            started.cancel()
        if self._holder is not None and self._holder.done():
            raise RuntimeError("the MCP session manager is not running") from (
                None if self._holder.cancelled() else self._holder.exception()
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        origin = next((v.decode("latin-1") for k, v in scope.get("headers") or [] if k == b"origin"), None)
        if not origin_allowed(origin, self.http):
            error = {"code": types.INVALID_REQUEST, "message": f"Origin not allowed: {origin}"}
            body = {"jsonrpc": "2.0", "id": None, "error": error}
            await JSONResponse(body, status_code=403)(scope, receive, send)
            return
        await self._ensure_running()
        await self.manager.handle_request(scope, receive, send)


def build_router(http: HttpConfig) -> APIRouter:
    """A router serving ``/mcp`` (and ``/mcp/``) with ``GET``, ``POST`` and ``DELETE``,
    with its own :class:`McpEndpoint` (one per app)."""
    router = APIRouter(tags=["mcp"])
    endpoint = McpEndpoint(http)
    for path in MCP_PATHS:
        router.add_route(path, endpoint, methods=["GET", "POST", "DELETE"], include_in_schema=False)
    return router
