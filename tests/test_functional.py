"""LangGraph's functional API (``@entrypoint``/``@task``) runs unmodified: results equal
in-process LangGraph's, and completed ``@task`` calls do not run again when the
entrypoint resumes after ``interrupt()`` (their results come from the checkpointer)."""

from __future__ import annotations

from pathlib import Path

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command


def _counts(folder: Path) -> dict[str, int]:
    return {p.name: len(p.read_text()) for p in folder.iterdir()}


async def test_entrypoint_with_tasks_matches_in_process(client, tmp_path):
    from tests.graphs.functional import workflow

    local_dir, remote_dir = tmp_path / "local", tmp_path / "remote"
    local_dir.mkdir()
    remote_dir.mkdir()
    local = workflow.copy(update={"checkpointer": InMemorySaver()})
    expected = await local.ainvoke({"x": 3, "dir": str(local_dir)}, {"configurable": {"thread_id": "t"}})

    tid = (await client.threads.create())["thread_id"]
    result = await client.runs.wait(tid, "functional", input={"x": 3, "dir": str(remote_dir)})
    assert result == expected == {"total": 7 + 17, "answer": None}
    assert _counts(remote_dir) == _counts(local_dir) == {"double": 1, "add_one": 2}


async def test_completed_tasks_do_not_run_again_after_interrupt(client, tmp_path):
    from tests.graphs.functional import workflow

    local_dir, remote_dir = tmp_path / "local", tmp_path / "remote"
    local_dir.mkdir()
    remote_dir.mkdir()
    local = workflow.copy(update={"checkpointer": InMemorySaver()})
    config = {"configurable": {"thread_id": "t"}}
    await local.ainvoke({"x": 1, "dir": str(local_dir), "ask": True}, config)
    expected = await local.ainvoke(Command(resume="yes"), config)

    tid = (await client.threads.create())["thread_id"]
    first = await client.runs.wait(tid, "functional", input={"x": 1, "dir": str(remote_dir), "ask": True})
    assert first["__interrupt__"][0]["value"] == {"total": 3 + 13}
    assert (await client.threads.get(tid))["status"] == "interrupted"
    result = await client.runs.wait(tid, "functional", command={"resume": "yes"})
    assert result == expected == {"total": 16, "answer": "yes"}
    # each task ran once although the entrypoint ran twice
    assert _counts(remote_dir) == _counts(local_dir) == {"double": 1, "add_one": 2}
