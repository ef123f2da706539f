"""The checks of a config that belong to optsearch rather than to its types: across keys (the
tournament within the population, the hurdle checkpoints in order, ...), against the task
registry and the DSL's ops, and (``check_seeds``, ``check_evaluator``) against the seed programs,
each task's settings and the memory a run needs."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from dsl import ops
from dsl.program import Program
from proxy_tasks import registry, sizes
from proxy_tasks.registry import SCALES
from proxy_tasks.schedules import SCHEDULES
from search.config.errors import ConfigError, clip, key_text, show
from search.config.limits import COUNT_MAX, NAME_MAX, TASK_SEED_MAX
from search.config.schema import EVALUATOR_OPTIONS, Config, EvaluatorSection
from search.config.validate import build, check_value
from search.mutate import MUTATIONS, MutationFailed, mutate

# ``evaluator.factory``: a dotted module name and a callable in it
FACTORY_RE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")


def _check_name(name: str) -> None:
    """``name`` starts the run directory's name."""
    if len(name) > NAME_MAX or not name.isprintable() or "/" in name or "\\" in name or name.startswith("."):
        raise ConfigError("name", f"must be a plain name usable in a folder name (printable, no / or \\, not "
                                  f"starting with a dot, at most {NAME_MAX} characters), got {show(name)}")


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
            raise ConfigError(f"evaluator.tasks.{key_text(name)}", f"unknown task (known: {', '.join(registry.TASKS)})")
    for key, value in ev.overrides.items():
        if key in registry.TASKS:
            if not isinstance(value, dict):
                raise ConfigError(f"evaluator.overrides.{key}", f"a task's own settings are a mapping, "
                                                                f"got {show(value)}")
            for k, v in value.items():
                if k in _COMMON_SETTINGS:
                    check_value(f"evaluator.overrides.{key}.{key_text(k)}", v, *_COMMON_SETTINGS[k])
        elif key in _COMMON_SETTINGS:
            check_value(f"evaluator.overrides.{key_text(key)}", value, *_COMMON_SETTINGS[key])


def _cross_checks(cfg: Config) -> None:
    if cfg.search.tournament > cfg.search.population:
        raise ConfigError("search.tournament", f"must be <= search.population ({cfg.search.population})")
    m = cfg.mutation
    if sum(getattr(m, name) for name in MUTATIONS) <= 0:
        raise ConfigError("mutation", f"the mutation weights ({', '.join(MUTATIONS)}) must not all be 0")
    if m.ops is not None:
        for i, name in enumerate(m.ops):
            if name not in ops.BY_NAME:
                raise ConfigError(f"mutation.ops[{i}]", f"unknown op {show(name)}")
        if not m.ops:
            raise ConfigError("mutation.ops", "must not be empty")
    if not cfg.search.seeds:
        raise ConfigError("search.seeds", "at least one seed program is needed")
    obj = cfg.search.objectives
    if not obj or obj[0] != "fitness" or len(set(obj)) != len(obj) or (len(obj) > 1 and obj[1] != "states"):
        raise ConfigError("search.objectives", f"expected [fitness], [fitness, states] or [fitness, states, length], "
                                               f"got {show(obj)}")
    for i, scale in enumerate(cfg.funnel.scales):
        if scale not in SCALES:
            raise ConfigError(f"funnel.scales[{i}]", f"expected one of the task registry's scales "
                                                     f"({', '.join(SCALES)}), got {show(scale)}")
    ev = cfg.evaluator
    for key in EVALUATOR_OPTIONS:
        if key in ev.overrides:
            raise ConfigError(f"evaluator.overrides.{key}", f"an evaluator option, not a task setting: "
                                                            f"write it as evaluator.{key}")
    if ev.hurdle_early and ev.hurdle_early >= ev.hurdle_fraction:
        raise ConfigError("evaluator.hurdle_early", f"must be before evaluator.hurdle_fraction "
                                                    f"({ev.hurdle_fraction:g}), got {show(ev.hurdle_early)}")
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
                                               f"attribute), got {show(ev.factory)}")
    if ev.factory is None:
        _check_task_tables(ev)
    if cfg.race.seeds is None and max(ev.seeds) + cfg.race.max_seeds > TASK_SEED_MAX:
        raise ConfigError("race.max_seeds", f"races draw the task seeds after evaluator.seeds, past "
                                            f"{TASK_SEED_MAX}: lower the seeds or set race.seeds")
    _check_name(cfg.name)


def from_dict(data: dict) -> Config:
    """Validate a mapping (as read from YAML) into a Config; ConfigError names the bad key."""
    cfg = build(Config, data)
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
                                                     f"({show(spec)}) has {n} statements")
    rng = np.random.default_rng(cfg.seed)
    for i, (spec, program) in enumerate(zip(cfg.search.seeds, programs)):
        try:
            mutate(program, rng, m)
        except MutationFailed:
            raise ConfigError("mutation", f"no valid child of search.seeds[{i}] ({show(spec)}) in "
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
                    raise ConfigError(f"evaluator.overrides.{name}.{key_text(k)}",
                                      f"not a setting of task {name} (known: {', '.join(sorted(known))})")
            values = {**own, **mine}
            given = {k: f"evaluator.overrides.{name}.{key_text(k)}" if k in mine  # each setting's key path
                     else f"evaluator.overrides.{key_text(k)}" for k in values}
            for k, v in values.items():
                check_value(given[k], v, *_setting_rule(k, known[k]))
            try:
                resolved = registry.settings(name, scale, **values)
            except (KeyError, ValueError) as exc:
                text = str(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc)
                culprit = next((k for k in ("steps", "points", "schedule") if k in values and k in text), None)
                where = "evaluator.overrides" + (f".{name}" if culprit in mine or (culprit is None and mine) else "")
                where += f".{culprit}" if culprit else ""
                raise ConfigError(where, f"at scale {scale}: {clip(text)}") from None
            _check_sizes(cfg, name, scale, resolved, given, limit)
    unused = sorted(set(shared) - used)
    if unused:
        raise ConfigError(f"evaluator.overrides.{key_text(unused[0])}",
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
                                     f"task {name}), got {show(resolved[k])}")
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
