"""Configs written by earlier versions of optsearch: a run directory's ``config.yaml`` must keep
loading after the schema moves a key."""

from __future__ import annotations

import copy
from pathlib import Path

from search.config.checks import from_dict
from search.config.schema import EVALUATOR_OPTIONS, Config
from search.config.yaml_load import read_yaml


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
