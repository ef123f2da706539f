"""The optax target: a module with a function returning an ``optax.GradientTransformation``."""

from __future__ import annotations

from dsl.export.codegen import (
    Body,
    hyperparameter_table,
    identifier,
    import_block,
    indent,
    keyword_dict,
    module_docstring,
    parameter_list,
)


def module(body: Body, label: str, name: str | None = None) -> str:
    """Source of a standalone module defining ``train`` (one step on jax arrays) and ``<name>``,
    a function returning the ``optax.GradientTransformation``."""
    fn = name or identifier(label)
    state_cls = identifier(fn, camel=True) + "State"
    live = [s for s, is_live in zip(("m", "v"), body.state_live) if is_live]
    usage = f"""
Standalone: needs jax and optax. ``{fn}(learning_rate)`` is an ``optax.GradientTransformation``::

    tx = {fn}(learning_rate=optax.cosine_decay_schedule(1.0, steps))
    state = tx.init(params)
    updates, state = tx.update(grads, state, params)  # params are required
    params = optax.apply_updates(params, updates)

``learning_rate`` (a float or a schedule of the step count) is the program's ``lr`` input, the
schedule's value: 1.0 runs the program as found (its step size is one of its constants).
"""
    head = module_docstring(body, f"{label}: an optimizer program exported for optax by ``optsearch export``.", usage)
    hyper_args = keyword_dict([h.name for h in body.hyperparameters], "    ")
    state_fields = "".join(f"    {s}: optax.Updates\n" for s in live)
    init_fields = "".join(f",\n            {s}=jax.tree.map(jnp.zeros_like, params)" for s in live)
    flat = "".join(
        f"        {s}s = treedef.flatten_up_to(state.{s})\n" if s in live else f"        {s}s = [None] * len(leaves)\n"
        for s in ("m", "v"))
    cast = "jnp.asarray(o[{k}], dtype=w.dtype) for o, w in zip(outs, leaves, strict=True)"
    new_state = "".join(
        f"        new_{s} = treedef.unflatten([{cast.format(k=k)}])\n" for k, s in ((1, "m"), (2, "v")) if s in live)
    new_fields = "".join(f", {s}=new_{s}" for s in live)
    factory_params = parameter_list(["learning_rate: optax.ScalarOrSchedule = 1.0"], body.hyperparameters, "    ")
    parts = [
        head + "\n\n" + import_block(body.imports, ["jax", "jax.numpy as jnp", "optax"], typing=("NamedTuple",))
        + "\n\n" + hyperparameter_table(body),
    ]
    if body.helpers:
        parts.append(body.helper_source())
    parts.append(f'''def train({body.signature()}):
    """One step of the program on jax arrays: returns ``(update, m, v)``; apply ``w = w - update``."""
{indent(body.lines)}''')
    held = (f"the program's state {' and '.join(live)}, one tensor per parameter leaf" if live
            else "nothing else: the program keeps no state")
    parts.append(f'''class {state_cls}(NamedTuple):
    """The step count and {held}."""

    count: jax.Array
{state_fields}'''.rstrip("\n"))
    parts.append(f'''def {fn}({factory_params}) -> optax.GradientTransformation:
    """The program as an optax transformation; the keyword arguments are its constants.

    It reads the weights, so ``update`` needs ``params``; it returns ``-update`` (optax adds
    updates). Each parameter leaf runs the program separately.
    """
    hyper = {hyper_args}

    def init_fn(params):
        return {state_cls}(
            count=jnp.zeros([], jnp.int32){init_fields},
        )

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("{fn} reads the weights: pass params to update()")
        lr = learning_rate(state.count) if callable(learning_rate) else learning_rate
        leaves, treedef = jax.tree.flatten(params)
        grads = treedef.flatten_up_to(updates)
{flat}        outs = [train(w, g, m, v, lr, **hyper) for w, g, m, v in zip(leaves, grads, ms, vs, strict=True)]
        new_updates = treedef.unflatten([-jnp.asarray(o[0], dtype=w.dtype) for o, w in zip(outs, leaves, strict=True)])
{new_state}        return new_updates, {state_cls}(count=optax.safe_increment(state.count){new_fields})

    return optax.GradientTransformation(init_fn, update_fn)''')
    return "\n\n\n".join(parts) + "\n"
