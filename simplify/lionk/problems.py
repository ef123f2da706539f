"""Deterministic, full-batch test problems for the phase analysis (float64 throughout).

Full batch and float64 because the Lyapunov check compares consecutive values of H: a stochastic
gradient or float32 rounding would make H wobble for reasons that have nothing to do with the
optimizer. ``L`` is the smoothness constant of f used in the O(ε²) allowance: exact for the
quadratic, the standard bound for logistic regression, and for the (non-convex) MLP the largest
secant estimate ‖∇f(x') − ∇f(x)‖/‖x' − x‖ met along the trajectory (see ``secant_L``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

PROBLEMS = ("quadratic", "logreg", "mlp")


@dataclass(frozen=True)
class Problem:
    name: str
    dim: int
    f: Callable[[np.ndarray], float]
    grad: Callable[[np.ndarray], np.ndarray]
    L: float | None            # None: estimate along the trajectory
    description: str


def quadratic(dim: int = 40, seed: int = 0, cond: float = 30.0, spread: float = 3.0) -> Problem:
    """f(x) = ½(x − x*)ᵀA(x − x*), A SPD with eigenvalues in [1/cond, 1], x* ~ N(0, spread²).

    x* has entries of a few units so that a box ‖x‖∞ ≤ 1/λ with λ ~ 0.5 is active.
    """
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    eig = np.geomspace(1.0 / cond, 1.0, dim)
    A = (q * eig) @ q.T
    A = 0.5 * (A + A.T)
    xstar = rng.normal(size=dim) * spread

    def f(x):
        d = np.asarray(x) - xstar
        return float(0.5 * d @ A @ d)

    def grad(x):
        return A @ (np.asarray(x) - xstar)

    return Problem("quadratic", dim, f, grad, float(eig.max()),
                   f"convex quadratic, dim {dim}, condition number {cond:g}")


def logreg(dim: int = 20, samples: int = 200, seed: int = 0) -> Problem:
    """Mean logistic loss on synthetic separable-ish data (labels from a noisy linear teacher)."""
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(samples, dim))
    teacher = rng.normal(size=dim) * 2
    y = np.where(X @ teacher + 0.5 * rng.normal(size=samples) > 0, 1.0, -1.0)
    with jax.enable_x64(True):
        Xj, yj = jnp.asarray(X), jnp.asarray(y)
    f, grad = _x64_oracles(lambda w: jnp.mean(jnp.logaddexp(0.0, -yj * (Xj @ w))))
    L = float(np.linalg.eigvalsh(X.T @ X / samples).max() / 4.0)
    return Problem("logreg", dim, f, grad, L, f"logistic regression, {samples} samples, dim {dim} (convex)")


def mlp(width: int = 16, inputs: int = 4, samples: int = 128, seed: int = 0) -> Problem:
    """Squared error of a one-hidden-layer tanh MLP on a smooth synthetic target (non-convex).

    Parameters are one flat vector (W1, b1, w2, b2) so that K acts on the whole model.
    """
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(samples, inputs))
    y = np.sin(X @ rng.normal(size=inputs)) + 0.1 * rng.normal(size=samples)
    sizes = (inputs * width, width, width, 1)
    dim = sum(sizes)

    def net_loss(theta, Xj, yj):
        i = 0
        W1 = theta[i:i + inputs * width].reshape(inputs, width)
        i += inputs * width
        b1 = theta[i:i + width]
        i += width
        w2 = theta[i:i + width]
        i += width
        b2 = theta[i]
        pred = jnp.tanh(Xj @ W1 + b1) @ w2 + b2
        return 0.5 * jnp.mean((pred - yj) ** 2)

    with jax.enable_x64(True):
        Xj, yj = jnp.asarray(X), jnp.asarray(y)
    f, grad = _x64_oracles(lambda t: net_loss(t, Xj, yj))
    return Problem("mlp", dim, f, grad, None, f"tanh MLP {inputs}-{width}-1, {samples} samples, {dim} parameters "
                   "(non-convex; L estimated by secants)")


def get(name: str, **kwargs) -> Problem:
    if name == "quadratic":
        return quadratic(**kwargs)
    if name == "logreg":
        return logreg(**kwargs)
    if name == "mlp":
        return mlp(**kwargs)
    raise ValueError(f"no problem {name!r}; problems: {', '.join(PROBLEMS)}")


def secant_L(xs: np.ndarray, gs: np.ndarray) -> float:
    """max_t ‖g_{t+1} − g_t‖ / ‖x_{t+1} − x_t‖ along a trajectory (a lower estimate of L)."""
    dx = np.linalg.norm(np.diff(xs, axis=0), axis=1)
    dg = np.linalg.norm(np.diff(gs, axis=0), axis=1)
    ok = dx > 0
    return float(np.max(dg[ok] / dx[ok])) if ok.any() else 0.0


def _x64_oracles(loss: Callable) -> tuple[Callable[[np.ndarray], float], Callable[[np.ndarray], np.ndarray]]:
    """``f`` and ``grad`` of a JAX loss, jitted and evaluated in float64 (see the module's
    docstring), shared by the problems built on JAX."""
    import jax
    import jax.numpy as jnp

    value, gradient = jax.jit(loss), jax.jit(jax.grad(loss))

    def f(x):
        with jax.enable_x64(True):
            return float(value(jnp.asarray(x, jnp.float64)))

    def grad(x):
        with jax.enable_x64(True):
            return np.asarray(gradient(jnp.asarray(x, jnp.float64)))

    return f, grad
