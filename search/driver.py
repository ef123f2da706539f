"""The search loop: evolution, cache and funnel driven against a backend, with checkpoints.

``Driver`` keeps ``backend.capacity`` programs in flight (steady state, no generation barrier):
it asks ``Evolution`` for children, answers a child whose fingerprint is cached from the cache,
parks a child whose fingerprint is already in flight until that evaluation returns, sends the
rest to the backend and tells each result to the evolution as it arrives. It writes every child
to the run directory (``EvaluationRow``), checkpoints, restarts the population on schedule and
runs funnel rounds. On the local backend results come back in submission order, so a run is a
pure function of config and seed; a resumed run re-derives the children made after its
checkpoint and takes their results from the log instead of evaluating again.

The driver owns scheduling and persistence only; the algorithm is ``search.evolution``, the
answer ``search.funnel``, the row schema ``search.rundir``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from dsl import library
from dsl.check import prune
from dsl.parse import parse, parse_file
from dsl.printer import one_line
from dsl.program import Program
from search.backends.base import WORST_FITNESS, Backend, Job
from search.evolution import Aging, Candidate, Evolution, Islands, SectionMutator, Tournament
from search.front import Front, front_members
from search.funnel import Answer, Funnel
from search.racing import OPEN, Racing
from search.results import Cache, Entry, Outcome, mean_and_se, to_outcome
from search.rows import EvaluationRow, FunnelRow, RaceRow, read_evaluations, read_funnel, read_races
from search.rundir import RunDir, repair_tail

RACE_KEYS = 10**9  # race jobs get keys below -RACE_KEYS (children: ids >= 0; funnel: -1, -2, ...)


def load_seed(spec: str) -> Program:
    """A built-in optimizer name or a ``.train`` path."""
    if spec in library.NAMES:
        return library.get(spec)
    return parse_file(spec)


@dataclass
class Stats:
    """What the progress display shows."""

    evaluations: int = 0
    proposals: int = 0
    cache_hits: int = 0
    cache_hit_rate: float = 0.0
    redundant_ratio: float = 0.0
    redraws: int = 0
    restarts: int = 0
    evals_per_s: float = 0.0
    elapsed: float = 0.0
    in_flight: int = 0
    best_fitness: float | None = None
    best_id: int | None = None
    best_program: str = ""
    funnel_rounds: int = 0
    funnel_best: dict | None = None
    phase: str = "search"
    eval_seconds: float = 0.0
    race_evaluations: int = 0  # extra task seeds scored by racing
    max_evaluations: int | None = None  # the budget (search.max_evaluations, search.max_seconds)
    max_seconds: float | None = None
    notes: dict[str, str] = field(default_factory=dict)  # more rows for the display (the replay's)


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


def make_evolution(cfg, front: Front | None = None) -> Evolution:
    """The evolution a config describes: tournament selection, aging population, its mutations,
    and the front (``search.objectives``, ``search.max_states``)."""
    s = cfg.search
    return Evolution(Tournament(s.tournament), Aging(s.population), SectionMutator(cfg.mutation), cfg.seed,
                     Islands(s.islands, s.migrate_every), front or Front.from_config(cfg))


class Driver:
    """Runs one search into a run directory on a backend (see the module's docstring)."""

    def __init__(self, cfg, rundir: RunDir, backend: Backend, on_progress: Callable[[Stats], None] | None = None,
                 evolution: Evolution | None = None, front: Front | None = None, racing: Racing | None = None):
        self.cfg, self.rundir, self.backend = cfg, rundir, backend
        self.evolution = evolution or make_evolution(cfg, front)
        self.front = self.evolution.front  # selection's niches; racing, hurdles and promotion follow them
        self.cache = Cache()
        self.funnel = Funnel.from_section(cfg.funnel)
        self.counters = {"evaluations": 0, "cache_hits": 0, "race_evaluations": 0}
        self.racing = racing or Racing.from_config(cfg)
        self.race_jobs: dict[int, RaceJob] = {}           # key -> race job in flight
        self.race_prefilled: list[tuple[RaceJob, Outcome]] = []
        self.race_tail: dict[tuple[str, int], RaceRow] = {}  # (fingerprint, seed) -> race row newer than the checkpoint
        self.race_seq = 0
        self.race_rows = 0
        self._pending_race_rows: list[RaceRow] = []
        s = cfg.search
        self.max_proposals = s.max_proposals or 20 * s.max_evaluations
        self.on_progress = on_progress
        self.funnel_next_at = cfg.funnel.every or 0
        self.inflight: dict[int, Candidate] = {}        # id -> candidate being evaluated
        self.by_fp: dict[str, int] = {}                   # fingerprint -> id in flight
        self.waiters: dict[int, list[Candidate]] = {}     # id in flight -> same-fingerprint candidates
        self.prefilled: list[tuple[Candidate, Outcome]] = []  # results replayed from the log
        self.tail: dict[int, EvaluationRow] = {}          # log rows newer than the checkpoint
        self.funnel_log: dict[tuple, FunnelRow] = {}      # (round, scale, fp) -> funnel row on disk
        self.logged_rounds: set[int] = set()              # rounds whose summary row is on disk
        self.rows = 0
        self._pending_rows: list[EvaluationRow] = []
        self.torn_row = False
        self.started = False
        self.elapsed_before = 0.0
        self.eval_seconds = 0.0
        self._t0 = time.perf_counter()
        self._last_ckpt = (time.perf_counter(), 0)
        self.interrupted = False
        self.finished = False

    # --- persistence ---------------------------------------------------------------------------

    def state_dict(self) -> dict:
        pending = [c.to_state() for c in self.inflight.values()]
        pending += [c.to_state() for c, _ in self.prefilled if c.id not in self.inflight]
        waiters = {str(k): [w.to_state() for w in v] for k, v in self.waiters.items()}
        return {"evolution": self.evolution.state_dict(), "cache": self.cache.state_dict(),
                "counters": dict(self.counters), "pending": pending, "waiters": waiters,
                "rows": self.rows, "unconsumed": sorted(self.tail), "started": self.started, "elapsed": self.elapsed(),
                "eval_seconds": self.eval_seconds, "finished": self.finished,
                "funnel": {**self.funnel.state_dict(), "next_at": self.funnel_next_at},
                "races": {"jobs": [j.to_state() for j in self.race_jobs.values()], "seq": self.race_seq,
                          "rows": self.race_rows}}

    def load_state_dict(self, state: dict) -> None:
        """A checkpoint's state; one written before the core was split (format 1, the cache and
        the evaluation counters inside ``evolution``) loads too."""
        evo = dict(state["evolution"])
        if "cache" in evo:  # format 1
            state = {**state, "cache": evo.pop("cache"), "counters": evo["counters"]}
        self.evolution.load_state_dict(evo)
        self.cache.load_state_dict(state["cache"])
        self.counters = {k: int(state["counters"].get(k, 0)) for k in self.counters}
        self.rows, self.started = state["rows"], state["started"]
        self.elapsed_before, self.eval_seconds = state["elapsed"], state["eval_seconds"]
        self.finished = state["finished"]
        self.funnel.load_state_dict(state["funnel"])
        self.funnel_next_at = state["funnel"]["next_at"]
        for c in (Candidate.from_state(d) for d in state["pending"]):
            self.inflight[c.id] = c
            self.by_fp[c.fingerprint] = c.id
        self.waiters = {int(k): [Candidate.from_state(w) for w in v] for k, v in state["waiters"].items()}
        races = state.get("races") or {"jobs": [], "seq": 0, "rows": 0}
        self.race_jobs = {d["key"]: RaceJob(**d) for d in races["jobs"]}
        self.race_seq, self.race_rows = races["seq"], races["rows"]

    def checkpoint(self) -> None:
        self.rundir.write_checkpoint(self.state_dict())
        self._last_ckpt = (time.perf_counter(), self.rows)

    def resume(self) -> None:
        """Load the checkpoint (if any) and the log rows written after it. Every log is read and
        checked before a torn last line is cut off any of them: a refused run is left as it was."""
        state = self.rundir.read_checkpoint()
        rows, self.torn_row = read_evaluations(self.rundir.evaluations.path)
        fevals, frounds = read_funnel(self.rundir.funnel.path)
        race_rows, _ = read_races(self.rundir.races.path)
        self.funnel_log = {(r.round, r.scale, r.fingerprint): r for r in fevals}
        self.logged_rounds = {r.round for r in frounds}
        if state is not None:
            self.load_state_dict(state)
        if len(rows) < self.rows:
            raise RuntimeError(f"{self.rundir.evaluations.path} has {len(rows)} rows but the checkpoint "
                               f"counts {self.rows}: the log was truncated")
        unconsumed = set(state.get("unconsumed", ())) if state else set()
        self.tail = {r.id: r for r in rows[: self.rows] if r.id in unconsumed}
        self.tail.update({r.id: r for r in rows[self.rows:]})
        self.rows = len(rows)
        if len(race_rows) < self.race_rows:
            raise RuntimeError(f"{self.rundir.races.path} has {len(race_rows)} rows but the checkpoint "
                               f"counts {self.race_rows}: the log was truncated")
        self.race_tail = {(r.fingerprint, r.seed): r for r in race_rows[self.race_rows:]}
        self.race_rows = len(race_rows)
        for log in (self.rundir.evaluations, self.rundir.funnel, self.rundir.races):
            repair_tail(log.path)
        if self.race_jobs:
            jobs = [j for j in (self._race_submission(rj) for rj in self.race_jobs.values()) if j is not None]
            self.backend.submit(jobs)
        # pending candidates whose result reached the log after the checkpoint: take it from there
        if self.inflight:
            jobs = []
            for c in list(self.inflight.values()):
                r = self.tail.get(c.id)
                if r is not None and r.fingerprint == c.fingerprint and not r.cached:
                    self.prefilled.append((c, Outcome.of(r)))
                else:
                    jobs.append(self._job(c))
            self.backend.submit(jobs)

    # --- the loop ------------------------------------------------------------------------------

    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self._t0

    def _job(self, c: Candidate) -> Job:
        return Job(c.id, prune(c.program), "proxy", threshold=self._threshold(c.niche))

    def _threshold(self, niche: int = 0) -> float | None:
        """The dynamic hurdle (So et al. 2019; AutoML-Zero's rolling quantile): the configured
        quantile of the fitness at the hurdle point of the distinct programs in the population,
        once enough have one (until then ``WORST_FITNESS``: every child trains on, and its fitness
        there is measured). Distinct, so that the seed's copies filling a new population (or a
        program many children repeat) count once and do not set the bar alone. At most
        ``search.hurdle_ceiling``: a population of fast starters must not stop a slow one that
        is close to the baseline (sign-momentum programs start slower than Adam's). With a front,
        the population is the child's niche; a niche with too few programs yet takes the whole
        population's threshold (the ceiling still protects slow starters), since training every
        child of a young niche to the end cost the front half its children in 20-minute searches.
        With ``search.peers: population``, every niche takes the whole population's."""
        q = self.cfg.search.hurdle_quantile
        if not q:
            return None
        by_niche = self._by_niche()
        values = self._hurdle_values(self.front.peers(self.evolution.population, niche) if by_niche
                                     else self.evolution.population)
        if len(values) < self.cfg.search.hurdle_min and by_niche:
            values = self._hurdle_values(self.evolution.population)
        if len(values) < self.cfg.search.hurdle_min:
            return WORST_FITNESS
        t = float(np.quantile(np.asarray(values, float), q))
        ceiling = self.cfg.search.hurdle_ceiling
        return t if ceiling is None else min(t, ceiling)

    def _by_niche(self) -> bool:
        """Hurdles and racing measure a child against its niche (``search.peers``), with a front."""
        return self.front.niching and self.cfg.search.peers == "niche"

    def _hurdle_values(self, members) -> list[float]:
        """Fitness at the hurdle point of the distinct programs among ``members``."""
        values = []
        for fp in dict.fromkeys(ind.fingerprint for ind in members):
            e = self.cache.get(fp)
            if e is not None and e.hurdle_fitness is not None:
                values.append(e.hurdle_fitness)
        return values

    def _budget_left(self) -> bool:
        s = self.cfg.search
        started = self.counters["evaluations"] + len(self.inflight)  # children; racing's seeds come on top
        if started >= s.max_evaluations or self.evolution.counters["proposals"] >= self.max_proposals:
            return False
        return s.max_seconds is None or self.elapsed() < s.max_seconds

    def _record(self, c: Candidate, o: Outcome, cached: bool, evaluated: bool = True) -> None:
        """Tell the evolution; count; cache a new evaluation; log the row (unless it is logged).
        ``evaluated`` False: a child over the state budget, recorded without an evaluation."""
        if cached:
            self.counters["cache_hits"] += 1
        else:
            self.counters["evaluations"] += evaluated
            self.cache.add(c.id, str(c.program), c.fingerprint, o)
        self.evolution.tell(c, o.fitness)
        if c.parent is None and self.evolution.ready:  # the seeds are in: each may race the others
            for s in self.evolution.seeds:
                self._maybe_race(s.fingerprint)
        else:
            self._maybe_race(c.fingerprint)
        logged = self.tail.pop(c.id, None)
        if logged is not None and logged.fingerprint == c.fingerprint:
            return  # already in the log (written before the interruption)
        self._pending_rows.append(EvaluationRow(
            id=c.id, parent=c.parent, mutation=c.mutation, source=str(c.program), fingerprint=c.fingerprint,
            fitness=o.fitness, cached=cached, tasks=o.tasks, lr_scales=o.lr_scales, reason=o.reason,
            seconds=round(o.seconds, 6), length=len(c.program.statements), redundant=c.redundant,
            redraws=c.redraws, evaluations=self.counters["evaluations"], time=round(self.elapsed(), 3),
            seed_fitness=dict(o.seeds), fitness_se=mean_and_se(o.seeds)[1] if o.seeds else None,
            hurdle_fitness=o.hurdle_fitness, **self.front.logged_costs(c.fingerprint, c.program)))
        self.rows += 1

    def _diverged(self, c: Candidate) -> Candidate:
        """The log diverged from this replay (asynchronous backend): keep every logged result in
        the cache and give new candidates ids past the log's."""
        top = max(self.tail) if self.tail else c.id
        for r in self.tail.values():
            if not r.cached:
                self.cache.add(r.id, r.source, r.fingerprint, Outcome.of(r))
        self.tail = {}
        return self.evolution.renumber(c, after=max(top, self.evolution.next_id - 1))

    def _admit(self, c: Candidate) -> Job | None:
        """Answer ``c`` from the cache, park it behind an evaluation in flight, take its result
        from the log, or return the job that evaluates it."""
        r = self.tail.get(c.id)
        if r is not None and r.fingerprint != c.fingerprint:
            c, r = self._diverged(c), None
        entry = self.cache.get(c.fingerprint)
        if entry is not None:
            self._record(c, entry.outcome, cached=True)
            return None
        if c.parent is not None and not self.front.within_budget(c.fingerprint, c.program):
            states = self.front.states_of(c.fingerprint, c.program)
            why = f"over the state budget: {states} states > search.max_states {self.cfg.search.max_states}"
            self._record(c, Outcome(WORST_FITNESS, {}, why, 0.0, {}), cached=False, evaluated=False)
            return None
        if c.fingerprint in self.by_fp:
            self.waiters.setdefault(self.by_fp[c.fingerprint], []).append(c)
            return None
        self.inflight[c.id] = c
        self.by_fp[c.fingerprint] = c.id
        if r is not None and not r.cached:
            self.prefilled.append((c, Outcome.of(r)))
            return None
        return self._job(c)

    def _fill(self) -> None:
        jobs = []
        while len(self.inflight) < self.backend.capacity and self._budget_left():
            job = self._admit(self.evolution.ask())
            if job is not None:
                jobs.append(job)
        if jobs:
            self.backend.submit(jobs)

    def _collect(self) -> None:
        """Wait for results; complete them in id order (so the local backend is deterministic)."""
        done, self.prefilled = list(self.prefilled), []
        races, self.race_prefilled = list(self.race_prefilled), []
        if self.backend.in_flight():
            for job, result in self.backend.wait(timeout=0.0 if done or races else 1.0):
                o = to_outcome(result)
                if job.kind == "race":
                    if job.key in self.race_jobs:
                        self.eval_seconds += o.seconds
                        races.append((self.race_jobs[job.key], o))
                    continue
                c = self.inflight.get(job.key)
                if c is None:
                    continue
                self.eval_seconds += o.seconds
                done.append((c, o))
        done.sort(key=lambda x: x[0].id)
        for c, o in done:
            self.inflight.pop(c.id, None)
            self.by_fp.pop(c.fingerprint, None)
            self._record(c, o, cached=False)
            for w in self.waiters.pop(c.id, []):
                self._record(w, o._replace(seconds=0.0), cached=True)
        races.sort(key=lambda x: -x[0].key)  # in the order they were asked for
        for rj, o in races:
            self._record_race(rj, o)

    def _flush(self) -> None:
        self.rundir.evaluations.append(self._pending_rows)
        self._pending_rows = []
        self.rundir.races.append(self._pending_race_rows)
        self._pending_race_rows = []

    def _maybe_checkpoint(self, force: bool = False) -> None:
        t, n = self._last_ckpt
        rc = self.cfg.run
        if force or time.perf_counter() - t >= rc.checkpoint_every_s or self.rows - n >= rc.checkpoint_every:
            self._flush()
            self.checkpoint()

    def _start(self) -> None:
        programs = [load_seed(s) for s in self.cfg.search.seeds]
        jobs = []
        for c in self.evolution.ask_seeds(programs):
            if c.fingerprint in self.by_fp:
                self.waiters.setdefault(self.by_fp[c.fingerprint], []).append(c)
                continue
            self.inflight[c.id] = c
            self.by_fp[c.fingerprint] = c.id
            r = self.tail.get(c.id)
            if r is not None and r.fingerprint == c.fingerprint:
                self.prefilled.append((c, Outcome.of(r)))
            else:
                jobs.append(self._job(c))
        self.backend.submit(jobs)
        self.started = True

    def run(self, stop: Callable[[], bool] = lambda: False,
            on_progress: Callable[[Stats], None] | None = None) -> dict:
        """Search until the budget is spent (or ``stop()``); returns the summary. ``on_progress``
        (else the constructor's) receives ``Stats`` as the search goes."""
        if on_progress is not None:
            self.on_progress = on_progress
        self._t0 = time.perf_counter()
        if self.finished:
            return self.summary()
        if not self.started:
            self._start()
        while True:
            if stop():
                self.interrupted = True
                break
            if self.evolution.ready:
                self._fill()
            if not self.inflight and not self.prefilled and not self.race_jobs:
                break
            self._collect()
            self._maybe_restart()
            if self.cfg.funnel.every and self.counters["evaluations"] >= self.funnel_next_at:
                self.funnel_next_at = self.counters["evaluations"] + self.cfg.funnel.every
                self._drain(stop)
                if self.interrupted:
                    break
                self.funnel_round()
                self._maybe_checkpoint(force=True)
            self._maybe_checkpoint()
            self._flush()
            self._progress()
        if not self.interrupted:
            if self.cfg.funnel.final:
                self.funnel_round()
            self.finished = True
        self._flush()
        self.checkpoint()
        summary = self.summary()
        if self.finished:
            self.rundir.write_text("summary.json", json.dumps(summary, indent=2) + "\n")
            ans = summary["answer"]
            if ans:
                head = f"optsearch run {self.cfg.name}: id {ans['id']}, fitness {ans['fitness']:.4f} at {ans['scale']}"
                self.rundir.write_text("best.train", f"# {head}\n{ans['source']}")
        self._progress()
        return summary

    def _drain(self, stop) -> None:
        while self.inflight or self.prefilled or self.race_jobs:
            if stop():
                self.interrupted = True
                return
            self._collect()
            self._progress()

    def _maybe_restart(self) -> None:
        s, n = self.cfg.search, self.evolution.counters
        if s.restart_every and self.evolution.ready and self.counters["evaluations"] // s.restart_every > n["restarts"]:
            self.evolution.restart(s.restart_from)

    # --- racing --------------------------------------------------------------------------------

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

    # --- funnel --------------------------------------------------------------------------------

    def _evaluate_at(self, scale: str, entries: list[Entry]) -> list[Outcome]:
        """Funnel scores of ``entries`` at ``scale``: from the log where this round logged them
        before an interruption, else from the backend (keys < 0 keep them apart from children)."""
        rnd = self.funnel.rounds
        results: dict[int, Outcome] = {}
        jobs = []
        for i, e in enumerate(entries):
            logged = self.funnel_log.get((rnd, scale, e.fingerprint))
            if logged is not None:
                results[i] = Outcome.of(logged)
            else:
                jobs.append(Job(-(i + 1), prune(parse(e.source)), scale, kind="funnel"))
        if jobs:
            self._progress(phase=f"funnel {scale}")  # say so before a local backend scores them in this thread
            self.backend.submit(jobs)
            while len(results) < len(entries):
                for job, res in self.backend.wait(timeout=1.0):
                    if job.kind == "funnel":
                        results[-job.key - 1] = to_outcome(res)
                self._progress(phase=f"funnel {scale}")
        return [results[i] for i in range(len(entries))]

    def funnel_round(self) -> dict:
        """One funnel round over the cache's top-K; logs what is not logged yet; returns the point."""
        top = self.front.promote(self.cache, self.funnel.top_k)
        point, made = self.funnel.round(top, self._evaluate_at, self.counters["evaluations"],
                                        self.evolution.counters["proposals"], proxy_best=top[0] if top else None)
        rows: list = [r for r in made if (r.round, r.scale, r.fingerprint) not in self.funnel_log]
        if point.round not in self.logged_rounds:
            rows.append(point)
        self.rundir.funnel.append(rows)
        return point.point()

    def answer(self) -> Answer | None:
        """The funnel's best at the deepest scale reached, else the best proxy fitness (within the
        state budget, if any)."""
        return self.funnel.answer(self.front.best(self.cache))

    # --- reporting -----------------------------------------------------------------------------

    def stats(self, phase: str = "search") -> Stats:
        c, e = self.counters, self.evolution.counters
        n = e["proposals"]
        el = self.elapsed()
        best = self.evolution.best
        ans = self.answer() if self.funnel.scores else None
        return Stats(
            evaluations=c["evaluations"], proposals=n, cache_hits=c["cache_hits"],
            cache_hit_rate=c["cache_hits"] / n if n else 0.0,
            redundant_ratio=e["redundant"] / e["statements"] if e["statements"] else 0.0,
            redraws=e["redraws"], restarts=e["restarts"], evals_per_s=c["evaluations"] / el if el > 0 else 0.0,
            elapsed=el, in_flight=len(self.inflight),
            best_fitness=best.fitness if best else None, best_id=best.id if best else None,
            best_program=one_line(best.program) if best else "", funnel_rounds=self.funnel.rounds,
            funnel_best=ans.to_json() if ans else None, phase=phase, eval_seconds=self.eval_seconds,
            race_evaluations=c["race_evaluations"], max_evaluations=self.cfg.search.max_evaluations,
            max_seconds=self.cfg.search.max_seconds)

    def _progress(self, phase: str = "search") -> None:
        if self.on_progress is not None:
            self.on_progress(self.stats(phase))

    def summary(self) -> dict:
        d = asdict(self.stats())
        for key in ("funnel_best", "phase", "notes", "max_evaluations", "max_seconds"):
            d.pop(key)
        ans = self.answer()
        d["finished"] = self.finished
        d["interrupted"] = self.interrupted
        d["answer"] = ans.to_json() if ans else None
        d["meta_validation"] = [p.point() for p in self.funnel.curve]
        d["run_dir"] = str(self.rundir.path)
        if self.front.niching:
            d["front"] = self.front_points()
        return d

    def front_points(self) -> list[dict]:
        """The front of the programs scored so far (``search.front.front_members``), best first."""
        points = []
        for e in self.front.ranked(self.cache):
            k = self.front.costs_of(e.fingerprint, e.source)
            points.append({"id": e.id, "fitness": e.fitness, "se": e.se, "seeds": len(e.seeds) or 1,
                           "states": k.states, "length": k.length, "source": e.source})
        return [points[i] for i in front_members(points, self.front.objectives)]
