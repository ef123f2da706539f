"""`optsearch replay lion --quick`: every stage end to end, and the pieces it is made of."""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pytest

from dsl import execute, library, parse
from search import cli
from search.analysis import runs
from search.experiments.compare import Tuned, _pick, bake_lr, beats, best_lr_scale, scale_decay
from search.experiments.replay import goal_timeline
from simplify.family import sign_momentum


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("replay") / "quick"
    rc = cli.main(["replay", "lion", "--quick", "--out", str(out)])
    assert rc == 0
    return out, json.loads((out / "summary.json").read_text())


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_quick_replay_writes_every_result(quick):
    out, s = quick
    for name in ("report.md", "summary.json", "best_raw.train", "best_simplified.train"):
        assert (out / name).stat().st_size > 0
    for name in ("search_progress.png", "loss_curves.png"):
        w, h = _png_size(out / name)
        assert w > 200 and h > 200
    report = (out / "report.md").read_text()
    assert "![search progress](search_progress.png)" in report and "![loss curves](loss_curves.png)" in report
    assert "optsearch replay lion --quick" in report and s["machine"]["cpus"]
    # the two .train files are the headline seed's answer, raw and simplified
    seed = next(d for d in s["seeds"] if d["seed"] == s["headline_seed"])
    assert str(parse((out / "best_raw.train").read_text())) == str(parse(seed["answer"]["raw"]))
    assert str(parse((out / "best_simplified.train").read_text())) == str(parse(seed["answer"]["simplified"]))


def test_quick_replay_paper_step_reaches_lion(quick):
    _, s = quick
    paper = s["paper"]
    assert paper["family"] == "lion"
    assert sign_momentum(parse(paper["final"])).member
    assert "step 1" in paper["derivation"] and "recognized: lion" in paper["derivation"]


def test_quick_replay_goal_counts_match_the_seeds(quick):
    out, s = quick
    assert len(s["seeds"]) == s["goal"]["seeds"] == 1
    members = sum(bool(d["answer"]["sign_momentum"]) for d in s["seeds"])
    assert s["goal"]["sign_momentum"] == members
    for d in s["seeds"]:
        a = d["answer"]
        assert a["sign_momentum"] == sign_momentum(parse(a["simplified"])).member
        run = runs.load_run(out / "runs" / f"seed{d['seed']}")
        assert d["statistics"]["evaluations"] == runs.statistics(run).evaluations > 0
        assert d["timeline"] == json.loads(json.dumps(goal_timeline(run)))
        assert d["goal"]["beats_tuned_adamw"] == (s["meta_validation"]["vs_adamw"][f"found (seed {d['seed']})"]
                                                  ["mean_log_ratio"] > 0)
        reached = d["goal"]["reached"]
        assert reached == (a["sign_momentum"] and d["goal"]["beats_tuned_adamw"])


def test_quick_replay_tunes_every_optimizer_on_the_same_grid(quick):
    out, s = quick
    mv = s["meta_validation"]
    size = len(mv["lr_grid"]) * len(mv["wd_grid"])
    for task, per in mv["results"].items():
        assert {"AdamW", "Lion"} <= set(per)
        for name, r in per.items():
            assert len(r["grid"]) == size, (task, name)
            assert r["mean"] == pytest.approx(min(r["grid"].values()))
            assert r["mean"] == pytest.approx(np.mean(r["finals"])) and len(r["finals"]) == len(mv["seeds"])
    for name, vs in mv["vs_adamw"].items():
        per_task = {t: math.log(per["AdamW"]["mean"] / per[name]["mean"]) for t, per in mv["results"].items()}
        assert vs["mean_log_ratio"] == pytest.approx(np.mean(list(per_task.values())))
    # the report flags a best point at the grid's edge (the optimum may lie outside the grid)
    report = (out / "report.md").read_text()
    edges = [(t, n) for t, per in mv["results"].items() for n, r in per.items()
             if r["lr_scale"] in (min(mv["lr_grid"]), max(mv["lr_grid"]))
             or r["wd_scale"] in (min(mv["wd_grid"]), max(mv["wd_grid"]))]
    assert report.count("at the grid's edge)") == len(edges)


def test_replay_refuses_to_overwrite_results(quick, capsys):
    out, _ = quick
    assert cli.main(["replay", "lion", "--quick", "--out", str(out)]) == 2
    assert "already holds replay results" in capsys.readouterr().err


def test_compare_only_reruns_the_final_comparison(quick, tmp_path):
    import shutil

    src, before = quick
    out = tmp_path / "copy"
    shutil.copytree(src, out)
    assert cli.main(["replay", "lion", "--quick", "--out", str(out), "--compare-only"]) == 0
    after = json.loads((out / "summary.json").read_text())
    assert len(after["reruns"]) == 1 and "--compare-only" in after["reruns"][0]["command"]
    assert after["seeds"][0]["timeline"] == before["seeds"][0]["timeline"]  # the searches are kept
    assert after["seconds"] == before["seconds"] and after["started"] == before["started"]
    for task, per in after["meta_validation"]["results"].items():  # deterministic on CPU: the same figures
        for name, r in per.items():
            assert r["mean"] == pytest.approx(before["meta_validation"]["results"][task][name]["mean"], rel=1e-6)
            assert len(r["curves"]) == len(after["meta_validation"]["seeds"])
    assert "produced again by `optsearch replay lion --quick" in (out / "report.md").read_text()
    assert cli.main(["replay", "lion", "--out", str(tmp_path / "none"), "--compare-only"]) == 2


def test_rows_record_the_lr_grid_value_each_task_chose(quick, capsys):
    out, s = quick
    run_dir = out / "runs" / "seed0"
    rows = [json.loads(x) for x in (run_dir / "evaluations.jsonl").read_text().splitlines()]
    grid = {0.3333333, 1.0, 3.0}  # configs/lion_rediscovery_quick.yaml
    scored = {r["fingerprint"]: r["lr_scales"] for r in rows if not r["cached"] and r["fitness"] > -100}
    assert scored and all(set(v) == {"mlp", "logreg"} and set(v.values()) <= grid for v in scored.values())
    assert len({x for v in scored.values() for x in v.values()}) > 1, "programs differ in the step size they want"
    # a cache hit records the lr of the evaluation it reuses
    assert all(r["lr_scales"] == scored[r["fingerprint"]] for r in rows if r["cached"] and r["fingerprint"] in scored)
    # the replay baked the answer's logged choice (geometric mean over tasks), without re-scoring it
    seed = next(d for d in s["seeds"] if d["seed"] == 0)
    logged = next(r["lr_scales"] for r in rows if r["id"] == seed["answer"]["id"])
    assert seed["answer"]["lr_scale_baked"] == pytest.approx(math.sqrt(logged["mlp"] * logged["logreg"]))
    assert cli.main(["show", str(run_dir), "--no-plots", "--no-simplify", "--json", "--top", "3"]) == 0
    top = json.loads(capsys.readouterr().out)["top"]
    assert [t["lr_scales"] for t in top] == [next(r["lr_scales"] for r in rows if r["id"] == t["id"]) for t in top]
    assert cli.main(["show", str(run_dir), "--no-plots", "--no-simplify", "--top", "3"]) == 0
    assert "lr x" in capsys.readouterr().out


def test_best_lr_scale_takes_the_logged_choice_without_evaluating():
    # cfg None: evaluating would fail, so a result means the logged values were used
    assert best_lr_scale(library.get("adamw"), None, {"vit": 3.0, "mlp": 1 / 3}) == pytest.approx(1.0)
    assert best_lr_scale(library.get("adamw"), None, {"vit": 1 / 3}) == pytest.approx(1 / 3)


def test_bake_lr_equals_a_scaled_learning_rate():
    p = library.get("lion")
    baked = bake_lr(p, 3.0)
    w, g = np.linspace(-1, 1, 7), np.cos(np.arange(7.0))
    z = np.zeros(7)
    assert np.allclose(execute(baked, w, g, z, z, 0.5)[0], execute(p, w, g, z, z, 1.5)[0], rtol=1e-12)
    assert bake_lr(p, 1.0) is p


def test_scale_decay_scales_the_decoupled_decay():
    p = library.get("lion")
    assert sign_momentum(scale_decay(p, 3.0)).decay == pytest.approx(3 * sign_momentum(p).decay)
    adam = library.get("adam")  # no decay: unchanged
    assert str(scale_decay(adam, 3.0)) == str(adam)


def test_pick_takes_the_lowest_mean_final_loss_and_skips_diverged_points():
    table = {(1.0, 1.0): np.array([[3.0, 2.0], [3.0, 2.2]]),
             (3.0, 1.0): np.array([[3.0, 1.0], [3.0, np.nan]]),
             (0.3, 1.0): np.array([[3.0, 1.5], [3.0, 1.7]])}
    t = _pick("x", "task", table)
    assert (t.lr_scale, t.wd_scale) == (0.3, 1.0) and t.mean == pytest.approx(1.6)
    assert t.grid["3 x 1"] == math.inf


def test_beats_is_the_mean_log_ratio_against_adamw():
    def tuned(mean):
        return Tuned("n", "t", 1.0, 1.0, [mean], [mean], [[mean]], {})

    table = {"a": {"AdamW": tuned(2.0), "P": tuned(1.0)}, "b": {"AdamW": tuned(1.0), "P": tuned(2.0)},
             "c": {"AdamW": tuned(1.0), "P": tuned(0.5)}}
    r = beats(table, "P")
    assert r["mean_log_ratio"] == pytest.approx(math.log(2) / 3) and r["wins"] == 2 and r["tasks"] == 3
