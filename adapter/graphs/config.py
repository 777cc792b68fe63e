"""Reading ``langgraph.json`` the way ``langgraph dev`` reads it.

Honoured keys: ``graphs`` (``"./file.py:attr"`` or ``"package.module:attr"``, or an
object with ``path`` and optional ``description``), ``env`` (a ``.env`` file path or a
mapping), ``dependencies`` (local paths put on ``sys.path``), ``webhooks.url`` (the
webhook URL policy, :class:`WebhookUrlPolicy`), ``store`` (``index`` and ``ttl`` of
the LangGraph store, :class:`StoreConfig`), ``auth`` (``path`` of a
``langgraph_sdk.Auth``, ``cache``, ``openapi``, ``disable_studio_auth``:
:class:`AuthConfig`), ``http`` (:class:`HttpConfig`, parsed by
:mod:`adapter.graphs.httpconfig`), ``checkpointer.ttl`` (thread time-to-live,
:class:`ThreadTTLConfig`, swept by :mod:`adapter.resources.ttl`). Other keys are kept
in :attr:`LangGraphConfig.raw` for the components that honour them. See
docs/architecture.md, "Where to find things".
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evergraph.adapter.graphs.httpconfig import HttpConfig, HttpConfigError, parse_http

__all__ = [
    "AuthConfig",
    "ConfigError",
    "GraphSpec",
    "HttpConfig",
    "LangGraphConfig",
    "StoreConfig",
    "ThreadTTLConfig",
    "WebhookUrlPolicy",
    "apply_env",
    "load_config",
]

logger = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A ``langgraph.json`` problem; the message names the file, key and value."""


@dataclass(frozen=True)
class GraphSpec:
    """One entry of ``graphs``.

    Attributes:
        graph_id: the key in ``graphs`` (also the system assistant's name).
        target: ``"./path/file.py"`` or ``"package.module"`` (the part before ``:``).
        attr: attribute name inside the module (the part after ``:``).
        description: optional description from the object form.
        base_dir: folder of the ``langgraph.json``; relative file targets resolve here.
    """

    graph_id: str
    target: str
    attr: str
    description: str | None
    base_dir: Path

    @property
    def is_file(self) -> bool:
        """True when :attr:`target` names a Python file rather than a module."""
        return self.target.endswith(".py") or "/" in self.target or self.target.startswith(".")

    @property
    def file_path(self) -> Path:
        """Absolute path of the target file (only meaningful when :attr:`is_file`)."""
        return (self.base_dir / self.target).resolve()


@dataclass(frozen=True)
class WebhookUrlPolicy:
    """``langgraph.json`` ``"webhooks": {"url": {...}}``: which webhook URLs a run may
    name (checked when the run is created; a refused URL is a 422). Defaults are
    langgraph-api 0.16.7's: https only, no loopback hosts.

    Attributes:
        require_https: refuse ``http://`` URLs (``Webhook must use https``).
        disable_loopback: refuse hosts that are or resolve to loopback addresses.
        disable_private_ips: refuse hosts that are or resolve to private, link-local,
            reserved or unspecified addresses (default on, like the loopback check).
        allowed_domains: host allowlist; ``"*.example.com"`` matches subdomains only.
            Empty: any host.
        allowed_ports: port allowlist (the scheme's default port when the URL has
            none). Empty: any port.
        max_url_length: longest accepted URL, in characters.
    """

    require_https: bool = True
    disable_loopback: bool = True
    disable_private_ips: bool = True
    allowed_domains: tuple[str, ...] = ()
    allowed_ports: tuple[int, ...] = ()
    max_url_length: int = 4096


def _parse_webhooks(path: Path, raw: Any) -> WebhookUrlPolicy:
    if raw is None:
        return WebhookUrlPolicy()
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: 'webhooks' must be an object")
    url = raw.get("url") or {}
    if not isinstance(url, dict):
        raise ConfigError(f"{path}: 'webhooks.url' must be an object")
    values: dict[str, Any] = {}
    for key in ("require_https", "disable_loopback", "disable_private_ips"):
        if key in url:
            if not isinstance(url[key], bool):
                raise ConfigError(f"{path}: 'webhooks.url.{key}' must be true or false, got {url[key]!r}")
            values[key] = url[key]
    if url.get("allowed_domains") is not None:
        domains = url["allowed_domains"]
        if not isinstance(domains, list) or not all(isinstance(d, str) and d for d in domains):
            raise ConfigError(f"{path}: 'webhooks.url.allowed_domains' must be a list of host names")
        values["allowed_domains"] = tuple(d.lower() for d in domains)
    if url.get("allowed_ports") is not None:
        ports = url["allowed_ports"]
        if not isinstance(ports, list) or not all(isinstance(p, int) and 0 < p < 65536 for p in ports):
            raise ConfigError(f"{path}: 'webhooks.url.allowed_ports' must be a list of port numbers")
        values["allowed_ports"] = tuple(ports)
    if url.get("max_url_length") is not None:
        length = url["max_url_length"]
        if not isinstance(length, int) or isinstance(length, bool) or length < 1:
            raise ConfigError(f"{path}: 'webhooks.url.max_url_length' must be a positive integer, got {length!r}")
        values["max_url_length"] = length
    return WebhookUrlPolicy(**values)


@dataclass(frozen=True)
class StoreConfig:
    """``langgraph.json`` ``"store"``: the LangGraph store's semantic index and TTL,
    with langgraph-api's keys.

    Attributes:
        index: ``None`` (no semantic search) or a LangGraph ``IndexConfig`` dict:
            ``dims`` (int, required), ``embed`` (required: ``"provider:model"`` for
            LangChain's ``init_embeddings``, or ``"./file.py:attr"`` /
            ``"package.module:attr"`` naming an ``Embeddings`` object or a function
            ``list[str] -> list[list[float]]``, relative to the ``langgraph.json``),
            ``fields`` (JSON paths to embed, default ``["$"]``: the whole value) and
            optionally ``distance_type`` (``cosine`` default, ``l2``,
            ``inner_product``).
        ttl: ``None`` or a LangGraph ``TTLConfig`` dict: ``refresh_on_read`` (bool,
            default true), ``default_ttl`` (minutes, for items put without a
            ``ttl``), ``sweep_interval_minutes`` (minutes between deletions of
            expired items; Evergraph accepts fractions of a minute).
        base_dir: folder of the ``langgraph.json`` (relative ``embed`` paths).
    """

    index: dict[str, Any] | None = None
    ttl: dict[str, Any] | None = None
    base_dir: Path = Path(".")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_positive(path: Path, section: dict[str, Any], name: str, keys: tuple[str, ...], what: str) -> None:
    """Each of ``keys`` in ``section`` (``langgraph.json``'s ``name`` object) is absent
    or a number above 0.

    Raises:
        ConfigError: ``'<name>.<key>' must be <what>, got <value>``.
    """
    for key in keys:
        value = section.get(key)
        if value is not None and (not _number(value) or value <= 0):
            raise ConfigError(f"{path}: '{name}.{key}' must be {what}, got {value!r}")


def _parse_store(path: Path, raw: Any) -> StoreConfig:
    if raw is None:
        return StoreConfig(base_dir=path.parent)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: 'store' must be an object")
    index = raw.get("index")
    if index is not None:
        if not isinstance(index, dict):
            raise ConfigError(f"{path}: 'store.index' must be an object")
        dims = index.get("dims")
        if not isinstance(dims, int) or isinstance(dims, bool) or dims < 1:
            raise ConfigError(f"{path}: 'store.index.dims' must be a positive integer, got {dims!r}")
        embed = index.get("embed")
        if not isinstance(embed, str) or ":" not in embed:
            raise ConfigError(
                f"{path}: 'store.index.embed' must be 'provider:model' or 'path/to/file.py:attr', got {embed!r}"
            )
        fields = index.get("fields")
        if fields is not None and (not isinstance(fields, list) or not all(isinstance(f, str) and f for f in fields)):
            raise ConfigError(f"{path}: 'store.index.fields' must be a list of JSON paths, got {fields!r}")
        distance = index.get("distance_type")
        if distance is not None and distance not in ("cosine", "l2", "inner_product"):
            raise ConfigError(
                f"{path}: 'store.index.distance_type' must be cosine, l2 or inner_product, got {distance!r}"
            )
        index = dict(index)
    ttl = raw.get("ttl")
    if ttl is not None:
        if not isinstance(ttl, dict):
            raise ConfigError(f"{path}: 'store.ttl' must be an object")
        if "refresh_on_read" in ttl and not isinstance(ttl["refresh_on_read"], bool):
            raise ConfigError(f"{path}: 'store.ttl.refresh_on_read' must be true or false")
        _check_positive(path, ttl, "store.ttl", ("default_ttl", "sweep_interval_minutes"), "a positive number of minutes")
        ttl = dict(ttl)
    return StoreConfig(index=index, ttl=ttl, base_dir=path.parent)


@dataclass(frozen=True)
class ThreadTTLConfig:
    """``langgraph.json`` ``"checkpointer": {"ttl": {...}}``: when threads expire and
    what then happens to them, with langgraph-api 0.16.7's keys (swept by
    :mod:`adapter.resources.ttl`).

    Attributes:
        strategy: ``delete`` (the thread, its runs, checkpoints and workflows go) or
            ``keep_latest`` (the thread stays with only its latest checkpoint); for
            threads whose own ``ttl`` names no strategy.
        default_ttl: minutes of inactivity after which a thread without a ``ttl`` of
            its own expires; ``None``: only threads with their own ``ttl`` expire.
        sweep_interval_minutes: minutes between two sweeps (Evergraph accepts
            fractions of a minute, e.g. ``0.05`` for 3 s in tests).
        sweep_limit: most threads one sweep deletes or prunes.
    """

    strategy: str = "delete"
    default_ttl: float | None = None
    sweep_interval_minutes: float = 5.0
    sweep_limit: int = 10000


#: the keys of ``checkpointer.ttl``
_TTL_KEYS = ("strategy", "default_ttl", "sweep_interval_minutes", "sweep_limit")


def _parse_checkpointer_ttl(path: Path, raw: Any) -> ThreadTTLConfig | None:
    """``checkpointer.ttl`` of ``langgraph.json`` at ``path`` (``raw``: the whole
    ``checkpointer`` value), or ``None`` when absent.

    Raises:
        ConfigError: naming the key (``'checkpointer.ttl.<key>' …``) that is unknown or
            has a bad value.
    """
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: 'checkpointer' must be an object")
    ttl = raw.get("ttl")
    if ttl is None:
        return None
    if not isinstance(ttl, dict):
        raise ConfigError(f"{path}: 'checkpointer.ttl' must be an object")
    for key in ttl:
        if key not in _TTL_KEYS:
            raise ConfigError(f"{path}: unknown key 'checkpointer.ttl.{key}' (expected one of {', '.join(_TTL_KEYS)})")
    values: dict[str, Any] = {}
    strategy = ttl.get("strategy")
    if strategy is not None:
        if strategy not in ("delete", "keep_latest"):
            raise ConfigError(f"{path}: 'checkpointer.ttl.strategy' must be delete or keep_latest, got {strategy!r}")
        values["strategy"] = strategy
    _check_positive(path, ttl, "checkpointer.ttl", ("default_ttl", "sweep_interval_minutes"), "a positive number of minutes")
    if ttl.get("default_ttl") is not None:
        values["default_ttl"] = float(ttl["default_ttl"])
    if ttl.get("sweep_interval_minutes") is not None:
        values["sweep_interval_minutes"] = float(ttl["sweep_interval_minutes"])
    limit = ttl.get("sweep_limit")
    if limit is not None:
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ConfigError(f"{path}: 'checkpointer.ttl.sweep_limit' must be a positive integer, got {limit!r}")
        values["sweep_limit"] = limit
    return ThreadTTLConfig(**values)


@dataclass(frozen=True)
class AuthConfig:
    """``langgraph.json`` ``"auth"``, with langgraph-api's keys.

    Attributes:
        path: ``"./file.py:attr"`` or ``"package.module:attr"`` naming a
            ``langgraph_sdk.Auth`` object (relative to the ``langgraph.json``).
        cache: ``None`` or ``{"cache_keys": [header names], "ttl_seconds": n,
            "max_size": n}``: authenticate results are reused for requests with the
            same values of those headers for ``ttl_seconds`` (default 60).
        openapi: ``None`` or ``{"securitySchemes": {...}, "security": [...]}``
            added to ``/openapi.json``.
        disable_studio_auth: accepted for compatibility (Evergraph has no Studio
            auth to disable: every request goes through the handler).
        base_dir: folder of the ``langgraph.json``.
    """

    path: str | None = None
    cache: dict[str, Any] | None = None
    openapi: dict[str, Any] | None = None
    disable_studio_auth: bool = False
    base_dir: Path = Path(".")

    @property
    def target(self) -> str:
        """The file or module part of :attr:`path` (before ``:``)."""
        return (self.path or "").rpartition(":")[0]

    @property
    def attr(self) -> str:
        """The attribute part of :attr:`path` (after ``:``)."""
        return (self.path or "").rpartition(":")[2]


def _parse_auth(path: Path, raw: Any) -> AuthConfig | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: 'auth' must be an object")
    auth_path = raw.get("path")
    if auth_path is not None:
        target, sep, attr = auth_path.rpartition(":") if isinstance(auth_path, str) else ("", "", "")
        if not sep or not target or not attr:
            raise ConfigError(
                f"{path}: 'auth.path' must be 'path/to/file.py:attr' or 'package.module:attr', got {auth_path!r}"
            )
    cache = raw.get("cache")
    if cache is not None:
        if not isinstance(cache, dict):
            raise ConfigError(f"{path}: 'auth.cache' must be an object")
        keys = cache.get("cache_keys")
        if keys is not None and (not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys)):
            raise ConfigError(f"{path}: 'auth.cache.cache_keys' must be a list of header names, got {keys!r}")
        _check_positive(path, cache, "auth.cache", ("ttl_seconds", "max_size"), "a positive number")
        cache = dict(cache)
    openapi = raw.get("openapi")
    if openapi is not None and not isinstance(openapi, dict):
        raise ConfigError(f"{path}: 'auth.openapi' must be an object")
    studio = raw.get("disable_studio_auth", False)
    if not isinstance(studio, bool):
        raise ConfigError(f"{path}: 'auth.disable_studio_auth' must be true or false, got {studio!r}")
    return AuthConfig(path=auth_path, cache=cache, openapi=openapi, disable_studio_auth=studio, base_dir=path.parent)


@dataclass(frozen=True)
class LangGraphConfig:
    """A parsed ``langgraph.json``.

    Attributes:
        path: absolute path of the file.
        graphs: ``graphs``, by graph id, in the file's order.
        env: ``env`` as variables (from the object or the ``.env`` file it names).
        dependencies: local ``dependencies`` as absolute paths (package names are
            left to the user's environment).
        raw: the whole JSON object.
        webhooks, store, auth, http: the parsed ``webhooks``, ``store``, ``auth`` and
            ``http`` keys.
        thread_ttl: the parsed ``checkpointer.ttl`` (``None``: threads never expire).
    """

    path: Path
    graphs: dict[str, GraphSpec]
    env: dict[str, str]
    dependencies: list[Path]
    raw: dict[str, Any] = field(default_factory=dict)
    webhooks: WebhookUrlPolicy = field(default_factory=WebhookUrlPolicy)
    store: StoreConfig = field(default_factory=StoreConfig)
    auth: AuthConfig | None = None
    http: HttpConfig = field(default_factory=HttpConfig)
    thread_ttl: ThreadTTLConfig | None = None

    @property
    def base_dir(self) -> Path:
        """Folder holding the ``langgraph.json``."""
        return self.path.parent


def _parse_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :]
        key, sep, value = line.partition("=")
        if not sep:
            raise ConfigError(f"{path}:{lineno}: expected KEY=VALUE, got {line!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def load_config(path: str | Path) -> LangGraphConfig:
    """Parse and validate a ``langgraph.json``.

    Args:
        path: path of the JSON file.

    Returns:
        The parsed config; graph targets are not imported yet (see
        :mod:`adapter.graphs.registry`).

    Raises:
        ConfigError: the file is missing or malformed, or a graph entry is not of the
            form ``target:attr``.
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise ConfigError(f"langgraph.json not found: {path}")
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: invalid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a JSON object at the top level")
    base = path.parent
    graphs_raw = raw.get("graphs")
    if not isinstance(graphs_raw, dict) or not graphs_raw:
        raise ConfigError(f"{path}: 'graphs' must be a non-empty object of graph_id -> 'path:attr'")
    graphs: dict[str, GraphSpec] = {}
    for graph_id, entry in graphs_raw.items():
        description = None
        if isinstance(entry, dict):
            description = entry.get("description")
            entry = entry.get("path")
        if not isinstance(entry, str) or ":" not in entry:
            raise ConfigError(
                f"{path}: graph {graph_id!r} must be 'path/to/file.py:attr' or "
                f"'package.module:attr', got {entry!r}"
            )
        target, _, attr = entry.rpartition(":")
        if not target or not attr:
            raise ConfigError(f"{path}: graph {graph_id!r} has an empty path or attribute: {entry!r}")
        graphs[graph_id] = GraphSpec(graph_id, target, attr, description, base)

    env_raw = raw.get("env") or {}
    if isinstance(env_raw, str):
        env_path = (base / env_raw).resolve()
        if env_path.is_file():
            env = _parse_env_file(env_path)
        else:
            # as langgraph-api starts without it: templates ship only `.env.example`
            logger.warning("%s: env file %s not found; starting without it", path, env_path)
            env = {}
    elif isinstance(env_raw, dict):
        env = {str(k): str(v) for k, v in env_raw.items()}
    else:
        raise ConfigError(f"{path}: 'env' must be a file path or an object, got {type(env_raw).__name__}")

    deps_raw = raw.get("dependencies") or []
    if not isinstance(deps_raw, list):
        raise ConfigError(f"{path}: 'dependencies' must be a list")
    dependencies = []
    for dep in deps_raw:
        if isinstance(dep, str) and (dep.startswith(".") or dep.startswith("/")):
            dependencies.append((base / dep).resolve())
        # Package names (e.g. "langchain_openai") are installed by the user's environment.
    webhooks = _parse_webhooks(path, raw.get("webhooks"))
    store = _parse_store(path, raw.get("store"))
    auth = _parse_auth(path, raw.get("auth"))
    thread_ttl = _parse_checkpointer_ttl(path, raw.get("checkpointer"))
    try:
        http = parse_http(raw.get("http"), base)
    except HttpConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return LangGraphConfig(
        path=path, graphs=graphs, env=env, dependencies=dependencies, raw=raw, webhooks=webhooks, store=store,
        auth=auth, http=http, thread_ttl=thread_ttl,
    )


def apply_env(config: LangGraphConfig) -> None:
    """Export the config's ``env`` into ``os.environ`` without overriding set variables.

    Mirrors ``langgraph dev``, where the process environment wins over ``env``.
    """
    for key, value in config.env.items():
        os.environ.setdefault(key, value)
