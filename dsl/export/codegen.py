"""The part of code generation shared by the targets: names, hyperparameters and the body.

The body is the program's ``train`` function written out in the target's array library, one line
per statement of the pruned program. Every numeric literal becomes a keyword argument named for
its role (``m = interp(g, m, 0.99)`` gives ``m_beta=0.99``), so users can tune the program's
constants while the defaults reproduce the program exactly.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

from dsl import ops
from dsl.check import analyze, prune
from dsl.export.templates import HELPERS, PYTORCH, TARGETS, TEMPLATES, helper_closure
from dsl.program import INPUTS, Program

# Names the generated modules use at module level or inside their wrappers; program names and
# hyperparameters must not shadow them.
MODULE_NAMES = frozenset({
    "np", "jnp", "jax", "optax", "torch", "math", "NamedTuple", "train", "HYPERPARAMETERS",
    "learning_rate", "hyper", "init_fn", "update_fn", "params", "updates", "state", "closure",
    "self", "group", "loss", "leaves", "treedef", "grads", "ms", "vs", "outs", "lr_in",
    "initial_lr", "like", "w_in", "u", "p",
})
# Ruff's E741 rejects these as variable names.
AMBIGUOUS = frozenset({"l", "O", "I"})

_ROLES = {  # (op, argument position) -> hyperparameter suffix; None: any position
    ("mul", None): "scale", ("add", None): "shift", ("sub", 1): "shift", ("sub", 0): "offset",
    ("interp", 2): "beta", ("div", 1): "divisor", ("div", 0): "numerator",
    ("power", 1): "exponent", ("power", 0): "base", ("clip", 1): "bound",
    ("clip_by_global_norm", 1): "max_norm", ("max", None): "floor", ("min", None): "ceiling",
}

MAX_LINE = 120


@dataclass(frozen=True)
class Hyperparameter:
    """A literal of the program turned into a keyword argument."""

    name: str
    value: float
    statement: int  # index in the pruned program
    position: int   # argument position in that statement


@dataclass(frozen=True)
class Body:
    """A program rendered for one target.

    ``lines`` are the function body (unindented) including the return line; ``state_live`` says
    whether the incoming m and v are ever read (wrappers keep only live state).
    """

    target: str
    program: Program  # pruned
    removed: int      # statements dropped by pruning
    hyperparameters: tuple[Hyperparameter, ...]
    lines: tuple[str, ...]
    returns: tuple[str, str, str]
    helpers: tuple[str, ...]
    imports: frozenset[str]
    state_live: tuple[bool, bool]

    def signature(self, indent: str = "    ") -> str:
        """``w, g, m, v, lr=1.0, *, name=value, ...`` for ``def train(...)``."""
        return parameter_list(["w", "g", "m", "v", "lr=1.0"], self.hyperparameters, indent)

    def helper_source(self) -> str:
        return "\n\n\n".join(HELPERS[self.target][h].source for h in self.helpers)


def parameter_list(leading: list[str], hyper: tuple[Hyperparameter, ...], indent: str) -> str:
    """A parameter list, one per line when it would not fit on the ``def`` line."""
    items = leading + (["*"] if hyper else []) + [f"{h.name}: float = {h.value!r}" for h in hyper]
    one = ", ".join(items)
    if len(one) <= 80:
        return one
    return "\n" + "".join(f"{indent}{item},\n" for item in items) + indent[:-4]


def identifier(label: str, camel: bool = False) -> str:
    """A Python identifier made from a program label (``best-2.train`` -> ``best_2``/``Best2``)."""
    words = [w for w in re.split(r"[^0-9A-Za-z]+", label) if w]
    if not words:
        words = ["optimizer"]
    if camel:
        name = "".join(w[:1].upper() + w[1:] for w in words)
    else:
        name = "_".join(w.lower() for w in words)
    if name[0].isdigit():
        name = ("Opt" if camel else "opt_") + name
    if not valid_name(name):
        name += "Optimizer" if camel else "_optimizer"
    return name


def valid_name(name: str) -> bool:
    """Whether ``name`` can name the exported function or class (no clash with module names)."""
    return (name.isidentifier() and not keyword.iskeyword(name) and name not in MODULE_NAMES
            and not name.startswith("_"))


def _fresh(base: str, taken: set[str]) -> str:
    name = base
    i = 2
    while name in taken or keyword.iskeyword(name) or name in AMBIGUOUS:
        name = f"{base}_{i}"
        i += 1
    return name


def _safe_names(program: Program, reserved: frozenset[str]) -> dict[str, str]:
    """Program name -> name in the generated code (renamed only where it would clash)."""
    names = list(INPUTS) + [st.dst for st in program.statements]
    taken = set(names) | reserved
    out: dict[str, str] = {}
    for name in names:
        if name in out:
            continue
        if name in reserved or keyword.iskeyword(name) or name in AMBIGUOUS:
            new = _fresh(name + "_", taken)
            taken.add(new)
            out[name] = new
        else:
            out[name] = name
    return out


def _role(op: str, position: int) -> str:
    return _ROLES.get((op, position)) or _ROLES.get((op, None)) or "const"


def render(program: Program, target: str) -> Body:
    """Prune ``program`` and write its body for ``target``; ``ProgramError`` if it is invalid."""
    if target not in TARGETS:
        raise ValueError(f"unknown export target {target!r}; targets: {', '.join(TARGETS)}")
    analyze(program)  # rejects scalar returns with a clear message
    pruned = prune(program)
    info = analyze(pruned)
    reserved = MODULE_NAMES | frozenset(HELPERS[target])
    rename = _safe_names(pruned, reserved)
    taken = set(rename.values()) | reserved

    hyper: list[Hyperparameter] = []
    literal_name: dict[tuple[int, int], str] = {}
    for i, st in enumerate(pruned.statements):
        for k, arg in enumerate(st.args):
            if isinstance(arg, float):
                name = _fresh(f"{rename[st.dst]}_{_role(st.op, k)}", taken)
                taken.add(name)
                literal_name[(i, k)] = name
                hyper.append(Hyperparameter(name, arg, i, k))

    table = TEMPLATES[target]
    helpers: set[str] = set()
    imports: set[str] = set()
    lines: list[str] = []
    # torch only: names that may hold a Python float at run time (lr and the hyperparameters are
    # numbers; a constant op or arithmetic on numbers gives a number; torch functions give tensors).
    numbers = {"lr"} | {h.name for h in hyper}
    like = "w"
    if target == PYTORCH and any(st.dst == "w" for st in pruned.statements):
        like = "w_in"
        lines.append("w_in = w  # dtype and device for numbers that torch functions need as tensors")
    for i, st in enumerate(pruned.statements):
        template = table[st.op]
        args = [literal_name[(i, k)] if isinstance(a, float) else rename[a] for k, a in enumerate(st.args)]
        if target == PYTORCH and template.tensors:
            wrapped = [f"_tensor({a}, {like})" if a in numbers else a for a in args]
            if wrapped != args:
                helpers.add("_tensor")
            args = wrapped
        helpers.update(template.helpers)
        imports.update(template.imports)
        dst = rename[st.dst]
        line = f"{dst} = {template.code.format(*args)}"
        if len(line) + 4 > MAX_LINE:
            line += "  # noqa: E501"
        lines.append(line)
        arg_names = [a for a in args if not a.startswith("_tensor(")]
        is_number = ops.BY_NAME[st.op].arity == 0 or (
            not template.tensors and all(a in numbers for a in arg_names))
        if is_number:
            numbers.add(dst)
        else:
            numbers.discard(dst)
    returns = tuple(rename[n] for n in pruned.returns)
    lines.append(f"return {', '.join(returns)}")
    return Body(
        target=target, program=pruned, removed=len(program) - len(pruned),
        hyperparameters=tuple(hyper), lines=tuple(lines), returns=returns,  # type: ignore[arg-type]
        helpers=tuple(helper_closure(target, helpers)), imports=frozenset(imports),
        state_live=info.state_live,
    )


def returns_input(body: Body, slot: int) -> str | None:
    """The input name (w, g, m, v) returned unchanged in ``slot``, if any: wrappers that update
    tensors in place must copy such a state."""
    name = body.program.returns[slot]
    if name in INPUTS and not any(st.dst == name for st in body.program.statements):
        return name
    return None


def indent(lines, prefix: str = "    ") -> str:
    return "\n".join(prefix + line if line else "" for line in lines)


def docstring_source(program: Program, prefix: str = "    ") -> str:
    """The canonical source of ``program``, indented for a docstring."""
    return indent(str(program).rstrip("\n").splitlines(), prefix)


def pruned_note(body: Body) -> str:
    if body.removed:
        return f"pruned: {body.removed} redundant statement{'s' if body.removed > 1 else ''} removed"
    return "no redundant statements"


def import_block(stdlib, third_party: list[str], typing: tuple[str, ...] = ()) -> str:
    """Import lines in isort order: stdlib modules, ``from typing``, a blank line, third party."""
    first = [f"import {m}" for m in sorted(stdlib)]
    if typing:
        first.append(f"from typing import {', '.join(typing)}")
    second = [f"import {m}" for m in third_party]
    return "\n".join(first + ([""] if first and second else []) + second)


def hyperparameter_table(body: Body) -> str:
    """``HYPERPARAMETERS = {...}`` with its docstring, wrapped when long."""
    items = [f'"{h.name}": {h.value!r}' for h in body.hyperparameters]
    one = f"HYPERPARAMETERS = {{{', '.join(items)}}}"
    if len(one) > 100:
        one = "HYPERPARAMETERS = {\n" + "".join(f"    {item},\n" for item in items) + "}"
    return one + '\n"""The program\'s constants, by keyword: defaults of the arguments below."""'


def module_docstring(body: Body, first_line: str, usage: str) -> str:
    return f'''"""{first_line}

{usage.strip()}

The program ({pruned_note(body)}; each literal is a keyword argument
listed in ``HYPERPARAMETERS``):

{docstring_source(body.program)}
"""'''


def keyword_dict(names: list[str], indent: str) -> str:
    """``{"a": a, "b": b}``, one item per line when long."""
    items = [f"{n!r}: {n}".replace("'", '"') for n in names]
    one = "{" + ", ".join(items) + "}"
    if len(one) <= 80:
        return one
    return "{\n" + "".join(f"{indent}    {item},\n" for item in items) + f"{indent}}}"
