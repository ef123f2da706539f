"""benchmarks/proxy_noise.py (``search.experiments.proxy_noise``) on a cheap task: the table, and
figures that are really measured."""

import numpy as np

from dsl import analyze, library
from search.experiments.proxy_noise import PROGRAMS, path_program


def test_path_programs_are_the_seed_and_its_lion_form():
    assert path_program() == library.get("adamw")
    # a split alone (the same beta twice) computes the seed's function
    assert analyze(path_program(split=True)).fingerprint == analyze(library.get("adamw")).fingerprint
    lion_form = PROGRAMS["Lion form (0.9, 0.95)"]
    assert "sign(update)" in str(lion_form) and "interp(g, m, 0.95)" in str(lion_form)


def test_noise_benchmark_reports_each_source(benchmark_module, capsys):
    bench = benchmark_module("proxy_noise")
    out = bench.main(["--task", "logreg", "--steps", "60", "--seeds", "3", "--jitter", "2"])
    printed = capsys.readouterr().out
    assert "sd seeds" in printed and printed.strip().splitlines()[-1].startswith("{")
    assert set(out["rows"]) == set(PROGRAMS)
    for r in out["rows"].values():
        assert np.isfinite(r["mean"]) and r["seeds_sd"] > 0  # different seeds train differently
        assert r["jitter_sd"] >= 0 and r["width_diff"] >= 0
    assert len(out["gaps_in_sd"]) == len(PROGRAMS) - 1
