"""Identifiers, as the LangGraph Agent Server makes them (reference API.md §1.2)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import uuid_utils


def new_id() -> str:
    """A new UUIDv7 string, as the server makes for threads, runs, assistants and crons."""
    return str(uuid_utils.uuid7())


#: namespace of system assistant ids; reproduces the reference server's ids
#: (``agent`` → ``fe096781-5601-53d2-b2f6-0d3403f7e9ca`` in transcripts/s01)
_SYSTEM_ASSISTANT_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")


def system_assistant_id(graph_id: str) -> str:
    """The system assistant of ``graph_id``: a UUIDv5 of the graph id, as langgraph-api
    makes it."""
    return str(uuid.uuid5(_SYSTEM_ASSISTANT_NAMESPACE, graph_id))


def parse_uuid(value: str) -> str | None:
    """``value`` normalised to the canonical UUID form, or ``None`` if it is not a UUID."""
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, AttributeError, TypeError):
        return None


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def iso(ts: datetime | None) -> str | None:
    """ISO-8601 with microseconds and ``+00:00``, as the reference server formats times."""
    if ts is None:
        return None
    return ts.astimezone(timezone.utc).isoformat(timespec="microseconds")


def run_workflow_id(run_id: str) -> str:
    """Temporal workflow id of a run: ``run-<run_id>`` (findable from the run id alone)."""
    return f"run-{run_id}"


def thread_workflow_id(thread_id: str) -> str:
    """Temporal workflow id of a thread's coordinator workflow: ``thread-<thread_id>``."""
    return f"thread-{thread_id}"
