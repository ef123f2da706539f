"""The behavioural sign-momentum test used by the replay's goal."""

from __future__ import annotations

import pytest

from dsl import library, parse
from simplify.family import sign_momentum

ADAMW_SIGN = str(library.get("adamw")).replace("    wd = w * 0.01", "    update = sign(update)\n    wd = w * 0.01")
SIGN_OF_W = """
def train(w, g, m, v, lr):
    m = interp(g, m, 0.9)
    u = m + w
    update = sign(u)
    update = update * lr
    return update, m, v
"""
NORMALIZED = """
def train(w, g, m, v, lr):
    m = interp(g, m, 0.9)
    a = m * m
    b = sqrt(a)
    update = m / b
    lr = lr * 0.001
    update = update * lr
    return update, m, v
"""


@pytest.mark.parametrize("name", ["signum", "lion", "discovered"])
def test_sign_momentum_builtins_are_members(name):
    assert sign_momentum(library.get(name)).member


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam", "adamw", "signsgd"])
def test_other_builtins_are_not(name):
    r = sign_momentum(library.get(name))
    assert not r.member and r.why


def test_decay_is_measured_and_rewrites_count():
    r = sign_momentum(library.get("lion"))
    assert r.decay == pytest.approx(0.01, rel=1e-6)
    assert sign_momentum(parse(ADAMW_SIGN)).member  # sign(m / sqrt(v)) + decay: the seed plus one insert
    assert sign_momentum(parse(NORMALIZED)).member and sign_momentum(parse(NORMALIZED)).decay == 0.0
    assert "signSGD" in sign_momentum(library.get("signsgd")).why


def test_weights_inside_the_sign_are_not_decoupled_decay():
    r = sign_momentum(parse(SIGN_OF_W))
    assert r.sign_like and not r.member and "decoupled" in r.why
