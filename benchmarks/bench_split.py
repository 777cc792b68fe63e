"""``evergraph dev`` (API and worker in one process) against the same code split into
one ``evergraph serve`` and N ``evergraph worker`` processes sharing one data folder
(SQLite records, checkpoints and the SQLite stream broker), all on one Temporal dev
server, measured interleaved: whether separate API and worker processes let both
cores work.

Each variant is ``NAME[:VAR=VALUE,...]``; the pseudo-variable ``workers=N`` (N ≥ 1)
makes it the split shape with N worker processes, without it the variant is one
``evergraph dev``. Default variants: ``dev``, ``dev-local``, ``split1``,
``split1-local``, ``split2``, ``split2-local`` (``-local``:
``EVERGRAPH_NODE_ACTIVITIES=local``). Per variant it prints the ``runs.wait``
latency of the chain10 graph (median, p90; one run of each variant in turn), the
throughput of ``--concurrency`` concurrent ``runs.wait`` (``--repeats`` rounds, the
order reversing every round), the CPU milliseconds per run of each process (API,
each worker, the shared Temporal dev server) sequentially and under load, and under
load the busiest thread groups (a process's main thread is where its event loop,
and so its GIL holder, runs). ``--bare`` adds the bare-Temporal workflow of
``bench_runs.py`` as a load indicator. Wrong or failed results are counted, not
raised.

Usage::

    .venv/bin/python benchmarks/bench_split.py [--repo TREE] [--variants ...] [--n 15]
        [--repeats 3] [--concurrency 50] [--bare] [--json out.json] [--keep]

See ``benchmarks/README.md`` and README "Performance".
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _proctree as pt
import bench_runs as br

DEFAULT_VARIANTS = [
    "dev", "dev-local:EVERGRAPH_NODE_ACTIVITIES=local",
    "split1:workers=1", "split1-local:workers=1,EVERGRAPH_NODE_ACTIVITIES=local",
    "split2:workers=2", "split2-local:workers=2,EVERGRAPH_NODE_ACTIVITIES=local",
]


def parse_variant(text: str) -> tuple[str, int, dict[str, str]]:
    """``NAME[:VAR=VALUE,...]`` -> (name, worker processes (0: one ``evergraph dev``),
    extra environment).

    Raises:
        SystemExit: a malformed item or a ``workers`` value that is not an integer ≥ 1.
    """
    name, env = br.parse_variant(text)
    workers = env.pop("workers", "0")
    if not workers.isdigit() or (workers != "0" and int(workers) < 1):
        raise SystemExit(f"variant {text!r}: workers must be an integer >= 1")
    return name, int(workers), env


def start(repo: Path, command: str, config: Path, data: Path, address: str, queue: str, port: int | None,
          extra: dict[str, str], log_path: Path) -> subprocess.Popen:
    """Start ``evergraph <command>`` from source tree ``repo`` on Temporal ``address``
    with data folder ``data`` and task queue ``queue``, logging to ``log_path``."""
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join(br.tree_pythonpath(repo, data.parent)),
        TEMPORAL_ADDRESS=address,
        EVERGRAPH_DATA_DIR=str(data),
        EVERGRAPH_TASK_QUEUE=queue,
        EVERGRAPH_LOG_LEVEL="WARNING",
    )
    env.update(extra)
    args = [sys.executable, "-m", br.cli_module(repo), command, "--config", str(config)]
    if port is not None:
        args += ["--port", str(port)]
    return subprocess.Popen(args, env=env, cwd=str(repo), stdout=open(log_path, "wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)


async def wait_logged_ready(proc: subprocess.Popen, log_path: Path, timeout: float = 90.0) -> None:
    """Return once ``log_path`` holds ``Ready.`` (a worker has no HTTP endpoint).

    Raises:
        RuntimeError: the process exited, or ``timeout`` seconds passed.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-3000:]}")
        if "Ready." in log_path.read_text(errors="replace"):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"not ready within {timeout:g} s: {log_path}")


def _cpu(pid: int) -> float:
    return br.cpu_seconds(pid) or 0.0


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Start every variant, measure them interleaved; see the module docstring."""
    from evergraph.adapter.process.devserver import free_port, start_dev_server
    from langgraph_sdk import get_client
    from temporalio.client import Client
    from temporalio.worker import Worker

    repo = Path(args.repo).resolve()
    variants = [parse_variant(v) for v in args.variants]
    tmp = Path(tempfile.mkdtemp(prefix="evergraph-split-"))
    br.PROCS.tmp, br.PROCS.keep_tmp = tmp, args.keep
    (tmp / "graphs").mkdir()
    (tmp / "graphs" / "chain10.py").write_text(br.CHAIN10)
    config = tmp / "graphs" / "langgraph.json"
    config.write_text(json.dumps({"dependencies": ["."], "graphs": {"chain10": "./chain10.py:graph"}, "env": {}}))
    br.PROCS.dev_server = await start_dev_server(tmp / "temporal", port=free_port(), ui_port=free_port())
    address, temporal_pid = br.PROCS.dev_server.address, br.PROCS.dev_server.process.pid
    br.log(f"Temporal at {address}")

    clients: dict[str, Any] = {}
    procs: dict[str, dict[str, subprocess.Popen]] = {}
    for i, (name, workers, extra) in enumerate(variants):
        data = tmp / f"eg{i}"
        data.mkdir()
        queue, port = f"split-{i}-{uuid.uuid4().hex[:6]}", free_port()
        roles: dict[str, subprocess.Popen] = {}
        api_role = "dev" if workers == 0 else "api"
        log_path = tmp / f"eg{i}-{api_role}.log"
        roles[api_role] = p = start(repo, "dev" if workers == 0 else "serve", config, data, address, queue, port,
                                    extra, log_path)
        br.PROCS.others.append(p)
        await br.wait_ready(p, f"http://127.0.0.1:{port}", log_path)
        for w in range(workers):
            log_path = tmp / f"eg{i}-worker{w}.log"
            roles[f"worker{w}"] = q = start(repo, "worker", config, data, address, queue, None, extra, log_path)
            br.PROCS.others.append(q)
            await wait_logged_ready(q, log_path)
        procs[name] = roles
        clients[name] = get_client(url=f"http://127.0.0.1:{port}", api_key=None, timeout=300)
        br.log(f"{name} ready: " + ", ".join(f"{k} pid {v.pid}" for k, v in roles.items()))

    bad: dict[str, list[str]] = {}

    def eg(name: str):
        async def run() -> None:
            try:
                out: Any = await clients[name].runs.wait(None, "chain10", input={"n": 0})
            except Exception as exc:  # noqa: BLE001 - counted, reported
                out = exc
            if not isinstance(out, dict) or out.get("n") != br.NODES:
                bad.setdefault(name, []).append(repr(out)[:200])
        return run

    tclient = await Client.connect(address)
    bare_queue = f"split-bare-{uuid.uuid4().hex[:6]}"

    async def bare_run() -> None:
        await tclient.execute_workflow("BenchChain10", args=[0, br.NODES], id=f"bare-{uuid.uuid4().hex}",
                                       task_queue=bare_queue, result_type=int)

    runners = {name: eg(name) for name in procs}
    if args.bare:
        runners["bare"] = bare_run
    keys = list(runners)
    lat: dict[str, list[float]] = {k: [] for k in keys}
    tp: dict[str, list[float]] = {k: [] for k in keys}
    cpu = {phase: {k: {"temporal": 0.0} for k in keys} for phase in ("seq", "load")}
    threads: dict[str, dict[str, float]] = {k: {} for k in keys}

    def snapshot(k: str) -> dict[str, float]:
        return {"temporal": _cpu(temporal_pid), **{r: _cpu(p.pid) for r, p in procs.get(k, {}).items()}}

    def add(phase: str, k: str, before: dict[str, float]) -> None:
        for role, secs in pt.diff(snapshot(k), before).items():
            cpu[phase][k][role] = cpu[phase][k].get(role, 0.0) + secs

    busy0, t_start = br.system_busy_seconds(), time.monotonic()
    worker = Worker(tclient, task_queue=bare_queue, workflows=[br.BenchChain10], activities=[br.bench_noop])
    async with worker:
        for k in keys:
            await br.timed(runners[k], args.warmup)
        br.log(f"latency: {args.n} interleaved runs of each of {keys}")
        for i in range(args.n):
            for k in keys[i % len(keys):] + keys[: i % len(keys)]:
                before = snapshot(k)
                lat[k] += await br.timed(runners[k], 1)
                add("seq", k, before)
        for r in range(args.repeats):
            for k in keys if r % 2 == 0 else keys[::-1]:
                before = snapshot(k)
                th0 = {role: pt.thread_cpu(p.pid) for role, p in procs.get(k, {}).items()}
                t0 = time.perf_counter()
                await asyncio.gather(*(runners[k]() for _ in range(args.concurrency)))
                tp[k].append(args.concurrency / (time.perf_counter() - t0))
                add("load", k, before)
                for role, p in procs.get(k, {}).items():
                    for group, secs in pt.diff(pt.thread_cpu(p.pid), th0[role]).items():
                        key = f"{role} {group.split(': ', 1)[1]}"
                        threads[k][key] = threads[k].get(key, 0.0) + secs
            br.log(f"throughput round {r + 1}: " + ", ".join(f"{k} {tp[k][-1]:.1f}" for k in keys))
    elapsed = time.monotonic() - t_start
    ours = sum(sum(c.values()) for phase in cpu.values() for c in phase.values())
    out: dict[str, Any] = {
        "elapsed_s": elapsed,
        "machine_busy_cores": (br.system_busy_seconds() - busy0) / elapsed,
        "measured_processes_cores": ours / elapsed,
        "failed": bad,
        "variants": {},
    }
    loaded = args.concurrency * args.repeats
    for k in keys:
        out["variants"][k] = {
            "processes": {r: p.pid for r, p in procs.get(k, {}).items()},
            "latency_median_ms": statistics.median(lat[k]) * 1000,
            "latency_p90_ms": br.pct([x * 1000 for x in lat[k]], 90),
            "runs_per_s": [round(x, 2) for x in tp[k]],
            "runs_per_s_median": statistics.median(tp[k]),
            "runs_per_s_best": max(tp[k]),
            "cpu_ms_per_run_seq": {r: s * 1000 / args.n for r, s in cpu["seq"][k].items()},
            "cpu_ms_per_run_load": {r: s * 1000 / loaded for r, s in cpu["load"][k].items()},
            "busiest_threads_ms_per_run_load": dict(
                sorted(((g, s * 1000 / loaded) for g, s in threads[k].items()), key=lambda x: -x[1])[:5]
            ),
        }
    return out


def render(r: dict[str, Any]) -> str:
    """The results as a table."""
    L = [(f"{r['elapsed_s']:.0f} s; machine busy {r['machine_busy_cores']:.2f} cores on average, of which the "
          f"measured processes {r['measured_processes_cores']:.2f}"),
         f"{'variant':<14}{'median ms':>10}{'p90 ms':>8}{'runs/s':>8}{'best':>6}  CPU ms/run under load | sequential"]
    for k, v in r["variants"].items():
        def fmt(d: dict[str, float]) -> str:
            return " ".join(f"{a}={b:.0f}" for a, b in d.items())
        L.append(f"{k:<14}{v['latency_median_ms']:>10.0f}{v['latency_p90_ms']:>8.0f}{v['runs_per_s_median']:>8.1f}"
                 f"{v['runs_per_s_best']:>6.1f}  {fmt(v['cpu_ms_per_run_load'])} | {fmt(v['cpu_ms_per_run_seq'])}")
    for k, v in r["variants"].items():
        if v["busiest_threads_ms_per_run_load"]:
            L.append(f"  {k}, busiest threads under load (ms/run): "
                     + ", ".join(f"{g} {x:.0f}" for g, x in v["busiest_threads_ms_per_run_load"].items()))
    for k, v in r["failed"].items():
        L.append(f"{k}: {len(v)} failed or wrong results, e.g. {v[:2]}")
    return "\n".join(L)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (130 when interrupted)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repo", default=str(Path(__file__).resolve().parent.parent),
                   help="Evergraph source tree to run (default: this one)")
    p.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS, metavar="NAME[:VAR=VALUE,...]",
                   help="variants; workers=N makes one serve + N worker processes (default: %(default)s)")
    br.add_size_arguments(p, n=15, warmup=3)
    p.add_argument("--bare", action="store_true", help="also measure bare Temporal (10 no-op activities)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, databases)")
    args = p.parse_args(argv)
    atexit.register(br.PROCS.stop)

    def on_term(signum, frame):  # SIGTERM behaves like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        results = asyncio.run(bench(args))
    except KeyboardInterrupt:
        br.log("interrupted; cleaning up")
        return 130
    finally:
        br.PROCS.stop()
    print(render(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
