"""Built-in optimizers, each a ``.train`` file beside this module.

AdamW here is the Lion paper's seed form (no bias correction, no epsilon): the program signature
has no step counter. Bias-corrected AdamW, where a baseline needs it, comes from ``optax.adamw``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from dsl.parse import parse
from dsl.program import Program

NAMES: tuple[str, ...] = (
    "sgd", "momentum", "nesterov", "signsgd", "signum", "adam", "adamw", "lion", "discovered",
)


def _text(name: str) -> str:
    return resources.files(__package__).joinpath(f"{name}.train").read_text("utf-8")


@cache
def get(name: str) -> Program:
    """The built-in program called ``name``; KeyError listing the names if there is none."""
    if name not in NAMES:
        raise KeyError(f"no built-in optimizer {name!r}; built-ins: {', '.join(NAMES)}")
    return parse(_text(name))


def describe(name: str) -> str:
    """The first comment line of the built-in's file: a one-line description."""
    for line in _text(name).splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def listing() -> list[tuple[str, str]]:
    """(name, description) for every built-in, in a stable order."""
    return [(name, describe(name)) for name in NAMES]
