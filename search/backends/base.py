"""What every backend shares: jobs, the evaluator factory, results the driver makes itself.

A backend takes ``Job``s (a program and the scale to score it at) and hands back
``(job, result)`` pairs; ``result`` is whatever the evaluator returns (``EvalResult`` of
``proxy_tasks.evaluate``) read only through the ``EvalResultLike`` protocol. The driver never
knows which backend runs: it calls ``prepare`` once, then ``submit``/``wait``, then ``close``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from dsl.program import Program
from proxy_tasks.fitness import WORST_FITNESS  # noqa: F401 - the one definition, re-exported for the search


@dataclass(frozen=True)
class Job:
    key: int          # the driver's handle (child id, or a funnel key)
    program: Program
    scale: str = "proxy"
    attempts: int = 0  # times it was resubmitted after a worker died
    seeds: tuple[int, ...] | None = None  # task seeds to run (None: the evaluator's own)
    lr_scales: tuple[tuple[str, float], ...] | None = None  # per task, the one lr grid value to run at
    kind: str = "child"  # what the driver asked for: "child", "funnel" or "race"
    threshold: float | None = None  # dynamic hurdle: fitness needed at the hurdle point to train on

    @property
    def group(self) -> tuple:
        """Jobs of one group go to the evaluator in one call."""
        return (self.scale, self.seeds, self.lr_scales, self.threshold)


@dataclass(frozen=True)
class Failed:
    """A result the backend makes when the evaluator could not answer (timeout, dead worker)."""

    reason: str
    seconds: float = 0.0
    fitness: float = WORST_FITNESS
    tasks: tuple = field(default=())
    seed_fitness: Mapping[int, float] = field(default_factory=dict)  # nothing was scored
    hurdle_fitness: float | None = None

    def to_json(self) -> dict:
        return {"fitness": self.fitness, "tasks": [], "seconds": self.seconds, "reason": self.reason}


class TaskResultLike(Protocol):
    """One task (and seed) of an evaluation, as the search reads it."""

    task: str
    fitness: float
    lr_scale: float  # the learning-rate grid value the task scored at (1.0 without a grid)


class EvalResultLike(Protocol):
    """What an evaluator returns per program (``proxy_tasks.evaluate.EvalResult``, the toy
    evaluator's ``ToyResult``, a backend's ``Failed``)."""

    fitness: float
    tasks: tuple  # of TaskResultLike
    seconds: float
    reason: str | None
    seed_fitness: Mapping[int, float]  # per task seed: the weighted mean over tasks
    hurdle_fitness: float | None  # fitness at the hurdle point (None: not checked there)


class Evaluator(Protocol):
    """What ``EvaluatorSpec.build`` makes: ``factory(scale=..., **kwargs)`` with the keyword
    arguments of ``from_section``, and ``evaluate`` over a list of programs, optionally on other
    task seeds and at one learning-rate grid value per task (racing)."""

    def evaluate(self, programs: list[Program], seeds: tuple[int, ...] | None = None,
                 lr_scales: Mapping[str, float] | None = None,
                 threshold: float | None = None) -> list[EvalResultLike]: ...


@runtime_checkable
class CurveResult(Protocol):
    """A task result that carries its validation loss curve (``proxy_tasks.evaluate.TaskResult``;
    the toy evaluator's does not)."""

    task: str
    curve: Any


@runtime_checkable
class BaselineEvaluator(Protocol):
    """An evaluator that can give its baselines' curves (``proxy_tasks.evaluate.Evaluator``)."""

    seeds: tuple[int, ...]

    def baseline(self, task: str, seed: int, which: str) -> Any: ...


class Backend(Protocol):
    capacity: int  # most programs in flight at once

    def prepare(self) -> None:
        """Build what can fail on a bad config (the evaluator) before the run starts."""

    def submit(self, jobs: list[Job]) -> None: ...

    def wait(self, timeout: float | None = None) -> list[tuple[Job, Any]]:
        """Block until at least one job is done (or ``timeout``); return the finished ones."""

    def in_flight(self) -> int: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class EvaluatorSpec:
    """How to build an evaluator at a scale, in this process or in a Ray actor (picklable)."""

    kwargs: Mapping[str, Any]
    factory: str | None = None  # "module:callable"; default proxy_tasks.evaluate:Evaluator

    @classmethod
    def from_section(cls, section) -> EvaluatorSpec:
        kwargs = {"seeds": tuple(section.seeds), "hurdle": section.hurdle, "cache_dir": section.cache_dir,
                  "hurdle_fraction": section.hurdle_fraction, "batching": section.batching,
                  "batch_size": section.batch_size, **dict(section.overrides)}
        if section.lr_race:
            kwargs["lr_race"] = section.lr_race
        if section.hurdle_early:
            kwargs["hurdle_early"] = section.hurdle_early
            if section.hurdle_early_margin is not None:
                kwargs["hurdle_early_margin"] = section.hurdle_early_margin
        if section.hurdle_margin is not None:
            kwargs["hurdle_margin"] = section.hurdle_margin
        if section.tasks is not None:
            kwargs["tasks"] = dict(section.tasks)
        if list(section.lr_grid) != [1.0]:
            kwargs["lr_grid"] = tuple(section.lr_grid)
        return cls(kwargs, section.factory)

    def build(self, scale: str = "proxy") -> Evaluator:
        target = self.factory or "proxy_tasks.evaluate:Evaluator"
        module, _, attr = target.partition(":")
        fn = getattr(importlib.import_module(module), attr)
        return fn(scale=scale, **self.kwargs)


class EvaluatorPool:
    """One evaluator per scale, built on first use and kept (its compiled tasks stay warm)."""

    def __init__(self, spec: EvaluatorSpec):
        self.spec = spec
        self._by_scale: dict[str, Any] = {}

    def get(self, scale: str):
        ev = self._by_scale.get(scale)
        if ev is None:
            ev = self._by_scale[scale] = self.spec.build(scale)
        return ev

    def evaluate(self, programs: list[Program], scale: str, seeds: tuple[int, ...] | None = None,
                 lr_scales: tuple[tuple[str, float], ...] | None = None, threshold: float | None = None) -> list:
        ev = self.get(scale)
        if seeds is None and lr_scales is None and threshold is None:
            return list(ev.evaluate(programs))
        kw = {"threshold": threshold} if threshold is not None else {}
        return list(ev.evaluate(programs, seeds=seeds, lr_scales=dict(lr_scales) if lr_scales else None, **kw))


def group_jobs(jobs: list[Job]) -> dict[tuple, list[Job]]:
    """Jobs by ``Job.group``, in order of first appearance."""
    out: dict[tuple, list[Job]] = {}
    for job in jobs:
        out.setdefault(job.group, []).append(job)
    return out
