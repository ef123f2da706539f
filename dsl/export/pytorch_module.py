"""The PyTorch target: a module with a ``torch.optim.Optimizer`` subclass."""

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
    returns_input,
)

INSTALL_HINT = 'the PyTorch exporter\'s modules and tests need PyTorch: pip install "optsearch[torch]"'
"""What the CLI and the tests say when torch is missing."""
MODULE_HINT = "PyTorch is needed for this optimizer: pip install torch"


def module(body: Body, label: str, name: str | None = None) -> str:
    """Source of a standalone module defining ``train`` (one step on tensors) and ``<Name>``, a
    ``torch.optim.Optimizer`` whose param groups carry ``lr`` and the program's constants."""
    cls = name or identifier(label, camel=True)
    live = [s for s, is_live in zip(("m", "v"), body.state_live) if is_live]
    usage = f"""
Standalone: needs only PyTorch. ``{cls}`` is a ``torch.optim.Optimizer``::

    opt = {cls}(model.parameters(), lr=1.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    loss.backward(); opt.step(); opt.zero_grad(); sched.step()

A param group's ``lr`` is the program's ``lr`` input, the learning-rate schedule's value: 1.0
runs the program as found (its step size is one of its constants, also a group setting).
"""
    head = module_docstring(body, f"{label}: an optimizer program exported for PyTorch by ``optsearch export``.", usage)
    imports = import_block(body.imports, [])
    torch_import = f'''try:
    import torch
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError({MODULE_HINT!r}) from exc'''
    init_params = parameter_list(["self", "params", "lr: float = 1.0"], body.hyperparameters, "        ")
    defaults = keyword_dict(["lr"] + [h.name for h in body.hyperparameters], "        ")
    init_state = "".join(
        f'                    state["{s}"] = torch.zeros_like(p, memory_format=torch.preserve_format)\n' for s in live)
    call_args = ", ".join(f'state["{s}"]' if s in live else "None" for s in ("m", "v"))
    outs = ", ".join(["update"] + [s if s in live else "_" for s in ("m", "v")])
    keep = ""
    for k, s in ((1, "m"), (2, "v")):
        if s in live:
            # a state returned as the unchanged weights or gradient must be copied: p changes in
            # place below and p.grad may be zeroed in place.
            copy = ".clone()" if returns_input(body, k) in ("w", "g") else ""
            keep += f'                state["{s}"] = {s}{copy}\n'
    parts = [head + "\n\n" + (imports + "\n\n" if imports else "") + torch_import + "\n\n" + hyperparameter_table(body)]
    if body.helpers:
        parts.append(body.helper_source())
    parts.append(f'''def train({body.signature()}):
    """One step of the program on tensors: returns ``(update, m, v)``; apply ``w -= update``."""
{indent(body.lines)}''')
    parts.append(f'''class {cls}(torch.optim.Optimizer):
    """The program as a PyTorch optimizer.

    Each param group has ``lr`` (the program's ``lr`` input: the schedule's value, which torch's
    learning-rate schedulers change) and the program's constants (``HYPERPARAMETERS``), which
    default to the program's values. State per parameter: {", ".join(live) if live else "none"}.
    """

    def __init__({init_params}):
        defaults = {defaults}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        """One step for every parameter that has a gradient; returns ``closure()`` if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            hyper = {{name: group[name] for name in HYPERPARAMETERS}}
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("{cls} does not support sparse gradients")
''' + (f'''                state = self.state[p]
                if not state:
{init_state}''' if live else "") + f'''                {outs} = train(p, p.grad, {call_args}, group["lr"], **hyper)
{keep}                p.sub_(update)
        return loss''')
    return "\n\n\n".join(parts) + "\n"
