"""Starting the servers the side-by-side benchmark compares, through their command
lines only: ``langgraph dev`` from a venv of its own (``langgraph-cli[inmem]``) and
``evergraph dev`` / ``serve`` / ``worker`` from Evergraph's venv, all serving one
generated project; and the official ``langgraph_sdk`` client that talks to them.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

import _proctree
from bench_runs import chain_source, log, stop_process

__all__ = [
    "Server",
    "concurrent",
    "ensure_ref_venv",
    "evergraph_bin",
    "machine_info",
    "parse_env",
    "sdk_client",
    "start_evergraph",
    "start_langgraph_dev",
    "wait_http_ok",
    "write_project",
]

NODES = 10

APPROVAL = textwrap.dedent(
    '''
    """Benchmark graph: one node that waits on interrupt() and then records the answer."""
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph
    from langgraph.types import interrupt


    class State(TypedDict, total=False):
        request: str
        answer: str


    async def ask(state: State) -> dict:
        return {"answer": interrupt({"question": "Approve?", "request": state.get("request")})}


    graph = StateGraph(State).add_node("ask", ask).add_edge(START, "ask").add_edge("ask", END).compile()
    '''
)


def write_project(folder: Path) -> Path:
    """Write the benchmark project into ``folder``: ``chain10.py`` (10 trivial async
    nodes in a row), ``approval.py`` (one node waiting on ``interrupt()``) and a
    ``langgraph.json`` serving them as ``chain10`` and ``approval``. Returns the path
    of the ``langgraph.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "chain10.py").write_text(chain_source(NODES))
    (folder / "approval.py").write_text(APPROVAL)
    config = folder / "langgraph.json"
    config.write_text(json.dumps({
        "dependencies": ["."],
        "graphs": {"chain10": "./chain10.py:graph", "approval": "./approval.py:graph"},
        "env": {},
    }, indent=2))
    return config


def evergraph_bin(venv: str | None) -> Path:
    """The ``evergraph`` command of ``venv`` (default: this interpreter's venv).

    Raises:
        SystemExit: there is none.
    """
    path = (Path(venv) / "bin" / "evergraph") if venv else Path(sys.executable).parent / "evergraph"
    if not path.is_file():
        raise SystemExit(f"no evergraph command at {path} (--evergraph-venv)")
    return path


def parse_env(items: list[str]) -> dict[str, str]:
    """``VAR=VALUE`` items -> dict.

    Raises:
        SystemExit: an item without ``=``.
    """
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--evergraph-env {item!r}: expected VAR=VALUE")
        out[key] = value
    return out


# --------------------------------------------------------------------------- ref venv


def default_ref_venv() -> Path:
    """``$XDG_CACHE_HOME/evergraph-bench/ref-venv`` (default ``~/.cache/...``)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "evergraph-bench" / "ref-venv"


def ensure_ref_venv(path: Path | None) -> Path:
    """A venv with ``langgraph-cli[inmem]`` (the ``langgraph dev`` command): ``path``
    if given (it must have ``bin/langgraph``), else the cached one, created with
    ``python -m venv`` and ``pip install 'langgraph-cli[inmem]'`` on first use.

    Raises:
        SystemExit: ``path`` has no ``bin/langgraph``, or the installation failed.
    """
    if path is not None:
        if not (path / "bin" / "langgraph").is_file():
            raise SystemExit(f"--ref-venv {path}: no bin/langgraph there (pip install 'langgraph-cli[inmem]')")
        return path
    venv = default_ref_venv()
    if (venv / "bin" / "langgraph").is_file() and (venv / ".complete").is_file():
        return venv
    log(f"installing langgraph-cli[inmem] into {venv} (once; reused by later runs)")
    venv.parent.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", "langgraph-cli[inmem]"], check=True)
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"could not install langgraph-cli[inmem] into {venv}: {exc}") from None
    (venv / ".complete").write_text("ok\n")
    return venv


def package_versions(python: Path, names: list[str]) -> dict[str, str]:
    """Versions of ``names`` as installed for interpreter ``python`` (``?`` if missing)."""
    code = ("import importlib.metadata as m, json, sys\n"
            "out = {}\n"
            "for n in sys.argv[1:]:\n"
            "    try: out[n] = m.version(n)\n"
            "    except m.PackageNotFoundError: out[n] = '?'\n"
            "print(json.dumps(out))")
    try:
        return json.loads(subprocess.run([str(python), "-c", code, *names], capture_output=True, text=True,
                                         check=True).stdout)
    except (subprocess.CalledProcessError, json.JSONDecodeError, OSError):
        return {n: "?" for n in names}


def machine_info(ref_venv: Path, evergraph_bin: Path) -> dict[str, object]:
    """Cores, CPU model, memory, Python and the versions of both servers."""
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_mb = 0
    try:
        mem_mb = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    except (OSError, IndexError, ValueError):
        pass
    eg_python = evergraph_bin.parent / "python"
    temporal = evergraph_bin.parent / "temporal"
    try:
        temporal_version = subprocess.run([str(temporal), "--version"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        temporal_version = "?"
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "mem_mb": mem_mb,
        "platform": platform.platform(),
        "python_benchmark": platform.python_version(),
        "langgraph_dev": package_versions(ref_venv / "bin" / "python",
                                          ["langgraph-cli", "langgraph-api", "langgraph-runtime-inmem", "langgraph"]),
        "evergraph": package_versions(eg_python, ["evergraph", "langgraph", "temporalio"]),
        "temporal_cli": temporal_version,
    }


# --------------------------------------------------------------------------- servers


@dataclass
class Server:
    """A started server: its process group leader, URL and log file."""

    name: str
    proc: subprocess.Popen
    url: str
    log_path: Path
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        """SIGTERM its process group (SIGKILL after 15 s)."""
        stop_process(self.proc)

    def log_tail(self, n: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""


def _clean_env(drop_prefixes: tuple[str, ...]) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(drop_prefixes)}


def start_langgraph_dev(ref_venv: Path, project: Path, port: int, log_dir: Path) -> Server:
    """``langgraph dev --no-browser --port <port>`` (otherwise its defaults) in
    ``project``, from ``ref_venv``; its own process group."""
    env = _clean_env(("LANGGRAPH_", "LANGSMITH_", "LANGCHAIN_"))
    env["LANGGRAPH_CLI_NO_ANALYTICS"] = "1"  # no network calls from the CLI itself
    log_path = log_dir / "langgraph-dev.log"
    proc = subprocess.Popen(
        [str(ref_venv / "bin" / "langgraph"), "dev", "--no-browser", "--port", str(port)],
        cwd=str(project), env=env, stdout=open(log_path, "wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    return Server("langgraph dev", proc, f"http://127.0.0.1:{port}", log_path)


def start_evergraph(
    evergraph_bin: Path, command: str, project: Path, log_path: Path, port: int | None = None,
    env_extra: dict[str, str] | None = None, clean: bool = True, repo: Path | None = None,
) -> Server:
    """``evergraph <command> [--port <port>]`` (``dev``, ``serve`` or ``worker``) in
    ``project``; its own process group. With ``clean`` the ``EVERGRAPH_*`` and
    ``TEMPORAL_*`` variables of this environment are dropped (the server's defaults),
    then ``env_extra`` is applied. With ``repo`` the code comes from that source tree
    (``python -m <its CLI module>`` of the same venv), for example a snapshot of a
    commit while the checkout is being edited."""
    env = _clean_env(("EVERGRAPH_", "TEMPORAL_")) if clean else dict(os.environ)
    env.update(env_extra or {})
    args = [str(evergraph_bin), command, "--config", str(project / "langgraph.json")]
    if repo is not None:
        # a pinned source tree (bench_runs.py --repo): its CLI module, its layers first
        # on PYTHONPATH (through links when the venv's editable install maps elsewhere)
        from bench_runs import cli_module, tree_pythonpath

        path = tree_pythonpath(repo, log_path.parent)
        env["PYTHONPATH"] = os.pathsep.join(path + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        args = [str(evergraph_bin.parent / "python"), "-m", cli_module(repo), *args[1:]]
    if port is not None:
        args += ["--port", str(port)]
    proc = subprocess.Popen(args, cwd=str(project), env=env, stdout=open(log_path, "wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}" if port is not None else ""
    return Server(f"evergraph {command}", proc, url, log_path)


async def wait_http_ok(server: Server, timeout: float = 120.0, ready_line: str | None = None) -> float:
    """Wait until ``GET <url>/ok`` answers 200 (and, if given, ``ready_line`` is in the
    log); returns the seconds it took.

    Raises:
        RuntimeError: the process exited, or not ready within ``timeout`` seconds
            (the message carries the log's tail).
    """
    t0 = time.monotonic()
    async with httpx.AsyncClient() as http:
        while time.monotonic() - t0 < timeout:
            if server.proc.poll() is not None:
                raise RuntimeError(f"{server.name} exited with {server.proc.returncode}:\n{server.log_tail()}")
            if ready_line is None or ready_line in server.log_tail(100_000):
                if not server.url:
                    return time.monotonic() - t0
                try:
                    if (await http.get(f"{server.url}/ok", timeout=2)).status_code == 200:
                        return time.monotonic() - t0
                except httpx.HTTPError:
                    pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{server.name} not ready within {timeout:g}s:\n{server.log_tail()}")


def temporal_address_of(server: Server) -> str:
    """The Temporal frontend ``host:port`` that ``evergraph dev`` uses: from its
    ``Temporal address:`` line, else from the ``--ip``/``--port`` of the ``temporal``
    process in its tree.

    Raises:
        RuntimeError: neither is found.
    """
    m = re.search(r"Temporal address: (\S+)", server.log_tail(100_000))
    if m:
        return m.group(1)
    for pid in _proctree.tree(server.pid):
        args = _proctree.cmdline(pid)
        if _proctree.classify(pid, server.pid) == "temporal" and "--port" in args:
            ip = args[args.index("--ip") + 1] if "--ip" in args else "127.0.0.1"
            return f"{ip}:{args[args.index('--port') + 1]}"
    raise RuntimeError(f"cannot tell which Temporal server {server.name} uses:\n{server.log_tail()}")


def sdk_client(url: str, timeout: float = 900.0):
    """The official ``langgraph_sdk`` async client for ``url``, with a connection pool
    large enough for every concurrent request of the benchmark (the SDK's default
    httpx pool holds 100 connections, so 200 concurrent runs would otherwise queue in
    the client and time out after 5 s)."""
    from langgraph_sdk import get_client
    from langgraph_sdk.client import LangGraphClient

    default = get_client(url=url, api_key=None)
    http = httpx.AsyncClient(
        base_url=url,
        transport=httpx.AsyncHTTPTransport(
            retries=5, limits=httpx.Limits(max_connections=2000, max_keepalive_connections=2000)
        ),
        timeout=httpx.Timeout(timeout),
        headers=default.http.client.headers,
    )
    return LangGraphClient(http)


def stop_all(servers: list[Server]) -> None:
    """Stop every server (each its whole process group)."""
    for s in servers:
        try:
            s.stop()
        except Exception as exc:  # noqa: BLE001 - best effort at exit
            log(f"stopping {s.name}: {exc!r}")


def kill_group(pid: int) -> None:
    """SIGKILL a process group (last resort)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


async def concurrent(fn, n: int) -> tuple[float, int]:
    """Run ``fn`` ``n`` times at once; returns (wall seconds, failures)."""
    t0 = time.perf_counter()
    res = await asyncio.gather(*(fn() for _ in range(n)), return_exceptions=True)
    wall = time.perf_counter() - t0
    errors = [r for r in res if isinstance(r, BaseException)]
    if errors:
        log(f"  {len(errors)} of {n} runs failed, e.g. {errors[0]!r}")
    return wall, len(errors)
