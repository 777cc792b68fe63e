"""Subgraph namespaces of one run in the v2 thread protocol: the ``lifecycle``
events of child namespaces and the tree ``agent.getTree`` answers.

A subgraph's events carry the namespace ``[..., "<node>:<task_id>"]`` (LangGraph's
``checkpoint_ns`` segments). The first event seen in a namespace (any channel,
``tasks`` included) is preceded by ``lifecycle {event: "started", namespace,
graph_name: <node>, trigger_call_id: <task_id>}`` at that namespace (and at each
unseen ancestor), as LangGraph 1.2's ``LifecycleTransformer`` shapes it and the
SDK's ``SubgraphsDecoder`` (``langgraph-sdk`` 0.4.14) discovers child handles
with. The parent's ``tasks`` result for ``task_id`` ends it: ``lifecycle
{event: "completed" | "failed" | "interrupted", graph_name, error?}`` (the shapes
langgraph-api 0.16.7 sends at the child's namespace); namespaces still open when
the run ends take the run's outcome. (langgraph-api sends ``started`` just after
the namespace's first ``values``; here it comes first, so that every event of a
namespace reaches the SDK handle discovered for it.)
"""

from __future__ import annotations

from typing import Any

__all__ = ["STATUSES", "NamespaceTracker"]

STATUSES = ("started", "running", "completed", "failed", "interrupted")
"""The protocol's ``AgentStatus`` values."""


class NamespaceTracker:
    """Child namespaces of one run: their lifecycle events and status.

    Args:
        graph_name: the run's graph (the tree's root).
    """

    def __init__(self, graph_name: str | None) -> None:
        self.graph_name = graph_name
        self.status = "started"  # the root's
        self.nodes: dict[tuple[str, ...], dict[str, Any]] = {}  # ns -> {status, graph_name, trigger}
        self.open: set[tuple[str, ...]] = set()

    def seen(self, ns: list[str]) -> list[tuple[str, list[str], Any]]:
        """``lifecycle started`` events for ``ns`` and its ancestors not seen yet."""
        out: list[tuple[str, list[str], Any]] = []
        for depth in range(1, len(ns) + 1):
            path = tuple(ns[:depth])
            if path in self.nodes:
                continue
            name, _, trigger = path[-1].partition(":")
            self.nodes[path] = {"status": "started", "graph_name": name, "trigger": trigger or None}
            self.open.add(path)
            data: dict[str, Any] = {"event": "started", "namespace": list(path), "graph_name": name}
            if trigger:
                data["trigger_call_id"] = trigger
            out.append(("lifecycle", list(path), data))
        return out

    def _end(self, path: tuple[str, ...], status: str, error: str | None) -> list[tuple[str, list[str], Any]]:
        out: list[tuple[str, list[str], Any]] = []
        # descendants first, with the same outcome
        for child in sorted((p for p in self.open if len(p) > len(path) and p[: len(path)] == path),
                            key=len, reverse=True):
            out.extend(self._end(child, status, error))
        if path not in self.open:
            return out
        self.open.discard(path)
        self.nodes[path]["status"] = status
        data: dict[str, Any] = {"event": status, "graph_name": self.nodes[path]["graph_name"]}
        if error is not None and status == "failed":
            data["error"] = error
        out.append(("lifecycle", list(path), data))
        return out

    def task_result(self, ns: list[str], result: dict[str, Any]) -> list[tuple[str, list[str], Any]]:
        """Terminal lifecycle for the child namespace the task ``result`` (a
        ``tasks`` result payload ``{id, name, error, interrupts, result}`` seen at
        ``ns``) ran."""
        task_id, name = result.get("id"), result.get("name")
        if not isinstance(task_id, str) or not isinstance(name, str):
            return []
        path = (*ns, f"{name}:{task_id}")
        if path not in self.open:
            return []
        if result.get("interrupts"):
            return self._end(path, "interrupted", None)
        if result.get("error"):
            return self._end(path, "failed", str(result["error"]))
        return self._end(path, "completed", None)

    def finish(self, status: str, error: str | None = None) -> list[tuple[str, list[str], Any]]:
        """The run ended with ``status``: every open namespace ends with it."""
        self.status = status
        out: list[tuple[str, list[str], Any]] = []
        for path in sorted(self.open, key=len):
            if path in self.open:
                out.extend(self._end(path, status, error))
        return out

    def tree(self, root: tuple[str, ...] = ()) -> dict[str, Any]:
        """The ``AgentTreeNode`` at ``root``: ``{namespace, status, graph_name,
        children?}`` with children sorted by namespace."""
        if root:
            info = self.nodes[root]
            node: dict[str, Any] = {"namespace": list(root), "status": info["status"], "graph_name": info["graph_name"]}
        else:
            node = {"namespace": [], "status": self.status, "graph_name": self.graph_name or ""}
        children = sorted(p for p in self.nodes if len(p) == len(root) + 1 and p[: len(root)] == root)
        if children:
            node["children"] = [self.tree(c) for c in children]
        return node
