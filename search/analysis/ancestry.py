"""The lineage of a program in a run: its chain of ancestors from a seed, one mutation per step.

``lineage`` reads the chain from the log's parent links, with each step's change as changed
statement lines; ``fold_lineage`` folds each run of cache hits that left behaviour unchanged
(dead code coming and going) into one step, as ``optsearch show`` prints a lineage by default.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from dsl.printer import one_line
from dsl.program import Program
from search.analysis.runs import Run, RunReadError, row_program


@dataclass(frozen=True)
class LineageStep:
    id: int
    parent: int | None
    mutation: str
    fitness: float
    cached: bool
    diff: tuple[str, ...]   # changed statement lines: "- old", "+ new" (empty for the seed)
    program: str            # one line
    fingerprint: str = ""
    unchanged: bool = False  # same fingerprint as its parent: dead code or a no-op, behaviour unchanged


def program_diff(before: Program, after: Program) -> list[str]:
    """Changed lines between two programs' canonical sources (no context, no headers)."""
    a = [x.strip() for x in str(before).splitlines()[1:]]
    b = [x.strip() for x in str(after).splitlines()[1:]]
    return [f"{line[0]} {line[1:]}" for line in difflib.unified_diff(a, b, lineterm="", n=0)
            if not line.startswith(("---", "+++", "@@"))]


def lineage(run: Run, id: int) -> list[LineageStep]:
    """The chain of ancestors of ``id`` from its seed (no parent) to it, one mutation per step.

    ``RunReadError`` if an ancestor is missing from the log or the parent links form a cycle.
    """
    log = run.path / "evaluations.jsonl"
    by_id = {r.id: r for r in run.rows}
    if id not in by_id:
        raise RunReadError(f"{log}: no row with id {id}")
    chain = [by_id[id]]
    seen = {id}
    while chain[-1].parent is not None:
        p = chain[-1].parent
        if p not in by_id:
            raise RunReadError(f"{log}:{chain[-1].line}: parent {p} of id {chain[-1].id} is not in the log")
        if p in seen:
            raise RunReadError(f"{log}:{chain[-1].line}: parent links form a cycle at id {p}")
        seen.add(p)
        chain.append(by_id[p])
    chain.reverse()
    steps, prev, prev_fp = [], None, None
    for r in chain:
        program = row_program(r, log)
        diff = tuple(program_diff(prev, program)) if prev is not None else ()
        steps.append(LineageStep(r.id, r.parent, r.mutation, r.fitness, r.cached, diff, one_line(program),
                                 r.fingerprint, prev_fp is not None and r.fingerprint == prev_fp))
        prev, prev_fp = program, r.fingerprint
    return steps


@dataclass(frozen=True)
class FoldedSteps:
    """Consecutive lineage steps folded into one line: cache hits that left the program's
    behaviour unchanged (same fingerprint as their parent), i.e. dead code coming and going."""

    steps: tuple[LineageStep, ...]
    diff: tuple[str, ...]   # their net change: the dead code left behind ("- old", "+ new")

    @property
    def fitness(self) -> float:
        return self.steps[-1].fitness


def fold_lineage(steps: Sequence[LineageStep], min_run: int = 2) -> list[LineageStep | FoldedSteps]:
    """``steps`` with each run of at least ``min_run`` cache-hit, behaviour-unchanged steps folded
    into one ``FoldedSteps`` (most of a long lineage: dead code coming and going). A cache hit
    that changes behaviour (it reached a program scored before) stays, and so do the seed and the
    last step (the answer)."""
    out: list[LineageStep | FoldedSteps] = []
    run: list[LineageStep] = []

    def flush() -> None:
        if len(run) >= min_run:
            before = out[-1]
            assert isinstance(before, LineageStep)  # the seed comes first, and two folds never touch
            out.append(FoldedSteps(tuple(run), tuple(_line_diff(before.program, run[-1].program))))
        else:
            out.extend(run)
        run.clear()

    for i, s in enumerate(steps):
        if 0 < i < len(steps) - 1 and s.cached and s.unchanged:
            run.append(s)
            continue
        flush()
        out.append(s)
    flush()
    return out


def _line_diff(before: str, after: str) -> list[str]:
    """``program_diff`` on two ``one_line`` forms (statements joined by "; ")."""
    a, b = before.split("; "), after.split("; ")
    return [f"{line[0]} {line[1:]}" for line in difflib.unified_diff(a, b, lineterm="", n=0)
            if not line.startswith(("---", "+++", "@@"))]
