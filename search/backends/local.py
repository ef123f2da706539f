"""The in-process backend: deterministic, evaluates every submitted job at the next ``wait``."""

from __future__ import annotations

import time
from typing import Any

from search.backends.base import EvaluatorPool, EvaluatorSpec, Job, group_jobs


class LocalBackend:
    """Runs the evaluator in this process, ``programs_per_call`` programs per call.

    Results come back in submission order, so a run is a pure function of its config and seed.
    """

    def __init__(self, spec: EvaluatorSpec, programs_per_call: int = 4):
        self.pool = EvaluatorPool(spec)
        self.programs_per_call = programs_per_call
        self.capacity = programs_per_call
        self._pending: list[Job] = []
        self.busy_seconds = 0.0  # time spent inside the evaluator (driver overhead = the rest)

    def prepare(self) -> None:
        """Build the proxy-scale evaluator now, so a bad evaluator config fails before the run."""
        self.pool.get("proxy")

    def submit(self, jobs: list[Job]) -> None:
        self._pending.extend(jobs)

    def in_flight(self) -> int:
        return len(self._pending)

    def wait(self, timeout: float | None = None) -> list[tuple[Job, Any]]:
        jobs, self._pending = self._pending, []
        done: dict[int, tuple[Job, Any]] = {}
        for (scale, seeds, lr_scales, threshold), group in group_jobs(jobs).items():
            for i in range(0, len(group), self.programs_per_call):
                chunk = group[i:i + self.programs_per_call]
                t0 = time.perf_counter()
                results = self.pool.evaluate([j.program for j in chunk], scale, seeds, lr_scales, threshold)
                self.busy_seconds += time.perf_counter() - t0
                for job, res in zip(chunk, results):
                    done[id(job)] = (job, res)
        return [done[id(j)] for j in jobs]

    def close(self) -> None:
        self._pending = []
