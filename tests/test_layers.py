"""The layers of docs/architecture.md, checked on the repository's source with grimp
(the import-graph library behind import-linter): data flows one way,
``api`` → ``adapter`` → (``workflows``, ``activities``), and no module of Evergraph
imports, even indirectly, a module that imports it back.

grimp reads an installed package's files; the test builds a view of the source tree
as the ``evergraph`` package (symbolic links to the layer folders), so it checks the
tree whether Evergraph is installed from the wheel or editable.
"""

from __future__ import annotations

import sys

import grimp
import pytest

from tests.conftest import ROOT

LAYERS = ("api", "adapter", "workflows", "activities")
#: what each layer may import of Evergraph (beyond itself)
ALLOWED = {
    "api": {"adapter", "workflows"},
    "adapter": {"workflows", "activities"},
    "activities": {"workflows"},
    "workflows": set(),
}
#: the one import against the layers: the process entry point (composition root)
#: starts the API beside the worker
COMPOSITION_ROOT = {("evergraph.adapter.process.cli", "evergraph.api.app")}


@pytest.fixture(scope="module")
def graph(tmp_path_factory) -> grimp.ImportGraph:
    view = tmp_path_factory.mktemp("source-view")
    package = view / "evergraph"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for layer in LAYERS:
        (package / layer).symlink_to(ROOT / layer, target_is_directory=True)
    saved = {name: module for name, module in sys.modules.items() if name == "evergraph" or name.startswith("evergraph.")}
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, str(view))
    try:
        yield grimp.build_graph("evergraph", cache_dir=None)
    finally:
        sys.path.remove(str(view))
        for name in [n for n in sys.modules if n == "evergraph" or n.startswith("evergraph.")]:
            del sys.modules[name]
        sys.modules.update(saved)


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_the_view_holds_every_module(graph):
    files = {p for layer in LAYERS for p in (ROOT / layer).rglob("*.py")}
    assert len([m for m in graph.modules if m.count(".") >= 1]) == len(files)


def test_layers_import_only_downwards(graph):
    wrong = sorted(
        f"{importer} -> {imported}"
        for importer in graph.modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if imported.startswith("evergraph.")
        and _layer(imported) != _layer(importer)
        and _layer(imported) not in ALLOWED.get(_layer(importer), set())
        and (importer, imported) not in COMPOSITION_ROOT
    )
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycles(graph):
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)
