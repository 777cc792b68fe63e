"""The v2 thread protocol's ``updates``, ``checkpoints`` and ``tasks`` channels: their
event data, from a protocol run's v1 stream modes of the same names (PyPI
``langchain-protocol`` 0.0.20 / npm ``@langchain/protocol`` 0.0.21 define the
shapes):

* ``updates`` chunk ``{node: update, ...}`` → one ``updates {node, values}`` per node
  (``values`` the node's state delta, message lists compacted as on ``values``;
  a node that wrote nothing has ``values: {}``); the ``__interrupt__`` entry is
  not an update (the ``input`` channel carries interrupts);
* ``checkpoints`` chunk (LangGraph's ``{config, parent_config, values, metadata,
  next, tasks}``) → ``checkpoints {id, parent_id?, step, source}``, the spec's
  lightweight envelope (the full state stays behind ``state.get``);
* ``tasks`` chunk (LangGraph's task start ``{id, name, input, triggers}`` or result
  ``{id, name, error, result, interrupts}``) → ``tasks`` with that payload, as
  LangGraph 1.2's ``convert_to_protocol_event`` passes it on; langgraph-sdk
  0.4.14's subgraph handles discover grandchildren from these.

These are *side events*: langgraph-api 0.16.7's event log has none of them, and
Evergraph's main events keep 0.16.7's ``seq`` numbers, so a side event takes no
``seq`` of its own (see :class:`evergraph.adapter.resources.protocol.ThreadLog`).
A side event seen in a subgraph namespace before that namespace's ``lifecycle
started`` (a subgraph's first checkpoint precedes its first task) waits for it
(:class:`SideBuffer`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["SideBuffer", "checkpoint_data", "updates_data"]


def updates_data(chunk: Any, compact: Callable[[Any], Any]) -> list[dict[str, Any]]:
    """The ``updates`` event data for one v1 ``updates`` chunk.

    Args:
        chunk: ``{node name: the node's update}`` (an update is a dict, ``None``,
            or a list of dicts for a node that ran several times in the step).
        compact: compacts message lists in a state dict (``compact_values``).

    Returns:
        ``[{"node": name, "values": {...}}, ...]`` in the chunk's order.
    """
    if not isinstance(chunk, dict):
        return []
    out: list[dict[str, Any]] = []
    for node, update in chunk.items():
        if node == "__interrupt__":
            continue
        updates = update if isinstance(update, list) and all(isinstance(u, dict) for u in update) and update else [update]
        for one in updates:
            values = compact(one) if isinstance(one, dict) else {}
            out.append({"node": node, "values": values})
    return out


def checkpoint_data(chunk: Any) -> dict[str, Any] | None:
    """The ``checkpoints`` event data ``{id, parent_id?, step, source}`` for one v1
    ``checkpoints`` chunk, or ``None`` when it names no checkpoint id."""
    if not isinstance(chunk, dict):
        return None
    conf = (chunk.get("config") or {}).get("configurable") or {}
    checkpoint_id = conf.get("checkpoint_id")
    if not isinstance(checkpoint_id, str):
        return None
    metadata = chunk.get("metadata") or {}
    out: dict[str, Any] = {"id": checkpoint_id}
    parent = ((chunk.get("parent_config") or {}).get("configurable") or {}).get("checkpoint_id")
    if isinstance(parent, str):
        out["parent_id"] = parent
    step = metadata.get("step")
    out["step"] = step if isinstance(step, int) else -1
    out["source"] = metadata.get("source") or "loop"
    return out


Side = tuple[str, str, list[str], Any]
"""``(event_id, method, namespace, data)``."""


class SideBuffer:
    """Side events held until their namespace is announced.

    Args:
        known: whether a namespace (tuple) has had its ``lifecycle started``.
    """

    def __init__(self, known: Callable[[tuple[str, ...]], bool]) -> None:
        self._known = known
        self._held: list[Side] = []

    def add(self, events: list[Side]) -> list[Side]:
        """Queue ``events``; returns those (held earlier or now, in order) whose
        namespace is known."""
        self._held.extend(events)
        ready = [e for e in self._held if not e[2] or self._known(tuple(e[2]))]
        if ready:
            self._held = [e for e in self._held if e[2] and not self._known(tuple(e[2]))]
        return ready

    def drain(self) -> list[Side]:
        """Every held event (the run ends)."""
        held, self._held = self._held, []
        return held
