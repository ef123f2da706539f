"""lion: an optimizer program exported for numpy by ``optsearch export``.

Standalone: needs only numpy. ``train`` is a pure step function::

    m, v = np.zeros_like(w), np.zeros_like(w)
    for step in range(steps):
        update, m, v = train(w, grad(w), m, v, lr=schedule(step))
        w = w - update

``lr`` is the learning-rate schedule's value: 1.0 runs the program as found (its step size is
one of its constants).

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

import numpy as np

HYPERPARAMETERS = {"update_beta": 0.9, "m_beta": 0.99, "wd_scale": 0.01, "lr_scale": 0.0001}
"""The program's constants, by keyword: defaults of the arguments below."""


@np.errstate(all="ignore")
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
    """One step of the program: returns ``(update, m, v)``; apply ``w = w - update``.

    ``w, g, m, v`` are arrays of one shape. NaN and Inf propagate without warnings, as in the
    program language.
    """
    update = (1 - update_beta) * g + update_beta * m
    update = np.sign(update)
    m = (1 - m_beta) * g + m_beta * m
    wd = w * wd_scale
    update = update + wd
    lr = lr * lr_scale
    update = update * lr
    return update, m, v
