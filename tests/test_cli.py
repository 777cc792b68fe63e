"""Start-up problems stop `evergraph` with a message that names what is wrong."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT


def _run(args, env_extra=None, tmp: Path | None = None) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("EVERGRAPH_")}
    env.update({"PYTHONPATH": str(ROOT), "TEMPORAL_ADDRESS": "127.0.0.1:1", **(env_extra or {})})
    return subprocess.run(
        [sys.executable, "-m", "evergraph.adapter.process.cli", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_missing_graph_file_names_graph_and_path(tmp_path):
    cfg = tmp_path / "langgraph.json"
    cfg.write_text(json.dumps({"graphs": {"mygraph": "./nowhere.py:graph"}}))
    result = _run(["dev", "--config", str(cfg), "--data-dir", str(tmp_path / "d")])
    assert result.returncode == 2
    assert "mygraph" in result.stderr and str(tmp_path / "nowhere.py") in result.stderr


def test_missing_attribute_names_graph_and_path(tmp_path):
    (tmp_path / "g.py").write_text("x = 1\n")
    cfg = tmp_path / "langgraph.json"
    cfg.write_text(json.dumps({"graphs": {"other": "./g.py:graph"}}))
    result = _run(["worker", "--config", str(cfg), "--data-dir", str(tmp_path / "d")])
    assert result.returncode == 2
    assert "'other'" in result.stderr and "no attribute 'graph'" in result.stderr


def test_missing_config_file(tmp_path):
    result = _run(["serve", "--config", str(tmp_path / "nope.json")])
    assert result.returncode == 2
    assert "langgraph.json not found" in result.stderr


def test_invalid_setting_names_the_variable(tmp_path):
    cfg = tmp_path / "langgraph.json"
    cfg.write_text(json.dumps({"graphs": {"g": "./g.py:graph"}}))
    result = _run(["serve", "--config", str(cfg)], {"EVERGRAPH_MAX_CONCURRENT_NODES": "lots"})
    assert result.returncode == 2
    assert "EVERGRAPH_MAX_CONCURRENT_NODES" in result.stderr


def test_unreachable_temporal_is_reported(tmp_path):
    (tmp_path / "g.py").write_text(
        "from langgraph.graph import StateGraph, START, END\n"
        "b = StateGraph(dict)\nb.add_node('n', lambda s: {})\nb.add_edge(START, 'n')\nb.add_edge('n', END)\n"
        "graph = b.compile()\n"
    )
    cfg = tmp_path / "langgraph.json"
    cfg.write_text(json.dumps({"graphs": {"g": "./g.py:graph"}}))
    result = _run(["worker", "--config", str(cfg), "--data-dir", str(tmp_path / "d")])
    assert result.returncode == 2
    assert "cannot use Temporal at 127.0.0.1:1" in result.stderr


def test_missing_env_file_is_a_warning(tmp_path):
    """``"env": ".env"`` naming a file that does not exist (templates ship only
    ``.env.example``) starts as langgraph-api does, with a warning: the process gets
    past the configuration and stops only at the unreachable Temporal."""
    (tmp_path / "g.py").write_text(
        "from langgraph.graph import StateGraph, START, END\n"
        "b = StateGraph(dict)\nb.add_node('n', lambda s: {})\nb.add_edge(START, 'n')\nb.add_edge('n', END)\n"
        "graph = b.compile()\n"
    )
    cfg = tmp_path / "langgraph.json"
    cfg.write_text(json.dumps({"graphs": {"g": "./g.py:graph"}, "env": ".env"}))
    result = _run(["worker", "--config", str(cfg), "--data-dir", str(tmp_path / "d")])
    assert "env file" in result.stderr and str(tmp_path / ".env") in result.stderr
    assert "cannot use Temporal at 127.0.0.1:1" in result.stderr


# ------------------------------------------- the API failing to start ends the process

_GRAPH = (
    "from langgraph.graph import StateGraph, START, END\n"
    "b = StateGraph(dict)\nb.add_node('n', lambda s: {})\nb.add_edge(START, 'n')\nb.add_edge('n', END)\n"
    "graph = b.compile()\n"
)


def _project(tmp: Path, **extra) -> Path:
    """A project with one small graph; ``extra`` goes into its langgraph.json."""
    (tmp / "g.py").write_text(_GRAPH)
    cfg = tmp / "langgraph.json"
    cfg.write_text(json.dumps({"graphs": {"g": "./g.py:graph"}, **extra}))
    return cfg


def _run_with_temporal(temporal_server, args, tmp: Path) -> subprocess.CompletedProcess:
    """``evergraph <args>`` against the session's Temporal, on its own task queue; a
    process that hangs fails the test after 60 s (and is killed)."""
    from evergraph.adapter.process.devserver import free_port

    return _run(
        [*args, "--data-dir", str(tmp / "d")],
        {"TEMPORAL_ADDRESS": temporal_server.address, "EVERGRAPH_TASK_QUEUE": f"cli-{free_port()}"},
    )


@pytest.mark.parametrize("command", ["dev", "serve"])
def test_auth_module_that_raises_at_import_ends_the_process(temporal_server, tmp_path, command):
    """``auth.path`` naming a module that raises when imported: exit code 2 with the
    module's error, never ``Ready.``. (``dev`` used to hang in its running worker.)"""
    (tmp_path / "badauth.py").write_text('raise RuntimeError("auth module exploded at import")\n')
    cfg = _project(tmp_path, auth={"path": "./badauth.py:auth"})
    from evergraph.adapter.process.devserver import free_port

    result = _run_with_temporal(temporal_server, [command, "--config", str(cfg), "--port", str(free_port())], tmp_path)
    assert result.returncode == 2, result
    assert "auth module exploded at import" in result.stderr and "auth.path" in result.stderr
    assert "Ready." not in result.stdout


@pytest.mark.parametrize("command", ["dev", "serve"])
def test_lifespan_failure_ends_the_process(temporal_server, tmp_path, command):
    """A ``http.app`` whose lifespan raises at start-up: a non-zero exit with the
    error, never ``Ready.``."""
    (tmp_path / "badapp.py").write_text(
        "from contextlib import asynccontextmanager\nfrom starlette.applications import Starlette\n\n"
        "@asynccontextmanager\nasync def lifespan(app):\n    raise RuntimeError('lifespan exploded')\n    yield\n\n"
        "app = Starlette(lifespan=lifespan)\n"
    )
    cfg = _project(tmp_path, http={"app": "./badapp.py:app"})
    from evergraph.adapter.process.devserver import free_port

    result = _run_with_temporal(temporal_server, [command, "--config", str(cfg), "--port", str(free_port())], tmp_path)
    assert result.returncode != 0, result
    assert "lifespan exploded" in result.stderr
    assert "Ready." not in result.stdout


@pytest.mark.parametrize("command", ["dev", "serve"])
def test_port_in_use_ends_the_process(temporal_server, tmp_path, command):
    cfg = _project(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run_with_temporal(temporal_server, [command, "--config", str(cfg), "--port", str(port)], tmp_path)
    assert result.returncode == 2, result
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "Ready." not in result.stdout


def test_graph_that_fails_to_load_ends_serve(tmp_path):
    """A graph module that raises at import stops ``serve`` before anything starts."""
    (tmp_path / "g.py").write_text('raise ValueError("graph module exploded")\n')
    cfg = tmp_path / "langgraph.json"
    cfg.write_text(json.dumps({"graphs": {"broken": "./g.py:graph"}}))
    result = _run(["serve", "--config", str(cfg), "--data-dir", str(tmp_path / "d")])
    assert result.returncode == 2, result
    assert "'broken'" in result.stderr and "graph module exploded" in result.stderr
    assert "Ready." not in result.stdout


def test_ready_is_printed_once_the_api_answers(temporal_server, tmp_path):
    """The first ``GET /ok`` after ``Ready.`` appears answers 200, the start-up heap
    is frozen (``freeze_startup_heap``); SIGTERM then ends the process with exit
    code 0."""
    import os

    from evergraph.adapter.process.devserver import free_port

    cfg = _project(tmp_path)
    # a custom route (langgraph.json http.app) reports the process's frozen heap
    (tmp_path / "app.py").write_text(
        "import gc\nfrom fastapi import FastAPI\napp = FastAPI()\n"
        "@app.get('/frozen')\ndef frozen():\n    return {'objects': gc.get_freeze_count()}\n"
    )
    config = json.loads(cfg.read_text())
    cfg.write_text(json.dumps({**config, "http": {"app": "./app.py:app"}}))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVERGRAPH_")}
    env.update(
        PYTHONPATH=str(ROOT), TEMPORAL_ADDRESS=temporal_server.address, EVERGRAPH_TASK_QUEUE=f"cli-{port}",
        EVERGRAPH_DATA_DIR=str(tmp_path / "d"),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "evergraph.adapter.process.cli", "serve", "--config", str(cfg), "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        lines = []
        for line in proc.stdout:  # blocks until the process prints or ends
            lines.append(line)
            if line.strip() == "Ready.":
                break
        assert lines and lines[-1].strip() == "Ready.", "".join(lines)
        assert httpx.get(f"http://127.0.0.1:{port}/ok", timeout=5).status_code == 200
        # the start-up heap is out of the garbage collector's full collections
        assert httpx.get(f"http://127.0.0.1:{port}/frozen", timeout=5).json()["objects"] > 100_000
        proc.terminate()
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_free_port_hands_out_each_port_once():
    """``free_port`` picked one after the other (a dev server's port and its UI's,
    the conftest's) never repeats: the kernel alone gave back a port it had just
    handed out about 33 times in 1000 calls."""
    from evergraph.adapter.process.devserver import free_port

    ports = [free_port() for _ in range(1000)]
    assert len(set(ports)) == len(ports)
