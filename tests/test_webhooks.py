"""Run webhooks, as langgraph-api 0.16.7 sends them: delivery to a real HTTP receiver
on a loopback port (the session's ``tests/graphs/langgraph.json`` allows loopback and
plain http), and URL validation at run creation."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from evergraph.adapter.graphs.config import ConfigError, WebhookUrlPolicy, load_config
from evergraph.adapter.resources.webhooks import WebhookRejected, validate_webhook_url


class Receiver:
    """A real HTTP server on a free loopback port that records every POST."""

    def __init__(self, fail_first: int = 0) -> None:
        self.received: queue.Queue = queue.Queue()
        self.fail_first = fail_first  # answer 503 to this many POSTs first
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["content-length"]))
                outer.received.put({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
                failing = outer.fail_first > 0
                outer.fail_first -= 1
                self.send_response(503 if failing else 200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    async def next(self, timeout: float = 30.0) -> dict:
        return await asyncio.to_thread(self.received.get, True, timeout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


async def test_webhook_posts_the_run_and_its_final_values(client, receiver):
    tid = (await client.threads.create())["thread_id"]
    url = f"{receiver.url}/hook?x=1"
    result = await client.runs.wait(tid, "chain", input={"log": []}, webhook=url)
    hook = await receiver.next()
    assert hook["path"] == "/hook?x=1"  # the query string is kept
    assert hook["headers"]["User-Agent"].startswith("python-httpx/")
    assert hook["headers"]["Content-Type"] == "application/json"
    body = hook["body"]
    run = (await client.runs.list(tid))[0]
    assert body["run_id"] == run["run_id"] and body["thread_id"] == tid
    assert body["status"] == "success"
    assert body["kwargs"]["webhook"] == url
    assert body["values"] == result
    assert {k for k in run} <= set(body)
    started, ended, sent = (datetime.fromisoformat(body[k]) for k in ("run_started_at", "run_ended_at", "webhook_sent_at"))
    assert datetime.fromisoformat(run["created_at"]) <= started <= ended <= sent
    assert receiver.received.empty()  # exactly one delivery


async def test_webhook_of_a_failed_run_says_error(client, receiver):
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(tid, "failing", input={"log": []}, webhook=f"{receiver.url}/failed")
    hook = await receiver.next()
    assert hook["path"] == "/failed"
    assert hook["body"]["run_id"] == run["run_id"] and hook["body"]["status"] == "error"


@pytest.mark.parametrize(
    "url, detail",
    [
        ("http://10.1.2.3/hook", "Webhook host blocked: private IP range"),
        ("http://169.254.169.254/latest", "Webhook host blocked: private IP range"),
        ("ftp://example.com/hook", "Webhook must be an absolute http(s) URL"),
        ("/relative/hook", "Webhook must be an absolute http(s) URL"),
        ("http://127.0.0.1/" + "x" * 600, "Webhook URL too long"),
    ],
)
def test_webhook_url_is_validated_at_creation(http, url, detail):
    thread = http.post("/threads", json={}).json()
    response = http.post(
        f"/threads/{thread['thread_id']}/runs", json={"assistant_id": "chain", "input": {"log": []}, "webhook": url}
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith(detail)
    assert http.get(f"/threads/{thread['thread_id']}/runs").json() == []  # nothing recorded


async def test_stateless_wait_with_rejected_webhook_is_422(client):
    from langgraph_sdk.errors import UnprocessableEntityError

    with pytest.raises(Exception) as info:
        await client.runs.create(None, "chain", input={"log": []}, webhook="http://192.168.1.10/hook")
    assert isinstance(info.value, UnprocessableEntityError)
    assert "private IP range" in str(info.value)


@pytest.mark.parametrize(
    "url, policy, detail",
    [
        # langgraph-api 0.16.7's defaults
        ("http://example.com/hook", WebhookUrlPolicy(), "Webhook must use https"),
        ("https://127.0.0.1/hook", WebhookUrlPolicy(), "Webhook host blocked: loopback IP range"),
        ("https://[::1]:8443/hook", WebhookUrlPolicy(), "Webhook host blocked: loopback IP range"),
        ("https://localhost/hook", WebhookUrlPolicy(), "Webhook host blocked: loopback IP range"),
        ("https://hooks.example.com/x", WebhookUrlPolicy(allowed_domains=("*.corp.test",)), "Webhook host not allowed"),
        ("https://corp.test/x", WebhookUrlPolicy(allowed_domains=("*.corp.test",)), "Webhook host not allowed"),
        ("https://8.8.8.8:8443/x", WebhookUrlPolicy(allowed_ports=(443,)), "Webhook port not allowed: 8443"),
        ("https://8.8.8.8/x", WebhookUrlPolicy(max_url_length=10), "Webhook URL too long"),
    ],
)
async def test_policy_refusals(url, policy, detail):
    with pytest.raises(WebhookRejected, match=detail.replace("[", r"\[")):
        await validate_webhook_url(url, policy)


@pytest.mark.parametrize(
    "url, policy",
    [
        ("https://8.8.8.8/hook", WebhookUrlPolicy()),
        ("https://a.corp.test/x", WebhookUrlPolicy(allowed_domains=("*.corp.test",), disable_loopback=False, disable_private_ips=False)),
        ("https://8.8.8.8/x", WebhookUrlPolicy(allowed_ports=(443,))),  # https's default port
        ("http://127.0.0.1:9/x", WebhookUrlPolicy(require_https=False, disable_loopback=False)),
        ("http://10.0.0.5/x", WebhookUrlPolicy(require_https=False, disable_private_ips=False)),
    ],
)
async def test_policy_acceptances(url, policy):
    await validate_webhook_url(url, policy)


def test_langgraph_json_webhooks_key(tmp_path):
    (tmp_path / "g.py").write_text("graph = None\n")
    path = tmp_path / "langgraph.json"
    path.write_text(json.dumps({
        "graphs": {"g": "./g.py:graph"},
        "webhooks": {"url": {"require_https": False, "allowed_ports": [8080], "allowed_domains": ["*.Corp.test"]}},
    }))
    policy = load_config(path).webhooks
    assert policy == WebhookUrlPolicy(require_https=False, allowed_ports=(8080,), allowed_domains=("*.corp.test",))
    path.write_text(json.dumps({"graphs": {"g": "./g.py:graph"}, "webhooks": {"url": {"require_https": "no"}}}))
    with pytest.raises(ConfigError, match="webhooks.url.require_https"):
        load_config(path)


async def test_webhook_failures_are_retried_by_temporal(client, temporal_client):
    """Delivery is the activity ``send_webhook`` of the run's workflow: a 503 is
    retried by Temporal (attempts visible in the history) and delivered once it is
    answered."""
    receiver = Receiver(fail_first=2)
    try:
        tid = (await client.threads.create())["thread_id"]
        await client.runs.wait(tid, "chain", input={"log": []}, webhook=f"{receiver.url}/hook")
        bodies = [(await receiver.next())["body"] for _ in range(3)]
        assert len({b["run_id"] for b in bodies}) == 1
        assert [b["webhook_sent_at"] for b in bodies] == sorted(b["webhook_sent_at"] for b in bodies)
        run_id = bodies[0]["run_id"]
        handle = temporal_client.get_workflow_handle(f"run-{run_id}")
        await handle.result()
        attempts = [
            e.activity_task_started_event_attributes.attempt
            async for e in handle.fetch_history_events()
            if e.HasField("activity_task_started_event_attributes")
        ]
        scheduled = [
            e.activity_task_scheduled_event_attributes.activity_type.name
            async for e in handle.fetch_history_events()
            if e.HasField("activity_task_scheduled_event_attributes")
        ]
        assert scheduled[-1] == "send_webhook" and attempts[-1] == 3
        # the workflow has completed: no delivery can follow the accepted one
        assert receiver.received.empty()
    finally:
        receiver.close()
