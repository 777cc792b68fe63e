"""OpenTelemetry traces: one trace per run, from the HTTP request to the LLM call.

Configured the standard way, from the ``OTEL_*`` environment variables, and **off by
default**: :func:`configure` installs nothing (no tracer provider, no Temporal
interceptor, no ASGI middleware, no LangChain callback) unless an exporter is
configured (see :func:`enabled`). When on, a run's trace is:

* the API request's server span (FastAPI instrumentation, ``opentelemetry-instrumentation-fastapi``),
  carrying the run's ids as ``evergraph.*`` attributes (:func:`run_context`);
* the Temporal client's span for ``submit_run`` and, under the request's context
  (carried in :class:`~evergraph.workflows.types.RunInput` ``trace``, not taken from
  the long-lived thread workflow), ``StartChildWorkflow:RunWorkflow`` →
  ``RunWorkflow:RunWorkflow``, a ``RunActivity`` span per node attempt
  (``<graph_id>.<node>``) and for ``send_webhook`` (temporalio's
  ``TracingInterceptor``, which carries the context in Temporal headers, so it
  survives a worker restart) and ``CompleteWorkflow:RunWorkflow``. No activity gets a
  ``StartActivity`` span (its ``RunActivity`` span continues the workflow's context),
  no update a ``ValidateUpdate`` span, and the ``run_ended`` signal no
  ``HandleSignal`` span (:data:`INTERNAL_SIGNALS`): Temporal's zero-length marks that
  say nothing the spans around them do not. The driver's ``advance`` and
  ``finish_run`` activities get no spans, except an ``advance`` that reports node
  timeouts (:data:`DRIVER_ACTIVITIES`);
* inside each node attempt, LangChain's runs (chat models, tools, chains) as child
  spans (OpenInference's LangChain instrumentation, ``openinference-instrumentation-langchain``).

A run created without a request has a trace of its own: a cron tick's run roots at
the ``RunActivity:cron_fire`` span; a run created by a Temporal ``resume`` signal roots
at an ``evergraph.resume`` span linked to the span of the signal's handling
(:func:`new_trace`).

Span attributes (:data:`PREFIX` + the field's name): ``evergraph.thread_id``,
``run_id``, ``assistant_id``, ``graph_id``, ``multitask_strategy``, ``node``,
``task_id``, ``step``, ``attempt`` (Temporal's attempt number), ``timeout_kind``
(``idle``/``run``).

The temporalio integration used here, ``TracingInterceptor`` and its workflow
interceptor (temporalio 1.35, ``temporalio/contrib/opentelemetry/_interceptor.py``),
is extended through its ``_completed_span`` and ``_set_on_context`` methods (pinned
with ``temporalio>=1.35,<1.36``; ``tests/test_tracing.py`` checks the trace's shape).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import opentelemetry.context
import opentelemetry.trace
import orjson
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from evergraph.adapter.process.settings import SettingsError

__all__ = [
    "DRIVER_ACTIVITIES",
    "INTERNAL_SIGNALS",
    "PREFIX",
    "Tracing",
    "annotate",
    "configure",
    "current",
    "enabled",
    "instrument_app",
    "new_trace",
    "run_context",
    "shutdown",
    "temporal_interceptors",
]

log = logging.getLogger(__name__)

#: prefix of Evergraph's span attributes (``evergraph.run_id`` …)
PREFIX = "evergraph."

#: the W3C trace context (``traceparent``, ``tracestate``) and baggage, as Temporal's
#: ``TracingInterceptor`` carries them in its headers
_W3C = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
#: ``OTEL_TRACES_EXPORTER`` values understood (the Python SDK's entry-point names too)
_EXPORTERS = ("otlp", "otlp_proto_grpc", "otlp_proto_http", "console", "none")
_PROTOCOLS = ("grpc", "http/protobuf")
_SAMPLERS = (
    "always_on", "always_off", "traceidratio",
    "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio",
)


def _flag(env: Mapping[str, str], name: str) -> bool | None:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return None
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SettingsError(f"{name} must be true or false, got {env[name]!r}")


def _exporter_names(env: Mapping[str, str]) -> list[str]:
    raw = env.get("OTEL_TRACES_EXPORTER") or ""
    names = [n.strip().lower() for n in raw.split(",") if n.strip()]
    for name in names:
        if name not in _EXPORTERS:
            raise SettingsError(f"OTEL_TRACES_EXPORTER must list {', '.join(_EXPORTERS)}; got {raw!r}")
    return names


def enabled(env: Mapping[str, str] | None = None) -> bool:
    """Whether tracing is on for ``env`` (default ``os.environ``).

    Off when ``OTEL_SDK_DISABLED`` is true, when ``OTEL_ENABLED`` (langgraph-api's
    switch) is false, or when ``OTEL_TRACES_EXPORTER`` is ``none``. Else on when
    ``OTEL_ENABLED`` is true, ``OTEL_TRACES_EXPORTER`` names an exporter, or an OTLP
    endpoint is set (``OTEL_EXPORTER_OTLP_ENDPOINT`` /
    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, as langgraph-api 0.16.7 decides). With
    none of these set, it is off.

    Raises:
        SettingsError: a malformed value; the message names the variable.
    """
    env = os.environ if env is None else env
    if _flag(env, "OTEL_SDK_DISABLED"):
        return False
    switch = _flag(env, "OTEL_ENABLED")
    names = _exporter_names(env)
    if switch is False or names == ["none"]:
        return False
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    return bool(switch or names or endpoint)


def _protocol(env: Mapping[str, str]) -> str:
    name = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" if env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") else "OTEL_EXPORTER_OTLP_PROTOCOL"
    value = (env.get(name) or "http/protobuf").strip().lower()
    if value not in _PROTOCOLS:
        raise SettingsError(f"{name} must be grpc or http/protobuf, got {env[name]!r}")
    return value


def _check_sampler(env: Mapping[str, str]) -> None:
    """Refuse an ``OTEL_TRACES_SAMPLER`` the SDK would silently replace with its default."""
    name = (env.get("OTEL_TRACES_SAMPLER") or "").strip().lower()
    if not name:
        return
    if name not in _SAMPLERS:
        if not importlib.metadata.entry_points(group="opentelemetry_traces_sampler", name=name):
            raise SettingsError(f"OTEL_TRACES_SAMPLER must be one of {', '.join(_SAMPLERS)}, got {env['OTEL_TRACES_SAMPLER']!r}")
        return
    arg = env.get("OTEL_TRACES_SAMPLER_ARG")
    if name.endswith("traceidratio") and arg:
        try:
            ratio = float(arg)
        except ValueError:
            ratio = -1.0
        if not 0.0 <= ratio <= 1.0:
            raise SettingsError(f"OTEL_TRACES_SAMPLER_ARG must be a ratio between 0 and 1, got {arg!r}")


def _exporters(env: Mapping[str, str]) -> list[Any]:
    """The span exporters ``env`` asks for (default: OTLP). Each OTLP exporter reads
    its endpoint, headers, timeout, compression and certificates from the standard
    ``OTEL_EXPORTER_OTLP_*`` variables itself."""
    out: list[Any] = []
    for name in _exporter_names(env) or ["otlp"]:
        if name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            out.append(ConsoleSpanExporter())
            continue
        if name == "none":
            continue
        grpc = name == "otlp_proto_grpc" or (name == "otlp" and _protocol(env) == "grpc")
        if grpc:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        out.append(OTLPSpanExporter())
    return out


def _disabled_instrumentations(env: Mapping[str, str]) -> set[str]:
    raw = env.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS") or ""
    return {n.strip().lower() for n in raw.split(",") if n.strip()}


@dataclass
class Tracing:
    """Tracing as installed in this process by :func:`configure`.

    Attributes:
        provider: the SDK ``TracerProvider`` spans go to (the process-wide one).
        fastapi: API requests get server spans (not disabled by
            ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=fastapi``).
        langchain: LangChain runs inside node attempts get spans (OpenInference's
            instrumentation; ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=langchain`` turns
            it off).
        owned: the provider was made here (and is shut down by :func:`shutdown`).
    """

    provider: Any
    fastapi: bool = True
    langchain: bool = False
    owned: bool = True
    instrumented: list[Any] = field(default_factory=list)

    @property
    def tracer(self) -> opentelemetry.trace.Tracer:
        """Evergraph's own tracer (spans of :func:`new_trace`)."""
        return self.provider.get_tracer("evergraph")


_STATE: Tracing | None = None


def current() -> Tracing | None:
    """The tracing :func:`configure` installed in this process, or ``None`` (off)."""
    return _STATE


def configure(env: Mapping[str, str] | None = None, *, command: str = "") -> Tracing | None:
    """Turn tracing on for this process if ``env`` (default ``os.environ``) asks for it
    (:func:`enabled`); returns what was installed, or ``None`` (nothing installed).

    Installs the process-wide tracer provider: service name ``OTEL_SERVICE_NAME``
    (default ``evergraph``), resource ``OTEL_RESOURCE_ATTRIBUTES`` plus a
    ``service.instance.id`` of this process and ``evergraph.command`` (``command``:
    ``dev``/``serve``/``worker``); sampler ``OTEL_TRACES_SAMPLER`` /
    ``OTEL_TRACES_SAMPLER_ARG`` (SDK default ``parentbased_always_on``); one batch
    span processor (``OTEL_BSP_*``) per exporter of ``OTEL_TRACES_EXPORTER`` (default
    ``otlp``; ``console``), OTLP over ``OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL``
    (``http/protobuf``, the default, or ``grpc``). A tracer provider already installed
    (e.g. by ``opentelemetry-instrument``) is used as it is. Then instruments
    LangChain (OpenInference) unless ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` lists
    ``langchain``. Idempotent.

    Raises:
        SettingsError: a malformed ``OTEL_*`` value (the message names it).
    """
    global _STATE
    env = os.environ if env is None else env
    if not enabled(env):
        return None
    _check_sampler(env)
    exporters = _exporters(env)  # validates the protocol before anything is installed
    if _STATE is not None:
        return _STATE
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    existing = opentelemetry.trace.get_tracer_provider()
    if isinstance(existing, TracerProvider):
        state = Tracing(provider=existing, owned=False)
    else:
        attributes: dict[str, Any] = {"service.instance.id": uuid.uuid4().hex}
        if command:
            attributes["evergraph.command"] = command
        resource = Resource.create(attributes)
        if not env.get("OTEL_SERVICE_NAME") and "service.name=" not in (env.get("OTEL_RESOURCE_ATTRIBUTES") or ""):
            resource = resource.merge(Resource({"service.name": "evergraph"}))
        provider = TracerProvider(resource=resource)  # the sampler comes from OTEL_TRACES_SAMPLER
        for exporter in exporters:
            provider.add_span_processor(BatchSpanProcessor(exporter))
        opentelemetry.trace.set_tracer_provider(provider)
        state = Tracing(provider=provider)
    disabled = _disabled_instrumentations(env)
    state.fastapi = "fastapi" not in disabled
    if "langchain" not in disabled:
        try:
            from openinference.instrumentation.langchain import LangChainInstrumentor
        except ImportError:  # pragma: no cover - a declared dependency
            log.warning("openinference-instrumentation-langchain is not installed: no LangChain spans")
        else:
            instrumentor = LangChainInstrumentor()
            instrumentor.instrument(tracer_provider=state.provider)
            # its callback handler is synchronous: called inline, as LangChain's own
            # LangSmith tracer is, rather than through the loop's thread pool once per
            # event (measured: most of tracing's cost on a run of trivial nodes)
            handler = getattr(instrumentor, "_tracer", None)
            if handler is not None:
                handler.run_inline = True
                _skip_runs_without_spans(handler)
            state.instrumented.append(instrumentor)
            state.langchain = True
    _STATE = state
    return state


def _node_run(handler: Any, name: str | None, metadata: Mapping[str, Any] | None, parent: Any) -> bool:
    """Whether a LangChain chain run named ``name`` (with ``metadata``, child of run
    ``parent``) is a LangGraph node's own run at the top of a node attempt: named as
    its ``langgraph_node`` metadata, and its parent run has no span in this process
    (the graph's root run lives in the driver)."""
    if not name or (metadata or {}).get("langgraph_node") != name:
        return False
    return parent is None or handler.get_span(parent) is None


#: LangChain callbacks (``BaseTracer`` of langchain-core 1.8) that start a run, and
#: those that report on or end one
_RUN_STARTS = ("on_chain_start", "on_chat_model_start", "on_llm_start", "on_tool_start", "on_retriever_start")
_RUN_EVENTS = (
    "on_chain_end", "on_chain_error", "on_llm_end", "on_llm_error", "on_llm_new_token", "on_retry",
    "on_tool_end", "on_tool_error", "on_retriever_end", "on_retriever_error",
)


def _skip_runs_without_spans(handler: Any) -> None:
    """Skip, in OpenInference's LangChain callback handler, the runs whose spans say
    nothing: no span and no LangChain ``Run`` either (a pydantic model; with
    OpenInference's span of a chain run, whose inputs and outputs are serialised as
    attributes, the bulk of a callback's cost).

    * A node attempt's own LangGraph node run: its ``RunActivity`` span already
      stands for it. The runs inside the node (chat models, tools, chains) still get
      spans, parented to the attempt's ``RunActivity`` span as the current context
      (OpenInference falls back to it when a parent run has no span).
    * Any run started while instrumentation is suppressed (OpenTelemetry's
      ``suppress_instrumentation``, under which the driver's activities run the
      graph's own loop): OpenInference would give it no span anyway, but LangChain's
      ``BaseTracer`` builds and keeps its ``Run`` before OpenInference looks.

    Such a run's later callbacks (end, error, token, retry) are skipped too. Wraps the
    handler's callbacks of :data:`_RUN_STARTS` and :data:`_RUN_EVENTS` (``BaseTracer``
    of langchain-core 1.8, ``OpenInferenceTracer`` of
    openinference-instrumentation-langchain 0.1.80)."""
    from opentelemetry.instrumentation.utils import is_instrumentation_enabled

    skipped: set[Any] = set()

    def starting(call: Any, chain: bool) -> Any:
        def start(*args: Any, run_id: Any, parent_run_id: Any = None, **kwargs: Any) -> Any:
            if not is_instrumentation_enabled() or (
                chain and kwargs.get("run_type") in (None, "chain")
                and _node_run(handler, kwargs.get("name"), kwargs.get("metadata"), parent_run_id)
            ):
                skipped.add(run_id)
                return None
            return call(*args, run_id=run_id, parent_run_id=parent_run_id, **kwargs)

        return start

    def unless_skipped(call: Any, ends: bool) -> Any:
        def event(*args: Any, run_id: Any, **kwargs: Any) -> Any:
            if run_id in skipped:
                if ends:
                    skipped.discard(run_id)
                return None
            return call(*args, run_id=run_id, **kwargs)

        return event

    for name in _RUN_STARTS:
        setattr(handler, name, starting(getattr(handler, name), name == "on_chain_start"))
    for name in _RUN_EVENTS:
        setattr(handler, name, unless_skipped(getattr(handler, name), name.endswith(("_end", "_error"))))


def shutdown() -> None:
    """Flush and stop this process's tracing (exports the spans still batched); a
    no-op when off. Call it once on the way out."""
    global _STATE
    state, _STATE = _STATE, None
    if state is None:
        return
    for instrumentor in state.instrumented:
        with contextlib.suppress(Exception):
            instrumentor.uninstrument()
    if state.owned:
        with contextlib.suppress(Exception):
            state.provider.shutdown()
    else:
        with contextlib.suppress(Exception):
            state.provider.force_flush()


# ---------------------------------------------------------------------- API side


def instrument_app(app: Any) -> None:
    """Give every request to FastAPI app ``app`` a server span (the route template as
    name; ``OTEL_PYTHON_FASTAPI_EXCLUDED_URLS`` leaves URLs out); no per-message spans
    for streamed bodies. A no-op when tracing is off."""
    state = _STATE
    if state is None or not state.fastapi:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, tracer_provider=state.provider, exclude_spans=["receive", "send"])


def _set(span: Any, attributes: Mapping[str, Any]) -> None:
    span.set_attributes({PREFIX + k: v for k, v in attributes.items() if v is not None and v != ""})


def annotate(**attributes: Any) -> None:
    """Set ``evergraph.<name>`` attributes (``None`` left out) on the current span; a
    no-op when tracing is off or no span records."""
    if _STATE is None:
        return
    span = opentelemetry.trace.get_current_span()
    if span.is_recording():
        _set(span, attributes)


def _carrier(context: Any = None) -> dict[str, str] | None:
    carrier: dict[str, str] = {}
    _W3C.inject(carrier, context)
    return carrier or None


def run_context(run: Mapping[str, Any], graph_id: str, strategy: str | None = None) -> dict[str, str] | None:
    """The W3C trace context a new run's workflow continues (``RunInput.trace``): the
    current span's (the API request's, or a cron tick's activity), which also gets the
    run's ids as attributes. ``None`` when tracing is off or no span records.

    Args:
        run: the run record (``run_id``, ``thread_id``, ``assistant_id``).
        graph_id: the assistant's graph.
        strategy: the run's ``multitask_strategy``.
    """
    if _STATE is None:
        return None
    span = opentelemetry.trace.get_current_span()
    if not span.is_recording():
        return None
    _set(span, {
        "thread_id": run.get("thread_id"), "run_id": run.get("run_id"), "assistant_id": run.get("assistant_id"),
        "graph_id": graph_id, "multitask_strategy": strategy,
    })
    return _carrier()


def new_trace(name: str, **attributes: Any) -> dict[str, str] | None:
    """Start a new trace for a run no request created (a Temporal ``resume`` signal):
    a root span ``name`` with ``evergraph.*`` ``attributes``, linked to the current
    span if any, ended at once; returns its W3C context for ``RunInput.trace``, or
    ``None`` when tracing is off."""
    state = _STATE
    if state is None:
        return None
    here = opentelemetry.trace.get_current_span().get_span_context()
    links = [opentelemetry.trace.Link(here)] if here.is_valid else None
    span = state.tracer.start_span(name, context=opentelemetry.context.Context(), links=links)
    _set(span, attributes)
    span.end()
    if not span.get_span_context().is_valid:
        return None
    return _carrier(opentelemetry.trace.set_span_in_context(span))


# ---------------------------------------------------------------------- Temporal side


def temporal_interceptors() -> list[Any]:
    """The interceptors of Evergraph's Temporal client (workers built from it inherit
    them): ``[]`` when tracing is off, else one tracing interceptor (see the module
    docstring)."""
    if _STATE is None:
        return []
    return [_interceptor_class()(_STATE.provider.get_tracer("temporalio"))]


def _get(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _attributes(value: Any) -> dict[str, Any]:
    """``evergraph.*`` attributes (without the prefix) of a workflow or activity
    argument: ``RunInput`` or anything carrying one as ``run`` (``NodeInput``,
    ``AdvanceRequest``, ``FinishInput``, ``SubmitRun``), a ``TaskSpec`` as ``task``,
    ``ThreadInput``; a mapping of the same shape (a node attempt's raw JSON)."""
    if value is None or isinstance(value, (str, bytes, int, float, bool, list, tuple)):
        return {}
    run = _get(value, "run")
    source = run if run is not None else value
    out = {name: _get(source, name) for name in ("thread_id", "run_id", "assistant_id", "graph_id")}
    strategy = _get(value, "multitask_strategy")
    if strategy is not None:
        out["multitask_strategy"] = strategy
    task = _get(value, "task")
    if task is not None:
        out.update(node=_get(task, "name"), task_id=_get(task, "task_id"), step=_get(task, "step"))
    return {k: v for k, v in out.items() if v is not None and v != ""}


#: Evergraph's own driver activities: no spans of their own (see :func:`_untraced`)
DRIVER_ACTIVITIES = frozenset({"advance", "finish_run"})

#: signals one of Evergraph's workflows sends another: their handling gets no span,
#: the sender's ``SignalExternalWorkflow`` span marks them in the same trace
INTERNAL_SIGNALS = frozenset({"run_ended"})


def _untraced(activity: str, arg: Any) -> bool:
    """Whether a driver activity (``advance``, ``finish_run``) of argument ``arg``
    goes without spans. They are Evergraph driving LangGraph's superstep loop, about a
    third of a run's spans, and tell an operator nothing the node attempts' spans do
    not; the exception is an ``advance`` that reports node timeouts (``results`` with a
    ``timeout_kind``), which keeps its ``RunActivity`` span and gets one
    ``evergraph.node_timeout`` event per timed-out attempt."""
    if activity not in DRIVER_ACTIVITIES:
        return False
    return not any(_get(result, "timeout_kind") for result in _get(arg, "results") or ())


def _raw_json(raw: Any) -> Any:
    """A dynamic activity's first argument (its arguments come as one sequence of
    ``RawValue``) as JSON; any other argument as it is."""
    if isinstance(raw, (list, tuple)) and raw and hasattr(raw[0], "payload"):
        raw = raw[0]
    payload = getattr(raw, "payload", None)
    if payload is None:
        return raw
    try:
        return orjson.loads(payload.data)
    except (ValueError, TypeError):  # orjson.JSONDecodeError is a ValueError
        return None


_INTERCEPTOR: type | None = None


def _interceptor_class() -> type:
    """Build (once) the interceptor classes; deferred so that nothing of temporalio's
    OpenTelemetry integration is imported while tracing is off."""
    global _INTERCEPTOR
    if _INTERCEPTOR is not None:
        return _INTERCEPTOR
    import temporalio.activity
    import temporalio.worker
    from opentelemetry.instrumentation.utils import suppress_instrumentation
    from temporalio.contrib.opentelemetry import TracingInterceptor, TracingWorkflowInboundInterceptor

    SERVER = opentelemetry.trace.SpanKind.SERVER

    class DriverActivities(temporalio.worker.ActivityInboundInterceptor):
        """Outside Temporal's activity tracing: a driver activity runs with LangChain
        instrumentation suppressed (``advance`` runs the driver's loop, the graph's
        root run, which outlives the activity; its node runs get their spans in their
        own attempts), and skips the tracing when the workflow sent it without a trace
        context (:func:`_untraced`)."""

        def __init__(self, traced: temporalio.worker.ActivityInboundInterceptor,
                     plain: temporalio.worker.ActivityInboundInterceptor, header_key: str) -> None:
            super().__init__(traced)
            self._plain = plain
            self._header_key = header_key

        async def execute_activity(self, input: temporalio.worker.ExecuteActivityInput) -> Any:
            if temporalio.activity.info().activity_type not in DRIVER_ACTIVITIES:
                return await super().execute_activity(input)
            chain = self.next if self._header_key in (input.headers or {}) else self._plain
            with suppress_instrumentation():
                return await chain.execute_activity(input)

    class ActivityAttributes(temporalio.worker.ActivityInboundInterceptor):
        """Inside the ``RunActivity`` span: the ``evergraph.*`` attributes of the
        activity's argument and its attempt; for ``advance``, the node timeouts the
        workflow reports as span events."""

        async def execute_activity(self, input: temporalio.worker.ExecuteActivityInput) -> Any:
            info = temporalio.activity.info()
            span = opentelemetry.trace.get_current_span()
            arg = _raw_json(input.args[0]) if input.args else None
            if span.is_recording():
                ids = {"run_id": arg} if info.activity_type == "send_webhook" else _attributes(arg)
                _set(span, {"attempt": info.attempt, **ids})
                for result in _get(arg, "results") or ():
                    if _get(result, "timeout_kind"):
                        span.add_event("evergraph.node_timeout", {
                            PREFIX + "task_id": _get(result, "task_id"),
                            PREFIX + "timeout_kind": _get(result, "timeout_kind"),
                        })
            return await super().execute_activity(input)

    class RunWorkflowTracing(TracingWorkflowInboundInterceptor):
        """Temporal's workflow tracing, with three changes for Evergraph:

        * every span of the workflow carries the ``evergraph.*`` attributes of its
          start argument, and a ``StartActivity``/``StartChildWorkflow`` span those of
          the activity's or child's argument;
        * a run's ``StartChildWorkflow`` span (and so the whole run workflow) continues
          the trace carried in the run's ``RunInput.trace``, not the thread
          workflow's own (which is the trace of whatever request started it);
        * an update or signal that carries a trace context (``submit_run``,
          ``cancel_run``, ``run_ended``) is handled in that trace, not the thread's.
        """

        def __init__(self, next: temporalio.worker.WorkflowInboundInterceptor) -> None:
            super().__init__(next)
            self._evergraph: dict[str, Any] = {}
            #: the header activities carry, and the span id of the context it continues
            self._activity_header: tuple[int, Any] = (-1, None)

        async def execute_workflow(self, input: temporalio.worker.ExecuteWorkflowInput) -> Any:
            self._evergraph = _attributes(input.args[0]) if input.args else {}
            return await super().execute_workflow(input)

        def _completed_span(self, span_name: str, *, additional_attributes: Any = None, **kwargs: Any) -> None:
            outbound = kwargs.get("add_to_outbound")
            args = getattr(outbound, "args", None)
            activity = getattr(outbound, "activity", None)
            if activity is not None:
                if not _untraced(activity, args[0] if args else None):
                    self._continue_in_activity(outbound)
                return
            attributes = {PREFIX + k: v for k, v in self._evergraph.items()}
            parent = None
            if args:
                attributes.update({PREFIX + k: v for k, v in _attributes(args[0]).items()})
                carrier = _get(args[0], "trace") if isinstance(outbound, temporalio.worker.StartChildWorkflowInput) else None
                if carrier:
                    parent = self._set_on_context(self.text_map_propagator.extract(carrier))
            attributes.update(additional_attributes or {})
            with _attached(parent):
                super()._completed_span(span_name, additional_attributes=attributes, **kwargs)

        def _continue_in_activity(self, outbound: Any) -> None:
            """An activity gets no ``StartActivity`` span (Temporal's zero-length mark
            of its scheduling): its ``RunActivity`` span continues the workflow's
            current context (in a run, the run's ``StartChildWorkflow`` span), carried
            in a header encoded once for each context in a row."""
            span_id = opentelemetry.trace.get_current_span().get_span_context().span_id
            cached, header = self._activity_header
            if cached != span_id:
                carrier: dict[str, str] = {}
                self.text_map_propagator.inject(carrier)
                header = self.payload_converter.to_payloads([carrier])[0] if carrier else None
                self._activity_header = (span_id, header)
            if header is not None:
                outbound.headers = {**outbound.headers, self.header_key: header}

        def _caller(self, headers: Mapping[str, Any]) -> Any:
            """The context of the caller that sent ``headers``, or ``None``."""
            payload = headers.get(self.header_key)
            if not payload:
                return None
            carrier = self.payload_converter.from_payloads([payload])[0]
            return self._set_on_context(self.text_map_propagator.extract(carrier)) if carrier else None

        def handle_update_validator(self, input: temporalio.worker.HandleUpdateInput) -> None:
            # no ``ValidateUpdate`` span (a zero-length mark beside ``HandleUpdate``'s),
            # and no caller's context to decode: a validator starts nothing traced
            return self.next.handle_update_validator(input)

        async def handle_update_handler(self, input: temporalio.worker.HandleUpdateInput) -> Any:
            caller = self._caller(input.headers)
            if caller is None:
                return await super().handle_update_handler(input)
            with _attached(caller):
                self._completed_span(f"HandleUpdate:{input.update}", kind=SERVER)
                return await self.next.handle_update_handler(input)

        async def handle_signal(self, input: temporalio.worker.HandleSignalInput) -> None:
            caller = self._caller(input.headers)
            if caller is None:
                return await super().handle_signal(input)
            with _attached(caller):
                if input.signal not in INTERNAL_SIGNALS:
                    self._completed_span(f"HandleSignal:{input.signal}", kind=SERVER)
                return await self.next.handle_signal(input)

    class EvergraphTracingInterceptor(TracingInterceptor):
        """temporalio's ``TracingInterceptor`` with :class:`RunWorkflowTracing` and
        :class:`ActivityAttributes` (see :func:`temporal_interceptors`)."""

        def intercept_activity(self, next: temporalio.worker.ActivityInboundInterceptor):
            return DriverActivities(super().intercept_activity(ActivityAttributes(next)), next, self.header_key)

        def workflow_interceptor_class(self, input: temporalio.worker.WorkflowInterceptorClassInput):
            super().workflow_interceptor_class(input)
            return RunWorkflowTracing

    _INTERCEPTOR = EvergraphTracingInterceptor
    return _INTERCEPTOR


@contextlib.contextmanager
def _attached(context: Any) -> Iterator[None]:
    """Make ``context`` current for the block (nothing for ``None``). The detach is
    skipped when the block ends in another ``contextvars`` context (a workflow
    evicted mid-handler is finalised wherever garbage collection runs)."""
    if context is None:
        yield
        return
    token = opentelemetry.context.attach(context)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            token.var.reset(token)
