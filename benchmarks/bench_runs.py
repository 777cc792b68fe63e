"""Evergraph run benchmark: latency, per-node overhead, throughput and memory of a
10-node chain graph, measured on this machine against loopback services.

What it starts (all cleaned up on exit, also on Ctrl-C / SIGTERM):

* one Temporal dev server (``adapter/process/devserver.py``) on free ports;
* one ``evergraph dev`` subprocess pointed at it (``TEMPORAL_ADDRESS``), serving a
  generated ``langgraph.json`` with the graph ``chain10`` (10 trivial async nodes);
* in this process: a bare Temporal worker (10 sequential no-op activities) on its
  own task queue, and the same graph in-process for reference.

What it measures:

a. ``client.runs.wait(None, "chain10", input={"n": 0})`` latency (official
   ``langgraph_sdk`` async client, stateless runs, sequential), vs in-process
   ``graph.ainvoke`` without / with an ``InMemorySaver`` checkpointer;
b. per-node overhead, (Evergraph median - in-process median) / 10, vs a bare Temporal
   workflow's median / 10;
c. throughput: ``--concurrency`` concurrent ``runs.wait`` (asyncio.gather), repeated;
d. peak RSS (VmHWM) of the ``evergraph dev`` process and of this process.

Optionally (``--timeline``) it reads the Temporal history of one Evergraph run and one
bare run and prints where the time goes (workflow tasks, node activities, gaps).

``--vs-tree [NAME=]PATH`` (repeatable) compares source trees instead: this one (or
``--repo``) and each PATH, for example a ``git worktree`` of an older commit, in
``--rounds`` alternating rounds on one dev server, each round a fresh ``evergraph dev``
of each tree (see :func:`bench_trees`).

Usage::

    .venv/bin/python benchmarks/bench_runs.py [--json out.json] [--timeline]
    .venv/bin/python benchmarks/bench_runs.py --vs-tree before=/tmp/eg-before

See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import hashlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import activity, workflow



def _here() -> Path:
    """This file's folder (a function: the module is also imported in Temporal's
    workflow sandbox, where filesystem calls are not allowed at import time)."""
    return Path(__file__).resolve().parent


#: targets (README "Performance"); the throughput target is the reference
#: ``langgraph dev`` figure for this graph
TARGET_LATENCY_MS = 300.0
TARGET_OVERHEAD_RATIO = 1.2
TARGET_THROUGHPUT = 22.0

NODES = 10

CHAIN = textwrap.dedent(
    '''
    """Benchmark graph: NODES trivial async nodes in a row."""
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph


    class State(TypedDict):
        n: int


    async def n(s: State) -> dict:
        return {"n": s["n"] + 1}


    def build() -> StateGraph:
        builder = StateGraph(State)
        prev = START
        for i in range(NODES):
            name = f"n{i}"
            builder.add_node(name, n)
            builder.add_edge(prev, name)
            prev = name
        builder.add_edge(prev, END)
        return builder


    graph = build().compile()
    '''
)


def chain_source(nodes: int) -> str:
    """Source of the ``chain<nodes>`` graph module."""
    return CHAIN.replace("NODES trivial", f"{nodes} trivial").replace("range(NODES)", f"range({nodes})")


CHAIN10 = chain_source(NODES)

#: ``--vs-tree``: fan-out graphs whose parallel nodes only wait, and a probe of the
#: server's own modules
PARALLEL_WIDTH = 4
PARALLEL_SLEEP = 0.2

PARALLEL = textwrap.dedent(
    '''
    """Benchmark graphs: WIDTH parallel nodes that each wait SLEEP s, async
    (``await asyncio.sleep``: the attempts overlap on the node loop) and sync
    (``time.sleep``: LangGraph runs them in the loop's executor), and the same fan-out
    of no-op nodes (the overhead the waits add to); and ``probe``, which reports where
    the server process imported its node-attempt code from."""
    import asyncio
    import operator
    import sys
    import threading
    import time
    from typing import Annotated, TypedDict

    from langgraph.graph import END, START, StateGraph

    WIDTH = PARALLEL_WIDTH
    SLEEP = PARALLEL_SLEEP


    class State(TypedDict, total=False):
        done: Annotated[list[str], operator.add]
        modules: dict
        thread: str


    def _async(i):
        async def node(state: State) -> dict:
            await asyncio.sleep(SLEEP)
            return {"done": [f"a{i}"]}

        return node


    def _sync(i):
        def node(state: State) -> dict:
            time.sleep(SLEEP)
            return {"done": [f"s{i}"]}

        return node


    def _fan(make):
        builder = StateGraph(State)
        for i in range(WIDTH):
            builder.add_node(f"p{i}", make(i))
            builder.add_edge(START, f"p{i}")
            builder.add_edge(f"p{i}", END)
        return builder.compile()


    async def _noop(state: State) -> dict:
        return {"done": ["n"]}


    par_noop = _fan(lambda i: _noop)
    par_async = _fan(_async)
    par_sync = _fan(_sync)


    async def _probe(state: State) -> dict:
        modules = {
            name: getattr(module, "__file__", None)
            for name, module in list(sys.modules.items())
            if name.endswith(("node_attempt", "node_loop", ".cli"))
        }
        return {"modules": modules, "thread": threading.current_thread().name}


    probe = StateGraph(State).add_node("probe", _probe).add_edge(START, "probe").add_edge("probe", END).compile()
    '''
).replace("PARALLEL_WIDTH", str(PARALLEL_WIDTH)).replace("PARALLEL_SLEEP", repr(PARALLEL_SLEEP))


# --------------------------------------------------------------------------- bare Temporal


@activity.defn(name="bench_noop")
async def bench_noop(i: int) -> int:
    """A no-op activity."""
    return i


@workflow.defn(name="BenchChain10")
class BenchChain10:
    """``count`` (default 10) sequential no-op activities: the bare-Temporal baseline
    for chain10."""

    @workflow.run
    async def run(self, n: int, count: int = NODES) -> int:
        for i in range(count):
            n = await workflow.execute_activity(
                "bench_noop", n + 1, start_to_close_timeout=timedelta(seconds=10), result_type=int
            )
        return n


# --------------------------------------------------------------------------- helpers


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100)."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def summary(values_s: list[float]) -> dict[str, float]:
    """Milliseconds: median, p90, min, max, mean."""
    ms = [v * 1000 for v in values_s]
    return {
        "median_ms": statistics.median(ms),
        "p90_ms": pct(ms, 90),
        "min_ms": min(ms),
        "max_ms": max(ms),
        "mean_ms": statistics.fmean(ms),
        "n": len(ms),
    }


def vm_hwm_kb(pid: int | str = "self") -> int | None:
    """Peak resident set size (VmHWM) of ``pid`` in kB, from /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid: int | str = "self") -> float | None:
    """User + system CPU seconds used so far by ``pid`` (its threads included)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def system_busy_seconds() -> float:
    """CPU seconds spent busy (all cores, all processes) since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Processes:
    """Everything this benchmark started, stopped once (atexit, signals, finally)."""

    def __init__(self) -> None:
        self.evergraph: subprocess.Popen | None = None
        #: further ``evergraph dev`` processes (``--compare``)
        self.others: list[subprocess.Popen] = []
        self.dev_server = None
        self.tmp: Path | None = None
        self.keep_tmp = False
        self._stopped = False

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        for p in [self.evergraph, *self.others]:
            stop_process(p)
        if self.dev_server is not None:
            self.dev_server.stop()
        if self.tmp is not None and not self.keep_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


def stop_process(p: subprocess.Popen | None) -> None:
    """SIGTERM the process group of ``p`` (SIGKILL after 15 s) and reap it."""
    if p is None or p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    except ProcessLookupError:
        pass


PROCS = Processes()


LAYERS = ("adapter", "api", "workflows", "activities")


def cli_module(tree: Path) -> str:
    """The module that runs ``evergraph`` from source tree ``tree``: in today's layout
    ``evergraph.adapter.process.cli``; ``evergraph.adapter.cli`` in trees whose layer
    folders installed under ``evergraph`` before ``adapter/`` had sub-packages;
    ``adapter.cli`` in older trees, whose top-level packages (``adapter``, ``api``,
    ``workflows``, ``activities``) come from ``PYTHONPATH``."""
    if (tree / "adapter" / "process" / "cli.py").is_file():
        return "evergraph.adapter.process.cli"
    text = (tree / "adapter" / "cli.py").read_text()
    return "evergraph.adapter.cli" if "from evergraph.adapter" in text else "adapter.cli"


def installed_tree() -> Path | None:
    """The source tree this environment's ``evergraph`` package comes from (the
    editable install's), or ``None``."""
    try:
        import evergraph.adapter
    except ImportError:
        return None
    return Path(evergraph.adapter.__file__).resolve().parent.parent


def tree_pythonpath(tree: Path, shim_root: Path) -> list[str]:
    """``PYTHONPATH`` entries under which a server imports its code from ``tree``.

    An old-layout tree needs only itself (top-level ``adapter`` ...). A new-layout tree
    other than the installed one also needs, first on the path, a folder
    ``<shim_root>/evergraph-shim-<hash>/evergraph`` of links to its layer folders: the
    path finder finds ``evergraph`` there before the editable install's finder (last on
    ``sys.meta_path``) would map ``evergraph.*`` to the installed tree.
    """
    tree = tree.resolve()
    entries = [str(tree)]
    if cli_module(tree).startswith("evergraph.") and installed_tree() != tree:
        shim = shim_root / f"evergraph-shim-{hashlib.sha1(str(tree).encode()).hexdigest()[:8]}"
        package = shim / "evergraph"
        package.mkdir(parents=True, exist_ok=True)
        for layer in LAYERS:
            link = package / layer
            if not link.is_symlink():
                link.symlink_to(tree / layer, target_is_directory=True)
        entries.insert(0, str(shim))
    return entries


def start_evergraph(
    repo: Path, config: Path, data_dir: Path, address: str, task_queue: str, port: int,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """Start ``evergraph dev`` from source tree ``repo`` (:func:`cli_module`,
    :func:`tree_pythonpath`), logging to ``<data_dir>.log`` next to ``data_dir``."""
    env = dict(os.environ)
    path = tree_pythonpath(repo, data_dir.parent)
    env.update(
        PYTHONPATH=os.pathsep.join(path + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])),
        TEMPORAL_ADDRESS=address,
        EVERGRAPH_DATA_DIR=str(data_dir),
        EVERGRAPH_TASK_QUEUE=task_queue,
        EVERGRAPH_LOG_LEVEL=env.get("EVERGRAPH_LOG_LEVEL", "WARNING"),
    )
    env.update(extra_env or {})
    log_file = open(data_dir.parent / f"{data_dir.name}.log", "wb")
    return subprocess.Popen(
        [sys.executable, "-m", cli_module(repo), "dev", "--config", str(config), "--port", str(port)],
        env=env,
        cwd=str(repo),
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


async def wait_ready(proc: subprocess.Popen, url: str, log_path: Path, timeout: float = 90.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"evergraph dev exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-4000:]}"
                )
            try:
                if "Ready." in log_path.read_text(errors="replace"):
                    if (await http.get(f"{url}/ok", timeout=2)).status_code == 200:
                        return
            except (httpx.HTTPError, OSError):
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"evergraph dev not ready within {timeout}s:\n{log_path.read_text(errors='replace')[-4000:]}")


async def timed(coro_fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await coro_fn()
        out.append(time.perf_counter() - t0)
    return out


# --------------------------------------------------------------------------- timeline


def _ts(event) -> float:
    return event.event_time.ToDatetime().timestamp()


def _proto_time(v: Any) -> float | None:
    """A timestamp from a local-activity marker (``{"seconds","nanos"}`` or RFC 3339)."""
    from datetime import datetime

    if isinstance(v, dict) and "seconds" in v:
        return int(v["seconds"]) + int(v.get("nanos", 0)) / 1e9
    if isinstance(v, str):
        try:
            return datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _local_activity(event) -> tuple[str, float] | None:
    """(activity type, schedule time) of a local-activity marker, from the marker data
    the Temporal SDK core records (worker wall clock: the same machine here). The
    marker's ``complete_time`` is workflow time, not wall time, so it is not used."""
    try:
        data = json.loads(event.marker_recorded_event_attributes.details["data"].payloads[0].data)
        start = _proto_time(data.get("original_schedule_time"))
        if start is None:
            return None
        return data.get("activity_type", "?"), start
    except Exception:
        return None


def _la_split(wfts: list[dict[str, Any]], med, tot) -> dict[str, Any]:
    """For workflow tasks that ran exactly one ``advance`` local activity: time from the
    task's start to scheduling ``advance`` (activation, sandbox) and from there to the
    task's completion (``advance`` itself, the follow-up activation, the completion
    RPC)."""
    pre, post = [], []
    for w in wfts:
        la = w.get("la") or []
        if len(la) == 1 and la[0][0] == "advance":
            pre.append(la[0][1] - w["started"])
            post.append(w["completed"] - la[0][1])
    if not pre:
        return {}
    return {
        "WFT started->advance scheduled median_ms": med(pre),
        "advance scheduled->WFT completed median_ms": med(post),
        "advance scheduled->WFT completed total_ms": tot(post),
    }


async def timeline(client, workflow_id: str) -> dict[str, Any]:
    """Where the time of one workflow went, from its Temporal history (ms)."""
    from temporalio.api.enums.v1 import EventType as E

    history = await client.get_workflow_handle(workflow_id).fetch_history()
    events = list(history.events)
    t0 = _ts(events[0])
    acts: dict[int, dict[str, float]] = {}
    wfts: list[dict[str, float]] = []
    cur_wft: dict[str, Any] | None = None
    end = None
    for ev in events:
        t = _ts(ev) - t0
        et = ev.event_type
        if et == E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            cur_wft = {"scheduled": t}
        elif et == E.EVENT_TYPE_WORKFLOW_TASK_STARTED and cur_wft is not None:
            cur_wft["started"] = t
        elif et == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and cur_wft is not None:
            cur_wft["completed"] = t
            wfts.append(cur_wft)
            cur_wft = None
        elif et == E.EVENT_TYPE_MARKER_RECORDED:
            la = _local_activity(ev)
            if la is not None and wfts:
                # markers follow the WorkflowTaskCompleted of the task that ran them
                wfts[-1].setdefault("la", []).append((la[0], la[1] - t0))
            if wfts:
                wfts[-1]["markers"] = wfts[-1].get("markers", 0) + 1
        elif et == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            a = ev.activity_task_scheduled_event_attributes
            acts[ev.event_id] = {"scheduled": t, "type": a.activity_type.name}
        elif et == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            a = ev.activity_task_started_event_attributes
            acts[a.scheduled_event_id]["started"] = t
            acts[a.scheduled_event_id]["attempt"] = a.attempt
        elif et == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            a = ev.activity_task_completed_event_attributes
            acts[a.scheduled_event_id]["completed"] = t
        elif et in (
            E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
        ):
            end = t
    a_list = [acts[k] for k in sorted(acts)]

    def med(xs: list[float]) -> float | None:
        return round(statistics.median(xs) * 1000, 2) if xs else None

    def tot(xs: list[float]) -> float:
        return round(sum(xs) * 1000, 2)

    sched_start = [a["started"] - a["scheduled"] for a in a_list if "started" in a]
    start_done = [a["completed"] - a["started"] for a in a_list if "completed" in a and "started" in a]
    wft_queue = [w["started"] - w["scheduled"] for w in wfts]
    wft_proc = [w["completed"] - w["started"] for w in wfts]
    # activity completed -> the WFT it triggered being scheduled/started
    act_to_wft = []
    for a in a_list:
        if "completed" not in a:
            continue
        nxt = next((w for w in wfts if w["scheduled"] >= a["completed"] - 1e-6), None)
        if nxt is not None:
            act_to_wft.append(nxt["scheduled"] - a["completed"])
    first_act = a_list[0]["scheduled"] if a_list else None
    last_act = a_list[-1].get("completed") if a_list else None
    return {
        "workflow_id": workflow_id,
        "events": len(events),
        "total_ms": round(end * 1000, 2) if end is not None else None,
        "activities": len(a_list),
        "workflow_tasks": len(wfts),
        "markers (local activities)": sum(w.get("markers", 0) for w in wfts),
        "activity sched->started median_ms": med(sched_start),
        "activity started->completed median_ms": med(start_done),
        "activity sched->started total_ms": tot(sched_start),
        "activity started->completed total_ms": tot(start_done),
        "activity completed->WFT scheduled median_ms": med(act_to_wft),
        "WFT sched->started median_ms": med(wft_queue),
        "WFT started->completed median_ms": med(wft_proc),
        "WFT sched->started total_ms": tot(wft_queue),
        "WFT started->completed total_ms": tot(wft_proc),
        "WFT started->completed per WFT ms": [round(x * 1000, 1) for x in wft_proc],
        **_la_split(wfts, med, tot),
        "start -> first activity scheduled ms": round(first_act * 1000, 2) if first_act is not None else None,
        "last activity completed -> end ms": round((end - last_act) * 1000, 2)
        if end is not None and last_act is not None
        else None,
    }


# --------------------------------------------------------------------------- main


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    repo = Path(args.repo).resolve()
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    from evergraph.adapter.process.devserver import free_port, start_dev_server
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph_sdk import get_client
    from temporalio.client import Client
    from temporalio.worker import Worker

    tmp = Path(tempfile.mkdtemp(prefix="evergraph-bench-"))
    PROCS.tmp, PROCS.keep_tmp = tmp, args.keep
    (tmp / "graphs").mkdir()
    (tmp / "graphs" / "chain10.py").write_text(CHAIN10)
    (tmp / "graphs" / "chain20.py").write_text(chain_source(2 * NODES))
    config = tmp / "graphs" / "langgraph.json"
    graphs = {"chain10": "./chain10.py:graph", "chain20": "./chain20.py:graph"}
    config.write_text(json.dumps({"dependencies": ["."], "graphs": graphs, "env": {}}))

    log(f"starting Temporal dev server (data in {tmp})")
    t = time.monotonic()
    PROCS.dev_server = await start_dev_server(tmp / "temporal", port=free_port(), ui_port=free_port())
    address = PROCS.dev_server.address
    log(f"Temporal at {address} ({time.monotonic() - t:.1f}s)")

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    eg_queue = f"bench-evergraph-{uuid.uuid4().hex[:8]}"
    (tmp / "evergraph").mkdir()
    t = time.monotonic()
    PROCS.evergraph = start_evergraph(repo, config, tmp / "evergraph", address, eg_queue, port)
    await wait_ready(PROCS.evergraph, url, tmp / "evergraph.log")
    eg_pid = PROCS.evergraph.pid
    log(f"evergraph dev ready at {url}, pid {eg_pid} ({time.monotonic() - t:.1f}s)")

    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "params": {
            "n": args.n,
            "warmup": args.warmup,
            "concurrency": args.concurrency,
            "repeats": args.repeats,
            "nodes": NODES,
            "bare_sandboxed": not args.bare_unsandboxed,
            "bare_eager_activities": not args.bare_no_eager,
            "marginal": args.marginal,
        },
    }

    pids = {"evergraph": eg_pid, "temporal": PROCS.dev_server.process.pid, "benchmark": "self"}
    noise0 = (time.monotonic(), system_busy_seconds(), sum(cpu_seconds(v) or 0 for v in pids.values()))

    # ---- a. Evergraph sequential latency
    sdk = get_client(url=url, api_key=None, timeout=120)

    async def eg_run(nodes: int = NODES) -> None:
        out = await sdk.runs.wait(None, f"chain{nodes}", input={"n": 0})
        if not isinstance(out, dict) or out.get("n") != nodes:
            raise RuntimeError(f"unexpected run result: {out!r}")

    log(f"evergraph: {args.warmup} warm-up runs, then {args.n} sequential runs")
    await timed(eg_run, args.warmup)
    eg_lat = await timed(eg_run, args.n)
    results["evergraph_latency"] = summary(eg_lat)
    if args.marginal:
        log(f"evergraph chain20: {args.warmup} warm-up runs, then {args.n} sequential runs")
        await timed(lambda: eg_run(2 * NODES), args.warmup)
        results["evergraph_chain20_latency"] = summary(await timed(lambda: eg_run(2 * NODES), args.n))

    # ---- in-process reference
    ns: dict[str, Any] = {}
    exec(compile(CHAIN10, "chain10.py", "exec"), ns)
    plain = ns["graph"]
    saved = ns["build"]().compile(checkpointer=InMemorySaver())

    async def ip_plain() -> None:
        assert (await plain.ainvoke({"n": 0}))["n"] == NODES

    async def ip_saved() -> None:
        cfg = {"configurable": {"thread_id": uuid.uuid4().hex}}
        assert (await saved.ainvoke({"n": 0}, cfg))["n"] == NODES

    in_n = max(args.n, 200)
    log(f"in-process: {in_n} runs each (no checkpointer / InMemorySaver)")
    await timed(ip_plain, 20)
    results["inprocess_latency"] = summary(await timed(ip_plain, in_n))
    await timed(ip_saved, 20)
    results["inprocess_memsaver_latency"] = summary(await timed(ip_saved, in_n))

    # ---- b. bare Temporal
    tclient = await Client.connect(address)
    bare_queue = f"bench-bare-{uuid.uuid4().hex[:8]}"
    # Temporal's sandbox re-imports a workflow's module, which cannot be __main__:
    # use this file under its module name (the bare workflow is sandboxed unless
    # --bare-unsandboxed; Evergraph's are not unless EVERGRAPH_WORKFLOW_SANDBOX=1).
    if str(_here()) not in sys.path:
        sys.path.insert(0, str(_here()))
    import bench_runs as bare_mod

    runner = {}
    if args.bare_unsandboxed:
        from temporalio.worker import UnsandboxedWorkflowRunner

        runner = {"workflow_runner": UnsandboxedWorkflowRunner()}
    worker = Worker(
        tclient,
        task_queue=bare_queue,
        workflows=[bare_mod.BenchChain10],
        activities=[bare_mod.bench_noop],
        disable_eager_activity_execution=args.bare_no_eager,
        **runner,
    )
    bare_ids: list[str] = []
    async with worker:

        async def bare_run(count: int = NODES) -> None:
            wid = f"bench-bare-{uuid.uuid4().hex}"
            bare_ids.append(wid)
            out = await tclient.execute_workflow(
                "BenchChain10", args=[0, count], id=wid, task_queue=bare_queue, result_type=int
            )
            if out != count:
                raise RuntimeError(f"bare workflow returned {out!r}")

        log(f"bare Temporal: {args.warmup} warm-up, then {args.n} sequential workflows")
        await timed(bare_run, args.warmup)
        bare_lat = await timed(bare_run, args.n)
        last_bare_id = bare_ids[-1]
        if args.marginal:
            await timed(lambda: bare_run(2 * NODES), args.warmup)
            results["bare_temporal_chain20_latency"] = summary(await timed(lambda: bare_run(2 * NODES), args.n))
        # reference ceiling: the same concurrency against bare Temporal on this machine
        bare_tp = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            await asyncio.gather(*(bare_run() for _ in range(args.concurrency)))
            bare_tp.append(args.concurrency / (time.perf_counter() - t0))
        log(f"bare Temporal throughput: {', '.join(f'{x:.1f}' for x in bare_tp)} workflows/s")
    results["bare_temporal_latency"] = summary(bare_lat)
    results["bare_temporal_throughput"] = {
        "runs_per_s": [round(x, 2) for x in bare_tp],
        "best": max(bare_tp),
        "median": statistics.median(bare_tp),
    }

    # ---- c. throughput
    tp_runs = []
    cpu0 = {k: cpu_seconds(v) for k, v in pids.items()}
    wall_total = 0.0
    for i in range(args.repeats):
        t0 = time.perf_counter()
        await asyncio.gather(*(eg_run() for _ in range(args.concurrency)))
        wall = time.perf_counter() - t0
        wall_total += wall
        tp_runs.append(args.concurrency / wall)
        log(f"throughput round {i + 1}: {args.concurrency} runs in {wall:.2f}s = {tp_runs[-1]:.1f} runs/s")
    cpu1 = {k: cpu_seconds(v) for k, v in pids.items()}
    total_runs = args.concurrency * args.repeats
    results["throughput"] = {
        "runs_per_s": [round(x, 2) for x in tp_runs],
        "best": max(tp_runs),
        "median": statistics.median(tp_runs),
        # CPU time per run during the throughput rounds, by process (what saturates)
        "cpu_ms_per_run": {
            k: round((cpu1[k] - cpu0[k]) * 1000 / total_runs, 1)
            for k in pids
            if cpu0[k] is not None and cpu1[k] is not None
        },
        "cpu_utilisation": {
            k: round((cpu1[k] - cpu0[k]) / wall_total, 2)
            for k in pids
            if cpu0[k] is not None and cpu1[k] is not None
        },
    }

    # ---- optional: timeline of one run of each kind
    if args.timeline:
        wid = await _one_evergraph_run_id(sdk, tclient, eg_queue)
        results["timeline_evergraph"] = await timeline(tclient, wid)
        results["timeline_bare"] = await timeline(tclient, last_bare_id)

    # ---- other processes on this machine while we measured (they skew the numbers)
    t1, busy1, ours1 = time.monotonic(), system_busy_seconds(), sum(cpu_seconds(v) or 0 for v in pids.values())
    results["machine"]["other_processes_cpu_cores"] = round(
        max(0.0, (busy1 - noise0[1]) - (ours1 - noise0[2])) / (t1 - noise0[0]), 2
    )
    results["machine"]["loadavg_end"] = os.getloadavg()

    # ---- d. memory
    results["rss"] = {
        "evergraph_vmhwm_mb": (vm_hwm_kb(eg_pid) or 0) / 1024,
        "benchmark_vmhwm_mb": (vm_hwm_kb() or 0) / 1024,
    }

    # ---- derived
    eg_med = results["evergraph_latency"]["median_ms"]
    ip_med = results["inprocess_latency"]["median_ms"]
    bare_med = results["bare_temporal_latency"]["median_ms"]
    eg_node = (eg_med - ip_med) / NODES
    bare_node = bare_med / NODES
    if args.marginal:
        eg_marg = (results["evergraph_chain20_latency"]["median_ms"] - eg_med) / NODES
        bare_marg = (results["bare_temporal_chain20_latency"]["median_ms"] - bare_med) / NODES
        results["marginal"] = {
            "per_node_evergraph_ms": eg_marg,
            "per_node_bare_temporal_ms": bare_marg,
            "ratio": eg_marg / bare_marg if bare_marg > 0 else None,
        }
    results["derived"] = {
        "evergraph_over_inprocess": eg_med / ip_med,
        "evergraph_over_inprocess_memsaver": eg_med / results["inprocess_memsaver_latency"]["median_ms"],
        "per_node_overhead_evergraph_ms": eg_node,
        "per_node_overhead_bare_temporal_ms": bare_node,
        "per_node_overhead_ratio": eg_node / bare_node,
    }
    results["targets"] = {
        "latency_median_ms": {"value": eg_med, "target": f"< {TARGET_LATENCY_MS:g}", "pass": eg_med < TARGET_LATENCY_MS,
                              "ratio_to_target": eg_med / TARGET_LATENCY_MS},
        "per_node_overhead_ratio": {"value": eg_node / bare_node, "target": f"<= {TARGET_OVERHEAD_RATIO}",
                                    "pass": eg_node / bare_node <= TARGET_OVERHEAD_RATIO,
                                    "ratio_to_target": (eg_node / bare_node) / TARGET_OVERHEAD_RATIO},
        "throughput_best_runs_per_s": {"value": max(tp_runs), "target": f">= {TARGET_THROUGHPUT:g}",
                                       "pass": max(tp_runs) >= TARGET_THROUGHPUT,
                                       "ratio_to_target": max(tp_runs) / TARGET_THROUGHPUT},
    }
    return results


async def _one_evergraph_run_id(sdk, tclient, task_queue: str) -> str:
    """Run chain10 once more and return its ``run-<run_id>`` workflow id."""
    before = time.time()
    await sdk.runs.wait(None, "chain10", input={"n": 0})
    for _ in range(50):
        found = []
        async for wf in tclient.list_workflows(f"WorkflowType = 'RunWorkflow' AND TaskQueue = '{task_queue}'"):
            if wf.start_time.timestamp() >= before - 0.5:
                found.append(wf)
        if found:
            return max(found, key=lambda w: w.start_time).id
        await asyncio.sleep(0.2)
    raise RuntimeError("could not find the workflow of the timeline run")


def render(r: dict[str, Any]) -> str:
    def ms(x: float) -> str:
        return f"{x:8.1f} ms"

    L = []
    m = r["machine"]
    L.append(f"Evergraph benchmark — chain10 (10 trivial async nodes), {m['cpus']} CPUs, Python {m['python']}")
    other = m.get("other_processes_cpu_cores")
    if other is not None:
        warn = "  <-- WARNING: the machine was busy, numbers are pessimistic" if other > 0.2 else ""
        L.append(f"CPU used by other processes during the measurements: {other:.2f} cores{warn}")
    L.append(f"N={r['params']['n']} sequential (after {r['params']['warmup']} warm-up), "
             f"{r['params']['concurrency']} concurrent x {r['params']['repeats']}")
    L.append("")
    L.append(f"{'measurement':<48}{'median':>12}{'p90':>12}{'min':>12}")
    for key, label in (
        ("evergraph_latency", "Evergraph runs.wait (stateless)"),
        ("inprocess_latency", "in-process ainvoke (no checkpointer)"),
        ("inprocess_memsaver_latency", "in-process ainvoke (InMemorySaver)"),
        ("bare_temporal_latency", "bare Temporal workflow, 10 no-op activities"),
        ("evergraph_chain20_latency", "Evergraph runs.wait, chain20"),
        ("bare_temporal_chain20_latency", "bare Temporal workflow, 20 no-op activities"),
    ):
        if key not in r:
            continue
        s = r[key]
        L.append(f"{label:<48}{ms(s['median_ms']):>12}{ms(s['p90_ms']):>12}{ms(s['min_ms']):>12}")
    d = r["derived"]
    L.append("")
    L.append(f"{'Evergraph / in-process (no checkpointer)':<48}{d['evergraph_over_inprocess']:>10.1f} x")
    L.append(f"{'Evergraph / in-process (InMemorySaver)':<48}{d['evergraph_over_inprocess_memsaver']:>10.1f} x")
    L.append(f"{'per-node overhead, Evergraph':<48}{ms(d['per_node_overhead_evergraph_ms']):>12}")
    L.append(f"{'per-node overhead, bare Temporal':<48}{ms(d['per_node_overhead_bare_temporal_ms']):>12}")
    if "marginal" in r:
        mg = r["marginal"]
        ratio = f"{mg['ratio']:.2f}x" if mg["ratio"] else "n/a"
        L.append(f"{'marginal per-node (chain20-chain10)/10, Evergraph':<48}{ms(mg['per_node_evergraph_ms']):>12}")
        L.append(f"{'marginal per-node (chain20-chain10)/10, bare':<48}{ms(mg['per_node_bare_temporal_ms']):>12}"
                 f"   ratio {ratio}")
    L.append(f"{'throughput runs/s (rounds)':<48}{', '.join(f'{x:.1f}' for x in r['throughput']['runs_per_s']):>12}")
    L.append(f"{'throughput runs/s best / median':<48}{r['throughput']['best']:>8.1f} / {r['throughput']['median']:.1f}")
    bt = r["bare_temporal_throughput"]
    L.append(f"{'bare Temporal workflows/s, same concurrency':<48}{bt['best']:>8.1f} / {bt['median']:.1f}"
             "   (best / median; this machine's ceiling for 10 activities)")
    cpu = r["throughput"].get("cpu_ms_per_run", {})
    util = r["throughput"].get("cpu_utilisation", {})
    if cpu:
        L.append(f"{'CPU ms per run under load (cores busy)':<48}"
                 + ", ".join(f"{k} {v:.0f} ({util.get(k, 0):.2f})" for k, v in cpu.items()))
    L.append(f"{'peak RSS (VmHWM) evergraph dev process':<48}{r['rss']['evergraph_vmhwm_mb']:>9.0f} MB")
    L.append(f"{'peak RSS (VmHWM) benchmark process':<48}{r['rss']['benchmark_vmhwm_mb']:>9.0f} MB")
    L.append("")
    L.append(f"{'target':<34}{'value':>12}{'goal':>12}{'value/goal':>12}  result")
    for key, label, fmt in (
        ("latency_median_ms", "latency median (ms)", "{:.1f}"),
        ("per_node_overhead_ratio", "per-node overhead vs bare", "{:.2f}x"),
        ("throughput_best_runs_per_s", "throughput best (runs/s)", "{:.1f}"),
    ):
        t = r["targets"][key]
        L.append(f"{label:<34}{fmt.format(t['value']):>12}{t['target']:>12}{t['ratio_to_target']:>12.2f}  "
                 f"{'PASS' if t['pass'] else 'MISS'}")
    for key, title in (("timeline_evergraph", "Evergraph run"), ("timeline_bare", "bare Temporal workflow")):
        if key in r:
            L.append("")
            L.append(f"Timeline of one {title} ({r[key]['workflow_id']}):")
            for k, v in r[key].items():
                if k != "workflow_id":
                    L.append(f"  {k:<46}{v}")
    return "\n".join(L)


# --------------------------------------------------------------------------- --compare


#: a receiver of OTLP/HTTP exports that answers 200 and drops them, kept alive across
#: requests (HTTP/1.1) as collectors are; run as ``python -c OTLP_SINK PORT``
OTLP_SINK = textwrap.dedent("""
    import sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Sink(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
""")


def start_otlp_sink(port: int) -> subprocess.Popen:
    """Start :data:`OTLP_SINK` on loopback ``port`` (cleaned up on exit); returns once
    it accepts connections.

    Raises:
        RuntimeError: it did not within 30 s.
    """
    from _services import accepting

    proc = subprocess.Popen([sys.executable, "-c", OTLP_SINK, str(port)], start_new_session=True)
    PROCS.others.append(proc)
    if not accepting(port, time.monotonic() + 30):
        raise RuntimeError(f"the OTLP receiver did not start on port {port}")
    return proc


def rotated(names: list[str], i: int) -> list[str]:
    """``names`` starting at its ``i``-th (modulo its length): round ``i``'s order, so
    that no variant always runs first."""
    k = i % len(names)
    return names[k:] + names[:k]


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    """``NAME`` or ``NAME:VAR=VALUE,VAR=VALUE`` -> (name, extra environment)."""
    name, _, rest = text.partition(":")
    env = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--compare {text!r}: expected NAME:VAR=VALUE[,VAR=VALUE]")
        env[key] = value
    return name, env


async def bench_compare(args: argparse.Namespace) -> dict[str, Any]:
    """Several ``evergraph dev`` configurations and the bare-Temporal baseline on one
    dev server, measured interleaved (one run of each in turn for latency, one round
    of each in turn for throughput), so that load from other processes affects all of
    them alike. Returns per-variant latency (ms), per-node overhead (ms) and its ratio
    to bare Temporal, throughput (runs/s) and CPU per run (ms)."""
    repo = Path(args.repo).resolve()
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    from evergraph.adapter.process.devserver import free_port, start_dev_server
    from langgraph_sdk import get_client
    from temporalio.client import Client
    from temporalio.worker import Worker

    variants = [parse_variant(v) for v in args.compare]
    if any("{otlp}" in value for _, env in variants for value in env.values()):
        # tracing variants export to a local receiver that drops the spans
        port = free_port()
        start_otlp_sink(port)
        sink = f"http://127.0.0.1:{port}"
        variants = [(name, {k: v.replace("{otlp}", sink) for k, v in env.items()}) for name, env in variants]
        log(f"OTLP/HTTP receiver at {sink}")
    tmp = Path(tempfile.mkdtemp(prefix="evergraph-bench-"))
    PROCS.tmp, PROCS.keep_tmp = tmp, args.keep
    (tmp / "graphs").mkdir()
    (tmp / "graphs" / "chain10.py").write_text(CHAIN10)
    config = tmp / "graphs" / "langgraph.json"
    config.write_text(json.dumps({"dependencies": ["."], "graphs": {"chain10": "./chain10.py:graph"}, "env": {}}))
    PROCS.dev_server = await start_dev_server(tmp / "temporal", port=free_port(), ui_port=free_port())
    address = PROCS.dev_server.address
    log(f"Temporal at {address}")

    clients, pids = {}, {}
    for i, (name, env) in enumerate(variants):
        port = free_port()
        data = tmp / f"evergraph{i}"
        data.mkdir()
        proc = start_evergraph(repo, config, data, address, f"bench-{i}-{uuid.uuid4().hex[:8]}", port, env)
        PROCS.others.append(proc)
        await wait_ready(proc, f"http://127.0.0.1:{port}", tmp / f"evergraph{i}.log")
        clients[name] = get_client(url=f"http://127.0.0.1:{port}", api_key=None, timeout=120)
        pids[name] = proc.pid
        log(f"variant {name} {env} ready, pid {proc.pid}")

    ns: dict[str, Any] = {}
    exec(compile(CHAIN10, "chain10.py", "exec"), ns)
    plain = ns["graph"]
    for _ in range(20):
        await plain.ainvoke({"n": 0})
    ip = []
    for _ in range(200):
        t0 = time.perf_counter()
        await plain.ainvoke({"n": 0})
        ip.append(time.perf_counter() - t0)
    ip_med = statistics.median(ip) * 1000

    tclient = await Client.connect(address)
    bare_queue = f"bench-bare-{uuid.uuid4().hex[:8]}"
    if str(_here()) not in sys.path:
        sys.path.insert(0, str(_here()))
    import bench_runs as bare_mod

    async def bare_run() -> None:
        out = await tclient.execute_workflow(
            "BenchChain10", args=[0, NODES], id=f"bench-bare-{uuid.uuid4().hex}", task_queue=bare_queue,
            result_type=int,
        )
        if out != NODES:
            raise RuntimeError(f"bare workflow returned {out!r}")

    def eg(name: str):
        async def run() -> None:
            out = await clients[name].runs.wait(None, "chain10", input={"n": 0})
            if not isinstance(out, dict) or out.get("n") != NODES:
                raise RuntimeError(f"unexpected run result from {name}: {out!r}")
        return run

    runners = {name: eg(name) for name, _ in variants}
    runners["bare"] = bare_run
    names = list(runners)
    lat: dict[str, list[float]] = {k: [] for k in names}
    tp: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, float] = {k: 0.0 for k in pids}
    server_cpu: dict[str, float] = {k: 0.0 for k in names}  # the Temporal dev server's, while k ran
    server = PROCS.dev_server.process.pid
    seq_cpu: dict[str, float] = {k: 0.0 for k in pids}
    seq_server_cpu: dict[str, float] = {k: 0.0 for k in names}
    runner = {}
    if args.bare_unsandboxed:
        from temporalio.worker import UnsandboxedWorkflowRunner

        runner = {"workflow_runner": UnsandboxedWorkflowRunner()}
    worker = Worker(
        tclient, task_queue=bare_queue, workflows=[bare_mod.BenchChain10], activities=[bare_mod.bench_noop],
        disable_eager_activity_execution=args.bare_no_eager, **runner,
    )
    async with worker:
        for k in names:
            await timed(runners[k], args.warmup)
        log(f"latency: {args.n} interleaved runs of each of {names}")
        for i in range(args.n):
            for k in rotated(names, i):
                c0 = cpu_seconds(pids[k]) if k in pids else None
                s0 = cpu_seconds(server) or 0
                lat[k] += await timed(runners[k], 1)
                seq_server_cpu[k] += (cpu_seconds(server) or 0) - s0
                if c0 is not None:
                    seq_cpu[k] += (cpu_seconds(pids[k]) or 0) - c0
        for r in range(args.repeats):
            for k in rotated(names, r):
                c0 = cpu_seconds(pids[k]) if k in pids else None
                s0 = cpu_seconds(server) or 0
                t0 = time.perf_counter()
                await asyncio.gather(*(runners[k]() for _ in range(args.concurrency)))
                tp[k].append(args.concurrency / (time.perf_counter() - t0))
                server_cpu[k] += (cpu_seconds(server) or 0) - s0
                if c0 is not None:
                    cpu[k] += (cpu_seconds(pids[k]) or 0) - c0
            log(f"throughput round {r + 1}: " + ", ".join(f"{k} {tp[k][-1]:.1f}" for k in names))
    bare_med = statistics.median(lat["bare"]) * 1000
    ref = names[0]
    out: dict[str, Any] = {"inprocess_median_ms": ip_med, "reference": ref, "variants": {}}
    for k in names:
        med = statistics.median(lat[k]) * 1000
        node = (med - ip_med) / NODES if k != "bare" else med / NODES
        out["variants"][k] = {
            "env": dict(variants)[k] if k in pids else {},
            "latency_median_ms": med,
            "latency_p90_ms": pct([x * 1000 for x in lat[k]], 90),
            "per_node_ms": node,
            "ratio_vs_bare": node / (bare_med / NODES),
            "runs_per_s": [round(x, 2) for x in tp[k]],
            "runs_per_s_best": max(tp[k]),
            "runs_per_s_median": statistics.median(tp[k]),
            "cpu_ms_per_run": cpu[k] * 1000 / (args.concurrency * args.repeats) if k in pids else None,
            "sequential_cpu_ms_per_run": seq_cpu[k] * 1000 / args.n if k in pids else None,
            "temporal_cpu_ms_per_run": server_cpu[k] * 1000 / (args.concurrency * args.repeats),
            "sequential_temporal_cpu_ms_per_run": seq_server_cpu[k] * 1000 / args.n,
            # against the first variant: its median latency, and the median of the
            # per-round throughput ratios (each round's pair ran minutes apart at most)
            "latency_vs_reference": med / (statistics.median(lat[ref]) * 1000),
            "throughput_vs_reference": statistics.median(a / b for a, b in zip(tp[k], tp[ref])),
        }
    out["groups"] = pooled_groups(out)
    return out


def variant_group(name: str) -> str:
    """The configuration a ``--compare`` variant name stands for: the name without its
    trailing digits (``traced2`` -> ``traced``), so that ``off off2 off3`` are three
    processes of one configuration."""
    return name.rstrip("0123456789") or name


def pooled_groups(r: dict[str, Any]) -> dict[str, Any]:
    """``--compare`` results pooled over the processes of each configuration
    (:func:`variant_group`), against the reference's group; ``{}`` unless some
    configuration ran in more than one process. Per group: ``processes`` (variant
    names), ``latency_ms`` (mean of their median latencies), ``sequential_cpu_ms_per_run``
    (mean), ``latency_vs_reference`` (ratio of those means), ``pair_latency_ratios``
    (the i-th process against the reference's i-th, while both exist),
    ``throughput_vs_reference`` (median over rounds of the ratio of the groups' summed
    runs/s in that round), ``sequential_cpu_vs_reference``. Latency differs by several
    per cent between identical processes, so only pooled figures over several
    processes say much about a cost of a few per cent."""
    groups: dict[str, list[str]] = {}
    for name in r["variants"]:
        if name != "bare":
            groups.setdefault(variant_group(name), []).append(name)
    if all(len(members) == 1 for members in groups.values()):
        return {}
    v = r["variants"]

    def summary(members: list[str]) -> dict[str, Any]:
        cpu = [v[m]["sequential_cpu_ms_per_run"] for m in members if v[m]["sequential_cpu_ms_per_run"] is not None]
        return {
            "processes": members,
            "latency_ms": statistics.mean(v[m]["latency_median_ms"] for m in members),
            "sequential_cpu_ms_per_run": statistics.mean(cpu) if cpu else None,
            "runs_per_s": [sum(rounds) for rounds in zip(*(v[m]["runs_per_s"] for m in members))],
        }

    ref = summary(groups[variant_group(r["reference"])])
    out = {}
    for group, members in groups.items():
        g = summary(members)
        g["latency_vs_reference"] = g["latency_ms"] / ref["latency_ms"]
        g["pair_latency_ratios"] = [
            v[m]["latency_median_ms"] / v[n]["latency_median_ms"] for m, n in zip(members, ref["processes"])
        ]
        g["throughput_vs_reference"] = statistics.median(a / b for a, b in zip(g["runs_per_s"], ref["runs_per_s"]))
        cpu, ref_cpu = g["sequential_cpu_ms_per_run"], ref["sequential_cpu_ms_per_run"]
        g["sequential_cpu_vs_reference"] = cpu / ref_cpu if cpu and ref_cpu else None
        out[group] = g
    return out


def render_compare(r: dict[str, Any]) -> str:
    """The ``--compare`` results as a table."""
    L = [f"{'variant':<16}{'median ms':>10}{'p90 ms':>9}{'node ms':>9}{'vs bare':>9}{'runs/s best':>13}"
         f"{'median':>8}{'CPU ms/run':>12}{'Temporal':>10}{'seq CPU':>9}{'seq Temporal':>14}{'lat vs ref':>12}{'tput vs ref':>12}  env"]
    for k, v in r["variants"].items():
        c = f"{v['cpu_ms_per_run']:.0f}" if v["cpu_ms_per_run"] is not None else "-"
        sc = f"{v['sequential_cpu_ms_per_run']:.0f}" if v.get("sequential_cpu_ms_per_run") is not None else "-"
        L.append(f"{k:<16}{v['latency_median_ms']:>10.1f}{v['latency_p90_ms']:>9.1f}{v['per_node_ms']:>9.2f}"
                 f"{v['ratio_vs_bare']:>8.2f}x{v['runs_per_s_best']:>13.1f}{v['runs_per_s_median']:>8.1f}{c:>12}{v['temporal_cpu_ms_per_run']:>10.0f}{sc:>9}{v['sequential_temporal_cpu_ms_per_run']:>14.0f}"
                 f"{v['latency_vs_reference']:>11.3f}x{v['throughput_vs_reference']:>11.3f}x  {v['env']}")
    L.append(f"ref = {r['reference']}; lat vs ref: median latency ratio; tput vs ref: median of the per-round "
             "throughput ratios; CPU ms/run: the evergraph process under load; Temporal: the dev server's "
             "CPU per run meanwhile; seq CPU, seq Temporal: the same in the sequential runs")
    L.append(f"in-process ainvoke median {r['inprocess_median_ms']:.1f} ms; per-node = (median - in-process) / {NODES}"
             f" (bare: median / {NODES})")
    if r.get("groups"):
        L.append("")
        L.append(f"{'pooled':<16}{'processes':>10}{'latency ms':>12}{'lat vs ref':>12}{'tput vs ref':>12}"
                 f"{'seq CPU vs ref':>16}  latency vs ref, pair by pair")
        for k, g in r["groups"].items():
            cpu = f"{g['sequential_cpu_vs_reference']:.3f}x" if g["sequential_cpu_vs_reference"] else "-"
            pairs = " ".join(f"{x:.3f}" for x in g["pair_latency_ratios"])
            L.append(f"{k:<16}{len(g['processes']):>10}{g['latency_ms']:>12.1f}{g['latency_vs_reference']:>11.3f}x"
                     f"{g['throughput_vs_reference']:>11.3f}x{cpu:>16}  {pairs}")
        L.append("pooled: the processes of one configuration (names differing only in trailing digits); latency: "
                 "mean of their medians; tput: median over rounds of the ratio of summed runs/s")
    return "\n".join(L)


# --------------------------------------------------------------------------- --vs-tree


def parse_tree(text: str) -> tuple[str, Path]:
    """``[NAME=]PATH`` -> (name, resolved path); the name defaults to the folder's."""
    name, sep, path = text.partition("=")
    if not sep:
        name, path = Path(text).name, text
    tree = Path(path).expanduser().resolve()
    if not any((tree / "adapter" / sub / "cli.py").is_file() for sub in ("process", "")):
        raise SystemExit(f"--vs-tree {text!r}: {tree} is not an Evergraph source tree (no adapter/process/cli.py)")
    return name, tree


def check_probe(label: str, tree: Path, probe: Any) -> dict[str, Any]:
    """Raise unless the server's ``probe`` run shows that it imported its node-attempt
    code from ``tree`` (links resolved). Returns what the probe saw."""
    modules = probe.get("modules") if isinstance(probe, dict) else None
    if not modules:
        raise RuntimeError(f"{label}: unexpected probe result {probe!r}")
    attempt = {k: v for k, v in modules.items() if k.endswith("adapter.node_attempt")}
    expected = (tree / "adapter" / "node_attempt.py").resolve()
    wrong = {k: v for k, v in attempt.items() if v is None or Path(v).resolve() != expected}
    if not attempt or wrong:
        raise RuntimeError(
            f"{label}: the server's node-attempt code is not {expected}: {attempt or modules} "
            "(see tree_pythonpath)"
        )
    files = sorted({v + (" (via links)" if Path(v).resolve() != Path(v) else "") for v in attempt.values()})
    return {
        "modules": modules, "node_attempt": [str(expected)], "imported_as": files, "node_thread": probe.get("thread"),
    }


async def _tree_round(
    args: argparse.Namespace, tmp: Path, config: Path, address: str, label: str, tree: Path, index: int
) -> dict[str, Any]:
    """One fresh ``evergraph dev`` of ``tree``: probe, chain10 latency, the parallel
    graphs (sequential and concurrent runs), chain10 throughput, peak RSS; then stop it."""
    from evergraph.adapter.process.devserver import free_port
    from langgraph_sdk import get_client

    port = free_port()
    data = tmp / f"{label}-{index}"
    data.mkdir()
    t = time.monotonic()
    proc = start_evergraph(tree, config, data, address, f"bench-{label}-{index}-{uuid.uuid4().hex[:8]}", port)
    PROCS.others.append(proc)
    try:
        await wait_ready(proc, f"http://127.0.0.1:{port}", tmp / f"{data.name}.log")
        out: dict[str, Any] = {"ready_s": time.monotonic() - t, "pid": proc.pid}
        sdk = get_client(url=f"http://127.0.0.1:{port}", api_key=None, timeout=120)
        out["probe"] = check_probe(label, tree, await sdk.runs.wait(None, "probe", input={}))
        pids = {"evergraph": proc.pid, "temporal": PROCS.dev_server.process.pid, "benchmark": "self"}
        noise0 = (time.monotonic(), system_busy_seconds(), sum(cpu_seconds(v) or 0 for v in pids.values()))

        def runner(graph: str, check):
            async def run() -> None:
                res = await sdk.runs.wait(None, graph, input={"n": 0} if graph == "chain10" else {})
                if not check(res):
                    raise RuntimeError(f"{label}: unexpected {graph} result {res!r}")
            return run

        chain = runner("chain10", lambda r: isinstance(r, dict) and r.get("n") == NODES)
        par = {
            kind: runner(f"par_{kind}", lambda r: isinstance(r, dict) and len(r.get("done") or []) == PARALLEL_WIDTH)
            for kind in ("noop", "async", "sync")
        }

        await timed(chain, args.warmup)
        c0 = cpu_seconds(proc.pid)
        lat = [x * 1000 for x in await timed(chain, args.n)]
        out["chain10_median_ms"] = statistics.median(lat)
        out["chain10_p90_ms"] = pct(lat, 90)
        out["chain10_cpu_ms_per_run_sequential"] = ((cpu_seconds(proc.pid) or 0) - (c0 or 0)) * 1000 / args.n

        for kind, run in par.items():
            await timed(run, 2)
            walls = [x * 1000 for x in await timed(run, args.par_n)]
            out[f"par_{kind}_median_ms"] = statistics.median(walls)
            out[f"par_{kind}_p90_ms"] = pct(walls, 90)
            conc = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                await asyncio.gather(*(run() for _ in range(args.par_concurrency)))
                conc.append((time.perf_counter() - t0) * 1000)
            out[f"par_{kind}_concurrent_ms"] = statistics.median(conc)
        for kind in ("async", "sync"):
            out[f"par_{kind}_over_noop_ms"] = out[f"par_{kind}_median_ms"] - out["par_noop_median_ms"]
            out[f"par_{kind}_concurrent_over_noop_ms"] = (
                out[f"par_{kind}_concurrent_ms"] - out["par_noop_concurrent_ms"]
            )

        tp = []
        c0 = cpu_seconds(proc.pid)
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            await asyncio.gather(*(chain() for _ in range(args.concurrency)))
            tp.append(args.concurrency / (time.perf_counter() - t0))
        out["runs_per_s"] = [round(x, 2) for x in tp]
        out["runs_per_s_median"] = statistics.median(tp)
        out["runs_per_s_best"] = max(tp)
        total = args.concurrency * args.repeats
        out["cpu_ms_per_run_load"] = ((cpu_seconds(proc.pid) or 0) - (c0 or 0)) * 1000 / total
        out["evergraph_vmhwm_mb"] = (vm_hwm_kb(proc.pid) or 0) / 1024
        t1, busy1, ours1 = time.monotonic(), system_busy_seconds(), sum(cpu_seconds(v) or 0 for v in pids.values())
        other = max(0.0, (busy1 - noise0[1]) - (ours1 - noise0[2])) / (t1 - noise0[0])
        out["other_processes_cpu_cores"] = round(other, 2)
        return out
    finally:
        stop_process(proc)
        PROCS.others.remove(proc)


#: ``--vs-tree`` metrics: key, label, and whether trees compare as a ratio (else as a
#: difference: for differences of wall times)
TREE_METRICS = (
    ("chain10_median_ms", "chain10 runs.wait median (ms)", True),
    ("chain10_p90_ms", "chain10 runs.wait p90 (ms)", True),
    ("chain10_cpu_ms_per_run_sequential", "evergraph CPU ms/run, sequential", True),
    ("runs_per_s_median", "throughput runs/s (median of repeats)", True),
    ("runs_per_s_best", "throughput runs/s (best of repeats)", True),
    ("cpu_ms_per_run_load", "evergraph CPU ms/run under load", True),
    ("par_noop_median_ms", "4 parallel no-op nodes, wall median (ms)", True),
    ("par_async_median_ms", "4 parallel async 0.2s, wall median (ms)", True),
    ("par_async_p90_ms", "4 parallel async 0.2s, wall p90 (ms)", True),
    ("par_async_over_noop_ms", "  async median - no-op median (ms)", False),
    ("par_sync_median_ms", "4 parallel sync 0.2s, wall median (ms)", True),
    ("par_sync_p90_ms", "4 parallel sync 0.2s, wall p90 (ms)", True),
    ("par_sync_over_noop_ms", "  sync median - no-op median (ms)", False),
    ("par_noop_concurrent_ms", "C concurrent 4-no-op runs, wall (ms)", True),
    ("par_async_concurrent_ms", "C concurrent 4-async runs, wall (ms)", True),
    ("par_async_concurrent_over_noop_ms", "  minus C concurrent no-op (ms)", False),
    ("par_sync_concurrent_ms", "C concurrent 4-sync runs, wall (ms)", True),
    ("par_sync_concurrent_over_noop_ms", "  minus C concurrent no-op (ms)", False),
    ("evergraph_vmhwm_mb", "peak RSS evergraph dev (MB)", True),
    ("ready_s", "start-up until ready (s)", True),
    ("other_processes_cpu_cores", "other processes' CPU (cores)", True),
)


async def bench_trees(args: argparse.Namespace) -> dict[str, Any]:
    """Compare source trees: ``--repo`` (labelled ``--name``, default ``this``) and each
    ``--vs-tree``.

    One Temporal dev server serves ``--rounds`` rounds; each round starts a fresh
    ``evergraph dev`` of each tree in turn (the order reverses every round: A B, B A,
    ...), measures it and stops it, so load from other processes and the dev server's
    growing history hit every tree alike. Per tree and round: chain10 ``runs.wait``
    latency (median, p90) and the server's CPU per run; ``--par-n`` sequential runs of
    ``par_async`` / ``par_sync`` (:data:`PARALLEL_WIDTH` parallel nodes that each wait
    :data:`PARALLEL_SLEEP` s) and of ``par_noop`` (the same fan-out of no-op nodes),
    and the wall time of ``--par-concurrency`` such runs at once, ``--repeats`` times
    (median): the waiting graphs' excess over ``par_noop`` is about
    :data:`PARALLEL_SLEEP` s when the attempts of one run, and of concurrent runs,
    overlap, and a multiple of it when they queue; ``--repeats`` throughput rounds of
    ``--concurrency`` chain10 runs and the server's CPU per run meanwhile; its peak RSS. A probe run first checks that
    the server imported its node-attempt code from the tree under test.
    """
    from evergraph.adapter.process.devserver import free_port, start_dev_server

    base = Path(args.repo).resolve()
    trees = [(args.name, base), *(parse_tree(v) for v in args.vs_tree)]
    if len({name for name, _ in trees}) != len(trees):
        raise SystemExit("--vs-tree: give every tree its own NAME (NAME=PATH)")
    tmp = Path(tempfile.mkdtemp(prefix="evergraph-bench-trees-"))
    PROCS.tmp, PROCS.keep_tmp = tmp, args.keep
    (tmp / "graphs").mkdir()
    (tmp / "graphs" / "chain10.py").write_text(CHAIN10)
    (tmp / "graphs" / "parallel.py").write_text(PARALLEL)
    config = tmp / "graphs" / "langgraph.json"
    graphs = {"chain10": "./chain10.py:graph",
              **{g: f"./parallel.py:{g}" for g in ("par_noop", "par_async", "par_sync", "probe")}}
    config.write_text(json.dumps({"dependencies": ["."], "graphs": graphs, "env": {}}))
    PROCS.dev_server = await start_dev_server(tmp / "temporal", port=free_port(), ui_port=free_port())
    address = PROCS.dev_server.address
    log(f"Temporal at {address}; trees: " + ", ".join(f"{n}={p} ({cli_module(p)})" for n, p in trees))

    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "params": {k: getattr(args, k) for k in ("rounds", "n", "warmup", "concurrency", "repeats", "par_n",
                                                 "par_concurrency")},
        "trees": {name: {"path": str(path), "module": cli_module(path), "rounds": []} for name, path in trees},
        "order": [],
    }
    for r in range(args.rounds):
        order = trees if r % 2 == 0 else trees[::-1]
        for name, path in order:
            log(f"round {r + 1}/{args.rounds}: {name}")
            res = await _tree_round(args, tmp, config, address, name, path, r)
            results["trees"][name]["rounds"].append(res)
            results["order"].append(name)
            log(f"  {name}: chain10 {res['chain10_median_ms']:.0f} ms, {res['runs_per_s_median']:.1f} runs/s, "
                f"{res['cpu_ms_per_run_load']:.0f} CPU ms/run, par async {res['par_async_median_ms']:.0f} ms, "
                f"sync {res['par_sync_median_ms']:.0f} ms, node thread {res['probe']['node_thread']}, "
                f"other CPU {res['other_processes_cpu_cores']:.2f}")
    ref = trees[1][0] if len(trees) > 1 else trees[0][0]
    results["reference"] = ref
    summ: dict[str, Any] = {}
    for key, _, as_ratio in TREE_METRICS:
        summ[key] = {}
        ref_vals = [x[key] for x in results["trees"][ref]["rounds"]]
        for name, _ in trees:
            vals = [x[key] for x in results["trees"][name]["rounds"]]
            if as_ratio:
                paired = [a / b for a, b in zip(vals, ref_vals) if b]
                versus = statistics.median(vals) / statistics.median(ref_vals) if statistics.median(ref_vals) else None
            else:
                paired = [a - b for a, b in zip(vals, ref_vals)]
                versus = statistics.median(vals) - statistics.median(ref_vals)
            summ[key][name] = {
                "min": min(vals), "max": max(vals), "median": statistics.median(vals),
                "versus": "ratio" if as_ratio else "difference",
                "versus_medians": versus,
                "versus_paired_min": min(paired) if paired else None,
                "versus_paired_max": max(paired) if paired else None,
            }
    results["summary"] = summ
    return results


def render_trees(r: dict[str, Any]) -> str:
    """The ``--vs-tree`` results: per tree the range (min-max) and median over rounds,
    and the ratio to the reference tree (the first ``--vs-tree``; a difference for the
    rows that are themselves differences): of the medians, and the range of the
    per-round ratios (round i of each tree against round i of the reference, measured
    back to back)."""
    ref = r["reference"]
    p = r["params"]
    L = [f"Trees ({p['rounds']} rounds, order {' '.join(r['order'])}); "
         f"N={p['n']} chain10, {p['concurrency']} concurrent x {p['repeats']}, parallel graphs "
         f"{p['par_n']} sequential + {p['par_concurrency']} concurrent (C) x {p['repeats']}"]
    for name, t in r["trees"].items():
        threads = sorted({x["probe"]["node_thread"] for x in t["rounds"]})
        files = sorted({f for x in t["rounds"] for f in x["probe"]["node_attempt"]})
        via = " (via links)" if any("(via links)" in f for x in t["rounds"] for f in x["probe"]["imported_as"]) else ""
        L.append(f"  {name}: {t['path']} (python -m {t['module']}); node_attempt from {', '.join(files)}{via}; "
                 f"node ran on thread {', '.join(threads)}")
    L.append("")
    names = list(r["trees"])
    head = f"{'measurement':<42}" + "".join(f"{n + ' min-max (median)':>28}" for n in names)
    others = [n for n in names if n != ref]
    head += "".join(f"{n + '/' + ref + ' (rounds)':>30}" for n in others)
    L.append(head)
    for key, label, as_ratio in TREE_METRICS:
        row = f"{label:<42}"
        for n in names:
            s = r["summary"][key][n]
            row += f"{s['min']:>11.1f}-{s['max']:<7.1f}({s['median']:.1f})".rjust(28)
        for n in others:
            s = r["summary"][key][n]
            fmt = "{:.2f}" if as_ratio else "{:+.0f} ms"
            rom = fmt.format(s["versus_medians"]) if s["versus_medians"] is not None else "-"
            pr = (f"{fmt.format(s['versus_paired_min'])} .. {fmt.format(s['versus_paired_max'])}"
                  if s["versus_paired_min"] is not None else "-")
            row += f"{rom + ' (' + pr + ')':>30}"
        L.append(row)
    L.append("")
    L.append(f"Last columns: the ratio of the medians over rounds (for '-' rows: their difference), and in brackets "
             f"the range of the per-round ratios (differences), round i against {ref}'s round i.")
    return "\n".join(L)


def add_size_arguments(p: argparse.ArgumentParser, *, n: int, warmup: int) -> None:
    """The size of each measurement, as this benchmark and ``bench_split.py`` take it:
    ``--n`` sequential runs (default ``n``) after ``--warmup`` warm-up runs (default
    ``warmup``), then ``--repeats`` throughput rounds of ``--concurrency`` runs."""
    p.add_argument("--n", type=int, default=n, help=f"sequential runs per latency measurement (default {n})")
    p.add_argument("--warmup", type=int, default=warmup,
                   help=f"warm-up runs before each latency measurement (default {warmup})")
    p.add_argument("--concurrency", type=int, default=50, help="concurrent runs per throughput round (default 50)")
    p.add_argument("--repeats", type=int, default=3, help="throughput rounds (default 3)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_size_arguments(p, n=30, warmup=5)
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--timeline", action="store_true", help="print where the time of one run goes (Temporal history)")
    p.add_argument("--marginal", action="store_true",
                   help="also measure 20-node chains: marginal per-node cost without the fixed per-run costs")
    p.add_argument("--bare-no-eager", action="store_true",
                   help="disable eager activity execution in the bare-Temporal worker")
    p.add_argument("--bare-unsandboxed", action="store_true",
                   help="run the bare-Temporal workflow outside Temporal's sandbox (as Evergraph's by default)")
    p.add_argument("--repo", default=str(_here().parent), help="Evergraph source tree to run (default: this one)")
    p.add_argument("--compare", nargs="+", metavar="NAME[:VAR=VALUE,...]",
                   help="instead of the full benchmark, compare evergraph configurations (extra environment "
                        "variables per variant) with each other and bare Temporal, measured interleaved")
    p.add_argument("--vs-tree", action="append", default=[], metavar="[NAME=]PATH",
                   help="instead of the full benchmark, compare --repo (labelled --name) with this source tree "
                        "(repeatable), "
                        "for example a git worktree of an older commit: alternating rounds, a fresh evergraph dev "
                        "per tree and round; ratios are against the first --vs-tree")
    p.add_argument("--name", default="this", help="--vs-tree: label of the --repo tree (default this)")
    p.add_argument("--rounds", type=int, default=3, help="--vs-tree: rounds per tree (default 3)")
    p.add_argument("--par-n", type=int, default=10,
                   help="--vs-tree: sequential runs of each parallel graph per round (default 10)")
    p.add_argument("--par-concurrency", type=int, default=10,
                   help="--vs-tree: concurrent runs of each parallel graph, x --repeats (default 10)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, databases)")
    args = p.parse_args(argv)
    if args.vs_tree and args.compare:
        p.error("--vs-tree and --compare are separate modes")

    atexit.register(PROCS.stop)

    def on_term(signum, frame):  # SIGTERM behaves like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        mode = bench_trees if args.vs_tree else bench_compare if args.compare else bench
        results = asyncio.run(mode(args))
    except KeyboardInterrupt:
        log("interrupted; cleaning up")
        return 130
    finally:
        PROCS.stop()
    print(render_trees(results) if args.vs_tree else render_compare(results) if args.compare else render(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
        log(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
