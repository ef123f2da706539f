"""Search throughput: local vs Ray (1 and 2 workers), driver overhead, a 1,000-worker simulation.

    python benchmarks/search_speed.py [--evals 400] [--warmup 150] [--sim-evals 20000] [--task mlp]
    python benchmarks/search_speed.py --config configs/lion_rediscovery.yaml --evals 300 --warmup 60

With ``--config`` the three backends run that search config (its evaluator: tasks, seeds,
learning-rate grid, batching) instead of one proxy task with default settings: the replay's
evaluations take about a second each, the regime a real search runs in, where per-call and
driver overheads are small beside the evaluations.

Everything is measured in one run, side by side (the machine may be shared: compare ratios).
Steady-state rates skip the first ``--warmup`` evaluations (compilation in each worker).
The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from search import config
from search.backends.ray_backend import SINGLE_THREAD_XLA_FLAGS
from search.backends.simulated import SimulatedBackend
from search.driver import Driver
from search.rundir import RunDir
from search.session import make_backend


def base_config(args, **over) -> config.Config:
    if args.config:
        # a real search config (e.g. the replay's): its evaluator, mutation and programs per call;
        # the benchmark fixes the budget and turns the funnel and the time limit off
        cfg = config.load(args.config, list(args.set))
        data = cfg.to_dict()
        data["name"] = "bench"
        data["backend"] = "local"  # the rows choose their backend (a config may say ray)
        data["search"].update({"max_evaluations": args.evals, "max_seconds": None, "max_proposals": None})
        data["funnel"].update({"every": 0, "final": False})
        data["run"].update({"checkpoint_every_s": 30, "progress": False})
        for key, value in over.items():
            if isinstance(value, dict):
                data.setdefault(key, {}).update(value)
            else:
                data[key] = value
        return config.from_dict(data)
    toy = {"factory": "proxy_tasks.toy:ToyEvaluator", "tasks": {"toy": 1.0}, "overrides": {"steps": 400, "dim": 64}}
    ev = toy if args.task == "toy" else {"tasks": {args.task: 1.0}}
    data = {"name": "bench", "seed": 0, "programs_per_call": args.per_call,
            "search": {"population": 32, "tournament": 6, "max_evaluations": args.evals},
            "evaluator": ev, "funnel": {"final": False},
            "run": {"checkpoint_every_s": 30, "progress": False}}
    data.update(over)
    return config.from_dict(data)


def evaluations(path: Path) -> list[dict]:
    rows = [json.loads(x) for x in (path / "evaluations.jsonl").read_text().splitlines()]
    return sorted((r for r in rows if not r["cached"]), key=lambda r: r["time"])


def steady_rate(path: Path, warmup: int) -> tuple[float, float]:
    """(evaluations per second after ``warmup`` evaluations, sum of their evaluator seconds)."""
    ev = evaluations(path)
    tail = ev[warmup:]
    span = tail[-1]["time"] - ev[warmup - 1]["time"]
    return len(tail) / span, sum(r["seconds"] for r in tail) / span


def joint_rate(runs: list[tuple[Path, float]], warmup: int) -> tuple[float, float]:
    """Steady rate of runs that ran at the same time, each given as (run dir, epoch of its start).

    Only the window in which every run was past its warm-up and still running counts, so that
    a run finishing early does not lend the others its core."""
    evs = [[(epoch + r["time"], r["seconds"]) for r in evaluations(path)] for path, epoch in runs]
    lo = max(ev[warmup - 1][0] for ev in evs)
    hi = min(ev[-1][0] for ev in evs)
    if hi <= lo:
        raise RuntimeError("the concurrent runs' steady windows do not overlap; raise --evals")
    inside = [x for ev in evs for x in ev if lo < x[0] <= hi]
    return len(inside) / (hi - lo), sum(sec for _, sec in inside) / (hi - lo)


def run_one(cfg, root: Path, label: str, warmup: int) -> dict:
    backend = make_backend(cfg)
    s = Driver(cfg, RunDir.create(root / label, config.dump(cfg)), backend)
    epoch, t0 = time.time(), time.perf_counter()
    try:
        s.run()
    finally:
        backend.close()
    wall = time.perf_counter() - t0
    rate, busy = steady_rate(root / label, warmup)
    workers = cfg.ray.workers if cfg.backend == "ray" else 1
    # fraction of the workers' wall time not spent inside the evaluator (driver work, idling)
    overhead = max(0.0, 1.0 - busy / workers)
    return {"label": label, "wall_s": wall, "evals_per_s": rate, "overhead": overhead, "epoch": epoch}


def single_core_locals(argv: list[str], root: Path, n: int, warmup: int) -> dict:
    """``n`` local searches at once, each a separate process with XLA on one thread, pinned to a
    core of its own (seeds 0..n-1).

    This is what Ray's actors run (``ray.single_thread``, ``ray.pin_cores``) without Ray: with
    n = 1 it is one single-core local worker, with n = 2 the most that two such workers do on
    this machine, the ceiling for Ray with 2 workers."""
    env = {**os.environ, "XLA_FLAGS": SINGLE_THREAD_XLA_FLAGS}
    labels = [f"local1c-{n}x-{k}" for k in range(n)]
    # the children exec at once, so JAX's threads in this process do not matter to them
    warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
    procs = [subprocess.Popen([sys.executable, __file__, *argv, "--_worker", label, "--_root", str(root),
                               "--_seed", str(k)], env=env) for k, label in enumerate(labels)]
    if any(p.wait() != 0 for p in procs):
        raise RuntimeError("a single-core local run failed")
    outs = [json.loads((root / f"{label}.json").read_text()) for label in labels]
    rate, busy = joint_rate([(root / o["label"], o["epoch"]) for o in outs], warmup)
    return {"label": f"{n}x local 1c", "wall_s": max(o["wall_s"] for o in outs), "evals_per_s": rate,
            "overhead": max(0.0, 1.0 - busy / n)}


def simulate(args, root: Path, objectives: tuple[str, ...] = ("fitness",), label: str = "sim") -> dict:
    search = {"population": 1000, "tournament": 25, "max_evaluations": args.sim_evals,
              "objectives": list(objectives)}
    cfg = base_config(args, search=search, run={"checkpoint_every_s": 10, "progress": False})
    backend = SimulatedBackend(workers=1000, eval_s=args.sim_eval_s)
    s = Driver(cfg, RunDir.create(root / label, config.dump(cfg)), backend)
    t0 = time.perf_counter()
    s.run()
    wall = time.perf_counter() - t0
    c = {**s.evolution.counters, **s.counters}
    return {"workers": 1000, "eval_s": args.sim_eval_s, "offered_per_s": 1000 / args.sim_eval_s,
            "proposals": c["proposals"], "evaluations": c["evaluations"], "wall_s": wall,
            "proposals_per_s": c["proposals"] / wall, "evals_per_s": c["evaluations"] / wall,
            "cache_hit_rate": c["cache_hits"] / c["proposals"]}


def front_cost(args, root: Path) -> dict:
    """Proposals per second of the simulated 1,000-worker driver with and without the front (its
    costs computed per new fingerprint, niches, per-niche racing and hurdles), ``args.front`` runs
    of each, alternating so that both see the same machine."""
    sim_args = argparse.Namespace(**{**vars(args), "config": None})
    rates: dict[str, list[float]] = {"fitness": [], "front": []}
    for k in range(args.front):
        for label, objectives in (("fitness", ("fitness",)), ("front", ("fitness", "states"))):
            r = simulate(sim_args, root, objectives, f"sim-{label}-{k}")
            rates[label].append(r["proposals_per_s"])
    a, b = float(np.median(rates["fitness"])), float(np.median(rates["front"]))
    print(f"the front's cost, simulated driver ({args.front} runs each, median): fitness only {a:.0f} proposals/s, "
          f"front {b:.0f} proposals/s, {1 - b / a:+.1%} ({', '.join(f'{x:.0f}' for x in rates['front'])} against "
          f"{', '.join(f'{x:.0f}' for x in rates['fitness'])})")
    return {"front_sim_proposals_per_s": round(b, 1), "fitness_sim_proposals_per_s": round(a, 1),
            "front_cost": round(1 - b / a, 4)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--evals", type=int, default=400)
    ap.add_argument("--warmup", type=int, default=150, help="evaluations left out of the rates (compilation)")
    ap.add_argument("--per-call", type=int, default=8)
    ap.add_argument("--task", default="mlp", help="proxy task, or 'toy' (numpy, no JAX)")
    ap.add_argument("--config", help="measure on this search config (e.g. configs/lion_rediscovery.yaml) instead "
                                     "of one --task; its evaluator, mutation and programs_per_call are used")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a --config value")
    ap.add_argument("--sim-evals", type=int, default=20000)
    ap.add_argument("--sim-eval-s", type=float, default=0.05)
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument("--front", type=int, default=0, metavar="N",
                    help="also the cost of the front: N simulations each with search.objectives [fitness] and "
                         "[fitness, states], alternating, and the ratio of their proposals per second")
    ap.add_argument("--only-front", action="store_true", help="measure the front's cost only")
    ap.add_argument("--skip-threads", action="store_true",
                    help="skip the single-core local rows (1 process, and 2 processes at once)")
    ap.add_argument("--_worker", help=argparse.SUPPRESS)  # one local run in a child process
    ap.add_argument("--_root", help=argparse.SUPPRESS)
    ap.add_argument("--_seed", type=int, default=0, help=argparse.SUPPRESS)
    raw = list(sys.argv[1:] if argv is None else argv)
    args = ap.parse_args(raw)
    if args._worker:
        cfg = base_config(args, seed=args._seed)
        # one core each, as Ray's actors have (``ray.pin_cores``): the shipped ``run.pin_core``
        cfg = dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, pin_core=True))
        out = run_one(cfg, Path(args._root), args._worker, args.warmup)
        (Path(args._root) / f"{args._worker}.json").write_text(json.dumps(out))
        return 0
    root = Path(tempfile.mkdtemp(prefix="optsearch-bench-"))
    if args.front:
        front = front_cost(args, root)
        if args.only_front:
            print(json.dumps(front))
            return 0
    results = {}
    results["local"] = run_one(base_config(args), root, "local", args.warmup)
    if not args.skip_threads:
        for n in (1, 2):
            results[f"{n}x local 1c"] = single_core_locals(raw, root, n, args.warmup)
    if not args.skip_ray:
        import ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        for w in (1, 2):
            cfg = base_config(args, backend="ray", ray={"workers": w, "calls_per_worker": 2})
            results[f"ray{w}"] = run_one(cfg, root, f"ray{w}", args.warmup)
        ray.shutdown()
    sim_args = argparse.Namespace(**{**vars(args), "config": None})
    sim = simulate(sim_args, root)
    loc = results["local"]["evals_per_s"]
    one = results.get("1x local 1c", {}).get("evals_per_s")
    print(f"{'backend':<14}{'evals/s':>10}{'x local':>10}{'x 1 core':>12}{'overhead':>10}{'wall s':>10}")
    for k, r in results.items():
        vs_one = f"{r['evals_per_s'] / one:>12.2f}" if one else f"{'-':>12}"
        print(f"{k:<14}{r['evals_per_s']:>10.2f}{r['evals_per_s'] / loc:>10.2f}{vs_one}"
              f"{r['overhead']:>10.1%}{r['wall_s']:>10.1f}")
    print(f"simulation: 1000 workers x {args.sim_eval_s}s evals (offered {sim['offered_per_s']:.0f} evals/s): "
          f"{sim['proposals_per_s']:.0f} proposals/s, {sim['evals_per_s']:.0f} evaluations/s, "
          f"cache hits {sim['cache_hit_rate']:.0%}")
    figures = {
        "task": args.config or args.task,
        "local_evals_per_s": round(loc, 3),
        "ray1_evals_per_s": round(results["ray1"]["evals_per_s"], 3) if "ray1" in results else None,
        "ray2_evals_per_s": round(results["ray2"]["evals_per_s"], 3) if "ray2" in results else None,
        "ray2_over_local": round(results["ray2"]["evals_per_s"] / loc, 3) if "ray2" in results else None,
        "ray1_over_local": round(results["ray1"]["evals_per_s"] / loc, 3) if "ray1" in results else None,
        "local1c_evals_per_s": round(one, 3) if one else None,
        "pair1c_evals_per_s": round(results["2x local 1c"]["evals_per_s"], 3) if one else None,
        "ray2_over_local1c": round(results["ray2"]["evals_per_s"] / one, 3) if one and "ray2" in results else None,
        "ray2_over_pair1c": (round(results["ray2"]["evals_per_s"] / results["2x local 1c"]["evals_per_s"], 3)
                             if one and "ray2" in results else None),
        "local_driver_overhead": round(results["local"]["overhead"], 4),
        "ray2_driver_overhead": round(results["ray2"]["overhead"], 4) if "ray2" in results else None,
        "sim_proposals_per_s": round(sim["proposals_per_s"], 1),
        "sim_evals_per_s": round(sim["evals_per_s"], 1),
    }
    if args.front:
        figures.update(front)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
