"""Evergraph's custom search attributes (all Keyword), shown in the Temporal UI and
usable in visibility queries, e.g. ``EvergraphThreadId = '<thread id>'``."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

__all__ = ["ALL", "ASSISTANT_ID", "GRAPH_ID", "RUN_ID", "STATUS", "THREAD_ID"]

THREAD_ID = SearchAttributeKey.for_keyword("EvergraphThreadId")
ASSISTANT_ID = SearchAttributeKey.for_keyword("EvergraphAssistantId")
GRAPH_ID = SearchAttributeKey.for_keyword("EvergraphGraphId")
RUN_ID = SearchAttributeKey.for_keyword("EvergraphRunId")
STATUS = SearchAttributeKey.for_keyword("EvergraphStatus")

ALL = (THREAD_ID, ASSISTANT_ID, GRAPH_ID, RUN_ID, STATUS)
"""Every key, for registration (``temporal server start-dev --search-attribute``)."""
