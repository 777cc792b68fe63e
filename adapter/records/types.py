"""The shapes of Evergraph's records, as a :class:`~adapter.records.protocol.RecordStore`
takes and returns them.

Where a stored record has exactly the fields of the Agent Server's object, its type is
``langgraph_sdk.schema``'s own (langgraph-sdk 0.4): :class:`Assistant`,
:class:`AssistantVersion`. Where the server holds more than it returns (a run's
``kwargs``, ``temporary`` and ``on_completion``; a thread's ``config``, ``error`` and
``ttl``), the type is a ``TypedDict`` of this module. Timestamps are ISO 8601 strings,
as they travel on the wire (the SDK annotates them ``datetime`` but hands the JSON
strings through unparsed).

See docs/architecture.md for the layers.
"""

from __future__ import annotations

from typing import Any

from langgraph_sdk.schema import (
    Assistant,
    AssistantVersion,
    Interrupt,
    MultitaskStrategy,
    OnCompletionBehavior,
    OnConflictBehavior,
    Run,
    RunStatus,
    ThreadStatus,
)
from typing_extensions import NotRequired, TypedDict

#: the statuses of a run that has ended (``finish_run`` recorded it)
ENDED_RUN_STATUSES: tuple[RunStatus, ...] = ("success", "error", "interrupted", "timeout")

__all__ = [
    "ENDED_RUN_STATUSES",
    "ActiveRunStats",
    "Assistant",
    "AssistantPatch",
    "AssistantVersion",
    "Interrupt",
    "MultitaskStrategy",
    "OnCompletionBehavior",
    "OnConflictBehavior",
    "PublicRun",
    "PublicThread",
    "RunRecord",
    "RunStatus",
    "StagedWebhook",
    "ThreadBase",
    "ThreadRecord",
    "ThreadStatus",
    "ThreadUpdate",
]


class AssistantPatch(TypedDict, total=False):
    """What :meth:`RecordStore.update_assistant` changes: each field given and not
    ``None`` replaces the latest version's; ``metadata`` is merged into it."""

    graph_id: str
    config: dict[str, Any] | None
    context: dict[str, Any] | None
    metadata: dict[str, Any] | None
    name: str | None
    description: str | None


class ThreadBase(TypedDict):
    """The fields a thread always has, stored (:class:`ThreadRecord`) or returned
    (:class:`PublicThread`)."""

    thread_id: str
    created_at: str
    updated_at: str
    state_updated_at: str
    """When the thread's state (``values``/``interrupts``) was last recorded."""
    metadata: dict[str, Any]
    status: ThreadStatus
    config: dict[str, Any]
    """The config of the thread's last run (``{}`` before any)."""
    values: Any
    """The state's values after the last run, or ``None``."""


class ThreadRecord(ThreadBase):
    """A stored thread: the Agent Server's Thread plus what the server keeps beside it.

    ``interrupts``, ``error`` and ``ttl`` are absent from a record built by
    :func:`adapter.records.common.new_thread` and ``None`` in one read back until set.
    """

    interrupts: NotRequired[dict[str, list[Interrupt]] | None]
    """Interrupts of the last run, by task id."""
    error: NotRequired[dict[str, Any] | None]
    """``{"error", "message"}`` of the last run that failed or was cancelled."""
    ttl: NotRequired[dict[str, Any] | None]
    """The thread's time-to-live as the client gave it (``{"strategy", "ttl"}``)."""


class ThreadUpdate(TypedDict, total=False):
    """The columns :meth:`RecordStore.update_thread` sets (``metadata`` is merged into
    the stored one, the others replace it; ``updated_at`` defaults to now)."""

    created_at: str
    updated_at: str
    state_updated_at: str
    metadata: dict[str, Any] | None
    status: ThreadStatus
    config: dict[str, Any]
    values: Any
    interrupts: dict[str, list[Interrupt]] | None
    error: dict[str, Any] | None
    ttl: dict[str, Any] | None


class RunRecord(Run):
    """A stored run: the Agent Server's Run plus the run's arguments and what to do
    with its thread at the end."""

    kwargs: dict[str, Any]
    """``input``, ``command``, ``config``, ``context``, ``stream_mode``… of the request
    (as :func:`adapter.resources.runs.build_run` assembles them)."""
    temporary: NotRequired[bool]
    """The run made its own thread (a stateless run)."""
    on_completion: NotRequired[OnCompletionBehavior | None]
    """For a temporary thread: ``"delete"`` (the default) or ``"keep"`` it."""
    cancel_reason: NotRequired[str | None]
    """Why the run was cancelled (langgraph-api's reason texts), ``None`` if it was not."""


class PublicRun(Run):
    """A run as the API returns it (:func:`adapter.records.common.public_run`)."""

    kwargs: dict[str, Any]
    langsmith_session_name: None
    cancel_reason: NotRequired[str]
    """Only on a run that was cancelled."""


class PublicThread(ThreadBase):
    """A thread as the API returns it (:func:`adapter.records.common.public_thread`):
    ``interrupts`` appears once set, ``error`` too (``None`` while there is none)."""

    interrupts: NotRequired[dict[str, list[Interrupt]]]
    error: NotRequired[dict[str, Any] | None]
    ttl: NotRequired[dict[str, Any]]
    """Only when asked for (``GET /threads/{thread_id}?include=ttl``)."""


class StagedWebhook(TypedDict):
    """A webhook delivery waiting in the outbox: where to POST and the JSON body."""

    url: str
    body: dict[str, Any]


class ActiveRunStats(TypedDict):
    """What :meth:`RecordStore.active_run_stats` counts: the ``pending`` and
    ``running`` runs of every thread. A thread runs one run at a time, so each active
    run of a thread after its oldest (``created_at``, then ``run_id``) waits behind
    another one: it is *queued*. Times are the runs' ``created_at`` (ISO 8601)."""

    n_pending: int
    n_running: int
    oldest_pending: str | None
    """The oldest pending run's ``created_at`` (``None``: none pending)."""
    oldest_unblocked_pending: str | None
    """The same, of the pending runs whose thread has no ``running`` run."""
    median_pending: tuple[str, str] | None
    """The middle two pending runs' ``created_at`` in ``created_at`` order (the same
    time twice when their number is odd; ``None``: none pending)."""
    queued: int
    """Active runs waiting behind another active run of their thread."""
    queued_per_thread_max: int
    """The most such runs on one thread (0: none)."""
    threads_with_queue: int
    """Threads with at least one such run."""
