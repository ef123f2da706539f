"""The driver's persistence: pending rows to the logs, its state as a checkpoint and back, resume.

Rows are flushed before the checkpoint that counts them. A checkpoint holds the evolution, the
cache, the counters, the candidates in flight and their waiters, racing's jobs and the funnel's
state; one written before the core was split (format 1) loads too. ``resume`` reads the
checkpoint and the log rows written after it, so the run re-derives the children made since and
takes their results from the log instead of evaluating them again.
"""

from __future__ import annotations

import time

from search.evolution import Candidate
from search.race_jobs import RaceJob
from search.results import Outcome
from search.rows import read_evaluations, read_funnel, read_races
from search.rundir import repair_tail


class Persistence:
    """The driver's persistence methods (``search.driver.Driver`` mixes them in; they use its
    run directory, evolution, cache, counters and the state of its loop)."""

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
