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
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    cfg = config_mod.load(args.config, args.set)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    ceiling = cfg.search.hurdle_ceiling if cfg.search.hurdle_ceiling is not None else 0.0
    doc: dict = {"config": args.config, "overrides": args.set, "children": args.children}
    results = Path(args.results)
    if not (results / "runs").exists():
        results = ROOT / "results" / "lion_rediscovery"
    if args.profile:
        p = doc["profile"] = profile(cfg, results, args.profile, ceiling)
        print(f"1. profile: {p['children']} replay children, {p['per_candidate_s']:.2f} s each")
        for k, v in sorted(p["parts"].items(), key=lambda kv: -kv[1]):
            print(f"   {k:52s} {v:7.1f} s  {v / p['seconds']:5.1%}")
        print(f"   compilations: {p['compilations']} ({p['compile_seconds']:.1f} s, inside the calls above)")
    settings = {"plain": [*PLAIN, f"search.max_evaluations={args.children}"],
                "replay": [*args.set, f"search.max_evaluations={args.children}"]}
    print(f"2. side by side: {args.children} children each from AdamW, one core each", flush=True)
    dirs = run_searches(args.config, settings, 6 * 3600, out_dir / "searches", log=lambda s: print(s, flush=True))
    rates = {k: children_per_s(d) for k, d in dirs.items()}
    ratio = rates["replay"]["children_per_s"] / rates["plain"]["children_per_s"]
    for k, r in rates.items():
        print(f"   {k:7s} {r['evaluated']:4d} children in {r['span_s']:7.1f} s: {r['children_per_s']:.3f}/s, "
              f"{r['stopped']} stopped at a hurdle, {r['race_evaluations']} racing seeds")
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


if __name__ == "__main__":
    main()
