"""The K functions: subgradients, conjugates (Fenchel-Young), domains, projections, problem text."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest

from simplify.lionk.kfuncs import L1, HalfSquaredL2, Huber, Lp, ThresholdedL1, TopK, by_name

ALL = [L1(), Lp(3.0), Lp(1.5), ThresholdedL1(0.3), TopK(3), Huber(0.7), HalfSquaredL2()]
IDS = [k.label for k in ALL]


def _in_dom_samples(K, rng, n=6, count=20):
    """Points of dom K* as gradients of K (the range of grad K is dense in dom K*), shrunk a bit."""
    return [0.999 * K.grad(rng.normal(size=n) * 3) for _ in range(count)]


@pytest.mark.parametrize("K", ALL, ids=IDS)
def test_gradient_is_a_subgradient(K):
    rng = np.random.default_rng(0)
    for _ in range(200):
        z, z2 = rng.normal(size=6) * 2, rng.normal(size=6) * 2
        assert K.value(z2) >= K.value(z) + K.grad(z) @ (z2 - z) - 1e-12


@pytest.mark.parametrize("K", [Lp(3.0), Lp(1.5), Huber(0.7), HalfSquaredL2()], ids=lambda k: k.label)
def test_gradient_matches_finite_differences_for_smooth_K(K):
    rng = np.random.default_rng(1)
    z = rng.normal(size=5) * 2
    h = 1e-6
    fd = np.array([(K.value(z + h * e) - K.value(z - h * e)) / (2 * h) for e in np.eye(5)])
    np.testing.assert_allclose(K.grad(z), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("K", ALL, ids=IDS)
def test_fenchel_young_inequality_and_equality(K):
    rng = np.random.default_rng(2)
    for y in _in_dom_samples(K, rng):
        assert math.isfinite(K.conj(y))
        for _ in range(10):
            z = rng.normal(size=6) * 3
            assert K.value(z) + K.conj(y) >= z @ y - 1e-9
    for _ in range(20):  # equality exactly at y = grad K(z)
        z = rng.normal(size=6) * 3
        y = K.grad(z)
        assert K.value(z) + K.conj(y) == pytest.approx(z @ y, abs=1e-9)


@pytest.mark.parametrize("K", [k for k in ALL if not isinstance(k, HalfSquaredL2)], ids=lambda k: k.label)
def test_outside_the_domain_the_supremum_is_unbounded(K):
    """For y outside dom K*, y.z - K(z) grows without bound along z = t (y - P(y))."""
    rng = np.random.default_rng(3)
    y = rng.normal(size=6) * 4
    assert K.conj(y) == math.inf and K.dom_distance(y) > 0
    d = y - K.project_dom(y)
    vals = [t * (y @ d) - K.value(t * d) for t in (1e2, 1e3, 1e4)]
    assert vals[0] < vals[1] < vals[2] and vals[2] > 1e3 * K.dom_distance(y) ** 2


@pytest.mark.parametrize("K", [k for k in ALL if not isinstance(k, HalfSquaredL2)], ids=lambda k: k.label)
def test_projection_onto_dom_is_the_nearest_point(K):
    rng = np.random.default_rng(4)
    for _ in range(5):
        y = rng.normal(size=6) * 3
        p = K.project_dom(y)
        assert K.in_dom(p)
        for u in _in_dom_samples(K, rng, count=10):  # variational inequality of a projection
            assert (y - p) @ (u - p) <= 1e-6 * (1 + np.linalg.norm(y))


@pytest.mark.parametrize("K", ALL, ids=IDS)
def test_numpy_and_jax_gradients_agree(K):
    rng = np.random.default_rng(5)
    z = rng.normal(size=(7,)) * 2
    np.testing.assert_allclose(np.asarray(K.grad(jnp.asarray(z), xp=jnp)), K.grad(z), rtol=1e-5, atol=1e-6)


def test_problem_text_has_the_numbers():
    assert L1().problem(0.4602) == "minimize f(x) subject to ||x||_inf <= 1/lambda = 2.17"
    assert "0.1 ||x||_1" in ThresholdedL1(0.1).problem(0.5) and "2" in ThresholdedL1(0.1).problem(0.5)
    assert "||x||_1 <= k/lambda = 6" in TopK(3).problem(0.5)
    assert "(q = 1.5)" in Lp(3.0).problem(0.5)
    assert HalfSquaredL2().problem(0.0) == "minimize f(x)"
    assert by_name("huber", e=0.5) == Huber(0.5)
    with pytest.raises(ValueError, match="known"):
        by_name("nope")
    with pytest.raises(ValueError):
        Lp(1.0)
