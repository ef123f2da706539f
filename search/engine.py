"""Asynchronous regularized (aging) evolution, its cache, restarts and the funnel.

``Evolution`` is the algorithm as data: a population of P individuals oldest first, a
tournament of T, a child mutated from the winner, the oldest retired when a child joins; a cache
from fingerprint to fitness so a rediscovered program costs no evaluation. ``Search`` drives it
against any backend with a steady-state loop (keep ``backend.capacity`` programs in flight,
insert each child as its result arrives: no generation barrier), writes every child to the run
directory, checkpoints, restarts and runs the funnel (top-K distinct programs re-scored at x10,
then at x100 those that beat AdamW there). On the local backend results come back in submission
order, so a run is a pure function of config and seed; a resumed run re-derives the children
made after its checkpoint and takes their results from the log instead of evaluating again.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import NamedTuple

import numpy as np

from dsl import library
from dsl.check import analyze, prune
from dsl.parse import parse, parse_file
from dsl.printer import one_line
from dsl.program import Program
from search.backends.base import WORST_FITNESS, Job
from search.mutate import MutationSettings, mutate
from search.rundir import RunDir, read_jsonl


@dataclass
class Individual:
    id: int
    program: Program
    fingerprint: str
    fitness: float


@dataclass
class Entry:
    """What the cache knows of a fingerprint: its score and the first program that had it."""

    fitness: float
    tasks: dict[str, float]
    reason: str | None
    id: int
    source: str
    fingerprint: str
    lr_scales: dict[str, float] = field(default_factory=dict)  # per task: the lr grid value it scored at


@dataclass
class Proposal:
    id: int
    parent: int | None
    program: Program
    fingerprint: str
    mutation: str
    redraws: int = 0
    redundant: int = 0

    def to_state(self) -> dict:
        d = asdict(self)
        d["program"] = str(self.program)
        return d

    @classmethod
    def from_state(cls, d: dict) -> Proposal:
        return cls(**{**d, "program": parse(d["program"])})


@dataclass(frozen=True)
class SearchSettings:
    population: int = 100
    tournament: int = 10
    restart_every: int = 0
    restart_from: str = "best"


class Outcome(NamedTuple):
    """One evaluation as the search records it (a row of the log, an entry of the cache)."""

    fitness: float
    tasks: dict[str, float]      # per-task fitness, mean over seeds
    reason: str | None
    seconds: float
    lr_scales: dict[str, float]  # per task: the learning-rate grid value it scored at (if the evaluator says)

    @classmethod
    def from_row(cls, r: dict) -> Outcome:
        """From a logged row; logs written before ``lr_scales`` existed lack it."""
        return cls(r["fitness"], r["tasks"], r["reason"], r["seconds"], dict(r.get("lr_scales") or {}))


def outcome(result) -> Outcome:
    """The ``Outcome`` of any evaluator result."""
    per: dict[str, list[float]] = {}
    lr: dict[str, float] = {}
    for t in getattr(result, "tasks", ()):
        per.setdefault(t.task, []).append(float(t.fitness))
        if hasattr(t, "lr_scale"):
            lr.setdefault(t.task, float(t.lr_scale))  # chosen per task (mean over seeds): one value
    fitness = float(result.fitness)
    if not math.isfinite(fitness):
        fitness = WORST_FITNESS
    tasks = {k: (sum(v) / len(v) if all(map(math.isfinite, v)) else WORST_FITNESS) for k, v in per.items()}
    return Outcome(fitness, tasks, getattr(result, "reason", None), float(getattr(result, "seconds", 0.0)), lr)


class Evolution:
    """Regularized evolution state: population (oldest first), cache, RNG, counters."""

    def __init__(self, settings: SearchSettings, mutation: MutationSettings, seed: int = 0):
        self.settings, self.mutation = settings, mutation
        self.rng = np.random.default_rng(seed)
        self.population: deque[Individual] = deque()
        self.cache: dict[str, Entry] = {}
        self.seed_ids: list[int] = []
        self.seed_individuals: list[Individual] = []
        self.best: Individual | None = None
        self.next_id = 0
        self.counters = {"proposals": 0, "cache_hits": 0, "evaluations": 0, "redraws": 0,
                         "statements": 0, "redundant": 0, "restarts": 0}

    # --- the algorithm -------------------------------------------------------------------------

    def seed_proposals(self, programs: list[Program]) -> list[Proposal]:
        out = []
        for p in programs:
            out.append(Proposal(self.next_id, None, p, analyze(p).fingerprint, "seed"))
            self.seed_ids.append(self.next_id)
            self.next_id += 1
        return out

    def fill(self) -> None:
        """Warm start: P members cycling through the seed programs."""
        seeds = self.seed_individuals
        self.population = deque(seeds[i % len(seeds)] for i in range(self.settings.population))

    def tournament(self) -> Individual:
        """The fittest of T members drawn without replacement (ties: the first drawn)."""
        idx = self.rng.choice(len(self.population), size=min(self.settings.tournament, len(self.population)),
                              replace=False)
        members = [self.population[int(i)] for i in idx]
        return max(members, key=lambda ind: ind.fitness)

    def propose(self) -> Proposal:
        parent = self.tournament()
        child = mutate(parent.program, self.rng, self.mutation)
        p = Proposal(self.next_id, parent.id, child.program, child.analysis.fingerprint, child.mutation,
                     child.redraws, len(child.analysis.redundant))
        self.next_id += 1
        c = self.counters
        c["proposals"] += 1
        c["redraws"] += child.redraws
        c["statements"] += len(child.program.statements)
        c["redundant"] += p.redundant
        return p

    def lookup(self, fingerprint: str) -> Entry | None:
        return self.cache.get(fingerprint)

    def tell(self, p: Proposal, fitness: float, tasks: dict[str, float], reason: str | None,
             cached: bool, lr_scales: dict[str, float] | None = None) -> Individual:
        """Record a scored child: cache it, insert it, retire the oldest (aging)."""
        if cached:
            self.counters["cache_hits"] += 1
        else:
            self.counters["evaluations"] += 1
            self.cache.setdefault(p.fingerprint, Entry(fitness, tasks, reason, p.id, str(p.program), p.fingerprint,
                                                       dict(lr_scales or {})))
        ind = Individual(p.id, p.program, p.fingerprint, fitness)
        if p.parent is None and p.id in self.seed_ids:
            self.seed_individuals.append(ind)
        else:
            self.population.append(ind)
            while len(self.population) > self.settings.population:
                self.population.popleft()
        if self.best is None or fitness > self.best.fitness:
            self.best = ind
        return ind

    def restart(self) -> None:
        """Refill the population from the seeds, the best so far, or both (alternating)."""
        src = {"seeds": self.seed_individuals, "best": [self.best],
               "both": [self.best, *self.seed_individuals]}[self.settings.restart_from]
        self.population = deque(src[i % len(src)] for i in range(self.settings.population))
        self.counters["restarts"] += 1

    # --- persistence ---------------------------------------------------------------------------

    def state_dict(self) -> dict:
        ind = lambda i: {"id": i.id, "source": str(i.program), "fingerprint": i.fingerprint, "fitness": i.fitness}
        return {
            "rng": self.rng.bit_generator.state,
            "population": [ind(i) for i in self.population],
            "seeds": [ind(i) for i in self.seed_individuals],
            "seed_ids": self.seed_ids,
            "best": ind(self.best) if self.best else None,
            "cache": {fp: vars(e).copy() for fp, e in self.cache.items()},
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
        self.seed_individuals = [ind(x) for x in d["seeds"]]
        self.seed_ids = list(d["seed_ids"])
        self.best = ind(d["best"]) if d["best"] else None
        self.cache = {fp: Entry(**e) for fp, e in d["cache"].items()}
        self.next_id = d["next_id"]
        self.counters = dict(d["counters"])


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


@dataclass
class FunnelState:
    rounds: int = 0
    next_at: int = 0
    scores: dict[str, dict] = field(default_factory=dict)  # "scale|fingerprint" -> row
    curve: list[dict] = field(default_factory=list)         # one point per round (meta-validation)


class Search:
    """Drives ``Evolution`` with a backend; owns the run directory's logs and checkpoints."""

    def __init__(self, cfg, rundir: RunDir, backend, on_progress: Callable[[Stats], None] | None = None):
        self.cfg, self.rundir, self.backend = cfg, rundir, backend
        s = cfg.search
        self.evo = Evolution(SearchSettings(s.population, s.tournament, s.restart_every, s.restart_from),
                             MutationSettings.from_section(cfg.mutation), cfg.seed)
        self.max_proposals = s.max_proposals or 20 * s.max_evaluations
        self.on_progress = on_progress
        self.funnel = FunnelState(next_at=cfg.funnel.every or 0)
        self.inflight: dict[int, Proposal] = {}          # id -> proposal being evaluated
        self.by_fp: dict[str, int] = {}                   # fingerprint -> id in flight
        self.waiters: dict[int, list[Proposal]] = {}      # id in flight -> same-fingerprint children
        self.prefilled: list[tuple[Proposal, dict]] = []  # replayed from the log, not evaluated
        self.tail: dict[int, dict] = {}                   # log rows newer than the checkpoint
        self.funnel_log: dict[tuple, dict] = {}           # (round, scale, fp) -> funnel row on disk
        self.rows = 0
        self._pending_rows: list[dict] = []
        self._round_rows: dict[int, dict] = {}
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
        pending = [p.to_state() for p in self.inflight.values()]
        pending += [p.to_state() for p, _ in self.prefilled if p.id not in self.inflight]
        waiters = {str(k): [w.to_state() for w in v] for k, v in self.waiters.items()}
        return {"evolution": self.evo.state_dict(), "pending": pending, "waiters": waiters,
                "rows": self.rows, "unconsumed": sorted(self.tail), "started": self.started, "elapsed": self.elapsed(),
                "eval_seconds": self.eval_seconds, "finished": self.finished,
                "funnel": asdict(self.funnel)}

    def checkpoint(self) -> None:
        self.rundir.write_checkpoint(self.state_dict())
        self._last_ckpt = (time.perf_counter(), self.rows)

    def resume(self) -> None:
        """Load the checkpoint (if any) and the log rows written after it."""
        state = self.rundir.read_checkpoint()
        rows, torn = read_jsonl(self.rundir.evaluations.path, repair=True)
        self.torn_row = torn
        frows, _ = read_jsonl(self.rundir.funnel.path, repair=True)
        self.funnel_log = {(r["round"], r["scale"], r["fingerprint"]): r for r in frows if r.get("kind") == "eval"}
        done_rounds = {r["round"]: r for r in frows if r.get("kind") == "round"}
        if state is not None:
            self.evo.load_state_dict(state["evolution"])
            self.rows, self.started = state["rows"], state["started"]
            self.elapsed_before, self.eval_seconds = state["elapsed"], state["eval_seconds"]
            self.finished = state["finished"]
            f = state["funnel"]
            self.funnel = FunnelState(f["rounds"], f["next_at"], f["scores"], f["curve"])
            pending = [Proposal.from_state(d) for d in state["pending"]]
            for p in pending:
                self.inflight[p.id] = p
                self.by_fp[p.fingerprint] = p.id
            self.waiters = {int(k): [Proposal.from_state(w) for w in v] for k, v in state["waiters"].items()}
        self._round_rows = done_rounds
        if len(rows) < self.rows:
            raise RuntimeError(f"{self.rundir.evaluations.path} has {len(rows)} rows but the checkpoint "
                               f"counts {self.rows}: the log was truncated")
        unconsumed = set(state.get("unconsumed", ())) if state else set()
        self.tail = {r["id"]: r for r in rows[: self.rows] if r["id"] in unconsumed}
        self.tail.update({r["id"]: r for r in rows[self.rows:]})
        self.rows = len(rows)
        # pending children whose result reached the log after the checkpoint: take it from there
        if self.inflight:
            jobs = []
            for p in list(self.inflight.values()):
                r = self.tail.get(p.id)
                if r is not None and r["fingerprint"] == p.fingerprint and not r["cached"]:
                    self.prefilled.append((p, r))
                else:
                    jobs.append(self._job(p))
            self.backend.submit(jobs)

    # --- the loop ------------------------------------------------------------------------------

    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self._t0

    def _job(self, p: Proposal) -> Job:
        return Job(p.id, prune(p.program), "proxy")

    def _budget_left(self) -> bool:
        c, s = self.evo.counters, self.cfg.search
        started = c["evaluations"] + len(self.inflight)
        if started >= s.max_evaluations or c["proposals"] >= self.max_proposals:
            return False
        return s.max_seconds is None or self.elapsed() < s.max_seconds

    def _write_row(self, p: Proposal, o: Outcome, cached: bool) -> None:
        r = self.tail.pop(p.id, None)
        if r is not None and r["fingerprint"] == p.fingerprint:
            return  # already in the log (written before the interruption)
        row = {"id": p.id, "parent": p.parent, "mutation": p.mutation, "source": str(p.program),
               "fingerprint": p.fingerprint, "fitness": o.fitness, "tasks": o.tasks, "lr_scales": o.lr_scales,
               "cached": cached, "reason": o.reason, "seconds": round(o.seconds, 6),
               "length": len(p.program.statements), "redundant": p.redundant, "redraws": p.redraws,
               "evaluations": self.evo.counters["evaluations"], "time": round(self.elapsed(), 3)}
        self._pending_rows.append(row)
        self.rows += 1

    def _record(self, p: Proposal, o: Outcome, cached: bool) -> None:
        self.evo.tell(p, o.fitness, o.tasks, o.reason, cached, o.lr_scales)
        self._write_row(p, o, cached)

    def _renumber(self, p: Proposal) -> Proposal:
        """The log diverged from this replay (asynchronous backend): keep every logged result
        in the cache and give new children ids past the log's."""
        top = max(self.tail) if self.tail else p.id
        for r in self.tail.values():
            if not r["cached"] and r["fingerprint"] not in self.evo.cache:
                self.evo.cache[r["fingerprint"]] = Entry(r["fitness"], r["tasks"], r["reason"], r["id"], r["source"],
                                                           r["fingerprint"], dict(r.get("lr_scales") or {}))
        self.tail = {}
        self.evo.next_id = max(self.evo.next_id, top + 1)
        p.id = self.evo.next_id
        self.evo.next_id += 1
        return p

    def _propose_one(self) -> Job | None:
        p = self.evo.propose()
        r = self.tail.get(p.id)
        if r is not None and r["fingerprint"] != p.fingerprint:
            p = self._renumber(p)
            r = None
        entry = self.evo.lookup(p.fingerprint)
        if entry is not None:
            self._record(p, Outcome(entry.fitness, entry.tasks, entry.reason, 0.0, entry.lr_scales), cached=True)
            return None
        if p.fingerprint in self.by_fp:
            self.waiters.setdefault(self.by_fp[p.fingerprint], []).append(p)
            return None
        self.inflight[p.id] = p
        self.by_fp[p.fingerprint] = p.id
        if r is not None and not r["cached"]:
            self.prefilled.append((p, r))
            return None
        return self._job(p)

    def _fill(self) -> None:
        jobs = []
        while len(self.inflight) < self.backend.capacity and self._budget_left():
            job = self._propose_one()
            if job is not None:
                jobs.append(job)
        if jobs:
            self.backend.submit(jobs)

    def _collect(self) -> None:
        """Wait for results; complete them in id order (so the local backend is deterministic)."""
        done: list[tuple[Proposal, Outcome]] = []
        for p, r in self.prefilled:
            done.append((p, Outcome.from_row(r)))
        self.prefilled = []
        if self.backend.in_flight():
            for job, result in self.backend.wait(timeout=0.0 if done else 1.0):
                p = self.inflight.get(job.key)
                if p is None:
                    continue
                o = outcome(result)
                self.eval_seconds += o.seconds
                done.append((p, o))
        done.sort(key=lambda x: x[0].id)
        for p, o in done:
            self.inflight.pop(p.id, None)
            self.by_fp.pop(p.fingerprint, None)
            self._record(p, o, cached=False)
            for w in self.waiters.pop(p.id, []):
                self._record(w, o._replace(seconds=0.0), cached=True)

    def _flush(self) -> None:
        self.rundir.evaluations.append(self._pending_rows)
        self._pending_rows = []

    def _maybe_checkpoint(self, force: bool = False) -> None:
        t, n = self._last_ckpt
        rc = self.cfg.run
        if force or time.perf_counter() - t >= rc.checkpoint_every_s or self.rows - n >= rc.checkpoint_every:
            self._flush()
            self.checkpoint()

    def _start(self) -> None:
        programs = [load_seed(s) for s in self.cfg.search.seeds]
        jobs = []
        for p in self.evo.seed_proposals(programs):
            if p.fingerprint in self.by_fp:
                self.waiters.setdefault(self.by_fp[p.fingerprint], []).append(p)
                continue
            self.inflight[p.id] = p
            self.by_fp[p.fingerprint] = p.id
            r = self.tail.get(p.id)
            if r is not None and r["fingerprint"] == p.fingerprint:
                self.prefilled.append((p, r))
            else:
                jobs.append(self._job(p))
        self.backend.submit(jobs)
        self.started = True

    def run(self, stop: Callable[[], bool] = lambda: False) -> dict:
        """Search until the budget is spent (or ``stop()``); returns the summary."""
        self._t0 = time.perf_counter()
        if self.finished:
            return self.summary()
        if not self.started:
            self._start()
        while True:
            if stop():
                self.interrupted = True
                break
            if self.evo.population:
                self._fill()
            if not self.inflight and not self.prefilled:
                break
            self._collect()
            if not self.evo.population and len(self.evo.seed_individuals) == len(self.evo.seed_ids):
                self.evo.fill()
            self._maybe_restart()
            if self.cfg.funnel.every and self.evo.counters["evaluations"] >= self.funnel.next_at:
                self.funnel.next_at = self.evo.counters["evaluations"] + self.cfg.funnel.every
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
            import json

            self.rundir.write_text("summary.json", json.dumps(summary, indent=2) + "\n")
            ans = summary["answer"]
            if ans:
                head = f"optsearch run {self.cfg.name}: id {ans['id']}, fitness {ans['fitness']:.4f} at {ans['scale']}"
                self.rundir.write_text("best.train", f"# {head}\n{ans['source']}")
        self._progress(force=True)
        return summary

    def _drain(self, stop) -> None:
        while self.inflight or self.prefilled:
            if stop():
                self.interrupted = True
                return
            self._collect()
            self._progress()

    def _maybe_restart(self) -> None:
        every = self.evo.settings.restart_every
        if every and self.evo.population and self.evo.counters["evaluations"] // every > self.evo.counters["restarts"]:
            self.evo.restart()

    # --- funnel --------------------------------------------------------------------------------

    def _top_k(self) -> list[Entry]:
        entries = [e for e in self.evo.cache.values() if e.fitness > WORST_FITNESS]
        entries.sort(key=lambda e: (-e.fitness, e.id))
        return entries[: self.cfg.funnel.top_k]

    def funnel_round(self) -> dict:
        """Re-score the top-K distinct programs at each funnel scale; record meta-validation."""
        fc = self.cfg.funnel
        self.funnel.rounds += 1
        rnd = self.funnel.rounds
        candidates = self._top_k()
        rows = []
        for scale in fc.scales:
            todo = [e for e in candidates if f"{scale}|{self._fp(e)}" not in self.funnel.scores]
            jobs, results = [], {}
            for i, e in enumerate(todo):
                logged = self.funnel_log.get((rnd, scale, self._fp(e)))
                if logged is not None:
                    results[i] = Outcome.from_row(logged)
                else:
                    jobs.append(Job(-(i + 1), prune(parse(e.source)), scale))
            if jobs:
                self.backend.submit(jobs)
                while len(results) < len(todo):
                    for job, res in self.backend.wait(timeout=1.0):
                        if job.key < 0:
                            results[-job.key - 1] = outcome(res)
                    self._progress(phase=f"funnel {scale}")
            for i, e in enumerate(todo):
                o = results[i]
                row = {"kind": "eval", "round": rnd, "evaluations": self.evo.counters["evaluations"],
                       "scale": scale, "id": e.id, "fingerprint": self._fp(e), "fitness": o.fitness,
                       "tasks": o.tasks, "lr_scales": o.lr_scales, "proxy_fitness": e.fitness, "reason": o.reason,
                       "seconds": round(o.seconds, 6), "source": e.source}
                self.funnel.scores[f"{scale}|{self._fp(e)}"] = row
                if (rnd, scale, self._fp(e)) not in self.funnel_log:
                    rows.append(row)
            candidates = [e for e in candidates
                          if self.funnel.scores[f"{scale}|{self._fp(e)}"]["fitness"] > fc.threshold]
        point = self._round_point(rnd)
        self.funnel.curve.append(point)
        if rnd not in getattr(self, "_round_rows", {}):
            rows.append({"kind": "round", **point})
        self.rundir.funnel.append(rows)
        return point

    @staticmethod
    def _fp(e: Entry) -> str:
        return e.fingerprint

    def _round_point(self, rnd: int) -> dict:
        top = self._top_k()
        point = {"round": rnd, "evaluations": self.evo.counters["evaluations"],
                 "proposals": self.evo.counters["proposals"]}
        if top:
            best = top[0]
            point["proxy_best"] = {"id": best.id, "fitness": best.fitness}
            for scale in self.cfg.funnel.scales:
                row = self.funnel.scores.get(f"{scale}|{self._fp(best)}")
                point["proxy_best"][scale] = row["fitness"] if row else None
        for scale in self.cfg.funnel.scales:
            rows = [r for k, r in self.funnel.scores.items() if k.startswith(scale + "|")]
            if rows:
                b = max(rows, key=lambda r: (r["fitness"], -r["id"]))
                point[f"best_{scale}"] = {"id": b["id"], "fitness": b["fitness"], "proxy_fitness": b["proxy_fitness"]}
        return point

    def answer(self) -> dict | None:
        """The funnel's best: highest fitness at the deepest scale reached (else best proxy)."""
        for scale in reversed(self.cfg.funnel.scales):
            rows = [r for k, r in self.funnel.scores.items() if k.startswith(scale + "|")]
            if rows:
                b = max(rows, key=lambda r: (r["fitness"], -r["id"]))
                return {"id": b["id"], "scale": scale, "fitness": b["fitness"], "proxy_fitness": b["proxy_fitness"],
                        "source": b["source"]}
        top = self._top_k()
        if not top:
            return None
        return {"id": top[0].id, "scale": "proxy", "fitness": top[0].fitness, "proxy_fitness": top[0].fitness,
                "source": top[0].source}

    # --- reporting -----------------------------------------------------------------------------

    def stats(self, phase: str = "search") -> Stats:
        c = self.evo.counters
        n = c["proposals"]
        el = self.elapsed()
        best = self.evo.best
        return Stats(
            evaluations=c["evaluations"], proposals=n, cache_hits=c["cache_hits"],
            cache_hit_rate=c["cache_hits"] / n if n else 0.0,
            redundant_ratio=c["redundant"] / c["statements"] if c["statements"] else 0.0,
            redraws=c["redraws"], restarts=c["restarts"], evals_per_s=c["evaluations"] / el if el > 0 else 0.0,
            elapsed=el, in_flight=len(self.inflight),
            best_fitness=best.fitness if best else None, best_id=best.id if best else None,
            best_program=one_line(best.program) if best else "", funnel_rounds=self.funnel.rounds,
            funnel_best=self.answer() if self.funnel.scores else None, phase=phase,
            eval_seconds=self.eval_seconds)

    def _progress(self, force: bool = False, phase: str = "search") -> None:
        if self.on_progress is not None:
            self.on_progress(self.stats(phase))

    def summary(self) -> dict:
        st = self.stats()
        d = asdict(st)
        d.pop("funnel_best")
        d.pop("phase")
        d["finished"] = self.finished
        d["interrupted"] = self.interrupted
        d["answer"] = self.answer()
        d["meta_validation"] = list(self.funnel.curve)
        d["run_dir"] = str(self.rundir.path)
        return d
