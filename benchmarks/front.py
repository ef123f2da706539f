"""The front (#26): known optimizers placed on the replay proxy's front, and selection head to head.

1. placement  every optimizer of ``search.experiments.front_study`` (and the committed replays'
              answers) on the replay's proxy over ``--seeds`` task seeds with its lr grid, with its
              state count, paired against Lion's form (0.9, 0.95); the leader of each state count.
3. share      on the third replay's final populations: the share of children a lone strong
              one-state program parents under fitness-only tournaments, NSGA-II's crowded
              tournament and niches (the measurement behind the choice of niches).
2. searches   from AdamW, on the replay's config (local backend, one XLA thread each, funnel off),
              fitness only (``search.objectives: [fitness]``) against the front (``[fitness,
              states]``), ``--minutes`` each, search seeds 0..``--search-seeds``-1; the two searches
              of a seed run side by side (same machine load). Per search: evaluations, the one-state
              niche's leader after simplification and its family, and the minutes until a
              sign-momentum program first led that niche.

    python benchmarks/front.py [--config configs/lion_rediscovery.yaml] [--seeds 8]
        [--search-seeds 3] [--minutes 20] [--out results/front] [--skip-placement] [--skip-searches]

Tables on stdout; the last line is one JSON object with every figure (also merged into OUT/front.json, so
the two parts can run apart).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from search import config as config_mod
from search.backends.ray_backend import SINGLE_THREAD_XLA_FLAGS
from search.experiments.front_study import (
    LION_FORM,
    known_programs,
    niche_timeline,
    placement,
    results_programs,
    stepping_stone_share,
)
from search.experiments.lion_reach import ranking

ROOT = Path(__file__).resolve().parents[1]
ARMS = {"fitness": "[fitness]", "front": "[fitness, states]"}


def _pm(mean, se) -> str:
    return "-" if mean is None else f"{mean:+.3f}" + ("" if se is None else f" ± {se:.3f}")


def run_placement(cfg, seeds: int) -> dict:
    programs = {**known_programs(), **results_programs(ROOT / "results")}
    rows = ranking(cfg, programs, seeds)
    out = placement(rows, programs)
    print(f"1. placement on the replay's proxy: {seeds} task seeds, lr grid {cfg.evaluator.lr_grid}; fitness > 0 "
          f"beats tuned AdamW (optax AdamW, the baseline itself, is 0 by definition)")
    print(f"{'program':52s} {'states':>6s} {'mean':>8s} {'sd':>6s} {'paired vs ' + LION_FORM:>34s} {'wins':>5s}")
    for name, r in sorted(out["rows"].items(), key=lambda kv: -kv[1]["mean"]):
        wins = "-" if r["wins"] is None else f"{r['wins']}/{r['seeds']}"
        print(f"{name:52s} {r['states']:6d} {r['mean']:+8.3f} {r['sd']:6.3f} {_pm(r['paired'], r['paired_se']):>34s} "
              f"{wins:>5s}")
    print("leader of each state count (paired against the runner-up of the same count):")
    for k, lead in out["leaders"].items():
        extra = (f", ahead of {lead['runner_up']} by {_pm(lead['ahead'], lead['ahead_se'])} "
                 f"(on {lead['ahead_on']} of {seeds} seeds)") if "runner_up" in lead else ""
        print(f"  {k} state(s): {lead['program']} {lead['mean']:+.3f}{extra}")
    return out


def _search(config: str, arm: str, seed: int, minutes: float, out: Path) -> subprocess.Popen:
    env = {**os.environ, "XLA_FLAGS": SINGLE_THREAD_XLA_FLAGS, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "search.cli", "run", config, "--no-progress", "--out", str(out),
           "--set", "backend=local", "--set", f"seed={seed}", "--set", f"search.max_seconds={minutes * 60}",
           "--set", f"search.objectives={ARMS[arm]}", "--set", "funnel.every=0", "--set", "funnel.final=false"]
    log = open(out.parent / f"{out.name}.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)


def run_searches(config: str, seeds: int, minutes: float, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    results: dict = {}
    for seed in range(seeds):
        dirs = {arm: out / f"{arm}-seed{seed}" for arm in ARMS}
        procs = []
        for arm, d in dirs.items():
            if (d / "summary.json").exists():
                continue  # done earlier (the benchmark resumes)
            if d.exists():
                procs.append(subprocess.Popen([sys.executable, "-m", "search.cli", "resume", str(d), "--no-progress"],
                                              stdout=open(out / f"{d.name}.log", "a"), stderr=subprocess.STDOUT,  # noqa: SIM115
                                              env={**os.environ, "XLA_FLAGS": SINGLE_THREAD_XLA_FLAGS}))
            else:
                procs.append(_search(config, arm, seed, minutes, d))
        for p in procs:
            if p.wait() not in (0, 130):
                raise SystemExit(f"a search failed (exit {p.returncode}); see the logs in {out}")
        results[seed] = {arm: niche_timeline(d) for arm, d in dirs.items()}
    print(f"2. selection head to head from AdamW: {minutes:g} minutes per search, the two arms of a seed side by "
          f"side, one XLA thread each")
    print(f"{'seed':>4s} {'arm':8s} {'evals':>6s} {'1-state':>7s} {'sign-mom.':>9s} {'first led (min / evals)':>24s}  "
          f"one-state leader (family)")
    for seed, arms in results.items():
        for arm, t in arms.items():
            led = t["first_sign_momentum_led"]
            when = "never" if led is None else f"{led['minutes']:.1f} / {led['evaluations']}"
            lead = t["leader"]
            who = "-" if lead is None else (f"id {lead['id']} {lead['fitness']:+.3f}: {lead['family']}"
                                            + (" [Lion's form]" if lead["lion_form"] else ""))
            print(f"{seed:4d} {arm:8s} {t['evaluations']:6d} {t['niche_programs']:7d} "
                  f"{t['sign_momentum_in_niche']:9d} {when:>24s}  {who}")
    return {str(k): v for k, v in results.items()}


def run_share(results: Path) -> dict:
    out = {}
    print("3. the share of children a stepping stone parents, on each third-replay seed's final population plus "
          "one one-state program at the 90th percentile of the one-state members' fitness (2,000 proposals, "
          "population held fixed)")
    print(f"{'seed':>4s} {'one-state members':>17s}  {'scheme':14s} {'stone':>7s} {'one-state parents':>17s}")
    for run_dir in sorted((results / "runs").glob("seed*")):
        r = out[run_dir.name] = stepping_stone_share(run_dir)
        pop = r["population"]
        for scheme, share in r["share"].items():
            print(f"{run_dir.name:>4s} {pop['one-state members']:>10d} of {pop['population']:<5d} "
                  f"{scheme:14s} {share['stone']:7.2%} {share['one_state_parents']:17.1%}")
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default=str(ROOT / "configs" / "lion_rediscovery.yaml"))
    ap.add_argument("--seeds", type=int, default=8, help="task seeds for the placement")
    ap.add_argument("--search-seeds", type=int, default=3)
    ap.add_argument("--minutes", type=float, default=20.0, help="search budget per search")
    ap.add_argument("--out", default=str(ROOT / "results" / "front"))
    ap.add_argument("--skip-placement", action="store_true")
    ap.add_argument("--skip-searches", action="store_true")
    ap.add_argument("--skip-share", action="store_true")
    args = ap.parse_args(argv)
    cfg = config_mod.load(args.config)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    doc: dict = {"config": args.config, "seeds": args.seeds, "search_seeds": args.search_seeds,
                 "minutes": args.minutes}
    t0 = time.perf_counter()
    if not args.skip_placement:
        doc["placement"] = run_placement(cfg, args.seeds)
    if not args.skip_share:
        doc["share"] = run_share(ROOT / "results" / "lion_rediscovery_v3")
    if not args.skip_searches:
        doc["searches"] = run_searches(args.config, args.search_seeds, args.minutes, out_dir / "searches")
        lion = {arm: sum(bool(s[arm]["leader"] and s[arm]["leader"]["lion_form"]) for s in doc["searches"].values())
                for arm in ARMS}
        led = {arm: sum(s[arm]["first_sign_momentum_led"] is not None for s in doc["searches"].values())
               for arm in ARMS}
        doc["summary"] = {"one_state_leader_lion_form": lion, "sign_momentum_led_niche": led}
        print(f"one-state leader is Lion's form: fitness only {lion['fitness']} of {args.search_seeds}, "
              f"front {lion['front']} of {args.search_seeds}; a sign-momentum program led the one-state niche: "
              f"{led['fitness']} and {led['front']} of {args.search_seeds}")
    doc["seconds"] = time.perf_counter() - t0
    path = out_dir / "front.json"
    earlier = json.loads(path.read_text()) if path.exists() else {}  # parts run apart (--skip-...) merge
    path.write_text(json.dumps({**earlier, **doc}, indent=1) + "\n")
    print(json.dumps(doc))
    return doc


if __name__ == "__main__":
    main()
