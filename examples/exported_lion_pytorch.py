"""lion: an optimizer program exported for PyTorch by ``optsearch export``.

Standalone: needs only PyTorch. ``Lion`` is a ``torch.optim.Optimizer``::

    opt = Lion(model.parameters(), lr=1.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    loss.backward(); opt.step(); opt.zero_grad(); sched.step()

A param group's ``lr`` is the program's ``lr`` input, the learning-rate schedule's value: 1.0
runs the program as found (its step size is one of its constants, also a group setting).

The program (no redundant statements; each literal is a keyword argument
listed in ``HYPERPARAMETERS``):

    def train(w, g, m, v, lr):
        update = interp(g, m, 0.9)
        update = sign(update)
        m = interp(g, m, 0.99)
        wd = w * 0.01
        update = update + wd
        lr = lr * 0.0001
        update = update * lr
        return update, m, v
"""

try:
    import torch
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError('PyTorch is needed for this optimizer: pip install torch') from exc

HYPERPARAMETERS = {"update_beta": 0.9, "m_beta": 0.99, "wd_scale": 0.01, "lr_scale": 0.0001}
"""The program's constants, by keyword: defaults of the arguments below."""


def _sign(x):
    """sign(x) that keeps NaN (torch.sign(nan) is 0)."""
    return torch.where(torch.isnan(x), x, torch.sign(x))


def train(
    w,
    g,
    m,
    v,
    lr=1.0,
    *,
    update_beta: float = 0.9,
    m_beta: float = 0.99,
    wd_scale: float = 0.01,
    lr_scale: float = 0.0001,
):
    """One step of the program on tensors: returns ``(update, m, v)``; apply ``w -= update``."""
    update = (1 - update_beta) * g + update_beta * m
    update = _sign(update)
    m = (1 - m_beta) * g + m_beta * m
    wd = w * wd_scale
    update = update + wd
    lr = lr * lr_scale
    update = update * lr
    return update, m, v


class Lion(torch.optim.Optimizer):
    """The program as a PyTorch optimizer.

    Each param group has ``lr`` (the program's ``lr`` input: the schedule's value, which torch's
    learning-rate schedulers change) and the program's constants (``HYPERPARAMETERS``), which
    default to the program's values. State per parameter: m.
    """

    def __init__(
        self,
        params,
        lr: float = 1.0,
        *,
        update_beta: float = 0.9,
        m_beta: float = 0.99,
        wd_scale: float = 0.01,
        lr_scale: float = 0.0001,
    ):
        defaults = {
            "lr": lr,
            "update_beta": update_beta,
            "m_beta": m_beta,
            "wd_scale": wd_scale,
            "lr_scale": lr_scale,
        }
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        """One step for every parameter that has a gradient; returns ``closure()`` if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            hyper = {name: group[name] for name in HYPERPARAMETERS}
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("Lion does not support sparse gradients")
                state = self.state[p]
                if not state:
                    state["m"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                update, m, _ = train(p, p.grad, state["m"], None, group["lr"], **hyper)
                state["m"] = m
                p.sub_(update)
        return loss
