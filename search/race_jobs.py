"""Racing's extra task seeds as the driver schedules them.

``search.racing`` decides (which programs race, the next seed, the paired verdict); this part of
the driver asks it after each result, submits a ``RaceJob`` per seed (the candidate's and, where
it lacks that seed, the incumbent's), takes a seed's result from ``races.jsonl`` when a resumed
run logged it before, and records each result: the program's cache entry and population members
take the new mean, and a ``RaceRow`` is logged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from dsl.check import prune
from dsl.parse import parse
from search.backends.base import WORST_FITNESS, Job
from search.racing import OPEN
from search.results import Entry, Outcome
from search.rows import RaceRow

RACE_KEYS = 10**9  # race jobs get keys below -RACE_KEYS (children: ids >= 0; funnel: -1, -2, ...)


@dataclass(frozen=True)
class RaceJob:
    """One more task seed of a program, asked for by the race of the candidate ``race_fp``."""

    key: int
    fingerprint: str
    seed: int
    role: str     # "candidate" or "incumbent"
    race_fp: str  # the candidate's fingerprint
    race_id: int  # the candidate's id

    def to_state(self) -> dict:
        return asdict(self)


class RaceScheduling:
    """The driver's racing methods (``search.driver.Driver`` mixes them in; they use its cache,
    evolution, front, backend and counters, and its ``race_*`` state)."""

    def _maybe_race(self, fp: str) -> None:
        """Start or continue the race of ``fp`` when the policy asks for another seed: the
        candidate and, where it lacks that seed, the incumbent (the best other program known)."""
        if not self.racing.enabled or any(fp in (j.race_fp, j.fingerprint) for j in self.race_jobs.values()):
            return  # one seed at a time: its race (or a seed of it) is being scored
        entry = self.cache.get(fp)
        if entry is None or not entry.seeds or entry.fitness <= WORST_FITNESS:
            return
        niche = self.front.niche_of(fp, entry.source) if self._by_niche() else None
        members = self.evolution.population if niche is None else self.front.peers(self.evolution.population, niche)
        others = [i.fitness for i in members if i.fingerprint != fp]
        if not self.racing.worth_racing(entry.fitness, others):
            return
        inc = self.front.best(self.cache, niche, exclude=fp)  # the best other program (of its niche)
        if inc is not None and self.racing.verdict(entry.seeds, inc.seeds) != OPEN:
            return
        seed = self.racing.next_seed(entry.seeds)
        if seed is None:
            return
        jobs = [self._race_job(entry, seed, "candidate", entry)]
        busy = {(j.fingerprint, j.seed) for j in self.race_jobs.values()}
        if inc is not None and inc.seeds and seed not in inc.seeds and (inc.fingerprint, seed) not in busy:
            jobs.append(self._race_job(inc, seed, "incumbent", entry))
        self.backend.submit([j for j in jobs if j is not None])

    def _race_job(self, entry: Entry, seed: int, role: str, race: Entry) -> Job | None:
        self.race_seq += 1
        rj = RaceJob(-(RACE_KEYS + self.race_seq), entry.fingerprint, seed, role, race.fingerprint, race.id)
        self.race_jobs[rj.key] = rj
        return self._race_submission(rj)

    def _race_submission(self, rj: RaceJob) -> Job | None:
        """The job that scores ``rj``, or None when the log already holds its result."""
        logged = self.race_tail.get((rj.fingerprint, rj.seed))
        if logged is not None:
            self.race_prefilled.append((rj, Outcome.of(logged)))
            return None
        entry = self.cache.get(rj.fingerprint)
        lr = tuple(sorted(entry.lr_scales.items())) or None
        return Job(rj.key, prune(parse(entry.source)), "proxy", seeds=(rj.seed,), lr_scales=lr, kind="race")

    def _record_race(self, rj: RaceJob, o: Outcome) -> None:
        """A race result: the program's entry and its members in the population take the new
        mean; the row is logged; the race goes on if the paired test is still open."""
        self.race_jobs.pop(rj.key, None)
        self.counters["race_evaluations"] += 1
        scored = o.seeds or {rj.seed: o.fitness}
        entry = self.cache.add_seeds(rj.fingerprint, o._replace(seeds=scored))
        self.evolution.rescore(rj.fingerprint, entry.fitness)
        if self.race_tail.pop((rj.fingerprint, rj.seed), None) is None:
            self._pending_race_rows.append(RaceRow(
                id=entry.id, fingerprint=rj.fingerprint, seed=rj.seed, role=rj.role, race=rj.race_id,
                fitness=scored.get(rj.seed, o.fitness), mean=entry.fitness, se=entry.se, seeds=len(entry.seeds),
                tasks=o.tasks, lr_scales=o.lr_scales, reason=o.reason, seconds=round(o.seconds, 6),
                evaluations=self.counters["evaluations"], time=round(self.elapsed(), 3)))
            self.race_rows += 1
        self._maybe_race(rj.race_fp)
        if rj.fingerprint != rj.race_fp:  # an incumbent's own race may have waited for this seed
            self._maybe_race(rj.fingerprint)
