"""Tasks learn with AdamW and Lion, are deterministic, and the registry validates settings."""

from __future__ import annotations

import numpy as np
import pytest

from proxy_tasks import baselines, registry
from proxy_tasks.schedules import make_schedule

# Minimum factor initial / final validation loss at proxy scale (measured with margin; the
# classification tasks have label noise, so their floor is well above zero).
LEARNS_BY = {
    "quadratic": {"adamw": 20.0, "lion": 4.0},
    "logreg": {"adamw": 3.0, "lion": 2.0},
    "mlp": {"adamw": 1.5, "lion": 1.3},
    "char_lm": {"adamw": 2.0, "lion": 1.7},
    "vit": {"adamw": 1.4, "lion": 1.2},
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("baselines")


@pytest.mark.parametrize("name", list(registry.TASKS))
def test_adamw_and_lion_learn(name):
    """optax.adamw and optax.lion, full proxy runs (stepwise: the task compiles once for both)."""
    from proxy_tasks import training

    task = registry.get_task(name)
    runner = training.StepwiseOptax(task)
    for which, factor in LEARNS_BY[name].items():
        curve = runner.run(training.adamw(task) if which == "adamw" else training.lion(task), 0)
        assert curve.shape == (task.points + 1,)
        assert np.all(np.isfinite(curve))
        assert curve[0] / curve[-1] >= factor, (name, which, curve[0], curve[-1])


def test_baseline_cache_is_read_back(cache, monkeypatch):
    task = registry.get_task("quadratic", steps=20, points=2)
    first = baselines.curve(task, 3, cache)
    files = list(cache.glob("adamw-quadratic-proxy-seed3-*.json"))
    assert len(files) == 1
    monkeypatch.setattr(baselines.training, "make_optax_run", lambda *a: pytest.fail("recomputed"))
    baselines._RUNS.clear()
    assert np.array_equal(baselines.curve(task, 3, cache), first)
    other = registry.get_task("quadratic", steps=20, points=2, noise=0.05)
    assert baselines._path(cache, other, 3, "adamw") != files[0]


@pytest.mark.parametrize("damage", [b"", b'{"curve": [1.0, 2', b"\xff\xfe garbage", b"[1, 2, 3]",
                                    b'{"curve": [1.0, 2.0]}', b'{"curve": "abc"}', b'{"curve": [[1.0]]}'])
def test_a_damaged_baseline_cache_entry_is_recomputed(cache, damage):
    """Truncated, not JSON, not an object, a curve of the wrong shape: recomputed, never a crash."""
    task = registry.get_task("quadratic", steps=20, points=2)
    first = baselines.curve(task, 3, cache)
    path = baselines._path(cache, task, 3, "adamw")
    path.write_bytes(damage)
    assert np.array_equal(baselines.curve(task, 3, cache), first)
    assert np.array_equal(baselines.curve(task, 3, cache), first)  # and the entry was rewritten


def test_same_seed_same_loss_bit_for_bit():
    """Same seed and task: identical bits, also from a freshly built and compiled runner."""
    from dsl import library, prune
    from proxy_tasks import interpreter, training

    task = registry.get_task("mlp", steps=20, points=2)
    enc = interpreter.encode(prune(library.get("lion")), 8).arrays()
    runner = training.ProgramRunner(task, 8)
    a, b, c = runner.run(enc, 5), runner.run(enc, 5), runner.run(enc, 6)
    fresh = training.ProgramRunner(task, 8).run(enc, 5)
    assert a.tobytes() == b.tobytes() == fresh.tobytes()
    assert a[-1] != c[-1]


def test_registry_scales_and_errors():
    assert registry.SCALES == ("proxy", "x10", "x100")
    for name in registry.TASKS:
        small, big = registry.settings(name, "proxy"), registry.settings(name, "x100")
        assert big["steps"] > small["steps"] and big["batch_size"] >= small["batch_size"]
    with pytest.raises(KeyError, match="unknown task"):
        registry.get_task("nope")
    with pytest.raises(KeyError, match="unknown scale"):
        registry.get_task("mlp", "x1000")
    with pytest.raises(KeyError, match="unknown setting"):
        registry.get_task("mlp", widht=3)
    with pytest.raises(ValueError, match="multiple of points"):
        registry.get_task("mlp", steps=15, points=10)
    with pytest.raises(ValueError, match="schedule"):
        registry.get_task("mlp", schedule="linear")


def test_schedules_peak_at_one():
    assert float(make_schedule("constant", 100)(57)) == 1.0
    cos = make_schedule("cosine", 100)
    assert float(cos(0)) == 1.0 and float(cos(100)) == pytest.approx(0.0, abs=1e-7)
    warm = make_schedule("warmup_cosine", 100, warmup=0.1)
    assert float(warm(0)) == 0.0 and float(warm(10)) == pytest.approx(1.0) and float(warm(5)) == pytest.approx(0.5)
    task = registry.get_task("mlp", schedule="warmup_cosine", warmup=0.1, steps=100, points=10)
    assert float(task.lr(10)) == pytest.approx(task.settings["lr_peak"] * float(warm(10)))
    assert task.settings["lr_peak"] == 1.0  # the DSL's convention: lr peaks at 1.0


def test_param_scale_is_a_parameter_multiplier():
    import jax

    plain = registry.get_task("mlp", param_scale=1.0)
    scaled = registry.get_task("mlp", param_scale=4.0)
    key = jax.random.PRNGKey(0)
    p1, p4 = plain.problem.init(key), scaled.problem.init(key)
    assert np.allclose(p1["l1"]["w"], 4.0 * p4["l1"]["w"])
    assert float(plain.val_loss(p1)) == pytest.approx(float(scaled.val_loss(p4)), rel=1e-6)


def test_char_lm_reads_stdlib_text_with_fixed_split():
    from proxy_tasks.tasks import char_lm

    text = char_lm.stdlib_text(50_000)
    assert text.shape == (50_000,) and text.max() < char_lm.VOCAB
    assert b"import" in bytes(text.astype(np.uint8))
    task = registry.get_task("char_lm", text_chars=50_000)
    assert task.problem.val.shape == (task.settings["val_windows"], task.settings["context"] + 1)


@pytest.mark.parametrize("scale", ["x10", pytest.param("x100", marks=pytest.mark.slow)])
def test_larger_scales_build_and_have_a_finite_initial_loss(scale):
    import jax

    for name in registry.TASKS:
        task = registry.get_task(name, scale)
        params = task.problem.init(jax.random.PRNGKey(0))
        assert np.isfinite(float(task.val_loss(params))), (name, scale)
        assert task.steps > registry.settings(name, "proxy")["steps"]
