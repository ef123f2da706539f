"""benchmarks/lion_reach.py (``search.experiments.lion_reach``) on a cheap proxy: each of its three
measurements, really measured."""

import json

import numpy as np

from dsl import analyze, library
from search.experiments.lion_reach import PATH
from search.experiments.proxy_noise import path_program

CHEAP = ["--set", "evaluator.tasks={mlp: 1.0}", "--set", "evaluator.overrides={steps: 40}",
         "--set", "evaluator.batching=runs",
         "--set", "evaluator.lr_grid=[1.0]", "--seeds", "2"]


def _row(i, parent, mutation, program):
    return {"id": i, "parent": parent, "mutation": mutation, "source": str(program),
            "fingerprint": analyze(program).fingerprint, "fitness": 0.0, "cached": False}


def _results(tmp_path):
    """A replay folder with one run: the seed, a sign inserted after the update, another insert."""
    run = tmp_path / "runs" / "seed0"
    run.mkdir(parents=True)
    rows = [_row(0, None, "seed", library.get("adamw")),
            _row(1, 0, "insert 6: update = sign(update)", path_program(sign=True)),
            _row(2, 0, "insert 1: t1 = sign(g)", library.get("adamw"))]
    (run / "evaluations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


def test_reach_ranks_programs_on_every_task_seed_and_counts_draws(benchmark_module, tmp_path, capsys):
    bench = benchmark_module("lion_reach")
    out = bench.main([*CHEAP, "--skip-meta", "--results", str(_results(tmp_path))])
    printed = capsys.readouterr().out
    assert "task seed(s) [0] only" in printed and printed.strip().splitlines()[-1].startswith("{")
    assert set(PATH) <= set(out["ranking"]) and "Lion (library)" in out["ranking"]
    for r in out["ranking"].values():
        assert len(r["per_seed"]) == 2 and np.isclose(r["mean"], np.mean(r["per_seed"]))
    # different task seeds train differently, so a program's fitness differs between them
    assert any(r["per_seed"][0] != r["per_seed"][1] for r in out["ranking"].values())
    assert "meta" not in out
    # sign-momentum children per 1,000 count by behaviour: one of the two mutated children is
    assert out["draws"]["runs"]["seed0"] == {"children": 3, "sign_inserts": 2, "update_sign": 1, "sign_momentum": 1,
                                             "sign_momentum_per_1000": 500.0}
    assert out["draws"]["children_per_update_sign"] == 3


def test_reach_meta_compares_the_path_with_tuned_adamw_and_lion(benchmark_module, tmp_path):
    bench = benchmark_module("lion_reach")
    out = bench.main([*CHEAP, "--quick-meta", "--results", str(tmp_path)])  # no replay there: no answers
    assert set(out["meta"]) == {"Lion", *PATH} - {"AdamW seed"}
    for b in out["meta"].values():
        assert set(b["per_task"]) == {"mlp"} and np.isfinite(b["mean_log_ratio"])
    assert "draws" not in out and not any("answer" in k for k in out["ranking"])
