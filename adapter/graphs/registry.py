"""The graph registry: imports the graphs a ``langgraph.json`` names and hands out
compiled :class:`~langgraph.pregel.Pregel` objects bound to Evergraph's checkpointer.

A graph attribute may be a compiled graph, a ``StateGraph`` builder (compiled here),
or a factory (sync or async) taking zero arguments or a ``RunnableConfig``, called
for every run as ``langgraph dev`` does.

Sync nodes with ``timeout=``: plain LangGraph refuses to compile them
(``Pregel.validate`` calls ``langgraph.pregel.main.validate_timeout_supported``)
because it cannot cancel sync code in-process. Evergraph enforces node timeouts in
the Temporal server, so :func:`allow_sync_node_timeouts` turns that one check off in
Evergraph processes. ``tests/test_upstream.py`` fails if LangGraph moves the check.
See docs/architecture.md, "Where to find things".
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import threading
from dataclasses import dataclass
from typing import Any

import langgraph.pregel.main as pregel_main
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import StateGraph
from langgraph.pregel import Pregel

from evergraph.adapter.graphs.config import GraphSpec, LangGraphConfig, apply_env

__all__ = ["GraphLoadError", "GraphRegistry", "allow_sync_node_timeouts", "import_target", "load_registry"]


class GraphLoadError(RuntimeError):
    """A graph named in ``langgraph.json`` could not be loaded; names graph id and path."""


_patch_lock = threading.Lock()
_patched = False


def allow_sync_node_timeouts() -> None:
    """Let graphs with ``timeout=`` on sync nodes compile (idempotent).

    Replaces ``langgraph.pregel.main.validate_timeout_supported``, the name
    ``Pregel.validate`` calls at compile time, with a no-op. Only the compile-time
    refusal is lifted: at run time Evergraph runs each node attempt as a Temporal
    activity whose start-to-close and heartbeat timeouts the Temporal server enforces,
    and strips the in-process timeout before running the node.

    Raises:
        RuntimeError: this LangGraph has no ``validate_timeout_supported`` (a version
            outside the range pinned in pyproject.toml, langgraph >=1.2.22,<1.3).
    """
    global _patched
    with _patch_lock:
        if _patched:
            return
        if not hasattr(pregel_main, "validate_timeout_supported"):
            raise RuntimeError(
                "langgraph.pregel.main.validate_timeout_supported is gone: this LangGraph "
                "version is not supported by Evergraph (see pyproject.toml)"
            )

        def _evergraph_validate_timeout_supported(runnable: Any, *, name: str) -> None:
            return None

        pregel_main.validate_timeout_supported = _evergraph_validate_timeout_supported
        _patched = True


def import_target(spec: GraphSpec) -> Any:
    """The object ``spec`` names: attribute ``spec.attr`` of the Python file (imported
    once per path, its folder put on ``sys.path``) or of the module ``spec.target``.

    Raises:
        GraphLoadError: the file or module is missing, importing it raised (the
            message names the graph id, the path and the original error), or it has
            no such attribute.
    """
    if spec.is_file:
        path = spec.file_path
        if not path.is_file():
            raise GraphLoadError(f"Graph {spec.graph_id!r}: file not found: {path}")
        module_name = f"evergraph_user_graphs.{spec.graph_id}_{abs(hash(str(path))):x}"
        if module_name in sys.modules:
            module = sys.modules[module_name]
        else:
            mod_spec = importlib.util.spec_from_file_location(module_name, path)
            if mod_spec is None or mod_spec.loader is None:
                raise GraphLoadError(f"Graph {spec.graph_id!r}: cannot import {path}")
            module = importlib.util.module_from_spec(mod_spec)
            sys.modules[module_name] = module
            if str(path.parent) not in sys.path:
                sys.path.insert(0, str(path.parent))
            try:
                mod_spec.loader.exec_module(module)
            except Exception as exc:
                sys.modules.pop(module_name, None)
                raise GraphLoadError(
                    f"Graph {spec.graph_id!r}: importing {path} failed: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
        where = str(path)
    else:
        try:
            module = importlib.import_module(spec.target)
        except Exception as exc:
            raise GraphLoadError(
                f"Graph {spec.graph_id!r}: importing module {spec.target!r} failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        where = spec.target
    if not hasattr(module, spec.attr):
        raise GraphLoadError(
            f"Graph {spec.graph_id!r}: {where} has no attribute {spec.attr!r}"
        )
    return getattr(module, spec.attr)


@dataclass
class _Entry:
    spec: GraphSpec
    obj: Any
    compiled: Pregel | None  # set for static graphs; None for factories


class GraphRegistry:
    """Loaded graphs of one ``langgraph.json``.

    Args:
        config: the parsed ``langgraph.json``.

    Raises:
        GraphLoadError: (from :meth:`load`) a file, module or attribute is missing,
            or the attribute is neither a graph, a builder nor a callable.
    """

    def __init__(self, config: LangGraphConfig) -> None:
        self.config = config
        self._entries: dict[str, _Entry] = {}

    @property
    def graph_ids(self) -> list[str]:
        """Graph ids in ``langgraph.json`` order."""
        return list(self.config.graphs)

    def load(self) -> GraphRegistry:
        """Import every graph once; called at start-up so errors stop the process."""
        allow_sync_node_timeouts()
        apply_env(self.config)
        for dep in self.config.dependencies:
            if str(dep) not in sys.path:
                sys.path.insert(0, str(dep))
        for graph_id, spec in self.config.graphs.items():
            obj = import_target(spec)
            if isinstance(obj, StateGraph):
                compiled = obj.compile()
            elif isinstance(obj, Pregel):
                compiled = obj
            elif callable(obj):
                compiled = None
            else:
                raise GraphLoadError(
                    f"Graph {graph_id!r}: {spec.target}:{spec.attr} is a "
                    f"{type(obj).__name__}, expected a compiled graph, a StateGraph "
                    "or a factory function"
                )
            self._entries[graph_id] = _Entry(spec, obj, compiled)
        return self

    def __contains__(self, graph_id: object) -> bool:
        return graph_id in self._entries

    def spec(self, graph_id: str) -> GraphSpec:
        """The ``langgraph.json`` entry of ``graph_id`` (KeyError if unknown)."""
        return self._entries[graph_id].spec

    async def get(self, graph_id: str, config: RunnableConfig | None = None) -> Pregel:
        """A compiled graph for ``graph_id``.

        Args:
            graph_id: key of ``graphs`` in ``langgraph.json``.
            config: the run's config, passed to factories that take one.

        Raises:
            KeyError: unknown graph id.
            GraphLoadError: a factory returned something that is not a graph.
        """
        entry = self._entries[graph_id]
        if entry.compiled is not None:
            return entry.compiled
        factory = entry.obj
        try:
            n_params = len(inspect.signature(factory).parameters)
        except (TypeError, ValueError):
            n_params = 1
        result = factory(config or {}) if n_params else factory()
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, StateGraph):
            result = result.compile()
        if not isinstance(result, Pregel):
            raise GraphLoadError(
                f"Graph {graph_id!r}: factory {entry.spec.attr} returned "
                f"{type(result).__name__}, expected a graph"
            )
        return result


def load_registry(config: LangGraphConfig) -> GraphRegistry:
    """Import all graphs of ``config``; see :class:`GraphRegistry`.

    Raises:
        GraphLoadError: a graph cannot be imported, or is neither a graph, a builder
            nor a callable.
    """
    return GraphRegistry(config).load()
