"""``SendStreamingMessage`` (``message/stream``): a message's run as the A2A events
langgraph-api 0.16.7 streams (``api/routes/a2a.py`` frames each as one SSE
``message`` event holding a JSON-RPC response):

1. ``{"task": Task}``, ``submitted``, its history the message sent;
2. a ``status-update`` (``working``, ``final: false``) per ``messages`` stream event
   with public text (the reply so far) or correlated tool results (a data part);
3. at the end, for a reply, an ``artifact-update`` (``Assistant Response``,
   ``append: false``, ``lastChunk: true``); for interrupts, one ``Interrupt``
   ``artifact-update``;
4. the final ``status-update`` (``final: true``): ``completed``,
   ``input-required``, ``failed`` (with the error's message) or ``canceled``
   (``tasks/cancel`` stopped the run).

No bare ``working`` update precedes the first message: langgraph-api 0.16.7 spends
the run's first ``metadata`` event on learning the run id, so none reaches its
clients. A message refused before the run starts yields one ``{"error": ...}``
(the codes of :func:`evergraph.adapter.resources.a2a.prepare`); a run that cannot be
created, -32603 as in langgraph-api 0.16.7.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from evergraph.adapter.resources import a2a_tasks as tasks
from evergraph.adapter.resources import runs
from evergraph.adapter.resources.a2a import A2AAccess, Prepared, create_run, prepare
from evergraph.adapter.resources.a2a_output import (
    interrupt_artifact,
    response_artifact_update,
    response_parts,
    stream_message_update,
)
from evergraph.adapter.resources.a2a_wire import (
    INTERNAL_ERROR,
    A2AError,
    agent_message,
    now,
)

__all__ = ["stream_message"]

logger = logging.getLogger(__name__)

_INTERNAL = {"error": {"code": INTERNAL_ERROR, "message": "Internal server error"}}


async def stream_message(access: A2AAccess, params: dict[str, Any], assistant_id: str) -> AsyncIterator[dict[str, Any]]:
    """The answers of a ``SendStreamingMessage``, each ``{"result": event}`` or, once,
    ``{"error": {"code", "message"}}``; roles and states in A2A 1.0 spelling."""
    try:
        prep = await prepare(access, params, assistant_id, streaming=True)
    except A2AError as exc:
        yield {"error": exc.body()}
        return
    try:
        run = await create_run(access, prep, ["messages", "values"])
    except Exception:
        logger.exception("A2A message/stream could not start a run for assistant %s", assistant_id)
        yield _INTERNAL
        return
    try:
        async for event in _events(access, prep, run, assistant_id):
            yield {"result": event}
    except A2AError as exc:
        yield {"error": exc.body()}


async def _data_only_turn(access: A2AAccess, prep: Prepared, context_id: str, run_id: str) -> list[Any] | None:
    """The messages the run added, when its message had no text to start a turn."""
    if prep.command is not None or prep.sends_messages:
        return None
    return (await tasks.run_messages(access.services, context_id, run_id)).added


async def _events(access: A2AAccess, prep: Prepared, run: dict[str, Any], assistant_id: str) -> AsyncIterator[dict[str, Any]]:
    services = access.services
    context_id, run_id = str(run["thread_id"]), str(run["run_id"])
    task_id = prep.task_id or tasks.make_task_id(context_id, run_id)
    message = {"kind": "message", **prep.message, "taskId": task_id, "contextId": context_id}
    yield {
        "task": {
            "kind": "task",
            "id": task_id,
            "contextId": context_id,
            "history": [message],
            "status": {"state": "TASK_STATE_SUBMITTED", "timestamp": now()},
        }
    }
    result, err = None, None
    async for event in runs.run_events(services, run, after=None, from_start=True):
        name = event.event.split("|")[0]
        if name == "error":
            err = orjson.loads(event.data)
        elif name == "values":
            err, result = None, orjson.loads(event.data)
        elif name.startswith("messages"):
            err = None
            update = stream_message_update(orjson.loads(event.data), task_id=task_id, context_id=context_id)
            if update is not None:
                yield update
    # the run's join body settles the outcome (values, ``__interrupt__`` or ``__error__``)
    final = orjson.loads(await runs.wait_result(services, run))
    if isinstance(final, dict) and "__error__" in final:
        error = final["__error__"]
        err = err or {"message": error.get("message") if isinstance(error, dict) else error}
    elif final is not None:
        result = final
    interrupted = isinstance(result, dict) and "__interrupt__" in result
    record = await services.records.get_run(run_id)
    status: dict[str, Any]
    if record is not None and record["status"] == "interrupted":  # cancelled (tasks/cancel)
        status, interrupted = {"state": "TASK_STATE_CANCELED"}, False
    elif err:
        text = err.get("message") if isinstance(err, dict) else err
        status = {
            "state": "TASK_STATE_FAILED",
            "message": agent_message([{"kind": "text", "text": str(text or "")}], task_id, context_id),
        }
    elif interrupted:
        status = {"state": "TASK_STATE_INPUT_REQUIRED"}
    else:
        status = {"state": "TASK_STATE_COMPLETED"}
        if isinstance(result, dict):  # a run that left no values ends on the bare status
            parts = response_parts(result, await _data_only_turn(access, prep, context_id, run_id))
            yield response_artifact_update(parts, task_id=task_id, context_id=context_id, assistant_id=assistant_id)
    if interrupted:
        yield {"taskId": task_id, "contextId": context_id, "kind": "artifact-update", "artifact": interrupt_artifact(result["__interrupt__"])}
    status["timestamp"] = now()
    yield {"taskId": task_id, "contextId": context_id, "kind": "status-update", "status": status, "final": True}
