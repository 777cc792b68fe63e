"""Following a thread's runs and their events, for the thread stream
(``GET /threads/{id}/stream``) and the v2 protocol's thread log
(:mod:`evergraph.adapter.resources.protocol`): both read the thread's runs one after
the other with :func:`follow_runs`. See docs/architecture.md for the layers.
"""

from __future__ import annotations

import time
from contextlib import aclosing
from typing import AsyncIterator

from evergraph.adapter import serde
from evergraph.adapter.broker.protocol import END, StreamEvent, parse_event_id
from evergraph.adapter.errors import Invalid
from evergraph.adapter.resources.auth import AuthFilter
from evergraph.adapter.resources.threads import get_thread
from evergraph.adapter.services import Services

__all__ = ["THREAD_STREAM_MODES", "follow_runs", "open_thread_stream", "thread_events", "thread_stream_modes"]

THREAD_STREAM_MODES = ("run_modes", "lifecycle", "state_update")
"""Values of ``stream_modes`` on ``GET /threads/{id}/stream``."""


async def follow_runs(services: Services, thread_id: str) -> AsyncIterator[str]:
    """The ids of ``thread_id``'s runs whose streams the broker holds, in creation
    order, then of each run of the thread whose stream starts later; never ends by
    itself (close it, e.g. with ``contextlib.aclosing``).

    The broker's start watch is opened before the runs are listed, so no run that
    starts meanwhile is missed, and no run is given twice. The caller may take its
    time with each run: starts are buffered until it asks for the next one.
    """
    broker, records = services.broker, services.records
    watch = broker.watch_starts()
    try:
        seen: set[str] = set()
        existing: list[str] = []
        for run in reversed(await records.list_runs(thread_id, limit=100_000)):
            if await broker.has_stream(run["run_id"]):
                existing.append(run["run_id"])
                seen.add(run["run_id"])
        for run_id in existing:
            yield run_id
        async for run_id in watch:
            if run_id in seen:
                continue
            run = await records.get_run(run_id)
            if run is not None and run["thread_id"] == thread_id:
                seen.add(run_id)
                yield run_id
    finally:
        watch.close()


def thread_stream_modes(values: list[str] | None) -> set[str]:
    """``stream_modes`` of the thread stream (comma-separated and/or repeated) as a
    set; default ``{"run_modes"}``.

    Raises:
        Invalid: naming an unknown mode.
    """
    modes = {part.strip() for item in values or [] for part in item.split(",") if part.strip()}
    for mode in sorted(modes):
        if mode not in THREAD_STREAM_MODES:
            raise Invalid(f"Invalid stream mode: {mode!r}. Expected one of: {', '.join(THREAD_STREAM_MODES)}")
    return modes or {"run_modes"}


async def thread_events(
    services: Services, thread_id: str, modes: set[str], cursor: tuple[int, int]
) -> AsyncIterator[StreamEvent]:
    """Events of every run of ``thread_id`` with ids after ``cursor`` (``(-1, -1)``:
    from the start), run after run in creation order, then of each run that starts
    later (:func:`follow_runs`); never ends by itself.

    Each run's events are bracketed by its own first event ``metadata {run_id,
    attempt}`` and, from the broker's end-of-stream event (same id),
    ``metadata {status: "run_done", run_id}``. ``lifecycle`` keeps only the two
    brackets; ``run_modes`` adds the run's own events; ``state_update`` adds nothing
    (langgraph-api 0.16.7 sends nothing for it while runs go on).
    """
    broker = services.broker
    with_runs = "run_modes" in modes
    with_lifecycle = with_runs or "lifecycle" in modes
    after = f"{cursor[0]}-{cursor[1]}" if cursor != (-1, -1) else None
    async with aclosing(follow_runs(services, thread_id)) as runs:
        async for run_id in runs:
            async for event in broker.subscribe(run_id, after, from_start=after is None):
                if event.event == END:
                    if with_lifecycle:
                        done = serde.dumps({"status": "run_done", "run_id": run_id})
                        yield StreamEvent(event.id, "metadata", done)
                elif event.event.startswith("__"):
                    continue
                elif with_runs or (event.event == "metadata" and with_lifecycle):
                    yield event


async def open_thread_stream(
    services: Services,
    thread_id: str,
    *,
    stream_modes: list[str] | None = None,
    last_event_id: str | None = None,
    flt: AuthFilter = None,
) -> AsyncIterator[StreamEvent]:
    """The thread's event stream across runs (:func:`thread_events`), checked before
    the first event is read.

    Args:
        stream_modes: the request's ``stream_modes`` (:func:`thread_stream_modes`).
        last_event_id: without one (or blank), the stream carries events published
            from now on; with one, every retained event strictly after it (``-1``:
            from the start).

    Raises:
        Invalid: bad thread id, unknown mode, or an event id that is not
            ``<ms>-<n>`` (or ``-1``).
        NotFound: no such thread (or hidden by ``flt``).
    """
    thread = await get_thread(services, thread_id, flt)
    modes = thread_stream_modes(stream_modes)
    if last_event_id is not None and last_event_id.strip():
        cursor = parse_event_id(last_event_id)
        if cursor is None:
            raise Invalid("Invalid last-event-id: must be a valid Redis stream ID")
    else:
        # "from now on": everything with an id from this millisecond on
        cursor = (int(time.time() * 1000) - 1, 2**62)
    return thread_events(services, thread["thread_id"], modes, cursor)
