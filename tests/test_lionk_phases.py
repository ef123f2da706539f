"""The two phases measured on convex problems: the box is reached at the predicted rate, and the
discrete Lyapunov function H decreases monotonically for small eps (and visibly does not for large)."""

from __future__ import annotations

import numpy as np
import pytest

from simplify.lionk import analysis, problems
from simplify.lionk.kfuncs import L1, HalfSquaredL2, Huber, Lp, ThresholdedL1, TopK
from simplify.lionk.lyapunov import ROUND_RTOL, lyapunov, phases
from simplify.lionk.match import match_lionk
from simplify.lionk.programs import lionk_program
from simplify.lionk.step import LionK

QUAD = problems.quadratic(dim=20, seed=1)
CLOSED_FORM_K = [L1(), Lp(3.0), Lp(1.5), ThresholdedL1(0.05), TopK(5), Huber(0.5), HalfSquaredL2()]


def _inside_start(lam, K=None, seed=0):
    """A point of the constraint set dom K*/lambda (shrunk by 0.9), so phase 2 holds from step 0."""
    y = np.random.default_rng(seed).uniform(-1, 1, size=QUAD.dim)
    return 0.9 * (y if K is None else K.project_dom(y)) / lam


def _run(opt, x0, steps):
    xs, ms = opt.run(x0, QUAD.grad, steps)
    return xs, ms, np.array([QUAD.f(x) for x in xs])


def test_lion_reaches_the_box_at_the_predicted_rate():
    """Lion (K = l1, explicit decay, run as a DSL program) from x0 outside ||x||_inf <= 1/lambda."""
    lam, eps = 0.4602, 0.02
    prog = lionk_program(L1(), beta1=0.9, beta2=0.99, weight_decay=lam, lr_scale=eps)
    match = match_lionk(prog)
    res = analysis.analyze(prog, match, QUAD, steps=3000, init_scale=3.0, seed=0)
    xs, rep = res.trajectory.xs, res.report
    excess = np.maximum(np.abs(xs) - 1 / lam, 0).max(axis=1)        # l_inf distance to the box
    assert excess[0] > 1.0 / lam                                      # started well outside
    t = np.arange(len(xs))
    assert np.all(excess <= excess[0] * (1 - eps * lam) ** t * (1 + 1e-9) + 1e-12)
    assert rep.bound_violations == 0 and rep.rate == pytest.approx(1 - eps * lam)
    assert np.all(rep.distance <= rep.bound * (1 + 1e-9) + 1e-12)
    assert rep.shrink_steps is not None and rep.shrink_steps <= rep.shrink_predicted
    assert np.abs(xs[-1]).max() <= 1 / lam * (1 + 1e-9) and rep.constraint_ok
    # a coordinate that enters the box stays in it (|x'| <= (1 - eps lambda)|x| + eps <= 1/lambda)
    inside = np.abs(xs) <= 1 / lam * (1 + 1e-12)
    entered = inside.any(axis=0)
    first = np.argmax(inside, axis=0)
    assert entered.sum() > QUAD.dim // 2
    for i in np.flatnonzero(entered):
        assert inside[first[i]:, i].all()


@pytest.mark.parametrize("K", CLOSED_FORM_K, ids=lambda k: k.label)
def test_H_is_monotone_for_small_eps(K):
    lam, eps = 0.5, 1e-3
    opt = LionK(K, beta1=0.9, beta2=0.99, eps=eps, lam=lam, decay="implicit")
    xs, ms, fs = _run(opt, _inside_start(lam, K), 1500)
    rep = phases(K, xs, ms, fs, beta1=0.9, beta2=0.99, eps=eps, lam=lam, L=QUAD.L)
    assert rep.phase2_start == 0 and np.isfinite(rep.H).all()
    assert rep.rises == 0 and rep.monotone, f"H rose {rep.rises} times, max {rep.max_rise:.3g}"
    assert rep.H[-1] < rep.H[0] - 1.0  # it does decrease, not just stay flat
    assert rep.constraint_ok


@pytest.mark.parametrize("K", [L1(), Huber(0.5)], ids=lambda k: k.label)
def test_explicit_program_is_certified_with_the_equivalent_implicit_eps(K):
    lam, eps = 0.5, 2e-3
    prog = lionk_program(K, beta1=0.9, beta2=0.99, weight_decay=lam, lr_scale=eps, decay="explicit")
    res = analysis.analyze(prog, match_lionk(prog), QUAD, steps=1500, x0=_inside_start(lam))
    assert res.eps_implicit == pytest.approx(eps / (1 - eps * lam))
    assert res.report.phase2_start == 0 and res.report.rises == 0


def test_H_as_written_in_lion_k_md_is_not_monotone():
    """lion_k.md's bracket coefficient lacks a factor eps: with it as written H rises by O(1)."""
    K, lam, eps = L1(), 0.5, 1e-3
    opt = LionK(K, beta1=0.9, beta2=0.99, eps=eps, lam=lam, decay="implicit")
    xs, ms, fs = _run(opt, _inside_start(lam), 600)
    H = np.array([lyapunov(K, f, x, m, beta1=0.9, beta2=0.99, eps=eps, lam=lam, as_written=True)
                  for f, x, m in zip(fs, xs, ms)])
    assert np.sum(np.diff(H) > 1e-9) > 10 and np.diff(H).max() > 1.0


@pytest.mark.parametrize("K", [L1(), ThresholdedL1(0.05)], ids=lambda k: k.label)
def test_large_eps_rises_are_counted_not_hidden(K):
    lam, eps = 0.5, 0.2
    opt = LionK(K, beta1=0.9, beta2=0.99, eps=eps, lam=lam, decay="implicit")
    xs, ms, fs = _run(opt, _inside_start(lam), 400)
    rep = phases(K, xs, ms, fs, beta1=0.9, beta2=0.99, eps=eps, lam=lam, L=QUAD.L)
    dH = np.diff(rep.H[rep.phase2_start:])
    recount = int(np.sum(dH > ROUND_RTOL * np.maximum(1, np.abs(rep.H[rep.phase2_start:-1]))))
    assert rep.rises == recount > 0 and not rep.monotone
    assert rep.max_rise == pytest.approx(dH.max())
    # the O(eps^2) allowance (L/2)||dx||^2 is checked separately and reported as its own count
    dx2 = np.sum(np.diff(xs[rep.phase2_start:], axis=0) ** 2, axis=1)
    assert rep.allowance_violations == int(np.sum(dH > 0.5 * QUAD.L * dx2 + ROUND_RTOL * np.maximum(
        1, np.abs(rep.H[rep.phase2_start:-1]))))


def test_logreg_phase2_monotone_for_lion():
    prob = problems.logreg(dim=10, samples=100)
    lam, eps = 0.5, 5e-3
    prog = lionk_program(L1(), beta1=0.9, beta2=0.99, weight_decay=lam, lr_scale=eps)
    res = analysis.analyze(prog, match_lionk(prog), prob, steps=800, init_scale=0.9)
    assert res.report.phase2_start == 0 and res.report.rises == 0 and res.report.constraint_ok


def test_no_decay_means_no_constraint_and_no_H():
    K = HalfSquaredL2()
    opt = LionK(K, beta1=0.9, beta2=0.9, eps=0.05, lam=0.0, decay="explicit")
    xs, ms, fs = _run(opt, _inside_start(1.0), 50)
    rep = phases(K, xs, ms, fs, beta1=0.9, beta2=0.9, eps=0.05, lam=0.0, L=QUAD.L)
    assert rep.phase2_start is None and rep.constraint_ok and (rep.distance == 0).all()


def test_non_member_is_refused():
    from dsl import library

    with pytest.raises(ValueError, match="not a Lion-K member"):
        analysis.analyze(library.get("adamw"), match_lionk(library.get("adamw")), QUAD)
