"""``langgraph.json``'s ``http`` key, with the keys and defaults of langgraph-api 0.16.7
(its ``HttpConfig``/``CorsConfig``/``ConfigurableHeaders`` schemas).

:func:`parse_http` validates the object strictly: an unknown key or a value of the
wrong type is a :class:`HttpConfigError` naming ``http.<key>`` (langgraph-api silently
ignores unknown keys; a typo there would otherwise go unnoticed). The API layer
(``api/server.py``) turns the result into routes and middleware. See
docs/architecture.md, "Where to find things".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CORS_KEYS", "DISABLE_KEYS", "HeaderPatterns", "HttpConfig", "HttpConfigError", "parse_http"]


class HttpConfigError(ValueError):
    """A bad ``http`` value; the message names the key (``http.cors.max_age``…)."""


#: the ``disable_*`` flags langgraph-api 0.16.7 reads (``disable_event_streaming`` is
#: read by its router though missing from its schema)
DISABLE_KEYS = (
    "disable_assistants",
    "disable_threads",
    "disable_runs",
    "disable_store",
    "disable_meta",
    "disable_ui",
    "disable_webhooks",
    "disable_mcp",
    "disable_a2a",
    "disable_event_streaming",
)

#: ``http.cors`` keys: the keyword arguments of Starlette's ``CORSMiddleware``, each
#: with the JSON type it must have
CORS_KEYS: dict[str, str] = {
    "allow_origins": "list",
    "allow_methods": "list",
    "allow_headers": "list",
    "allow_credentials": "bool",
    "allow_origin_regex": "str",
    "expose_headers": "list",
    "max_age": "int",
}

_HEADER_KEYS = ("includes", "excludes", "include", "exclude")
_ORDERS = ("auth_first", "middleware_first")


def _pattern(text: str) -> re.Pattern[str]:
    """A header-name pattern: literal characters and ``*`` (any run of characters),
    matched against the whole lower-cased name."""
    return re.compile("".join(".*" if c == "*" else re.escape(c) for c in text.lower()) + r"\Z", re.DOTALL)


@dataclass(frozen=True)
class HeaderPatterns:
    """``http.configurable_headers`` / ``http.logging_headers``: which request header
    names pass.

    Attributes:
        includes: patterns (``"x-*"``, ``"user-agent"``); a name must match one.
            Empty: no name passes.
        excludes: patterns checked first; a matching name never passes.
    """

    includes: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()

    def allows(self, name: str) -> bool:
        """Whether header ``name`` (any case) passes: matched by no exclude and by
        an include."""
        name = name.lower()
        if any(_pattern(p).match(name) for p in self.excludes):
            return False
        return any(_pattern(p).match(name) for p in self.includes)


@dataclass(frozen=True)
class HttpConfig:
    """A parsed ``http`` object. Every field defaults to langgraph-api 0.16.7's
    behaviour without the key.

    Attributes:
        app: ``"./file.py:attr"`` or ``"package.module:attr"`` naming a Starlette or
            FastAPI app whose routes and lifespan are added to the server.
        cors: ``None`` (the server's defaults, see README "HTTP configuration") or the
            ``CORSMiddleware`` keyword arguments given (lists become tuples).
        mount_prefix: ``None`` or a path such as ``"/my-deployment/api"`` (no
            trailing slash) under which every route is served.
        configurable_headers: which request headers a run gets in
            ``config["configurable"]`` (``None``: none).
        logging_headers: accepted; Evergraph writes no access log.
        middleware_order: ``"middleware_first"`` (default: the custom app's middleware
            runs before authentication) or ``"auth_first"``.
        enable_custom_route_auth: authenticate requests to the custom app's routes too.
        disabled: the ``disable_*`` flags set to true (names from :data:`DISABLE_KEYS`).
        base_dir: folder of the ``langgraph.json`` (relative ``app`` paths).
    """

    app: str | None = None
    cors: dict[str, Any] | None = None
    mount_prefix: str | None = None
    configurable_headers: HeaderPatterns | None = None
    logging_headers: HeaderPatterns | None = None
    middleware_order: str = "middleware_first"
    enable_custom_route_auth: bool = False
    disabled: frozenset[str] = field(default_factory=frozenset)
    base_dir: Path = Path(".")

    def is_disabled(self, key: str) -> bool:
        """Whether ``http.<key>`` (e.g. ``"disable_runs"``) is true."""
        return key in self.disabled

    @property
    def app_target(self) -> str:
        """The file or module part of :attr:`app` (before the last ``:``)."""
        return (self.app or "").rpartition(":")[0]

    @property
    def app_attr(self) -> str:
        """The attribute part of :attr:`app` (after the last ``:``)."""
        return (self.app or "").rpartition(":")[2]


def _strings(value: Any, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise HttpConfigError(f"'{name}' must be a list of strings, got {value!r}")
    return tuple(value)


def _unknown(section: dict[str, Any], known: Any, name: str) -> None:
    unknown = sorted(set(section) - set(known))
    if unknown:
        raise HttpConfigError(f"unknown key(s) {', '.join(repr(f'{name}.{k}') for k in unknown)}; known: {sorted(known)}")


def _parse_cors(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise HttpConfigError(f"'http.cors' must be an object, got {raw!r}")
    _unknown(raw, CORS_KEYS, "http.cors")
    cors: dict[str, Any] = {}
    for key, kind in CORS_KEYS.items():
        if key not in raw:
            continue
        value, name = raw[key], f"http.cors.{key}"
        if kind == "list":
            cors[key] = _strings(value, name)
        elif kind == "bool":
            if not isinstance(value, bool):
                raise HttpConfigError(f"'{name}' must be true or false, got {value!r}")
            cors[key] = value
        elif kind == "int":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise HttpConfigError(f"'{name}' must be a number of seconds (an integer >= 0), got {value!r}")
            cors[key] = value
        elif value is not None:
            if not isinstance(value, str):
                raise HttpConfigError(f"'{name}' must be a regular expression string, got {value!r}")
            try:
                re.compile(value)
            except re.error as exc:
                raise HttpConfigError(f"'{name}' is not a valid regular expression: {exc}") from None
            cors[key] = value
    return cors


def _parse_headers(raw: Any, name: str) -> HeaderPatterns | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise HttpConfigError(f"'{name}' must be an object with 'includes' and/or 'excludes', got {raw!r}")
    _unknown(raw, _HEADER_KEYS, name)
    lists = {k: _strings(raw[k], f"{name}.{k}") if raw.get(k) is not None else () for k in _HEADER_KEYS}
    # ``include``/``exclude`` are aliases, used only when the plural is absent or empty
    return HeaderPatterns(
        includes=lists["includes"] or lists["include"], excludes=lists["excludes"] or lists["exclude"]
    )


def _parse_prefix(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not raw.startswith("/"):
        raise HttpConfigError(f"'http.mount_prefix' must be a path starting with '/', such as '/my-api', got {raw!r}")
    prefix = raw.rstrip("/")
    if not prefix:
        return None
    if prefix == "/noauth" or prefix.startswith("/noauth/"):
        raise HttpConfigError("'http.mount_prefix' must not be '/noauth' (reserved by langgraph-api)")
    return prefix


_TOP_KEYS = (
    "app", "cors", "mount_prefix", "configurable_headers", "logging_headers", "middleware_order",
    "enable_custom_route_auth", *DISABLE_KEYS,
)


def parse_http(raw: Any, base_dir: Path) -> HttpConfig:
    """Validate ``langgraph.json``'s ``http`` value.

    Args:
        raw: the JSON value (``None``: the key is absent).
        base_dir: folder of the ``langgraph.json``.

    Returns:
        The parsed :class:`HttpConfig` (all defaults when ``raw`` is ``None``).

    Raises:
        HttpConfigError: ``raw`` is not an object, has an unknown key, or a key has a
            value of the wrong type; the message names ``http.<key>``.
    """
    if raw is None:
        return HttpConfig(base_dir=base_dir)
    if not isinstance(raw, dict):
        raise HttpConfigError(f"'http' must be an object, got {raw!r}")
    _unknown(raw, _TOP_KEYS, "http")
    app = raw.get("app")
    if app is not None:
        target, sep, attr = app.rpartition(":") if isinstance(app, str) else ("", "", "")
        if not sep or not target or not attr:
            raise HttpConfigError(f"'http.app' must be 'path/to/file.py:attr' or 'package.module:attr', got {app!r}")
    for key in ("enable_custom_route_auth", *DISABLE_KEYS):
        if key in raw and not isinstance(raw[key], bool):
            raise HttpConfigError(f"'http.{key}' must be true or false, got {raw[key]!r}")
    order = raw.get("middleware_order")
    if order is not None and order not in _ORDERS:
        raise HttpConfigError(f"'http.middleware_order' must be 'auth_first' or 'middleware_first', got {order!r}")
    return HttpConfig(
        app=app,
        cors=_parse_cors(raw.get("cors")),
        mount_prefix=_parse_prefix(raw.get("mount_prefix")),
        configurable_headers=_parse_headers(raw.get("configurable_headers"), "http.configurable_headers"),
        logging_headers=_parse_headers(raw.get("logging_headers"), "http.logging_headers"),
        middleware_order=order or "middleware_first",
        enable_custom_route_auth=bool(raw.get("enable_custom_route_auth", False)),
        disabled=frozenset(k for k in DISABLE_KEYS if raw.get(k) is True),
        base_dir=base_dir,
    )
