"""The tuned comparison: optimizers on held-out tasks, each at its best point of one shared grid.

``compare(programs, meta, log)`` trains AdamW (optax, bias-corrected), Lion (optax) and every
given program on the meta-validation tasks of ``MetaSettings`` (tasks at a scale, seeds, and a
learning-rate x weight-decay grid of multipliers, the same for every optimizer) and keeps each
optimizer's best grid point per task (``Tuned``); ``beats`` turns that into the mean log loss
ratio against another optimizer. A program's weight decay is scaled through its ``w * c``
constants (``scale_decay``); its learning rate through its ``lr`` input, which ``bake_lr`` can
also fix into the program (``best_lr_scale``: the grid value the proxy evaluator chose for it).

The replay's final stage and ``benchmarks/lion_reach.py`` use it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dsl import prune
from dsl.program import Program, Statement
from proxy_tasks.registry import get_task
from search.analysis.digits import sig
from search.backends.base import EvaluatorSpec

Log = Callable[[str], None]

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


# --- the learning rate and weight decay of a program -------------------------------------------

def bake_lr(program: Program, scale: float) -> Program:
    """The program with its learning-rate input multiplied by ``scale`` (a first statement)."""
    if scale == 1.0:
        return program
    return program.replace(statements=[Statement("lr", "mul", ("lr", float(f"{scale:.6g}")))]
                           + list(program.statements))


def best_lr_scale(program: Program, cfg, logged: dict[str, float] | None = None) -> float:
    """The geometric mean over proxy tasks of the grid value each task chose for ``program``:
    ``logged`` (what the search recorded) when given, else from a fresh proxy evaluation (logs
    written before rows carried ``lr_scales``)."""

    scales = dict(logged or {})
    if not scales:
        result = EvaluatorSpec.from_section(cfg.evaluator).build("proxy").evaluate_one(program)
        scales = {t.task: t.lr_scale for t in result.tasks}
    if not scales:
        return 1.0
    return float(math.exp(np.mean([math.log(s) for s in scales.values()])))


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


# --- the comparison ------------------------------------------------------------------------------

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


def _pick(name: str, task: str, table: dict[tuple[float, float], np.ndarray]) -> Tuned:
    def score(curves: np.ndarray) -> float:
        finals = curves[:, -1]
        return float(np.mean(finals)) if np.all(np.isfinite(curves)) else math.inf

    grid = {f"{a:.3g} x {b:.3g}": score(c) for (a, b), c in table.items()}
    (a, b), curves = min(table.items(), key=lambda kv: score(kv[1]))
    return Tuned(name, task, a, b, [float(x) for x in curves[:, -1]], [float(x) for x in curves.mean(0)],
                 curves.tolist(), grid)


def compare(programs: dict[str, Program], meta: MetaSettings, log: Log) -> dict[str, dict[str, Tuned]]:
    """Every optimizer on every meta-validation task, tuned on the same lr x wd grid."""
    from proxy_tasks import compile_cache, interpreter, training  # imports JAX

    compile_cache.enable()
    out: dict[str, dict[str, Tuned]] = {}
    grid = [(a, b) for a in meta.lr_grid for b in meta.wd_grid]
    seeds = list(meta.seeds)
    for task_name in meta.tasks:
        task = get_task(task_name, meta.scale, **meta.overrides)
        t0 = time.perf_counter()
        per: dict[str, Tuned] = {}
        flat_seeds = [s for _ in grid for s in seeds]
        flat_a = [a for a, _ in grid for _ in seeds]
        flat_b = [b for _, b in grid for _ in seeds]
        for name, make in (("AdamW", training.adamw), ("Lion", training.lion)):
            run = training.make_tuned_optax_run(task, lambda a, b, make=make, task=task: make(task, a, b))
            curves = run(flat_seeds, flat_a, flat_b).reshape(len(grid), len(seeds), -1)
            per[name] = _pick(name, task_name, dict(zip(grid, curves)))
        for name, program in programs.items():
            table = {}
            for a, b in grid:
                enc = interpreter.encode(prune(scale_decay(program, b)))
                # the process's runner for this task and bucket: every program and grid point
                # reuses its compiled loop (a runner made per program compiled it again each time)
                table[(a, b)] = training.runner(task, enc.bucket).run_runs(enc.arrays(), seeds, [a] * len(seeds))
            per[name] = _pick(name, task_name, table)
        out[task_name] = per
        log(f"meta-validation {task_name} ({meta.scale}, data_seed {meta.overrides.get('data_seed')}): "
            + ", ".join(f"{n} {sig(t.mean)}±{sig(t.std, 2)}" for n, t in per.items())
            + f"  [{time.perf_counter() - t0:.0f}s]")
    return out


def paired(tuned: dict[str, dict[str, Tuned]], name: str, other: str) -> dict:
    """Per meta-validation seed, the mean over tasks of log(other / name) (> 0: ``name`` is
    better); their mean and their seed-to-seed standard deviation. Pairing by seed (both ran the
    same seed of each task) takes each seed's own difficulty out of the comparison."""
    tasks = list(tuned)
    n = min(len(tuned[t][name].finals) for t in tasks) if tasks else 0

    def ratio(t: str, k: int) -> float:
        a, b = tuned[t][other].finals[k], tuned[t][name].finals[k]
        return math.log(a / b) if b > 0 and math.isfinite(b) and a > 0 else -math.inf

    per_seed = [float(np.mean([ratio(t, k) for t in tasks])) for k in range(n)]
    finite = all(math.isfinite(x) for x in per_seed)
    sd = float(np.std(per_seed, ddof=1)) if n > 1 and finite else float("nan")
    return {"mean_log_ratio": float(np.mean(per_seed)) if per_seed else float("nan"), "sd": sd,
            "per_seed": per_seed}


def verdict(result: dict) -> str:
    """"beats" or "loses" only when ``paired``'s mean log ratio is further from 0 than one
    seed-to-seed standard deviation, else "ties" (also without a spread to judge by)."""
    mean, sd = result["mean_log_ratio"], result["sd"]
    if not math.isfinite(mean):
        return "loses" if mean < 0 else "ties"
    if not math.isfinite(sd):
        return "ties"
    return "beats" if mean > sd else "loses" if mean < -sd else "ties"


def beats(tuned: dict[str, dict[str, Tuned]], name: str, other: str = "AdamW") -> dict:
    """Mean over tasks of log(other / name) (> 0: ``name`` is better), and per task."""
    per = {t: math.log(v[other].mean / v[name].mean) if v[name].mean > 0 and math.isfinite(v[name].mean)
           else -math.inf for t, v in tuned.items()}
    return {"mean_log_ratio": float(np.mean(list(per.values()))), "per_task": per,
            "wins": sum(x > 0 for x in per.values()), "tasks": len(per)}
