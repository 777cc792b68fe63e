"""Graph factories taking langgraph_sdk's ``ServerRuntime`` and the run's
``context``, as langgraph-api 0.16.7 serves them (observed with ``langgraph dev`` on
the graphs of tests/graphs/factories.py).

* Every factory signature langgraph-api accepts (no parameter; the config, whatever
  the one untyped parameter's name; the runtime by annotation, string annotation
  included; both, in either order; async; sync and async context managers; a
  builder) is called with what it asks for, and for what: ``threads.create_run``
  (the execution runtime, with the run's raw context and the run's user, ``None``
  without authentication) for a run; ``threads.read`` for state and history;
  ``threads.update`` for a state update; ``assistants.read`` for the drawing,
  schemas and subgraphs (read runtimes with the anonymous user, identity ``""``);
  each with the store. A config-taking factory sees
  ``configurable["__is_for_execution__"]``.
* ``configurable`` keys of a run without ``context`` reach ``runtime.context``,
  filtered by the graph's context schema; ``context`` and ``configurable`` together
  are refused; an assistant's context (or its config's ``configurable``) is the
  base the run's own values override.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from langgraph_sdk.errors import BadRequestError

from evergraph.adapter.graphs.config import load_config
from evergraph.adapter.graphs.registry import GraphLoadError, load_registry

FACTORIES = {
    # graph id: (gets config, gets runtime)
    "f_no_args": (False, False),
    "f_config_only": (True, False),
    "f_untyped_one": (True, False),
    "f_runtime_only": (False, True),
    "f_runtime_string": (False, True),
    "f_config_and_runtime": (True, True),
    "f_runtime_and_config_async": (True, True),
    "f_async_cm": (False, True),
    "f_sync_cm": (True, False),
    "f_builder": (False, True),
}

CTX_SEEN = {"__dataclass__": "Ctx", "model": "m1", "user_name": ""}


async def _drain(client) -> list[dict]:
    """The factory calls recorded since the last drain (tests/graphs/factory_log.py)."""
    thread = await client.threads.create()
    return (await client.runs.wait(thread["thread_id"], "factory_calls", input={}))["seen"]


def _calls(recorded: list[dict]) -> list[dict]:
    return [c for c in recorded if "exited" not in c]


def _expected_read(graph_id: str, access: str) -> dict:
    gets_config, gets_runtime = FACTORIES[graph_id]
    out: dict = {"got_config": gets_config, "got_runtime": gets_runtime}
    if gets_runtime:
        out.update(
            access_context=access, runtime_type="_ReadRuntime", execution=False, has_store=True,
            user="", context="<absent>",
        )
    if gets_config:
        out.update(config_type="dict", is_for_execution=False)
    return out


def _subset(call: dict, expected: dict) -> dict:
    return {k: call.get(k) for k in expected}


@pytest.mark.parametrize("graph_id", list(FACTORIES))
async def test_factory_signatures_and_access_contexts(client, graph_id: str):
    gets_config, gets_runtime = FACTORIES[graph_id]
    await _drain(client)
    assistant = (await client.assistants.search(graph_id=graph_id, metadata={"created_by": "system"}))[0]
    aid = assistant["assistant_id"]
    thread_id = (await client.threads.create())["thread_id"]

    # a run: the execution runtime with the run's raw context, no user without auth
    out = await client.runs.wait(thread_id, graph_id, input={}, context={"model": "m1", "extra": 1})
    assert out["seen"] == CTX_SEEN
    calls = _calls(await _drain(client))
    runs = [c for c in calls if c.get("access_context", "threads.create_run") == "threads.create_run"
            and c.get("is_for_execution", True)]
    assert runs, calls
    for call in runs:
        assert call["got_config"] is gets_config and call["got_runtime"] is gets_runtime, call
        if gets_runtime:
            assert _subset(call, {"runtime_type": 1, "execution": 1, "user": 1, "has_store": 1, "context": 1}) == {
                "runtime_type": "_ExecutionRuntime", "execution": True, "user": None, "has_store": True,
                "context": {"model": "m1", "extra": 1},
            }, call
        if gets_config:
            assert call["is_for_execution"] is True and call["user_keys"]["thread_id"] == thread_id, call
            assert call["user_keys"]["graph_id"] == graph_id and call["user_keys"]["model"] == "m1", call
    # besides the run's own calls, Evergraph reads the thread's state when the run ends
    assert all(c in runs or c.get("access_context", "threads.read") == "threads.read" for c in calls), calls

    # a run whose configurable is its context
    out = await client.runs.wait(thread_id, graph_id, input={}, config={"configurable": {"model": "m2"}})
    assert out["seen"] == {**CTX_SEEN, "model": "m2"}
    if gets_runtime:
        created = [c for c in _calls(await _drain(client)) if c["access_context"] == "threads.create_run"]
        assert created and all(c["context"] == {"model": "m2"} for c in created), created
    else:
        await _drain(client)

    for access, call_api in [
        ("threads.read", lambda: client.threads.get_state(thread_id)),
        ("threads.read", lambda: client.threads.get_history(thread_id)),
        ("threads.update", lambda: client.threads.update_state(thread_id, {"note": "x"}, as_node="probe")),
        ("assistants.read", lambda: client.assistants.get_graph(aid)),
        ("assistants.read", lambda: client.assistants.get_graph(aid, xray=True)),
        ("assistants.read", lambda: client.assistants.get_schemas(aid)),
        ("assistants.read", lambda: client.assistants.get_subgraphs(aid)),
    ]:
        await call_api()
        calls = _calls(await _drain(client))
        expected = _expected_read(graph_id, access)
        assert calls, access
        assert _subset(calls[0], expected) == expected, (access, calls)
        if gets_config and access.startswith("threads."):
            assert calls[0]["user_keys"]["thread_id"] == thread_id


async def test_context_manager_factories_are_left(client):
    """A factory's context manager is entered for the graph's use and left after it."""
    await _drain(client)
    thread_id = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread_id, "f_async_cm", input={})
    recorded = await _drain(client)
    entered = [c for c in recorded if "exited" not in c]
    exited = [c for c in recorded if c.get("exited")]
    assert entered and len(exited) == len(entered), recorded


def test_bad_factory_signature_stops_loading(tmp_path: Path):
    """langgraph-api refuses at start-up a factory with three parameters, or with two of
    which none is a ServerRuntime; so does Evergraph, naming the graph."""
    (tmp_path / "bad.py").write_text(
        "def three(a, b, c):\n    pass\n\n"
        "def two_configs(config, other):\n    pass\n"
    )
    for attr in ("three", "two_configs"):
        (tmp_path / "langgraph.json").write_text(json.dumps({"graphs": {f"g_{attr}": f"./bad.py:{attr}"}}))
        with pytest.raises(GraphLoadError, match=f"g_{attr}"):
            load_registry(load_config(tmp_path / "langgraph.json"))


async def _seen(client, graph_or_assistant: str, **kwargs):
    thread_id = (await client.threads.create())["thread_id"]
    return (await client.runs.wait(thread_id, graph_or_assistant, input={}, **kwargs))["seen"]


async def test_configurable_reaches_context(client):
    """Values as ``langgraph dev`` gives them to ``runtime.context``."""
    ctx = {"__dataclass__": "Ctx", "model": "default-model", "user_name": ""}
    # configurable only: the schema's keys reach the dataclass context
    assert await _seen(client, "context_graph", config={"configurable": {"model": "m2", "other": 1}}) == {
        **ctx, "model": "m2"
    }
    assert await _seen(client, "context_graph", context={"model": "m1", "other": 1}) == {**ctx, "model": "m1"}
    # nothing: the dataclass's defaults; a graph without a schema sees None
    assert await _seen(client, "context_graph") == ctx
    assert await _seen(client, "no_schema_graph") is None
    # without a schema (and with a TypedDict one, on Python < 3.12) nothing is filtered
    assert await _seen(client, "no_schema_graph", config={"configurable": {"model": "x", "other": 1}}) == {
        "model": "x", "other": 1
    }
    assert await _seen(client, "typed_context_graph", config={"configurable": {"model": "x", "other": 1}}) == {
        "model": "x", "other": 1
    }
    # both at once: refused
    with pytest.raises((httpx.HTTPStatusError, BadRequestError), match="400"):
        await _seen(client, "context_graph", context={"model": "m1"}, config={"configurable": {"model": "m2"}})


async def test_assistant_context_under_run_values(client):
    a_ctx = await client.assistants.create("context_graph", context={"model": "a-ctx", "user_name": "ann"})
    a_cfg = await client.assistants.create("context_graph", config={"configurable": {"model": "a-cfg"}})
    base = {"__dataclass__": "Ctx"}
    assert await _seen(client, a_ctx["assistant_id"]) == {**base, "model": "a-ctx", "user_name": "ann"}
    assert await _seen(client, a_ctx["assistant_id"], config={"configurable": {"model": "r-cfg"}}) == {
        **base, "model": "r-cfg", "user_name": "ann"
    }
    assert await _seen(client, a_ctx["assistant_id"], context={"model": "r-ctx"}) == {
        **base, "model": "r-ctx", "user_name": "ann"
    }
    assert await _seen(client, a_cfg["assistant_id"]) == {**base, "model": "a-cfg", "user_name": ""}
    assert await _seen(client, a_cfg["assistant_id"], context={"user_name": "bob"}) == {
        **base, "model": "a-cfg", "user_name": "bob"
    }


async def test_nodes_see_server_info(client):
    """``runtime.server_info`` in a node: the run's assistant and graph ids (the user
    is ``None`` without authentication), as LangGraph fills it under the server."""
    assistant = await client.assistants.create("server_info_graph")
    assert await _seen(client, assistant["assistant_id"]) == {
        "assistant_id": assistant["assistant_id"], "graph_id": "server_info_graph", "user": None,
    }
