"""Is Lion within the replay's reach? Three measurements behind the replay's goal.

1. ranking  the path from AdamW to Lion's form, Lion and each replay seed's answer on the replay's
            proxy with more task seeds than the search uses;
2. meta     the replay's final comparison (tuned AdamW and Lion) for the path programs;
3. draws    from a replay's run directories: children, sign inserts, ``update = sign(update)``
            draws, distinct sign-momentum programs.
The measurements are ``search/experiments/lion_reach.py`` (its docstring says more).

    python benchmarks/lion_reach.py [--config configs/lion_rediscovery_v2.yaml] [--seeds 4]
        [--results results/lion_rediscovery_v2] [--skip-meta] [--quick-meta] [--set KEY=VALUE ...]

The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from proxy_tasks.tuned import QUICK_META, MetaSettings
from search import config as config_mod
from search.experiments.lion_reach import PATH, draws, meta, ranked_programs, ranking
from search.experiments.replay import CONFIG_V2

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default=str(CONFIG_V2), help="the proxy (default: the second replay's config)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override")
    ap.add_argument("--seeds", type=int, default=4, help="task seeds for the ranking")
    ap.add_argument("--results", default=str(ROOT / "results" / "lion_rediscovery_v2"))
    ap.add_argument("--skip-meta", action="store_true")
    ap.add_argument("--quick-meta", action="store_true", help="the quick replay's final comparison (MLP)")
    args = ap.parse_args(argv)
    cfg = config_mod.load(args.config, args.set)
    results = Path(args.results)
    out: dict = {"config": args.config, "overrides": args.set, "search_seeds": list(cfg.evaluator.seeds)}
    t0 = time.perf_counter()

    rank = ranking(cfg, ranked_programs(results), args.seeds)
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
        m = meta({k: v for k, v in PATH.items() if k != "AdamW seed"}, settings,
                 log=lambda line: print("  " + line, flush=True))
        for name, b in m.items():
            per = " ".join(f"{t} {x:+.3f}" for t, x in b["per_task"].items())
            best = " ".join(f"{t} lr x{a:.3g} wd x{w:.3g}" for t, (a, w) in b["best"].items())
            print(f"{name:34s} {b['mean_log_ratio']:+.4f}  ({per}; {best})")
        out["meta"] = m

    counts = draws(results)
    if counts:
        print(f"3. draws in {results}/runs: children logged, sign inserts, `update = sign(update)`, "
              "distinct sign-momentum programs, sign-momentum children per 1,000 (cache hits included)")
        for run, c in counts["runs"].items():
            print(f"{run:10s} {c['children']:6d} {c['sign_inserts']:4d} {c['update_sign']:4d} {c['sign_momentum']:4d} "
                  f"{c['sign_momentum_per_1000']:6.2f}")
        total = counts["total"]
        print(f"all        {total['children']:6d} {total['sign_inserts']:4d} {total['update_sign']:4d} "
              f"{total['sign_momentum']:4d}   (one `update = sign(update)` per "
              f"{counts['children_per_update_sign']:.0f} children)")
        out["draws"] = counts
    out["seconds"] = time.perf_counter() - t0
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
