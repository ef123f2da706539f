"""How a schema is read: a tree of dataclasses ("sections") whose fields carry their documentation
and bounds in ``metadata`` (``doc``, ``ge``, ``gt``, ``le``, ``choices``, ``items``, ``max_items``;
see ``schema._field``), so that the validator and the printed table read one declaration."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from search.config.limits import LIST_MAX


def is_section(tp) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def type_hints(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def bounds_text(meta, tp) -> str:
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
