"""Which request headers a run receives in ``config["configurable"]``
(``langgraph.json`` ``http.configurable_headers``), with langgraph-api 0.16.7's rules:

* without ``configurable_headers`` no header is passed;
* ``x-api-key``, ``x-service-key``, ``x-tenant-id`` and ``authorization`` are never
  passed, whatever the patterns say;
* ``langsmith-trace`` is always passed, with the ``langsmith-metadata`` (a JSON
  object), ``langsmith-tags`` and ``langsmith-project`` entries of ``baggage``;
* any other header is passed when :meth:`HeaderPatterns.allows` its name.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterable
from typing import Any

from evergraph.adapter.graphs.httpconfig import HeaderPatterns

__all__ = ["NEVER_PASSED", "run_headers"]

#: credentials that never reach a run's config
NEVER_PASSED = frozenset({"x-api-key", "x-service-key", "x-tenant-id", "authorization"})


def _baggage(value: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in value.split(","):
        key, sep, raw = item.strip().partition("=")
        if not sep:
            continue
        text = urllib.parse.unquote(raw)
        if key == "langsmith-metadata" and key not in found:
            try:
                metadata = json.loads(text)
            except ValueError:
                continue
            if isinstance(metadata, dict):
                found[key] = metadata
        elif key == "langsmith-tags":
            found[key] = text.split(",")
        elif key == "langsmith-project":
            found[key] = text
    return found


def run_headers(headers: Iterable[tuple[str, str]], patterns: HeaderPatterns | None) -> dict[str, Any]:
    """The entries a run's ``configurable`` gains from the request's headers.

    Args:
        headers: ``(name, value)`` pairs (e.g. ``request.headers.items()``); names
            are compared lower-cased; a repeated name keeps its last value.
        patterns: ``http.configurable_headers``, or ``None`` when unset.

    Returns:
        ``{lower-cased name: value}``, plus the ``langsmith-*`` baggage entries
        when ``langsmith-trace`` is present.
    """
    pairs = [(name.lower(), value) for name, value in headers]
    passed: dict[str, Any] = {}
    for name, value in pairs:
        if name == "langsmith-trace":
            passed[name] = value
            baggage = next((v for n, v in pairs if n == "baggage"), None)
            if baggage:
                passed.update(_baggage(baggage))
        elif name not in NEVER_PASSED and patterns is not None and patterns.allows(name):
            passed[name] = value
    return passed
