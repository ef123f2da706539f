"""The simplifier's driver: exact passes to a fixed point, then ablation, then recognition.

The exact passes and ``Step`` live in ``simplify.exact`` (re-exported here), ablation in
``simplify.ablate`` and recognition in ``simplify.recognize``; this module sits on top of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dsl.check import analyze
from dsl.program import Program
from simplify.ablate import ablate, evaluator_score
from simplify.exact import EXACT_PASSES, MAX_ROUNDS, Step, exact_steps, simplify_exact
from simplify.recognize import Recognition
from simplify.recognize import recognize as _recognize

__all__ = ["EXACT_PASSES", "MAX_ROUNDS", "Simplification", "Step", "exact_steps", "simplify", "simplify_exact"]


@dataclass(frozen=True)
class Simplification:
    original: Program
    program: Program
    steps: tuple[Step, ...]
    recognition: Recognition | None


def simplify(program: Program, *, tasks: Sequence[str] | dict | None = None, tolerance: float = 0.01,
             seeds: Sequence[int] = (0,), scale: str = "proxy",
             score: Callable[[Sequence[Program]], list[float]] | None = None,
             recognize: bool = True, **task_overrides) -> Simplification:
    """Simplify ``program`` and name it if it is a known optimizer.

    Without ``tasks`` (and ``score``) only the exact passes run. With them, ablation (pass 5)
    deletes what the proxy-task fitness does not need, within ``tolerance``; ``score`` (a batch
    scorer, higher is better) overrides the proxy-task evaluator, e.g. in tests.
    ``ProgramError`` if the program is not valid.
    """
    analyze(program)
    steps = exact_steps(program)
    current = steps[-1].after if steps else program
    if score is None and tasks:
        score = evaluator_score(tasks, seeds=seeds, scale=scale, **task_overrides)
    if score is not None:
        for step in ablate(current, score, tolerance=tolerance):
            steps.append(step)
            current = step.after
    recognition = None
    if recognize:
        recognition = _recognize(current)
    return Simplification(program, current, tuple(steps), recognition)
