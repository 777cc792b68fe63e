"""How Temporal retries Evergraph's own (bookkeeping) activities: only transient
failures, boundedly. Which failures are transient is decided where they happen, in
the activities (activities/errors.py), which mark every other failure non-retryable."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

__all__ = ["BOOKKEEPING_RETRY"]

BOOKKEEPING_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=10,
)
"""Retry policy of Evergraph's own local activities (``advance``, ``finish_run``,
``accept_run``, ``resume_thread``) after a transient failure: **10 attempts** in all,
the retries **1 s, 2 s, 4 s, 8 s, then 10 s** apart, i.e. about **65 s** of back-off
plus the attempts' own time (an attempt on a locked SQLite database first waits up to
its 30 s busy timeout; a Postgres pool up to 30 s for a connection). Non-retryable
failures (``classified`` in activities/errors.py) are not retried at all."""
