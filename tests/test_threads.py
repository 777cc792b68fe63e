"""Threads and thread state through the official SDK, compared with langgraph-api
0.16.7's answers: CRUD, search, copy, state and history, thread statuses."""

from __future__ import annotations

import uuid

import pytest
from langgraph_sdk.errors import BadRequestError, ConflictError, NotFoundError, UnprocessableEntityError

from evergraph.adapter.ids import system_assistant_id

THREAD_KEYS = {"thread_id", "created_at", "updated_at", "state_updated_at", "metadata", "status", "config", "values"}
STATE_KEYS = {
    "values", "next", "tasks", "metadata", "created_at", "checkpoint", "parent_checkpoint", "interrupts",
    "checkpoint_id", "parent_checkpoint_id",
}
#: the state of a thread that never ran, as langgraph-api 0.16.7 answers it
EMPTY_STATE = {
    "values": {},
    "next": [],
    "tasks": [],
    "metadata": None,
    "created_at": None,
    "checkpoint": None,
    "parent_checkpoint": None,
    "interrupts": [],
    "checkpoint_id": None,
    "parent_checkpoint_id": None,
}
CHAIN_INPUT = {"log": [], "n": 0}
CHAIN_DONE = {"log": ["step1", "step2", "step3"], "n": 3}


def _tag() -> str:
    return uuid.uuid4().hex


async def _run_chain(client, thread_id: str) -> dict:
    """One ``chain`` run on the thread, waited for; returns the Run."""
    run = await client.runs.create(thread_id, "chain", input=CHAIN_INPUT)
    await client.runs.join(thread_id, run["run_id"])
    return await client.runs.get(thread_id, run["run_id"])


# ------------------------------------------------------------------------------ create


async def test_create_fresh_thread(client):
    """A new thread is idle, has no values, and a UUIDv7 id (langgraph-api 0.16.7)."""
    thread = await client.threads.create(metadata={"purpose": "anchor"})
    assert set(thread) == THREAD_KEYS
    assert uuid.UUID(thread["thread_id"]).version == 7
    assert thread["metadata"] == {"purpose": "anchor"}
    assert (thread["status"], thread["config"], thread["values"]) == ("idle", {}, None)
    assert thread["created_at"] == thread["updated_at"] == thread["state_updated_at"]
    assert await client.threads.get(thread["thread_id"]) == thread


async def test_create_with_id_and_if_exists(client):
    """As in langgraph-api 0.16.7: a given id; a duplicate is 409 by default;
    ``do_nothing`` returns the existing thread unchanged."""
    thread_id = str(uuid.uuid4())
    created = await client.threads.create(thread_id=thread_id)
    assert created["thread_id"] == thread_id
    assert created["metadata"] == {}
    with pytest.raises(ConflictError) as err:
        await client.threads.create(thread_id=thread_id, metadata={"x": 1})
    assert err.value.body == {"detail": f"Thread with ID {thread_id} already exists"}
    same = await client.threads.create(thread_id=thread_id, metadata={"x": 1}, if_exists="do_nothing")
    assert same == created
    assert (await client.threads.get(thread_id))["metadata"] == {}


async def test_create_with_graph_id(client):
    """The SDK's ``graph_id=`` is merged into the metadata."""
    thread = await client.threads.create(metadata={"a": 1}, graph_id="chain")
    assert thread["metadata"] == {"a": 1, "graph_id": "chain"}
    assert (await client.threads.get(thread["thread_id"]))["metadata"] == {"a": 1, "graph_id": "chain"}


async def test_create_with_supersteps(client):
    """As in langgraph-api 0.16.7, supersteps pre-fill the state as if ``as_node`` ran; the thread
    waits at the next node (``interrupted``) and a run with no input continues it."""
    thread = await client.threads.create(
        graph_id="chain",
        supersteps=[{"updates": [{"values": {"log": ["prefilled"]}, "command": None, "as_node": "step1"}]}],
    )
    tid = thread["thread_id"]
    assert thread["status"] == "interrupted"
    assert thread["values"] == {"log": ["prefilled"]}
    assert thread["interrupts"] == {}
    assert thread["error"] is None
    state = await client.threads.get_state(tid)
    assert state["values"] == {"log": ["prefilled"]}
    assert state["next"] == ["step2"]
    assert [t["name"] for t in state["tasks"]] == ["step2"]
    assert state["metadata"]["source"] == "update"
    assert state["metadata"]["step"] == 0
    assert state["parent_checkpoint"] is None

    result = await client.runs.wait(tid, "chain", input=None)
    assert result == {"log": ["prefilled", "step2", "step3"], "n": 2}
    assert (await client.threads.get(tid))["status"] == "idle"


# --------------------------------------------------------------------------------- get


async def test_get_unknown_thread_is_404(client):
    """An unknown thread is 404 ``Thread with ID <id> not found`` on get, state and
    history, as langgraph-api 0.16.7 answers."""
    missing = str(uuid.uuid4())
    with pytest.raises(NotFoundError) as err:
        await client.threads.get(missing)
    assert err.value.body == {"detail": f"Thread with ID {missing} not found"}
    for call in (client.threads.get_state(missing), client.threads.get_history(missing)):
        with pytest.raises(NotFoundError) as err:
            await call
        assert err.value.body == {"detail": f"Thread with ID {missing} not found"}


# ------------------------------------------------------------------------ update, delete


async def test_update_merges_metadata(client, http):
    """PATCH merges; ``return_minimal`` answers 204 with no body (langgraph-api 0.16.7)."""
    thread = await client.threads.create(metadata={"purpose": "anchor"})
    tid = thread["thread_id"]
    updated = await client.threads.update(tid, metadata={"extra": "y"})
    assert updated["metadata"] == {"purpose": "anchor", "extra": "y"}
    assert updated["created_at"] == thread["created_at"]
    assert updated["state_updated_at"] == thread["state_updated_at"]
    assert updated["updated_at"] > thread["updated_at"]
    assert await client.threads.update(tid, metadata={"extra2": "z"}, return_minimal=True) is None
    r = http.patch(f"/threads/{tid}", json={"metadata": {"purpose": "changed"}}, headers={"Prefer": "return=minimal"})
    assert r.status_code == 204 and r.content == b""
    got = await client.threads.get(tid)
    assert got["metadata"] == {"purpose": "changed", "extra": "y", "extra2": "z"}


async def test_update_unknown_thread_is_404(client):
    missing = str(uuid.uuid4())
    with pytest.raises(NotFoundError) as err:
        await client.threads.update(missing, metadata={"a": 1})
    assert err.value.body == {"detail": f"Thread with ID {missing} not found"}


async def test_delete(client, http):
    """204, then 404 on get and on a second delete, as in langgraph-api 0.16.7; the
    runs and state go with it."""
    thread = await client.threads.create()
    tid = thread["thread_id"]
    await _run_chain(client, tid)
    r = http.delete(f"/threads/{tid}")
    assert r.status_code == 204 and r.content == b""
    for call in (
        client.threads.get(tid),
        client.threads.get_state(tid),
        client.runs.list(tid),
        client.threads.delete(tid),
    ):
        with pytest.raises(NotFoundError) as err:
            await call
        assert err.value.body == {"detail": f"Thread with ID {tid} not found"}


async def test_delete_through_the_sdk(client):
    thread = await client.threads.create()
    assert await client.threads.delete(thread["thread_id"]) is None
    with pytest.raises(NotFoundError):
        await client.threads.get(thread["thread_id"])


# ----------------------------------------------------------------------- search, count


async def test_search_and_count(client, http):
    """Metadata/ids/status filters, paging, sorting, select, as langgraph-api 0.16.7
    serves them."""
    tag = _tag()
    made = [await client.threads.create(metadata={"t": tag, "i": i}) for i in range(3)]
    ids = [t["thread_id"] for t in made]

    found = await client.threads.search(metadata={"t": tag})
    assert sorted(t["thread_id"] for t in found) == sorted(ids)
    assert all(set(t) == THREAD_KEYS for t in found)
    assert [t["thread_id"] for t in await client.threads.search(metadata={"t": tag, "i": 1})] == [ids[1]]
    assert await client.threads.search(metadata={"t": "no-such-tag"}) == []

    asc = await client.threads.search(metadata={"t": tag}, sort_by="created_at", sort_order="asc")
    assert [t["thread_id"] for t in asc] == ids
    desc = await client.threads.search(metadata={"t": tag}, sort_by="created_at", sort_order="desc")
    assert [t["thread_id"] for t in desc] == ids[::-1]
    by_id = await client.threads.search(metadata={"t": tag}, sort_by="thread_id", sort_order="asc")
    assert [t["thread_id"] for t in by_id] == sorted(ids)

    page = await client.threads.search(metadata={"t": tag}, sort_by="created_at", sort_order="asc", limit=2)
    assert [t["thread_id"] for t in page] == ids[:2]
    rest = await client.threads.search(metadata={"t": tag}, sort_by="created_at", sort_order="asc", limit=2, offset=2)
    assert [t["thread_id"] for t in rest] == ids[2:]
    r = http.post(
        "/threads/search",
        json={"metadata": {"t": tag}, "limit": 2, "offset": 0, "sort_by": "created_at", "sort_order": "asc"},
    )
    assert r.headers["x-pagination-next"] == "2"
    r = http.post("/threads/search", json={"metadata": {"t": tag}, "limit": 2, "offset": 2})
    assert "x-pagination-next" not in r.headers

    selected = await client.threads.search(
        ids=[ids[0], ids[2]], select=["thread_id", "status"], sort_by="created_at", sort_order="asc"
    )
    assert selected == [{"thread_id": ids[0], "status": "idle"}, {"thread_id": ids[2], "status": "idle"}]

    assert len(await client.threads.search(metadata={"t": tag}, status="idle")) == 3
    assert await client.threads.search(metadata={"t": tag}, status="busy") == []

    assert await client.threads.count(metadata={"t": tag}) == 3
    assert await client.threads.count(metadata={"t": tag}, status="idle") == 3
    assert await client.threads.count(metadata={"t": tag}, status="error") == 0
    await client.threads.create(metadata={"t": tag, "i": 3})
    assert await client.threads.count(metadata={"t": tag}) == 4
    assert await client.threads.count() >= 4


async def test_search_by_values(client):
    tid = (await client.threads.create())["thread_id"]
    await _run_chain(client, tid)
    found = await client.threads.search(ids=[tid], values={"n": 3})
    assert [t["thread_id"] for t in found] == [tid]
    assert await client.threads.search(ids=[tid], values={"n": 4}) == []


# --------------------------------------------------------------------------------- copy


async def test_copy_fresh_thread(client):
    """A new uuid, the metadata copied, no ``values`` key in the answer, as
    langgraph-api 0.16.7 answers a copy."""
    source = await client.threads.create(metadata={"purpose": "anchor", "x": [1, 2]})
    copied = await client.threads.copy(source["thread_id"])
    assert copied["thread_id"] != source["thread_id"]
    assert uuid.UUID(copied["thread_id"])
    assert copied["metadata"] == source["metadata"]
    assert (copied["status"], copied["config"]) == ("idle", {})
    assert "values" not in copied
    assert await client.threads.get_state(copied["thread_id"]) == EMPTY_STATE


async def test_copy_after_a_run_copies_the_state(client):
    source = await client.threads.create(metadata={"purpose": "copy"})
    sid = source["thread_id"]
    await _run_chain(client, sid)
    copied = await client.threads.copy(sid)
    cid = copied["thread_id"]
    assert copied["metadata"] == (await client.threads.get(sid))["metadata"]
    assert copied["metadata"]["graph_id"] == "chain"

    state = await client.threads.get_state(cid)
    assert state["values"] == CHAIN_DONE
    assert state["next"] == []
    assert state["checkpoint"]["thread_id"] == cid
    source_history = await client.threads.get_history(sid)
    copy_history = await client.threads.get_history(cid)
    assert [h["values"] for h in copy_history] == [h["values"] for h in source_history]
    assert [h["metadata"]["step"] for h in copy_history] == [h["metadata"]["step"] for h in source_history]
    assert (await client.threads.get(cid))["values"] == CHAIN_DONE

    # the copy goes its own way
    assert (await client.runs.wait(cid, "chain", input={"log": ["again"]}))["n"] == 6
    assert (await client.threads.get_state(sid))["values"] == CHAIN_DONE


async def test_copy_unknown_thread_is_404(client):
    missing = str(uuid.uuid4())
    with pytest.raises(NotFoundError) as err:
        await client.threads.copy(missing)
    assert err.value.body == {"detail": f"Thread with ID {missing} not found"}


# -------------------------------------------------------------------------------- state


async def test_state_of_a_fresh_thread(client):
    """The empty state and an empty history of a thread that never ran."""
    tid = (await client.threads.create())["thread_id"]
    assert await client.threads.get_state(tid) == EMPTY_STATE
    assert await client.threads.get_history(tid) == []


async def test_state_and_history_after_a_run(client, http):
    """The final state, then the history newest first, as langgraph-api 0.16.7 answers."""
    tid = (await client.threads.create())["thread_id"]
    run = await _run_chain(client, tid)
    assert run["status"] == "success"

    state = await client.threads.get_state(tid)
    assert set(state) == STATE_KEYS
    assert state["values"] == CHAIN_DONE
    assert state["next"] == [] and state["tasks"] == [] and state["interrupts"] == []
    meta = state["metadata"]
    assert meta["source"] == "loop"
    assert meta["step"] == 3
    assert meta["parents"] == {}
    assert meta["graph_id"] == "chain"
    assert meta["assistant_id"] == system_assistant_id("chain")
    assert meta["run_id"] == run["run_id"]
    assert state["checkpoint"] == {"checkpoint_id": state["checkpoint_id"], "thread_id": tid, "checkpoint_ns": ""}
    assert state["parent_checkpoint"] == {
        "checkpoint_id": state["parent_checkpoint_id"], "thread_id": tid, "checkpoint_ns": "",
    }
    assert state["checkpoint_id"] != state["parent_checkpoint_id"]
    assert isinstance(state["created_at"], str)

    thread = await client.threads.get(tid)
    assert thread["values"] == CHAIN_DONE
    assert thread["status"] == "idle"
    assert thread["metadata"]["graph_id"] == "chain"
    assert thread["metadata"]["assistant_id"] == system_assistant_id("chain")
    # as in langgraph-api 0.16.7, after the first run a thread also carries interrupts and error
    assert (thread["interrupts"], thread["error"]) == ({}, None)

    history = await client.threads.get_history(tid)
    assert [(h["metadata"]["step"], h["metadata"]["source"], h["next"]) for h in history] == [
        (3, "loop", []),
        (2, "loop", ["step3"]),
        (1, "loop", ["step2"]),
        (0, "loop", ["step1"]),
        (-1, "input", ["__start__"]),
    ]
    assert all(set(h) == STATE_KEYS for h in history)
    assert history[0]["checkpoint_id"] == state["checkpoint_id"]
    for newer, older in zip(history, history[1:]):
        assert newer["parent_checkpoint_id"] == older["checkpoint_id"]
    # the input checkpoint holds the input as its __start__ task's result
    first = history[-1]
    assert first["parent_checkpoint"] is None and first["values"] == {"log": []}
    assert [(t["name"], t["path"], t["result"]) for t in first["tasks"]] == [
        ("__start__", ["__pregel_pull", "__start__"], CHAIN_INPUT)
    ]
    assert history[1]["values"] == {"log": ["step1", "step2"], "n": 2}

    limited = await client.threads.get_history(tid, limit=2)
    assert [h["checkpoint_id"] for h in limited] == [h["checkpoint_id"] for h in history[:2]]

    # the GET form
    r = http.get(f"/threads/{tid}/history", params={"limit": 2})
    assert r.status_code == 200
    assert [h["checkpoint_id"] for h in r.json()] == [h["checkpoint_id"] for h in history[:2]]

    inputs = await client.threads.get_history(tid, metadata={"source": "input"})
    assert [h["checkpoint_id"] for h in inputs] == [history[-1]["checkpoint_id"]]

    pivot = history[2]["checkpoint"]
    before = await client.threads.get_history(tid, before={"configurable": pivot})
    assert [h["checkpoint_id"] for h in before] == [h["checkpoint_id"] for h in history[3:]]
    before1 = await client.threads.get_history(tid, before={"configurable": pivot}, limit=1)
    assert [h["checkpoint_id"] for h in before1] == [history[3]["checkpoint_id"]]

    # the SDK's documented string form is rejected (422 in langgraph-api 0.16.7 too)
    with pytest.raises(UnprocessableEntityError):
        await client.threads.get_history(tid, before=pivot["checkpoint_id"])

    # an older checkpoint, by id (GET /state/{id}) and by object (POST /state/checkpoint)
    old = history[2]
    by_id = await client.threads.get_state(tid, checkpoint_id=old["checkpoint_id"])
    by_obj = await client.threads.get_state(tid, checkpoint={"checkpoint_id": old["checkpoint_id"]})
    for got in (by_id, by_obj):
        assert got["values"] == {"log": ["step1"], "n": 1}
        assert got["next"] == ["step2"]
        assert got["checkpoint_id"] == old["checkpoint_id"]
        assert got["parent_checkpoint_id"] == old["parent_checkpoint_id"]
        assert got["metadata"] == old["metadata"]


async def test_checkpoint_metadata_names_the_thread(client):
    """As in langgraph-api 0.16.7, every checkpoint's metadata carries ``thread_id`` (with the
    run's metadata for run checkpoints; ``graph_id`` and ``thread_id`` for updates)."""
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(tid, "chain", input=CHAIN_INPUT, metadata={"origin": "s09"})
    await client.runs.join(tid, run["run_id"])
    await client.threads.update_state(tid, {"n": 7}, as_node="step3")
    history = await client.threads.get_history(tid)
    update, loops = history[0], history[1:]
    assert {k: update["metadata"].get(k) for k in ("graph_id", "thread_id", "source", "step", "parents")} == {
        "graph_id": "chain", "thread_id": tid, "source": "update", "step": 4, "parents": {},
    }
    for h in loops:
        meta = h["metadata"]
        assert (meta["origin"], meta["run_id"], meta["graph_id"]) == ("s09", run["run_id"], "chain")
        assert meta.get("thread_id") == tid, meta


async def test_state_at_an_unknown_checkpoint_is_empty(client):
    """200 with empty values, not 404, as langgraph-api 0.16.7 answers."""
    tid = (await client.threads.create())["thread_id"]
    await _run_chain(client, tid)
    unknown = str(uuid.uuid4())
    state = await client.threads.get_state(tid, checkpoint_id=unknown)
    assert state["values"] == {}
    assert state["next"] == [] and state["tasks"] == [] and state["interrupts"] == []
    assert state["metadata"] is None and state["created_at"] is None
    assert state["checkpoint_id"] == unknown
    assert state["checkpoint"]["checkpoint_id"] == unknown
    assert state["checkpoint"]["thread_id"] == tid
    assert state["parent_checkpoint"] is None and state["parent_checkpoint_id"] is None


async def test_update_state(client):
    """As in langgraph-api 0.16.7, an update as a node adds a ``source: update`` checkpoint; an
    unknown node is 400 and writes nothing; ``checkpoint_id`` forks."""
    tid = (await client.threads.create())["thread_id"]
    await _run_chain(client, tid)
    before = await client.threads.get_state(tid)

    result = await client.threads.update_state(tid, {"log": ["manual"]}, as_node="step3")
    new_id = result["checkpoint_id"]
    ref = {"thread_id": tid, "checkpoint_ns": "", "checkpoint_id": new_id}
    assert result == {"checkpoint": ref, "configurable": ref, "checkpoint_id": new_id}

    state = await client.threads.get_state(tid)
    assert state["checkpoint_id"] == new_id
    assert state["parent_checkpoint_id"] == before["checkpoint_id"]
    assert state["values"] == {"log": ["step1", "step2", "step3", "manual"], "n": 3}
    assert state["next"] == []
    assert state["metadata"]["source"] == "update"
    assert state["metadata"]["step"] == 4
    thread = await client.threads.get(tid)
    assert thread["values"] == state["values"]
    assert thread["status"] == "idle"

    history_len = len(await client.threads.get_history(tid, limit=100))
    with pytest.raises(BadRequestError) as err:
        await client.threads.update_state(tid, {"log": ["x"]}, as_node="nope")
    assert err.value.body == {"detail": "Node nope does not exist"}
    assert len(await client.threads.get_history(tid, limit=100)) == history_len
    assert (await client.threads.get_state(tid))["checkpoint_id"] == new_id

    # fork from the step-0 checkpoint (next: step1)
    step0 = (await client.threads.get_history(tid, metadata={"step": 0}))[0]
    forked = await client.threads.update_state(tid, {"log": ["fork"]}, checkpoint_id=step0["checkpoint_id"])
    fork_state = await client.threads.get_state(tid)
    assert fork_state["checkpoint_id"] == forked["checkpoint_id"]
    assert fork_state["parent_checkpoint_id"] == step0["checkpoint_id"]
    assert fork_state["values"]["log"] == ["fork"]
    assert fork_state["metadata"]["source"] == "update"


async def test_update_state_values_only(client):
    """Without ``as_node`` LangGraph picks the last node that ran."""
    tid = (await client.threads.create())["thread_id"]
    await _run_chain(client, tid)
    await client.threads.update_state(tid, {"n": 42})
    state = await client.threads.get_state(tid)
    assert state["values"] == {"log": ["step1", "step2", "step3"], "n": 42}
    assert state["metadata"]["source"] == "update"


# ----------------------------------------------------------------------------- statuses


async def test_status_idle_busy_idle(client):
    """``busy`` while a run is pending or running, ``idle`` after (langgraph-api 0.16.7)."""
    tid = (await client.threads.create())["thread_id"]
    assert (await client.threads.get(tid))["status"] == "idle"
    run = await client.runs.create(tid, "slow", input={"log": [], "sleep": 0.5})
    assert (await client.threads.get(tid))["status"] == "busy"
    assert [t["thread_id"] for t in await client.threads.search(ids=[tid], status="busy")] == [tid]
    assert await client.threads.search(ids=[tid], status="idle") == []
    await client.runs.join(tid, run["run_id"])
    thread = await client.threads.get(tid)
    assert thread["status"] == "idle"
    assert thread["values"] == {"log": ["step1"], "n": 1, "sleep": 0.5}
    assert thread["state_updated_at"] >= thread["created_at"]
    assert [t["thread_id"] for t in await client.threads.search(ids=[tid], status="idle")] == [tid]


async def test_status_error_after_a_failed_run(client):
    """The last run failed → ``error`` (langgraph-api 0.16.7)."""
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(tid, "failing", input={"log": []})
    await client.runs.join(tid, run["run_id"])
    assert (await client.runs.get(tid, run["run_id"]))["status"] == "error"
    thread = await client.threads.get(tid)
    assert thread["status"] == "error"
    assert [t["thread_id"] for t in await client.threads.search(ids=[tid], status="error")] == [tid]
