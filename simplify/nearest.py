"""The known family nearest to a program that is none: which, with what constants, and how far.

``recognize`` names a program only on a confirmed match. A search's answer often is not one (an
Adam variant with a stray ``arctan``), and the user still wants to know what it is close to: each
family's estimator (``simplify.recognize.FAMILIES``) solves for the constants, and the family's
program with them is run beside the program on the same random inputs (each keeping its own
states, as recognition does). The distance is the relative RMS difference of their updates over
the trajectory, after the family's learning-rate scale is refitted by least squares (an
estimator probes extreme inputs, where a program with a stray op may differ most): 0 for the
family itself, about 1 for an unrelated update.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dsl.execute import execute
from dsl.program import Program, ProgramError
from simplify.equiv import trajectory_inputs
from simplify.recognize import FAMILIES, Recognition, estimated, snap, template


@dataclass(frozen=True)
class Nearest:
    """The nearest family (``recognition``: its name and estimated constants) and ``distance``."""

    recognition: Recognition
    distance: float

    def describe(self) -> str:
        return f"{self.recognition.describe()}, relative update distance {self.distance:.2g}"


def update_distance(program: Program, other: Program, steps: int = 50, size: int = 6,
                    seed: int = 0) -> tuple[float, float]:
    """(distance, c): ``c`` scales ``other``'s updates to fit ``program``'s best (least squares)
    and distance is sqrt(sum |u - c u'|^2 / sum |u|^2) along one random trajectory
    (``simplify.equiv.trajectory_inputs``), each program carrying its own states."""
    m1 = v1 = m2 = v2 = np.zeros(size)
    ours, theirs = [], []
    with np.errstate(all="ignore"):
        for w, g, lr in trajectory_inputs(steps, size, seed):
            u1, m1, v1 = execute(program, w, g, m1, v1, lr)
            u2, m2, v2 = execute(other, w, g, m2, v2, lr)
            ours.append(np.asarray(u1, float))
            theirs.append(np.asarray(u2, float))
        a, b = np.concatenate(ours), np.concatenate(theirs)
        den, bb = float(a @ a), float(b @ b)
        if not (np.isfinite(den) and np.isfinite(bb)) or den == 0.0 or bb == 0.0:
            return float("inf"), 1.0
        c = float(a @ b) / bb
        return float(np.sqrt(np.sum((a - c * b) ** 2) / den)), c


def nearest(program: Program) -> Nearest | None:
    """The family whose estimated program is nearest to ``program`` (None if no estimator
    gives finite constants or a finite distance)."""
    best: Nearest | None = None
    for name, estimate in FAMILIES:
        try:
            params = estimated(program, estimate)
            if params is None:
                continue
            params = {k: snap(v) for k, v in params.items()}
            far, c = update_distance(program, template(name, params))
            if np.isfinite(far) and c > 0:  # updates linear in lr_scale: the refitted family itself
                params = {**params, "lr_scale": snap(params["lr_scale"] * c, 1e-3)}
                far, _ = update_distance(program, template(name, params))
        except (ValueError, ZeroDivisionError, FloatingPointError, ProgramError):
            continue
        if np.isfinite(far) and (best is None or far < best.distance):
            best = Nearest(Recognition(name, params), far)
    return best


__all__ = ["Nearest", "nearest", "update_distance"]
