"""The v2 thread protocol's state and input commands (PyPI ``langchain-protocol``
0.0.20's CDDL): ``state.get``, ``state.listCheckpoints``, ``state.fork`` and
``input.inject``, on top of the thread resources of
:mod:`evergraph.adapter.resources.threads` and
:mod:`evergraph.adapter.resources.runs`.

Each handler takes the command's ``params`` and returns its ``result`` object, or
raises :class:`CommandError` with the protocol error code;
:func:`evergraph.adapter.resources.protocol.handle_command` wraps both in the
response envelope.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from evergraph.adapter.errors import Invalid, NotFound
from evergraph.adapter.resources import threads
from evergraph.adapter.resources.assistants import resolve_assistant
from evergraph.adapter.resources.runs import create_run
from evergraph.adapter.services import Services

__all__ = ["CommandError", "input_inject", "state_fork", "state_get", "state_list_checkpoints"]


class CommandError(Exception):
    """A command refused with protocol error ``code`` (``invalid_argument``,
    ``no_such_namespace``, ``no_such_checkpoint``, ``no_such_run``…)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _namespace(params: dict[str, Any], required: bool) -> list[str]:
    ns = params.get("namespace")
    if ns is None and not required:
        return []
    if not isinstance(ns, list) or not all(isinstance(s, str) for s in ns):
        raise CommandError("invalid_argument", "params.namespace must be a list of strings")
    return ns


async def _thread(services: Services, thread_id: str) -> dict[str, Any]:
    try:
        return await threads.get_thread(services, thread_id)
    except NotFound:
        raise CommandError("no_such_run", f"Thread {thread_id} has no runs") from None


def _checkpoint_ref(state: dict[str, Any]) -> dict[str, Any] | None:
    cp = state.get("checkpoint") or {}
    cid = cp.get("checkpoint_id")
    if not isinstance(cid, str):
        return None
    ref: dict[str, Any] = {"id": cid}
    if cp.get("checkpoint_ns"):
        ref["ns"] = cp["checkpoint_ns"]
    return ref


async def state_get(services: Services, thread_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``state.get {namespace, keys?}`` → ``{values, checkpoint?: {id, ns?}}``: the
    thread's latest state at ``namespace`` (``[]``: the graph; a subgraph's
    namespace ``["node:task_id", …]``: that subgraph's latest checkpoint),
    restricted to ``keys`` when given.

    Raises:
        CommandError: ``invalid_argument`` (bad params), ``no_such_run`` (no
            thread), ``no_such_namespace`` (no checkpoint at that namespace).
    """
    ns = _namespace(params, required=False)
    keys = params.get("keys")
    if keys is not None and (not isinstance(keys, list) or not all(isinstance(k, str) for k in keys)):
        raise CommandError("invalid_argument", "params.keys must be a list of strings")
    await _thread(services, thread_id)
    checkpoint = {"checkpoint_ns": "|".join(ns)} if ns else None
    try:
        state = await threads.get_state(services, thread_id, checkpoint=checkpoint)
    except (ValueError, Invalid) as exc:  # LangGraph: no subgraph for that namespace
        if not ns:
            raise
        raise CommandError("no_such_namespace", f"No state at namespace {ns} of thread {thread_id}: {exc}") from None
    ref = _checkpoint_ref(state)
    if ns and ref is None:
        raise CommandError("no_such_namespace", f"No state at namespace {ns} of thread {thread_id}")
    values = state.get("values") if isinstance(state.get("values"), dict) else {}
    if keys is not None:
        values = {k: v for k, v in values.items() if k in keys}
    result: dict[str, Any] = {"values": values}
    if ref is not None:
        result["checkpoint"] = ref
    return result


async def state_list_checkpoints(services: Services, thread_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``state.listCheckpoints {namespace?, limit?, before?}`` → ``{checkpoints:
    [{id, timestamp, step, node_name?, metadata}]}``, newest first; ``limit``
    defaults to 10, ``before`` is a checkpoint id (older ones only).

    Raises:
        CommandError: ``invalid_argument``, ``no_such_run`` (no thread),
            ``no_such_checkpoint`` (``before`` unknown).
    """
    ns = _namespace(params, required=False)
    limit = params.get("limit", 10)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1 or limit > 1000:
        raise CommandError("invalid_argument", "params.limit must be an integer from 1 to 1000")
    before = params.get("before")
    if before is not None and not isinstance(before, str):
        raise CommandError("invalid_argument", "params.before must be a checkpoint id")
    await _thread(services, thread_id)
    if before is not None:
        ref = {"thread_id": thread_id, "checkpoint_ns": "|".join(ns), "checkpoint_id": before}
        if await services.saver.aget_tuple({"configurable": ref}) is None:
            raise CommandError("no_such_checkpoint", f"Checkpoint {before} not found in thread {thread_id}")
    try:
        history = await threads.get_history(
            services, thread_id, limit=limit + 1,
            before={"checkpoint_id": before} if before else None,
            checkpoint={"checkpoint_ns": "|".join(ns)} if ns else None,
        )
    except (ValueError, Invalid) as exc:  # LangGraph: no subgraph for that namespace
        if not ns:
            raise
        raise CommandError("no_such_namespace", f"No checkpoints at namespace {ns}: {exc}") from None
    out = []
    for i, state in enumerate(history[:limit]):
        ref = _checkpoint_ref(state)
        if ref is None:
            continue
        meta = state.get("metadata") or {}
        entry: dict[str, Any] = {"id": ref["id"], "timestamp": state.get("created_at") or "",
                                 "step": meta.get("step") if isinstance(meta.get("step"), int) else -1}
        older = history[i + 1] if i + 1 < len(history) else None
        if older is not None and len(older.get("next") or []) == 1:
            entry["node_name"] = older["next"][0]  # the node that ran from the older checkpoint
        entry["metadata"] = meta
        out.append(entry)
    return {"checkpoints": out}


async def _assistant_of(services: Services, thread_id: str) -> dict[str, Any]:
    thread = await _thread(services, thread_id)
    runs = await services.records.list_runs(thread_id, limit=1)
    assistant_id = (thread.get("metadata") or {}).get("assistant_id") or (runs[0]["assistant_id"] if runs else None)
    if assistant_id is None:
        raise CommandError("no_such_run", f"Thread {thread_id} has no run")
    return await resolve_assistant(services, assistant_id)


RunBody = Callable[[dict[str, Any]], dict[str, Any]]


async def state_fork(services: Services, thread_id: str, params: dict[str, Any], run_body: RunBody,
                     settle: Callable[[], Awaitable[int]], *, user: dict[str, Any] | None = None,
                     headers: dict[str, Any] | None = None) -> tuple[dict[str, Any], int]:
    """``state.fork {checkpoint_id, input?, config?}`` → ``({run_id, thread_id},
    applied_through_seq)``: a run of the thread's assistant from that checkpoint
    (LangGraph forks the thread's history there); its events continue the
    thread's event log. ``user`` and ``headers`` go to the run
    (:func:`~adapter.resources.runs.create_run`).

    Raises:
        CommandError: ``invalid_argument``, ``no_such_run`` (no thread or run),
            ``no_such_checkpoint``.
    """
    cid = params.get("checkpoint_id")
    if not isinstance(cid, str) or not cid:
        raise CommandError("invalid_argument", "state.fork requires params.checkpoint_id")
    if params.get("config") is not None and not isinstance(params["config"], dict):
        raise CommandError("invalid_argument", "params.config must be an object")
    assistant = await _assistant_of(services, thread_id)
    ref = {"thread_id": thread_id, "checkpoint_ns": "", "checkpoint_id": cid}
    if await services.saver.aget_tuple({"configurable": ref}) is None:
        raise CommandError("no_such_checkpoint", f"Checkpoint {cid} not found in thread {thread_id}")
    seq = await settle()
    body = {**run_body(params), "assistant_id": assistant["assistant_id"], "input": params.get("input"),
            "checkpoint_id": cid}
    run = await create_run(services, thread_id, assistant, body, user=user, headers=headers)
    return {"run_id": run["run_id"], "thread_id": thread_id}, seq


async def input_inject(services: Services, thread_id: str, params: dict[str, Any], run_body: RunBody,
                       settle: Callable[[], Awaitable[int]], *, user: dict[str, Any] | None = None,
                       headers: dict[str, Any] | None = None) -> tuple[dict[str, Any], int]:
    """``input.inject {namespace, message: {role: "user"|"system", content, name?}}``
    → ``({}, applied_through_seq)``: the message is appended to the thread's
    ``messages`` by a run of its assistant queued after the active one
    (``multitask_strategy: "enqueue"``), so a running agent sees it on its next
    turn. Only the root namespace takes input. ``user`` and ``headers`` go to the run.

    Raises:
        CommandError: ``invalid_argument``, ``no_such_namespace``, ``no_such_run``.
    """
    ns = _namespace(params, required=False)
    if ns:
        raise CommandError("no_such_namespace", "input.inject takes messages at the root namespace ([]) only")
    message = params.get("message")
    if not isinstance(message, dict):
        raise CommandError("invalid_argument", "input.inject requires params.message")
    if message.get("role") not in ("user", "system"):
        raise CommandError("invalid_argument", "params.message.role must be 'user' or 'system'")
    if not isinstance(message.get("content"), str):
        raise CommandError("invalid_argument", "params.message.content must be a string")
    if message.get("name") is not None and not isinstance(message["name"], str):
        raise CommandError("invalid_argument", "params.message.name must be a string")
    assistant = await _assistant_of(services, thread_id)
    seq = await settle()
    msg = {k: message[k] for k in ("role", "content", "name") if message.get(k) is not None}
    body = {**run_body(params), "assistant_id": assistant["assistant_id"], "input": {"messages": [msg]},
            "multitask_strategy": "enqueue"}
    await create_run(services, thread_id, assistant, body, user=user, headers=headers)
    return {}, seq
