"""A simulated cluster: N fake workers whose evaluations take a fixed wall time.

It measures how many children per second the driver (mutation, checking, cache, logging,
checkpoints) sustains when evaluation is not the bottleneck: job ``k`` completes ``eval_s``
seconds of real time after it was submitted, at most ``workers`` at once, and ``wait`` returns
every job due by now. The fitness is a pseudo-random function of the child's id (the engine's
cache already stands between a fingerprint and the backend), so scoring costs the driver nothing,
as on a real cluster.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field
from typing import Any

from search.backends.base import Job


@dataclass(frozen=True)
class SimResult:
    fitness: float
    tasks: tuple = ()
    seconds: float = 0.0
    reason: str | None = None
    seed_fitness: dict = field(default_factory=dict)
    hurdle_fitness: float | None = None


class SimulatedBackend:
    def __init__(self, workers: int = 1000, eval_s: float = 0.1):
        self.capacity, self.eval_s = workers, eval_s
        self._heap: list[tuple[float, int, Job]] = []
        self._n = 0
        self.evaluations = 0

    def prepare(self) -> None:
        """Nothing to build: scores are made up."""

    def submit(self, jobs: list[Job]) -> None:
        now = time.perf_counter()
        for job in jobs:
            self._n += 1
            heapq.heappush(self._heap, (now + self.eval_s, self._n, job))

    def in_flight(self) -> int:
        return len(self._heap)

    def wait(self, timeout: float | None = None) -> list[tuple[Job, Any]]:
        if not self._heap:
            return []
        due = self._heap[0][0]
        now = time.perf_counter()
        if due > now:
            time.sleep(due - now)
            now = time.perf_counter()
        out = []
        while self._heap and self._heap[0][0] <= now:
            _, _, job = heapq.heappop(self._heap)
            # a worker would compute the score; a hash of the job key stands in for it
            h = (abs(job.key) * 2654435761) % 2**32
            out.append((job, SimResult(h / 2**32 - 0.5, seconds=self.eval_s)))
        self.evaluations += len(out)
        return out

    def close(self) -> None:
        self._heap = []
