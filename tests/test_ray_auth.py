"""A local Ray started by optsearch runs without token authentication unless the user chose (#31)."""

from __future__ import annotations

import pytest

ray_backend = pytest.importorskip("search.backends.ray_backend")


@pytest.fixture
def calls(monkeypatch):
    seen = []
    monkeypatch.setattr(ray_backend.ray, "init", lambda **kw: seen.append((kw, __import__("os").environ.get(
        "RAY_AUTH_MODE"))))
    return seen


def test_local_head_disables_token_auth(monkeypatch, calls):
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    ray_backend.init_ray(num_cpus=1)
    assert calls[-1][1] == "disabled"


def test_users_choice_and_a_cluster_are_left_alone(monkeypatch, calls):
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    ray_backend.init_ray(num_cpus=1)
    assert calls[-1][1] == "token"
    monkeypatch.delenv("RAY_AUTH_MODE")
    ray_backend.init_ray(address="auto")
    assert calls[-1][1] is None
