"""Request bodies of the REST API (pydantic v2).

Every model ignores fields it does not know, as langgraph-api 0.16.7 does (unknown
body fields pass silently). Enumerations are ``Literal`` so a bad value gives 422
naming the field. Sections belong to endpoint groups; add new groups as new
sections. Routes parse their bodies with these (docs/architecture.md, "One run's
path", step 1).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal, Union, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from evergraph.adapter import serde
from evergraph.api.errors import ApiError

__all__ = [
    "INT64_MAX",
    "MAX_AFTER_SECONDS",
    "MAX_JSON_DEPTH",
    "MAX_TTL_MINUTES",
    "AssistantCount",
    "AssistantCreate",
    "AssistantField",
    "AssistantPatch",
    "AssistantSearch",
    "AssistantSetLatest",
    "AssistantSortBy",
    "AssistantVersionsSearch",
    "CancelMany",
    "HistoryRequest",
    "JsonBody",
    "OnConflict",
    "RunCreate",
    "RunCreateBackground",
    "RunCreateStateless",
    "RunCreateStatelessBackground",
    "SortOrder",
    "StateAtCheckpoint",
    "StateUpdate",
    "StreamMode",
    "Superstep",
    "SuperstepUpdate",
    "ThreadCount",
    "ThreadCreate",
    "ThreadField",
    "ThreadPatch",
    "ThreadPrune",
    "ThreadSearch",
    "ThreadSortBy",
    "ThreadStatus",
    "ThreadTTL",
    "check_config",
    "check_json_value",
]
#: deepest nesting of objects/arrays a request body may have (the JSON encoder that
#: stores and answers documents stops at 255 levels; responses wrap bodies in a few)
MAX_JSON_DEPTH = 200

#: largest integer a request may carry (body values and numeric query parameters):
#: the records are SQLite/PostgreSQL 64-bit integers and orjson writes no larger one
INT64_MAX = 2**63 - 1

#: longest ``after_seconds`` of a run, in seconds (ten years): the thread's workflow
#: sleeps that long in a Temporal timer; Python cannot even represent a delay of
#: about 10**14 seconds
MAX_AFTER_SECONDS = 10 * 365 * 24 * 3600

#: longest ``ttl`` of a thread or a store item, in minutes (one hundred years): the
#: store computes the expiry as a ``datetime``, which ends at the year 9999
MAX_TTL_MINUTES = 100 * 365 * 24 * 60

_INT64 = (-(2**63), INT64_MAX)


def _where(path: str) -> str:
    """``path`` printable in a JSON error body (unpaired surrogates escaped)."""
    return (path or "body").encode("utf-8", "backslashreplace").decode("utf-8")


def check_json_value(value: Any, path: str = "") -> None:
    """Reject, before anything is stored, JSON the server could not store or send back.

    Python's JSON parser accepts integers of any size, lone UTF-16 surrogates
    (``"\\udc00"``) and any nesting; the records, checkpoints and responses are
    written with orjson, which does not. Such input is a client error.

    Raises:
        ValueError: naming the dotted path of the first offending value (an
            integer outside the signed 64-bit range, a float that is not finite, a
            string or key that is not valid Unicode, or nesting deeper than
            :data:`MAX_JSON_DEPTH`; bodies that deep are refused before they are
            parsed, :mod:`evergraph.api.nesting`).
    """
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, bool) or item is None:
            continue
        if isinstance(item, float):
            if not math.isfinite(item):  # NaN, Infinity or 1e999: not JSON, stored as null
                raise ValueError(f"{_where(where)}: {item} is not a finite number")
            continue
        if isinstance(item, int):
            if not _INT64[0] <= item <= _INT64[1]:
                raise ValueError(f"{_where(where)}: integer {item} is outside the signed 64-bit range")
        elif isinstance(item, str):
            _check_text(item, where)
        elif isinstance(item, (dict, list)):
            if depth >= MAX_JSON_DEPTH:
                raise ValueError(f"{_where(where)}: nested deeper than {MAX_JSON_DEPTH} levels")
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_text(str(key), where)
                    stack.append((child, f"{where}.{key}" if where else str(key), depth + 1))
            else:
                for i, child in enumerate(item):
                    stack.append((child, f"{where}[{i}]", depth + 1))


def _check_text(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{_where(where)}: text with an unpaired UTF-16 surrogate ({text[:40]!r})") from None


def check_config(config: Any, field: str = "config") -> None:
    """Refuse a run ``config`` LangGraph would fail the run on: ``recursion_limit``
    must be an integer of at least 1 (langgraph-api 0.16.7 refuses other types with
    422 and accepts the run with ``-1``, which then fails ``recursion_limit must be
    at least 1``).

    Raises:
        ValueError: naming ``<field>.recursion_limit`` and the value.
    """
    if not isinstance(config, dict) or "recursion_limit" not in config:
        return
    limit = config["recursion_limit"]
    if limit is None:
        return
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(
            f"{field}.recursion_limit must be an integer of at least 1 (LangGraph's steps per run), got {limit!r}"
        )


def _checked_config(config: Any) -> Any:
    check_config(config, "config")
    return config


RunConfig = Annotated[Union[dict[str, Any], None], AfterValidator(_checked_config)]
"""A request's ``config`` object, checked by :func:`check_config` (assistants, runs
and crons)."""


def _check_ttl_minutes(value: Any) -> Any:
    """A bare-number ``ttl`` (minutes) no longer than :data:`MAX_TTL_MINUTES`."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > MAX_TTL_MINUTES:
        raise ValueError(f"ttl must be at most {MAX_TTL_MINUTES} minutes (100 years), got {value}")
    return value


class JsonBody(BaseModel):
    """Base of request bodies: unknown fields are accepted and ignored; values the
    server could not store or send back are refused (:func:`check_json_value`)."""

    model_config = ConfigDict(extra="allow")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        check_json_value(data)
        return data


_Body = JsonBody


OnConflict = Literal["raise", "do_nothing"]
SortOrder = Literal["asc", "desc"]


def _limit() -> Any:
    return Field(default=10, ge=1)


def _offset() -> Any:
    return Field(default=0, ge=0)


# ------------------------------------------------------------------------------ assistants

AssistantSortBy = Literal["assistant_id", "graph_id", "name", "created_at", "updated_at"]
AssistantField = Literal[
    "assistant_id", "graph_id", "name", "description", "config", "context",
    "created_at", "updated_at", "metadata", "version",
]


class AssistantCreate(_Body):
    """``POST /assistants``."""

    graph_id: str
    assistant_id: Union[str, None] = None
    config: RunConfig = None
    context: Union[dict[str, Any], None] = None
    metadata: Union[dict[str, Any], None] = None
    if_exists: Union[OnConflict, None] = None
    name: Union[str, None] = None
    description: Union[str, None] = None


class AssistantPatch(_Body):
    """``PATCH /assistants/{id}``: every given field makes a new version."""

    graph_id: Union[str, None] = None
    config: RunConfig = None
    context: Union[dict[str, Any], None] = None
    metadata: Union[dict[str, Any], None] = None
    name: Union[str, None] = None
    description: Union[str, None] = None


class AssistantSearch(_Body):
    """``POST /assistants/search``."""

    metadata: Union[dict[str, Any], None] = None
    graph_id: Union[str, None] = None
    name: Union[str, None] = None
    limit: int = _limit()
    offset: int = _offset()
    sort_by: Union[AssistantSortBy, None] = None
    sort_order: Union[SortOrder, None] = None
    select: Union[list[AssistantField], None] = None


class AssistantCount(_Body):
    """``POST /assistants/count``."""

    metadata: Union[dict[str, Any], None] = None
    graph_id: Union[str, None] = None
    name: Union[str, None] = None


class AssistantVersionsSearch(_Body):
    """``POST /assistants/{id}/versions``."""

    metadata: Union[dict[str, Any], None] = None
    limit: int = _limit()
    offset: int = _offset()


class AssistantSetLatest(_Body):
    """``POST /assistants/{id}/latest``: the version is in the body, as the SDK sends
    it (langgraph-api 0.16.7 refuses, 422, the query parameter its OpenAPI document
    advertises)."""

    version: int = Field(ge=1)


# --------------------------------------------------------------------------------- threads

ThreadStatus = Literal["idle", "busy", "interrupted", "error"]
ThreadSortBy = Literal["thread_id", "status", "created_at", "updated_at", "state_updated_at"]
ThreadField = Literal[
    "thread_id", "created_at", "updated_at", "state_updated_at", "metadata", "config",
    "context", "status", "values", "interrupts", "error",
]


class ThreadTTL(_Body):
    """``ttl`` of a thread: minutes, and what happens when it expires."""

    ttl: float = Field(ge=0, le=MAX_TTL_MINUTES)
    strategy: Literal["delete", "keep_latest"] = "delete"


class SuperstepUpdate(_Body):
    """One update of a ``supersteps`` entry: applied as if ``as_node`` returned it."""

    values: Any = None
    command: Union[dict[str, Any], None] = None
    as_node: Union[str, None] = None


class Superstep(_Body):
    """One superstep of ``POST /threads`` ``supersteps``."""

    updates: list[SuperstepUpdate] = Field(min_length=1)


class ThreadCreate(_Body):
    """``POST /threads``."""

    thread_id: Union[str, None] = None
    metadata: Union[dict[str, Any], None] = None
    if_exists: Union[OnConflict, None] = None
    ttl: Union[ThreadTTL, float, None] = None
    supersteps: Union[list[Superstep], None] = None

    _check_ttl = field_validator("ttl")(_check_ttl_minutes)


class ThreadPatch(_Body):
    """``PATCH /threads/{id}``: metadata is merged into the thread's."""

    metadata: Union[dict[str, Any], None] = None
    ttl: Union[ThreadTTL, float, None] = None

    _check_ttl = field_validator("ttl")(_check_ttl_minutes)


class ThreadSearch(_Body):
    """``POST /threads/search``."""

    metadata: Union[dict[str, Any], None] = None
    values: Union[dict[str, Any], None] = None
    ids: Union[list[str], None] = None
    status: Union[ThreadStatus, None] = None
    limit: int = _limit()
    offset: int = _offset()
    sort_by: Union[ThreadSortBy, None] = None
    sort_order: Union[SortOrder, None] = None
    select: Union[list[ThreadField], None] = None
    extract: Union[dict[str, str], None] = None
    #: leave out threads whose metadata contains every one of these pairs
    exclude_metadata: Union[dict[str, Any], None] = None


class ThreadCount(_Body):
    """``POST /threads/count``."""

    metadata: Union[dict[str, Any], None] = None
    values: Union[dict[str, Any], None] = None
    status: Union[ThreadStatus, None] = None
    #: leave out threads whose metadata contains every one of these pairs
    exclude_metadata: Union[dict[str, Any], None] = None


class ThreadPrune(_Body):
    """``POST /threads/prune``."""

    thread_ids: list[str]
    strategy: Literal["delete", "keep_latest"] = "delete"


# ---------------------------------------------------------------------------- thread state


class StateAtCheckpoint(_Body):
    """``POST /threads/{id}/state/checkpoint``."""

    checkpoint: dict[str, Any]
    subgraphs: bool = False
    select: Union[list[str], None] = None


class StateUpdate(_Body):
    """``POST /threads/{id}/state``: ``values`` applied as if ``as_node`` returned them,
    on the latest checkpoint or (fork) on ``checkpoint``/``checkpoint_id``."""

    values: Union[dict[str, Any], list[Any], None] = None
    as_node: Union[str, None] = None
    checkpoint: Union[dict[str, Any], None] = None
    checkpoint_id: Union[str, None] = None


class HistoryRequest(_Body):
    """``POST /threads/{id}/history``. ``before`` is a config
    ``{"configurable": {"checkpoint_id": …}}``, the only form langgraph-api 0.16.7
    accepts (it refuses the SDK's documented string and bare checkpoint forms)."""

    limit: int = _limit()
    before: Union[dict[str, Any], None] = None
    metadata: Union[dict[str, Any], None] = None
    checkpoint: Union[dict[str, Any], None] = None
    select: Union[list[str], None] = None


# ------------------------------------------------------------------------------------ runs

StreamMode = Literal[
    "values", "updates", "messages", "messages-tuple", "custom", "events", "debug", "tasks", "checkpoints",
    "tools",
]
"""Run stream modes the server accepts. ``tools`` (langgraph-sdk 0.4.14 lists it;
langgraph-api 0.16.7 refuses it with 422) is served by Evergraph, see
:mod:`adapter.execution.tools_stream`; the SDK's ``lifecycle`` is refused with
langgraph-api 0.16.7's 422."""

_STREAM_MODES = frozenset(get_args(StreamMode))


def _stream_mode_error(schema: str | None, value: Any) -> ApiError:
    """langgraph-api 0.16.7's 422 for a bad ``stream_mode``: its JSON-schema ``anyOf``
    message, naming ``schema`` (``RunCreateStateful`` or ``RunCreateStateless``; the
    stream and wait endpoints) or, when ``None``, the body's own schema (background
    runs and crons, as 0.16.7 words it), and showing the value as JSON."""
    shown = serde.dumps(value).decode()
    where = f'["components"]["schemas"]["{schema}"]' if schema else ""
    return ApiError(
        422,
        f"{shown} is not valid under any of the schemas listed in the 'anyOf' keyword\n\n"
        f'Failed validating "anyOf" in schema{where}["properties"]["stream_mode"]\n\n'
        f'On instance["stream_mode"]:\n    {shown}',
    )


class RunCreate(JsonBody):
    """Body of every run-creating endpoint on a thread (``/threads/{id}/runs``,
    ``/stream``, ``/wait``). Unknown fields are ignored; values that could not be
    stored are refused (:class:`JsonBody`)."""

    model_config = ConfigDict(extra="allow")

    assistant_id: str
    input: Any = None
    command: Union[dict[str, Any], None] = None
    metadata: Union[dict[str, Any], None] = None
    config: RunConfig = None
    context: Union[dict[str, Any], None] = None
    stream_mode: Union[StreamMode, list[StreamMode], None] = None
    stream_subgraphs: bool = False
    stream_resumable: bool = False
    interrupt_before: Union[Literal["*"], list[str], None] = None
    interrupt_after: Union[Literal["*"], list[str], None] = None
    checkpoint: Union[dict[str, Any], None] = None
    checkpoint_id: Union[str, None] = None
    multitask_strategy: Union[Literal["reject", "enqueue", "interrupt", "rollback"], None] = None
    if_not_exists: Union[Literal["reject", "create"], None] = None
    on_disconnect: Union[Literal["cancel", "continue"], None] = None
    on_completion: Union[Literal["delete", "keep"], None] = None
    after_seconds: Union[float, None] = Field(default=None, ge=0, le=MAX_AFTER_SECONDS)
    webhook: Union[str, None] = None
    durability: Union[Literal["sync", "async", "exit"], None] = None
    checkpoint_during: Union[bool, None] = None
    feedback_keys: Union[list[str], None] = None

    #: name of this body's schema in langgraph-api 0.16.7's OpenAPI document (error
    #: messages); ``None``: its 422s name no schema
    _schema_name: ClassVar[str | None] = "RunCreateStateful"

    @field_validator("stream_mode", mode="before")
    @classmethod
    def _check_stream_mode(cls, value: Any) -> Any:
        """A mode or a list of modes of :data:`StreamMode`, else langgraph-api's 422."""
        if value is None or (isinstance(value, str) and value in _STREAM_MODES):
            return value
        if isinstance(value, list) and all(isinstance(v, str) and v in _STREAM_MODES for v in value):
            return value
        raise _stream_mode_error(cls._schema_name, value)


class RunCreateStateless(RunCreate):
    """Body of the stateless run endpoints (``/runs``, ``/runs/stream``, ``/runs/wait``,
    ``/runs/batch``); same fields as :class:`RunCreate`."""

    _schema_name: ClassVar[str | None] = "RunCreateStateless"


class RunCreateBackground(RunCreate):
    """Body of ``POST /threads/{id}/runs`` (a background run): :class:`RunCreate`,
    whose 422s name no schema, as langgraph-api 0.16.7's do there."""

    _schema_name: ClassVar[str | None] = None


class RunCreateStatelessBackground(RunCreateStateless):
    """Body of ``POST /runs`` (a background stateless run): :class:`RunCreateStateless`,
    whose 422s name no schema, as langgraph-api 0.16.7's do there."""

    _schema_name: ClassVar[str | None] = None


class CancelMany(BaseModel):
    """Body of ``POST /runs/cancel``."""

    model_config = ConfigDict(extra="allow")
    thread_id: Union[str, None] = None
    run_ids: Union[list[str], None] = None
    status: Union[Literal["pending", "running", "all"], None] = None
