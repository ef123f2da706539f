"""The tuned comparison's training: every optimizer at its best point of one shared grid.

``tune(programs, meta)`` trains AdamW (optax, bias-corrected), Lion (optax) and every given
program on the tasks of ``MetaSettings`` (tasks at a scale, seeds, and a learning-rate x
weight-decay grid of multipliers, the same for every optimizer) and keeps each optimizer's best
grid point per task (``Tuned``). A program's weight decay is scaled through its ``w * c``
constants (``scale_decay``), its learning rate through its ``lr`` input (the runner's
``lr_scale``). Ranking the results is ``search.experiments.compare``'s.

Importing this module does not import JAX; ``tune`` does.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dsl import prune
from dsl.program import Program, Statement
from proxy_tasks.registry import get_task

META_DATA_SEED = 4321  # a problem instance (teacher, text split, validation set) the search never saw


@dataclass(frozen=True)
class MetaSettings:
    """The final comparison: tasks at a scale, seeds, and the tuning grid shared by all optimizers."""

    tasks: tuple[str, ...] = ("vit", "char_lm", "mlp")
    scale: str = "x10"
    seeds: tuple[int, ...] = (0, 1, 2)
    # lr spans 81x: with (1/3, 1, 3) Lion's best point was x3, the grid's edge, on every task
    lr_grid: tuple[float, ...] = (1 / 9, 1 / 3, 1.0, 3.0, 9.0)
    wd_grid: tuple[float, ...] = (1 / 3, 1.0, 3.0)
    overrides: dict[str, Any] = field(default_factory=lambda: {"data_seed": META_DATA_SEED})


QUICK_META = MetaSettings(tasks=("mlp",), seeds=(0, 1), lr_grid=(0.5, 2.0), wd_grid=(0.5, 2.0),
                          overrides={"data_seed": META_DATA_SEED, "steps": 300})


def _decay_slots(program: Program) -> list[tuple[int, int]]:
    """(statement, argument) positions of the constant in ``x = w * c`` / ``c * w``: weight decay."""
    slots = []
    for i, st in enumerate(program.statements):
        if st.op == "mul" and "w" in st.args:
            for j, a in enumerate(st.args):
                if not isinstance(a, str):
                    slots.append((i, j))
    return slots


def scale_decay(program: Program, factor: float) -> Program:
    """The program with its weight-decay constants multiplied by ``factor``."""
    stmts = list(program.statements)
    for i, j in _decay_slots(program):
        st = stmts[i]
        args = list(st.args)
        args[j] = float(args[j]) * factor
        stmts[i] = Statement(st.dst, st.op, tuple(args))
    return program.replace(statements=stmts)


@dataclass
class Tuned:
    """One optimizer on one task after tuning: the best grid point and its runs."""

    name: str
    task: str
    lr_scale: float
    wd_scale: float
    finals: list[float]
    curve: list[float]           # mean over seeds
    curves: list[list[float]]    # per seed
    grid: dict[str, float]       # "lr x wd" -> mean final loss

    @property
    def mean(self) -> float:
        return float(np.mean(self.finals))

    @property
    def std(self) -> float:
        return float(np.std(self.finals))


def pick(name: str, task: str, table: dict[tuple[float, float], np.ndarray]) -> Tuned:
    """The grid point (lr, wd) -> curves [seeds, points + 1] with the lowest mean final loss; a
    point with any non-finite loss never wins."""
    def score(curves: np.ndarray) -> float:
        finals = curves[:, -1]
        return float(np.mean(finals)) if np.all(np.isfinite(curves)) else math.inf

    grid = {f"{a:.3g} x {b:.3g}": score(c) for (a, b), c in table.items()}
    (a, b), curves = min(table.items(), key=lambda kv: score(kv[1]))
    return Tuned(name, task, a, b, [float(x) for x in curves[:, -1]], [float(x) for x in curves.mean(0)],
                 curves.tolist(), grid)


def tune_task(programs: dict[str, Program], task, meta: MetaSettings) -> dict[str, Tuned]:
    """AdamW, Lion, then every program on ``task`` (a ``Task``), each at its best grid point."""
    from proxy_tasks import interpreter, training  # imports JAX

    grid = [(a, b) for a in meta.lr_grid for b in meta.wd_grid]
    seeds = list(meta.seeds)
    per: dict[str, Tuned] = {}
    flat_seeds = [s for _ in grid for s in seeds]
    flat_a = [a for a, _ in grid for _ in seeds]
    flat_b = [b for _, b in grid for _ in seeds]
    for name, make in (("AdamW", training.adamw), ("Lion", training.lion)):
        run = training.make_tuned_optax_run(task, lambda a, b, make=make, task=task: make(task, a, b))
        curves = run(flat_seeds, flat_a, flat_b).reshape(len(grid), len(seeds), -1)
        per[name] = pick(name, task.name, dict(zip(grid, curves)))
    for name, program in programs.items():
        table = {}
        for a, b in grid:
            enc = interpreter.encode(prune(scale_decay(program, b)))
            # the process's runner for this task and bucket: every program and grid point
            # reuses its compiled loop (a runner made per program compiled it again each time)
            table[(a, b)] = training.runner(task, enc.bucket).run_runs(enc.arrays(), seeds, [a] * len(seeds))
        per[name] = pick(name, task.name, table)
    return per


def tune(programs: dict[str, Program], meta: MetaSettings) -> Iterator[tuple[str, dict[str, Tuned], float]]:
    """Task by task of ``meta``: (task name, every optimizer tuned on it, seconds it took)."""
    from proxy_tasks import compile_cache  # imports JAX

    compile_cache.enable()
    for task_name in meta.tasks:
        task = get_task(task_name, meta.scale, **meta.overrides)
        t0 = time.perf_counter()
        per = tune_task(programs, task, meta)
        yield task_name, per, time.perf_counter() - t0
