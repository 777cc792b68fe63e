"""Connecting to Temporal, registering Evergraph's search attributes, and building the
worker that hosts ``ThreadWorkflow``, ``RunWorkflow`` and the activities, handing each
activity group the core's implementation of its port (docs/architecture.md, "The
layers")."""

from __future__ import annotations

import dataclasses
import typing
from datetime import timedelta
from typing import Any, ClassVar

import temporalio.converter
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from evergraph.activities.cron import CronActivities
from evergraph.activities.node import NodeActivities
from evergraph.activities.run import RunActivities
from evergraph.activities.sweep import SweepActivities
from evergraph.activities.thread import ThreadActivities
from evergraph.adapter.execution.driver import DriverRegistry
from evergraph.adapter.ports import CronFiring, NodeRunner, RunBookkeeping, ThreadBookkeeping
from evergraph.adapter.resources.ttl import ThreadSweeper
from evergraph.adapter.observability import tracing
from evergraph.adapter.services import Services
from evergraph.adapter.process.settings import Settings
from evergraph.workflows import search
from evergraph.workflows.cron import CronWorkflow
from evergraph.workflows.run import RunWorkflow
from evergraph.workflows.sweep import ThreadSweepWorkflow
from evergraph.workflows.thread import ThreadWorkflow

__all__ = [
    "DATA_CONVERTER",
    "HEARTBEAT_THROTTLE",
    "PayloadConverter",
    "build_worker",
    "connect",
    "ensure_search_attributes",
    "sandboxed_runner",
    "workflow_runner",
]

#: longest time a node attempt's heartbeat waits before it is sent to Temporal, which
#: bounds how long a cancelled attempt runs on before it learns of the cancellation
HEARTBEAT_THROTTLE = timedelta(seconds=2)


class _DataclassFields(temporalio.converter.JSONTypeConverter):
    """Decodes JSON objects into dataclasses as Temporal's default converter does
    (unknown keys ignored, missing ones left to the class's defaults, each field
    converted by its type hint), but resolves each class's type hints once.

    The default calls :func:`typing.get_type_hints` on every payload, which evaluates
    the string annotations of ``from __future__ import annotations`` modules such as
    :mod:`workflows.types` again each time: measured at about 12 % of the worker's
    main-thread CPU under load (see README "Performance").
    """

    #: class -> [(field name, resolved type hint, is an __init__ argument)];
    #: shared by every instance (Temporal builds converters per serialization context)
    _plans: ClassVar[dict[type, list[tuple[str, Any, bool]]]] = {}

    def to_typed_value(self, hint: Any, value: Any) -> Any:
        """``value`` (from :func:`json.loads`) as an instance of dataclass ``hint``, or
        ``Unhandled`` for any other hint, which the default conversion then handles."""
        if not isinstance(hint, type) or not dataclasses.is_dataclass(hint) or not isinstance(value, dict):
            return temporalio.converter.JSONTypeConverter.Unhandled
        plan = self._plans.get(hint)
        if plan is None:
            hints = typing.get_type_hints(hint)
            plan = [(f.name, hints[f.name], f.init) for f in dataclasses.fields(hint)]
            self._plans[hint] = plan
        converters = [self]
        init: dict[str, Any] = {}
        late: dict[str, Any] = {}
        for name, field_hint, in_init in plan:
            raw = value.get(name, dataclasses.MISSING)
            if raw is dataclasses.MISSING:
                continue
            try:
                converted = temporalio.converter.value_to_type(field_hint, raw, converters)
            except Exception as err:
                raise TypeError(f"Failed converting field {name} on dataclass {hint}") from err
            (init if in_init else late)[name] = converted
        obj = hint(**init)
        for name, converted in late.items():
            object.__setattr__(obj, name, converted)
        return obj


class PayloadConverter(temporalio.converter.CompositePayloadConverter):
    """Temporal's default payload converter with :class:`_DataclassFields` decoding
    dataclasses; the same encodings and the same JSON on the wire."""

    _converters: ClassVar[tuple[temporalio.converter.EncodingPayloadConverter, ...]] = tuple(
        temporalio.converter.JSONPlainPayloadConverter(custom_type_converters=[_DataclassFields()])
        if isinstance(c, temporalio.converter.JSONPlainPayloadConverter)
        else c
        for c in temporalio.converter.DefaultPayloadConverter.default_encoding_payload_converters
    )

    def __init__(self) -> None:
        super().__init__(*self._converters)


#: the data converter of Evergraph's clients and workers
DATA_CONVERTER = temporalio.converter.DataConverter(payload_converter_class=PayloadConverter)


async def connect(settings: Settings, address: str | None = None, runtime: Runtime | None = None) -> Client:
    """A Temporal client for ``address`` (``host:port``; default
    ``settings.temporal_address``, else ``127.0.0.1:7233``), in
    ``settings.temporal_namespace``, with TLS/API key as configured and
    :data:`DATA_CONVERTER`; with tracing on, the tracing interceptor, which workers
    built from this client inherit (adapter/observability/tracing.py). ``runtime``:
    the Temporal runtime of the client and of its workers (the SDK's metrics and logs,
    adapter/observability/temporal_metrics.py); ``None``: the SDK's default.

    Raises:
        RuntimeError: Temporal is unreachable (the SDK's ``Failed client connect``).
    """
    address = address or settings.temporal_address or "127.0.0.1:7233"
    return await Client.connect(
        address,
        namespace=settings.temporal_namespace,
        api_key=settings.temporal_api_key,
        tls=bool(settings.temporal_tls or settings.temporal_api_key),
        data_converter=DATA_CONVERTER,
        interceptors=tracing.temporal_interceptors(),
        runtime=runtime,
    )


async def ensure_search_attributes(client: Client) -> None:
    """Register Evergraph's Keyword search attributes in the client's namespace
    (no-op for those already there). Needs operator rights on self-hosted clusters.

    Raises:
        temporalio.service.RPCError: the server refused (e.g. no operator rights).
    """
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    missing = {
        k.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        for k in search.ALL
        if k.name not in existing.custom_attributes
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )


def sandboxed_runner() -> SandboxedWorkflowRunner:
    """Temporal's workflow sandbox with Evergraph's ``workflows`` package passed
    through: what ``EVERGRAPH_WORKFLOW_SANDBOX=1`` runs workflows in, and what the
    tests replay real histories with to catch nondeterminism and sandbox violations."""
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules("evergraph.workflows"))


def workflow_runner(settings: Settings) -> WorkflowRunner:
    """The runner of the worker's workflows: unsandboxed by default (each
    run of the 10-node benchmark chain costs about 24 ms less worker CPU, measured with
    ``benchmarks/bench_runs.py --compare``), Temporal's sandbox with
    ``EVERGRAPH_WORKFLOW_SANDBOX=1``."""
    return sandboxed_runner() if settings.workflow_sandbox else UnsandboxedWorkflowRunner()


def build_worker(client: Client, services: Services) -> Worker:
    """The Evergraph worker on ``services.settings.task_queue``, with Temporal client
    ``client`` (see :func:`connect`) and the core's ``services``; run it with
    ``await worker.run()``.

    Node attempts run as async activities whose nodes execute on their own threads
    (see :mod:`adapter.execution.node_attempt`); workflows run outside Temporal's sandbox unless
    ``EVERGRAPH_WORKFLOW_SANDBOX=1`` (see :func:`workflow_runner`).
    """
    settings = services.settings
    drivers = DriverRegistry(services)
    run_acts = RunActivities(RunBookkeeping(services, drivers))
    node_acts = NodeActivities(NodeRunner(services, drivers))
    thread_acts = ThreadActivities(ThreadBookkeeping(services))
    cron_acts = CronActivities(CronFiring(services))
    sweep_acts = SweepActivities(ThreadSweeper(services))
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[ThreadWorkflow, RunWorkflow, CronWorkflow, ThreadSweepWorkflow],
        activities=[
            run_acts.advance,
            run_acts.finish_run,
            run_acts.send_webhook,
            thread_acts.accept_run,
            thread_acts.resume_thread,
            node_acts.node_attempt,
            cron_acts.cron_fire,
            sweep_acts.sweep_threads,
        ],
        max_concurrent_activities=settings.max_concurrent_nodes,
        max_concurrent_local_activities=max(100, settings.max_concurrent_workflow_tasks),
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        # bounds the worker's memory however many threads wait at an interrupt
        # (README "Waiting threads"); an evicted workflow replays on its next task
        max_cached_workflows=settings.max_cached_workflows,
        # node attempts learn of cancellation from heartbeat answers: send them often
        max_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
        default_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
        workflow_runner=workflow_runner(settings),
    )
