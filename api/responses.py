"""Response helpers shared by the routes: JSON bodies serialised like every other
API body, pagination with langgraph-api 0.16.7's headers, field selection and
sorting of listed records. See docs/architecture.md for the layers."""

from __future__ import annotations

from typing import Any, Iterable

from fastapi import Response

from evergraph.adapter import serde

__all__ = ["json_response", "paginate", "select_fields", "sort_records"]


def sort_records(
    items: list[dict[str, Any]], sort_by: str, sort_order: str | None, tie: str
) -> list[dict[str, Any]]:
    """``items`` sorted by ``sort_by`` (``None`` values first in ascending order),
    ties broken by ``tie``; ``sort_order`` defaults to ``desc``."""

    def key(item: dict[str, Any]) -> tuple:
        value = item.get(sort_by)
        return (value is not None, "" if value is None else value, item.get(tie) or "")

    return sorted(items, key=key, reverse=(sort_order or "desc") == "desc")


def json_response(content: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON response (serialised like every other API body) with ``headers``."""
    return Response(serde.dumps(content), media_type="application/json", headers=headers)


def paginate(items: list[Any], limit: int, offset: int) -> tuple[list[Any], dict[str, str]]:
    """One page of ``items`` and the pagination headers.

    As langgraph-api 0.16.7 does, the page is read with one extra row:
    ``X-Pagination-Next`` (the next offset) is sent only when more rows exist, and
    ``X-Pagination-Total`` is the offset plus the rows read (at most ``limit + 1``),
    not the full count.
    """
    window = items[offset: offset + limit + 1]
    headers = {"X-Pagination-Total": str(offset + len(window))}
    if len(window) > limit:
        headers["X-Pagination-Next"] = str(offset + limit)
    return window[:limit], headers


def select_fields(doc: dict[str, Any], select: Iterable[str] | None) -> dict[str, Any]:
    """Only the ``select``-ed keys of ``doc`` (all of it when ``select`` is empty)."""
    if not select:
        return doc
    wanted = set(select)
    out = {k: v for k, v in doc.items() if k in wanted}
    for k in select:  # selectable fields the object does not carry yet
        out.setdefault(k, None)
    return out
