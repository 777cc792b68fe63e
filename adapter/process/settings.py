"""Evergraph settings, read from environment variables and validated at start-up.

Every setting has a documented default (see README "Configuration"). Invalid values
raise :class:`SettingsError` with a message that names the variable, so a process
fails at start-up instead of at the first request. See docs/architecture.md, "Where
to find things".
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

__all__ = [
    "CLAIM_CHECK_BYTES", "MAX_CLAIM_CHECK_BYTES", "MAX_REQUEST_BYTES", "NODE_ACTIVITY_MODES", "Settings", "SettingsError",
]

#: default largest request body, bytes: langgraph-api's ``HTTP_MAX_REQUEST_BODY_BYTES`` default
MAX_REQUEST_BYTES = 300 * 1024 * 1024
#: default longest value kept inside a Temporal payload (adapter/execution/claims.py)
CLAIM_CHECK_BYTES = 128 * 1024
#: the most ``EVERGRAPH_CLAIM_CHECK_BYTES`` may be: half of Temporal's 2 MB payload limit
MAX_CLAIM_CHECK_BYTES = 1024 * 1024


#: values of ``EVERGRAPH_NODE_ACTIVITIES`` (see :attr:`Settings.node_activities`)
NODE_ACTIVITY_MODES = ("activity", "local")


class SettingsError(ValueError):
    """Raised when an environment variable holds an invalid value."""


def _int(env: dict[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be >= {minimum}, got {value}")
    return value


def _float(env: dict[str, str], name: str, default: float | None) -> float | None:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be > 0 seconds, got {value}")
    return value


def _bool(env: dict[str, str], name: str) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise SettingsError(f"{name} must be 1 or 0, got {env[name]!r}")


def _port(env: dict[str, str], name: str) -> int | None:
    """An optional TCP port (1-65535); unset or empty: ``None``."""
    if not (env.get(name) or "").strip():
        return None
    port = _int(env, name, 0)
    if port > 65535:
        raise SettingsError(f"{name} must be <= 65535, got {port}")
    return port


#: values of ``EVERGRAPH_LOG_FORMAT`` and ``EVERGRAPH_LOG_LEVEL``
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_format(env: dict[str, str]) -> str:
    raw = (env.get("EVERGRAPH_LOG_FORMAT") or "").strip().lower()
    if not raw:
        return "json" if (env.get("LOG_JSON") or "").strip().lower() in ("1", "true", "yes") else "text"
    if raw not in LOG_FORMATS:
        raise SettingsError(f"EVERGRAPH_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, got {env['EVERGRAPH_LOG_FORMAT']!r}")
    return raw


def _log_level(env: dict[str, str]) -> str | None:
    raw = (env.get("EVERGRAPH_LOG_LEVEL") or "").strip().upper()
    if not raw:
        return None
    if raw not in LOG_LEVELS:
        raise SettingsError(f"EVERGRAPH_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {env['EVERGRAPH_LOG_LEVEL']!r}")
    return raw


@dataclass(frozen=True)
class Settings:
    """Process settings.

    Attributes:
        config_path: path of the ``langgraph.json`` to serve (``EVERGRAPH_CONFIG``).
        data_dir: folder for every local file of the embedded default: SQLite
            databases and the Temporal dev server's database (``EVERGRAPH_DATA_DIR``).
        database_uri: where Evergraph's records and LangGraph checkpoints live
            (``EVERGRAPH_DATABASE_URI``); ``sqlite:///<path>`` (default
            ``<data_dir>/evergraph.sqlite``) or ``postgresql://user:pw@host:port/db``
            (records and LangGraph's Postgres checkpointer in that database).
        temporal_address: ``host:port`` of the Temporal frontend (``TEMPORAL_ADDRESS``);
            ``None`` lets ``evergraph dev`` start its own dev server.
        temporal_namespace: Temporal namespace (``TEMPORAL_NAMESPACE``, default ``default``).
        temporal_api_key: API key for Temporal Cloud or a secured cluster (``TEMPORAL_API_KEY``).
        temporal_tls: use TLS to reach Temporal (``TEMPORAL_TLS=1``; implied by an API key).
        task_queue: Temporal task queue of workflows and node activities
            (``EVERGRAPH_TASK_QUEUE``, default ``evergraph``).
        host, port: where the API listens (``EVERGRAPH_HOST`` default ``127.0.0.1``,
            ``EVERGRAPH_PORT`` default 2024).
        max_concurrent_nodes: node attempts one worker runs at once
            (``EVERGRAPH_MAX_CONCURRENT_NODES``, default 100).
        max_concurrent_workflow_tasks: workflow tasks one worker runs at once
            (``EVERGRAPH_MAX_CONCURRENT_WORKFLOW_TASKS``, default 100).
        max_cached_workflows: workflows (threads and runs) one worker keeps in memory
            between their workflow tasks (``EVERGRAPH_MAX_CACHED_WORKFLOWS``, default
            1000, the Temporal SDK's default; at least 1, since without a cache the SDK
            cancels local activities in flight at every workflow task). It bounds the worker's
            memory however many threads wait at an interrupt: a workflow pushed out of
            the cache stays open on Temporal and is rebuilt by replaying its history
            when it next has work (a resume), which costs that one workflow task a
            little CPU. Keep it well above twice the runs in flight at once: a run
            pushed out mid-run was seen to fail (README "Configuration").
        run_timeout: optional cap on one run, in **seconds**
            (``EVERGRAPH_RUN_TIMEOUT`` or, for compatibility, ``BG_JOB_TIMEOUT_SECS``);
            ``None`` (default) means no cap.
        heartbeat_interval: seconds between ``: heartbeat`` SSE comments and long-poll
            padding newlines (``EVERGRAPH_SSE_HEARTBEAT``, default 5, as langgraph-api).
        workflow_sandbox: run workflows in Temporal's workflow sandbox
            (``EVERGRAPH_WORKFLOW_SANDBOX=1``); default off, which costs less CPU per
            workflow activation (the test-suite replays real histories in the sandbox).
        redis_uri: Redis for run streams (``EVERGRAPH_REDIS_URI``,
            ``redis://host:port/db`` or ``rediss://`` for TLS); ``None`` (default)
            keeps streams in process (``dev``) or in a SQLite file (``serve`` /
            ``worker`` on one machine).
        api_keys: the built-in API-key mode (``EVERGRAPH_API_KEYS``, comma-separated):
            when set, every request except ``/ok``, ``/info`` and the OpenAPI
            pages needs an ``x-api-key`` header holding one of them (401
            otherwise). All keys authenticate the same identity
            (``evergraph-api-key``); per-user isolation needs ``auth.path``.
        default_recursion_limit: supersteps a run may take when its config sets no
            ``recursion_limit`` (``LANGGRAPH_DEFAULT_RECURSION_LIMIT``, default 10011,
            the default of langgraph-api; in-process LangGraph's own default is 25).
        max_request_bytes: the largest request body the API reads, in bytes
            (``EVERGRAPH_MAX_REQUEST_BYTES`` or, under langgraph-api's name,
            ``HTTP_MAX_REQUEST_BODY_BYTES``; default 300 MiB, langgraph-api's default).
            A longer body (``Content-Length`` or counted as it streams, chunked too) is
            answered 413 before anything is recorded (``api/body_limit.py``).
        claim_check_bytes: the longest value (serialized text, in characters) that
            travels inside a Temporal payload (``EVERGRAPH_CLAIM_CHECK_BYTES``, default
            131072 = 128 KiB, at most 1 MiB); longer run records, node writes and
            interrupts go by reference through the record store
            (``adapter/execution/claims.py``).
        mcp_page_size: tools per ``tools/list`` page of ``/mcp``
            (``EVERGRAPH_MCP_PAGE_SIZE``, default 100, langgraph-api's page size).
        node_activities: how node attempts run on Temporal (``EVERGRAPH_NODE_ACTIVITIES``):
            ``activity`` (default) runs every node attempt as a regular activity, whose
            timeouts the Temporal server enforces; ``local`` runs the attempts of nodes
            without a ``TimeoutPolicy`` as Temporal *local* activities on the worker
            that hosts the run's workflow (fewer server round trips; see
            docs/architecture.md, "Local and regular node activities", for what it
            changes and why it is not the default).
        worker_metrics_port: where a worker process serves its own Prometheus metrics
            and the Temporal SDK's (``EVERGRAPH_WORKER_METRICS_PORT``, 1-65535); ``None``
            (default): no worker endpoint (under ``evergraph dev`` the API's ``/metrics``
            shows the worker's metrics anyway). See
            :mod:`evergraph.adapter.observability.endpoint`.
        worker_metrics_host: the address of that endpoint (``EVERGRAPH_WORKER_METRICS_HOST``,
            default ``127.0.0.1``; ``0.0.0.0`` in a container).
        log_format: ``text`` (default) or ``json``, one JSON object per line for every
            logger (``EVERGRAPH_LOG_FORMAT``; langgraph-api's ``LOG_JSON=true`` means
            ``json`` when it is unset). See :mod:`evergraph.adapter.observability.logs`.
        log_level: the root log level (``EVERGRAPH_LOG_LEVEL``: ``DEBUG``, ``INFO``,
            ``WARNING``, ``ERROR`` or ``CRITICAL``); ``None`` (default): ``WARNING``,
            with the run state lines of logger ``evergraph.runs`` at ``INFO``.
        extra: further named values for extensions; Evergraph itself reads none.
    """

    config_path: Path = Path("langgraph.json")
    data_dir: Path = Path(".evergraph")
    database_uri: str = ""
    temporal_address: str | None = None
    temporal_namespace: str = "default"
    temporal_api_key: str | None = None
    temporal_tls: bool = False
    task_queue: str = "evergraph"
    host: str = "127.0.0.1"
    port: int = 2024
    max_concurrent_nodes: int = 100
    max_concurrent_workflow_tasks: int = 100
    max_cached_workflows: int = 1000
    run_timeout: float | None = None
    heartbeat_interval: float = 5.0
    workflow_sandbox: bool = False
    redis_uri: str | None = None
    api_keys: tuple[str, ...] = ()
    default_recursion_limit: int = 10011
    max_request_bytes: int = MAX_REQUEST_BYTES
    claim_check_bytes: int = CLAIM_CHECK_BYTES
    mcp_page_size: int = 100
    node_activities: str = "activity"
    worker_metrics_port: int | None = None
    worker_metrics_host: str = "127.0.0.1"
    log_format: str = "text"
    log_level: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default ``os.environ``).

        Raises:
            SettingsError: a variable holds an invalid value; the message names it.
        """
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("EVERGRAPH_DATA_DIR") or ".evergraph")
        port = _int(env, "EVERGRAPH_PORT", 2024)
        if port > 65535:
            raise SettingsError(f"EVERGRAPH_PORT must be <= 65535, got {port}")
        settings = cls(
            config_path=Path(env.get("EVERGRAPH_CONFIG") or "langgraph.json"),
            data_dir=data_dir,
            database_uri=env.get("EVERGRAPH_DATABASE_URI") or "",
            temporal_address=env.get("TEMPORAL_ADDRESS") or None,
            temporal_namespace=env.get("TEMPORAL_NAMESPACE") or "default",
            temporal_api_key=env.get("TEMPORAL_API_KEY") or None,
            temporal_tls=(env.get("TEMPORAL_TLS", "").lower() in ("1", "true", "yes")),
            task_queue=env.get("EVERGRAPH_TASK_QUEUE") or "evergraph",
            host=env.get("EVERGRAPH_HOST") or "127.0.0.1",
            port=port,
            max_concurrent_nodes=_int(env, "EVERGRAPH_MAX_CONCURRENT_NODES", 100),
            max_concurrent_workflow_tasks=_int(
                env, "EVERGRAPH_MAX_CONCURRENT_WORKFLOW_TASKS", 100
            ),
            max_cached_workflows=_int(env, "EVERGRAPH_MAX_CACHED_WORKFLOWS", 1000),
            run_timeout=_float(
                env,
                "EVERGRAPH_RUN_TIMEOUT" if env.get("EVERGRAPH_RUN_TIMEOUT") else "BG_JOB_TIMEOUT_SECS",
                None,
            ),
            heartbeat_interval=_float(env, "EVERGRAPH_SSE_HEARTBEAT", 5.0) or 5.0,
            workflow_sandbox=_bool(env, "EVERGRAPH_WORKFLOW_SANDBOX"),
            redis_uri=env.get("EVERGRAPH_REDIS_URI") or None,
            api_keys=tuple(k.strip() for k in (env.get("EVERGRAPH_API_KEYS") or "").split(",") if k.strip()),
            default_recursion_limit=_int(env, "LANGGRAPH_DEFAULT_RECURSION_LIMIT", 10011),
            max_request_bytes=_int(
                env,
                "EVERGRAPH_MAX_REQUEST_BYTES" if env.get("EVERGRAPH_MAX_REQUEST_BYTES") else "HTTP_MAX_REQUEST_BODY_BYTES",
                MAX_REQUEST_BYTES,
            ),
            claim_check_bytes=_int(env, "EVERGRAPH_CLAIM_CHECK_BYTES", CLAIM_CHECK_BYTES, minimum=1024),
            mcp_page_size=_int(env, "EVERGRAPH_MCP_PAGE_SIZE", 100),
            worker_metrics_port=_port(env, "EVERGRAPH_WORKER_METRICS_PORT"),
            worker_metrics_host=env.get("EVERGRAPH_WORKER_METRICS_HOST") or "127.0.0.1",
            log_format=_log_format(env),
            log_level=_log_level(env),
            node_activities=(env.get("EVERGRAPH_NODE_ACTIVITIES") or "activity").strip().lower(),
        )
        if settings.claim_check_bytes > MAX_CLAIM_CHECK_BYTES:
            raise SettingsError(
                f"EVERGRAPH_CLAIM_CHECK_BYTES must be <= {MAX_CLAIM_CHECK_BYTES} (Temporal refuses payloads "
                f"past 2 MB), got {settings.claim_check_bytes}"
            )
        return settings.validated()

    def validated(self) -> Settings:
        """Fill derived defaults and check cross-field rules.

        Raises:
            SettingsError: unsupported database URI or malformed Temporal address.
        """
        uri = self.database_uri or f"sqlite:///{(self.data_dir / 'evergraph.sqlite').as_posix()}"
        if uri.startswith("postgres://"):
            uri = "postgresql://" + uri[len("postgres://") :]
        if not uri.startswith(("sqlite:///", "postgresql://")):
            raise SettingsError(
                "EVERGRAPH_DATABASE_URI must be sqlite:///<path> or postgresql://user:password@host:port/db, "
                f"got {uri!r}"
            )
        if self.node_activities not in NODE_ACTIVITY_MODES:
            raise SettingsError(
                f"EVERGRAPH_NODE_ACTIVITIES must be one of {', '.join(NODE_ACTIVITY_MODES)}, got {self.node_activities!r}"
            )
        if self.redis_uri is not None and not self.redis_uri.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError(
                f"EVERGRAPH_REDIS_URI must be redis://host:port/db (or rediss://, unix://), got {self.redis_uri!r}"
            )
        if self.temporal_address is not None:
            host, sep, port = self.temporal_address.rpartition(":")
            if not sep or not host or not port.isdigit():
                raise SettingsError(
                    f"TEMPORAL_ADDRESS must be host:port, got {self.temporal_address!r}"
                )
        return replace(self, database_uri=uri)

    @property
    def uses_postgres(self) -> bool:
        """Whether :attr:`database_uri` names a PostgreSQL database."""
        return self.database_uri.startswith("postgresql://")

    @property
    def sqlite_path(self) -> Path:
        """Filesystem path of the SQLite database named by :attr:`database_uri`."""
        return Path(self.database_uri[len("sqlite:///") :])
