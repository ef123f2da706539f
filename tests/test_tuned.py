"""proxy_tasks.tuned: the tuned comparison's training, checked against the runs it is made of."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dsl import library, prune
from proxy_tasks.registry import get_task
from proxy_tasks.tuned import MetaSettings, scale_decay, tune

ROOT = Path(__file__).resolve().parents[1]
TINY = MetaSettings(tasks=("mlp",), scale="proxy", seeds=(0, 1), lr_grid=(0.5, 2.0), wd_grid=(0.5, 2.0),
                    overrides={"data_seed": 4321, "steps": 20})


def test_importing_tuned_does_not_import_jax():
    code = "import sys\nimport proxy_tasks.tuned\nprint(sorted({'jax', 'optax'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_tune_keeps_each_optimizers_best_grid_point_of_the_runs_it_trained():
    from proxy_tasks import interpreter, training

    programs = {"adamw": library.get("adamw"), "lion": library.get("lion")}
    [(name, per, seconds)] = list(tune(programs, TINY))
    assert name == "mlp" and list(per) == ["AdamW", "Lion", "adamw", "lion"] and seconds >= 0
    task = get_task("mlp", "proxy", **TINY.overrides)
    seeds = list(TINY.seeds)
    for key, program in programs.items():
        tuned = per[key]
        runs = {}
        for a in TINY.lr_grid:
            for b in TINY.wd_grid:
                enc = interpreter.encode(prune(scale_decay(program, b)))
                runs[(a, b)] = training.runner(task, enc.bucket).run_runs(enc.arrays(), seeds, [a] * len(seeds))
                assert tuned.grid[f"{a:.3g} x {b:.3g}"] == float(np.mean(runs[(a, b)][:, -1]))
        best = min(runs, key=lambda p: float(np.mean(runs[p][:, -1])))
        assert (tuned.lr_scale, tuned.wd_scale) == best and tuned.task == "mlp"
        assert tuned.curves == runs[best].tolist() and tuned.finals == runs[best][:, -1].tolist()
    # the baselines: each grid point's runs as one optax run per seed
    for key, make in (("AdamW", training.adamw), ("Lion", training.lion)):
        tuned = per[key]
        run = training.make_tuned_optax_run(task, lambda a, b, make=make: make(task, a, b))
        curves = run(seeds, [tuned.lr_scale] * len(seeds), [tuned.wd_scale] * len(seeds))
        assert np.allclose(tuned.curves, curves, rtol=1e-5)
        assert tuned.mean == pytest.approx(min(tuned.grid.values()), rel=1e-6)
