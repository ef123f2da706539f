"""The generic validator: a user's mapping checked against a tree of sections (``fields``), so
that an unknown key, a wrong type or an out-of-range value fails *before* anything runs, with the
dotted key path in the message. Numbers must be finite, strings and lists bounded."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Union

from search.config.errors import ConfigError, key_text, show
from search.config.fields import is_section, type_hints
from search.config.limits import LIST_MAX, SEED_MAX, STR_MAX, YAML_MAX_DEPTH


def check_value(path: str, value, tp, meta: dict):
    """``value`` converted to ``tp`` (ints accepted as floats), or ConfigError naming ``path``."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return check_value(path, value, args[0], meta)
    if value is None:
        raise ConfigError(path, "must not be null")
    if tp is Any:
        return _check_plain(path, value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, f"expected true or false, got {show(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(path, f"expected an integer, got {show(value)}")
        return _bounds(path, value, meta)
    if tp is float:
        return _bounds(path, _number(path, value), meta)
    if tp is str:
        value = _check_str(path, value)
        if meta.get("choices") and value not in meta["choices"]:
            raise ConfigError(path, f"expected one of {', '.join(meta['choices'])}, got {show(value)}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(path, f"expected a list, got {show(value)}")
        _check_length(path, value, meta)
        (item,) = typing.get_args(tp)
        return [check_value(f"{path}[{i}]", v, item, meta.get("items") or {}) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(path, f"expected a mapping, got {show(value)}")
        _check_length(path, value, meta)
        kt, vt = typing.get_args(tp)
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(path, f"keys must be strings, got {show(k)}")
            out[_check_str(path, k)] = check_value(f"{path}.{key_text(k)}", v, vt, meta.get("items") or {})
        return out
    if is_section(tp):
        return build(tp, value, path)
    raise ConfigError(path, f"unsupported type {tp}")  # pragma: no cover - schema bug


def _number(path: str, value) -> float:
    """A finite float: NaN and infinity pass every ``<``/``>`` test, so they are refused here."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(path, f"expected a number, got {show(value)}")
    try:
        x = float(value)
    except OverflowError:
        x = math.inf
    if not math.isfinite(x):
        raise ConfigError(path, f"must be a finite number, got {show(value)}")
    return x


def _check_str(path: str, value) -> str:
    """Strings become folder names, paths and module names: no NUL, bounded length."""
    if not isinstance(value, str):
        raise ConfigError(path, f"expected a string, got {show(value)}")
    if "\0" in value:
        raise ConfigError(path, f"must not contain a NUL character, got {show(value)}")
    if len(value) > STR_MAX:
        raise ConfigError(path, f"longer than {STR_MAX} characters: {show(value)}")
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
            raise ConfigError(path, f"integer out of range (|x| <= 2**63 - 1), got {show(value)}")
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
                raise ConfigError(path, f"keys must be strings, got {show(k)}")
            out[_check_str(path, k)] = _check_plain(f"{path}.{key_text(k)}", v, depth + 1)
        return out
    raise ConfigError(path, f"expected a number, string, boolean, list or mapping, got {type(value).__name__} "
                            f"{show(value)}")


def _bounds(path: str, value, meta: dict):
    if meta.get("ge") is not None and value < meta["ge"]:
        raise ConfigError(path, f"must be >= {meta['ge']}, got {show(value)}")
    if meta.get("gt") is not None and value <= meta["gt"]:
        raise ConfigError(path, f"must be > {meta['gt']}, got {show(value)}")
    if meta.get("le") is not None and value > meta["le"]:
        raise ConfigError(path, f"must be <= {meta['le']}, got {show(value)}")
    return value


def build(cls, data, path: str = ""):
    """An instance of the section ``cls`` from ``data`` (a mapping; None: every default)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(path or "<root>", f"expected a mapping, got {show(data)}")
    hints = type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            where = f"{path}.{key_text(key)}" if path else key_text(key)
            raise ConfigError(where, f"unknown key (known: {', '.join(fields)})")
    kwargs = {}
    for name, f in fields.items():
        if name in data:
            kwargs[name] = check_value(f"{path}.{name}" if path else name, data[name], hints[name],
                                       dict(f.metadata))
    return cls(**kwargs)
