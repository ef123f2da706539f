"""A run directory: resolved config, append-only logs, atomic checkpoints.

Layout::

    config.yaml          the resolved config (every key)
    evaluations.jsonl    one row per child (evaluated or cache hit), flushed and fsynced
    funnel.jsonl         funnel re-evaluations (x10, x100) and one summary row per round
    races.jsonl          racing: programs scored on more task seeds (only when racing is on)
    checkpoint.json      population, RNG state, cache, counters; replaced atomically
    summary.json, best.train   written when the search ends

Rows are fsynced before the checkpoint that counts them, so killing the process at any moment
loses at most the evaluations in flight. A checkpoint carries a SHA-256 of its payload: a
corrupt or truncated one is reported (``CheckpointError``) and never overwritten silently.

The rows of both logs are declared once, here: ``EvaluationRow``, ``FunnelRow`` and ``RoundRow``,
each with ``to_json()`` and ``from_json(raw, path, line)``. Every writer and reader goes through
them; rows carry ``format`` (``ROW_FORMAT``), and rows written before it existed (format 1, some
without ``lr_scales``) still load.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHECKPOINT_FORMAT = 2
READABLE_CHECKPOINTS = (1, 2)  # format 1: written before the search core was split (0.1)
ROW_FORMAT = 2


class RunDirError(RuntimeError):
    """The run directory cannot be used (exists already, missing files, unreadable log)."""


class CheckpointError(RunDirError):
    """The checkpoint is missing, truncated or corrupt."""


class RowError(RunDirError):
    """A log row that is not what its schema says; the message names the file and the line."""


# --- the rows ----------------------------------------------------------------------------------

def _where(path, line) -> str:
    return f"{path}:{line}" if path is not None else f"row {line}"


def _need(raw: Any, keys: tuple[str, ...], path, line) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise RowError(f"{_where(path, line)}: expected a JSON object, got {type(raw).__name__}")
    missing = [k for k in keys if k not in raw]
    if missing:
        raise RowError(f"{_where(path, line)}: row lacks {', '.join(missing)}")
    return raw


def _floats(x: Any, key=str) -> dict:
    """A JSON object of numbers (None: empty); ``key=int`` for per-task-seed objects, whose keys
    JSON writes as strings."""
    if x is None:
        return {}
    if not isinstance(x, dict):
        raise TypeError(f"expected an object, got {type(x).__name__}")
    return {key(k): float(v) for k, v in x.items()}


def _seed_json(x: dict[int, float]) -> dict[str, float]:
    return {str(k): v for k, v in sorted(x.items())}


def _opt_int(x: Any) -> int | None:
    return None if x is None else int(x)


def _opt_float(x: Any) -> float | None:
    return None if x is None else float(x)


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
            curves = r.get("curves")
            return cls(
                id=int(r["id"]) if not isinstance(r["id"], (str, bool)) else _bad("id", r["id"]),
                parent=_opt_int(r["parent"]), mutation=str(r["mutation"]),
                source=str(r["source"]), fingerprint=str(r["fingerprint"]), fitness=float(r["fitness"]),
                cached=bool(r["cached"]), tasks=_floats(r.get("tasks")), lr_scales=_floats(r.get("lr_scales")),
                reason=None if r.get("reason") is None else str(r["reason"]), seconds=float(r.get("seconds") or 0.0),
                length=_opt_int(r.get("length")), redundant=_opt_int(r.get("redundant")),
                redraws=_opt_int(r.get("redraws")), evaluations=_opt_int(r.get("evaluations")),
                time=_opt_float(r.get("time")),
                curves=None if curves is None else {str(k): [float(x) for x in v] for k, v in curves.items()},
                seed_fitness=_floats(r.get("seed_fitness"), int), fitness_se=_opt_float(r.get("fitness_se")),
                hurdle_fitness=_opt_float(r.get("hurdle_fitness")), line=line)
        except (TypeError, ValueError, AttributeError) as exc:
            raise RowError(f"{_where(path, line)}: bad value in row ({exc})") from None


def _bad(key: str, value: Any):
    raise ValueError(f"{key} must be a number, got {value!r}")


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
            return cls(round=int(r["round"]), scale=str(r["scale"]), id=int(r["id"]),
                       fingerprint=str(r["fingerprint"]), fitness=float(r["fitness"]),
                       source=str(r.get("source") or ""), proxy_fitness=_opt_float(r.get("proxy_fitness")),
                       evaluations=_opt_int(r.get("evaluations")), tasks=_floats(r.get("tasks")),
                       lr_scales=_floats(r.get("lr_scales")),
                       reason=None if r.get("reason") is None else str(r["reason"]),
                       seconds=float(r.get("seconds") or 0.0), seed_fitness=_floats(r.get("seed_fitness"), int),
                       line=line)
        except (TypeError, ValueError, AttributeError) as exc:
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
            return cls(id=int(r["id"]), fingerprint=str(r["fingerprint"]), seed=int(r["seed"]), role=str(r["role"]),
                       race=int(r["race"]), fitness=float(r["fitness"]), mean=float(r["mean"]),
                       se=_opt_float(r.get("se")), seeds=int(r["seeds"]), tasks=_floats(r.get("tasks")),
                       lr_scales=_floats(r.get("lr_scales")),
                       reason=None if r.get("reason") is None else str(r["reason"]),
                       seconds=float(r.get("seconds") or 0.0), evaluations=_opt_int(r.get("evaluations")),
                       time=_opt_float(r.get("time")), line=line)
        except (TypeError, ValueError, AttributeError) as exc:
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
                raise TypeError(f"proxy_best must be an object, got {type(pb).__name__}")
            best = {k[5:]: dict(v) for k, v in r.items() if k.startswith("best_") and isinstance(v, dict)}
            return cls(round=int(r["round"]), evaluations=int(r.get("evaluations") or 0),
                       proposals=_opt_int(r.get("proposals")), proxy_best=pb, best=best, line=line)
        except (TypeError, ValueError, AttributeError) as exc:
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
            raise RowError(f"{path}:{i + 1}: unknown row kind {kind!r}")
    return evals, rounds


def default_out(name: str, root: str | Path = "results/runs") -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{name}-{stamp}"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class JsonlLog:
    """An append-only JSON-lines file; ``append`` writes, flushes and fsyncs a batch of rows."""

    def __init__(self, path: Path):
        self.path = path
        self._fh = None

    def append(self, rows: list) -> None:
        """Append rows (``EvaluationRow``/``FunnelRow``/``RoundRow``, or plain dicts)."""
        if not rows:
            return
        if self._fh is None:
            self._fh = open(self.path, "a", encoding="utf-8")
        self._fh.write("".join(json.dumps(r if isinstance(r, dict) else r.to_json(), allow_nan=False) + "\n"
                               for r in rows))
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def read_jsonl(path: Path, repair: bool = False) -> tuple[list[dict], bool]:
    """All rows of ``path`` (empty if absent) and whether a torn last line was found.

    A last line without its newline that does not parse is what a kill during a write leaves:
    with ``repair`` it is cut off the file (and reported); anywhere else a bad line is an error.
    """
    if not path.exists():
        return [], False
    data = path.read_bytes()
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    rows = []
    for i, line in enumerate(lines):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise RunDirError(f"{path}:{i + 1}: not a JSON row ({exc.msg}); the log is corrupt") from None
    torn = False
    if tail:
        try:
            rows.append(json.loads(tail))
            if repair:
                with open(path, "ab") as fh:
                    fh.write(b"\n")
        except json.JSONDecodeError:
            torn = True
            if repair:
                with open(path, "r+b") as fh:
                    fh.truncate(len(data) - len(tail))
    return rows, torn


class RunDir:
    """Files of one run. ``create`` refuses a folder that already holds a run; ``open`` needs one."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.evaluations = JsonlLog(self.path / "evaluations.jsonl")
        self.funnel = JsonlLog(self.path / "funnel.jsonl")
        self.races = JsonlLog(self.path / "races.jsonl")

    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint.json"

    @classmethod
    def create(cls, path: str | Path, config_yaml: str) -> RunDir:
        path = Path(path)
        if (path / "config.yaml").exists() or (path / "evaluations.jsonl").exists():
            raise RunDirError(f"{path} already holds a run; continue it with `optsearch resume {path}` "
                              "or choose another --out")
        path.mkdir(parents=True, exist_ok=True)
        rd = cls(path)
        atomic_write(rd.config_path, config_yaml.encode())
        return rd

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        path = Path(path)
        if not (path / "config.yaml").exists():
            raise RunDirError(f"{path}: no config.yaml here; not a run directory")
        return cls(path)

    # --- checkpoints ---------------------------------------------------------------------------

    def write_checkpoint(self, state: dict[str, Any]) -> None:
        """Atomically replace the checkpoint (tmp file, fsync, os.replace, fsync of the folder)."""
        payload = json.dumps(state, sort_keys=True, allow_nan=False)
        doc = {"format": CHECKPOINT_FORMAT, "sha256": hashlib.sha256(payload.encode()).hexdigest(),
               "written": time.strftime("%Y-%m-%dT%H:%M:%S"), "state": state}
        atomic_write(self.checkpoint_path, json.dumps(doc, allow_nan=False).encode())

    def read_checkpoint(self) -> dict[str, Any] | None:
        """The saved state, None if the run never checkpointed; CheckpointError if it is damaged."""
        path = self.checkpoint_path
        if not path.exists():
            return None
        try:
            doc = json.loads(path.read_bytes())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({exc}); it was left as is. "
                                  "Move it away to restart the run from its evaluations log only") from None
        if not isinstance(doc, dict) or "state" not in doc or not isinstance(doc["state"], dict):
            raise CheckpointError(f"{path}: not an optsearch checkpoint")
        if doc.get("format") not in READABLE_CHECKPOINTS:
            raise CheckpointError(f"{path}: checkpoint format {doc.get('format')!r} is not one this version reads "
                                  f"({', '.join(map(str, READABLE_CHECKPOINTS))})")
        payload = json.dumps(doc["state"], sort_keys=True, allow_nan=False)
        if hashlib.sha256(payload.encode()).hexdigest() != doc.get("sha256"):
            raise CheckpointError(f"{path}: checksum mismatch, the checkpoint is corrupt; it was left as is")
        return doc["state"]

    def write_text(self, name: str, text: str) -> None:
        atomic_write(self.path / name, text.encode())

    def close(self) -> None:
        self.evaluations.close()
        self.funnel.close()
        self.races.close()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new one, never a torn one."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)
