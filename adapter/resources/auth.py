"""Authentication and authorization, as LangGraph's ``langgraph_sdk.Auth`` defines them.

Framework-independent core (the FastAPI side is ``api/auth.py``):

* :func:`load_auth` imports the ``Auth`` object named by ``langgraph.json``
  ``auth.path`` (``"./file.py:attr"`` or ``"package.module:attr"``).
* :class:`Authenticator` runs, for every request, the built-in API-key check
  (``EVERGRAPH_API_KEYS``) and/or the ``@auth.authenticate`` handler, whose declared
  parameters (``request``, ``scope``, ``path``, ``method``, ``path_params``,
  ``query_params``, ``headers``, ``authorization``) are passed by name, and turns its
  result into an :class:`AuthUser`.
* :meth:`Authenticator.authorize` runs the most specific ``@auth.on`` handler for a
  resource and action (``(resource, action)``, then ``(resource, "*")``, then
  ``("*", action)``, then the global handler; none: allowed). The handler may mutate
  ``value``; it returns ``None``/``True`` (allowed), ``False`` (403) or a filter dict
  restricting which records the request may see, matched against the records'
  ``metadata`` by :func:`filter_matches` (:func:`visible`).

See docs/architecture.md for the layers.
"""

from __future__ import annotations

import hmac
import inspect
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from langgraph_sdk.auth import Auth
from langgraph_sdk.auth.exceptions import HTTPException as AuthHTTPException
from langgraph_sdk.auth.types import AuthContext

from evergraph.adapter.errors import EvergraphError
from evergraph.adapter.graphs.config import AuthConfig, ConfigError
from evergraph.adapter.graphs.registry import import_config_target
from evergraph.adapter.users import AuthUser

__all__ = [
    "API_KEY_IDENTITY",
    "AUTHENTICATE_PARAMS",
    "AuthError",
    "AuthFilter",
    "AuthUser",
    "Authenticator",
    "FilterError",
    "RequestInfo",
    "build_authenticator",
    "filter_matches",
    "load_auth",
    "to_user",
    "visible",
]

log = logging.getLogger(__name__)

AuthFilter = dict[str, Any] | None
"""The filter an ``@auth.on`` handler returned for a request (``None``: no
restriction), matched against records' ``metadata`` (:func:`visible`); a record it
hides is answered as if it did not exist."""

#: identity of every request authenticated by an ``EVERGRAPH_API_KEYS`` key
API_KEY_IDENTITY = "evergraph-api-key"

#: parameters an ``@auth.authenticate`` handler may declare (by name)
AUTHENTICATE_PARAMS = ("request", "scope", "path", "method", "path_params", "query_params", "headers", "authorization")


class AuthError(Exception):
    """Authentication or authorization refused the request.

    Attributes:
        status: HTTP status (401, 403, or what a handler's ``HTTPException`` said).
        detail: the message for ``{"detail": ...}``.
        headers: extra response headers (a handler's ``HTTPException.headers``).
    """

    def __init__(self, status: int, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.headers = dict(headers) if headers else None


def to_user(result: Any) -> AuthUser:
    """An ``@auth.authenticate`` result (a string id, a dict with ``identity``, or an
    object with an ``identity`` attribute) as an :class:`AuthUser`.

    Raises:
        AuthError: 500 naming what was wrong with the result.
    """
    if isinstance(result, AuthUser):
        return result
    if isinstance(result, str):
        if not result:
            raise AuthError(500, "The authenticate handler returned an empty identity")
        return AuthUser({"identity": result})
    if isinstance(result, Mapping):
        if not isinstance(result.get("identity"), str) or not result.get("identity"):
            raise AuthError(500, "The authenticate handler returned a dict without a string 'identity'")
        return AuthUser(result)
    identity = getattr(result, "identity", None)
    if isinstance(identity, str) and identity:
        data: dict[str, Any] = {"identity": identity}
        for name in ("permissions", "display_name", "is_authenticated"):
            if hasattr(result, name):
                data[name] = getattr(result, name)
        return AuthUser(data)
    raise AuthError(
        500, f"The authenticate handler must return a user id, a dict with 'identity' or a user object, "
        f"got {type(result).__name__}"
    )


# ---------------------------------------------------------------------------- filters


def _contains(have: Any, want: Any) -> bool:
    wanted = want if isinstance(want, list) else [want]
    return isinstance(have, list) and all(w in have for w in wanted)


def filter_matches(metadata: Mapping[str, Any] | None, flt: Mapping[str, Any] | None) -> bool:
    """Whether a record with ``metadata`` passes a handler's filter.

    Each key of ``flt`` names a metadata key; its value is the value the metadata
    must equal, or ``{"$eq": v}`` (equal), or ``{"$contains": v}`` (the metadata
    value is a list holding ``v``, or every item of ``v`` when ``v`` is a list). All
    keys must match. ``None`` or ``{}`` matches everything.
    """
    if not flt:
        return True
    metadata = metadata or {}
    for key, want in flt.items():
        if key not in metadata:
            return False
        have = metadata[key]
        if isinstance(want, Mapping) and want and all(isinstance(k, str) and k.startswith("$") for k in want):
            for op, operand in want.items():
                if op == "$eq":
                    if have != operand:
                        return False
                elif op == "$contains":
                    if not _contains(have, operand):
                        return False
                else:
                    raise AuthError(500, f"Unsupported operator {op!r} in an auth filter (use $eq or $contains)")
        elif have != want:
            return False
    return True


class FilterError(EvergraphError):
    """An ``@auth.on`` handler returned a filter the server cannot apply (an operator
    other than ``$eq`` and ``$contains``). The handler is at fault, not the request:
    the web layer answers 500 (a domain error of no listed kind)."""


def visible(record: Mapping[str, Any] | None, flt: Mapping[str, Any] | None) -> bool:
    """Whether ``record`` exists and its ``metadata`` passes the handler's filter
    ``flt`` (:func:`filter_matches`; ``None``: no restriction).

    Raises:
        FilterError: ``flt`` uses an unsupported operator.
    """
    if record is None:
        return False
    try:
        return filter_matches(record.get("metadata") or {}, flt)
    except AuthError as exc:
        raise FilterError(exc.detail) from None


# ---------------------------------------------------------------------------- loading


def load_auth(config: AuthConfig) -> Auth:
    """Import the ``Auth`` object named by ``auth.path``.

    Raises:
        ConfigError: the file or module does not import, has no such attribute, or
            the attribute is not a ``langgraph_sdk.Auth``; the message names
            ``auth.path``.
    """
    obj = import_config_target(
        "auth.path", config.path, config.target, config.attr, config.base_dir, Auth, "a langgraph_sdk.Auth object"
    )
    handler = obj._authenticate_handler
    if handler is not None:
        unknown = [p for p in inspect.signature(handler).parameters if p not in AUTHENTICATE_PARAMS]
        if unknown:
            raise ConfigError(
                f"auth.path {config.path!r}: the authenticate handler's parameter(s) {unknown} are not among "
                f"{list(AUTHENTICATE_PARAMS)}"
            )
        if not inspect.iscoroutinefunction(handler):
            raise ConfigError(f"auth.path {config.path!r}: the authenticate handler must be an async function")
    return obj


# ---------------------------------------------------------------------------- requests


@dataclass
class RequestInfo:
    """What a request offers an ``@auth.authenticate`` handler.

    Attributes:
        method: HTTP method (``GET``…; ``WEBSOCKET`` for WebSocket connections).
        path: request path.
        headers: raw header pairs, names lower-case bytes.
        query_params: query parameters (last value of repeated keys).
        path_params: the matched route's path parameters.
        request: the framework's request object (Starlette's ``Request``).
        scope: the ASGI scope.
    """

    method: str
    path: str
    headers: list[tuple[bytes, bytes]]
    query_params: dict[str, str] = field(default_factory=dict)
    path_params: dict[str, Any] = field(default_factory=dict)
    request: Any = None
    scope: Any = None

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), decoded as latin-1."""
        key = name.lower().encode()
        for k, v in self.headers:
            if k.lower() == key:
                return v.decode("latin-1")
        return None


class _Cache:
    """``auth.cache``: authenticate results by the values of ``cache_keys`` headers."""

    def __init__(self, keys: Sequence[str], ttl: float, max_size: int) -> None:
        self.keys = [k.lower() for k in keys]
        self.ttl = ttl
        self.max_size = max_size
        self._items: OrderedDict[tuple, tuple[float, AuthUser]] = OrderedDict()

    def key(self, info: RequestInfo) -> tuple | None:
        values = tuple(info.header(k) for k in self.keys)
        return None if all(v is None for v in values) else values

    def get(self, key: tuple) -> AuthUser | None:
        hit = self._items.get(key)
        if hit is None or hit[0] < time.monotonic():
            self._items.pop(key, None)
            return None
        self._items.move_to_end(key)
        return hit[1]

    def put(self, key: tuple, user: AuthUser) -> None:
        self._items[key] = (time.monotonic() + self.ttl, user)
        self._items.move_to_end(key)
        while len(self._items) > self.max_size:
            self._items.popitem(last=False)


class Authenticator:
    """Authentication and authorization of one server.

    Args:
        auth: the loaded ``langgraph_sdk.Auth`` (``auth.path``), or ``None``.
        api_keys: accepted ``x-api-key`` values (``EVERGRAPH_API_KEYS``); empty: no
            key is required.
        config: the ``auth`` key of ``langgraph.json`` (for ``cache``).
    """

    def __init__(self, auth: Auth | None, api_keys: Sequence[str] = (), config: AuthConfig | None = None) -> None:
        self.auth = auth
        self.api_keys = tuple(k for k in api_keys if k)
        self._params: tuple[str, ...] = ()
        handler = auth._authenticate_handler if auth is not None else None
        if handler is not None:
            self._params = tuple(inspect.signature(handler).parameters)
        cache = (config.cache if config is not None else None) or None
        self._cache = (
            _Cache(cache.get("cache_keys") or [], float(cache.get("ttl_seconds") or 60), int(cache.get("max_size") or 1000))
            if cache and cache.get("cache_keys") else None
        )

    @property
    def enabled(self) -> bool:
        """Whether requests are authenticated at all."""
        return bool(self.api_keys) or (self.auth is not None and self.auth._authenticate_handler is not None)

    @property
    def authorizes(self) -> bool:
        """Whether any ``@auth.on`` handler is registered."""
        return self.auth is not None and bool(self.auth._handlers or self.auth._global_handlers)

    async def authenticate(self, info: RequestInfo) -> AuthUser | None:
        """The request's user: ``None`` when nothing authenticates requests.

        Raises:
            AuthError: 401 for a missing or wrong ``x-api-key`` (API-key mode), or
                the status and message of the handler's ``HTTPException`` (401
                ``Unauthorized`` for any other exception it raises).
        """
        user: AuthUser | None = None
        if self.api_keys:
            sent = info.header("x-api-key")
            if not sent:
                raise AuthError(401, "Missing x-api-key header")
            if not any(hmac.compare_digest(sent.encode(), k.encode()) for k in self.api_keys):
                raise AuthError(401, "Invalid API key")
            user = AuthUser({"identity": API_KEY_IDENTITY, "display_name": "API key"})
        handler = self.auth._authenticate_handler if self.auth is not None else None
        if handler is None:
            return user
        cache_key = self._cache.key(info) if self._cache is not None else None
        if cache_key is not None:
            cached = self._cache.get(cache_key)
            if cached is not None:
                return cached
        available = {
            "request": info.request,
            "scope": info.scope,
            "path": info.path,
            "method": info.method,
            "path_params": info.path_params,
            "query_params": info.query_params,
            "headers": {k: v for k, v in info.headers},
            "authorization": info.header("authorization"),
        }
        try:
            result = await handler(**{name: available[name] for name in self._params})
        except AuthHTTPException as exc:
            raise AuthError(exc.status_code, str(exc.detail), exc.headers) from None
        except AuthError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure to authenticate is a 401
            log.warning("the authenticate handler raised %s: %s", type(exc).__name__, exc)
            raise AuthError(401, "Unauthorized") from None
        user = to_user(result)
        if cache_key is not None:
            self._cache.put(cache_key, user)
        return user

    def handler_for(self, resource: str, action: str):
        """The handler LangGraph would run for ``resource``/``action`` (or ``None``)."""
        if self.auth is None:
            return None
        handlers = self.auth._handlers
        for key in ((resource, action), (resource, "*"), ("*", action), ("*", "*")):
            if key in handlers:
                return handlers[key][-1]
        return self.auth._global_handlers[-1] if self.auth._global_handlers else None

    async def authorize(
        self, user: AuthUser | None, resource: str, action: str, value: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Run the ``@auth.on`` handler for ``resource``/``action`` on ``value`` (which it
        may change in place).

        Returns:
            The handler's filter dict, or ``None`` when everything is allowed.

        Raises:
            AuthError: 403 ``Forbidden`` when the handler returns ``False`` or raises
                (its ``HTTPException`` keeps its own status and message); 500 when it
                returns something else than ``None``, a bool or a dict.
        """
        handler = self.handler_for(resource, action)
        if handler is None:
            return None
        if user is None:
            user = AuthUser({"identity": "", "is_authenticated": False, "display_name": "anonymous"})
        ctx = AuthContext(permissions=user.permissions, user=user, resource=resource, action=action)
        try:
            result = await handler(ctx=ctx, value=value)
        except AuthHTTPException as exc:
            raise AuthError(exc.status_code, str(exc.detail), exc.headers) from None
        except Exception as exc:  # noqa: BLE001 - a failing handler denies
            log.warning("auth handler for %s.%s raised %s: %s", resource, action, type(exc).__name__, exc)
            raise AuthError(403, "Forbidden") from None
        if result is None or result is True:
            return None
        if result is False:
            raise AuthError(403, "Forbidden")
        if isinstance(result, dict):
            return result or None
        raise AuthError(
            500, f"Auth handler for {resource}.{action} returned {type(result).__name__}; "
            "expected None, a bool or a filter dict"
        )


def build_authenticator(config: AuthConfig | None, api_keys: Sequence[str] = ()) -> Authenticator:
    """The server's :class:`Authenticator`: ``auth.path`` loaded (if configured) plus the
    API keys.

    Raises:
        ConfigError: ``auth.path`` does not load (see :func:`load_auth`).
    """
    auth = load_auth(config) if config is not None and config.path else None
    return Authenticator(auth, api_keys, config)
