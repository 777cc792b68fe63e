"""Request bodies of the REST API (pydantic v2).

Every model ignores fields it does not know, as the reference server does
(API.md §1.3: unknown body fields pass silently). Enumerations are ``Literal`` so a
bad value gives 422 naming the field. Sections belong to endpoint groups; add new
groups as new sections.
"""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    """Base of request bodies: unknown fields are accepted and ignored."""

    model_config = ConfigDict(extra="allow")


OnConflict = Literal["raise", "do_nothing"]
SortOrder = Literal["asc", "desc"]


def _limit() -> Any:
    return Field(default=10, ge=1)


def _offset() -> Any:
    return Field(default=0, ge=0)


# ----------------------------------------------------------------------- assistants (§3.2)

AssistantSortBy = Literal["assistant_id", "graph_id", "name", "created_at", "updated_at"]
AssistantField = Literal[
    "assistant_id", "graph_id", "name", "description", "config", "context",
    "created_at", "updated_at", "metadata", "version",
]


class AssistantCreate(_Body):
    """``POST /assistants``."""

    graph_id: str
    assistant_id: Union[str, None] = None
    config: Union[dict[str, Any], None] = None
    context: Union[dict[str, Any], None] = None
    metadata: Union[dict[str, Any], None] = None
    if_exists: Union[OnConflict, None] = None
    name: Union[str, None] = None
    description: Union[str, None] = None


class AssistantPatch(_Body):
    """``PATCH /assistants/{id}``: every given field makes a new version."""

    graph_id: Union[str, None] = None
    config: Union[dict[str, Any], None] = None
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
    """``POST /assistants/{id}/latest`` (the version is in the body, API.md §5.2)."""

    version: int = Field(ge=1)


# -------------------------------------------------------------------------- threads (§3.3)

ThreadStatus = Literal["idle", "busy", "interrupted", "error"]
ThreadSortBy = Literal["thread_id", "status", "created_at", "updated_at", "state_updated_at"]
ThreadField = Literal[
    "thread_id", "created_at", "updated_at", "state_updated_at", "metadata", "config",
    "context", "status", "values", "interrupts", "error",
]


class ThreadTTL(_Body):
    """``ttl`` of a thread: minutes, and what happens when it expires."""

    ttl: float = Field(ge=0)
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


class ThreadPatch(_Body):
    """``PATCH /threads/{id}``: metadata is merged into the thread's."""

    metadata: Union[dict[str, Any], None] = None
    ttl: Union[ThreadTTL, float, None] = None


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


class ThreadCount(_Body):
    """``POST /threads/count``."""

    metadata: Union[dict[str, Any], None] = None
    values: Union[dict[str, Any], None] = None
    status: Union[ThreadStatus, None] = None


class ThreadPrune(_Body):
    """``POST /threads/prune``."""

    thread_ids: list[str]
    strategy: Literal["delete", "keep_latest"] = "delete"


# --------------------------------------------------------------------- thread state (§3.4)


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
    ``{"configurable": {"checkpoint_id": …}}`` (API.md §5.3)."""

    limit: int = _limit()
    before: Union[dict[str, Any], None] = None
    metadata: Union[dict[str, Any], None] = None
    checkpoint: Union[dict[str, Any], None] = None
    select: Union[list[str], None] = None
