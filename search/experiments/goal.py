"""What the replay's final comparison decides, as summary records: the comparison itself
(``meta_validation``), each answer's goal (``seed_goal``), the counts over the seeds
(``goal_counts``) and the seed whose answer heads the report (``headline_seed``)."""

from __future__ import annotations

import math

from dsl.parse import parse
from proxy_tasks.tuned import MetaSettings, Tuned
from search.experiments.compare import beats, paired, verdict
from search.experiments.replay_summary import Beats, Goal, MetaValidation, TunedResult
from search.experiments.seed_result import Paired, SeedGoal, SeedResult
from simplify.recognize import recognize

LION_BETAS = (0.9, 0.99)  # Lion's defaults (Chen et al. 2023), against which each answer's betas are reported


def meta_validation(meta: MetaSettings, searched: list[str], tuned: dict[str, dict[str, Tuned]],
                    programs) -> MetaValidation:
    """The final comparison's settings and results; ``programs`` (their names) against tuned AdamW."""
    return MetaValidation(
        tasks=list(meta.tasks), searched_tasks=searched,
        outside_the_search=[t for t in meta.tasks if t not in searched], scale=meta.scale,
        seeds=list(meta.seeds), lr_grid=list(meta.lr_grid),
        wd_grid=list(meta.wd_grid), overrides=meta.overrides,
        results={t: {n: TunedResult(mean=v.mean, std=v.std, finals=v.finals, lr_scale=v.lr_scale,
                                    wd_scale=v.wd_scale, grid=v.grid, curves=v.curves) for n, v in per.items()}
                 for t, per in tuned.items()},
        vs_adamw={n: Beats.from_json(beats(tuned, n), f"vs_adamw.{n}") for n in programs},
        lion_vs_adamw=Beats.from_json(beats(tuned, "Lion"), "lion_vs_adamw"))


def seed_goal(simplified: str, sign_momentum: bool | None, tuned: dict[str, dict[str, Tuned]], name: str) -> SeedGoal:
    """#17's goal for one seed's answer (``simplified``). **Rediscovery**: the simplified answer is
    recognized as Lion's form (the sign of an interpolation of the gradient and a momentum, that
    momentum a moving average of the gradient with its own weight, ``w`` only as decoupled weight
    decay: ``simplify.recognize``'s ``lion``), with its two betas. **Generalization**: against
    tuned optax Lion and tuned optax AdamW on the meta-validation tasks, the mean log loss ratio
    over seeds (paired) with its seed-to-seed standard deviation; within one standard deviation of
    Lion or better means ``mean + sd >= 0``. "Beats tuned AdamW" only beyond one standard
    deviation (``compare.verdict``); inside it, the answer ties."""
    rec = recognize(parse(simplified))
    lion_form = rec is not None and rec.name == "lion"
    vs_lion, vs_adamw = paired(tuned, name, "Lion"), paired(tuned, name, "AdamW")
    within = math.isfinite(vs_lion["mean_log_ratio"]) and vs_lion["mean_log_ratio"] + (
        vs_lion["sd"] if math.isfinite(vs_lion["sd"]) else 0.0) >= 0
    return SeedGoal(lion_form=lion_form, recognized=rec.describe() if rec else None,
                    betas=[rec.params["beta1"], rec.params["beta2"]] if lion_form else None,
                    lion_betas=list(LION_BETAS), sign_momentum=bool(sign_momentum),
                    vs_lion=Paired.from_json(vs_lion, "vs_lion"), vs_adamw=Paired.from_json(vs_adamw, "vs_adamw"),
                    within_one_sd_of_lion=bool(within),
                    vs_lion_verdict=verdict(vs_lion), vs_adamw_verdict=verdict(vs_adamw),
                    beats_tuned_adamw=verdict(vs_adamw) == "beats", reached=bool(lion_form and within))


def goal_counts(seeds: list[SeedResult]) -> Goal:
    """The goal over the seeds: how many answers reached each part of it."""
    goals = [d.goal or SeedGoal() for d in seeds]
    return Goal(
        seeds=len(seeds),
        lion_form=sum(bool(g.lion_form) for g in goals),
        lion_form_within_one_sd_of_lion=sum(bool(g.reached) for g in goals),
        sign_momentum=sum(bool(d.answer and d.answer.sign_momentum) for d in seeds),
        beating_tuned_adamw=sum(bool(g.beats_tuned_adamw) for g in goals),
        tying_tuned_adamw=sum(g.vs_adamw_verdict == "ties" for g in goals),
        sign_momentum_beating_tuned_adamw=sum(bool(g.sign_momentum and g.beats_tuned_adamw) for g in goals),
        first_sign_momentum_evaluations=[first.evaluations if (first := d.timeline.first_sign_momentum) else None
                                         for d in seeds],
        one_state_lion_form=sum(bool(d.one_state_leader and d.one_state_leader.lion_form) for d in seeds))


def headline_seed(seeds: list[SeedResult]) -> int | None:
    """The seed whose answer scored best where the search could see it (funnel scale, else proxy)."""
    cands = [d for d in seeds if d.answer]
    if not cands:
        return None
    rank = {"x100": 2, "x10": 1, "proxy": 0}
    best = max(cands, key=lambda d: (rank.get(d.answer.scale, 0), d.answer.fitness))
    return best.seed
