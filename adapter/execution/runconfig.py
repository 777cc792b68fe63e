"""What a run asks of LangGraph, derived from its stored record.

The API stores a run's ``kwargs`` in the shape of langgraph-api 0.16.7's Run object:
``input``, ``command``, ``config`` (with ``configurable.thread_id/run_id/graph_id/
assistant_id`` filled in and ``metadata``), ``context``, ``stream_mode``,
``interrupt_before/after``, ``subgraphs``, ``resumable``, ``durability``…
The driver and every node attempt rebuild the same ``RunnableConfig`` from it, so a
task prepared in a node attempt gets the same id and inputs as in the driver
(docs/architecture.md, "One run's path", steps 4 and 5).
"""

from __future__ import annotations

import copy
import dataclasses
import os
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel
from langgraph.types import Command, Send

import langgraph.version

__all__ = [
    "COMPAT_API_VERSION", "DRIVER_MODES", "RunParams", "command_from_json", "event_name", "graph_context", "run_params",
]

#: the langgraph-api version whose behaviour on the wire Evergraph reproduces (shown
#: as ``langgraph_api_version`` in run metadata and by ``GET /info``)
COMPAT_API_VERSION = "0.16.7"

#: LangGraph stream modes the driver's ``astream`` produces for the run's own graph
#: (node attempts produce ``messages``, ``custom`` and callback ``events``, and every
#: mode of subgraphs); see :mod:`adapter.execution.streams` for the wire format
DRIVER_MODES = {"values", "updates", "checkpoints", "tasks", "debug"}


@dataclass(frozen=True)
class RunParams:
    """A run's LangGraph arguments.

    Attributes:
        config: the ``RunnableConfig`` (``configurable``, ``metadata``, ``tags``,
            ``recursion_limit``).
        input: graph input, or ``None`` to continue from the checkpoint.
        command: a ``Command`` (resume/update/goto) or ``None``.
        context: ``Runtime.context`` value.
        stream_modes: requested API stream modes (``messages-tuple`` included as is).
        subgraphs: ``stream_subgraphs``.
        interrupt_before, interrupt_after: static breakpoints (``"*"`` or node names).
        durability: ``sync``/``async``/``exit``.
    """

    config: RunnableConfig
    input: Any
    command: Command | None
    context: Any
    stream_modes: tuple[str, ...]
    subgraphs: bool
    interrupt_before: Any
    interrupt_after: Any
    durability: str | None


def command_from_json(raw: dict[str, Any] | None) -> Command | None:
    """A LangGraph ``Command`` from its JSON form in a request or run record.

    Args:
        raw: ``{"resume"?, "update"?, "goto"?}``; ``goto`` is a node name, a ``Send``
            as ``{"node", "input"}``, or a list of either; an ``update`` given as a
            list of pairs becomes a list of tuples.

    Returns:
        The command, or ``None`` for an empty or missing ``raw``.

    Raises:
        KeyError: a ``Send`` without ``"node"``.
    """
    if not raw:
        return None
    goto = raw.get("goto")
    if isinstance(goto, dict):
        goto = Send(goto["node"], goto.get("input"))
    elif isinstance(goto, list):
        goto = [Send(g["node"], g.get("input")) if isinstance(g, dict) else g for g in goto]
    kwargs: dict[str, Any] = {}
    if "resume" in raw:
        kwargs["resume"] = raw["resume"]
    if raw.get("update") is not None:
        update = raw["update"]
        if isinstance(update, list):
            update = [tuple(u) for u in update]
        kwargs["update"] = update
    # a missing goto is None, not LangGraph's default (), as langgraph-api 0.16.7 builds
    # the command (it shows as ``"goto": null`` in the ``events`` stream's input)
    kwargs["goto"] = goto
    return Command(**kwargs)


def run_params(run: dict[str, Any], default_recursion_limit: int = 10011) -> RunParams:
    """Build :class:`RunParams` from a run record (as stored by :mod:`adapter.records`).

    Args:
        run: the run record: ``run_id``, ``thread_id`` and ``kwargs`` (the request's
            ``input``, ``command``, ``config``, ``context``, ``stream_mode``…).
        default_recursion_limit: supersteps allowed when the run's config sets no
            ``recursion_limit`` (``Settings.default_recursion_limit``).

    Raises:
        KeyError: the record lacks ``kwargs``, ``run_id`` or ``thread_id``.
    """
    kwargs = run["kwargs"]
    config: dict[str, Any] = copy.deepcopy(kwargs.get("config") or {})
    configurable = config.setdefault("configurable", {})
    configurable.setdefault("thread_id", run["thread_id"])
    configurable.setdefault("run_id", run["run_id"])
    # the API's marker that the request gave ``context``; langgraph-api 0.16.7 removes
    # it before the graph sees or stores the config
    configurable.pop("__context_provided__", None)
    metadata = config.setdefault("metadata", {})
    metadata.setdefault("run_attempt", 1)
    metadata.setdefault("langgraph_version", langgraph.version.__version__)
    metadata.setdefault("langgraph_api_version", COMPAT_API_VERSION)
    metadata.setdefault("langgraph_host", "self-hosted")
    # the server's own URL from LANGGRAPH_API_URL (``evergraph dev`` sets it), as
    # langgraph-api 0.16.7 gives it; ``None`` when unset, as there
    metadata.setdefault("langgraph_api_url", os.environ.get("LANGGRAPH_API_URL"))
    config.setdefault("recursion_limit", default_recursion_limit)
    modes = kwargs.get("stream_mode") or ["values"]
    if isinstance(modes, str):
        modes = [modes]
    return RunParams(
        config=config,
        input=kwargs.get("input"),
        command=command_from_json(kwargs.get("command")),
        context=kwargs.get("context"),
        stream_modes=tuple(modes),
        subgraphs=bool(kwargs.get("subgraphs")),
        # a run's own breakpoints win; else those in the (assistant-merged) config
        interrupt_before=_first_set(kwargs.get("interrupt_before"), config.pop("interrupt_before", None)),
        interrupt_after=_first_set(kwargs.get("interrupt_after"), config.pop("interrupt_after", None)),
        durability=kwargs.get("durability"),
    )


#: property names of a context schema's JSON schema, by schema type (None: no names)
_CONTEXT_KEYS: dict[Any, frozenset[str] | None] = {}


def graph_context(graph: Any, context: Any) -> Any:
    """The run's ``context`` as the graph gets it: a dict keeps only the keys the
    graph's context schema names (langgraph-api 0.16.7 filters it so, which lets a
    request's or assistant's ``configurable``, mirrored into ``context``, reach a
    dataclass or model context without unknown keys); an empty dict is ``{}`` for a
    dataclass or pydantic schema (LangGraph fills in its defaults) and ``None``
    otherwise (what such a graph sees there when a run has no context); anything else, and any
    context of a graph without a schema with properties, is returned as given.

    Args:
        graph: the compiled graph (a ``Pregel``).
        context: the run's ``context`` (usually a dict, or ``None``).
    """
    if not isinstance(context, dict):
        return context
    schema_type = getattr(graph, "context_schema", None)
    if not context:
        # no context at all: langgraph-api 0.16.7 passes {} and LangGraph builds a
        # dataclass or pydantic context schema from it (its defaults); any other
        # graph sees None there
        return {} if _is_class_schema(schema_type) else None
    if schema_type is None:
        return context
    if schema_type not in _CONTEXT_KEYS:
        try:
            props = (graph.get_context_jsonschema() or {}).get("properties")
        except Exception:  # noqa: BLE001 - a schema pydantic cannot express: left unfiltered
            props = None
        _CONTEXT_KEYS[schema_type] = frozenset(props) if props else None
    keys = _CONTEXT_KEYS[schema_type]
    if keys is None:
        return context
    kept = {k: v for k, v in context.items() if k in keys}
    return kept if kept or _is_class_schema(schema_type) else None


def _is_class_schema(schema_type: Any) -> bool:
    """Whether LangGraph builds the context from a dict (a dataclass or pydantic model)."""
    if not isinstance(schema_type, type):
        return False
    return dataclasses.is_dataclass(schema_type) or issubclass(schema_type, BaseModel)


def _first_set(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def event_name(mode: str, namespace: tuple[str, ...] = ()) -> str:
    """SSE event name: the stream mode, ``|``-joined with subgraph namespace segments
    (each ``<node>:<task_id>``), e.g. ``updates|inner:33d9…``."""
    return "|".join((mode, *namespace)) if namespace else mode
