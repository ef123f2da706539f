"""``ConfigError`` and the short quotes of values its messages hold: a message names the key path
and quotes at most ``VALUE_CHARS`` characters of a value, however large the value is."""

from __future__ import annotations

import reprlib

from search.config.limits import MESSAGE_CHARS, VALUE_CHARS


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


def show(value) -> str:
    """``repr(value)`` for a message, at most ``VALUE_CHARS`` characters and cheap to build even
    for a megabyte string, a 10,000-digit integer or a deeply nested list."""
    text = _REPR.repr(value)
    return text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS - 3] + "..."


def key_text(key) -> str:
    """A mapping key as a key path component (short, printable)."""
    if isinstance(key, str) and len(key) <= 60 and key.isprintable():
        return key
    return show(key)


def clip(text: object, limit: int = 500) -> str:
    """``text`` cut to ``limit`` characters (an exception's message quoted in ours)."""
    text = str(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."
