"""Custom auth for tests/test_auth.py: bearer tokens map to users; every resource is
stamped with ``metadata.owner`` on create and filtered by it everywhere else; store
namespaces are prefixed with the user's identity."""

import json
from typing import Any

from langgraph_sdk import Auth

auth = Auth()

#: token -> user
USERS = {
    "token-alice": {"identity": "alice", "permissions": ["write"], "display_name": "Alice"},
    "token-bob": {"identity": "bob", "permissions": ["write"]},
    "token-reader": {"identity": "reader", "permissions": []},
    # refused every action the catch-all handler decides (tests/test_protocol_errors.py)
    "token-outsider": {"identity": "outsider", "permissions": ["outsider"]},
}


@auth.authenticate
async def authenticate(
    authorization: str | None, path: str, method: str, path_params: dict[str, str] | None
) -> Auth.types.MinimalUserDict:
    if authorization == "Bearer token-path-params":  # answers with what the handler was given
        raise Auth.exceptions.HTTPException(status_code=403, detail=json.dumps({"path_params": path_params}))
    if not authorization:
        raise Auth.exceptions.HTTPException(status_code=401, detail="Missing bearer token")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or token not in USERS:
        raise Auth.exceptions.HTTPException(status_code=401, detail="Invalid bearer token")
    return USERS[token]


@auth.on
async def owner_only(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> Auth.types.FilterType:
    """Every resource/action without a more specific handler: stamp the owner on
    whatever carries metadata, and only show the user's own records."""
    if "outsider" in ctx.user.permissions:
        return False
    if ctx.action in ("create", "update", "create_run") and "write" not in ctx.user.permissions:
        return False
    metadata = value.get("metadata")
    if ctx.action in ("create", "create_run") and isinstance(metadata, dict):
        metadata["owner"] = ctx.user.identity
    elif ctx.action in ("create", "create_run") and "metadata" in value:
        value["metadata"] = {"owner": ctx.user.identity}
    return {"owner": ctx.user.identity}


@auth.on.assistants.search
async def assistants_search(ctx: Auth.types.AuthContext, value: Auth.types.on.assistants.search.value):
    """The most specific handler wins: the $eq form of the same filter."""
    return {"owner": {"$eq": ctx.user.identity}}


@auth.on.threads.delete
async def no_deletes_for_readers(ctx: Auth.types.AuthContext, value: Auth.types.on.threads.delete.value):
    if "write" not in ctx.user.permissions:
        raise Auth.exceptions.HTTPException(status_code=403, detail="Readers cannot delete")
    return {"owner": ctx.user.identity}


@auth.on.store
async def scope_store(ctx: Auth.types.AuthContext, value: dict[str, Any]):
    """Every store operation happens under the user's own namespace prefix."""
    namespace = tuple(value.get("namespace") or ())
    if not namespace or namespace[0] != ctx.user.identity:
        namespace = (ctx.user.identity, *namespace)
    value["namespace"] = namespace
