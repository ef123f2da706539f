"""The search's YAML configuration: schema, validation, ``--set`` overrides.

The schema is a tree of dataclasses whose fields carry their documentation and bounds in
``metadata``; validation walks the user's mapping against it so that an unknown key, a wrong
type or an out-of-range value fails *before* anything runs, with the dotted key path in the
message. ``docs/search.md`` prints the same table that ``schema_rows()`` returns.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Union

import yaml

from dsl import ops
from proxy_tasks.registry import SCALES
from search.backends import BACKENDS
from search.mutate import MUTATIONS

# ``batching`` values of ``proxy_tasks.evaluate.Evaluator`` (kept here so the config needs no JAX)
BATCHING = ("auto", "single", "runs", "map", "vmap")
# evaluator options that configs written before they were typed kept under evaluator.overrides
EVALUATOR_OPTIONS = ("batching", "batch_size", "hurdle_fraction", "hurdle_margin")


class ConfigError(ValueError):
    """A configuration problem; the message starts with the key path (``search.population``)."""

    def __init__(self, path: str, message: str):
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


def _f(default, doc: str, *, ge=None, gt=None, le=None, choices=None, factory=False):
    meta = {"doc": doc, "ge": ge, "gt": gt, "le": le, "choices": choices}
    if factory:
        return field(default_factory=default, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class SearchSection:
    population: int = _f(100, "population size P (aging evolution), per island", ge=2, le=1_000_000)
    tournament: int = _f(10, "tournament size T (<= population)", ge=1)
    max_evaluations: int = _f(1000, "stop after this many real evaluations (cache hits are free)", ge=1)
    max_proposals: int | None = _f(None, "also stop after this many children (default 20 x max_evaluations)", ge=1)
    max_seconds: float | None = _f(None, "also stop after this wall time (not reproducible across machines)", gt=0)
    seeds: list[str] = _f(lambda: ["adamw"], "seed programs: built-in names or .train paths", factory=True)
    restart_every: int = _f(0, "restart the population every N evaluations (0: never)", ge=0)
    restart_from: str = _f("best", "what a restart refills the population with",
                           choices=("seeds", "best", "both"))
    hurdle_quantile: float = _f(0.0, "dynamic hurdle: a child whose fitness at evaluator.hurdle_fraction of training "
                                     "is below this quantile of the population's stops there (0: off)", ge=0, le=1)
    hurdle_ceiling: float | None = _f(None, "the dynamic hurdle's threshold never rises above this fitness, so a "
                                            "slow starter this close to the baseline goes on (null: no ceiling)")
    islands: int = _f(1, "islands: populations that evolve apart, taking turns to propose (1: one population)",
                      ge=1, le=1024)
    migrate_every: int = _f(0, "every N children told, each island's best joins the next island (0: never)", ge=0)
    hurdle_min: int = _f(8, "distinct programs in the population with a fitness at the hurdle point needed "
                            "before the hurdle applies", ge=1)


# The mutation section: one weight per entry of the mutation table (``search.mutate.MUTATIONS``,
# so a new mutation gets its key without an edit here), then the options the mutations read.
_MUTATION_OPTIONS: list[tuple[str, Any, Any]] = [
    ("max_length", int, _f(30, "children longer than this (statements) are redrawn", ge=1)),
    ("max_redraws", int, _f(200, "give up (error) after this many invalid children in a row", ge=1)),
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
    [(name, float, _f(m.weight, m.doc, ge=0)) for name, m in MUTATIONS.items()] + _MUTATION_OPTIONS,
    namespace={"__doc__": "The ``mutation:`` section: a weight per registered mutation, then options.",
               "__module__": __name__})


@dataclass
class EvaluatorSection:
    tasks: dict[str, float] | None = _f(None, "proxy task name -> weight (null: the Evaluator's DEFAULT_TASKS)")
    seeds: list[int] = _f(lambda: [0], "task seeds averaged into the fitness", factory=True)
    hurdle: float | None = _f(None, "hurdle passed to the Evaluator (skip later tasks below it)")
    hurdle_fraction: float = _f(0.3, "where the hurdle is checked, as a fraction of the first task's training",
                                gt=0, le=1)
    hurdle_margin: float | None = _f(None, "at the dynamic hurdle, a grid value trailing the program's best value "
                                           "there by more than this fitness stops too (null: only the threshold "
                                           "stops values)", ge=0)
    lr_race: float = _f(0.0, "with an lr_grid: every grid value trains to this fraction of the steps, then only "
                             "the best one there trains on (0: every value trains to the end)", ge=0, le=0.95)
    batching: str = _f("auto", "how the evaluator runs several programs or seeds at once: auto measures the "
                               "fastest once per task; a fixed choice keeps local runs reproducible",
                       choices=BATCHING)
    batch_size: int = _f(32, "programs per vmapped batch (batching: vmap or map)", ge=1)
    lr_grid: list[float] = _f(lambda: [1.0], "learning-rate multipliers: each task scores a program (and the "
                                             "AdamW baseline) at its best one", factory=True)
    cache_dir: str | None = _f(None, "baseline cache folder passed to the Evaluator")
    overrides: dict[str, Any] = _f(dict, "task settings (steps, batch, ...; a task's name maps to its own), "
                                         "see docs/proxy_tasks.md", factory=True)
    factory: str | None = _f(None, "'module:callable' building the evaluator instead of "
                                   "proxy_tasks.evaluate.Evaluator (e.g. search.backends.toy:ToyEvaluator)")


@dataclass
class RaceSection:
    top_fraction: float = _f(0.0, "a program whose fitness would place it in this top fraction of the population is "
                                  "scored on more task seeds, one at a time, paired with the incumbent (0: off)",
                             ge=0, le=1)
    max_seeds: int = _f(4, "task seeds a program is scored on at most (its first ones included)", ge=1)
    z: float = _f(1.0, "the paired test stops a race once the mean paired difference with the incumbent is more "
                       "than z standard errors away from 0", gt=0)
    seeds: list[int] | None = _f(None, "task seeds a race draws, in order (default: the evaluator's seeds, then "
                                       "the next integers)")


@dataclass
class FunnelSection:
    every: int = _f(0, "run the funnel every N evaluations (0: only at the end)", ge=0)
    top_k: int = _f(5, "distinct programs re-evaluated per round (by proxy fitness)", ge=1)
    scales: list[str] = _f(lambda: ["x10", "x100"], "successive scales; a program goes on only if "
                                                    "it beats the threshold at the previous one", factory=True)
    threshold: float = _f(0.0, "fitness needed at one scale to go on to the next (0: beats AdamW)")
    final: bool = _f(True, "run a funnel round when the search ends")


@dataclass
class RaySection:
    address: str | None = _f(None, "join this Ray cluster ('auto' or host:port); none: start a local Ray")
    workers: int = _f(2, "evaluator actors", ge=1)
    cpus_per_worker: float = _f(1.0, "CPUs each actor reserves", gt=0)
    calls_per_worker: int = _f(2, "calls queued on each actor (keeps it busy while the driver works)", ge=1)
    timeout_s: float = _f(300.0, "per-program evaluation timeout once the actor is warm", gt=0)
    startup_timeout_s: float = _f(900.0, "extra time for an actor's first call (compilation)", ge=0)
    max_retries: int = _f(2, "resubmissions of a program after its actor died", ge=0)
    single_thread: bool = _f(True, "run each actor's XLA on one thread (no oversubscription when "
                                   "actors share a node's cores)")
    pin_cores: bool = _f(True, "pin each actor to a core of its node that no other actor holds, when "
                               "cpus_per_worker <= 1 (XLA's idle threads spin: two unpinned actors on 2 "
                               "cores did half the work of two pinned ones)")


@dataclass
class RunSection:
    out: str | None = _f(None, "run directory (default results/runs/<name>-<timestamp>)")
    checkpoint_every_s: float = _f(60.0, "checkpoint when this many seconds have passed since the last one", gt=0)
    checkpoint_every: int = _f(200, "or when N children were recorded since, whichever comes first", ge=1)
    progress: bool = _f(True, "show live progress (rich) on a terminal")
    pin_core: bool = _f(False, "local backend: pin this whole process to one free core before XLA starts "
                               "(XLA's idle threads spin; pinned, proxy-task searches ran 1.3-1.4x faster)")


@dataclass
class Config:
    name: str = _f("search", "run name (prefix of the run directory)")
    seed: int = _f(0, "random seed of the search (numpy Generator)", ge=0)
    backend: str = _f("local", "where evaluations run", choices=tuple(BACKENDS))
    programs_per_call: int = _f(4, "programs handed to the evaluator per call (batched, vmapped)", ge=1)
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
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, f"expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(path, f"expected an integer, got {value!r}")
        return _bounds(path, value, meta)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(path, f"expected a number, got {value!r}")
        return _bounds(path, float(value), meta)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(path, f"expected a string, got {value!r}")
        if meta.get("choices") and value not in meta["choices"]:
            raise ConfigError(path, f"expected one of {', '.join(meta['choices'])}, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(path, f"expected a list, got {value!r}")
        (item,) = typing.get_args(tp)
        return [_check_value(f"{path}[{i}]", v, item, {}) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(path, f"expected a mapping, got {value!r}")
        kt, vt = typing.get_args(tp)
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(path, f"keys must be strings, got {k!r}")
            out[k] = _check_value(f"{path}.{k}", v, vt, {"ge": 0} if vt is float else {})
        return out
    if _is_section(tp):
        return _build(tp, value, path)
    raise ConfigError(path, f"unsupported type {tp}")  # pragma: no cover - schema bug


def _bounds(path: str, value, meta: dict):
    if meta.get("ge") is not None and value < meta["ge"]:
        raise ConfigError(path, f"must be >= {meta['ge']}, got {value!r}")
    if meta.get("gt") is not None and value <= meta["gt"]:
        raise ConfigError(path, f"must be > {meta['gt']}, got {value!r}")
    if meta.get("le") is not None and value > meta["le"]:
        raise ConfigError(path, f"must be <= {meta['le']}, got {value!r}")
    return value


def _build(cls, data, path: str = ""):
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(path or "<root>", f"expected a mapping, got {data!r}")
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            where = f"{path}.{key}" if path else str(key)
            raise ConfigError(where, f"unknown key (known: {', '.join(fields)})")
    kwargs = {}
    for name, f in fields.items():
        if name in data:
            kwargs[name] = _check_value(f"{path}.{name}" if path else name, data[name], hints[name],
                                        dict(f.metadata))
    return cls(**kwargs)


def _cross_checks(cfg: Config) -> None:
    if cfg.search.tournament > cfg.search.population:
        raise ConfigError("search.tournament", f"must be <= search.population ({cfg.search.population})")
    m = cfg.mutation
    if sum(getattr(m, name) for name in MUTATIONS) <= 0:
        raise ConfigError("mutation", f"the mutation weights ({', '.join(MUTATIONS)}) must not all be 0")
    if m.ops is not None:
        for i, name in enumerate(m.ops):
            if name not in ops.BY_NAME:
                raise ConfigError(f"mutation.ops[{i}]", f"unknown op {name!r}")
        if not m.ops:
            raise ConfigError("mutation.ops", "must not be empty")
    if not cfg.search.seeds:
        raise ConfigError("search.seeds", "at least one seed program is needed")
    for i, scale in enumerate(cfg.funnel.scales):
        if scale not in SCALES:
            raise ConfigError(f"funnel.scales[{i}]", f"expected one of the task registry's scales "
                                                     f"({', '.join(SCALES)}), got {scale!r}")
    for key in EVALUATOR_OPTIONS:
        if key in cfg.evaluator.overrides:
            raise ConfigError(f"evaluator.overrides.{key}", f"an evaluator option, not a task setting: "
                                                            f"write it as evaluator.{key}")
    if not cfg.evaluator.lr_grid:
        raise ConfigError("evaluator.lr_grid", "at least one value is needed")
    for i, x in enumerate(cfg.evaluator.lr_grid):
        if not x > 0:
            raise ConfigError(f"evaluator.lr_grid[{i}]", f"must be > 0, got {x!r}")
    if cfg.evaluator.tasks is not None and not cfg.evaluator.tasks:
        raise ConfigError("evaluator.tasks", "at least one task is needed")
    if cfg.evaluator.factory is not None and ":" not in cfg.evaluator.factory:
        raise ConfigError("evaluator.factory", "expected 'module:callable'")
    if cfg.name and ("/" in cfg.name or cfg.name.startswith(".")):
        raise ConfigError("name", f"must be a plain name usable in a folder name, got {cfg.name!r}")


def from_dict(data: dict) -> Config:
    """Validate a mapping (as read from YAML) into a Config; ConfigError names the bad key."""
    cfg = _build(Config, data)
    _cross_checks(cfg)
    return cfg


# --- overrides, files --------------------------------------------------------------------------

def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b=c`` -> (['a', 'b'], value parsed as YAML: numbers, booleans, null, lists)."""
    if "=" not in text:
        raise ConfigError(text, "an override is KEY=VALUE, e.g. search.population=50")
    key, raw = text.split("=", 1)
    parts = [p for p in key.strip().split(".")]
    if not all(parts):
        raise ConfigError(key, "empty key component")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(key, f"cannot parse value {raw!r}: {exc}") from None
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
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ConfigError("", f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError("", f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("", f"{path}: the top level must be a mapping")
    return data


def default_yaml_text() -> str:
    """The embedded default config: what ``optsearch run`` runs without a CONFIG."""
    return resources.files("search").joinpath("defaults/default.yaml").read_text("utf-8")


def load(path: str | Path | None = None, overrides: list[str] = ()) -> Config:
    """Read ``path`` (or the embedded default), apply overrides, validate."""
    data = yaml.safe_load(default_yaml_text()) if path is None else read_yaml(path)
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
        meta = f.metadata
        doc = meta.get("doc", "")
        bounds = [f"{k} {meta[k]}" for k in ("ge", "gt", "le") if meta.get(k) is not None]
        if meta.get("choices"):
            bounds.append("one of " + ", ".join(meta["choices"]))
        if bounds:
            doc += f" ({'; '.join(bounds).replace('ge ', '>= ').replace('gt ', '> ').replace('le ', '<= ')})"
        tname = str(tp).replace("typing.", "").replace("<class '", "").replace("'>", "").replace(" | None", " or null")
        rows.append((path, tname, yaml.safe_dump(default, default_flow_style=True).strip().removesuffix("..."
                                                                                                      ).strip(), doc))
    return rows
