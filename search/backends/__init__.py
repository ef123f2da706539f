"""Backends: where evaluations run. ``BACKENDS`` is the table the config's ``backend`` key names;
``search.session.make_backend(cfg)`` builds the one a config asks for (checking the evaluator
settings first, which needs the config: this package imports nothing of it).

A new backend is a class that follows ``base.Backend`` and one entry here: a function from the
config to the backend, importing its module lazily (Ray costs seconds to import).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from search.backends.affinity import pin_before_xla
from search.backends.base import WORST_FITNESS, Backend, EvaluatorSpec, Failed, Job
from search.backends.local import LocalBackend


def _local(cfg) -> Backend:
    if cfg.run.pin_core:
        pin_before_xla()
    return LocalBackend(EvaluatorSpec.from_section(cfg.evaluator), cfg.programs_per_call)


def _ray(cfg) -> Backend:
    from search.backends.ray_backend import RayBackend

    return RayBackend(EvaluatorSpec.from_section(cfg.evaluator), cfg.ray, cfg.programs_per_call)


# THE backend table: config ``backend`` value -> factory taking the whole config.
BACKENDS: dict[str, Callable[[Any], Backend]] = {"local": _local, "ray": _ray}


__all__ = ["BACKENDS", "Backend", "EvaluatorSpec", "Failed", "Job", "LocalBackend", "WORST_FITNESS"]
