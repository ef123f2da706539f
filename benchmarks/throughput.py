"""Candidates per core-hour (#27): the replay's config against plain full evaluation, in one run.

    python benchmarks/throughput.py [--config configs/lion_rediscovery.yaml] [--children 80]
        [--profile 24] [--truth-seeds 4,5,6,7] [--top 4] [--out results/search_quality/throughput]

1. profile      where a replay candidate's seconds go (compile, training by stage, the rest), on
                children of the committed replay at the config's hurdle ceiling;
2. side by side two searches from AdamW, ``--children`` children each, at the same time, each
                pinned to a core of its own with single-threaded XLA: ``plain`` (every grid value
                trained to the end, no hurdle, no racing) and ``replay`` (the config as it is);
                candidates per core-hour = children scored per second of search after the first;
3. false stops  the panel's truly better half (``results/search_quality/searches.json``'s 8-seed
                truth) scored by the config's evaluator at its hurdle ceiling;
4. ranking      each search's ``--top`` programs re-scored on held-out task seeds: Kendall's tau of
                the search's order against that truth.

The last line is one JSON object: ``candidates_per_core_hour_ratio``, ``false_stop_rate_top_half``,
``tau_plain``, ``tau_replay`` and the rest (also written to OUT/throughput.json).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from dsl import parse
from search import config as config_mod
from search.backends.base import EvaluatorSpec
from search.experiments.search_quality import run_searches
from search.experiments.throughput import children_per_s, false_stops, profile, ranking

ROOT = Path(__file__).resolve().parents[1]
PLAIN = ["search.hurdle_quantile=0", "race.top_fraction=0", "evaluator.lr_race=0"]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default=str(ROOT / "configs" / "lion_rediscovery.yaml"))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override for the replay side")
    ap.add_argument("--children", type=int, default=80, help="children of each search")
    ap.add_argument("--profile", type=int, default=24, help="replay children in the profile (0: skip)")
    ap.add_argument("--truth-seeds", default="4,5,6,7", help="held-out task seeds of the ranking's truth")
    ap.add_argument("--top", type=int, default=4, help="programs of each search in the ranking")
    ap.add_argument("--results", default=str(ROOT / "results" / "lion_rediscovery_v3"),
                    help="a replay whose children the profile scores")
    ap.add_argument("--panel", default=str(ROOT / "results" / "search_quality" / "searches.json"))
    ap.add_argument("--out", default=str(ROOT / "results" / "search_quality" / "throughput"))
    ap.add_argument("--profile-only", action="store_true", help="part 1 only (OUT/profile.json)")
    ap.add_argument("--simulate", metavar="CURVES", help="only simulate the staged settings of "
                    "search.experiments.throughput.SCHEMES on the curves in this JSON (scored with "
                    "hurdles.hurdle_curves to 30%% of training at the config's validation points, "
                    "for 150 children of the second replay and the panel, if the file does not exist)")
    args = ap.parse_args(argv)
    if args.simulate:
        return simulated(args)
    t0 = time.perf_counter()
    cfg = config_mod.load(args.config, args.set)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    ceiling = cfg.search.hurdle_ceiling if cfg.search.hurdle_ceiling is not None else 0.0
    doc: dict = {"config": args.config, "overrides": args.set, "children": args.children}
    results = Path(args.results)
    if args.profile:
        p = doc["profile"] = profile(cfg, results, args.profile, ceiling)
        print(f"1. profile: {p['children']} replay children, {p['per_candidate_s']:.2f} s each")
        for k, v in sorted(p["parts"].items(), key=lambda kv: -kv[1]):
            print(f"   {k:52s} {v:7.1f} s  {v / p['seconds']:5.1%}")
        print(f"   compilations: {p['compilations']} ({p['compile_seconds']:.1f} s, inside the calls above)")
    if args.profile_only:
        (out_dir / "profile.json").write_text(json.dumps(doc, indent=1) + "\n")
        print(json.dumps(doc))
        return doc
    settings = {"plain": [*PLAIN, f"search.max_evaluations={args.children}"],
                "replay": [*args.set, f"search.max_evaluations={args.children}"]}
    print(f"2. side by side: {args.children} children each from AdamW, one core each", flush=True)
    dirs = run_searches(args.config, settings, 6 * 3600, out_dir / "searches", log=lambda s: print(s, flush=True))
    rates = {k: children_per_s(d) for k, d in dirs.items()}
    ratio = rates["replay"]["children_per_s"] / rates["plain"]["children_per_s"]
    for k, r in rates.items():
        print(f"   {k:7s} {r['evaluated']:4d} children in {r['span_s']:7.1f} s: {r['children_per_s']:.3f}/s, "
              f"{r['stopped']} stopped at a hurdle, {r['race_evaluations']} racing seeds; "
              f"{r['compiled']} XLA compilations, {r['loaded']} cache reads: {r['compile_seconds']:.1f} s")
    print(f"   candidates per core-hour: {ratio:.2f}x")
    doc["searches"] = rates
    panel = json.loads(Path(args.panel).read_text())
    top = panel["hurdle_sweep"]["top_half"]
    programs = {}
    for name in top:
        src = panel.get("sources", {}).get(name)
        if src is None:
            continue
        programs[name] = parse(src)
    if len(programs) < len(top):
        from search.experiments.search_quality import panel as make_panel

        made = {**make_panel(ROOT / "results" / "lion_rediscovery_v2", 15)}
        programs = {n: made[n] for n in top if n in made}
    fs = doc["false_stops"] = false_stops(cfg, panel["table"], programs, list(programs), ceiling)
    print(f"3. false stops: {len(fs['stopped'])} of {len(programs)} of the panel's better half stopped at "
          f"{ceiling:g}; {len(fs['lost_best_value'])} lose their best grid value "
          f"({', '.join(f'{n}: {v:.3f}' for n, v in fs['lost_best_value'].items()) or '-'})")
    seeds = [int(s) for s in args.truth_seeds.split(",")]
    doc["ranking"] = {k: ranking(cfg, d, seeds, args.top) for k, d in dirs.items()}
    for k, r in doc["ranking"].items():
        print(f"4. ranking {k}: tau {r['tau']:+.2f} over its top {len(r['top'])}; truth (seeds {seeds}) of its #1 "
              f"{r['first_truth']:+.4f}, best {r['best_truth']:+.4f}")
    doc.update({"candidates_per_core_hour_ratio": ratio, "false_stop_rate_top_half": fs["false_stop_rate_top_half"],
                "lost_best_value": len(fs["lost_best_value"]), "tau_plain": doc["ranking"]["plain"]["tau"],
                "tau_replay": doc["ranking"]["replay"]["tau"], "seconds": time.perf_counter() - t0})
    (out_dir / "throughput.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(doc))
    return doc


def simulated(args) -> dict:
    """The ``--simulate`` step: settings compared on curves scored once (no search runs)."""
    from search.experiments.hurdles import children_sample, hurdle_curves
    from search.experiments.search_quality import panel as make_panel
    from search.experiments.throughput import simulate

    cfg = config_mod.load(args.config, args.set)
    panel = json.loads(Path(args.panel).read_text())
    names = list(panel["hurdle_sweep"]["curves"]["panel"])
    path = Path(args.simulate)
    if not path.exists():
        v2 = ROOT / "results" / "lion_rediscovery_v2"
        children = children_sample(v2, 150)
        programs = {n: p for n, p in make_panel(v2, 15).items() if n in names}
        as_json = lambda c: {n: {str(x): v for x, v in row.items()} for n, row in c.items()}  # noqa: E731
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"children": as_json(hurdle_curves(cfg, children, 0.3)),
                                    "panel": as_json(hurdle_curves(cfg, programs, 0.3))}) + "\n")
    curves = json.loads(path.read_text())
    conv = lambda c: {n: {float(x): v for x, v in row.items()} for n, row in c.items()}  # noqa: E731
    n_points = next(iter(EvaluatorSpec.from_section(cfg.evaluator).build("proxy").tasks.values())).points
    watch = [n for n in curves["panel"] if "Lion" in n or n == "seed + sign"]
    rows = simulate(conv(curves["children"]), conv(curves["panel"]), panel["table"], panel["hurdle_sweep"]["top_half"],
                    n_points, cfg.search.hurdle_ceiling, watch)
    print(f"simulated on {len(curves['children'])} children and {len(curves['panel'])} panel programs "
          f"({n_points} validation points; ceiling {cfg.search.hurdle_ceiling}):")
    print(f"{'setting':66s} {'speedup':>7s} {'stopped':>8s} {'false stops':>11s}  lose best lr (by)")
    for r in rows:
        lost = ", ".join(f"{n} ({v:.3f})" for n, v in r["lost_best_value"].items()) or "-"
        print(f"{r['scheme']:66s} {r['speedup']:6.2f}x {r['children_stopped']:4d}/{r['children']:<3d} "
              f"{len(r['false_stops_top_half']):4d} of {len(panel['hurdle_sweep']['top_half'])}  {lost}"
              + (f"; stops {', '.join(r['watched_stopped'])}" if r["watched_stopped"] else ""))
    doc = {"simulated": [{k: v for k, v in r.items()} for r in rows], "curves": str(path)}
    print(json.dumps(doc))
    return doc


if __name__ == "__main__":
    main()
