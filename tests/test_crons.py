"""Crons (langgraph-api 0.16.7's ``/runs/crons`` API) as Temporal Schedules, through
the official ``langgraph_sdk`` client, with the Temporal client acting as a person in
the Temporal UI (pause, unpause, trigger, a second-level spec)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from langgraph_sdk.errors import NotFoundError, UnprocessableEntityError
from temporalio.client import ScheduleIntervalSpec, ScheduleRange, ScheduleSpec, ScheduleUpdate
from temporalio.service import RPCError, RPCStatusCode

from evergraph.adapter.ids import system_assistant_id
from tests.conftest import wait_for

NEVER = "0 0 1 1 *"  # once a year: these crons must not tick during the test
BAD_SCHEDULE = (
    "Invalid cron schedule: 'not a cron'. Reason: Invalid cron schedule. Ensure the schedule uses the standard "
    "cron format (minute hour day_of_month month day_of_week). Example: '*/5 * * * *' for every 5 minutes."
)


@pytest.fixture
async def assistant(client):
    """A fresh assistant of the ``chain`` graph, so searches by it see only this
    test's crons."""
    return await client.assistants.create("chain")


async def _schedule(temporal_client, cron_id: str):
    handle = temporal_client.get_schedule_handle(f"cron-{cron_id}")
    return handle, await handle.describe()


async def _fired_run(temporal_client, cron_id: str, before: int = 0) -> dict | None:
    """Wait for the schedule's next action after ``before`` earlier ones; returns the
    CronWorkflow's result (``{"run_id", "thread_id"}`` or None)."""
    handle = temporal_client.get_schedule_handle(f"cron-{cron_id}")

    async def started():
        actions = (await handle.describe()).info.recent_actions
        return actions[before] if len(actions) > before else None

    action = await wait_for(started, timeout=30, interval=0.2)
    return await temporal_client.get_workflow_handle(action.action.workflow_id).result()


async def test_create_get_search_count_update_delete(client, http, temporal_client, assistant):
    aid = assistant["assistant_id"]
    thread = await client.threads.create()
    tid = thread["thread_id"]
    stateless = await client.crons.create(aid, schedule="*/5 * * * *", input={"n": 1}, metadata={"c": 1})
    on_thread = await client.crons.create_for_thread(tid, "chain", schedule="0 9 * * *", input={"n": 2},
                                                     timezone="Asia/Kolkata")
    try:
        cid = stateless["cron_id"]
        assert uuid.UUID(cid).version == 7
        assert list(stateless) == [
            "cron_id", "assistant_id", "thread_id", "user_id", "end_time", "schedule", "timezone", "payload",
            "next_run_date", "metadata", "on_run_completed", "enabled", "created_at", "updated_at",
        ]
        assert stateless["assistant_id"] == aid and stateless["thread_id"] is None
        assert stateless["on_run_completed"] == "delete" and stateless["enabled"] is True
        assert stateless["metadata"] == {"c": 1} and stateless["user_id"] == ""
        assert stateless["payload"] == {
            "schedule": "*/5 * * * *", "input": {"n": 1}, "metadata": {"c": 1}, "assistant_id": aid,
            "config": {"configurable": {"cron_id": cid}},
        }
        nxt = datetime.fromisoformat(stateless["next_run_date"])
        assert nxt.minute % 5 == 0 and nxt.second == 0 and nxt > datetime.now(timezone.utc)
        # the graph id resolves to the system assistant; 09:00 in Kolkata is 03:30 UTC
        assert on_thread["thread_id"] == tid and on_thread["on_run_completed"] is None
        assert on_thread["assistant_id"] == system_assistant_id("chain")
        assert on_thread["timezone"] == "Asia/Kolkata"
        assert on_thread["next_run_date"].endswith("T03:30:00+00:00")

        # each cron is a Temporal Schedule, findable by its search attributes
        _, desc = await _schedule(temporal_client, cid)
        assert desc.schedule.spec.time_zone_name in (None, "")
        assert not desc.schedule.state.paused
        assert desc.schedule.action.workflow == "CronWorkflow"
        _, desc = await _schedule(temporal_client, on_thread["cron_id"])
        assert desc.schedule.spec.time_zone_name == "Asia/Kolkata"

        got = http.get(f"/runs/crons/{cid}")
        assert got.status_code == 200 and got.json() == stateless

        found = await client.crons.search(assistant_id=aid)
        assert [c["cron_id"] for c in found] == [cid]
        assert found[0] == stateless
        by_thread = await client.crons.search(thread_id=tid, select=["cron_id", "schedule", "next_run_date"])
        assert by_thread == [{k: on_thread[k] for k in ("cron_id", "schedule", "next_run_date")}]
        assert await client.crons.count(assistant_id=aid) == 1
        assert await client.crons.count(thread_id=tid) == 1
        assert await client.crons.count(metadata={"c": 1}) >= 1
        assert await client.crons.count(assistant_id=aid, metadata={"c": 2}) == 0
        page = http.post("/runs/crons/search", json={"assistant_id": aid, "limit": 10, "offset": 0})
        assert page.headers["x-pagination-total"] == "1"
        with pytest.raises(UnprocessableEntityError) as err:
            await client.crons.search(assistant_id="chain")
        assert err.value.response.json() == {"detail": "Invalid assistant ID: must be a UUID"}

        # update: schedule and enabled reach the schedule; payload takes the fields
        updated = await client.crons.update(cid, schedule="*/2 * * * *", enabled=False)
        assert updated["schedule"] == "*/2 * * * *" and updated["enabled"] is False
        assert updated["payload"]["schedule"] == "*/2 * * * *" and updated["payload"]["enabled"] is False
        assert updated["created_at"] == stateless["created_at"] and updated["updated_at"] > stateless["updated_at"]
        _, desc = await _schedule(temporal_client, cid)
        assert desc.schedule.state.paused
        assert [c.minute for c in desc.schedule.spec.calendars] == [(ScheduleRange(0, 59, 2),)]
        assert await client.crons.search(assistant_id=aid, enabled=True) == []
        assert [c["cron_id"] for c in await client.crons.search(assistant_id=aid, enabled=False)] == [cid]
        updated = await client.crons.update(cid, enabled=True, end_time=datetime.now(timezone.utc) - timedelta(hours=1))
        assert updated["enabled"] is True and updated["next_run_date"] is None and updated["end_time"]
        _, desc = await _schedule(temporal_client, cid)
        assert not desc.schedule.state.paused and desc.schedule.spec.end_at is not None
        updated = await client.crons.update(cid, end_time=None, timezone="Europe/Paris")
        assert updated["end_time"] is None and updated["timezone"] == "Europe/Paris" and updated["next_run_date"]
        _, desc = await _schedule(temporal_client, cid)
        assert desc.schedule.spec.end_at is None and desc.schedule.spec.time_zone_name == "Europe/Paris"
    finally:
        for cron in (stateless, on_thread):
            http.delete(f"/runs/crons/{cron['cron_id']}")

    # deleted: the schedule is gone, a second delete is 404
    with pytest.raises(RPCError) as gone:
        await _schedule(temporal_client, cid)
    assert gone.value.status == RPCStatusCode.NOT_FOUND
    again = http.delete(f"/runs/crons/{cid}")
    assert again.status_code == 404 and again.json() == {"detail": "Not Found"}
    assert http.get(f"/runs/crons/{cid}").status_code == 404
    with pytest.raises(NotFoundError):
        await client.crons.update(cid, enabled=False)
    assert await client.crons.count(assistant_id=aid) == 0
    assert http.get("/runs/crons/not-a-uuid").json() == {"detail": "Invalid cron ID: must be a UUID"}


async def test_invalid_schedule_and_timezone_create_nothing(client, http, temporal_client, assistant):
    aid = assistant["assistant_id"]
    bad = http.post("/runs/crons", json={"schedule": "not a cron", "assistant_id": aid})
    assert bad.status_code == 422 and bad.json() == {"detail": BAD_SCHEDULE}
    # five fields, but out of range: Temporal refuses the spec, same answer
    bad = http.post("/runs/crons", json={"schedule": "61 * * * *", "assistant_id": aid})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("Invalid cron schedule: '61 * * * *'.")
    bad = http.post("/runs/crons", json={"schedule": "* * * * *", "assistant_id": aid, "timezone": "Mars/Olympus"})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("Invalid timezone: 'Mars/Olympus'")
    thread = await client.threads.create()
    with pytest.raises(UnprocessableEntityError):
        await client.crons.create_for_thread(thread["thread_id"], aid, schedule="* * * *")
    assert await client.crons.count(assistant_id=aid) == 0
    listed = [s async for s in await temporal_client.list_schedules(query=f"EvergraphAssistantId = '{aid}'")]
    assert listed == []

    # an invalid update changes nothing
    cron = await client.crons.create(aid, schedule=NEVER)
    try:
        bad = http.patch(f"/runs/crons/{cron['cron_id']}", json={"schedule": "not a cron", "enabled": False})
        assert bad.status_code == 422 and bad.json() == {"detail": BAD_SCHEDULE}
        bad = http.patch(f"/runs/crons/{cron['cron_id']}", json={"timezone": "Nowhere/Zone"})
        assert bad.status_code == 422
        assert http.get(f"/runs/crons/{cron['cron_id']}").json() == cron
        _, desc = await _schedule(temporal_client, cron["cron_id"])
        assert not desc.schedule.state.paused
    finally:
        await client.crons.delete(cron["cron_id"])
    missing = http.post(f"/threads/{uuid.uuid4()}/runs/crons", json={"schedule": NEVER, "assistant_id": aid})
    assert missing.status_code == 404


async def test_cron_fires_within_seconds_and_creates_a_run(client, temporal_client, assistant):
    """The API's 5-field schedule is a Temporal spec; a person (or this test) can give
    the schedule a second-level spec in Temporal, and it fires an ordinary run."""
    thread = await client.threads.create()
    tid = thread["thread_id"]
    cron = await client.crons.create_for_thread(tid, assistant["assistant_id"], schedule=NEVER, input={"n": 10},
                                                metadata={"from": "cron"})
    cid = cron["cron_id"]
    handle = temporal_client.get_schedule_handle(f"cron-{cid}")
    try:
        assert await client.runs.list(tid) == []

        def every_second(inp):
            schedule = inp.description.schedule
            schedule.spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=1))])
            return ScheduleUpdate(schedule=schedule)

        await handle.update(every_second)
        runs = await wait_for(lambda: client.runs.list(tid), timeout=30, interval=0.2)
        await handle.pause(note="test done")
        run = runs[-1]
        assert run["kwargs"]["config"]["configurable"]["cron_id"] == cid
        assert run["kwargs"]["input"] == {"n": 10}
        assert run["metadata"]["from"] == "cron" and run["assistant_id"] == assistant["assistant_id"]
        assert run["multitask_strategy"] == "enqueue"
        await client.runs.join(tid, run["run_id"])
        assert (await client.runs.get(tid, run["run_id"]))["status"] == "success"
        state = await client.threads.get_state(tid)
        assert state["values"]["n"] >= 13  # 10 + 3 steps, at least once
        # the API sees the pause made in Temporal
        assert (await client.crons.search(thread_id=tid))[0]["enabled"] is False
    finally:
        await client.crons.delete(cid)


async def test_pause_unpause_and_trigger_in_temporal(client, http, temporal_client, assistant):
    thread = await client.threads.create()
    tid = thread["thread_id"]
    cron = await client.crons.create_for_thread(tid, assistant["assistant_id"], schedule=NEVER, input={"n": 0})
    cid = cron["cron_id"]
    handle = temporal_client.get_schedule_handle(f"cron-{cid}")
    try:
        await handle.pause(note="paused in the UI")
        assert http.get(f"/runs/crons/{cid}").json()["enabled"] is False
        assert (await client.crons.search(thread_id=tid, enabled=False))[0]["cron_id"] == cid
        await handle.unpause()
        assert http.get(f"/runs/crons/{cid}").json()["enabled"] is True
        # enabled through the API pauses / unpauses the schedule
        await client.crons.update(cid, enabled=False)
        assert (await handle.describe()).schedule.state.paused
        await client.crons.update(cid, enabled=True)
        assert not (await handle.describe()).schedule.state.paused

        await handle.trigger()
        fired = await _fired_run(temporal_client, cid)
        assert fired["thread_id"] == tid
        run = await client.runs.get(tid, fired["run_id"])
        assert run["kwargs"]["config"]["configurable"]["cron_id"] == cid
        await client.runs.join(tid, fired["run_id"])
        assert (await client.runs.get(tid, fired["run_id"]))["status"] == "success"

        # the CronWorkflow's real history replays in Temporal's workflow sandbox
        from temporalio.worker import Replayer

        from evergraph.adapter.process.temporal import DATA_CONVERTER, sandboxed_runner
        from evergraph.workflows.cron import CronWorkflow

        action = (await handle.describe()).info.recent_actions[0].action
        history = await temporal_client.get_workflow_handle(action.workflow_id).fetch_history()
        replayer = Replayer(workflows=[CronWorkflow], workflow_runner=sandboxed_runner(), data_converter=DATA_CONVERTER)
        await replayer.replay_workflow(history)
    finally:
        await client.crons.delete(cid)


async def test_multitask_strategy_on_a_busy_thread(client, temporal_client, assistant):
    thread = await client.threads.create()
    tid = thread["thread_id"]
    busy = await client.runs.create(tid, "slow", input={"sleep": 30})
    cron = await client.crons.create_for_thread(tid, assistant["assistant_id"], schedule=NEVER,
                                                multitask_strategy="reject")
    cid = cron["cron_id"]
    try:
        assert cron["payload"]["multitask_strategy"] == "reject"
        await temporal_client.get_schedule_handle(f"cron-{cid}").trigger()
        assert await _fired_run(temporal_client, cid) is None
        assert [r["run_id"] for r in await client.runs.list(tid)] == [busy["run_id"]]
        # with enqueue (the default), the tick's run queues behind the busy one
        queued = await client.crons.create_for_thread(tid, assistant["assistant_id"], schedule=NEVER)
        try:
            await temporal_client.get_schedule_handle(f"cron-{queued['cron_id']}").trigger()
            fired = await _fired_run(temporal_client, queued["cron_id"])
            run = await client.runs.get(tid, fired["run_id"])
            assert run["status"] == "pending" and run["multitask_strategy"] == "enqueue"
            assert run["kwargs"]["config"]["configurable"]["cron_id"] == queued["cron_id"]
        finally:
            await client.crons.delete(queued["cron_id"])
    finally:
        await client.crons.delete(cid)
        await client.runs.cancel(tid, busy["run_id"])


@pytest.mark.parametrize("on_run_completed", ["keep", "delete"])
async def test_stateless_cron_on_run_completed(client, temporal_client, assistant, on_run_completed):
    cron = await client.crons.create(assistant["assistant_id"], schedule=NEVER, input={"n": 1},
                                     on_run_completed=on_run_completed)
    cid = cron["cron_id"]
    try:
        assert cron["on_run_completed"] == on_run_completed
        await temporal_client.get_schedule_handle(f"cron-{cid}").trigger()
        fired = await _fired_run(temporal_client, cid)
    finally:
        await client.crons.delete(cid)
    tid = fired["thread_id"]

    async def thread_gone():
        try:
            await client.threads.get(tid)
        except NotFoundError:
            return True
        return False

    if on_run_completed == "delete":
        await wait_for(thread_gone, timeout=30, interval=0.2)
    else:
        run = await client.runs.join(tid, fired["run_id"])
        assert run["n"] == 4
        got = await client.runs.get(tid, fired["run_id"])
        assert got["kwargs"]["config"]["configurable"]["cron_id"] == cid and got["status"] == "success"
        assert not await thread_gone()
        await client.threads.delete(tid)


def test_select_and_sort(sync_client, http):
    a = sync_client.assistants.create("chain")["assistant_id"]
    made = [sync_client.crons.create(a, schedule=s) for s in ("1 0 1 1 *", "2 0 1 1 *", "3 0 1 1 *")]
    try:
        asc = sync_client.crons.search(assistant_id=a, sort_by="created_at", sort_order="asc")
        assert [c["cron_id"] for c in asc] == [c["cron_id"] for c in made]
        desc = sync_client.crons.search(assistant_id=a)
        assert [c["cron_id"] for c in desc] == [c["cron_id"] for c in reversed(made)]
        page = http.post("/runs/crons/search", json={"assistant_id": a, "limit": 1, "offset": 1,
                                                      "sort_by": "cron_id", "sort_order": "asc", "select": ["cron_id"]})
        assert page.json() == [{"cron_id": made[1]["cron_id"]}] and page.headers["x-pagination-total"] == "3"
    finally:
        for c in made:
            sync_client.crons.delete(c["cron_id"])
    assert httpx.codes.NOT_FOUND == http.get(f"/runs/crons/{made[0]['cron_id']}").status_code


async def test_deleting_a_thread_deletes_its_crons(client, temporal_client, assistant):
    thread = await client.threads.create()
    cron = await client.crons.create_for_thread(thread["thread_id"], assistant["assistant_id"], schedule=NEVER)
    handle = temporal_client.get_schedule_handle(f"cron-{cron['cron_id']}")
    await client.threads.delete(thread["thread_id"])
    with pytest.raises(RPCError) as err:
        await handle.describe()
    assert err.value.status == RPCStatusCode.NOT_FOUND

