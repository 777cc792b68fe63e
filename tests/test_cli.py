"""Start-up problems stop `evergraph` with a message that names what is wrong."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def _run(args, env_extra=None, tmp: Path | None = None) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("EVERGRAPH_")}
    env.update(PYTHONPATH=str(ROOT), TEMPORAL_ADDRESS="127.0.0.1:1", **(env_extra or {}))
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
