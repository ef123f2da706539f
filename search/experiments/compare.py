"""Ranking the tuned comparison: paired differences, verdicts, and a program's searched lr.

``compare(programs, meta, log)`` runs the tuned comparison of ``proxy_tasks.tuned`` (AdamW, Lion
and every given program on the meta-validation tasks of ``MetaSettings``, each at its best point
of one shared lr x wd grid: ``Tuned``) and logs each task's result; ``paired``, ``verdict`` and
``beats`` rank what it returns against another optimizer. ``best_lr_scale`` is the grid value
the proxy evaluator chose for a program, which ``bake_lr`` can fix into the program.

The replay's final stage and ``benchmarks/lion_reach.py`` use it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from dsl.program import Program, Statement
from proxy_tasks.tuned import MetaSettings, Tuned, tune
from search.analysis.digits import sig
from search.backends.base import EvaluatorSpec

Log = Callable[[str], None]


# --- the learning rate of a program ---------------------------------------------------------------

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


# --- the comparison ------------------------------------------------------------------------------

def compare(programs: dict[str, Program], meta: MetaSettings, log: Log) -> dict[str, dict[str, Tuned]]:
    """Every optimizer on every meta-validation task, tuned on the same lr x wd grid."""
    out: dict[str, dict[str, Tuned]] = {}
    for task_name, per, seconds in tune(programs, meta):
        out[task_name] = per
        log(f"meta-validation {task_name} ({meta.scale}, data_seed {meta.overrides.get('data_seed')}): "
            + ", ".join(f"{n} {sig(t.mean)}±{sig(t.std, 2)}" for n, t in per.items())
            + f"  [{seconds:.0f}s]")
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
