"""Pass 5: ablation. Delete what the proxy-task fitness does not need.

Unlike passes 1 to 4 this changes behaviour, so every change is scored: each candidate replaces
one call by one of its arguments (``t = clip(g, lr)`` becomes ``t = g``; ``u = s + wd`` becomes
``u = s``, i.e. the weight decay is deleted), then the exact passes clean up what became dead.
Scalings by a constant (``w * 0.46``) are not candidates: dropping them would tune the constant
to 1 rather than delete anything.
All candidates of a round are scored in one batch (the evaluator batches them); the best one is
kept if its fitness is at most ``tolerance`` below both the current fitness and the fitness the
program had before ablation. So each change costs at most the tolerance, the total loss is
bounded by the tolerance (not by tolerance times the number of changes), and a deletion that
improves fitness does not buy slack for deleting something that matters. Rounds repeat until no
candidate is acceptable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from dsl.check import analyze, fingerprint
from dsl.program import Program, ProgramError, format_statement
from simplify import passes
from simplify.exact import Step, exact_steps
from simplify.ssa import live_program, replace_uses, to_ssa

BatchScore = Callable[[Sequence[Program]], list[float]]


def candidates(program: Program) -> list[tuple[Program, str]]:
    """Every valid program obtained by replacing one live call by one of its name arguments.

    ``program`` is in SSA form; the candidates are cleaned by the exact passes (SSA kept).
    """
    p = live_program(to_ssa(program))
    out: list[tuple[Program, str]] = []
    seen: set[str] = set()
    for i, st in enumerate(p.statements):
        if _is_scaling(st):
            continue
        for arg in dict.fromkeys(st.names):
            try:
                cand = replace_uses(p, st.dst, arg, drop=i)
                analyze(cand)
            except ProgramError:
                continue
            steps = exact_steps(cand, pretty=False)
            cand = steps[-1].after if steps else cand
            fp = fingerprint(cand)
            if fp in seen:
                continue
            seen.add(fp)
            out.append((cand, f"{format_statement(st)}  ->  {st.dst} = {arg}"))
    return out


def _is_scaling(st) -> bool:
    """``x * c`` or ``x / c`` with a constant c: dropping the call would set c to 1.

    That tunes a hyperparameter (``w * 0.46`` -> ``w`` is weight decay 1, ``lr * 2e-4`` -> ``lr``
    is lr scale 1) instead of deleting a component, so ablation leaves it alone; the component
    itself is deleted at its use (``u = s + wd`` -> ``u = s``).
    """
    return st.op in ("mul", "div") and any(not isinstance(a, str) for a in st.args)


def _finite(x: float) -> float:
    return x if isinstance(x, (int, float)) and math.isfinite(x) else -math.inf


def ablate(program: Program, score: BatchScore, *, tolerance: float = 0.01,
           max_rounds: int = 100) -> list[Step]:
    """Greedy ablation of ``program`` under ``score`` (batch, higher is better); its steps."""
    current = to_ssa(program)
    cache: dict[str, float] = {}

    def scores(programs: list[Program]) -> list[float]:
        keys = [fingerprint(p) for p in programs]
        todo = {k: p for k, p in zip(keys, programs) if k not in cache}
        if todo:
            values = score(list(todo.values()))
            for k, value in zip(todo, values):
                cache[k] = _finite(float(value))
        return [cache[k] for k in keys]

    reference = scores([current])[0]
    fitness = reference
    steps: list[Step] = []
    for _ in range(max_rounds):
        cands = candidates(current)
        if not cands:
            break
        values = scores([c for c, _ in cands])
        best = None
        floor = max(fitness, reference) - tolerance
        for (cand, why), value in zip(cands, values):
            if value < floor:
                continue
            rank = (value, -len(cand.statements))
            if best is None or rank > best[0]:
                best = (rank, cand, why, value)
        if best is None:
            break
        _, cand, why, value = best
        steps.append(Step("ablation", _pretty(current), _pretty(cand), why, fitness, value))
        current, fitness = cand, value
    return steps


def _pretty(program: Program) -> Program:
    hit = passes.pretty_names(program)
    return hit[0] if hit else program


def evaluator_score(tasks, *, seeds: Sequence[int] = (0,), scale: str = "proxy",
                    **overrides) -> BatchScore:
    """A batch scorer from ``proxy_tasks.evaluate.Evaluator`` (fitness: > 0 beats AdamW)."""
    from proxy_tasks.evaluate import Evaluator

    evaluator = Evaluator(tasks, scale=scale, seeds=tuple(seeds), **overrides)

    def score(programs: Sequence[Program]) -> list[float]:
        return [r.fitness for r in evaluator.evaluate(list(programs))]

    return score
