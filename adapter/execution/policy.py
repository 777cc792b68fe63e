"""LangGraph node policies → Temporal activity options (docs/architecture.md, "One
run's path", step 4: each task becomes one activity with the node's timeouts and
retry policy).

* ``TimeoutPolicy.run_timeout`` → start-to-close timeout;
* ``TimeoutPolicy.idle_timeout`` → heartbeat timeout;
* ``RetryPolicy`` → the activity's retry policy (first policy's intervals; the
  largest ``max_attempts``). The node attempt itself applies LangGraph's
  ``retry_on`` and the *matching* policy's bound and interval (with jitter) when a node
  raises, through a non-retryable failure or ``next_retry_delay``.

All durations are seconds.
"""

from __future__ import annotations

import random
from typing import Sequence

from langgraph.types import RetryPolicy, TimeoutPolicy

# LangGraph's private retry_on test, pinned for langgraph 1.2 (>=1.2.22,<1.3 in
# pyproject.toml)
from langgraph.pregel._retry import _should_retry_on

from evergraph.workflows.types import RetrySpec

__all__ = ["retry_decision", "retry_spec", "timeout_fields"]


def timeout_fields(policy: TimeoutPolicy | None) -> tuple[float | None, float | None, str]:
    """``(run_timeout, idle_timeout, refresh_on)`` of a coerced ``TimeoutPolicy``: the
    timeouts in seconds (``None``: no limit), ``refresh_on`` ``"auto"`` or
    ``"heartbeat"``; ``(None, None, "auto")`` without a policy."""
    if policy is None:
        return None, None, "auto"
    return policy.run_timeout, policy.idle_timeout, policy.refresh_on


def retry_spec(policies: Sequence[RetryPolicy] | None) -> RetrySpec | None:
    """Temporal retry settings for a node's LangGraph retry policies: the first
    policy's intervals (seconds) and backoff, the largest ``max_attempts``; ``None``
    (a single attempt) without policies."""
    if not policies:
        return None
    first = policies[0]
    return RetrySpec(
        initial_interval=float(first.initial_interval),
        backoff_coefficient=float(first.backoff_factor),
        maximum_interval=float(first.max_interval),
        maximum_attempts=max(int(p.max_attempts) for p in policies),
    )


def retry_decision(
    policies: Sequence[RetryPolicy] | None, exc: Exception, attempt: int
) -> float | None:
    """Seconds to wait before the next attempt after ``exc`` on attempt ``attempt``
    (1-based), or ``None`` when LangGraph would not retry.

    Mirrors ``langgraph.pregel._retry.arun_with_retry``: the first policy whose
    ``retry_on`` accepts ``exc`` applies; its ``max_attempts`` bounds the attempts and
    its interval grows by ``backoff_factor`` up to ``max_interval``, plus up to 1 s of
    jitter when ``jitter`` is set.
    """
    for policy in policies or ():
        if _should_retry_on(policy, exc):
            if attempt >= policy.max_attempts:
                return None
            interval = min(
                policy.max_interval,
                policy.initial_interval * (policy.backoff_factor ** (attempt - 1)),
            )
            return interval + random.uniform(0, 1) if policy.jitter else interval
    return None
