"""A run's front: the programs no other program of the run beats on fitness without costing more.

Costs are ``simplify.costs.Costs`` (states that reach a later update, length after exact
simplification). Runs searched with a front log them in every row; older runs (and fitness-only
ones) get them computed here on read, once per distinct program, fittest first. Fitness is the
proxy fitness as the search ranked it (the mean over the task seeds racing scored, with its
standard error).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from dsl.parse import parse
from dsl.printer import one_line
from search.analysis.runs import Run, distinct_best, simplified
from search.front import front_members
from simplify.costs import OBJECTIVES, costs


@dataclass(frozen=True)
class FrontMember:
    id: int
    fitness: float
    se: float | None     # standard error over the task seeds (None below 2)
    seeds: int           # task seeds behind ``fitness``
    states: int
    length: int
    raw: str             # the program as recorded
    simplified: str      # after the exact passes, on one line
    family: str | None   # recognized optimizer, if any
    seed: bool           # one of the run's seed programs

    def to_json(self) -> dict:
        return asdict(self)


def run_objectives(run: Run) -> tuple[str, ...]:
    """The objectives the run's config names when it searched on a front, else all three."""
    search = (run.config or {}).get("search") or {}
    objectives = search.get("objectives") if isinstance(search, dict) else None
    if isinstance(objectives, list) and len(objectives) > 1 and all(o in OBJECTIVES for o in objectives):
        return tuple(objectives)
    return OBJECTIVES


def points(run: Run) -> list[dict]:
    """Every scored distinct program with its fitness and costs (logged, else computed)."""
    logged = {r.fingerprint: (r.states, r.exact_length) for r in run.rows if r.states is not None}
    out = []
    for r in distinct_best(run):
        states, length = logged.get(r.fingerprint, (None, None))
        if length is None:
            c = costs(parse(r.source))
            states, length = (c.states if states is None else states), c.length
        out.append({"row": r, "fitness": r.fitness, "states": states, "length": length, "seed": r.parent is None})
    return out


def front(run: Run, objectives: tuple[str, ...] | None = None, simplify: bool = True) -> list[FrontMember]:
    """The run's front over ``objectives`` (default: the run's own, else fitness, states and
    length), fittest first."""
    objectives = objectives or run_objectives(run)
    pts = points(run)
    out = []
    for i in front_members(pts, objectives):
        p = pts[i]
        r = p["row"]
        program = parse(r.source)
        simple, family = simplified(program) if simplify else (program, None)
        out.append(FrontMember(r.id, r.fitness, r.fitness_se, r.seeds, p["states"], p["length"], r.source,
                               one_line(simple), family, r.parent is None))
    return out
