"""Reading ``langgraph.json`` the way ``langgraph dev`` reads it.

Honoured keys: ``graphs`` (``"./file.py:attr"`` or ``"package.module:attr"``, or an
object with ``path`` and optional ``description``), ``env`` (a ``.env`` file path or a
mapping), ``dependencies`` (local paths put on ``sys.path``). Other keys (``auth``,
``store``, ``checkpointer``, ``http``, ``webhooks``…) are kept in
:attr:`LangGraphConfig.raw` for the components that honour them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A ``langgraph.json`` problem; the message names the file, key and value."""


@dataclass(frozen=True)
class GraphSpec:
    """One entry of ``graphs``.

    Attributes:
        graph_id: the key in ``graphs`` (also the system assistant's name).
        target: ``"./path/file.py"`` or ``"package.module"`` (the part before ``:``).
        attr: attribute name inside the module (the part after ``:``).
        description: optional description from the object form.
        base_dir: folder of the ``langgraph.json``; relative file targets resolve here.
    """

    graph_id: str
    target: str
    attr: str
    description: str | None
    base_dir: Path

    @property
    def is_file(self) -> bool:
        """True when :attr:`target` names a Python file rather than a module."""
        return self.target.endswith(".py") or "/" in self.target or self.target.startswith(".")

    @property
    def file_path(self) -> Path:
        """Absolute path of the target file (only meaningful when :attr:`is_file`)."""
        return (self.base_dir / self.target).resolve()


@dataclass(frozen=True)
class LangGraphConfig:
    """A parsed ``langgraph.json``."""

    path: Path
    graphs: dict[str, GraphSpec]
    env: dict[str, str]
    dependencies: list[Path]
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def base_dir(self) -> Path:
        """Folder holding the ``langgraph.json``."""
        return self.path.parent


def _parse_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :]
        key, sep, value = line.partition("=")
        if not sep:
            raise ConfigError(f"{path}:{lineno}: expected KEY=VALUE, got {line!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def load_config(path: str | Path) -> LangGraphConfig:
    """Parse and validate a ``langgraph.json``.

    Args:
        path: path of the JSON file.

    Returns:
        The parsed config; graph targets are not imported yet (see
        :mod:`adapter.graphs`).

    Raises:
        ConfigError: the file is missing or malformed, or a graph entry is not of the
            form ``target:attr``.
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise ConfigError(f"langgraph.json not found: {path}")
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: invalid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a JSON object at the top level")
    base = path.parent
    graphs_raw = raw.get("graphs")
    if not isinstance(graphs_raw, dict) or not graphs_raw:
        raise ConfigError(f"{path}: 'graphs' must be a non-empty object of graph_id -> 'path:attr'")
    graphs: dict[str, GraphSpec] = {}
    for graph_id, entry in graphs_raw.items():
        description = None
        if isinstance(entry, dict):
            description = entry.get("description")
            entry = entry.get("path")
        if not isinstance(entry, str) or ":" not in entry:
            raise ConfigError(
                f"{path}: graph {graph_id!r} must be 'path/to/file.py:attr' or "
                f"'package.module:attr', got {entry!r}"
            )
        target, _, attr = entry.rpartition(":")
        if not target or not attr:
            raise ConfigError(f"{path}: graph {graph_id!r} has an empty path or attribute: {entry!r}")
        graphs[graph_id] = GraphSpec(graph_id, target, attr, description, base)

    env_raw = raw.get("env") or {}
    if isinstance(env_raw, str):
        env_path = (base / env_raw).resolve()
        if not env_path.is_file():
            raise ConfigError(f"{path}: env file not found: {env_path}")
        env = _parse_env_file(env_path)
    elif isinstance(env_raw, dict):
        env = {str(k): str(v) for k, v in env_raw.items()}
    else:
        raise ConfigError(f"{path}: 'env' must be a file path or an object, got {type(env_raw).__name__}")

    deps_raw = raw.get("dependencies") or []
    if not isinstance(deps_raw, list):
        raise ConfigError(f"{path}: 'dependencies' must be a list")
    dependencies = []
    for dep in deps_raw:
        if isinstance(dep, str) and (dep.startswith(".") or dep.startswith("/")):
            dependencies.append((base / dep).resolve())
        # Package names (e.g. "langchain_openai") are installed by the user's environment.
    return LangGraphConfig(path=path, graphs=graphs, env=env, dependencies=dependencies, raw=raw)


def apply_env(config: LangGraphConfig) -> None:
    """Export the config's ``env`` into ``os.environ`` without overriding set variables.

    Mirrors ``langgraph dev``, where the process environment wins over ``env``.
    """
    for key, value in config.env.items():
        os.environ.setdefault(key, value)
