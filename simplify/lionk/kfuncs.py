"""The convex functions K of Lion-K: K, a subgradient ∇K, the conjugate K* and the domain of K*.

Each K acts on one flat vector (one parameter leaf; an optimizer applies it leaf by leaf, so the
K of a whole model is the sum over leaves). ``grad`` takes ``xp`` (numpy or jax.numpy) so that
the same formula serves the numpy analysis and the optax transforms.

Why the domain matters: Lion-K with weight decay λ solves ``min f(x) + K*(λx)/λ``; where K* is
infinite this is the constraint ``λx ∈ dom K*`` (for K = ‖·‖₁: ‖x‖∞ ≤ 1/λ), which the first
phase of the dynamics enforces at rate 1/(1 + ελ) per step.

All conjugates here have a closed form. ``conj`` treats points within a relative ``DOM_RTOL``
of dom K* as inside, so that float rounding at the boundary does not make H infinite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

DOM_RTOL = 1e-9


def _fmt(x: float) -> str:
    return f"{x:.3g}"


@dataclass(frozen=True)
class KFunction:
    """Base class; subclasses are frozen dataclasses whose fields are K's parameters."""

    name: ClassVar[str] = "K"
    k_text: ClassVar[str] = ""
    grad_text: ClassVar[str] = ""
    conj_text: ClassVar[str] = ""

    @property
    def label(self) -> str:
        """Short name with parameters, e.g. ``thresholded_l1(e=0.1)``."""
        fields = ", ".join(f"{k}={_fmt(v)}" for k, v in self.__dict__.items())
        return f"{self.name}({fields})" if fields else self.name

    # -- the mathematics ---------------------------------------------------------------------
    def value(self, x) -> float:
        raise NotImplementedError

    def grad(self, x, xp=np):
        raise NotImplementedError

    def conj(self, y) -> float:
        """K*(y); ``inf`` outside dom K*."""
        raise NotImplementedError

    def project_dom(self, y) -> np.ndarray:
        """Euclidean projection of ``y`` onto dom K* (closed and convex)."""
        return np.asarray(y, dtype=float)

    def dom_distance(self, y) -> float:
        y = np.asarray(y, dtype=float)
        return float(np.linalg.norm(y - self.project_dom(y)))

    def in_dom(self, y) -> bool:
        y = np.asarray(y, dtype=float)
        return self.dom_distance(y) <= DOM_RTOL * max(1.0, float(np.max(np.abs(y), initial=0.0)))

    # -- the problem Lion-K solves: min f(x) + K*(λx)/λ ----------------------------------------
    def penalty_text(self, lam: float) -> str | None:
        """The finite part of K*(λx)/λ as text, None if it is zero."""
        return None

    def constraint_text(self, lam: float) -> str | None:
        """The constraint λx ∈ dom K* as text, None if dom K* is everything (or λ = 0)."""
        return None

    def problem(self, lam: float) -> str:
        """The problem with its numbers, e.g. ``minimize f(x) subject to ||x||_inf <= 2.17``."""
        text = "minimize f(x)"
        pen = self.penalty_text(lam)
        if pen:
            text += f" + {pen}"
        con = self.constraint_text(lam) if lam > 0 else None
        if con:
            text += f" subject to {con}"
        return text

    def dsl_lines(self, c: str, out: str) -> list[str] | None:
        """DSL statements computing ``out = ∇K(c)``; None where the op set cannot express it."""
        return None


def _box_projection(y: np.ndarray, r: float = 1.0) -> np.ndarray:
    return np.clip(y, -r, r)


def _box_conj_gate(y: np.ndarray) -> bool:
    return float(np.max(np.abs(y), initial=0.0)) <= 1.0 + DOM_RTOL


@dataclass(frozen=True)
class L1(KFunction):
    """K = ‖x‖₁: Lion's K; ∇K = sign; dom K* is the unit ℓ∞ box."""

    name: ClassVar[str] = "l1"
    k_text: ClassVar[str] = "K(x) = ||x||_1"
    grad_text: ClassVar[str] = "grad K(x) = sign(x)"
    conj_text: ClassVar[str] = "K*(y) = 0 if ||y||_inf <= 1, +inf otherwise"

    def value(self, x) -> float:
        return float(np.sum(np.abs(x)))

    def grad(self, x, xp=np):
        return xp.sign(x)

    def conj(self, y) -> float:
        return 0.0 if _box_conj_gate(np.asarray(y)) else math.inf

    def project_dom(self, y) -> np.ndarray:
        return _box_projection(np.asarray(y, dtype=float))

    def constraint_text(self, lam: float) -> str:
        return f"||x||_inf <= 1/lambda = {_fmt(1 / lam)}"

    def dsl_lines(self, c: str, out: str) -> list[str]:
        return [f"{out} = sign({c})"]


def _project_lq_ball(y: np.ndarray, q: float) -> np.ndarray:
    """Projection onto {‖z‖_q ≤ 1}, 1 < q < ∞.

    KKT: z_i + μ q z_i^(q−1) = |y_i| with Σ z^q = 1. The inner equation is solved by bisection
    for a whole grid of μ at once (one 2-D array), and the grid is zoomed around the crossing.
    """
    a = np.abs(np.ravel(y))
    if np.sum(a**q) <= 1.0:
        return np.array(y, dtype=float)
    if q == 2.0:
        return y / np.linalg.norm(y)

    def z_of(mus: np.ndarray) -> np.ndarray:  # (G,) -> (G, n)
        lo = np.zeros((mus.size, a.size))
        hi = np.broadcast_to(a, lo.shape).copy()
        for _ in range(64):
            mid = 0.5 * (lo + hi)
            big = mid + mus[:, None] * q * mid ** (q - 1) > a
            hi = np.where(big, mid, hi)
            lo = np.where(big, lo, mid)
        return 0.5 * (lo + hi)

    lo_log, hi_log = -30.0, 30.0
    for _ in range(10):
        grid = np.linspace(lo_log, hi_log, 33)
        over = np.sum(z_of(np.exp(grid)) ** q, axis=1) > 1.0  # True for small mu
        j = int(np.argmin(over)) if not over.all() else len(grid) - 1
        lo_log, hi_log = grid[max(j - 1, 0)], grid[j]
    z = z_of(np.array([np.exp(hi_log)]))[0]
    z = z / max(1.0, float(np.sum(z**q)) ** (1 / q))
    return np.sign(y) * z.reshape(np.shape(y))


@dataclass(frozen=True)
class Lp(KFunction):
    """K = ‖x‖_p (1 < p < ∞): dom K* is the unit ℓ_q ball, 1/p + 1/q = 1."""

    p: float = 2.0
    name: ClassVar[str] = "lp"
    k_text: ClassVar[str] = "K(x) = ||x||_p"
    grad_text: ClassVar[str] = "grad K(x) = sign(x) |x|^(p-1) / ||x||_p^(p-1)  (0 at x = 0)"
    conj_text: ClassVar[str] = "K*(y) = 0 if ||y||_q <= 1 (1/p + 1/q = 1), +inf otherwise"

    def __post_init__(self) -> None:
        if not (1.0 < self.p < math.inf):
            raise ValueError(f"lp needs 1 < p < inf, got p = {self.p}")

    @property
    def q(self) -> float:
        return self.p / (self.p - 1.0)

    def value(self, x) -> float:
        return float(np.sum(np.abs(x) ** self.p) ** (1 / self.p))

    def grad(self, x, xp=np):
        a = xp.abs(x)
        norm = xp.sum(a**self.p) ** (1 / self.p)
        denom = norm ** (self.p - 1)
        safe = xp.where(denom > 0, denom, 1.0)
        return xp.where(denom > 0, xp.sign(x) * a ** (self.p - 1) / safe, 0.0 * x)

    def conj(self, y) -> float:
        n = float(np.sum(np.abs(y) ** self.q) ** (1 / self.q))
        return 0.0 if n <= 1.0 + DOM_RTOL else math.inf

    def project_dom(self, y) -> np.ndarray:
        return _project_lq_ball(np.asarray(y, dtype=float), self.q)

    def constraint_text(self, lam: float) -> str:
        return f"||x||_q <= 1/lambda = {_fmt(1 / lam)} (q = {_fmt(self.q)})"

    def dsl_lines(self, c: str, out: str) -> list[str]:
        p = self.p
        return [f"{out}_a = abs({c})", f"{out}_s = sign({c})", f"{out}_r = power({out}_a, {p - 1!r})",
                f"{out}_h = power({out}_a, {p / 2!r})", f"{out}_n = dot({out}_h, {out}_h)",
                f"{out}_n = power({out}_n, {(p - 1) / p!r})", f"{out} = {out}_r / {out}_n",
                f"{out} = {out}_s * {out}"]


@dataclass(frozen=True)
class ThresholdedL1(KFunction):
    """K = Σ max(|x_i| − e, 0): sign descent that ignores coordinates with |x_i| ≤ e."""

    e: float = 0.1
    name: ClassVar[str] = "thresholded_l1"
    k_text: ClassVar[str] = "K(x) = sum_i max(|x_i| - e, 0)"
    grad_text: ClassVar[str] = "grad K(x) = sign(x) 1(|x| > e)"
    conj_text: ClassVar[str] = "K*(y) = e ||y||_1 if ||y||_inf <= 1, +inf otherwise"

    def value(self, x) -> float:
        return float(np.sum(np.maximum(np.abs(x) - self.e, 0.0)))

    def grad(self, x, xp=np):
        return xp.where(xp.abs(x) > self.e, xp.sign(x), 0.0 * x)

    def conj(self, y) -> float:
        y = np.asarray(y)
        return self.e * float(np.sum(np.minimum(np.abs(y), 1.0))) if _box_conj_gate(y) else math.inf

    def project_dom(self, y) -> np.ndarray:
        return _box_projection(np.asarray(y, dtype=float))

    def penalty_text(self, lam: float) -> str:
        return f"e ||x||_1 = {_fmt(self.e)} ||x||_1"

    def constraint_text(self, lam: float) -> str:
        return f"||x||_inf <= 1/lambda = {_fmt(1 / lam)}"

    def dsl_lines(self, c: str, out: str) -> list[str]:
        # sign(|c| - e) is +-1 off the threshold; (1 + sign)/2 is the indicator (1/2 exactly at
        # |c| = e, a valid subgradient there).
        return [f"{out}_a = abs({c})", f"{out}_t = {out}_a - {self.e!r}", f"{out}_t = sign({out}_t)",
                f"{out}_t = {out}_t + 1.0", f"{out}_t = {out}_t * 0.5", f"{out} = sign({c})",
                f"{out} = {out} * {out}_t"]


@dataclass(frozen=True)
class TopK(KFunction):
    """K = sum of the k largest |x_i|: ∇K signs the k largest entries (exactly k; ties by index).

    lion_k.md writes the indicator as 1(|x| > |x_(k)|), which taken literally selects k − 1
    entries; the subgradient of this K selects k. Not expressible in the DSL (no order statistic).
    """

    k: int = 1
    name: ClassVar[str] = "topk_l1"
    k_text: ClassVar[str] = "K(x) = sum of the k largest |x_i|"
    grad_text: ClassVar[str] = "grad K(x) = sign(x) on the k largest |x_i|, 0 elsewhere"
    conj_text: ClassVar[str] = "K*(y) = 0 if ||y||_inf <= 1 and ||y||_1 <= k, +inf otherwise"

    def __post_init__(self) -> None:
        if int(self.k) != self.k or self.k < 1:
            raise ValueError(f"topk_l1 needs an integer k >= 1, got {self.k}")

    @property
    def label(self) -> str:
        return f"{self.name}(k={int(self.k)})"

    def value(self, x) -> float:
        a = np.sort(np.abs(np.ravel(x)))[::-1]
        return float(np.sum(a[: self.k]))

    def grad(self, x, xp=np):
        flat = xp.ravel(x)
        k = min(int(self.k), flat.shape[0])
        order = xp.argsort(-xp.abs(flat), stable=True)[:k]
        if xp is np:
            mask = np.zeros(flat.shape, dtype=flat.dtype)
            mask[order] = 1.0
        else:
            mask = xp.zeros(flat.shape, dtype=flat.dtype).at[order].set(1.0)
        return (xp.sign(flat) * mask).reshape(xp.shape(x))

    def conj(self, y) -> float:
        y = np.asarray(y)
        ok = _box_conj_gate(y) and float(np.sum(np.abs(y))) <= self.k * (1.0 + DOM_RTOL)
        return 0.0 if ok else math.inf

    def project_dom(self, y) -> np.ndarray:
        y = np.asarray(y, dtype=float)
        a = np.abs(y)
        if np.sum(np.minimum(a, 1.0)) <= self.k:
            return np.sign(y) * np.minimum(a, 1.0)
        lo, hi = 0.0, float(np.max(a))
        for _ in range(100):  # z = clip(|y| - θ, 0, 1) with Σ z = k (KKT of the projection)
            mid = 0.5 * (lo + hi)
            if np.sum(np.clip(a - mid, 0.0, 1.0)) > self.k:
                lo = mid
            else:
                hi = mid
        return np.sign(y) * np.clip(a - hi, 0.0, 1.0)

    def constraint_text(self, lam: float) -> str:
        return f"||x||_inf <= 1/lambda = {_fmt(1 / lam)} and ||x||_1 <= k/lambda = {_fmt(self.k / lam)}"


@dataclass(frozen=True)
class Huber(KFunction):
    """K = Σ huber_e(x_i): ∇K = clip(x, −e, e)/e, between sign (e → 0) and x/e."""

    e: float = 1.0
    name: ClassVar[str] = "huber"
    k_text: ClassVar[str] = "K(x) = sum_i huber_e(x_i), huber_e(t) = t^2/(2e) if |t| < e else |t| - e/2"
    grad_text: ClassVar[str] = "grad K(x) = clip(x, -e, e) / e"
    conj_text: ClassVar[str] = "K*(y) = (e/2) ||y||_2^2 if ||y||_inf <= 1, +inf otherwise"

    def value(self, x) -> float:
        a = np.abs(x)
        return float(np.sum(np.where(a >= self.e, a - self.e / 2, a * a / (2 * self.e))))

    def grad(self, x, xp=np):
        return xp.clip(x, -self.e, self.e) / self.e

    def conj(self, y) -> float:
        y = np.asarray(y)
        return self.e / 2 * float(np.sum(np.minimum(np.abs(y), 1.0) ** 2)) if _box_conj_gate(y) else math.inf

    def project_dom(self, y) -> np.ndarray:
        return _box_projection(np.asarray(y, dtype=float))

    def penalty_text(self, lam: float) -> str | None:
        return f"(e lambda / 2) ||x||_2^2 = {_fmt(self.e * lam / 2)} ||x||_2^2" if lam > 0 else None

    def constraint_text(self, lam: float) -> str:
        return f"||x||_inf <= 1/lambda = {_fmt(1 / lam)}"

    def dsl_lines(self, c: str, out: str) -> list[str]:
        return [f"{out} = clip({c}, {self.e!r})", f"{out} = {out} * {1 / self.e!r}"]


@dataclass(frozen=True)
class HalfSquaredL2(KFunction):
    """K = ‖x‖₂²/2: ∇K = x, K* = K; the plain momentum family (no constraint)."""

    name: ClassVar[str] = "half_l2sq"
    k_text: ClassVar[str] = "K(x) = ||x||_2^2 / 2"
    grad_text: ClassVar[str] = "grad K(x) = x"
    conj_text: ClassVar[str] = "K*(y) = ||y||_2^2 / 2 (finite everywhere: no constraint)"

    def value(self, x) -> float:
        return 0.5 * float(np.sum(np.square(x)))

    def grad(self, x, xp=np):
        return x * 1.0

    def conj(self, y) -> float:
        return 0.5 * float(np.sum(np.square(y)))

    def penalty_text(self, lam: float) -> str | None:
        return f"(lambda/2) ||x||_2^2 = {_fmt(lam / 2)} ||x||_2^2" if lam > 0 else None

    def dsl_lines(self, c: str, out: str) -> list[str]:
        return [f"{out} = {c} * 1.0"]


ALL_KINDS: tuple[type[KFunction], ...] = (L1, Lp, ThresholdedL1, TopK, Huber, HalfSquaredL2)


def by_name(name: str, **params) -> KFunction:
    """``by_name("huber", e=0.5)``; ValueError listing the names for an unknown one."""
    for kind in ALL_KINDS:
        if kind.name == name:
            return kind(**params)
    raise ValueError(f"no K called {name!r}; known: {', '.join(k.name for k in ALL_KINDS)}")
