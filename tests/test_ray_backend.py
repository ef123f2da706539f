"""The Ray backend: an end-to-end run, actor death recovery, timeouts (one Ray per module)."""

from __future__ import annotations

import json
import time

import pytest

ray = pytest.importorskip("ray")

from dsl import library  # noqa: E402
from search import config  # noqa: E402
from search.backends.base import EvaluatorSpec, Job  # noqa: E402
from search.backends.ray_backend import RayBackend, init_ray  # noqa: E402
from search.driver import Driver  # noqa: E402
from search.rundir import RunDir  # noqa: E402
from search.session import make_backend  # noqa: E402

TOY = "proxy_tasks.toy:ToyEvaluator"


@pytest.fixture(scope="module", autouse=True)
def ray_instance():
    # as the backend starts Ray: without JAX's false fork alarm when earlier tests started JAX
    init_ray(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def ray_config(**over) -> config.Config:
    data = {"name": "ray", "backend": "ray", "programs_per_call": 2,
            "search": {"population": 10, "tournament": 3, "max_evaluations": 40},
            "evaluator": {"factory": TOY, "tasks": {"toy": 1.0}, "overrides": {"steps": 10, "dim": 4}},
            "funnel": {"top_k": 2, "scales": ["x10"]},
            "ray": {"workers": 2, "timeout_s": 30, "startup_timeout_s": 60}}
    data.update(over)
    return config.from_dict(data)


def rows(path):
    return [json.loads(x) for x in (path / "evaluations.jsonl").read_text().splitlines()]


def test_end_to_end_ray_run(tmp_path):
    cfg = ray_config()
    backend = make_backend(cfg)
    assert isinstance(backend, RayBackend) and not backend.owns_ray
    assert backend.capacity == 2 * 2 * 2
    s = Driver(cfg, RunDir.create(tmp_path / "r", config.dump(cfg)), backend)
    try:
        summary = s.run()
        placements = ray.get([slot.actor.placement.remote() for slot in backend.slots])
    finally:
        backend.close()
    log = rows(tmp_path / "r")
    # ray.pin_cores: actors that found a free core hold distinct ones (another search on the same
    # machine may hold them all, and then the actors run unpinned)
    pinned = [core for _, core in placements if core is not None]
    assert len(set(pinned)) == len(pinned)
    assert len({pid for pid, _ in placements}) == 2
    assert summary["finished"] and summary["evaluations"] == 40
    assert sum(not r["cached"] for r in log) == 40
    assert len({r["id"] for r in log}) == len(log)
    assert summary["answer"]["scale"] == "x10"
    assert not any(r["reason"] in ("timeout", "worker died") for r in log)


def test_islands_evolve_on_ray_as_locally(tmp_path):
    """Islands live in the driver: on Ray every worker scores every island's children, and the
    population keeps one aging island per ``search.islands`` with migrants between them."""
    cfg = ray_config(search={"population": 6, "tournament": 3, "max_evaluations": 40, "islands": 2,
                             "migrate_every": 8})
    backend = make_backend(cfg)
    s = Driver(cfg, RunDir.create(tmp_path / "i", config.dump(cfg)), backend)
    try:
        summary = s.run()
    finally:
        backend.close()
    assert summary["finished"] and summary["evaluations"] == 40
    islands = [i.island for i in s.evolution.population]
    assert islands.count(0) == islands.count(1) == 6
    assert s.evolution.counters["migrations"] >= 2 * 4  # every 8 of the 40 or more children told


def test_killing_an_actor_mid_run_loses_no_evaluation(tmp_path):
    cfg = ray_config(evaluator={"factory": TOY, "tasks": {"toy": 1.0},
                                "overrides": {"steps": 10, "dim": 4, "delay_s": 0.05}},
                     search={"population": 10, "tournament": 3, "max_evaluations": 60})
    backend = make_backend(cfg)
    s = Driver(cfg, RunDir.create(tmp_path / "k", config.dump(cfg)), backend)
    killed = []

    def kill_once(stats):
        if stats.evaluations >= 15 and not killed and backend.calls:
            victim = backend.slots[0]
            killed.append(victim.calls and len(victim.calls))
            ray.kill(victim.actor)

    s.on_progress = kill_once
    try:
        summary = s.run()
    finally:
        backend.close()
    assert killed and killed[0], "an actor was killed while it had work"
    assert backend.restarts >= 1
    log = rows(tmp_path / "k")
    assert summary["finished"] and summary["evaluations"] == 60
    assert not any(r["reason"] == "worker died" for r in log)
    # every child proposed got a row: nothing in flight on the dead actor was dropped
    assert len(log) == s.evolution.counters["proposals"] + 1


def test_timeout_splits_a_call_and_fails_only_the_slow_program():
    spec = EvaluatorSpec({"tasks": {"toy": 1.0}, "steps": 5, "slow_op": "cosh", "slow_s": 60.0}, TOY)
    settings = config.RaySection(workers=1, timeout_s=1.0, startup_timeout_s=60.0, calls_per_worker=1)
    b = RayBackend(spec, settings, programs_per_call=3)
    try:
        fast = [library.get("sgd"), library.get("adamw")]
        b.submit([Job(i, p) for i, p in enumerate(fast)])
        got = []
        while len(got) < 2:
            got += b.wait(timeout=5)
        assert all(r.reason is None for _, r in got)
        slow = library.get("sgd").replace(statements=(*library.get("sgd").statements,
                                                       *__import__("dsl").parse(
                                                           "def train(w, g, m, v, lr):\n    t = cosh(g)\n"
                                                           "    return t, m, v\n").statements))
        t0 = time.monotonic()
        b.submit([Job(10, fast[0]), Job(11, slow), Job(12, fast[1])])
        out = {}
        while len(out) < 3 and time.monotonic() - t0 < 60:
            for job, res in b.wait(timeout=1):
                out[job.key] = res
        assert out[11].reason == "timeout"
        assert out[10].reason is None and out[12].reason is None
        assert b.timeouts == 2  # the batch of 3, then the slow program alone
    finally:
        b.close()


def test_ray_run_on_a_real_proxy_task(tmp_path):
    pytest.importorskip("proxy_tasks.evaluate")
    # a real task compiles in each new worker: a loaded machine took more than 30 s for it, so the
    # timeout (tested on its own above) is generous here
    cfg = ray_config(evaluator={"tasks": {"quadratic": 1.0}, "overrides": {"steps": 50}},
                     search={"population": 6, "tournament": 2, "max_evaluations": 6},
                     funnel={"final": False},
                     ray={"workers": 2, "timeout_s": 600, "startup_timeout_s": 120})
    backend = make_backend(cfg)
    s = Driver(cfg, RunDir.create(tmp_path / "q", config.dump(cfg)), backend)
    try:
        summary = s.run()
    finally:
        backend.close()
    log = rows(tmp_path / "q")
    assert summary["evaluations"] == 6
    assert all(set(r["tasks"]) == {"quadratic"} for r in log)
    assert not any(r["reason"] in ("timeout", "worker died") or "evaluator error" in (r["reason"] or "") for r in log)
