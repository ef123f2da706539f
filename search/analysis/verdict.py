"""What a finished search's answer is, for the summary ``optsearch run`` prints at its end.

Two questions a user asks of the answer: *what is it?* (the program after the exact passes, and
the known family it is, or the nearest one and how far: ``simplify.nearest``) and *did it beat
where the search started?* The answer is judged at the funnel's deepest scale (x10), so the seed
is scored at that same scale: from the funnel's log when the funnel re-scored it, else once here
with the run's own evaluator settings.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Explained:
    """The answer after the exact passes, and what it is."""

    simplified: str
    recognized: str | None  # "lion (beta1=0.9, ...)" when it is a known family
    nearest: str | None     # else the nearest family and its distance ("momentum (...), relative ...")

    def what(self) -> str:
        if self.recognized:
            return f"recognized: {self.recognized}"
        if self.nearest:
            return f"not a known family; nearest: {self.nearest}"
        return "not a known family (no family's constants could be estimated from it)"


def explain(source: str) -> Explained:
    """``source`` after the exact passes (same behaviour, fewer statements) and its recognition
    (a family on a transformed gradient included), else the nearest family."""
    from dsl import parse, to_source
    from simplify import simplify_exact
    from simplify.nearest import nearest
    from simplify.recognize import recognize

    program = simplify_exact(parse(source))
    found = recognize(program, pretransform=True)
    near = None if found else nearest(program)
    return Explained(to_source(program), found.describe() if found else None, near.describe() if near else None)


def seed_row(run_dir: str | Path) -> dict | None:
    """The first row of the run's log (the seed program's evaluation), None if unreadable."""
    try:
        with open(Path(run_dir) / "evaluations.jsonl", "rb") as f:
            row = json.loads(f.readline(1 << 20))
        return row if isinstance(row, dict) and isinstance(row.get("fitness"), (int, float)) else None
    except (OSError, ValueError):
        return None


def seed_at(run_dir: str | Path, scale: str, log: Callable[[str], None] | None = None) -> float | None:
    """The seed's (id 0) fitness at ``scale``: its proxy fitness, the funnel's score when the
    funnel re-scored it there, else scored now with the run's evaluator (``config.yaml``); None
    when that cannot be done (no log, no config)."""
    row = seed_row(run_dir)
    if row is None:
        return None
    if scale == "proxy":
        return float(row["fitness"])
    from search.rows import read_funnel
    from search.rundir import RunDirError

    try:
        funnel, _ = read_funnel(Path(run_dir) / "funnel.jsonl")
    except (OSError, RunDirError):
        funnel = []
    for f in funnel:
        if f.scale == scale and f.fingerprint == row.get("fingerprint"):
            return float(f.fitness)
    return _score(run_dir, row["source"], scale, log)


def _score(run_dir: str | Path, source: str, scale: str, log: Callable[[str], None] | None) -> float | None:
    from dsl import parse
    from search import config
    from search.backends.base import EvaluatorSpec

    try:
        cfg = config.load_run_config(Path(run_dir) / "config.yaml")
    except (OSError, config.ConfigError):
        return None
    if log is not None:
        log(f"scoring the seed at {scale} too, to compare it with the answer there")
    try:
        ev = EvaluatorSpec.from_section(cfg.evaluator).build(scale)
        return float(ev.evaluate_one(parse(source)).fitness)
    except Exception:  # noqa: BLE001 - the summary goes on without the comparison
        return None


__all__ = ["Explained", "explain", "seed_at", "seed_row"]
