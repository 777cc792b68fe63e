"""Records of assistants, threads, runs and webhook deliveries: the
:class:`~adapter.records.protocol.RecordStore` protocol, its record types
(:mod:`adapter.records.types`), the helpers its backends share
(:mod:`adapter.records.common`) and the backends, SQLite and Postgres.

See docs/architecture.md for the layers."""
