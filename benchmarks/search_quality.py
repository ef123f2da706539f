"""Ranking quality at equal compute: one task seed, k seeds for all, and racing, against a many-seed truth.

A panel of programs (the path from AdamW to Lion's form, Lion, the committed replay's answers and
leaders) is scored on the replay's proxy on every (task seed, learning-rate grid value); each
scheme is then charged the runs it would have made (``search.experiments.search_quality``).

    python benchmarks/search_quality.py [--config configs/lion_rediscovery.yaml] [--truth-seeds 8]
        [--results results/lion_rediscovery] [--leaders 5] [--set KEY=VALUE ...]
        [--top-fraction 0.2] [--max-seeds 4] [--z 1.0]

The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from search import config as config_mod
from search.experiments.replay import CONFIG
from search.experiments.search_quality import assess, distinct, hurdle_check, lr_race_check, panel, score_table
from search.racing import Racing

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default=str(CONFIG))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override")
    ap.add_argument("--truth-seeds", type=int, default=8)
    ap.add_argument("--results", default=str(ROOT / "results" / "lion_rediscovery"))
    ap.add_argument("--leaders", type=int, default=5, help="best distinct programs taken from each replay run")
    ap.add_argument("--k", type=int, default=4, help="seeds of the 'k seeds for all' scheme")
    ap.add_argument("--top-fraction", type=float, default=0.2)
    ap.add_argument("--max-seeds", type=int, default=4)
    ap.add_argument("--z", type=float, default=1.0)
    ap.add_argument("--reuse", help="the JSON line of an earlier run: programs scored there are not scored again")
    ap.add_argument("--lr-race", type=float, default=0.3, help="fraction for the evaluator's lr race check (0: skip)")
    ap.add_argument("--hurdle", type=float, default=0.5, help="quantile for the dynamic hurdle check (0: skip)")
    ap.add_argument("--hurdle-evals", type=int, default=120, help="children of each of the hurdle check's searches")
    ap.add_argument("--hurdle-out", default=None, help="folder for the hurdle check's two run directories "
                                                       "(default: a temporary one)")
    args = ap.parse_args(argv)
    cfg = config_mod.load(args.config, args.set)
    t0 = time.perf_counter()
    programs = panel(Path(args.results), args.leaders)
    print(f"panel: {len(programs)} programs; scoring {args.truth_seeds} task seeds x "
          f"{len(cfg.evaluator.lr_grid)} lr grid values each", flush=True)
    known = None
    if args.reuse:
        raw = json.loads(Path(args.reuse).read_text().strip().splitlines()[-1])["table"]
        known = {n: {float(x): {int(s): v for s, v in row.items()} for x, row in rows.items()}
                 for n, rows in raw.items()}
    table = score_table(cfg, programs, args.truth_seeds, log=lambda s: print(s, flush=True), known=known)
    panel_table, repeats = distinct(table)
    print(f"{len(panel_table)} behaviourally distinct programs ({len(repeats)} repeat another's every score)")
    racing = Racing(args.top_fraction, args.max_seeds, args.z, tuple(range(args.truth_seeds)))
    out = assess(panel_table, args.truth_seeds, racing, k=args.k)
    out["repeats"] = repeats
    print(f"\ntruth (mean over {args.truth_seeds} seeds at the lr best on them):")
    for name, v in out["truth"].items():
        print(f"  {v:+.4f}  {name}  (racing scored {out['race_seeds'][name]} seed(s))")
    print(f"\n{'scheme':12s} {'runs':>6s} {'x one':>6s} {'tau':>6s} {'tau top5':>8s} {'top5 found':>10s} "
          f"{'regret':>7s}  first")
    base = out["one seed"]["runs"]
    for label in ("one seed", f"{args.k} seeds", "racing"):
        r = out[label]
        print(f"{label:12s} {r['runs']:6d} {r['runs'] / base:6.2f} {r['tau']:+6.3f} {r['tau_top']:+8.3f} "
              f"{r['top_found']:>10d} {r['regret']:+7.4f}  {r['first']}")
    if args.lr_race:
        truth_order = list(out["truth"])
        top = truth_order[: len(truth_order) // 2]
        print(f"\nlr race at {args.lr_race:g} of training against the full grid (task seeds "
              f"{list(cfg.evaluator.seeds)}), side by side:", flush=True)
        check = lr_race_check(cfg, {n: programs[n] for n in panel_table}, args.lr_race, top,
                              log=lambda s: print(s, flush=True))
        print(f"candidates per core-hour: x{check['candidates_per_core_hour_ratio']:.2f} "
              f"({check['seconds_full']:.0f}s full grid, {check['seconds_raced']:.0f}s lr race); grid value "
              f"differs for {len(check['lr_choice_differs'])} of {check['programs']}; false stops in the top half: "
              f"{len(check['false_stops_top_half'])} ({check['false_stop_rate_top_half']:.0%})")
        out["lr_race"] = check
    if args.hurdle:
        import tempfile

        truth_order = list(out["truth"])
        top = truth_order[: len(truth_order) // 2]
        folder = Path(args.hurdle_out or tempfile.mkdtemp(prefix="hurdle-check-"))
        print(f"\ndynamic hurdle (quantile {args.hurdle:g}, at {cfg.evaluator.hurdle_fraction:g} of training): two "
              f"local searches of {args.hurdle_evals} children, then the panel at the hurdle point", flush=True)
        h = hurdle_check(cfg, {n: programs[n] for n in panel_table}, top, args.hurdle, args.hurdle_evals, folder,
                         log=lambda s: print(s, flush=True))
        print(f"candidates per core-hour: x{h['candidates_per_core_hour_ratio']:.2f}; false stops in the top half: "
              f"{len(h['false_stops_top_half'])} ({h['false_stop_rate_top_half']:.0%})")
        out["hurdle"] = h
    out.update({"config": args.config, "overrides": args.set, "top_fraction": args.top_fraction,
                "max_seeds": args.max_seeds, "z": args.z, "table": {n: {str(x): v for x, v in row.items()}
                                                                    for n, row in table.items()},
                "scored_seconds_note": "seconds: this invocation only (rows taken from --reuse cost nothing here)",
                "seconds": time.perf_counter() - t0})
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
