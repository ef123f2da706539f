"""Per-op code templates for the three export targets, keyed by op name.

Each template is a format string over the statement's arguments ``{0} {1} {2}``; the code
generator only ever substitutes identifiers (constants become named hyperparameters), so no
template needs parentheses around its arguments. Every template reproduces the op table's
numpy semantics exactly (``dsl/ops.py``): safe division, ``sqrt``/``log`` of ``|x|``, ``clip`` to
``[-|c|, |c|]``, reducing ops returning scalars. ``tests/test_export_ops.py`` checks every op of
``ops.OPS`` against its ``np_fn`` in every target.

torch functions reject Python numbers, so a torch template marked ``tensors`` gets any argument
that may be a Python float wrapped as a 0-d tensor by the generator. torch has no ``exp10`` or
``cbrt`` and its ``sign(nan)`` is 0 (numpy's is NaN): those use exact equivalents below.
"""

from __future__ import annotations

from dataclasses import dataclass

NUMPY = "numpy"
OPTAX = "optax"
PYTORCH = "pytorch"
TARGETS: tuple[str, ...] = (OPTAX, PYTORCH, NUMPY)


@dataclass(frozen=True)
class Template:
    """``code`` with ``{i}`` for argument i; ``helpers`` it calls; ``imports`` it needs (module
    names); ``tensors``: torch only, the arguments must be tensors."""

    code: str
    helpers: tuple[str, ...] = ()
    imports: tuple[str, ...] = ()
    tensors: bool = False


@dataclass(frozen=True)
class Helper:
    """A small module-level function the generated code defines when a template uses it."""

    source: str
    needs: tuple[str, ...] = ()


def _funcs(prefix: str, names: dict[str, str], tensors: bool = False) -> dict[str, Template]:
    return {op: Template(f"{prefix}.{fn}({{0}})", tensors=tensors) for op, fn in names.items()}


_UNARY = {  # op name -> function name, identical in numpy and jax.numpy
    "abs": "abs", "cos": "cos", "sin": "sin", "tan": "tan", "arcsin": "arcsin", "arccos": "arccos",
    "arctan": "arctan", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "arcsinh": "arcsinh",
    "arccosh": "arccosh", "arctanh": "arctanh", "exp": "exp", "exp2": "exp2", "expm1": "expm1",
    "square": "square", "cbrt": "cbrt", "sign": "sign",
}
_TORCH_UNARY = {op: fn for op, fn in _UNARY.items() if op not in ("cbrt", "sign")}

_EXPRESSIONS = {  # plain Python arithmetic: works on arrays, tensors and numbers alike
    "add": Template("{0} + {1}"),
    "sub": Template("{0} - {1}"),
    "mul": Template("{0} * {1}"),
    "negative": Template("-{0}"),
    "interp": Template("(1 - {2}) * {0} + {2} * {1}"),
}


def _array_templates(xp: str, pi: str, e: str) -> dict[str, Template]:
    """numpy and jax.numpy share their spelling; ``xp`` is the module alias."""
    t = {
        "pi": Template(pi), "e": Template(e), "eps": Template("1e-08"),
        **_EXPRESSIONS,
        "div": Template("_div({0}, {1})", helpers=("_div",)),
        **_funcs(xp, _UNARY),
        "exp10": Template(f"{xp}.power(10.0, {{0}})"),
        "log": Template(f"{xp}.log({xp}.abs({{0}}))"),
        "log10": Template(f"{xp}.log10({xp}.abs({{0}}))"),
        "log2": Template(f"{xp}.log2({xp}.abs({{0}}))"),
        "log1p": Template(f"{xp}.log1p({xp}.abs({{0}}))"),
        "sqrt": Template(f"{xp}.sqrt({xp}.abs({{0}}))"),
        "cube": Template(f"{xp}.power({{0}}, 3)"),
        "reciprocal": Template("_div(1.0, {0})", helpers=("_div",)),
        "max": Template(f"{xp}.maximum({{0}}, {{1}})"),
        "min": Template(f"{xp}.minimum({{0}}, {{1}})"),
        "power": Template(f"{xp}.power({{0}}, {{1}})"),
        "clip": Template(f"{xp}.clip({{0}}, -{xp}.abs({{1}}), {xp}.abs({{1}}))"),
        "clip_by_global_norm": Template("_clip_by_global_norm({0}, {1})", helpers=("_clip_by_global_norm",)),
        "norm": Template(f"{xp}.sqrt({xp}.sum({xp}.square({{0}})))"),
        "global_norm": Template(f"{xp}.sqrt({xp}.sum({xp}.square({{0}})))"),
        "dot": Template(f"{xp}.sum({{0}} * {{1}})"),
        "cosine_sim": Template("_cosine_sim({0}, {1})", helpers=("_cosine_sim",)),
    }
    return t


def _torch_templates() -> dict[str, Template]:
    def fn(code: str, *helpers: str) -> Template:
        return Template(code, helpers=helpers, tensors=True)

    return {
        "pi": Template("math.pi", imports=("math",)),
        "e": Template("math.e", imports=("math",)),
        "eps": Template("1e-08"),
        **_EXPRESSIONS,
        "div": fn("_div({0}, {1})", "_div"),
        **_funcs("torch", _TORCH_UNARY, tensors=True),
        "exp10": fn("torch.pow(10.0, {0})"),
        "log": fn("torch.log(torch.abs({0}))"),
        "log10": fn("torch.log10(torch.abs({0}))"),
        "log2": fn("torch.log2(torch.abs({0}))"),
        "log1p": fn("torch.log1p(torch.abs({0}))"),
        "sqrt": fn("torch.sqrt(torch.abs({0}))"),
        "cube": fn("torch.pow({0}, 3)"),
        "cbrt": fn("_cbrt({0})", "_cbrt"),
        "sign": fn("_sign({0})", "_sign"),
        "reciprocal": fn("_div(1.0, {0})", "_div"),
        "max": fn("torch.maximum({0}, {1})"),
        "min": fn("torch.minimum({0}, {1})"),
        "power": fn("torch.pow({0}, {1})"),
        "clip": fn("torch.clamp({0}, -torch.abs({1}), torch.abs({1}))"),
        "clip_by_global_norm": fn("_clip_by_global_norm({0}, {1})", "_clip_by_global_norm"),
        "norm": fn("torch.sqrt(torch.sum(torch.square({0})))"),
        "global_norm": fn("torch.sqrt(torch.sum(torch.square({0})))"),
        "dot": fn("torch.sum({0} * {1})"),
        "cosine_sim": fn("_cosine_sim({0}, {1})", "_cosine_sim"),
    }


TEMPLATES: dict[str, dict[str, Template]] = {
    NUMPY: _array_templates("np", "np.pi", "np.e"),
    OPTAX: _array_templates("jnp", "jnp.pi", "jnp.e"),
    PYTORCH: _torch_templates(),
}


# --- helpers -----------------------------------------------------------------------------------

def _norm_helper(xp: str) -> Helper:
    return Helper(f'''def _norm(x):
    """L2 norm of the whole tensor (a scalar)."""
    return {xp}.sqrt({xp}.sum({xp}.square(x)))''')


def _common_helpers(xp: str, div_body: str) -> dict[str, Helper]:
    return {
        "_div": Helper(f'''def _div(a, b):
    """Safe division: 0 where b == 0, so that m / sqrt(m * m) == sign(m) everywhere."""
{div_body}'''),
        "_norm": _norm_helper(xp),
        "_cosine_sim": Helper('''def _cosine_sim(x, y):
    """dot(x, y) / (|x| |y|); 0 where either norm is 0."""
    return _div(''' + f"{xp}.sum(x * y), _norm(x) * _norm(y))", needs=("_div", "_norm")),
    }


def _clip_by_global_norm(xp: str, minimum: str) -> Helper:
    return Helper(f'''def _clip_by_global_norm(x, c):
    """x scaled down so that its L2 norm is at most |c| (unchanged when its norm is 0)."""
    n = _norm(x)
    return x * {minimum}''', needs=("_div", "_norm"))


HELPERS: dict[str, dict[str, Helper]] = {
    NUMPY: {
        **_common_helpers("np", """    zero = b == 0
    return np.where(zero, 0.0, a / np.where(zero, 1.0, b))"""),
        "_clip_by_global_norm": _clip_by_global_norm("np", "np.minimum(1.0, _div(np.abs(c), n) + (n == 0))"),
    },
    OPTAX: {
        **_common_helpers("jnp", """    a, b = jnp.asarray(a), jnp.asarray(b)
    zero = b == 0
    return jnp.where(zero, 0.0, a / jnp.where(zero, 1.0, b)).astype(jnp.result_type(a, b))"""),
        "_clip_by_global_norm": _clip_by_global_norm("jnp", "jnp.minimum(1.0, _div(jnp.abs(c), n) + (n == 0))"),
    },
    PYTORCH: {
        **_common_helpers("torch", """    zero = b == 0
    return torch.where(zero, 0.0, a / torch.where(zero, 1.0, b))"""),
        "_clip_by_global_norm": _clip_by_global_norm(
            "torch", "torch.clamp(_div(torch.abs(c), n) + (n == 0), max=1.0)"),
        "_sign": Helper('''def _sign(x):
    """sign(x) that keeps NaN (torch.sign(nan) is 0)."""
    return torch.where(torch.isnan(x), x, torch.sign(x))'''),
        "_cbrt": Helper('''def _cbrt(x):
    """Real cube root (torch has no cbrt)."""
    return torch.sign(x) * torch.pow(torch.abs(x), 1.0 / 3.0)'''),
        "_tensor": Helper('''def _tensor(x, like):
    """A Python number as a 0-d tensor of like's dtype and device: torch functions need tensors."""
    return torch.as_tensor(x, dtype=like.dtype, device=like.device)'''),
    },
}


def helper_closure(target: str, names) -> list[str]:
    """``names`` and the helpers they call, each after what it needs, in a stable order."""
    table = HELPERS[target]
    out: list[str] = []

    def visit(name: str) -> None:
        if name in out:
            return
        for dep in table[name].needs:
            visit(dep)
        out.append(name)

    for name in sorted(names):
        visit(name)
    return out
