"""Logs (README "Observability: metrics and logs"): one line per run state change with
the run's ids, JSON lines for every logger with ``EVERGRAPH_LOG_FORMAT=json``, and no
secret in any line: a real ``evergraph dev`` process, its real output, real runs."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client

from evergraph.adapter.observability.logs import Redactor
from evergraph.adapter.process.devserver import free_port
from tests.conftest import ROOT, EvergraphProcess, evergraph_env, wait_for

GRAPH = '''
import asyncio
import logging
import os
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    fail: bool
    sleep: float
    out: str


async def talk(state: State) -> State:
    key = os.environ["OPENAI_API_KEY"]
    log = logging.getLogger("user.graph")
    log.warning("calling the model with api_key=%s", key)
    log.warning("request headers %s", {"Authorization": "Bearer " + key, "x-api-key": key})
    log.warning("the key alone: %s", key)
    if state.get("sleep"):
        await asyncio.sleep(state["sleep"])
    if state.get("fail"):
        raise ValueError("the provider refused key " + key)
    return {"out": "ok"}


builder = StateGraph(State)
builder.add_node("talk", talk)
builder.add_edge(START, "talk")
builder.add_edge("talk", END)
graph = builder.compile()
'''

#: lines of the ``evergraph`` command that are not logs (its start-up report)
PRINTED = ("Evergraph API:", "Temporal UI:", "Temporal address:", "Worker polling", "Worker metrics:", "Ready.")


@pytest.fixture
def json_server(temporal_server, tmp_path: Path):
    """``evergraph dev`` with JSON logs at INFO, an API key, an env provider key and
    the graph above; yields (url, process, headers, secrets)."""
    (tmp_path / "graph.py").write_text(GRAPH)
    (tmp_path / "langgraph.json").write_text(json.dumps({"dependencies": ["."], "graphs": {"talker": "./graph.py:graph"}}))
    port = free_port()
    found = {
        "env": f"sk-env-{secrets.token_hex(12)}",
        "api_key": f"evergraph-key-{secrets.token_hex(8)}",
        "header": f"sk-header-{secrets.token_hex(12)}",
        "query": f"query-secret-{secrets.token_hex(8)}",
    }
    env = evergraph_env(
        temporal_server.address, tmp_path / "data", EVERGRAPH_TASK_QUEUE=f"logs-{port}",
        EVERGRAPH_LOG_FORMAT="json", EVERGRAPH_LOG_LEVEL="INFO", OPENAI_API_KEY=found["env"],
        EVERGRAPH_API_KEYS=found["api_key"],
    )
    proc = EvergraphProcess(["dev", "--config", str(tmp_path / "langgraph.json"), "--port", str(port)], env, tmp_path / "dev.log")
    url = f"http://127.0.0.1:{port}"
    try:
        proc.wait_ready(url)
        yield url, proc, {"x-api-key": found["api_key"]}, found
    finally:
        proc.stop()


def _records(output: str) -> list[dict]:
    """The JSON log lines of ``output``; any other line must be the command's own
    start-up report."""
    out = []
    for line in output.splitlines():
        if not line.strip():
            continue
        if line.startswith("{"):
            record = json.loads(line)
            assert {"timestamp", "level", "logger", "event"} <= set(record), record
            out.append(record)
        else:
            assert line.startswith(PRINTED), f"not a JSON log line: {line!r}"
    return out


def _run_events(records: list[dict], run_id: str) -> list[str]:
    return [r["event"] for r in records if r["logger"] == "evergraph.runs" and r.get("run_id") == run_id]


async def test_json_lines_run_states_and_no_secrets(json_server):
    url, proc, headers, found = json_server
    client = get_client(url=url, api_key=headers["x-api-key"])
    # a client sending its credentials in the Authorization header and the query string
    assert httpx.get(f"{url}/ok", params={"api_key": found["query"]}, headers={"Authorization": f"Bearer {found['header']}"}).status_code == 200
    assert httpx.post(f"{url}/threads", json={}, headers={"Authorization": f"Bearer {found['header']}"}).status_code == 401

    thread = (await client.threads.create())["thread_id"]
    ok = await client.runs.create(thread, "talker", input={})
    await client.runs.join(thread, ok["run_id"])
    failed = await client.runs.create(thread, "talker", input={"fail": True})
    await client.runs.join(thread, failed["run_id"])
    busy = (await client.threads.create())["thread_id"]
    slow = await client.runs.create(busy, "talker", input={"sleep": 2})
    queued = await client.runs.create(busy, "talker", input={}, multitask_strategy="enqueue")
    await client.runs.cancel(busy, queued["run_id"])
    await client.runs.join(busy, slow["run_id"])

    def settled() -> list[dict] | None:
        records = _records(proc.output())
        done = all(
            len(_run_events(records, rid)) >= n
            for rid, n in ((ok["run_id"], 3), (failed["run_id"], 3), (slow["run_id"], 3), (queued["run_id"], 2))
        )
        return records if done else None

    records = await wait_for(settled, timeout=30)
    output = proc.output()

    # one line per state change, in order, with the run's ids
    assert _run_events(records, ok["run_id"]) == ["run pending", "run running", "run success"]
    assert _run_events(records, failed["run_id"]) == ["run pending", "run running", "run error"]
    assert _run_events(records, slow["run_id"]) == ["run pending", "run running", "run success"]
    assert _run_events(records, queued["run_id"]) == ["run queued", "run cancelled"]
    for record in records:
        if record["logger"] == "evergraph.runs":
            assert record["thread_id"] in (thread, busy)
            assert record["assistant_id"] and record["graph_id"] == "talker"
    ended = {r["run_id"]: r for r in records if r["event"] in ("run success", "run error")}
    assert ended[failed["run_id"]]["error"] == "ValueError" and ended[failed["run_id"]]["level"] == "warning"
    assert ended[ok["run_id"]]["duration_s"] >= 0 and ended[ok["run_id"]]["thread_status"] == "idle"
    assert [r for r in records if r.get("run_id") == queued["run_id"] and r["event"] == "run queued"][0]["runs_ahead"] == 1

    # uvicorn's access log is JSON too, and the graph's own logger
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    assert any("/ok?api_key=[REDACTED]" in r["event"] for r in access), access[:3]
    said = [r["event"] for r in records if r["logger"] == "user.graph"]
    assert "calling the model with api_key=[REDACTED]" in said
    assert "the key alone: [REDACTED]" in said
    assert any("'Authorization': 'Bearer [REDACTED]'" in e for e in said), said
    # the failure's traceback (Temporal's activity log) and the run's error message
    assert any("the provider refused key [REDACTED]" in json.dumps(r) for r in records)

    for name, secret in found.items():
        assert secret not in output, f"the {name} secret was logged"


async def test_text_run_lines_of_the_session_server(server, client, data_root):
    """The default format: text lines, ids as key=value."""
    run = await client.runs.create(None, "chain", input={"log": []})
    await client.runs.join(run["thread_id"], run["run_id"])
    log = data_root / "dev.log"

    def ended() -> str | None:
        lines = [line for line in log.read_text().splitlines() if f"run_id={run['run_id']}" in line]
        return "\n".join(lines) if len(lines) >= 3 else None

    lines = (await wait_for(ended, timeout=30)).splitlines()
    assert [line.split(" evergraph.runs: ")[1].split(" run_id=")[0] for line in lines] == [
        "run pending", "run running", "run success"
    ]
    assert all(" INFO evergraph.runs: " in line and f"thread_id={run['thread_id']}" in line for line in lines)
    assert "graph_id=chain" in lines[-1] and "duration_s=" in lines[-1]


def test_a_bad_log_format_stops_start_up(tmp_path):
    env = evergraph_env("127.0.0.1:1", tmp_path, EVERGRAPH_LOG_FORMAT="xml")
    done = subprocess.run(
        [sys.executable, "-m", "evergraph.adapter.process.cli", "worker", "--config", str(ROOT / "examples" / "langgraph.json")],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert "EVERGRAPH_LOG_FORMAT must be one of text, json, got 'xml'" in done.stderr


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Authorization: Bearer sk-abcdefghijklmnop", "Authorization: Bearer [REDACTED]"),
        ("{'authorization': 'Basic dXNlcjpwYXNzd29yZA=='}", "{'authorization': 'Basic [REDACTED]'}"),
        ("[(b'x-api-key', b'abc123456789')]", "[(b'x-api-key', b'[REDACTED]')]"),
        ('{"OPENAI_API_KEY": "whatever-value"}', '{"OPENAI_API_KEY": "[REDACTED]"}'),
        ("GET /x?api_key=abcdefgh&page=2", "GET /x?api_key=[REDACTED]&page=2"),
        ("postgresql://evergraph:pa55word@db:5432/x", "postgresql://evergraph:[REDACTED]@db:5432/x"),
        ("max_tokens=100 prompt_tokens: 5 thread_id=abc", "max_tokens=100 prompt_tokens: 5 thread_id=abc"),
        ("the literal my-env-secret-value here", "the literal [REDACTED] here"),
    ],
)
def test_redactor(text, expected):
    redact = Redactor(["my-env-secret-value"])
    assert redact(text) == expected
    assert redact(redact(text)) == expected  # redacting twice changes nothing
