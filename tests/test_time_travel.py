"""Time travel through the official SDK: forking with ``update_state``, runs started
from an older checkpoint, state and history at checkpoints, copies, supersteps and
``durability``, compared with langgraph-api 0.16.7's answers.

Most tests use the ``steps`` graph (tests/graphs/hitl.py): ``one -> two -> three``,
each node appending its name to ``log``. A run with input ``{"log": [...]}`` makes
five root checkpoints: ``-1`` (``input``, next ``__start__``), then steps 0–3
(``loop``, next ``one``, ``two``, ``three``, nothing).
"""

from __future__ import annotations

import uuid

import pytest
from langgraph_sdk.errors import BadRequestError, NotFoundError, UnprocessableEntityError

DONE = ["one", "two", "three"]


def _steps(*log: str) -> dict:
    """Values of a ``steps``/``approval`` thread (the shared schema also has ``answers``)."""
    return {"log": list(log), "answers": []}


async def _history(client, thread_id: str, **kwargs) -> list[dict]:
    """The thread's whole history, newest first."""
    return await client.threads.get_history(thread_id, limit=1000, **kwargs)


async def _steps_thread(client, log: list[str] | None = None) -> tuple[str, list[dict]]:
    """A thread on which ``steps`` ran to the end; returns its id and history."""
    tid = (await client.threads.create())["thread_id"]
    result = await client.runs.wait(tid, "steps", input={"log": log or []})
    assert result == _steps(*(log or []), *DONE)
    history = await _history(client, tid)
    assert [(h["metadata"]["step"], h["next"]) for h in history] == [
        (3, []), (2, ["three"]), (1, ["two"]), (0, ["one"]), (-1, ["__start__"]),
    ]
    return tid, history


def _at(history: list[dict], step: int, run_id: str | None = None) -> dict:
    """The one checkpoint of ``history`` at ``step`` (made by ``run_id`` if given)."""
    found = [
        h for h in history
        if h["metadata"]["step"] == step and (run_id is None or h["metadata"].get("run_id") == run_id)
    ]
    assert len(found) == 1, (step, run_id, found)
    return found[0]


def _lineage(history: list[dict], checkpoint_id: str) -> list[str]:
    """Checkpoint ids from ``checkpoint_id`` back to the root, following parents."""
    by_id = {h["checkpoint_id"]: h for h in history}
    out = []
    current: str | None = checkpoint_id
    while current is not None:
        out.append(current)
        current = by_id[current]["parent_checkpoint_id"]
    return out


async def _last_run(client, thread_id: str) -> dict:
    return (await client.runs.list(thread_id, limit=1))[0]


# ------------------------------------------------------------------- runs from a checkpoint


async def test_run_from_checkpoint_id_reexecutes_from_there(client):
    """A run with ``checkpoint_id`` (and no input) continues from that
    checkpoint: after ``one``, ``two`` and ``three`` run again. As LangGraph does when
    it time-travels, the run first saves a ``source: fork`` copy of the checkpoint
    (child of it), then its steps; the old branch stays in the history."""
    tid, history = await _steps_thread(client)
    after_one = _at(history, 1)

    chunks = [
        (part.event, part.data)
        async for part in client.runs.stream(
            tid, "steps", input=None, checkpoint_id=after_one["checkpoint_id"], stream_mode="updates"
        )
    ]
    updates = [data for event, data in chunks if event == "updates"]
    assert updates == [{"two": {"log": ["two"]}}, {"three": {"log": ["three"]}}]
    run = await _last_run(client, tid)
    assert run["status"] == "success"

    state = await client.threads.get_state(tid)
    assert state["values"] == _steps(*DONE)
    assert state["metadata"]["run_id"] == run["run_id"]
    assert (state["metadata"]["step"], state["metadata"]["source"]) == (4, "loop")
    after = await _history(client, tid)
    assert len(after) == len(history) + 3
    new = [h for h in after if h["metadata"].get("run_id") == run["run_id"]]
    assert [(h["metadata"]["source"], h["metadata"]["step"], h["next"], h["values"]) for h in new] == [
        ("loop", 4, [], _steps(*DONE)),
        ("loop", 3, ["three"], _steps("one", "two")),
        ("fork", 2, ["two"], _steps("one")),
    ]
    branch = _lineage(after, state["checkpoint_id"])
    assert branch == [h["checkpoint_id"] for h in new] + _lineage(history, after_one["checkpoint_id"])
    # the original branch is untouched
    assert [h for h in after if h["metadata"]["run_id"] != run["run_id"]] == history
    thread = await client.threads.get(tid)
    assert (thread["status"], thread["values"]) == ("idle", _steps(*DONE))


async def test_run_from_checkpoint_object_reruns_the_input(client):
    """``checkpoint={"checkpoint_id": …}`` of the input checkpoint runs the
    whole graph again with the input stored there (its ``__start__`` task)."""
    tid, history = await _steps_thread(client, ["start"])
    first = history[-1]
    assert first["metadata"]["source"] == "input"

    result = await client.runs.wait(tid, "steps", input=None, checkpoint={"checkpoint_id": first["checkpoint_id"]})
    assert result == _steps("start", *DONE)
    run = await _last_run(client, tid)
    after = await _history(client, tid)
    new = [h for h in after if h["metadata"].get("run_id") == run["run_id"]]
    assert [(h["metadata"]["source"], h["metadata"]["step"]) for h in new] == [
        ("loop", 4), ("loop", 3), ("loop", 2), ("loop", 1), ("fork", 0),
    ]
    assert new[-1]["parent_checkpoint_id"] == first["checkpoint_id"]
    assert len(after) == len(history) + 5


async def test_run_from_checkpoint_with_new_input(client):
    """Input given with ``checkpoint_id`` starts a new pass on top of that checkpoint's
    values (the older branch's later steps are not part of it)."""
    tid, history = await _steps_thread(client)
    after_one = _at(history, 1)
    result = await client.runs.wait(tid, "steps", input={"log": ["again"]}, checkpoint_id=after_one["checkpoint_id"])
    assert result == _steps("one", "again", *DONE)
    state = await client.threads.get_state(tid)
    assert _lineage(await _history(client, tid), state["checkpoint_id"])[-3:] == _lineage(
        history, after_one["checkpoint_id"]
    )


async def test_replay_an_older_interrupt(client):
    """Time travel to a checkpoint that waited at ``interrupt()`` after the thread went
    past it: the node runs again and interrupts again (on a fork), and a resume then
    takes the new answer."""
    tid = (await client.threads.create())["thread_id"]
    first = await client.runs.wait(tid, "approval", input={"log": []})
    assert first["__interrupt__"][0]["value"] == {"question": "approve ask?"}
    waiting = await client.threads.get_state(tid)
    assert waiting["next"] == ["ask"]
    done = await client.runs.wait(tid, "approval", command={"resume": "yes"})
    assert done == {"log": ["draft", "ask", "act"], "answers": ["yes"]}

    replay = await client.runs.wait(tid, "approval", input=None, checkpoint_id=waiting["checkpoint_id"])
    assert replay["__interrupt__"][0]["value"] == {"question": "approve ask?"}
    assert {k: v for k, v in replay.items() if k != "__interrupt__"} == {"log": ["draft"], "answers": []}
    state = await client.threads.get_state(tid)
    assert (state["next"], state["metadata"]["source"]) == (["ask"], "fork")
    assert state["parent_checkpoint_id"] == waiting["checkpoint_id"]
    thread = await client.threads.get(tid)
    assert thread["status"] == "interrupted"
    assert [i["value"] for i in thread["interrupts"][state["tasks"][0]["id"]]] == [{"question": "approve ask?"}]

    again = await client.runs.wait(tid, "approval", command={"resume": "no"})
    assert again == {"log": ["draft", "ask", "act"], "answers": ["no"]}
    assert (await client.threads.get(tid))["status"] == "idle"


# ----------------------------------------------------------------------------- update_state


async def test_fork_as_a_node_then_continue(client):
    """``update_state`` on an older checkpoint as ``two`` writes a ``source:
    update`` checkpoint whose parent is that checkpoint and whose next node is
    ``three``; a run without input continues the fork."""
    tid, history = await _steps_thread(client)
    after_one = _at(history, 1)

    result = await client.threads.update_state(
        tid, {"log": ["manual two"]}, as_node="two", checkpoint_id=after_one["checkpoint_id"]
    )
    fork_id = result["checkpoint_id"]
    ref = {"thread_id": tid, "checkpoint_ns": "", "checkpoint_id": fork_id}
    assert result == {"checkpoint": ref, "configurable": ref, "checkpoint_id": fork_id}
    assert fork_id not in {h["checkpoint_id"] for h in history}

    state = await client.threads.get_state(tid)
    assert state["checkpoint_id"] == fork_id
    assert state["parent_checkpoint_id"] == after_one["checkpoint_id"]
    assert state["values"] == _steps("one", "manual two")
    assert state["next"] == ["three"]
    assert (state["metadata"]["source"], state["metadata"]["step"]) == ("update", 2)
    thread = await client.threads.get(tid)
    assert (thread["status"], thread["values"]) == ("interrupted", _steps("one", "manual two"))

    assert await client.runs.wait(tid, "steps", input=None) == _steps("one", "manual two", "three")
    after = await _history(client, tid)
    assert len(after) == len(history) + 2
    final = await client.threads.get_state(tid)
    assert _lineage(after, final["checkpoint_id"])[1:] == [fork_id, *_lineage(history, after_one["checkpoint_id"])]
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_fork_with_checkpoint_object(client):
    """``checkpoint={"checkpoint_id": …}`` forks like ``checkpoint_id``; without
    ``as_node`` LangGraph applies the update as the node that made that checkpoint."""
    tid, history = await _steps_thread(client)
    after_two = _at(history, 2)
    result = await client.threads.update_state(
        tid, {"log": ["patched"]}, checkpoint={"checkpoint_id": after_two["checkpoint_id"], "checkpoint_ns": ""}
    )
    state = await client.threads.get_state(tid)
    assert state["checkpoint_id"] == result["checkpoint_id"]
    assert state["parent_checkpoint_id"] == after_two["checkpoint_id"]
    assert state["values"] == _steps("one", "two", "patched")
    assert state["next"] == ["three"]
    assert state["metadata"]["source"] == "update"


async def test_update_as_the_interrupted_node_skips_it(client):
    """On a thread waiting at ``interrupt()``, an update as ``ask`` stands in for the
    node: the interrupt is gone, the next node is ``act``, and a run continues."""
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, "approval", input={"log": []})
    thread = await client.threads.get(tid)
    assert thread["status"] == "interrupted" and thread["interrupts"]

    await client.threads.update_state(tid, {"log": ["ask by hand"], "answers": ["manual"]}, as_node="ask")
    state = await client.threads.get_state(tid)
    assert state["next"] == ["act"]
    assert state["interrupts"] == []
    thread = await client.threads.get(tid)
    assert thread["interrupts"] == {}
    assert thread["values"] == {"log": ["draft", "ask by hand"], "answers": ["manual"]}

    result = await client.runs.wait(tid, "approval", input=None)
    assert result == {"log": ["draft", "ask by hand", "act"], "answers": ["manual"]}
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_update_state_errors_change_nothing(client, http):
    """An unknown ``as_node`` is 400 ``Node nope does not exist``; a fork from
    an unknown checkpoint, or a body of the wrong shape, is a 4xx naming the input.
    In each case the history and the thread stay as they were."""
    tid, history = await _steps_thread(client)
    thread = await client.threads.get(tid)

    async def unchanged() -> None:
        assert await _history(client, tid) == history
        assert await client.threads.get(tid) == thread

    with pytest.raises(BadRequestError) as err:
        await client.threads.update_state(tid, {"log": ["x"]}, as_node="nope")
    assert err.value.body == {"detail": "Node nope does not exist"}
    await unchanged()

    with pytest.raises(BadRequestError) as err:
        await client.threads.update_state(
            tid, {"log": ["x"]}, as_node="nope", checkpoint_id=_at(history, 1)["checkpoint_id"]
        )
    assert err.value.body == {"detail": "Node nope does not exist"}
    await unchanged()

    unknown = str(uuid.uuid4())
    for kwargs in ({"checkpoint_id": unknown}, {"checkpoint": {"checkpoint_id": unknown}}):
        with pytest.raises(NotFoundError) as err:
            await client.threads.update_state(tid, {"log": ["x"]}, as_node="one", **kwargs)
        assert unknown in err.value.body["detail"]
        await unchanged()

    for body, field in (
        ({"values": "text"}, "values"),
        ({"values": {"log": ["x"]}, "as_node": 3}, "as_node"),
        ({"values": {"log": ["x"]}, "checkpoint_id": 7}, "checkpoint_id"),
        ({"values": {"log": ["x"]}, "checkpoint": "abc"}, "checkpoint"),
        ({"values": {"log": ["x"]}, "checkpoint": {"checkpoint_id": 7}}, "checkpoint.checkpoint_id"),
    ):
        r = http.post(f"/threads/{tid}/state", json=body)
        assert r.status_code == 422, (body, r.text)
        assert field in r.json()["detail"], r.json()
        await unchanged()

    # a value the channel's reducer refuses (``operator.add`` of a list and an int)
    r = http.post(f"/threads/{tid}/state", json={"values": {"log": 5}, "as_node": "one"})
    assert r.status_code == 400, r.text
    assert r.json()["detail"].startswith("values could not be applied as node one"), r.json()
    await unchanged()


async def test_update_state_on_a_thread_without_a_graph(client):
    """A thread that never ran and names no graph has nothing to apply an update to:
    400 naming the thread, and it stays empty."""
    tid = (await client.threads.create())["thread_id"]
    with pytest.raises(BadRequestError) as err:
        await client.threads.update_state(tid, {"log": ["x"]})
    assert tid in err.value.body["detail"]
    assert await client.threads.get_history(tid) == []
    assert (await client.threads.get(tid))["values"] is None


async def test_update_state_on_a_thread_created_with_its_graph(client):
    """With ``graph_id`` in its metadata, a fresh thread takes updates: the first one
    (as ``one``) has no parent, and a run continues at ``two``."""
    tid = (await client.threads.create(graph_id="steps"))["thread_id"]
    await client.threads.update_state(tid, {"log": ["seed"]}, as_node="one")
    state = await client.threads.get_state(tid)
    assert state["parent_checkpoint"] is None
    assert state["next"] == ["two"]
    assert await client.runs.wait(tid, "steps", input=None) == _steps("seed", "two", "three")


# ------------------------------------------------------------------------- state at checkpoint


async def test_state_at_checkpoints_both_ways(client, sync_client):
    """``checkpoint_id=`` (GET /state/{id}) and ``checkpoint=`` (POST
    /state/checkpoint) give the history's entry for that checkpoint, with its tasks;
    an unknown id gives 200 with empty values either way, as in langgraph-api 0.16.7."""
    tid, history = await _steps_thread(client)
    for entry in history:
        by_id = await client.threads.get_state(tid, checkpoint_id=entry["checkpoint_id"])
        by_obj = await client.threads.get_state(tid, checkpoint=entry["checkpoint"])
        assert by_id == entry
        assert by_obj == entry
    assert sync_client.threads.get_state(tid, checkpoint_id=history[2]["checkpoint_id"]) == history[2]
    assert [t["name"] for t in history[2]["tasks"]] == ["two"]
    assert history[2]["tasks"][0]["result"] == {"log": ["two"]}

    unknown = str(uuid.uuid4())
    for state in (
        await client.threads.get_state(tid, checkpoint_id=unknown),
        await client.threads.get_state(tid, checkpoint={"checkpoint_id": unknown}),
    ):
        assert state["values"] == {} and state["next"] == [] and state["tasks"] == []
        assert state["metadata"] is None and state["created_at"] is None
        assert state["checkpoint_id"] == unknown and state["checkpoint"]["checkpoint_id"] == unknown
        assert state["parent_checkpoint"] is None


async def test_state_at_checkpoint_bad_input(client, http):
    """A checkpoint that is not an object, or whose id is not a string, is 422 naming
    it; a checkpoint of another thread is not visible through this one."""
    tid, history = await _steps_thread(client)
    for body in ({"checkpoint": "abc"}, {"checkpoint": {"checkpoint_id": 5}}, {}):
        r = http.post(f"/threads/{tid}/state/checkpoint", json=body)
        assert r.status_code == 422, (body, r.text)
        assert "checkpoint" in r.json()["detail"], r.json()
    other, _ = await _steps_thread(client)
    state = await client.threads.get_state(other, checkpoint_id=history[0]["checkpoint_id"])
    assert state["values"] == {} and state["metadata"] is None


# ------------------------------------------------------------------------------------ history


async def test_history_of_a_branched_thread(client):
    """The history lists every checkpoint of the thread, newest first, both branches;
    ``metadata``, ``before`` and ``limit`` work across them."""
    tid, history = await _steps_thread(client)
    first_run = history[0]["metadata"]["run_id"]
    after_one = _at(history, 1)
    await client.runs.wait(tid, "steps", input=None, checkpoint_id=after_one["checkpoint_id"])
    second_run = (await _last_run(client, tid))["run_id"]
    await client.threads.update_state(tid, {"log": ["note"]}, as_node="three")

    full = await _history(client, tid)
    assert len(full) == len(history) + 4
    ids = [h["checkpoint_id"] for h in full]
    assert ids == sorted(ids, reverse=True)
    assert [h["metadata"]["source"] for h in full[:4]] == ["update", "loop", "loop", "fork"]

    assert [h["checkpoint_id"] for h in await _history(client, tid, metadata={"run_id": second_run})] == ids[1:4]
    assert len(await _history(client, tid, metadata={"run_id": first_run})) == 5
    assert [h["checkpoint_id"] for h in await _history(client, tid, metadata={"source": "update"})] == ids[:1]
    assert [h["checkpoint_id"] for h in await _history(client, tid, metadata={"source": "input"})] == ids[-1:]
    assert [h["checkpoint_id"] for h in await _history(client, tid, metadata={"source": "fork"})] == ids[3:4]
    assert len(await _history(client, tid, metadata={"step": 3})) == 2
    assert await _history(client, tid, metadata={"source": "nothing"}) == []

    assert await client.threads.get_history(tid, limit=3) == full[:3]
    assert await client.threads.get_history(tid) == full[:10]  # limit defaults to 10
    pivot = full[3]["checkpoint"]
    assert await _history(client, tid, before={"configurable": pivot}) == full[4:]
    assert await client.threads.get_history(tid, before={"configurable": pivot}, limit=2) == full[4:6]
    assert await _history(client, tid, before={"configurable": pivot}, metadata={"step": 0}) == [_at(full, 0)]
    # ``checkpoint`` selects one checkpoint's entry
    one = await client.threads.get_history(tid, checkpoint={"checkpoint_id": full[5]["checkpoint_id"]})
    assert one == [full[5]]


async def test_history_bad_input(client, http):
    """Bad ``limit``/``before``/``metadata`` are 422 naming the field, and a string
    ``before`` too (as in langgraph-api 0.16.7); nothing is written."""
    tid, history = await _steps_thread(client)
    for body, field in (
        ({"limit": 0}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"before": "1f1e53d4-3ab6-6380-8000-fe5f974cb60d"}, "before"),
        ({"metadata": ["source"]}, "metadata"),
        ({"checkpoint": 5}, "checkpoint"),
        ({"before": {"configurable": {"checkpoint_id": 5}}}, "before.configurable.checkpoint_id"),
        ({"before": {"configurable": "x"}}, "before.configurable"),
    ):
        r = http.post(f"/threads/{tid}/history", json=body)
        assert r.status_code == 422, (body, r.text)
        assert field in r.json()["detail"], r.json()
    r = http.get(f"/threads/{tid}/history", params={"limit": 0})
    assert r.status_code == 422 and "limit" in r.text
    with pytest.raises(UnprocessableEntityError):
        await client.threads.get_history(tid, before=history[1]["checkpoint_id"])
    assert await _history(client, tid) == history


# --------------------------------------------------------------------------------------- copy


async def test_copy_keeps_branches_and_checkpoint_ids(client):
    """A copy has the same checkpoints (ids, parents, values, steps) under a new thread
    id, so time travel on it works with the same ids and leaves the source alone."""
    tid, history = await _steps_thread(client)
    await client.threads.update_state(tid, {"log": ["fork"]}, as_node="two", checkpoint_id=_at(history, 1)["checkpoint_id"])
    source_history = await _history(client, tid)
    source_state = await client.threads.get_state(tid)

    copied = await client.threads.copy(tid)
    cid = copied["thread_id"]
    assert cid != tid
    copy_history = await _history(client, cid)

    def strip(entries: list[dict]) -> list[tuple]:
        return [
            (h["checkpoint_id"], h["parent_checkpoint_id"], h["values"], h["next"], h["metadata"]["step"],
             h["metadata"]["source"])
            for h in entries
        ]

    assert strip(copy_history) == strip(source_history)
    assert all(h["checkpoint"]["thread_id"] == cid for h in copy_history)
    assert all(h["metadata"]["thread_id"] == cid for h in copy_history)
    copy_state = await client.threads.get_state(cid)
    assert copy_state["checkpoint_id"] == source_state["checkpoint_id"]
    assert copy_state["values"] == source_state["values"] == _steps("one", "fork")
    copy_thread = await client.threads.get(cid)
    assert (copy_thread["status"], copy_thread["values"]) == ("interrupted", _steps("one", "fork"))
    assert await client.runs.list(cid) == []

    # time travel on the copy, by the source's checkpoint ids
    after_two = _at(history, 2)
    assert await client.runs.wait(cid, "steps", input=None, checkpoint_id=after_two["checkpoint_id"]) == _steps(*DONE)
    assert len(await _history(client, cid)) == len(source_history) + 2  # fork + step
    assert await _history(client, tid) == source_history


async def test_copy_of_an_interrupted_thread_resumes_on_its_own(client):
    """A copy of a thread waiting at ``interrupt()`` waits too, with the same
    interrupts; resuming the copy leaves the source waiting."""
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, "approval", input={"log": []})
    source = await client.threads.get(tid)
    cid = (await client.threads.copy(tid))["thread_id"]
    copy_thread = await client.threads.get(cid)
    assert copy_thread["status"] == "interrupted"
    assert copy_thread["interrupts"] == source["interrupts"]

    assert await client.runs.wait(cid, "approval", command={"resume": "copy"}) == {
        "log": ["draft", "ask", "act"], "answers": ["copy"],
    }
    assert (await client.threads.get(tid))["status"] == "interrupted"
    assert (await client.threads.get_state(tid))["next"] == ["ask"]
    assert await client.runs.wait(tid, "approval", command={"resume": "source"}) == {
        "log": ["draft", "ask", "act"], "answers": ["source"],
    }


# ---------------------------------------------------------------------------------- supersteps


async def test_create_with_several_supersteps(client):
    """``supersteps`` apply in order, one ``source: update`` checkpoint each; the
    thread then continues at the node after the last ``as_node``."""
    thread = await client.threads.create(
        graph_id="steps",
        supersteps=[
            {"updates": [{"values": {"log": ["a"]}, "as_node": "one"}]},
            {"updates": [{"values": {"log": ["b"]}, "as_node": "two"}]},
        ],
    )
    tid = thread["thread_id"]
    assert (thread["status"], thread["values"]) == ("interrupted", _steps("a", "b"))
    history = await _history(client, tid)
    assert [(h["metadata"]["source"], h["metadata"]["step"], h["next"]) for h in history] == [
        ("update", 1, ["three"]), ("update", 0, ["two"]),
    ]
    assert history[0]["parent_checkpoint_id"] == history[1]["checkpoint_id"]
    assert history[1]["parent_checkpoint_id"] is None
    assert await client.runs.wait(tid, "steps", input=None) == _steps("a", "b", "three")


async def test_create_with_bad_supersteps_creates_nothing(client, http):
    """An unknown ``as_node`` in ``supersteps`` is 400 ``Node nope does not exist`` and
    the thread is not created; a superstep without updates is 422."""
    tid = str(uuid.uuid4())
    with pytest.raises(BadRequestError) as err:
        await client.threads.create(
            thread_id=tid, graph_id="steps",
            supersteps=[
                {"updates": [{"values": {"log": ["a"]}, "as_node": "one"}]},
                {"updates": [{"values": {"log": ["b"]}, "as_node": "nope"}]},
            ],
        )
    assert err.value.body == {"detail": "Node nope does not exist"}
    with pytest.raises(NotFoundError):
        await client.threads.get(tid)
    r = http.post("/threads", json={"thread_id": tid, "metadata": {"graph_id": "steps"}, "supersteps": [{"updates": []}]})
    assert r.status_code == 422 and "supersteps" in r.json()["detail"], r.text
    with pytest.raises(NotFoundError):
        await client.threads.get(tid)
    # the id is free: a good create with it works and has only its own checkpoint
    await client.threads.create(
        thread_id=tid, graph_id="steps", supersteps=[{"updates": [{"values": {"log": ["ok"]}, "as_node": "one"}]}]
    )
    assert [h["values"] for h in await _history(client, tid)] == [_steps("ok")]


# ---------------------------------------------------------------------------------- durability


@pytest.mark.parametrize("durability", ["sync", "async", None])
async def test_durability_sync_and_async_keep_every_step(client, durability):
    """``sync`` and ``async`` (the default) store a checkpoint for the input and after
    every superstep (langgraph-api 0.16.7 stored 4 for a 2-node graph; ``steps`` has
    3 nodes, so 5)."""
    tid = (await client.threads.create())["thread_id"]
    kwargs = {"durability": durability} if durability else {}
    assert await client.runs.wait(tid, "steps", input={"log": []}, **kwargs) == _steps(*DONE)
    run = await _last_run(client, tid)
    assert run["kwargs"]["durability"] == (durability or "async")
    history = await _history(client, tid)
    assert [h["metadata"]["step"] for h in history] == [3, 2, 1, 0, -1]
    assert all(h["metadata"]["run_id"] == run["run_id"] for h in history)


async def test_durability_exit_keeps_only_the_final_checkpoint(client):
    """With ``exit`` a fresh thread's history is the final checkpoint
    alone (``parent_checkpoint`` null, ``source: loop``, last step); a second exit
    run adds one checkpoint whose parent is the first run's; the state reads back
    whole and time travel from the kept checkpoints works."""
    tid = (await client.threads.create())["thread_id"]
    assert await client.runs.wait(tid, "steps", input={"log": []}, durability="exit") == _steps(*DONE)
    run = await _last_run(client, tid)
    assert run["status"] == "success"
    history = await _history(client, tid)
    assert len(history) == 1
    final = history[0]
    assert final["parent_checkpoint"] is None and final["parent_checkpoint_id"] is None
    assert (final["metadata"]["source"], final["metadata"]["step"], final["metadata"]["run_id"]) == (
        "loop", 3, run["run_id"],
    )
    assert final["values"] == _steps(*DONE) and final["next"] == []
    assert await client.threads.get_state(tid) == final
    assert (await client.threads.get(tid))["values"] == _steps(*DONE)

    assert await client.runs.wait(tid, "steps", input={"log": ["more"]}, durability="exit") == _steps(
        *DONE, "more", *DONE
    )
    history = await _history(client, tid)
    assert [h["metadata"]["step"] for h in history] == [8, 3]
    assert history[0]["parent_checkpoint_id"] == final["checkpoint_id"]

    # a default-durability run afterwards keeps all its steps, on top of the last one
    await client.runs.wait(tid, "steps", input={"log": []})
    assert [h["metadata"]["step"] for h in await _history(client, tid)] == [13, 12, 11, 10, 9, 8, 3]


async def test_durability_exit_from_an_older_checkpoint(client):
    """An exit run started from an older checkpoint keeps one checkpoint, whose parent
    is that checkpoint; the checkpoints of other runs are not touched."""
    tid, history = await _steps_thread(client)
    after_one = _at(history, 1)
    await client.runs.wait(tid, "steps", input=None, checkpoint_id=after_one["checkpoint_id"], durability="exit")
    after = await _history(client, tid)
    assert len(after) == len(history) + 1
    assert after[0]["parent_checkpoint_id"] == after_one["checkpoint_id"]
    assert after[0]["values"] == _steps(*DONE)
    assert after[1:] == history


async def test_durability_exit_at_an_interrupt_and_on_resume(client):
    """An exit run that stops at ``interrupt()`` keeps one checkpoint that still
    holds the interrupt, so the thread can be resumed (also with exit)."""
    tid = (await client.threads.create())["thread_id"]
    first = await client.runs.wait(tid, "approval", input={"log": []}, durability="exit")
    assert first["__interrupt__"][0]["value"] == {"question": "approve ask?"}
    history = await _history(client, tid)
    assert len(history) == 1
    assert history[0]["next"] == ["ask"]
    assert history[0]["interrupts"] and history[0]["interrupts"][0]["value"] == {"question": "approve ask?"}
    thread = await client.threads.get(tid)
    assert thread["status"] == "interrupted" and thread["interrupts"]

    done = await client.runs.wait(tid, "approval", command={"resume": "ok"}, durability="exit")
    assert done == {"log": ["draft", "ask", "act"], "answers": ["ok"]}
    history = await _history(client, tid)
    assert len(history) == 2
    assert history[0]["parent_checkpoint_id"] == history[1]["checkpoint_id"]
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_durability_exit_of_a_failed_run(client):
    """A failing exit run keeps one checkpoint too (holding the task's error), and
    the thread is ``error``."""
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(tid, "failing", input={"log": []}, durability="exit")
    await client.runs.join(tid, run["run_id"])
    assert (await client.runs.get(tid, run["run_id"]))["status"] == "error"
    history = await _history(client, tid)
    assert len(history) == 1
    assert history[0]["parent_checkpoint_id"] is None
    # as in-process LangGraph: the last step's checkpoint, the failed task on it
    assert (history[0]["metadata"]["step"], history[0]["next"]) == (1, ["explode"])
    assert "the node exploded" in history[0]["tasks"][0]["error"]
    assert (await client.threads.get(tid))["status"] == "error"


async def test_durability_exit_with_a_delta_channel_keeps_the_state(client):
    """A ``DeltaChannel`` value is rebuilt from the writes stored on its checkpoint's
    ancestors, so an exit run of such a graph must not lose them: the state reads
    back whole after two exit runs (Evergraph then keeps the run's checkpoints)."""
    tid = (await client.threads.create())["thread_id"]
    assert await client.runs.wait(tid, "delta_steps", input={"log": ["a"]}, durability="exit") == {
        "log": ["a", *DONE],
    }
    assert await client.runs.wait(tid, "delta_steps", input={"log": ["b"]}, durability="exit") == {
        "log": ["a", *DONE, "b", *DONE],
    }
    state = await client.threads.get_state(tid)
    assert state["values"] == {"log": ["a", *DONE, "b", *DONE]}
    assert (await client.threads.get(tid))["values"] == state["values"]
    history = await _history(client, tid)
    assert history[0] == state
    assert [h["values"] for h in history if h["metadata"].get("step") == 3] == [{"log": ["a", *DONE]}]


async def test_run_from_unknown_checkpoint_is_refused(client):
    """A run from a checkpoint the thread does not have: 404 naming it, nothing recorded."""
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, "steps", input={"log": []})
    before = await client.threads.get_history(tid, limit=100)
    unknown = str(uuid.uuid4())
    for kwargs in ({"checkpoint_id": unknown}, {"checkpoint": {"checkpoint_id": unknown}}):
        with pytest.raises(Exception) as err:
            await client.runs.create(tid, "steps", input=None, **kwargs)
        assert err.value.response.status_code == 404
        assert unknown in err.value.response.json()["detail"]
    assert len(await client.runs.list(tid)) == 1
    assert await client.threads.get_history(tid, limit=100) == before
    assert (await client.threads.get(tid))["status"] == "idle"
