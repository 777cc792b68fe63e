"""``ThreadWorkflow``: the coordinator of one thread (workflow id ``thread-<thread_id>``).

Every decision about a thread's runs is taken here, serialised by Temporal, so any
number of API processes can never race each other on one thread:

* ``submit_run`` (update, with a validator) accepts or rejects a new run with the
  semantics of langgraph-api 0.16.7's ``multitask_strategy``: ``reject`` fails
  the update while a run is pending or running (the API answers 409); ``enqueue``
  queues it (FIFO); ``interrupt`` and ``rollback`` cancel the runs in flight first.
  The run record is written only once the run is accepted (local activity
  ``accept_run``), so a rejected run leaves nothing behind.
* ``cancel_run`` (update) cancels a queued run at once or asks the running run's
  workflow to stop (signal ``cancel`` to ``run-<run_id>``); it fails for a run that
  is neither queued nor running (the API answers 404).
* ``resume`` (signal) takes a LangGraph ``Command`` as JSON
  (``{"resume": value}``, ``{"resume": {interrupt_id: value}}``, ``update``,
  ``goto``) and queues a run carrying it, exactly like ``POST /threads/{id}/runs``
  with ``command=…``. It lets a person approve from the Temporal UI or
  ``temporal workflow signal``.
* ``run_ended`` (signal) comes from the current run's workflow just before it
  records its outcome, so a client that sees the run end and double-texts at once
  finds the thread idle.
* queries ``queue`` (ids of queued runs), ``current`` (the running run id or
  null) and ``interrupts`` (the pending interrupts, ``{task_id: [{id, value}]}``).

Each run executes as the child ``RunWorkflow`` ``run-<run_id>``. While the thread
waits at an interrupt the workflow keeps running with the search attribute
``EvergraphStatus=interrupted`` (``busy`` while a run is queued or running,
``idle``/``error`` otherwise). An idle thread's workflow ends after ``IDLE_SECONDS``;
a waiting one never times out. It continues-as-new after ``MAX_RUNS_PER_EXECUTION``
runs to keep its history short. Its local activities retry transient failures only,
boundedly (``BOOKKEEPING_RETRY`` in workflows/retry.py); a run it records itself
(cancelled before it started, or past the run timeout) goes through
:func:`evergraph.workflows.run.finish`, which never leaves the thread waiting.
See docs/architecture.md, "One run's path", step 2.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributePair
from temporalio.exceptions import ApplicationError, ChildWorkflowError, FailureError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from evergraph.workflows.retry import BOOKKEEPING_RETRY
    from evergraph.workflows import search
    from evergraph.workflows.run import RunWorkflow, deliver_webhook, finish, local_failure
    from evergraph.workflows.types import CancelRun, RunInput, RunOutcome, SubmitRun, ThreadInput

__all__ = ["BUSY", "IDLE_SECONDS", "MAX_RUNS_PER_EXECUTION", "ThreadWorkflow"]

#: seconds an idle thread's workflow waits for another run before it ends
IDLE_SECONDS = 60
#: runs one workflow execution runs before it continues-as-new
MAX_RUNS_PER_EXECUTION = 200

#: langgraph-api's 409 detail for ``multitask_strategy="reject"`` on a busy thread
BUSY = "Thread is already running a task. Wait for it to finish or choose a different multitask strategy."

#: local activities (``accept_run``, ``resume_thread``): transient failures retried
#: boundedly (BOOKKEEPING_RETRY in workflows/retry.py), others not at all
_LOCAL = dict(start_to_close_timeout=timedelta(minutes=1), retry_policy=BOOKKEEPING_RETRY)


@workflow.defn(name="ThreadWorkflow")
class ThreadWorkflow:
    """See the module docstring."""

    def __init__(self) -> None:
        self._thread_id = ""
        self._queue: list[RunInput] = []
        self._current: RunInput | None = None
        self._cancel_current: str | None = None  # action requested for the current run
        self._cancel_reason: str | None = None  # and why
        self._current_ended = False  # the current run is recording its outcome
        self._accepting = 0  # submit_run updates between validation and queueing
        self._thread_status = "idle"
        self._interrupts: dict[str, Any] = {}
        self._search_status: str | None = None

    # ------------------------------------------------------------------ updates

    @workflow.update(name="submit_run")
    async def submit_run(self, msg: SubmitRun) -> None:
        """Accept ``msg.run`` (see the module docstring); returns once the run is
        recorded and queued."""
        self._accepting += 1
        try:
            await workflow.execute_local_activity("accept_run", msg, **_LOCAL)
            if msg.multitask_strategy in ("interrupt", "rollback"):
                # langgraph-api 0.16.7's reason text for a double-text's cancellations
                reason = f"superseded by run {msg.run.run_id} (multitask_strategy={msg.multitask_strategy})"
                await self._cancel_in_flight(msg.multitask_strategy, reason)
            if msg.run.run_id not in self._known():
                self._queue.append(msg.run)
        finally:
            self._accepting -= 1

    @submit_run.validator
    def _validate_submit(self, msg: SubmitRun) -> None:
        if msg.multitask_strategy == "reject" and self._busy():
            raise ApplicationError(BUSY, type="ThreadBusy", non_retryable=True)

    @workflow.update(name="cancel_run")
    async def cancel_run(self, msg: CancelRun) -> None:
        """Cancel ``msg.run_id``: a queued run ends at once (``interrupted``, or
        deleted for ``rollback``); the running run is asked to stop."""
        await self._cancel(msg.run_id, msg.action, msg.reason)

    @cancel_run.validator
    def _validate_cancel(self, msg: CancelRun) -> None:
        if msg.run_id not in self._known():
            raise ApplicationError(f"run {msg.run_id} is not pending or running", type="RunNotActive", non_retryable=True)

    # ------------------------------------------------------------------ signals & queries

    @workflow.signal(name="resume")
    async def resume(self, command: Any) -> None:
        """Queue a run resuming the thread with ``command`` (a LangGraph ``Command``
        as JSON; a bare value means ``{"resume": value}``)."""
        if not isinstance(command, dict) or not ({"resume", "update", "goto"} & set(command)):
            command = {"resume": command}
        self._accepting += 1
        try:
            run: RunInput = await workflow.execute_local_activity(
                "resume_thread", args=[self._thread_id, command], result_type=RunInput, **_LOCAL
            )
            self._queue.append(run)
        except FailureError as err:  # a signal has no caller to tell: log it
            workflow.logger.warning("resume signal on thread %s ignored: %s", self._thread_id, local_failure(err))
        finally:
            self._accepting -= 1

    @workflow.signal(name="run_ended")
    def run_ended(self, run_id: str) -> None:
        """Sent by the current run's workflow just before it records its outcome: from
        here on the run no longer makes the thread busy and cannot be cancelled."""
        if self._current is not None and self._current.run_id == run_id:
            self._current_ended = True

    @workflow.query(name="queue")
    def queue(self) -> list[str]:
        """Ids of the runs waiting for their turn, in order."""
        return [r.run_id for r in self._queue]

    @workflow.query(name="current")
    def current(self) -> str | None:
        """Id of the run executing now, or None."""
        return self._current.run_id if self._current else None

    @workflow.query(name="interrupts")
    def interrupts(self) -> dict[str, Any]:
        """The thread's pending interrupts, ``{task_id: [{"id": …, "value": …}]}``
        (the same as ``thread.interrupts`` through the API)."""
        return self._interrupts

    # ------------------------------------------------------------------ main loop

    @workflow.run
    async def run(self, inp: ThreadInput) -> None:
        """Run the thread's queued runs one at a time; end after ``IDLE_SECONDS``
        seconds idle (never while the thread waits at an interrupt), continuing-as-new
        after ``MAX_RUNS_PER_EXECUTION`` runs."""
        self._thread_id = inp.thread_id
        self._queue = list(inp.queue) + [r for r in self._queue if r.run_id not in {q.run_id for q in inp.queue}]
        self._thread_status, self._interrupts = inp.thread_status, dict(inp.interrupts)
        executed = 0
        while True:
            if not self._queue:
                self._mark(self._thread_status)
                if self._thread_status == "interrupted":
                    await workflow.wait_condition(lambda: bool(self._queue))
                else:
                    try:
                        await workflow.wait_condition(
                            lambda: bool(self._queue), timeout=timedelta(seconds=IDLE_SECONDS)
                        )
                    except TimeoutError:
                        pass
                if not self._queue:
                    await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not self._accepting)
                    if not self._queue:
                        return
                continue
            if executed >= MAX_RUNS_PER_EXECUTION:
                await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not self._accepting)
                workflow.continue_as_new(
                    ThreadInput(self._thread_id, list(self._queue), self._thread_status, self._interrupts)
                )
            run = self._queue.pop(0)
            self._current, self._cancel_current, self._current_ended = run, None, False
            self._cancel_reason = None
            self._mark("busy")
            outcome = await self._execute(run)
            self._current = None
            executed += 1
            if outcome is not None and outcome.thread_status:
                self._thread_status = "idle" if outcome.thread_status == "busy" else outcome.thread_status
                self._interrupts = outcome.interrupts or {}

    async def _execute(self, run: RunInput) -> RunOutcome | None:
        """Run ``run`` as its child workflow, delivering a cancellation requested
        meanwhile; returns its outcome (None if the child failed unexpectedly)."""
        if run.after_seconds:
            try:
                await workflow.wait_condition(
                    lambda: self._cancel_current is not None, timeout=timedelta(seconds=run.after_seconds)
                )
            except TimeoutError:
                pass
        if self._cancel_current is not None:  # cancelled before it started
            return await self._finish_unstarted(run, self._cancel_current, self._cancel_reason)
        handle = await workflow.start_child_workflow(
            RunWorkflow.run,
            # every parameter, so Temporal decodes them with their type hints
            args=[run, None],
            id=f"run-{run.run_id}",
            parent_close_policy=ParentClosePolicy.ABANDON,
            run_timeout=timedelta(seconds=run.run_timeout) if run.run_timeout else None,
            search_attributes=workflow.info().typed_search_attributes.updated(
                SearchAttributePair(search.RUN_ID, run.run_id),
                SearchAttributePair(search.ASSISTANT_ID, run.assistant_id),
                SearchAttributePair(search.GRAPH_ID, run.graph_id),
                SearchAttributePair(search.STATUS, "pending"),
            ),
        )
        signalled = False
        while not handle.done():
            await workflow.wait_condition(lambda: handle.done() or (self._cancel_current is not None and not signalled))
            if self._cancel_current is not None and not signalled and not handle.done():
                signalled = True
                await handle.signal(RunWorkflow.cancel, CancelRun(run.run_id, self._cancel_current, self._cancel_reason))
        try:
            return handle.result()
        except ChildWorkflowError as err:
            if isinstance(err.cause, TemporalTimeoutError) and run.run_timeout:
                # the optional run cap (EVERGRAPH_RUN_TIMEOUT / BG_JOB_TIMEOUT_SECS) ended
                # the run's workflow before it could record anything: record it here
                message = f"run exceeded {run.run_timeout:g} s"
                outcome = RunOutcome(status="timeout", error="TimeoutError", message=message, cancel_reason=message)
                outcome = await finish(run, outcome)
                await deliver_webhook(run, outcome)
                return outcome
            return None  # the run recorded its own outcome (finish_run)

    # ------------------------------------------------------------------ helpers

    def _known(self) -> set[str]:
        """Ids of the runs still pending or running."""
        ids = {r.run_id for r in self._queue}
        if self._current is not None and not self._current_ended:
            ids.add(self._current.run_id)
        return ids

    def _busy(self) -> bool:
        return bool(self._known() or self._accepting)

    def _mark(self, status: str) -> None:
        """Set ``EvergraphStatus`` on this workflow (only when it changes)."""
        if status != self._search_status:
            self._search_status = status
            workflow.upsert_search_attributes([search.STATUS.value_set(status)])

    async def _cancel_in_flight(self, action: str, reason: str | None = None) -> None:
        """Cancel every queued and running run (``interrupt``/``rollback`` strategies)."""
        for run_id in list(self._known()):
            await self._cancel(run_id, action, reason)

    async def _cancel(self, run_id: str, action: str, reason: str | None = None) -> None:
        for run in list(self._queue):
            if run.run_id == run_id:
                self._queue.remove(run)
                await self._finish_unstarted(run, action, reason)
                return
        if self._current is not None and self._current.run_id == run_id and self._cancel_current is None:
            self._cancel_current, self._cancel_reason = action, reason

    async def _finish_unstarted(self, run: RunInput, action: str, reason: str | None = None) -> RunOutcome:
        outcome = RunOutcome(status="interrupted", rollback=action == "rollback", cancel_reason=reason)
        outcome = await finish(run, outcome)
        await deliver_webhook(run, outcome)
        return outcome
