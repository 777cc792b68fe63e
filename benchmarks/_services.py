"""Private PostgreSQL and Redis instances on free loopback ports, as ``.ci/run``
starts them for the tests: ``initdb`` / ``pg_ctl`` (as the ``postgres`` user through
``runuser`` when running as root) and ``redis-server --daemonize``. Each returns its
URI, the pid of its main process and a function that stops it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from evergraph.adapter.process.devserver import free_port

__all__ = ["accepting", "start_postgres", "start_redis"]


def accepting(port: int, deadline: float) -> bool:
    """Poll loopback ``port`` until something accepts connections on it or the
    ``time.monotonic()`` ``deadline`` passes; whether something did."""
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def _pg_bin() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` with ``initdb``, else the
    folder of ``initdb`` on PATH.

    Raises:
        SystemExit: PostgreSQL is not installed (apt-get install postgresql).
    """
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: [int(x) if x.isdigit() else 0 for x in p.parts[-3].split(".")])
    if found:
        return found[-1].parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise SystemExit("--scale-out needs PostgreSQL (initdb, pg_ctl; e.g. apt-get install postgresql) "
                     "or --postgres-uri")


def start_postgres(folder: Path) -> tuple[str, int, Callable[[], None]]:
    """Start PostgreSQL with its data in ``folder/pg``; returns (URI, postmaster pid,
    stop). ``fsync=off`` and ``max_connections=300``, as in ``.ci/run``.

    Raises:
        subprocess.CalledProcessError: initdb, pg_ctl or createdb failed.
    """
    pg = _pg_bin()
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    as_pg: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        as_pg = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres")
        folder.chmod(0o755)
    data = folder / "pg"
    quiet = {"stdout": subprocess.DEVNULL}
    subprocess.run([*as_pg, str(pg / "initdb"), "-D", str(data), "-U", "evergraph", "--auth=trust",
                    "--locale=C.UTF-8", "-E", "UTF8"], check=True, **quiet)
    subprocess.run([*as_pg, str(pg / "pg_ctl"), "-D", str(data), "-l", str(folder / "pg.log"), "-w", "-o",
                    f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c max_connections=300 -c fsync=off",
                    "start"], check=True, **quiet)

    def stop() -> None:
        subprocess.run([*as_pg, str(pg / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)

    try:
        subprocess.run([str(pg / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "evergraph", "evergraph"],
                       check=True)
        pid = int((data / "postmaster.pid").read_text().split()[0])
    except BaseException:
        stop()
        raise
    return f"postgresql://evergraph@127.0.0.1:{port}/evergraph", pid, stop


def start_redis(folder: Path) -> tuple[str, int, Callable[[], None]]:
    """Start ``redis-server`` (no persistence) on a free port; returns (URI, pid, stop).

    Raises:
        SystemExit: redis-server is not installed (apt-get install redis-server).
        RuntimeError: it did not write its pid file within 10 s.
    """
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("--scale-out needs redis-server (apt-get install redis-server) or --redis-uri")
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    pidfile = folder / "redis.pid"
    subprocess.run([exe, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                    "--dir", str(folder), "--daemonize", "yes", "--pidfile", str(pidfile),
                    "--logfile", str(folder / "redis.log")], check=True)
    deadline = time.monotonic() + 10
    while not pidfile.is_file() or not pidfile.read_text().strip():
        if time.monotonic() > deadline:
            raise RuntimeError(f"redis-server did not start; see {folder / 'redis.log'}")
        time.sleep(0.05)
    pid = int(pidfile.read_text().split()[0])
    accepting(port, deadline)

    def stop() -> None:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    return f"redis://127.0.0.1:{port}/0", pid, stop
