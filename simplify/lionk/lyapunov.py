"""The two phases of Lion-K, measured along a trajectory.

Phase 1 (constraint enforcing): the distance of x to F = {x : λx ∈ dom K*} shrinks at least by
1/(1 + ελ) per step (implicit form; the explicit form contracts by 1 − ελ, which is the same bound
for the equivalent implicit ε). Phase 2: once inside F the discrete Lyapunov function

    H(x, m) = f(x) + K*(λx)/λ + ε β1 / (ελ(1 − β1) + (1 − β2)) · (K*(λx) + K(m) + λxᵀm)

(m stored as an average of +g, hence +λxᵀm; see ``step``) obeys H' − H ≤ −εΔ + O(ε²).
The factor ε in the bracket's coefficient is missing from lion_k.md's formula: without it the
coefficient does not match the continuous H (whose bracket weight, per unit of f, is
ε(1 − ε_aγ)/((1 − β2)(1 + ε_aλ)) ≈ εβ1/(ελ(1 − β1) + 1 − β2)), and H measured with it rises
by O(1) on a convex quadratic for every K (see docs/lionk.md; ``bracket_coefficient``).

We count the steps where H rises at all (beyond float rounding) and the steps where it rises by
more than the allowance (L/2)‖x' − x‖², L the smoothness of f.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simplify.lionk.kfuncs import KFunction

ROUND_RTOL = 1e-12
SHRINK = 1e-6


def constraint_distance(K: KFunction, lam: float, x) -> float:
    """dist(x, F), F = {x : λx ∈ dom K*} = dom K*/λ."""
    if lam <= 0:
        return 0.0
    return K.dom_distance(lam * np.asarray(x, dtype=float)) / lam


def bracket_coefficient(beta1: float, beta2: float, eps: float, lam: float, *, as_written: bool = False) -> float:
    """ε β1 / (ελ(1 − β1) + (1 − β2)); ``as_written`` drops the ε as lion_k.md does (not monotone)."""
    coef = beta1 / (eps * lam * (1 - beta1) + (1 - beta2))
    return coef if as_written else eps * coef


def lyapunov(K: KFunction, f_value: float, x, m, *, beta1: float, beta2: float, eps: float,
             lam: float, as_written: bool = False) -> float:
    """H(x, m) in the implicit-decay parametrization (``eps`` is the implicit ε)."""
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    conj = K.conj(lam * x)
    if not math.isfinite(conj):
        return math.inf
    coef = bracket_coefficient(beta1, beta2, eps, lam, as_written=as_written)
    bracket = conj + K.value(m) + lam * float(x @ m)
    return float(f_value + conj / lam + coef * bracket)


@dataclass(frozen=True)
class PhaseReport:
    """Per-step measurements and their verdicts."""

    distance: np.ndarray         # dist(x_t, F), t = 0..T
    bound: np.ndarray            # dist_0 / (1 + ε_imp λ)^t
    rate: float                  # 1 / (1 + ε_imp λ)
    bound_violations: int        # steps with distance above the bound (beyond rounding)
    entered_at: int | None       # first t with x_t in F (within rounding)
    shrink_steps: int | None     # first t with dist_t <= SHRINK * dist_0 (observed)
    shrink_predicted: float | None  # steps the bound needs for the same shrinkage
    H: np.ndarray                # H(x_t, m_t); inf before entry
    phase2_start: int | None
    rises: int                   # phase-2 steps where H rose beyond float rounding
    max_rise: float
    allowance_violations: int    # phase-2 steps where the rise exceeded (L/2)||dx||^2
    L: float
    final_distance: float
    constraint_ok: bool          # x_T in F (within rounding)

    @property
    def monotone(self) -> bool:
        return self.rises == 0

    def summary(self) -> dict:
        return {
            "rate": self.rate, "bound_violations": self.bound_violations, "entered_at": self.entered_at,
            "shrink_steps": self.shrink_steps, "shrink_predicted": self.shrink_predicted,
            "phase2_start": self.phase2_start,
            "rises": self.rises, "max_rise": self.max_rise, "allowance_violations": self.allowance_violations,
            "L": self.L, "final_distance": self.final_distance, "constraint_ok": self.constraint_ok,
        }


def phases(K: KFunction, xs: np.ndarray, ms: np.ndarray, fs: np.ndarray, *, beta1: float, beta2: float,
           eps: float, lam: float, L: float) -> PhaseReport:
    """Measure both phases on trajectories ``xs``, ``ms`` (rows t = 0..T) with f values ``fs``.

    ``eps`` is the implicit-form ε (use ``step.explicit_to_implicit_eps`` for an explicit
    program: the trajectories are then identical). With λ = 0 there is no phase 1 and H is
    not defined by this formula (division by λ): H is reported as inf and only phase 1 trivia.
    """
    T = len(xs) - 1
    dist = np.array([constraint_distance(K, lam, x) for x in xs])
    rate = 1.0 / (1.0 + eps * lam)
    bound = dist[0] * rate ** np.arange(T + 1)
    scale = np.maximum(1.0, np.max(np.abs(xs), axis=1))
    tol = 1e-9 * scale / max(lam, 1e-300) if lam > 0 else np.full(T + 1, 0.0)
    inside = dist <= tol
    violations = int(np.sum(dist > bound * (1 + 1e-9) + tol))
    entered = int(np.argmax(inside)) if inside.any() else None
    shrink_obs = shrink_pred = None
    if lam > 0 and dist[0] > tol[0]:
        shrink_pred = math.log(1.0 / SHRINK) / -math.log(rate)
        hit = np.flatnonzero(dist <= SHRINK * dist[0])
        shrink_obs = int(hit[0]) if hit.size else None
    if lam > 0:
        H = np.array([lyapunov(K, float(f), x, m, beta1=beta1, beta2=beta2, eps=eps, lam=lam)
                      for f, x, m in zip(fs, xs, ms)])
    else:
        H = np.full(T + 1, math.inf)
    finite = np.isfinite(H)
    start = None
    if finite.any():
        # phase 2 starts where H is finite from then on
        tail = np.flatnonzero(~finite)
        start = 0 if tail.size == 0 else int(tail[-1]) + 1
        if start > T:
            start = None
    rises = allowance_violations = 0
    max_rise = 0.0
    if start is not None and start < T:
        dH = np.diff(H[start:])
        rtol = ROUND_RTOL * np.maximum(1.0, np.abs(H[start:-1]))
        dx2 = np.sum(np.square(np.diff(xs[start:], axis=0)), axis=1)
        rises = int(np.sum(dH > rtol))
        allowance_violations = int(np.sum(dH > 0.5 * L * dx2 + rtol))
        max_rise = float(max(0.0, np.max(dH)))
    final_ok = bool(inside[-1]) if lam > 0 else True
    return PhaseReport(dist, bound, rate, violations, entered, shrink_obs, shrink_pred, H, start, rises, max_rise,
                       allowance_violations, L, float(dist[-1]), final_ok)
