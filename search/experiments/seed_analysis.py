"""Stage 3 of the replay, per seed: the search read back (statistics, the goal timeline, progress)
and its answer with its best learning-rate grid value baked in, simplified with ablation on the
proxy tasks, recognized and tested for sign-momentum (``analyse_seed``)."""

from __future__ import annotations

import time
from pathlib import Path

from dsl.parse import parse
from dsl.printer import one_line
from search.analysis import runs
from search.experiments.compare import bake_lr, best_lr_scale
from search.experiments.goal_timeline import goal_timeline
from search.experiments.replay_options import Log, Options
from search.experiments.seed_result import Answer, SeedResult, Statistics, Timeline
from simplify import simplify
from simplify.derivation import render
from simplify.family import sign_momentum


def analyse_seed(cfg, run_dir: Path, opts: Options, log: Log) -> SeedResult:

    run = runs.load_run(run_dir)
    stats = runs.statistics(run)
    ans = runs.answer(run)
    out = SeedResult(seed=cfg.seed, run_dir=str(run_dir), timeline=Timeline.from_json(goal_timeline(run), "timeline"),
                     statistics=Statistics(evaluations=stats.evaluations, children=stats.children,
                                           cache_hit_rate=stats.cache_hit_rate,
                                           redundant_ratio=stats.redundant_ratio,
                                           wall_time=stats.wall_time, evals_per_s=stats.evals_per_s),
                     progress=[list(p) for p in runs.progress_points(run)],
                     meta={k: [list(p) for p in v] for k, v in runs.meta_points(run).items()})
    if ans is None:
        out.answer = None
        return out
    raw = parse(ans.source)
    row = next((r for r in run.rows if r.id == ans.id), None)
    scale = best_lr_scale(raw, cfg, row.lr_scales if row is not None else None)
    baked = bake_lr(raw, scale)
    ev = cfg.evaluator
    overrides = dict(ev.overrides)  # task settings (the evaluator options are apart)
    t0 = time.perf_counter()
    result = simplify(baked, tasks=dict(ev.tasks), tolerance=opts.ablation_tolerance, seeds=tuple(ev.seeds),
                      **overrides)
    derivation = render(result)
    log(f"seed {cfg.seed}: answer simplified in {time.perf_counter() - t0:.0f}s\n{derivation}")
    rec = result.recognition
    sm = sign_momentum(result.program)
    out.answer = Answer(id=ans.id, scale=ans.scale, fitness=ans.fitness, proxy_fitness=ans.proxy_fitness,
                        raw=ans.source, raw_one_line=one_line(raw), lr_scale_baked=scale,
                        simplified=str(result.program), simplified_one_line=one_line(result.program),
                        derivation=derivation, recognized=rec.describe() if rec else None,
                        family=rec.name if rec else None, sign_momentum=sm.member,
                        sign_momentum_detail=sm.describe())
    return out
