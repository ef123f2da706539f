"""The rows of a run directory's three logs, declared once.

``EvaluationRow`` (``evaluations.jsonl``), ``FunnelRow`` and ``RoundRow`` (the funnel's log),
``RaceRow`` (``races.jsonl``), each with ``to_json()`` and ``from_json(raw, path, line)``. Every
writer and reader goes through them; rows carry ``format`` (``ROW_FORMAT``), and rows written
before it existed (format 1, some without ``lr_scales``) still load. Reading is strict: a row
that is not a JSON object or has a field of the wrong type (an ``id`` of ``"23"``, a ``NaN``) is
a ``RowError`` naming the file and the line, never silently kept. The lines themselves are read
by ``search.rundir.read_jsonl`` (UTF-8, standard JSON, at most ``MAX_ROW_BYTES``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from search.rundir import RowError, read_jsonl

ROW_FORMAT = 2


def _where(path, line) -> str:
    return f"{path}:{line}" if path is not None else f"row {line}"


def _need(raw: Any, keys: tuple[str, ...], path, line) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise RowError(f"{_where(path, line)}: expected a JSON object, got {type(raw).__name__}")
    missing = [k for k in keys if k not in raw]
    if missing:
        raise RowError(f"{_where(path, line)}: row lacks {', '.join(missing)}")
    return raw


def _show(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "..."


def _int(x: Any, key: str) -> int:
    """A JSON integer: not a bool, a float, nor a string that looks like one (``"23"``)."""
    if isinstance(x, bool) or not isinstance(x, int):
        raise ValueError(f"{key} must be an integer, got {_show(x)}")
    return x


def _num(x: Any, key: str) -> float:
    """A finite JSON number (the writers refuse NaN and infinities, so a reader does too)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise ValueError(f"{key} must be a finite number, got {_show(x)}")
    return float(x)


def _str(x: Any, key: str) -> str:
    if not isinstance(x, str):
        raise ValueError(f"{key} must be a string, got {_show(x)}")
    return x


def _bool(x: Any, key: str) -> bool:
    if not isinstance(x, bool):
        raise ValueError(f"{key} must be true or false, got {_show(x)}")
    return x


def _opt(conv, x: Any, key: str):
    return None if x is None else conv(x, key)


def _floats(x: Any, key: str, seeds: bool = False) -> dict:
    """A JSON object of numbers (None: empty); ``seeds`` for per-task-seed objects, whose integer
    keys JSON writes as strings."""
    if x is None:
        return {}
    if not isinstance(x, dict):
        raise ValueError(f"{key} must be an object, got {_show(x)}")
    if seeds:
        bad = [k for k in x if not k.isdigit()]
        if bad:
            raise ValueError(f"{key} keys must be task seeds, got {_show(bad[0])}")
        return {int(k): _num(v, f"{key}.{k}") for k, v in x.items()}
    return {k: _num(v, f"{key}.{k}") for k, v in x.items()}


def _curves(x: Any) -> dict[str, list[float]] | None:
    if x is None:
        return None
    if not isinstance(x, dict) or not all(isinstance(v, list) for v in x.values()):
        raise ValueError(f"curves must be an object of lists, got {_show(x)}")
    return {k: [_num(v, f"curves.{k}") for v in vs] for k, vs in x.items()}


def _seed_json(x: dict[int, float]) -> dict[str, float]:
    return {str(k): v for k, v in sorted(x.items())}


@dataclass(frozen=True)
class EvaluationRow:
    """One child of ``evaluations.jsonl``: evaluated, or a cache hit (``cached``) that repeats the
    first evaluation of its fingerprint."""

    id: int
    parent: int | None          # None for a seed program
    mutation: str               # "seed", or the mutations that made it ("insert 3: t1 = sin(g)")
    source: str                 # the program as written (canonical source)
    fingerprint: str
    fitness: float
    cached: bool
    tasks: dict[str, float] = field(default_factory=dict)       # per task, mean over seeds
    lr_scales: dict[str, float] = field(default_factory=dict)   # per task: the lr grid value it scored at
    reason: str | None = None   # why it failed or diverged
    seconds: float = 0.0        # evaluator time (0 for a cache hit)
    length: int | None = None   # statements
    redundant: int | None = None  # statements that cannot affect the update
    redraws: int | None = None  # invalid mutation draws before this child
    evaluations: int | None = None  # the search's evaluation counter after this row
    time: float | None = None   # seconds since the run started
    curves: dict[str, list[float]] | None = None  # per-task validation curves, when logged
    seed_fitness: dict[int, float] = field(default_factory=dict)  # per task seed, as known when written
    fitness_se: float | None = None  # standard error of fitness over those seeds (None below 2)
    hurdle_fitness: float | None = None  # fitness at the hurdle point (dynamic hurdles), if checked there
    states: int | None = None        # optimizer states that reach a later update (``simplify.costs``), with a front
    exact_length: int | None = None  # statements after exact simplification, with objective length
    line: int = field(default=0, compare=False)  # line in the log it was read from (0: not read)

    KEYS = ("id", "parent", "mutation", "source", "fingerprint", "fitness", "cached")

    def to_json(self) -> dict[str, Any]:
        d = {"id": self.id, "parent": self.parent, "mutation": self.mutation, "source": self.source,
             "fingerprint": self.fingerprint, "fitness": self.fitness, "tasks": self.tasks,
             "lr_scales": self.lr_scales, "cached": self.cached, "reason": self.reason,
             "seconds": self.seconds, "length": self.length, "redundant": self.redundant,
             "redraws": self.redraws, "evaluations": self.evaluations, "time": self.time,
             "format": ROW_FORMAT}
        if self.seed_fitness:
            d["seed_fitness"] = _seed_json(self.seed_fitness)
            d["fitness_se"] = self.fitness_se
        if self.hurdle_fitness is not None:
            d["hurdle_fitness"] = self.hurdle_fitness
        if self.states is not None:
            d["states"] = self.states
        if self.exact_length is not None:
            d["exact_length"] = self.exact_length
        if self.curves is not None:
            d["curves"] = self.curves
        return d

    @property
    def seeds(self) -> int:
        """Task seeds behind ``fitness`` (1 when the row does not say)."""
        return max(1, len(self.seed_fitness))

    @classmethod
    def from_json(cls, raw: Any, path=None, line: int = 0) -> EvaluationRow:
        r = _need(raw, cls.KEYS, path, line)
        try:
            return cls(
                id=_int(r["id"], "id"), parent=_opt(_int, r["parent"], "parent"),
                mutation=_str(r["mutation"], "mutation"), source=_str(r["source"], "source"),
                fingerprint=_str(r["fingerprint"], "fingerprint"), fitness=_num(r["fitness"], "fitness"),
                cached=_bool(r["cached"], "cached"), tasks=_floats(r.get("tasks"), "tasks"),
                lr_scales=_floats(r.get("lr_scales"), "lr_scales"), reason=_opt(_str, r.get("reason"), "reason"),
                seconds=_num(r.get("seconds") or 0.0, "seconds"), length=_opt(_int, r.get("length"), "length"),
                redundant=_opt(_int, r.get("redundant"), "redundant"),
                redraws=_opt(_int, r.get("redraws"), "redraws"),
                evaluations=_opt(_int, r.get("evaluations"), "evaluations"),
                time=_opt(_num, r.get("time"), "time"), curves=_curves(r.get("curves")),
                seed_fitness=_floats(r.get("seed_fitness"), "seed_fitness", seeds=True),
                fitness_se=_opt(_num, r.get("fitness_se"), "fitness_se"),
                hurdle_fitness=_opt(_num, r.get("hurdle_fitness"), "hurdle_fitness"),
                states=_opt(_int, r.get("states"), "states"),
                exact_length=_opt(_int, r.get("exact_length"), "exact_length"), line=line)
        except ValueError as exc:
            raise RowError(f"{_where(path, line)}: bad value in row ({exc})") from None


@dataclass(frozen=True)
class FunnelRow:
    """One funnel re-evaluation (``kind: eval``) of a program at a larger scale."""

    round: int
    scale: str
    id: int
    fingerprint: str
    fitness: float
    source: str
    proxy_fitness: float | None = None
    evaluations: int | None = None  # the search's evaluation counter when the round ran
    tasks: dict[str, float] = field(default_factory=dict)
    lr_scales: dict[str, float] = field(default_factory=dict)
    reason: str | None = None
    seconds: float = 0.0
    seed_fitness: dict[int, float] = field(default_factory=dict)
    line: int = field(default=0, compare=False)

    KEYS = ("round", "scale", "id", "fingerprint", "fitness")
    hurdle_fitness = None  # the funnel trains every program to the end

    def to_json(self) -> dict[str, Any]:
        return {"kind": "eval", "round": self.round, "evaluations": self.evaluations, "scale": self.scale,
                "id": self.id, "fingerprint": self.fingerprint, "fitness": self.fitness, "tasks": self.tasks,
                "lr_scales": self.lr_scales, "proxy_fitness": self.proxy_fitness, "reason": self.reason,
                "seconds": self.seconds, "source": self.source, "format": ROW_FORMAT,
                **({"seed_fitness": _seed_json(self.seed_fitness)} if self.seed_fitness else {})}

    @classmethod
    def from_json(cls, raw: Any, path=None, line: int = 0) -> FunnelRow:
        r = _need(raw, cls.KEYS, path, line)
        try:
            return cls(round=_int(r["round"], "round"), scale=_str(r["scale"], "scale"), id=_int(r["id"], "id"),
                       fingerprint=_str(r["fingerprint"], "fingerprint"), fitness=_num(r["fitness"], "fitness"),
                       source=_str(r.get("source") or "", "source"),
                       proxy_fitness=_opt(_num, r.get("proxy_fitness"), "proxy_fitness"),
                       evaluations=_opt(_int, r.get("evaluations"), "evaluations"),
                       tasks=_floats(r.get("tasks"), "tasks"), lr_scales=_floats(r.get("lr_scales"), "lr_scales"),
                       reason=_opt(_str, r.get("reason"), "reason"), seconds=_num(r.get("seconds") or 0.0, "seconds"),
                       seed_fitness=_floats(r.get("seed_fitness"), "seed_fitness", seeds=True), line=line)
        except ValueError as exc:
            raise RowError(f"{_where(path, line)}: bad value in row ({exc})") from None


@dataclass(frozen=True)
class RaceRow:
    """One more task seed of a program (``races.jsonl``): racing scores a candidate, and the
    incumbent it is compared with, on seeds beyond the evaluator's, at the learning rate its first
    seeds chose. ``fitness`` is this seed's score; ``mean``, ``se`` and ``seeds`` what is known of
    the program after it."""

    id: int              # the program's first row in evaluations.jsonl
    fingerprint: str
    seed: int
    role: str            # "candidate" or "incumbent"
    race: int            # the id of the candidate whose race asked for this seed
    fitness: float
    mean: float
    se: float | None
    seeds: int
    tasks: dict[str, float] = field(default_factory=dict)
    lr_scales: dict[str, float] = field(default_factory=dict)
    reason: str | None = None
    seconds: float = 0.0
    evaluations: int | None = None
    time: float | None = None
    line: int = field(default=0, compare=False)

    KEYS = ("id", "fingerprint", "seed", "role", "race", "fitness", "mean", "seeds")
    hurdle_fitness = None  # a race seed runs at one grid value, past any hurdle

    @property
    def seed_fitness(self) -> dict[int, float]:
        return {self.seed: self.fitness}

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "fingerprint": self.fingerprint, "seed": self.seed, "role": self.role,
                "race": self.race, "fitness": self.fitness, "mean": self.mean, "se": self.se, "seeds": self.seeds,
                "tasks": self.tasks, "lr_scales": self.lr_scales, "reason": self.reason, "seconds": self.seconds,
                "evaluations": self.evaluations, "time": self.time, "format": ROW_FORMAT}

    @classmethod
    def from_json(cls, raw: Any, path=None, line: int = 0) -> RaceRow:
        r = _need(raw, cls.KEYS, path, line)
        try:
            if r["role"] not in ("candidate", "incumbent"):
                raise ValueError(f"role must be candidate or incumbent, got {r['role']!r}")
            return cls(id=_int(r["id"], "id"), fingerprint=_str(r["fingerprint"], "fingerprint"),
                       seed=_int(r["seed"], "seed"), role=r["role"], race=_int(r["race"], "race"),
                       fitness=_num(r["fitness"], "fitness"), mean=_num(r["mean"], "mean"),
                       se=_opt(_num, r.get("se"), "se"), seeds=_int(r["seeds"], "seeds"),
                       tasks=_floats(r.get("tasks"), "tasks"), lr_scales=_floats(r.get("lr_scales"), "lr_scales"),
                       reason=_opt(_str, r.get("reason"), "reason"), seconds=_num(r.get("seconds") or 0.0, "seconds"),
                       evaluations=_opt(_int, r.get("evaluations"), "evaluations"),
                       time=_opt(_num, r.get("time"), "time"), line=line)
        except ValueError as exc:
            raise RowError(f"{_where(path, line)}: bad value in row ({exc})") from None


def read_races(path: Path, repair: bool = False) -> tuple[list[RaceRow], bool]:
    """The rows of a ``races.jsonl`` (none if absent) and whether a torn last line was found."""
    raw, torn = read_jsonl(path, repair=repair)
    return [RaceRow.from_json(r, path, i + 1) for i, r in enumerate(raw)], torn


@dataclass(frozen=True)
class RoundRow:
    """The summary of one funnel round (``kind: round``): a meta-validation point.

    ``proxy_best``: the proxy-best program then (``id``, ``fitness``, and its fitness at each
    funnel scale where it was re-scored, else None); ``best``: per scale, the funnel's best there
    (``id``, ``fitness``, ``proxy_fitness``), written as ``best_<scale>`` keys."""

    round: int
    evaluations: int
    proposals: int | None = None
    proxy_best: dict[str, Any] | None = None
    best: dict[str, dict[str, Any]] = field(default_factory=dict)
    line: int = field(default=0, compare=False)

    KEYS = ("round",)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": "round", "round": self.round, "evaluations": self.evaluations,
                             "proposals": self.proposals}
        if self.proxy_best is not None:
            d["proxy_best"] = self.proxy_best
        d.update({f"best_{scale}": b for scale, b in self.best.items()})
        d["format"] = ROW_FORMAT
        return d

    def point(self) -> dict[str, Any]:
        """The meta-validation point as the summary lists it (the row without kind and format)."""
        d = self.to_json()
        del d["kind"], d["format"]
        return d

    @classmethod
    def from_json(cls, raw: Any, path=None, line: int = 0) -> RoundRow:
        r = _need(raw, cls.KEYS, path, line)
        try:
            pb = r.get("proxy_best")
            if pb is not None and not isinstance(pb, dict):
                raise ValueError(f"proxy_best must be an object, got {_show(pb)}")
            best = {k[5:]: dict(v) for k, v in r.items() if k.startswith("best_") and isinstance(v, dict)}
            return cls(round=_int(r["round"], "round"), evaluations=_int(r.get("evaluations") or 0, "evaluations"),
                       proposals=_opt(_int, r.get("proposals"), "proposals"), proxy_best=pb, best=best, line=line)
        except ValueError as exc:
            raise RowError(f"{_where(path, line)}: bad value in row ({exc})") from None


def read_evaluations(path: Path, repair: bool = False) -> tuple[list[EvaluationRow], bool]:
    """The rows of an ``evaluations.jsonl`` and whether a torn last line was found (see ``read_jsonl``)."""
    raw, torn = read_jsonl(path, repair=repair)
    return [EvaluationRow.from_json(r, path, i + 1) for i, r in enumerate(raw)], torn


def read_funnel(path: Path, repair: bool = False) -> tuple[list[FunnelRow], list[RoundRow]]:
    """The re-evaluations and the round summaries of a ``funnel.jsonl``, in order."""
    raw, _ = read_jsonl(path, repair=repair)
    evals, rounds = [], []
    for i, r in enumerate(raw):
        kind = _need(r, ("kind",), path, i + 1)["kind"]
        if kind == "eval":
            evals.append(FunnelRow.from_json(r, path, i + 1))
        elif kind == "round":
            rounds.append(RoundRow.from_json(r, path, i + 1))
        else:
            raise RowError(f"{path}:{i + 1}: unknown row kind {_show(kind)}")
    return evals, rounds
