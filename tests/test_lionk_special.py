"""Each row of lion_k.md's table of known algorithms, reproduced exactly by Lion-K.

The Lion-K side is ``from_continuous`` with the row's setting (or ``LionK`` directly); the other
side is the named algorithm written from its own definition, or optax's implementation. Float64
throughout (optax runs under ``jax.enable_x64``), so "exactly" means to rounding (rtol 1e-12).
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from simplify.lionk.kfuncs import L1, HalfSquaredL2, Huber, Lp, ThresholdedL1, TopK
from simplify.lionk.step import SPECIAL_CASES, from_continuous

RNG = np.random.default_rng(0)
A = (lambda q: q @ np.diag(np.linspace(0.2, 2.0, 5)) @ q.T)(np.linalg.qr(RNG.normal(size=(5, 5)))[0])
XSTAR = RNG.normal(size=5) * 2
X0 = RNG.normal(size=5)
STEPS = 30
ANY_K = [L1(), Lp(3.0), ThresholdedL1(0.05), TopK(2), Huber(0.5), HalfSquaredL2()]


def grad(x):
    return A @ (x - XSTAR)


def lionk_traj(opt, x0=X0, steps=STEPS):
    return opt.run(x0, grad, steps)[0]


def optax_traj(tx, x0=X0, steps=STEPS):
    with jax.enable_x64(True):
        x = jnp.asarray(x0, jnp.float64)
        state = tx.init(x)
        out = [np.asarray(x)]
        for _ in range(steps):
            u, state = tx.update(jnp.asarray(grad(np.asarray(x))), state, x)
            x = optax.apply_updates(x, u)
            out.append(np.asarray(x))
    return np.array(out)


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_table_rows_are_all_covered():
    names = {row.algorithm for row in SPECIAL_CASES}
    tested = {"Polyak momentum", "Nesterov momentum", "Signed momentum", "Hamiltonian descent",
              "Hamiltonian descent, composite objectives", "Dual-space preconditioning, mirror descent",
              "Signed gradient descent", "Accelerated mirror descent", "Frank-Wolfe"}
    assert names == tested


@pytest.mark.parametrize("gamma,step", [(1.0, 0.1), (5.0, 0.05)])
def test_polyak_momentum(gamma, step):
    """K = ||x||^2/2, lambda = 0, eps = 0: heavy ball x' = x - eta g + mu (x - x_prev)."""
    opt = from_continuous(HalfSquaredL2(), alpha=gamma, gamma=gamma, lookahead=0.0, step=step)
    mu, eta = 1 - step * gamma, step * step * gamma
    xs = [X0, X0 - eta * grad(X0)]
    for _ in range(STEPS - 1):
        xs.append(xs[-1] - eta * grad(xs[-1]) + mu * (xs[-1] - xs[-2]))
    close(lionk_traj(opt), np.array(xs))
    close(lionk_traj(opt), optax_traj(optax.sgd(eta, momentum=mu)))


@pytest.mark.parametrize("gamma,step", [(1.0, 0.1), (4.0, 0.2)])
def test_nesterov_momentum(gamma, step):
    """K = ||x||^2/2, lambda = 0, look-ahead equal to the step: optax's Nesterov SGD."""
    opt = from_continuous(HalfSquaredL2(), alpha=gamma, gamma=gamma, lookahead=step, step=step)
    mu = 1 - step * gamma
    assert opt.beta1 == pytest.approx(mu * mu) and opt.beta2 == pytest.approx(mu)
    close(lionk_traj(opt), optax_traj(optax.sgd(step * step * gamma, momentum=mu, nesterov=True)))


def test_signed_momentum():
    """K = ||x||_1, eps = 0, lambda = 0: signum (optax.signum)."""
    opt = from_continuous(L1(), alpha=2.0, gamma=2.0, lookahead=0.0, step=0.05)
    close(lionk_traj(opt), optax_traj(optax.signum(0.05, beta=1 - 0.05 * 2.0)))


def _hamiltonian_descent(k, step, gamma, lam, steps=STEPS):
    """Maddison et al.'s first explicit method: p' = delta p - step delta g, x' = x + step grad k(p'),
    delta = 1 / (1 + step gamma); with lambda > 0 the decay is taken implicitly (composite)."""
    delta = 1 / (1 + step * gamma)
    x, p = X0.copy(), np.zeros_like(X0)
    xs = [x.copy()]
    for _ in range(steps):
        p = delta * p - step * delta * grad(x)
        x = (x + step * k.grad(p)) / (1 + step * lam)
        xs.append(x.copy())
    return np.array(xs)


@pytest.mark.parametrize("K", ANY_K, ids=lambda k: k.label)
@pytest.mark.parametrize("lam", [0.0, 0.7], ids=["plain", "composite"])
def test_hamiltonian_descent(K, lam):
    """eps = 0 (lambda = 0, or lambda > 0 for composite objectives), any K: Hamiltonian descent."""
    step, gamma_m = 0.1, 3.0
    delta = 1 / (1 + step * gamma_m)
    opt = from_continuous(K, alpha=delta, gamma=(1 - delta) / step, lookahead=0.0, step=step, lam=lam)
    close(lionk_traj(opt), _hamiltonian_descent(K, step, gamma_m, lam))


@pytest.mark.parametrize("K", ANY_K, ids=lambda k: k.label)
def test_dual_space_preconditioning(K):
    """eps gamma = 1, lambda = 0: x' = x - step grad k*(grad f(x)) with k* = K (Maddison et al. 2019)."""
    step, gamma = 0.1, 2.0
    opt = from_continuous(K, alpha=gamma, gamma=gamma, lookahead=1 / gamma, step=step)
    xs = [X0]
    for _ in range(STEPS):
        xs.append(xs[-1] - step * K.grad(grad(xs[-1])))
    close(lionk_traj(opt), np.array(xs))


def test_signed_gradient_descent():
    """K = ||x||_1, eps gamma = 1, lambda = 0: optax.sign_sgd."""
    opt = from_continuous(L1(), alpha=2.0, gamma=2.0, lookahead=0.5, step=0.03)
    assert opt.beta1 == 0.0
    close(lionk_traj(opt), optax_traj(optax.sign_sgd(0.03)))


@pytest.mark.parametrize("K", ANY_K, ids=lambda k: k.label)
def test_accelerated_mirror_descent(K):
    """gamma = 0, eps = 0, lambda > 0: dual averaging z' = z - s g, x' = (1 - th) x + th grad psi*(z')
    with grad psi* = grad K / lambda, s = step alpha, th = step lambda / (1 + step lambda)."""
    step, alpha, lam = 0.1, 1.5, 0.8
    opt = from_continuous(K, alpha=alpha, gamma=0.0, lookahead=0.0, step=step, lam=lam)
    th = step * lam / (1 + step * lam)
    x, z = X0.copy(), np.zeros_like(X0)
    xs = [x.copy()]
    for _ in range(STEPS):
        z = z - step * alpha * grad(x)
        x = (1 - th) * x + th * K.grad(z) / lam
        xs.append(x.copy())
    close(lionk_traj(opt), np.array(xs))


def _lmo(vertices, g):
    return vertices[int(np.argmin(vertices @ g))]


@pytest.mark.parametrize("K", [L1(), TopK(1)], ids=lambda k: k.label)
def test_frank_wolfe(K):
    """eps gamma = 1, lambda > 0: x' = (1 - th) x + th s, s = argmin over F of <g, s>, F = dom K*/lambda.

    The linear minimization oracle enumerates the vertices of F (the box, or the l1 ball for top-1)."""
    step, gamma, lam = 0.1, 2.0, 0.6
    opt = from_continuous(K, alpha=gamma, gamma=gamma, lookahead=1 / gamma, step=step, lam=lam)
    n = X0.size
    if isinstance(K, L1):
        vertices = np.array(list(itertools.product([-1.0, 1.0], repeat=n))) / lam
    else:
        vertices = np.concatenate([np.eye(n), -np.eye(n)]) / lam
    th = step * lam / (1 + step * lam)
    xs = [X0]
    for _ in range(STEPS):
        xs.append((1 - th) * xs[-1] + th * _lmo(vertices, grad(xs[-1])))
    close(lionk_traj(opt), np.array(xs))
