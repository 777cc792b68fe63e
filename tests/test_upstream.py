"""Guards on the LangGraph internals Evergraph hooks into (langgraph 1.2, pinned
>=1.2.22,<1.3 in pyproject.toml).

If one of these fails after a LangGraph upgrade, the hook in the named module must be
revisited before the pin moves.
"""

from __future__ import annotations

import inspect
import time

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.types import TimeoutPolicy


def _sync_timeout_builder() -> StateGraph:
    def sync_node(state: dict) -> dict:
        time.sleep(0)
        return {}

    b = StateGraph(dict)
    b.add_node("sync_node", sync_node, timeout=TimeoutPolicy(run_timeout=1.0))
    b.add_edge(START, "sync_node")
    b.add_edge("sync_node", END)
    return b


def test_plain_langgraph_refuses_sync_node_timeouts_at_compile():
    """adapter.graphs.registry.allow_sync_node_timeouts replaces this exact check."""
    import langgraph.pregel.main as pregel_main

    from evergraph.adapter.graphs import registry

    if registry._patched:
        pytest.skip("the check is already lifted in this process")
    assert hasattr(pregel_main, "validate_timeout_supported")
    with pytest.raises(ValueError, match="only supported for async nodes"):
        _sync_timeout_builder().compile()


def test_evergraph_compiles_sync_node_timeouts():
    from evergraph.adapter.graphs.registry import allow_sync_node_timeouts

    allow_sync_node_timeouts()
    graph = _sync_timeout_builder().compile()
    assert graph.nodes["sync_node"].timeout.run_timeout == 1.0


def test_runner_submit_hook_and_progress_scope_exist():
    """adapter.execution.driver and adapter.execution.node_attempt rely on these."""
    from langgraph._internal._constants import CONFIG_KEY_RUNNER_SUBMIT
    from langgraph.pregel import _runner
    from langgraph.pregel._retry import _TimedAttemptScope

    assert CONFIG_KEY_RUNNER_SUBMIT == "__pregel_runner_submit"
    assert "get_waiter" in inspect.signature(_runner.PregelRunner.atick).parameters
    scope = _TimedAttemptScope(refresh_on="heartbeat")
    before = scope._last_progress
    scope.touch()
    assert scope._last_progress >= before
    for name in ("wrap_config", "close", "touch"):
        assert callable(getattr(scope, name))


def test_resume_map_lives_in_the_loop_config():
    """adapter.execution.node_attempt gives a task the resume map (interrupt id -> value) through
    this config key, as LangGraph's loop does, and adapter.resources.runs recognises the map
    with LangGraph's own rule."""
    from langgraph._internal._constants import CONFIG_KEY_RESUME_MAP
    from langgraph.pregel import _loop
    from langgraph.pregel._utils import is_xxh3_128_hexdigest

    assert CONFIG_KEY_RESUME_MAP == "__pregel_resume_map"
    assert "self.config[CONF][CONFIG_KEY_RESUME_MAP] = resume" in inspect.getsource(_loop)
    assert is_xxh3_128_hexdigest("0123456789abcdef0123456789abcdef")
    assert not is_xxh3_128_hexdigest("approved")


def test_functional_call_hook():
    """adapter.execution.calls serves @task calls with LangGraph's own _acall: it must keep the
    keyword arguments the runner gives it."""
    from langgraph._internal._constants import CONFIG_KEY_CALL
    from langgraph.pregel._runner import _acall, _acall_impl

    assert CONFIG_KEY_CALL == "__pregel_call"
    params = set(inspect.signature(_acall).parameters)
    assert {"futures", "schedule_task", "submit", "loop", "stream"} <= params
    assert "next_task.writes" in inspect.getsource(_acall_impl)  # cached results of earlier executions


def test_private_helpers_the_core_calls_keep_their_signatures():
    """adapter.execution (node_attempt, policy, calls, streams) and adapter.graphs call
    these private helpers of langgraph / langchain-core directly; a renamed helper or a
    changed parameter list must fail here, not in a run."""
    from langchain_core.tracers.event_stream import _AstreamEventsCallbackHandler
    from langgraph._internal._config import ensure_config, get_async_callback_manager_for_config
    from langgraph._internal._replay import ReplayState
    from langgraph.pregel._algo import PregelTaskWrites, apply_writes, checkpoint_null_version, task_path_str
    from langgraph.pregel._checkpoint import achannels_from_checkpoint
    from langgraph.pregel._messages import StreamMessagesHandler
    from langgraph.pregel._retry import _should_retry_on
    from langgraph.pregel._utils import is_xxh3_128_hexdigest
    from langgraph.pregel.main import Pregel, _coerce_context

    def params(fn) -> list[str]:
        return list(inspect.signature(fn).parameters)

    assert params(_coerce_context)[:2] == ["context_schema", "context"]
    assert params(_should_retry_on)[:2] == ["retry_policy", "exc"]
    assert params(apply_writes)[:5] == ["checkpoint", "channels", "tasks", "get_next_version", "trigger_to_nodes"]
    assert params(achannels_from_checkpoint)[:2] == ["specs", "checkpoint"]
    assert {"saver", "config"} <= set(params(achannels_from_checkpoint))
    assert params(checkpoint_null_version) == ["checkpoint"]
    assert params(task_path_str) == ["tup"]
    assert params(ReplayState)[:1] == ["checkpoint_id"]
    assert set(PregelTaskWrites._fields) >= {"path", "name", "writes", "triggers"}
    assert params(StreamMessagesHandler)[:2] == ["stream", "subgraphs"]
    assert callable(ensure_config) and callable(get_async_callback_manager_for_config)
    assert is_xxh3_128_hexdigest("0" * 32) and not is_xxh3_128_hexdigest("nope")
    assert hasattr(Pregel, "_migrate_checkpoint")
    assert "on_chain_start" in vars(_AstreamEventsCallbackHandler)
    # adapter.graphs.checkpoint takes the Postgres saver's connection this way
    from langgraph.checkpoint.postgres import _ainternal

    assert params(_ainternal.get_connection) == ["conn"]


def test_sdk_server_runtime_variants_keep_their_fields():
    """adapter.graphs.server_runtime builds langgraph-sdk 0.4's private runtime
    variants by keyword; a renamed field or class must be caught before the pin moves."""
    from langgraph_sdk.runtime import ServerRuntime, _ExecutionRuntime, _ReadRuntime

    assert set(inspect.signature(_ExecutionRuntime).parameters) >= {"access_context", "user", "store", "context"}
    assert set(inspect.signature(_ReadRuntime).parameters) >= {"access_context", "user", "store"}
    runtime = _ExecutionRuntime(access_context="threads.create_run", user=None, store=None, context={"a": 1})
    assert runtime.access_context == "threads.create_run" and runtime.context == {"a": 1}
    assert ServerRuntime is not None


def test_tools_stream_hooks_exist():
    """adapter.execution.tools_stream uses LangGraph 1.2's tools stream handler and the
    context variable through which a running tool's writes reach it."""
    from contextvars import ContextVar

    from langgraph.pregel._tools import StreamToolCallHandler, _tool_call_writer

    assert isinstance(_tool_call_writer, ContextVar)
    assert {"stream", "subgraphs", "parent_ns"} <= set(inspect.signature(StreamToolCallHandler.__init__).parameters)
