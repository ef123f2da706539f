"""What the search knows of an evaluation: its ``Outcome``, and the cache from fingerprint to
what is known of that program (so a rediscovered program costs no evaluation).

An entry keeps the program's fitness per task seed: racing (``search.racing``) adds seeds to an
entry, and its fitness becomes the mean over the seeds scored, with a standard error. Pure data,
no I/O: the driver fills the cache, the funnel ranks its entries.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np

from search.backends.base import WORST_FITNESS, EvalResultLike


class Outcome(NamedTuple):
    """One evaluation as the search records it (a row of the log, an entry of the cache)."""

    fitness: float
    tasks: dict[str, float]      # per-task fitness, mean over seeds
    reason: str | None
    seconds: float
    lr_scales: dict[str, float]  # per task: the learning-rate grid value it scored at
    seeds: Mapping[int, float] = {}  # per task seed: the weighted mean over tasks (empty: not reported)
    hurdle_fitness: float | None = None  # fitness at the hurdle point (None: not checked there)

    @classmethod
    def of(cls, row) -> Outcome:
        """The outcome an ``EvaluationRow``, ``FunnelRow`` or ``RaceRow`` recorded."""
        return cls(row.fitness, dict(row.tasks), row.reason, row.seconds, dict(row.lr_scales),
                   dict(row.seed_fitness), row.hurdle_fitness)


def to_outcome(result: EvalResultLike) -> Outcome:
    """The ``Outcome`` of any evaluator result; a non-finite fitness is ``WORST_FITNESS``."""
    per: dict[str, list[float]] = {}
    lr: dict[str, float] = {}
    for t in result.tasks:
        per.setdefault(t.task, []).append(float(t.fitness))
        lr.setdefault(t.task, float(t.lr_scale))  # chosen per task (mean over seeds): one value
    fitness = float(result.fitness)
    if not math.isfinite(fitness):
        fitness = WORST_FITNESS
    tasks = {k: (sum(v) / len(v) if all(map(math.isfinite, v)) else WORST_FITNESS) for k, v in per.items()}
    seeds = {int(s): (float(f) if math.isfinite(f) else WORST_FITNESS) for s, f in result.seed_fitness.items()}
    hurdle = result.hurdle_fitness
    hurdle = None if hurdle is None else (float(hurdle) if math.isfinite(hurdle) else WORST_FITNESS)
    return Outcome(fitness, tasks, result.reason, float(result.seconds), lr, seeds, hurdle)


def mean_and_se(seeds: Mapping[int, float]) -> tuple[float, float | None]:
    """The mean over seeds (``WORST_FITNESS`` if any is) and its standard error (None below 2 seeds)."""
    values = list(seeds.values())
    if any(v <= WORST_FITNESS for v in values):
        return WORST_FITNESS, None
    if len(values) < 2:
        return float(values[0]), None
    return float(np.mean(values)), float(np.std(values, ddof=1) / math.sqrt(len(values)))


@dataclass
class Entry:
    """What the cache knows of a fingerprint: its score and the first program that had it."""

    fitness: float
    tasks: dict[str, float]
    reason: str | None
    id: int
    source: str
    fingerprint: str
    lr_scales: dict[str, float] = field(default_factory=dict)
    seeds: dict[int, float] = field(default_factory=dict)  # fitness per task seed scored
    hurdle_fitness: float | None = None  # fitness at the hurdle point of its first evaluation

    @property
    def outcome(self) -> Outcome:
        """The outcome a cache hit records (it costs no evaluator time)."""
        return Outcome(self.fitness, self.tasks, self.reason, 0.0, self.lr_scales, dict(self.seeds),
                       self.hurdle_fitness)

    @property
    def se(self) -> float | None:
        """Standard error of ``fitness`` over the seeds scored (None below 2 seeds)."""
        return mean_and_se(self.seeds)[1] if self.seeds else None


class Cache:
    """Fingerprint -> the first evaluation of it. ``add`` never replaces an entry."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}

    def get(self, fingerprint: str) -> Entry | None:
        return self._entries.get(fingerprint)

    def __contains__(self, fingerprint: str) -> bool:
        return fingerprint in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, id: int, source: str, fingerprint: str, o: Outcome) -> Entry:
        """Record the evaluation of ``fingerprint`` unless it is known; returns the entry kept."""
        return self._entries.setdefault(
            fingerprint, Entry(o.fitness, o.tasks, o.reason, id, source, fingerprint, dict(o.lr_scales),
                               dict(o.seeds), o.hurdle_fitness))

    def add_seeds(self, fingerprint: str, o: Outcome) -> Entry:
        """More task seeds of a known program (racing): its fitness becomes the mean over every
        seed scored, its per-task fitness the seed-weighted mean."""
        e = self._entries[fingerprint]
        new = {s: f for s, f in o.seeds.items() if s not in e.seeds}
        if not new:
            return e
        n_old, n_new = len(e.seeds), len(new)
        e.tasks = {t: (e.tasks.get(t, v) * n_old + o.tasks.get(t, v) * n_new) / (n_old + n_new)
                   for t, v in e.tasks.items()}
        e.seeds.update(new)
        e.fitness = mean_and_se(e.seeds)[0]
        if e.reason is None and o.reason is not None:
            e.reason = o.reason
        return e

    def entries(self) -> list[Entry]:
        return list(self._entries.values())

    def top(self, k: int) -> list[Entry]:
        """The ``k`` best scored entries (ties: the earliest id first)."""
        scored = [e for e in self._entries.values() if e.fitness > WORST_FITNESS]
        scored.sort(key=lambda e: (-e.fitness, e.id))
        return scored[:k]

    def state_dict(self) -> dict:
        return {fp: vars(e).copy() for fp, e in self._entries.items()}

    def load_state_dict(self, d: dict) -> None:
        """Entries written before they had ``lr_scales`` load with none."""
        self._entries = {fp: replace(Entry(**{**e, "lr_scales": dict(e.get("lr_scales") or {}),
                                              "seeds": {int(s): float(f) for s, f in (e.get("seeds") or {}).items()}}))
                         for fp, e in d.items()}
