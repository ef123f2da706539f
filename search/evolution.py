"""Regularized (aging) evolution (Real et al. 2019) as an ask/tell strategy, without I/O.

``Evolution`` is handed its three policies and knows nothing of evaluators, caches or files:

- a ``Selection`` picks the parent of the next child from the population (``Tournament``: the
  fittest of T members drawn without replacement);
- a ``PopulationPolicy`` admits a scored child and retires members (``Aging``: keep the P
  youngest of the child's island, whatever their fitness);
- ``Islands`` splits the population into islands that evolve apart (a child joins its parent's
  island; islands take turns to propose) and every so many children sends each island's best to
  the next island of the ring (AutoML-Zero's and the island model's migration). One island is
  plain regularized evolution, drawn for drawn;
- a ``Mutator`` turns a parent program into a valid child (``search.mutate.mutate`` with the
  config's ``mutation:`` section).

``ask_seeds`` names the seed programs, ``ask`` proposes a child, ``tell`` returns its fitness;
once every seed is told, the population is filled with copies of them. ``state_dict`` /
``load_state_dict`` carry everything (the RNG included), so a resumed search proposes exactly
the children an uninterrupted one would. The driver (``search.driver``) schedules the calls.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Protocol

import numpy as np

from dsl.check import analyze
from dsl.parse import parse
from dsl.program import Program
from search.front import BUDGET_REDRAWS, Front
from search.mutate import Child, mutate


@dataclass
class Individual:
    id: int
    program: Program
    fingerprint: str
    fitness: float
    island: int = 0
    niche: int = 0  # the front's niche (``search.front``; 0 without one)


@dataclass
class Candidate:
    """A program proposed for scoring: a seed (``parent`` None) or a mutated child."""

    id: int
    parent: int | None
    program: Program
    fingerprint: str
    mutation: str
    redraws: int = 0    # invalid mutation draws before it
    redundant: int = 0  # statements that cannot affect the update
    island: int = 0     # the parent's island (a seed: 0)
    niche: int = 0      # its own niche (``search.front``; 0 without one)

    def to_state(self) -> dict:
        d = asdict(self)
        d["program"] = str(self.program)
        return d

    @classmethod
    def from_state(cls, d: dict) -> Candidate:
        return cls(**{**d, "program": parse(d["program"])})


class Selection(Protocol):
    def select(self, population: Sequence[Individual], rng: np.random.Generator) -> Individual:
        """The parent of the next child."""


class PopulationPolicy(Protocol):
    size: int

    def admit(self, population: deque[Individual], child: Individual) -> None:
        """Insert ``child`` into ``population`` (oldest first) and retire whom the policy retires."""


class Mutator(Protocol):
    def __call__(self, program: Program, rng: np.random.Generator) -> Child: ...


@dataclass(frozen=True)
class Tournament:
    """The fittest of ``size`` members drawn without replacement (ties: the first drawn)."""

    size: int

    def select(self, population: Sequence[Individual], rng: np.random.Generator) -> Individual:
        idx = rng.choice(len(population), size=min(self.size, len(population)), replace=False)
        members = [population[int(i)] for i in idx]
        return max(members, key=lambda ind: ind.fitness)


class Population(deque):
    """The population, oldest first, counting its members per (island, niche) group as they come
    and go, so that aging finds an over-full group without scanning every member (the scan was a
    third of the driver's time at 1,000 members)."""

    def __init__(self, members=()):
        super().__init__(members)
        self.counts = Counter((i.island, i.niche) for i in self)

    def _add(self, ind: Individual) -> None:
        self.counts[(ind.island, ind.niche)] += 1

    def _drop(self, ind: Individual) -> Individual:
        self.counts[(ind.island, ind.niche)] -= 1
        return ind

    def append(self, ind: Individual) -> None:
        super().append(ind)
        self._add(ind)

    def appendleft(self, ind: Individual) -> None:
        super().appendleft(ind)
        self._add(ind)

    def extend(self, members) -> None:
        for ind in members:
            self.append(ind)

    def insert(self, k: int, ind: Individual) -> None:
        super().insert(k, ind)
        self._add(ind)

    def __delitem__(self, k: int) -> None:
        ind = self[k]
        super().__delitem__(k)
        self._drop(ind)

    def __setitem__(self, k: int, ind: Individual) -> None:
        self._drop(self[k])
        super().__setitem__(k, ind)
        self._add(ind)

    def pop(self) -> Individual:
        return self._drop(super().pop())

    def popleft(self) -> Individual:
        return self._drop(super().popleft())

    def remove(self, ind: Individual) -> None:
        super().remove(ind)
        self._drop(ind)

    def clear(self) -> None:
        super().clear()
        self.counts.clear()


@dataclass(frozen=True)
class Aging:
    """Regularized evolution: a child joins, the oldest member of its island (and niche) leaves,
    even if it is the best (``size`` members per island and niche)."""

    size: int

    def admit(self, population: deque[Individual], child: Individual) -> None:
        population.append(child)
        if len(population) <= self.size:  # no group can be over its size
            return
        counts = getattr(population, "counts", None)
        if counts is None:  # a plain deque: count by scanning
            counts = Counter((i.island, i.niche) for i in population)
        key = (child.island, child.niche)
        over = counts[key] - self.size
        k = 0
        while over > 0:  # the group's oldest members leave, oldest first
            i = population[k]
            if i.island == child.island and i.niche == child.niche:
                del population[k]
                over -= 1
            else:
                k += 1


@dataclass(frozen=True)
class Islands:
    """``count`` islands; every ``migrate_every`` children told, each island's best member joins
    the next island (i -> i + 1, the last -> the first) as a copy, retiring that island's oldest
    (with a front: each niche's best, into the same niche). ``count`` 1 (or ``migrate_every`` 0)
    never migrates."""

    count: int = 1
    migrate_every: int = 0

    def migrate(self, population: deque[Individual], policy: PopulationPolicy) -> int:
        """Send the migrants; returns how many moved."""
        if self.count < 2:
            return 0
        best: dict[tuple[int, int], Individual] = {}
        for ind in population:  # oldest first: on ties the oldest is the one sent
            key = (ind.island, ind.niche)
            if key not in best or ind.fitness > best[key].fitness:
                best[key] = ind
        for (island, _), ind in sorted(best.items()):
            policy.admit(population, replace(ind, island=(island + 1) % self.count))
        return len(best)


@dataclass(frozen=True)
class SectionMutator:
    """``search.mutate.mutate`` with the options of the config's ``mutation:`` section."""

    options: object

    def __call__(self, program: Program, rng: np.random.Generator) -> Child:
        return mutate(program, rng, self.options)


RESTART_SOURCES = ("seeds", "best", "both")


class Evolution:
    """Population (oldest first), seeds, the best so far, the RNG and the proposal counters."""

    def __init__(self, selection: Selection, population: PopulationPolicy, mutator: Mutator, seed: int = 0,
                 islands: Islands | None = None, front: Front | None = None):
        self.selection, self.policy, self.mutator = selection, population, mutator
        self.islands = islands or Islands()
        self.front = front or Front()
        self.rng = np.random.default_rng(seed)
        self.population: deque[Individual] = Population()
        self.seed_ids: list[int] = []
        self.seeds: list[Individual] = []
        self.best: Individual | None = None
        self.next_id = 0
        self.counters = {"proposals": 0, "redraws": 0, "statements": 0, "redundant": 0, "restarts": 0,
                         "told": 0, "migrations": 0}

    @property
    def ready(self) -> bool:
        """Whether ``ask`` can propose (every seed was told)."""
        return bool(self.population)

    def ask_seeds(self, programs: Sequence[Program]) -> list[Candidate]:
        out = []
        for p in programs:
            fp = analyze(p).fingerprint
            out.append(Candidate(self.next_id, None, p, fp, "seed", niche=self.front.niche_of(fp, p)))
            self.seed_ids.append(self.next_id)
            self.next_id += 1
        return out

    def ask(self) -> Candidate:
        """A child of a selected member (of the island, and the front's niche, whose turn it is);
        with a state budget, children over it are drawn again (counted as redraws)."""
        island = self.counters["proposals"] % self.islands.count
        members = self.population if self.islands.count == 1 else [i for i in self.population if i.island == island]
        parent = self.selection.select(self.front.turn(members, self.counters["proposals"], self.islands.count),
                                       self.rng)
        child, redraws = self._child(parent.program)
        fp = child.analysis.fingerprint
        c = Candidate(self.next_id, parent.id, child.program, fp, child.mutation, redraws,
                      len(child.analysis.redundant), parent.island, self.front.niche_of(fp, child.program))
        self.next_id += 1
        n = self.counters
        n["proposals"] += 1
        n["redraws"] += redraws
        n["statements"] += len(child.program.statements)
        n["redundant"] += c.redundant
        return c

    def _child(self, program: Program) -> tuple[Child, int]:
        """A mutated child within the front's state budget (or the last one drawn, which the
        driver then logs as over the budget) and the invalid or over-budget draws before it."""
        redraws = 0
        for _ in range(BUDGET_REDRAWS):
            child = self.mutator(program, self.rng)
            redraws += child.redraws
            if self.front.within_budget(child.analysis.fingerprint, child.program):
                break
            redraws += 1
        return child, redraws

    def renumber(self, c: Candidate, after: int) -> Candidate:
        """``c`` with a fresh id greater than ``after`` (ids up to it are taken elsewhere)."""
        self.next_id = max(self.next_id, after + 1)
        c = replace(c, id=self.next_id)
        self.next_id += 1
        return c

    def tell(self, c: Candidate, fitness: float) -> Individual:
        """A scored candidate: a seed is kept aside (the population fills with copies of the seeds
        once all are told); a child is admitted by the population policy."""
        ind = Individual(c.id, c.program, c.fingerprint, fitness, c.island, c.niche)
        if c.parent is None and c.id in self.seed_ids:
            self.seeds.append(ind)
            if len(self.seeds) == len(self.seed_ids) and not self.population:
                self.population = self._filled(self.seeds)
        else:
            self.policy.admit(self.population, ind)
            self.counters["told"] += 1
            every = self.islands.migrate_every
            if every and self.counters["told"] % every == 0:
                self.counters["migrations"] += self.islands.migrate(self.population, self.policy)
        if self.best is None or fitness > self.best.fitness:
            self.best = ind
        return ind

    def rescore(self, fingerprint: str, fitness: float) -> None:
        """A program's fitness changed (racing scored it on more seeds): every member with its
        fingerprint, the seeds and the best so far take the new value."""
        for ind in (*self.population, *self.seeds, *([self.best] if self.best else [])):
            if ind.fingerprint == fingerprint:
                ind.fitness = fitness
        members = [*self.population, *([self.best] if self.best else [])]
        if members:
            self.best = max(members, key=lambda i: i.fitness)

    def restart(self, source: str = "best") -> None:
        """Refill the population from the seeds, the best so far (with a front: of each niche), or
        both (alternating)."""
        best = self._niche_bests() if self.front.niching else [self.best]
        src = {"seeds": self.seeds, "best": best, "both": [*best, *self.seeds]}[source]
        self.population = self._filled(src)  # type: ignore[arg-type]
        self.counters["restarts"] += 1

    def _niche_bests(self) -> list[Individual]:
        best: dict[int, Individual] = {}
        for ind in (*self.population, *([self.best] if self.best else [])):
            if ind.niche not in best or ind.fitness > best[ind.niche].fitness:
                best[ind.niche] = ind
        return [best[k] for k in sorted(best)]

    def _filled(self, src: Sequence[Individual]) -> deque[Individual]:
        """Every island (with a front: every niche of ``src`` in it) filled with copies of ``src``
        in turn (one island: the members themselves)."""
        n = self.islands.count
        groups = [[i for i in src if i.niche == k] for k in sorted({i.niche for i in src})]
        return Population(g[i % len(g)] if n == 1 else replace(g[i % len(g)], island=k)
                     for k in range(n) for g in groups for i in range(self.policy.size))

    # --- persistence ---------------------------------------------------------------------------

    def state_dict(self) -> dict:
        def ind(i: Individual) -> dict:
            d = {"id": i.id, "source": str(i.program), "fingerprint": i.fingerprint, "fitness": i.fitness}
            if i.island:
                d["island"] = i.island
            return {**d, "niche": i.niche} if i.niche else d

        return {
            "rng": self.rng.bit_generator.state,
            "population": [ind(i) for i in self.population],
            "seeds": [ind(i) for i in self.seeds],
            "seed_ids": self.seed_ids,
            "best": ind(self.best) if self.best else None,
            "next_id": self.next_id,
            "counters": dict(self.counters),
        }

    def load_state_dict(self, d: dict) -> None:
        parsed: dict[str, Program] = {}

        def ind(x):
            src = x["source"]
            if src not in parsed:
                parsed[src] = parse(src)
            return Individual(x["id"], parsed[src], x["fingerprint"], x["fitness"], int(x.get("island", 0)),
                              int(x.get("niche", 0)))

        self.rng.bit_generator.state = d["rng"]
        self.population = Population(ind(x) for x in d["population"])
        self.seeds = [ind(x) for x in d["seeds"]]
        self.seed_ids = list(d["seed_ids"])
        self.best = ind(d["best"]) if d["best"] else None
        self.next_id = d["next_id"]
        self.counters = {k: int(d["counters"].get(k, 0)) for k in self.counters}
