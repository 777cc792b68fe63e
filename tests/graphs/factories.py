"""Graph factories in every signature langgraph-api 0.16.7 accepts, and a graph with a
``context_schema`` (tests/test_server_runtime.py).

Every factory returns the same small graph (its node ``probe`` returns the
``runtime.context`` the node sees) and appends what it was called with to
:data:`CALLS`; the static graph ``factory_calls`` returns and clears that list, so a
test reads it through the API (``evergraph dev`` runs the API and the worker in one
process, as ``langgraph dev`` does).
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

if TYPE_CHECKING:  # resolved by name, as langgraph-api resolves it
    from langgraph_sdk.runtime import ServerRuntime
else:
    from langgraph_sdk.runtime import ServerRuntime

from factory_log import CALLS
from factory_log import LOCK as _lock


@dataclasses.dataclass
class Ctx:
    model: str = "default-model"
    user_name: str = ""


class State(TypedDict, total=False):
    seen: Any
    note: str


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__dataclass__": type(value).__name__, **dataclasses.asdict(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


async def probe(state: State, runtime: Runtime[Ctx]) -> State:
    return {"seen": _plain(runtime.context)}


def _graph() -> Any:
    b = StateGraph(State, context_schema=Ctx)
    b.add_node("probe", probe)
    b.add_edge(START, "probe")
    b.add_edge("probe", END)
    return b.compile()


#: a static graph with a dataclass context schema
context_graph = _graph()


class TypedCtx(TypedDict, total=False):
    model: str
    temperature: float


async def typed_probe(state: State, runtime: Runtime[TypedCtx]) -> State:
    return {"seen": _plain(runtime.context)}


_tb = StateGraph(State, context_schema=TypedCtx)
_tb.add_node("probe", typed_probe)
_tb.add_edge(START, "probe")
#: a static graph with a TypedDict context schema
typed_context_graph = _tb.compile()


async def _plain_probe(state: State, runtime: Runtime) -> State:
    return {"seen": _plain(runtime.context)}


_nb = StateGraph(State)
_nb.add_node("probe", _plain_probe)
_nb.add_edge(START, "probe")
#: a static graph without a context schema
no_schema_graph = _nb.compile()


def _record(factory: str, config: Any = None, runtime: Any = None, *, got_config: bool, got_runtime: bool) -> None:
    entry: dict[str, Any] = {"factory": factory, "got_config": got_config, "got_runtime": got_runtime}
    if got_config:
        conf = (config or {}).get("configurable") or {}
        entry["config_type"] = type(config).__name__
        entry["configurable_keys"] = sorted(k for k in conf if not k.startswith("__pregel"))
        entry["user_keys"] = {k: conf[k] for k in ("thread_id", "assistant_id", "graph_id", "model", "run_id") if k in conf}
        entry["is_for_execution"] = conf.get("__is_for_execution__")
    if got_runtime:
        entry["runtime_type"] = type(runtime).__name__
        entry["access_context"] = runtime.access_context
        entry["user"] = None if runtime.user is None else getattr(runtime.user, "identity", repr(runtime.user))
        entry["has_store"] = runtime.store is not None
        entry["execution"] = runtime.execution_runtime is not None
        entry["context"] = _plain(getattr(runtime, "context", "<absent>"))
    with _lock:
        CALLS.append(entry)


def no_args():
    _record("no_args", got_config=False, got_runtime=False)
    return _graph()


def config_only(config: RunnableConfig):
    _record("config_only", config, got_config=True, got_runtime=False)
    return _graph()


def untyped_one(runtime):
    """One untyped parameter: langgraph-api passes the config, whatever its name."""
    _record("untyped_one", runtime, got_config=True, got_runtime=False)
    return _graph()


def runtime_only(runtime: ServerRuntime):
    _record("runtime_only", runtime=runtime, got_config=False, got_runtime=True)
    return _graph()


def runtime_string(runtime: "ServerRuntime[Ctx]"):
    _record("runtime_string", runtime=runtime, got_config=False, got_runtime=True)
    return _graph()


def config_and_runtime(config, runtime: ServerRuntime):
    _record("config_and_runtime", config, runtime, got_config=True, got_runtime=True)
    return _graph()


async def runtime_and_config_async(runtime: Annotated[ServerRuntime, "rt"], config: RunnableConfig):
    _record("runtime_and_config_async", config, runtime, got_config=True, got_runtime=True)
    return _graph()


@contextlib.asynccontextmanager
async def async_cm(runtime: ServerRuntime):
    _record("async_cm", runtime=runtime, got_config=False, got_runtime=True)
    yield _graph()
    with _lock:
        CALLS.append({"factory": "async_cm", "exited": True})


@contextlib.contextmanager
def sync_cm(config):
    _record("sync_cm", config, got_config=True, got_runtime=False)
    yield _graph()


def builder_factory(runtime: ServerRuntime):
    """Returns an uncompiled ``StateGraph``."""
    _record("builder_factory", runtime=runtime, got_config=False, got_runtime=True)
    b = StateGraph(State, context_schema=Ctx)
    b.add_node("probe", probe)
    b.add_edge(START, "probe")
    return b


async def _drain(state: State) -> State:
    with _lock:
        out = list(CALLS)
        CALLS.clear()
    return {"seen": out}


_lb = StateGraph(State)
_lb.add_node("drain", _drain)
_lb.add_edge(START, "drain")
#: returns (and clears) the factory calls recorded so far
factory_calls = _lb.compile()


async def _server_info_probe(state: State, runtime: Runtime) -> State:
    info = runtime.server_info
    return {"seen": None if info is None else {
        "assistant_id": info.assistant_id, "graph_id": info.graph_id,
        "user": None if info.user is None else info.user.identity,
    }}


_sb = StateGraph(State)
_sb.add_node("probe", _server_info_probe)
_sb.add_edge(START, "probe")
#: a static graph whose node returns ``runtime.server_info`` (as LangGraph 1.2 fills it
#: for a graph run by the server)
server_info_graph = _sb.compile()
