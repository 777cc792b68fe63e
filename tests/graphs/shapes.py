"""Graphs for tests/test_official_shapes.py: the assistant views, system assistants
and run metadata were observed on langgraph-api 0.16.7 with graphs of these shapes.

``shapes_context`` has a ``context_schema``, a custom compiled name and a subgraph
that has a subgraph of its own (so ``xray`` depths 1 and 2 differ); its ``record``
node writes what ``get_config()`` gives it (metadata and the plain configurable
keys) into the state. ``shapes_config`` has only a ``config_schema``-style
configurable (LangGraph's deprecated ``config_schema=``).
"""

from __future__ import annotations

import operator
import warnings
from typing import Annotated, Any

from langgraph.config import get_config
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import get_runtime
from typing_extensions import TypedDict


class Ctx(TypedDict, total=False):
    model: str
    temperature: float


class Conf(TypedDict, total=False):
    model: str
    user_name: str


class State(TypedDict, total=False):
    text: str
    log: Annotated[list[str], operator.add]
    seen: dict[str, Any]


class Inner(TypedDict, total=False):
    text: str
    log: Annotated[list[str], operator.add]


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def record(state: State) -> State:
    """Writes the run's config metadata, its plain configurable keys and its runtime
    context to ``seen``;
    raises for the text ``fail``."""
    if state.get("text") == "fail":
        raise ValueError("asked to fail")
    config = get_config()
    metadata = {k: v for k, v in (config.get("metadata") or {}).items() if _plain(v) or isinstance(v, (dict, list))}
    configurable = {
        k: (v if _plain(v) else f"<{type(v).__name__}>")
        for k, v in (config.get("configurable") or {}).items()
        if not k.startswith("__pregel")
    }
    context = get_runtime().context
    return {
        "seen": {"metadata": metadata, "configurable": configurable, "context": context},
        "log": ["record"],
    }


def _deepest(state: Inner) -> Inner:
    return {"log": ["deepest"]}


def _inner(state: Inner) -> Inner:
    return {"log": ["inner"]}


_deep = StateGraph(Inner)
_deep.add_node("deepest", _deepest)
_deep.add_edge(START, "deepest")
_deep.add_edge("deepest", END)
deep = _deep.compile()

_mid = StateGraph(Inner)
_mid.add_node("inner", _inner)
_mid.add_node("deep", deep)
_mid.add_edge(START, "inner")
_mid.add_edge("inner", "deep")
_mid.add_edge("deep", END)
mid = _mid.compile()


def _route(state: State) -> str:
    return "sub" if state.get("text") != "skip" else END


_c = StateGraph(State, context_schema=Ctx)
_c.add_node("record", record)
_c.add_node("sub", mid)
_c.add_edge(START, "record")
_c.add_conditional_edges("record", _route, ["sub", END])
_c.add_edge("sub", END)
#: context schema, a compiled name of its own, subgraph ``sub`` with subgraph ``deep``
shapes_context = _c.compile(name="ShapesContextGraph")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    _f = StateGraph(State, config_schema=Conf)
_f.add_node("record", record)
_f.add_edge(START, "record")
_f.add_edge("record", END)
#: only a ``config_schema``-style configurable; the default compiled name
shapes_config = _f.compile()


def make_shapes(config):
    """A graph factory whose graph has a compiled name of its own."""
    return shapes_context

