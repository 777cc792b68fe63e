"""What a graph factory is called with: the ``RunnableConfig``, the
``langgraph_sdk.runtime.ServerRuntime``, or both, as langgraph-api 0.16.7 calls them.

* :func:`classify_factory` reads a factory's signature once, at start-up: no
  parameter; one parameter (the ``ServerRuntime`` when annotated as one, the config
  otherwise, whatever its name); two parameters (exactly one annotated as
  ``ServerRuntime``, the other gets the config; both passed by keyword). Annotations
  may be strings (``"ServerRuntime[Ctx]"``, with the import under ``TYPE_CHECKING``),
  parameterised, ``Annotated[...]`` or the SDK's runtime classes.
* :func:`server_runtime` builds the runtime for an *access context*:
  ``threads.create_run`` (a run executes the graph: the SDK's execution runtime, with
  the run's ``context``), or ``threads.read`` / ``threads.update`` /
  ``assistants.read`` (the graph's structure is read: the read runtime). Both carry
  ``user`` and ``store``.
* :data:`REQUEST_USER` holds the authenticated user of the HTTP request being served
  (the API's auth middleware sets it); reads outside any authenticated request get
  :data:`ANONYMOUS` (identity ``""``), and runs get the user stored in the run's
  ``configurable["langgraph_auth_user"]`` (``None`` without authentication), as
  langgraph-api gives them.
"""

from __future__ import annotations

import copy
import inspect
import typing
from contextvars import ContextVar
from typing import Any, Callable, Literal, Mapping, get_args, get_origin

from langchain_core.runnables import RunnableConfig
from langgraph_sdk.runtime import ServerRuntime

from evergraph.adapter.users import AuthUser

# the SDK's two runtime variants are private names of langgraph_sdk.runtime, pinned
# for langgraph-sdk 0.4 (the version langgraph-api 0.16.7 uses)
from langgraph_sdk.runtime import _ExecutionRuntime, _ReadRuntime

__all__ = [
    "ANONYMOUS",
    "REQUEST_USER",
    "AccessContext",
    "FactoryCall",
    "classify_factory",
    "run_user",
    "server_runtime",
]

AccessContext = Literal["threads.create_run", "threads.update", "threads.read", "assistants.read"]
"""Why a graph factory is called (the SDK's ``AccessContext``)."""

FactoryCall = Callable[[RunnableConfig, Any], dict[str, Any]]
"""Maps ``(config, runtime)`` to the keyword arguments of one factory."""


#: the user of a request without authentication (langgraph-api's unauthenticated user)
ANONYMOUS = AuthUser({"identity": "", "display_name": "", "is_authenticated": False})

#: the authenticated user of the HTTP request being served (``None``: no auth)
REQUEST_USER: ContextVar[Any] = ContextVar("evergraph_request_user", default=None)

# names a factory's string annotations may use without importing them at run time
_LOCALNS = {"ServerRuntime": ServerRuntime, "RunnableConfig": RunnableConfig}
_RUNTIME_CLASSES = (_ExecutionRuntime, _ReadRuntime)


def _is_runtime(annotation: Any) -> bool:
    if annotation is inspect.Parameter.empty:
        return False
    if annotation is ServerRuntime:
        return True
    if isinstance(annotation, type):
        return issubclass(annotation, _RUNTIME_CLASSES)
    origin = get_origin(annotation)
    if origin is None:
        return False
    if origin is ServerRuntime:
        return True
    args = get_args(annotation)
    return bool(args) and _is_runtime(args[0])


def classify_factory(fn: Callable[..., Any]) -> FactoryCall:
    """How to call the graph factory ``fn``: a function of ``(config, runtime)``
    returning its keyword arguments (positional for one parameter).

    Raises:
        ValueError: ``fn`` takes more than two parameters, or two of which not exactly
            one is annotated as ``ServerRuntime``.
    """
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return lambda config, runtime: {"__positional__": config}
    try:
        hints = typing.get_type_hints(fn, localns=_LOCALNS)
    except Exception:  # noqa: BLE001 - unresolvable annotations count as absent
        hints = {}

    def annotation(p: inspect.Parameter) -> Any:
        return hints.get(p.name, p.annotation)

    if not params:
        return lambda config, runtime: {}
    if len(params) == 1:
        p = params[0]
        wants_runtime = _is_runtime(annotation(p))
        positional = p.kind in (p.POSITIONAL_ONLY, p.VAR_POSITIONAL)
        if positional:
            return lambda config, runtime: {"__positional__": runtime if wants_runtime else config}
        return lambda config, runtime: {p.name: runtime if wants_runtime else config}
    if len(params) == 2:
        runtime_at = [i for i, p in enumerate(params) if _is_runtime(annotation(p))]
        if len(runtime_at) != 1:
            raise ValueError(
                f"Graph factory {getattr(fn, '__qualname__', fn)!r} takes two parameters: exactly one "
                f"must be annotated ServerRuntime (langgraph_sdk.runtime), the other is the "
                f"RunnableConfig; got {[str(annotation(p)) for p in params]}"
            )
        rt_name = params[runtime_at[0]].name
        cfg_name = params[1 - runtime_at[0]].name
        return lambda config, runtime: {rt_name: runtime, cfg_name: config}
    raise ValueError(
        f"Graph factory {getattr(fn, '__qualname__', fn)!r} must take 0, 1 or 2 parameters "
        f"(RunnableConfig and/or ServerRuntime), got {len(params)}: {[p.name for p in params]}"
    )


def run_user(config: Mapping[str, Any] | None) -> Any:
    """The user a run's factory call gets: ``configurable["langgraph_auth_user"]`` of
    the run's config as a :class:`AuthUser`, or ``None`` (no authentication)."""
    user = ((config or {}).get("configurable") or {}).get("langgraph_auth_user")
    if isinstance(user, Mapping) and "identity" in user:
        return AuthUser(user)
    return user if user is not None and hasattr(user, "identity") else None


def server_runtime(access: AccessContext, store: Any, user: Any, context: Any = None) -> Any:
    """The ``ServerRuntime`` a factory gets for ``access``.

    Args:
        access: the access context.
        store: the process's LangGraph store.
        user: the user (``BaseUser`` protocol) or ``None``.
        context: the run's context (only for ``threads.create_run``; shallow-copied).

    Raises:
        ValueError: ``access`` is not an access context.
    """
    if access == "threads.create_run":
        return _ExecutionRuntime(
            access_context=access, user=user, store=store,
            context=copy.copy(context) if context is not None else None,
        )
    if access not in ("threads.update", "threads.read", "assistants.read"):
        raise ValueError(f"unknown access context {access!r}")
    return _ReadRuntime(access_context=access, user=user, store=store)
