"""The user LangGraph code is given (``ctx.user`` of auth handlers, a graph
factory's ``runtime.user``, a node's ``runtime.server_info.user``): LangGraph's
``BaseUser`` protocol over the fields the ``@auth.authenticate`` handler returned."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

__all__ = ["AuthUser"]


class AuthUser:
    """The authenticated user given to handlers as ``ctx.user``.

    Implements LangGraph's ``BaseUser`` protocol (``identity``, ``permissions``,
    ``display_name``, ``is_authenticated``) and also reads like the dict the
    ``@auth.authenticate`` handler returned: ``user["identity"]``, ``"email" in
    user``, and extra fields as attributes (``user.email``).
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        data = dict(data)
        data.setdefault("display_name", data["identity"])
        data.setdefault("is_authenticated", True)
        data["permissions"] = list(data.get("permissions") or [])
        object.__setattr__(self, "_data", data)

    @property
    def identity(self) -> str:
        """The user's id."""
        return self._data["identity"]

    @property
    def permissions(self) -> Sequence[str]:
        """Permissions the authenticate handler returned (default none)."""
        return self._data["permissions"]

    @property
    def display_name(self) -> str:
        """Display name (default: the identity)."""
        return self._data["display_name"]

    @property
    def is_authenticated(self) -> bool:
        """Whether the user is authenticated (default true)."""
        return bool(self._data["is_authenticated"])

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self):
        return iter(self._data)

    def dict(self) -> dict[str, Any]:
        """A copy of the user's fields."""
        return dict(self._data)

    def __repr__(self) -> str:
        return f"AuthUser(identity={self.identity!r})"
