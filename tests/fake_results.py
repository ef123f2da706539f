"""An evaluator's result as the driver reads it (``search.backends.base.EvalResultLike``), for
tests whose evaluators make up their fitness instead of training."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FakeResult:
    fitness: float
    tasks: tuple
    seconds: float = 0.0
    reason: str | None = None
    seed_fitness: dict = field(default_factory=dict)  # empty: racing leaves the program alone
    hurdle_fitness: float | None = None
