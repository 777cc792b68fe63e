"""OpenTelemetry traces (adapter/observability/tracing.py), checked with real spans:
extra ``evergraph`` processes export OTLP (HTTP/protobuf, and gRPC) to a real OTLP
receiver on loopback run by the test, which decodes ``ExportTraceServiceRequest``
with ``opentelemetry-proto``. The example agent runs with a real ``ChatOpenAI``
(``EVERGRAPH_EXAMPLE_MODEL=openai:…``) against the local provider server of
``tests/providers.py``. Also: the same one trace across a ``kill -9`` of the worker
mid-node, runs created by a raw Temporal signal, a cron tick and a webhook delivery,
and tracing off (no spans, no interceptor)."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_client
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from temporalio.client import Client

from evergraph.adapter.observability import tracing
from evergraph.adapter.process.devserver import free_port, server_env, start_dev_server
from evergraph.adapter.process.settings import SettingsError
from tests.conftest import ROOT, EvergraphProcess, evergraph_env, split_starter, wait_for
from tests.providers import ProviderServer
from tests.test_durability import _kill9

EXAMPLES = ROOT / "examples"
MODEL = "gpt-4o-mini"
SLOW_MODEL = "gpt-slow"


# ---------------------------------------------------------------------- OTLP receivers


def _value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None


def _attrs(kvs: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in kvs}


class Spans:
    """Spans received, decoded from ``ExportTraceServiceRequest`` messages: each a dict
    with ``name``, ``trace``, ``id``, ``parent`` (hex, ``""`` for a root), ``attrs``,
    ``resource``, ``links`` (span ids), ``events``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.spans: list[dict[str, Any]] = []
        self.requests = 0

    def add(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
        out = []
        for rs in request.resource_spans:
            resource = _attrs(rs.resource.attributes)
            for ss in rs.scope_spans:
                for s in ss.spans:
                    out.append({
                        "name": s.name, "trace": s.trace_id.hex(), "id": s.span_id.hex(),
                        "parent": s.parent_span_id.hex(), "attrs": _attrs(s.attributes), "resource": resource,
                        "links": [link.span_id.hex() for link in s.links], "scope": ss.scope.name,
                        "events": [(e.name, _attrs(e.attributes)) for e in s.events],
                    })
        with self.lock:
            self.spans.extend(out)
            self.requests += 1

    def all(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.spans)

    def of_run(self, run_id: str) -> list[dict[str, Any]]:
        return [s for s in self.all() if s["attrs"].get("evergraph.run_id") == run_id]

    def trace(self, trace_id: str) -> list[dict[str, Any]]:
        return [s for s in self.all() if s["trace"] == trace_id]


class HttpReceiver(Spans):
    """OTLP/HTTP (protobuf) receiver on ``127.0.0.1``: ``POST /v1/traces``."""

    def __init__(self) -> None:
        super().__init__()
        spans = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path == "/v1/traces":
                    spans.add(trace_service_pb2.ExportTraceServiceRequest.FromString(body))
                reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


class GrpcReceiver(Spans):
    """OTLP/gRPC receiver on ``127.0.0.1`` (the collector's ``TraceService``)."""

    def __init__(self) -> None:
        import grpc
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

        super().__init__()
        spans = self

        class Service(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request, context):  # noqa: N802 - the service's name
                spans.add(request)
                return trace_service_pb2.ExportTraceServiceResponse()

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Service(), self.server)
        port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.stop(0)


class WebhookReceiver:
    """Accepts webhook POSTs on loopback; ``bodies`` holds their JSON."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                bodies.append(json.loads(self.rfile.read(int(self.headers.get("content-length") or 0))))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


# ---------------------------------------------------------------------- helpers


def _config(folder: Path) -> Path:
    """The examples' graphs (``agent``, ``approval``), with loopback webhooks allowed."""
    path = folder / "langgraph.json"
    path.write_text(json.dumps({
        "dependencies": [str(EXAMPLES)],
        "graphs": {
            "agent": str(EXAMPLES / "agent.py") + ":graph", "approval": str(EXAMPLES / "approval.py") + ":graph",
            "timeouts": str(ROOT / "tests" / "graphs" / "timeouts.py") + ":builder",
        },
        "webhooks": {"url": {"disable_loopback": False, "require_https": False}},
    }))
    return path


def _env(temporal_address: str, folder: Path, provider: ProviderServer, receiver: Spans, model: str, **extra: str) -> dict:
    return evergraph_env(
        temporal_address, folder / "data", EVERGRAPH_TASK_QUEUE=f"tracing-{free_port()}",
        EVERGRAPH_CONFIG=str(_config(folder)),
        EVERGRAPH_EXAMPLE_MODEL=f"openai:{model}", OPENAI_BASE_URL=provider.openai_base_url, OPENAI_API_KEY="test",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url, OTEL_SERVICE_NAME="evergraph-under-test",
        OTEL_BSP_SCHEDULE_DELAY="100",  # export within 0.1 s (the SDK's default: 5 s)
        **extra,
    )


def _by_id(spans: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in spans}


def _ancestors(span: dict[str, Any], index: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    while span["parent"] and span["parent"] in index:
        span = index[span["parent"]]
        out.append(span)
    return out


def _root(trace: list[dict[str, Any]]) -> dict[str, Any]:
    roots = [s for s in trace if not s["parent"]]
    assert len(roots) == 1, [s["name"] for s in roots]
    return roots[0]


async def _run_trace(spans: Spans, run_id: str, last: str = "CompleteWorkflow:RunWorkflow") -> list[dict[str, Any]]:
    """The spans of ``run_id``'s trace, once its ``last`` span arrived."""
    await wait_for(lambda: any(s["name"] == last for s in spans.of_run(run_id)), timeout=60)
    traces = {s["trace"] for s in spans.of_run(run_id)}
    assert len(traces) == 1, [(s["name"], s["trace"]) for s in spans.of_run(run_id)]
    return spans.trace(traces.pop())


def _names(trace: list[dict[str, Any]]) -> list[str]:
    return sorted(s["name"] for s in trace)


@pytest.fixture
def provider():
    server = ProviderServer(delays={SLOW_MODEL: 120.0}).start()
    yield server
    server.stop()


@pytest.fixture
def http_receiver():
    receiver = HttpReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def processes():
    started: list[EvergraphProcess] = []
    yield started
    for proc in started:
        proc.stop()


def _dev(temporal_address: str, tmp_path: Path, env: dict, started: list) -> str:
    port = free_port()
    proc = EvergraphProcess(["dev", "--port", str(port)], env, tmp_path / "dev.log")
    started.append(proc)
    url = f"http://127.0.0.1:{port}"
    proc.wait_ready(url)
    return url


# ---------------------------------------------------------------------- tests


async def test_one_trace_per_run_from_the_request_to_the_llm_call(temporal_server, tmp_path, provider, http_receiver, processes):
    url = _dev(temporal_server.address, tmp_path, _env(temporal_server.address, tmp_path, provider, http_receiver, MODEL), processes)
    client = get_client(url=url)
    tid = (await client.threads.create())["thread_id"]
    runs = []
    for _ in range(2):  # the second run finds the thread's workflow already running
        parts = [p async for p in client.runs.stream(
            tid, "agent", input={"messages": [{"role": "user", "content": "Paris"}]}, stream_mode=["updates"],
        )]
        runs.append(parts[0].data["run_id"])
        assert [list(p.data) for p in parts if p.event == "updates"] == [["model"], ["tools"], ["model"]]
    assert provider.stats.count("openai.chat_completions", MODEL) == 4

    first, second = [await _run_trace(http_receiver, rid) for rid in runs]
    assert first[0]["trace"] != second[0]["trace"]
    for rid, trace in zip(runs, (first, second)):
        index = _by_id(trace)
        root = _root(trace)
        # the trace roots at the API request that created the run
        assert root["name"] == "POST /threads/{thread_id}/runs/stream", _names(trace)
        assert root["resource"]["service.name"] == "evergraph-under-test"
        assert {k: root["attrs"].get(f"evergraph.{k}") for k in ("thread_id", "run_id", "graph_id", "multitask_strategy")} == {
            "thread_id": tid, "run_id": rid, "graph_id": "agent", "multitask_strategy": "enqueue",
        }
        assert root["attrs"]["evergraph.assistant_id"]
        names = _names(trace)
        for name in ("HandleUpdate:submit_run", "RunActivity:accept_run", "StartChildWorkflow:RunWorkflow",
                     "RunWorkflow:RunWorkflow", "CompleteWorkflow:RunWorkflow"):
            assert name in names, (name, names)
        # the driver's own activities get no spans (no node timed out)
        assert not [n for n in names if n.endswith((":advance", ":finish_run"))], names
        # nor do Temporal's zero-length marks that say nothing the spans around them do
        assert not [n for n in names if n.startswith(("StartActivity:", "ValidateUpdate:"))], names
        assert "SignalExternalWorkflow:run_ended" in names and "HandleSignal:run_ended" not in names, names
        # the run record's activity continues the update's caller (the Temporal client's span)
        accept = next(s for s in trace if s["name"] == "RunActivity:accept_run")
        assert index[accept["parent"]]["name"] == "StartUpdateWithStartWorkflow:ThreadWorkflow", _tree(trace)
        workflow = next(s for s in trace if s["name"] == "RunWorkflow:RunWorkflow")
        assert workflow["attrs"]["temporalWorkflowID"] == f"run-{rid}"
        assert workflow["attrs"]["evergraph.graph_id"] == "agent" and workflow["attrs"]["evergraph.thread_id"] == tid
        # the run's workflow spans (zero-length, Temporal's) hang off the thread's start of it
        start = next(s for s in trace if s["name"] == "StartChildWorkflow:RunWorkflow")
        assert workflow["parent"] == start["id"] and start["attrs"]["evergraph.run_id"] == rid
        # each node attempt is an activity span under the run's workflow, with its attributes
        attempts = [s for s in trace if s["name"].startswith("RunActivity:agent.")]
        assert sorted(s["name"] for s in attempts) == ["RunActivity:agent.model"] * 2 + ["RunActivity:agent.tools"]
        for span in attempts:
            # the attempt continues the run's context: no StartActivity span in between
            assert span["parent"] == start["id"], _tree(trace)
            assert span["attrs"]["evergraph.node"] == span["name"].rsplit(".", 1)[1]
            assert span["attrs"]["evergraph.attempt"] == 1
            assert span["attrs"]["evergraph.run_id"] == rid and span["attrs"]["evergraph.task_id"]
        # the LLM and tool calls inside the attempts are their child spans (OpenInference)
        llm = [s for s in trace if s["attrs"].get("openinference.span.kind") == "LLM"]
        tools = [s for s in trace if s["attrs"].get("openinference.span.kind") == "TOOL"]
        assert len(llm) == 2 and len(tools) == 1, _tree(trace)
        assert all(_ancestors(s, index)[-1] is root for s in llm + tools)
        assert {next(a["name"] for a in _ancestors(s, index) if a["name"].startswith("RunActivity:")) for s in llm} == {
            "RunActivity:agent.model"
        }
        assert next(a for a in _ancestors(tools[0], index) if a["name"].startswith("RunActivity:"))["name"] == "RunActivity:agent.tools"
        assert llm[0]["attrs"]["llm.model_name"] == MODEL
        # a node's own LangGraph run has no span of its own: its attempt's span stands for it
        assert not [s["name"] for s in trace if s["scope"].startswith("openinference") and s["name"] in ("model", "tools")]
        # every span of the trace descends from the request
        assert all(s is root or _ancestors(s, index)[-1] is root for s in trace)
    # the thread's own workflow span belongs to the request that started it, nothing of
    # the second run is in the first run's trace
    assert "RunWorkflow:ThreadWorkflow" in _names(first) and "RunWorkflow:ThreadWorkflow" not in _names(second)
    assert not [s for s in first if s["attrs"].get("evergraph.run_id") == runs[1]]


async def test_one_trace_per_run_in_the_workflow_sandbox(temporal_server, tmp_path, provider, http_receiver, processes):
    """``EVERGRAPH_WORKFLOW_SANDBOX=1``: the workflows (and the tracing interceptor's
    workflow half) run in Temporal's sandbox; a run's trace has the same one-trace
    structure: the API request → the run's workflow → each node attempt's activity
    span → the LLM and tool calls inside it."""
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

    from evergraph.adapter.process.settings import Settings
    from evergraph.adapter.process.temporal import workflow_runner

    env = _env(temporal_server.address, tmp_path, provider, http_receiver, MODEL, EVERGRAPH_WORKFLOW_SANDBOX="1")
    # the worker below runs its workflows in the sandbox
    assert isinstance(workflow_runner(Settings.from_env(env)), SandboxedWorkflowRunner)
    url = _dev(temporal_server.address, tmp_path, env, processes)
    client = get_client(url=url)
    tid = (await client.threads.create())["thread_id"]
    parts = [p async for p in client.runs.stream(
        tid, "agent", input={"messages": [{"role": "user", "content": "Paris"}]}, stream_mode=["updates"],
    )]
    rid = parts[0].data["run_id"]
    assert [list(p.data) for p in parts if p.event == "updates"] == [["model"], ["tools"], ["model"]]
    assert (await client.runs.get(tid, rid))["status"] == "success"

    trace = await _run_trace(http_receiver, rid)
    index = _by_id(trace)
    root = _root(trace)
    assert root["name"] == "POST /threads/{thread_id}/runs/stream", _tree(trace)
    assert root["attrs"]["evergraph.run_id"] == rid and root["attrs"]["evergraph.thread_id"] == tid
    names = _names(trace)
    for name in ("HandleUpdate:submit_run", "RunActivity:accept_run", "StartChildWorkflow:RunWorkflow",
                 "RunWorkflow:RunWorkflow", "CompleteWorkflow:RunWorkflow", "RunWorkflow:ThreadWorkflow"):
        assert name in names, (name, _tree(trace))
    workflow = next(s for s in trace if s["name"] == "RunWorkflow:RunWorkflow")
    start = next(s for s in trace if s["name"] == "StartChildWorkflow:RunWorkflow")
    assert workflow["parent"] == start["id"] and workflow["attrs"]["temporalWorkflowID"] == f"run-{rid}"
    assert workflow["attrs"]["evergraph.graph_id"] == "agent" and workflow["attrs"]["evergraph.thread_id"] == tid
    attempts = [s for s in trace if s["name"].startswith("RunActivity:agent.")]
    assert sorted(s["name"] for s in attempts) == ["RunActivity:agent.model"] * 2 + ["RunActivity:agent.tools"]
    for span in attempts:
        assert start in _ancestors(span, index), _tree(trace)
        assert span["attrs"]["evergraph.node"] == span["name"].rsplit(".", 1)[1]
        assert span["attrs"]["evergraph.run_id"] == rid and span["attrs"]["evergraph.attempt"] == 1
    llm = [s for s in trace if s["attrs"].get("openinference.span.kind") == "LLM"]
    tools = [s for s in trace if s["attrs"].get("openinference.span.kind") == "TOOL"]
    assert len(llm) == 2 and len(tools) == 1, _tree(trace)
    assert {next(a["name"] for a in _ancestors(s, index) if a["name"].startswith("RunActivity:")) for s in llm} == {
        "RunActivity:agent.model"
    }
    assert not [n for n in names if n.endswith((":advance", ":finish_run"))], names
    assert all(s is root or _ancestors(s, index)[-1] is root for s in trace), _tree(trace)


async def test_the_trace_survives_a_kill_9_of_the_worker_mid_node(temporal_server, tmp_path, provider, http_receiver):
    env = _env(temporal_server.address, tmp_path, provider, http_receiver, SLOW_MODEL)
    start = split_starter(env, tmp_path, free_port())
    try:
        start("serve")
        worker = start("worker")
        worker.wait_worker_ready()
        client = get_client(url=start.url)
        tid = (await client.threads.create())["thread_id"]
        run = await client.runs.create(tid, "agent", input={"messages": [{"role": "user", "content": "Paris"}]})
        # mid-node: the model call is at the provider
        await wait_for(lambda: provider.stats.in_flight[SLOW_MODEL] >= 1, timeout=60)
        await wait_for(lambda: any(s["name"] == "RunActivity:accept_run" for s in http_receiver.of_run(run["run_id"])))
        _kill9(worker)
        provider.delays[SLOW_MODEL] = 0
        second = start("worker")
        second.wait_worker_ready()
        await asyncio.wait_for(client.runs.join(tid, run["run_id"]), 120)
        assert (await client.runs.get(tid, run["run_id"]))["status"] == "success"
        trace = await _run_trace(http_receiver, run["run_id"])
    finally:
        for proc in start.started:
            proc.stop()
    index = _by_id(trace)
    root = _root(trace)
    assert root["name"] == "POST /threads/{thread_id}/runs" and root["resource"]["evergraph.command"] == "serve"
    assert all(s is root or _ancestors(s, index)[-1] is root for s in trace)
    # spans of the dead worker and of its successor, in the one trace
    workers = {s["resource"]["service.instance.id"] for s in trace if s["resource"]["evergraph.command"] == "worker"}
    assert len(workers) == 2, _names(trace)
    model_attempts = [s for s in trace if s["name"] == "RunActivity:agent.model"]
    assert model_attempts and {s["resource"]["service.instance.id"] for s in model_attempts} <= workers
    assert [s for s in trace if s["attrs"].get("openinference.span.kind") == "LLM"]


async def test_signal_cron_and_webhook_runs_are_traced_over_grpc(temporal_server, tmp_path, provider, processes):
    receiver = GrpcReceiver()
    hooks = WebhookReceiver()
    try:
        env = _env(temporal_server.address, tmp_path, provider, receiver, MODEL, OTEL_EXPORTER_OTLP_PROTOCOL="grpc")
        url = _dev(temporal_server.address, tmp_path, env, processes)
        client = get_client(url=url)
        plain = await Client.connect(temporal_server.address)  # no tracing interceptor: a raw signal

        # a run with a webhook: its delivery is a span of the run's trace
        tid = (await client.threads.create())["thread_id"]
        asked = await client.runs.wait(tid, "approval", input={"request": "refund order 42"}, webhook=hooks.url)
        first = (await client.runs.list(tid))[0]["run_id"]
        assert asked["__interrupt__"]
        trace = await _run_trace(receiver, first, last="RunActivity:send_webhook")
        assert _root(trace)["name"] == "POST /threads/{thread_id}/runs/wait"
        await wait_for(lambda: hooks.bodies)

        # a resume by a raw Temporal signal: a trace of its own, rooted at evergraph.resume
        await plain.get_workflow_handle(f"thread-{tid}").signal("resume", {"resume": "yes"})

        async def resumed():
            return [r for r in await client.runs.list(tid) if r["run_id"] != first and r["status"] == "success"]

        resumed_id = (await wait_for(resumed, timeout=60))[0]["run_id"]
        trace = await _run_trace(receiver, resumed_id)
        root = _root(trace)
        assert root["name"] == "evergraph.resume" and root["attrs"]["evergraph.run_id"] == resumed_id
        assert root["links"], "linked to the signal's handling"
        assert "RunWorkflow:RunWorkflow" in _names(trace)

        # a cron tick (a trigger of its schedule): the run's trace roots at cron_fire
        assistant = (await client.assistants.search(graph_id="agent"))[0]["assistant_id"]
        cron = await client.crons.create_for_thread(
            (await client.threads.create())["thread_id"], assistant, schedule="0 0 1 1 *",
            input={"messages": [{"role": "user", "content": "Rome"}]},
        )
        await plain.get_schedule_handle(f"cron-{cron['cron_id']}").trigger()

        async def cron_run():
            return [s["attrs"]["evergraph.run_id"] for s in receiver.all()
                    if s["name"] == "RunWorkflow:RunWorkflow" and s["attrs"].get("evergraph.assistant_id") == assistant
                    and s["attrs"].get("evergraph.thread_id") == cron["thread_id"]]

        cron_run_id = (await wait_for(cron_run, timeout=60))[0]
        trace = await _run_trace(receiver, cron_run_id)
        assert _root(trace)["name"] == "RunActivity:cron_fire"
        assert [s for s in trace if s["attrs"].get("openinference.span.kind") == "LLM"]
    finally:
        receiver.stop()
        hooks.server.shutdown()


async def test_a_node_timeout_is_an_event_of_the_trace(temporal_server, tmp_path, provider, http_receiver, processes):
    """The server-enforced run timeout of a sync node reaches the trace: the ``advance``
    that reports it keeps its spans, with one ``evergraph.node_timeout`` event."""
    url = _dev(temporal_server.address, tmp_path, _env(temporal_server.address, tmp_path, provider, http_receiver, MODEL), processes)
    client = get_client(url=url)
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, "timeouts", input={"mode": "sync_sleep", "log": []}, raise_error=False)
    run = (await client.runs.list(tid))[0]
    assert run["status"] == "error"
    trace = await _run_trace(http_receiver, run["run_id"])
    events = [(s["name"], e) for s in trace for e in s["events"] if e[0] == "evergraph.node_timeout"]
    assert [(name, e[1]["evergraph.timeout_kind"]) for name, e in events] == [("RunActivity:advance", "run")], _names(trace)
    attempt = next(s for s in trace if s["name"] == "RunActivity:timeouts.sync_sleep")
    assert events[0][1][1]["evergraph.task_id"] == attempt["attrs"]["evergraph.task_id"]
    # only the advance that reported the timeout is traced
    assert _names(trace).count("RunActivity:advance") == 1, _names(trace)


async def test_tracing_off_installs_nothing(client, temporal_client):
    """The session's ``evergraph dev`` has no ``OTEL_*``: its workflows carry no trace
    header, so no interceptor ran; in process, nothing is configured."""
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(tid, "chain", input={"log": []})
    await client.runs.join(tid, run["run_id"])
    for workflow_id in (f"run-{run['run_id']}", f"thread-{tid}"):
        history = await temporal_client.get_workflow_handle(workflow_id).fetch_history()
        headers = [
            dict(e.workflow_execution_started_event_attributes.header.fields)
            for e in history.events if e.HasField("workflow_execution_started_event_attributes")
        ] + [
            dict(e.workflow_execution_update_accepted_event_attributes.accepted_request.input.header.fields)
            for e in history.events if e.HasField("workflow_execution_update_accepted_event_attributes")
        ]
        assert headers and not [h for h in headers if "_tracer-data" in h], workflow_id
    assert tracing.current() is None
    assert tracing.configure({}) is None and tracing.temporal_interceptors() == [] and tracing.current() is None
    assert tracing.run_context({"run_id": "r"}, "g") is None and tracing.new_trace("x") is None


@pytest.mark.parametrize(
    ("env", "on"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "x"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_ENABLED": "true"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://h:4318", "OTEL_SDK_DISABLED": "true"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://h:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://h:4318", "OTEL_ENABLED": "false"}, False),
    ],
)
def test_when_tracing_is_on(env, on):
    assert tracing.enabled(env) is on


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"OTEL_TRACES_EXPORTER": "jaeger"}, "OTEL_TRACES_EXPORTER"),
        ({"OTEL_ENABLED": "maybe"}, "OTEL_ENABLED"),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "OTEL_EXPORTER_OTLP_PROTOCOL"),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "udp"}, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "sometimes"}, "OTEL_TRACES_SAMPLER"),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"},
         "OTEL_TRACES_SAMPLER_ARG"),
    ],
)
def test_bad_otel_settings_are_refused_naming_the_variable(env, variable):
    with pytest.raises(SettingsError, match=variable):
        tracing.configure(env)
    assert tracing.current() is None


def test_a_bad_otel_setting_stops_evergraph_at_start_up(temporal_server, tmp_path):
    env = evergraph_env(temporal_server.address, tmp_path / "data", OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9",
                        OTEL_EXPORTER_OTLP_PROTOCOL="carrier-pigeon")
    proc = EvergraphProcess(["worker", "--config", str(_config(tmp_path))], env, tmp_path / "bad.log")
    assert proc.process.wait(60) == 2
    proc.stop()
    assert "OTEL_EXPORTER_OTLP_PROTOCOL must be grpc or http/protobuf" in proc.output()


async def test_the_embedded_dev_server_starts_under_evergraphs_otel_settings(tmp_path, monkeypatch):
    # `evergraph dev` with the console exporter: the Temporal server in the CLI reads
    # OTEL_TRACES_EXPORTER too, and refuses to start on any value but otlp
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    server = await start_dev_server(tmp_path / "temporal", port=free_port(), ui_port=free_port())
    try:
        await Client.connect(server.address)
    finally:
        server.stop()
    assert server_env({"OTEL_SERVICE_NAME": "x", "PATH": "/bin"}) == {"PATH": "/bin"}


def _tree(trace: list[dict[str, Any]]) -> str:  # pragma: no cover - a debugging aid
    """The trace as an indented outline (for failure messages and the README)."""
    index, children = _by_id(trace), {}
    for s in trace:
        children.setdefault(s["parent"] if s["parent"] in index else "", []).append(s)
    lines: list[str] = []

    def walk(parent: str, depth: int) -> None:
        for s in children.get(parent, []):
            lines.append("  " * depth + s["name"])
            walk(s["id"], depth + 1)

    walk("", 0)
    return "\n".join(lines)


class LangSmithReceiver:
    """Stands for the LangSmith API on loopback: answers ``GET /info`` and keeps the
    path and raw body of every POST (``/runs/multipart``, ``/runs/batch``)."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, bytes]] = []
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                self._reply(b"{}")

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                posts.append((self.path, body))
                self._reply(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


async def test_langsmith_tracing_still_works_beside_opentelemetry(temporal_server, tmp_path, provider, http_receiver, processes):
    """``LANGSMITH_TRACING`` sends the node's LangChain runs to LangSmith (here a
    stand-in on loopback) while OpenTelemetry traces the same run."""
    langsmith = LangSmithReceiver()
    try:
        env = _env(temporal_server.address, tmp_path, provider, http_receiver, MODEL,
                   LANGSMITH_TRACING="true", LANGSMITH_API_KEY="lsv2-test", LANGSMITH_ENDPOINT=langsmith.url,
                   LANGSMITH_DISABLE_RUN_COMPRESSION="true")
        client = get_client(url=_dev(temporal_server.address, tmp_path, env, processes))
        tid = (await client.threads.create())["thread_id"]
        run = await client.runs.create(tid, "agent", input={"messages": [{"role": "user", "content": "Paris"}]})
        await client.runs.join(tid, run["run_id"])
        trace = await _run_trace(http_receiver, run["run_id"])
        assert [s for s in trace if s["attrs"].get("openinference.span.kind") == "LLM"]
        await wait_for(lambda: any(b"get_weather" in body for _, body in langsmith.posts), timeout=60)
        assert all(path.startswith("/runs") for path, _ in langsmith.posts), [p for p, _ in langsmith.posts]
    finally:
        langsmith.server.shutdown()


# ---------------------------------------------------------------------- LangChain handler


def _handler_and_spans() -> tuple[Any, Any]:
    """OpenInference's LangChain callback handler, as :func:`tracing.configure` sets it
    up, on a tracer provider of its own (nothing installed process-wide), and the
    exporter its spans go to."""
    from openinference.instrumentation import OITracer, TraceConfig
    from openinference.instrumentation.langchain._tracer import OpenInferenceTracer
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    handler = OpenInferenceTracer(OITracer(provider.get_tracer("test"), config=TraceConfig()), False)
    handler.run_inline = True
    tracing._skip_runs_without_spans(handler)
    return handler, exporter


@pytest.mark.parametrize("suppressed", [False, True])
async def test_langchain_runs_under_suppressed_instrumentation_keep_nothing(suppressed):
    """The driver's activities run the graph's loop with instrumentation suppressed:
    the handler then keeps no LangChain ``Run`` for the graph's root run while it is
    open (before, LangChain's ``BaseTracer`` built and held one although OpenInference
    gave it no span), nor for the runs inside it, and makes no span. Unsuppressed, the
    same graph has its runs held and traced."""
    from typing import TypedDict

    from langchain_core.runnables import RunnableLambda
    from langgraph.graph import START, StateGraph
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    handler, exporter = _handler_and_spans()
    held: list[int] = []

    class State(TypedDict):
        n: int

    def node(state: State) -> State:
        held.append(len(handler.run_map))
        return {"n": RunnableLambda(lambda n: n + 1).invoke(state["n"])}

    graph = StateGraph(State).add_node("node", node).add_edge(START, "node").compile()
    with suppress_instrumentation() if suppressed else contextlib.nullcontext():
        assert await graph.ainvoke({"n": 1}, {"callbacks": [handler]}) == {"n": 2}
    names = [span.name for span in exporter.get_finished_spans()]
    if suppressed:
        assert held == [0] and names == []
    else:
        assert held[0] >= 2 and {"LangGraph", "node"} <= set(names), (held, names)
    assert handler.run_map == {}


def test_the_tracing_parts_benchmark_prints_its_figures():
    """``benchmarks/bench_tracing_parts.py`` (README "Cost") still runs against the
    pinned OpenTelemetry and temporalio, and prints a positive figure for each part."""
    import re
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_tracing_parts.py"), "--n", "200"],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    figures = dict(re.findall(r"^(record|export|interceptor) +([\d.]+) us", out, re.MULTILINE))
    figures.update(re.findall(r"^(per stateless run) .*about ([\d.]+) ms", out, re.MULTILINE))
    assert set(figures) == {"record", "export", "interceptor", "per stateless run"}, out
    assert all(float(v) > 0 for v in figures.values()), out
