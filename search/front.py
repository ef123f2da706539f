"""The front: selection that keeps the best program of every cost alive, not only the fittest.

Lion's path from AdamW passes through ``update = sign(update)``: one state in effect (half the
memory) but below the Adam variants in fitness, so a population ranked by fitness alone drops it
before its next step. With ``search.objectives: [fitness, states]`` the population is split into
*niches*, one per state count (0, 1, 2; with ``length`` too, per state count and length band):

- parent selection takes the niches in turn (a tournament inside the niche whose turn it is), so
  each state count gets its share of the children whatever the others score (a program still
  competes with the rest of its own niche);
- removal is aging inside the child's niche (regularized evolution per niche);
- racing compares a program with the programs of its own niche, the hurdle is the niche's quantile,
  and the funnel promotes the best of each niche besides the overall top-K.

Niches are the established answer for a small, discrete cost axis (PySR's hall of fame keeps the
best per complexity); NSGA-II's crowded tournament lets each state count's share float with the
population. docs/search.md, "The front", has the measurement behind the choice.

``search.max_states`` is a budget: children are redrawn until they keep at most that many states
(the seeds may exceed it), and only programs within it can be the answer or enter the funnel.

``Front`` is one object handed to ``Evolution`` and the driver; with ``[fitness]`` and no budget
every program is niche 0 and nothing is computed (the search is today's, draw for draw).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from dsl.parse import parse
from dsl.program import Program
from search.results import Cache, Entry
from simplify.costs import Costs, costs, count_states

LENGTH_BAND = 5          # statements per length band, with objective ``length``
LENGTH_BANDS = 4         # bands 1-4, 5-9, 10-14, 15+
BUDGET_REDRAWS = 2000    # children drawn for one within ``max_states`` before giving up on it


def band(length: int) -> int:
    return min(length // LENGTH_BAND, LENGTH_BANDS - 1)


@dataclass
class Front:
    """Objectives, the state budget, and the costs known so far (by fingerprint)."""

    objectives: tuple[str, ...] = ("fitness",)
    max_states: int | None = None
    _costs: dict[str, Costs] = field(default_factory=dict, repr=False)
    _states: dict[str, int] = field(default_factory=dict, repr=False)

    @classmethod
    def from_config(cls, cfg) -> Front:
        return cls(tuple(cfg.search.objectives), cfg.search.max_states)

    @property
    def niching(self) -> bool:
        return len(self.objectives) > 1

    @property
    def active(self) -> bool:
        """Whether costs are computed during the search (front or budget)."""
        return self.niching or self.max_states is not None

    # --- costs ---------------------------------------------------------------------------------

    def states_of(self, fingerprint: str, program: Program | str) -> int:
        """The state count (cheaper than ``costs_of``: what the budget check needs)."""
        if fingerprint in self._costs:
            return self._costs[fingerprint].states
        if fingerprint not in self._states:
            self._states[fingerprint] = count_states(_program(program))
        return self._states[fingerprint]

    def costs_of(self, fingerprint: str, program: Program | str) -> Costs:
        c = self._costs.get(fingerprint)
        if c is None:
            c = self._costs[fingerprint] = costs(_program(program))
            self._states.pop(fingerprint, None)
        return c

    def niche_of(self, fingerprint: str, program: Program | str) -> int:
        """The niche of a program: 0 without niching; its state count (x 10 + length band)."""
        if not self.niching:
            return 0
        if "length" not in self.objectives:
            return self.states_of(fingerprint, program)  # the length (exact passes) is not needed
        c = self.costs_of(fingerprint, program)
        return c.states * 10 + band(c.length)

    def logged_costs(self, fingerprint: str, program: Program | str) -> dict:
        """The cost fields of a log row: ``states`` with a front or a budget, and ``exact_length``
        when length is an objective (else ``show --front`` computes it on read: the exact passes
        cost more than the state count, and a search does not need them)."""
        if not self.active:
            return {}
        if "length" in self.objectives:
            c = self.costs_of(fingerprint, program)
            return {"states": c.states, "exact_length": c.length}
        return {"states": self.states_of(fingerprint, program)}

    def within_budget(self, fingerprint: str, program: Program | str) -> bool:
        return self.max_states is None or self.states_of(fingerprint, program) <= self.max_states

    # --- what selection, racing, hurdles and the funnel see ------------------------------------

    def turn(self, members: Sequence, proposals: int, islands: int) -> list:
        """The members of the niche whose turn it is (niches present, in order, in turn)."""
        if not self.niching:
            return list(members)
        niches = sorted({m.niche for m in members})
        niche = niches[(proposals // max(islands, 1)) % len(niches)]
        return [m for m in members if m.niche == niche]

    def peers(self, population: Iterable, niche: int) -> list:
        """The members a program of ``niche`` is compared with (racing, hurdles)."""
        return list(population) if not self.niching else [m for m in population if m.niche == niche]

    def entry_niche(self, e: Entry) -> int:
        return self.niche_of(e.fingerprint, e.source)

    def best(self, cache: Cache, niche: int | None = None, exclude: str | None = None) -> Entry | None:
        """The best scored entry (within the budget; of ``niche`` when given), ``exclude`` aside."""
        for e in self.ranked(cache):
            if e.fingerprint != exclude and (niche is None or not self.niching or self.entry_niche(e) == niche):
                return e
        return None

    def ranked(self, cache: Cache) -> Iterable[Entry]:
        """Scored entries, best first (ties: the earliest id), within the budget."""
        return (e for e in cache.top(len(cache)) if self.within_budget(e.fingerprint, e.source))

    def promote(self, cache: Cache, top_k: int) -> list[Entry]:
        """The funnel's candidates: the overall top-K within the budget, then the best of each
        other niche (best first)."""
        if not self.active:
            return cache.top(top_k)
        ranked = list(self.ranked(cache))
        out = ranked[:top_k]
        if self.niching:
            seen = {self.entry_niche(e) for e in out}
            for e in ranked[top_k:]:
                n = self.entry_niche(e)
                if n not in seen:
                    seen.add(n)
                    out.append(e)
            out.sort(key=lambda e: (-e.fitness, e.id))
        return out


def _program(program: Program | str) -> Program:
    return parse(program) if isinstance(program, str) else program


def front_members(points: Sequence[dict], objectives: Sequence[str]) -> list[int]:
    """Indices of the points no other point dominates (fitness higher, costs lower), best first.
    Equal points keep the first."""
    from simplify.costs import dominates

    def key(i: int) -> tuple:  # a point's dominators sort before it
        return tuple(-points[i][k] if k == "fitness" else points[i][k] for k in objectives)

    order = sorted(range(len(points)), key=key)
    keep: list[int] = []
    for i in order:
        p = points[i]
        if any(dominates(points[j], p, tuple(objectives)) or _same(points[j], p, objectives) for j in keep):
            continue
        keep.append(i)
    return keep


def _same(a: dict, b: dict, objectives: Sequence[str]) -> bool:
    return all(a[k] == b[k] for k in objectives)
