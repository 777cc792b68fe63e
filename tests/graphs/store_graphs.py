"""A graph that reads and writes the LangGraph store from its nodes, and the
deterministic offline embedding function ``langgraph.json``'s ``store.index.embed``
names (``./store_graphs.py:embed``)."""

from __future__ import annotations

from typing import TypedDict

from langgraph.config import get_store
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime


def embed(texts: list[str]) -> list[list[float]]:
    """One 26-dimension vector per text: how often each letter a–z occurs in it
    (case-insensitive). Offline and deterministic, so tests can compute the cosine
    similarity the store must report."""
    vectors = []
    for text in texts:
        vector = [0.0] * 26
        for ch in text.lower():
            if "a" <= ch <= "z":
                vector[ord(ch) - ord("a")] += 1.0
        vectors.append(vector)
    return vectors


class MemoryState(TypedDict, total=False):
    user: str
    note: str
    count: int
    profile: dict | None
    recalled: list


async def remember(state: MemoryState, runtime: Runtime) -> MemoryState:
    """Async node: bumps ``("memories", user) / "counter"`` and stores the note as
    ``note-<count>`` through ``runtime.store``; returns the ``profile`` item the API put."""
    namespace = ("memories", state["user"])
    counter = await runtime.store.aget(namespace, "counter")
    count = (counter.value["count"] if counter else 0) + 1
    await runtime.store.aput(namespace, "counter", {"count": count})
    await runtime.store.aput(namespace, f"note-{count}", {"text": state["note"]})
    profile = await runtime.store.aget(namespace, "profile")
    return {"count": count, "profile": profile.value if profile else None}


def recall(state: MemoryState) -> MemoryState:
    """Sync node: semantic search of the user's memories through ``get_store()``'s
    synchronous API; returns ``[key, score]`` pairs, best first."""
    items = get_store().search(("memories", state["user"]), query=state["note"], limit=10)
    return {"recalled": [[item.key, item.score] for item in items]}


_builder = StateGraph(MemoryState)
_builder.add_node("remember", remember)
_builder.add_node("recall", recall)
_builder.add_edge(START, "remember")
_builder.add_edge("remember", "recall")
_builder.add_edge("recall", END)
memory = _builder.compile()
