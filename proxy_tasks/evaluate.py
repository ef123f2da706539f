"""The evaluator: scores optimizer programs on proxy tasks against cached AdamW baselines.

Programs are pruned, encoded as arrays and run by one compiled interpreter per (task, scale,
length bucket), so scoring a new program never compiles anything once the evaluator is warm. A
bad program (NaN, overflow, loss blow-up, malformed) gets ``WORST_FITNESS`` and a reason; the
evaluator never raises for one. Where vmap pays (measured on the first batch of each task), a
batch of programs runs at once.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import jax
import numpy as np

from dsl import analyze, prune
from dsl.program import Program, ProgramError
from proxy_tasks import baselines, compile_cache, interpreter, registry, training
from proxy_tasks.fitness import WORST_FITNESS, fitness_of
from proxy_tasks.registry import DEFAULT_TASKS
from proxy_tasks.task import Task
from proxy_tasks.training import ProgramRunner

__all__ = ["CURVE_POINTS", "DEFAULT_TASKS", "WORST_FITNESS", "EvalResult", "Evaluator", "TaskResult", "fitness_of",
           "judge", "measure_batching"]

CURVE_POINTS = 10


@dataclass(frozen=True)
class TaskResult:
    task: str
    scale: str
    seed: int
    loss: float
    baseline_loss: float
    fitness: float
    curve: tuple[float, ...]
    diverged: bool
    reason: str | None
    steps: int
    seconds: float
    lr_scale: float = 1.0  # the learning-rate grid value this run used (the best one on the task)
    partial: float | None = None  # fitness at the hurdle point, where the run was checked there

    def to_json(self) -> dict:
        return {"task": self.task, "scale": self.scale, "seed": self.seed, "loss": _num(self.loss),
                "baseline_loss": _num(self.baseline_loss), "fitness": self.fitness,
                "curve": [_num(x) for x in self.curve], "diverged": self.diverged, "reason": self.reason,
                "steps": self.steps, "seconds": self.seconds, "lr_scale": self.lr_scale}


@dataclass(frozen=True)
class EvalResult:
    fitness: float  # weighted mean over tasks and seeds; WORST_FITNESS if any run diverged
    tasks: tuple[TaskResult, ...]
    seconds: float
    reason: str | None
    seed_fitness: Mapping[int, float] = field(default_factory=dict)  # per task seed: the weighted mean over tasks
    hurdle_fitness: float | None = None  # weighted mean over tasks of the fitness at the hurdle point, if checked

    def to_json(self) -> dict:
        return {"fitness": self.fitness, "tasks": [t.to_json() for t in self.tasks],
                "seconds": self.seconds, "reason": self.reason,
                "seed_fitness": {str(k): v for k, v in self.seed_fitness.items()},
                "hurdle_fitness": self.hurdle_fitness}


def _num(x: float) -> float | str:
    """JSON-safe number: non-finite values become strings ("nan", "inf")."""
    return x if math.isfinite(x) else str(x)


def judge(curve: np.ndarray, blowup: float) -> str | None:
    """Why a run counts as diverged (None if it does not).

    NaN/Inf anywhere on the curve, or a final loss above ``blowup`` times the initial one (a
    transient spike that recovers is not a divergence).
    """
    bad = np.flatnonzero(~np.isfinite(curve))
    if bad.size:
        return f"non-finite validation loss ({curve[bad[0]]}) at curve point {bad[0]}"
    if curve[-1] > blowup * curve[0]:
        return f"loss blew up to {curve[-1]:.4g} (> {blowup:g} x initial {curve[0]:.4g})"
    return None


class Evaluator:
    """Scores programs on proxy tasks; keeps its compiled functions warm between calls.

    ``tasks``: names or name -> weight. ``hurdle``: minimum fitness (against the baseline's curve at
    the same point) that a run must reach after ``hurdle_fraction`` of its steps, else it stops
    there. ``batching``: "auto" (measure the fastest of one-at-a-time, "runs", "map" and "vmap"
    per task and bucket), "runs", "map", "vmap" or False. ``lr_grid``: multipliers of the
    learning-rate schedule; every program (and the AdamW baseline) runs at each one, and each
    task scores the program at its best value (mean over seeds), so a candidate is not judged by
    a step size that mutations have not tuned yet. ``task_overrides``: settings for every task
    that has them (``steps=40``), or per task (``mlp={"steps": 100}``). The fitness of a program
    is the weighted mean of its task fitnesses, or ``WORST_FITNESS`` if it diverged on any task.
    """

    def __init__(self, tasks: Sequence[str] | Mapping[str, float] = DEFAULT_TASKS, scale: str = "proxy",
                 seeds: Sequence[int] = (0,), hurdle: float | None = None,
                 cache_dir: str | os.PathLike | None = None, hurdle_fraction: float = 0.3,
                 batching: str | bool = "auto", batch_size: int = 32, lr_grid: Sequence[float] = (1.0,),
                 lr_race: float = 0.0, hurdle_margin: float | None = None, hurdle_early: float = 0.0,
                 hurdle_early_margin: float | None = None, **task_overrides: Any):
        self.weights = dict(tasks) if isinstance(tasks, Mapping) else {t: 1.0 for t in tasks}
        if not self.weights:
            raise ValueError("no tasks given")
        self.scale, self.seeds = scale, tuple(int(s) for s in seeds)
        self.hurdle, self.hurdle_fraction = hurdle, float(hurdle_fraction)
        self.cache_dir = None if cache_dir is None else str(cache_dir)
        self.batching, self.batch_size = batching, int(batch_size)
        self.lr_grid = tuple(float(x) for x in lr_grid)
        self.lr_race = float(lr_race)
        if not 0.0 <= self.lr_race < 1.0:
            raise ValueError(f"lr_race must be in [0, 1), not {lr_race!r}")
        self.hurdle_early = float(hurdle_early)
        if not 0.0 <= self.hurdle_early < 1.0:
            raise ValueError(f"hurdle_early must be in [0, 1), not {hurdle_early!r}")
        self.hurdle_margin = None if hurdle_margin is None else float(hurdle_margin)
        if self.hurdle_margin is not None and not (math.isfinite(self.hurdle_margin) and self.hurdle_margin >= 0):
            raise ValueError(f"hurdle_margin must be a number >= 0, not {hurdle_margin!r}")
        self.hurdle_early_margin = self.hurdle_margin if hurdle_early_margin is None else float(hurdle_early_margin)
        if self.hurdle_early_margin is not None and not (math.isfinite(self.hurdle_early_margin)
                                                         and self.hurdle_early_margin >= 0):
            raise ValueError(f"hurdle_early_margin must be a number >= 0, not {hurdle_early_margin!r}")
        if not self.lr_grid or any(not (math.isfinite(x) and x > 0) for x in self.lr_grid):
            raise ValueError(f"lr_grid must hold positive numbers, not {list(lr_grid)!r}")
        compile_cache.enable()
        self._baseline_scale: dict[tuple[str, str], float] = {}
        self.task_overrides = dict(task_overrides)
        self.tasks: dict[str, Task] = {}
        shared = {k: v for k, v in task_overrides.items() if k not in registry.TASKS}
        used: set[str] = set()
        for name in self.weights:
            known = set(registry.settings(name, scale))
            own = {k: v for k, v in shared.items() if k in known}
            used |= set(own)
            own.update(task_overrides.get(name, {}) if name in task_overrides else {})
            self.tasks[name] = registry.get_task(name, scale, **own)
        unused = set(shared) - used
        if unused:
            raise KeyError(f"override(s) {', '.join(sorted(unused))} match no selected task's settings")
        self._batch_mode: dict[tuple[str, int], str] = {}

    def config(self) -> dict:
        """JSON-able keyword arguments: ``Evaluator(**config())`` rebuilds an equivalent evaluator."""
        return {"tasks": dict(self.weights), "scale": self.scale, "seeds": list(self.seeds),
                "hurdle": self.hurdle, "cache_dir": self.cache_dir, "hurdle_fraction": self.hurdle_fraction,
                "batching": self.batching, "batch_size": self.batch_size, "lr_grid": list(self.lr_grid),
                "lr_race": self.lr_race, "hurdle_margin": self.hurdle_margin,
                **({"hurdle_early": self.hurdle_early, "hurdle_early_margin": self.hurdle_early_margin}
                   if self.hurdle_early else {}), **self.task_overrides}

    # --- public -------------------------------------------------------------------------------

    def evaluate_one(self, program: Program) -> EvalResult:
        return self.evaluate([program])[0]

    def evaluate(self, programs: Sequence[Program], seeds: Sequence[int] | None = None,
                 lr_scales: Mapping[str, float] | None = None, threshold: float | None = None) -> list[EvalResult]:
        """One result per program, in order; never raises for a bad program.

        ``seeds``: the task seeds to run (default: the evaluator's). ``lr_scales``: per task, the
        one learning-rate grid value to run at instead of the whole grid (the search's racing
        scores a program on more seeds at the value its first seeds chose). ``threshold``: a
        dynamic hurdle (the search's rolling quantile): at ``hurdle_fraction`` of its steps, a grid
        value whose mean fitness over seeds is below it stops there; a program whose every value
        stops keeps its fitness there, at most the threshold."""
        start = time.perf_counter()
        seeds = self.seeds if seeds is None else tuple(int(s) for s in seeds)
        if not seeds:
            raise ValueError("no task seeds to evaluate on")
        encoded: list[interpreter.Encoded | None] = []
        errors: list[str | None] = []
        for p in programs:
            try:
                analyze(p)
                encoded.append(interpreter.encode(prune(p)))
                errors.append(None)
            except ProgramError as exc:
                encoded.append(None)
                errors.append(f"invalid program: {exc}")
        per_prog: list[list[TaskResult]] = [[] for _ in programs]
        for task in self.tasks.values():
            by_bucket: dict[int, list[int]] = {}
            for i, e in enumerate(encoded):
                if e is not None:
                    by_bucket.setdefault(e.bucket, []).append(i)
            for bucket, idx in by_bucket.items():
                grid = (float(lr_scales[task.name]),) if lr_scales and task.name in lr_scales else self.lr_grid
                encs = [encoded[i] for i in idx]
                for i, res in zip(idx, self._run_task(task, bucket, encs, seeds, grid, threshold)):  # type: ignore[arg-type]
                    per_prog[i].extend(res)
        out = []
        for i in range(len(programs)):
            if errors[i] is not None:
                out.append(EvalResult(WORST_FITNESS, (), 0.0, errors[i]))
                continue
            results = self._best_scales(per_prog[i])
            total = sum(self.weights.values())
            fit = sum(self.weights[r.task] * r.fitness for r in results) / (total * len(seeds))
            if any(r.diverged for r in results):
                fit = WORST_FITNESS  # unusable if it diverges anywhere, however well it does elsewhere
            reason = next((f"{r.task}: {r.reason}" for r in results if r.reason), None)
            per_seed = {}
            for s in seeds:
                mine = [r for r in results if r.seed == s]
                bad = any(r.diverged for r in mine)
                per_seed[s] = WORST_FITNESS if bad else sum(self.weights[r.task] * r.fitness for r in mine) / total
            partial = [r for r in results if r.partial is not None]
            hurdle_fit = (sum(self.weights[r.task] * r.partial for r in partial) / (total * len(seeds))  # type: ignore[operator]
                          if partial and len(partial) == len(results) else None)
            # seconds count every run, the grid values not kept included: the compute spent
            out.append(EvalResult(fit, results, sum(r.seconds for r in per_prog[i]), reason, per_seed, hurdle_fit))
        if len(out) == 1 and out[0].seconds == 0.0:
            out[0] = EvalResult(out[0].fitness, out[0].tasks, time.perf_counter() - start, out[0].reason,
                                out[0].seed_fitness, out[0].hurdle_fitness)
        return out

    def baseline(self, task: str, seed: int, which: str = "adamw") -> np.ndarray:
        """The cached validation curve of the AdamW (or Lion) baseline, at its best ``lr_grid`` value."""
        return baselines.curve(self.tasks[task], seed, self.cache_dir, which, self.baseline_scale(task, which))

    def baseline_scale(self, task: str, which: str = "adamw") -> float:
        """The baseline's learning-rate multiplier: the grid value with the lowest mean final loss."""
        if len(self.lr_grid) == 1:
            return self.lr_grid[0]
        key = (task, which)
        if key not in self._baseline_scale:
            def mean_final(scale: float) -> float:
                finals = [baselines.curve(self.tasks[task], s, self.cache_dir, which, scale)[-1] for s in self.seeds]
                return float(np.mean(finals)) if all(np.isfinite(finals)) else math.inf
            self._baseline_scale[key] = min(self.lr_grid, key=mean_final)
        return self._baseline_scale[key]

    def _best_scales(self, results: list[TaskResult]) -> tuple[TaskResult, ...]:
        """Per task, the runs at the grid value with the best mean fitness over seeds."""
        if len({r.lr_scale for r in results}) <= 1:
            return tuple(results)
        out: list[TaskResult] = []
        for name in self.tasks:
            mine = [r for r in results if r.task == name]
            by_scale: dict[float, list[TaskResult]] = {}
            for r in mine:
                by_scale.setdefault(r.lr_scale, []).append(r)
            best = max(by_scale, key=lambda s: (float(np.mean([r.fitness for r in by_scale[s]])), -abs(math.log(s))))
            out.extend(by_scale[best])
        return tuple(out)

    # --- internals ------------------------------------------------------------------------------

    def _runner(self, task: Task, bucket: int) -> ProgramRunner:
        return training.runner(task, bucket)  # shared by every evaluator in the process: compile once

    def _run_task(self, task: Task, bucket: int, encs: list[interpreter.Encoded], seeds: Sequence[int],
                  grid: Sequence[float], threshold: float | None = None) -> list[list[TaskResult]]:
        runner = self._runner(task, bucket)
        runs = [(seed, scale) for seed in seeds for scale in grid]
        jobs = [(j, seed, scale) for j in range(len(encs)) for seed, scale in runs]
        results: list[list[TaskResult]] = [[] for _ in encs]
        if threshold is not None or (self.lr_race and len(grid) > 1 and self.hurdle is None):
            for j, enc in enumerate(encs):  # one program at a time, its runs vmapped
                results[j].extend(self._run_staged(task, runner, enc, seeds, grid, threshold))
            return results
        mode = self._mode(task, bucket, runner, encs, jobs, len(runs))
        if mode == "single":
            for j, seed, scale in jobs:
                results[j].append(self._run_single(task, runner, encs[j], seed, scale))
            return results
        if mode == "runs":
            for j, enc in enumerate(encs):
                for lo in range(0, len(runs), self.batch_size):
                    results[j].extend(self._run_runs(task, runner, enc, runs[lo: lo + self.batch_size]))
            return results
        for lo in range(0, len(jobs), self.batch_size):
            group = jobs[lo: lo + self.batch_size]
            for (j, _seed, _scale), res in zip(group, self._run_batch(task, runner, encs, group, mode)):
                results[j].append(res)
        return results

    def _mode(self, task, bucket, runner, encs, jobs, n_runs: int) -> str:
        """"single", "runs", "map" or "vmap" for this task and bucket (see ``ProgramRunner``)."""
        choice = {True: "map", False: "single"}.get(self.batching, self.batching)  # type: ignore[call-overload]
        if choice not in ("auto", "single", "runs", "map", "vmap"):
            raise ValueError(f"batching must be 'auto', 'runs', 'map', 'vmap' or False, not {self.batching!r}")
        if len(jobs) < 2 or self.hurdle is not None:
            return "single"
        if choice == "runs" and n_runs < 2:
            return "single"
        if choice != "auto":
            return choice
        key = (task.name, bucket, n_runs)
        if key not in self._batch_mode:
            if len(encs) == 1:  # one program's runs: "runs", the cheapest batching that applies, unmeasured
                return "runs"  # (timing "map" on a batch of copies compiled two loops for nothing)
            self._batch_mode[key] = measure_batching(runner, encs[0], self.batch_size, n_runs=n_runs)
        return self._batch_mode[key]

    def _finish(self, task: Task, seed: int, curve: np.ndarray, steps: int, seconds: float,
                hurdle_reason: str | None = None, scale: float = 1.0) -> TaskResult:
        base = self.baseline(task.name, seed)
        reason = judge(curve, float(task.settings["blowup"]))
        loss = float(curve[-1])
        if reason is not None:
            fit = WORST_FITNESS
        elif hurdle_reason is not None:
            fit = min(fitness_of(loss, float(base[len(curve) - 1])), self.hurdle)  # type: ignore[type-var]
            reason = hurdle_reason
        else:
            fit = fitness_of(loss, float(base[-1]))
        sub = tuple(float(x) for x in curve[:: max(1, (len(curve) - 1) // CURVE_POINTS)])
        return TaskResult(task.name, task.scale, seed, loss, float(base[-1]), fit, sub,
                          reason is not None and hurdle_reason is None, reason, steps, seconds, scale)

    def _run_single(self, task: Task, runner: ProgramRunner, enc, seed: int, scale: float = 1.0) -> TaskResult:
        t0 = time.perf_counter()
        arrays = enc.arrays()
        if self.hurdle is None:
            curve = runner.run(arrays, seed, scale)
            return self._finish(task, seed, curve, task.steps, time.perf_counter() - t0, scale=scale)
        cut = min(task.points, max(1, int(round(self.hurdle_fraction * task.points))))
        state, l0 = runner.init(arrays, seed, scale)
        state, first = runner.advance(state, arrays, 0, cut)
        curve = np.concatenate([[float(l0)], np.asarray(first)])
        base = self.baseline(task.name, seed)
        partial = fitness_of(float(curve[-1]), float(base[cut]))
        if cut < task.points and judge(curve, float(task.settings["blowup"])) is None and partial < self.hurdle:
            why = (f"hurdle: fitness {partial:.3g} < {self.hurdle:g} after {cut * task.chunk} of "
                   f"{task.steps} steps")
            return self._finish(task, seed, curve, cut * task.chunk, time.perf_counter() - t0, why, scale)
        if cut < task.points:
            _, rest = runner.advance(state, arrays, cut, task.points - cut)
            curve = np.concatenate([curve, np.asarray(rest)])
        return self._finish(task, seed, curve, task.steps, time.perf_counter() - t0, scale=scale)

    def _stages(self, task: Task, grid: Sequence[float], threshold: float | None) -> list[tuple[int, str]]:
        """The checkpoints of a staged run, as (validation point, kind). Without a ``threshold``:
        the race alone (``race``: only the best grid value trains on). With one: ``hurdle`` at
        ``hurdle_fraction`` (the threshold, and the margin, decide), after an ``early`` hurdle at
        ``hurdle_early`` if set (the same threshold, its own margin), then the race at ``lr_race``
        as ``both`` (the threshold still applies there, and only the best value goes on); a race
        point at or before the hurdle's makes one ``both`` checkpoint there."""
        def point(frac: float) -> int:
            return self._point(task, frac)

        race = bool(self.lr_race and len(grid) > 1)
        if threshold is None:
            return [(point(self.lr_race), "race")] if race else []
        hurdle = point(self.hurdle_fraction)
        early = [(point(self.hurdle_early), "early")] if self.hurdle_early else []
        early = [e for e in early if e[0] < hurdle]
        if not race:
            return [*early, (hurdle, "hurdle")]
        cut = point(self.lr_race)
        return [*early, (hurdle, "hurdle"), (cut, "both")] if cut > hurdle else [*early, (cut, "both")]

    @staticmethod
    def _point(task: Task, frac: float) -> int:
        """The validation point nearest ``frac`` of training, never the first or the last."""
        return min(task.points - 1, max(1, int(round(frac * task.points))))

    def _run_staged(self, task: Task, runner: ProgramRunner, enc, seeds: Sequence[int], grid: Sequence[float],
                    threshold: float | None) -> list[TaskResult]:
        """Every (seed, grid value) run trains to a checkpoint, then only some train on.

        At a hurdle checkpoint (``hurdle_fraction``, with a ``threshold``) each grid value's mean
        fitness over seeds (against the baseline's curve at the same point) decides: values at or
        above the threshold go on, and with ``hurdle_margin`` only those within that margin of the
        program's best value there (``hurdle_early_margin`` at the early checkpoint). At a race
        checkpoint (``lr_race``) only the best value goes on, still above the threshold if there is
        one. The checkpoints come in the order ``_stages`` gives. The runs that went to the end are
        returned whole (``_best_scales`` keeps the best value's); if none passes a checkpoint, the
        runs of the best value are returned as stopped: fitness there, at most the threshold,
        reason ``hurdle``, and ``partial`` the fitness at the hurdle point (or the early one if it
        stopped there). Every run's time counts."""
        t0 = time.perf_counter()
        runs = [(s, x) for s in seeds for x in grid]
        blowup = float(task.settings["blowup"])
        arrays = enc.arrays()
        state, l0 = runner.init_runs(arrays, np.asarray([s for s, _ in runs], np.int32),
                                     np.asarray([x for _, x in runs], np.float32))
        alive = list(range(len(runs)))           # runs still training
        states: list | None = None                # after the first checkpoint: one state per alive run
        curves = np.asarray(l0)[:, None]          # their curves so far
        part: dict[int, float] = {}               # fitness at the last hurdle checkpoint, per run
        at = 0

        def advance(n: int):
            """Every alive run ``n`` chunks on: all at once until a checkpoint stops some, then
            one run at a time, so that the loop compiles for two shapes (all runs, one run)
            whatever the number of survivors; per run it costs the same on CPU (docs/search.md)."""
            nonlocal state, states
            if states is None:
                state, seg = runner.advance_runs(state, arrays, at, n)
                return seg
            segs = []
            for i, st in enumerate(states):
                states[i], seg = runner.advance_runs(st, arrays, at, n)
                segs.append(seg[0])
            return np.stack(segs)

        hurdle_at = self._point(task, self.hurdle_fraction)
        for cut, kind in self._stages(task, grid, threshold):
            curves = np.concatenate([curves, advance(cut - at)], axis=1)
            at = cut
            here = {}
            for i, k in enumerate(alive):
                here[k] = (WORST_FITNESS if judge(curves[i], blowup) is not None else
                           fitness_of(float(curves[i][-1]), float(self.baseline(task.name, runs[k][0])[cut])))
                if kind != "race" and (kind != "both" or cut <= hurdle_at):  # fitness at the hurdle
                    part[k] = here[k]  # (or at the early checkpoint, for a run that stops there)
            values = list(dict.fromkeys(runs[k][1] for k in alive))
            by_x = {x: float(np.mean([here[k] for k in alive if runs[k][1] == x])) for x in values}
            ranked = sorted(values, key=lambda x: (-by_x[x], abs(math.log(x))))
            go = ranked[:1] if kind in ("race", "both") else list(values)
            if kind != "race":
                go = [x for x in go if by_x[x] >= threshold]
                margin = self.hurdle_early_margin if kind == "early" else self.hurdle_margin
                if margin is not None and go:  # values trailing this program's best there stop too
                    go = [x for x in go if by_x[x] >= by_x[ranked[0]] - margin]
            if not go:  # stopped at the hurdle: the best value's runs, as far as they went
                return self._stopped(task, runs, alive, curves, part, here, ranked[0], by_x[ranked[0]], cut,
                                     float(threshold), (time.perf_counter() - t0) / len(seeds))
            rows = [i for i, k in enumerate(alive) if runs[k][1] in go]
            if states is not None:
                states = [states[i] for i in rows]
            elif len(rows) < len(alive):  # host-side slices: no gather compiled per number of survivors
                host = jax.tree_util.tree_map(np.asarray, state)
                states = [jax.tree_util.tree_map(lambda a, i=i: a[i: i + 1], host) for i in rows]
            curves, alive = curves[rows], [alive[i] for i in rows]
        curves = np.concatenate([curves, advance(task.points - at)], axis=1)
        each = (time.perf_counter() - t0) / len(alive)
        # every value that went on; ``_best_scales`` keeps the best of them at the end
        return [replace(self._finish(task, runs[k][0], curves[i], task.steps, each, scale=runs[k][1]),
                        partial=part.get(k)) for i, k in enumerate(alive)]

    def _stopped(self, task: Task, runs, alive, curves, part, here, best: float, best_fit: float, cut: int,
                 threshold: float, each: float) -> list[TaskResult]:
        """The runs of the best grid value of a program stopped at a checkpoint (see ``_run_staged``):
        fitness there, at most the threshold; ``partial`` the fitness at the hurdle point."""
        out = []
        for i, k in enumerate(alive):
            seed, x = runs[k]
            if x != best:
                continue
            r = self._finish(task, seed, curves[i], cut * task.chunk, each, scale=x)
            if r.diverged:
                out.append(replace(r, partial=part[k]))
                continue
            why = f"hurdle: fitness {best_fit:.3g} < {threshold:.3g} after {cut * task.chunk} of {task.steps} steps"
            out.append(replace(r, fitness=min(here[k], threshold), reason=why, partial=part[k]))
        return out

    def _padded(self, n: int) -> int:
        """Batch size for ``n`` items: a power of two (at most batch_size), so few shapes compile."""
        return min(self.batch_size, 1 << (n - 1).bit_length())

    def _run_runs(self, task: Task, runner: ProgramRunner, enc, runs) -> list[TaskResult]:
        t0 = time.perf_counter()
        pad = max(0, self._padded(len(runs)) - len(runs))
        seeds, scales = zip(*(list(runs) + [runs[0]] * pad))
        curves = runner.run_runs(enc.arrays(), seeds, scales)
        each = (time.perf_counter() - t0) / len(runs)
        return [self._finish(task, seed, curves[k], task.steps, each, scale=scale)
                for k, (seed, scale) in enumerate(runs)]

    def _run_batch(self, task: Task, runner: ProgramRunner, encs, group, mode: str) -> list[TaskResult]:
        t0 = time.perf_counter()
        pad = max(0, self._padded(len(group)) - len(group))
        padded = list(group) + [group[0]] * pad
        arrays = interpreter.stack([encs[j] for j, _, _ in padded])
        seeds = np.asarray([s for _, s, _ in padded], np.int32)
        scales = np.asarray([c for _, _, c in padded], np.float32)
        curves = runner.run_batched(arrays, seeds, mode, scales)
        each = (time.perf_counter() - t0) / len(group)
        return [self._finish(task, seed, curves[k], task.steps, each, scale=scale)
                for k, (_, seed, scale) in enumerate(group)]


def measure_batching(runner: ProgramRunner, enc: interpreter.Encoded, batch_size: int,
                     repeats: int = 2, n_runs: int = 1) -> str:
    """The fastest way to run many programs here: "single", "runs", "map" or "vmap" (per run, warm).

    "runs" (several seeds or learning-rate scales of one program at once) is timed when each
    program has ``n_runs >= 2`` runs; it keeps the interpreter's switch unbatched and is the
    cheapest batching where it applies.

    Compiles each way once and times it; a batched mode must beat one-at-a-time by 10% to be
    chosen, since the measurement is noisy on a shared machine. "vmap" is timed only off CPU:
    there its select evaluates every op of the table per statement, which measured 5-50x slower
    than one-at-a-time on every task (``benchmarks/evaluator.py``), and timing it on the larger
    tasks would cost minutes.
    """
    arrays = enc.arrays()
    batch = interpreter.stack([enc] * batch_size)
    seeds = np.zeros(batch_size, np.int32)
    runs = {"single": (lambda: runner.run(arrays, 0), 1),
            "map": (lambda: runner.run_batched(batch, seeds, "map"), batch_size)}
    if n_runs >= 2:
        k = min(batch_size, 1 << (n_runs - 1).bit_length())
        runs["runs"] = (lambda: runner.run_runs(arrays, np.zeros(k, np.int32), np.ones(k, np.float32)), k)
    if jax.default_backend() != "cpu":
        runs["vmap"] = (lambda: runner.run_batched(batch, seeds, "vmap"), batch_size)
    cost = {}
    for mode, (fn, n) in runs.items():
        fn()
        best = math.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        cost[mode] = best / n
    batched = min((m for m in cost if m != "single"), key=cost.__getitem__)
    return batched if cost[batched] < 0.9 * cost["single"] else "single"
