"""The search's YAML configuration: schema, validation, ``--set`` overrides.

The schema is a tree of dataclasses whose fields carry their documentation and bounds in
``metadata``; validation walks the user's mapping against it so that an unknown key, a wrong
type or an out-of-range value fails *before* anything runs, with the dotted key path in the
message. ``docs/search.md`` prints the same table that ``schema_rows()`` returns.

A config is untrusted input until validated: numbers must be finite and within documented bounds
(upper ones too, so a typo cannot allocate until the machine runs out of memory), YAML files are
read with bounded size, nesting and alias expansion, and messages quote at most ``VALUE_CHARS``
characters of a value. ``evaluator.factory`` imports the module it names: a config that sets it
must be trusted like code.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import reprlib
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Union

import numpy as np
import yaml

from dsl import ops
from dsl.program import Program
from proxy_tasks import registry, sizes
from proxy_tasks.registry import SCALES
from proxy_tasks.schedules import SCHEDULES
from search.backends import BACKENDS
from search.mutate import MUTATIONS, MutationFailed, mutate
from simplify.costs import OBJECTIVES

# ``batching`` values of ``proxy_tasks.evaluate.Evaluator`` (kept here so the config needs no JAX)
BATCHING = ("auto", "single", "runs", "map", "vmap")
# evaluator options that configs written before they were typed kept under evaluator.overrides
EVALUATOR_OPTIONS = ("batching", "batch_size", "hurdle_fraction", "hurdle_early", "hurdle_early_margin",
                     "hurdle_margin")

# Bounds shared by several keys (the schema table prints each key's own).
COUNT_MAX = 10**9              # evaluations, children, "every N" counters
SECONDS_MAX = 1e8              # about three years
WEIGHT_MAX = 1e6               # mutation and task weights
SEED_MAX = 2**63 - 1           # the search's numpy seed (kept in checkpoints as a JSON int64)
TASK_SEED_MAX = 2**31 - 1      # task seeds become int32 arrays (JAX PRNG keys)
STR_MAX = 4096                 # characters of any string value
NAME_MAX = 100                 # characters of ``name`` (a folder name)
LIST_MAX = 1000                # entries of a list or mapping unless the key says otherwise
VALUE_CHARS = 200              # characters of a value quoted in a message
MESSAGE_CHARS = 2000           # characters of a whole ConfigError message
YAML_MAX_BYTES = 1 << 20       # a config file is read up to this size
YAML_MAX_DEPTH = 32            # nesting of a YAML document (with aliases expanded)
YAML_MAX_NODES = 10_000        # values of a YAML document (with aliases expanded; configs hold ~100)
FACTORY_RE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")


class ConfigError(ValueError):
    """A configuration problem; the message starts with the key path (``search.population``)."""

    def __init__(self, path: str, message: str):
        self.path = path
        text = f"{path}: {message}" if path else message
        super().__init__(text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS - 3] + "...")


class _ShortRepr(reprlib.Repr):
    """``reprlib`` with a cap on integers that ``repr`` itself refuses (over 4300 digits)."""

    def repr_int(self, x, level):
        if x.bit_length() > 512:
            return f"<an integer of about {int(x.bit_length() * 0.30103)} digits>"
        return super().repr_int(x, level)


_REPR = _ShortRepr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxtuple, _REPR.maxset = 3, 6, 6, 6, 6
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = VALUE_CHARS, VALUE_CHARS, 60


def _show(value) -> str:
    """``repr(value)`` for a message, at most ``VALUE_CHARS`` characters and cheap to build even
    for a megabyte string, a 10,000-digit integer or a deeply nested list."""
    text = _REPR.repr(value)
    return text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS - 3] + "..."


def _key(key) -> str:
    """A mapping key as a key path component (short, printable)."""
    if isinstance(key, str) and len(key) <= 60 and key.isprintable():
        return key
    return _show(key)


def _clip(text: object, limit: int = 500) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _f(default, doc: str, *, ge=None, gt=None, le=None, choices=None, factory=False, items=None,
       max_items=None):
    """A schema field: documentation and bounds in ``metadata``; ``items`` holds the bounds of a
    list's entries or a mapping's values, ``max_items`` its length (default ``LIST_MAX``)."""
    meta = {"doc": doc, "ge": ge, "gt": gt, "le": le, "choices": choices, "items": items, "max_items": max_items}
    if factory:
        return field(default_factory=default, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class SearchSection:
    population: int = _f(100, "population size P (aging evolution), per island", ge=2, le=1_000_000)
    tournament: int = _f(10, "tournament size T (<= population)", ge=1, le=1_000_000)
    max_evaluations: int = _f(1000, "stop after this many real evaluations (cache hits are free)", ge=1,
                                 le=COUNT_MAX)
    max_proposals: int | None = _f(None, "also stop after this many children (default 20 x max_evaluations)",
                                       ge=1, le=20 * COUNT_MAX)
    max_seconds: float | None = _f(None, "also stop after this wall time (not reproducible across machines)",
                                         gt=0, le=SECONDS_MAX)
    seeds: list[str] = _f(lambda: ["adamw"], "seed programs: built-in names or .train paths", factory=True,
                          max_items=100)
    restart_every: int = _f(0, "restart the population every N evaluations (0: never)", ge=0,
                            le=COUNT_MAX)
    restart_from: str = _f("best", "what a restart refills the population with",
                           choices=("seeds", "best", "both"))
    hurdle_quantile: float = _f(0.0, "dynamic hurdle: a child whose fitness at evaluator.hurdle_fraction of training "
                                     "is below this quantile of the population's stops there (0: off)", ge=0, le=1)
    hurdle_ceiling: float | None = _f(None, "the dynamic hurdle's threshold never rises above this fitness, so a "
                                            "slow starter this close to the baseline goes on (null: no ceiling)")
    islands: int = _f(1, "islands: populations that evolve apart, taking turns to propose (1: one population)",
                      ge=1, le=1024)
    migrate_every: int = _f(0, "every N children told, each island's best joins the next island (0: never)",
                           ge=0, le=COUNT_MAX)
    peers: str = _f("niche", "with a front, whom a child is measured against for the hurdle's threshold and for "
                             "racing (which programs race, against which incumbent): its niche (a weak or young "
                             "niche then stops fewer children and races more) or the whole population",
                    choices=("niche", "population"))
    hurdle_min: int = _f(8, "distinct programs in the population with a fitness at the hurdle point needed "
                            "before the hurdle applies", ge=1, le=1_000_000)
    objectives: list[str] = _f(lambda: ["fitness"], "what selection keeps: [fitness] (the fittest), or the front "
                                                    "[fitness, states] / [fitness, states, length]: a niche per "
                                                    "state count (and length band), each kept alive",
                               factory=True, items={"choices": OBJECTIVES}, max_items=3)
    max_states: int | None = _f(None, "children must keep at most this many optimizer states (moving averages "
                                      "that reach a later update); the answer is the best within it "
                                      "(null: no budget)", ge=0, le=2)


# The mutation section: one weight per entry of the mutation table (``search.mutate.MUTATIONS``,
# so a new mutation gets its key without an edit here), then the options the mutations read.
_MUTATION_OPTIONS: list[tuple[str, Any, Any]] = [
    ("max_length", int, _f(30, "children longer than this (statements) are redrawn; must hold "
                                    "the longest seed program", ge=1, le=10_000)),
    ("max_redraws", int, _f(200, "give up (error) after this many invalid children in a row", ge=1,
                                     le=10_000)),
    ("constant_prob", float, _f(0.25, "probability that an inserted argument is a fresh constant", ge=0, le=1)),
    ("new_name_prob", float, _f(0.5, "probability that an insert assigns a fresh temporary", ge=0, le=1)),
    ("mutations_per_child", int, _f(1, "mutations applied to make one child", ge=1, le=10)),
    ("inplace_prob", float, _f(0.0, "probability that an insert transforms the previous statement's result in "
                                    "place (x = op(x, ...))", ge=0, le=1)),
    ("interp_logit", bool, _f(False, "modify moves an interp weight in (0, 1) by N(0, 1) on the logit scale "
                                     "instead of scaling it by 2**N(0, 1)")),
    ("ops", list[str] | None, _f(None, "ops the insert mutation may draw (default: every op of dsl.ops)")),
]
MutationSection = dataclasses.make_dataclass(
    "MutationSection",
    [(name, float, _f(m.weight, m.doc, ge=0, le=WEIGHT_MAX)) for name, m in MUTATIONS.items()] + _MUTATION_OPTIONS,
    namespace={"__doc__": "The ``mutation:`` section: a weight per registered mutation, then options.",
               "__module__": __name__})


@dataclass
class EvaluatorSection:
    tasks: dict[str, float] | None = _f(None, "proxy task name -> weight (null: the Evaluator's DEFAULT_TASKS); "
                                                 "at least one weight > 0", items={"ge": 0, "le": WEIGHT_MAX},
                                          max_items=100)
    seeds: list[int] = _f(lambda: [0], "task seeds averaged into the fitness", factory=True,
                          items={"ge": 0, "le": TASK_SEED_MAX})
    hurdle: float | None = _f(None, "hurdle passed to the Evaluator (skip later tasks below it)")
    hurdle_fraction: float = _f(0.3, "where the hurdle is checked, as a fraction of the first task's training",
                                gt=0, le=1)
    hurdle_early: float = _f(0.0, "an earlier checkpoint of the dynamic hurdle, as a fraction of training (0: "
                                  "none): the hurdle's threshold already applies there (with hurdle_early_margin), "
                                  "so a program far behind stops at a fraction of the cost; must be before "
                                  "hurdle_fraction",
                             ge=0, le=0.95)
    hurdle_early_margin: float | None = _f(None, "the margin at hurdle_early (null: hurdle_margin's); grid values "
                                                 "are closer together that early, so it may need to be wider", ge=0)
    hurdle_margin: float | None = _f(None, "at the dynamic hurdle, a grid value trailing the program's best value "
                                           "there by more than this fitness stops too (null: only the threshold "
                                           "stops values)", ge=0)
    lr_race: float = _f(0.0, "with an lr_grid: every grid value trains to this fraction of the steps, then only "
                             "the best one there trains on (0: every value trains to the end)", ge=0, le=0.95)
    batching: str = _f("auto", "how the evaluator runs several programs or seeds at once: auto measures the "
                               "fastest once per task; a fixed choice keeps local runs reproducible",
                       choices=BATCHING)
    batch_size: int = _f(32, "programs per vmapped batch (batching: vmap or map)", ge=1, le=65_536)
    lr_grid: list[float] = _f(lambda: [1.0], "learning-rate multipliers: each task scores a program (and the "
                                             "AdamW baseline) at its best one", factory=True,
                               items={"gt": 0, "le": 1e6}, max_items=100)
    cache_dir: str | None = _f(None, "baseline cache folder passed to the Evaluator")
    overrides: dict[str, Any] = _f(dict, "task settings (steps, batch, ...; a task's name maps to its own), "
                                         "see docs/proxy_tasks.md; checked against the task registry unless "
                                         "a factory is set",
                                  factory=True)
    factory: str | None = _f(None, "'module:callable' building the evaluator instead of "
                                   "proxy_tasks.evaluate.Evaluator (e.g. search.backends.toy:ToyEvaluator); the "
                                   "module is imported: a config that sets it must be trusted like code")


@dataclass
class RaceSection:
    top_fraction: float = _f(0.0, "a program whose fitness would place it in this top fraction of the population is "
                                  "scored on more task seeds, one at a time, paired with the incumbent (0: off)",
                             ge=0, le=1)
    max_seeds: int = _f(4, "task seeds a program is scored on at most (its first ones included)", ge=1,
                         le=1000)
    z: float = _f(1.0, "the paired test stops a race once the mean paired difference with the incumbent is more "
                       "than z standard errors away from 0", gt=0, le=1000)
    seeds: list[int] | None = _f(None, "task seeds a race draws, in order (default: the evaluator's seeds, then "
                                       "the next integers)", items={"ge": 0, "le": TASK_SEED_MAX})


@dataclass
class FunnelSection:
    every: int = _f(0, "run the funnel every N evaluations (0: only at the end)", ge=0, le=COUNT_MAX)
    top_k: int = _f(5, "distinct programs re-evaluated per round (by proxy fitness)", ge=1, le=10_000)
    scales: list[str] = _f(lambda: ["x10", "x100"], "successive scales; a program goes on only if "
                                                    "it beats the threshold at the previous one", factory=True,
                                 max_items=10)
    threshold: float = _f(0.0, "fitness needed at one scale to go on to the next (0: beats AdamW)")
    final: bool = _f(True, "run a funnel round when the search ends")


@dataclass
class RaySection:
    address: str | None = _f(None, "join this Ray cluster ('auto' or host:port); none: start a local Ray "
                                   "(with `RAY_AUTH_MODE=disabled` unless set: a loopback head of our own)")
    workers: int = _f(2, "evaluator actors", ge=1, le=100_000)
    cpus_per_worker: float = _f(1.0, "CPUs each actor reserves", gt=0, le=1024)
    calls_per_worker: int = _f(2, "calls queued on each actor (keeps it busy while the driver works)", ge=1,
                               le=1000)
    timeout_s: float = _f(300.0, "per-program evaluation timeout once the actor is warm", gt=0,
                         le=SECONDS_MAX)
    startup_timeout_s: float = _f(900.0, "extra time for an actor's first call (compilation)", ge=0,
                                 le=SECONDS_MAX)
    max_retries: int = _f(2, "resubmissions of a program after its actor died", ge=0, le=1000)
    single_thread: bool = _f(True, "run each actor's XLA on one thread (no oversubscription when "
                                   "actors share a node's cores)")
    pin_cores: bool = _f(True, "pin each actor to a core of its node that no other actor holds, when "
                               "cpus_per_worker <= 1 (XLA's idle threads spin: two unpinned actors on 2 "
                               "cores did half the work of two pinned ones)")


@dataclass
class RunSection:
    out: str | None = _f(None, "run directory (default results/runs/<name>-<timestamp>)")
    checkpoint_every_s: float = _f(60.0, "checkpoint when this many seconds have passed since the last one",
                                   gt=0, le=SECONDS_MAX)
    checkpoint_every: int = _f(200, "or when N children were recorded since, whichever comes first", ge=1,
                               le=COUNT_MAX)
    progress: bool = _f(True, "show live progress (rich) on a terminal")
    pin_core: bool = _f(False, "local backend: pin this whole process to one free core before XLA starts "
                               "(XLA's idle threads spin; pinned, proxy-task searches ran 1.3-1.4x faster)")


@dataclass
class Config:
    name: str = _f("search", "run name (prefix of the run directory): printable, no / or \\, not "
                                    f"starting with a dot, at most {NAME_MAX} characters")
    seed: int = _f(0, "random seed of the search (numpy Generator)", ge=0, le=SEED_MAX)
    backend: str = _f("local", "where evaluations run", choices=tuple(BACKENDS))
    programs_per_call: int = _f(4, "programs handed to the evaluator per call (batched, vmapped)", ge=1,
                              le=10_000)
    search: SearchSection = _f(SearchSection, "", factory=True)
    mutation: MutationSection = _f(MutationSection, "", factory=True)
    evaluator: EvaluatorSection = _f(EvaluatorSection, "", factory=True)
    race: RaceSection = _f(RaceSection, "", factory=True)
    funnel: FunnelSection = _f(FunnelSection, "", factory=True)
    ray: RaySection = _f(RaySection, "", factory=True)
    run: RunSection = _f(RunSection, "", factory=True)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# --- validation --------------------------------------------------------------------------------

def _is_section(tp) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _hints(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _check_value(path: str, value, tp, meta: dict):
    """``value`` converted to ``tp`` (ints accepted as floats), or ConfigError naming ``path``."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _check_value(path, value, args[0], meta)
    if value is None:
        raise ConfigError(path, "must not be null")
    if tp is Any:
        return _check_plain(path, value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, f"expected true or false, got {_show(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(path, f"expected an integer, got {_show(value)}")
        return _bounds(path, value, meta)
    if tp is float:
        return _bounds(path, _number(path, value), meta)
    if tp is str:
        value = _check_str(path, value)
        if meta.get("choices") and value not in meta["choices"]:
            raise ConfigError(path, f"expected one of {', '.join(meta['choices'])}, got {_show(value)}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(path, f"expected a list, got {_show(value)}")
        _check_length(path, value, meta)
        (item,) = typing.get_args(tp)
        return [_check_value(f"{path}[{i}]", v, item, meta.get("items") or {}) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(path, f"expected a mapping, got {_show(value)}")
        _check_length(path, value, meta)
        kt, vt = typing.get_args(tp)
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(path, f"keys must be strings, got {_show(k)}")
            out[_check_str(path, k)] = _check_value(f"{path}.{_key(k)}", v, vt, meta.get("items") or {})
        return out
    if _is_section(tp):
        return _build(tp, value, path)
    raise ConfigError(path, f"unsupported type {tp}")  # pragma: no cover - schema bug


def _number(path: str, value) -> float:
    """A finite float: NaN and infinity pass every ``<``/``>`` test, so they are refused here."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(path, f"expected a number, got {_show(value)}")
    try:
        x = float(value)
    except OverflowError:
        x = math.inf
    if not math.isfinite(x):
        raise ConfigError(path, f"must be a finite number, got {_show(value)}")
    return x


def _check_str(path: str, value) -> str:
    """Strings become folder names, paths and module names: no NUL, bounded length."""
    if not isinstance(value, str):
        raise ConfigError(path, f"expected a string, got {_show(value)}")
    if "\0" in value:
        raise ConfigError(path, f"must not contain a NUL character, got {_show(value)}")
    if len(value) > STR_MAX:
        raise ConfigError(path, f"longer than {STR_MAX} characters: {_show(value)}")
    return value


def _check_length(path: str, value, meta: dict) -> None:
    most = meta.get("max_items") or LIST_MAX
    if len(value) > most:
        raise ConfigError(path, f"at most {most} entries, got {len(value)}")


def _check_plain(path: str, value, depth: int = 0):
    """A free-form value (``evaluator.overrides``): plain YAML data only (null, booleans, finite
    numbers, strings, lists, string-keyed mappings), bounded in depth, length and size."""
    if depth > YAML_MAX_DEPTH:
        raise ConfigError(path, f"nested deeper than {YAML_MAX_DEPTH} levels")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > SEED_MAX:
            raise ConfigError(path, f"integer out of range (|x| <= 2**63 - 1), got {_show(value)}")
        return value
    if isinstance(value, float):
        return _number(path, value)
    if isinstance(value, str):
        return _check_str(path, value)
    if isinstance(value, list):
        _check_length(path, value, {})
        return [_check_plain(f"{path}[{i}]", v, depth + 1) for i, v in enumerate(value)]
    if isinstance(value, dict):
        _check_length(path, value, {})
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(path, f"keys must be strings, got {_show(k)}")
            out[_check_str(path, k)] = _check_plain(f"{path}.{_key(k)}", v, depth + 1)
        return out
    raise ConfigError(path, f"expected a number, string, boolean, list or mapping, got {type(value).__name__} "
                            f"{_show(value)}")


def _bounds(path: str, value, meta: dict):
    if meta.get("ge") is not None and value < meta["ge"]:
        raise ConfigError(path, f"must be >= {meta['ge']}, got {_show(value)}")
    if meta.get("gt") is not None and value <= meta["gt"]:
        raise ConfigError(path, f"must be > {meta['gt']}, got {_show(value)}")
    if meta.get("le") is not None and value > meta["le"]:
        raise ConfigError(path, f"must be <= {meta['le']}, got {_show(value)}")
    return value


def _build(cls, data, path: str = ""):
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(path or "<root>", f"expected a mapping, got {_show(data)}")
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            where = f"{path}.{_key(key)}" if path else _key(key)
            raise ConfigError(where, f"unknown key (known: {', '.join(fields)})")
    kwargs = {}
    for name, f in fields.items():
        if name in data:
            kwargs[name] = _check_value(f"{path}.{name}" if path else name, data[name], hints[name],
                                        dict(f.metadata))
    return cls(**kwargs)


def _check_name(name: str) -> None:
    """``name`` starts the run directory's name."""
    if len(name) > NAME_MAX or not name.isprintable() or "/" in name or "\\" in name or name.startswith("."):
        raise ConfigError("name", f"must be a plain name usable in a folder name (printable, no / or \\, not "
                                  f"starting with a dot, at most {NAME_MAX} characters), got {_show(name)}")


# Settings every proxy task has (``registry.COMMON_DEFAULTS``), with the bounds a value must meet:
# checked without importing a task (JAX); a task's own settings are checked by ``check_evaluator``.
_COMMON_SETTINGS: dict[str, tuple[Any, dict]] = {
    "steps": (int, {"ge": 1, "le": 10_000_000}),
    "points": (int, {"ge": 1, "le": 10_000}),
    "schedule": (str, {"choices": SCHEDULES}),
    "warmup": (float, {"ge": 0, "le": 1}),
    "lr_peak": (float, {"gt": 0, "le": 1e6}),
    "param_scale": (float, {"gt": 0, "le": 1e12}),
    "blowup": (float, {"gt": 0, "le": 1e12}),
    "baseline_lr": (float, {"gt": 0, "le": 1e6}),
    "baseline_wd": (float, {"ge": 0, "le": 1e6}),
    "data_seed": (int, {"ge": 0, "le": TASK_SEED_MAX}),
    "sign_flip": (bool, {}),
}
assert set(_COMMON_SETTINGS) == set(registry.COMMON_DEFAULTS), "a common task setting lacks its bounds"


def _setting_rule(name: str, default) -> tuple[Any, dict]:
    """How a task setting is checked: its bounds above, else by the type of its default (counts
    and sizes >= 1, seeds >= 0, other numbers finite and >= 0)."""
    if name in _COMMON_SETTINGS:
        return _COMMON_SETTINGS[name]
    if isinstance(default, bool):
        return bool, {}
    if isinstance(default, int):
        return int, ({"ge": 0, "le": TASK_SEED_MAX} if name.endswith("seed") else {"ge": 1, "le": COUNT_MAX})
    if isinstance(default, float):
        return float, {"ge": 0, "le": 1e12}
    return str, {}


def _check_task_tables(ev: EvaluatorSection) -> None:
    """With the built-in evaluator: tasks from the registry, common settings within bounds."""
    for name in ev.tasks or {}:
        if name not in registry.TASKS:
            raise ConfigError(f"evaluator.tasks.{_key(name)}", f"unknown task (known: {', '.join(registry.TASKS)})")
    for key, value in ev.overrides.items():
        if key in registry.TASKS:
            if not isinstance(value, dict):
                raise ConfigError(f"evaluator.overrides.{key}", f"a task's own settings are a mapping, "
                                                                f"got {_show(value)}")
            for k, v in value.items():
                if k in _COMMON_SETTINGS:
                    _check_value(f"evaluator.overrides.{key}.{_key(k)}", v, *_COMMON_SETTINGS[k])
        elif key in _COMMON_SETTINGS:
            _check_value(f"evaluator.overrides.{_key(key)}", value, *_COMMON_SETTINGS[key])


def _cross_checks(cfg: Config) -> None:
    if cfg.search.tournament > cfg.search.population:
        raise ConfigError("search.tournament", f"must be <= search.population ({cfg.search.population})")
    m = cfg.mutation
    if sum(getattr(m, name) for name in MUTATIONS) <= 0:
        raise ConfigError("mutation", f"the mutation weights ({', '.join(MUTATIONS)}) must not all be 0")
    if m.ops is not None:
        for i, name in enumerate(m.ops):
            if name not in ops.BY_NAME:
                raise ConfigError(f"mutation.ops[{i}]", f"unknown op {_show(name)}")
        if not m.ops:
            raise ConfigError("mutation.ops", "must not be empty")
    if not cfg.search.seeds:
        raise ConfigError("search.seeds", "at least one seed program is needed")
    obj = cfg.search.objectives
    if not obj or obj[0] != "fitness" or len(set(obj)) != len(obj) or (len(obj) > 1 and obj[1] != "states"):
        raise ConfigError("search.objectives", f"expected [fitness], [fitness, states] or [fitness, states, length], "
                                               f"got {_show(obj)}")
    for i, scale in enumerate(cfg.funnel.scales):
        if scale not in SCALES:
            raise ConfigError(f"funnel.scales[{i}]", f"expected one of the task registry's scales "
                                                     f"({', '.join(SCALES)}), got {_show(scale)}")
    ev = cfg.evaluator
    for key in EVALUATOR_OPTIONS:
        if key in ev.overrides:
            raise ConfigError(f"evaluator.overrides.{key}", f"an evaluator option, not a task setting: "
                                                            f"write it as evaluator.{key}")
    if ev.hurdle_early and ev.hurdle_early >= ev.hurdle_fraction:
        raise ConfigError("evaluator.hurdle_early", f"must be before evaluator.hurdle_fraction "
                                                    f"({ev.hurdle_fraction:g}), got {_show(ev.hurdle_early)}")
    if not ev.lr_grid:
        raise ConfigError("evaluator.lr_grid", "at least one value is needed")
    if not ev.seeds:
        raise ConfigError("evaluator.seeds", "at least one task seed is needed")
    if ev.tasks is not None and not ev.tasks:
        raise ConfigError("evaluator.tasks", "at least one task is needed")
    if ev.tasks is not None and not sum(ev.tasks.values()) > 0:
        raise ConfigError("evaluator.tasks", "at least one task weight must be > 0")
    if ev.factory is not None and not FACTORY_RE.fullmatch(ev.factory):
        raise ConfigError("evaluator.factory", f"expected 'module:callable' (a dotted module name and an "
                                               f"attribute), got {_show(ev.factory)}")
    if ev.factory is None:
        _check_task_tables(ev)
    if cfg.race.seeds is None and max(ev.seeds) + cfg.race.max_seeds > TASK_SEED_MAX:
        raise ConfigError("race.max_seeds", f"races draw the task seeds after evaluator.seeds, past "
                                            f"{TASK_SEED_MAX}: lower the seeds or set race.seeds")
    _check_name(cfg.name)


def from_dict(data: dict) -> Config:
    """Validate a mapping (as read from YAML) into a Config; ConfigError names the bad key."""
    cfg = _build(Config, data)
    _cross_checks(cfg)
    return cfg


# --- checks that need more than the config ------------------------------------------------------

def check_seeds(cfg: Config, programs: list[Program]) -> None:
    """The mutation section can make children of the seed programs (loaded by the caller, in the
    order of ``search.seeds``): a seed longer than ``mutation.max_length``, or weights and ops
    that give no valid child, would otherwise stop the search with ``MutationFailed`` once it ran."""
    m = cfg.mutation
    for i, (spec, program) in enumerate(zip(cfg.search.seeds, programs)):
        n = len(program.statements)
        if n > m.max_length:
            raise ConfigError("mutation.max_length", f"is {m.max_length}, but the seed program search.seeds[{i}] "
                                                     f"({_show(spec)}) has {n} statements")
    rng = np.random.default_rng(cfg.seed)
    for i, (spec, program) in enumerate(zip(cfg.search.seeds, programs)):
        try:
            mutate(program, rng, m)
        except MutationFailed:
            raise ConfigError("mutation", f"no valid child of search.seeds[{i}] ({_show(spec)}) in "
                                          f"{m.max_redraws} draws: check the mutation weights, ops and "
                                          f"max_length") from None


def check_evaluator(cfg: Config) -> None:
    """With the built-in evaluator, ``evaluator.overrides`` against each selected task's settings
    at every scale the run uses, so a bad setting is named by its key path before any evaluator is
    built (imports the task modules, hence JAX). A factory's evaluator checks its own arguments."""
    ev = cfg.evaluator
    limit = sizes.available_bytes()
    _sized(sizes.check_population, cfg.search.population, cfg.mutation.max_length, limit)
    if ev.factory is not None:
        return
    tasks = list(ev.tasks or registry.DEFAULT_TASKS)
    shared = {k: v for k, v in ev.overrides.items() if k not in registry.TASKS}
    used: set[str] = set()
    for scale in dict.fromkeys(("proxy", *cfg.funnel.scales)):
        for name in tasks:
            known = registry.settings(name, scale)
            own = {k: v for k, v in shared.items() if k in known}
            used |= set(own)
            mine = ev.overrides.get(name, {})
            for k in mine:
                if k not in known:
                    raise ConfigError(f"evaluator.overrides.{name}.{_key(k)}",
                                      f"not a setting of task {name} (known: {', '.join(sorted(known))})")
            for k, v in {**own, **mine}.items():
                where = f"evaluator.overrides.{name}.{_key(k)}" if k in mine else f"evaluator.overrides.{_key(k)}"
                _check_value(where, v, *_setting_rule(k, known[k]))
            try:
                resolved = registry.settings(name, scale, **{**own, **mine})
            except (KeyError, ValueError) as exc:
                text = str(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc)
                given = {**own, **mine}
                culprit = next((k for k in ("steps", "points", "schedule") if k in given and k in text), None)
                where = "evaluator.overrides" + (f".{name}" if culprit in mine or (culprit is None and mine) else "")
                where += f".{culprit}" if culprit else ""
                raise ConfigError(where, f"at scale {scale}: {_clip(text)}") from None
            given = {k: f"evaluator.overrides.{name}.{_key(k)}" if k in mine else f"evaluator.overrides.{_key(k)}"
                     for k in {**own, **mine}}
            _check_sizes(cfg, name, scale, resolved, given, limit)
    unused = sorted(set(shared) - used)
    if unused:
        raise ConfigError(f"evaluator.overrides.{_key(unused[0])}",
                          f"not a setting of any selected task ({', '.join(tasks)})")


def _check_sizes(cfg: Config, name: str, scale: str, resolved: dict, given: dict[str, str], limit: int) -> None:
    """Size settings within their hard caps, and the task with its batched runs within memory
    (``proxy_tasks.sizes``), before anything is built."""
    from proxy_tasks.interpreter import BUCKETS, bucket_for, n_slots  # JAX, like the task modules

    defaults = [registry.settings(name, s) for s in SCALES]
    for k, where in given.items():
        cap = sizes.hard_cap(defaults, k)
        if cap is not None and resolved[k] > cap:
            raise ConfigError(where, f"must be <= {cap:,} ({sizes.HARD_CAP_FACTOR} x the largest default of "
                                     f"task {name}), got {_show(resolved[k])}")
    ev = cfg.evaluator
    runs = sizes.Runs(cfg.programs_per_call, len(ev.seeds), len(ev.lr_grid), ev.batch_size,
                      n_slots(bucket_for(min(cfg.mutation.max_length, BUCKETS[-1]))))
    keys = {"programs": "programs_per_call", "seeds": "evaluator.seeds", "lr_grid": "evaluator.lr_grid"}
    _sized(sizes.check_task, name, scale, resolved, registry.settings(name, scale), given, runs, keys, limit)


def _sized(check: Callable[..., int], *args: Any) -> None:
    try:
        check(*args)
    except sizes.SizeError as exc:
        raise ConfigError(exc.key, str(exc)) from None


# --- overrides, files --------------------------------------------------------------------------

class _LimitError(yaml.YAMLError):
    """A YAML document over the loader's bounds."""


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [x for pair in node.value for x in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root: yaml.Node) -> None:
    """Bound the document as the constructor will build it: aliases share a node, so a small file
    can name 10**9 values (billion laughs) or a value that contains itself. Walks each node once
    (iterative, memoized), computing expanded size and depth."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            if size[key] > YAML_MAX_NODES:
                raise _LimitError(f"more than {YAML_MAX_NODES} values (aliases expanded)")
            if depth[key] > YAML_MAX_DEPTH:
                raise _LimitError(f"nested deeper than {YAML_MAX_DEPTH} levels (aliases expanded)")
        elif key not in size:
            if key in on_path:
                raise _LimitError("a recursive alias (a value that contains itself)")
            on_path.add(key)
            stack.append((node, True))
            stack.extend((k, False) for k in _children(node) if id(k) not in size)


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with bounded nesting (its composer recurses: lists nested 3,000 deep
    raise RecursionError) and bounded expansion of aliases."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent, index):
        self._depth += 1
        self._nodes += 1  # stop early: PyYAML takes seconds to compose a megabyte of values
        try:
            if self._depth > YAML_MAX_DEPTH:
                raise _LimitError(f"nested deeper than {YAML_MAX_DEPTH} levels")
            if self._nodes > YAML_MAX_NODES:
                raise _LimitError(f"more than {YAML_MAX_NODES} values")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            _check_expansion(node)
        return node


def safe_load(text: str):
    """``yaml.safe_load`` within the bounds above; ConfigError (no key path) for any bad text."""
    try:
        return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 - a SafeLoader subclass
    except _LimitError as exc:
        raise ConfigError("", f"YAML too large: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError("", f"not valid YAML{where}: {_clip(exc.problem or exc.context)}") from None
    except (yaml.YAMLError, ValueError, RecursionError) as exc:  # ValueError: an integer of 4,300+ digits
        raise ConfigError("", f"not valid YAML: {_clip(exc)}") from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b=c`` -> (['a', 'b'], value parsed as YAML: numbers, booleans, null, lists)."""
    if "=" not in text:
        raise ConfigError(_key(text), "an override is KEY=VALUE, e.g. search.population=50")
    key, raw = text.split("=", 1)
    parts = [p for p in key.strip().split(".")]
    if not all(parts):
        raise ConfigError(_key(key), "empty key component")
    try:
        value = safe_load(raw) if raw.strip() else ""
    except ConfigError as exc:
        raise ConfigError(_key(key), f"cannot parse value {_show(raw)}: {exc}") from None
    return parts, value


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """A copy of ``data`` with each ``a.b=c`` set (intermediate mappings are created)."""
    data = copy.deepcopy(data or {})
    for text in overrides:
        parts, value = parse_override(text)
        node = data
        for i, p in enumerate(parts[:-1]):
            nxt = node.get(p)
            if nxt is None:
                nxt = node[p] = {}
            if not isinstance(nxt, dict):
                raise ConfigError(".".join(parts[: i + 1]), "is not a section; cannot set a key inside it")
            node = nxt
        node[parts[-1]] = value
    return data


def read_yaml(path: str | Path) -> dict:
    """The mapping in a YAML file, read with bounded size. Messages do not name the file: every
    caller prefixes it (once)."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(YAML_MAX_BYTES + 1)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise ConfigError("", f"cannot read: {_clip(getattr(exc, 'strerror', None) or exc)}") from None
    if len(raw) > YAML_MAX_BYTES:
        raise ConfigError("", f"larger than {YAML_MAX_BYTES // 1024} KiB: not a config file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError("", f"not UTF-8 text (bad byte at offset {exc.start})") from None
    data = safe_load(text)
    if data is None:
        raise ConfigError("", "empty config file (write at least one key, e.g. name: search)")
    if not isinstance(data, dict):
        raise ConfigError("", "the top level must be a mapping")
    return data


def default_yaml_text() -> str:
    """The embedded default config: what ``optsearch run`` runs without a CONFIG."""
    return resources.files("search").joinpath("defaults/default.yaml").read_text("utf-8")


def load(path: str | Path | None = None, overrides: list[str] = ()) -> Config:
    """Read ``path`` (or the embedded default), apply overrides, validate."""
    data = safe_load(default_yaml_text()) if path is None else read_yaml(path)
    return from_dict(apply_overrides(data, list(overrides)))


def migrate(data: dict) -> dict:
    """A config written by an earlier optsearch, in today's schema (a copy): evaluator options that
    were kept under ``evaluator.overrides`` move to their typed keys. Used for run directories,
    whose ``config.yaml`` must keep loading; a config given to ``run`` is validated as written."""
    data = copy.deepcopy(data or {})
    ev = data.get("evaluator")
    if isinstance(ev, dict) and isinstance(ev.get("overrides"), dict):
        for key in EVALUATOR_OPTIONS:
            if key in ev["overrides"] and key not in ev:
                ev[key] = ev["overrides"].pop(key)
    return data


def load_run_config(path: str | Path) -> Config:
    """The config of a run directory (``config.yaml``), written by this or an earlier version."""
    return from_dict(migrate(read_yaml(path)))


def dump(cfg: Config) -> str:
    """The resolved config as YAML (every key, defaults included)."""
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)


def schema_rows(cls=Config, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(key path, type, default, doc) for every leaf key: the documented schema."""
    rows = []
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        path = f"{prefix}{f.name}"
        tp = hints[f.name]
        if _is_section(tp):
            rows.extend(schema_rows(tp, path + "."))
            continue
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        doc = f.metadata.get("doc", "") + _bounds_text(f.metadata, tp)
        tname = str(tp).replace("typing.", "").replace("<class '", "").replace("'>", "").replace(" | None", " or null")
        rows.append((path, tname, yaml.safe_dump(default, default_flow_style=True).strip().removesuffix("..."
                                                                                                      ).strip(), doc))
    return rows


def _bounds_text(meta, tp) -> str:
    """The documented bounds of a key: `` (>= 1; <= 1000)``; every number is also finite."""
    def parts(m) -> list[str]:
        sym = {"ge": ">=", "gt": ">", "le": "<="}
        return [f"{sym[k]} {m[k]:g}" if isinstance(m[k], float) else f"{sym[k]} {m[k]}"
                for k in ("ge", "gt", "le") if m.get(k) is not None]

    bounds = parts(meta)
    if meta.get("choices"):
        bounds.append("one of " + ", ".join(meta["choices"]))
    if meta.get("items"):
        each = parts(meta["items"]) + (["one of " + ", ".join(meta["items"]["choices"])]
                                       if meta["items"].get("choices") else [])
        bounds.append("each " + ", ".join(each))
    if {typing.get_origin(tp), *map(typing.get_origin, typing.get_args(tp))} & {list, dict}:
        bounds.append(f"at most {meta.get('max_items') or LIST_MAX} entries")
    return f" ({'; '.join(bounds)})" if bounds else ""
