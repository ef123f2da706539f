"""Numeric equivalence of two programs with the reference executor.

Used to prove every exact rewrite (tests) and to confirm a recognition (``recognize``). Two
programs are equivalent when, along a trajectory of random inputs, they give the same update and
the same value for every state the second program reads. Each step feeds both programs the
*same* inputs and states (the first program's), so that chaotic programs, which amplify float
rounding over steps, are compared as functions rather than as diverging trajectories.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dsl import ops
from dsl.check import liveness
from dsl.execute import execute
from dsl.program import Program


@dataclass(frozen=True)
class Mismatch:
    step: int
    output: str  # "update", "m" or "v"
    max_error: float


def trajectory_inputs(steps: int, size: int, seed: int, scale: float = 1.0):
    """Random (w, g, lr) per step, float64: w, g normal * scale, lr in (0.1, 2)."""
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        yield (rng.normal(size=size) * scale, rng.normal(size=size) * scale,
               float(rng.uniform(0.1, 2.0)))


def compare(before: Program, after: Program, *, steps: int = 50, size: int = 8, seed: int = 0,
            scale: float = 1.0, rtol: float = 1e-7, atol: float = 1e-9,
            states_from: str = "before", relative_atol: bool = False) -> Mismatch | None:
    """The first mismatch between ``before`` and ``after``, or None if they agree.

    ``states_from="before"`` feeds both programs the first program's states (function
    equivalence along a realistic trajectory); ``"own"`` lets each program carry its own states
    (trajectory equivalence, used where the state layout differs, e.g. recognition). NaN equals
    NaN. ``relative_atol`` scales ``atol`` by the largest |value| of the first program's output
    (updates of lr-scaled programs are ~1e-4, so an absolute floor would hide real differences).
    """
    _, live_after = liveness(after)
    m = np.zeros(size)
    v = np.zeros(size)
    m2, v2 = m, v
    for t, (w, g, lr) in enumerate(trajectory_inputs(steps, size, seed, scale)):
        u1, m1n, v1n = execute(before, w, g, m, v, lr)
        if states_from == "before":
            u2, m2n, v2n = execute(after, w, g, m, v, lr)
        else:
            u2, m2n, v2n = execute(after, w, g, m2, v2, lr)
        checks = [("update", u1, u2)]
        if states_from == "before":
            if live_after[0]:
                checks.append(("m", m1n, m2n))
            if live_after[1]:
                checks.append(("v", v1n, v2n))
        for label, a, b in checks:
            with np.errstate(invalid="ignore"):
                size = float(np.nanmax(np.abs(a), initial=0.0))
            tol = atol * size if relative_atol else atol
            if not np.allclose(a, b, rtol=rtol, atol=tol, equal_nan=True):
                with np.errstate(invalid="ignore"):
                    err = float(np.nanmax(np.abs(np.asarray(a) - np.asarray(b)), initial=0.0))
                return Mismatch(t, label, err)
        m, v = m1n, v1n
        m2, v2 = m2n, v2n
    return None


def equivalent(before: Program, after: Program, **kwargs) -> bool:
    return compare(before, after, **kwargs) is None


def max_magnitude(program: Program, *, steps: int = 50, size: int = 8, seed: int = 0,
                  scale: float = 1.0) -> float:
    """Largest |value| any statement produces along the trajectory (inf if any is not finite).

    Tests use it to skip inputs where a program overflows: the exact passes are exact in real
    arithmetic, and floats agree with it only away from overflow.
    """
    m = np.zeros(size)
    v = np.zeros(size)
    worst = 0.0
    with np.errstate(all="ignore"):
        for w, g, lr in trajectory_inputs(steps, size, seed, scale):
            env = {"w": w, "g": g, "m": m, "v": v, "lr": lr}
            for st in program.statements:
                args = [env[a] if isinstance(a, str) else a for a in st.args]
                env[st.dst] = ops.BY_NAME[st.op].np_fn(*args)
                arr = np.asarray(env[st.dst], dtype=float)
                if not np.all(np.isfinite(arr)):
                    return float("inf")
                worst = max(worst, float(np.max(np.abs(arr), initial=0.0)))
            _, m, v = execute(program, w, g, m, v, lr)
    return worst
