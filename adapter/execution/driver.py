"""The superstep driver: LangGraph's own Pregel loop, with node execution handed to
Temporal.

A :class:`RunDriver` runs the graph's real ``Pregel.astream`` for one run in the
worker process that hosts the run's workflow. LangGraph decides everything about
graph semantics — which tasks a superstep runs, how writes apply, interrupts,
breakpoints, error handlers, what each stream mode emits, when checkpoints are
saved. Evergraph hooks in at one documented point: the config key
``__pregel_runner_submit`` (``CONFIG_KEY_RUNNER_SUBMIT``) through which
``PregelRunner`` submits every task. :meth:`RunDriver._submit` answers with a
future that resolves when the workflow reports the task's Temporal activity
finished; LangGraph's runner then commits the writes exactly as for a local task
(``put_writes`` → checkpointer).

The workflow talks to the driver through the ``advance`` local activity
(:class:`DriverRegistry.advance`): each call delivers finished tasks and returns
the tasks to start (or cancel) next, or the run's outcome. If the driver is gone
(worker restart, workflow moved to another worker), a new one is built from the
checkpoint with LangGraph's own resume path (same ``run_id``, ``input=None``): saved
pending writes are handed back to tasks that finished, so no finished node runs
again. Results for tasks it has not asked for yet are kept until it does.
See docs/architecture.md, "One run's path", steps 3 and 4.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
import uuid
from typing import Any

# LangGraph's private config keys, pinned for langgraph 1.2 (>=1.2.22,<1.3 in
# pyproject.toml); tests/test_upstream.py guards the runner-submit hook
from langgraph._internal._constants import (
    CONF,
    CONFIG_KEY_CHECKPOINT_MAP,
    CONFIG_KEY_REPLAY_STATE,
    CONFIG_KEY_RESUMING,
    CONFIG_KEY_RUNNER_SUBMIT,
    CONFIG_KEY_SCRATCHPAD,
    PULL,
    PUSH,
)
from langgraph.constants import START
from langgraph.errors import GraphInterrupt, NodeTimeoutError
from langgraph.types import PregelExecutableTask, TimeoutPolicy

from evergraph.adapter import serde
from evergraph.adapter.execution import claims
from evergraph.adapter.execution.policy import retry_spec, timeout_fields
from evergraph.adapter.records.types import ENDED_RUN_STATUSES
from evergraph.adapter.execution.runconfig import DRIVER_MODES, graph_context, run_params
from evergraph.adapter.observability import runs as run_states
from evergraph.adapter.services import Services
from evergraph.adapter.execution.streams import EventsTracer, WireEncoder
from evergraph.workflows.types import (
    AdvanceRequest,
    AdvanceResponse,
    RunInput,
    RunOutcome,
    TaskError,
    TaskResult,
    TaskSpec,
)

__all__ = ["DriverRegistry", "RunDriver", "rebuild_exception"]

logger = logging.getLogger(__name__)


def rebuild_exception(error: TaskError) -> BaseException:
    """The node's exception from a :class:`TaskError`: the original object when it
    could be packed, else an ``Exception`` subclass carrying the original class name."""
    if error.packed:
        try:
            exc = serde.unpack(error.packed)
            if isinstance(exc, BaseException):
                return exc
        except Exception:  # pragma: no cover - best effort
            pass
    cls = type(error.error, (Exception,), {"__module__": "evergraph.remote"})
    return cls(error.message)


def _json_path(path: tuple) -> list[Any] | None:
    """A task path as JSON if it is one a node attempt can rebuild, else ``None``."""
    if path and path[0] == PULL and len(path) == 2:
        return [PULL, path[1]]
    # a Send: prepared from (PUSH, idx); the task carries (PUSH, idx, False)
    if path and path[0] == PUSH and isinstance(path[1], int) and (len(path) == 2 or path[2:] == (False,)):
        return [PUSH, path[1]]
    return None


class RunDriver:
    """Runs one run's Pregel loop; see the module docstring.

    Args:
        services: process services.
        run: the run's ids.
        resume: build from the checkpoint with ``input=None`` (recovery) instead of
            the run's own input/command.
        seq: the ``advance`` sequence number this driver starts at.
    """

    def __init__(self, services: Services, run: RunInput, *, resume: bool, seq: int) -> None:
        self.services = services
        self.run = run
        self.resume = resume
        self.seq = seq
        self.last_used = time.monotonic()
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._pending: dict[str, tuple[PregelExecutableTask, asyncio.Future]] = {}
        self._specs: dict[str, TaskSpec] = {}
        self._early: dict[str, TaskResult] = {}
        self._new: list[TaskSpec] = []
        self._cancel: list[str] = []
        self._outcome: RunOutcome | None = None
        self._last_response: AdvanceResponse | None = None
        self._lock = asyncio.Lock()
        self._main_task: asyncio.Task | None = None
        self._params = None
        self._encoder: WireEncoder | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Load the run, mark it ``running``, publish the stream's ``metadata`` event
        (first start only) and start LangGraph's loop in a task.

        Raises:
            LookupError: the run's record is gone (deleted behind the API's back: the
                API cancels a run before deleting it).
        """
        records = self.services.records
        run = await records.get_run(self.run.run_id)
        if run is None:
            raise LookupError(f"run {self.run.run_id} not found")
        self._params = run_params(run, self.services.settings.default_recursion_limit)
        if run["status"] in ENDED_RUN_STATUSES:
            # finish_run already recorded its end, but the workflow task that ran it
            # timed out before completing (a local activity reaches the history only
            # then) and the replayed workflow asks again: answer with the recorded end
            # (finish_run is idempotent) instead of running the graph a second time
            self._finish(await self._recorded_outcome(run))
            return
        if run["status"] == "pending":
            await records.set_run_status(self.run.run_id, "running")
            run_states.started(self.run, run)  # its log line and metrics
        elif not self.resume and await self._checkpointed_before():
            # the first ``advance`` again, after this run already saved checkpoints: a
            # worker died before the workflow task that ran them completed (local
            # activities are recorded only then). Resume, as LangGraph does for a
            # re-entry of the same run, rather than apply the input or command again.
            self.resume = True
        # after the last step that can fail, so a retried start publishes it once
        if not self.resume:
            self.services.broker.publish(self.run.run_id, "metadata", {"run_id": self.run.run_id, "attempt": 1})
        self._main_task = asyncio.ensure_future(self._main())

    async def _recorded_outcome(self, run: dict[str, Any]) -> RunOutcome:
        """The outcome of an ended run as its records hold it (the error of a failed
        run from its thread, which keeps the last run's error)."""
        outcome = RunOutcome(status=run["status"], cancel_reason=run.get("cancel_reason"))
        if run["status"] in ("error", "timeout"):
            thread = await self.services.records.get_thread(self.run.thread_id)
            error = (thread or {}).get("error") or {}
            outcome.error, outcome.message = error.get("error"), error.get("message")
        return outcome

    async def _checkpointed_before(self) -> bool:
        """Whether the thread's latest checkpoint was saved by this run (its
        metadata's ``run_id``, which LangGraph copies from the run's config)."""
        conf = self._params.config["configurable"]
        if conf.get("checkpoint_id"):
            return False  # a run from a given checkpoint: LangGraph decides
        saved = await self.services.saver.aget_tuple(
            {"configurable": {"thread_id": self.run.thread_id, "checkpoint_ns": ""}}
        )
        return saved is not None and (saved.metadata or {}).get("run_id") == self.run.run_id

    def abort(self) -> None:
        """Stop the loop (the driver was replaced); outstanding tasks are forgotten."""
        if self._main_task is not None and not self._main_task.done():
            self._main_task.cancel()

    async def _main(self) -> None:
        p = self._params
        services = self.services
        factory_scope = contextlib.AsyncExitStack()
        try:
            # a factory's context manager stays entered for the whole run
            graph = await factory_scope.enter_async_context(
                services.registry.graph(
                    self.run.graph_id, p.config, access="threads.create_run", store=services.store,
                    context=p.context,
                )
            )
            graph = graph.copy({"checkpointer": services.saver, "store": services.store})
            config = dict(p.config)
            config["configurable"] = {
                **p.config["configurable"],
                CONFIG_KEY_RUNNER_SUBMIT: lambda: self._submit,
            }
            self._encoder = WireEncoder(p.stream_modes, p.subgraphs)
            # LangGraph modes produced in the driver, plus "custom": a waiter on the
            # stream makes the runner submit every task (its single-task fast path
            # would otherwise run the node in-process).
            modes = (self._encoder.langgraph_modes() & DRIVER_MODES) | {"custom"}
            if "events" in p.stream_modes:
                # the graph's root run, as astream_events sees it: its id is the
                # run id (node attempts parent their runs to it), its name the graph id
                tracer = EventsTracer(self._emit, root_run_id=uuid.UUID(self.run.run_id), skip_root_start=self.resume)
                config["callbacks"] = [*(config.get("callbacks") or []), tracer]
                config["run_id"] = uuid.UUID(self.run.run_id)
                # a graph that kept LangGraph's default name runs under its graph id
                # (langgraph-api 0.16.7 renames it so); a named one (e.g.
                # ``create_agent(..., name=...)``) under its own name
                config.setdefault("run_name", self.run.graph_id if graph.name == "LangGraph" else graph.name)
            if self.resume:
                graph_input: Any = None
            elif p.command is not None:
                graph_input = p.command
            else:
                graph_input = p.input
            async for chunk in graph.astream(
                graph_input,
                config,
                context=graph_context(graph, p.context),
                stream_mode=sorted(modes),
                subgraphs=True,
                interrupt_before=p.interrupt_before,
                interrupt_after=p.interrupt_after,
                durability=p.durability if p.durability in ("sync", "async") else None,
            ):
                self._publish(chunk)
            self._finish(RunOutcome(status="success"))
        except asyncio.CancelledError:
            if self._outcome is None:
                self._finish(RunOutcome(status="interrupted"))
            raise
        except BaseException as exc:  # noqa: BLE001 - every failure ends the run
            logger.info("run %s failed: %r", self.run.run_id, exc)
            services.broker.publish(
                self.run.run_id, "error", {"error": type(exc).__name__, "message": str(exc)}
            )
            self._finish(RunOutcome(status="error", error=type(exc).__name__, message=str(exc)))
        finally:
            for _task, fut in list(self._pending.values()):
                if not fut.done():
                    fut.cancel()
            try:
                await factory_scope.aclose()
            except Exception as exc:  # noqa: BLE001 - the run's outcome is already decided
                logger.info("run %s: leaving the graph factory's context failed: %r", self.run.run_id, exc)

    def _publish(self, chunk: tuple) -> None:
        """Send one ``Pregel.astream`` chunk ``(namespace, mode, data)`` as the API
        events the run asked for (:class:`adapter.execution.streams.WireEncoder`)."""
        for name, data in self._encoder.encode(chunk):
            self._emit(name, data)

    def _emit(self, name: str, data: Any) -> None:
        self.services.broker.publish(self.run.run_id, name, data)

    def _finish(self, outcome: RunOutcome) -> None:
        self._outcome = outcome
        self._changed.set()

    # ------------------------------------------------------------------ submit hook

    def _submit(self, fn, *args: Any, __name__: str | None = None, __cancel_on_exit__: bool = False,
                __reraise_on_exit__: bool = True, __next_tick__: bool = False, **kwargs: Any) -> asyncio.Future:
        """``PregelRunner``'s submit: remote tasks become Temporal activities."""
        task = args[0] if args else None
        path = _json_path(task.path) if isinstance(task, PregelExecutableTask) else None
        if path is None or task.name == START:
            # Not a node of the user's graph (LangGraph's __start__ task, which maps
            # the input onto channels, or an error-handler task): run it here, as
            # LangGraph's own executor would.
            return self._loop.create_task(fn(*args, **kwargs), context=contextvars.copy_context())
        fut: asyncio.Future = self._loop.create_future()
        early = self._early.pop(task.id, None)
        if early is not None:
            self._resolve(task, fut, early)
            return fut
        spec = self._spec(task, path)
        self._pending[task.id] = (task, fut)
        self._specs[task.id] = spec
        fut.add_done_callback(lambda f, tid=task.id: self._on_done(tid, f))
        self._new.append(spec)
        self._changed.set()
        return fut

    def _on_done(self, task_id: str, fut: asyncio.Future) -> None:
        if fut.cancelled() and task_id in self._pending:
            del self._pending[task_id]
            self._cancel.append(task_id)
            self._changed.set()

    def _spec(self, task: PregelExecutableTask, path: list[Any]) -> TaskSpec:
        conf = task.config[CONF]
        checkpoint_id = conf[CONFIG_KEY_CHECKPOINT_MAP][""]
        scratchpad = conf[CONFIG_KEY_SCRATCHPAD]
        policy = TimeoutPolicy.coerce(task.timeout) if task.timeout is not None else None
        run_timeout, idle_timeout, refresh_on = timeout_fields(policy)
        return TaskSpec(
            task_id=task.id,
            name=task.name,
            path=path,
            checkpoint_id=checkpoint_id,
            step=scratchpad.step,
            stop=scratchpad.stop,
            activity_type=f"{self.run.graph_id}.{task.name}",
            run_timeout=run_timeout,
            idle_timeout=idle_timeout,
            refresh_on=refresh_on,
            retry=retry_spec(task.retry_policy),
            resuming=bool(conf.get(CONFIG_KEY_RESUMING)),
            replay_checkpoint_id=getattr(conf.get(CONFIG_KEY_REPLAY_STATE), "checkpoint_id", None),
            # a node without TimeoutPolicy has no timeout for the server to enforce
            local=policy is None and self.services.settings.node_activities == "local",
        )

    def _resolve(self, task: PregelExecutableTask, fut: asyncio.Future, result: TaskResult) -> None:
        if fut.done():
            return
        writes = serde.unpack(result.writes) if result.writes else []
        task.writes.clear()
        task.writes.extend(tuple(w) for w in writes)
        if result.interrupts:
            fut.set_exception(GraphInterrupt(tuple(serde.unpack(result.interrupts))))
        elif result.timeout_kind:
            policy = TimeoutPolicy.coerce(task.timeout) if task.timeout is not None else None
            fut.set_exception(
                NodeTimeoutError(
                    task.name,
                    result.elapsed or 0.0,
                    kind=result.timeout_kind,  # type: ignore[arg-type]
                    idle_timeout=policy.idle_timeout if policy else None,
                    run_timeout=policy.run_timeout if policy else None,
                )
            )
        elif result.error is not None:
            fut.set_exception(rebuild_exception(result.error))
        else:
            fut.set_result(None)

    # ------------------------------------------------------------------ advance

    def _deliver(self, result: TaskResult) -> None:
        entry = self._pending.pop(result.task_id, None)
        if entry is None:
            if result.task_id not in self._specs:
                # asked for by a previous driver of this run: keep until submitted
                self._early[result.task_id] = result
            return
        task, fut = entry
        self._resolve(task, fut, result)

    async def _settle(self) -> None:
        """Let the loop react to delivered results (commit writes, cancel siblings,
        schedule error handlers) before answering with nothing new."""
        for _ in range(3):
            for _ in range(8):
                if self._new or self._cancel or self._outcome is not None:
                    return
                await asyncio.sleep(0)
            await self.services.saver.drain()

    async def commit_local(self, result: TaskResult) -> None:
        """Hand a local node attempt's result to LangGraph's loop at once and wait
        until its writes are saved (``put_writes`` through the checkpointer), before
        the local activity completes: its result reaches Temporal's history only when
        the workflow task completes, so a worker killed in between must find the
        writes in the checkpoint (LangGraph's resume path then hands them back and
        the node does not run again). The workflow's later ``advance`` carrying the
        same result finds the task delivered and skips it. A task the loop no longer
        waits for (cancelled meanwhile) is left alone."""
        async with self._lock:
            if result.task_id not in self._pending:
                return
            self._deliver(result)
            for _ in range(8):  # the runner commits in the future's done callback
                await asyncio.sleep(0)
            await self.services.saver.drain()

    async def advance(self, seq: int, results: list[TaskResult]) -> AdvanceResponse:
        """Deliver ``results`` and wait for the next thing the workflow must do.

        Args:
            seq: the workflow's ``advance`` number; the previous number again (a
                retried local activity) returns the previous answer unchanged.
            results: tasks that finished since the previous ``advance``.

        Returns:
            Tasks to start, tasks to cancel, or (with no task to start) the run's
            outcome.
        """
        async with self._lock:
            self.last_used = time.monotonic()
            if seq == self.seq - 1 and self._last_response is not None:
                return self._last_response  # local activity retried
            for result in results:
                self._deliver(result)
            while True:
                if self._new or self._cancel:
                    break
                if self._outcome is not None:
                    break
                if self._pending:
                    await self._settle()
                    break
                self._changed.clear()
                if self._new or self._cancel or self._outcome is not None:
                    break
                await self._changed.wait()
            if self._outcome is not None and self._main_task is not None:
                # asyncio.wait, not gather: a cancelled advance (Temporal cancels a
                # local activity whose workflow task timed out) must not cancel the
                # loop while it leaves the graph (its last saves)
                await asyncio.wait([self._main_task])
            # node attempts read the checkpoint and writes these tasks depend on
            await self.services.saver.drain()
            response = AdvanceResponse(
                tasks=self._new,
                cancel=self._cancel,
                outcome=self._outcome if not self._new else None,
            )
            self._new, self._cancel = [], []
            self._changed.clear()
            self.seq = seq + 1
            self._last_response = response
            return response


class DriverRegistry:
    """The drivers of the runs whose workflows this worker process hosts.

    Args:
        services: process services.
        idle_limit: seconds after which a driver that received no ``advance`` is
            dropped (its workflow moved to another worker).
    """

    def __init__(self, services: Services, idle_limit: float = 900.0) -> None:
        self.services = services
        self.idle_limit = idle_limit
        self._drivers: dict[str, RunDriver] = {}

    def _gc(self) -> None:
        cutoff = time.monotonic() - self.idle_limit
        for run_id, d in list(self._drivers.items()):
            if d.last_used < cutoff:
                d.abort()
                del self._drivers[run_id]

    async def advance(self, req: AdvanceRequest) -> AdvanceResponse:
        """Serve the ``advance`` local activity for ``req.run``: the run's driver (a
        new one, rebuilt from the checkpoint, when this worker has none for
        ``req.seq``) answers; see :meth:`RunDriver.advance`.

        Raises:
            LookupError: the run's record is gone (see :meth:`RunDriver.start`).
        """
        self._gc()
        run_id = req.run.run_id
        driver = self._drivers.get(run_id)
        if driver is not None and req.seq not in (driver.seq, driver.seq - 1):
            driver.abort()
            driver = None
        if driver is None:
            driver = RunDriver(self.services, req.run, resume=req.seq > 0, seq=req.seq)
            await driver.start()
            # only once started: a retried advance after a failed start builds a new one
            self._drivers[run_id] = driver
        # writes and interrupts sent by reference (claims.py), read back once accepted
        results = [await claims.resolve_result(self.services.records, r) for r in req.results]
        response = await driver.advance(req.seq, results)
        if response.outcome is not None:
            self._drivers.pop(run_id, None)
            claims.slim_outcome(response.outcome, self.services.settings.claim_check_bytes)
        return response

    async def commit_local(self, run_id: str, result: TaskResult) -> None:
        """See :meth:`RunDriver.commit_local`; nothing happens when this worker has no
        driver for ``run_id`` (the workflow's ``advance`` then delivers the result)."""
        driver = self._drivers.get(run_id)
        if driver is None:
            return
        try:
            result = await claims.resolve_result(self.services.records, result)
            await driver.commit_local(result)
        except Exception as exc:  # noqa: BLE001 - the workflow's advance delivers it again
            logger.warning("run %s: early commit of task %s failed: %r", run_id, result.task_id, exc)

    def cancel(self, run_id: str) -> None:
        """Drop the driver of a cancelled run."""
        driver = self._drivers.pop(run_id, None)
        if driver is not None:
            driver.abort()

