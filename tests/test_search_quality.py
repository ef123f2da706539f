"""The ranking-quality experiment's arithmetic, on a table of known scores (no training)."""

from __future__ import annotations

import pytest

from search.experiments.hurdles import simulate_hurdles
from search.experiments.search_quality import assess, k_seeds, kendall_tau, raced, truth
from search.racing import Racing

# Four programs, two lr grid values, four task seeds. "lucky" wins seed 0 and nothing else;
# "good" is best over four seeds at lr 1; "slow" needs lr 3.
TABLE = {
    "lucky": {1.0: {0: 0.50, 1: -0.10, 2: -0.10, 3: -0.10}, 3.0: {0: 0.0, 1: 0.0, 2: 0.0, 3: 0.0}},
    "good": {1.0: {0: 0.20, 1: 0.20, 2: 0.25, 3: 0.15}, 3.0: {0: -1.0, 1: -1.0, 2: -1.0, 3: -1.0}},
    "slow": {1.0: {0: -0.5, 1: -0.5, 2: -0.5, 3: -0.5}, 3.0: {0: 0.10, 1: 0.10, 2: 0.12, 3: 0.08}},
    "bad": {1.0: {0: -0.3, 1: -0.2, 2: -0.3, 3: -0.2}, 3.0: {0: -0.4, 1: -0.4, 2: -0.4, 3: -0.4}},
}


def test_truth_and_k_seeds_choose_the_lr_on_the_seeds_they_use():
    t = truth(TABLE, 4)
    assert t["good"] == pytest.approx(0.2) and t["slow"] == pytest.approx(0.1) and t["lucky"] == pytest.approx(0.05)
    one, cost = k_seeds(TABLE, 1)
    assert one["lucky"] == 0.5 and cost == 4 * 2  # the lucky one leads on seed 0
    four, cost4 = k_seeds(TABLE, 4)
    assert four == t and cost4 == 4 * 2 * 4


def test_racing_finds_the_truly_best_for_fewer_runs_than_four_seeds_for_all():
    racing = Racing(top_fraction=0.34, max_seeds=4, z=1.0, seeds=(0, 1, 2, 3))
    scores, runs, seeds = raced(TABLE, racing)
    assert max(scores, key=scores.get) == "good"
    assert seeds["lucky"] > 1 and seeds["bad"] == 1  # only what was near the top raced
    out = assess(TABLE, 4, racing, k=4, top=2)
    assert out["one seed"]["first"] == "lucky" and out["racing"]["first"] == "good"
    assert out["racing"]["regret"] == 0.0 < out["one seed"]["regret"]
    assert out["racing"]["runs"] == runs < out["4 seeds"]["runs"]


def test_kendall_tau():
    a = {"x": 1.0, "y": 2.0, "z": 3.0}
    assert kendall_tau(a, a) == 1.0
    assert kendall_tau(a, {"x": 3.0, "y": 2.0, "z": 1.0}) == -1.0
    assert kendall_tau(a, {"x": 1.0, "y": 3.0, "z": 2.0}, ["x", "y"]) == 1.0


def test_programs_with_the_same_scores_are_one_panel_entry():
    from search.experiments.search_quality import distinct

    table = {**TABLE, "lucky again": TABLE["lucky"]}
    out, same = distinct(table)
    assert list(out) == list(TABLE) and same == {"lucky again": "lucky"}


def test_simulated_hurdles_charge_what_runs_and_report_false_stops():
    """Two grid values, 10 points. Children: four broken from the start, four fine. At point 1 the
    median of the children is the threshold: the broken stop after 1 of 10 points, and each fine
    child's slow grid value stops too; the panel's slow starter is a false stop, the ceiling saves it."""
    fine = {1.0: [0.0] * 11, 3.0: [-0.5] * 11}
    broken = {1.0: [-100.0] * 11, 3.0: [-100.0] * 11}
    children = {f"b{i}": broken for i in range(4)} | {f"f{i}": fine for i in range(4)}
    slow = {1.0: [0.0, -0.3] + [0.1] * 9, 3.0: [0.0, -0.4] + [0.05] * 9}
    panel = {"slow": slow, "fine": fine}
    final = {"slow": {1.0: 0.1, 3.0: 0.05}, "fine": {1.0: 0.0, 3.0: -0.5}}
    r = simulate_hurdles(children, panel, final, ["slow", "fine"], [(1, 0.5)], 10, watch=["slow"])
    assert r["thresholds"] == [pytest.approx(-50.0)]  # the median of four -100 and four 0
    assert r["children_stopped"] == 4 and r["false_stops_top_half"] == [] and r["watched_stopped"] == []
    r = simulate_hurdles(children, panel, final, ["slow", "fine"], [(1, 0.75)], 10, watch=["slow"])
    assert r["thresholds"] == [0.0]
    # cost: broken 1 x 2 values each; fine 1 x 2 + 9 x 1 (its 3.0 value stops): 8 + 44 = 52 of 160
    assert r["speedup"] == pytest.approx(160 / 52)
    assert r["false_stops_top_half"] == ["slow"] and r["watched_stopped"] == ["slow"]
    r = simulate_hurdles(children, panel, final, ["slow", "fine"], [(1, 0.75)], 10, ceiling=-0.35, watch=["slow"])
    assert r["thresholds"] == [-0.35] and r["false_stops_top_half"] == []
    assert r["lost_best_value"] == {}  # slow's 1.0 value (its best) goes on; its 3.0 value stops
    r = simulate_hurdles(children, panel, final, ["slow", "fine"], [(1, 0.75)], 10, ceiling=-0.35)
    assert r["speedup"] == pytest.approx(160 / 52)
