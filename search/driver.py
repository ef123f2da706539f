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
answer ``search.funnel``, the row schema ``search.rows``. Two of its parts live in modules of
their own and are mixed into ``Driver``: checkpoint and resume (``search.persistence``) and the
scheduling of racing's extra task seeds (``search.race_jobs``).
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
from search.persistence import Persistence
from search.race_jobs import RaceJob, RaceScheduling
from search.racing import Racing
from search.results import Cache, Entry, Outcome, mean_and_se, to_outcome
from search.rows import EvaluationRow, FunnelRow, RaceRow
from search.rundir import RunDir


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


def make_evolution(cfg, front: Front | None = None) -> Evolution:
    """The evolution a config describes: tournament selection, aging population, its mutations,
    and the front (``search.objectives``, ``search.max_states``)."""
    s = cfg.search
    return Evolution(Tournament(s.tournament), Aging(s.population), SectionMutator(cfg.mutation), cfg.seed,
                     Islands(s.islands, s.migrate_every), front or Front.from_config(cfg))


class Driver(Persistence, RaceScheduling):
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
