"""The record store: what Evergraph keeps about assistants (with their versions),
threads, runs and webhook deliveries waiting to be sent.

LangGraph state (checkpoints, pending writes) is *not* here: it lives in LangGraph's
checkpointer (:mod:`adapter.graphs.checkpoint`). The records hold what the Agent Server
API returns about assistants, threads and runs, with the same field names
(:mod:`adapter.records.types`).

Two backends implement :class:`RecordStore`: :class:`adapter.records.sqlite.SqliteRecords`
(the default, one machine) and :class:`adapter.records.postgres.PostgresRecords`
(``EVERGRAPH_DATABASE_URI=postgresql://…``, several machines). Both pass
``tests/test_record_store_conformance.py``.

Every method is one transaction: a call that raises has written nothing. Searching,
filtering by metadata, sorting and paging for the API happen above the store, on what
the ``list_*`` methods return (:func:`adapter.records.common.matches`).

See docs/architecture.md for the layers.
"""

from __future__ import annotations

from typing import Any, Protocol, Self, Unpack, runtime_checkable

from evergraph.adapter.records.types import (
    ActiveRunStats,
    Assistant,
    AssistantPatch,
    AssistantVersion,
    OnConflictBehavior,
    RunRecord,
    RunStatus,
    StagedWebhook,
    ThreadRecord,
    ThreadStatus,
    ThreadUpdate,
)

__all__ = ["RecordStore"]


@runtime_checkable
class RecordStore(Protocol):
    """Async access to Evergraph's records (see the module docstring).

    Records are plain dicts typed by :mod:`adapter.records.types`; timestamps are ISO
    8601 strings. Lists are newest first (``created_at``, then id, descending) unless
    said otherwise. Ids are compared as given (the API normalises UUIDs before).
    """

    async def open(self) -> Self:
        """Connect and create the tables if missing (idempotent, safe when several
        processes start at once); returns the store itself.

        Raises:
            OSError, sqlite3.Error, psycopg.OperationalError, psycopg_pool.PoolTimeout:
                the database cannot be opened or reached.
        """
        ...

    async def close(self) -> None:
        """Close the store's connections (and threads)."""
        ...

    # ------------------------------------------------------------------ assistants

    async def put_assistant(
        self, a: Assistant, *, if_exists: OnConflictBehavior = "raise"
    ) -> tuple[Assistant, bool]:
        """Insert assistant ``a`` (every :class:`Assistant` field) and its first version
        row (``a["version"]``, created ``a["created_at"]``).

        Returns:
            ``(assistant, created)``: ``a`` itself with ``created=True``; with
            ``if_exists="do_nothing"`` and the id taken, the stored assistant,
            unchanged, with ``created=False``.

        Raises:
            KeyError: the id exists and ``if_exists == "raise"``.
        """
        ...

    async def get_assistant(self, assistant_id: str) -> Assistant | None:
        """The assistant (its latest version's fields), or ``None``."""
        ...

    async def update_assistant(self, assistant_id: str, patch: AssistantPatch) -> Assistant | None:
        """Make a new version from ``patch`` and make it the latest.

        Fields of ``patch`` that are given and not ``None`` replace the current ones;
        ``metadata`` is merged into the current metadata. The new version number is one
        past the highest stored (even when an older one is current); ``updated_at``
        and the version's ``created_at`` are now.

        Returns:
            The updated assistant, or ``None`` if the id is unknown.
        """
        ...

    async def delete_assistant(self, assistant_id: str) -> bool:
        """Delete the assistant and all its versions; whether it existed."""
        ...

    async def list_assistants(self) -> list[Assistant]:
        """Every assistant, newest first."""
        ...

    async def assistant_versions(self, assistant_id: str) -> list[AssistantVersion]:
        """The assistant's versions, highest version first (empty if unknown)."""
        ...

    async def set_latest_assistant_version(self, assistant_id: str, version: int) -> Assistant | None:
        """Make stored ``version`` the assistant's current one (its fields and number;
        ``updated_at`` now). No version is added.

        Returns:
            The assistant as it now is, or ``None`` if the id or the version is unknown.
        """
        ...

    # --------------------------------------------------------------------- threads

    async def put_thread(
        self, t: ThreadRecord, *, if_exists: OnConflictBehavior = "raise"
    ) -> tuple[ThreadRecord, bool]:
        """Insert thread ``t`` (:func:`adapter.records.common.new_thread` makes one;
        a missing ``config`` is stored as ``{}``).

        Returns:
            ``(thread, created)``, as :meth:`put_assistant`.

        Raises:
            KeyError: the id exists and ``if_exists == "raise"``.
        """
        ...

    async def get_thread(self, thread_id: str) -> ThreadRecord | None:
        """The thread (every column, unset ones ``None``), or ``None``."""
        ...

    async def update_thread(self, thread_id: str, **fields: Unpack[ThreadUpdate]) -> ThreadRecord | None:
        """Set thread columns: ``metadata`` is merged into the stored metadata, any
        other field replaces its column (``None`` clears it); ``updated_at`` is the
        one given or now.

        Returns:
            The updated thread, or ``None`` if the id is unknown.

        Raises:
            TypeError: a field that is not a thread column.
        """
        ...

    async def delete_thread(self, thread_id: str) -> bool:
        """Delete the thread, its runs' records and their blobs; whether the thread existed."""
        ...

    async def list_threads(
        self, ids: list[str] | None = None, status: ThreadStatus | None = None
    ) -> list[ThreadRecord]:
        """Threads, newest first: only those of ``ids`` and with ``status`` when given
        (an empty ``ids`` or ``status`` does not filter)."""
        ...

    async def ttl_candidates(self, updated_before: str | None = None) -> list[ThreadRecord]:
        """The threads a time-to-live sweep looks at (:mod:`adapter.resources.ttl`):
        those with a ``ttl`` of their own and, when ``updated_before`` (an ISO 8601
        time) is given, those last updated before it. Least recently updated first
        (``updated_at``, then id); only ``thread_id``, ``status``, ``updated_at`` and
        ``ttl`` are guaranteed."""
        ...

    # ------------------------------------------------------------------------ runs

    async def put_run(self, r: RunRecord) -> RunRecord:
        """Insert run ``r`` and mark its thread ``busy`` (``updated_at`` now), in one
        transaction.

        Idempotent: a run already stored is left as it is, and its thread too (a
        retried local activity). Returns ``r``.
        """
        ...

    async def get_run(self, run_id: str, thread_id: str | None = None) -> RunRecord | None:
        """The run, or ``None`` (also when ``thread_id`` is given and is not the
        run's)."""
        ...

    async def list_runs(
        self, thread_id: str, *, limit: int = 10, offset: int = 0, status: RunStatus | None = None
    ) -> list[RunRecord]:
        """The thread's runs, newest first, ``status`` only when given; the page of at
        most ``limit`` runs after skipping ``offset``."""
        ...

    async def active_runs(self, thread_id: str) -> list[RunRecord]:
        """The thread's runs that are ``pending`` or ``running``, oldest first."""
        ...

    async def active_run_stats(self) -> ActiveRunStats:
        """The ``pending`` and ``running`` runs of all threads, counted in one query
        (``GET /metrics`` reads it at each scrape): how many, the oldest and median
        pending ``created_at``, and the runs queued behind another run of their thread
        (see :class:`~adapter.records.types.ActiveRunStats`)."""
        ...

    async def set_run_status(
        self, run_id: str, status: RunStatus, cancel_reason: str | None = None
    ) -> RunRecord | None:
        """Set the run's status (``updated_at`` now) and its ``cancel_reason`` (why it
        was cancelled; ``None`` when it was not); the updated run, or ``None`` if the id
        is unknown."""
        ...

    async def delete_run(self, run_id: str) -> bool:
        """Delete the run's record and its blobs; whether the record existed."""
        ...

    # -------------------------------------------------------------------- webhooks

    async def put_webhook(self, run_id: str, url: str, body: dict[str, Any]) -> None:
        """Stage the webhook delivery of a finished run (the outbox): POST ``body``
        (JSON) to ``url``. Replaces a delivery already staged for the run."""
        ...

    async def get_webhook(self, run_id: str) -> StagedWebhook | None:
        """The staged delivery of ``run_id``, or ``None``."""
        ...

    async def delete_webhook(self, run_id: str) -> None:
        """Drop the staged delivery of ``run_id`` (delivered or given up); nothing
        staged is not an error."""
        ...

    # ----------------------------------------------------------------------- blobs

    async def put_blob(self, blob_id: str, data: str, *, thread_id: str, run_id: str) -> None:
        """Store ``data`` (text of any size: JSON or packed node writes) under
        ``blob_id``, owned by ``run_id`` of ``thread_id`` (the claim checks of
        :mod:`adapter.execution.claims`). Idempotent: an id already stored keeps its
        first data. Deleting the run (:meth:`delete_run`) or the thread
        (:meth:`delete_thread`) deletes its blobs."""
        ...

    async def get_blob(self, blob_id: str) -> str | None:
        """The data stored under ``blob_id``, or ``None``."""
        ...

    async def delete_blob(self, blob_id: str) -> bool:
        """Delete one blob; whether it existed."""
        ...

    async def delete_run_blobs(self, run_id: str) -> bool:
        """Delete every blob of ``run_id`` (its record stays); whether there was one."""
        ...
