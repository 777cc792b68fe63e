"""``ThreadWorkflow``: the coordinator of one thread (id ``thread-<thread_id>``).

Runs on a thread execute one at a time, in the order they were submitted
(``multitask_strategy="enqueue"``, langgraph-api's default). The API submits a run
with signal-with-start, so the first run of an idle thread starts this workflow and
later runs queue behind it; each run executes as a child ``RunWorkflow``
(``run-<run_id>``). The workflow ends after it has been idle for
``IDLE_SECONDS`` and continues-as-new after ``MAX_RUNS_PER_EXECUTION`` runs to keep
its history short.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import SearchAttributePair
from temporalio.exceptions import ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from workflows import search
    from workflows.run import RunWorkflow
    from workflows.types import CancelRun, FinishInput, RunInput, RunOutcome, SubmitRun

IDLE_SECONDS = 60
MAX_RUNS_PER_EXECUTION = 200

_LOCAL = dict(start_to_close_timeout=timedelta(minutes=1))


@workflow.defn(name="ThreadWorkflow")
class ThreadWorkflow:
    """See the module docstring. Signals: ``submit_run`` (:class:`SubmitRun`),
    ``cancel_run`` (:class:`CancelRun`). Query: ``queue`` (pending run ids)."""

    def __init__(self) -> None:
        self._queue: list[RunInput] = []
        self._cancelled: list[RunInput] = []
        self._current: str | None = None

    @workflow.signal(name="submit_run")
    def submit_run(self, msg: SubmitRun) -> None:
        """Queue ``msg.run`` behind the runs already submitted."""
        if all(r.run_id != msg.run.run_id for r in self._queue) and msg.run.run_id != self._current:
            self._queue.append(msg.run)

    @workflow.signal(name="cancel_run")
    def cancel_run(self, msg: CancelRun) -> None:
        """Drop a queued run; it ends ``interrupted`` without running. (A running run is
        cancelled through its own workflow.)"""
        for run in list(self._queue):
            if run.run_id == msg.run_id:
                self._queue.remove(run)
                self._cancelled.append(run)

    @workflow.query(name="queue")
    def queue(self) -> list[str]:
        """Ids of the runs waiting for their turn."""
        return [r.run_id for r in self._queue]

    @workflow.run
    async def run(self, thread_id: str, carried: list[RunInput] | None = None) -> None:
        self._queue = list(carried or []) + self._queue
        executed = 0
        while True:
            while self._cancelled:
                run = self._cancelled.pop(0)
                await workflow.execute_local_activity(
                    "finish_run", FinishInput(run=run, outcome=RunOutcome(status="interrupted")), **_LOCAL
                )
            if not self._queue:
                try:
                    await workflow.wait_condition(
                        lambda: bool(self._queue or self._cancelled), timeout=timedelta(seconds=IDLE_SECONDS)
                    )
                except TimeoutError:
                    pass
                if not self._queue and not self._cancelled:
                    if workflow.all_handlers_finished():
                        return
                continue
            if executed >= MAX_RUNS_PER_EXECUTION:
                workflow.continue_as_new(args=[thread_id, self._queue])
            run = self._queue.pop(0)
            self._current = run.run_id
            try:
                await workflow.execute_child_workflow(
                    RunWorkflow.run,
                    run,
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
            except ChildWorkflowError:
                pass  # the run records its own outcome (finish_run); cancelled runs too
            self._current = None
            executed += 1
