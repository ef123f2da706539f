"""Is Lion within the replay's reach? Three measurements behind the replay's goal.

1. ranking  The replay's proxy (its config's evaluator) with more task seeds than the search uses:
            the programs along the path from AdamW to Lion's form (``PATH``), Lion itself, and
            each replay seed's answer. The fitness on every task seed and the mean. The search
            scores a candidate on its config's seeds only, so it ranks by the first columns.
2. meta     The replay's final comparison (``search.experiments.compare.compare``: the
            meta-validation tasks, lr x wd tuned on the same grid for every optimizer) for the
            path programs, against tuned AdamW and Lion: can a sign-momentum program meet the
            goal there at all?
3. draws    From a replay's run directories: how many children the search logged, how many
            inserted a sign, how many wrote ``update = sign(update)``, and how many distinct
            scored programs were sign-momentum (the replay's ``goal_timeline`` count). The goal
            needs such a draw in most seeds.

``benchmarks/lion_reach.py`` runs the three and prints them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dsl import library, parse
from dsl.program import Program
from proxy_tasks.tuned import MetaSettings
from search.analysis import runs
from search.backends.base import EvaluatorSpec
from search.experiments import replay_summary
from search.experiments.compare import beats, best_lr_scale, compare
from search.experiments.goal_timeline import goal_timeline
from search.experiments.proxy_noise import path_program

PATH = {
    "AdamW seed": library.get("adamw"),
    "seed + sign": path_program(sign=True),
    "Lion form (0.9, 0.95)": path_program(0.95, split=True, sign=True),
    "Lion form (0.9, 0.99)": path_program(0.99, split=True, sign=True),
}


def answers(results: Path) -> dict[str, Program]:
    """Each replay seed's answer (raw, as the search scored it) from ``summary.json``."""
    summary = results / "summary.json"
    if not summary.exists():
        return {}
    out = {}
    for s in replay_summary.load(summary).seeds or []:
        ans = s.answer
        if ans:
            out[f"seed {s.seed} answer (id {ans.id})"] = parse(ans.raw)
    return out


def ranked_programs(results: Path) -> dict[str, Program]:
    """What the ranking scores: the path, Lion (the built-in), and the replay's answers in ``results``."""
    return {**PATH, "Lion (library)": library.get("lion"), **answers(results)}


def ranking(cfg, programs: dict, n_seeds: int = 0, seeds=None) -> dict:
    """Fitness per task seed (``seeds``, default 0..n_seeds-1) on the config's proxy, and the mean."""
    spec = EvaluatorSpec.from_section(cfg.evaluator)
    chosen = tuple(seeds) if seeds is not None else tuple(range(n_seeds))
    ev = EvaluatorSpec({**spec.kwargs, "seeds": chosen}, spec.factory).build("proxy")
    rows = {}
    for name, program in programs.items():
        r = ev.evaluate_one(program)
        per = [float(r.seed_fitness[s]) for s in chosen] if r.seed_fitness else [float(t.fitness) for t in r.tasks]
        rows[name] = {"mean": float(r.fitness), "per_seed": per,
                      "lr_scale": best_lr_scale(program, cfg, {t.task: t.lr_scale for t in r.tasks})}
    return rows


def meta(programs: dict, settings: MetaSettings, log: Callable[[str], None] = print) -> dict:
    """Mean log ratio against tuned AdamW (> 0: better) per program, tuned Lion included."""
    tuned = compare(programs, settings, log=log)
    return {name: beats(tuned, name) | {"best": {t: [tuned[t][name].lr_scale, tuned[t][name].wd_scale]
                                                 for t in tuned}}
            for name in ["Lion", *programs]}


def draws(results: Path) -> dict:
    """Per run directory under ``results/runs``: children, sign inserts, sign-momentum programs.

    Returns ``{"runs": {name: counts}, "total": counts summed, "children_per_update_sign"}``, or
    ``{}`` when there is no run directory."""
    counts = {}
    for run_dir in sorted((results / "runs").glob("*")):
        if not (run_dir / "evaluations.jsonl").exists():
            continue
        run = runs.load_run(run_dir)
        signs = [r for r in run.rows if r.mutation.startswith("insert") and " sign(" in r.mutation]
        timeline = goal_timeline(run)
        counts[run_dir.name] = {"children": len(run.rows), "sign_inserts": len(signs),
                                "update_sign": sum("update = sign(update)" in r.mutation for r in signs),
                                "sign_momentum": timeline["sign_momentum_programs"],
                                "sign_momentum_per_1000": timeline["sign_momentum_children_per_1000"]}
    if not counts:
        return {}
    keys = [k for k in next(iter(counts.values())) if k != "sign_momentum_per_1000"]
    total = {k: sum(c[k] for c in counts.values()) for k in keys}
    per_draw = total["children"] / max(1, total["update_sign"])
    return {"runs": counts, "total": total, "children_per_update_sign": per_draw}
