"""Logging of every Evergraph process: the format (``EVERGRAPH_LOG_FORMAT``: ``text``,
the default, or ``json``, one JSON object per line for every logger, uvicorn's and the
Temporal SDK's included), the level (``EVERGRAPH_LOG_LEVEL``), and a filter that keeps
secrets out of every line.

JSON lines carry the keys langgraph-api 0.16.7 writes with ``LOG_JSON=true``:
``timestamp`` (ISO 8601, UTC), ``level`` (lower case), ``logger``, ``event`` (the
message), ``exception`` (a traceback, when there is one), then the line's own fields
(e.g. ``run_id``, ``thread_id`` of :mod:`.runs`). Text lines are
``<timestamp> <LEVEL> <logger>: <message> key=value…``.

Redaction (:class:`Redactor`) replaces with ``[REDACTED]``: the values of
``Authorization`` / ``Proxy-Authorization`` / ``x-api-key`` / ``Cookie`` headers
(``Bearer`` and other schemes kept), of names ending in ``api_key``, ``token``,
``secret`` or ``password`` (``api_key=…``, ``"OPENAI_API_KEY": "…"``), a URL's
password (``postgresql://user:…@host``), ``Bearer`` tokens and ``sk-…`` / ``lsv2_…``
keys anywhere, and the literal values of the process's secret environment variables
(``*_API_KEY``, ``*_TOKEN``, ``*SECRET*``, ``*PASSWORD*``, ``EVERGRAPH_API_KEYS``, the
passwords of ``EVERGRAPH_DATABASE_URI`` / ``EVERGRAPH_REDIS_URI``). It runs on the
message, the fields and the formatted exception of every record that reaches the
root logger's handlers.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

__all__ = [
    "FIELDS",
    "LOG_FORMATS",
    "JsonFormatter",
    "RedactingFilter",
    "Redactor",
    "TextFormatter",
    "configure",
    "env_secrets",
    "fields",
]

#: values of ``EVERGRAPH_LOG_FORMAT``
LOG_FORMATS = ("text", "json")
#: the attribute of a log record that holds its fields (see :func:`fields`)
FIELDS = "evergraph_fields"
#: what a secret becomes
REDACTED = "[REDACTED]"

#: the shortest environment value taken as a literal secret (shorter ones, e.g. "1",
#: would blank out unrelated text)
_MIN_SECRET = 6
_SECRET_ENV = re.compile(r"(API_KEYS?|TOKEN|SECRET|PASSWORD|PASSWD)", re.IGNORECASE)
#: a secret value: up to a quote, space or separator; never one already redacted
_VALUE = r"""(?!\[REDACTED\])[^\s"',;&}\])]+"""
#: what follows a name whose value was redacted already (redacting twice changes nothing)
_DONE = r"""(?!b?["']?(?:(?i:bearer|basic|token|digest)\s+)?\[REDACTED\])"""
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # header values, also in reprs: ``Authorization: Bearer x``, ``"x-api-key": "x"``,
    # ``(b'authorization', b'Bearer x')``
    (
        re.compile(
            r"""(?i)\b(authorization|proxy-authorization|x-api-key|api-key|x-auth-token|cookie|set-cookie)\b"""
            r"""(["']?\s*[:=]\s*|["']?\s*,\s*b?)""" + _DONE + r"""(["']?)((?:bearer|basic|token|digest)\s+)?""" + _VALUE
        ),
        r"\1\2\3\4" + REDACTED,
    ),
    # secret-named keys: ``api_key=x``, ``OPENAI_API_KEY='x'``, ``"token": "x"``, ``?api_key=x&``
    (
        re.compile(
            r"""(?i)\b([\w.-]*(?:api[_-]?keys?|apikey|token|secret|password|passwd))(["']?\s*[:=]\s*)""" + _DONE
            + r"""(b?["']?)""" + _VALUE
        ),
        r"\1\2\3" + REDACTED,
    ),
    # a URL's password: scheme://user:password@host
    (re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/:@]*:)([^\s/@]+)(@)"), r"\1" + REDACTED + r"\3"),
    # bearer tokens and well-known key shapes anywhere
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 " + REDACTED),
    (re.compile(r"\b(?:sk-[A-Za-z0-9_-]{8,}|lsv2_[A-Za-z0-9_]{8,})"), REDACTED),
)


class Redactor:
    """Removes secrets from text (see the module's docstring).

    Args:
        literals: exact secret values to remove wherever they appear (shorter than 6
            characters: ignored).
    """

    def __init__(self, literals: Iterable[str] = ()) -> None:
        self.literals = sorted({s for s in literals if s and len(s) >= _MIN_SECRET}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        """``text`` with every secret replaced by ``[REDACTED]``."""
        for literal in self.literals:
            if literal in text:
                text = text.replace(literal, REDACTED)
        for pattern, replacement in _RULES:
            text = pattern.sub(replacement, text)
        return text

    def value(self, value: Any) -> Any:
        """A field's value with its strings redacted (mappings and lists too)."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        return value


def env_secrets(env: Mapping[str, str]) -> list[str]:
    """The secret values of ``env``: variables whose names hold ``API_KEY``,
    ``TOKEN``, ``SECRET`` or ``PASSWORD`` (``EVERGRAPH_API_KEYS`` split on commas), and
    the passwords of ``EVERGRAPH_DATABASE_URI`` / ``EVERGRAPH_REDIS_URI``."""
    found: list[str] = []
    for name, value in env.items():
        if value and _SECRET_ENV.search(name):
            found.extend(v.strip() for v in (value.split(",") if name.endswith("KEYS") else [value]))
    for name in ("EVERGRAPH_DATABASE_URI", "EVERGRAPH_REDIS_URI", "DATABASE_URI", "REDIS_URI"):
        try:
            password = urlsplit(env.get(name) or "").password
        except ValueError:
            password = None
        if password:
            found.append(password)
    return found


class RedactingFilter(logging.Filter):
    """A handler filter that redacts a record's message (with its arguments merged
    in) and fields before any formatter sees them. Never drops a record.

    Args:
        redactor: what removes the secrets.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: logging reports it itself
            return True
        record.msg, record.args = self.redactor(message), None
        extra = getattr(record, FIELDS, None)
        if extra:
            setattr(record, FIELDS, self.redactor.value(extra))
        return True


def fields(**values: Any) -> dict[str, Any]:
    """``extra=`` for a log call whose line carries ``values`` as fields (JSON keys,
    ``key=value`` in text); ``None`` values are left out."""
    return {FIELDS: {k: v for k, v in values.items() if v is not None}}


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per record (keys in the module's docstring); every value is
    redacted again, exception text included.

    Args:
        redactor: applied to each value.
    """

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "timestamp": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        extra = getattr(record, FIELDS, None)
        if extra:
            for key, value in extra.items():
                out.setdefault(key, value)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exception"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        for key in ("exception", "stack"):
            if key in out:  # the message and fields went through RedactingFilter
                out[key] = self.redactor(out[key])
        return json.dumps(out, default=str, ensure_ascii=False)


def _text_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return json.dumps(text, ensure_ascii=False) if (not text or any(c in text for c in ' "=\n')) else text


class TextFormatter(logging.Formatter):
    """``<timestamp> <LEVEL> <logger>: <message> key=value…`` (then the traceback,
    redacted).

    Args:
        redactor: applied to the traceback.
    """

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}"
        extra = getattr(record, FIELDS, None)
        if extra:
            line += "".join(f" {k}={_text_value(v)}" for k, v in extra.items())
        # the message and fields went through RedactingFilter; the traceback did not
        if record.exc_info:
            line += "\n" + self.redactor(self.formatException(record.exc_info))
        elif record.exc_text:
            line += "\n" + self.redactor(record.exc_text)
        if record.stack_info:
            line += "\n" + self.redactor(self.formatStack(record.stack_info))
        return line


def configure(
    *,
    fmt: str = "text",
    level: str | int | None = None,
    env: Mapping[str, str] | None = None,
    stream: Any = None,
) -> None:
    """Set up logging for the process: one handler on the root logger writing
    ``fmt`` lines to ``stream`` (default ``sys.stderr``) through the secret filter;
    every logger (uvicorn's, the Temporal SDK's, the graphs') propagates to it. Any
    handler already on the root logger gets the filter too.

    Args:
        fmt: ``text`` or ``json`` (``EVERGRAPH_LOG_FORMAT``).
        level: the root level (``EVERGRAPH_LOG_LEVEL``); ``None``: ``WARNING``, with
            the run state lines of ``evergraph.runs`` still shown (``INFO``).
        env: where the secret values come from (default ``os.environ``).
        stream: where lines go.

    Raises:
        ValueError: ``fmt`` is not one of :data:`LOG_FORMATS`.
    """
    import os

    if fmt not in LOG_FORMATS:
        raise ValueError(f"EVERGRAPH_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, got {fmt!r}")
    redactor = Redactor(env_secrets(os.environ if env is None else env))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_evergraph", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._evergraph = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter(redactor) if fmt == "json" else TextFormatter(redactor))
    root.addHandler(handler)
    for h in root.handlers:
        for f in [f for f in h.filters if isinstance(f, RedactingFilter)]:
            h.removeFilter(f)
        h.addFilter(RedactingFilter(redactor))
    root.setLevel(logging.WARNING if level is None else level)
    logging.captureWarnings(True)  # Python warnings become log lines (JSON too), through the filter
    # run state changes show by default; an explicit level decides for them too
    logging.getLogger("evergraph.runs").setLevel(logging.INFO if level is None else logging.NOTSET)
