"""Exporters: a program as a standalone Python module for optax, PyTorch or numpy.

The module does not import optsearch: it is the program's ``train`` function written out in the
target's array library (one line per statement of the pruned program, the canonical source in
its docstring) plus the target's usual interface: an ``optax.GradientTransformation`` factory, a
``torch.optim.Optimizer`` subclass, or the pure step function itself (numpy). Every numeric
literal becomes a keyword argument whose default is the program's value.

Generating code needs none of the target libraries (the text is built from ``dsl.ops``-keyed
templates in ``templates.py``), so a PyTorch module can be written where torch is not installed.
"""

from __future__ import annotations

from dsl.export import numpy_module, optax_module, pytorch_module
from dsl.export.codegen import Body, Hyperparameter, identifier, render, valid_name
from dsl.export.pytorch_module import INSTALL_HINT
from dsl.export.templates import HELPERS, NUMPY, OPTAX, PYTORCH, TARGETS, TEMPLATES
from dsl.program import Program

__all__ = [
    "HELPERS", "INSTALL_HINT", "NUMPY", "OPTAX", "PYTORCH", "TARGETS", "TEMPLATES", "Body",
    "Hyperparameter", "export", "identifier", "render", "to_numpy", "to_optax", "to_pytorch",
    "valid_name",
]


def to_numpy(program: Program, label: str = "optimizer") -> str:
    """A module with ``train(w, g, m, v, lr=1.0, **constants) -> (update, m, v)`` on numpy arrays."""
    return numpy_module.module(render(program, NUMPY), label)


def to_optax(program: Program, label: str = "optimizer", name: str | None = None) -> str:
    """A module with ``<name>(learning_rate=1.0, **constants) -> optax.GradientTransformation``
    (``name`` defaults to ``label`` as an identifier)."""
    return optax_module.module(render(program, OPTAX), label, name)


def to_pytorch(program: Program, label: str = "optimizer", name: str | None = None) -> str:
    """A module with ``class <Name>(torch.optim.Optimizer)`` (``name`` defaults to ``label`` in
    CamelCase); torch is not needed to generate it."""
    return pytorch_module.module(render(program, PYTORCH), label, name)


def export(program: Program, target: str, label: str = "optimizer", name: str | None = None) -> str:
    """The module's source for ``target`` (one of ``TARGETS``); ``ProgramError`` for an invalid
    program, ``ValueError`` for an unknown target or a ``name`` that is not an identifier."""
    if target not in TARGETS:
        raise ValueError(f"unknown export target {target!r}; targets: {', '.join(TARGETS)}")
    if name is not None and not valid_name(name):
        raise ValueError(f"{name!r} cannot be used as the exported name (not a plain identifier, or reserved)")
    if target == NUMPY:
        return to_numpy(program, label)
    if target == OPTAX:
        return to_optax(program, label, name)
    return to_pytorch(program, label, name)
