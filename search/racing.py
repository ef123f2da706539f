"""Racing: spend more task seeds only where a decision depends on them. Pure policy, no I/O.

A search that ranks each candidate on one task seed crowns the lucky (the winner's curse: the
replay's leaders lost most of their search-time lead over four seeds, ``docs/replay.md``). Scoring
every candidate on four seeds costs 4x. Racing (Maron & Moore 1994; F-race, Birattari et al.
2002, and irace, López-Ibáñez et al. 2016, whose ``t-test`` elimination this follows) scores a
candidate on more seeds only when its first score would place it near the top of the population,
one seed at a time, and compares it with the incumbent *on the same seeds*: paired differences
cancel the seed's own difficulty, which is most of the seed-to-seed spread (on the replay's proxy,
Lion's form beat the second replay's answer on 4 of 4 seeds while their unpaired means lay inside
one spread). The race stops as soon as the mean paired difference is more than ``z`` standard
errors from 0, or at ``max_seeds``.

The driver (``search.driver``) schedules the jobs this policy asks for; the cache keeps every
seed's score, so a program drawn again continues its race instead of repeating seeds.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from search.backends.base import WORST_FITNESS

OPEN, BETTER, WORSE = "open", "better", "worse"


@dataclass(frozen=True)
class Racing:
    top_fraction: float = 0.0      # 0: racing is off
    max_seeds: int = 4
    z: float = 1.0
    seeds: tuple[int, ...] = (0, 1, 2, 3)  # the order in which races draw task seeds

    @classmethod
    def from_config(cls, cfg) -> Racing:
        r, first = cfg.race, list(cfg.evaluator.seeds)
        order = list(r.seeds) if r.seeds is not None else first + [max(first) + 1 + i for i in range(r.max_seeds)]
        return cls(r.top_fraction, r.max_seeds, r.z, tuple(dict.fromkeys(order)))

    @property
    def enabled(self) -> bool:
        return self.top_fraction > 0

    def worth_racing(self, fitness: float, population: Sequence[float]) -> bool:
        """Whether a program scoring ``fitness`` would sit in the population's top fraction."""
        if not self.enabled or fitness <= WORST_FITNESS or not population:
            return False
        return fitness >= float(np.quantile(np.asarray(population, float), 1.0 - self.top_fraction))

    def next_seed(self, scored: Collection[int]) -> int | None:
        """The first seed of the race order not scored yet, while fewer than ``max_seeds`` are."""
        if len(scored) >= self.max_seeds:
            return None
        return next((s for s in self.seeds if s not in scored), None)

    def verdict(self, candidate: Mapping[int, float], incumbent: Mapping[int, float]) -> str:
        """``better``, ``worse`` or ``open``: the paired test on the seeds both have scores for."""
        common = sorted(set(candidate) & set(incumbent))
        if len(common) < 2:
            return OPEN
        d = np.asarray([candidate[s] - incumbent[s] for s in common], float)
        mean, se = float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d)))
        if mean - self.z * se > 0:
            return BETTER
        if mean + self.z * se < 0:
            return WORSE
        return OPEN
