"""benchmarks/search_speed.py end to end on the numpy toy evaluator (no JAX, no Ray): the table and
the JSON line, including the single-core local rows that run as child processes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_toy_benchmark_prints_table_and_figures():
    out = subprocess.run([sys.executable, "benchmarks/search_speed.py", "--task", "toy", "--evals", "120",
                          "--warmup", "20", "--skip-ray", "--sim-evals", "1000"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    assert figures["local_evals_per_s"] > 0
    assert figures["local1c_evals_per_s"] > 0 and figures["pair1c_evals_per_s"] > 0
    assert figures["ray2_evals_per_s"] is None  # --skip-ray
    assert figures["sim_proposals_per_s"] > 0
    table = "\n".join(lines)
    assert "1x local 1c" in table and "2x local 1c" in table


def test_joint_rate_counts_only_the_common_steady_window(benchmark_module, tmp_path):
    bench = benchmark_module("search_speed")

    def write(name, times):
        d = tmp_path / name
        d.mkdir()
        rows = [{"cached": False, "time": t, "seconds": 0.5} for t in times]
        (d / "evaluations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        return d

    # run a: one evaluation per second from t=1 to t=20; run b starts 5 s later, 2 per second until t=10
    a = write("a", [float(t) for t in range(1, 21)])
    b = write("b", [0.5 * k for k in range(1, 21)])
    rate, busy = bench.joint_rate([(a, 100.0), (b, 105.0)], warmup=2)
    # window: from max(a's 2nd eval 102, b's 2nd eval 106) to min(a's end 120, b's end 115) = (106, 115]
    assert rate == pytest.approx((9 + 18) / 9)
    assert busy == pytest.approx(0.5 * (9 + 18) / 9)
    with pytest.raises(RuntimeError, match="overlap"):
        bench.joint_rate([(a, 0.0), (b, 1000.0)], warmup=2)


def test_config_rows_run_on_the_backend_each_row_names(benchmark_module):
    # a config may say `backend: ray` (the replay's does); the local rows must still run locally
    import argparse

    bench = benchmark_module("search_speed")
    args = argparse.Namespace(config=str(ROOT / "configs" / "lion_rediscovery.yaml"), set=[], evals=10)
    assert bench.base_config(args).backend == "local"
    assert bench.base_config(args, seed=3).seed == 3
    ray_cfg = bench.base_config(args, backend="ray", ray={"workers": 1})
    assert ray_cfg.backend == "ray" and ray_cfg.ray.workers == 1
