"""Thread state as the API shows it, read through LangGraph (``Pregel.aget_state`` /
``aget_state_history``) from the checkpointer, never re-derived by Evergraph.

Shapes are langgraph-api 0.16.7's: ThreadState, Interrupt, and the ``/wait`` body.
See docs/architecture.md, "The layers".
"""

from __future__ import annotations

from typing import Any

from langgraph.pregel import Pregel
from langgraph.types import StateSnapshot

from evergraph.adapter import serde
from evergraph.adapter.services import Services

__all__ = ["EMPTY_STATE", "bound_graph", "interrupt_json", "snapshot_json", "thread_interrupts", "wait_body"]


async def bound_graph(
    services: Services, graph_id: str, config: dict[str, Any] | None = None, *, access: str = "threads.read"
) -> Pregel:
    """The graph of ``graph_id`` with Evergraph's checkpointer and store attached.

    Args:
        services: process services.
        graph_id: key of ``graphs`` in ``langgraph.json``.
        config: the run's config, for graph factories that take one.
        access: the access context a factory is called for (``threads.read`` or
            ``threads.update``; see :meth:`adapter.graphs.registry.GraphRegistry.graph`).

    Raises:
        KeyError: unknown graph id.
        GraphLoadError: a factory returned something that is not a graph; a
            factory's own exception propagates unchanged.
    """
    graph = await services.registry.get(graph_id, config or {}, access=access, store=services.store)  # type: ignore[arg-type]
    return graph.copy({"checkpointer": services.saver, "store": services.store})


def _checkpoint_ref(config: dict[str, Any] | None) -> dict[str, Any] | None:
    if not config:
        return None
    conf = config.get("configurable", {})
    ref = {
        "thread_id": conf.get("thread_id"),
        "checkpoint_ns": conf.get("checkpoint_ns", ""),
        "checkpoint_id": conf.get("checkpoint_id"),
    }
    if conf.get("checkpoint_map"):
        ref["checkpoint_map"] = conf["checkpoint_map"]
    return ref


def interrupt_json(interrupt: Any, *, stream: bool = False) -> dict[str, Any]:
    """``{"id","value"}`` (state/thread) or ``{"value","id","response_schema"}`` (stream/wait)."""
    if stream:
        return {"value": interrupt.value, "id": interrupt.id, "response_schema": getattr(interrupt, "response_schema", None)}
    return {"id": interrupt.id, "value": interrupt.value}


def snapshot_json(snapshot: StateSnapshot) -> dict[str, Any]:
    """A ``StateSnapshot`` as the API's ThreadState (JSON-safe)."""
    checkpoint = _checkpoint_ref(snapshot.config)
    parent = _checkpoint_ref(snapshot.parent_config)
    tasks = []
    for t in snapshot.tasks:
        state = t.state
        if isinstance(state, StateSnapshot):
            state = snapshot_json(state)
        elif state is not None:
            state = {"configurable": dict(state.get("configurable", {}))}
        tasks.append(
            {
                "id": t.id,
                "name": t.name,
                "path": list(t.path),
                "error": None if t.error is None else str(t.error),
                "interrupts": [interrupt_json(i) for i in t.interrupts],
                "checkpoint": None,
                "state": state,
                "result": t.result,
            }
        )
    return serde.to_jsonable(
        {
            "values": snapshot.values if snapshot.values is not None else {},
            "next": list(snapshot.next),
            "tasks": tasks,
            "metadata": snapshot.metadata,
            "created_at": snapshot.created_at,
            "checkpoint": checkpoint,
            "parent_checkpoint": parent,
            "interrupts": [interrupt_json(i) for i in snapshot.interrupts],
            "checkpoint_id": checkpoint["checkpoint_id"] if checkpoint else None,
            "parent_checkpoint_id": parent["checkpoint_id"] if parent else None,
        }
    )


EMPTY_STATE: dict[str, Any] = {
    "values": {},
    "next": [],
    "tasks": [],
    "metadata": None,
    "created_at": None,
    "checkpoint": None,
    "parent_checkpoint": None,
    "interrupts": [],
    "checkpoint_id": None,
    "parent_checkpoint_id": None,
}
"""ThreadState of a thread without checkpoints, as langgraph-api 0.16.7 answers
``GET /threads/{id}/state`` for a thread that never ran."""


def thread_interrupts(snapshot: StateSnapshot) -> dict[str, list[dict[str, Any]]]:
    """``thread.interrupts``: ``{task_id: [{"id","value"}]}`` for tasks waiting at ``interrupt()``."""
    return serde.to_jsonable(
        {t.id: [interrupt_json(i) for i in t.interrupts] for t in snapshot.tasks if t.interrupts}
    )


def wait_body(snapshot: StateSnapshot) -> Any:
    """The ``/wait`` and ``/join`` success body: the state values, with
    ``__interrupt__`` when the run stopped at ``interrupt()``, as langgraph-api 0.16.7
    answers."""
    values = serde.to_jsonable(snapshot.values)
    if snapshot.interrupts and values is None:
        values = {}  # an entrypoint waiting before it returned anything: in-process too
    if snapshot.interrupts and isinstance(values, dict):
        values["__interrupt__"] = serde.to_jsonable(
            [interrupt_json(i, stream=True) for i in snapshot.interrupts]
        )
    return values
