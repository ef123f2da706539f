"""Backends: where evaluations run. ``make_backend(cfg)`` picks one from the config."""

from __future__ import annotations

from search.backends.base import WORST_FITNESS, Backend, EvaluatorSpec, Failed, Job
from search.backends.local import LocalBackend


def make_backend(cfg) -> Backend:
    spec = EvaluatorSpec.from_section(cfg.evaluator)
    if cfg.backend == "ray":
        from search.backends.ray import RayBackend

        return RayBackend(spec, cfg.ray, cfg.programs_per_call)
    if cfg.run.pin_core:
        from search.backends.affinity import pin_before_xla

        pin_before_xla()
    return LocalBackend(spec, cfg.programs_per_call)


__all__ = ["Backend", "EvaluatorSpec", "Failed", "Job", "LocalBackend", "WORST_FITNESS", "make_backend"]
