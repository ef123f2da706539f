"""Typed records over JSON that was written as plain dicts, giving the same JSON back.

The replay's summary grew one key at a time, in several writers: an older file lacks keys a newer
one has, holds ``null`` where another omits the key, and orders its keys as its writers set them
(a resumed replay, a moved folder). A ``Record`` is a dataclass whose fields may each be absent:
it remembers which keys it holds and in what order they were set, as the dict did, so
``to_json()`` gives back the JSON it was read from, key for key, and code reads attributes
instead of string keys. An absent field reads as None; ``has(name)`` tells it from ``null``
where that matters, ``drop(name)`` removes it (``dict.pop``); a record without keys is false.

Field types come from the annotations: ``int``, ``float`` (an integer stays one: ``12`` is not
written back ``12.0``; NaN and infinities pass, as Python's JSON writes them), ``str``, ``bool``,
``X | None``, ``list[X]``, ``dict[str, X]``, a ``Record``, or ``Json`` (any JSON value, kept as it
is: open-ended parts). A value of another type, or a key the record does not declare, is a
``RecordError`` naming the field (``seeds[1].answer.fitness``).
"""

from __future__ import annotations

import dataclasses
import numbers
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

Json = Any  # any JSON value, kept as it was read (a part other modules write, open-ended)
R = TypeVar("R", bound="Record")
Convert = Callable[[Any, str], Any]


class RecordError(ValueError):
    """JSON that is not what its record declares; ``field`` is where (``seeds[1].answer.fitness``)."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field or 'the top level'} {problem}")
        self.field = field


def _show(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "..."


def _scalar(kind: str, ok: Callable[[Any], bool]) -> Convert:
    def convert(x: Any, field: str) -> Any:
        if not ok(x):
            raise RecordError(field, f"must be {kind}, got {_show(x)}")
        return x  # as it is: an int in a float field stays an int, a numpy scalar stays one until written
    return convert


_CONVERT: dict[Any, Convert] = {
    int: _scalar("an integer", lambda x: isinstance(x, numbers.Integral) and not isinstance(x, bool)),
    float: _scalar("a number", lambda x: isinstance(x, numbers.Real) and not isinstance(x, bool)),
    str: _scalar("a string", lambda x: isinstance(x, str)),
    bool: _scalar("true or false", lambda x: isinstance(x, bool)),
    Any: lambda x, field: x,
}


def _converter(tp: Any) -> Convert:
    if tp in _CONVERT:
        return _CONVERT[tp]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType) and len(args) == 2 and type(None) in args:
        inner = _converter(next(a for a in args if a is not type(None)))
        return lambda x, field: None if x is None else inner(x, field)
    if origin is list:
        item = _converter(args[0])

        def convert_list(x: Any, field: str) -> list:
            if not isinstance(x, (list, tuple)):
                raise RecordError(field, f"must be a list, got {_show(x)}")
            return [item(v, f"{field}[{i}]") for i, v in enumerate(x)]
        return convert_list
    if origin is dict and args[0] is str:
        value = _converter(args[1])

        def convert_dict(x: Any, field: str) -> dict:
            if not isinstance(x, Mapping) or not all(isinstance(k, str) for k in x):
                raise RecordError(field, f"must be an object, got {_show(x)}")
            return {k: value(v, f"{field}.{k}") for k, v in x.items()}
        return convert_dict
    if isinstance(tp, type) and issubclass(tp, Record):
        return lambda x, field: x if isinstance(x, tp) else tp.from_json(x, field)
    raise TypeError(f"no JSON form for {tp!r}")


@dataclasses.dataclass(frozen=True)
class _Slot:
    key: str          # the JSON key (the field's name unless its metadata says ``key``)
    convert: Convert


class Record:
    """Base of the typed records (module docstring): subclasses are ``@dataclass(init=False)``;
    ``Cls(a=1, b=None)`` holds the keys given, in that order."""

    REQUIRED: ClassVar[tuple[str, ...]] = ()  # fields every reader needs: absent is an error

    def __init__(self, **values: Any) -> None:
        object.__setattr__(self, "_keys", [])
        for name in self._slots():
            object.__setattr__(self, name, None)
        for name, value in values.items():
            setattr(self, name, value)

    @classmethod
    def _slots(cls) -> dict[str, _Slot]:
        if "_SLOTS" not in cls.__dict__:
            hints = typing.get_type_hints(cls)
            cls._SLOTS = {f.name: _Slot(f.metadata.get("key", f.name), _converter(hints[f.name]))
                          for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls.__dict__["_SLOTS"]

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._slots():
            raise AttributeError(f"{type(self).__name__} has no field {name!r}")
        if name not in self._keys:
            self._keys.append(name)
        object.__setattr__(self, name, value)

    def __bool__(self) -> bool:
        return bool(self._keys)  # an empty record is false, as the empty dict it stands for

    def has(self, name: str) -> bool:
        """Whether the record holds ``name`` (set, ``null`` included), not absent."""
        if name not in self._slots():
            raise AttributeError(f"{type(self).__name__} has no field {name!r}")
        return name in self._keys

    def drop(self, name: str) -> None:
        """Remove ``name`` (absent from now on, as ``dict.pop``); nothing if it is absent."""
        if self.has(name):
            self._keys.remove(name)
            object.__setattr__(self, name, None)

    @classmethod
    def from_json(cls: type[R], raw: Any, field: str = "") -> R:
        """The record of ``raw`` (a JSON object), every value checked against its field's type;
        ``field`` names where ``raw`` sits, for the errors."""
        if not isinstance(raw, Mapping):
            raise RecordError(field, f"must be a JSON object, got {_show(raw)}")
        slots = cls._slots()
        names = {s.key: name for name, s in slots.items()}
        out = cls()
        for key, value in raw.items():
            where = f"{field}.{key}" if field else str(key)
            if key not in names:
                raise RecordError(where, f"is not a field of {cls.__name__}")
            setattr(out, names[key], slots[names[key]].convert(value, where))
        for name in cls.REQUIRED:
            if not out.has(name):
                raise RecordError(f"{field}.{name}" if field else name, "is missing")
        return out

    def to_json(self) -> dict[str, Any]:
        """The JSON object: the keys held, in the order they were set."""
        slots = self._slots()
        return {slots[name].key: _plain(getattr(self, name)) for name in self._keys}


def _plain(x: Any) -> Any:
    if isinstance(x, Record):
        return x.to_json()
    if isinstance(x, list):
        return [_plain(v) for v in x]
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return x
