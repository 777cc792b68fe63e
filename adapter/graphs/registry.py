"""The graph registry: imports the graphs a ``langgraph.json`` names and hands out
compiled :class:`~langgraph.pregel.Pregel` objects bound to Evergraph's checkpointer.

A graph attribute may be a compiled graph, a ``StateGraph`` builder (compiled here),
or a factory called whenever the graph is needed, as langgraph-api 0.16.7 calls it:
with no argument, the ``RunnableConfig``, the ``langgraph_sdk.runtime.ServerRuntime``
or both (:mod:`adapter.graphs.server_runtime` reads the signature at start-up); sync
or async; returning a graph, a builder, or a (sync or async) context manager that
yields one (:meth:`GraphRegistry.graph` keeps it entered while the graph is used).

Sync nodes with ``timeout=``: plain LangGraph refuses to compile them
(``Pregel.validate`` calls ``langgraph.pregel.main.validate_timeout_supported``)
because it cannot cancel sync code in-process. Evergraph enforces node timeouts in
the Temporal server, so :func:`allow_sync_node_timeouts` turns that one check off in
Evergraph processes. ``tests/test_upstream.py`` fails if LangGraph moves the check.
See docs/architecture.md, "Where to find things".
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import sys
import threading
from dataclasses import dataclass
from typing import Any, AsyncIterator

import langgraph.pregel.main as pregel_main
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import StateGraph
from langgraph.pregel import Pregel

from evergraph.adapter.graphs.config import ConfigError, GraphSpec, LangGraphConfig, apply_env
from evergraph.adapter.graphs.server_runtime import (
    ANONYMOUS,
    REQUEST_USER,
    AccessContext,
    FactoryCall,
    classify_factory,
    run_user,
    server_runtime,
)

__all__ = [
    "GraphLoadError", "GraphRegistry", "allow_sync_node_timeouts", "import_config_target", "import_target", "load_registry",
]


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


def import_config_target(
    key: str, value: str, target: str, attr: str, base_dir: Any, expected: type, what: str
) -> Any:
    """The object a ``langgraph.json`` setting other than a graph names (``auth.path``,
    ``http.app``): ``attr`` of the file or module ``target``, relative to ``base_dir``.

    Args:
        key: the setting's name, for messages (``"auth.path"``).
        value: the setting as written (``"./auth.py:auth"``), for messages.
        expected: the type the object must have.
        what: ``expected`` in words, for messages (``"a langgraph_sdk.Auth object"``).

    Raises:
        ConfigError: the file or module does not import, has no such attribute, or
            the object is not an ``expected``; the message names ``key`` and ``value``.
    """
    spec = GraphSpec(key.split(".")[0], target, attr, None, base_dir)  # "auth", "http": module names
    try:
        obj = import_target(spec)
    except GraphLoadError as exc:
        raise ConfigError(f"{key} {value!r}: {str(exc).removeprefix(f'Graph {spec.graph_id!r}: ')}") from None
    if not isinstance(obj, expected):
        raise ConfigError(f"{key} {value!r} must name {what}, got {type(obj).__name__}")
    return obj


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
    call: FactoryCall | None = None  # how to call a factory (see server_runtime)


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
                try:
                    call = classify_factory(obj)
                except ValueError as exc:
                    raise GraphLoadError(f"Graph {graph_id!r}: {exc}") from exc
                self._entries[graph_id] = _Entry(spec, obj, None, call)
                continue
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

    def static_graph(self, graph_id: str) -> Pregel | None:
        """The compiled graph of ``graph_id`` when it is not a factory (whose graph
        may differ from call to call), else ``None`` (KeyError if unknown)."""
        return self._entries[graph_id].compiled

    async def get(
        self,
        graph_id: str,
        config: RunnableConfig | None = None,
        *,
        access: AccessContext = "assistants.read",
        store: Any = None,
        user: Any = None,
        context: Any = None,
    ) -> Pregel:
        """A compiled graph for ``graph_id``; a factory's context manager is left
        again as soon as it yielded the graph (use :meth:`graph` to keep it entered).

        Args: as :meth:`graph`.

        Raises:
            KeyError: unknown graph id.
            GraphLoadError: a factory returned something that is not a graph; a
                factory's own exception propagates unchanged.
        """
        async with self.graph(graph_id, config, access=access, store=store, user=user, context=context) as graph:
            return graph

    @contextlib.asynccontextmanager
    async def graph(
        self,
        graph_id: str,
        config: RunnableConfig | None = None,
        *,
        access: AccessContext = "assistants.read",
        store: Any = None,
        user: Any = None,
        context: Any = None,
    ) -> AsyncIterator[Pregel]:
        """The compiled graph of ``graph_id`` while the ``async with`` block runs.

        A factory is called as langgraph-api calls it: ``config`` (a copy, with
        ``configurable["__is_for_execution__"]`` telling whether ``access`` is
        ``threads.create_run``) and/or a ``ServerRuntime`` for ``access`` carrying
        ``store``, the user and, for a run, ``context``. A factory result that is a
        context manager (sync or async) stays entered until the block ends.

        Args:
            graph_id: key of ``graphs`` in ``langgraph.json``.
            config: the run's (or thread's, or assistant's) config.
            access: why the graph is needed: ``threads.create_run`` (a run
                executes it), ``threads.read`` (state reads), ``threads.update``
                (state updates), ``assistants.read`` (schemas, drawing, subgraphs).
            store: the LangGraph store given as ``runtime.store``.
            user: the user given as ``runtime.user``; ``None`` picks the request's
                authenticated user for reads (anonymous without authentication)
                and the user stored in ``config`` for runs.
            context: the run's context (``threads.create_run`` only).

        Raises:
            KeyError: unknown graph id.
            GraphLoadError: a factory returned something that is not a graph; a
                factory's own exception propagates unchanged.
        """
        entry = self._entries[graph_id]
        if entry.compiled is not None:
            yield entry.compiled
            return
        if user is None:
            if access == "threads.create_run":
                user = run_user(config)
            else:
                user = REQUEST_USER.get() or ANONYMOUS
        factory_config: dict[str, Any] = dict(config or {})
        configurable = dict(factory_config.get("configurable") or {})
        if user is not None:
            # the caller's user, as langgraph-api adds it to every factory's config
            configurable.setdefault("langgraph_auth_user", user)
            configurable.setdefault("langgraph_auth_user_id", getattr(user, "identity", ""))
            configurable.setdefault("langgraph_auth_permissions", list(getattr(user, "permissions", None) or []))
        configurable["__is_for_execution__"] = access == "threads.create_run"
        factory_config["configurable"] = configurable
        runtime = server_runtime(access, store, user, context)
        assert entry.call is not None
        kwargs = entry.call(factory_config, runtime)
        if "__positional__" in kwargs:
            result = entry.obj(kwargs["__positional__"])
        else:
            result = entry.obj(**kwargs)
        if hasattr(result, "__aenter__") and hasattr(result, "__aexit__"):
            async with result as graph:
                yield self._checked(graph_id, graph)
        elif hasattr(result, "__enter__") and hasattr(result, "__exit__"):
            with result as graph:
                yield self._checked(graph_id, graph)
        else:
            if inspect.isawaitable(result):
                result = await result
            yield self._checked(graph_id, result)

    def _checked(self, graph_id: str, result: Any) -> Pregel:
        if isinstance(result, StateGraph):
            result = result.compile()
        if not isinstance(result, Pregel):
            raise GraphLoadError(
                f"Graph {graph_id!r}: factory {self._entries[graph_id].spec.attr} returned "
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
