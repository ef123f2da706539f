"""A tiny numpy evaluator for tests, benchmarks and dry runs (not a proxy task).

It trains a noisy ill-conditioned quadratic with the program through ``dsl.execute`` and scores
``log(baseline_loss / loss)`` against plain SGD, so that better optimizers really score higher.
It answers the ``Evaluator`` interface of ``proxy_tasks.evaluate`` so the search can run end to
end without JAX; ``delay_s`` adds a fixed sleep per program to mimic an expensive task.
Configs name it ``evaluator.factory: proxy_tasks.toy:ToyEvaluator`` (older ones
``search.backends.toy:ToyEvaluator``, its former home, which still resolves).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from dsl import library
from dsl.execute import roll
from dsl.program import Program
from proxy_tasks.fitness import WORST_FITNESS

SCALE_STEPS = {"proxy": 1, "x10": 10, "x100": 100}


@dataclass(frozen=True)
class ToyTaskResult:
    task: str
    scale: str
    seed: int
    loss: float
    baseline_loss: float
    fitness: float
    diverged: bool
    lr_scale: float = 1.0  # no learning-rate grid here


@dataclass(frozen=True)
class ToyResult:
    fitness: float
    tasks: tuple[ToyTaskResult, ...]
    seconds: float
    reason: str | None
    seed_fitness: Mapping[int, float] = field(default_factory=dict)
    hurdle_fitness: float | None = None  # the toy trains in one piece: no hurdle point

    def to_json(self) -> dict:
        return {"fitness": self.fitness, "tasks": [asdict(t) for t in self.tasks],
                "seconds": self.seconds, "reason": self.reason,
                "seed_fitness": {str(k): v for k, v in self.seed_fitness.items()}}


def _train(program: Program, seed: int, steps: int, dim: int) -> float:
    rng = np.random.default_rng(seed)
    scales = np.logspace(-1, 1, dim)
    w = rng.normal(size=dim)

    def diverged(w: np.ndarray) -> bool:
        return not np.all(np.isfinite(w))

    with np.errstate(all="ignore"):
        w = roll(program, lambda w: scales * w + 0.01 * rng.normal(size=dim), w,
                 lambda t: 0.5 * (1 + math.cos(math.pi * t / steps)),  # cosine schedule value
                 steps=steps, descend=True, until=diverged).ws[-1]
        if diverged(w):
            return math.inf
        return float(0.5 * np.sum(scales * w * w))


class ToyEvaluator:
    """Same constructor and methods as ``proxy_tasks.evaluate.Evaluator`` (extra: steps, dim,
    delay_s); the task names are labels, every task is the same quadratic; the hurdle and batching
    options are accepted and ignored."""

    def __init__(self, tasks: Sequence[str] | Mapping[str, float] = ("toy",), scale: str = "proxy",
                 seeds: Sequence[int] = (0,), hurdle: float | None = None, cache_dir=None,
                 hurdle_fraction: float = 0.3, batching: str = "auto", batch_size: int = 32, lr_race: float = 0.0,
                 hurdle_margin: float | None = None, hurdle_early: float = 0.0,
                 hurdle_early_margin: float | None = None,
                 steps: int = 30, dim: int = 8, delay_s: float = 0.0, slow_op: str | None = None,
                 slow_s: float = 0.0, noise: float = 0.0):
        self.tasks = dict(tasks) if isinstance(tasks, Mapping) else {t: 1.0 for t in tasks}
        self.scale, self.seeds, self.hurdle = scale, tuple(seeds), hurdle
        self.steps = steps * SCALE_STEPS[scale]
        self.dim, self.delay_s, self.base_steps = dim, delay_s, steps
        self.slow_op, self.slow_s = slow_op, slow_s  # programs using slow_op hang (timeout tests)
        self.noise = float(noise)  # std of a seed-to-seed noise added to each task fitness (racing tests)
        self._baseline = {s: _train(library.get("sgd"), s, self.steps, dim) for s in self.seeds}

    def config(self) -> dict:
        return {"tasks": self.tasks, "scale": self.scale, "seeds": list(self.seeds), "hurdle": self.hurdle,
                "steps": self.base_steps, "dim": self.dim, "delay_s": self.delay_s,
                "slow_op": self.slow_op, "slow_s": self.slow_s, "noise": self.noise}

    def _noise(self, program: Program, seed: int) -> float:
        """A fixed draw of N(0, noise) per (program, seed): the same program and seed always get
        the same luck, as a real proxy task's seed does."""
        if not self.noise:
            return 0.0
        h = hashlib.sha256(f"{program}|{seed}".encode()).digest()
        return float(np.random.default_rng(int.from_bytes(h[:8], "little")).normal(0.0, self.noise))

    def evaluate_one(self, program: Program, seeds: Sequence[int] | None = None) -> ToyResult:
        t0 = time.perf_counter()
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.slow_op and any(st.op == self.slow_op for st in program.statements):
            time.sleep(self.slow_s)
        seeds = self.seeds if seeds is None else tuple(int(s) for s in seeds)
        results, reason = [], None
        for name in self.tasks:
            for seed in seeds:
                loss = _train(program, seed, self.steps, self.dim)
                if seed not in self._baseline:
                    self._baseline[seed] = _train(library.get("sgd"), seed, self.steps, self.dim)
                base = self._baseline[seed]
                diverged = not math.isfinite(loss)
                fit = WORST_FITNESS if diverged else max(WORST_FITNESS, math.log(base / max(loss, 1e-30))
                                                         + self._noise(program, seed))
                if diverged and reason is None:
                    reason = f"{name}: diverged"
                results.append(ToyTaskResult(name, self.scale, seed, loss, base, fit, diverged))
        total = sum(self.tasks.values())
        per_seed = {s: (WORST_FITNESS if any(r.diverged for r in results if r.seed == s)
                        else sum(self.tasks[r.task] * r.fitness for r in results if r.seed == s) / total)
                    for s in seeds}
        fitness = sum(self.tasks[r.task] * r.fitness for r in results) / (total * len(seeds))
        return ToyResult(float(fitness), tuple(results), time.perf_counter() - t0, reason, per_seed)

    def evaluate(self, programs: Sequence[Program], seeds: Sequence[int] | None = None,
                 lr_scales: Mapping[str, float] | None = None, threshold: float | None = None) -> list[ToyResult]:
        """``lr_scales`` and ``threshold`` are accepted and ignored: the toy has no learning-rate
        grid and trains in one piece."""
        return [self.evaluate_one(p, seeds) for p in programs]
