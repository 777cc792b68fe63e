"""Temporal workflows: ``ThreadWorkflow`` (one per thread with work, serialises its runs)
and ``RunWorkflow`` (one per run, drives its supersteps). Deterministic code only.

See docs/architecture.md for the layers."""
