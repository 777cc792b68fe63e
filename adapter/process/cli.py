"""The ``evergraph`` command.

* ``evergraph dev [--config langgraph.json] [--port 2024] [--host 127.0.0.1]``: the
  embedded default in one process — a Temporal dev server (unless ``TEMPORAL_ADDRESS``
  is set), a worker and the API, all data under one folder (``EVERGRAPH_DATA_DIR``,
  default ``.evergraph`` beside the ``langgraph.json``).
* ``evergraph serve``: the API only; ``evergraph worker``: the worker only. Both read
  the environment variables of :class:`adapter.process.settings.Settings`.

Start-up problems (bad settings, a graph that does not load, an unreachable Temporal)
stop the process with one clear line and exit code 2.

This module is the composition root: the one place that starts the API (``api/``)
beside the worker (docs/architecture.md, "The layers").
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys
import time
from contextlib import AsyncExitStack
from typing import Any
from pathlib import Path

import httpx
import uvicorn

from evergraph.adapter.broker.memory import MemoryBroker
from evergraph.adapter.broker.sqlite import SqliteBroker
from evergraph.adapter.graphs.checkpoint import open_checkpointer, open_postgres_checkpointer
from evergraph.adapter.graphs.config import ConfigError, load_config
from evergraph.adapter.graphs.registry import GraphLoadError, GraphRegistry, load_registry
from evergraph.adapter.graphs.store import open_store
from evergraph.adapter.observability import startup as observability, tracing
from evergraph.adapter.observability.metrics import register_stream_memory
from evergraph.adapter.process.devserver import DevServerError, port_is_free, start_dev_server
from evergraph.adapter.process.settings import Settings, SettingsError
from evergraph.adapter.process.temporal import build_worker, connect, ensure_search_attributes
from evergraph.adapter.records.sqlite import SqliteRecords
from evergraph.adapter.resources.assistants import ensure_system_assistants
from evergraph.adapter.resources.ttl import ensure_sweep_schedule
from evergraph.adapter.services import Services
from evergraph.api.app import create_server_app, load_custom_app

__all__ = ["main", "open_services"]

log = logging.getLogger("evergraph")


async def open_services(
    settings: Settings, registry: GraphRegistry, stack: AsyncExitStack, broker_kind: str
) -> Services:
    """Open records, checkpointer and broker around the loaded graphs.

    Records and checkpoints go to PostgreSQL when ``EVERGRAPH_DATABASE_URI`` is a
    ``postgresql://`` URI, else to SQLite files; streams go to Redis when
    ``EVERGRAPH_REDIS_URI`` is set, else to ``broker_kind``.

    Args:
        settings: validated settings.
        registry: the loaded :class:`~adapter.graphs.registry.GraphRegistry`.
        stack: closes what is opened here.
        broker_kind: ``"memory"`` (API and worker in this process) or ``"sqlite"``
            (API and worker in different processes on one machine).

    Returns:
        The process's services (no Temporal client yet).

    Raises:
        ConfigError: ``store.index.embed`` cannot be loaded.
        Exception: a database or Redis that cannot be opened raises its driver's
            error (e.g. ``psycopg_pool.PoolTimeout``, ``redis.ConnectionError``).
    """
    loop = asyncio.get_running_loop()
    if settings.uses_postgres:
        # deferred: the Postgres backend (psycopg) is opt-in, EVERGRAPH_DATABASE_URI
        from evergraph.adapter.records.postgres import PostgresRecords

        records = await PostgresRecords(settings.database_uri).open()
        stack.push_async_callback(records.close)
        saver = await open_postgres_checkpointer(settings.database_uri, stack)
        local_dir = settings.data_dir
    else:
        records = await SqliteRecords(settings.sqlite_path).open()
        stack.push_async_callback(records.close)
        saver = await open_checkpointer(settings.sqlite_path.with_name("checkpoints.sqlite"), stack)
        local_dir = settings.sqlite_path.parent
    if settings.redis_uri:
        # deferred: the Redis broker (redis-py) is opt-in, EVERGRAPH_REDIS_URI
        from evergraph.adapter.broker.redis import RedisBroker

        broker = await RedisBroker(settings.redis_uri, loop).open()
        stack.push_async_callback(broker.close)
    elif broker_kind == "memory":
        # events past each run's replay window go to a file in the data folder
        broker = MemoryBroker(loop, spill_path=local_dir / "stream-spill.sqlite")
        stack.callback(broker.close)
        register_stream_memory(broker.events_held)  # evergraph_stream_events_in_memory
    else:
        broker = await SqliteBroker(local_dir / "streams.sqlite", loop).open()
        stack.push_async_callback(broker.close)
    store = await open_store(settings, registry.config.store, stack)
    services = Services(
        settings=settings, registry=registry, records=records, saver=saver, broker=broker, store=store
    )
    await ensure_system_assistants(services)
    return services


async def _serve_api(
    services: Services, settings: Settings, started: asyncio.Event | None = None, dev: bool = False
) -> None:
    """Serve the API (and ``langgraph.json`` ``http.app``) until cancelled.

    Args:
        dev: ``evergraph dev`` (CORS answers Chrome's Private Network Access).

    Raises:
        ConfigError: ``http.app`` or ``auth.path`` cannot be loaded.
        DevServerError: the server stopped before it started (e.g. the custom app's
            lifespan raised; uvicorn logged why).
    """
    served = create_server_app(services, dev=dev)
    config = uvicorn.Config(
        served.app,
        host=settings.host,
        port=settings.port,
        # uvicorn's loggers (access log included) propagate to the root handler of
        # adapter/observability/logs.py: its format, level and secret filter
        log_config=None,
        log_level=None,
        # only a custom app (http.app) has a lifespan to run
        lifespan="on" if served.lifespan else "off",
        timeout_graceful_shutdown=3,
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # signals are handled by _main

    async def serve() -> None:
        try:
            await server.serve()
        except SystemExit:  # uvicorn's answer to a failed start-up (the lifespan raised)
            if server.started:
                raise

    task = asyncio.ensure_future(serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.05)
    if started is not None:
        started.set()
    if task.done() and not server.started:
        task.result()  # re-raises what ended it
        raise DevServerError("the API did not start (http.app's lifespan failed? see the error above)")
    try:
        # shielded: cancelling this coroutine must let uvicorn shut down gracefully
        # (and run http.app's lifespan shut-down), not cancel it mid-way
        await asyncio.shield(task)
    except asyncio.CancelledError:
        server.should_exit = True
        await asyncio.shield(task)
        raise


async def _api_answers(settings: Settings, tasks: list[asyncio.Future], timeout: float = 30.0) -> None:
    """Return once ``GET /ok`` of the API just started answers 200, so ``Ready.`` is
    printed only for an API that serves.

    Args:
        settings: the API's host and port.
        tasks: the process's tasks (API, worker); one that ended re-raises its error.
        timeout: seconds to wait for the answer.

    Raises:
        RuntimeError: no 200 from ``/ok`` within ``timeout`` seconds.
    """
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "") else ("[::1]" if settings.host == "::" else settings.host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    url = f"http://{host}:{settings.port}/ok"
    deadline = time.monotonic() + timeout
    last: object = None
    async with httpx.AsyncClient(timeout=5.0) as http:
        while time.monotonic() < deadline:
            for task in tasks:
                if task.done():
                    task.result()  # re-raises what ended it
                    raise RuntimeError("the API stopped before it answered")
            try:
                response = await http.get(url)
                if response.status_code == 200:
                    return
                last = f"status {response.status_code}"
            except httpx.HTTPError as exc:
                last = exc
            await asyncio.sleep(0.05)
    raise RuntimeError(f"the API did not answer GET {url} within {timeout:g} s ({last})")


async def _main(command: str, settings: Settings, registry: GraphRegistry) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async with AsyncExitStack() as stack:
        dev_server = None
        address = settings.temporal_address
        if command == "dev" and address is None:
            dev_server = await start_dev_server(settings.data_dir / "temporal", host="127.0.0.1")
            stack.callback(dev_server.stop)
            address = dev_server.address
        try:
            runtime = observability.runtime_for(settings, command, registry.config.http)
            client = await connect(settings, address, runtime=runtime)
            await ensure_search_attributes(client)
        except Exception as exc:
            raise DevServerError(
                f"cannot use Temporal at {address or '127.0.0.1:7233'} (TEMPORAL_ADDRESS, namespace "
                f"{settings.temporal_namespace!r}): {exc}"
            ) from None
        try:
            # langgraph.json checkpointer.ttl: the Schedule that sweeps expired threads
            await ensure_sweep_schedule(client, settings, registry.config.thread_ttl)
        except Exception as exc:
            raise DevServerError(f"cannot write the thread TTL sweep Schedule (checkpointer.ttl): {exc}") from None
        try:
            services = await open_services(settings, registry, stack, "memory" if command == "dev" else "sqlite")
        except Exception as exc:
            if not (settings.uses_postgres or settings.redis_uri):
                raise
            raise DevServerError(
                f"cannot open Postgres/Redis (EVERGRAPH_DATABASE_URI, EVERGRAPH_REDIS_URI): {type(exc).__name__}: {exc}"
            ) from None
        services.temporal = client

        tasks = []
        worker = None
        if command in ("dev", "worker"):
            worker = build_worker(client, services)
            observability.start_worker_metrics(settings, stack)  # EVERGRAPH_WORKER_METRICS_PORT
            tasks.append(asyncio.ensure_future(worker.run()))
        api_started = asyncio.Event()
        if command in ("dev", "serve"):
            tasks.append(asyncio.ensure_future(_serve_api(services, settings, api_started, dev=command == "dev")))
            try:
                await asyncio.wait([asyncio.ensure_future(api_started.wait()), *tasks], return_when=asyncio.FIRST_COMPLETED)
                await _api_answers(settings, tasks)
            except BaseException:
                # the API did not come up (or the worker stopped first): stop the worker
                # as on shut-down, else the process hangs in it instead of exiting
                await _stop_tasks(tasks, worker)
                raise
        if command in ("dev", "serve"):
            print(f"Evergraph API: http://{settings.host}:{settings.port}", flush=True)
            authenticated = bool(settings.api_keys) or bool(registry.config.auth and registry.config.auth.path)
            if settings.host not in ("127.0.0.1", "localhost", "::1") and not authenticated:
                print(
                    f"WARNING: the API listens on {settings.host}, a non-loopback address, without authentication: "
                    "anyone who can reach it can use it. Set EVERGRAPH_API_KEYS or langgraph.json auth.path.",
                    flush=True,
                )
        if dev_server is not None:
            print(f"Temporal UI: {dev_server.ui_url}/namespaces/{settings.temporal_namespace}/workflows", flush=True)
            print(f"Temporal address: {address}", flush=True)
        if worker is not None:
            print(f"Worker polling task queue {settings.task_queue!r} on {address}", flush=True)
        freeze_startup_heap()
        print("Ready.", flush=True)
        stopper = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            if t is not stopper and t.exception() is not None:
                await _stop_tasks(tasks, worker)
                raise t.exception()
        print("Shutting down…", flush=True)
        await _stop_tasks(tasks, worker)


def freeze_startup_heap() -> None:
    """Collect the garbage of start-up, then move every object still alive (imported
    modules, loaded graphs, pydantic models: most of the process's heap) into the
    garbage collector's permanent generation (``gc.freeze``, Python's ``gc`` module).

    A full collection then scans only the objects made since. Without it, each full
    collection walks the whole start-up heap: on ``evergraph dev`` serving a 10-node
    graph with tracing on, about 100 ms with the event loop stopped, against about
    17 ms frozen (2-core machine; README "Observability: traces", **Cost**).
    Frozen objects are never collected as cycles; they are the process's lifelong
    ones. Call it once, when the process is up.
    """
    gc.collect()
    gc.freeze()


async def _stop_tasks(tasks: list[asyncio.Future], worker: Any) -> None:
    """Cancel the process's tasks (API, worker) and shut the Temporal worker down;
    waits for all of them. Their errors are left to the caller."""
    for t in tasks:
        t.cancel()
    if worker is not None:
        try:
            await worker.shutdown()
        except Exception as exc:  # noqa: BLE001 - a worker that never started cannot shut down
            log.debug("worker shut-down: %r", exc)
    await asyncio.gather(*tasks, return_exceptions=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evergraph", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_ in (
        ("dev", "Temporal dev server + worker + API in one process (embedded default)"),
        ("serve", "API only (production)"),
        ("worker", "worker only (production)"),
    ):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--config", help="path of langgraph.json (env EVERGRAPH_CONFIG; default ./langgraph.json)")
        if name != "worker":
            p.add_argument("--port", type=int, help="API port (env EVERGRAPH_PORT; default 2024)")
            p.add_argument("--host", help="API host (env EVERGRAPH_HOST; default 127.0.0.1)")
        p.add_argument("--data-dir", help="folder for local data (env EVERGRAPH_DATA_DIR)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``evergraph`` command; returns the exit code (0). Start-up
    errors print a message and end the process with exit code 2."""
    args = _parser().parse_args(argv)
    try:
        env = dict(os.environ)
        if args.config:
            env["EVERGRAPH_CONFIG"] = args.config
        if getattr(args, "port", None):
            env["EVERGRAPH_PORT"] = str(args.port)
        if getattr(args, "host", None):
            env["EVERGRAPH_HOST"] = args.host
        if args.data_dir:
            env["EVERGRAPH_DATA_DIR"] = args.data_dir
        elif not env.get("EVERGRAPH_DATA_DIR"):
            config_path = Path(env.get("EVERGRAPH_CONFIG") or "langgraph.json")
            env["EVERGRAPH_DATA_DIR"] = str(config_path.resolve().parent / ".evergraph")
        settings = Settings.from_env(env)
        observability.configure_logging(settings)  # EVERGRAPH_LOG_FORMAT, EVERGRAPH_LOG_LEVEL
        if not settings.config_path.is_file():
            raise ConfigError(f"langgraph.json not found: {settings.config_path.resolve()} (use --config)")
        # import every graph before starting anything: a broken graph stops here
        registry = load_registry(load_config(settings.config_path))
        # OpenTelemetry traces, when OTEL_* asks for them (langgraph.json env counts)
        tracing.configure(command=args.command)
        if args.command in ("dev", "serve") and registry.config.http.app:
            load_custom_app(registry.config.http)  # langgraph.json http.app: a broken app stops here too
        if args.command in ("dev", "serve"):
            if not port_is_free(settings.port, settings.host):
                raise SettingsError(f"port {settings.port} on {settings.host} is already in use (use --port)")
        if args.command == "dev":
            # the server's own URL, which runs see as metadata langgraph_api_url (as
            # under ``langgraph dev``); an operator's value wins
            os.environ.setdefault("LANGGRAPH_API_URL", f"http://{settings.host}:{settings.port}")
        try:
            asyncio.run(_main(args.command, settings, registry))
        finally:
            tracing.shutdown()  # exports the spans still batched
    except (SettingsError, ConfigError, GraphLoadError, DevServerError) as exc:
        print(f"evergraph: {exc}", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        # the Temporal SDK's runtime threads may still be writing when the interpreter
        # shuts down, which can abort it (SIGABRT) instead of exiting with our code
        os._exit(2)
    except KeyboardInterrupt:
        return 0
    except Exception as exc:  # anything else that stopped the process: its error, exit code 1
        import traceback

        traceback.print_exc()
        print(f"evergraph: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)  # as above: not through the interpreter's shut-down
    return 0


if __name__ == "__main__":
    sys.exit(main())
