"""Ranking quality at equal compute: one task seed, k seeds for all, and racing, against a many-seed truth.

A panel of programs (the path from AdamW to Lion's form, Lion, the committed replay's answers and
leaders) is scored on the replay's proxy on every (task seed, learning-rate grid value); each
scheme is then charged the runs it would have made (``search.experiments.search_quality``).

    python benchmarks/search_quality.py [--config configs/lion_rediscovery_v2.yaml] [--truth-seeds 8]
        [--results results/lion_rediscovery_v2] [--leaders 5] [--set KEY=VALUE ...]
        [--top-fraction 0.2] [--max-seeds 4] [--z 1.0]

The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from search import config as config_mod
from search.backends.base import EvaluatorSpec
from search.experiments.hurdles import children_sample, hurdle_check, hurdle_curves, simulate_hurdles
from search.experiments.lion_reach import PATH
from search.experiments.replay import CONFIG_V2
from search.experiments.search_quality import (
    assess,
    distinct,
    lr_race_check,
    panel,
    run_searches,
    score_table,
    search_figures,
)
from search.racing import Racing

ROOT = Path(__file__).resolve().parents[1]


SCHEMES = [  # (validation point, quantile), ...: points are tenths of training on the replay's proxy
    [(3, 0.4)], [(3, 0.5)], [(2, 0.4)], [(1, 0.4)], [(1, 0.3)], [(2, 0.3)],
    [(1, 0.3), (3, 0.5)], [(1, 0.4), (3, 0.5)], [(1, 0.4), (3, 0.4)], [(2, 0.4), (5, 0.5)],
    [(1, 0.3), (3, 0.3), (5, 0.5)], [(1, 0.4), (5, 0.5)], [(1, 0.4), (3, 0.6)],
    [(1, 0.5)], [(2, 0.5)], [(1, 0.6)], [(3, 0.6)], [(1, 0.4), (3, 0.2)], [(1, 0.4), (3, 0.25)],
    [(1, 0.4), (3, 0.3)], [(1, 0.5), (3, 0.2)], [(1, 0.5), (3, 0.3)], [(1, 0.4), (5, 0.3)],
    [(1, 0.5), (5, 0.3)], [(2, 0.5), (5, 0.3)], [(1, 0.4), (2, 0.2), (3, 0.2)],
]
CEILINGS = [-0.2, -0.1]  # search.hurdle_ceiling, tried with the single hurdles above
MARGINS = [0.3, 0.15, 0.1, 0.05]  # evaluator.hurdle_margin, tried with the hurdle at 0.1 (ceiling -0.2)


def sweep(cfg, results: Path, programs: dict, out: dict, table: dict, n_children: int,
          known: dict | None = None) -> dict:
    """Hurdle settings simulated on curves scored once: sampled replay children and the panel
    (``known``: the curves of an earlier run's JSON, taken as they are)."""
    truth_order = list(out["truth"])
    top = truth_order[: len(truth_order) // 2]
    upto = max(p for s in SCHEMES for p, _ in s) / 10
    children = children_sample(results, n_children)
    log = lambda s: print(s, flush=True)  # noqa: E731
    print(f"\nhurdle sweep: curves to {upto:g} of training for {len(children)} sampled children and "
          f"{len(programs)} panel programs (task seed 0, every grid value)", flush=True)
    def curves(progs: dict, key: str) -> dict:
        if known and set(progs) <= set(known.get(key, {})):
            return {n: {float(x): v for x, v in known[key][n].items()} for n in progs}
        return hurdle_curves(cfg, progs, upto, log=log)

    child_curves = curves(children, "children")
    panel_curves = curves(programs, "panel")
    final = {n: {x: table[n][x][0] for x in table[n]} for n in programs}
    n_points = next(iter(EvaluatorSpec.from_section(cfg.evaluator).build("proxy").tasks.values())).points
    rows = []
    print(f"\n{'hurdles (point/10: quantile)':36s} {'speedup':>7s} {'stopped':>8s} {'false stops':>11s} "
          f"{'lost lr (max loss)':>18s} {'path':>5s}")
    watch = [n for n in programs if n in PATH or n == "Lion (library)"]
    runs = [(scheme, None, None) for scheme in SCHEMES]
    runs += [(scheme, c, None) for c in CEILINGS for scheme in SCHEMES if len(scheme) == 1]
    runs += [([(1, 0.5)], -0.2, m) for m in MARGINS]
    for scheme, ceiling, margin in runs:
        r = simulate_hurdles(child_curves, panel_curves, final, top, scheme, n_points, ceiling, watch, margin)
        rows.append(r)
        label = (", ".join(f"{p}: {q:g}" for p, q in scheme)
                 + (f" (ceiling {ceiling:g})" if ceiling is not None else "")
                 + (f" margin {margin:g}" if margin is not None else ""))
        print(f"{label:36s} {r['speedup']:7.2f} {r['children_stopped']:4d}/{r['children']:<3d} "
              f"{len(r['false_stops_top_half']):4d} of {len(top)} {len(r['lost_best_value']):6d} "
              f"({max(r['lost_best_value'].values(), default=0.0):.3f}) {len(r['watched_stopped']):5d}  thresholds "
              + " ".join(f"{t:+.3f}" for t in r["thresholds"]), flush=True)
    as_json = lambda c: {n: {str(x): v for x, v in row.items()} for n, row in c.items()}  # noqa: E731
    return {"schemes": rows, "top_half": top, "curves": {"children": as_json(child_curves),
                                                         "panel": as_json(panel_curves)}}


# The searches compared side by side (``--searches SECONDS``): the second replay's settings, then
# the same with this issue's hurdle and racing, then the two diversity options on top of those.
HURDLE = ["evaluator.hurdle_fraction=0.1", "search.hurdle_quantile=0.5", "search.hurdle_ceiling=-0.2"]
RACE = ["race.top_fraction=0.3", "race.z=1", "race.max_seeds=4"]
SEARCHES = {
    "before": [],
    "after": [*HURDLE, *RACE],
    "weak_selection": [*HURDLE, *RACE, "search.population=1000", "search.tournament=2"],
    "islands": [*HURDLE, *RACE, "search.islands=4", "search.migrate_every=50"],
    "after_margin": [*HURDLE, "evaluator.hurdle_margin=0.15", *RACE],
    "before_again": [],  # the same as "before", run beside "after_margin": the rate's run-to-run spread
}


def searches(cfg, config_path: str, seconds: float, out_dir: Path) -> dict:
    """The searches of ``SEARCHES``, two at a time on their own cores, then each one's figures."""
    log = lambda s: print(s, flush=True)  # noqa: E731
    print(f"\nsearches side by side, {seconds:g} s each, two at a time (one core each), in {out_dir}:", flush=True)
    dirs = run_searches(config_path, SEARCHES, seconds, out_dir, log=log)
    figures = {}
    print(f"\n{'search':15s} {'children':>8s} {'/s':>6s} {'x before':>8s} {'stopped':>7s} {'raced':>5s} "
          f"{'sign/1000':>9s} {'first sign':>10s} {'distinct pop':>12s} {'truth of #1, best of 3 (seeds 4-7)':>34s}")
    for label, d in dirs.items():
        f = figures[label] = search_figures(cfg, d)
        first = (f["timeline"]["first_sign_momentum"] or {}).get("evaluations")
        ratio = f["children_per_s"] / figures["before"]["children_per_s"] if "before" in figures else float("nan")
        print(f"{label:15s} {f['evaluated']:8d} {f['children_per_s']:6.3f} {ratio:8.2f} {f['stopped']:7d} "
              f"{f['race_evaluations']:5d} {f['timeline']['sign_momentum_children_per_1000']:9.1f} "
              f"{first if first is not None else '-':>10} {f['distinct_in_population']:5d} of {f['population']:<5d} "
              f"{f['first_truth']:+26.4f}, {f['best_truth']:+.4f}", flush=True)
    return {"seconds": seconds, "settings": SEARCHES, "figures": figures,
            "candidates_per_core_hour_ratio": figures["after"]["children_per_s"] / figures["before"]["children_per_s"]}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default=str(CONFIG_V2),
                    help="the proxy and the 'before' search (default: the second replay's config)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override")
    ap.add_argument("--truth-seeds", type=int, default=8)
    ap.add_argument("--results", default=str(ROOT / "results" / "lion_rediscovery_v2"))
    ap.add_argument("--leaders", type=int, default=5, help="best distinct programs taken from each replay run")
    ap.add_argument("--k", type=int, default=4, help="seeds of the 'k seeds for all' scheme")
    ap.add_argument("--top-fraction", type=float, default=0.2)
    ap.add_argument("--max-seeds", type=int, default=4)
    ap.add_argument("--z", type=float, default=1.0)
    ap.add_argument("--reuse", help="the JSON line of an earlier run: programs scored there are not scored again")
    ap.add_argument("--lr-race", type=float, default=0.3, help="fraction for the evaluator's lr race check (0: skip)")
    ap.add_argument("--hurdle", type=float, default=0.5, help="quantile for the dynamic hurdle check (0: skip)")
    ap.add_argument("--hurdle-evals", type=int, default=120, help="children of each of the hurdle check's searches")
    ap.add_argument("--hurdle-sweep", type=int, default=0, metavar="N",
                    help="simulate hurdle settings on the curves of N sampled replay children and the panel (0: skip)")
    ap.add_argument("--searches", type=float, default=0, metavar="SECONDS",
                    help="run the searches of SEARCHES side by side for SECONDS each and compare them (0: skip)")
    ap.add_argument("--searches-out", default="results/search_quality/searches",
                    help="folder of those searches' run directories (a rerun keeps finished ones, resumes others)")
    ap.add_argument("--hurdle-out", default=None, help="folder for the hurdle check's two run directories "
                                                       "(default: a temporary one)")
    args = ap.parse_args(argv)
    cfg = config_mod.load(args.config, args.set)
    t0 = time.perf_counter()
    programs = panel(Path(args.results), args.leaders)
    print(f"panel: {len(programs)} programs; scoring {args.truth_seeds} task seeds x "
          f"{len(cfg.evaluator.lr_grid)} lr grid values each", flush=True)
    known, reused = None, {}
    if args.reuse:
        reused = json.loads(Path(args.reuse).read_text().strip().splitlines()[-1])
        raw = reused["table"]
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
    if args.hurdle_sweep:
        out["hurdle_sweep"] = sweep(cfg, Path(args.results), {n: programs[n] for n in panel_table}, out, table,
                                    args.hurdle_sweep, (reused.get("hurdle_sweep") or {}).get("curves"))
    if args.searches:
        out["searches"] = searches(cfg, args.config, args.searches, Path(args.searches_out))
    out.update({"config": args.config, "overrides": args.set, "top_fraction": args.top_fraction,
                "max_seeds": args.max_seeds, "z": args.z, "table": {n: {str(x): v for x, v in row.items()}
                                                                    for n, row in table.items()},
                "scored_seconds_note": "seconds: this invocation only (rows taken from --reuse cost nothing here)",
                "seconds": time.perf_counter() - t0})
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
