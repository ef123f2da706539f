"""Is Lion within the replay's reach? Three measurements behind the replay's goal.

1. ranking  The replay's proxy (its config's evaluator) with more task seeds than the search uses:
            the programs along the path from AdamW to Lion's form, Lion itself, and each replay
            seed's answer. Prints the fitness on every task seed and the mean. The search scores
            a candidate on its config's seeds only, so it ranks by the first columns.
2. meta     The replay's final comparison (``search.replay.compare``: the meta-validation tasks,
            lr x wd tuned on the same grid for every optimizer) for the path programs, against
            tuned AdamW and Lion: can a sign-momentum program meet the goal there at all?
3. draws    From a replay's run directories: how many children the search logged, how many
            inserted a sign, how many wrote ``update = sign(update)``, and how many distinct
            scored programs were sign-momentum (the replay's ``goal_timeline`` count). The goal
            needs such a draw in most seeds.

    python benchmarks/lion_reach.py [--config configs/lion_rediscovery.yaml] [--seeds 4]
        [--results results/lion_rediscovery] [--skip-meta] [--quick-meta] [--set KEY=VALUE ...]

The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

# benchmarks/search.py is named like the package: keep this folder off the import path
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

from dsl import library, parse  # noqa: E402
from search import config as config_mod  # noqa: E402
from search import inspect as inspect_mod  # noqa: E402
from search.backends.base import EvaluatorSpec  # noqa: E402
from search.replay import CONFIG, QUICK_META, MetaSettings, beats, best_lr_scale, compare, goal_timeline  # noqa: E402

ROOT = HERE.parent


def _sibling(name: str):
    """Another script of this folder, as a module (the folder is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


path_program = _sibling("proxy_noise").path_program

PATH = {
    "AdamW seed": library.get("adamw"),
    "seed + sign": path_program(sign=True),
    "Lion form (0.9, 0.95)": path_program(0.95, split=True, sign=True),
    "Lion form (0.9, 0.99)": path_program(0.99, split=True, sign=True),
}


def answers(results: Path) -> dict:
    """Each replay seed's answer (raw, as the search scored it) from ``summary.json``."""
    summary = results / "summary.json"
    if not summary.exists():
        return {}
    out = {}
    for s in json.loads(summary.read_text()).get("seeds", []):
        ans = s.get("answer")
        if ans:
            out[f"seed {s['seed']} answer (id {ans['id']})"] = parse(ans["raw"])
    return out


def ranking(cfg, programs: dict, n_seeds: int) -> dict:
    """Fitness per task seed (0..n_seeds-1) on the config's proxy, and the mean."""
    spec = EvaluatorSpec.from_section(cfg.evaluator)
    ev = EvaluatorSpec({**spec.kwargs, "seeds": tuple(range(n_seeds))}, spec.factory).build("proxy")
    rows = {}
    for name, program in programs.items():
        r = ev.evaluate_one(program)
        per = [float(t.fitness) for t in r.tasks]
        rows[name] = {"mean": float(r.fitness), "per_seed": per,
                      "lr_scale": best_lr_scale(program, cfg, {t.task: t.lr_scale for t in r.tasks})}
    return rows


def meta(programs: dict, settings: MetaSettings) -> dict:
    """Mean log ratio against tuned AdamW (> 0: better) per program, tuned Lion included."""
    tuned = compare(programs, settings, log=lambda line: print("  " + line, flush=True))
    return {name: beats(tuned, name) | {"best": {t: [tuned[t][name].lr_scale, tuned[t][name].wd_scale]
                                                 for t in tuned}}
            for name in ["Lion", *programs]}


def draws(results: Path) -> dict:
    """Per run directory under ``results/runs``: children, sign inserts, sign-momentum programs."""
    out = {}
    for run_dir in sorted((results / "runs").glob("*")):
        if not (run_dir / "evaluations.jsonl").exists():
            continue
        run = inspect_mod.load_run(run_dir)
        signs = [r for r in run.rows if r.mutation.startswith("insert") and " sign(" in r.mutation]
        out[run_dir.name] = {"children": len(run.rows), "sign_inserts": len(signs),
                             "update_sign": sum("update = sign(update)" in r.mutation for r in signs),
                             "sign_momentum": goal_timeline(run)["sign_momentum_programs"]}
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default=str(CONFIG))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override")
    ap.add_argument("--seeds", type=int, default=4, help="task seeds for the ranking")
    ap.add_argument("--results", default=str(ROOT / "results" / "lion_rediscovery"))
    ap.add_argument("--skip-meta", action="store_true")
    ap.add_argument("--quick-meta", action="store_true", help="the quick replay's final comparison (MLP)")
    args = ap.parse_args(argv)
    cfg = config_mod.load(args.config, args.set)
    results = Path(args.results)
    out: dict = {"config": args.config, "overrides": args.set, "search_seeds": list(cfg.evaluator.seeds)}
    t0 = time.perf_counter()

    programs = {**PATH, "Lion (library)": library.get("lion"), **answers(results)}
    rank = ranking(cfg, programs, args.seeds)
    used = set(cfg.evaluator.seeds)
    print(f"1. ranking: fitness on the replay's proxy (> 0 beats tuned AdamW); the search scores "
          f"task seed(s) {sorted(used)} only (marked *)")
    heads = " ".join(f"{'seed ' + str(s) + ('*' if s in used else ''):>8s}" for s in range(args.seeds))
    print(f"{'program':34s} {heads} {'mean':>8s}  lr x")
    for name, r in rank.items():
        cells = " ".join(f"{x:+8.3f}" for x in r["per_seed"])
        print(f"{name:34s} {cells} {r['mean']:+8.4f}  {r['lr_scale']:.3g}")
    out["ranking"] = rank

    if not args.skip_meta:
        settings = QUICK_META if args.quick_meta else MetaSettings()
        print(f"2. meta-validation ({', '.join(settings.tasks)} at {settings.scale}, seeds "
              f"{list(settings.seeds)}): mean log ratio against tuned AdamW (> 0: better)")
        m = meta({k: v for k, v in PATH.items() if k != "AdamW seed"}, settings)
        for name, b in m.items():
            per = " ".join(f"{t} {x:+.3f}" for t, x in b["per_task"].items())
            best = " ".join(f"{t} lr x{a:.3g} wd x{w:.3g}" for t, (a, w) in b["best"].items())
            print(f"{name:34s} {b['mean_log_ratio']:+.4f}  ({per}; {best})")
        out["meta"] = m

    counts = draws(results)
    if counts:
        print(f"3. draws in {results}/runs: children logged, sign inserts, `update = sign(update)`, "
              "distinct sign-momentum programs")
        for run, c in counts.items():
            print(f"{run:10s} {c['children']:6d} {c['sign_inserts']:4d} {c['update_sign']:4d} {c['sign_momentum']:4d}")
        total = {k: sum(c[k] for c in counts.values()) for k in next(iter(counts.values()))}
        per_draw = total["children"] / max(1, total["update_sign"])
        print(f"all        {total['children']:6d} {total['sign_inserts']:4d} {total['update_sign']:4d} "
              f"{total['sign_momentum']:4d}   (one `update = sign(update)` per {per_draw:.0f} children)")
        out["draws"] = {"runs": counts, "total": total, "children_per_update_sign": per_draw}
    out["seconds"] = time.perf_counter() - t0
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
