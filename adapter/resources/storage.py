"""``GET /threads/{id}/storage``: what a thread occupies in the checkpointer
(:mod:`evergraph.adapter.graphs.checkpoint_storage`)."""

from __future__ import annotations

from typing import Any

from evergraph.adapter.graphs.checkpoint_storage import StorageUnsupported, thread_storage
from evergraph.adapter.resources.auth import AuthFilter
from evergraph.adapter.resources.threads import get_thread
from evergraph.adapter.services import Services

__all__ = ["StorageUnsupported", "get_thread_storage"]


async def get_thread_storage(services: Services, thread_id: str, flt: AuthFilter = None) -> dict[str, Any]:
    """``{"thread_id", "total_bytes", "checkpoints", "channel_values",
    "pending_writes"}`` of the thread (sizes in bytes; the shape of
    :func:`~evergraph.adapter.graphs.checkpoint_storage.thread_storage`).

    Raises:
        Invalid: ``thread_id`` is not a UUID. NotFound: no such thread, or hidden by ``flt``.
        StorageUnsupported: the checkpointer cannot report its storage.
    """
    thread = await get_thread(services, thread_id, flt)
    return {"thread_id": thread["thread_id"], **await thread_storage(services.saver, thread["thread_id"])}
