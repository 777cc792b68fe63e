"""Connecting to Temporal, registering Evergraph's search attributes, and building the
worker that hosts ``ThreadWorkflow``, ``RunWorkflow`` and the activities."""

from __future__ import annotations

from datetime import timedelta

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.node import NodeActivities
from activities.run import RunActivities
from activities.thread import ThreadActivities
from adapter.driver import DriverRegistry
from adapter.services import Services
from adapter.settings import Settings
from workflows import search
from workflows.run import RunWorkflow
from workflows.thread import ThreadWorkflow


#: longest time a node attempt's heartbeat waits before it is sent to Temporal, which
#: bounds how long a cancelled attempt runs on before it learns of the cancellation
HEARTBEAT_THROTTLE = timedelta(seconds=2)


async def connect(settings: Settings, address: str | None = None) -> Client:
    """A Temporal client for ``address`` (default ``settings.temporal_address``), with
    TLS/API key as configured."""
    address = address or settings.temporal_address or "127.0.0.1:7233"
    return await Client.connect(
        address,
        namespace=settings.temporal_namespace,
        api_key=settings.temporal_api_key,
        tls=bool(settings.temporal_tls or settings.temporal_api_key),
    )


async def ensure_search_attributes(client: Client) -> None:
    """Register Evergraph's Keyword search attributes in the client's namespace
    (no-op for those already there). Needs operator rights on self-hosted clusters."""
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


def build_worker(client: Client, services: Services) -> Worker:
    """The Evergraph worker on ``settings.task_queue``.

    Node attempts run as async activities whose nodes execute on their own threads
    (see :mod:`adapter.node_attempt`); workflows run in Temporal's sandbox with
    Evergraph's own modules passed through.
    """
    settings = services.settings
    drivers = DriverRegistry(services)
    run_acts = RunActivities(services, drivers)
    node_acts = NodeActivities(services)
    thread_acts = ThreadActivities(services)
    restrictions = SandboxRestrictions.default.with_passthrough_modules("workflows")
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[ThreadWorkflow, RunWorkflow],
        activities=[
            run_acts.advance, run_acts.finish_run, thread_acts.accept_run, thread_acts.resume_thread, node_acts.node_attempt
        ],
        max_concurrent_activities=settings.max_concurrent_nodes,
        max_concurrent_local_activities=max(100, settings.max_concurrent_workflow_tasks),
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        # node attempts learn of cancellation from heartbeat answers: send them often
        max_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
        default_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
        workflow_runner=SandboxedWorkflowRunner(restrictions=restrictions),
    )
