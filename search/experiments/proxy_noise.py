"""How much of a proxy fitness is the program, and how much is the run's luck.

A search ranks candidates by one number each. On the replay's proxy (the tiny ViT at 2000 steps,
``sign_flip``), the final loss of one program moves with things that are not the program:
  seeds   the task seed (initialization, batches, sign flips): seeds 0..S-1;
  jitter  the learning-rate multiplier changed by a few parts in a million (seed 0): training
          is chaotic, so rounding-sized changes grow into different final losses;
  width   the same run (seed 0) alone or as the first of the jitter runs, vmapped together: XLA
          compiles a different kernel, so the rounding differs (the absolute difference).
``measure`` takes, for a few programs along the path from AdamW to Lion (``PROGRAMS``), the mean
log final loss over seeds and the standard deviation of each source, and the gap between
neighbouring programs in units of the seed-to-seed noise (> 0: the later program is better).
Programs whose gap is about 1 or less cannot be ranked from one run, and a search ranks its
candidates from one. ``benchmarks/proxy_noise.py`` runs it and prints the table.
"""

from __future__ import annotations

import numpy as np

from dsl import library, parse, prune
from dsl.program import Program
from proxy_tasks import interpreter, training
from proxy_tasks.registry import get_task

_ADAM = """def train(w, g, m, v, lr):
    g2 = square(g)
{t}    m = interp(g, m, {b2})
    v = interp(g2, v, 0.999)
    sqrt_v = sqrt(v)
    update = {u} / sqrt_v
{sign}    wd = w * 0.01
    update = update + wd
    lr = lr * 0.001
    update = update * lr
    return update, m, v
"""


def path_program(b2: float = 0.9, split: bool = False, sign: bool = False) -> Program:
    """The AdamW seed, optionally with a separate momentum for the update (``t``) and a sign."""
    return parse(_ADAM.format(t="    t = interp(g, m, 0.9)\n" if split else "", b2=b2, u="t" if split else "m",
                              sign="    update = sign(update)\n" if sign else ""))


PROGRAMS = {
    "AdamW seed": library.get("adamw"),
    "seed + sign": path_program(sign=True),
    "Lion form (0.9, 0.95)": path_program(0.95, split=True, sign=True),
}


def final_losses(task, program, seeds: list[int], scales: list[float]) -> np.ndarray:
    """Final validation losses of one vmapped call (one run per (seed, scale) pair)."""
    enc = interpreter.encode(prune(program))
    curves = training.runner(task, enc.bucket).run_runs(enc.arrays(), seeds, scales)
    return np.asarray(curves)[:, -1]


def measure(task_name: str = "vit", steps: int = 2000, seeds: int = 4, jitter: int = 4, scale: float = 1 / 3,
            programs: dict[str, Program] | None = None) -> dict:
    """Each noise source for each of ``programs`` (default ``PROGRAMS``) on ``task_name`` at proxy
    scale with sign flips, every run at learning-rate multiplier ``scale``.

    Returns ``{"task", "steps", "scale", "rows": {name: {"mean", "seeds_sd", "jitter_sd",
    "width_diff"}}, "seed_noise_sd", "gaps_in_sd": {"a -> b": gap}}`` (log final losses)."""
    task = get_task(task_name, "proxy", steps=steps, sign_flip=True)
    rows = {}
    for name, program in (programs or PROGRAMS).items():
        by_seed = np.log(final_losses(task, program, list(range(seeds)), [scale] * seeds))
        jit = np.log(final_losses(task, program, [0] * jitter, [scale * (1 + 1e-6 * k) for k in range(jitter)]))
        alone = float(np.log(final_losses(task, program, [0], [scale])[0]))
        rows[name] = {"mean": float(by_seed.mean()), "seeds_sd": float(by_seed.std(ddof=1)),
                      "jitter_sd": float(jit.std(ddof=1)), "width_diff": abs(alone - float(jit[0]))}
    names = list(rows)
    noise = float(np.sqrt(np.mean([r["seeds_sd"] ** 2 for r in rows.values()])))
    # > 0: the later program has the lower loss
    gaps = {f"{a} -> {b}": (rows[a]["mean"] - rows[b]["mean"]) / noise for a, b in zip(names, names[1:])}
    return {"task": task_name, "steps": steps, "scale": scale, "rows": rows, "seed_noise_sd": noise,
            "gaps_in_sd": gaps}
