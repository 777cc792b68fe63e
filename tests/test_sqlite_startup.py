"""Processes starting together on one data folder open its SQLite files at once.

``evergraph serve`` and ``evergraph worker`` (and the test stacks that start both) open
the same checkpoint, store, records and broker files at the same moment. Two
connections switching a fresh file to WAL at the same time deadlock, and SQLite then
fails one of them at once with "database is locked", without waiting out the busy
timeout. Each opener must take its turn.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

PROCESSES = 4
# about 4 % of rounds hit the deadlock when the WAL switch is not serialised: 150 rounds
# all pass by chance 0.2 % of the time
ROUNDS = 150


async def _open(kind: str, path: Path) -> None:
    async with AsyncExitStack() as stack:
        if kind == "store":
            from evergraph.adapter.graphs.config import StoreConfig
            from evergraph.adapter.graphs.store import open_sqlite_store

            await open_sqlite_store(path, StoreConfig(), stack)
        elif kind == "checkpointer":
            from evergraph.adapter.graphs.checkpoint import open_checkpointer

            await open_checkpointer(path, stack)
        elif kind == "records":
            from evergraph.adapter.records.sqlite import SqliteRecords

            records = await SqliteRecords(path).open()
            stack.push_async_callback(records.close)
        else:
            from evergraph.adapter.broker.sqlite import SqliteBroker

            broker = await SqliteBroker(path, asyncio.get_running_loop()).open()
            stack.push_async_callback(broker.close)


def _open_each_round(kind: str, folder: str, rounds: int, barrier, errors) -> None:
    """One process: for each round, wait for the others, then open that round's file."""
    for i in range(rounds):
        barrier.wait(timeout=60)
        try:
            asyncio.run(_open(kind, Path(folder) / f"{i}" / f"{kind}.sqlite"))
        except Exception as exc:  # reported to the test, which names the round
            errors.put(f"round {i}: {exc!r}")


@pytest.mark.parametrize("kind", ["store", "checkpointer", "records", "broker"])
def test_processes_opening_one_fresh_file_together_all_succeed(kind: str, tmp_path: Path):
    ctx = multiprocessing.get_context("spawn")  # no fork of pytest's threads
    barrier = ctx.Barrier(PROCESSES)
    errors = ctx.Queue()
    processes = [
        ctx.Process(target=_open_each_round, args=(kind, str(tmp_path), ROUNDS, barrier, errors))
        for _ in range(PROCESSES)
    ]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=120)
        if p.exitcode is None:
            p.kill()
    assert [p.exitcode for p in processes] == [0] * PROCESSES
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert failures == []
