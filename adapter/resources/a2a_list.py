"""``ListTasks``: an assistant's A2A tasks, as langgraph-api 0.16.7 lists them (for
``api/routes/a2a.py``): the tasks (:mod:`evergraph.adapter.resources.a2a_tasks`) on
the thread ``contextId``, or on the 1000 most recently updated threads the caller
may see, newest first, paged by offset (``pageToken`` is the decimal offset of the
next page, ``""`` after the last).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from evergraph.adapter.resources import a2a_tasks as tasks
from evergraph.adapter.resources.a2a import A2AAccess
from evergraph.adapter.resources.a2a_wire import (
    INVALID_PARAMS,
    STATES_V1,
    A2AError,
    HistoryScope,
    check_history_length,
    history_scope,
)

__all__ = ["list_tasks"]


@dataclass(frozen=True)
class _ListQuery:
    size: int
    history_length: int | None
    scope: HistoryScope
    status: str | None
    after: str | None
    offset: int
    context_id: str | None
    artifacts: bool


def _is_timestamp(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _list_query(params: dict[str, Any], scope_header: str | None) -> _ListQuery:
    size = params.get("pageSize")
    if size is not None and (not isinstance(size, int) or not 1 <= size <= 100):
        raise A2AError(INVALID_PARAMS, "pageSize must be an integer between 1 and 100.")
    history_length = check_history_length(params.get("historyLength"))
    scope = history_scope(params, scope_header)
    status = params.get("status")
    status = STATES_V1.get(status, status) if isinstance(status, str) else status
    if status is not None and status not in STATES_V1.values():
        raise A2AError(INVALID_PARAMS, f"Invalid status value: '{status}'.")
    after = params.get("statusTimestampAfter")
    if after is not None and not _is_timestamp(after):
        raise A2AError(INVALID_PARAMS, "statusTimestampAfter must be a valid ISO 8601 timestamp.")
    token = params.get("pageToken")
    if token is not None and not isinstance(token, str):
        raise A2AError(INVALID_PARAMS, "pageToken must be a string.")
    try:
        offset = max(int(token), 0) if token else 0
    except ValueError:
        raise A2AError(INVALID_PARAMS, "Invalid pageToken.") from None
    context_id = params.get("contextId")
    if context_id is not None and not isinstance(context_id, str):
        raise A2AError(INVALID_PARAMS, "contextId must be a string.")
    return _ListQuery(
        size or 50, history_length, scope, status, after, offset, context_id,
        bool(params.get("includeArtifacts", False)),
    )


async def list_tasks(access: A2AAccess, params: dict[str, Any], assistant_id: str) -> dict[str, Any]:
    """``ListTasks``: the assistant's tasks the caller may see, newest first, a page
    of ``pageSize`` (default 50) from the offset ``pageToken``; filters
    ``contextId``, ``status`` (0.x or 1.0 names), ``statusTimestampAfter``;
    ``history`` per ``historyLength``/``historyScope``; ``artifacts`` empty unless
    ``includeArtifacts``.

    Raises:
        A2AError: -32602 naming the bad param.
    """
    query = _list_query(params, access.scope_header)
    flt = await access.authorize("threads", "search", {
        "metadata": {}, "values": {}, "status": None, "limit": 1000, "offset": 0,
        "ids": [query.context_id] if query.context_id else None,
    })
    found = await tasks.list_tasks(access.services, assistant_id=assistant_id, context_id=query.context_id, flt=flt)
    found = [
        item for item in found
        if (query.status is None or item[0]["status"]["state"] == query.status)
        and (query.after is None or item[0]["status"]["timestamp"] >= query.after)
    ]
    page = found[query.offset : query.offset + query.size]
    listed = []
    for task, run, starts in page:
        if not query.artifacts:
            task["artifacts"] = []
        if query.history_length != 0:
            task["history"] = await tasks.task_history(
                access.services, task["id"], task["contextId"], run,
                history_length=query.history_length, scope=query.scope, task_ids=starts,
            )
        listed.append(task)
    following = query.offset + len(listed)
    return {
        "result": {
            "tasks": listed,
            "totalSize": len(found),
            "pageSize": len(listed),
            "nextPageToken": str(following) if following < len(found) else "",
        }
    }
