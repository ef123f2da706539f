"""The Ray backend: evaluator actors kept warm, a ``ray.wait`` steady-state loop.

Each actor builds its evaluators once (one per scale) so compiled tasks stay warm between
calls. The backend queues jobs, keeps up to ``calls_per_worker`` calls of ``programs_per_call``
programs on every actor (the next call is already waiting when one ends), and hands back
whatever has finished. Fault handling:

* an actor that dies (``RayActorError``) is replaced and all its queued work resubmitted, up to
  ``max_retries`` times per program, then the program scores ``Failed("worker died")``;
* a call running past ``timeout_s`` per program (plus ``startup_timeout_s`` on a cold actor) gets
  its actor killed and replaced; a multi-program call is split and retried program by program,
  a single program that times out scores ``Failed("timeout")``.
"""

from __future__ import annotations

import os
import time
import warnings
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

import ray
from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError, WorkerCrashedError

from search.backends.affinity import pin_to_free_core
from search.backends.base import EvaluatorPool, EvaluatorSpec, Failed, Job

# JAX's at-fork hook (``jax._src.xla_bridge._at_fork``), registered once its backends start
JAX_FORK_WARNING = r"os\.fork\(\) was called\. os\.fork\(\) is incompatible with multithreaded code"


def init_ray(**kwargs) -> None:
    """``ray.init(**kwargs)``, without JAX's warning that ``os.fork()`` was called while JAX is
    multithreaded, which is a false alarm here.

    ``ray.init`` starts Ray's own processes (GCS, raylet, log monitor, ...) with
    ``subprocess.Popen(..., preexec_fn=...)`` (``ray._private.services.start_ray_process``).
    CPython runs the ``os.register_at_fork`` hooks only when ``Popen`` has a ``preexec_fn``; in a
    process that already started JAX (the replay's stages before its searches, or a test session)
    JAX's hook then warns of a deadlock. The deadlock it means is a forked child that goes on
    using JAX, whose thread pool did not survive the fork. Ray's child runs two calls
    (``pthread_sigmask``, ``prctl(PR_SET_PDEATHSIG)``) and ``exec``s a Ray binary; it never
    touches JAX, and the evaluator actors are started by the raylet, never forked from here.
    Every other warning of ``ray.init`` is kept.

    A local Ray (no ``address``: a head on this machine, on loopback, started by us) runs with
    ``RAY_AUTH_MODE=disabled`` unless the user set ``RAY_AUTH_MODE``: token authentication guards
    a cluster's network ports, and on our own local head it only printed a notice on every run."""
    if not kwargs.get("address"):
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=JAX_FORK_WARNING, category=RuntimeWarning)
        ray.init(**kwargs)


@ray.remote
class EvaluatorActor:
    """Holds warm evaluators; ``evaluate`` scores a list of programs at one scale."""

    def __init__(self, spec: EvaluatorSpec, pin: bool = False):
        # pin before the evaluator starts XLA, whose thread pool is sized by the allowed cores
        self.core = pin_to_free_core() if pin else None
        self.pool = EvaluatorPool(spec)

    def prepare(self) -> bool:
        """Build the proxy-scale evaluator (a bad evaluator config fails here, before the run)."""
        self.pool.get("proxy")
        return True

    def evaluate(self, programs, scale: str, seeds=None, lr_scales=None, threshold=None) -> list:
        return self.pool.evaluate(list(programs), scale, seeds, lr_scales, threshold)

    def pid(self) -> int:
        return os.getpid()

    def placement(self) -> tuple[int, int | None]:
        """(process id, the core it is pinned to or None)."""
        return os.getpid(), self.core


@dataclass
class _Call:
    slot: int
    jobs: list[Job]
    submitted: float


# XLA on one thread: actors that share a node's cores then do not oversubscribe them
SINGLE_THREAD_XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


@dataclass
class _Slot:
    actor: Any
    calls: deque = field(default_factory=deque)  # refs in submission order (actors run them in order)
    head_started: float = 0.0
    warm: bool = False
    generation: int = 0


class RayBackend:
    def __init__(self, spec: EvaluatorSpec, settings, programs_per_call: int = 4):
        self.spec, self.s, self.per_call = spec, settings, programs_per_call
        self.owns_ray = False
        if not ray.is_initialized():
            if settings.address:
                init_ray(address=settings.address)
            else:
                cpus = max(1, int(round(settings.workers * settings.cpus_per_worker)))
                init_ray(num_cpus=cpus, include_dashboard=False)
            self.owns_ray = True
        self.slots = [_Slot(self._new_actor()) for _ in range(settings.workers)]
        self.capacity = settings.workers * settings.calls_per_worker * programs_per_call
        self.queue: deque[Job] = deque()
        self.solo: set[int] = set()  # job keys to send alone (their batch timed out)
        self.calls: dict[Any, _Call] = {}
        self.restarts = 0
        self.timeouts = 0

    def _new_actor(self):
        opts = {"num_cpus": self.s.cpus_per_worker, "max_restarts": 0}
        if self.s.single_thread:
            opts["runtime_env"] = {"env_vars": {"XLA_FLAGS": SINGLE_THREAD_XLA_FLAGS}}
        return EvaluatorActor.options(**opts).remote(self.spec, self.s.pin_cores and self.s.cpus_per_worker <= 1)

    # --- Backend protocol ----------------------------------------------------------------------

    def prepare(self) -> None:
        """Start every actor and build its proxy evaluator now: an evaluator that cannot be built
        raises here (``RayTaskError`` with the cause) instead of failing every job of the run."""
        refs = [slot.actor.prepare.remote() for slot in self.slots]
        try:
            ray.get(refs, timeout=self.s.startup_timeout_s or None)
        except RayTaskError as exc:
            raise RuntimeError(f"{type(exc.cause).__name__}: {exc.cause}") from None

    def submit(self, jobs: list[Job]) -> None:
        self.queue.extend(jobs)
        self._dispatch()

    def in_flight(self) -> int:
        return len(self.queue) + sum(len(c.jobs) for c in self.calls.values())

    def wait(self, timeout: float | None = None) -> list[tuple[Job, Any]]:
        self._dispatch()
        out: list[tuple[Job, Any]] = []
        if self.calls:
            refs = list(self.calls)
            ready, _ = ray.wait(refs, num_returns=1, timeout=self._wait_budget(timeout))
            if ready:
                ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
            for ref in ready:
                if ref in self.calls:
                    out.extend(self._finish(ref))
        out.extend(self._check_timeouts())
        self._dispatch()
        return out

    def close(self) -> None:
        for slot in self.slots:
            try:
                ray.kill(slot.actor)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self.calls.clear()
        self.queue.clear()
        if self.owns_ray:
            ray.shutdown()

    # --- internals -----------------------------------------------------------------------------

    def _wait_budget(self, timeout: float | None) -> float | None:
        now = time.monotonic()
        nearest = min((self._deadline(s) - now for s in self.slots if s.calls), default=None)
        if nearest is None:
            return timeout
        nearest = max(0.0, nearest)
        return nearest if timeout is None else min(timeout, nearest)

    def _deadline(self, slot: _Slot) -> float:
        call = self.calls[slot.calls[0]]
        limit = self.s.timeout_s * len(call.jobs) + (0.0 if slot.warm else self.s.startup_timeout_s)
        return slot.head_started + limit

    def _dispatch(self) -> None:
        now = time.monotonic()
        for i, slot in enumerate(self.slots):
            while self.queue and len(slot.calls) < self.s.calls_per_worker:
                first = self.queue.popleft()
                jobs = [first]
                if first.key not in self.solo:
                    rest = deque()
                    while self.queue and len(jobs) < self.per_call:
                        j = self.queue.popleft()
                        (jobs if j.group == first.group and j.key not in self.solo else rest).append(j)
                    self.queue.extendleft(reversed(rest))
                ref = slot.actor.evaluate.remote([j.program for j in jobs], first.scale, first.seeds, first.lr_scales,
                                                  first.threshold)
                if not slot.calls:
                    slot.head_started = now
                slot.calls.append(ref)
                self.calls[ref] = _Call(i, jobs, now)

    def _finish(self, ref) -> list[tuple[Job, Any]]:
        call = self.calls[ref]
        slot = self.slots[call.slot]
        try:
            results = ray.get(ref, timeout=0)
        except (RayActorError, WorkerCrashedError):
            return self._replace(call.slot, reason="worker died")
        except GetTimeoutError:  # pragma: no cover - ready refs do not time out
            return []
        except RayTaskError as exc:
            results = [Failed(f"evaluator error: {type(exc.cause).__name__}: {exc.cause}")] * len(call.jobs)
        del self.calls[ref]
        if ref in slot.calls:
            slot.calls.remove(ref)
        slot.head_started = time.monotonic()
        slot.warm = True
        return list(zip(call.jobs, results))

    def _replace(self, index: int, reason: str, culprit=None) -> list[tuple[Job, Any]]:
        """Kill and replace the actor; requeue its work. ``culprit``: the call that timed out."""
        slot = self.slots[index]
        try:
            ray.kill(slot.actor, no_restart=True)
        except Exception:  # noqa: BLE001 - already dead
            pass
        self.restarts += 1
        failed: list[tuple[Job, Any]] = []
        requeue: list[Job] = []
        for ref in list(slot.calls):
            call = self.calls.pop(ref, None)
            if call is None:
                continue
            for job in call.jobs:
                if ref == culprit:
                    if len(call.jobs) == 1:
                        failed.append((job, Failed("timeout", self.s.timeout_s)))
                    else:
                        self.solo.add(job.key)
                        requeue.append(job)
                elif reason == "worker died" and job.attempts >= self.s.max_retries:
                    failed.append((job, Failed("worker died")))
                else:
                    requeue.append(replace(job, attempts=job.attempts + (reason == "worker died")))
        self.slots[index] = _Slot(self._new_actor(), generation=slot.generation + 1)
        self.queue.extendleft(reversed(requeue))
        return failed

    def _check_timeouts(self) -> list[tuple[Job, Any]]:
        out = []
        now = time.monotonic()
        for i, slot in enumerate(self.slots):
            if slot.calls and now > self._deadline(slot):
                self.timeouts += 1
                out.extend(self._replace(i, reason="timeout", culprit=slot.calls[0]))
        return out

    def actor_handles(self) -> list:
        """The live actors (tests kill one to check recovery)."""
        return [s.actor for s in self.slots]
