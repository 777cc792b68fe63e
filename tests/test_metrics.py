"""Prometheus metrics (README "Observability: metrics and logs"): ``GET /metrics`` of the
API and the worker's own endpoint (``EVERGRAPH_WORKER_METRICS_PORT``), scraped before
and after real runs (success, error, a retried node, idle and run timeouts, a queue,
an open stream); the counters and histograms must move by exactly what the runs did.
Parsed with ``prometheus_client``'s own parser of the text format."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client
from prometheus_client.parser import text_string_to_metric_families

from evergraph.adapter.process.devserver import free_port
from tests.conftest import GRAPHS_CONFIG, EvergraphProcess, evergraph_env, split_starter, wait_for

Samples = dict[tuple[str, frozenset], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition: (name, labels) -> value."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape(url: str) -> Samples:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=1.0.0; charset=utf-8"
    return parse(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample ``name`` whose labels include ``labels`` (summed over the rest)."""
    want = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and want <= lab)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def names(samples: Samples) -> set[str]:
    return {n for n, _ in samples}


# ------------------------------------------------------------------ the session API


async def test_runs_move_the_counters_by_what_they_did(server, client, tmp_path):
    url = f"{server}/metrics"
    before = scrape(url)
    await client.runs.wait(None, "chain", input={"log": []})
    failed = await client.runs.wait(None, "failing", input={"log": []}, raise_error=False)
    assert failed["__error__"]["error"] == "Boom"
    counter = tmp_path / "flaky-count"
    assert (await client.runs.wait(None, "flaky", input={"log": [], "counter_file": str(counter)}))["log"] == [
        "flaky after 3 calls"
    ]
    idle = await client.runs.wait(None, "timeouts", input={"mode": "silent"}, raise_error=False)
    run = await client.runs.wait(None, "timeouts", input={"mode": "sync_sleep"}, raise_error=False)
    assert idle["__error__"]["error"] == run["__error__"]["error"] == "NodeTimeoutError"
    after = scrape(url)

    d = lambda name, **labels: delta(before, after, name, **labels)  # noqa: E731
    # runs by status
    assert d("evergraph_runs_total", status="pending", graph_id="chain") == 1
    assert d("evergraph_runs_total", status="running", graph_id="chain") == 1
    assert d("evergraph_runs_total", status="success", graph_id="chain") == 1
    assert d("evergraph_runs_total", status="error", graph_id="failing") == 1
    assert d("evergraph_runs_total", status="success", graph_id="flaky") == 1
    assert d("evergraph_runs_total", status="error", graph_id="timeouts") == 2
    assert d("evergraph_runs_total", status="success", graph_id="timeouts") == 0
    # run durations (seconds) and langgraph-api's run execution latency (milliseconds)
    assert d("evergraph_run_duration_seconds_count", status="success", graph_id="chain") == 1
    assert 0 < d("evergraph_run_duration_seconds_sum", status="success", graph_id="chain") < 30
    assert d("evergraph_run_duration_seconds_count", status="error", graph_id="timeouts") == 2
    assert d("evergraph_run_duration_seconds_sum", status="error", graph_id="timeouts") >= 2.0  # two 1 s timeouts
    assert d("lg_api_run_execution_latency_count", status="success") == 2  # chain, flaky
    assert d("lg_api_run_execution_latency_sum", status="error") >= 2000  # milliseconds
    assert d("evergraph_run_queue_wait_seconds_count", graph_id="chain") == 1
    # node attempts: 3 chain steps, the flaky node's two failures and its success
    assert d("evergraph_node_attempt_duration_seconds_count", graph_id="chain", outcome="success") == 3
    assert d("evergraph_node_attempt_duration_seconds_count", graph_id="failing", node="explode", outcome="error") == 1
    assert d("evergraph_node_attempt_duration_seconds_count", graph_id="flaky", outcome="error") == 2
    assert d("evergraph_node_attempt_duration_seconds_count", graph_id="flaky", outcome="success") == 1
    assert d("evergraph_node_retries_total", graph_id="flaky", node="flaky") == 2
    assert d("evergraph_node_retries_total", graph_id="chain") == 0
    # timeouts by kind
    assert d("evergraph_node_timeouts_total", graph_id="timeouts", node="silent", kind="idle") == 1
    assert d("evergraph_node_timeouts_total", graph_id="timeouts", node="sync_sleep", kind="run") == 1
    assert d("evergraph_node_timeouts_total", graph_id="timeouts", kind="idle") == 1
    assert d("evergraph_node_attempt_duration_seconds_count", graph_id="timeouts", outcome="timeout") == 2
    assert d("evergraph_node_attempt_duration_seconds_sum", graph_id="timeouts", outcome="timeout") >= 2.0
    # langgraph-api's HTTP metrics: route templates, milliseconds
    assert d("lg_api_http_requests_total", method="POST", path="/runs/wait", status="200") == 5
    assert d("lg_api_http_requests_latency_count", method="POST", path="/runs/wait") == 5
    assert d("lg_api_http_requests_latency_sum", method="POST", path="/runs/wait") >= 2000
    assert value(after, "lg_api_http_requests_latency_bucket", path="/runs/wait", le="10.0") <= value(
        after, "lg_api_http_requests_latency_bucket", path="/runs/wait", le="+Inf"
    )
    # a scrape of /metrics itself is not counted (as langgraph-api)
    assert value(after, "lg_api_http_requests_total", path="/metrics") == 0
    # API and worker share this process (evergraph dev): the worker's slots and the
    # Temporal SDK's own metrics are here too
    assert value(after, "lg_api_workers_max") == 100
    assert value(after, "lg_api_workers_active") + value(after, "lg_api_workers_available") == 100
    assert any(n.startswith("temporal_") for n in names(after)), sorted(names(after))
    assert value(after, "temporal_worker_task_slots_available") > 0
    # no *_created series, as langgraph-api; process metrics, as langgraph-api
    assert not any(n.endswith("_created") for n in names(after))
    assert "process_resident_memory_bytes" in names(after)


async def test_queue_gauges_open_streams_and_json(server, client, http):
    url = f"{server}/metrics"
    tid = (await client.threads.create())["thread_id"]
    before = scrape(url)
    first = await client.runs.create(tid, "slow", input={"log": [], "sleep": 30})
    await wait_for(lambda: _status(http, tid, first["run_id"]) == "running", timeout=60)
    queued = [
        # sleep 0: the thread's state keeps the slow run's sleep (its input checkpoint stays)
        await client.runs.create(tid, "chain", input={"log": [], "sleep": 0}, multitask_strategy="enqueue")
        for _ in range(2)
    ]
    during = scrape(url)
    assert delta(before, during, "lg_api_num_running_runs") == 1
    assert delta(before, during, "lg_api_num_pending_runs") == 2
    assert delta(before, during, "evergraph_queued_runs") == 2
    assert value(during, "evergraph_queued_runs_per_thread_max") >= 2
    assert delta(before, during, "evergraph_threads_with_queued_runs") == 1
    assert value(during, "lg_api_pending_runs_wait_time_max") > 0
    assert delta(before, during, "evergraph_runs_queued_total", graph_id="chain") == 2
    snapshot = http.get("/metrics", params={"format": "json"}).json()
    assert set(snapshot) == {"queue", "api", "workers"}
    assert snapshot["queue"]["n_running"] >= 1 and snapshot["queue"]["n_pending"] >= 2
    assert set(snapshot["queue"]) == {
        "n_pending", "n_running", "pending_runs_wait_time_max_secs", "pending_runs_wait_time_med_secs",
        "pending_unblocked_runs_wait_time_max_secs",
    }
    assert {"method": "POST", "path": "/threads/{thread_id}/runs", "status": 200} in [
        {k: r[k] for k in ("method", "path", "status")} for r in snapshot["api"]["http_requests_total"]
    ]
    assert snapshot["workers"]["max"] == 100
    # an unknown format answers Prometheus text, as langgraph-api
    assert http.get("/metrics", params={"format": "xml"}).text.startswith("# HELP")

    # one SSE stream open while a client reads it; closed after
    opened, release = threading.Event(), threading.Event()

    def follow() -> None:
        with httpx.stream("GET", f"{server}/threads/{tid}/runs/{first['run_id']}/stream", timeout=60) as response:
            for _ in response.iter_bytes():
                opened.set()
                if release.is_set():
                    break
                release.wait(0.05)

    reader = threading.Thread(target=follow)
    reader.start()
    try:
        assert await asyncio.to_thread(opened.wait, 30)
        streaming = scrape(url)
        assert delta(before, streaming, "evergraph_sse_streams_open") == 1
    finally:
        release.set()
        await asyncio.to_thread(reader.join, 30)
    await wait_for(lambda: value(scrape(url), "evergraph_sse_streams_open") == value(before, "evergraph_sse_streams_open"))
    # every event a stream sends has its age observed (broker lag)
    lag_before = scrape(url)
    parts = [p async for p in client.runs.stream(None, "chain", input={"log": []}, stream_mode="updates")]
    lag = delta(lag_before, scrape(url), "evergraph_broker_lag_seconds_count")
    assert len(parts) >= 4 and lag == len(parts)  # metadata, then an update per node

    await client.runs.cancel(tid, first["run_id"])
    for run in queued:
        await client.runs.join(tid, run["run_id"])
    done = scrape(url)
    assert delta(before, done, "lg_api_num_pending_runs") == 0
    assert delta(before, done, "lg_api_num_running_runs") == 0
    assert delta(before, done, "evergraph_runs_total", status="interrupted", graph_id="slow") == 1
    assert delta(before, done, "evergraph_runs_total", status="success", graph_id="chain") == 3  # 2 queued, 1 streamed


def _status(http: httpx.Client, tid: str, rid: str) -> str:
    return http.get(f"/threads/{tid}/runs/{rid}").json()["status"]


async def test_metrics_need_no_credentials_and_follow_disable_meta(temporal_server, tmp_path):
    """As langgraph-api: /metrics is a meta route, open without an API key, removed by
    ``http.disable_meta``."""
    config = tmp_path / "langgraph.json"
    config.write_text(
        '{"dependencies": ["%s"], "graphs": {"chain": "%s:chain"}, "http": {"disable_meta": true}}'
        % (GRAPHS_CONFIG.parent, GRAPHS_CONFIG.parent / "basic.py")
    )
    port = free_port()
    env = evergraph_env(
        temporal_server.address, tmp_path / "data", EVERGRAPH_TASK_QUEUE=f"metrics-meta-{port}",
        EVERGRAPH_CONFIG=str(config), EVERGRAPH_API_KEYS="key-for-metrics-test",
    )
    proc = EvergraphProcess(["serve", "--port", str(port)], env, tmp_path / "serve.log")
    try:
        proc.wait_ready(f"http://127.0.0.1:{port}")
        assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 404
        assert httpx.get(f"http://127.0.0.1:{port}/threads/search").status_code in (401, 405)
    finally:
        proc.stop()


async def test_metrics_are_open_under_api_keys(temporal_server, tmp_path):
    port = free_port()
    env = evergraph_env(
        temporal_server.address, tmp_path / "data", EVERGRAPH_TASK_QUEUE=f"metrics-open-{port}",
        EVERGRAPH_CONFIG=str(GRAPHS_CONFIG), EVERGRAPH_API_KEYS="key-for-metrics-test",
    )
    proc = EvergraphProcess(["serve", "--port", str(port)], env, tmp_path / "serve.log")
    try:
        proc.wait_ready(f"http://127.0.0.1:{port}")
        assert httpx.post(f"http://127.0.0.1:{port}/threads", json={}).status_code == 401
        samples = scrape(f"http://127.0.0.1:{port}/metrics")
        # an API-only process: its HTTP metrics and queue gauges, no worker slots
        assert "lg_api_num_pending_runs" in names(samples)
        assert "lg_api_workers_max" not in names(samples)
    finally:
        proc.stop()


def _early_answers_server(temporal_server, tmp_path: Path, name: str, **http: object):
    """``evergraph serve`` with tests/graphs/auth_handlers.py's bearer tokens, a 4 KiB
    body limit and ``http`` as ``langgraph.json``'s ``http``."""
    import json

    config = tmp_path / f"{name}.json"
    config.write_text(json.dumps({
        "dependencies": [str(GRAPHS_CONFIG.parent)],
        "graphs": {"chain": f"{GRAPHS_CONFIG.parent / 'basic.py'}:chain"},
        "auth": {"path": f"{GRAPHS_CONFIG.parent / 'auth_handlers.py'}:auth"},
        "http": http,
    }))
    port = free_port()
    env = evergraph_env(
        temporal_server.address, tmp_path / name, EVERGRAPH_TASK_QUEUE=f"metrics-{name}-{port}",
        EVERGRAPH_CONFIG=str(config), EVERGRAPH_MAX_REQUEST_BYTES="4096",
    )
    proc = EvergraphProcess(["serve", "--port", str(port)], env, tmp_path / f"{name}.log")
    try:
        proc.wait_ready(f"http://127.0.0.1:{port}")
    except BaseException:
        proc.stop()
        raise
    return proc, f"http://127.0.0.1:{port}"


#: a valid bearer token of tests/graphs/auth_handlers.py
ALICE = {"Authorization": "Bearer token-alice"}
#: a body deeper than api/nesting.py lets through, smaller than the 4 KiB limit
DEEP = b'{"metadata": ' + b"[" * 1000 + b"]" * 1000 + b"}"
#: a body above the 4 KiB limit
BIG = b'{"metadata": {"x": "' + b"a" * 8000 + b'"}}'


async def test_early_answers_are_counted_as_langgraph_api_counts_them(temporal_server, tmp_path):
    """Every answered request counts, with langgraph-api 0.16.7's labels (its
    ``/metrics`` under ``langgraph dev`` with an ``@auth.authenticate`` handler that
    refuses): an authentication refusal and an unmatched path with ``path=""``, a
    request refused for its body (413, too deep) with its route's template, a wrong
    method (405) with the template; a CORS preflight is not counted."""
    proc, url = _early_answers_server(temporal_server, tmp_path, "early")
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            before = scrape(f"{url}/metrics")
            thread = "00000000-0000-0000-0000-000000000001"
            answers = [
                http.post("/threads", json={}).status_code,  # no token
                http.post("/threads", json={}, headers={"Authorization": "Bearer nope"}).status_code,
                http.get(f"/threads/{thread}").status_code,
                http.get("/no/such/path").status_code,
                http.get("/no/such/path", headers=ALICE).status_code,
                http.get(f"/threads/{thread}", headers=ALICE).status_code,  # no such thread
                http.delete("/threads", headers=ALICE).status_code,
                http.post("/threads", content=BIG, headers={**ALICE, "content-type": "application/json"}).status_code,
                http.post(
                    "/threads/search", content=DEEP, headers={**ALICE, "content-type": "application/json"}
                ).status_code,
                http.options(
                    "/threads", headers={"Origin": "http://example.com", "Access-Control-Request-Method": "POST"}
                ).status_code,
            ]
            after = scrape(f"{url}/metrics")
    finally:
        proc.stop()
    assert answers == [401, 401, 401, 401, 404, 404, 405, 413, 422, 200]
    d = lambda name, **labels: delta(before, after, name, **labels)  # noqa: E731
    assert d("lg_api_http_requests_total", method="POST", path="", status="401") == 2
    assert d("lg_api_http_requests_total", method="GET", path="", status="401") == 2
    assert d("lg_api_http_requests_total", method="GET", path="", status="404") == 1
    assert d("lg_api_http_requests_total", method="GET", path="/threads/{thread_id}", status="404") == 1
    assert d("lg_api_http_requests_total", method="DELETE", path="/threads", status="405") == 1
    assert d("lg_api_http_requests_total", method="POST", path="/threads", status="413") == 1
    assert d("lg_api_http_requests_total", method="POST", path="/threads/search", status="422") == 1
    assert d("lg_api_http_requests_total", method="OPTIONS") == 0
    assert d("lg_api_http_requests_total") == 9  # every answer but the preflight, nothing else
    # the latency histogram has the same requests, by method and path
    assert d("lg_api_http_requests_latency_count", method="POST", path="") == 2
    assert d("lg_api_http_requests_latency_count", method="GET", path="") == 3
    assert d("lg_api_http_requests_latency_count", method="POST", path="/threads") == 1
    assert d("lg_api_http_requests_latency_count") == 9


async def test_early_answers_under_a_mount_prefix(temporal_server, tmp_path):
    """Under ``http.mount_prefix`` a refused request is not labelled with the prefix
    (the mount is not a route of the API): ``""`` for authentication, the template
    inside the prefix for a body too large; ``/ok`` and ``/`` at the top stay uncounted
    and counted as without a prefix."""
    proc, url = _early_answers_server(temporal_server, tmp_path, "prefixed", mount_prefix="/api")
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            before = scrape(f"{url}/api/metrics")
            answers = [
                http.post("/api/threads", json={}).status_code,
                http.post(
                    "/api/threads", content=BIG, headers={**ALICE, "content-type": "application/json"}
                ).status_code,
                http.post("/api/threads/search", json={}, headers=ALICE).status_code,
                http.get("/elsewhere").status_code,
                http.get("/ok").status_code,
            ]
            after = scrape(f"{url}/api/metrics")
    finally:
        proc.stop()
    assert answers == [401, 413, 200, 404, 200]
    d = lambda name, **labels: delta(before, after, name, **labels)  # noqa: E731
    assert d("lg_api_http_requests_total", method="POST", path="", status="401") == 1
    assert d("lg_api_http_requests_total", method="POST", path="/threads", status="413") == 1
    assert d("lg_api_http_requests_total", method="POST", path="/threads/search", status="200") == 1
    assert d("lg_api_http_requests_total", method="GET", path="", status="404") == 1
    assert d("lg_api_http_requests_total") == 4
    assert not [lab for n, lab in after if n == "lg_api_http_requests_total" and ("path", "/api") in lab]


# ------------------------------------------------------------- the worker's endpoint


@pytest.fixture
def split(temporal_server, tmp_path: Path):
    """``evergraph serve`` + ``evergraph worker`` with the worker's metrics port set."""
    port, metrics_port = free_port(), free_port()
    env = evergraph_env(
        temporal_server.address, tmp_path / "data", EVERGRAPH_TASK_QUEUE=f"metrics-split-{port}",
        EVERGRAPH_CONFIG=str(GRAPHS_CONFIG), EVERGRAPH_WORKER_METRICS_PORT=str(metrics_port),
    )
    start = split_starter(env, tmp_path, port)
    start.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"  # type: ignore[attr-defined]
    yield start
    for proc in start.started:
        proc.stop()


async def test_worker_endpoint_of_a_separate_worker(split, tmp_path):
    split("serve")
    worker = split("worker")
    worker.wait_worker_ready()
    assert f"Worker metrics: {split.metrics_url}" in worker.output()
    before = scrape(split.metrics_url)
    client = get_client(url=split.url)
    await client.runs.wait(None, "chain", input={"log": []})
    counter = tmp_path / "flaky-count"
    await client.runs.wait(None, "flaky", input={"log": [], "counter_file": str(counter)})
    after = scrape(split.metrics_url)
    assert delta(before, after, "evergraph_runs_total", status="success", graph_id="chain") == 1
    assert delta(before, after, "evergraph_run_duration_seconds_count", status="success", graph_id="flaky") == 1
    assert delta(before, after, "evergraph_node_attempt_duration_seconds_count", graph_id="chain") == 3
    assert delta(before, after, "evergraph_node_retries_total", graph_id="flaky", node="flaky") == 2
    assert value(after, "lg_api_workers_max") == 100
    # the Temporal SDK's worker metrics, merged into the same endpoint
    assert value(after, "temporal_worker_task_slots_available") > 0
    # (its counters have no _total suffix in the text; the parser names their samples _total)
    assert delta(before, after, "temporal_workflow_completed_total") >= 2
    # the API process records none of the worker's metrics, and serves its own
    api = scrape(f"{split.url}/metrics")
    assert value(api, "evergraph_runs_total", graph_id="chain", status="success") == 0
    assert value(api, "lg_api_http_requests_total", path="/runs/wait") == 2
    assert "lg_api_workers_max" not in names(api)
    # only /metrics (and /) are served there
    assert httpx.get(split.metrics_url.replace("/metrics", "/other")).status_code == 404


async def test_worker_endpoint_under_dev(temporal_server, tmp_path):
    """API and worker in one process: the worker's runs on both endpoints."""
    port, metrics_port = free_port(), free_port()
    env = evergraph_env(
        temporal_server.address, tmp_path / "data", EVERGRAPH_TASK_QUEUE=f"metrics-dev-{port}",
        EVERGRAPH_WORKER_METRICS_PORT=str(metrics_port),
    )
    proc = EvergraphProcess(["dev", "--config", str(GRAPHS_CONFIG), "--port", str(port)], env, tmp_path / "dev.log")
    try:
        url = f"http://127.0.0.1:{port}"
        proc.wait_ready(url)
        worker_url = f"http://127.0.0.1:{metrics_port}/metrics"
        before_api, before_worker = scrape(f"{url}/metrics"), scrape(worker_url)
        await get_client(url=url).runs.wait(None, "chain", input={"log": []})
        after_api, after_worker = scrape(f"{url}/metrics"), scrape(worker_url)
        for before, after in ((before_api, after_api), (before_worker, after_worker)):
            assert delta(before, after, "evergraph_runs_total", status="success", graph_id="chain") == 1
            assert delta(before, after, "evergraph_node_attempt_duration_seconds_count", graph_id="chain") == 3
            assert value(after, "temporal_worker_task_slots_available") > 0
    finally:
        proc.stop()


def test_a_taken_worker_metrics_port_stops_start_up(temporal_server, tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = evergraph_env(
            temporal_server.address, tmp_path / "data", EVERGRAPH_TASK_QUEUE="metrics-taken",
            EVERGRAPH_CONFIG=str(GRAPHS_CONFIG), EVERGRAPH_WORKER_METRICS_PORT=str(taken.getsockname()[1]),
        )
        proc = EvergraphProcess(["worker"], env, tmp_path / "worker.log")
        try:
            assert proc.process.wait(60) == 2
            assert "EVERGRAPH_WORKER_METRICS_PORT: cannot serve metrics on 127.0.0.1:" in proc.output()
        finally:
            proc.stop()


# ---------------------------------------------------------- the production shape


def test_compose_scrapes_and_receives_what_evergraph_serves():
    """docker-compose.temporal.yml and deploy/: Prometheus scrapes the ports the API
    and the workers serve their metrics on, and the collector takes the OTLP the
    processes send and forwards it to Jaeger (no Docker engine here: the files'
    structure is what is checked)."""
    import yaml

    root = Path(__file__).resolve().parent.parent
    compose = yaml.safe_load((root / "docker-compose.temporal.yml").read_text())
    services = compose["services"]
    api_env = {k: str(v) for k, v in services["evergraph-api"]["environment"].items()}
    worker_env = {k: str(v) for k, v in services["evergraph-worker"]["environment"].items()}

    prometheus = yaml.safe_load((root / "deploy" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    for job, service, port in (
        ("evergraph-api", "evergraph-api", api_env["EVERGRAPH_PORT"]),
        ("evergraph-worker", "evergraph-worker", worker_env["EVERGRAPH_WORKER_METRICS_PORT"]),
    ):
        (sd,) = jobs[job]["dns_sd_configs"]
        assert sd["names"] == [service] and sd["type"] == "A" and str(sd["port"]) == port
        assert jobs[job].get("metrics_path", "/metrics") == "/metrics"
    assert worker_env["EVERGRAPH_WORKER_METRICS_HOST"] == "0.0.0.0"  # reachable from Prometheus
    mounted = [v.split(":")[:2] for v in services["prometheus"]["volumes"]]
    assert ["./deploy/prometheus.yml", "/etc/prometheus/prometheus.yml"] in mounted
    assert "--config.file=/etc/prometheus/prometheus.yml" in services["prometheus"]["command"]

    collector = yaml.safe_load((root / "deploy" / "otel-collector.yaml").read_text())
    for name, pipeline in collector["service"]["pipelines"].items():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                assert component in collector[kind], f"{name} pipeline: {kind[:-1]} {component} undefined"
    assert set(collector["service"].get("extensions", [])) <= set(collector.get("extensions", {}))
    http = collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    assert api_env["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://otel-collector:{http.rsplit(':', 1)[1]}"
    assert collector["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger:4317"
    mounted = [v.split(":")[:2] for v in services["otel-collector"]["volumes"]]
    config_flag = next(a for a in services["otel-collector"]["command"] if a.startswith("--config="))
    assert ["./deploy/otel-collector.yaml", config_flag.split("=", 1)[1]] in mounted


# ------------------------------------------------------------------ the queue gauges' arithmetic


def test_queue_stats_wait_times_from_the_records_counts():
    """The wait times /metrics reports from :meth:`RecordStore.active_run_stats` (its
    counts are checked on every backend by tests/test_record_store_conformance.py)."""
    from datetime import datetime, timezone

    from evergraph.adapter.observability.metrics import QueueStats, queue_stats

    now = datetime(2024, 1, 1, 0, 1, 0, tzinfo=timezone.utc)
    stats = queue_stats(
        {
            "n_pending": 4, "n_running": 1, "oldest_pending": "2024-01-01T00:00:00+00:00",
            "oldest_unblocked_pending": "2024-01-01T00:00:30.500000+00:00",
            "median_pending": ("2024-01-01T00:00:10+00:00", "2024-01-01T00:00:20+00:00"),
            "queued": 3, "queued_per_thread_max": 2, "threads_with_queue": 2,
        },
        now,
    )
    assert stats == QueueStats(
        n_pending=4, n_running=1, pending_runs_wait_time_max_secs=60.0, pending_runs_wait_time_med_secs=45.0,
        pending_unblocked_runs_wait_time_max_secs=29.5, queued=3, queued_per_thread_max=2, threads_with_queue=2,
    )
    none_pending = queue_stats(
        {
            "n_pending": 0, "n_running": 2, "oldest_pending": None, "oldest_unblocked_pending": None,
            "median_pending": None, "queued": 1, "queued_per_thread_max": 1, "threads_with_queue": 1,
        },
        now,
    )
    assert none_pending.pending_runs_wait_time_max_secs is None
    assert none_pending.pending_runs_wait_time_med_secs is None
    assert none_pending.official()["n_running"] == 2
