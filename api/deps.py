"""FastAPI dependencies of the route handlers, as ``Annotated`` aliases: a handler
declares ``services: ServicesDep`` (HTTP and WebSocket routes alike).

See docs/architecture.md for the layers.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from evergraph.adapter.resources.protocol import ProtocolHub
from evergraph.adapter.services import Services

__all__ = ["ProtocolHubDep", "ServicesDep", "protocol_hub", "services"]


def services(conn: HTTPConnection) -> Services:
    """The :class:`~evergraph.adapter.services.Services` the app was created with."""
    return conn.app.state.services


def protocol_hub(conn: HTTPConnection) -> ProtocolHub:
    """The app's :class:`~evergraph.adapter.resources.protocol.ProtocolHub` (the v2
    protocol's thread logs), created on first use."""
    hub = getattr(conn.app.state, "protocol_hub", None)
    if hub is None:
        hub = conn.app.state.protocol_hub = ProtocolHub(conn.app.state.services)
    return hub


ServicesDep = Annotated[Services, Depends(services)]
"""The process services, for ``services: ServicesDep`` in a route's signature."""

ProtocolHubDep = Annotated[ProtocolHub, Depends(protocol_hub)]
"""The app's protocol hub, for ``hub: ProtocolHubDep`` in a route's signature."""
