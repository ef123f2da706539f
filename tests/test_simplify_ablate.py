"""Ablation (pass 5): deletes what the score does not need, within the tolerance, and says so."""

from __future__ import annotations

import numpy as np
import pytest

from dsl import analyze, library, parse_file
from dsl.execute import execute
from proxy_tasks.fitness import WORST_FITNESS
from simplify import simplify
from simplify.ablate import ablate, candidates
from simplify.pipeline import simplify_exact
from tests.conftest import reference_path


def batch(fn):
    calls = []

    def score(programs):
        calls.append(len(programs))
        return [fn(p) for p in programs]

    score.calls = calls
    return score


def ops_of(program):
    return [s.op for s in program.statements]


def test_candidates_replace_one_call_by_an_argument():
    program = simplify_exact(library.get("lion"))
    cands = candidates(program)
    assert cands
    for cand, why in cands:
        analyze(cand)
        assert len(cand.statements) < len(program.statements)
        assert "->" in why


def test_neutral_score_strips_everything_it_can():
    steps = ablate(library.get("adamw"), batch(lambda p: 0.0), tolerance=0.0)
    assert steps
    final = steps[-1].after
    assert len(final.statements) <= 2  # nothing is needed: the update is a bare input
    for a, b in zip(steps, steps[1:]):
        assert a.after == b.before
    assert all(s.fitness_before == 0.0 and s.fitness_after == 0.0 for s in steps)


def test_needed_ops_are_kept():
    score = batch(lambda p: 1.0 if {"sign", "interp"} <= set(ops_of(p)) else 0.0)
    steps = ablate(simplify_exact(library.get("discovered")), score, tolerance=0.5)
    final = steps[-1].after
    assert "sign" in ops_of(final) and "interp" in ops_of(final)
    assert "clip" not in ops_of(final) and "arcsin" not in ops_of(final)
    assert all(s.fitness_after == 1.0 for s in steps)


def test_tolerance_bounds_the_total_loss():
    # every deleted statement costs 0.004: tolerance 0.01 allows two deletions, not more
    original = simplify_exact(library.get("adamw"))
    n0 = len(original.statements)
    steps = ablate(original, batch(lambda p: -0.004 * (n0 - len(p.statements))), tolerance=0.01)
    assert steps
    final = steps[-1].after
    assert steps[-1].fitness_after >= -0.01
    assert n0 - len(final.statements) in (1, 2)
    assert ablate(original, batch(lambda p: -1.0 * (n0 - len(p.statements))), tolerance=0.01) == []


def test_non_finite_scores_are_rejected():
    steps = ablate(library.get("lion"), batch(lambda p: float("nan") if len(p.statements) < 7
                                               else 0.0), tolerance=1.0)
    assert all(len(s.after.statements) >= 7 for s in steps)


# --- a real, cheap score: training on a small noisy problem with the reference executor ------

def numpy_fitness(program, steps: int = 300, seed: int = 0) -> float:
    """-log(final loss) of training a noisy ill-conditioned least-squares problem with lr = 1."""
    rng = np.random.default_rng(seed)
    d = 32
    h = np.exp(rng.uniform(np.log(0.1), np.log(10.0), d))
    target = rng.normal(size=d) * 0.05
    w = np.zeros(d)
    m = np.zeros(d)
    v = np.zeros(d)
    noise = np.random.default_rng(seed + 1)

    def loss(x):
        return 0.5 * float(np.sum(h * (x - target) ** 2)) + 1e-6

    for _ in range(steps):
        g = h * (w - target) + 0.05 * noise.normal(size=d)
        update, m, v = execute(program, w, g, m, v, 1.0)
        w = w - update
    value = loss(w)
    return -float(np.log(value)) if np.isfinite(value) else WORST_FITNESS


def test_ablation_with_a_training_score_turns_discovered_into_lion():
    program = parse_file(reference_path("discovered_pruned.train"))
    result = simplify(program, score=batch(numpy_fitness), tolerance=0.02)
    final_ops = ops_of(result.program)
    assert "clip" not in final_ops and "arcsin" not in final_ops and "cosh" not in final_ops
    ablations = [s for s in result.steps if not s.exact]
    assert ablations and all(s.fitness_after >= ablations[0].fitness_before - 0.02 for s in ablations)
    assert all(a.after == b.before for a, b in zip(result.steps, result.steps[1:]))
    assert result.program == result.steps[-1].after
    assert result.recognition is not None, str(result.program)
    assert result.recognition.name == "lion"
    assert result.recognition.params["beta1"] == pytest.approx(0.899, abs=1e-6)
    assert result.recognition.params["beta2"] == pytest.approx(0.996991, abs=1e-6)


# --- acceptance: ablation on the real proxy tasks ----------------------------------------------

def _ablate_discovered(tasks, tolerance, **overrides):
    pytest.importorskip("proxy_tasks.evaluate", reason="proxy_tasks.evaluate (issue 3) is needed")
    program = parse_file(reference_path("discovered_pruned.train"))
    result = simplify(program, tasks=list(tasks), tolerance=tolerance, **overrides)
    final_ops = ops_of(result.program)
    assert "clip" not in final_ops and "arcsin" not in final_ops and "cosh" not in final_ops
    ablations = [s for s in result.steps if not s.exact]
    assert ablations
    first = ablations[0].fitness_before
    assert all(s.fitness_after >= max(s.fitness_before, first) - tolerance for s in ablations)
    rec = result.recognition
    assert rec is not None and rec.name == "lion", str(result.program)
    assert rec.params["beta1"] == pytest.approx(0.899, abs=1e-6)
    assert rec.params["beta2"] == pytest.approx(0.997, abs=1e-3)
    assert rec.params["lr_scale"] == pytest.approx(2e-4, rel=1e-6)
    return result, ablations


def test_ablation_on_proxy_tasks_turns_discovered_into_lion():
    # The MLP at 1000 steps (not its 200-step proxy default: short runs penalise the slow
    # beta2 = 0.997 momentum), mean over 3 seeds. Tolerance 0: a change is kept only if the
    # fitness does not drop. The margin that keeps the weight decay is thin (deleting it costs
    # ~1e-4 of fitness here; any tolerance above that deletes it): see docs/simplify.md.
    result, _ = _ablate_discovered(["mlp"], 0.0, steps=1000, seeds=(0, 1, 2))
    assert result.recognition.params["weight_decay"] == pytest.approx(0.4602, rel=1e-6)
    # issue 7: the Lion found this way is Lion-K with K = l1 and the box 1/0.4602 = 2.17
    from simplify.lionk import match_lionk

    found = match_lionk(result.program)
    assert found.member and found.k_name == "l1", found.describe()
    assert found.problem() == "minimize f(x) subject to ||x||_inf <= 1/lambda = 2.17"


@pytest.mark.slow
def test_ablation_deletes_weight_decay_where_it_hurts():
    # On logreg at proxy scale deleting the weight decay raises the fitness, so ablation deletes it
    result, ablations = _ablate_discovered(["logreg"], 0.01)
    assert result.recognition.params["weight_decay"] == 0.0
    (wd_step,) = [s for s in ablations if "0.4602" in str(s.before) and "0.4602" not in str(s.after)]
    assert wd_step.fitness_after > wd_step.fitness_before
