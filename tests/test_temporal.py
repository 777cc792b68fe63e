"""What an operator sees in Temporal: readable workflow ids, node names as activity
types, search attributes, and histories that hold descriptors, not state."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus

from tests.conftest import wait_for


async def test_run_is_a_workflow_with_node_activities(client, temporal_client, task_queue):
    thread = await client.threads.create()
    tid = thread["thread_id"]
    run = await client.runs.create(tid, "parallel", input={"log": []})
    await client.runs.join(tid, run["run_id"])
    handle = temporal_client.get_workflow_handle(f"run-{run['run_id']}")
    outcome = await handle.result()  # the run's status is recorded just before the workflow closes
    assert outcome["status"] == "success"
    desc = await handle.describe()
    assert desc.workflow_type == "RunWorkflow"
    assert desc.status == WorkflowExecutionStatus.COMPLETED
    assert desc.task_queue == task_queue
    assert desc.parent_id == f"thread-{tid}"
    attrs = {k.name: v for k, v in ((p.key, p.value) for p in desc.typed_search_attributes)}
    assert attrs["EvergraphThreadId"] == tid
    assert attrs["EvergraphRunId"] == run["run_id"]
    assert attrs["EvergraphGraphId"] == "parallel"
    assert attrs["EvergraphAssistantId"] == run["assistant_id"]
    assert attrs["EvergraphStatus"] == "success"

    events = [e async for e in handle.fetch_history_events()]
    types = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert sorted(types) == ["parallel.a", "parallel.b", "parallel.c", "parallel.d"]
    # b and c run in the same superstep: both scheduled before either completed
    order = [
        (e.event_type, e.activity_task_scheduled_event_attributes.activity_type.name)
        for e in events
        if e.event_type in (EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
    ]
    i_b = order.index((EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, "parallel.b"))
    i_c = order.index((EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, "parallel.c"))
    first_completion_after = [k for k, (t, _) in enumerate(order) if t == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED and k > min(i_b, i_c)]
    assert max(i_b, i_c) < first_completion_after[0]


async def test_workflows_are_found_by_search_attributes(client, temporal_client):
    thread = await client.threads.create()
    tid = thread["thread_id"]
    await client.runs.wait(tid, "chain", input={"log": []})
    await client.runs.wait(tid, "chain", input={"log": []})

    async def listed():
        found = [w async for w in temporal_client.list_workflows(f"EvergraphThreadId = '{tid}'")]
        return found if len(found) >= 3 else None

    found = await wait_for(listed, timeout=30, interval=0.2)
    kinds = sorted(w.workflow_type for w in found)
    assert kinds == ["RunWorkflow", "RunWorkflow", "ThreadWorkflow"]


async def test_history_carries_descriptors_not_state(client, temporal_client):
    """A long conversation's state must not grow workflow payloads: it lives in the
    checkpointer (docs/architecture.md, "One run's path")."""
    thread = await client.threads.create()
    tid = thread["thread_id"]
    big = ["x" * 1000] * 200  # 200 KB of state already on the thread
    await client.runs.wait(tid, "chain", input={"log": big})
    run = await client.runs.create(tid, "chain", input={"log": []})
    await client.runs.join(tid, run["run_id"])
    handle = temporal_client.get_workflow_handle(f"run-{run['run_id']}")
    sizes = [e.ByteSize() async for e in handle.fetch_history_events()]
    assert max(sizes) < 20_000, max(sizes)


async def test_real_histories_replay_in_the_workflow_sandbox(client, temporal_client):
    """Workers run workflows unsandboxed by default (less CPU per activation), so the
    sandbox's checks run here instead: real histories of a thread and of its run
    replay in Temporal's sandbox without nondeterminism or sandbox violations."""
    from temporalio.worker import Replayer

    from evergraph.adapter.process.temporal import DATA_CONVERTER, sandboxed_runner
    from evergraph.workflows.run import RunWorkflow
    from evergraph.workflows.thread import ThreadWorkflow

    thread = await client.threads.create()
    tid = thread["thread_id"]
    run = await client.runs.create(tid, "parallel", input={"log": []})
    await client.runs.join(tid, run["run_id"])
    run_handle = temporal_client.get_workflow_handle(f"run-{run['run_id']}")
    assert (await run_handle.result())["status"] == "success"

    async def thread_saw_run_end():
        events = [e async for e in temporal_client.get_workflow_handle(f"thread-{tid}").fetch_history_events()]
        return any(e.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED for e in events)

    await wait_for(thread_saw_run_end, timeout=30, interval=0.1)
    replayer = Replayer(
        workflows=[ThreadWorkflow, RunWorkflow], workflow_runner=sandboxed_runner(), data_converter=DATA_CONVERTER
    )
    for workflow_id in (f"run-{run['run_id']}", f"thread-{tid}"):
        history = await temporal_client.get_workflow_handle(workflow_id).fetch_history()
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, (workflow_id, result.replay_failure)
