"""Evergraph stream benchmark: token latency, events per second and API memory of one
SSE stream, measured on this machine against loopback services, each next to the same
graph under in-process ``graph.astream`` in the same run.

What it starts (all cleaned up on exit, also on Ctrl-C / SIGTERM):

* one Temporal dev server (``adapter/process/devserver.py``) on free ports;
* one ``evergraph dev`` subprocess (API and worker in one process) pointed at it,
  serving a generated ``langgraph.json`` with the graph ``streams`` (one node, ``emit``);
* in this process: the same graph, run with ``graph.astream`` for reference.

The node stamps every event with the wall clock (``time.time_ns()``, shared by all
processes of the machine) when it emits it; the client takes ``time.time_ns()`` when
the official ``langgraph_sdk`` async client (``client.runs.stream``, stateless runs)
hands it the event. What it measures:

a. token latency, arrival - emission per event, p50 / p99 (ms), with a fixed gap
   between events (``--gap-ms``):
   * ``messages``: a chat model (a small ``BaseChatModel`` whose tokens are their own
     emission timestamps) streams ``--tokens`` tokens; the client reads
     ``stream_mode="messages-tuple"`` (in-process: ``stream_mode="messages"``);
   * ``custom``: the node writes ``--tokens`` events with ``get_stream_writer()``;
     ``stream_mode="custom"`` on both sides.
   Targets: p50 < 10 ms, p99 < 50 ms.
b. events per second one stream sustains: the node writes ``--flood`` custom events as
   fast as it can; events / (last arrival - first emission). Target: >= 2,000/s.
c. memory of the API process during a long stream: the node writes ``--long``
   custom events while the ``evergraph dev`` process's VmRSS is sampled from /proc;
   RSS before, the peak during a stream a tenth as long (run first), and the RSS when
   the client has received 10 %, 50 % and 100 % of the long one. Target: bounded,
   i.e. the long stream's peak exceeds the short one's by less than half the extra
   payload bytes.

Usage::

    .venv/bin/python benchmarks/bench_streams.py [--json out.json]

See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import os
import platform
import signal
import statistics
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any


def _here() -> Path:
    """This file's folder."""
    return Path(__file__).resolve().parent


if str(_here()) not in sys.path:
    sys.path.insert(0, str(_here()))

from bench_runs import (  # noqa: E402  (helpers shared with the run benchmark)
    Processes,
    cpu_seconds,
    log,
    pct,
    start_evergraph,
    system_busy_seconds,
    wait_ready,
)

#: targets (issue 4, item 6)
TARGET_P50_MS = 10.0
TARGET_P99_MS = 50.0
TARGET_EVENTS_PER_S = 2000.0
#: a stream's memory counts as bounded when the API's peak RSS during the long stream
#: exceeds its peak during a stream a tenth as long by less than this fraction of the
#: extra payload bytes. A Python list holding the events grows by far more than their
#: bytes (about 4 kB per event of ~140 payload bytes, measured with the broker's window
#: made unbounded in a copy of the tree: +820 MB for 200,000 events). The short stream
#: absorbs the one-off growth of a first large backlog (5-7 MB here, about the same for
#: 50,000 and 400,000 events).
BOUNDED_FRACTION = 0.5

GRAPH = textwrap.dedent(
    '''
    """Stream benchmark graph: one node, ``emit``, that streams timestamped events.

    Input ``{"mode": ..., "n": N, "gap_ms": G, "pad": P}``:

    * ``messages``: a chat model streams N tokens, G ms apart; each token's content is
      its emission time (``time.time_ns()``) followed by a space;
    * ``custom``: N stream-writer events ``{"i", "t", "p"}``, G ms apart (``t`` the
      emission time in ns, ``p`` P bytes of padding);
    * ``flood``: the same events, written back to back without yielding.
    """
    import asyncio
    import time
    from typing import Any, TypedDict

    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
    from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
    from langgraph.config import get_stream_writer
    from langgraph.graph import END, START, StateGraph


    class StampModel(BaseChatModel):
        """A chat model whose ``n`` tokens, ``gap_s`` seconds apart, are their own
        emission times (wall clock, ns)."""

        n: int = 10
        gap_s: float = 0.01

        @property
        def _llm_type(self) -> str:
            return "stamp"

        def _generate(self, messages, stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
            return ChatResult(generations=[ChatGeneration(message=AIMessage(content=""))])

        async def _astream(self, messages, stop=None, run_manager=None, **kwargs: Any):
            for i in range(self.n):
                if i and self.gap_s:
                    await asyncio.sleep(self.gap_s)
                yield ChatGenerationChunk(message=AIMessageChunk(content=f"{time.time_ns()} "))


    class State(TypedDict, total=False):
        mode: str
        n: int
        gap_ms: float
        pad: int
        sent: int


    async def emit(state: State) -> dict:
        n, gap = state.get("n", 10), state.get("gap_ms", 10.0) / 1000
        mode = state.get("mode", "custom")
        if mode == "messages":
            await StampModel(n=n, gap_s=gap).ainvoke([HumanMessage(content="go")])
            return {"sent": n}
        write = get_stream_writer()
        pad = "x" * state.get("pad", 0)
        if mode == "flood":
            for i in range(n):
                write({"i": i, "t": time.time_ns(), "p": pad})
            return {"sent": n}
        for i in range(n):
            if i and gap:
                await asyncio.sleep(gap)
            write({"i": i, "t": time.time_ns(), "p": pad})
        return {"sent": n}


    _b = StateGraph(State)
    _b.add_node("emit", emit)
    _b.add_edge(START, "emit")
    _b.add_edge("emit", END)
    graph = _b.compile()
    '''
)


# --------------------------------------------------------------------------- helpers


def vm_rss_kb(pid: int | str = "self") -> int | None:
    """Current resident set size (VmRSS) of ``pid`` in kB, from /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def latency_summary(lat_ms: list[float]) -> dict[str, float]:
    """Milliseconds: p50, p90, p99, min, max, mean and the sample count ``n``."""
    return {
        "p50_ms": statistics.median(lat_ms),
        "p90_ms": pct(lat_ms, 90),
        "p99_ms": pct(lat_ms, 99),
        "min_ms": min(lat_ms),
        "max_ms": max(lat_ms),
        "mean_ms": statistics.fmean(lat_ms),
        "n": len(lat_ms),
    }


class Sample:
    """What one stream delivered: ``emitted_ns`` / ``arrived_ns`` per event (wall
    clock, ns), payload bytes and the wall time from the request to the stream's end
    (s)."""

    def __init__(self) -> None:
        self.emitted_ns: list[int] = []
        self.arrived_ns: list[int] = []
        self.payload_bytes = 0
        self.total_s = 0.0

    def add(self, emitted_ns: int, arrived_ns: int, payload_bytes: int = 0) -> None:
        """Record one event emitted at ``emitted_ns`` and received at ``arrived_ns``."""
        self.emitted_ns.append(emitted_ns)
        self.arrived_ns.append(arrived_ns)
        self.payload_bytes += payload_bytes

    def latencies_ms(self) -> list[float]:
        """Arrival - emission per event, ms."""
        return [(a - e) / 1e6 for e, a in zip(self.emitted_ns, self.arrived_ns)]

    def rate(self) -> dict[str, float]:
        """Events per second: end to end (events / (last arrival - first emission)),
        at the producer (between first and last emission) and at the consumer (between
        first and last arrival)."""
        n = len(self.arrived_ns)
        if n < 2:
            return {"events": n, "end_to_end_per_s": 0.0, "producer_per_s": 0.0, "consumer_per_s": 0.0}

        def per_s(span_ns: int) -> float:
            return n / (span_ns / 1e9) if span_ns > 0 else float("inf")

        return {
            "events": n,
            "end_to_end_per_s": per_s(self.arrived_ns[-1] - self.emitted_ns[0]),
            "producer_per_s": per_s(self.emitted_ns[-1] - self.emitted_ns[0]),
            "consumer_per_s": per_s(self.arrived_ns[-1] - self.arrived_ns[0]),
        }


def _inp(mode: str, n: int, gap_ms: float = 0.0, pad: int = 0) -> dict[str, Any]:
    return {"mode": mode, "n": n, "gap_ms": gap_ms, "pad": pad}


async def sse_stream(sdk, mode: str, n: int, gap_ms: float = 0.0, pad: int = 0,
                     progress: list[int] | None = None) -> Sample:
    """One stateless ``streams`` run through ``client.runs.stream`` (``messages-tuple``
    for ``mode="messages"``, else ``custom``); every event's emission and arrival
    time. ``progress[0]`` is kept at the number of events received so far."""
    out = Sample()
    wire_mode = "messages-tuple" if mode == "messages" else "custom"
    t0 = time.perf_counter()
    async for part in sdk.runs.stream(None, "streams", input=_inp(mode, n, gap_ms, pad), stream_mode=wire_mode):
        now = time.time_ns()
        if part.event == "messages":
            content = (part.data[0] or {}).get("content") or ""
            if content.strip():
                out.add(int(content), now)
        elif part.event == "custom":
            out.add(part.data["t"], now, len(part.data.get("p", "")) + 40)  # ~ its JSON size
            if progress is not None:
                progress[0] += 1
        elif part.event == "error":
            raise RuntimeError(f"run failed: {part.data!r}")
    out.total_s = time.perf_counter() - t0
    if len(out.arrived_ns) != n:
        raise RuntimeError(f"{mode}: expected {n} events, received {len(out.arrived_ns)}")
    return out


async def inprocess_stream(graph, mode: str, n: int, gap_ms: float = 0.0, pad: int = 0) -> Sample:
    """The same run with ``graph.astream`` in this process (``stream_mode="messages"``
    for ``mode="messages"``, else ``custom``)."""
    out = Sample()
    t0 = time.perf_counter()
    if mode == "messages":
        async for chunk, _meta in graph.astream(_inp(mode, n, gap_ms, pad), stream_mode="messages"):
            now = time.time_ns()
            if isinstance(chunk.content, str) and chunk.content.strip():
                out.add(int(chunk.content), now)
    else:
        async for ev in graph.astream(_inp(mode, n, gap_ms, pad), stream_mode="custom"):
            out.add(ev["t"], time.time_ns(), len(ev.get("p", "")) + 40)  # ~ its JSON size
    out.total_s = time.perf_counter() - t0
    if len(out.arrived_ns) != n:
        raise RuntimeError(f"in-process {mode}: expected {n} events, received {len(out.arrived_ns)}")
    return out


async def sampled_stream(sdk, pid: int, n: int, pad: int, every_s: float) -> tuple[Sample, list[tuple[float, int, int]]]:
    """A ``flood`` stream of ``n`` events through SSE while ``pid``'s VmRSS is sampled
    every ``every_s`` seconds; returns the stream and the samples ``(seconds since the
    request, events received so far, VmRSS kB)``, the last one taken at its end."""
    progress = [0]
    samples: list[tuple[float, int, int]] = []
    t0 = time.monotonic()
    done = asyncio.Event()

    async def sampler() -> None:
        while not done.is_set():
            samples.append((time.monotonic() - t0, progress[0], vm_rss_kb(pid) or 0))
            try:
                await asyncio.wait_for(done.wait(), every_s)
            except asyncio.TimeoutError:
                pass

    task = asyncio.create_task(sampler())
    try:
        stream = await sse_stream(sdk, "flood", n, pad=pad, progress=progress)
    finally:
        done.set()
        await task
    samples.append((time.monotonic() - t0, progress[0], vm_rss_kb(pid) or 0))
    return stream, samples


# --------------------------------------------------------------------------- main


async def bench(args: argparse.Namespace, procs: Processes) -> dict[str, Any]:
    """Start the services, run the three measurements, return the results (ms, events/s,
    MB)."""
    repo = Path(args.repo).resolve()
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    from evergraph.adapter.process.devserver import free_port, start_dev_server
    from langgraph_sdk import get_client

    tmp = Path(tempfile.mkdtemp(prefix="evergraph-bench-streams-"))
    procs.tmp, procs.keep_tmp = tmp, args.keep
    (tmp / "graphs").mkdir()
    (tmp / "graphs" / "streams.py").write_text(GRAPH)
    config = tmp / "graphs" / "langgraph.json"
    config.write_text(json.dumps({"dependencies": ["."], "graphs": {"streams": "./streams.py:graph"}, "env": {}}))

    log(f"starting Temporal dev server (data in {tmp})")
    procs.dev_server = await start_dev_server(tmp / "temporal", port=free_port(), ui_port=free_port())
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    (tmp / "evergraph").mkdir()
    procs.evergraph = start_evergraph(
        repo, config, tmp / "evergraph", procs.dev_server.address, f"bench-streams-{uuid.uuid4().hex[:8]}", port
    )
    await wait_ready(procs.evergraph, url, tmp / "evergraph.log")
    eg_pid = procs.evergraph.pid
    log(f"evergraph dev ready at {url}, pid {eg_pid}")

    sdk = get_client(url=url, api_key=None, timeout=600)
    ns: dict[str, Any] = {}
    exec(compile(GRAPH, "streams.py", "exec"), ns)
    graph = ns["graph"]

    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "params": {k: getattr(args, k) for k in ("tokens", "gap_ms", "flood", "long", "pad", "repeats")},
    }
    pids = {"evergraph": eg_pid, "temporal": procs.dev_server.process.pid, "benchmark": "self"}
    noise0 = (time.monotonic(), system_busy_seconds(), sum(cpu_seconds(v) or 0 for v in pids.values()))

    log("warm-up")
    for mode in ("messages", "custom"):
        await sse_stream(sdk, mode, 5, 1.0)
        await inprocess_stream(graph, mode, 5, 1.0)
    await sse_stream(sdk, "flood", 500)
    await inprocess_stream(graph, "flood", 500)

    # ---- a. latency, interleaved: in-process and Evergraph in turn, per mode
    lat: dict[str, list[float]] = {}
    for r in range(args.repeats):
        for mode in ("messages", "custom"):
            log(f"latency {mode} ({r + 1}/{args.repeats}): {args.tokens} events {args.gap_ms:g} ms apart, each side")
            lat.setdefault(f"inprocess_{mode}", []).extend(
                (await inprocess_stream(graph, mode, args.tokens, args.gap_ms)).latencies_ms())
            lat.setdefault(f"evergraph_{mode}", []).extend(
                (await sse_stream(sdk, mode, args.tokens, args.gap_ms)).latencies_ms())
    results["latency"] = {k: latency_summary(v) for k, v in lat.items()}

    # ---- b. events per second, one stream
    rates: dict[str, list[dict[str, float]]] = {"inprocess": [], "evergraph": []}
    cpu_eg = 0.0
    for r in range(args.repeats):
        log(f"flood ({r + 1}/{args.repeats}): {args.flood} custom events back to back, each side")
        rates["inprocess"].append((await inprocess_stream(graph, "flood", args.flood, pad=args.pad)).rate())
        c0 = cpu_seconds(eg_pid) or 0.0
        s = await sse_stream(sdk, "flood", args.flood, pad=args.pad)
        cpu_eg += (cpu_seconds(eg_pid) or 0.0) - c0
        rates["evergraph"].append(s.rate())
        log(f"  evergraph {rates['evergraph'][-1]['end_to_end_per_s']:.0f} events/s end to end, "
            f"in-process {rates['inprocess'][-1]['end_to_end_per_s']:.0f}")
    results["throughput"] = {
        side: {
            "runs": v,
            "end_to_end_per_s_median": statistics.median(x["end_to_end_per_s"] for x in v),
            "end_to_end_per_s_best": max(x["end_to_end_per_s"] for x in v),
        }
        for side, v in rates.items()
    }
    results["throughput"]["evergraph"]["api_cpu_us_per_event"] = cpu_eg * 1e6 / (args.flood * args.repeats)

    # ---- c. memory of the API process during a short and a long stream
    if args.long:
        short_n = max(1, args.long // 10)
        log(f"memory: a {short_n}-event stream, then a {args.long}-event stream, "
            f"sampling VmRSS of pid {eg_pid} every {args.sample_s:g}s")
        before = vm_rss_kb(eg_pid) or 0
        short, short_samples = await sampled_stream(sdk, eg_pid, short_n, args.pad, args.sample_s)
        short_peak = max(x[2] for x in short_samples)
        long, samples = await sampled_stream(sdk, eg_pid, args.long, args.pad, args.sample_s)
        await asyncio.sleep(1.0)
        after = vm_rss_kb(eg_pid) or 0

        def at(frac: float) -> tuple[float, int, int]:
            return next(s for s in samples if s[1] >= frac * args.long)

        marks = {f"{int(f * 100)}%": at(f) for f in (0.1, 0.5, 1.0)}
        peak = max(x[2] for x in samples)
        extra_bytes = long.payload_bytes - short.payload_bytes
        results["memory"] = {
            "events": args.long,
            "short_events": short_n,
            "payload_mb": long.payload_bytes / 2**20,
            "extra_payload_mb": extra_bytes / 2**20,
            "duration_s": long.total_s,
            "rate": long.rate(),
            "rss_before_mb": before / 1024,
            "rss_short_max_mb": short_peak / 1024,
            "rss_mb": {k: v[2] / 1024 for k, v in marks.items()},
            "rss_at_s": {k: round(v[0], 1) for k, v in marks.items()},
            "rss_max_mb": peak / 1024,
            "rss_1s_after_mb": after / 1024,
            "growth_long_over_short_mb": (peak - short_peak) / 1024,
            "producer_done_s": (long.emitted_ns[-1] - long.emitted_ns[0]) / 1e9,
            "bounded": (peak - short_peak) * 1024 < BOUNDED_FRACTION * extra_bytes,
            "samples": [(round(a, 2), b, c) for a, b, c in samples],
        }

    t1, busy1, ours1 = time.monotonic(), system_busy_seconds(), sum(cpu_seconds(v) or 0 for v in pids.values())
    results["machine"]["other_processes_cpu_cores"] = round(
        max(0.0, (busy1 - noise0[1]) - (ours1 - noise0[2])) / (t1 - noise0[0]), 2
    )
    results["machine"]["loadavg_end"] = os.getloadavg()

    # ---- targets
    tg: dict[str, Any] = {}
    for mode in ("messages", "custom"):
        s = results["latency"][f"evergraph_{mode}"]
        tg[f"{mode}_p50_ms"] = {"value": s["p50_ms"], "target": f"< {TARGET_P50_MS:g}", "pass": s["p50_ms"] < TARGET_P50_MS}
        tg[f"{mode}_p99_ms"] = {"value": s["p99_ms"], "target": f"< {TARGET_P99_MS:g}", "pass": s["p99_ms"] < TARGET_P99_MS}
    eps = results["throughput"]["evergraph"]["end_to_end_per_s_median"]
    tg["events_per_s"] = {"value": eps, "target": f">= {TARGET_EVENTS_PER_S:g}", "pass": eps >= TARGET_EVENTS_PER_S}
    if "memory" in results:
        m = results["memory"]
        tg["rss_growth_mb"] = {"value": m["growth_long_over_short_mb"],
                               "target": f"< {BOUNDED_FRACTION * m['extra_payload_mb']:.1f}", "pass": m["bounded"]}
    results["targets"] = tg
    return results


def render(r: dict[str, Any]) -> str:
    """The results as text tables."""
    m, p = r["machine"], r["params"]
    L = [f"Evergraph stream benchmark, {m['cpus']} CPUs, Python {m['python']}"]
    other = m.get("other_processes_cpu_cores")
    warn = "  <-- WARNING: the machine was busy, numbers are pessimistic" if other and other > 0.2 else ""
    L.append(f"CPU used by other processes during the measurements: {other:.2f} cores{warn}")
    L.append(f"latency: {p['tokens']} events x {p['repeats']} per variant, {p['gap_ms']:g} ms apart; "
             f"flood: {p['flood']} events x {p['repeats']}; padding {p['pad']} bytes")
    L.append("")
    L.append(f"{'token latency (emission -> client)':<44}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}"
             f"{'p50 ratio':>11}{'p99 ratio':>11}")
    for mode, wire in (("messages", "messages-tuple / messages"), ("custom", "custom")):
        ip, eg = r["latency"][f"inprocess_{mode}"], r["latency"][f"evergraph_{mode}"]
        for label, s in ((f"in-process astream, {wire.split(' / ')[-1]}", ip), (f"Evergraph SSE, {wire.split(' / ')[0]}", eg)):
            ratio = "" if s is ip else f"{s['p50_ms'] / ip['p50_ms']:>10.1f}x{s['p99_ms'] / ip['p99_ms']:>10.1f}x"
            L.append(f"{label:<44}{s['p50_ms']:>9.2f}{s['p90_ms']:>9.2f}{s['p99_ms']:>9.2f}{s['max_ms']:>9.1f}{ratio}")
    L.append("")
    tp = r["throughput"]
    ip_eps, eg_eps = tp["inprocess"]["end_to_end_per_s_median"], tp["evergraph"]["end_to_end_per_s_median"]
    L.append(f"{'events/s, one stream (median of runs)':<44}{'end-to-end':>12}{'producer':>12}{'consumer':>12}")
    for label, side in (("in-process astream, custom", "inprocess"), ("Evergraph SSE, custom", "evergraph")):
        runs = tp[side]["runs"]
        L.append(f"{label:<44}{tp[side]['end_to_end_per_s_median']:>12.0f}"
                 f"{statistics.median(x['producer_per_s'] for x in runs):>12.0f}"
                 f"{statistics.median(x['consumer_per_s'] for x in runs):>12.0f}")
    L.append(f"{'Evergraph / in-process':<44}{eg_eps / ip_eps:>12.3f}")
    L.append(f"{'evergraph dev CPU per event':<44}{tp['evergraph']['api_cpu_us_per_event']:>9.0f} us")
    if "memory" in r:
        mm = r["memory"]
        L.append("")
        L.append(f"long stream: {mm['events']} custom events ({mm['payload_mb']:.1f} MB of payload) in "
                 f"{mm['duration_s']:.1f} s ({mm['rate']['end_to_end_per_s']:.0f} events/s)")
        L.append(f"{'evergraph dev VmRSS':<35}{'before':>9}{'short':>9}{'10 %':>9}{'50 %':>9}{'100 %':>9}"
                 f"{'max':>9}{'+1 s':>9}")
        L.append(f"{'MB':<35}{mm['rss_before_mb']:>9.1f}{mm['rss_short_max_mb']:>9.1f}"
                 + "".join(f"{mm['rss_mb'][k]:>9.1f}" for k in ("10%", "50%", "100%"))
                 + f"{mm['rss_max_mb']:>9.1f}{mm['rss_1s_after_mb']:>9.1f}")
        L.append(f"{'at (s since the request)':<35}{'':>18}"
                 + "".join(f"{mm['rss_at_s'][k]:>9.1f}" for k in ("10%", "50%", "100%")))
        L.append(f"(before: before both streams; short: peak during the {mm['short_events']}-event stream)")
        L.append(f"(% = share of the events the client had received; the node emitted all of them within "
                 f"{mm['producer_done_s']:.1f} s of its first)")
    L.append("")
    L.append(f"{'target':<44}{'value':>10}{'goal':>10}  result")
    for key, label in (
        ("messages_p50_ms", "messages-tuple p50 (ms)"),
        ("messages_p99_ms", "messages-tuple p99 (ms)"),
        ("custom_p50_ms", "custom p50 (ms)"),
        ("custom_p99_ms", "custom p99 (ms)"),
        ("events_per_s", "events/s one stream, end to end"),
        ("rss_growth_mb", "API RSS peak, long - short stream (MB)"),
    ):
        if key in r["targets"]:
            t = r["targets"][key]
            L.append(f"{label:<44}{t['value']:>10.1f}{t['target']:>10}  {'PASS' if t['pass'] else 'MISS'}")
    return "\n".join(L)


def main(argv: list[str] | None = None) -> int:
    """Parse options, run the benchmark, print the tables; returns the exit status."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tokens", type=int, default=300, help="events per latency stream (default 300)")
    p.add_argument("--gap-ms", type=float, default=10.0, help="ms between latency events (default 10)")
    p.add_argument("--flood", type=int, default=20000, help="events of the events/s stream (default 20000)")
    p.add_argument("--long", type=int, default=200000,
                   help="events of the memory stream (default 200000; 0 skips it)")
    p.add_argument("--pad", type=int, default=100, help="padding bytes per flood / long-stream event (default 100)")
    p.add_argument("--repeats", type=int, default=2, help="latency and flood streams per side (default 2)")
    p.add_argument("--sample-s", type=float, default=0.2, help="seconds between RSS samples (default 0.2)")
    p.add_argument("--json", metavar="PATH", help="also write the results (with every RSS sample) as JSON")
    p.add_argument("--repo", default=str(_here().parent), help="Evergraph source tree to run (default: this one)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, databases)")
    args = p.parse_args(argv)

    procs = Processes()
    atexit.register(procs.stop)

    def on_term(signum, frame):  # SIGTERM behaves like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        results = asyncio.run(bench(args, procs))
    except KeyboardInterrupt:
        log("interrupted; cleaning up")
        return 130
    finally:
        procs.stop()
    print(render(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
        log(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
