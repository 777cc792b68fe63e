"""Long-lived event loops that run node code.

Users write graphs for a server that runs every node on one long-lived asyncio loop
(as ``langgraph dev`` does): a module-level ``ChatOpenAI`` keeps one pooled
``httpx.AsyncClient`` whose keep-alive connections belong to the loop of their first
call; module-level ``AsyncOpenAI`` clients, connection pools and ``asyncio.Semaphore``
rate limiters bind to a loop the same way. So every node attempt of this process runs
on **the node loop**: one asyncio loop in a daemon thread of its own, never closed
while the process lives, and separate from the worker's loop (workflows, pollers and
heartbeats), so a node that blocks cannot stall Temporal's side of the worker.

Sync nodes run off the node loop, as LangGraph runs them (``run_in_executor`` on the
loop's default executor, here a pool of :data:`SYNC_NODE_THREADS` threads).

**A node that blocks the node loop** (``time.sleep`` in an async node) stalls every
attempt on it, as it would stall ``langgraph dev``. Evergraph bounds that stall by the
blocking node's own timeout: while the loop is stalled, the other attempts on it
count as starved, not idle (they keep heartbeating); when the blocking attempt's
timeout fires while it still holds the loop, the loop is *retired*: a new node loop
takes its place for every later attempt, and each starved attempt of the retired loop
is started again on the new one (its first start can no longer write or stream). A
retired loop stops, unclosed, once its last task has ended. Loop-bound objects that
user code created on the retired loop (a contended ``asyncio.Semaphore``, pooled
connections) may then fail on the new loop, as after any restart of an asyncio server.
See docs/architecture.md, "One run's path", step 5.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
import time
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["STALL_AFTER", "SYNC_NODE_THREADS", "TICK", "HostedAttempt", "NodeLoop", "NodeLoops", "node_loops"]

#: threads of a node loop's default executor, where LangGraph runs sync nodes (a
#: timed-out sync node keeps its thread until it returns)
SYNC_NODE_THREADS = 64
#: seconds between a node loop's liveness ticks
TICK = 0.05
#: seconds without a tick after which a node loop counts as stalled
STALL_AFTER = 0.25

#: the attempt whose code creates a task on a node loop (tasks inherit it)
_HOSTED: contextvars.ContextVar[HostedAttempt | None] = contextvars.ContextVar("evergraph_hosted_attempt", default=None)


class HostedAttempt:
    """One node attempt's coroutine running on a :class:`NodeLoop`.

    Attributes:
        node_loop: the loop hosting it.
        name: the node's name.
        future: resolves with the coroutine's result (a ``concurrent.futures.Future``).
        relocate: set (on the worker's loop) when its loop was retired and the attempt
            must be started again on the current node loop.
    """

    def __init__(self, node_loop: NodeLoop, name: str) -> None:
        self.node_loop = node_loop
        self.name = name
        self.future: concurrent.futures.Future = concurrent.futures.Future()
        self.relocate = asyncio.Event()
        self._task: asyncio.Task | None = None

    def cancel(self) -> None:
        """Cancel the coroutine; it takes effect when the node loop next runs it."""
        self.node_loop.forget(self)
        task = self._task
        if task is not None:
            try:
                self.node_loop.loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:  # the loop has stopped
                pass

    def holds_loop(self) -> bool:
        """Whether code of this attempt (a task it created, at any depth) is executing
        on its loop right now (for a stalled loop: whether this attempt blocks it)."""
        return self.node_loop.running_attempt() is self

    def starved(self, now: float) -> bool:
        """Whether the loop is stalled by code other than this attempt's.

        Args:
            now: ``time.monotonic()`` seconds.
        """
        return self.node_loop.stalled(now) and not self.holds_loop()


class NodeLoop:
    """An asyncio loop in its own daemon thread that runs until the process ends (or,
    once retired, until its last task ended). It records a tick every :data:`TICK`
    seconds, so the worker can tell when node code blocks it.

    Args:
        number: for the thread's name (``evergraph-node-loop-<n>``).
    """

    def __init__(self, number: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop.set_default_executor(
            concurrent.futures.ThreadPoolExecutor(SYNC_NODE_THREADS, thread_name_prefix=f"evergraph-sync-node-{number}")
        )
        self.last_tick = time.monotonic()
        self.retired = False
        self._attempts: set[HostedAttempt] = set()
        self._owners: weakref.WeakKeyDictionary[asyncio.Task, HostedAttempt] = weakref.WeakKeyDictionary()
        self.loop.set_task_factory(self._task_factory)
        self._lock = threading.Lock()
        started = threading.Event()
        self.thread = threading.Thread(target=self._main, args=(started,), name=f"evergraph-node-loop-{number}", daemon=True)
        self.thread.start()
        started.wait()

    def _main(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(started.set)
        self.loop.call_soon(self._tick)
        self.loop.run_forever()

    def _tick(self) -> None:
        self.last_tick = time.monotonic()
        self.loop.call_later(TICK, self._tick)

    def stalled(self, now: float) -> bool:
        """Whether the loop has not ticked for :data:`STALL_AFTER` seconds before ``now``
        (``time.monotonic()`` seconds)."""
        return now - self.last_tick > STALL_AFTER

    def _task_factory(self, loop: asyncio.AbstractEventLoop, coro: Any, context: contextvars.Context | None = None):
        task = asyncio.Task(coro, loop=loop, context=context)
        owner = context.run(_HOSTED.get) if context is not None else _HOSTED.get()
        if owner is not None:
            self._owners[task] = owner
        return task

    def running_attempt(self) -> HostedAttempt | None:
        """The attempt whose task the loop is stepping right now (callable from any
        thread), or ``None``."""
        task = asyncio.current_task(self.loop)
        return self._owners.get(task) if task is not None else None

    def start(self, name: str, make: Callable[[asyncio.AbstractEventLoop], Coroutine[Any, Any, Any]]) -> HostedAttempt:
        """Run ``make(loop)`` as a task on this loop.

        Args:
            name: the node's name.
            make: builds the attempt's coroutine; called on this loop's thread with the loop.

        Returns:
            The hosted attempt; its ``future`` has the coroutine's outcome.
        """
        hosted = HostedAttempt(self, name)
        with self._lock:
            self._attempts.add(hosted)

        def launch() -> None:
            context = contextvars.copy_context()
            context.run(_HOSTED.set, hosted)
            task = self.loop.create_task(make(self.loop), name=f"evergraph-node-{name}", context=context)
            hosted._task = task

            def done(t: asyncio.Task) -> None:
                self.forget(hosted)
                # the owner map holds attempts strongly: let go of the task so its
                # entry (and the attempt's context) can be collected
                hosted._task = None
                self._owners.pop(t, None)
                if hosted.future.done():
                    return
                if t.cancelled():
                    hosted.future.cancel()
                elif (exc := t.exception()) is not None:
                    hosted.future.set_exception(exc)
                else:
                    hosted.future.set_result(t.result())

            task.add_done_callback(done)

        self.loop.call_soon_threadsafe(launch)
        return hosted

    def forget(self, hosted: HostedAttempt) -> None:
        """Stop tracking ``hosted`` (it ended or was abandoned)."""
        with self._lock:
            self._attempts.discard(hosted)

    def attempts(self) -> list[HostedAttempt]:
        """The attempts this loop still hosts."""
        with self._lock:
            return list(self._attempts)

    def retire(self) -> None:
        """No new attempts come here; the loop stops (unclosed) once its tasks ended.
        Call it once (:meth:`NodeLoops.retire` does)."""
        self.retired = True

        async def drain() -> None:
            me = asyncio.current_task()
            while others := [t for t in asyncio.all_tasks() if t is not me]:
                await asyncio.wait(others)
            self.loop.stop()

        try:
            self.loop.call_soon_threadsafe(lambda: self.loop.create_task(drain()))
        except RuntimeError:
            pass


class NodeLoops:
    """The process's node loops: the current one, which takes every new attempt, and
    any retired ones still finishing. Started on first use."""

    def __init__(self) -> None:
        self._current: NodeLoop | None = None
        self._count = 0
        self._lock = threading.Lock()

    @property
    def current(self) -> NodeLoop:
        """The loop new attempts start on."""
        with self._lock:
            if self._current is None or self._current.retired:
                self._count += 1
                self._current = NodeLoop(self._count)
            return self._current

    def start(self, name: str, make: Callable[[asyncio.AbstractEventLoop], Coroutine[Any, Any, Any]]) -> HostedAttempt:
        """Run an attempt's coroutine on the current loop (see :meth:`NodeLoop.start`)."""
        return self.current.start(name, make)

    def retire(self, blocker: HostedAttempt) -> None:
        """``blocker`` timed out while holding its loop: retire that loop and ask every
        other attempt on it to start again on a new one (``relocate`` is set; call this
        on the worker's loop, where the attempts' watchers run)."""
        node_loop = blocker.node_loop
        with self._lock:
            if node_loop.retired:
                return
            node_loop.retire()
        for hosted in node_loop.attempts():
            if hosted is not blocker:
                hosted.relocate.set()


_NODE_LOOPS = NodeLoops()


def node_loops() -> NodeLoops:
    """The process-wide :class:`NodeLoops` (one set per worker process, like the one
    loop of an asyncio server)."""
    return _NODE_LOOPS
