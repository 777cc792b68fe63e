"""``side_by_side.py --scale-out``: the production shape on this machine. PostgreSQL
(records and checkpoints), Redis (run streams), a Temporal dev server, ``--serve`` N
``evergraph serve`` processes and M ``evergraph worker`` processes for each M of
``--workers``; the client spreads concurrent ``runs.wait`` calls round-robin over the
API ports. Worker counts are measured interleaved (workers are started or stopped
between rounds), so load from other processes hits each count alike."""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import _proctree
import _servers
import _services
from bench_runs import NODES, log

__all__ = ["render", "scale_out"]


async def scale_out(args: argparse.Namespace, cleanup) -> dict[str, Any]:
    """Start the services and processes, measure runs/s per worker count.

    Returns:
        ``{"serve": N, "workers": {M: {"runs_per_s": {conc: [...]}, "median": {conc: x},
        "cpu_ms_per_run": {role: ms}, "cores_busy": {role: cores}}}, ...}``.

    Raises:
        SystemExit: PostgreSQL or Redis is missing (and no URI was given).
        RuntimeError: a process did not start (the message carries its log).
    """
    from evergraph.adapter.process.devserver import free_port, start_dev_server

    tmp = Path(tempfile.mkdtemp(prefix="evergraph-scale-"))
    cleanup.tmp, cleanup.keep = tmp, args.keep
    tmp.chmod(0o755)  # PostgreSQL runs as the postgres user when we are root
    project = tmp / "project"
    _servers.write_project(project)
    eg_bin = _servers.evergraph_bin(args.evergraph_venv)
    repo = Path(args.repo).resolve() if args.repo else None
    roots: dict[str, int] = {}
    if args.postgres_uri:
        pg_uri = args.postgres_uri
    else:
        pg_uri, pg_pid, pg_stop = _services.start_postgres(tmp / "services")
        cleanup.callbacks.append(pg_stop)
        roots["postgres"] = pg_pid
    if args.redis_uri:
        redis_uri = args.redis_uri
    else:
        redis_uri, redis_pid, redis_stop = _services.start_redis(tmp / "services")
        cleanup.callbacks.append(redis_stop)
        roots["redis"] = redis_pid
    dev = await start_dev_server(tmp / "temporal", port=free_port(), ui_port=free_port())
    cleanup.callbacks.append(dev.stop)
    roots["temporal"] = dev.process.pid
    log(f"Postgres {pg_uri}, Redis {redis_uri}, Temporal {dev.address}; logs in {tmp}")
    env = {
        "TEMPORAL_ADDRESS": dev.address,
        "EVERGRAPH_DATABASE_URI": pg_uri,
        "EVERGRAPH_REDIS_URI": redis_uri,
        **_servers.parse_env(args.evergraph_env),
    }

    serves: list[_servers.Server] = []
    for i in range(args.serve):  # one at a time: the first one creates the schema
        s = _servers.start_evergraph(eg_bin, "serve", project, tmp / f"serve{i}.log", port=free_port(),
                                     env_extra={**env, "EVERGRAPH_DATA_DIR": str(tmp / f"serve{i}")}, repo=repo)
        cleanup.servers.append(s)
        await _servers.wait_http_ok(s, ready_line="Ready.")
        serves.append(s)
    workers: list[_servers.Server] = []

    async def scale_to(m: int) -> None:
        while len(workers) > m:
            w = workers.pop()
            w.stop()
            cleanup.servers.remove(w)
        while len(workers) < m:
            i = len(workers)
            w = _servers.start_evergraph(eg_bin, "worker", project, tmp / f"worker{i}-{time.monotonic_ns()}.log",
                                         env_extra={**env, "EVERGRAPH_DATA_DIR": str(tmp / f"worker{i}")}, repo=repo)
            cleanup.servers.append(w)
            await _servers.wait_http_ok(w, ready_line="Ready.")
            workers.append(w)

    clients = [_servers.sdk_client(s.url) for s in serves]
    counter = 0

    async def run() -> None:
        nonlocal counter
        sdk = clients[counter % len(clients)]
        counter += 1
        out = await sdk.runs.wait(None, "chain10", input={"n": 0})
        if not isinstance(out, dict) or out.get("n") != NODES:
            raise RuntimeError(f"unexpected runs.wait result: {out!r}")

    def cpu() -> dict[str, float]:
        out: dict[str, float] = {}
        pids = {**roots, **{f"serve{i}": s.pid for i, s in enumerate(serves)},
                **{f"worker{i}": w.pid for i, w in enumerate(workers)}}
        for pid in pids.values():
            for role, v in _proctree.cpu_by_role(pid).items():
                if role != "total":
                    out[role] = out.get(role, 0.0) + v
        out["total"] = sum(out.values())
        return out

    res: dict[int, dict[str, Any]] = {m: {"runs_per_s": {}, "cpu": {}, "wall": 0.0, "runs": 0, "failures": 0}
                                      for m in args.workers}
    for r in range(args.repeats):
        order = args.workers if r % 2 == 0 else args.workers[::-1]
        for m in order:
            await scale_to(m)
            for _ in range(args.warmup):
                await run()
            for conc in args.concurrency:
                # workers that stop between rounds leave no load behind: CPU counted
                # per round over the processes alive in it
                c0 = cpu()
                wall, nfail = await _servers.concurrent(run, conc)
                d = _proctree.diff(cpu(), c0)
                cell = res[m]
                cell["runs_per_s"].setdefault(conc, []).append((conc - nfail) / wall)
                cell["wall"] += wall
                cell["runs"] += conc - nfail
                cell["failures"] += nfail
                for role, v in d.items():
                    cell["cpu"][role] = cell["cpu"].get(role, 0.0) + v
                log(f"round {r + 1}/{args.repeats}: {m} worker(s), {conc} concurrent over {len(serves)} APIs: "
                    f"{(conc - nfail) / wall:.1f} runs/s" + (f" ({nfail} failed)" if nfail else ""))
    out: dict[str, Any] = {
        "serve": args.serve, "concurrency": args.concurrency, "repeats": args.repeats,
        "postgres": "external" if args.postgres_uri else "private", "redis": "external" if args.redis_uri else "private",
        "machine_cpus": os.cpu_count(), "workers": {},
    }
    for m, cell in res.items():
        out["workers"][m] = {
            "runs_per_s": {c: [round(x, 2) for x in v] for c, v in cell["runs_per_s"].items()},
            "median": {c: statistics.median(v) for c, v in cell["runs_per_s"].items()},
            "cpu_ms_per_run": {k: round(v * 1000 / max(1, cell["runs"]), 1) for k, v in cell["cpu"].items()},
            "cores_busy": {k: round(v / cell["wall"], 2) for k, v in cell["cpu"].items()} if cell["wall"] else {},
            "failures": cell["failures"],
        }
    return out


def render(r: dict[str, Any]) -> str:
    """runs/s per worker count and concurrency, the ratio to the first worker count,
    and CPU per run and cores busy per role."""
    ms = list(r["workers"])
    first = ms[0]
    L = [(f"Scale-out: {r['serve']} evergraph serve (round-robin) + M evergraph worker, Postgres ({r['postgres']}), "
          f"Redis ({r['redis']}), Temporal dev server; {r['machine_cpus']} cores; {r['repeats']} rounds per cell"), ""]
    L.append(f"{'':<34}" + "".join(f"{f'M={m}':>14}" for m in ms) + "".join(f"{f'M={m}/M={first}':>12}" for m in ms[1:]))
    for c in r["concurrency"]:
        med = {m: r["workers"][m]["median"][c] for m in ms}
        L.append(f"{f'runs.wait x{c}, runs/s (median)':<34}" + "".join(f"{med[m]:>14.1f}" for m in ms)
                 + "".join(f"{med[m] / med[first]:>11.2f}x" for m in ms[1:]))
    roles = sorted({k for m in ms for k in r["workers"][m]["cpu_ms_per_run"]} - {"total"}) + ["total"]
    for key, title, fmt in (("cpu_ms_per_run", "CPU ms/run", "{:.0f}"), ("cores_busy", "cores busy", "{:.2f}")):
        for role in roles:
            L.append(f"{f'{title}, {role}':<34}"
                     + "".join(f"{fmt.format(r['workers'][m][key].get(role, 0)):>14}" for m in ms))
    fails = {m: r["workers"][m]["failures"] for m in ms if r["workers"][m]["failures"]}
    if fails:
        L.append(f"FAILED runs (not counted): {fails}")
    return "\n".join(L)
