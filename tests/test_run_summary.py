"""What the run summary says of its answer (#31): the answer after the exact passes and what it
is, or the nearest family and how far, and the seed at the scale the answer is judged at."""

from __future__ import annotations

import json

import pytest

from dsl import library
from search.analysis.verdict import explain, seed_at
from search.cli.progress import print_summary
from simplify.nearest import nearest
from simplify.pipeline import state_change

ARCTAN_ADAM = """def train(w, g, m, v, lr):
    t1 = arctan(lr)
    g2 = square(g)
    m = interp(g, m, 0.9)
    v = interp(g2, v, 0.999)
    t3 = arcsinh(v)
    t4 = arctan(t3)
    s = sqrt(t4)
    update = m / s
    lr = lr * 0.001
    update = update * lr
    return update, m, v
"""


@pytest.mark.parametrize("name", ["sgd", "momentum", "signum", "adamw", "lion"])
def test_a_family_is_nearest_to_itself_at_distance_zero(name):
    near = nearest(library.get(name))
    assert near is not None and near.distance < 1e-9
    assert near.recognition.name == name


def test_an_unnamed_answer_gets_its_nearest_family_and_distance():
    what = explain(ARCTAN_ADAM)
    assert what.recognized is None
    assert what.what().startswith("not a known family; nearest: ")
    assert "relative update distance" in what.what()
    assert explain(str(library.get("lion"))).what().startswith("recognized: lion")


def test_state_change_names_every_slot():
    assert state_change((True, True), (True, False)) == "state v no longer used"
    assert state_change((False, True), (True, False)) == "state v -> m"
    assert state_change((True, False), (True, False)) == ""


def _run_dir(tmp_path, funnel_has_seed: bool):
    seed = str(library.get("adamw"))
    rows = [{"id": 0, "fitness": -0.01, "fingerprint": "f0", "source": seed}]
    (tmp_path / "evaluations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    funnel = [{"kind": "eval", "round": 1, "scale": "x10", "id": 7, "fingerprint": "f7", "fitness": 0.02,
               "source": ARCTAN_ADAM, "proxy_fitness": 0.01, "format": 2}]
    if funnel_has_seed:
        funnel.append({"kind": "eval", "round": 1, "scale": "x10", "id": 0, "fingerprint": "f0",
                       "fitness": -0.030000123456, "source": seed, "proxy_fitness": -0.01, "format": 2})
    (tmp_path / "funnel.jsonl").write_text("".join(json.dumps(r) + "\n" for r in funnel))
    return tmp_path


def test_summary_shows_the_seed_at_the_answers_scale_and_what_the_answer_is(tmp_path, capsys):
    run_dir = _run_dir(tmp_path, funnel_has_seed=True)
    assert seed_at(run_dir, "x10") == pytest.approx(-0.030000123456)
    assert seed_at(run_dir, "proxy") == -0.01
    summary = {"run_dir": str(run_dir), "evals_per_s": 24.4512345, "elapsed": 61.43210, "evaluations": 1500,
               "proposals": 3000, "cache_hit_rate": 0.5, "redundant_ratio": 0.2, "redraws": 3, "restarts": 0,
               "best_fitness": 0.04299050902997579, "best_id": 7, "meta_validation": [],
               "answer": {"id": 7, "scale": "x10", "fitness": 0.02, "proxy_fitness": 0.01, "source": ARCTAN_ADAM}}
    print_summary(summary)
    out = " ".join(capsys.readouterr().out.split())  # rich wraps at the terminal's width
    assert "the seed at x10" in out and "-0.0300" in out and "beats the seed" in out
    assert "not a known family; nearest:" in out
    assert "over the whole run" in out and "24.45/s" in out and "0.04299" not in out


def test_seed_scored_at_the_scale_when_the_funnel_did_not(tmp_path):
    run_dir = _run_dir(tmp_path, funnel_has_seed=False)
    assert seed_at(run_dir, "x10") is None  # no config.yaml: nothing to score it with, and no error
