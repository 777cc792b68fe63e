"""Evergraph's adapter layer: configuration, graph registry, storage, LangGraph <-> Temporal
mapping (driver, node attempts, policies), stream broker, Temporal bootstrap and the CLI.

See docs/architecture.md for the layers."""
