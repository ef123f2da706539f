"""A run directory: resolved config, append-only logs, atomic checkpoints.

Layout::

    config.yaml          the resolved config (every key)
    evaluations.jsonl    one row per child (evaluated or cache hit), flushed and fsynced
    funnel.jsonl         funnel re-evaluations (x10, x100) and one summary row per round
    races.jsonl          racing: programs scored on more task seeds (only when racing is on)
    checkpoint.json      population, RNG state, cache, counters; replaced atomically
    summary.json, best.train   written when the search ends
    .lock                the writer's lock (``search.runlock``), with its pid while it runs

Rows are fsynced before the checkpoint that counts them, so killing the process at any moment
loses at most the evaluations in flight. A checkpoint carries a SHA-256 of its payload: a
corrupt or truncated one is reported (``CheckpointError``) and never overwritten silently.

The rows of the three logs are declared once, here: ``EvaluationRow``, ``FunnelRow`` and
``RoundRow`` (the funnel's log), ``RaceRow``, each with ``to_json()`` and ``from_json(raw, path,
line)``. Every writer and reader goes through them; rows carry ``format`` (``ROW_FORMAT``), and
rows written before it existed (format 1, some without ``lr_scales``) still load. Reading is
strict and bounded: a row that is not UTF-8, not a JSON object, longer than ``MAX_ROW_BYTES``,
or has a field of the wrong type (an ``id`` of ``"23"``, a ``NaN``) is a ``RowError`` naming the
file and the line, never silently kept.

One process writes a run directory at a time: ``create`` and ``open`` take its lock
(``RunDirLocked`` names the live holder's pid) and ``close`` releases it; readers pass
``lock=False`` or read the logs directly.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from search import runlock

CHECKPOINT_FORMAT = 2
READABLE_CHECKPOINTS = (1, 2)  # format 1: written before the search core was split (0.1)
ROW_FORMAT = 2
MAX_ROW_BYTES = 1 << 20  # a longer line is corruption, not a row (the longest real ones are ~1 KB)


class RunDirError(RuntimeError):
    """The run directory cannot be used (exists already, missing files, unreadable log)."""


class WriteFailed(RunDirError):
    """A write to the run directory failed (a full disk, a file size limit): the run stops. The
    log was cut back to its last whole row and the last checkpoint is untouched, so ``resume``
    continues once the cause is gone."""


class CheckpointError(RunDirError):
    """The checkpoint is missing, truncated or corrupt."""


class RowError(RunDirError):
    """A log row that is not what its schema says; the message names the file and the line."""


class RunDirLocked(RunDirError):
    """Another live process is writing the run directory; ``pid`` is the holder's (None: unknown)."""

    def __init__(self, message: str, pid: int | None):
        super().__init__(message)
        self.pid = pid


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
        """Append rows (``EvaluationRow``/``FunnelRow``/``RoundRow``, or plain dicts). Unbuffered:
        a failed write (``WriteFailed``) leaves no bytes behind to be flushed later, and the rows
        it wrote in part are cut off again."""
        if not rows:
            return
        if self._fh is None:
            self._fh = open(self.path, "ab", buffering=0)
        data = "".join(json.dumps(r if isinstance(r, dict) else r.to_json(), allow_nan=False) + "\n"
                       for r in rows).encode()
        fd = self._fh.fileno()
        size = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except OSError as exc:
            try:
                os.ftruncate(fd, size)
            except OSError:
                pass  # the next reader drops a torn last line anyway
            raise WriteFailed(f"{self.path}: cannot append ({exc.strerror or exc})") from None

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def read_jsonl(path: Path, repair: bool = False) -> tuple[list[Any], bool]:
    """All rows of ``path`` (empty if absent) and whether a torn last line was found.

    A last line without its newline that does not parse is what a kill during a write leaves: it
    is dropped (with ``repair`` also cut off the file, see ``repair_tail``). Anywhere else a bad
    line is a ``RowError`` naming it: not UTF-8, not standard JSON, or over ``MAX_ROW_BYTES`` (read
    line by line, so a corrupt multi-gigabyte "row" costs no more memory than a good one).
    """
    if not path.exists():
        return [], False
    rows, torn = [], False
    with open(path, "rb") as fh:
        for number in itertools.count(1):
            data = fh.readline(MAX_ROW_BYTES + 1)
            if not data:
                break
            if data.endswith(b"\n"):
                rows.append(_parse_line(data[:-1], path, number))
            elif len(data) > MAX_ROW_BYTES:
                raise RowError(f"{path}:{number}: line longer than {MAX_ROW_BYTES} bytes; the log is corrupt")
            else:  # the last line, without its newline
                try:
                    rows.append(_parse_line(data, path, number))
                except RowError:
                    torn = True
    if repair:
        repair_tail(path)
    return rows, torn


def repair_tail(path: Path) -> bool:
    """Make ``path`` end with a complete line: a cut last row (a kill during a write) is removed,
    a whole one missing its newline gets it. True if a row was removed. Resume calls it only once
    every log has been read and checked, so a log it refuses is left exactly as it was."""
    if not path.exists():
        return False
    with open(path, "r+b") as fh:
        start = max(0, fh.seek(0, os.SEEK_END) - MAX_ROW_BYTES - 1)
        fh.seek(start)
        chunk = fh.read()
        if not chunk or chunk.endswith(b"\n"):
            return False
        cut = chunk.rfind(b"\n")
        if cut < 0 and start > 0:
            raise RowError(f"{path}: last line longer than {MAX_ROW_BYTES} bytes; the log is corrupt")
        try:
            _parse_line(chunk[cut + 1:], path, 0)
            fh.write(b"\n")
            removed = False
        except RowError:
            fh.truncate(start + cut + 1)
            removed = True
        fh.flush()
        os.fsync(fh.fileno())
    return removed


def _parse_line(data: bytes, path: Path, number: int) -> Any:
    """One JSON value from one line: UTF-8, standard JSON (no NaN or Infinity)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RowError(f"{path}:{number}: not UTF-8 (byte {exc.start}); the log is corrupt") from None
    try:
        return json.loads(text, parse_constant=_not_a_number)
    except ValueError as exc:  # bad JSON, NaN/Infinity, an integer too long to convert
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise RowError(f"{path}:{number}: not a JSON row ({msg}); the log is corrupt") from None


def _not_a_number(name: str) -> Any:
    raise ValueError(f"{name} is not standard JSON")


class RunDir:
    """Files of one run. ``create`` refuses a folder that already holds a run; ``open`` needs one."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.evaluations = JsonlLog(self.path / "evaluations.jsonl")
        self.funnel = JsonlLog(self.path / "funnel.jsonl")
        self.races = JsonlLog(self.path / "races.jsonl")
        self._unlock = None  # releases this RunDir's share of the lock (close, or when collected)

    def _lock(self) -> None:
        try:
            key = runlock.acquire(self.path)
        except runlock.LockedError as exc:
            raise RunDirLocked(str(exc), exc.pid) from None
        except OSError as exc:  # a read-only folder, say: it cannot be written anyway
            raise RunDirError(f"{self.path}: cannot take the run directory's lock ({exc.strerror})") from None
        self._unlock = weakref.finalize(self, runlock.release, key)

    @property
    def locked(self) -> bool:
        """Whether this RunDir holds the folder's lock (a writer's does; ``lock=False`` ones not)."""
        return self._unlock is not None and self._unlock.alive

    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint.json"

    @classmethod
    def create(cls, path: str | Path, config_yaml: str) -> RunDir:
        """A new run in ``path``, locked. ``RunDirLocked`` if a search is running there, else
        ``RunDirError`` if it holds a run already."""
        path = Path(path)
        taken = RunDirError(f"{path} already holds a run; continue it with `optsearch resume {path}` "
                            "or choose another --out")
        if _holds_run(path) and not (path / runlock.LOCK_NAME).exists():
            raise taken  # no search ever locked it: nothing can be running there
        path.mkdir(parents=True, exist_ok=True)
        rd = cls(path)
        rd._lock()  # a live run's holder is named before the folder's contents are judged
        if _holds_run(path):
            rd.close()
            raise taken
        atomic_write(rd.config_path, config_yaml.encode())
        return rd

    @classmethod
    def open(cls, path: str | Path, lock: bool = True) -> RunDir:
        """An existing run. ``lock`` (a writer: resume) takes the folder's lock until ``close``,
        ``RunDirLocked`` if a search is running there; a reader passes False."""
        path = Path(path)
        if not (path / "config.yaml").exists():
            raise RunDirError(f"{path}: no config.yaml here; not a run directory")
        rd = cls(path)
        if lock:
            rd._lock()
        return rd

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
        """Close the logs and release the lock (safe to call twice)."""
        self.evaluations.close()
        self.funnel.close()
        self.races.close()
        if self._unlock is not None:
            self._unlock()

    def __enter__(self) -> RunDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _holds_run(path: Path) -> bool:
    return (path / "config.yaml").exists() or (path / "evaluations.jsonl").exists()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new one, never a torn one."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        try:
            tmp.unlink()  # the old file stays whole; the partial new one must not hold the space
        except OSError:
            pass
        raise WriteFailed(f"{path}: cannot write ({exc.strerror or exc}); the previous version is intact") from None
    os.replace(tmp, path)
    _fsync_dir(path.parent)
