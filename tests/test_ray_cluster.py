"""`ray.address`: a search joins an existing Ray cluster (a head node started with `ray start`).

The tests own what they start: each head has its own ports and temp dir and is stopped by
signalling its own processes only; a bystander cluster outlives them."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

pytest.importorskip("ray")


def _ray_cli() -> list[str]:
    exe = shutil.which("ray", path=os.path.dirname(sys.executable)) or shutil.which("ray")
    if exe is None:
        pytest.skip("the `ray` command line is not installed")
    return [exe]


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _env() -> dict[str, str]:
    # A throwaway loopback cluster: token authentication off for the head node and the driver
    # alike (a real cluster's own auth settings apply there).
    return {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


def _pids_using(marker: str) -> set[int]:
    """Processes whose command line names ``marker`` (a head's own temp dir): that head's."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    pids.add(int(entry.name))
            except OSError:
                continue
    return pids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


HEADS: list[str] = []  # temp dirs of the heads this module started


@contextmanager
def own_head() -> Iterator[str]:
    """A Ray head on free ports with its own temp dir; stopped by signalling exactly the processes
    that name that temp dir (never the Ray command line's stop, which ends every Ray process on
    the machine)."""
    if not Path("/proc/self/cmdline").exists():
        pytest.skip("needs /proc to find the head's own processes")
    # (no --ray-client-server-port: it needs ray[client], and without it no client server starts)
    temp = tempfile.mkdtemp(prefix="osr", dir="/tmp")  # short: Ray's socket paths are bounded
    HEADS.append(temp)
    port, node, obj, agent, agent_grpc, metrics, env_agent, lo = _free_ports(8)
    start = subprocess.run(
        _ray_cli() + ["start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=2",
                      f"--temp-dir={temp}", f"--node-manager-port={node}", f"--object-manager-port={obj}",
                      f"--dashboard-agent-listen-port={agent}",
                      f"--dashboard-agent-grpc-port={agent_grpc}", f"--metrics-export-port={metrics}",
                      f"--runtime-env-agent-port={env_agent}", f"--min-worker-port={lo}",
                      f"--max-worker-port={lo + 200}", "--include-dashboard=false", "--disable-usage-stats"],
        capture_output=True, text=True, timeout=120, env=_env())
    try:
        if start.returncode != 0:
            pytest.fail(f"ray start failed:\n{start.stdout}\n{start.stderr}")
        yield f"127.0.0.1:{port}"
    finally:
        _stop(temp)
        shutil.rmtree(temp, ignore_errors=True)


def _stop(temp: str, grace_s: float = 10.0) -> None:
    pids = _pids_using(temp)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.1)
        pids = {p for p in pids if _alive(p)} | _pids_using(temp)  # workers it started meanwhile
        if not pids:
            return


@pytest.fixture
def head_node():
    with own_head() as address:
        yield address


@pytest.fixture(scope="module")
def bystander(tmp_path_factory):
    """Processes named as a user's own Ray cluster's are (``raylet``, ``gcs_server``: what the
    Ray command line's stop matches by name), started before this module's heads; they must
    outlive them."""
    folder = tmp_path_factory.mktemp("bystander")
    procs = []
    for name in ("raylet", "gcs_server"):
        exe = folder / name
        shutil.copy(shutil.which("sleep"), exe)
        procs.append(subprocess.Popen([str(exe), "600"]))
    yield procs
    for p in procs:
        p.kill()
        p.wait(timeout=30)


def test_search_joins_an_existing_cluster(tmp_path, bystander, head_node):
    cfg = {"name": "cluster", "backend": "ray", "programs_per_call": 2,
           "search": {"population": 10, "tournament": 3, "max_evaluations": 30},
           "evaluator": {"factory": "proxy_tasks.toy:ToyEvaluator", "tasks": {"toy": 1.0},
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


def test_a_cluster_started_outside_the_tests_outlives_them(bystander):
    """Runs after the module's other tests (file order); starts and stops a head itself if none
    ran, so it proves something alone too."""
    if not HEADS:
        with own_head():
            pass
    assert all(p.poll() is None for p in bystander), "a Ray test stopped processes it did not start"
    assert not any(_pids_using(t) for t in HEADS), "a head this module started is still running"
