"""Evergraph as users install it: the built wheel in a fresh virtual environment,
serving a project folder outside the repository whose own packages are called
``api``, ``workflows``, ``activities`` and ``adapter``.

The fresh environment gets Evergraph only from the wheel; its dependencies are
borrowed from the test environment through a ``.pth`` path entry (only a path: the
test environment's own ``evergraph``, if installed editable, is not visible), so the
test needs no download.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from langgraph_sdk import get_client

from evergraph.adapter.process.devserver import free_port
from tests.conftest import ROOT, EvergraphProcess

USER_PACKAGES = ("api", "workflows", "activities", "adapter")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The project's wheel, built from the repository."""
    out = tmp_path_factory.mktemp("wheel")
    # built from a copy of what the sdist holds, so the build leaves nothing in the tree
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for layer in USER_PACKAGES:
        shutil.copytree(ROOT / layer, source / layer, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        cwd=str(out),
    )
    (built,) = out.glob("evergraph-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_venv(wheel: Path, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed (no dependencies downloaded); returns its
    ``bin`` folder."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    # first the wheel, into the empty venv (pip would take an evergraph it can see on
    # the dependency path for installed already) ...
    subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True, capture_output=True)
    # ... then the test environment's packages, as a plain path entry after the venv's own
    deps = [p for p in site.getsitepackages() if "site-packages" in p]
    (Path(purelib) / "zz_test_deps.pth").write_text("\n".join(deps) + "\n")
    where = subprocess.run(
        [str(py), "-c", "import evergraph.adapter.process.cli as m; print(m.__file__)"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    assert where.startswith(purelib), f"evergraph imports from {where}, not from the fresh venv"
    return venv / "bin"


def test_the_wheel_installs_one_import_name_with_every_sub_package(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"evergraph"}
    folders = {
        str(p.parent.relative_to(ROOT))
        for layer in USER_PACKAGES
        for p in (ROOT / layer).rglob("__init__.py")
    }
    packaged = {n.rsplit("/", 1)[0].removeprefix("evergraph/") for n in names if n.endswith("/__init__.py")}
    assert folders == packaged, "every sub-package of the layer folders is in the wheel"
    entry_points = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    ).decode()
    assert "evergraph = evergraph.adapter.process.cli:main" in entry_points


def _user_project(root: Path) -> Path:
    """A langgraph.json project whose graph imports its own ``api``, ``workflows``,
    ``activities`` and ``adapter`` packages."""
    for name in USER_PACKAGES:
        (root / name).mkdir(parents=True)
        (root / name / "__init__.py").write_text(f'OWNER = "user:{name}"\n')
    (root / "workflows" / "steps.py").write_text(
        "def greet(name: str) -> str:\n    return f'hello {name}'\n"
    )
    (root / "agent.py").write_text(
        "from typing import TypedDict\n\n"
        "from langgraph.graph import END, START, StateGraph\n\n"
        "import activities\nimport adapter\nimport api\n"
        "from workflows.steps import greet\n\n\n"
        "class State(TypedDict, total=False):\n    name: str\n    greeting: str\n    owners: list[str]\n\n\n"
        "async def hello(state: State) -> State:\n"
        "    return {'greeting': greet(state['name']), 'owners': [api.OWNER, activities.OWNER, adapter.OWNER]}\n\n\n"
        "graph = StateGraph(State).add_node('hello', hello).add_edge(START, 'hello').add_edge('hello', END).compile()\n"
    )
    (root / "langgraph.json").write_text(
        # "env" names a file the project does not have, as templates ship only .env.example
        json.dumps({"dependencies": ["."], "graphs": {"hello": "./agent.py:graph"}, "env": ".env"})
    )
    return root / "langgraph.json"


def _env(temporal_address: str, data_dir: Path, queue: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVERGRAPH_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(TEMPORAL_ADDRESS=temporal_address, EVERGRAPH_DATA_DIR=str(data_dir), EVERGRAPH_TASK_QUEUE=queue)
    return env


def _start(bin_dir: Path, args: list[str], env: dict[str, str], cwd: Path, log: Path) -> EvergraphProcess:
    """Start the wheel's ``evergraph`` console script with ``args`` in ``cwd``."""
    return EvergraphProcess(args, env, log, program=[str(bin_dir / "evergraph")], cwd=cwd)


async def _hello(url: str) -> None:
    client = get_client(url=url)
    thread = await client.threads.create()
    result = await client.runs.wait(thread["thread_id"], "hello", input={"name": "Ada"})
    assert result["greeting"] == "hello Ada"
    assert result["owners"] == ["user:api", "user:activities", "user:adapter"]
    runs = await client.runs.list(thread["thread_id"])
    assert [r["status"] for r in runs] == ["success"]


async def test_serve_and_worker_from_the_wheel_run_a_user_project(wheel_venv: Path, temporal_server, tmp_path: Path):
    """``evergraph serve`` + ``evergraph worker`` from the wheel's console script, in
    the user's project folder, complete a run of a graph that imports the user's own
    ``api`` / ``workflows`` / ``activities`` / ``adapter`` packages."""
    config = _user_project(tmp_path / "project")
    port = free_port()
    env = _env(temporal_server.address, tmp_path / "data", f"wheel-{port}")
    env["EVERGRAPH_CONFIG"] = str(config)
    worker = _start(wheel_venv, ["worker"], env, config.parent, tmp_path / "worker.log")
    api = _start(wheel_venv, ["serve", "--port", str(port)], env, config.parent, tmp_path / "api.log")
    url = f"http://127.0.0.1:{port}"
    try:
        api.wait_ready(url)
        await _hello(url)
    finally:
        api.stop()
        worker.stop()
    assert "ModuleNotFoundError" not in api.output() + worker.output()


async def test_dev_from_the_wheel_runs_a_user_project(wheel_venv: Path, temporal_server, tmp_path: Path):
    """``evergraph dev`` (API and worker in one process) from the wheel, started in the
    user's project folder with its ``langgraph.json``."""
    config = _user_project(tmp_path / "project")
    port = free_port()
    env = _env(temporal_server.address, tmp_path / "data", f"wheel-dev-{port}")
    proc = _start(wheel_venv, ["dev", "--config", "langgraph.json", "--port", str(port)], env, config.parent,
                  tmp_path / "dev.log")
    url = f"http://127.0.0.1:{port}"
    try:
        proc.wait_ready(url)
        await _hello(url)
    finally:
        proc.stop()
