"""Passes 1 to 4 to a fixed point: the exact part of the simplifier, and its ``Step`` record.

Both the driver (``simplify.pipeline``) and ablation (``simplify.ablate``, which cleans every
candidate with the exact passes) build on this module; it imports neither of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dsl.program import Program
from simplify import algebra, passes


@dataclass(frozen=True)
class Step:
    """One named rewrite. ``fitness_*`` are set for ablation steps (exact steps keep behaviour)."""

    name: str
    before: Program
    after: Program
    detail: str
    fitness_before: float | None = None
    fitness_after: float | None = None

    @property
    def exact(self) -> bool:
        return self.fitness_before is None


EXACT_PASSES: tuple[tuple[str, Callable[[Program], tuple[Program, str] | None]], ...] = (
    ("dead code", passes.dead_code),
    ("fold constants", passes.fold_constants),
    ("copies and names", passes.canonical_names),
)

MAX_ROUNDS = 10_000


def exact_steps(program: Program, pretty: bool = True) -> list[Step]:
    """Passes 1 to 4 repeated to a fixed point; every change is one ``Step``.

    The algebra pass makes one rewrite per step so that each step is small and checkable.
    The result is in SSA form, unless ``pretty`` gives the new states their input names.
    """
    steps: list[Step] = []
    current = program
    position = 0
    for _ in range(MAX_ROUNDS):
        changed = False
        for name, fn in EXACT_PASSES:
            hit = fn(current)
            if hit is not None and hit[0] != current:
                steps.append(Step(name, current, hit[0], hit[1]))
                current = hit[0]
                changed = True
        found = algebra.algebra_step(current, position)
        if found is not None:
            after, detail, position = found
            steps.append(Step("algebra", current, after, detail))
            current = after
            changed = True
        if not changed:
            break
    final = passes.pretty_names(current) if pretty else None
    if final is not None:
        steps.append(Step("names", current, final[0], final[1]))
    return steps


def simplify_exact(program: Program) -> Program:
    """Passes 1 to 4 only: the same optimizer, written as simply as the rewrites allow."""
    steps = exact_steps(program)
    return steps[-1].after if steps else program
