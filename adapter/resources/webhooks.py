"""Run webhooks: the run's ``webhook`` URL receives the Run object when the run ends,
as langgraph-api 0.16.7 sends it.

* :func:`check_webhook` validates a run's ``webhook`` URL when the run is created,
  against the ``langgraph.json`` ``webhooks.url`` policy
  (:class:`evergraph.adapter.graphs.config.WebhookUrlPolicy`); a refused URL is a 422
  with langgraph-api 0.16.7's messages (``Webhook must use https``, ``Webhook host
  blocked: loopback IP range``).
* :func:`stage` is called as the last step of recording a run's end
  (:func:`evergraph.adapter.execution.finish.finish_run`): it stores the delivery (the Run object plus
  ``run_started_at``, ``run_ended_at``, ``webhook_sent_at`` and ``values``, the final
  state) in the records' outbox, and the run's workflow then runs the Temporal
  activity ``send_webhook`` (:func:`send_staged`), which POSTs it with
  ``Content-Type: application/json`` and httpx's own user agent. Query strings in the
  URL are kept. Temporal retries transport errors and 5xx answers, up to
  :data:`ATTEMPTS` attempts in all; delivery is at least once and survives the loss of
  a worker.
"""

from __future__ import annotations

import asyncio
import fnmatch
import ipaddress
import logging
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx

from evergraph.adapter import serde
from evergraph.adapter.graphs.config import WebhookUrlPolicy
from evergraph.adapter.errors import Invalid
from evergraph.adapter.ids import iso, now
from evergraph.adapter.records.common import public_run
from evergraph.adapter.records.types import RunRecord

__all__ = [
    "ATTEMPTS",
    "TIMEOUT",
    "WebhookFailed",
    "WebhookRejected",
    "check_webhook",
    "payload",
    "post_once",
    "send_staged",
    "stage",
    "validate_webhook_url",
]

logger = logging.getLogger(__name__)

ATTEMPTS = 3
"""Delivery attempts per webhook (1 s, then 2 s apart)."""

TIMEOUT = 10.0
"""Seconds one delivery attempt may take."""


class WebhookRejected(ValueError):
    """A webhook URL the policy refuses; the message is the 422 ``detail``."""


def _host_allowed(host: str, domains: tuple[str, ...]) -> bool:
    for pattern in domains:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and host != pattern[2:]:
                return True
        elif fnmatch.fnmatchcase(host, pattern):
            return True
    return False


def _blocked(address: str, policy: WebhookUrlPolicy) -> str | None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "Webhook host blocked: loopback IP range" if policy.disable_loopback else None
    if policy.disable_private_ips and (
        ip.is_private or ip.is_link_local or ip.is_reserved or ip.is_unspecified or ip.is_multicast
    ):
        return "Webhook host blocked: private IP range"
    return None


async def _addresses(host: str, port: int) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise WebhookRejected(f"Webhook host could not be resolved: {host}") from exc
    return sorted({info[4][0] for info in infos})


async def validate_webhook_url(url: str, policy: WebhookUrlPolicy) -> None:
    """Check ``url`` against ``policy``: length, absolute http(s) URL, https,
    host allowlist, port allowlist, then every address the host resolves to
    (loopback, private ranges; a host that does not resolve is refused unless both
    address checks are off).

    Raises:
        WebhookRejected: the message says why (the 422 ``detail``).
    """
    if len(url) > policy.max_url_length:
        raise WebhookRejected(f"Webhook URL too long: {len(url)} characters (max {policy.max_url_length})")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRejected(f"Webhook must be an absolute http(s) URL, got {url!r}")
    if policy.require_https and scheme != "https":
        raise WebhookRejected("Webhook must use https")
    host = parts.hostname.lower()
    if policy.allowed_domains and not _host_allowed(host, policy.allowed_domains):
        raise WebhookRejected(f"Webhook host not allowed: {host}")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise WebhookRejected(f"Webhook URL has an invalid port: {url!r}") from None
    if policy.allowed_ports and port not in policy.allowed_ports:
        raise WebhookRejected(f"Webhook port not allowed: {port}")
    if not (policy.disable_loopback or policy.disable_private_ips):
        return  # no address checks: the host need not resolve now
    for address in await _addresses(host, port):
        reason = _blocked(address, policy)
        if reason:
            raise WebhookRejected(reason)


async def check_webhook(services: Any, body: dict[str, Any]) -> None:
    """Validate a run-create body's ``webhook`` (if any) against the ``langgraph.json``
    policy of ``services.registry.config``.

    Raises:
        Invalid: the reason (422).
    """
    url = body.get("webhook")
    if url is None:
        return
    if not isinstance(url, str):
        raise Invalid(f"webhook must be a URL string, got {type(url).__name__}")
    try:
        await validate_webhook_url(url, services.registry.config.webhooks)
    except WebhookRejected as err:
        raise Invalid(str(err)) from None


def payload(record: RunRecord, status: str, values: Any, ended_at: str) -> dict[str, Any]:
    """The webhook body: the Run object (with its final ``status``) plus
    ``run_started_at`` (when the run went ``running``: the record's ``updated_at``
    then, else ``created_at``), ``run_ended_at``, ``webhook_sent_at`` and ``values``."""
    run = public_run(record)
    started = record["updated_at"] if record.get("status") == "running" else record["created_at"]
    return {
        **run,
        "status": status,
        "updated_at": ended_at,
        "run_started_at": started,
        "run_ended_at": ended_at,
        "webhook_sent_at": None,
        "values": values,
    }


class WebhookFailed(Exception):
    """A delivery attempt failed in a way worth retrying (transport error or 5xx)."""


async def post_once(url: str, body: dict[str, Any]) -> httpx.Response:
    """POST ``body`` to ``url`` once, ``webhook_sent_at`` stamped now.

    Raises:
        WebhookFailed: transport error or a 5xx answer (the caller retries).
    """
    body["webhook_sent_at"] = iso(now())
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        try:
            response = await client.post(url, content=serde.dumps(body), headers={"Content-Type": "application/json"})
        except httpx.HTTPError as exc:
            raise WebhookFailed(f"webhook {url}: {exc!r}") from exc
    if response.status_code >= 500:
        raise WebhookFailed(f"webhook {url} answered {response.status_code}")
    return response


async def stage(services: Any, record: dict[str, Any], outcome: Any, result: Any) -> bool:
    """Store the webhook delivery of ``record``'s end, if it has a webhook, in the
    records' outbox; returns whether one was stored. The run's workflow then
    delivers it as the Temporal activity ``send_webhook`` (retried by Temporal,
    :data:`ATTEMPTS` attempts), so a worker killed before delivery loses nothing.

    Args:
        record: the run record as it was before the run's end was recorded.
        outcome: the ``RunOutcome`` (``status``, ``rollback``); rolled-back runs send
            nothing (their record is gone).
        result: the ``/wait`` body; its value is the webhook's ``values`` unless it is
            an ``__error__`` body, in which case the thread's stored values are sent.
    """
    url = (record.get("kwargs") or {}).get("webhook")
    if not url or getattr(outcome, "rollback", False):
        return False
    if services.registry.config.http.is_disabled("disable_webhooks"):
        # langgraph.json http.disable_webhooks: runs keep their webhook, none is sent
        logger.info("webhooks disabled (http.disable_webhooks): run %s sends none", record.get("run_id"))
        return False
    values = result
    if isinstance(result, dict) and "__error__" in result:
        thread = await services.records.get_thread(record["thread_id"])
        values = (thread or {}).get("values")
    body = payload(record, outcome.status, serde.to_jsonable(values), iso(now()))
    await services.records.put_webhook(record["run_id"], url, body)
    return True


async def send_staged(services: Any, run_id: str, final_attempt: bool) -> None:
    """Deliver the staged webhook of ``run_id`` once; drop it from the outbox when it
    was answered (any status below 500) or when this was the last attempt.

    Raises:
        WebhookFailed: the attempt failed and may be retried.
    """
    staged = await services.records.get_webhook(run_id)
    if staged is None:
        return
    try:
        response = await post_once(staged["url"], staged["body"])
    except WebhookFailed:
        if final_attempt:
            logger.warning("webhook of run %s given up after %d attempts", run_id, ATTEMPTS)
            await services.records.delete_webhook(run_id)
        raise
    logger.debug("webhook of run %s answered %d", run_id, response.status_code)
    await services.records.delete_webhook(run_id)
