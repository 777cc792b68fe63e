"""Graphs and their state: ``langgraph.json``, the graph registry, LangGraph's checkpointer and store, and thread-state readers.

See docs/architecture.md for the layers."""
