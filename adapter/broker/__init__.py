"""Stream brokers: run events from the worker to SSE clients (memory, SQLite, Redis Streams).

See docs/architecture.md for the layers."""
