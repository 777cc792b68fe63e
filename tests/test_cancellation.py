"""Evergraph's own code never waits with ``asyncio.wait_for``.

On Python 3.11 (which Evergraph supports) ``asyncio.wait_for`` returns the awaited
result and drops a cancellation that arrives in the loop turn the awaited thing
completes in (CPython gh-86296, fixed in 3.12). A loop that waits that way can then
never be cancelled: the Redis broker's run-start listener did so and its ``close()``
hung. ``asyncio.timeout`` has no such race; ``tests/test_broker_conformance.py``
checks the Redis reader's behaviour itself.
"""

from __future__ import annotations

import ast

from tests.conftest import ROOT
from tests.test_layers import LAYERS


def _wait_for_calls() -> list[str]:
    found = []
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr == "wait_for"
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "asyncio"
                ):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_module_waits_with_asyncio_wait_for():
    assert _wait_for_calls() == [], "use `async with asyncio.timeout(...)` instead (see the module docstring)"


def test_the_check_sees_a_call(tmp_path, monkeypatch):
    """The scan finds the call it forbids (so the test above can fail)."""
    import tests.test_cancellation as me

    for layer in LAYERS:
        (tmp_path / layer).mkdir()
    (tmp_path / "api" / "m.py").write_text("import asyncio\nasync def f(x):\n    await asyncio.wait_for(x, 1)\n")
    monkeypatch.setattr(me, "ROOT", tmp_path)
    assert me._wait_for_calls() == ["api/m.py:3"]
