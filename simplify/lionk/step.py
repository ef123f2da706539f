"""One Lion-K step in numpy (float64): the reference the analysis and the tests use.

Sign convention. lion_k.md writes the momentum m_p carrying the NEGATIVE gradient:
``m_p' = β2 m_p − (1 − β2) g``, ``x' = x + ε(∇K(β1 m_p − (1 − β1) g) − λx)``. This code, the DSL
and optax keep m = −m_p, an average of +g: ``m' = β2 m + (1 − β2) g`` and
``x' = x − ε(∇K(β1 m + (1 − β1) g) + λx)``. The two agree because every K here is even, so ∇K is
odd: ∇K(−c) = −∇K(c). In the Lyapunov function the cross term −λxᵀm_p becomes +λxᵀm.

Weight decay forms. ``explicit``: ``x' = x − ε(∇K(c) + λx)`` (Lion, AdamW's decoupled decay).
``implicit``: ``x' = x − ε(∇K(c) + λx')``, i.e. ``x' = (x − ε∇K(c)) / (1 + ελ)``, the form in
lion_k.md's theorems. They are the same family: the implicit step with ε equals the explicit step
with ε/(1 + ελ) (see ``explicit_to_implicit_eps``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from simplify.lionk.kfuncs import KFunction

DECAY_FORMS = ("explicit", "implicit")


def explicit_to_implicit_eps(eps: float, lam: float) -> float:
    """The ε' whose implicit step equals the explicit step with ε: ε' = ε / (1 − ελ) (ελ < 1)."""
    if eps * lam >= 1.0:
        raise ValueError(f"eps * lambda = {eps * lam:.3g} >= 1: no implicit form")
    return eps / (1.0 - eps * lam)


def implicit_to_explicit_eps(eps: float, lam: float) -> float:
    """The ε' whose explicit step equals the implicit step with ε: ε' = ε / (1 + ελ)."""
    return eps / (1.0 + eps * lam)


@dataclass(frozen=True)
class LionK:
    """A Lion-K optimizer with its constants (momentum stored as an average of +g).

    ``a1`` and ``a2`` are the gradient weights in the look-ahead and the momentum; they default
    to 1 − β1 and 1 − β2 (the form of lion_k.md). Setting them apart only matters for γ = 0
    (no friction) in ``from_continuous``.
    """

    K: KFunction
    beta1: float = 0.9
    beta2: float = 0.99
    eps: float = 1e-4
    lam: float = 0.0
    decay: str = "implicit"
    a1: float | None = None
    a2: float | None = None

    def __post_init__(self) -> None:
        if self.decay not in DECAY_FORMS:
            raise ValueError(f"decay must be one of {DECAY_FORMS}, got {self.decay!r}")

    @property
    def g1(self) -> float:
        return 1.0 - self.beta1 if self.a1 is None else self.a1

    @property
    def g2(self) -> float:
        return 1.0 - self.beta2 if self.a2 is None else self.a2

    def direction(self, m, g) -> np.ndarray:
        """∇K(β1 m + a1 g): the Lion-K direction before decay and step size."""
        return self.K.grad(self.beta1 * m + self.g1 * g)

    def step(self, x, m, g) -> tuple[np.ndarray, np.ndarray]:
        """(x', m') from the stored (x, m) and the gradient g = ∇f(x)."""
        d = self.direction(m, g)
        m_new = self.beta2 * m + self.g2 * g
        if self.decay == "explicit":
            x_new = x - self.eps * (d + self.lam * x)
        else:
            x_new = (x - self.eps * d) / (1.0 + self.eps * self.lam)
        return x_new, m_new

    def as_implicit(self) -> LionK:
        """The same optimizer written in the implicit form (ε rescaled)."""
        if self.decay == "implicit":
            return self
        return replace(self, decay="implicit", eps=explicit_to_implicit_eps(self.eps, self.lam))

    def as_explicit(self) -> LionK:
        if self.decay == "explicit":
            return self
        return replace(self, decay="explicit", eps=implicit_to_explicit_eps(self.eps, self.lam))

    def run(self, x0, grad_fn, steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Trajectories (steps + 1 rows) of x and m from x0 and m = 0."""
        x = np.array(x0, dtype=float)
        m = np.zeros_like(x)
        xs, ms = [x.copy()], [m.copy()]
        for _ in range(steps):
            x, m = self.step(x, m, grad_fn(x))
            xs.append(x.copy())
            ms.append(m.copy())
        return np.array(xs), np.array(ms)


def from_continuous(K: KFunction, *, alpha: float, gamma: float, lookahead: float, step: float,
                    lam: float = 0.0, decay: str = "implicit") -> LionK:
    """Discretize ṁ_p = −α∇f − γm_p, ẋ = ∇K(m_p − ε_a(α∇f + γm_p)) − λx with step ``step``.

    Semi-implicit Euler: the momentum is updated first (m_p' = m_p − step(αg + γm_p)) and the
    look-ahead ε_a = ``lookahead`` is taken from m_p'. So ε_a = 0 evaluates ∇K at the new momentum
    (β1 = β2) and ε_a γ = 1 at −ε_a α g alone (β1 = 0). With α = γ this is exactly lion_k.md's
    form: β2 = 1 − step γ, β1 = (1 − ε_a γ) β2, a1 = 1 − β1, a2 = 1 − β2.
    """
    beta2 = 1.0 - step * gamma
    a2 = step * alpha
    beta1 = (1.0 - lookahead * gamma) * beta2
    a1 = (1.0 - lookahead * gamma) * a2 + lookahead * alpha
    return LionK(K, beta1=beta1, beta2=beta2, eps=step, lam=lam, decay=decay, a1=a1, a2=a2)


@dataclass(frozen=True)
class SpecialCase:
    """A row of lion_k.md's table of known algorithms: the setting, in the continuous parameters."""

    algorithm: str
    setting: str
    K: str | None          # the K the row fixes (by name), None if any K
    lookahead: str         # "0", "1/gamma" or "free"
    gamma: str             # "free" or "0"
    lam: str               # "0" or "positive"


SPECIAL_CASES: tuple[SpecialCase, ...] = (
    SpecialCase("Polyak momentum", "K = ||x||^2/2, gamma lambda = 0, eps = 0", "half_l2sq", "0", "free", "0"),
    SpecialCase("Nesterov momentum", "K = ||x||^2/2, gamma lambda = 0", "half_l2sq", "free", "free", "0"),
    SpecialCase("Signed momentum", "K = ||x||_1, eps = 0, lambda = 0", "l1", "0", "free", "0"),
    SpecialCase("Hamiltonian descent", "eps = 0, lambda = 0", None, "0", "free", "0"),
    SpecialCase("Hamiltonian descent, composite objectives", "eps = 0, lambda > 0", None, "0", "free",
                "positive"),
    SpecialCase("Dual-space preconditioning, mirror descent", "eps gamma = 1, lambda = 0", None, "1/gamma",
                "free", "0"),
    SpecialCase("Signed gradient descent", "K = ||x||_1, eps gamma = 1, lambda = 0", "l1", "1/gamma", "free", "0"),
    SpecialCase("Accelerated mirror descent", "gamma = 0, eps = 0, lambda > 0", None, "0", "0", "positive"),
    SpecialCase("Frank-Wolfe", "eps gamma = 1, lambda > 0", None, "1/gamma", "free", "positive"),
)
