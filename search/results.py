"""What the search knows of an evaluation: its ``Outcome``, and the cache from fingerprint to the
first outcome of that fingerprint (so a rediscovered program costs no evaluation).

Pure data, no I/O: the driver fills the cache, the funnel ranks its entries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from search.backends.base import WORST_FITNESS, EvalResultLike


class Outcome(NamedTuple):
    """One evaluation as the search records it (a row of the log, an entry of the cache)."""

    fitness: float
    tasks: dict[str, float]      # per-task fitness, mean over seeds
    reason: str | None
    seconds: float
    lr_scales: dict[str, float]  # per task: the learning-rate grid value it scored at

    @classmethod
    def of(cls, row) -> Outcome:
        """The outcome an ``EvaluationRow`` or ``FunnelRow`` recorded."""
        return cls(row.fitness, dict(row.tasks), row.reason, row.seconds, dict(row.lr_scales))


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
    return Outcome(fitness, tasks, result.reason, float(result.seconds), lr)


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

    @property
    def outcome(self) -> Outcome:
        """The outcome a cache hit records (it costs no evaluator time)."""
        return Outcome(self.fitness, self.tasks, self.reason, 0.0, self.lr_scales)


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
            fingerprint, Entry(o.fitness, o.tasks, o.reason, id, source, fingerprint, dict(o.lr_scales)))

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
        self._entries = {fp: replace(Entry(**{**e, "lr_scales": dict(e.get("lr_scales") or {})}))
                         for fp, e in d.items()}
