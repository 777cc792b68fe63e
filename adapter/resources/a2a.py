"""A2A (Agent2Agent) on Evergraph's assistants, threads and runs: the JSON-RPC methods
of ``/a2a/{assistant_id}`` as langgraph-api 0.16.7 answers them, without HTTP
(``api/routes/a2a.py`` parses the requests, calls these and frames the answers).

- ``SendMessage`` (``message/send``) runs the assistant on the message's context
  (a thread, created when missing) and answers with the task when the run ends;
  ``SendStreamingMessage`` (``message/stream``) is :mod:`evergraph.adapter.resources.a2a_stream`.
- ``GetTask`` (``tasks/get``), ``CancelTask`` (``tasks/cancel``) and
  ``GetExtendedAgentCard`` (the public card); ``ListTasks`` is
  :mod:`evergraph.adapter.resources.a2a_list`. Nothing else: push notifications
  (the card says ``pushNotifications: false``) and ``tasks/resubscribe`` are
  unknown methods (-32601), as in langgraph-api 0.16.7.
- Every method raises :class:`~evergraph.adapter.resources.a2a_wire.A2AError` for
  a JSON-RPC error; a run is created through the caller's :class:`A2AAccess` (the
  REST API's own path, authorization included), and reads apply the auth filter it
  returns, so a task of a thread the caller may not see is not found (-32001).

The mappings live beside this module: ``a2a_input`` (message -> graph input),
``a2a_output`` (graph output -> artifacts, history), ``a2a_tasks`` (tasks as runs),
``a2a_card`` (the agent card), ``a2a_wire`` (codes, states, shared checks).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from evergraph.adapter.errors import EvergraphError, NotFound, Refused
from evergraph.adapter.execution.runconfig import COMPAT_API_VERSION
from evergraph.adapter.resources import a2a_tasks as tasks
from evergraph.adapter.resources import runs, threads
from evergraph.adapter.resources.a2a_card import agent_card
from evergraph.adapter.resources.a2a_input import (
    PartsError,
    message_input,
    resume_of_parts,
    supports_messages,
    text_of_parts,
)
from evergraph.adapter.resources.a2a_output import task_from_result
from evergraph.adapter.resources.a2a_wire import (
    CONTENT_TYPE_NOT_SUPPORTED,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    TASK_NOT_CANCELABLE,
    TASK_NOT_FOUND,
    TERMINAL_STATES,
    UNSUPPORTED_OPERATION,
    A2AError,
    HistoryScope,
    agent_message,
    check_history_length,
    history_scope,
    now,
)
from evergraph.adapter.resources.assistants import assistant_schemas, get_assistant
from evergraph.adapter.services import Services

__all__ = [
    "A2AAccess",
    "Prepared",
    "cancel_task",
    "card",
    "create_run",
    "extended_card",
    "get_task",
    "prepare",
    "send_message",
]

logger = logging.getLogger(__name__)


class A2AAccess(Protocol):
    """What the A2A methods need of the request they serve (``api/routes/a2a.py``).

    Attributes:
        services: the server's services.
        scope_header: the ``LangGraph-A2A-History-Scope`` header (``None``: absent).
    """

    services: Services
    scope_header: str | None

    async def authorize(self, resource: str, action: str, value: dict[str, Any]) -> Any:
        """The auth filter of ``resource``.``action`` on ``value`` (``None``: none);
        raises when the auth handler refuses."""

    async def create_run(self, thread_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create a run on ``thread_id`` from a ``POST /threads/{id}/runs`` body, as
        that route does (authorization included); the run record.

        Raises:
            EvergraphError: as the route would (``NotFound`` for a thread or
                assistant the caller may not see); A2AError: the refusal of an
                auth handler."""


@dataclass
class Prepared:
    """A validated message: the run to create for it.

    Attributes:
        assistant: the assistant record; context_id: the thread of the run.
        task_id: the task the message continues (``None``: a new task, whose first
            message carries ``task_start_id``).
        task_ids: task ids of the context by their ``task_start_id``.
        input, command: the run's ``input`` and ``command``.
        history_length, scope: what history the answer carries.
        message: the A2A message as sent.
    """

    assistant: dict[str, Any]
    context_id: str
    task_id: str | None
    task_start_id: str | None
    input: dict[str, Any] | None
    command: dict[str, Any] | None
    context: Any
    message: dict[str, Any]
    history_length: int | None = None
    scope: HistoryScope = "context"
    task_ids: dict[str, str] = field(default_factory=dict)

    @property
    def sends_messages(self) -> bool:
        """Whether the run's input carries messages."""
        return "messages" in (self.input or {})


# ------------------------------------------------------------------ assistants


async def _assistant(access: A2AAccess, assistant_id: str) -> dict[str, Any]:
    """The assistant record, the caller's auth filter applied.

    Raises:
        A2AError: -32602 ``Assistant '<id>' not found`` (or ``Failed to get
            assistant '<id>': ...`` for any other failure).
    """
    try:
        flt = await access.authorize("assistants", "read", {"assistant_id": assistant_id})
        return await get_assistant(access.services, assistant_id, flt)
    except NotFound:
        raise A2AError(INVALID_PARAMS, f"Assistant '{assistant_id}' not found") from None
    except EvergraphError as exc:
        raise A2AError(INVALID_PARAMS, f"Failed to get assistant '{assistant_id}': {exc.message}") from None
    except Exception as exc:  # noqa: BLE001 - an auth handler's refusal, named as langgraph-api 0.16.7 names it
        raise A2AError(INVALID_PARAMS, f"Failed to get assistant '{assistant_id}': {exc}") from None


async def card(access: A2AAccess, assistant_id: str, base_url: str) -> dict[str, Any]:
    """The agent card of ``assistant_id`` (:func:`~evergraph.adapter.resources.a2a_card.agent_card`),
    its URLs under ``base_url`` (the server's public URL, no trailing slash).

    Raises:
        A2AError: -32602 for an assistant that cannot be read, or malformed
            ``metadata.a2a`` modes.
    """
    assistant = await _assistant(access, assistant_id)
    return agent_card(assistant, await assistant_schemas(access.services, assistant), base_url, COMPAT_API_VERSION)


async def extended_card(access: A2AAccess, assistant_id: str, base_url: str) -> dict[str, Any]:
    """``GetExtendedAgentCard``: the public card (there is no extended one)."""
    return await card(access, assistant_id, base_url)


# ------------------------------------------------------------------ message/send


async def _thread_interrupted(services: Services, context_id: str) -> bool:
    thread = await services.records.get_thread(context_id)
    return thread is not None and thread.get("status") == "interrupted"


def _message_fields(params: dict[str, Any]) -> tuple[dict[str, Any], str, str, list[Any]]:
    message = params.get("message")
    if not message or not isinstance(message, dict):
        raise A2AError(INVALID_PARAMS, "Missing 'message' in params")
    if not message.get("messageId"):
        raise A2AError(INVALID_PARAMS, "Missing required 'messageId' in message")
    if not message.get("role"):
        raise A2AError(INVALID_PARAMS, "Missing required 'role' in message")
    parts = message.get("parts", [])
    if not isinstance(parts, list):
        raise A2AError(INVALID_PARAMS, "Invalid params: 'parts' must be an array")
    if not parts:
        raise A2AError(INVALID_PARAMS, "Message must contain at least one part")
    return message, message["messageId"], message["role"], parts


async def _resume(
    services: Services, parts: list[Any], graph_input: dict[str, Any], *, context_id: str | None, task_id: str | None
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """``(command, input)``: a data part ``{"resume": v}`` resumes the task's
    ``interrupt()`` with ``v``; the text of a message to a task whose thread waits on
    one resumes it with that text; otherwise no command."""
    try:
        found, value = resume_of_parts(parts)
    except ValueError as exc:
        raise A2AError(INVALID_PARAMS, str(exc)) from None
    if found:
        if not context_id or not task_id:
            raise A2AError(INVALID_PARAMS, "contextId and taskId are required when resuming a task")
        if not await _thread_interrupted(services, context_id):
            raise A2AError(INVALID_PARAMS, "Task is not awaiting input")
        return {"resume": value}, {k: v for k, v in graph_input.items() if k != "resume"}
    text = text_of_parts(parts)
    if text is None or not context_id or not task_id or not await _thread_interrupted(services, context_id):
        return None, graph_input
    return {"resume": text}, {k: v for k, v in graph_input.items() if k != "messages"}


async def prepare(access: A2AAccess, params: dict[str, Any], assistant_id: str, *, streaming: bool = False) -> Prepared:
    """Validate a ``SendMessage``/``SendStreamingMessage`` request (``params``: its
    ``MessageSendParams``) and work out the run it asks for.

    Args:
        streaming: for ``SendStreamingMessage``, which (as in langgraph-api 0.16.7)
            reads no ``configuration``.

    Raises:
        A2AError: -32602 for a missing or malformed field, an assistant that cannot
            be read or whose graph takes no ``messages`` for text/file parts, a
            resume without a waiting task; -32001 an unknown ``taskId``; -32004 a
            task that has ended; -32005 parts that cannot become graph input.
    """
    history_length, scope = None, "context"
    if not streaming:
        configuration = params.get("configuration")
        configuration = {} if configuration is None else configuration
        if not isinstance(configuration, dict):
            raise A2AError(INVALID_PARAMS, "Invalid params: 'configuration' must be an object")
        history_length = check_history_length(configuration.get("historyLength"))
        scope = history_scope(configuration, access.scope_header)
    message, message_id, role, parts = _message_fields(params)
    assistant = await _assistant(access, assistant_id)
    try:
        supports_messages(assistant, await assistant_schemas(access.services, assistant), parts)
    except ValueError as exc:
        raise A2AError(INVALID_PARAMS, str(exc)) from None
    requested_context, task_id = message.get("contextId"), message.get("taskId")
    if requested_context is not None and not isinstance(requested_context, str):
        raise A2AError(INVALID_PARAMS, "contextId must be a string")
    if task_id is not None and not isinstance(task_id, str):
        raise A2AError(INVALID_PARAMS, "taskId must be a string")
    task_ids: dict[str, str] = {}
    task_start_id = None
    if task_id is None:
        context_id = requested_context or str(uuid.uuid4())
        task_start_id = str(uuid.uuid4())
    else:
        task = await _find(access, task_id, requested_context, assistant_id, "read")
        if task is None:
            raise A2AError(TASK_NOT_FOUND, f"Task not found: {task_id}")
        if task.state in TERMINAL_STATES:
            raise A2AError(UNSUPPORTED_OPERATION, "A terminal task cannot accept another message")
        context_id, task_ids = task.context_id, task.task_ids_by_start_id
    try:
        graph_input = message_input(parts, role, message_id, task_id=task_id, task_start_id=task_start_id)
    except PartsError as exc:
        raise A2AError(CONTENT_TYPE_NOT_SUPPORTED, str(exc)) from None
    command = message.get("command")
    if command is not None and not isinstance(command, dict):
        raise A2AError(INVALID_PARAMS, "command must be an object")
    if command and command.get("resume") and not requested_context:
        raise A2AError(INVALID_PARAMS, "contextId is required when resuming a task with command.resume")
    if command and command.get("resume") and task_id is None:
        raise A2AError(INVALID_PARAMS, "taskId is required when resuming a task")
    if command is None:
        command, graph_input = await _resume(
            access.services, parts, graph_input,
            context_id=context_id if task_id is not None else requested_context, task_id=task_id,
        )
    return Prepared(
        assistant=assistant,
        context_id=context_id,
        task_id=task_id,
        task_start_id=task_start_id,
        input=None if command is not None and not graph_input else graph_input,
        command=command,
        context=params.get("context"),
        message=message,
        history_length=history_length,
        scope=scope,
        task_ids=task_ids,
    )


def _run_body(prep: Prepared, stream_mode: list[str] | None) -> dict[str, Any]:
    stamp = {
        **({"task_id": prep.task_id} if prep.task_id else {}),
        **({"task_start_id": prep.task_start_id} if prep.task_start_id else {}),
    }
    body: dict[str, Any] = {
        "assistant_id": str(prep.assistant["assistant_id"]),
        "input": prep.input,
        "command": prep.command,
        "metadata": {"a2a": stamp},
        "if_not_exists": "create",
    }
    if isinstance(prep.context, dict):
        body["context"] = prep.context
    if stream_mode:
        body["stream_mode"] = stream_mode
    return body


async def create_run(access: A2AAccess, prep: Prepared, stream_mode: list[str] | None = None) -> dict[str, Any]:
    """Create the run of a prepared message (``if_not_exists: create``, metadata
    ``{"a2a": {"task_id" | "task_start_id"}}``); the run record.

    Raises:
        A2AError: -32602 as langgraph-api 0.16.7 maps a refused run: a thread the
            caller may not see (``Thread '<id>' not found ...``, with ``data``), an
            invalid request, a refusal of the auth handler, any other failure.
    """
    assistant_id = str(prep.assistant["assistant_id"])
    try:
        uuid.UUID(prep.context_id)
    except ValueError:
        raise A2AError(INVALID_PARAMS, "Failed to create run: Invalid thread ID") from None
    try:
        return await access.create_run(prep.context_id, _run_body(prep, stream_mode))
    except NotFound as exc:
        if "thread" in exc.message.lower():
            raise A2AError(
                INVALID_PARAMS,
                f"Thread '{prep.context_id}' not found. Please create the thread first before sending messages to it.",
                {"thread_id": prep.context_id, "error_type": "thread_not_found"},
            ) from None
        raise A2AError(INVALID_PARAMS, f"Assistant '{assistant_id}' not found") from None
    except Refused as exc:
        raise A2AError(INVALID_PARAMS, f"Invalid request: {exc.message}") from None
    except EvergraphError as exc:
        raise A2AError(INVALID_PARAMS, f"Failed to create run: {exc.message}") from None


async def send_message(access: A2AAccess, params: dict[str, Any], assistant_id: str) -> dict[str, Any]:
    """``SendMessage``: run the message and answer, once the run ends, with
    ``{"result": {"task": Task}}``: its history (the context's, or the task's own with
    ``historyScope: task``), and its reply or interrupts as an artifact.

    Raises:
        A2AError: see :func:`prepare` and :func:`create_run`; -32006 for a reply
            that cannot be put into parts.
    """
    services = access.services
    prep = await prepare(access, params, assistant_id)
    run = await create_run(access, prep)
    context_id = str(run["thread_id"])
    task_id, task_ids = prep.task_id, dict(prep.task_ids)
    if task_id is None:
        task_id = tasks.make_task_id(context_id, str(run["run_id"]))
        task_ids = tasks.task_ids_by_start_id(await tasks.context_runs(services, context_id), context_id, assistant_id)
        task_ids.setdefault(prep.task_start_id or "", task_id)
    result = orjson.loads(await runs.wait_result(services, run))
    data_only = prep.command is None and not prep.sends_messages
    turn = None
    if data_only or (prep.scope == "task" and prep.history_length != 0 and not prep.sends_messages):
        # the run's own messages: a data-only message leaves no user message to start its turn
        added = await tasks.run_messages(services, context_id, str(run["run_id"]))
        result = {**(result if isinstance(result, dict) else {"value": result}), "messages": added.stamped(task_id)}
        turn = added.added if data_only else None
    task = task_from_result(
        result, task_id=task_id, context_id=context_id, assistant_id=assistant_id,
        history_length=prep.history_length, scope=prep.scope, task_ids_by_start_id=task_ids, turn=turn,
    )
    return {"result": task}


# ------------------------------------------------------------------ tasks/get, tasks/cancel


def _task_params(params: dict[str, Any]) -> tuple[str, str | None]:
    task_id, context_id = params.get("id"), params.get("contextId")
    if not task_id:
        raise A2AError(INVALID_PARAMS, "Missing required parameter: id (task_id)")
    if not isinstance(task_id, str) or (context_id is not None and not isinstance(context_id, str)):
        raise A2AError(INVALID_PARAMS, "Task id and contextId must be strings")
    return task_id, context_id


async def _find(
    access: A2AAccess, task_id: str, context_id: str | None, assistant_id: str, action: str
) -> tasks.A2ATask | None:
    thread_id = context_id or tasks.parse_task_id(task_id)[0]
    flt = await access.authorize("threads", action, {"thread_id": thread_id})
    return await tasks.resolve_task(
        access.services, task_id=task_id, context_id=context_id, assistant_id=assistant_id, flt=flt
    )


async def get_task(access: A2AAccess, params: dict[str, Any], assistant_id: str) -> dict[str, Any]:
    """``GetTask``: the task ``params["id"]`` (a ``"<context>:<run>"`` id, or a run id
    with ``contextId``) with its state and ``historyLength`` messages of its
    history (``historyScope`` ``context`` or ``task``).

    Raises:
        A2AError: -32602 bad params; -32001 no such task of this assistant that
            the caller may see; -32006 history that cannot be put into parts.
    """
    task_id, context_id = _task_params(params)
    task = await _find(access, task_id, context_id, assistant_id, "read")
    if task is None:
        where = f" in context '{context_id}'" if context_id else ""
        raise A2AError(TASK_NOT_FOUND, f"Task not found: {task_id}{where}")
    history_length = check_history_length(params.get("historyLength"))
    scope = history_scope(params, access.scope_header)
    body: dict[str, Any] = {
        "kind": "task",
        "id": task.task_id,
        "contextId": task.context_id,
        "status": {"state": task.state, "timestamp": task.timestamp},
    }
    if history_length != 0:
        try:
            body["history"] = await tasks.task_history(
                access.services, task.task_id, task.context_id, task.run,
                history_length=history_length, scope=scope, task_ids=task.task_ids_by_start_id,
            )
        except A2AError:
            raise
        except Exception:  # as langgraph-api 0.16.7: the task without its history
            logger.exception("A2A history of task %s could not be read", task_id)
            body["history"] = []
    if task.state == "TASK_STATE_COMPLETED":
        body["status"]["message"] = agent_message([{"kind": "text", "text": "Task completed successfully"}], task_id)
    elif task.state == "TASK_STATE_FAILED":
        text = f"Task failed with status: {task.run.get('status')}"
        body["status"]["message"] = agent_message([{"kind": "text", "text": text}], task_id)
    return {"result": body}


async def _cancel_waiting(access: A2AAccess, task: tasks.A2ATask, assistant_id: str) -> None:
    """Cancel a task waiting on ``interrupt()``: a cancelled run records the task's
    end (its latest run, so the task reads ``canceled``), and the thread's pending
    interrupt is closed (its state written as ``__end__``); the marker run is
    deleted again when that fails."""
    services = access.services
    meta = (task.run.get("metadata") or {}).get("a2a")
    stamp = {**(meta if isinstance(meta, dict) else {}), "task_id": tasks.task_id_of_run(task.context_id, task.run)}
    body = {"assistant_id": assistant_id, "metadata": {"a2a": stamp}, "after_seconds": 3600}
    marker = await access.create_run(task.context_id, body)
    try:
        await runs.cancel_runs(services, [marker])
        await runs.wait_stopped(services, marker["run_id"])
        await threads.update_state(services, task.context_id, values=None, as_node="__end__")
    except Exception:
        await runs.delete_run(services, marker)
        raise


async def cancel_task(access: A2AAccess, params: dict[str, Any], assistant_id: str) -> dict[str, Any]:
    """``CancelTask``: cancel the task's active run (waiting until it stopped), or, for
    a task waiting on ``interrupt()``, end the wait; the task, ``canceled``.

    Raises:
        A2AError: -32602 bad params; -32001 no such task; -32002 a task that has
            ended or has no active run; -32603 a cancellation that failed.
    """
    task_id, context_id = _task_params(params)
    try:
        task = await _find(access, task_id, context_id, assistant_id, "update")
    except Exception:
        logger.exception("A2A task %s could not be resolved for cancellation", task_id)
        raise A2AError(INTERNAL_ERROR, "Failed to check task status") from None
    if task is None:
        raise A2AError(TASK_NOT_FOUND, f"Task not found: {task_id}")
    if task.state in TERMINAL_STATES:
        raise A2AError(TASK_NOT_CANCELABLE, "Task is not cancelable in its current state")
    if task.state != "TASK_STATE_INPUT_REQUIRED" and task.run.get("status") not in ("pending", "running"):
        raise A2AError(TASK_NOT_CANCELABLE, "Task has no active run to cancel")
    try:
        if task.state == "TASK_STATE_INPUT_REQUIRED":
            await _cancel_waiting(access, task, assistant_id)
        else:
            try:
                await runs.cancel_runs(access.services, [task.run])
            except NotFound:
                pass  # it ended meanwhile
            await runs.wait_stopped(access.services, task.run["run_id"])
    except Exception as exc:
        logger.exception("A2A task %s could not be cancelled", task_id)
        detail = exc.message if isinstance(exc, (EvergraphError, A2AError)) else str(exc)
        raise A2AError(INTERNAL_ERROR, f"Failed to cancel task: {detail}") from None
    message = agent_message([{"kind": "text", "text": "Task was canceled"}], task_id)
    return {
        "result": {
            "kind": "task",
            "id": task_id,
            "contextId": task.context_id,
            "status": {"state": "TASK_STATE_CANCELED", "timestamp": now(), "message": message},
        }
    }
