"""The persistent compilation cache: a second process loads the proxy tasks' compiled loops
instead of compiling them, scores the same, and `optsearch cache` shows and clears it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from search.cli import main

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import json
from dsl import library
from proxy_tasks import compile_cache
from proxy_tasks.evaluate import Evaluator
ev = Evaluator(["quadratic"], batching=False, steps=40, cache_dir=CACHE)
fit = ev.evaluate_one(library.get("adamw")).fitness
c = compile_cache.COUNTS
print(json.dumps({"fitness": fit, "requests": c.requests, "loaded": c.loaded, "dir": str(compile_cache.directory())}))
"""


def _score(cache: str, baselines: Path) -> dict:
    env = {**os.environ, "OPTSEARCH_COMPILE_CACHE": cache, "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", SCRIPT.replace("CACHE", repr(str(baselines)))], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_second_process_loads_the_compiled_loops_and_scores_the_same(tmp_path):
    cache = tmp_path / "xla"
    cold = _score(str(cache), tmp_path / "baselines")
    warm = _score(str(cache), tmp_path / "baselines")
    assert cold["requests"] > 0 and cold["loaded"] == 0
    assert any(cache.iterdir())
    assert warm["loaded"] == warm["requests"] > 0  # nothing compiled again
    assert warm["fitness"] == cold["fitness"]


def test_the_cache_can_be_switched_off(tmp_path, monkeypatch):
    off = _score("off", tmp_path / "baselines")
    assert off["dir"] == "None" and off["loaded"] == 0 and off["requests"] > 0


def test_cache_command_shows_and_clears_only_its_own_files(tmp_path, monkeypatch, capsys):
    xla, root = tmp_path / "xla", tmp_path / "root"
    xla.mkdir()
    (xla / "jit_step-0123abcd-cache").write_bytes(b"x" * 1000)
    (xla / "notes.txt").write_text("not ours")
    (root / "baselines").mkdir(parents=True)
    (root / "baselines" / "adamw-mlp-proxy-seed0-0011.json").write_text("{}")
    monkeypatch.setenv("OPTSEARCH_COMPILE_CACHE", str(xla))
    monkeypatch.setenv("OPTSEARCH_CACHE", str(root))
    assert main(["cache"]) == 0
    out = capsys.readouterr().out
    assert f"{xla}: 1 files" in out and "baselines: 1 files" in out
    assert main(["cache", "clear"]) == 0
    assert "cleared 1 files" in capsys.readouterr().out
    assert [p.name for p in xla.iterdir()] == ["notes.txt"]
    assert not any((root / "baselines").iterdir())
    monkeypatch.setenv("OPTSEARCH_COMPILE_CACHE", "off")
    assert main(["cache"]) == 0
    assert "switched off" in capsys.readouterr().out


# --- avoidable compilations (benchmarks/compilations.py counts them per command) ------------------

def test_one_baseline_loop_serves_every_seed_and_grid_value_bit_identically(tmp_path):
    """Seeds and learning-rate grid values are arguments of one compiled baseline loop per task,
    and it computes exactly what the loop compiled with the grid value baked in computed."""
    from proxy_tasks import baselines, compile_cache, registry, training

    task = registry.get_task("quadratic", "proxy", steps=20, points=2, data_seed=90210)  # settings of its own
    counts = compile_cache.count()
    first = baselines.curve(task, 0, tmp_path, "adamw", 1 / 3)
    before = counts.requests
    runs = ((1, 1 / 3), (0, 3.0), (1, 1.0))
    others = {(seed, s): baselines.curve(task, seed, tmp_path, "adamw", s) for seed, s in runs}
    assert counts.requests == before  # nothing compiled for a new seed or grid value
    for (seed, s), got in {**others, (0, 1 / 3): first}.items():
        baked = training.make_optax_run(task, training.adamw(task, s))(seed)
        assert np.array_equal(got, np.asarray(baked, np.float64))
    lion = baselines.curve(task, 1, tmp_path, "lion", 3.0)
    assert np.array_equal(lion, np.asarray(training.make_optax_run(task, training.lion(task, 3.0))(1), np.float64))


def test_the_comparison_and_the_evaluator_share_one_runner_per_task_and_bucket():
    """A ProgramRunner holds jitted closures that jit's cache cannot match across instances, so
    callers take the process's one (``training.runner``) instead of compiling the loop again."""
    from dsl import library, prune
    from proxy_tasks import interpreter, registry, training
    from proxy_tasks.evaluate import Evaluator

    task = registry.get_task("quadratic", "proxy", steps=20, points=2)
    ev = Evaluator(["quadratic"], steps=20, points=2)
    short, long = (interpreter.encode(prune(library.get(n))) for n in ("sgd", "adamw"))
    assert short.bucket == long.bucket == 16  # no bucket below 16: one loop for a search's programs
    assert ev._runner(task, 16) is training.runner(task, 16) is training.runner(ev.tasks["quadratic"], 16)


def test_a_whole_run_is_one_compiled_program_and_equals_init_then_advance():
    """``run``/``run_runs`` compile init and training as one program (one compilation, not two);
    the curves are bit-identical to the two-step path the hurdle uses."""
    from dsl import library, prune
    from proxy_tasks import interpreter, registry, training

    task = registry.get_task("logreg", "proxy", steps=20, points=2, sign_flip=True)
    runner = training.runner(task, 16)
    arrays = interpreter.encode(prune(library.get("lion"))).arrays()
    state, l0 = runner.init(arrays, 1, 0.5)
    steps = np.concatenate([[float(l0)], np.asarray(runner.advance(state, arrays, 0, task.points)[1])])
    assert np.array_equal(runner.run(arrays, 1, 0.5), steps)
    seeds, scales = np.asarray([0, 1], np.int32), np.asarray([1.0, 3.0], np.float32)
    state, l0 = runner.init_runs(arrays, seeds, scales)
    losses = np.asarray(runner.advance_runs(state, arrays, 0, task.points)[1])
    assert np.array_equal(runner.run_runs(arrays, seeds, scales), np.concatenate([np.asarray(l0)[:, None], losses], 1))
