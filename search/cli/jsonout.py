"""Strict JSON for ``--json`` outputs: a diverged run's NaN or inf becomes null, with a note.

``json.dumps`` writes bare ``NaN`` and ``Infinity`` by default, which is not JSON: strict parsers
(``jq``, JavaScript, ``json.loads(..., parse_constant=...)``) reject the whole document. Here
every non-finite float becomes ``null``, and the object holding it gets a ``<key>_note`` beside
the key saying what was there (``"loss": [null, null], "loss_note": "nan written as null"``);
the reason a run diverged stays in its own field.
"""

from __future__ import annotations

import json
import math
import numbers
from typing import Any


def _clean(value: Any, found: set[str]) -> Any:
    """``value`` with non-finite floats as None (their spellings added to ``found``); dicts
    inside are cleaned with their own notes."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        x = float(value)
        if math.isfinite(x):
            return x
        found.add(repr(x))
        return None
    if isinstance(value, dict):
        return strict(value)
    if isinstance(value, (list, tuple)):
        return [_clean(v, found) for v in value]
    return value


def strict(obj: Any) -> Any:
    """A copy of ``obj`` that ``json.dumps(..., allow_nan=False)`` accepts (see the module)."""
    if not isinstance(obj, dict):
        return _clean(obj, set())
    out: dict = {}
    for key, value in obj.items():
        found: set[str] = set()
        out[key] = _clean(value, found)
        if found:
            out[f"{key}_note"] = f"{', '.join(sorted(found))} written as null"
    return out


def dumps(obj: Any, **kwargs) -> str:
    """Strict JSON text of ``obj``: never ``NaN`` or ``Infinity``."""
    return json.dumps(strict(obj), allow_nan=False, **kwargs)
