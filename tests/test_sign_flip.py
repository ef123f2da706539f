"""``sign_flip``: programs train each parameter with a random sign, per run. Rules odd in (w, g)
take exactly the same steps; a rule that adds the same constant to every coordinate does not."""

from __future__ import annotations

import numpy as np
import pytest

from dsl import library, parse
from dsl.check import prune
from proxy_tasks import interpreter, training
from proxy_tasks.evaluate import Evaluator
from proxy_tasks.registry import get_task

FAST = {"steps": 60, "points": 3}
DRIFT = """
def train(w, g, m, v, lr):
    m = interp(g, m, 0.9)
    update = sign(m)
    wd = w * 0.01
    update = update + wd
    update = update + 0.5
    lr = lr * 0.001
    update = update * lr
    return update, m, v
"""


def curve(program, seed=0, **settings):
    task = get_task("mlp", "proxy", **FAST, **settings)
    enc = interpreter.encode(prune(program), 16).arrays()
    return training.ProgramRunner(task, 16).run(enc, seed)


@pytest.mark.parametrize("name", ["adamw", "lion", "signum"])
def test_odd_update_rules_train_exactly_as_without_flips(name):
    program = library.get(name)
    np.testing.assert_array_equal(curve(program, sign_flip=True), curve(program))


def test_a_constant_drift_trains_differently_under_flips():
    program = parse(DRIFT)
    plain, flipped = curve(program), curve(program, sign_flip=True)
    assert not np.allclose(plain, flipped)
    # and the flips differ between run seeds
    assert not np.allclose(curve(program, 1, sign_flip=True) - curve(program, 1), flipped - plain)


def test_flips_are_a_run_property():
    import jax

    k = jax.random.PRNGKey(0)
    a, b = training.sign_flips(k, 1000), training.sign_flips(jax.random.PRNGKey(1), 1000)
    assert set(np.unique(np.asarray(a))) == {-1.0, 1.0}
    assert 400 < int((np.asarray(a) > 0).sum()) < 600
    assert not np.array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(training.sign_flips(k, 1000)))


def test_evaluator_takes_sign_flip_as_an_override():
    plain = Evaluator({"mlp": 1.0}, seeds=(0,), **FAST)
    flipped = Evaluator({"mlp": 1.0}, seeds=(0,), sign_flip=True, **FAST)
    assert flipped.tasks["mlp"].settings["sign_flip"] is True
    adamw = library.get("adamw")
    assert flipped.evaluate_one(adamw).fitness == pytest.approx(plain.evaluate_one(adamw).fitness, abs=1e-6)
    drift = parse(DRIFT)
    assert flipped.evaluate_one(drift).fitness != pytest.approx(plain.evaluate_one(drift).fitness, abs=1e-4)
