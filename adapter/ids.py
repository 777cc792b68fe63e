"""Identifiers and timestamps as langgraph-api 0.16.7 makes them (UUIDv7 ids, ISO-8601
times with microseconds), and the Temporal workflow ids of threads and runs
(docs/architecture.md, "One run's path")."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import uuid_utils

from evergraph.adapter.errors import Invalid

__all__ = [
    "iso",
    "new_id",
    "now",
    "parse_uuid",
    "require_uuid",
    "run_workflow_id",
    "system_assistant_id",
    "thread_workflow_id",
]


def new_id() -> str:
    """A new UUIDv7 string, as the server makes for threads, runs, assistants and crons."""
    return str(uuid_utils.uuid7())


#: namespace of system assistant ids; reproduces langgraph-api 0.16.7's ids
#: (graph ``agent`` → assistant ``fe096781-5601-53d2-b2f6-0d3403f7e9ca``)
_SYSTEM_ASSISTANT_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")


def system_assistant_id(graph_id: str) -> str:
    """The system assistant of ``graph_id``: a UUIDv5 of the graph id, as langgraph-api
    makes it."""
    return str(uuid.uuid5(_SYSTEM_ASSISTANT_NAMESPACE, graph_id))


def parse_uuid(value: str) -> str | None:
    """``value`` normalised to the canonical UUID form (lower case, hyphenated), or
    ``None`` if it is not a UUID; never raises."""
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, AttributeError, TypeError):
        return None


def require_uuid(value: str, kind: str) -> str:
    """``value`` in the canonical UUID form (:func:`parse_uuid`).

    Args:
        kind: what the id names (``thread``, ``run``, ``assistant``, ``cron``), for the
            message.

    Raises:
        Invalid: ``Invalid <kind> ID: must be a UUID`` (422), as langgraph-api 0.16.7
            answers.
    """
    parsed = parse_uuid(value)
    if parsed is None:
        raise Invalid(f"Invalid {kind} ID: must be a UUID")
    return parsed


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def iso(ts: datetime | None) -> str | None:
    """``ts`` as ISO-8601 in UTC with microseconds and ``+00:00``, as langgraph-api
    0.16.7 formats times (``None`` stays ``None``)."""
    if ts is None:
        return None
    return ts.astimezone(timezone.utc).isoformat(timespec="microseconds")


def run_workflow_id(run_id: str) -> str:
    """Temporal workflow id of a run: ``run-<run_id>`` (findable from the run id alone)."""
    return f"run-{run_id}"


def thread_workflow_id(thread_id: str) -> str:
    """Temporal workflow id of a thread's coordinator workflow: ``thread-<thread_id>``."""
    return f"thread-{thread_id}"
