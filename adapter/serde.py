"""Serialisation.

* :func:`dumps` / :func:`loads`: JSON for the REST API and SSE ``data:`` lines. LangChain
  messages and other pydantic models become their ``model_dump()`` dicts
  (``{"type": "ai", "content": …}``), dataclasses (``Interrupt``, ``Send``) their fields,
  as in langgraph-api's responses.
* :func:`pack` / :func:`unpack`: LangGraph's own checkpoint serializer
  (``JsonPlusSerializer``), for node writes travelling between the worker's driver and
  node attempts as Temporal payloads. Base64 text keeps payloads JSON.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import BaseModel

__all__ = ["dumps", "loads", "pack", "to_jsonable", "unpack"]

_SERDE = JsonPlusSerializer()


def _default(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, datetime):
        if obj.tzinfo is None:
            obj = obj.replace(tzinfo=timezone.utc)
        return obj.isoformat()
    if isinstance(obj, (date,)):
        return obj.isoformat()
    if isinstance(obj, timedelta):
        return obj.total_seconds()
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if isinstance(obj, Decimal):
        return float(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, bytes):
        return obj.decode("utf-8", errors="replace")
    if isinstance(obj, BaseException):
        return {"error": type(obj).__name__, "message": str(obj)}
    if isinstance(obj, type):
        return None
    if hasattr(obj, "model_dump"):
        return obj.model_dump()
    if hasattr(obj, "_asdict"):
        return obj._asdict()
    return repr(obj)


_OPTS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_SERIALIZE_NUMPY


def dumps(obj: Any) -> bytes:
    """JSON bytes for API bodies and SSE data (one line, UTF-8).

    Raises:
        orjson.JSONEncodeError: (a ``TypeError``) ``obj`` holds what JSON cannot carry,
            e.g. an integer beyond 64 bits, a dict key that is a tuple, or nesting
            deeper than 255 levels.
    """
    return orjson.dumps(obj, default=_default, option=_OPTS)


def loads(data: bytes | str) -> Any:
    """Parse JSON bytes or text.

    Raises:
        orjson.JSONDecodeError: (a ``ValueError``) ``data`` is not valid JSON.
    """
    return orjson.loads(data)


def to_jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON types (dict/list/str/number/bool/None).

    Raises:
        orjson.JSONEncodeError: as :func:`dumps`.
    """
    return orjson.loads(dumps(obj))


def pack(obj: Any) -> str:
    """Encode ``obj`` with LangGraph's serializer into base64 text (``type:base64``).

    Raises:
        Exception: whatever LangGraph's ``JsonPlusSerializer`` raises for a value it
            cannot encode.
    """
    type_, data = _SERDE.dumps_typed(obj)
    return f"{type_}:{base64.b64encode(data).decode()}"


def unpack(text: str) -> Any:
    """Inverse of :func:`pack`.

    Raises:
        binascii.Error: ``text`` is not base64 after its ``type:`` prefix.
        Exception: whatever LangGraph's ``JsonPlusSerializer`` raises for data it
            cannot decode.
    """
    type_, _, b64 = text.partition(":")
    return _SERDE.loads_typed((type_, base64.b64decode(b64)))
