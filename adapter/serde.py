"""Serialisation.

* :func:`dumps` / :func:`loads`: JSON for the REST API and SSE ``data:`` lines, with
  the conversions of langgraph-api 0.16.7's JSON encoder, so every body and every
  stream mode carries the same JSON as the official server (field order aside):
  LangChain messages, documents and other pydantic models become their
  ``model_dump()`` dicts (``{"type": "ai", "content": …}``), dataclasses
  (``Interrupt``, ``Command``) their fields, a ``Send`` ``{"node", "args"}``, bytes
  base64 text, UUIDs and paths strings, sets lists, a ``timedelta`` its seconds, a
  ``Decimal`` an int or float, an exception ``{"error", "message"}`` (the message only
  for the kinds langgraph-api shows, see :data:`_SHOWN_ERRORS`), anything else
  ``null``; NUL characters become U+FFFD and lone surrogates ``?``.
* :func:`pack` / :func:`unpack`: LangGraph's own checkpoint serializer
  (``JsonPlusSerializer``), for node writes travelling between the worker's driver and
  node attempts as Temporal payloads. Base64 text keeps payloads JSON.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import ipaddress
import re
import uuid
from datetime import timedelta, timezone, tzinfo
from decimal import Decimal
from pathlib import PurePath
from typing import Any, Mapping

import orjson
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.errors import EmptyInputError, GraphBubbleUp, InvalidUpdateError, TaskNotFound
from langgraph.types import Send

__all__ = ["dumps", "loads", "pack", "to_jsonable", "unpack"]

_SERDE = JsonPlusSerializer()

#: exceptions whose message langgraph-api 0.16.7 shows in JSON; any other exception
#: is shown as ``"An internal error occurred"`` (its type name is always shown)
_SHOWN_ERRORS: tuple[type[BaseException], ...] = (
    ValueError, TypeError, KeyError, AttributeError, RuntimeError, RecursionError, TimeoutError,
    InvalidUpdateError, GraphBubbleUp, EmptyInputError, TaskNotFound,
)
try:  # an HTTP error raised inside a graph shows its message too
    from starlette.exceptions import HTTPException as _HTTPException

    _SHOWN_ERRORS += (_HTTPException,)
except ImportError:  # pragma: no cover - starlette comes with the API
    pass

_IP_TYPES = (
    ipaddress.IPv4Address, ipaddress.IPv4Interface, ipaddress.IPv4Network,
    ipaddress.IPv6Address, ipaddress.IPv6Interface, ipaddress.IPv6Network,
)


def _decimal(obj: Decimal) -> int | float:
    # an integral Decimal (exponent >= 0) is an int, any other a float
    exponent = obj.as_tuple().exponent
    return int(obj) if isinstance(exponent, int) and exponent >= 0 else float(obj)


def _default(obj: Any) -> Any:
    """What JSON carries for a value orjson has no encoding for."""
    if isinstance(obj, Send):
        return {"node": obj.node, "args": obj.arg}
    if isinstance(obj, type):
        return None
    if callable(getattr(obj, "model_dump", None)):
        return obj.model_dump()
    if callable(getattr(obj, "dict", None)):
        return obj.dict()
    if callable(getattr(obj, "_asdict", None)):
        return obj._asdict()
    if dataclasses.is_dataclass(obj):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, BaseException):
        message = str(obj) if isinstance(obj, _SHOWN_ERRORS) else "An internal error occurred"
        return {"error": type(obj).__name__, "message": message}
    if isinstance(obj, (set, frozenset, collections.deque)):
        return list(obj)
    if isinstance(obj, (timezone, tzinfo)):
        return obj.tzname(None)
    if isinstance(obj, timedelta):
        return obj.total_seconds()
    if isinstance(obj, Decimal):
        return _decimal(obj)
    if isinstance(obj, (uuid.UUID, PurePath, *_IP_TYPES)):
        return str(obj)
    if isinstance(obj, re.Pattern):
        return obj.pattern
    if isinstance(obj, (bytes, bytearray)):
        return base64.b64encode(obj).decode()
    return None


# orjson encodes dataclasses, enums, datetimes (naive ones without an offset), UUIDs
# and numpy arrays itself; ``Interrupt``/``Command`` are dataclasses
_OPTS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY

_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _without_surrogates(obj: Any) -> Any:
    if isinstance(obj, str):
        return _SURROGATE.sub("?", obj)
    if isinstance(obj, Mapping):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in obj.items()}
    if isinstance(obj, tuple) and callable(getattr(obj, "_asdict", None)):
        return {k: _without_surrogates(v) for k, v in obj._asdict().items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [_without_surrogates(v) for v in obj]
    return obj


def dumps(obj: Any, *, wire: bool = True) -> bytes:
    """JSON bytes for API bodies and SSE data (one line, UTF-8).

    Args:
        obj: the value.
        wire: replace NUL characters with U+FFFD as langgraph-api 0.16.7 sends them;
            ``False`` keeps them (the record store keeps values exactly as written).

    Raises:
        orjson.JSONEncodeError: (a ``TypeError``) ``obj`` holds what JSON cannot carry,
            e.g. an integer beyond 64 bits, a dict key that is a tuple, or nesting
            deeper than 255 levels.
    """
    try:
        out = orjson.dumps(obj, default=_default, option=_OPTS)
    except TypeError as exc:
        if "surrogates not allowed" not in str(exc):
            raise
        out = orjson.dumps(_without_surrogates(obj), default=_default, option=_OPTS)
    if wire and b"\\u0000" in out:
        # NUL (escaped by orjson) becomes U+FFFD, as langgraph-api 0.16.7 sends it
        out = out.replace(b"\\\\u0000", b"\\\\ufffd").replace(b"\\u0000", b"\\ufffd")
    return out


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
