"""``@task`` calls made inside a node attempt (LangGraph's functional API).

In-process, an ``@entrypoint`` (or any node) that calls an ``@task`` goes through
``CONFIG_KEY_CALL``: LangGraph's runner prepares a PUSH task for the call (a
deterministic id from the checkpoint, the caller and the call's index), returns the
result saved for that id by an earlier execution if there is one, and otherwise runs
it and saves its writes, so a caller that runs again (after ``interrupt()``, a retry
or a lost worker) does not repeat calls that completed.

The caller runs in a Temporal activity here, so :class:`FunctionalCalls` does the
runner's part inside that attempt, with LangGraph's own pieces: ``_acall`` (the
function LangGraph puts under ``CONFIG_KEY_CALL``), ``prepare_single_task`` for the
PUSH task and ``arun_with_retry`` to run it; the call's writes go to the checkpointer
as pending writes of the caller's checkpoint, exactly where LangGraph's loop would
put them. The calls run inside the caller's attempt (not as activities of their own)
and are covered by its timeouts and heartbeats (docs/architecture.md, "One run's
path", step 5).
"""

from __future__ import annotations

import asyncio
import binascii
import weakref
from functools import partial
from typing import Any, Callable

# LangGraph internals (private modules and ``_acall``), pinned for langgraph 1.2
# (>=1.2.22,<1.3 in pyproject.toml); tests/test_upstream.py guards the call hook
from langgraph._internal._constants import CONFIG_KEY_CALL, PUSH
from langgraph.pregel._algo import checkpoint_null_version, prepare_single_task, task_path_str
from langgraph.pregel._runner import _acall
from langgraph.types import PregelExecutableTask

__all__ = ["FunctionalCalls"]


class _Futures(dict):
    """Running call futures → their task (LangGraph's runner keeps one; ``_acall``
    reads it to join a call that is already running)."""


class FunctionalCalls:
    """The runner side of ``@task`` calls for one node attempt.

    Args:
        graph: the compiled graph (``nodes``, ``retry_policy``, ``cache_policy``).
        checkpoint: the checkpoint the attempt's task reads (LangGraph ``Checkpoint``).
        channels, managed: channels restored from it.
        pending: its pending writes ``[(task_id, channel, value)]``; the writes of
            calls that ran before are found here.
        saver: the checkpointer the calls' writes go to.
        store: the LangGraph store, or None.
        thread_id: the thread (checkpoint namespace is the root, ``""``).
        step, stop: the superstep and LangGraph's step limit.
    """

    def __init__(
        self,
        *,
        graph: Any,
        checkpoint: dict[str, Any],
        channels: Any,
        managed: Any,
        pending: list[tuple[str, str, Any]],
        saver: Any,
        store: Any,
        thread_id: str,
        step: int,
        stop: int,
    ) -> None:
        self.graph = graph
        self.checkpoint = checkpoint
        self.channels = channels
        self.managed = managed
        self.pending = pending
        self.saver = saver
        self.store = store
        self.step = step
        self.stop = stop
        self.write_config = {
            "configurable": {"thread_id": thread_id, "checkpoint_ns": "", "checkpoint_id": checkpoint["id"]}
        }
        self.futures = _Futures()

    def configurable(self, task: PregelExecutableTask, loop: asyncio.AbstractEventLoop) -> dict[str, Any]:
        """The ``CONFIG_KEY_CALL`` entry for ``task`` running on ``loop`` (pass it as
        ``arun_with_retry(..., configurable=...)``, as LangGraph's runner does)."""
        return {CONFIG_KEY_CALL: self._call_for(task, loop)}

    def _call_for(self, task: PregelExecutableTask, loop: asyncio.AbstractEventLoop) -> Callable[..., Any]:
        return partial(
            _acall,
            weakref.ref(task),
            stream=False,
            futures=weakref.ref(self.futures),
            schedule_task=self._schedule,
            submit=weakref.WeakMethod(self._submit),
            loop=loop,
        )

    async def _schedule(self, task: PregelExecutableTask, write_idx: int, call: Any) -> PregelExecutableTask | None:
        """LangGraph's ``accept_push`` for a call: the PUSH task, carrying the writes
        an earlier execution saved for it (then it is not run again)."""
        pushed = prepare_single_task(
            (PUSH, task.path, write_idx, task.id, call),
            None,
            checkpoint=self.checkpoint,
            checkpoint_id_bytes=binascii.unhexlify(self.checkpoint["id"].replace("-", "")),
            checkpoint_null_version=checkpoint_null_version(self.checkpoint),
            pending_writes=self.pending,
            processes=self.graph.nodes,
            channels=self.channels,
            managed=self.managed,
            config=task.config,
            step=self.step,
            stop=self.stop,
            for_execution=True,
            store=self.store,
            checkpointer=self.saver,
            manager=None,
            retry_policy=self.graph.retry_policy,
            cache_policy=self.graph.cache_policy,
        )
        if pushed is not None and not pushed.writes:
            pushed.writes.extend((c, v) for t, c, v in self.pending if t == pushed.id)
        return pushed

    def _submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> asyncio.Future:
        """Run a call task (``fn`` is ``arun_with_retry``, ``args[0]`` the task, and
        ``kwargs`` carry the call's own ``CONFIG_KEY_CALL``) on the current loop; its
        writes are saved before its result is handed back."""
        for key in ("__name__", "__cancel_on_exit__", "__reraise_on_exit__", "__next_tick__"):
            kwargs.pop(key, None)
        call_task: PregelExecutableTask = args[0]

        async def run() -> Any:
            result = await fn(*args, **kwargs)
            if call_task.writes:
                await self.saver.aput_writes(
                    self.write_config, list(call_task.writes), call_task.id, task_path_str(call_task.path)
                )
            return result

        future = asyncio.ensure_future(run())
        future.add_done_callback(lambda f: self.futures.pop(f, None))
        return future
