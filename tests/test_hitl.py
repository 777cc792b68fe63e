"""Human in the loop: ``interrupt()`` (single, parallel, in a subgraph), static
breakpoints (compile time, per run, per assistant), resume through REST and through
a Temporal signal to the thread's workflow (``resume``, see workflows/thread.py)."""

from __future__ import annotations

import asyncio
import json
import subprocess

import pytest

from evergraph.adapter.process.devserver import temporal_cli
from tests.conftest import wait_for


async def _interrupted(client, tid: str) -> dict:
    thread = await client.threads.get(tid)
    assert thread["status"] == "interrupted", thread
    return thread


async def test_interrupt_then_resume_through_rest(client):
    tid = (await client.threads.create())["thread_id"]
    result = await client.runs.wait(tid, "approval", input={"log": []})
    assert result["log"] == ["draft"]
    [intr] = result["__interrupt__"]
    assert intr["value"] == {"question": "approve ask?"}
    runs = await client.runs.list(tid)
    assert runs[0]["status"] == "success"  # an interrupt ends the run successfully (langgraph-api 0.16.7)
    thread = await _interrupted(client, tid)
    [(task_id, [pending])] = thread["interrupts"].items()
    assert pending["id"] == intr["id"] and pending["value"] == intr["value"]
    state = await client.threads.get_state(tid)
    assert state["next"] == ["ask"]
    assert state["tasks"][0]["id"] == task_id
    assert state["tasks"][0]["interrupts"][0]["id"] == intr["id"]
    assert state["interrupts"][0]["id"] == intr["id"]

    result = await client.runs.wait(tid, "approval", command={"resume": "yes"})
    assert result == {"log": ["draft", "ask", "act"], "answers": ["yes"]}
    thread = await client.threads.get(tid)
    assert thread["status"] == "idle" and thread["interrupts"] == {}
    assert (await client.threads.get_state(tid))["next"] == []


async def test_stream_shows_interrupt_in_updates_and_values(client):
    tid = (await client.threads.create())["thread_id"]
    parts = [p async for p in client.runs.stream(tid, "approval", input={"log": []}, stream_mode=["values", "updates"])]
    updates = [p.data for p in parts if p.event == "updates"]
    assert "__interrupt__" in updates[-1]
    values = [p.data for p in parts if p.event == "values"]
    assert values[-1]["__interrupt__"][0]["value"] == {"question": "approve ask?"}


async def test_resume_by_interrupt_id_in_parallel_nodes(client):
    tid = (await client.threads.create())["thread_id"]
    result = await client.runs.wait(tid, "parallel_ask", input={"log": []})
    assert len(result["__interrupt__"]) == 2
    thread = await _interrupted(client, tid)
    assert len(thread["interrupts"]) == 2  # one entry per waiting task
    state = await client.threads.get_state(tid)
    assert sorted(state["next"]) == ["left", "right"]
    by_question = {i["value"]["question"]: i["id"] for i in result["__interrupt__"]}
    resume = {by_question["approve left?"]: "L", by_question["approve right?"]: "R"}
    result = await client.runs.wait(tid, "parallel_ask", command={"resume": resume})
    assert sorted(result["log"][:2]) == ["left", "right"] and result["log"][2] == "join"
    assert sorted(result["answers"]) == ["L", "R"]
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_interrupt_inside_subgraph(client):
    tid = (await client.threads.create())["thread_id"]
    result = await client.runs.wait(tid, "sub_ask", input={"log": []})
    assert result["log"] == ["before"]
    assert result["__interrupt__"][0]["value"] == {"question": "approve inner_ask?"}
    await _interrupted(client, tid)
    state = await client.threads.get_state(tid)
    assert state["next"] == ["sub"]
    result = await client.runs.wait(tid, "sub_ask", command={"resume": "ok"})
    # the subgraph returns its whole state, which the parent's reducer appends:
    # in-process LangGraph gives exactly this
    assert result["log"] == ["before", "before", "inner_ask", "after"]
    assert result["answers"] == ["ok"]


async def test_resume_with_update_and_goto_matches_in_process_langgraph(client):
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.types import Command

    from tests.graphs import hitl

    local = hitl.approval.builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "local"}}
    await local.ainvoke({"log": []}, config)
    await local.ainvoke(Command(update={"log": ["patched"]}, goto="act"), config)
    local_mid = await local.aget_state(config)
    await local.ainvoke(Command(resume="yes"), config)
    local_end = await local.aget_state(config)

    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, "approval", input={"log": []})
    await client.runs.wait(tid, "approval", command={"update": {"log": ["patched"]}, "goto": "act"})
    mid = await client.threads.get_state(tid)
    assert mid["values"] == local_mid.values and tuple(mid["next"]) == local_mid.next
    await client.runs.wait(tid, "approval", command={"resume": "yes"})
    end = await client.threads.get_state(tid)
    assert end["values"] == local_end.values and tuple(end["next"]) == local_end.next
    assert "act" in end["values"]["log"]


async def test_new_input_on_interrupted_thread_starts_over(client):
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, "approval", input={"log": []})
    # not busy: reject does not fire; the graph starts from the top (as in langgraph-api 0.16.7)
    result = await client.runs.wait(tid, "approval", input={"log": ["again"]}, multitask_strategy="reject")
    assert result["log"] == ["draft", "again", "draft"]
    assert "__interrupt__" in result


@pytest.mark.parametrize("where", ["compile", "run", "assistant"])
async def test_static_breakpoint_then_continue(client, where):
    tid = (await client.threads.create())["thread_id"]
    if where == "compile":
        graph, kwargs = "breakpoints", {}
    elif where == "run":
        graph, kwargs = "steps", {"interrupt_before": ["two"]}
    else:
        assistant = await client.assistants.create("steps", config={"interrupt_before": ["two"]})
        graph, kwargs = assistant["assistant_id"], {}
    result = await client.runs.wait(tid, graph, input={"log": []}, **kwargs)
    assert result == {"log": ["one"], "answers": []}  # no __interrupt__ for a static breakpoint
    thread = await _interrupted(client, tid)
    assert thread["interrupts"] == {}
    assert (await client.threads.get_state(tid))["next"] == ["two"]
    result = await client.runs.wait(tid, graph, input=None)
    assert result == {"log": ["one", "two", "three"], "answers": []}
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_interrupt_after_per_run(client):
    tid = (await client.threads.create())["thread_id"]
    result = await client.runs.wait(tid, "steps", input={"log": []}, interrupt_after=["one"])
    assert result == {"log": ["one"], "answers": []}
    assert (await client.threads.get_state(tid))["next"] == ["two"]


# ---------------------------------------------------------------- through Temporal


async def _waiting_workflow(temporal_client, tid: str):
    """The thread's workflow, once Temporal lists it as running and interrupted."""
    query = f"WorkflowId = 'thread-{tid}' AND ExecutionStatus = 'Running' AND EvergraphStatus = 'interrupted'"

    async def listed():
        return [w async for w in temporal_client.list_workflows(query)]

    [wf] = await wait_for(listed, timeout=30)
    return wf


async def test_waiting_thread_is_a_running_workflow_with_queryable_interrupts(client, temporal_client):
    tid = (await client.threads.create())["thread_id"]
    result = await client.runs.wait(tid, "approval", input={"log": []})
    wf = await _waiting_workflow(temporal_client, tid)
    assert wf.workflow_type == "ThreadWorkflow"
    handle = temporal_client.get_workflow_handle(f"thread-{tid}")
    interrupts = await handle.query("interrupts")
    [[pending]] = interrupts.values()
    assert pending["id"] == result["__interrupt__"][0]["id"]
    assert pending["value"] == {"question": "approve ask?"}
    assert await handle.query("queue") == [] and await handle.query("current") is None


async def test_resume_through_temporal_signal(client, temporal_client):
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, "approval", input={"log": []})
    await _waiting_workflow(temporal_client, tid)
    await temporal_client.get_workflow_handle(f"thread-{tid}").signal("resume", {"resume": "approved by ops"})

    async def resumed():
        runs = await client.runs.list(tid)
        return runs if len(runs) == 2 and runs[0]["status"] == "success" else None

    runs = await wait_for(resumed, timeout=30)
    assert runs[0]["kwargs"]["command"] == {"resume": "approved by ops"}
    assert runs[0]["metadata"]["source"] == "signal"
    state = await client.threads.get_state(tid)
    assert state["values"] == {"log": ["draft", "ask", "act"], "answers": ["approved by ops"]}
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_resume_with_the_temporal_cli(client, temporal_client, temporal_server):
    temporal = temporal_cli()
    tid = (await client.threads.create())["thread_id"]
    result = await client.runs.wait(tid, "approval", input={"log": []})
    await _waiting_workflow(temporal_client, tid)
    intr_id = result["__interrupt__"][0]["id"]
    proc = await asyncio.create_subprocess_exec(
        temporal, "workflow", "signal", "--address", temporal_server.address,
        "--workflow-id", f"thread-{tid}", "--name", "resume", "--input", json.dumps({"resume": {intr_id: "cli"}}),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()

    async def done():
        runs = await client.runs.list(tid)
        return len(runs) == 2 and all(r["status"] == "success" for r in runs)

    await wait_for(done, timeout=30)
    state = await client.threads.get_state(tid)
    assert state["next"] == [] and state["values"]["answers"] == ["cli"]


async def test_bare_signal_value_means_resume(client, temporal_client):
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, "approval", input={"log": []})
    await _waiting_workflow(temporal_client, tid)
    await temporal_client.get_workflow_handle(f"thread-{tid}").signal("resume", "yes")

    async def done():
        state = await client.threads.get_state(tid)
        return state if state["next"] == [] else None

    assert (await wait_for(done, timeout=30))["values"]["answers"] == ["yes"]


async def test_resume_with_unknown_interrupt_id_is_refused(client):
    tid = (await client.threads.create())["thread_id"]
    result = await client.runs.wait(tid, "approval", input={"log": []})
    before = await client.threads.get_history(tid)
    unknown = "0123456789abcdef0123456789abcdef"
    with pytest.raises(Exception) as err:
        await client.runs.create(tid, "approval", command={"resume": {unknown: "x"}})
    assert err.value.response.status_code == 400
    detail = err.value.response.json()["detail"]
    assert unknown in detail and result["__interrupt__"][0]["id"] in detail
    assert len(await client.runs.list(tid)) == 1  # nothing recorded
    assert await client.threads.get_history(tid) == before
    assert (await client.threads.get(tid))["status"] == "interrupted"
