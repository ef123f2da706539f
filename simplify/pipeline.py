"""The simplifier's driver: exact passes to a fixed point, then ablation, then recognition.

The exact passes and ``Step`` live in ``simplify.exact`` (re-exported here), ablation in
``simplify.ablate`` and recognition in ``simplify.recognize``; this module sits on top of them.
When the result is a known family (possibly on a transformed gradient), a last step
``canonical form`` writes it as the family's own program with the recognized constants: the
text a reader knows, whatever detours the search took.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dsl.check import analyze
from dsl.program import Program
from simplify.ablate import ablate, evaluator_score
from simplify.algebra import clip_notes
from simplify.exact import EXACT_PASSES, MAX_ROUNDS, Step, exact_steps, simplify_exact
from simplify.recognize import Recognition
from simplify.recognize import recognize as _recognize

__all__ = ["EXACT_PASSES", "MAX_ROUNDS", "Simplification", "Step", "canonical_step", "exact_steps", "simplify",
           "simplify_exact"]


@dataclass(frozen=True)
class Simplification:
    original: Program
    program: Program
    steps: tuple[Step, ...]
    recognition: Recognition | None
    notes: tuple[str, ...] = ()
    """Flags that are not rewrites, e.g. a ``clip`` that never binds at the schedule's values."""


def simplify(program: Program, *, tasks: Sequence[str] | dict | None = None, tolerance: float = 0.01,
             seeds: Sequence[int] = (0,), scale: str = "proxy",
             score: Callable[[Sequence[Program]], list[float]] | None = None,
             recognize: bool = True, canonical: bool = True, **task_overrides) -> Simplification:
    """Simplify ``program`` and name it if it is a known optimizer.

    Without ``tasks`` (and ``score``) only the exact passes run. With them, ablation (pass 5)
    deletes what the proxy-task fitness does not need, within ``tolerance``; ``score`` (a batch
    scorer, higher is better) overrides the proxy-task evaluator, e.g. in tests. With
    ``canonical`` (and ``recognize``) a recognized program ends as its family's canonical
    program (step ``canonical form``). ``ProgramError`` if the program is not valid.
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
    notes = tuple(clip_notes(current))
    recognition = None
    if recognize:
        recognition = _recognize(current, pretransform=True)
    if canonical and recognition is not None and recognition.template is not None:
        step = canonical_step(current, recognition)
        if step is not None:
            steps.append(step)
            current = step.after
    return Simplification(program, current, tuple(steps), recognition, notes)


def canonical_step(program: Program, recognition: Recognition) -> Step | None:
    """The step from ``program`` to the recognized family's canonical program (None if it is
    already that text). It keeps every update from zero states (recognition verified that);
    where the family keeps its state in another slot (``m`` for ``v``), the detail says so."""
    target = recognition.template
    if target is None or str(target) == str(program):
        return None
    detail = f"recognized as {recognition.describe()}: the family's canonical program with these constants"
    before, after = analyze(program).state_live, analyze(target).state_live
    change = state_change(before, after)
    if change:
        detail += f" ({change}, as the family writes it)"
    return Step("canonical form", program, target, detail)


def state_change(before: tuple[bool, bool], after: tuple[bool, bool]) -> str:
    """How the live state slots (m, v) differ: ``state v -> m``, ``state v no longer used``,
    ``state v now used``; empty when they do not."""
    names = ("m", "v")
    src = [n for n, live in zip(names, before) if live]
    dst = [n for n, live in zip(names, after) if live]
    parts = [f"state {a} -> {b}" for a, b in zip(src, dst) if a != b]
    parts += [f"state {a} no longer used" for a in src[len(dst):]]
    parts += [f"state {b} now used" for b in dst[len(src):]]
    return "; ".join(parts)
