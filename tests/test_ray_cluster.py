"""`ray.address`: a search joins an existing Ray cluster (a head node started with `ray start`)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("ray")


def _ray_cli() -> list[str]:
    exe = shutil.which("ray", path=os.path.dirname(sys.executable)) or shutil.which("ray")
    if exe is None:
        pytest.skip("the `ray` command line is not installed")
    return [exe]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    # A throwaway loopback cluster: token authentication off for the head node and the driver
    # alike (a real cluster's own auth settings apply there).
    return {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


@pytest.fixture
def head_node(tmp_path):
    port = _free_port()
    cli = _ray_cli()
    env = _env()
    start = subprocess.run(
        cli + ["start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=2",
               "--include-dashboard=false", "--disable-usage-stats"],
        capture_output=True, text=True, timeout=120, env=env)
    if start.returncode != 0:
        pytest.fail(f"ray start failed:\n{start.stdout}\n{start.stderr}")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run(cli + ["stop", "--force"], capture_output=True, timeout=120, env=env)


def test_search_joins_an_existing_cluster(tmp_path, head_node):
    cfg = {"name": "cluster", "backend": "ray", "programs_per_call": 2,
           "search": {"population": 10, "tournament": 3, "max_evaluations": 30},
           "evaluator": {"factory": "search.backends.toy:ToyEvaluator", "tasks": {"toy": 1.0},
                         "overrides": {"steps": 10, "dim": 4}},
           "funnel": {"top_k": 2, "scales": ["x10"]},
           "ray": {"address": head_node, "workers": 2, "timeout_s": 30, "startup_timeout_s": 60}}
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "search.cli", "run", str(path), "--out", str(out),
                           "--no-progress"], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[1], env=_env())
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "Connecting to existing Ray cluster" in proc.stderr + proc.stdout
    rows = [json.loads(x) for x in (out / "evaluations.jsonl").read_text().splitlines()]
    assert sum(not r["cached"] for r in rows) == 30
    assert not any(r["reason"] in ("timeout", "worker died") for r in rows)
