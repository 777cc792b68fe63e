"""Error responses in langgraph-api 0.16.7's shape: ``{"detail": msg}``.

Every 4xx names what was wrong with which input. This module alone maps the core's
domain errors (``adapter/errors.py``) to HTTP status codes (docs/architecture.md,
"The layers").
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi import utils as _openapi_utils
from fastapi.responses import JSONResponse

from evergraph.adapter.errors import Conflict, EvergraphError, Invalid, NotFound, Refused, Unavailable

__all__ = [
    "STATUS_OF",
    "ApiError",
    "domain_error_handler",
    "not_found",
    "status_of",
    "validation_handler",
]

#: HTTP status of each kind of domain error (evergraph.adapter.errors)
STATUS_OF: dict[type[EvergraphError], int] = {
    NotFound: 404,
    Conflict: 409,
    Refused: 400,
    Invalid: 422,
    Unavailable: 503,
}


def _document_error_shape() -> None:
    """Make ``/openapi.json`` describe the 422 body this API sends.

    FastAPI documents every 422 as its own ``HTTPValidationError`` (``detail``: a list
    of error objects), but :func:`validation_handler` answers, like langgraph-api
    0.16.7, ``{"detail": "<message>"}``. FastAPI builds the document from the module
    level ``fastapi.openapi.utils.validation_error_response_definition`` (FastAPI
    0.16x, >=0.160,<0.170 in pyproject.toml); it is updated in place so the
    generated document matches the wire.
    """
    definition = _openapi_utils.validation_error_response_definition
    definition["properties"] = {
        "detail": {"title": "Detail", "type": "string", "description": "What was wrong with which input"}
    }
    definition["required"] = ["detail"]


_document_error_shape()


class ApiError(HTTPException):
    """An HTTP error with the server's ``{"detail": message}`` body."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(status_code=status, detail=detail)


def status_of(error: EvergraphError) -> int:
    """The HTTP status for a domain error (its nearest kind in :data:`STATUS_OF`; 500
    for a kind it does not list)."""
    for kind in type(error).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
    return 500


async def domain_error_handler(request: Request, exc: EvergraphError) -> JSONResponse:
    """``{"detail": message}`` with the status of the error's kind."""
    return JSONResponse({"detail": exc.message}, status_code=status_of(exc))


def not_found(detail: str = "Not Found") -> ApiError:
    """404 ``{"detail": detail}``."""
    return ApiError(404, detail)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


async def validation_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 for bodies that are not JSON or do not fit the schema, naming the field."""
    errors = exc.errors()
    if any(
        e.get("type") == "json_invalid" or (e.get("type") == "missing" and tuple(e.get("loc", ())) == ("body",))
        for e in errors
    ):
        return JSONResponse({"detail": "Invalid JSON in request body"}, status_code=422)
    messages = []
    for e in errors:
        field = _location(tuple(e.get("loc", ())))
        if e.get("type") == "missing":
            messages.append(f"'{field}' is a required property")
        elif e.get("type") == "value_error" and (
            field == "body" or str(e.get("msg", "")).removeprefix("Value error, ").startswith(field)
        ):
            # a check of api.models (check_json_value, check_config…): its message names the field
            messages.append(str(e.get("msg", "")).removeprefix("Value error, "))
        else:
            messages.append(f"{field}: {e.get('msg')} (got {e.get('input')!r})")
    detail = "\n".join(messages).encode("utf-8", "backslashreplace").decode("utf-8")  # no lone surrogates
    return JSONResponse({"detail": detail}, status_code=422)
