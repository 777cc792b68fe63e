"""Records of assistants, threads, runs and webhooks: the SQLite and Postgres record stores.

See docs/architecture.md for the layers."""
