"""The search's YAML configuration: schema, validation, ``--set`` overrides.

The schema (``schema``) is a tree of dataclasses whose fields carry their documentation and bounds
in ``metadata``; validation (``validate``, then the cross checks in ``checks``) walks the user's
mapping against it so that an unknown key, a wrong type or an out-of-range value fails *before*
anything runs, with the dotted key path in the message. ``docs/search.md`` prints the same table
that ``schema_rows()`` returns.

A config is untrusted input until validated: numbers must be finite and within documented bounds
(``limits``: upper ones too, so a typo cannot allocate until the machine runs out of memory), YAML
files are read with bounded size, nesting and alias expansion (``yaml_load``), and messages quote
at most ``VALUE_CHARS`` characters of a value. ``evaluator.factory`` imports the module it names:
a config that sets it must be trusted like code. A run directory's config, maybe written by an
earlier version, is read with ``load_run_config`` (``migration``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from search.config.checks import FACTORY_RE, check_evaluator, check_seeds, from_dict
from search.config.errors import ConfigError
from search.config.limits import (
    COUNT_MAX,
    LIST_MAX,
    MESSAGE_CHARS,
    NAME_MAX,
    SECONDS_MAX,
    SEED_MAX,
    STR_MAX,
    TASK_SEED_MAX,
    VALUE_CHARS,
    WEIGHT_MAX,
    YAML_MAX_BYTES,
    YAML_MAX_DEPTH,
    YAML_MAX_NODES,
)
from search.config.migration import load_run_config, migrate
from search.config.schema import (
    BATCHING,
    EVALUATOR_OPTIONS,
    Config,
    EvaluatorSection,
    FunnelSection,
    MutationSection,
    RaceSection,
    RaySection,
    RunSection,
    SearchSection,
    schema_rows,
)
from search.config.yaml_load import apply_overrides, parse_override, read_yaml, safe_load


def default_yaml_text() -> str:
    """The embedded default config: what ``optsearch run`` runs without a CONFIG."""
    return resources.files("search").joinpath("defaults/default.yaml").read_text("utf-8")


def load(path: str | Path | None = None, overrides: list[str] = ()) -> Config:
    """Read ``path`` (or the embedded default), apply overrides, validate."""
    data = safe_load(default_yaml_text()) if path is None else read_yaml(path)
    return from_dict(apply_overrides(data, list(overrides)))


def dump(cfg: Config) -> str:
    """The resolved config as YAML (every key, defaults included)."""
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)


__all__ = [
    "BATCHING", "COUNT_MAX", "EVALUATOR_OPTIONS", "FACTORY_RE", "LIST_MAX", "MESSAGE_CHARS", "NAME_MAX",
    "SECONDS_MAX", "SEED_MAX", "STR_MAX", "TASK_SEED_MAX", "VALUE_CHARS", "WEIGHT_MAX", "YAML_MAX_BYTES",
    "YAML_MAX_DEPTH", "YAML_MAX_NODES", "Config", "ConfigError", "EvaluatorSection", "FunnelSection",
    "MutationSection", "RaceSection", "RaySection", "RunSection", "SearchSection", "apply_overrides",
    "check_evaluator", "check_seeds", "default_yaml_text", "dump", "from_dict", "load", "load_run_config",
    "migrate", "parse_override", "read_yaml", "safe_load", "schema_rows",
]
