"""A2A message -> graph input, as langgraph-api 0.16.7 maps it (used by
:mod:`evergraph.adapter.resources.a2a`).

A message's text parts become one ``{"role": "human", "content": ...}`` message each
under the graph's ``messages`` key (one message of content blocks when a file part is
present; a file's ``uri`` is passed on as a URL, never fetched); data parts' objects
become top-level input keys. A data part ``{"resume": value}``, or the text of a
message to a task waiting on ``interrupt()``, resumes it (:func:`resume_of_parts`,
:func:`text_of_parts`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["PartsError", "message_input", "resume_of_parts", "supports_messages", "text_of_parts"]


class PartsError(ValueError):
    """A message's parts cannot be turned into graph input (A2A -32005)."""


def supports_messages(assistant: dict[str, Any], schemas: dict[str, Any], parts: list[Any]) -> None:
    """Check that the assistant's graph takes ``messages`` when ``parts`` has text or
    file parts.

    Args:
        assistant: the assistant record; schemas: its ``/schemas`` body.

    Raises:
        ValueError: the graph has no input schema, or one without ``messages`` (the
            message names the fields it has).
    """
    if not any(isinstance(p, dict) and ("text" in p or "file" in p) for p in parts):
        return
    assistant_id = assistant["assistant_id"]
    schema = schemas.get("input_schema") or schemas.get("state_schema")
    if not schema:
        raise ValueError(
            f"Assistant '{assistant_id}' has no input schema defined. A2A conversational agents using text or "
            "file parts must have an input schema with a 'messages' field."
        )
    properties = schema.get("properties") or {}
    if "messages" not in properties:
        raise ValueError(
            f"Assistant '{assistant_id}' (graph '{assistant['graph_id']}') does not support A2A conversational "
            "messages. Graph input schema must include a 'messages' field to accept text or file parts. "
            f"Available input fields: {list(properties)}"
        )


def _file_block(part: dict[str, Any]) -> dict[str, Any]:
    file = part.get("file")
    if not isinstance(file, dict):
        raise PartsError("FilePart must contain a 'file' object with 'bytes' or 'uri'.")
    data, uri = file.get("bytes"), file.get("uri")
    if data is None and uri is None:
        raise PartsError("FilePart 'file' must contain either 'bytes' or 'uri'.")
    if data is not None and uri is not None:
        raise PartsError("FilePart 'file' must contain only one of 'bytes' or 'uri'.")
    mime = file.get("mimeType")
    top = mime.split("/", 1)[0].strip().lower() if isinstance(mime, str) else ""
    block: dict[str, Any] = {"type": top if top in ("image", "audio", "video") else "file"}
    block["base64" if data is not None else "url"] = data if data is not None else uri
    if mime:
        block["mime_type"] = mime
    if file.get("name"):
        block["extras"] = {"filename": file["name"]}
    return block


def message_input(
    parts: list[Any], role: str, message_id: str, *, task_id: str | None = None, task_start_id: str | None = None
) -> dict[str, Any]:
    """The graph input of an A2A message: text parts as messages under ``messages``
    (one message of content blocks when a file part is present), data parts' objects
    merged in as top-level keys. The messages carry ``additional_kwargs.a2a`` with
    ``task_id`` / ``task_start_id`` (provenance for
    :func:`evergraph.adapter.resources.a2a_output.to_history`).

    Args:
        parts: the message's parts (``{"text"}``, ``{"file"}``, ``{"data"}``).
        role: ``ROLE_USER``/``user`` or ``ROLE_AGENT``/``agent``.

    Raises:
        PartsError: a part is not an object, has several kinds, an unknown kind, a
            data part that is not an object, or no usable part at all.
    """
    graph_role = "human" if role in ("ROLE_USER", "user") else "assistant"
    with_blocks = any(isinstance(p, dict) and "file" in p for p in parts)
    messages: list[dict[str, Any]] = []
    blocks: list[dict[str, Any]] = []
    data: dict[str, Any] = {}
    for part in parts:
        if not isinstance(part, dict):
            raise PartsError("Each message part must be an object. A2A agents support 'text', 'data', and 'file' parts only.")
        kinds = [k for k in ("text", "file", "data") if k in part]
        if len(kinds) > 1:
            raise PartsError(f"Each message part must contain exactly one of 'text', 'file', or 'data'. Got multiple: {kinds}.")
        if "text" in part:
            if with_blocks:
                blocks.append({"type": "text", "text": part["text"]})
            else:
                messages.append({"role": graph_role, "content": part["text"], "id": message_id})
        elif "file" in part:
            blocks.append(_file_block(part))
        elif "data" in part:
            if not isinstance(part["data"], dict):
                raise PartsError("DataPart must contain a JSON object in the 'data' field")
            data.update(part["data"])
        else:
            raise PartsError("Unsupported part type. A2A agents support 'text', 'data', and 'file' parts only.")
    if with_blocks:
        messages.append({"role": graph_role, "content": blocks, "id": message_id})
    if task_id or task_start_id:
        stamp = {**({"task_id": task_id} if task_id else {}), **({"task_start_id": task_start_id} if task_start_id else {})}
        for message in messages:
            message["additional_kwargs"] = {"a2a": stamp}
    if not messages and not data:
        raise PartsError("Message must contain at least one valid text, data, or file part")
    return {**({"messages": messages} if messages else {}), **data}


def text_of_parts(parts: list[Any]) -> str | None:
    """The text parts of a message joined by newlines (``None`` without any)."""
    texts = [p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)]
    return "\n".join(texts) if texts else None


def resume_of_parts(parts: list[Any]) -> tuple[bool, Any]:
    """``(found, value)`` of a ``{"data": {"resume": value}}`` part.

    Raises:
        ValueError: more than one such part.
    """
    values = [p["data"]["resume"] for p in parts if isinstance(p, dict) and isinstance(p.get("data"), dict) and "resume" in p["data"]]
    if len(values) > 1:
        raise ValueError("Only one resume value is allowed in data parts")
    # as in langgraph-api 0.16.7, ``{"resume": null}`` resumes nothing
    return (True, values[0]) if values and values[0] is not None else (False, None)
