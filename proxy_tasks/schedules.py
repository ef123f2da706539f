"""Learning-rate schedules: the value a program receives as ``lr`` at each step.

Programs bake their own step size in (``lr = lr * 0.001``), so a schedule here is a shape that
peaks at 1.0 (times the task's ``lr_peak``, 1.0 by default). The same optax schedule feeds the interpreter, the
optax baselines and ``dsl.to_optax``, so every path sees bit-identical values.
"""

from __future__ import annotations

from collections.abc import Callable

SCHEDULES = ("constant", "cosine", "warmup_cosine")


def make_schedule(name: str, steps: int, warmup: float = 0.05) -> Callable:
    """An optax schedule of the step count peaking at 1.0; ``warmup`` is a fraction of ``steps``."""
    import optax  # JAX: imported on first use, so the schedule names (``SCHEDULES``) stay cheap

    if name == "constant":
        return optax.constant_schedule(1.0)
    if name == "cosine":
        return optax.cosine_decay_schedule(1.0, steps, alpha=0.0)
    if name == "warmup_cosine":
        w = max(1, int(round(warmup * steps)))
        return optax.warmup_cosine_decay_schedule(0.0, 1.0, w, steps, end_value=0.0)
    raise ValueError(f"unknown schedule {name!r} (choose from {', '.join(SCHEDULES)})")
