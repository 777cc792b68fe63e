"""What tracing's parts cost, each measured alone in this process: recording a span
with a node attempt's attributes, exporting spans over OTLP/HTTP, and the activity
side of Evergraph's Temporal tracing interceptor around one node attempt.

Tracing is set up as ``evergraph dev`` sets it up (``adapter/observability/tracing.py``
``configure``, OTLP/HTTP to a local receiver started here that drops what it gets, see
``bench_runs.OTLP_SINK``). What it prints:

* ``record``: one ``RunActivity`` span with Temporal's and Evergraph's attributes,
  started and ended, in microseconds (wall clock; the batch processor's thread exports
  meanwhile, as in a server);
* ``export``: ``OTLPSpanExporter.export`` of 512 recorded spans (encoding and the HTTP
  request), per span;
* ``interceptor``: one node attempt through the activity interceptors that
  ``tracing.temporal_interceptors()`` gives a worker (context from the
  ``_tracer-data`` header, the span, the ``evergraph.*`` attributes from the
  attempt's argument) against the same attempt through no interceptor, in
  microseconds (inside ``temporalio.testing.ActivityEnvironment``, which gives
  ``activity.info()``);
* their sum for a stateless run of ``bench_runs.py``'s 10-node chain (19 spans).

These are the fixed parts of tracing's cost per run; ``bench_runs.py --compare`` measures
the whole (see README "Cost").

Usage::

    .venv/bin/python benchmarks/bench_tracing_parts.py [--n 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_runs  # noqa: E402

#: a node attempt's argument as its activity receives it (``NodeInput``'s shape, cut
#: to what the attribute reader looks at plus a little state)
ATTEMPT = {
    "run": {
        "run_id": "1f0d6a52-6a0e-6f35-9b7e-2f3d0c1e8a41", "thread_id": "1f0d6a52-6a0e-6f35-9b7e-2f3d0c1e8a40",
        "assistant_id": "fe096781-5601-53d2-b2f6-0d3403f7e9ca", "graph_id": "chain10",
        "multitask_strategy": "reject", "input": {"n": 0}, "config": {"configurable": {}},
    },
    "task": {"name": "n3", "task_id": "7b6f1c8e-2d1a-5f0e-9c3b-4a5d6e7f8091", "step": 4, "checkpoint_id": "1f0d6a52"},
}


def _timed(fn: Any, n: int) -> float:
    """Median over 5 rounds of ``fn()``'s wall time, in microseconds per call."""
    for _ in range(n // 10):
        fn()
    rounds = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        rounds.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(rounds)


async def _attempts(chain: Any, make_input: Any, n: int) -> float:
    """Median over 5 rounds of one ``chain.execute_activity``, in microseconds."""
    for _ in range(n // 10):
        await chain.execute_activity(make_input())
    rounds = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            await chain.execute_activity(make_input())
        rounds.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20000, help="calls per round (5 rounds each)")
    args = parser.parse_args()

    from evergraph.adapter.process.devserver import free_port

    port = free_port()
    atexit.register(bench_runs.PROCS.stop)
    bench_runs.start_otlp_sink(port)
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{port}"
    os.environ.setdefault("OTEL_BSP_MAX_QUEUE_SIZE", str(10**6))  # no span dropped while recording fast

    import opentelemetry.trace
    import temporalio.converter
    import temporalio.worker
    from evergraph.adapter.observability import tracing
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.trace.propagation.tracecontext import (
        TraceContextTextMapPropagator,
    )
    from temporalio.common import RawValue
    from temporalio.testing import ActivityEnvironment

    state = tracing.configure(command="bench")
    assert state is not None, "tracing did not turn on"
    tracer = state.provider.get_tracer("temporalio")
    attributes = {
        "temporalActivityID": "7", "temporalWorkflowID": "run-" + ATTEMPT["run"]["run_id"],
        "temporalRunID": ATTEMPT["run"]["run_id"], "evergraph.attempt": 1,
        **{f"evergraph.{k}": v for k, v in ATTEMPT["run"].items() if isinstance(v, str)},
        "evergraph.node": "n3", "evergraph.task_id": ATTEMPT["task"]["task_id"], "evergraph.step": 4,
    }
    kept: list[Any] = []

    def record() -> None:
        with tracer.start_as_current_span("RunActivity:chain10.n3", attributes=attributes,
                                          kind=opentelemetry.trace.SpanKind.SERVER) as span:
            if len(kept) < 512:
                kept.append(span)

    record_us = _timed(record, args.n)
    state.provider.force_flush()  # the batch processor's backlog, before exporting alone
    exporter = OTLPSpanExporter()
    export_us = _timed(lambda: exporter.export(kept), max(args.n // 2000, 5)) / len(kept)

    converter = temporalio.converter.PayloadConverter.default
    argument = RawValue(converter.to_payloads([ATTEMPT])[0])
    with tracer.start_as_current_span("StartChildWorkflow:RunWorkflow"):
        carrier: dict[str, str] = {}
        TraceContextTextMapPropagator().inject(carrier)
    header = {"_tracer-data": converter.to_payloads([carrier])[0]}

    class Attempt(temporalio.worker.ActivityInboundInterceptor):
        """The node attempt itself: nothing."""

        def __init__(self) -> None:
            pass

        async def execute_activity(self, input: temporalio.worker.ExecuteActivityInput) -> Any:
            return None

    bare = Attempt()
    traced = tracing.temporal_interceptors()[0].intercept_activity(bare)

    def make_input() -> temporalio.worker.ExecuteActivityInput:
        return temporalio.worker.ExecuteActivityInput(fn=None, args=[argument], executor=None, headers=header)

    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, activity_type="chain10.n3", workflow_id="run-x", workflow_run_id="r")

    async def attempts() -> tuple[float, float]:
        n = max(args.n // 4, 100)
        return await _attempts(bare, make_input, n), await _attempts(traced, make_input, n)

    bare_us, traced_us = env.run(lambda: asyncio.run(attempts()))
    print(f"record      {record_us:7.1f} us per span")
    print(f"export      {export_us:7.1f} us per span (OTLP/HTTP, batches of {len(kept)})")
    print(f"interceptor {traced_us:7.1f} us per node attempt, its span included, against {bare_us:.1f} us untraced")
    spans, attempts_per_run = 19, 10
    total_ms = (spans * (record_us + export_us) + attempts_per_run * (traced_us - bare_us - record_us)) / 1000
    print(f"per stateless run of chain10 ({spans} spans, {attempts_per_run} attempts): about {total_ms:.1f} ms")
    tracing.shutdown()


if __name__ == "__main__":
    main()
