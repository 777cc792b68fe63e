"""Side-by-side benchmark: ``langgraph dev`` (the official in-memory server, from a
venv of its own) and ``evergraph dev`` (each with its defaults), serving the same
graphs to the official ``langgraph_sdk`` client, measured interleaved in one run, with
a bare-Temporal worker on the Temporal dev server that ``evergraph dev`` starts as the
floor; then K threads waiting on ``interrupt()`` on ``evergraph dev``.

``--scale-out`` measures the production shape instead: Postgres, Redis, a Temporal
dev server, N ``evergraph serve`` and M ``evergraph worker`` processes.

Usage::

    .venv/bin/python benchmarks/side_by_side.py [--quick] [--json out.json] [--ref-venv /tmp/refvenv]
    .venv/bin/python benchmarks/side_by_side.py --scale-out [--serve 2] [--workers 1 2]

See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _proctree
import _servers
from _waiting import render_waiting, waiting_threads
from bench_runs import CHAIN10, NODES, log, pct, system_busy_seconds

LG, EG, BARE = "langgraph dev", "evergraph dev", "bare Temporal"

#: labels of the process roles (benchmarks/_proctree.py) in evergraph dev's tree
EG_ROLES = {"root": "evergraph dev process", "api": "API", "worker": "worker", "temporal": "Temporal dev server",
            "other": "other children"}


class Cleanup:
    """What the benchmark started; stopped once (atexit, signals, finally)."""

    def __init__(self) -> None:
        self.servers: list[_servers.Server] = []
        self.callbacks: list = []
        self.tmp: Path | None = None
        self.keep = False
        self._done = False

    def run(self) -> None:
        if self._done:
            return
        self._done = True
        _servers.stop_all(self.servers[::-1])
        for cb in self.callbacks[::-1]:
            try:
                cb()
            except Exception as exc:  # noqa: BLE001 - best effort at exit
                log(f"cleanup: {exc!r}")
        if self.tmp is not None and not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)


CLEANUP = Cleanup()


def repo_arg(args: argparse.Namespace) -> Path | None:
    """``--repo`` as a resolved path, or ``None``.

    Raises:
        SystemExit: it is not an Evergraph source tree.
    """
    if not args.repo:
        return None
    repo = Path(args.repo).resolve()
    if not (repo / "adapter").is_dir():
        raise SystemExit(f"--repo {repo}: not an Evergraph source tree (no adapter/)")
    return repo


def summary_ms(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {"median_ms": statistics.median(ms), "p90_ms": pct(ms, 90), "min_ms": min(ms), "max_ms": max(ms),
            "n": len(ms)}


# --------------------------------------------------------------------------- run kinds


def run_fns(sdk) -> dict[str, Any]:
    """``wait`` and ``stream`` one stateless chain10 run through ``sdk``; each checks
    the result (the whole stream is consumed, the last ``values`` must be final)."""

    async def wait() -> None:
        out = await sdk.runs.wait(None, "chain10", input={"n": 0})
        if not isinstance(out, dict) or out.get("n") != NODES:
            raise RuntimeError(f"unexpected runs.wait result: {out!r}")

    async def stream() -> None:
        last = None
        async for part in sdk.runs.stream(None, "chain10", input={"n": 0}, stream_mode="values"):
            if part.event == "values":
                last = part.data
            elif part.event == "error":
                raise RuntimeError(f"stream error: {part.data!r}")
        if not isinstance(last, dict) or last.get("n") != NODES:
            raise RuntimeError(f"unexpected last values event: {last!r}")

    return {"wait": wait, "stream": stream}


async def bare_setup(address: str):
    """A bare-Temporal worker (bench_runs.BenchChain10: 10 no-op activities, sandboxed,
    eager activities) on ``address``; returns (worker, run function)."""
    from temporalio.client import Client
    from temporalio.worker import Worker

    import bench_runs as bare_mod

    client = await Client.connect(address)
    queue = f"bench-bare-{uuid.uuid4().hex[:8]}"
    worker = Worker(client, task_queue=queue, workflows=[bare_mod.BenchChain10], activities=[bare_mod.bench_noop])

    async def run() -> None:
        out = await client.execute_workflow("BenchChain10", args=[0, NODES], id=f"bench-bare-{uuid.uuid4().hex}",
                                            task_queue=queue, result_type=int)
        if out != NODES:
            raise RuntimeError(f"bare workflow returned {out!r}")

    return worker, run


def inprocess_median_ms() -> float:
    """Median of 200 in-process ``ainvoke`` of chain10 (no checkpointer), ms."""
    ns: dict[str, Any] = {}
    exec(compile(CHAIN10, "chain10.py", "exec"), ns)
    graph = ns["graph"]

    async def go() -> float:
        for _ in range(20):
            await graph.ainvoke({"n": 0})
        out = []
        for _ in range(200):
            t0 = time.perf_counter()
            await graph.ainvoke({"n": 0})
            out.append(time.perf_counter() - t0)
        return statistics.median(out) * 1000

    return go()


# --------------------------------------------------------------------------- side by side


async def side_by_side(args: argparse.Namespace) -> dict[str, Any]:
    """The interleaved comparison (and the waiting threads); returns the results
    (see :func:`render`)."""
    tmp = Path(tempfile.mkdtemp(prefix="evergraph-sbs-"))
    CLEANUP.tmp, CLEANUP.keep = tmp, args.keep
    # the same graph files in two folders: langgraph dev reloads on file changes in
    # its project, and evergraph dev writes its data folder into its own
    lg_project = tmp / "project-langgraph"
    eg_project = tmp / "project-evergraph"
    _servers.write_project(lg_project)
    _servers.write_project(eg_project)
    ref_venv = _servers.ensure_ref_venv(Path(args.ref_venv) if args.ref_venv else None)
    eg_bin = _servers.evergraph_bin(args.evergraph_venv)
    machine = _servers.machine_info(ref_venv, eg_bin)

    from evergraph.adapter.process.devserver import free_port

    log(f"starting {LG} ({ref_venv}) and {EG} ({eg_bin}); logs in {tmp}")
    lg = _servers.start_langgraph_dev(ref_venv, lg_project, free_port(), tmp)
    CLEANUP.servers.append(lg)
    eg = _servers.start_evergraph(eg_bin, "dev", eg_project, tmp / "evergraph-dev.log", port=free_port(),
                                  env_extra=_servers.parse_env(args.evergraph_env), repo=repo_arg(args))
    CLEANUP.servers.append(eg)
    ready = dict(zip((LG, EG), await asyncio.gather(
        _servers.wait_http_ok(lg), _servers.wait_http_ok(eg, ready_line="Ready."))))
    address = _servers.temporal_address_of(eg)
    log(f"ready: {LG} {lg.url} ({ready[LG]:.1f}s), {EG} {eg.url} ({ready[EG]:.1f}s), Temporal {address}")

    sdks = {LG: _servers.sdk_client(lg.url), EG: _servers.sdk_client(eg.url)}
    fns = {name: run_fns(sdk) for name, sdk in sdks.items()}
    roots = {LG: lg.pid, EG: eg.pid}
    results: dict[str, Any] = {
        "machine": machine,
        "params": {k: getattr(args, k) for k in ("n", "warmup", "repeats", "concurrency", "waiting_threads")},
        "startup_s": ready,
        "temporal_address": address,
    }
    ip_med = await inprocess_median_ms()
    results["inprocess_median_ms"] = ip_med

    worker, bare_run = await bare_setup(address)
    names = [LG, EG, BARE]
    noise0 = (time.monotonic(), system_busy_seconds())
    ours0 = _ours_cpu(roots)
    with _proctree.RssSampler(roots) as sampler:
        async with worker:
            runners = {LG: fns[LG]["wait"], EG: fns[EG]["wait"], BARE: bare_run}
            log(f"warm-up: {args.warmup} runs.wait and runs.stream each")
            for name in names:
                for _ in range(args.warmup):
                    await runners[name]()
                    if name != BARE:
                        await fns[name]["stream"]()

            # ---- sequential latency, interleaved one run at a time
            log(f"latency: {args.n} sequential runs.wait of each, interleaved")
            lat: dict[str, list[float]] = {k: [] for k in names}
            seq_cpu: dict[str, dict[str, float]] = {LG: {}, EG: {}}
            for i in range(args.n):
                for name in names[i % 3:] + names[: i % 3]:
                    c0 = _proctree.cpu_by_role(roots[name]) if name in roots else None
                    t0 = time.perf_counter()
                    await runners[name]()
                    lat[name].append(time.perf_counter() - t0)
                    if c0 is not None:
                        d = _proctree.diff(_proctree.cpu_by_role(roots[name]), c0)
                        for role, v in d.items():
                            seq_cpu[name][role] = seq_cpu[name].get(role, 0.0) + v
            results["latency"] = {k: summary_ms(v) for k, v in lat.items()}
            results["cpu_ms_per_run_sequential"] = {
                k: {role: round(v * 1000 / args.n, 1) for role, v in d.items()} for k, d in seq_cpu.items()
            }

            # ---- throughput, rounds alternating between servers
            tp: dict[str, list[float]] = {}
            fails: dict[str, int] = {}
            load_cpu: dict[str, dict[str, float]] = {LG: {}, EG: {}, BARE: {}}
            load_runs = {LG: 0, EG: 0, BARE: 0}
            load_wall = {LG: 0.0, EG: 0.0, BARE: 0.0}
            eg_threads: dict[str, float] = {}
            for r in range(args.repeats):
                order = [LG, EG, BARE] if r % 2 == 0 else [BARE, EG, LG]
                for conc in args.concurrency:
                    for kind in ("wait", "stream"):
                        for name in order:
                            if name == BARE and kind == "stream":
                                continue
                            fn = bare_run if name == BARE else fns[name][kind]
                            c0 = _proctree.cpu_by_role(roots[name]) if name in roots else None
                            t0 = _proctree.thread_cpu(roots[EG]) if name == EG else None
                            b0 = bare_cpu(roots[EG]) if name == BARE else None
                            wall, nfail = await _servers.concurrent(fn, conc)
                            key = f"{name}|{kind}|{conc}"
                            tp.setdefault(key, []).append((conc - nfail) / wall)
                            fails[key] = fails.get(key, 0) + nfail
                            if c0 is not None:
                                d = _proctree.diff(_proctree.cpu_by_role(roots[name]), c0)
                                for role, v in d.items():
                                    load_cpu[name][role] = load_cpu[name].get(role, 0.0) + v
                                load_runs[name] += conc - nfail
                                load_wall[name] += wall
                            if b0 is not None:
                                for k, v in _proctree.diff(bare_cpu(roots[EG]), b0).items():
                                    load_cpu[BARE][k] = load_cpu[BARE].get(k, 0.0) + v
                                load_runs[BARE] += conc - nfail
                                load_wall[BARE] += wall
                            if t0 is not None:
                                for k, v in _proctree.diff(_proctree.thread_cpu(roots[EG]), t0).items():
                                    eg_threads[k] = eg_threads.get(k, 0.0) + v
                            log(f"round {r + 1}/{args.repeats} {kind} x{conc} {name}: {tp[key][-1]:.1f} runs/s"
                                + (f" ({nfail} failed)" if nfail else ""))
    results["throughput"] = {
        key: {"runs_per_s": [round(x, 2) for x in v], "median": statistics.median(v), "best": max(v),
              "failures": fails[key]}
        for key, v in tp.items()
    }
    results["cpu_ms_per_run_load"] = {
        k: {role: round(v * 1000 / max(1, load_runs[k]), 1) for role, v in d.items()} for k, d in load_cpu.items()
    }
    results["cores_busy_load"] = {
        k: {role: round(v / load_wall[k], 2) for role, v in d.items()} for k, d in load_cpu.items() if load_wall[k]
    }
    results["eg_threads_cores_busy_load"] = dict(sorted(
        ((k, round(v / load_wall[EG], 2)) for k, v in eg_threads.items() if load_wall[EG]),
        key=lambda kv: -kv[1]))
    results["peak_rss_mb"] = {k: {role: round(kb / 1024, 1) for role, kb in v.items()} for k, v in sampler.peak.items()}
    results["vmhwm_mb"] = {k: {role: round(kb / 1024, 1) for role, kb in _proctree.vm_hwm_kb(pid).items()}
                           for k, pid in roots.items()}
    results["roles"] = {k: sorted({_proctree.classify(p, pid) for p in _proctree.tree(pid)}) for k, pid in roots.items()}
    t1 = time.monotonic()
    ours1 = _ours_cpu(roots)
    results["machine"]["other_processes_cpu_cores"] = round(
        max(0.0, (system_busy_seconds() - noise0[1]) - (ours1 - ours0)) / (t1 - noise0[0]), 2)

    lat_med = {k: results["latency"][k]["median_ms"] for k in names}
    results["per_node_ms"] = {LG: (lat_med[LG] - ip_med) / NODES, EG: (lat_med[EG] - ip_med) / NODES,
                              BARE: lat_med[BARE] / NODES}

    lg.stop()
    if args.waiting_threads > 0:
        log(f"waiting threads: {args.waiting_threads} on {EG} ({LG} stopped)")
        results["waiting"] = await waiting_threads(sdks[EG], eg.pid, args.waiting_threads,
                                                   concurrency=args.waiting_concurrency, every=args.every)
    return results


def bare_cpu(eg_root: int) -> dict[str, float]:
    """CPU seconds so far of what serves the bare-Temporal workflows: the Temporal dev
    server in ``evergraph dev``'s tree and this process (the bare worker and the
    client), and their sum ``"total"``."""
    temporal = sum(_proctree.cpu_by_role(pid).get("total", 0.0) for pid in _proctree.tree(eg_root)
                   if _proctree.classify(pid, eg_root) == "temporal")
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return {"temporal": temporal, "benchmark": own, "total": temporal + own}


def _ours_cpu(roots: dict[str, int]) -> float:
    """CPU seconds of the servers' trees and of this process."""
    total = sum(_proctree.cpu_by_role(pid).get("total", 0.0) for pid in roots.values())
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return total + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- output


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "-"


def render(r: dict[str, Any]) -> str:
    """The side-by-side table: each figure for both servers, the ratio
    Evergraph / langgraph dev, and the bare-Temporal figure where there is one."""
    m = r["machine"]
    lgv, egv = m["langgraph_dev"], m["evergraph"]
    L = ["Side by side: chain10 (10 trivial async nodes) and approval (interrupt()), official langgraph_sdk client",
         f"machine: {m['cpus']} cores, {m['cpu_model']}, {m['mem_mb']} MB, {m['platform']}",
         (f"langgraph dev: langgraph-cli {lgv.get('langgraph-cli')}, langgraph-api {lgv.get('langgraph-api')}, "
          f"langgraph-runtime-inmem {lgv.get('langgraph-runtime-inmem')}, langgraph {lgv.get('langgraph')}"),
         (f"evergraph dev: evergraph {egv.get('evergraph')}, langgraph {egv.get('langgraph')}, "
          f"temporalio {egv.get('temporalio')}, {m['temporal_cli']}; benchmark Python {m['python_benchmark']}")]
    other = m.get("other_processes_cpu_cores")
    if other is not None:
        L.append(f"CPU used by other processes meanwhile: {other:.2f} cores"
                 + ("  <-- busy machine: absolute numbers are pessimistic, ratios hold better" if other > 0.2 else ""))
    p = r["params"]
    L.append(f"N={p['n']} sequential per server (interleaved), throughput {p['repeats']} rounds per cell "
             f"(alternating), in-process ainvoke median {r['inprocess_median_ms']:.2f} ms")
    L.append("")
    w = 46
    L.append(f"{'':<{w}}{LG:>16}{EG:>16}{'EG/LG':>9}{BARE:>16}")

    def row(label: str, lg_v, eg_v, bare_v=None, fmt="{:.1f}") -> None:
        f = lambda v: fmt.format(v) if v is not None else "-"
        L.append(f"{label:<{w}}{f(lg_v):>16}{f(eg_v):>16}{_ratio(eg_v, lg_v):>9}{f(bare_v):>16}")

    names = (LG, EG, BARE)
    lat = r["latency"]
    row("runs.wait sequential, median ms", lat[LG]["median_ms"], lat[EG]["median_ms"], lat[BARE]["median_ms"])
    row("runs.wait sequential, p90 ms", lat[LG]["p90_ms"], lat[EG]["p90_ms"], lat[BARE]["p90_ms"])
    pn = r["per_node_ms"]
    row("per-node overhead ms ((median-in-process)/10)", pn[LG], pn[EG], pn[BARE], fmt="{:.2f}")
    L.append(f"{'  Evergraph per-node / bare-Temporal floor':<{w}}{'':>16}{_ratio(pn[EG], pn[BARE]):>16}")
    tp = r["throughput"]
    for conc in p["concurrency"]:
        for kind in ("wait", "stream"):
            cell = {n: tp.get(f"{n}|{kind}|{conc}", {}) for n in names}
            row(f"runs.{kind} x{conc} concurrent, runs/s (median)", *(cell[n].get("median") for n in names))
            row("  best round", *(cell[n].get("best") for n in names))
    fails = {k: v["failures"] for k, v in tp.items() if v["failures"]}
    if fails:
        L.append(f"  FAILED runs (not counted): {fails}")
    for key, title in (("cpu_ms_per_run_sequential", "CPU ms/run sequential"),
                       ("cpu_ms_per_run_load", "CPU ms/run under load")):
        c = r[key]
        bare = c.get(BARE, {})
        row(f"{title}, whole server", c[LG].get("total"), c[EG].get("total"), bare.get("total"))
        for role in sorted(set(c[EG]) - {"total"}):
            row(f"  {EG_ROLES.get(role, role)}", None, c[EG][role], bare.get(role))
        if bare.get("benchmark") is not None:
            row("  benchmark process (bare worker + client)", None, None, bare["benchmark"])
    busy = r["cores_busy_load"]
    bb = busy.get(BARE, {})
    row("cores busy under load, whole server", busy[LG].get("total"), busy[EG].get("total"), bb.get("total"),
        fmt="{:.2f}")
    for role in sorted(set(busy[EG]) - {"total"}):
        row(f"  {EG_ROLES.get(role, role)}", None, busy[EG][role], bb.get(role), fmt="{:.2f}")
    top = [(k, v) for k, v in r.get("eg_threads_cores_busy_load", {}).items() if v >= 0.03][:6]
    if top:
        L.append(f"{'  busiest threads of evergraph dev (cores)':<{w}}"
                 + ", ".join(f"{k.replace('root: ', 'dev ')} {v:.2f}" for k, v in top))
    rss = r["peak_rss_mb"]
    row("peak RSS MB, whole server (sum, sampled)", rss[LG].get("total"), rss[EG].get("total"), fmt="{:.0f}")
    for role in sorted(set(rss[EG]) - {"total"}):
        row(f"  {EG_ROLES.get(role, role)}", None, rss[EG][role], fmt="{:.0f}")
    row("  Evergraph without the Temporal dev server", rss[LG].get("total"),
        rss[EG].get("total", 0) - rss[EG].get("temporal", 0), fmt="{:.0f}")
    row("start-up until /ok answers, s", r["startup_s"][LG], r["startup_s"][EG])
    if "waiting" in r:
        L.append("")
        L.append(render_waiting(r["waiting"], {"root": "dev process", "temporal": "Temporal"}))
    return "\n".join(L)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="short run (about 2-4 minutes): --n 10 --warmup 3 --repeats 1 --waiting-threads 2000")
    p.add_argument("--n", type=int, help="sequential runs.wait per server (default 30; quick 10)")
    p.add_argument("--warmup", type=int, help="warm-up runs per server and kind (default 5; quick 3)")
    p.add_argument("--repeats", type=int, help="throughput rounds per cell (default 3; quick 1)")
    p.add_argument("--concurrency", type=int, nargs="+", default=[50, 200],
                   help="concurrent runs per throughput round (default 50 200)")
    p.add_argument("--waiting-threads", type=int,
                   help="threads waiting on interrupt() to create on evergraph dev (default 10000; quick 2000; 0 skips)")
    p.add_argument("--waiting-concurrency", type=int, default=32, help="threads created at once (default 32)")
    p.add_argument("--every", type=int, default=1000, help="waiting threads between RSS checkpoints (default 1000)")
    p.add_argument("--ref-venv", metavar="PATH",
                   help="venv with langgraph-cli[inmem] (default: one installed once under "
                        "~/.cache/evergraph-bench/ref-venv)")
    p.add_argument("--evergraph-venv", metavar="PATH", help="venv whose evergraph command to run (default: this one)")
    p.add_argument("--repo", metavar="DIR",
                   help="run Evergraph from this source tree (e.g. a `git archive` snapshot of a commit) with "
                        "the --evergraph-venv interpreter, instead of the venv's own install")
    p.add_argument("--evergraph-env", action="append", default=[], metavar="VAR=VALUE",
                   help="extra environment for the evergraph processes (repeatable)")
    p.add_argument("--scale-out", action="store_true",
                   help="instead: Postgres + Redis + Temporal dev server + N serve + M worker processes")
    p.add_argument("--serve", type=int, default=2, help="--scale-out: evergraph serve processes (default 2)")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                   help="--scale-out: worker counts to measure, interleaved (default 1 2)")
    p.add_argument("--postgres-uri", help="--scale-out: use this Postgres instead of starting one")
    p.add_argument("--redis-uri", help="--scale-out: use this Redis instead of starting one")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, databases)")
    args = p.parse_args(argv)
    quick = args.quick
    args.n = args.n if args.n is not None else (10 if quick else 30)
    args.warmup = args.warmup if args.warmup is not None else (3 if quick else 5)
    args.repeats = args.repeats if args.repeats is not None else (1 if quick else 3)
    if args.waiting_threads is None:
        args.waiting_threads = 2000 if quick else 10000
    for name in ("n", "warmup", "repeats", "waiting_concurrency", "every", "serve"):
        if getattr(args, name) < (0 if name == "warmup" else 1):
            p.error(f"--{name.replace('_', '-')} must be positive")
    if args.waiting_threads < 0 or any(c < 1 for c in args.concurrency) or any(w < 1 for w in args.workers):
        p.error("--waiting-threads, --concurrency and --workers take positive counts")

    atexit.register(CLEANUP.run)

    def on_term(signum, frame):  # SIGTERM behaves like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        if args.scale_out:
            import _scaleout

            results = asyncio.run(_scaleout.scale_out(args, CLEANUP))
            text = _scaleout.render(results)
        else:
            results = asyncio.run(side_by_side(args))
            text = render(results)
    except KeyboardInterrupt:
        log("interrupted; cleaning up")
        return 130
    finally:
        CLEANUP.run()
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
        log(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
