"""Is a program in the sign-momentum family? A behavioural test, not a syntactic one.

The replay's goal is stated in behaviour: the update is the sign of a combination of the
gradient and a momentum, plus (optionally) decoupled weight decay. Raw search output writes that
in many ways (``sign(m / sqrt(v))``, ``m / sqrt(m * m)``, ``sign(interp(g, m, b))`` ...), some
that no rewrite reduces, so the test runs the program (``dsl.execute``) on random gradients and
checks what its updates do:

1. sign: with ``w = 0`` every nonzero coordinate of each update has the same magnitude, and
   almost no coordinate is zero;
2. momentum: the update's signs are not those of the current gradient alone (history matters),
   yet they agree with it more often than chance (the gradient takes part);
3. decoupled weight decay: the update with ``w != 0`` minus the update with ``w = 0`` is
   ``lambda * w`` with one ``lambda >= 0`` (zero is allowed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dsl.execute import roll
from dsl.program import Program


@dataclass(frozen=True)
class SignMomentum:
    """What the test measured (``member`` says whether all three conditions hold)."""

    member: bool
    sign_like: bool
    uses_history: bool
    gradient_agreement: float  # fraction of coordinates where sign(update) == sign(g)
    decay: float | None        # lambda (relative to the update's magnitude); None if not decoupled
    why: str

    def describe(self) -> str:
        if self.member:
            wd = f", decoupled weight decay {self.decay:.4g} x step size" if self.decay else ", no weight decay"
            return f"sign-momentum (agrees with sign(g) on {self.gradient_agreement:.0%} of coordinates{wd})"
        return f"not sign-momentum: {self.why}"


def _trajectory(program: Program, gs: np.ndarray, w: np.ndarray, lr: float) -> list[np.ndarray]:
    return [np.asarray(u, np.float64) for u in roll(program, gs, w, lr).updates]


def sign_momentum(program: Program, steps: int = 40, size: int = 64, seed: int = 0) -> SignMomentum:
    """Run the behavioural test (float64, fixed random gradients with a drifting mean)."""
    rng = np.random.default_rng(seed)
    drift = rng.normal(size=size)
    gs = np.stack([0.5 * drift + rng.normal(size=size) for _ in range(steps)])
    zero = np.zeros(size)
    try:
        ups = _trajectory(program, gs, zero, 1.0)
    except Exception as exc:  # noqa: BLE001 - a program that cannot run is simply not a member
        return SignMomentum(False, False, False, 0.0, None, f"does not run: {exc}")
    if not all(np.all(np.isfinite(u)) for u in ups):
        return SignMomentum(False, False, False, 0.0, None, "non-finite update")
    warm = ups[2:]
    sign_like = True
    for u in warm:
        nz = np.abs(u) > 0
        if nz.mean() < 0.9:
            sign_like = False
            break
        mags = np.abs(u[nz])
        if mags.max() - mags.min() > 1e-6 * mags.max():
            sign_like = False
            break
    agree = float(np.mean([np.mean(np.sign(u) == np.sign(g)) for u, g in zip(warm, gs[2:])]))
    history = agree < 0.999
    if not sign_like:
        return SignMomentum(False, False, history, agree, None, "update magnitudes differ across coordinates")
    if not history:
        return SignMomentum(False, True, False, agree, None, "sign of the current gradient only (signSGD)")
    if agree < 0.55:
        return SignMomentum(False, True, True, agree, None,
                            f"signs agree with the gradient on only {agree:.0%} of coordinates")
    w = rng.normal(size=size)
    with_w = _trajectory(program, gs, w, 1.0)
    lams = []
    for u0, u1 in zip(ups, with_w):
        if not np.all(np.isfinite(u1)):
            return SignMomentum(False, True, True, agree, None, "non-finite update with w != 0")
        scale = np.abs(u0).max()
        ratio = (u1 - u0) / w / scale
        if ratio.max() - ratio.min() > 1e-6 * max(1.0, np.abs(ratio).max()):
            return SignMomentum(False, True, True, agree, None, "w enters the update other than as decoupled decay")
        lams.append(float(np.mean(ratio)))
    lam = float(np.median(lams))
    if lam < -1e-9:
        return SignMomentum(False, True, True, agree, lam, f"negative weight decay ({lam:.3g})")
    return SignMomentum(True, True, True, agree, max(0.0, lam), "")


__all__ = ["SignMomentum", "sign_momentum"]
