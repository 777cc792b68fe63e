"""``benchmarks/bench_runs.py --compare``: figures pooled over the processes of one
configuration (README "Cost" reports tracing's cost from them)."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_runs  # noqa: E402


def _variant(latency: float, cpu: float | None, rounds: list[float]) -> dict:
    return {"latency_median_ms": latency, "sequential_cpu_ms_per_run": cpu, "runs_per_s": rounds}


def _result(**variants: dict) -> dict:
    return {"reference": next(iter(variants)), "inprocess_median_ms": 1.0, "variants": variants}


def test_processes_of_one_configuration_are_pooled_against_the_reference():
    r = _result(
        off=_variant(200.0, 100.0, [8.0, 6.0, 7.0]),
        traced=_variant(220.0, 110.0, [7.0, 6.0, 7.0]),
        off2=_variant(210.0, 104.0, [6.0, 6.0, 7.0]),
        traced2=_variant(210.0, 110.0, [6.0, 5.0, 7.0]),
        bare=_variant(120.0, None, [14.0, 14.0, 14.0]),
    )
    groups = bench_runs.pooled_groups(r)
    assert set(groups) == {"off", "traced"}  # bare is no configuration of Evergraph's
    off, traced = groups["off"], groups["traced"]
    assert off["processes"] == ["off", "off2"] and traced["processes"] == ["traced", "traced2"]
    assert off["latency_ms"] == 205.0 and traced["latency_ms"] == 215.0
    assert traced["latency_vs_reference"] == pytest.approx(215 / 205)
    assert traced["pair_latency_ratios"] == pytest.approx([1.1, 1.0])
    # per round: 13/14, 11/12, 14/14 -> median 13/14
    assert traced["throughput_vs_reference"] == pytest.approx(13 / 14)
    assert traced["sequential_cpu_vs_reference"] == pytest.approx(110 / 102)
    assert off["latency_vs_reference"] == 1.0
    table = bench_runs.render_compare({**r, "variants": {
        k: {**v, "env": {}, "latency_p90_ms": 0, "per_node_ms": 0, "ratio_vs_bare": 1, "runs_per_s_best": 1,
            "runs_per_s_median": 1, "cpu_ms_per_run": None, "temporal_cpu_ms_per_run": 0,
            "sequential_temporal_cpu_ms_per_run": 0, "latency_vs_reference": 1, "throughput_vs_reference": 1}
        for k, v in r["variants"].items()}, "groups": groups})
    assert "traced                   2       215.0      1.049x      0.929x          1.078x  1.100 1.000" in table


def test_one_process_per_configuration_pools_nothing():
    r = _result(off=_variant(200.0, 100.0, [8.0]), traced=_variant(220.0, 110.0, [7.0]))
    assert bench_runs.pooled_groups(r) == {}
    assert bench_runs.variant_group("traced12") == "traced" and bench_runs.variant_group("42") == "42"
