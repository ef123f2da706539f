"""Lion-K as optax transforms and as DSL programs, against the numpy reference and optax.lion."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dsl.execute import execute
from simplify.lionk.kfuncs import L1, HalfSquaredL2, Huber, Lp, ThresholdedL1, TopK
from simplify.lionk.optax_lionk import lion_k
from simplify.lionk.programs import expressible, lionk_program
from simplify.lionk.step import LionK, explicit_to_implicit_eps

ALL = [L1(), Lp(3.0), Lp(1.5), ThresholdedL1(0.05), TopK(2), Huber(0.5), HalfSquaredL2()]
RNG = np.random.default_rng(0)
GRADS = [RNG.normal(size=6) * 10.0 ** RNG.uniform(-1, 1) for _ in range(25)]
W0 = RNG.normal(size=6) * 3


def _optax_run(tx, w0=W0, grads=GRADS):
    with jax.enable_x64(True):
        w = jnp.asarray(w0, jnp.float64)
        state = tx.init(w)
        out = [np.asarray(w)]
        for g in grads:
            u, state = tx.update(jnp.asarray(g), state, w)
            w = optax.apply_updates(w, u)
            out.append(np.asarray(w))
    return np.array(out)


def _ref_run(opt, w0=W0, grads=GRADS):
    w, m = np.array(w0), np.zeros_like(w0)
    out = [w.copy()]
    for g in grads:
        w, m = opt.step(w, m, g)
        out.append(w.copy())
    return np.array(out)


def test_l1_explicit_is_optax_lion():
    a = _optax_run(lion_k(3e-2, L1(), b1=0.9, b2=0.99, weight_decay=0.3))
    b = _optax_run(optax.lion(3e-2, b1=0.9, b2=0.99, weight_decay=0.3))
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("K", ALL, ids=lambda k: k.label)
@pytest.mark.parametrize("decay", ["explicit", "implicit"])
def test_optax_transform_matches_reference(K, decay):
    opt = LionK(K, beta1=0.8, beta2=0.95, eps=0.05, lam=0.4, decay=decay)
    a = _optax_run(lion_k(0.05, K, b1=0.8, b2=0.95, weight_decay=0.4, decay=decay))
    np.testing.assert_allclose(a, _ref_run(opt), rtol=1e-10, atol=1e-12)


def test_implicit_form_solves_for_the_new_weights():
    """x' = x - eps (grad K(c) + lambda x'), checked on the transform's own output."""
    K, eps, lam = Huber(0.5), 0.2, 0.7
    xs = _optax_run(lion_k(eps, K, b1=0.0, b2=0.0, weight_decay=lam, decay="implicit"))
    for t, g in enumerate(GRADS[:5]):
        np.testing.assert_allclose(xs[t + 1], xs[t] - eps * (K.grad(g) + lam * xs[t + 1]), rtol=1e-12, atol=1e-12)


def test_explicit_equals_implicit_with_rescaled_step():
    K, eps, lam = L1(), 0.05, 0.8
    a = _ref_run(LionK(K, 0.9, 0.99, eps, lam, "explicit"))
    b = _ref_run(LionK(K, 0.9, 0.99, explicit_to_implicit_eps(eps, lam), lam, "implicit"))
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_schedule_is_accepted():
    sched = optax.linear_schedule(0.1, 0.0, 25)
    xs = _optax_run(lion_k(sched, L1(), weight_decay=0.1))
    np.testing.assert_allclose(xs[-1], xs[-2], atol=0.1 / 25 * 1.2 + 1e-12)


@pytest.mark.parametrize("K", [k for k in ALL if expressible(k)], ids=lambda k: k.label)
@pytest.mark.parametrize("decay", ["explicit", "implicit"])
@pytest.mark.parametrize("lr", [1.0, 0.3])
def test_dsl_program_matches_reference(K, decay, lr):
    prog = lionk_program(K, beta1=0.8, beta2=0.95, weight_decay=0.4, lr_scale=0.05, decay=decay)
    opt = LionK(K, beta1=0.8, beta2=0.95, eps=0.05 * lr, lam=0.4, decay=decay)
    w, m, v = np.array(W0), np.zeros(6), np.zeros(6)
    ref = _ref_run(opt)
    for t, g in enumerate(GRADS):
        u, m, v = execute(prog, w, g, m, v, lr)
        w = w - u
        np.testing.assert_allclose(w, ref[t + 1], rtol=1e-10, atol=1e-12)


def test_topk_is_not_expressible():
    assert not expressible(TopK(2))
    with pytest.raises(ValueError, match="cannot be written"):
        lionk_program(TopK(2))
