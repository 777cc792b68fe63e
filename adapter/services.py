"""The long-lived objects one Evergraph process shares between its API, its workflows'
local activities and its node attempts.

See docs/architecture.md for the layers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evergraph.adapter.broker.protocol import StreamBroker
from evergraph.adapter.graphs.checkpoint import SharedSaver
from evergraph.adapter.graphs.registry import GraphRegistry
from evergraph.adapter.process.settings import Settings
from evergraph.adapter.records.protocol import RecordStore

__all__ = ["Services"]


@dataclass
class Services:
    """Everything a request handler, the driver or a node attempt needs.

    Attributes:
        settings: validated process settings.
        registry: loaded graphs of the ``langgraph.json``.
        records: the record store (assistants, threads, runs, webhook outbox):
            SQLite or Postgres.
        saver: LangGraph checkpointer (usable from any thread's loop).
        broker: the stream broker for run events: memory, SQLite or Redis.
        store: LangGraph ``BaseStore`` given to graphs as ``runtime.store`` (or None).
        temporal: the ``temporalio.client.Client`` (set once connected).
    """

    settings: Settings
    registry: GraphRegistry
    records: RecordStore
    saver: SharedSaver
    broker: StreamBroker
    store: Any = None
    temporal: Any = None
