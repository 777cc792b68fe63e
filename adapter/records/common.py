"""What the SQLite and Postgres record stores share, and the record helpers the
resources and routes use: the tables' columns and how a record's fields are stored in
them (JSON columns hold JSON text), the new version of an assistant, a thread's
changed columns, the answer to a taken id, metadata filters, a new thread record and
the public shapes of assistants, threads and runs. The shared SQL is in
:mod:`adapter.records.sql`.

Nothing here touches a database: each function is pure.

See docs/architecture.md for the layers.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence, cast

from evergraph.adapter import serde
from evergraph.adapter.ids import iso, now
from evergraph.adapter.records.types import (
    Assistant,
    AssistantPatch,
    OnConflictBehavior,
    PublicRun,
    PublicThread,
    RunRecord,
    StagedWebhook,
    ThreadRecord,
    ThreadStatus,
)

__all__ = [
    "ASSISTANT_COLUMNS",
    "ASSISTANT_UPDATE_COLUMNS",
    "BLOB_COLUMNS",
    "JSON_COLUMNS",
    "RUN_COLUMNS",
    "THREAD_COLUMNS",
    "THREAD_UPDATE_COLUMNS",
    "VERSION_COLUMNS",
    "WEBHOOK_COLUMNS",
    "decode_row",
    "dump_json",
    "encode",
    "matches",
    "new_thread",
    "public_assistant",
    "public_run",
    "public_thread",
    "revise_assistant",
    "row_values",
    "staged_webhook",
    "taken",
    "thread_changes",
]

#: the columns of each table, in the order of its ``CREATE TABLE``
ASSISTANT_COLUMNS = (
    "assistant_id", "graph_id", "config", "context", "metadata", "name", "description", "version",
    "created_at", "updated_at",
)
VERSION_COLUMNS = (
    "assistant_id", "version", "graph_id", "config", "context", "metadata", "name", "description", "created_at",
)
THREAD_COLUMNS = (
    "thread_id", "created_at", "updated_at", "state_updated_at", "metadata", "status", "config", "values",
    "interrupts", "error", "ttl",
)
RUN_COLUMNS = (
    "run_id", "thread_id", "assistant_id", "created_at", "updated_at", "status", "metadata",
    "multitask_strategy", "kwargs", "temporary", "on_completion", "cancel_reason",
)
WEBHOOK_COLUMNS = ("run_id", "url", "body")
#: values stored by reference (claim checks): ``data`` is text (JSON or packed writes)
BLOB_COLUMNS = ("blob_id", "thread_id", "run_id", "created_at", "data")

#: the columns a new assistant version (or going back to an old one) rewrites
ASSISTANT_UPDATE_COLUMNS = tuple(c for c in ASSISTANT_COLUMNS if c not in ("assistant_id", "created_at"))
#: the columns :meth:`RecordStore.update_thread` may set
THREAD_UPDATE_COLUMNS = frozenset(THREAD_COLUMNS) - {"thread_id"}

#: columns holding JSON text
JSON_COLUMNS = frozenset({"config", "context", "metadata", "values", "interrupts", "error", "kwargs", "ttl", "body"})
#: JSON columns where ``None`` is stored as SQL ``NULL`` (elsewhere as the JSON ``null``)
_NULLABLE_JSON = frozenset({"values", "interrupts", "error", "ttl"})


def dump_json(value: Any) -> str:
    """``value`` as the JSON text a JSON column holds (Evergraph's serialiser, so key
    order and every value survive as written)."""
    return serde.dumps(value, wire=False).decode()


def encode(column: str, value: Any) -> Any:
    """``value`` as stored in ``column``: JSON text in JSON columns (``None`` stays SQL
    ``NULL`` in the nullable ones), ``temporary`` as 0/1, anything else as it is."""
    if column == "temporary":
        return int(bool(value))
    if column in JSON_COLUMNS and not (value is None and column in _NULLABLE_JSON):
        return dump_json(value)
    return value


def row_values(columns: Sequence[str], record: Mapping[str, Any]) -> tuple[Any, ...]:
    """The stored values of ``record``'s ``columns``, in order (a missing field is
    ``None``)."""
    return tuple(encode(column, record.get(column)) for column in columns)


#: columns left out of a record read back while they are ``NULL`` (a run's
#: ``cancel_reason``: records read as they did before the column was added)
_OMITTED_WHEN_NULL = frozenset({"cancel_reason"})


def decode_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row read back as a record: JSON columns parsed, ``temporary`` a bool, a
    ``NULL`` ``cancel_reason`` left out."""
    out: dict[str, Any] = {}
    for name, value in row.items():
        if value is None and name in _OMITTED_WHEN_NULL:
            continue
        if name in JSON_COLUMNS and value is not None:
            value = json.loads(value)
        elif name == "temporary" and value is not None:
            value = bool(value)
        out[name] = value
    return out


def revise_assistant(current: Assistant, patch: AssistantPatch, max_version: int | None, ts: str) -> Assistant:
    """The new latest version of an assistant: ``patch``'s fields that are given and
    not ``None`` replace ``current``'s, ``metadata`` is merged, the version is one past
    ``max_version`` (the highest stored, whichever is current) and ``updated_at`` is
    ``ts``."""
    new: dict[str, Any] = dict(current)
    for key, value in patch.items():
        if key in ("graph_id", "config", "context", "name", "description") and value is not None:
            new[key] = value
    metadata = patch.get("metadata")
    if metadata is not None:
        new["metadata"] = {**(current["metadata"] or {}), **metadata}
    new["version"] = (max_version or 0) + 1
    new["updated_at"] = ts
    return cast(Assistant, new)


def thread_changes(current: ThreadRecord, fields: dict[str, Any], ts: str) -> dict[str, Any]:
    """The columns to set, with their stored values, for
    :meth:`RecordStore.update_thread`: ``metadata`` merged into ``current``'s, the
    others as given, ``updated_at`` the given one or ``ts``.

    Raises:
        TypeError: a field that is not a thread column.
    """
    unknown = set(fields) - THREAD_UPDATE_COLUMNS
    if unknown:
        raise TypeError(f"update_thread: not thread columns: {sorted(unknown)}")
    fields = dict(fields)
    sets: dict[str, Any] = {"updated_at": fields.pop("updated_at", None) or ts}
    if "metadata" in fields:
        sets["metadata"] = dump_json({**current["metadata"], **(fields.pop("metadata") or {})})
    for key, value in fields.items():
        sets[key] = dump_json(value) if key in JSON_COLUMNS and value is not None else value
    return sets


def taken(stored: Any, if_exists: OnConflictBehavior, key: str) -> tuple[Any, bool]:
    """The answer of a ``put_*`` whose id ``key`` is taken by ``stored``:
    ``(stored, False)`` with ``if_exists="do_nothing"``.

    Raises:
        KeyError: ``if_exists == "raise"``.
    """
    if if_exists == "do_nothing":
        return stored, False
    raise KeyError(key)


def staged_webhook(row: Mapping[str, Any] | None) -> StagedWebhook | None:
    """The outbox row (``url``, ``body`` already decoded) as a :class:`StagedWebhook`."""
    return None if row is None else {"url": row["url"], "body": row["body"]}


def matches(doc: dict[str, Any] | None, flt: dict[str, Any] | None) -> bool:
    """JSON containment as the server's ``metadata``/``values`` filters use it.

    ``flt`` matches when every key of it equals (recursively contains) the same key
    in ``doc``.
    """
    if not flt:
        return True
    if not isinstance(doc, dict):
        return False
    for key, want in flt.items():
        if key not in doc:
            return False
        have = doc[key]
        if isinstance(want, dict):
            if not matches(have, want):
                return False
        elif have != want:
            return False
    return True


def new_thread(
    thread_id: str, metadata: dict[str, Any], *, status: ThreadStatus = "idle", **fields: Any
) -> ThreadRecord:
    """A thread record as :meth:`RecordStore.put_thread` takes it, stamped now; ``fields``
    (``config``, ``values``, ``ttl``…) override the empty defaults."""
    ts = iso(now())
    record = {
        "thread_id": thread_id, "created_at": ts, "updated_at": ts, "state_updated_at": ts,
        "metadata": metadata, "status": status, "config": {}, "values": None, **fields,
    }
    return cast(ThreadRecord, record)


def public_run(r: RunRecord) -> PublicRun:
    """The Run object as the API returns it, without the internal columns
    (``temporary``, ``on_completion``); ``cancel_reason`` only on a run that was
    cancelled (the SDK types it as a field servers may omit)."""
    return {
        "run_id": r["run_id"],
        "thread_id": r["thread_id"],
        "assistant_id": r["assistant_id"],
        "created_at": r["created_at"],
        "updated_at": r["updated_at"],
        "status": r["status"],
        "metadata": r["metadata"],
        "multitask_strategy": r["multitask_strategy"],
        "kwargs": r["kwargs"],
        "langsmith_session_name": None,
        **({"cancel_reason": r["cancel_reason"]} if r.get("cancel_reason") else {}),
    }


def public_thread(t: ThreadRecord) -> PublicThread:
    """The Thread object as the API returns it: ``interrupts`` appears once set, and
    ``error`` with it (or once set)."""
    out: PublicThread = {
        "thread_id": t["thread_id"],
        "created_at": t["created_at"],
        "updated_at": t["updated_at"],
        "state_updated_at": t["state_updated_at"],
        "metadata": t["metadata"],
        "status": t["status"],
        "config": t["config"],
        "values": t["values"],
    }
    interrupts = t.get("interrupts")
    if interrupts is not None:
        out["interrupts"] = interrupts
    if interrupts is not None or t.get("error") is not None:
        out["error"] = t.get("error")
    return out


def public_assistant(a: Assistant) -> Assistant:
    """The Assistant object as the API returns it (only its own fields)."""
    return {
        "assistant_id": a["assistant_id"],
        "graph_id": a["graph_id"],
        "config": a["config"],
        "context": a["context"],
        "metadata": a["metadata"],
        "name": a["name"],
        "description": a.get("description"),
        "version": a["version"],
        "created_at": a["created_at"],
        "updated_at": a["updated_at"],
    }
