"""LangGraph's functional API: an ``@entrypoint`` calling ``@task``s (async and sync),
which count their executions in files, then waiting at ``interrupt()``."""

from pathlib import Path

from langgraph.func import entrypoint, task
from langgraph.types import interrupt


def _count(folder: str, name: str) -> None:
    with (Path(folder) / name).open("a") as f:
        f.write("x")


@task
async def double(x: int, folder: str) -> int:
    _count(folder, "double")
    return x * 2


@task
def add_one(x: int, folder: str) -> int:
    _count(folder, "add_one")
    return x + 1


@entrypoint()
async def workflow(inputs: dict) -> dict:
    folder = inputs["dir"]
    doubled = await double(inputs["x"], folder)
    # two calls in parallel, as with futures in-process
    a, b = add_one(doubled, folder), add_one(doubled + 10, folder)
    total = (await a) + (await b)
    answer = interrupt({"total": total}) if inputs.get("ask") else None
    return {"total": total, "answer": answer}
