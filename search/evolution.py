"""Regularized (aging) evolution (Real et al. 2019) as an ask/tell strategy, without I/O.

``Evolution`` is handed its three policies and knows nothing of evaluators, caches or files:

- a ``Selection`` picks the parent of the next child from the population (``Tournament``: the
  fittest of T members drawn without replacement);
- a ``PopulationPolicy`` admits a scored child and retires members (``Aging``: keep the P
  youngest, whatever their fitness);
- a ``Mutator`` turns a parent program into a valid child (``search.mutate.mutate`` with the
  config's ``mutation:`` section).

``ask_seeds`` names the seed programs, ``ask`` proposes a child, ``tell`` returns its fitness;
once every seed is told, the population is filled with copies of them. ``state_dict`` /
``load_state_dict`` carry everything (the RNG included), so a resumed search proposes exactly
the children an uninterrupted one would. The driver (``search.driver``) schedules the calls.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Protocol

import numpy as np

from dsl.check import analyze
from dsl.parse import parse
from dsl.program import Program
from search.mutate import Child, mutate


@dataclass
class Individual:
    id: int
    program: Program
    fingerprint: str
    fitness: float


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


@dataclass(frozen=True)
class Aging:
    """Regularized evolution: a child joins, the oldest member leaves, even if it is the best."""

    size: int

    def admit(self, population: deque[Individual], child: Individual) -> None:
        population.append(child)
        while len(population) > self.size:
            population.popleft()


@dataclass(frozen=True)
class SectionMutator:
    """``search.mutate.mutate`` with the options of the config's ``mutation:`` section."""

    options: object

    def __call__(self, program: Program, rng: np.random.Generator) -> Child:
        return mutate(program, rng, self.options)


RESTART_SOURCES = ("seeds", "best", "both")


class Evolution:
    """Population (oldest first), seeds, the best so far, the RNG and the proposal counters."""

    def __init__(self, selection: Selection, population: PopulationPolicy, mutator: Mutator, seed: int = 0):
        self.selection, self.policy, self.mutator = selection, population, mutator
        self.rng = np.random.default_rng(seed)
        self.population: deque[Individual] = deque()
        self.seed_ids: list[int] = []
        self.seeds: list[Individual] = []
        self.best: Individual | None = None
        self.next_id = 0
        self.counters = {"proposals": 0, "redraws": 0, "statements": 0, "redundant": 0, "restarts": 0}

    @property
    def ready(self) -> bool:
        """Whether ``ask`` can propose (every seed was told)."""
        return bool(self.population)

    def ask_seeds(self, programs: Sequence[Program]) -> list[Candidate]:
        out = []
        for p in programs:
            out.append(Candidate(self.next_id, None, p, analyze(p).fingerprint, "seed"))
            self.seed_ids.append(self.next_id)
            self.next_id += 1
        return out

    def ask(self) -> Candidate:
        """A child of a selected member."""
        parent = self.selection.select(self.population, self.rng)
        child = self.mutator(parent.program, self.rng)
        c = Candidate(self.next_id, parent.id, child.program, child.analysis.fingerprint, child.mutation,
                      child.redraws, len(child.analysis.redundant))
        self.next_id += 1
        n = self.counters
        n["proposals"] += 1
        n["redraws"] += child.redraws
        n["statements"] += len(child.program.statements)
        n["redundant"] += c.redundant
        return c

    def renumber(self, c: Candidate, after: int) -> Candidate:
        """``c`` with a fresh id greater than ``after`` (ids up to it are taken elsewhere)."""
        self.next_id = max(self.next_id, after + 1)
        c = replace(c, id=self.next_id)
        self.next_id += 1
        return c

    def tell(self, c: Candidate, fitness: float) -> Individual:
        """A scored candidate: a seed is kept aside (the population fills with copies of the seeds
        once all are told); a child is admitted by the population policy."""
        ind = Individual(c.id, c.program, c.fingerprint, fitness)
        if c.parent is None and c.id in self.seed_ids:
            self.seeds.append(ind)
            if len(self.seeds) == len(self.seed_ids) and not self.population:
                self.population = deque(self.seeds[i % len(self.seeds)] for i in range(self.policy.size))
        else:
            self.policy.admit(self.population, ind)
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
        """Refill the population from the seeds, the best so far, or both (alternating)."""
        src = {"seeds": self.seeds, "best": [self.best], "both": [self.best, *self.seeds]}[source]
        self.population = deque(src[i % len(src)] for i in range(self.policy.size))
        self.counters["restarts"] += 1

    # --- persistence ---------------------------------------------------------------------------

    def state_dict(self) -> dict:
        ind = lambda i: {"id": i.id, "source": str(i.program), "fingerprint": i.fingerprint, "fitness": i.fitness}
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
            return Individual(x["id"], parsed[src], x["fingerprint"], x["fitness"])

        self.rng.bit_generator.state = d["rng"]
        self.population = deque(ind(x) for x in d["population"])
        self.seeds = [ind(x) for x in d["seeds"]]
        self.seed_ids = list(d["seed_ids"])
        self.best = ind(d["best"]) if d["best"] else None
        self.next_id = d["next_id"]
        self.counters = {k: int(d["counters"].get(k, 0)) for k in self.counters}
