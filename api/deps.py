"""Access to the process services from route handlers."""

from __future__ import annotations

from fastapi import Request

from evergraph.adapter.services import Services


def services(request: Request) -> Services:
    """The :class:`~adapter.services.Services` the app was created with."""
    return request.app.state.services
