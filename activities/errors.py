"""What Temporal retries when one of Evergraph's own activities fails, and for how long.

Evergraph's own activities are the bookkeeping around a run: ``advance`` and
``finish_run`` (local activities of ``RunWorkflow``), ``accept_run`` and
``resume_thread`` (of ``ThreadWorkflow``), ``cron_fire`` (of ``CronWorkflow``) and
``send_webhook``. (Node attempts follow the node's own LangGraph ``RetryPolicy``; see
:mod:`evergraph.activities.node`.) Each runs its work inside :func:`classified`, which
turns every exception into a Temporal ``ApplicationError`` whose ``type`` is the
exception's class name and whose message is the exception's message:

* **transient** (:func:`is_transient`): storage or broker unavailable. Retryable; the
  workflows schedule these activities with ``BOOKKEEPING_RETRY`` (workflows/retry.py), so they are
  retried for about a minute and then fail the run like any other error.
* **everything else** (the graph cannot be built, a value cannot be serialised, a
  record is missing, a programming error): non-retryable, because another attempt
  would fail the same way. The run ends ``error`` at once with that type and message.
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
from collections.abc import Iterator

from temporalio.exceptions import ApplicationError

from evergraph.workflows.types import TaskError

__all__ = [
    "NodeAttemptError",
    "TaskMismatchError",
    "TransientError",
    "as_application_error",
    "classified",
    "is_transient",
]

#: SQLite ``OperationalError`` messages that mean "try again later": another
#: connection holds the lock, or the file is briefly unreachable
_SQLITE_TRANSIENT = ("locked", "busy", "disk i/o error", "unable to open database file")

#: gRPC statuses of a Temporal ``RPCError`` that mean the server is briefly unavailable
_RPC_TRANSIENT = ("UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED")


def is_transient(err: BaseException) -> bool:
    """Whether retrying may fix ``err``: storage or broker unavailable.

    Transient: ``sqlite3.OperationalError`` for a locked, busy or unreachable database;
    psycopg's ``OperationalError`` (connection failures, ``psycopg_pool.PoolTimeout``)
    and ``errors.TransactionRollback`` (serialization failure, deadlock); redis-py's
    ``ConnectionError`` and ``TimeoutError``; ``OSError`` (which holds the built-in
    ``ConnectionError`` and ``TimeoutError``); a Temporal ``RPCError`` with status
    UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED or ABORTED; a
    :class:`TransientError` the core raised through a port. Everything else is not.
    """
    if isinstance(err, TransientError):
        return True
    if isinstance(err, sqlite3.OperationalError):
        message = str(err).lower()
        return any(part in message for part in _SQLITE_TRANSIENT)
    if isinstance(err, OSError):
        return True
    # only modules already imported can have raised: no import just to classify
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(err, (psycopg.OperationalError, psycopg.errors.TransactionRollback)):
        return True
    redis_exceptions = sys.modules.get("redis.exceptions")
    if redis_exceptions is not None and isinstance(
        err, (redis_exceptions.ConnectionError, redis_exceptions.TimeoutError)
    ):
        return True
    service = sys.modules.get("temporalio.service")
    if service is not None and isinstance(err, service.RPCError):
        return err.status.name in _RPC_TRANSIENT
    return False


class TransientError(Exception):
    """A failure that retrying may fix, raised by the core through a port.

    Args:
        message: what failed.
        kind: the failure's name as Temporal records it (the ``ApplicationError``
            type); default: the class name.
    """

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind or type(self).__name__


class NodeAttemptError(Exception):
    """The node raised (or timed out). ``retry_in`` is LangGraph's verdict: seconds
    before the next attempt, or ``None`` for no retry.

    Args:
        error: the failure as carried back to the driver.
        retry_in: seconds, or ``None``.
    """

    def __init__(self, error: TaskError, retry_in: float | None) -> None:
        super().__init__(error.message)
        self.error = error
        self.retry_in = retry_in


class TaskMismatchError(RuntimeError):
    """The task rebuilt from the checkpoint is not the one the driver dispatched (or
    its run or checkpoint is gone): never retried."""


def as_application_error(err: Exception) -> ApplicationError:
    """``err`` as the ``ApplicationError`` Temporal records: ``type`` is its class name
    (a :class:`TransientError`'s ``kind``), the message its message, retryable only if
    :func:`is_transient`."""
    kind = err.kind if isinstance(err, TransientError) else type(err).__name__
    return ApplicationError(str(err) or repr(err), type=kind, non_retryable=not is_transient(err))


@contextlib.contextmanager
def classified() -> Iterator[None]:
    """Run an activity's work; re-raise any exception as :func:`as_application_error`
    (the original stays attached as the cause, with its traceback, for the Temporal
    UI). ``ApplicationError``\\ s raised on purpose and cancellation pass unchanged."""
    try:
        yield
    except ApplicationError:
        raise
    except Exception as err:
        raise as_application_error(err) from err
