"""JAX's fork warning when Ray starts after JAX: where it comes from, and that ``init_ray`` (how the
backend and the Ray tests start Ray) does not raise it. No Ray is started here: ``ray.init`` is
replaced by what it does that matters, ``subprocess.Popen`` with a ``preexec_fn``
(``ray._private.services.start_ray_process``)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

pytest.importorskip("ray")
jax = pytest.importorskip("jax")

from search.backends import ray_backend  # noqa: E402

FORK = "os.fork() was called"


def start_like_ray(**_kwargs) -> None:
    """What ``ray.init`` does to start GCS, raylet and the rest: fork, run Python, exec."""
    subprocess.run([sys.executable, "-c", "pass"], preexec_fn=lambda: None, check=True)


def fork_warnings(fn) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [str(w.message) for w in caught if FORK in str(w.message)]


def test_ray_starting_its_processes_after_jax_is_what_warns():
    jax.devices()  # JAX's backends start (and register their at-fork hook), as earlier tests do
    assert fork_warnings(start_like_ray), "Popen with preexec_fn runs JAX's at-fork hook"
    # without a preexec_fn CPython runs no at-fork hook: a plain subprocess is not the cause
    assert not fork_warnings(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True))


def test_init_ray_starts_ray_without_the_false_alarm(monkeypatch):
    jax.devices()
    monkeypatch.setattr(ray_backend.ray, "init", start_like_ray)
    assert not fork_warnings(lambda: ray_backend.init_ray(num_cpus=1))
    # only that warning is filtered
    monkeypatch.setattr(ray_backend.ray, "init", lambda **kw: warnings.warn("other", RuntimeWarning, stacklevel=1))
    with pytest.warns(RuntimeWarning, match="other"):
        ray_backend.init_ray(num_cpus=1)
