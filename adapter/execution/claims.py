"""Claim checks: values too large for a Temporal payload travel by reference.

Temporal refuses a payload past its blob-size limit (2 MB by default, with a warning
from 256 KB) and keeps every payload in the workflow's history. So anything an agent
hands over that may be large — a run's record (its ``input``, ``command``, ``config``),
a node attempt's writes and interrupts — is checked in here before it becomes part of
a workflow input, update, activity input or result: text up to
``Settings.claim_check_bytes`` (``EVERGRAPH_CLAIM_CHECK_BYTES``, default 128 KiB) stays
inline, longer text is stored in the record store (:meth:`RecordStore.put_blob`,
SQLite or Postgres, where the state already lives) and replaced by a claim,
``evergraph-claim:<blob id>``, which the receiving side checks out again
(docs/architecture.md, "One run's path").

Lifetime of the blobs:

* a run record's blob is deleted once the thread's workflow has stored the record
  (``accept_run``), or by the API when the submission failed;
* node writes and interrupts are blobs of their run, read by the run's driver when
  Temporal has accepted the attempt's result; a refused or timed-out attempt's blob
  is never read. Every blob of a run is deleted when the run finishes
  (``finish_run``), and with the run's or thread's record; a blob written by an
  abandoned attempt after its run finished stays, bounded by one per such attempt,
  until its thread or run is deleted.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from evergraph.adapter import serde
from evergraph.adapter.records.protocol import RecordStore
from evergraph.workflows.types import RunOutcome, TaskResult

__all__ = [
    "MARK", "ClaimMissing", "blob_id", "check_in", "check_out", "forget", "is_claim", "resolve_result", "slim_outcome",
]

#: what a claim starts with; packed node writes start with a serializer type
#: (``msgpack:``, ``json:``…), JSON text with ``{``, so neither is taken for a claim
MARK = "evergraph-claim:"


class ClaimMissing(LookupError):
    """A claim names a blob that is no longer stored (its run was deleted, or the
    submission that made it was given up)."""


def is_claim(text: Any) -> bool:
    """Whether ``text`` is a claim made by :func:`check_in`."""
    return isinstance(text, str) and text.startswith(MARK)


async def check_in(
    records: RecordStore, text: str, *, limit: int, thread_id: str, run_id: str, kind: str
) -> str:
    """``text`` itself when it has at most ``limit`` characters, else a claim for it.

    Args:
        records: the record store holding the blob.
        text: JSON text or packed node writes.
        limit: the largest text kept inline, in characters (ASCII for packed writes;
            JSON text is UTF-8, so bytes may be more: the inline limit stays well
            under Temporal's 2 MB).
        thread_id, run_id: the blob's owners (deleting either deletes it).
        kind: a word naming what the blob holds (``record``, ``writes``…), part of
            the blob id for operators.

    Raises:
        Exception: the record store's failure (nothing is stored then).
    """
    if len(text) <= limit:
        return text
    blob_id = f"{kind}:{run_id}:{uuid.uuid4().hex}"
    await records.put_blob(blob_id, text, thread_id=thread_id, run_id=run_id)
    return MARK + blob_id


def blob_id(claim: str) -> str:
    """The blob id a claim names."""
    return claim[len(MARK):]


async def check_out(records: RecordStore, text: str) -> str:
    """The text a claim stands for (``text`` itself when it is not a claim).

    Raises:
        ClaimMissing: the blob is gone.
    """
    if not is_claim(text):
        return text
    data = await records.get_blob(blob_id(text))
    if data is None:
        raise ClaimMissing(f"stored value {blob_id(text)} not found")
    return data


async def forget(records: RecordStore, text: str | None) -> None:
    """Delete the blob of a claim (nothing for inline text)."""
    if is_claim(text):
        await records.delete_blob(blob_id(text))


async def resolve_result(records: RecordStore, result: TaskResult) -> TaskResult:
    """``result`` with its writes and interrupts checked out (see :func:`check_out`)."""
    if not (is_claim(result.writes) or is_claim(result.interrupts)):
        return result
    return dataclasses.replace(
        result,
        writes=await check_out(records, result.writes) if result.writes else result.writes,
        interrupts=await check_out(records, result.interrupts) if result.interrupts else result.interrupts,
    )


def _shorten(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[:limit] + f"… ({len(text)} characters)"


def slim_outcome(outcome: RunOutcome, limit: int) -> RunOutcome:
    """``outcome`` as the workflows may carry it: an error ``message`` longer than
    ``limit`` characters is shortened, and ``interrupts`` whose JSON is longer than
    ``limit`` keep their ids with each value replaced by a note (the thread's
    record holds them whole; the workflow only shows them in its ``interrupts``
    query)."""
    outcome.message = _shorten(outcome.message, limit)
    if outcome.interrupts and len(serde.dumps(outcome.interrupts)) > limit:
        outcome.interrupts = {
            task_id: [
                {**{k: v for k, v in item.items() if k != "value"},
                 "value": f"(stored with the thread: {len(serde.dumps(item.get('value')))} bytes of JSON)"}
                for item in items
            ]
            for task_id, items in outcome.interrupts.items()
        }
    return outcome
