"""Processes: the ``evergraph`` command, the Temporal dev server, settings, and the Temporal client and worker bootstrap.

See docs/architecture.md for the layers."""
